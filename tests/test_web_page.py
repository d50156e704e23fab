"""The web page end to end, as a person uses it: headless Chromium against the real server (uvicorn on a free port,
the real default model), typing a conversation, analysing it, opening a turn's explanation, finding the downloads;
and live mode, typing one turn at a time over the WebSocket while the chart grows."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
    pytest.skip(f"needs {CHROMIUM} and {CHROMEDRIVER} (Debian: apt-get install chromium chromium-driver)", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CONVERSATION = [
    "Customer: My connection dropped again last night, this is ridiculous!",
    "Agent: I'm so sorry. A technician replaced the faulty part this morning.",
    "Customer: Oh really? That's great news, thank you!",
    "Agent: You're welcome. Have a lovely evening.",
]
LABELS = {"neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"}
TRANSPARENT = "rgba(0, 0, 0, 0)"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The real app under uvicorn in a background thread, on a port the OS picked for an already-bound socket."""
    import uvicorn

    from emotrace.serve import ServeSettings, create_app

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(ServeSettings()), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        WebDriverWait(None, 120, poll_frequency=0.1).until(lambda _: server.started or not thread.is_alive())
        assert server.started, "the server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        listener.close()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, downloads: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1600",
    ):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def analyse(browser: WebDriver, server: str, abstain_below: str = "", reload: bool = True) -> list:
    if reload:
        browser.get(server + "/")
    browser.find_element(By.ID, "text").send_keys("\n".join(CONVERSATION))
    browser.find_element(By.ID, "abstain").send_keys(abstain_below)
    browser.find_element(By.ID, "analyze").click()
    WebDriverWait(browser, 120).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#result .turn") or "error" in d.find_element(By.ID, "status").get_attribute("class")
    )
    return browser.find_elements(By.CSS_SELECTOR, "#result .turn")


def test_page_shows_one_coloured_labelled_turn_per_utterance_and_explains_on_click(browser: WebDriver, server: str, downloads: Path) -> None:
    turns = analyse(browser, server)
    assert len(turns) == len(CONVERSATION), browser.find_element(By.ID, "status").text
    for turn in turns:
        assert turn.find_element(By.CSS_SELECTOR, ".label").text in LABELS
        assert "--emotion: #" in turn.get_attribute("style")
        assert turn.value_of_css_property("border-left-color") not in (TRANSPARENT, "rgb(255, 255, 255)")
    assert browser.find_element(By.ID, "status").text == f"{len(CONVERSATION)} utterances analysed."
    summary = [line.text for line in browser.find_elements(By.CSS_SELECTOR, "#result .summary li")]
    assert [line.split(" (")[0] for line in summary] == ["Customer", "Agent"] and all("(2 turns): " in line for line in summary)
    chart = browser.find_element(By.CSS_SELECTOR, "#result svg.timeline-chart")
    assert chart.size["width"] > 300 and len(chart.find_elements(By.CSS_SELECTOR, "rect title")) == len(CONVERSATION)

    first = turns[0]
    words = first.find_elements(By.CSS_SELECTOR, ".word")
    assert words, "the page asks for explanations, so each turn's words carry their importance"
    assert first.find_element(By.CSS_SELECTOR, ".details").value_of_css_property("display") == "none"
    assert {word.value_of_css_property("background-color") for word in words} == {TRANSPARENT}
    first.click()
    assert "open" in first.get_attribute("class").split()
    assert first.find_element(By.CSS_SELECTOR, ".details").value_of_css_property("display") == "block"
    assert {word.value_of_css_property("background-color") for word in words} - {TRANSPARENT}, "no word highlighted after the click"

    assert browser.find_element(By.ID, "downloads").is_displayed()
    link = browser.find_element(By.ID, "download-json")
    assert link.get_attribute("href").startswith("blob:") and link.get_attribute("download") == "emotrace.json"
    browser.find_element(By.ID, "download-csv").click()
    csv = downloads / "emotrace.csv"
    WebDriverWait(browser, 120).until(lambda _: csv.is_file() and csv.read_text().count("\n") == len(CONVERSATION) + 1)
    assert csv.read_text().startswith("conversation_id,utterance_index,speaker")


