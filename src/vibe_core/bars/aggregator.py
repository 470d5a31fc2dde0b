"""The bar aggregator: per symbol and tracked timeframe, the forming bar; events in, complete bars out.

State: :class:`BarAggregator` (see :mod:`vibe_core.bars` for the rules), its forming bars held in
the private records of :mod:`~vibe_core.bars.forming`.
Consumes: ``Trade`` prints, complete input ``Bar`` s, ``Clock``.
Emits: complete ``Bar`` s, ordered by end time, then timeframe (ascending), then symbol.
Invariants: those of :mod:`vibe_core.bars`; ``_next_due`` is never later than the earliest end
among forming bars (exact after each event), ``_base`` mirrors every symbol's first slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs

from vibe_core.bars.forming import FAR, NEVER, TF_NS, Forming, SymbolState, check_timeframes, merged, to_bar
from vibe_core.calendar import SessionTable
from vibe_core.events import Bar, Trade
from vibe_core.indicators.rows import Row
from vibe_core.types import Timeframe

__all__ = ["BarAggregator", "DEFAULT_TIMEFRAMES"]

DEFAULT_TIMEFRAMES: Final = (Timeframe.M5, Timeframe.M15, Timeframe.H1)

_tuple = tuple.__new__  #: ``_tuple(Row, values)``: a Row without its keyword-handling __new__


@attrs.define
class BarAggregator:
    """Per-symbol forming bars for each timeframe; see :mod:`vibe_core.bars` for the rules."""

    sessions: SessionTable = attrs.field(eq=False)
    timeframes: tuple[Timeframe, ...] = DEFAULT_TIMEFRAMES
    trade_source: str = "finnhub"  #: ``source`` stamped on bars built from prints
    late_prints: int = 0
    outside_session: int = 0
    _now: int = attrs.field(default=NEVER, init=False)
    _next_due: int = attrs.field(default=FAR, init=False)
    _symbols: dict[str, SymbolState] = attrs.field(factory=dict, init=False)
    _base: dict[str, Forming] = attrs.field(factory=dict, init=False)  #: mirrors ``forming[0]``
    _tf_ns: tuple[int, ...] = attrs.field(init=False, eq=False)
    _base_tf: Timeframe = attrs.field(init=False, eq=False)
    _levels: int = attrs.field(init=False, eq=False)
    # Session cache: [_lo, _hi) is the session (or the gap between sessions) around the last lookup.
    _lo: int = attrs.field(default=FAR, init=False, eq=False)
    _hi: int = attrs.field(default=NEVER, init=False, eq=False)
    _in_session: bool = attrs.field(default=False, init=False, eq=False)
    _s_open: int = attrs.field(default=0, init=False, eq=False)
    _s_close: int = attrs.field(default=0, init=False, eq=False)
    #: a first-timeframe open known to be on its session's grid (the step after the last aligned
    #: one ``on_slice`` or ``on_bars`` took), so that step skips the modulo of its alignment check
    _grid_next: int = attrs.field(default=NEVER, init=False, eq=False)

    # No field validators: they would give the class a ``__setattr__`` hook costing ~2 us per print.
    def __attrs_post_init__(self) -> None:
        check_timeframes(self.timeframes)
        self._tf_ns = tuple(tf.ns for tf in self.timeframes)
        self._base_tf = self.timeframes[0]
        self._levels = len(self.timeframes)

    @property
    def now(self) -> int | None:
        """The latest event time seen (ns UTC), or ``None`` before the first event."""
        return None if self._now == NEVER else self._now

    @property
    def next_close(self) -> int:
        """The earliest end among forming bars (a far future time when none is forming)."""
        return self._next_due

    # -- events ----------------------------------------------------------------------------------

    def on_trade(self, trade: Trade) -> list[Bar]:
        """Close the bars due at ``trade.ts``, then add the print to its symbol's forming bar."""
        ts = trade.ts
        out = self._close_due(ts) if ts >= self._next_due else []
        if ts > self._now:
            self._now = ts
        fb = self._base.get(trade.symbol)
        if fb is not None and ts >= fb.start:
            price = trade.price
            if price > fb.high:
                fb.high = price
            elif price < fb.low:
                fb.low = price
            fb.close = price
            fb.volume += trade.size
            return out
        self._open_from_print(trade, fb)
        return out

    def on_bar(self, bar: Bar) -> list[Bar]:
        """Fold a complete input bar in; returns the bars it completes, itself included if tracked.

        Bars due at ``bar.ts`` close first (any symbol); then, after folding, every bar of this
        symbol ending at or before the input's end. Raises ``ValueError`` for an input bar older
        than what was already emitted or fed for its symbol, a first-timeframe bar off the session
        grid, or a timeframe above the first tracked one: shells must feed bars in time order.
        """
        return self.on_bars((bar,))

    def on_bars(self, bars: Iterable[Bar]) -> list[Bar]:
        """:meth:`on_bar` of each bar in turn, in one call (a bar-mode step hands every symbol's bar).

        The bars it completes come out in the order the inputs complete them.
        """
        out: list[Bar] = []
        base = self._base_tf
        base_ns = self._tf_ns[0]
        symbols = self._symbols
        levels = self._levels
        last_t = None  # bars of one step share their open time: its checks run once
        in_session = aligned = False
        s_open = s_close = end_in = 0
        for bar in bars:
            tf = bar.timeframe
            if tf is not base and tf > base:
                raise ValueError(
                    f"{bar.symbol}: {tf.label} input bars are above the first timeframe ({base.label})"
                )
            t = bar.ts
            if t != last_t:  # (folding a bar only adds forming bars ending after t)
                if t >= self._next_due:
                    out += self._close_due(t)
                if t > self._now:
                    self._now = t
                if not self._lo <= t < self._hi:
                    self._locate(t)
                last_t = t
                in_session = self._in_session
                s_open, s_close = self._s_open, self._s_close
                aligned = t == self._grid_next or not (t - s_open) % base_ns
                end_in = t + base_ns
                if end_in >= s_close:
                    end_in = s_close
                elif aligned and in_session:
                    self._grid_next = end_in  # (the same rule as in on_slice)
            if not in_session:
                self.outside_session += 1
                continue
            sym = symbols.get(bar.symbol) or self._symbol(bar.symbol)
            if t < sym.seen_end:
                raise ValueError(
                    f"{bar.symbol}: {tf.label} bar at {t} is older than bars already emitted or fed "
                    f"(up to {sym.seen_end}); feed bars in time order"
                )
            if tf is not base:
                self._fold_small(sym, bar, out)
                continue
            if not aligned:
                raise ValueError(f"{bar.symbol}: {tf.label} bar at {t} is not aligned to the session open")
            forming = sym.forming
            if forming[0] is not None:
                raise ValueError(
                    f"{bar.symbol}: {tf.label} bar at {t} overlaps a bar built from smaller ones"
                )
            # A complete first-timeframe bar: emitted as itself, then folded into each higher bar,
            # which goes out too if this bar completes it (it then ends exactly where this one does).
            sym.seen_end = end_in
            out.append(bar)
            if levels == 1:
                continue
            hb = forming[1]
            if hb is None or not hb.start <= t < hb.end:  # a new higher bar (or a broken one)
                self._fold_into(sym, 1, t, bar, s_open, s_close, end_in, out)
                continue
            # _fold_into's update, inlined: this runs for most input bars (a call costs as much)
            if bar.high > hb.high:
                hb.high = bar.high
            if bar.low < hb.low:
                hb.low = bar.low
            hb.close = bar.close
            hb.volume += bar.volume
            if hb.end <= end_in:
                out.append(to_bar(sym.name, self.timeframes[1], hb))
                forming[1] = None
                if levels > 2:
                    self._fold_into(sym, 2, hb.start, hb, s_open, s_close, end_in, out)
        if self._next_due <= end_in:
            # Bars ending by the step's end went out above: ``_next_due`` was kept a lower bound
            # while they did (emitting only removes bars); one scan for the step makes it exact.
            self._next_due = self._earliest_end()
        return out

    def on_slice(self, t: int, bars: list[Bar]) -> list[Bar]:
        """:meth:`on_bars` for input bars that all open at ``t`` (one bar-mode engine step).

        When no bar is forming from prints or smaller bars, each input bar is emitted as itself
        (and folded into at most two levels above, :meth:`_slice_up`): the time, session and grid
        checks run once for the step and a bar's own checks are its symbol's order and its
        timeframe. From the first bar that needs more (a smaller bar, or one to refuse) the rest
        go through :meth:`on_bars`.
        """
        if (
            self._levels > 3
            or self._base
            or t >= self._next_due
            or not self._lo <= t < self._hi
            or not self._in_session
            or (t != self._grid_next and (t - self._s_open) % self._tf_ns[0])
        ):
            return self.on_bars(bars)
        if self._levels > 1:
            return self._slice_up(t, bars)
        if t > self._now:
            self._now = t
        base = self._base_tf
        symbols = self._symbols
        end_in = t + self._tf_ns[0]
        if end_in < self._s_close:
            self._grid_next = end_in  # on the session's grid, inside the session: no modulo next step
        else:
            end_in = self._s_close
        for i, bar in enumerate(bars):
            sym = symbols.get(bar.symbol) or self._symbol(bar.symbol)
            if t < sym.seen_end or bar.timeframe is not base or bar.ts != t:
                return [*bars[:i], *self.on_bars(bars[i:])]
            sym.seen_end = end_in
        return bars.copy()

    def _slice_up(self, t: int, bars: list[Bar]) -> list[Bar]:
        """:meth:`on_slice` with one or two levels above the first: :meth:`on_bars`'s work, its
        output in the same order (each bar, then the bars it completes), with what depends only on
        ``t`` (the higher bars it falls in, whether it completes them) worked out once."""
        if t > self._now:
            self._now = t
        s_open, s_close = self._s_open, self._s_close
        end_in = t + self._tf_ns[0]
        if end_in < s_close:
            self._grid_next = end_in
        else:
            end_in = s_close
        tf1 = self._tf_ns[1]
        start1 = s_open + (t - s_open) // tf1 * tf1
        end1 = start1 + tf1 if start1 + tf1 < s_close else s_close
        complete1 = end1 <= end_in
        start2 = end2 = 0
        up_level = self._levels > 2
        if up_level:
            tf2 = self._tf_ns[2]
            start2 = s_open + (start1 - s_open) // tf2 * tf2
            end2 = start2 + tf2 if start2 + tf2 < s_close else s_close
        base = self._base_tf
        timeframes = self.timeframes
        symbols = self._symbols
        out: list[Bar] = []
        for i, bar in enumerate(bars):
            name = bar.symbol
            sym = symbols.get(name) or self._symbol(name)
            forming = sym.forming
            if t < sym.seen_end or bar.timeframe is not base or bar.ts != t or forming[0] is not None:
                return out + self.on_bars(bars[i:])  # (to refuse it, or fold a smaller bar)
            sym.seen_end = end_in
            out.append(bar)
            hb = forming[1]
            if hb is None:
                hb = forming[1] = Forming(
                    start1, end1, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.source,
                    s_open, s_close,
                )  # fmt: skip
                if end1 < self._next_due:
                    self._next_due = end1
            elif hb.start != start1:
                raise RuntimeError(f"{name}: bar at {t} outside the forming {hb.start}..{hb.end}")
            else:
                if bar.high > hb.high:
                    hb.high = bar.high
                if bar.low < hb.low:
                    hb.low = bar.low
                hb.close = bar.close
                hb.volume += bar.volume
            if not complete1:
                continue
            out.append(to_bar(name, timeframes[1], hb))
            forming[1] = None
            if not up_level:
                continue
            # the same fold one level up, written out as above: a call per bar costs as much
            up = forming[2]
            if up is None:
                up = forming[2] = Forming(
                    start2, end2, hb.open, hb.high, hb.low, hb.close, hb.volume, hb.source,
                    s_open, s_close,
                )  # fmt: skip
                if end2 < self._next_due:
                    self._next_due = end2
            elif up.start != start2:
                raise RuntimeError(f"{name}: bar at {start1} outside the forming {up.start}..{up.end}")
            else:
                if hb.high > up.high:
                    up.high = hb.high
                if hb.low < up.low:
                    up.low = hb.low
                up.close = hb.close
                up.volume += hb.volume
            if end2 <= end_in:
                out.append(to_bar(name, timeframes[2], up))
                forming[2] = None
        if self._next_due <= end_in:
            self._next_due = self._earliest_end()
        return out

    def _fold_small(self, sym: SymbolState, bar: Bar, out: list[Bar]) -> None:
        """An input bar below the first timeframe (1m into 5m): fold it into its forming bar."""
        s_open, s_close = self._s_open, self._s_close
        t = bar.ts
        end_in = min(t + TF_NS[bar.timeframe], s_close)
        base_ns = self._tf_ns[0]
        start = s_open + (t - s_open) // base_ns * base_ns
        fb = sym.forming[0]
        if fb is None:
            self._install(sym, Forming.of(bar, start, min(start + base_ns, s_close), (s_open, s_close)))
        else:
            fb.high = max(fb.high, bar.high)
            fb.low = min(fb.low, bar.low)
            fb.close = bar.close
            fb.volume += bar.volume
        sym.seen_end = end_in
        self._close_symbol(sym, end_in, out)

    def on_clock(self, ts: int) -> list[Bar]:
        """Time advanced to ``ts``: close every bar ending at or before it."""
        out = self._close_due(ts) if ts >= self._next_due else []
        if ts > self._now:
            self._now = ts
        return out

    # -- skipping (bar mode) -----------------------------------------------------------------------

    def can_catch_up(self, first: int) -> bool:
        """Whether :meth:`catch_up` may stand in for :meth:`on_slice` from instant ``first`` on: no
        bar is forming from prints or smaller bars, none is due by then, and at most two levels are
        tracked above the first (:meth:`catch_up` folds into those)."""
        return not self._base and self._next_due > first and self._levels <= 3

    def catch_up(
        self,
        times: Sequence[int],
        symbols: Sequence[str],
        columns: Sequence[Sequence[Sequence[float]]],
        sources: Sequence[str],
    ) -> list[tuple[str, Timeframe, list[Row]]]:
        """:meth:`on_slice` of every instant of ``times`` in one call, for complete first-timeframe
        bars given as columns: ``columns`` is ``(open, high, low, close, volume)``, each a list per
        symbol of its values at ``times`` (values past them are ignored: the caller's conversion
        need not slice); every symbol has a bar at every instant (contiguous, one session, on its
        grid).

        Returns the higher-timeframe bars they complete as :class:`~vibe_core.indicators.rows.Row`
        s: ``(symbol, timeframe, rows)``, each symbol's rows of a timeframe in time order (the input
        bars themselves are not built: the caller has them). Same state as the slices one by one.
        """
        out: list[tuple[str, Timeframe, list[Row]]] = []
        if not times:
            return out
        if self._levels > 3:
            raise ValueError("catch_up: folds into at most two levels above the first")
        base_ns = self._tf_ns[0]
        first, last = times[0], times[-1]
        if not self._lo <= first < self._hi:
            self._locate(first)
        if not self._in_session or last >= self._hi:
            raise ValueError(f"catch_up: instants {first}..{last} are not inside one session")
        s_close = self._s_close
        if last > self._now:
            self._now = last
        end_last = last + base_ns
        if end_last < s_close:
            self._grid_next = end_last
        else:
            end_last = s_close
            self._grid_next = last  # (set by the instant before, if any; `last` itself is on the grid)
        known = self._symbols
        for name in symbols:
            sym = known.get(name) or self._symbol(name)
            if first < sym.seen_end or sym.forming[0] is not None:
                raise ValueError(f"catch_up: {name} has bars at or after {first} already")
            sym.seen_end = end_last
        if self._levels > 1:
            self._fold_up(times, symbols, columns, sources, out)
        self._next_due = self._earliest_end()
        return out

    def _fold_up(
        self,
        times: Sequence[int],
        symbols: Sequence[str],
        columns: Sequence[Sequence[Sequence[float]]],
        sources: Sequence[str],
        out: list[tuple[str, Timeframe, list[Row]]],
    ) -> None:
        """:meth:`catch_up`'s fold of first-timeframe bars into the (one or two) levels above, as
        one bar at a time would (the same extremes, the volumes added in the same order: ``(v0 +
        v1) + v2``), the bars being formed held in local variables: the ``Forming`` records are
        read and written once a symbol.

        Which instants complete a second-level bar, and whether that completes a third-level one,
        is the same for every symbol: it is worked out once, first (``closing``)."""
        s_open, s_close = self._s_open, self._s_close
        base_ns, tf1 = self._tf_ns[0], self._tf_ns[1]
        tf2 = self._tf_ns[2] if self._levels > 2 else 0
        # closing[j]: None, or (start, start2, complete2) when instant j completes the second-level
        # bar opening at ``start``, which is folded into the third-level bar opening at ``start2``
        # (completing it when ``complete2``)
        closing: list[tuple[int, int, bool] | None] = []
        start1 = s_open + (times[0] - s_open) // tf1 * tf1
        end1 = start1 + tf1 if start1 + tf1 < s_close else s_close
        first1 = start1
        start2 = end2 = first2 = -1
        for t in times:
            if t >= end1:
                start1 = s_open + (t - s_open) // tf1 * tf1
                end1 = start1 + tf1 if start1 + tf1 < s_close else s_close
            until = t + base_ns if t + base_ns < s_close else s_close
            if end1 > until:
                closing.append(None)
                continue
            if tf2:
                if start1 >= end2:
                    start2 = s_open + (start1 - s_open) // tf2 * tf2
                    end2 = start2 + tf2 if start2 + tf2 < s_close else s_close
                    if first2 < 0:
                        first2 = start2
                closing.append((start1, start2, end2 <= until))
            else:
                closing.append((start1, 0, False))
        timeframes = self.timeframes
        symbol_states = self._symbols
        for name, src, opens, highs, lows, closes, volumes in zip(symbols, sources, *columns, strict=True):
            forming = symbol_states[name].forming
            fb = forming[1]  # (kept while the bar it records is the one being formed)
            if fb is None:
                fresh = True
                o = h = lo = c = v = 0.0
                source = src
            else:
                if fb.start != first1:
                    raise RuntimeError(f"{name}: bar at {first1} outside the forming {fb.start}..{fb.end}")
                fresh = False
                o, h, lo, c, v, source = fb.open, fb.high, fb.low, fb.close, fb.volume, fb.source
            up = forming[2] if tf2 else None
            if up is None:
                up_fresh = True
                o2 = h2 = lo2 = c2 = v2 = 0.0
                source2 = src
            else:
                if first2 >= 0 and up.start != first2:
                    raise RuntimeError(f"{name}: bar at {first2} outside the forming {up.start}..{up.end}")
                up_fresh = False
                o2, h2, lo2, c2, v2, source2 = up.open, up.high, up.low, up.close, up.volume, up.source
            rows1: list[Row] = []
            rows2: list[Row] = []
            # (strict=False: the columns may run past the instants)
            for closes_at, bo, bh, bl, bc, bv in zip(
                closing, opens, highs, lows, closes, volumes, strict=False
            ):
                if fresh:
                    o, h, lo, c, v, source = bo, bh, bl, bc, bv, src
                    fresh = False
                else:
                    if bh > h:
                        h = bh
                    if bl < lo:
                        lo = bl
                    c = bc
                    v += bv
                if closes_at is None:
                    continue
                start, start2, complete2 = closes_at
                rows1.append(_tuple(Row, (start, o, h, lo, c, v, source, None)))
                fresh = True
                fb = None
                if not tf2:
                    continue
                if up_fresh:
                    o2, h2, lo2, c2, v2, source2 = o, h, lo, c, v, source
                    up_fresh = False
                else:
                    if h > h2:
                        h2 = h
                    if lo < lo2:
                        lo2 = lo
                    c2 = c
                    v2 += v
                if complete2:
                    rows2.append(_tuple(Row, (start2, o2, h2, lo2, c2, v2, source2, None)))
                    up_fresh = True
                    up = None
            # the bars left forming: the record read at the start (its open and source stay), a
            # new one, or none
            if fresh:
                forming[1] = None
            elif fb is not None:
                fb.high, fb.low, fb.close, fb.volume = h, lo, c, v
            else:
                forming[1] = Forming(start1, end1, o, h, lo, c, v, source, s_open, s_close)
            if rows1:
                out.append((name, timeframes[1], rows1))
            if not tf2:
                continue
            if up_fresh:
                forming[2] = None
            elif up is not None:
                up.high, up.low, up.close, up.volume = h2, lo2, c2, v2
            else:
                forming[2] = Forming(start2, end2, o2, h2, lo2, c2, v2, source2, s_open, s_close)
            if rows2:
                out.append((name, timeframes[2], rows2))

    # -- read model --------------------------------------------------------------------------------

    def forming_bar(self, symbol: str, timeframe: Timeframe) -> Bar | None:
        """The incomplete bar of ``symbol`` at ``timeframe`` as it stands (for display), if any."""
        sym = self._symbols.get(symbol)
        if sym is None or timeframe not in self.timeframes:
            return None
        k = self.timeframes.index(timeframe)
        view = merged(sym.forming, k, self._tf_ns[k])
        return None if view is None else to_bar(symbol, timeframe, view)

    # -- persistence -------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """JSON-safe state (:func:`vibe_core.bars.persist.snapshot`)."""
        from vibe_core.bars.persist import snapshot  # (persist builds aggregators)

        return snapshot(self)

    @classmethod
    def restore(cls, data: dict[str, Any], sessions: SessionTable) -> BarAggregator:
        """The aggregator a snapshot describes (:func:`vibe_core.bars.persist.restore`)."""
        from vibe_core.bars.persist import restore

        return restore(data, sessions)

    # -- internals ---------------------------------------------------------------------------------

    def _symbol(self, name: str) -> SymbolState:
        sym = self._symbols.get(name)
        if sym is None:
            sym = self._symbols[name] = SymbolState(name, [None] * len(self.timeframes))
        return sym

    def _locate(self, ts: int) -> None:
        """Refresh the session cache around ``ts`` (one bisection)."""
        sessions = self.sessions.sessions
        i = self.sessions.last_index_at_or_before(ts)
        if i >= 0 and ts < sessions[i].close:
            s = sessions[i]
            self._lo = self._s_open = s.open
            self._hi = self._s_close = s.close
            self._in_session = True
        else:
            self._lo = sessions[i].close if i >= 0 else NEVER
            self._hi = sessions[i + 1].open if i + 1 < len(sessions) else FAR
            self._in_session = False

    def _open_from_print(self, trade: Trade, fb: Forming | None) -> None:
        """The slow path of a print: no forming bar for it yet, or it is older than the forming bar."""
        ts = trade.ts
        if not self._lo <= ts < self._hi:
            self._locate(ts)
        if not self._in_session:
            self.outside_session += 1
            return
        if fb is not None:  # older than its symbol's forming bar
            self.late_prints += 1
            return
        tf = self._tf_ns[0]
        s_open, s_close = self._s_open, self._s_close
        start = s_open + (ts - s_open) // tf * tf
        end = min(start + tf, s_close)
        if end <= self._now:  # its interval already closed
            self.late_prints += 1
            return
        price = trade.price
        source = self.trade_source
        new = Forming(start, end, price, price, price, price, trade.size, source, s_open, s_close)
        self._install(self._symbol(trade.symbol), new)

    def _install(self, sym: SymbolState, fb: Forming) -> None:
        sym.forming[0] = fb
        self._base[sym.name] = fb
        if fb.end < self._next_due:
            self._next_due = fb.end

    def _close_due(self, t: int) -> list[Bar]:
        """Emit every forming bar (any symbol) ending at or before ``t``."""
        out: list[Bar] = []
        symbols = self._symbols.values()
        levels = range(len(self.timeframes))
        while self._next_due <= t:
            end = self._next_due
            for k in levels:
                for sym in symbols:
                    fb = sym.forming[k]
                    if fb is not None and fb.end == end:
                        self._emit(sym, k, fb, out)
            self._next_due = self._earliest_end()
        return out

    def _close_symbol(self, sym: SymbolState, limit: int, out: list[Bar]) -> None:
        """Emit the forming bars of one symbol ending at or before ``limit``."""
        forming = sym.forming
        while True:
            end = min((fb.end for fb in forming if fb is not None), default=FAR)
            if end > limit:
                break
            for k, fb in enumerate(forming):
                if fb is not None and fb.end == end:
                    self._emit(sym, k, fb, out)
        self._next_due = self._earliest_end()

    def _earliest_end(self) -> int:
        best = FAR
        for sym in self._symbols.values():
            for fb in sym.forming:
                if fb is not None and fb.end < best:
                    best = fb.end
        return best

    def _emit(self, sym: SymbolState, k: int, fb: Forming, out: list[Bar]) -> None:
        out.append(to_bar(sym.name, self.timeframes[k], fb))
        sym.forming[k] = None
        if fb.end > sym.seen_end:
            sym.seen_end = fb.end
        if k == 0:
            del self._base[sym.name]
        if k + 1 < len(sym.forming):
            # the next level waits for its own turn in _close_due / _close_symbol (time order)
            self._fold_into(sym, k + 1, fb.start, fb, fb.session_open, fb.session_close, NEVER, out)

    def _fold_into(
        self, sym: SymbolState, k: int, start: int, src: Bar | Forming, s_open: int, s_close: int,
        until: int, out: list[Bar],
    ) -> None:  # fmt: skip
        """Fold a complete bar of level ``k - 1`` (``src``, opening at ``start``) into level ``k``.

        If the level-``k`` bar then ends at or before ``until`` it is complete: it goes to ``out``
        and is folded into the next level in turn.
        """
        forming = sym.forming
        hb = forming[k]
        if hb is None:
            tf = self._tf_ns[k]
            h_start = s_open + (start - s_open) // tf * tf
            end = h_start + tf
            if end > s_close:
                end = s_close
            hb = forming[k] = Forming(
                h_start, end, src.open, src.high, src.low, src.close, src.volume, src.source,
                s_open, s_close,
            )  # fmt: skip
            if end < self._next_due:
                self._next_due = end
        elif not hb.start <= start < hb.end:
            raise RuntimeError(f"{sym.name}: bar at {start} outside the forming {hb.start}..{hb.end}")
        else:
            if src.high > hb.high:
                hb.high = src.high
            if src.low < hb.low:
                hb.low = src.low
            hb.close = src.close
            hb.volume += src.volume
        if hb.end <= until:
            out.append(to_bar(sym.name, self.timeframes[k], hb))
            forming[k] = None
            if k + 1 < len(forming):
                self._fold_into(sym, k + 1, hb.start, hb, s_open, s_close, until, out)
