"""Parity with backtrader: the ORB of DESIGN §4 written for backtrader (``orb_backtrader.py``) and
vibe's engine make the same trades on the same bars.

Setup: vibe with the ``optimistic`` preset and validation off; backtrader with one Cerebro over all
the symbols' ``PandasData`` feeds (cheat-on-open and cheat-on-close off, no commission, cash
10,000). Markets: the sample market (5 symbols x 60 sessions of 5m bars) with vibe's default ORB
(range stops, 2R targets) and with tight percent stops (0.3 %, 1R) that make the conventions below
frequent; and a property test over random sample markets, stops and targets.

Where backtrader's convention differs from DESIGN §3. Each engine's exit rule is restated below as
a small predictor (``vibe_exit``, ``backtrader_exit``); a trade is *touched* when the two disagree,
and is attributed to the rule that makes them disagree, whose condition is then checked on the bars:

- ENTRY_BAR: vibe places the stop and the target at the entry fill (the entry bar's open) and
  matches them along the rest of that bar's path, so the entry bar can stop out or hit its target;
  backtrader activates bracket children only at the bar after the parent executes.
- BOTH_IN_ONE_BAR: a later bar reaches both levels. vibe follows O -> nearer extreme -> other
  extreme -> C, so the target fills first when the high is the nearer extreme (or the bar opens at
  or above it); backtrader checks the stop child first (its place in the pending queue).

Outside the comparison: the daily loss halt (checked per symbol in vibe, per timestamp in the
reference) and an entry whose fill at the open costs more than the cash it was sized with (vibe
fills floor(budget / open) shares and cancels the rest; backtrader refuses the order for margin).
The fixed markets never reach them (asserted); random examples that do are discarded.

Conventions that agree, so they exempt nothing: entries at the next bar's open; stops and targets
crossed inside a bar fill at their level; a stop gapped through or a target gapped over fills at
the open; the flatten at the open of the bar starting at close - 5 min (12:55 on 2024-07-03).

Assertions: the same signals (time, price, stop, target); every trade the same symbol, entry time
and entry price; vibe's exit is exactly vibe's predictor's (bar, point within the bar, price,
reason) and backtrader's is backtrader's, so untouched trades exit identically and touched ones
differ only as their rule says.

Quantities. A touched trade changes equity, hence later sizes. Instead of a tolerance:
1. backtrader starts each session with vibe's equity (a cash transfer at its first bar); the test
   asserts each transfer equals the previous session's P&L difference between the engines, which
   is zero unless that session had a touched trade, so it carries only the named rules' effect;
2. within a session the equity path is identical up to the first touched trade's first exit bar.
   Signals before it must see equal accounts (equity, free cash, to 1e-6) in both engines and get
   equal sizes; for every signal, vibe's size must equal the sizing rule applied to vibe's account
   rebuilt from vibe's own fills in vibe's order of work (one symbol's bar at a time), and
   backtrader's the rule on its own (its ledger is checked against its broker every bar).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tests.vibe_backtest.orb_backtrader import (
    Book,
    Params,
    nyse_schedule,
    run_backtrader,
    size_entry,
    to_feed_frame,
)

from vibe_backtest.api import calendar, run_backtest
from vibe_backtest.data import BarSeries
from vibe_backtest.results import BacktestResult
from vibe_backtest.sample import sample_market
from vibe_core.config import MVP_SYMBOLS, RiskConfig
from vibe_core.models import Signal
from vibe_core.risk import Exposure, RiskState
from vibe_core.risk import size_entry as vibe_size_entry
from vibe_core.types import Side

NY = "America/New_York"
ENTRY_BAR = "ENTRY_BAR"
BOTH_IN_ONE_BAR = "BOTH_IN_ONE_BAR"
VIBE_POINTS = (100, 200, 299)  #: seconds into a 5m bar of the 2nd, 3rd and 4th path points (DESIGN §3)
EPS = 1e-6  #: money: accounts and transfers (sums of float products)
PRICE_EPS = 1e-9


# -- the two exit conventions -------------------------------------------------------------------


@dataclass(frozen=True)
class Bars:
    """One symbol's bars, naive New York bar stamps."""

    index: pd.DatetimeIndex
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Bars:
        f = to_feed_frame(frame)
        return cls(pd.DatetimeIndex(f.index), *(f[c].to_numpy() for c in ("open", "high", "low", "close")))


@dataclass(frozen=True)
class Exit:
    bar: int  #: index of the bar the exit fills in
    second: int  #: seconds into that bar (vibe's path point; 0 for backtrader)
    price: float
    reason: str


