"""The HTTP service as a client sees it: every route, the limits, the key, the queue, uploads and micro-batching.

The real default model is loaded once for the module and shared by every app under test; tests that need to hold
the worker still (queue full, batching) wrap it in `GatedAnalyzer`, whose gate they open themselves.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from emotrace.inference.pipeline import Analyzer, PipelineOptions
from emotrace.models.base import ERCModel
from emotrace.schema import Conversation, Prediction
from emotrace.serve import ServeSettings, create_app

TRANSCRIPT = "Ann: I got the job, I'm so happy!\nBob: That's wonderful news!\nAnn: I start on Monday."
LABELS = {"neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"}


@pytest.fixture(scope="module")
def shared() -> Analyzer:
    analyzer = Analyzer()
    analyzer.model("default")
    return analyzer


class GatedAnalyzer(Analyzer):
    """The shared models, plus a count of analyze calls and a gate the test opens to let the worker continue."""

    def __init__(self, shared: Analyzer) -> None:
        super().__init__()
        self.shared = shared
        self.calls = 0
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    def model(self, name: str) -> ERCModel:
        return self.shared.model(name)

    def analyze(self, conversations: list[Conversation], options: PipelineOptions = PipelineOptions(), progress: bool = False) -> list[list[Prediction]]:
        self.calls += 1
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        return super().analyze(conversations, options, progress)


class StubAnalyzer(Analyzer):
    """Answers instantly with a fixed distribution, so the fuzz test exercises the app, not the model."""

    def __init__(self, shared: Analyzer) -> None:
        super().__init__()
        self.shared = shared

    def model(self, name: str) -> ERCModel:
        return self.shared.model(name)

    def analyze(self, conversations: list[Conversation], options: PipelineOptions = PipelineOptions(), progress: bool = False) -> list[list[Prediction]]:
        answer = [("joy", "neutral"), (0.6, 0.4)]
        return [[Prediction.from_probabilities(*answer, abstain_below=options.abstain_below) for _ in c.utterances] for c in conversations]


@contextmanager
def serving(analyzer: Analyzer, **overrides: object) -> Iterator[TestClient]:
    with TestClient(create_app(ServeSettings(**overrides), analyzer=analyzer)) as client:  # type: ignore[arg-type]
        yield client


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for a state of the server (not for time to pass): fails the test if it is not reached."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the server never reached the expected state"
        time.sleep(0.01)


def in_background(call: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(call()))
    thread.start()
    return thread, results


def noise_wav(path: Path, seconds: float = 0.4) -> Path:
    import soundfile

    rng = np.random.default_rng(0)
    soundfile.write(path, (0.1 * rng.standard_normal(int(16_000 * seconds))).astype(np.float32), 16_000)
    return path


def samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a /metrics page by (name, labels), whatever order the labels are written in."""
    return {(s.name, frozenset(s.labels.items())): s.value for family in text_string_to_metric_families(exposition) for s in family.samples}


def upload_folders() -> set[str]:
    return {path.name for path in Path(tempfile.gettempdir()).glob("emotrace-uploads-*")}


# --- routes ----------------------------------------------------------------------------------------------------------


def test_backend_is_checked_at_startup_and_explanations_fall_back_to_pytorch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from emotrace.errors import EmotraceError
    from emotrace.serve.inputs import pipeline_options
    from emotrace.serve.schemas import AnalyzeOptions
    from emotrace.serve.settings import check_backend

    monkeypatch.setenv("EMOTRACE_CACHE", str(tmp_path))  # no exports in an empty cache
    with pytest.raises(EmotraceError, match="unknown --backend 'onnx-int4'.*choose one of auto, torch-fp32, onnx-fp32, onnx-int8"):
        check_backend("onnx-int4", "default")
    with pytest.raises(EmotraceError, match="no onnx-int8 export yet.*emotrace export --model default --backend onnx-int8"):
        check_backend("onnx-int8", "default")
    check_backend("torch-fp32", "default")
    settings = ServeSettings(backend="onnx-int8")
    assert pipeline_options(AnalyzeOptions(), settings).backend == "onnx-int8"
    assert pipeline_options(AnalyzeOptions(explain=True), settings).backend == "auto"  # auto picks PyTorch for these
    assert pipeline_options(AnalyzeOptions(mc_dropout=5), settings).backend == "auto"


