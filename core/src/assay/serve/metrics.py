"""Prometheus metrics of a reward server, in a registry of its own (one per app).

- ``assay_requests_total{endpoint, code}``: requests answered;
- ``assay_request_seconds{endpoint}``: latency histogram, queueing included;
- ``assay_batch_samples``: samples per `score` call (how well micro-batching merges);
- ``assay_component_status_total{component, status}``: per-component statuses scored;
- ``assay_samples_total{status}``: combined statuses scored;
- ``assay_queue_samples``: samples waiting for a worker; ``assay_inflight_batches``: batches
  being scored.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


class ServerMetrics:
    """The server's counters, histograms and gauges."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "assay_requests", "Requests answered", ["endpoint", "code"], registry=r
        )
        self.latency = Histogram(
            "assay_request_seconds",
            "Request latency, queueing included",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch = Histogram(
            "assay_batch_samples", "Samples per score call", buckets=BATCH_BUCKETS, registry=r
        )
        self.components = Counter(
            "assay_component_status",
            "Component scores by status",
            ["component", "status"],
            registry=r,
        )
        self.samples = Counter("assay_samples", "Samples scored by status", ["status"], registry=r)
        self.queue = Gauge("assay_queue_samples", "Samples waiting for a worker", registry=r)
        self.inflight = Gauge("assay_inflight_batches", "Batches being scored", registry=r)

    def observe_rows(self, rows: list[dict[str, Any]]) -> None:
        """Count the statuses of a scored batch."""
        samples: dict[str, int] = {}
        comps: dict[tuple[str, str], int] = {}
        for row in rows:
            samples[row["status"]] = samples.get(row["status"], 0) + 1
            for name, comp in row["components"].items():
                key = (name, comp.get("status", "ok"))
                comps[key] = comps.get(key, 0) + 1
        for status, n in samples.items():
            self.samples.labels(status).inc(n)
        for (name, status), n in comps.items():
            self.components.labels(name, status).inc(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)
