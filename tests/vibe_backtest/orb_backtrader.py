"""The ORB rules of DESIGN §4 written for backtrader: the reference of the parity test and the
backtrader leg of ``benchmarks/bench_backtest.py`` (which runs this file as a script).

One ``Cerebro``, one ``bt.feeds.PandasData`` per symbol, cash 10,000, no commission, cheat-on-close
and cheat-on-open off, so a market order fills at the next bar's open. Exits are backtrader's own
``buy_bracket``: its conventions (the stop child is checked before the target; children become
active at the bar after the entry) are kept on purpose, the parity test names where they differ.

The rules, with vibe's defaults: opening range = the bars of the first 15 minutes of each NYSE
session (from exchange-calendars, so 13:00 early closes are known); a long signal when a bar after
the range first closes above the range high (a fresh breakout), unless it closes after 15:00 ET or
at/after the flatten time (close - 5 min); one entry per symbol and day; stop = range low, target =
close + 2 x (close - stop), both rounded to cents; shares = floor(min(1% x equity / (close - stop),
20% x equity / close, free cash / close, (100% x equity - gross exposure) / close)), none below one
share or with 5 positions open; flatten at the open of the bar starting at close - 5 min; a daily
loss halt at 3% below the session's starting equity cancels working entries and flattens.

Sizing needs the account exactly as vibe sees it. vibe matches every symbol's bar of one timestamp
first (fills, marks, the daily-loss check, in the feeds' order), and only then closes those bars and
lets the strategy react, symbol by symbol; a signal of symbol X thus sees every fill and close of
the timestamp, plus the entries signalled just before it for the symbols before X (their cash is
reserved: vibe's engine ``_exposure``). The strategy replays backtrader's own fills in that order in
a small ledger (cash, positions, marks, reservations) and checks after every bar that the ledger
equals backtrader's broker (cash and positions), so the sizes come from backtrader's books.

``start_equity`` (optional, session date -> equity) moves cash in or out at each session's first
bar so backtrader starts the session with that equity; the parity test uses it to keep one known
convention difference from leaking into the sizes of all later sessions.

    python tests/vibe_backtest/orb_backtrader.py --data DIR     # Parquet/CSV per symbol
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import math
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

with warnings.catch_warnings():  # backtrader 1.9.78 has invalid escapes in docstrings (compile-time warnings)
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", SyntaxWarning)
    import backtrader as bt

__all__ = [
    "Params",
    "BtTrade",
    "BtSignal",
    "BtResult",
    "Book",
    "OrbStrategy",
    "nyse_schedule",
    "size_entry",
    "to_feed_frame",
    "load_dir",
    "run_backtrader",
    "main",
]

NY = "America/New_York"
_BAR = dt.timedelta(minutes=5)


@dataclass(frozen=True, kw_only=True)
class Params:
    """The ORB, risk and account numbers (vibe's defaults)."""

    cash: float = 10_000.0
    opening_range_minutes: int = 15
    last_entry_time: dt.time = dt.time(15, 0)
    flatten_minutes_before_close: int = 5
    reward_risk: float = 2.0
    stop_percent: float | None = None  #: None: the stop is the range low; else close x (1 - pct)
    max_trades_per_day: int = 1
    risk_per_trade_pct: float = 0.01
    max_position_pct: float = 0.20
    max_open_positions: int = 5
    max_gross_exposure_pct: float = 1.0
    daily_loss_halt_pct: float = 0.03


@dataclass(frozen=True, kw_only=True)
class BtTrade:
    """One round trip; times are New York wall-clock bar stamps (the bar the fill happened in)."""

    symbol: str
    qty: int
    entry_time: dt.datetime
    entry_price: float
    exit_time: dt.datetime
    exit_price: float
    exit_reason: str  #: "stop", "target", "eod" or "halt"
    pnl: float


@dataclass(frozen=True, kw_only=True)
class BtSignal:
    """A breakout and how it was sized; ``time`` is the signal bar's close."""

    symbol: str
    time: dt.datetime
    price: float
    stop: float
    target: float
    qty: int
    equity: float
    cash: float  #: cash not reserved by working entries


@dataclass(kw_only=True)
class BtResult:
    trades: list[BtTrade]
    signals: list[BtSignal]
    transfers: dict[dt.date, float]  #: cash moved in (+) or out (-) at each session's first bar
    rejections: list[tuple[str, dt.datetime, str]]  #: (symbol, time, status) of refused orders
    halts: list[dt.datetime]
    bars: int
    wall_seconds: float


@functools.cache
def _xnys_schedule() -> pd.DataFrame:
    import exchange_calendars as xcals

    return xcals.get_calendar("XNYS").schedule


def nyse_schedule(first: dt.date, last: dt.date) -> dict[dt.date, tuple[dt.datetime, dt.datetime]]:
    """Session date -> (open, close) as naive New York wall-clock times, from exchange-calendars."""
    sched = _xnys_schedule().loc[pd.Timestamp(first) : pd.Timestamp(last)]
    opens = sched["open"].dt.tz_convert(NY).dt.tz_localize(None)
    closes = sched["close"].dt.tz_convert(NY).dt.tz_localize(None)
    return {
        day.date(): (o.to_pydatetime(), c.to_pydatetime())
        for day, o, c in zip(sched.index, opens, closes, strict=True)
    }


def size_entry(
    *, price: float, stop: float, equity: float, cash: float, gross: float, open_positions: int, p: Params
) -> int:
    """Shares for a long entry (0 = none): the rule of DESIGN §4 plus the exposure caps."""
    if open_positions >= p.max_open_positions:
        return 0
    per_share = price - stop
    if per_share <= 0 or price <= 0:
        return 0
    limits = (
        p.risk_per_trade_pct * equity / per_share,
        p.max_position_pct * equity / price,
        max(cash, 0.0) / price,
        max(p.max_gross_exposure_pct * equity - gross, 0.0) / price,
    )
    qty = math.floor(min(limits) + 1e-9)
    return qty if qty >= 1 else 0


@dataclass
class _Day:
    range_end: dt.datetime
    last_entry: dt.datetime
    flatten_at: dt.datetime
    high: float = 0.0
    low: float = 0.0
    range_bars: int = 0
    trades: int = 0
    above: bool = False


@dataclass
class _Open:
    qty: int
    time: dt.datetime
    price: float


@dataclass
class Book:
    """The ledger: backtrader's fills replayed in vibe's per-symbol order within a timestamp."""

    cash: float
    positions: dict[str, int] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)
    reserved: dict[str, float] = field(default_factory=dict)  #: symbol -> cash held by a working entry

    def equity(self) -> float:
        return self.cash + sum(q * self.marks[s] for s, q in self.positions.items())

    def gross(self) -> float:
        return sum(abs(q) * self.marks[s] for s, q in self.positions.items()) + sum(self.reserved.values())