def test_healthz_and_models_describe_the_server(shared: Analyzer) -> None:
    with serving(shared) as client:
        assert client.get("/healthz").json() == {"status": "ok", "model": "default", "backend": "auto", "queue": 0}
        listing = client.get("/v1/models").json()
    assert listing["default"] == "default"
    models = {model["name"]: model for model in listing["models"]}
    assert {"default", "speech", "face", "fusion"} <= set(models)
    assert models["default"]["family"] == "finetune-bigru"
    assert set(models["default"]["labels"]) == LABELS
    assert models["default"]["metrics"]["test_scores"]["weighted_f1"] > 50
    assert models["speech"]["metrics"]["leave_one_speaker_out"]["uar"] > 0


def test_analyze_transcript_returns_one_record_per_utterance_and_the_report_timeline(shared: Analyzer) -> None:
    with serving(shared) as client:
        response = client.post("/v1/analyze", json={"text": TRANSCRIPT, "format": "transcript", "html": True})
        without_html = client.post("/v1/analyze", json={"text": TRANSCRIPT})
    assert response.status_code == 200
    utterances = response.json()["conversations"][0]["utterances"]
    assert [u["speaker"] for u in utterances] == ["Ann", "Bob", "Ann"]
    assert all(u["emotion"] in LABELS and 0 < u["confidence"] <= 1 for u in utterances)
    assert utterances[0]["emotion"] == "joy"
    assert response.json()["html"].count('<div class="turn"') == 3
    assert "html" not in without_html.json()


def test_analyze_conversations_with_options_explains_and_abstains(shared: Analyzer) -> None:
    conversation = {"id": "call-7", "utterances": [{"speaker": "A", "text": "This is outrageous, I'm furious!"}, {"speaker": "B", "text": "Calm down."}]}
    with serving(shared) as client:
        explained = client.post("/v1/analyze", json={"conversations": [conversation], "options": {"explain": True}})
        abstained = client.post("/v1/analyze", json={"conversations": [conversation], "options": {"abstain_below": 0.999}, "html": True})
    assert explained.status_code == 200 and abstained.status_code == 200
    record = explained.json()["conversations"][0]
    assert record["id"] == "call-7"
    assert [word for word, _ in record["utterances"][0]["explanation"]["words"]] == ["This", "is", "outrageous,", "I'm", "furious!"]
    assert all(u["emotion"] == "uncertain" for u in abstained.json()["conversations"][0]["utterances"])
    assert abstained.json()["html"].count('<span class="label">uncertain</span>') == 2


def test_analyze_accepts_one_bare_conversation_as_a_jsonl_line(shared: Analyzer) -> None:
    line = {"id": "call-7", "utterances": [{"speaker": "Ann", "text": "I got the job!"}, {"speaker": "Bob", "text": "Wonderful news!"}]}
    with serving(shared) as client:
        bare = client.post("/v1/analyze", json=line | {"options": {"abstain_below": 0.99}})
        wrapped = client.post("/v1/analyze", json={"conversations": [line], "options": {"abstain_below": 0.99}})
    assert bare.status_code == 200, bare.text
    assert bare.json() == wrapped.json()
    (conversation,) = bare.json()["conversations"]
    assert conversation["id"] == "call-7" and [u["text"] for u in conversation["utterances"]] == ["I got the job!", "Wonderful news!"]
    assert {u["emotion"] for u in conversation["utterances"]} == {"uncertain"}


