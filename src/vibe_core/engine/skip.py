"""Skipping what cannot matter: a backtest steps only the bars that could change something.

State: none of its own: it reads the :class:`~vibe_core.engine.state.EngineState` after a bar-mode
step (:func:`quiet`) and brings it forward over bars that were not stepped (:func:`catch_up`).
Consumes: bars of consecutive instants as columns (one row an instant, one column a symbol).
Emits: :class:`Quiet`, which says how many of the next instants can be skipped and whose bars
the step after them needs; no actions.
Invariants: for the instants :meth:`Quiet.extent` lets through, stepping them one by one would
emit no action, and :func:`catch_up` leaves the state exactly as those steps would (the same
``save_state``); the instant after them is stepped with the bars of the symbols it wakes, and
:func:`catch_up_row` matches the others' as that step would have. Never used in live mode.

What wakes the engine, per symbol: a bar reaching the quiet band of its working orders
(:mod:`vibe_core.sim.quiet`) or of its strategy's triggers (``quiet_band``, e.g. ORB's range once
set), and for all: the session's own work (open, flatten, close: ``state.wake``), a working order's
expiry, the daily loss halt (equity, computed per instant from the closes), a missing bar or a gap
in time (the feed gate), and anything the aggregator, the venue or the feed gate cannot catch up.
What the skipped bars do to state that depends on every bar is caught up in bulk: the forming
higher-timeframe bars, the indicators and the validator (fed the bars those complete), volume
counts, the marks, the venue's last price and volatility term, the feed gate's data times, the
engine's time and its deferred bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat

import attrs
import numpy as np
import numpy.typing as npt

from vibe_core.bars import checked_bar
from vibe_core.engine.state import PRIMARY, EngineState
from vibe_core.events import Bar
from vibe_core.indicators.rows import Row
from vibe_core.sim.points import POINT_OFFSETS

__all__ = ["Quiet", "quiet", "catch_up", "catch_up_row"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

_INF = float("inf")
_tuple = tuple.__new__
_STEP = PRIMARY.ns
_CLOSE_POINT = PRIMARY.ns * POINT_OFFSETS[-1] // 300  #: bar open -> its close point (the venue's)


@attrs.frozen
class Quiet:
    """What could wake the engine after the last step, per symbol in the caller's column order."""

    wake: int  #: instants opening at or after this are stepped (the session's own work)
    low: list[float]  #: a bar is quiet for matching with a low above this and a high below ``high``
    high: list[float]  #: (the band of the symbol's working orders)
    expires: int  #: ... and its close point before this (a working order's expiry)
    close_low: list[float]  #: a bar is quiet for closing with a close in ``[close_low, close_high]``
    close_high: list[float]  #: (the band of the strategy's triggers)
    after: int  #: ... and its end after this and before ``until``
    until: int
    floor: float | None  #: equity at or below this halts trading (``None``: no check can fire)
    cash: float
    positions: tuple[tuple[int, int], ...]  #: (column, quantity) in the portfolio's order

    @property
    def deadline(self) -> int:
        """Instants opening at or after this are stepped, whatever their bars."""
        return min(self.wake, self.expires - _CLOSE_POINT, self.until - _STEP)

    def extent(
        self, ts: I64, high: F64, low: F64, close: F64, ok: npt.NDArray[np.bool_]
    ) -> tuple[int, npt.NDArray[np.bool_] | None]:
        """``(first, loud)``: rows ``1..first-1`` can be skipped, and row ``first`` (at least 1)
        must be stepped, but only the bars of the symbols in ``loud`` (``None``: all of them; the
        others are caught up after the step by :func:`catch_up_row`).

        Rows are consecutive instants, row 0 the last one stepped; ``ok[r]``: row ``r`` has a bar of
        every symbol, follows row ``r - 1`` by one bar in the same session, and is on the session's
        grid. Row ``r``'s bars are matched at its own step and closed at the next: the skipped rows
        ``1..n`` must be quiet for the venue and rows ``0..n-1`` for the strategy and the halt. At
        the step after them go the symbols whose bar there is loud for the venue and those whose bar
        closing there is loud for the strategy (a signal's order meets the symbol's next bar).
        """
        rows = len(ts)
        if rows < 2 or int(ts[0]) + _STEP <= self.after:
            return 1, None
        # the deadlines: the session's work, an order's expiry, the strategy's until (times ascend)
        bound = int(np.searchsorted(ts, self.deadline))
        if bound < 2:
            return 1, None
        if not ok[1]:
            return 1, None
        # Most often row 1 is loud already (the step just made has consequences): that is decided
        # on its values alone, without the arrays below.
        matched = [
            lo <= a or hi >= b
            for lo, hi, a, b in zip(low[1].tolist(), high[1].tolist(), self.low, self.high, strict=True)
        ]
        closes = close[0].tolist()
        closing = [c < a or c > b for c, a, b in zip(closes, self.close_low, self.close_high, strict=True)]
        if self.floor is not None:
            equity = self.cash
            for column, qty in self.positions:
                equity += qty * closes[column]
            if equity <= self.floor:
                return 1, None
        if True in matched or True in closing:
            return 1, np.array(matched) | np.array(closing)
        return self._extent(bound, high, low, close, ok)

    def equity(self, close: F64) -> F64:
        """The equity at each row's closes (``rows x symbols``): the cash plus each position at its
        close, added in the portfolio's order, so each sum is ``Portfolio.equity``'s bit for bit."""
        equity = np.full(len(close), self.cash)
        for column, qty in self.positions:
            equity = equity + qty * close[:, column]
        return equity

    def _extent(
        self, bound: int, high: F64, low: F64, close: F64, ok: npt.NDArray[np.bool_]
    ) -> tuple[int, npt.NDArray[np.bool_] | None]:
        """:meth:`extent` past row 1, with numpy over the rows before ``bound``."""
        matched = (low[:bound] <= self.low) | (high[:bound] >= self.high)
        closing = (close[:bound] < self.close_low) | (close[:bound] > self.close_high)
        gap = ~ok[:bound]  # (row 0 was stepped: its gap does not matter)
        halt = np.zeros(bound, dtype=bool)
        if self.floor is not None:
            halt = self.equity(close[:bound]) <= self.floor
        loud_matched = np.any(matched, axis=1) | gap
        loud_matched[0] = False
        loud_closing = np.any(closing, axis=1) | halt
        first_matched = int(loud_matched.argmax()) if loud_matched.any() else bound
        first_closing = int(loud_closing.argmax()) if loud_closing.any() else bound
        first = min(first_matched, first_closing + 1)
        if first >= bound:
            return bound, None
        if gap[first] or (first_closing == first - 1 and halt[first - 1]):
            return first, None
        loud = matched[first] if first == first_matched else np.zeros(len(self.low), dtype=bool)
        if first_closing == first - 1:
            loud = loud | closing[first - 1]
        return first, loud