def _round_dt(value: dt.datetime) -> dt.datetime:
    """backtrader stores times as float days: snap back to the second."""
    return (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)


class OrbStrategy(bt.Strategy):
    params = (
        ("orb", Params()),
        ("schedule", None),
        ("start_equity", None),
    )

    def __init__(self) -> None:
        self.p_: Params = self.p.orb
        self.schedule: Mapping[dt.date, tuple[dt.datetime, dt.datetime]] = self.p.schedule
        self.names = [d._name for d in self.datas]
        self.book = Book(cash=self.p_.cash)
        self.days: dict[str, _Day] = {}
        self.kind: dict[int, str] = {}  #: order ref -> entry / stop / target / eod / halt
        self.working: dict[str, list[bt.Order]] = {s: [] for s in self.names}
        self.entry_price: dict[int, float] = {}  #: entry order ref -> signal close (for the reservation)
        self.events: dict[str, list[tuple[str, bt.Order]]] = {s: [] for s in self.names}
        self.open: dict[str, _Open] = {}
        self.trades: list[BtTrade] = []
        self.signals: list[BtSignal] = []
        self.transfers: dict[dt.date, float] = {}
        self.rejections: list[tuple[str, dt.datetime, str]] = []
        self.halts: list[dt.datetime] = []
        self.day: dt.date | None = None
        self.session_start = 0.0
        self.halted = False
        self.flattened = False
        self.unapplied = 0.0  #: cash added this bar, booked by the broker at its next bar

    # -- order records ---------------------------------------------------------------------------

    def notify_order(self, order: bt.Order) -> None:
        if order.status in (order.Submitted, order.Accepted):
            return
        self.events[order.data._name].append((order.getstatusname(), order))

    def _apply(self, symbol: str, status: str, order: bt.Order) -> None:
        kind = self.kind.get(order.ref, "?")
        book = self.book
        if status == "Completed":
            bits = order.executed.exbits  # one execution: its price exactly (executed.price is an average)
            qty = int(order.executed.size)
            price = float(bits[0].price if len(bits) == 1 else order.executed.price)
            when = _round_dt(bt.num2date(order.executed.dt))
            book.cash -= qty * price
            pos = book.positions.get(symbol, 0) + qty
            if pos:
                book.positions[symbol] = pos
            else:
                book.positions.pop(symbol, None)
            book.marks[symbol] = price
            if kind == "entry":
                book.reserved.pop(symbol, None)
                self.open[symbol] = _Open(qty=qty, time=when, price=price)
            else:
                entry = self.open.pop(symbol)
                self.trades.append(
                    BtTrade(
                        symbol=symbol,
                        qty=entry.qty,
                        entry_time=entry.time,
                        entry_price=entry.price,
                        exit_time=when,
                        exit_price=price,
                        exit_reason=kind,
                        pnl=entry.qty * (price - entry.price),
                    )
                )
        elif status == "Partial":
            raise AssertionError(f"unexpected partial fill of {symbol} order {order.ref}")
        elif kind == "entry" or status in ("Margin", "Rejected"):
            # a refused or cancelled entry frees its cash (a cancelled bracket child is routine)
            book.reserved.pop(symbol, None)
            if status in ("Margin", "Rejected"):
                self.rejections.append((symbol, _round_dt(self.datas[0].datetime.datetime(0)), status))

    # -- the bar ---------------------------------------------------------------------------------

    def next(self) -> None:
        now = _round_dt(self.datas[0].datetime.datetime(0))
        end = now + _BAR
        if now.date() != self.day:
            self._open_session(now.date())
        for d, symbol in zip(self.datas, self.names, strict=True):
            events, self.events[symbol] = self.events[symbol], []
            for status, order in events:
                self._apply(symbol, status, order)
            self.book.marks[symbol] = float(d.close[0])
            self._check_halt(now)
        for d, symbol in zip(self.datas, self.names, strict=True):
            self._on_bar(d, symbol, end)
        self._check_book()
        if not self.flattened and end >= self.days[self.names[0]].flatten_at:
            self.flattened = True
            self._flatten("eod")

    def _open_session(self, day: dt.date) -> None:
        opened, close = self.schedule[day]
        p = self.p_
        for symbol in self.names:
            self.days[symbol] = _Day(
                range_end=opened + dt.timedelta(minutes=p.opening_range_minutes),
                last_entry=dt.datetime.combine(day, p.last_entry_time),
                flatten_at=close - dt.timedelta(minutes=p.flatten_minutes_before_close),
            )
        self.day = day
        self.halted = False
        self.flattened = False
        targets = self.p.start_equity
        if targets is not None:
            diff = targets[day] - self.book.equity()
            self.transfers[day] = diff
            if diff:
                self.broker.add_cash(diff)
                self.book.cash += diff
                self.unapplied += diff
        self.session_start = self.book.equity()

    def _on_bar(self, d: bt.LineSeries, symbol: str, end: dt.datetime) -> None:
        day = self.days[symbol]
        high, low, close = float(d.high[0]), float(d.low[0]), float(d.close[0])
        if end <= day.range_end:
            if day.range_bars == 0 or high > day.high:
                day.high = high
            if day.range_bars == 0 or low < day.low:
                day.low = low
            day.range_bars += 1
            return
        if day.range_bars == 0:
            return
        was_above = day.above
        day.above = close > day.high
        p = self.p_
        if end > day.last_entry or end >= day.flatten_at or day.trades >= p.max_trades_per_day:
            return
        if self.book.positions.get(symbol, 0) != 0 or not day.above or was_above:
            return
        stop = round(day.low if p.stop_percent is None else close * (1 - p.stop_percent), 2)
        risk = close - stop
        if risk <= 0:
            return
        target = round(close + p.reward_risk * risk, 2)
        self._enter(d, symbol, end, close, stop, target)

    def _enter(
        self, d: bt.LineSeries, symbol: str, end: dt.datetime, close: float, stop: float, target: float
    ) -> None:
        book = self.book
        equity = book.equity()
        cash = book.cash - sum(book.reserved.values())
        open_positions = len(set(book.positions) | set(book.reserved))
        qty = 0
        if not self.halted and symbol not in book.reserved:
            qty = size_entry(
                price=close,
                stop=stop,
                equity=equity,
                cash=cash,
                gross=book.gross(),
                open_positions=open_positions,
                p=self.p_,
            )
        self.signals.append(
            BtSignal(
                symbol=symbol,
                time=end,
                price=close,
                stop=stop,
                target=target,
                qty=qty,
                equity=equity,
                cash=cash,
            )
        )
        if qty <= 0:
            return
        parent, stop_order, target_order = self.buy_bracket(
            data=d, size=qty, exectype=bt.Order.Market, stopprice=stop, limitprice=target
        )
        for order, kind in ((parent, "entry"), (stop_order, "stop"), (target_order, "target")):
            self.kind[order.ref] = kind
        self.working[symbol] = [parent, stop_order, target_order]
        book.reserved[symbol] = qty * close
        self.days[symbol].trades += 1

    def _check_halt(self, now: dt.datetime) -> None:
        p = self.p_
        if self.halted or self.session_start <= 0:
            return
        if self.book.equity() > self.session_start * (1.0 - p.daily_loss_halt_pct):
            return
        self.halted = True
        self.halts.append(now)
        self._flatten("halt")

    def _flatten(self, reason: str) -> None:
        """Cancel every working order and close every position at the next bar's open."""
        for d, symbol in zip(self.datas, self.names, strict=True):
            for order in self.working[symbol]:
                if order.alive():
                    self.cancel(order)
            self.working[symbol] = []
            self.book.reserved.pop(symbol, None)
            if self.getposition(d).size:
                order = self.close(data=d)
                self.kind[order.ref] = reason
                self.working[symbol] = [order]  # a later flatten replaces it, as vibe's does

    def _check_book(self) -> None:
        """The ledger is backtrader's books reordered: same cash and positions after every bar."""
        broker_cash = self.broker.getcash() + self.unapplied
        self.unapplied = 0.0
        if abs(broker_cash - self.book.cash) > 1e-6:
            raise AssertionError(f"ledger cash {self.book.cash} != broker cash {broker_cash}")
        for d, symbol in zip(self.datas, self.names, strict=True):
            if int(self.getposition(d).size) != self.book.positions.get(symbol, 0):
                raise AssertionError(f"ledger position of {symbol} != broker position")