def test_page_sends_an_uploaded_recording_and_shows_the_speech_modality(browser: WebDriver, server: str, tmp_path: Path) -> None:
    import numpy as np
    import soundfile

    recording = tmp_path / "call.wav"
    soundfile.write(recording, (0.1 * np.random.default_rng(0).standard_normal(16_000)).astype(np.float32), 16_000)
    browser.get(server + "/")
    browser.find_element(By.ID, "media").send_keys(str(recording))
    turns = analyse(browser, server, reload=False)
    assert len(turns) == len(CONVERSATION), browser.find_element(By.ID, "status").text
    turns[0].click()
    details = turns[0].find_element(By.CSS_SELECTOR, ".details").text
    assert "text: " in details and "speech: " in details


def test_page_analyses_a_recording_alone_as_a_job_and_shows_its_turns(browser: WebDriver, server: str) -> None:
    recording = Path(__file__).resolve().parents[1] / "examples" / "recorded_call" / "call.flac"
    browser.get(server + "/")
    browser.find_element(By.ID, "media").send_keys(str(recording))
    browser.find_element(By.ID, "analyze").click()
    WebDriverWait(browser, 120).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#result .turn") or "error" in d.find_element(By.ID, "status").get_attribute("class")
    )
    turns = browser.find_elements(By.CSS_SELECTOR, "#result .turn")
    assert len(turns) == 4, browser.find_element(By.ID, "status").text
    assert browser.find_element(By.ID, "status").text == "4 utterances analysed."
    assert all(turn.find_element(By.CSS_SELECTOR, ".label").text for turn in turns)
    assert "channel 1" in turns[0].text and "channel 2" in turns[1].text
    assert not browser.find_element(By.ID, "download-csv").is_displayed()


def test_page_marks_abstained_turns_as_uncertain(browser: WebDriver, server: str) -> None:
    turns = analyse(browser, server, abstain_below="0.999")
    assert len(turns) == len(CONVERSATION), browser.find_element(By.ID, "status").text
    for turn in turns:
        assert turn.find_element(By.CSS_SELECTOR, ".label").text == "uncertain"
        assert "uncertain" in turn.get_attribute("class").split()
        assert turn.value_of_css_property("border-left-style") == "dashed"


def live_conversation(browser: WebDriver, server: str) -> list:
    """Live mode: each turn of CONVERSATION typed and sent; after each, the chart must have grown by one bar."""
    browser.get(server + "/")
    browser.find_element(By.ID, "mode-live").click()
    assert browser.find_element(By.ID, "live").is_displayed() and not browser.find_element(By.ID, "form").is_displayed()
    bars = []
    for count, line in enumerate(CONVERSATION, start=1):
        speaker, text = line.split(": ", 1)
        browser.find_element(By.ID, "live-speaker").clear()
        browser.find_element(By.ID, "live-speaker").send_keys(speaker)
        browser.find_element(By.ID, "live-text").send_keys(text)
        browser.find_element(By.ID, "live-send").click()
        WebDriverWait(browser, 120).until(
            lambda d, count=count: (
                len(d.find_elements(By.CSS_SELECTOR, "#live-turns li")) == count or "error" in d.find_element(By.ID, "live-status").get_attribute("class")
            )
        )
        bars.append(len(browser.find_elements(By.CSS_SELECTOR, "#live-chart svg.timeline-chart rect title")))
    assert bars == list(range(1, len(CONVERSATION) + 1)), browser.find_element(By.ID, "live-status").text
    return browser.find_elements(By.CSS_SELECTOR, "#live-turns li")


def test_live_mode_labels_each_typed_turn_and_grows_the_chart(browser: WebDriver, server: str) -> None:
    turns = live_conversation(browser, server)
    for turn, line in zip(turns, CONVERSATION):
        assert turn.text.startswith(line + " — ")
        assert turn.find_element(By.CSS_SELECTOR, ".label").text.split()[0] in LABELS
        assert turn.value_of_css_property("border-left-color") not in (TRANSPARENT, "rgb(255, 255, 255)")
    summary = [line.text for line in browser.find_elements(By.CSS_SELECTOR, "#live-summary li")]
    assert [line.split(" (")[0] for line in summary] == ["Customer", "Agent"] and all("(2 turns): " in line for line in summary)
    assert browser.find_element(By.ID, "live-status").text == f"{len(CONVERSATION)} turns."
    browser.find_element(By.ID, "live-reset").click()
    assert not browser.find_elements(By.CSS_SELECTOR, "#live-turns li, #live-chart svg")
