"""Counters and a latency histogram in the Prometheus text format, written by hand: a few numbers do not need
a client library. Every label takes few values (routes, status codes, modalities), so memory stays bounded."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """Updated by the request middleware and the analyze route; `render` also reads live values (queue depth,
    batches run) from the callables it is given, so they are never stale."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str]] = Counter()  # (route, status)
        self.errors: Counter[tuple[str, str]] = Counter()  # (route, kind)
        self.latency_buckets: dict[str, list[int]] = {}
        self.latency_sum: Counter[str] = Counter()
        self.latency_count: Counter[str] = Counter()
        self.utterances = 0
        self.media_failures: Counter[str] = Counter()  # modality → utterances whose media could not be used

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[route, str(status)] += 1
            if status >= 400:
                self.errors[route, _error_kind(status)] += 1
            buckets = self.latency_buckets.setdefault(route, [0] * len(LATENCY_BUCKETS))
            for index, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    buckets[index] += 1
            self.latency_sum[route] += seconds
            self.latency_count[route] += 1

    def observe_analysis(self, utterances: int, failed_modalities: list[str]) -> None:
        with self._lock:
            self.utterances += utterances
            self.media_failures.update(failed_modalities)

    def render(self, gauges: dict[str, tuple[str, Callable[[], float]]]) -> str:
        """The exposition text; `gauges` maps a metric name to (help, current value) read now."""
        lines: list[str] = []
        with self._lock:
            _family(lines, "emotrace_http_requests_total", "counter", "HTTP requests by route and status.",
                    [({"route": r, "status": s}, n) for (r, s), n in sorted(self.requests.items())])
            _family(lines, "emotrace_http_errors_total", "counter", "HTTP responses >= 400 by route and kind (client, overloaded, server).",
                    [({"route": r, "kind": k}, n) for (r, k), n in sorted(self.errors.items())])
            lines += ["# HELP emotrace_http_request_duration_seconds Time from request to response.",
                      "# TYPE emotrace_http_request_duration_seconds histogram"]
            for route, buckets in sorted(self.latency_buckets.items()):
                for bound, count in zip(LATENCY_BUCKETS, buckets):
                    lines.append(f'emotrace_http_request_duration_seconds_bucket{_labels({"route": route, "le": repr(bound)})} {count}')
                total = self.latency_count[route]
                lines.append(f'emotrace_http_request_duration_seconds_bucket{_labels({"route": route, "le": "+Inf"})} {total}')
                lines.append(f"emotrace_http_request_duration_seconds_sum{_labels({'route': route})} {self.latency_sum[route]!r}")
                lines.append(f"emotrace_http_request_duration_seconds_count{_labels({'route': route})} {total}")
            _family(lines, "emotrace_utterances_analysed_total", "counter", "Utterances analysed by /v1/analyze.", [({}, self.utterances)])
            _family(lines, "emotrace_media_failures_total", "counter", "Utterances whose media a modality could not use (reported per utterance).",
                    [({"modality": m}, n) for m, n in sorted(self.media_failures.items())])
        for name, (help_text, value) in gauges.items():
            kind = "counter" if name.endswith("_total") else "gauge"
            _family(lines, name, kind, help_text, [({}, value())])
        return "\n".join(lines) + "\n"


def _error_kind(status: int) -> str:
    if status == 503:
        return "overloaded"
    return "server" if status >= 500 else "client"


def _family(lines: list[str], name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{_labels(labels)} {value}" for labels, value in samples]


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    escaped = {key: value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for key, value in labels.items()}
    return "{" + ",".join(f'{key}="{value}"' for key, value in escaped.items()) + "}"
