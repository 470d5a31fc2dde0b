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

import math
from collections.abc import Sequence
from itertools import repeat

import attrs
import numpy as np
import numpy.typing as npt

from vibe_core.bars import checked_bars
from vibe_core.engine.state import PRIMARY, EngineState
from vibe_core.events import Bar
from vibe_core.indicators.rows import Row
from vibe_core.sim.points import POINT_OFFSETS
from vibe_core.types import Timeframe

__all__ = ["Lookahead", "Quiet", "quiet", "catch_up", "catch_up_row"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

_INF = float("inf")
_tuple = tuple.__new__
_STEP = PRIMARY.ns
_CLOSE_POINT = PRIMARY.ns * POINT_OFFSETS[-1] // 300  #: bar open -> its close point (the venue's)


class Lookahead:
    """The market's rows as :meth:`Quiet.extent` reads them (built once per run, from the columns).

    Per row ``r``, ``4 * symbols + 1`` levels: ``-low[r]``, ``high[r]``, ``-close[r - 1]``,
    ``close[r - 1]`` and ``0`` where row ``r`` is a gap (``-1`` elsewhere), so that one comparison
    with a :class:`Quiet`'s thresholds finds every reason row ``r`` could wake the engine (a few
    numpy calls a question, not twenty). They are built a block of rows at a time (memory).
    """

    _BLOCK = 4096  #: rows of levels built at once (a window never reaches past a block's overlap)

    def __init__(
        self, ts: I64, high: F64, low: F64, close: F64, ok: npt.NDArray[np.bool_], window: int
    ) -> None:
        self.ts = ts
        self.close = close
        self.window = window
        self._columns = (high, low, close, ok)
        self._block = -1
        self._levels: F64 = np.empty((0, 0))
        self._equity: tuple[Quiet, int, int, F64] | None = None

    def levels(self, lo: int, hi: int) -> F64:
        """The levels of rows ``lo..hi-1`` (``hi - lo <= window``)."""
        block = lo // self._BLOCK
        if block != self._block:
            high, low, close, ok = self._columns
            start = block * self._BLOCK
            stop = min(start + self._BLOCK + self.window, len(self.ts))
            previous = close[max(start - 1, 0) : stop - 1]
            if start == 0:  # (row 0 has no previous close: it is never asked about)
                previous = np.vstack([np.full((1, close.shape[1]), np.nan), previous])
            gap = np.where(ok[start:stop], -1.0, 0.0)[:, None]
            self._levels = np.hstack([-low[start:stop], high[start:stop], -previous, previous, gap])
            self._block = block
        offset = self._block * self._BLOCK
        return self._levels[lo - offset : hi - offset]

    def equity(self, quiet: Quiet, lo: int, hi: int) -> F64:
        """``quiet.equity`` at the closes of rows ``lo..hi-1``. The last answer is kept: the
        loop's equity samples of a skipped stretch are a part of what the halt check computed."""
        kept = self._equity
        if kept is not None and kept[0] is quiet and kept[1] == lo and kept[2] >= hi:
            return kept[3][: hi - lo]
        values = quiet.equity(self.close[lo:hi])
        self._equity = (quiet, lo, hi, values)
        return values


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
        """Instants opening at or after this are stepped, whatever their bars. (The strategy's
        band holds for bars ending before ``until``: the bars skipped before that instant close
        earlier, and the last, left deferred, closes at its step.)"""
        return min(self.wake, self.expires - _CLOSE_POINT, self.until)

    @property
    def thresholds(self) -> F64:
        """What :class:`Lookahead`'s levels are compared with: a level at or above its threshold
        wakes the engine (the strict comparisons of a close with its band made inclusive)."""
        up, down = _INF, -_INF
        return np.array(
            [-x for x in self.low]
            + self.high
            + [-math.nextafter(x, down) for x in self.close_low]
            + [math.nextafter(x, up) for x in self.close_high]
            + [0.0]
        )

    def extent(self, look: Lookahead, row: int, bound: int) -> tuple[int, npt.NDArray[np.bool_] | None]:
        """``(first, loud)``: the rows after ``row`` (the last one stepped) and before ``row +
        first`` can be skipped, and row ``row + first`` must be stepped, but only the bars of the
        symbols in ``loud`` (``None``: all of them; the others are caught up after the step by
        :func:`catch_up_row`). ``bound``: the first row at or after the deadline, or the end of the
        window asked about.

        Row ``r``'s bars are matched at its own step and closed at the next: the skipped rows must
        be quiet for the venue and the rows before them (``row`` included) for the strategy and the
        halt; a gap wakes the engine too. At the step after them go the symbols whose bar there is
        loud for the venue and those whose bar closing there is loud for the strategy (a signal's
        order meets the symbol's next bar).
        """
        rows = bound - row
        if rows < 2 or int(look.ts[row]) + _STEP <= self.after:
            return 1, None
        halt = rows  # (the first close at which equity reaches the floor, plus one)
        if self.floor is not None:
            if self.positions:
                reached = look.equity(self, row, bound) <= self.floor
                if reached.any():
                    halt = int(reached.argmax()) + 1
            elif self.cash <= self.floor:
                halt = 1
        if halt == 1:
            return 1, None
        wakes: npt.NDArray[np.bool_] = look.levels(row + 1, row + halt) >= self.thresholds
        hit = np.logical_or.reduce(wakes, axis=1)
        k = int(hit.argmax())
        if not hit[k]:
            return halt, None  # (quiet up to the halt or the bound: that row is stepped in full)
        levels = wakes[k]
        if levels[-1]:
            return k + 1, None
        width = len(self.low)
        return k + 1, levels[:-1].reshape(4, width).any(axis=0)

    def equity(self, close: F64) -> F64:
        """The equity at each row's closes (``rows x symbols``): the cash plus each position at its
        close, added in the portfolio's order, so each sum is ``Portfolio.equity``'s bit for bit."""
        equity = np.full(len(close), self.cash)
        for column, qty in self.positions:
            equity = equity + qty * close[:, column]
        return equity


def quiet(state: EngineState, symbols: Sequence[str]) -> Quiet | int | None:
    """What could wake the engine after a bar-mode step (its bars deferred); ``None`` when no bar
    can be skipped now (no session open, an external broker, a strategy that states no
    triggers, bars forming from prints, an outage being judged, ...); an ``int`` when none can
    be skipped until the deferred bars open at or after that instant (a strategy's band starts
    later: ORB's, once its range is complete)."""
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
        if first_end <= since:  # (the band starts after the deferred bars' close)
            return int(since) - _STEP + 1
        if first_end >= end:  # (... or ends before it)
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
    positions = []
    for symbol, position in portfolio.positions.items():
        if symbol not in symbols:
            return None  # (its mark would not move with these columns)
        positions.append((symbols.index(symbol), position.qty))
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
    times = ts.tolist()
    closing = times[:n]
    values = [column.T.tolist() for column in columns]  # column -> symbol -> its values (rows 0..n)

    # closed: rows 0..n-1 (higher-timeframe bars, indicators, validator, the venue's volatility term)
    higher = state.bars.catch_up(closing, symbols, values, sources)
    bank = state.indicators
    if bank.specs:
        if bank.wants(PRIMARY):
            bank.extend_each(_rows(closing, symbols, sources, values))
        bank.extend_each(higher)
    validator = state.validator
    if validator.config.enabled:
        for symbol, volumes, source in zip(symbols, values[4], sources, strict=True):
            validator.skip_m5(symbol, n, volumes[n - 1], source)
        validator.skip_rows(higher)
    state.risk.fills_checked = state.portfolio.n_fills  # (the halt was checked at each close)
    # matched: rows 1..n (the last price, the marks, the feed gate's data times)
    o, h, lo, c, v = ([x[n] for x in per_symbol] for per_symbol in values)
    last = checked_bars(symbols, PRIMARY, times[n], o, h, lo, c, v, sources)
    assert state.venue is not None
    closed: Sequence[Bar] = ()
    if state.venue.model.slippage_volatility:  # (only then is the last closed bar read)
        o, h, lo, c, v = ([x[n - 1] for x in per_symbol] for per_symbol in values)
        closed = checked_bars(symbols, PRIMARY, times[n - 1], o, h, lo, c, v, sources)
    _matched(state, last, times[1:], closed)
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


def _rows(
    times: list[int], symbols: Sequence[str], sources: Sequence[str], values: list[list[list[float]]]
) -> list[tuple[str, Timeframe, list[Row]]]:
    """Each symbol's 5m bars at ``times`` as the indicator bank's Rows (built in C: zipped, then
    made Rows by ``tuple.__new__``); ``values``: column -> symbol -> its values (from the first
    of ``times``; values past them are left out)."""
    nones = repeat(None)
    return [
        (symbol, PRIMARY, list(map(_tuple, repeat(Row), zip(times, o, h, lo, c, v, repeat(src), nones))))
        for symbol, src, o, h, lo, c, v in zip(symbols, sources, *values, strict=True)
    ]
