"""The read source over a finished ``vibe-backtest run`` folder (``vibe-live serve-results DIR``).

Reads the folder once (trades, orders, fills, signals, equity, bars, summary, config) into rows
sorted by time; the routes page through them. ``bars.csv`` holds the bars the run read (written
by ``vibe-backtest run``): without it ``/api/bars`` has no bars, only the trades' markers.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from vibe_backtest.api import calendar
from vibe_live.api.errors import UnknownSymbol
from vibe_live.api.models import (
    Account,
    BarRow,
    Bars,
    EquityCurve,
    FeedState,
    FillRow,
    Fills,
    HealthMetrics,
    Mode,
    OrderRow,
    Orders,
    Performance,
    Period,
    Positions,
    Ready,
    SignalRow,
    Signals,
    TradeRow,
    Trades,
)
from vibe_live.api.shapes import (
    Query,
    day_start,
    equity_points,
    markers,
    opening_range,
    order_status,
    performance,
    r_multiple,
    utc,
)
from vibe_live.api.source import Counters, ProcessStats, page

__all__ = ["ResultsSource", "ResultsError"]

_NEEDED = (
    "trades.csv",
    "orders.csv",
    "fills.csv",
    "equity.csv",
    "signals.csv",
    "summary.json",
    "config.json",
)


class ResultsError(ValueError):
    """The folder is not a backtest's results: the message names the folder and what is missing."""


def _ns(col: pd.Series) -> list[int]:
    if col.empty:
        return []
    stamps = pd.to_datetime(col, utc=True, format="ISO8601").dt.as_unit("ns")  # pandas 3 may pick us
    return [int(x) for x in stamps.astype("int64")]