def vibe_exit(b: Bars, entry: int, flatten: int, stop: float, target: float) -> Exit:
    """DESIGN §3: from the entry fill on, each bar is O (a jump), nearer extreme, other extreme, C."""
    for j in range(entry, flatten):
        o, h, lo, c = b.open[j], b.high[j], b.low[j], b.close[j]
        if o <= stop:
            return Exit(j, 0, o, "stop")
        if o >= target:
            return Exit(j, 0, o, "target")
        path = (lo, h, c) if o - lo < h - o else (h, lo, c)
        for second, price in zip(VIBE_POINTS, path, strict=True):
            if price <= stop:
                return Exit(j, second, stop, "stop")
            if price >= target:
                return Exit(j, second, target, "target")
    return Exit(flatten, 0, b.open[flatten], "eod")


def backtrader_exit(b: Bars, entry: int, flatten: int, stop: float, target: float) -> Exit:
    """backtrader's BackBroker: children from the bar after the entry, the stop child checked first."""
    for j in range(entry + 1, flatten):
        o, h, lo = b.open[j], b.high[j], b.low[j]
        if o <= stop:
            return Exit(j, 0, o, "stop")
        if lo <= stop:
            return Exit(j, 0, stop, "stop")
        if o >= target:
            return Exit(j, 0, o, "target")
        if h >= target:
            return Exit(j, 0, target, "target")
    return Exit(flatten, 0, b.open[flatten], "eod")


def rule_of(b: Bars, entry: int, v: Exit, stop: float, target: float) -> str:
    """The named rule that explains why the predictors disagree (its condition checked on the bar)."""
    if v.bar == entry:
        assert b.low[entry] <= stop or b.high[entry] >= target
        return ENTRY_BAR
    assert b.low[v.bar] <= stop < b.open[v.bar], "backtrader fills the stop"
    assert b.high[v.bar] >= target, "the bar reaches both levels"
    assert v.reason == "target", "vibe's path reaches the target first"
    return BOTH_IN_ONE_BAR


# -- vibe's account at each of its signals, rebuilt from its own fills -------------------------


def _naive(col: pd.Series) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(col).tz_convert(NY).tz_localize(None)


def vibe_accounts(
    bars: Mapping[str, Bars], r: BacktestResult, cash: float
) -> dict[tuple[str, pd.Timestamp], tuple[float, float, int]]:
    """(symbol, signal time) -> (equity, free cash, size by the rule) as vibe's engine saw them.

    vibe matches every symbol's bar of a timestamp first (its fills, then its close marks the
    position), and only then lets the strategy react to each closed bar in the market's order; an
    accepted entry reserves qty x close until it fills.
    """
    fills: dict[tuple[str, pd.Timestamp], list[tuple[int, float, float, str]]] = defaultdict(list)
    times = _naive(r.fills["time"])
    for t, row in zip(times, r.fills.itertuples(), strict=True):
        signed = row.qty if row.side == "buy" else -row.qty
        fills[(row.symbol, t.floor("5min"))].append((signed, row.price, row.fee, row.tag))
    signals = {
        (row.symbol, t): row for t, row in zip(_naive(r.signals["time"]), r.signals.itertuples(), strict=True)
    }
    stamps = sorted({t for b in bars.values() for t in b.index})
    rows = {s: dict(zip(b.index, range(len(b.index)), strict=True)) for s, b in bars.items()}
    book = Book(cash=cash)
    out: dict[tuple[str, pd.Timestamp], tuple[float, float, int]] = {}
    p = Params()
    for t in stamps:
        present = [(symbol, b, rows[symbol][t]) for symbol, b in bars.items() if t in rows[symbol]]
        for symbol, b, i in present:
            for signed, price, fee, tag in fills.get((symbol, t), ()):
                book.cash -= signed * price + fee
                qty = book.positions.get(symbol, 0) + signed
                if qty:
                    book.positions[symbol] = qty
                else:
                    book.positions.pop(symbol, None)
                book.marks[symbol] = price
                if tag == "entry":
                    book.reserved.pop(symbol, None)
            book.marks[symbol] = b.close[i]
        for symbol, _b, _i in present:
            sig = signals.get((symbol, t + pd.Timedelta(minutes=5)))
            if sig is None:
                continue
            equity, free = book.equity(), book.cash - sum(book.reserved.values())
            n_open = len(set(book.positions) | set(book.reserved))
            qty = size_entry(
                price=sig.price,
                stop=sig.stop,
                equity=equity,
                cash=free,
                gross=book.gross(),
                open_positions=n_open,
                p=p,
            )
            out[(symbol, t + pd.Timedelta(minutes=5))] = (equity, free, qty)
            if sig.accepted:
                book.reserved[symbol] = sig.qty * sig.price
    return out


# -- the comparison -----------------------------------------------------------------------------


@dataclass
class Parity:
    trades: int
    signals: int
    touched: dict[str, int]
    exact_qty: int  #: signals whose accounts and sizes were compared across the engines