def to_feed_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """OHLCV indexed by naive New York wall-clock bar stamps, the layout ``PandasData`` reads."""
    if "timestamp" in frame.columns:
        frame = frame.set_index("timestamp")
    index = pd.DatetimeIndex(frame.index)
    index = index.tz_localize(NY) if index.tz is None else index.tz_convert(NY)
    out = frame[["open", "high", "low", "close", "volume"]].astype(float)
    out.index = index.tz_localize(None)
    return out


def load_dir(path: str | Path) -> dict[str, pd.DataFrame]:
    """``SYMBOL.parquet`` / ``SYMBOL.csv`` files (vibe's layout) in file-name order."""
    out: dict[str, pd.DataFrame] = {}
    for file in sorted(Path(path).iterdir()):
        if file.suffix == ".parquet":
            out[file.stem.upper()] = pd.read_parquet(file)
        elif file.suffix == ".csv":
            out[file.stem.upper()] = pd.read_csv(file, parse_dates=["timestamp"])
    return out


def run_backtrader(
    frames: Mapping[str, pd.DataFrame],
    *,
    params: Params | None = None,
    start_equity: Mapping[dt.date, float] | None = None,
) -> BtResult:
    """Run the ORB over ``frames`` (symbol -> bars, in vibe's symbol order) in one Cerebro."""
    started = time.perf_counter()
    p = params or Params()
    feeds = {s: to_feed_frame(f) for s, f in frames.items()}
    first = min(f.index[0] for f in feeds.values()).date()
    last = max(f.index[-1] for f in feeds.values()).date()
    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=False)
    for symbol, feed in feeds.items():
        cerebro.adddata(bt.feeds.PandasData(dataname=feed, name=symbol))
    cerebro.broker.setcash(p.cash)
    cerebro.broker.set_coc(False)
    cerebro.addstrategy(OrbStrategy, orb=p, schedule=nyse_schedule(first, last), start_equity=start_equity)
    (strategy,) = cerebro.run()
    return BtResult(
        trades=strategy.trades,
        signals=strategy.signals,
        transfers=strategy.transfers,
        rejections=strategy.rejections,
        halts=strategy.halts,
        bars=sum(len(f) for f in feeds.values()),
        wall_seconds=time.perf_counter() - started,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The ORB in backtrader over a directory of bar files.")
    parser.add_argument("--data", required=True, metavar="DIR")
    args = parser.parse_args(argv)
    result = run_backtrader(load_dir(args.data))
    pnl = sum(t.pnl for t in result.trades)
    print(f"bars={result.bars} trades={len(result.trades)} pnl={pnl:.2f} wall={result.wall_seconds:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