def test_analyze_downloads_csv_and_jsonl(shared: Analyzer) -> None:
    with serving(shared) as client:
        csv = client.post("/v1/analyze?format=csv", json={"text": TRANSCRIPT})
        jsonl = client.post("/v1/analyze?format=jsonl", json={"text": TRANSCRIPT})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert 'filename="emotrace.csv"' in csv.headers["content-disposition"]
    assert csv.text.splitlines()[0].startswith("conversation_id,utterance_index,speaker")
    assert len(csv.text.splitlines()) == 4
    assert [len(json.loads(line)["utterances"]) for line in jsonl.text.splitlines()] == [3]


def test_metrics_count_requests_latency_utterances_and_errors(shared: Analyzer) -> None:
    analyze = ("route", "/v1/analyze")
    with serving(shared) as client:
        before = samples(client.get("/metrics").text)
        client.post("/v1/analyze", json={"text": TRANSCRIPT})
        client.post("/v1/analyze", json={"text": "no colon here"})
        after = client.get("/metrics")
        openmetrics = client.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
    with serving(shared) as other:
        fresh = other.get("/metrics").text
    assert after.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text") and openmetrics.text.endswith("# EOF\n")
    assert 'route="/v1/analyze"' not in fresh  # each app counts in its own registry
    now = samples(after.text)
    assert now["emotrace_http_requests_total", frozenset({analyze, ("status", "200")})] == 1
    assert now["emotrace_http_requests_total", frozenset({analyze, ("status", "422")})] == 1
    assert now["emotrace_http_errors_total", frozenset({analyze, ("kind", "client")})] == 1
    assert now["emotrace_http_request_duration_seconds_count", frozenset({analyze})] == 2
    assert now["emotrace_http_request_duration_seconds_bucket", frozenset({analyze, ("le", "+Inf")})] == 2
    utterances = ("emotrace_utterances_analysed_total", frozenset())
    assert now[utterances] - before[utterances] == 3
    assert now["emotrace_inference_batches_total", frozenset()] == 1
    assert now["emotrace_queue_requests", frozenset()] == 0


