"""The service's Prometheus metrics, kept by `prometheus_client` in a registry of their own per app (so several apps
in one process, as in the tests, never share counts). Every label takes few values (routes, status codes,
modalities), so memory stays bounded."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """Updated by the request middleware and the analyze route; the queue depth and the batches run are read from
    `queue_depth` and `batches` at each scrape, so they are never stale."""

    def __init__(self, queue_depth: Callable[[], float], batches: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter("emotrace_http_requests_total", "HTTP requests by route and status.", ["route", "status"], registry=self.registry)
        self._errors = Counter(
            "emotrace_http_errors_total", "HTTP responses >= 400 by route and kind (client, overloaded, server).", ["route", "kind"], registry=self.registry
        )
        self._latency = Histogram(
            "emotrace_http_request_duration_seconds", "Time from request to response.", ["route"], buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self._utterances = Counter("emotrace_utterances_analysed_total", "Utterances analysed by /v1/analyze.", registry=self.registry)
        self._media_failures = Counter(
            "emotrace_media_failures_total", "Utterances whose media a modality could not use (reported per utterance).", ["modality"], registry=self.registry
        )
        Gauge("emotrace_queue_requests", "Requests waiting or being analysed.", registry=self.registry).set_function(queue_depth)
        self.registry.register(_BatchesRun(batches))

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        self._requests.labels(route, str(status)).inc()
        if status >= 400:
            self._errors.labels(route, _error_kind(status)).inc()
        self._latency.labels(route).observe(seconds)

    def observe_analysis(self, utterances: int, failed_modalities: list[str]) -> None:
        self._utterances.inc(utterances)
        for modality in failed_modalities:
            self._media_failures.labels(modality).inc()

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition in the format the scraper's Accept header asks for (Prometheus text 0.0.4 by default),
        and its content type."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type


class _BatchesRun(Collector):
    """The worker's count of analyze calls, a counter the dispatcher keeps itself."""

    def __init__(self, batches: Callable[[], float]) -> None:
        self._batches = batches

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily("emotrace_inference_batches_total", "analyze calls run by the worker (merged requests count once).", value=self._batches())


def _error_kind(status: int) -> str:
    if status == 503:
        return "overloaded"
    return "server" if status >= 500 else "client"