def _require(condition: bool, what: str) -> None:
    assert condition, what


def check_parity(
    market: Mapping[str, BarSeries],
    strategy: Mapping[str, object],
    params: Params,
    require: Callable[[bool, str], object] = _require,
) -> Parity:
    """Run both engines and assert the parity described in the module docstring.

    ``require`` guards the regime outside the compared rules (a daily loss halt, an entry cut or
    refused for cash): ``assert`` for the fixed markets, ``hypothesis.assume`` for random ones.
    """
    config = {
        "symbols": list(market),
        "exchange": {"preset": "optimistic"},
        "validation": {"enabled": False},
        "strategy": dict(strategy),
    }
    r = run_backtest(market, config=config)
    entries = r.orders[r.orders["tag"] == "entry"]
    require(r.summary["risk_halts"] == 0, "vibe halted")
    require(r.summary["order_rejections"] == 0, "vibe rejected an order")
    require(bool((entries["filled_qty"] == entries["qty"]).all()), "vibe cut an entry to its cash")
    frames = {s: v.to_frame() for s, v in market.items()}
    bars = {s: Bars.of(f) for s, f in frames.items()}
    vt = r.trades
    entry_day = _naive(vt["entry_time"]).date
    days = sorted({t.date() for b in bars.values() for t in b.index})
    vibe_pnl = {d: float(vt["pnl"][entry_day == d].sum()) for d in days}
    start = dict(zip(days, params.cash + np.cumsum([0.0, *(vibe_pnl[d] for d in days[:-1])]), strict=True))
    b = run_backtrader(frames, params=params, start_equity=start)
    require(not b.halts, "backtrader halted")
    require(not b.rejections, "backtrader refused an order (Margin)")

    # signals: same breakouts, levels and times
    vsig = sorted(
        zip(
            r.signals["symbol"],
            _naive(r.signals["time"]),
            r.signals["price"],
            r.signals["stop"],
            r.signals["target"],
            strict=True,
        )
    )
    bsig = sorted((s.symbol, pd.Timestamp(s.time), s.price, s.stop, s.target) for s in b.signals)
    assert vsig == bsig

    # trades: same entries; each engine exits by its own convention
    schedule = nyse_schedule(days[0], days[-1])
    bt_by_key = {(t.symbol, pd.Timestamp(t.entry_time)): t for t in b.trades}
    sig_by_key = {(s.symbol, pd.Timestamp(s.time)): s for s in b.signals}
    assert len(bt_by_key) == len(b.trades) == len(vt)
    touched: dict[str, int] = {ENTRY_BAR: 0, BOTH_IN_ONE_BAR: 0}
    divergence: dict[dt.date, pd.Timestamp] = {}
    entry_times, exit_times = _naive(vt["entry_time"]), _naive(vt["exit_time"])
    bt_pnl: dict[dt.date, float] = defaultdict(float)
    for k, row in enumerate(vt.itertuples()):
        key = (row.symbol, entry_times[k])
        assert key in bt_by_key, f"vibe trade {key} missing in backtrader"
        bt_trade = bt_by_key[key]
        bars_s = bars[row.symbol]
        entry = bars_s.index.get_loc(entry_times[k])
        sig = sig_by_key[(row.symbol, entry_times[k])]
        day = entry_times[k].date()
        bt_pnl[day] += bt_trade.pnl
        flatten = int(bars_s.index.searchsorted(pd.Timestamp(schedule[day][1] - dt.timedelta(minutes=5))))
        v = vibe_exit(bars_s, entry, flatten, sig.stop, sig.target)
        w = backtrader_exit(bars_s, entry, flatten, sig.stop, sig.target)
        # vibe's trade prices are fill-value averages (cost / qty): equal to the fill price to 1e-9
        assert row.entry_price == pytest.approx(bars_s.open[entry], abs=PRICE_EPS), key
        assert bt_trade.entry_price == bars_s.open[entry], key
        # vibe's exit, to the point of the path
        assert exit_times[k] == bars_s.index[v.bar] + pd.Timedelta(seconds=v.second), key
        assert row.exit_price == pytest.approx(v.price, abs=PRICE_EPS), key
        assert row.exit_reason == v.reason, key
        # backtrader's exit
        assert pd.Timestamp(bt_trade.exit_time) == bars_s.index[w.bar], key
        assert (bt_trade.exit_price, bt_trade.exit_reason) == (w.price, w.reason), key
        if (v.bar, v.price, v.reason) != (w.bar, w.price, w.reason):
            touched[rule_of(bars_s, entry, v, sig.stop, sig.target)] += 1
            first = bars_s.index[min(v.bar, w.bar)]
            divergence[day] = min(divergence.get(day, first), first)

    # the session transfers carry only the touched trades' effect
    for prev, day in itertools.pairwise(days):
        assert b.transfers[day] == pytest.approx(vibe_pnl[prev] - bt_pnl[prev], abs=EPS)
        if prev not in divergence:
            assert abs(b.transfers[day]) < EPS
    assert abs(b.transfers[days[0]]) < EPS

    # sizes: equal where the equity path is, and always the rule on each engine's own account
    accounts = vibe_accounts(bars, r, params.cash)
    vqty = dict(
        zip(zip(r.signals["symbol"], _naive(r.signals["time"]), strict=True), r.signals["qty"], strict=True)
    )
    exact = 0
    for s in b.signals:
        key = (s.symbol, pd.Timestamp(s.time))
        equity, free, rule_qty = accounts[key]
        assert vqty[key] == rule_qty, key
        cut = divergence.get(s.time.date())
        if cut is None or pd.Timestamp(s.time) <= cut:
            exact += 1
            assert (s.equity, s.cash) == pytest.approx((equity, free), abs=EPS), key
            assert s.qty == vqty[key], key
    return Parity(trades=len(vt), signals=len(b.signals), touched=touched, exact_qty=exact)