def test_openapi_documents_both_body_encodings_with_examples(shared: Analyzer) -> None:
    with serving(shared) as client:
        schema = client.get("/openapi.json").json()
        page, script, style = client.get("/"), client.get("/static/page.js"), client.get("/report.css")
    body = schema["paths"]["/v1/analyze"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/AnalyzeRequest"}
    assert {"transcript", "conversations", "conversation"} <= set(body["application/json"]["examples"])
    assert "request" in body["multipart/form-data"]["schema"]["properties"]
    assert {"AnalyzeRequest", "AnalyzeOptions", "AnalyzeResponse", "ErrorResponse"} <= set(schema["components"]["schemas"])
    assert page.status_code == 200 and 'id="result"' in page.text
    assert script.status_code == 200 and "/v1/analyze" in script.text
    assert style.headers["content-type"].startswith("text/css") and ".turn" in style.text


# --- limits and errors -----------------------------------------------------------------------------------------------


def test_body_over_the_limit_is_413_whether_declared_or_streamed(shared: Analyzer) -> None:
    big = json.dumps({"text": "A: " + "x" * 5000}).encode()
    with serving(shared, max_body_bytes=4096) as client:
        declared = client.post("/v1/analyze", content=big, headers={"content-type": "application/json"})
        streamed = client.post("/v1/analyze", content=(big[i : i + 1000] for i in range(0, len(big), 1000)), headers={"content-type": "application/json"})
        small = client.post("/v1/analyze", json={"text": "A: hello"})
    assert declared.status_code == 413 and declared.json()["error"] == "request body over this server's limit of 4096 bytes"
    assert streamed.status_code == 413 and "over this server's limit" in streamed.json()["error"]
    assert small.status_code == 200


@pytest.mark.parametrize(
    ("body", "query", "expected"),
    [
        (b"{not json", "", "Invalid JSON"),
        ({"text": "no colon here"}, "", "text:1: expected `Speaker: text`"),
        ({"conversations": [{"utterances": [{"speaker": "A"}]}]}, "", 'conversations:1: utterance 1 has no "text"'),
        ({"text": "A: hi", "conversations": []}, "", 'give either "conversations" or "text"'),
        (
            {"id": "c1", "turns": []},
            "",
            'expected {"conversations": [...]}, {"text": ..., "format": ...}, or one conversation {"id": ..., "utterances": [...]}; got keys: "id", "turns"',
        ),
        ({"id": "c1", "utterances": [{"speaker": "A"}]}, "", 'conversations:1: utterance 1 has no "text"'),
        ({"text": "A: hi", "options": {"model": "/etc"}}, "", "options.model: no model named '/etc'"),
        ({"text": "A: hi", "options": {"model": "speech"}}, "", "utterance 1: has no audio"),
        ({"text": "A: hi", "options": {"fusion_model": "nope"}}, "", "options.fusion_model: no model named 'nope' on this server (choose one of"),
        ({"text": "A: hi", "options": {"mc_dropout": 31}}, "", "options.mc_dropout is 31, over this server's limit of 30"),
        ({"text": "A: hi", "options": {"explain": "yes"}}, "", "options.explain: Input should be a valid boolean"),
        ({"text": "A: hi", "format": "docx"}, "", "format: Input should be"),
        ({"text": "A: hi"}, "?format=xml", "format: Input should be 'json', 'jsonl' or 'csv'"),
        ({"text": "\n".join(["A: hi"] * 11)}, "", "the request has 11 utterances, over this server's limit of 10"),
        ({"text": "A: " + "y" * 201}, "", "utterance 1: the text is 201 characters, over this server's limit of 200"),
        (
            {"conversations": [{"utterances": [{"speaker": "A", "text": "hi", "media": {"audio": "clip.wav"}}]}]},
            "",
            "conversations[0].utterances[0].media.audio: 'clip.wav' is not a file uploaded with this request",
        ),
        ({"text": "A: hi", "media": {"smell": "x"}}, "", 'media: unknown media kind "smell"'),
    ],
)
def test_user_errors_are_422_with_one_line(shared: Analyzer, body: object, query: str, expected: str) -> None:
    with serving(shared, max_utterances=10, max_text_chars=200) as client:
        if isinstance(body, bytes):
            response = client.post("/v1/analyze" + query, content=body, headers={"content-type": "application/json"})
        else:
            response = client.post("/v1/analyze" + query, json=body)
    assert response.status_code == 422
    assert expected in response.json()["error"]
    assert "\n" not in response.json()["error"] and "Traceback" not in response.text


def test_api_key_is_required_except_for_health_and_the_page(shared: Analyzer, tmp_path: Path) -> None:
    with serving(shared, api_key="s3cret") as client:
        missing = client.post("/v1/analyze", json={"text": "A: hi"})
        wrong = client.get("/v1/models", headers={"Authorization": "Bearer nope"})
        bearer = client.post("/v1/analyze", json={"text": "A: hi"}, headers={"Authorization": "Bearer s3cret"})
        header = client.get("/metrics", headers={"X-API-Key": "s3cret"})
        open_paths = [client.get(path).status_code for path in ("/healthz", "/", "/static/page.js", "/report.css")]
    assert missing.status_code == 401 and "API key" in missing.json()["error"]
    assert missing.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 401
    assert bearer.status_code == 200 and header.status_code == 200
    assert open_paths == [200, 200, 200, 200]


def test_full_queue_answers_503_with_retry_after(shared: Analyzer) -> None:
    gated = GatedAnalyzer(shared)
    with serving(gated, max_queue=2) as client:
        dispatcher = client.app.state.dispatcher  # type: ignore[attr-defined]
        gated.entered.clear()
        gated.gate.clear()
        running, running_result = in_background(lambda: client.post("/v1/analyze", json={"text": "A: first"}))
        assert gated.entered.wait(20)
        waiting, waiting_result = in_background(lambda: client.post("/v1/analyze", json={"text": "A: second"}))
        wait_until(lambda: dispatcher.waiting == 1)
        refused = client.post("/v1/analyze", json={"text": "A: third"})
        gated.gate.set()
        running.join(30)
        waiting.join(30)
        metrics = client.get("/metrics").text
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert "busy" in refused.json()["error"]
    assert [r.status_code for r in running_result + waiting_result] == [200, 200]  # type: ignore[attr-defined]
    assert samples(metrics)["emotrace_http_errors_total", frozenset({("route", "/v1/analyze"), ("kind", "overloaded")})] == 1


def test_concurrent_requests_with_equal_options_run_as_one_batch(shared: Analyzer) -> None:
    gated = GatedAnalyzer(shared)
    texts = ["A: I love this!", "B: I hate this.", "C: The bus leaves at six.", "D: Oh no, I'm scared."]
    with serving(gated, batch_wait_ms=50) as client:
        dispatcher = client.app.state.dispatcher  # type: ignore[attr-defined]
        calls_at_start = gated.calls  # the warm-up at startup
        gated.entered.clear()
        gated.gate.clear()
        threads = [in_background(lambda: client.post("/v1/analyze", json={"text": texts[0]}))]
        assert gated.entered.wait(20)
        threads += [in_background(lambda text=text: client.post("/v1/analyze", json={"text": text})) for text in texts[1:]]
        wait_until(lambda: dispatcher.waiting == 3)
        gated.gate.set()
        for thread, _ in threads:
            thread.join(30)
    responses = [results[0] for _, results in threads]
    assert [r.status_code for r in responses] == [200] * 4  # type: ignore[attr-defined]
    assert [r.json()["conversations"][0]["utterances"][0]["text"] for r in responses] == [t.split(": ", 1)[1] for t in texts]  # type: ignore[attr-defined]
    assert gated.calls - calls_at_start == 2  # the first alone (it was running), the other three merged


def test_requests_with_media_are_not_merged_with_text_only_ones(shared: Analyzer, tmp_path: Path) -> None:
    gated = GatedAnalyzer(shared)
    wav = noise_wav(tmp_path / "a.wav").read_bytes()
    with serving(gated, batch_wait_ms=50) as client:
        dispatcher = client.app.state.dispatcher  # type: ignore[attr-defined]
        calls_at_start = gated.calls
        gated.entered.clear()
        gated.gate.clear()
        first = in_background(lambda: client.post("/v1/analyze", json={"text": "A: Hello."}))
        assert gated.entered.wait(20)
        text_only = in_background(lambda: client.post("/v1/analyze", json={"text": "B: Fine, thanks."}))
        with_media = in_background(
            lambda: client.post(
                "/v1/analyze", data={"request": json.dumps({"text": "C: Great!", "media": {"audio": "a.wav"}})}, files=[("files", ("a.wav", wav, "audio/wav"))]
            )
        )
        wait_until(lambda: dispatcher.waiting == 2)
        gated.gate.set()
        for thread, _ in (first, text_only, with_media):
            thread.join(30)
    assert [results[0].status_code for _, results in (first, text_only, with_media)] == [200, 200, 200]  # type: ignore[attr-defined]
    assert "modalities" not in text_only[1][0].json()["conversations"][0]["utterances"][0]  # type: ignore[attr-defined]
    assert "speech" in with_media[1][0].json()["conversations"][0]["utterances"][0]["modalities"]  # type: ignore[attr-defined]
    assert gated.calls - calls_at_start == 3


def test_models_dir_bundles_are_offered_by_name_never_by_path(shared: Analyzer, tmp_path: Path) -> None:
    from emotrace.models.bundle import bundled_models

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.json").write_text((bundled_models()["default"] / "config.json").read_text())
    with serving(shared, models_dir=tmp_path.resolve()) as client:
        names = [model["name"] for model in client.get("/v1/models").json()["models"]]
        by_path = client.post("/v1/analyze", json={"text": "A: hi", "options": {"model": str(tmp_path / "mine")}})
    assert "mine" in names and "default" in names
    assert by_path.status_code == 422 and "no model named" in by_path.json()["error"]


# --- media -----------------------------------------------------------------------------------------------------------


def test_multipart_upload_adds_speech_for_the_utterance_that_names_it(shared: Analyzer, tmp_path: Path) -> None:
    wav = noise_wav(tmp_path / "turn1.wav")
    request = {
        "conversations": [
            {
                "id": "voice",
                "utterances": [
                    {"speaker": "A", "text": "I can't believe you did that!", "media": {"audio": "turn1.wav"}},
                    {"speaker": "B", "text": "I'm sorry."},
                ],
            }
        ]
    }
    before = upload_folders()
    with serving(shared) as client:
        response = client.post("/v1/analyze", data={"request": json.dumps(request)}, files=[("files", ("turn1.wav", wav.read_bytes(), "audio/wav"))])
    assert response.status_code == 200, response.text
    first, second = response.json()["conversations"][0]["utterances"]
    assert "speech" in first["modalities"] and first["modalities"]["speech"]["emotion"]
    assert "speech" not in (second.get("modalities") or {})
    assert upload_folders() == before  # the per-request folder is gone


def test_undecodable_upload_is_reported_for_its_utterance_only(shared: Analyzer) -> None:
    request = {"text": "A: Hello there.\nB: Hi!", "media": {"audio": "broken.wav"}}
    with serving(shared) as client:
        response = client.post("/v1/analyze", data={"request": json.dumps(request)}, files=[("files", ("broken.wav", b"not audio at all", "audio/wav"))])
    assert response.status_code == 200, response.text
    for utterance in response.json()["conversations"][0]["utterances"]:
        assert utterance["errors"]["speech"].startswith("broken.wav: cannot decode audio")
        assert utterance["modalities"]["text"]["emotion"] in LABELS


def test_media_longer_than_the_limit_is_422_naming_the_utterance(shared: Analyzer, tmp_path: Path) -> None:
    wav = noise_wav(tmp_path / "long.wav", seconds=3.0)
    request = {"text": "A: Hello there.\nB: Hi!", "media": {"audio": "long.wav"}}
    with serving(shared, max_media_seconds=2.0) as client:
        response = client.post("/v1/analyze", data={"request": json.dumps(request)}, files=[("files", ("long.wav", wav.read_bytes(), "audio/wav"))])
    assert response.status_code == 422
    assert response.json()["error"].startswith("conversation 'conv1' utterance 1: audio 'long.wav' is 3 s, over the limit of 2 s")


def test_video_longer_than_the_limit_is_422_by_its_frame_count(shared: Analyzer) -> None:
    examples = Path(__file__).resolve().parents[1] / "examples" / "video_call"
    request = {"conversations": [{"id": "call", "utterances": [{"speaker": "A", "text": "Hi!", "media": {"video": "call.mp4"}}]}]}
    with serving(shared, media_root=examples, max_media_seconds=1.0) as client:
        response = client.post("/v1/analyze", json=request)
    assert response.status_code == 422
    assert response.json()["error"].startswith("conversation 'call' utterance 1: video 'call.mp4' is ")


def test_server_local_media_only_inside_the_media_root(shared: Analyzer, tmp_path: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    noise_wav(root / "clip.wav")
    noise_wav(tmp_path / "secret.wav")

    def ask(client: TestClient, path: str) -> object:
        return client.post("/v1/analyze", json={"conversations": [{"utterances": [{"speaker": "A", "text": "Wow!", "media": {"audio": path}}]}]})

    with serving(shared, media_root=root.resolve()) as client:
        inside, outside, missing = ask(client, "clip.wav"), ask(client, "../secret.wav"), ask(client, "gone.wav")
    assert inside.status_code == 200 and "speech" in inside.json()["conversations"][0]["utterances"][0]["modalities"]  # type: ignore[attr-defined]
    assert outside.status_code == 422  # type: ignore[attr-defined]
    assert outside.json()["error"].startswith("conversations[0].utterances[0].media.audio: '../secret.wav' is outside")  # type: ignore[attr-defined]
    error = missing.json()["conversations"][0]["utterances"][0]["errors"]["speech"]  # type: ignore[attr-defined]
    assert error.startswith("gone.wav: audio file not found") and str(root) not in error


# --- fuzz ------------------------------------------------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
_LINES = st.lists(st.tuples(st.text(max_size=8), st.text(max_size=20)), max_size=5).map(lambda rows: "\n".join(f"{a}: {b}" for a, b in rows))
_UTTERANCE = st.dictionaries(
    st.sampled_from(["speaker", "text", "start", "end", "media", "id", "emotion"]), _JSON | st.text(min_size=1, max_size=10), max_size=6
)
_CONVERSATION = st.dictionaries(st.sampled_from(["id", "utterances", "media", "metadata", "split"]), _JSON | st.lists(_UTTERANCE, max_size=3), max_size=4)
_OPTIONS = st.dictionaries(st.sampled_from(["model", "fusion_model", "mc_dropout", "abstain_below", "explain", "bogus"]), _JSON, max_size=4)
_REQUEST = st.fixed_dictionaries(
    {},
    optional={
        "conversations": st.lists(_CONVERSATION, max_size=3) | _JSON,
        "text": _LINES | _JSON,
        "format": st.sampled_from(["transcript", "jsonl", "srt", "vtt", "csv", "xml"]) | _JSON,
        "options": _OPTIONS | _JSON,
        "media": st.dictionaries(st.sampled_from(["audio", "video", "image", "x"]), _JSON, max_size=2) | _JSON,
        "html": st.booleans() | _JSON,
    },
)

# Mostly well-typed requests, so that examples get past schema validation into reading, limits, media and rendering.
_TEXTISH = st.text(max_size=15) | _JSON
_NEAR_UTTERANCE = st.fixed_dictionaries(
    {"speaker": _TEXTISH, "text": _TEXTISH},
    optional={
        "start": st.floats() | _JSON,
        "end": st.floats() | _JSON,
        "id": _TEXTISH,
        "emotion": _TEXTISH,
        "media": st.dictionaries(st.sampled_from(["audio", "video", "image", "smell"]), st.text(max_size=8), max_size=2),
    },
)
_NEAR_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["default", "speech", "fusion", "nope", "../default"]),
        "fusion_model": st.sampled_from(["fusion", "late", "default", "x"]),
        "mc_dropout": st.integers(-2, 40),
        "abstain_below": st.none() | st.floats(-1, 2),
        "explain": st.booleans(),
    },
)
_NEAR_VALID = st.one_of(
    st.fixed_dictionaries(
        {"text": _LINES | st.text(max_size=60), "format": st.sampled_from(["transcript", "jsonl", "srt", "vtt", "csv"])},
        optional={"options": _NEAR_OPTIONS, "html": st.booleans()},
    ),
    st.fixed_dictionaries(
        {
            "conversations": st.lists(
                st.fixed_dictionaries({"utterances": st.lists(_NEAR_UTTERANCE, max_size=4)}, optional={"id": _TEXTISH, "metadata": _JSON}),
                min_size=1,
                max_size=3,
            )
        },
        optional={"options": _NEAR_OPTIONS, "html": st.booleans()},
    ),
)


@pytest.fixture(scope="module")
def fuzz_client(shared: Analyzer) -> Iterator[TestClient]:
    with serving(StubAnalyzer(shared), max_body_bytes=4096, max_utterances=20, max_text_chars=50) as client:
        yield client


@hypothesis_settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_NEAR_VALID | _REQUEST | _JSON | st.binary(max_size=64), query=st.sampled_from(["", "?format=csv", "?format=jsonl", "?format=pdf"]))
def test_no_request_body_makes_the_server_fail(fuzz_client: TestClient, body: object, query: str) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = fuzz_client.post("/v1/analyze" + query, content=content, headers={"content-type": "application/json"})
    assert response.status_code in (200, 413, 422), response.text
    if response.status_code != 200:
        error = response.json()["error"]
        assert isinstance(error, str) and error and "\n" not in error
