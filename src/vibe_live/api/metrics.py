"""``/metrics``: Prometheus text through ``prometheus-client``, in a registry of the app's own (not
the global one, so two apps in one process, e.g. tests, never mix).

The gauges and counters are read from the :class:`~vibe_live.api.source.ReadSource` at scrape
time (one :meth:`~vibe_live.api.source.ReadSource.counters` call, so the values agree with each
other and with the read routes); ``vibe_step_seconds`` is a histogram the service observes after
each step; ``process_*`` come from ``ProcessCollector`` (RSS, CPU seconds, open files).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vibe_live.api.source import ReadSource

__all__ = ["Metrics", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STEP_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class _SourceCollector(Collector):
    def __init__(self, source: ReadSource) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        c = self.source.counters()
        yield GaugeMetricFamily("vibe_uptime_seconds", "Seconds since the API started", value=c.uptime)
        yield GaugeMetricFamily(
            "vibe_feed_connected", "1 when the market feed is connected", value=float(c.feed_connected)
        )
        ages = GaugeMetricFamily(
            "vibe_feed_last_print_age_seconds",
            "Seconds since the symbol's latest print arrived",
            labels=["symbol"],
        )
        for symbol, age in sorted(c.print_ages.items()):
            ages.add_metric([symbol], age)
        yield ages
        yield CounterMetricFamily(
            "vibe_feed_reconnects", "Feed connections made after the first", value=c.reconnects
        )
        yield CounterMetricFamily(
            "vibe_events_applied", "Events logged and applied by the engine", value=c.events_applied
        )
        orders = CounterMetricFamily("vibe_orders", "Orders by their current status", labels=["status"])
        for status, n in sorted(c.orders_by_status.items()):
            orders.add_metric([status], n)
        yield orders
        yield CounterMetricFamily("vibe_fills", "Fills", value=c.fills)
        yield GaugeMetricFamily("vibe_equity_dollars", "Account equity", value=c.equity)
        yield GaugeMetricFamily("vibe_cash_dollars", "Account cash", value=c.cash)
        yield GaugeMetricFamily("vibe_open_positions", "Open positions", value=c.open_positions)
        yield GaugeMetricFamily(
            "vibe_daily_pnl_dollars", "Equity change since the session began", value=c.daily_pnl
        )
        errors = CounterMetricFamily(
            "vibe_errors", "Errors by kind (refused events, feed faults)", labels=["kind"]
        )
        for kind, n in sorted(c.errors.items()):
            errors.add_metric([kind], n)
        yield errors


class Metrics:
    """The app's registry: the source's values, the step histogram and the process collector."""

    def __init__(self, source: ReadSource) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_SourceCollector(source))
        ProcessCollector(registry=self.registry)
        self.step_seconds = Histogram(
            "vibe_step_seconds",
            "Seconds to log, apply and record one step (a frame, a Clock or a command)",
            buckets=STEP_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
