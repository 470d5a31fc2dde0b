"""One browser session's dashboard: the views, what each needs from the API, and when it refreshes.

Reads go through :class:`~vibe_panel.client.ApiClient` only. Live, a task on the Bokeh server's
event loop follows ``WS /ws/updates`` (:class:`~vibe_panel.updates.UpdateStream`) and only marks
which views its messages touch, then asks Bokeh for a tick at once (``add_next_tick_callback``);
a periodic tick (every ``tick_ms``) is the fallback. A tick runs with the document lock held: it
reads the stale views' routes and updates them, the tables first and the charts (equity from its
last point, the bars) on a following tick, at most every ``heavy_ms``; so the document is never
touched off its lock and a fill's row follows its message by about one request. Health and the
account are also re-read every ``slow_ms`` (print ages grow without messages). Over a finished
backtest (``live=False``) everything is read once, there is no stream and the controls are off.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final

import panel as pn

from vibe_panel import frames
from vibe_panel.client import AdminResult, ApiClient, ApiError
from vibe_panel.updates import UpdateStream
from vibe_panel.views.cards import AccountCards, performance_line
from vibe_panel.views.charts import CandleChart, EquityChart
from vibe_panel.views.controls import Controls
from vibe_panel.views.health import HealthView
from vibe_panel.views.tables import fills_table, positions_table, signals_table, trades_table

__all__ = ["Dashboard", "KINDS", "TOUCHES", "build"]

log = logging.getLogger(__name__)

KINDS: Final = (
    "account", "positions", "trades", "fills", "signals", "equity", "bars", "health", "performance",
)  # fmt: skip
#: what each update message type makes stale
TOUCHES: Final[dict[str, frozenset[str]]] = {
    "fill": frozenset({"fills", "positions", "account", "equity", "bars"}),
    "trade": frozenset({"trades", "account", "equity", "bars", "performance"}),
    "order": frozenset({"account"}),
    "position": frozenset({"positions", "account"}),
    "signal": frozenset({"signals", "bars"}),
    "account": frozenset({"account", "equity"}),
    "health": frozenset({"health"}),
    "halt": frozenset({"account"}),
}
#: read after the tables (on the next tick) and at most every ``heavy_ms``: their answers are big
HEAVY: Final = frozenset({"equity", "bars", "performance"})
#: the tab (its index in the tabs) that shows each kind's table
TAB_OF: Final = {"trades": 0, "positions": 1, "fills": 2, "signals": 3, "health": 4}
ROW_LIMIT: Final = 500
BAR_LIMIT: Final = 400  #: about five sessions of 5m bars for the day picker


class Dashboard:
    """The views of one session and their refresh; ``live`` selects the stream and the controls."""

    def __init__(
        self,
        api_url: str,
        *,
        live: bool,
        tick_ms: int = 200,
        slow_ms: int = 2000,
        heavy_ms: int = 1000,
        api_key: str = "",
    ) -> None:
        self.api_url, self.live = api_url, live
        self.heavy_ms = heavy_ms
        self.tick_ms, self.slow_ms = tick_ms, slow_ms
        self.client = ApiClient(api_url, api_key=api_key)
        self.cards = AccountCards()
        self.equity = EquityChart()
        self.candles = CandleChart()
        self.trades, self.positions = trades_table(), positions_table()
        self.fills, self.signals = fills_table(), signals_table()
        self.health = HealthView()
        self.controls = Controls(self._admin, enabled=live)
        self.updated = pn.pane.Markdown("loading", css_classes=["vibe-updated"], margin=(0, 10))
        self.banner = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=["vibe-banner"])
        self.stale: set[str] = set(KINDS)
        self.stream = UpdateStream(api_url, self._on_message, api_key=api_key) if live else None
        self._stream_task: asyncio.Task[None] | None = None
        self._busy = False
        self._doc: Any = None
        self._kicked = False
        self._heavy_at = float("-inf")
        self._retry_s, self._retry_at = 0.0, float("-inf")
        self._health_symbols: list[str] = []
        self.tabs: pn.Tabs | None = None
        self.hidden: set[str] = set()  #: kinds fetched while their tab was not shown, updated on show
        self.candles.symbol.param.watch(lambda _e: self.stale.add("bars"), "value")

    # -- layout -----------------------------------------------------------------------------------
    def template(self) -> pn.template.BootstrapTemplate:
        source = self.api_url if self.live else f"finished backtest (served at {self.api_url})"
        template = pn.template.BootstrapTemplate(title="vibe", header_background="#263238")
        tabs = pn.Tabs(
            ("Trades", self.trades.panel),
            ("Positions", self.positions.panel),
            ("Fills", self.fills.panel),
            ("Signals", self.signals.panel),
            ("Health", self.health.panel),
            ("Controls", self.controls.panel),
            dynamic=True,  # only the shown tab is in the page: Tabulator fails updating while hidden
            sizing_mode="stretch_width",
        )
        self.tabs = tabs
        tabs.param.watch(self._on_tab, "active")
        main = template.main
        assert main is not None
        main.append(
            pn.Column(
                self.banner,
                pn.Row(pn.pane.Markdown(f"Source: `{source}`", margin=(0, 10)), self.updated),
                self.cards.panel,
                pn.Row(self.equity.panel, self.candles.panel, sizing_mode="stretch_width"),
                tabs,
                sizing_mode="stretch_width",
            )
        )
        return template

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Called once the page loaded: the first read, then the periodic refresh and the stream."""
        self._doc = pn.state.curdoc
        self._kick()
        pn.state.add_periodic_callback(self.tick, period=self.tick_ms)  # type: ignore[arg-type]
        if self.live:
            pn.state.add_periodic_callback(self._mark_slow, period=self.slow_ms)
            assert self.stream is not None
            self._stream_task = asyncio.get_running_loop().create_task(self.stream.run())

    def stop(self, session_context: Any) -> None:
        """Bokeh calls it when the page is gone: the stream task and the HTTP pool go with it."""
        if self._stream_task is not None:
            self._stream_task.cancel()
            self._stream_task = None
        client = self.client
        with contextlib.suppress(RuntimeError):  # no loop: the process is going away anyway
            asyncio.get_running_loop().create_task(client.aclose())

    def _on_message(self, message: dict[str, Any]) -> None:
        touched = TOUCHES.get(str(message.get("type")), frozenset())
        if touched - self.stale:
            self.stale |= touched
            self._kick()

    def _kick(self) -> None:
        """A tick as soon as Bokeh can run it (with the document lock), not at the next period."""
        if self._doc is not None and not self._kicked:
            self._kicked = True
            self._doc.add_next_tick_callback(self._kicked_tick)

    async def _kicked_tick(self) -> None:
        self._kicked = False
        await self.tick()

    def _shown(self, kind: str) -> bool:
        """Whether ``kind``'s tab is the one in the page (a table outside the page is not touched:
        its element is gone, and Tabulator's redraw of it fails in the browser)."""
        if kind not in TAB_OF or self.tabs is None or self.tabs.active == TAB_OF[kind]:
            return True
        self.hidden.add(kind)
        return False

    def _on_tab(self, event: Any) -> None:
        shown = {kind for kind in self.hidden if TAB_OF[kind] == event.new}
        if shown:
            self.hidden -= shown
            self.stale |= shown
            self._kick()

    def _mark_slow(self) -> None:
        self.stale |= {"health", "account"}

    # -- refresh ----------------------------------------------------------------------------------
    async def tick(self) -> None:
        """Fetch and show what went stale since the last tick (one tick at a time)."""
        if self.stream is not None:
            self._show_stream()
        if self._busy or not self.stale or time.monotonic() < self._retry_at:
            return
        light = self.stale - HEAVY
        due = time.monotonic() - self._heavy_at >= self.heavy_ms / 1000
        kinds = light or (self.stale & HEAVY if due else set())
        if not kinds:
            return
        if kinds & HEAVY:
            self._heavy_at = time.monotonic()
        self._busy = True
        self.stale -= kinds
        try:
            await self.refresh(kinds)
            self.banner.visible, self._retry_s = False, 0.0
            if not self.stale:  # everything asked for so far is on screen
                self.updated.object = f"updated {dt.datetime.now():%H:%M:%S}"
            elif self.stale - HEAVY or due:
                self._kick()
        except ApiError as exc:
            self.stale |= kinds
            self._retry_s = min(max(self._retry_s * 2, 0.5), 5.0)  # a dead API is not hammered
            self._retry_at = time.monotonic() + self._retry_s
            self.banner.object = f"The API at {self.api_url} did not answer: {exc}. Retrying."
            self.banner.visible = True
        finally:
            self._busy = False

    async def refresh(self, kinds: set[str]) -> None:
        fetch: dict[str, Callable[[], Coroutine[Any, Any, Any]]] = {
            "account": self.client.account,
            "positions": self.client.positions,
            "trades": lambda: self.client.trades(limit=ROW_LIMIT),
            "fills": lambda: self.client.fills(limit=ROW_LIMIT),
            "signals": lambda: self.client.signals(limit=ROW_LIMIT),
            "equity": lambda: self.client.equity(since=self.equity.since),
            "health": self.client.health,
            "performance": self.client.performance,
        }
        wanted = [k for k in KINDS if k in kinds and k in fetch]
        answers = dict(zip(wanted, await asyncio.gather(*(fetch[k]() for k in wanted)), strict=True))
        if "account" in answers:
            self.cards.update(answers["account"])
        if "positions" in answers and self._shown("positions"):
            self.positions.update(frames.positions_frame(answers["positions"]))
        if "trades" in answers and self._shown("trades"):
            self.trades.update(frames.trades_frame(answers["trades"]))
        if "fills" in answers and self._shown("fills"):
            self.fills.update(frames.fills_frame(answers["fills"]))
        if "signals" in answers and self._shown("signals"):
            self.signals.update(frames.signals_frame(answers["signals"]))
        if "equity" in answers:
            self.equity.update(answers["equity"])
        if "performance" in answers:
            self.cards.performance.object = performance_line(answers["performance"])
        if "health" in answers:
            if self._shown("health"):
                self.health.update(answers["health"])
            self._health_symbols = list(
                (answers["health"].get("feed") or {}).get("last_print_age_seconds") or {}
            )
        if {"trades", "positions", "signals", "health"} & set(answers):
            trades = self.trades.table.value
            self.candles.set_symbols(
                frames.symbols_seen(
                    trades.to_dict("records"),
                    self.positions.table.value.to_dict("records"),
                    self.signals.table.value.to_dict("records"),
                    extra=self._health_symbols,
                ),
                preferred=str(trades["symbol"].iloc[0]) if len(trades) else None,
            )
        if "bars" in kinds and self.candles.symbol.value:
            try:
                self.candles.update(await self.client.bars(self.candles.symbol.value, limit=BAR_LIMIT))
            except ApiError as exc:
                if exc.status != 404:
                    raise
                self.candles.caption.object = f"no bars for {self.candles.symbol.value}"

    def _show_stream(self) -> None:
        assert self.stream is not None
        stream = self.stream
        state = "connected" if stream.connected else f"reconnecting ({stream.last_error or 'connecting'})"
        self.health.show_stream(
            f"**Updates** {state} · last seq {stream.last_seq} · connections {stream.connects}"
        )

    async def _admin(self, command: str, key: str) -> AdminResult:
        result = await self.client.admin(command, key)
        if result.accepted:
            self.stale |= {"account", "positions"}
        return result


def build(api_url: str, *, live: bool, **options: Any) -> Callable[[], pn.template.BootstrapTemplate]:
    """The per-session factory ``pn.serve`` calls: a new :class:`Dashboard` for every page load."""

    def make() -> pn.template.BootstrapTemplate:
        dashboard = Dashboard(api_url, live=live, **options)
        pn.state.onload(dashboard.start)
        pn.state.on_session_destroyed(dashboard.stop)
        return dashboard.template()

    return make