# -- the tests ----------------------------------------------------------------------------------


def _assume(condition: bool, _what: str) -> None:
    assume(condition)


@pytest.fixture(scope="module")
def market() -> dict[str, BarSeries]:
    return sample_market(MVP_SYMBOLS, sessions=calendar())


def test_default_orb_matches_backtrader(market: dict[str, BarSeries]) -> None:
    """vibe's defaults (stop at the range low, 2R) on the sample market: no trade is touched by a
    named rule (those levels are out of the entry bar's reach and never both inside one bar here),
    so every trade and every size is identical in both engines."""
    result = check_parity(market, {}, Params())
    assert result.trades > 100
    assert result.touched == {ENTRY_BAR: 0, BOTH_IN_ONE_BAR: 0}
    assert result.exact_qty == result.signals


def test_tight_stops_exercise_every_named_rule(market: dict[str, BarSeries]) -> None:
    """0.3 % stops and 1R targets: the entry bar and one-bar-both cases happen, and nothing else."""
    result = check_parity(
        market,
        {"stop_type": "percent", "stop_percent": 0.003, "reward_risk": 1.0},
        Params(stop_percent=0.003, reward_risk=1.0),
    )
    assert result.touched[ENTRY_BAR] > 0
    assert result.touched[BOTH_IN_ONE_BAR] > 0
    assert result.exact_qty > 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    end=st.dates(dt.date(2008, 1, 1), dt.date(2025, 6, 30)),
    stop_percent=st.one_of(st.none(), st.sampled_from([0.002, 0.004, 0.008])),
    reward_risk=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
)
def test_random_markets_match_backtrader(
    seed: int, end: dt.date, stop_percent: float | None, reward_risk: float
) -> None:
    """Any seeded market of 5 symbols x 3 sessions: the same trades up to the named rules."""
    market = sample_market(MVP_SYMBOLS, sessions=calendar(), n_sessions=3, end=end, seed=seed)
    strategy: dict[str, object] = {"reward_risk": reward_risk}
    if stop_percent is not None:
        strategy.update(stop_type="percent", stop_percent=stop_percent)
    check_parity(
        market, strategy, Params(stop_percent=stop_percent, reward_risk=reward_risk), require=_assume
    )


@settings(max_examples=300, deadline=None)
@given(
    price=st.floats(1.0, 2_000.0),
    risk=st.floats(0.0, 0.2),
    equity=st.floats(100.0, 1e6),
    cash_share=st.floats(-0.5, 1.0),
    gross_share=st.floats(0.0, 1.2),
    open_positions=st.integers(0, 6),
)
def test_reference_sizing_is_vibes_rule(
    price: float, risk: float, equity: float, cash_share: float, gross_share: float, open_positions: int
) -> None:
    """The backtrader side sizes with exactly vibe's rule (risk.size_entry), for any account."""
    stop = round(price * (1 - risk), 2)
    assume(stop < price)  # the ORB signals a long only with its stop below the close
    cash, gross = cash_share * equity, gross_share * equity
    signal = Signal(symbol="X", ts=0, side=Side.BUY, price=price, stop=stop, target=price * 2)
    expected, _ = vibe_size_entry(
        signal,
        RiskState(),
        Exposure(equity=equity, cash=cash, gross=gross, open_positions=open_positions),
        RiskConfig(),
    )
    got = size_entry(
        price=price,
        stop=stop,
        equity=equity,
        cash=cash,
        gross=gross,
        open_positions=open_positions,
        p=Params(),
    )
    assert got == expected