def quiet(state: EngineState, symbols: Sequence[str]) -> Quiet | None:
    """What could wake the engine after a bar-mode step (its bars deferred); ``None`` when no bar
    can be skipped now (no session open, an external broker, a strategy that states no
    triggers, bars forming from prints, an outage being judged, ...)."""
    venue = state.venue
    deferred = state.deferred
    if venue is None or not deferred or state.session_closed or state.session_index < 0:
        return None
    band_of = getattr(state.strategy, "quiet_band", None)
    bands = venue.bands()
    if band_of is None or bands is None or not state.feed.can_skip():
        return None
    first = deferred[0].ts
    if not state.bars.can_catch_up(first) or any(
        b.timeframe is not PRIMARY or b.ts != first for b in deferred
    ):
        return None
    low, high, close_low, close_high = [], [], [], []
    expires = until = 1 << 62
    after = -(1 << 62)
    first_end = first + _STEP
    for symbol in symbols:
        triggers = band_of(symbol)
        if triggers is None:
            return None
        lo, hi, since, end = triggers
        if first_end <= since or first_end >= end:  # (the deferred bars' close is not covered)
            return None
        close_low.append(lo)
        close_high.append(hi)
        if since > after:
            after = since
        if end < until:
            until = end
        band = bands.get(symbol)
        if band is None:
            low.append(-_INF)
            high.append(_INF)
        else:
            low.append(band[0])
            high.append(band[1])
            if band[2] < expires:
                expires = int(band[2])
    portfolio, risk = state.portfolio, state.risk
    floor = None if risk.halted else risk.halt_equity
    column = {symbol: i for i, symbol in enumerate(symbols)}
    positions = []
    for symbol, position in portfolio.positions.items():
        if symbol not in column:
            return None  # (its mark would not move with these columns)
        positions.append((column[symbol], position.qty))
    return Quiet(
        wake=state.wake,
        low=low,
        high=high,
        expires=expires,
        close_low=close_low,
        close_high=close_high,
        after=after,
        until=until,
        floor=floor,
        cash=portfolio.cash,
        positions=tuple(positions),
    )