def _opt(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _text(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else str(x)


def _split(text: Any) -> list[str]:
    s = _text(text)
    return [p for p in s.split("; ") if p] if s else []


class ResultsSource:
    """A backtest's results, read once; see the module docstring."""

    mode: Mode = "results"

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ResultsError(f"{self.folder}: no such folder (give a `vibe-backtest run --out DIR` folder)")
        missing = [n for n in _NEEDED if not (self.folder / n).is_file()]
        if missing:
            raise ResultsError(f"{self.folder}: not a backtest results folder; missing {', '.join(missing)}")
        self._started = time.monotonic()
        self._process = ProcessStats()
        try:
            self._load()
        except (ValueError, KeyError, OSError) as exc:
            raise ResultsError(f"{self.folder}: cannot read the results: {exc}") from exc

    def _read(self, name: str) -> pd.DataFrame:
        try:
            return pd.read_csv(self.folder / name, keep_default_na=True)
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
        except (ValueError, pd.errors.ParserError) as exc:
            raise ResultsError(f"{self.folder / name}: {exc}") from exc

    def _load(self) -> None:
        self.summary: dict[str, Any] = json.loads((self.folder / "summary.json").read_text())
        self.config: dict[str, Any] = json.loads((self.folder / "config.json").read_text())
        self.initial = float(self.summary.get("initial_capital") or self.config.get("initial_capital") or 0.0)
        strategy = self.config.get("strategy") or {}
        self.range_minutes = (
            int(strategy.get("opening_range_minutes", 15)) if isinstance(strategy, dict) else 15
        )
        signals = self._read("signals.csv")
        self._signals: list[SignalRow] = []
        self._signal_ns = _ns(signals["time"]) if len(signals) else []
        for r in signals.to_dict("records"):
            accepted = str(r["accepted"]).lower() == "true"
            self._signals.append(
                SignalRow(
                    time="",
                    symbol=str(r["symbol"]),
                    side=str(r["side"]),
                    verdict="accepted" if accepted else "vetoed",
                    reasons=_split(r["reasons"]),
                    strategy=_text(r.get("strategy")) or str(strategy.get("name", "")),
                    vetoes=_split(r["vetoes"]),
                    price=_opt(r["price"]),
                    stop=_opt(r["stop"]),
                    target=_opt(r["target"]),
                    qty=int(r["qty"]),
                )
            )
        for row, ts in zip(self._signals, self._signal_ns, strict=True):
            row.time = utc(ts)
        self._signals, self._signal_ns = _sorted(self._signals, self._signal_ns)
        self._load_trades(strategy)
        self._load_orders()
        self._load_equity()
        self._load_bars()

    def _load_trades(self, strategy: Any) -> None:
        trades = self._read("trades.csv")
        rows = trades.to_dict("records")
        entry = _ns(trades["entry_time"]) if len(trades) else []
        exit_ = _ns(trades["exit_time"]) if len(trades) else []
        accepted = [
            (s, ts) for s, ts in zip(self._signals, self._signal_ns, strict=True) if s.verdict == "accepted"
        ]
        out = []
        for r, a, b in zip(rows, entry, exit_, strict=True):
            sig = _signal_before(accepted, str(r["symbol"]), a)
            out.append(
                TradeRow(
                    symbol=str(r["symbol"]),
                    side=str(r["side"]),
                    qty=int(r["qty"]),
                    entry_time=utc(a),
                    entry_price=float(r["entry_price"]),
                    exit_time=utc(b),
                    exit_price=float(r["exit_price"]),
                    pnl=float(r["pnl"]),
                    fees=None,
                    exit_reason=str(r["exit_reason"]),
                    strategy=_text(r.get("strategy")) or str(strategy.get("name", "")),
                    r_multiple=r_multiple(
                        str(r["side"]),
                        int(r["qty"]),
                        float(r["pnl"]),
                        sig.price if sig else None,
                        sig.stop if sig else None,
                    ),
                )
            )
        order = sorted(range(len(out)), key=lambda i: (exit_[i], i))
        self._trades = [out[i] for i in order]
        self._trade_exit = [exit_[i] for i in order]
        self._trade_entry = [entry[i] for i in order]

    def _load_orders(self) -> None:
        fills = self._read("fills.csv")
        self._fill_ns = _ns(fills["time"]) if len(fills) else []
        self._fills = [
            FillRow(
                time=utc(ts),
                order_id=str(r["order_id"]),
                symbol=str(r["symbol"]),
                side=str(r["side"]),
                qty=int(r["qty"]),
                price=float(r["price"]),
                fee=float(r["fee"]),
            )
            for r, ts in zip(fills.to_dict("records"), self._fill_ns, strict=True)
        ]
        self._fills, self._fill_ns = _sorted(self._fills, self._fill_ns)
        paid: dict[str, tuple[int, float]] = {}
        for f in self._fills:
            q, v = paid.get(f.order_id, (0, 0.0))
            paid[f.order_id] = (q + f.qty, v + f.qty * f.price)
        orders = self._read("orders.csv")
        self._order_ns = _ns(orders["time"]) if len(orders) else []
        self._orders = []
        for r, ts in zip(orders.to_dict("records"), self._order_ns, strict=True):
            qty = int(r["qty"])
            filled, value = paid.get(str(r["id"]), (0, 0.0))
            status, reason = order_status(_text(r["status"]), filled, qty)
            self._orders.append(
                OrderRow(
                    id=str(r["id"]),
                    time=utc(ts),
                    symbol=str(r["symbol"]),
                    side=str(r["side"]),
                    type=str(r["type"]),
                    qty=qty,
                    status=status,
                    limit_price=_opt(r["limit_price"]),
                    stop_price=_opt(r["stop_price"]),
                    filled_qty=filled,
                    avg_fill_price=value / filled if filled else None,
                    reason=reason,
                    tag=_text(r["tag"]),
                )
            )
        self._orders, self._order_ns = _sorted(self._orders, self._order_ns)

    def _load_equity(self) -> None:
        eq = self._read("equity.csv")
        self._eq_ns = _ns(eq["time"]) if len(eq) else []
        self._eq_cash = [float(x) for x in eq["cash"]] if len(eq) else []
        self._eq_value = [float(x) for x in eq["equity"]] if len(eq) else []

    def _load_bars(self) -> None:
        self._bars: dict[str, tuple[list[int], list[BarRow]]] = {}
        path = self.folder / "bars.csv"
        names = set(self.summary.get("symbols") or self.config.get("symbols") or [])
        names |= {t.symbol for t in self._trades} | {s.symbol for s in self._signals}
        if path.is_file():
            bars = self._read("bars.csv")
            if len(bars):
                times = _ns(bars["time"])
                for (symbol, o, h, lo, c, v), ts in zip(
                    bars[["symbol", "open", "high", "low", "close", "volume"]].itertuples(index=False),
                    times,
                    strict=True,
                ):
                    ts_list, rows = self._bars.setdefault(str(symbol), ([], []))
                    ts_list.append(ts)
                    rows.append(
                        BarRow(
                            time=utc(ts),
                            open=float(o),
                            high=float(h),
                            low=float(lo),
                            close=float(c),
                            volume=float(v),
                        )
                    )
        self._symbols = sorted(names | set(self._bars))

    # -- the protocol ----------------------------------------------------------------------------

    def symbols(self) -> Sequence[str]:
        return self._symbols

    def uptime(self) -> float:
        return time.monotonic() - self._started

    def _last_ts(self) -> int | None:
        candidates = [x[-1] for x in (self._eq_ns, self._trade_exit, self._fill_ns) if x]
        return max(candidates) if candidates else None

    def account(self) -> Account:
        cash = self._eq_cash[-1] if self._eq_cash else self.initial
        equity = self._eq_value[-1] if self._eq_value else self.initial
        last = self._last_ts()
        day = performance(
            "day", now=last, initial=self.initial, times=self._eq_ns, equity=self._eq_value, trades=[]
        )
        today = [
            t
            for t, b in zip(self._trades, self._trade_exit, strict=True)
            if last is not None and b >= last - day_ns(last)
        ]
        return Account(
            ts=utc(last) if last is not None else None,
            cash=cash,
            equity=equity,
            unrealized_pnl=0.0,
            realized_pnl=sum(t.pnl for t in self._trades),
            daily_pnl=day.pnl,
            gross_exposure=0.0,
            open_positions=0,
            total_trades=len(self._trades),
            trades_today=len(today),
            paused=False,
            halted=False,
            session_date=self.summary.get("end"),
            session_open=False,
            mode="results",
        )

    def positions(self) -> Positions:
        return Positions(positions=[])  # a backtest ends flat (the end-of-day flatten)

    def orders(self, q: Query) -> Orders:
        rows, cursor = page(self._orders, self._order_ns, q, _filter(q, status=True))
        return Orders(orders=rows, next_cursor=cursor)

    def trades(self, q: Query) -> Trades:
        rows, cursor = page(self._trades, self._trade_exit, q, _filter(q))
        return Trades(trades=rows, next_cursor=cursor)

    def fills(self, q: Query) -> Fills:
        rows, cursor = page(self._fills, self._fill_ns, q, _filter(q))
        return Fills(fills=rows, next_cursor=cursor)

    def signals(self, q: Query) -> Signals:
        rows, cursor = page(self._signals, self._signal_ns, q, _filter(q))
        return Signals(signals=rows, next_cursor=cursor)

    def equity(self, since: int | None) -> EquityCurve:
        return EquityCurve(
            equity=equity_points(self._eq_ns, self._eq_cash, self._eq_value, self.initial, since)
        )

    def bars(self, symbol: str, limit: int) -> Bars:
        if symbol not in self._symbols:
            raise UnknownSymbol(symbol, list(self._symbols))
        all_times, all_rows = self._bars.get(symbol, ([], []))
        times, rows = all_times[-limit:], all_rows[-limit:]
        mine = [
            (t, a, b)
            for t, a, b in zip(self._trades, self._trade_entry, self._trade_exit, strict=True)
            if t.symbol == symbol
        ]
        lo, hi = (times[0], times[-1] + 300 * 10**9) if times else (0, 1 << 62)
        return Bars(
            symbol=symbol,
            timeframe="5m",
            bars=rows,
            opening_range=opening_range(all_rows, all_times, calendar(), self.range_minutes),
            markers=markers([m[0] for m in mine], [m[1] for m in mine], [m[2] for m in mine], lo, hi),
        )

    def performance(self, period: Period) -> Performance:
        trades = list(zip(self._trade_entry, self._trade_exit, (t.pnl for t in self._trades), strict=True))
        return performance(
            period,
            now=self._last_ts(),
            initial=self.initial,
            times=self._eq_ns,
            equity=self._eq_value,
            trades=trades,
        )

    def health(self) -> HealthMetrics:
        last = max((ts[-1] for ts, _ in self._bars.values() if ts), default=self._last_ts())
        return HealthMetrics(
            uptime_seconds=self.uptime(),
            feed=FeedState(connected=False, reconnects=0, last_print_age_seconds={}),
            last_data_time=utc(last) if last is not None else None,
            cpu_percent=self._process.cpu_percent(),
            rss_bytes=self._process.rss_bytes(),
            errors_last_hour=0,
            gaps=[],
        )

    def ready(self) -> Ready:
        from vibe_live.api.models import Check

        return Ready(status="ready", checks={"results": Check(ok=True, detail=str(self.folder))})

    def counters(self) -> Counters:
        account = self.account()
        by_status: dict[str, int] = {}
        for o in self._orders:
            by_status[o.status] = by_status.get(o.status, 0) + 1
        return Counters(
            uptime=self.uptime(),
            feed_connected=False,
            print_ages={},
            reconnects=0,
            events_applied=int(self.summary.get("bars_processed") or 0),
            orders_by_status=by_status,
            fills=len(self._fills),
            equity=account.equity,
            cash=account.cash,
            open_positions=0,
            daily_pnl=account.daily_pnl,
            errors={},
        )


def day_ns(last: int) -> int:
    """ns since the start of ``last``'s New York day."""
    return last - day_start(last)


def _sorted(rows: list[Any], times: list[int]) -> tuple[list[Any], list[int]]:
    order = sorted(range(len(rows)), key=lambda i: (times[i], i))
    return [rows[i] for i in order], [times[i] for i in order]


def _signal_before(accepted: list[tuple[SignalRow, int]], symbol: str, ts: int) -> SignalRow | None:
    best = None
    for s, t in accepted:
        if s.symbol == symbol and t <= ts:
            best = s
    return best


def _filter(q: Query, *, status: bool = False) -> Any:
    if q.symbol is None and not (status and q.status):
        return None

    def keep(row: Any) -> bool:
        if q.symbol is not None and row.symbol != q.symbol:
            return False
        return not (status and q.status and row.status != q.status)

    return keep