def catch_up(
    state: EngineState,
    symbols: Sequence[str],
    sources: Sequence[str],
    ts: I64,
    columns: tuple[F64, F64, F64, F64, F64],
) -> None:
    """Bring ``state`` over rows ``1..n`` of the columns (``n = len(ts) - 1``), rows that
    :meth:`Quiet.extent` allowed: as if each had been stepped, row 0's bars (deferred by the last
    step) and rows ``1..n-1`` closing, rows ``1..n`` matched, and row ``n``'s bars left deferred.

    ``columns`` is ``(open, high, low, close, volume)``, each ``rows x symbols``.
    """
    n = len(ts) - 1
    if n < 1:
        return
    volumes = columns[4]
    times = ts.tolist()
    closing = times[:n]

    def bars_at(row: int) -> list[Bar]:
        values = zip(*(column[row].tolist() for column in columns), strict=True)
        t = times[row]
        return [
            checked_bar(s, PRIMARY, t, o, h, lo, c, v, src)  # (the caller's columns are checked bars)
            for s, src, (o, h, lo, c, v) in zip(symbols, sources, values, strict=True)
        ]

    # closed: rows 0..n-1 (higher-timeframe bars, indicators, validator, the venue's volatility term)
    higher = state.bars.catch_up(closing, symbols, [c[:n] for c in columns], sources)
    bank = state.indicators
    if bank.specs:
        if bank.wants(PRIMARY):
            per_symbol = [column[:n].T.tolist() for column in columns]  # symbol -> values, per column
            for i, symbol in enumerate(symbols):
                o, h, lo, c, v = (values[i] for values in per_symbol)
                rows = zip(closing, o, h, lo, c, v, repeat(sources[i]), repeat(None))
                bank.extend(symbol, PRIMARY, list(map(_tuple, repeat(Row), rows)))  # (Rows, built in C)
        bank.on_bars(higher)
    validator = state.validator
    if validator.config.enabled:
        last_volume = volumes[n - 1].tolist()
        for i, symbol in enumerate(symbols):
            validator.skip_m5(symbol, n, last_volume[i], sources[i])
        validator.on_bars(higher)
    state.risk.fills_checked = state.portfolio.n_fills  # (the halt was checked at each close)
    # matched: rows 1..n (the last price, the marks, the feed gate's data times)
    last = bars_at(n)
    assert state.venue is not None
    volatility = state.venue.model.slippage_volatility  # (only then is the last closed bar read)
    _matched(state, last, times[1:], (bars_at(n - 1) if n > 1 else state.deferred) if volatility else ())
    state.now = times[n]
    state.deferred = last


def catch_up_row(state: EngineState, rest: Sequence[Bar], row: list[Bar]) -> None:
    """After a step of only some bars of an instant, the quiet ``rest`` (what :meth:`Quiet.extent`
    left out) are matched as a step would have (the last price, the marks, the feed gate), and
    every bar of the instant (``row``, in the step's order) waits to close, as after a full step."""
    if rest:
        _matched(state, rest, (rest[0].ts,), ())
    state.deferred = row


def _matched(state: EngineState, last: Sequence[Bar], times: Sequence[int], closed: Sequence[Bar]) -> None:
    """Quiet bars matched over the instants ``times`` (``last``: each symbol's bar at the last of
    them; ``closed``: the last closed ones): what matching leaves of them, as in ``_match_bars``:
    the venue's last price (and volatility term), the marks, the feed gate's data times."""
    assert state.venue is not None
    state.venue.skip(last, closed)
    marks = state.portfolio.marks
    for bar in last:
        marks[bar.symbol] = bar.close
    state.feed.skip(times, [bar.symbol for bar in last], PRIMARY)
