"""The feed gate: stale symbols and feed outages, judged from event times only, gate new entries.

State: :class:`FeedGate`: whether the feed is down (and why), the latest data time of each symbol and
of the whole feed, the current session's window, the freshness floor, an outage not judged yet,
and the first gap of the session per symbol (``"*"``: the whole feed's), for the opening-range rule.
Consumes: the times of market data (:meth:`FeedGate.on_print`, :meth:`FeedGate.on_bars`),
``FeedStatus`` (:meth:`FeedGate.on_status`), session opens and closes.
Emits: :class:`~vibe_core.actions.FeedGap` records when a gap ends (or at the session close); the
veto reasons of an entry signal (:meth:`FeedGate.vetoes`).
Invariants: a function of event times alone (never the wall clock), so a replay of the log, a
restart from a snapshot, a backtest of the bars and a replay of their four points as prints all
decide alike; O(symbols) memory; nothing is judged outside a session; exits, stops and the
flatten never ask the gate.

# Theory of operation

A symbol's *data time* is the time of its latest print, or of its latest bar's last point (a 5m bar's
four points are at +0, +100, +200 and +299 s, DESIGN §3), so a backtest and a replay of the bars'
points as prints see the same times. The *floor* is the session open, or the end of the last feed
outage that was a gap: silence before it does not count.

- Stale. At a decision, symbol S is stale when the newest data time of any symbol is more than
  ``feed.stale_seconds`` after ``max(S's data time, floor)``: another symbol is current and S is
  not. S is fresh again at its next data. When S's data comes back, the silence is a gap if some
  symbol's data strictly before that instant was more than ``stale_seconds`` newer than S's
  (strictly before: which symbol comes first inside one instant must not matter, and in bar mode the
  other bars of the same slice are not yet "seen"); the gap ``(S, floor-or-last, resume)`` is
  recorded then, or at the session close while still open.
- Down. ``FeedStatus(connected=False)`` blocks every new entry until ``connected=True``. The
  outage is judged at the first data after the reconnect (or at the close): the silence from the
  last data before it to the first after is a gap when longer than ``stale_seconds`` (recorded as
  symbol ``"*"``, and the floor moves to the resumption so no symbol is stale for it); otherwise
  the feed's own timestamps show nothing was missed, and it leaves no trace. Between the reconnect
  and that first data, a decision at a time more than ``stale_seconds`` after the last data is
  still refused.
- Opening range. A strategy with ``opening_range_end(symbol)`` (ORB) builds its entries on a window
  from the session open: a gap of the session (the symbol's, or the feed's) that was stale inside
  that window (``start + stale_seconds < range end``) leaves the range incomplete, and the symbol
  takes no such entry that day.

No timer is needed (``next_deadline`` is unchanged): staleness matters only at a decision, which
always happens at an event (a bar close, a Clock), and a gap is recorded at the data that ends it
or at the session close, which is already a deadline; both shells see those same events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from vibe_core.actions import FeedGap
from vibe_core.calendar import ns_to_datetime
from vibe_core.events import Bar, FeedStatus
from vibe_core.sim.points import POINT_OFFSETS
from vibe_core.types import NS_PER_SECOND, Timeframe

__all__ = ["FeedGate", "FEED", "range_end_of"]

FEED = "*"  #: the ``symbol`` of a gap of the whole feed (an outage)
_NONE = -1  #: no outage pending
#: timeframe -> offset of a bar's last point from its open, in ns (DESIGN §3)
_LAST_POINT = {tf: tf.ns * POINT_OFFSETS[-1] // 300 for tf in Timeframe}


def _clock(ts: int) -> str:
    return ns_to_datetime(ts).strftime("%H:%M:%S")


def range_end_of(strategy: Any, symbol: str) -> int | None:
    """The end of ``symbol``'s opening range today, when ``strategy`` builds entries on one."""
    fn: Callable[[str], int | None] | None = getattr(strategy, "opening_range_end", None)
    return None if fn is None else fn(symbol)


@attrs.define
class FeedGate:
    """See the module docstring. Mutable, owned by one engine state."""

    stale_ns: int = 120 * NS_PER_SECOND
    symbols: tuple[str, ...] = ()  #: the gaps open at the close are reported in this order
    down: bool = False
    down_reason: str = ""
    outage: int = _NONE  #: last data time before an outage not judged yet (``-1``: none)
    outage_reason: str = ""
    newest: int = 0  #: the latest data time of any symbol
    prior: int = 0  #: the latest data time strictly before the instant of the newest data
    open: int = 0  #: the current session's open and close (both 0 outside a session)
    close: int = 0
    floor: int = 0  #: silence before this does not count (session open, end of the last outage gap)
    last: dict[str, int] = attrs.Factory(dict)  #: symbol -> its latest data time
    #: symbol (or ``"*"``) -> ``(start, end)`` of its first gap this session
    gaps: dict[str, tuple[int, int]] = attrs.Factory(dict)

    # -- market data (the hot path: a few comparisons per print or bar) ---------------------------

    def on_print(self, symbol: str, ts: int) -> FeedGap | None:
        """A print of ``symbol`` at ``ts``: its data time; the gap it ends, if any."""
        newest = self.newest
        if ts > newest:
            ref = self.prior = newest
            self.newest = ts
        else:
            ref = self.prior
        last = self.last.get(symbol, 0)
        if ts > last:
            self.last[symbol] = ts
        gap = None
        if self.outage != _NONE and not self.down:
            gap = self._judge_outage(ts)
        if self.open <= ts < self.close:
            floor = last if last > self.floor else self.floor
            if ref - floor > self.stale_ns:
                gap = self._stale_gap(symbol, floor, ts)
        return gap

    def on_bars(self, bars: Iterable[Bar]) -> list[FeedGap]:
        """Complete bars (bar mode): each a print at its open for the gap check, its last point for
        its data time."""
        if self.outage != _NONE and not self.down:
            return self._on_bars_judging(bars)
        # The fast path (every bar of a backtest): what depends on the instant is computed once per
        # instant, so a bar costs a lookup, a store and a comparison.
        out: list[FeedGap] = []
        last_of = self.last
        newest, prior = self.newest, self.prior
        lo, hi, floor0, stale_ns = self.open, self.close, self.floor, self.stale_ns
        prev_ts = prev_tf = None
        end = limit = 0
        judged = False  # an instant of the session: a symbol whose data is older than ``limit`` was stale
        for bar in bars:
            ts, tf = bar.ts, bar.timeframe
            if ts != prev_ts or tf is not prev_tf:
                if ts != prev_ts:
                    if ts > newest:
                        prior = newest
                    limit = prior - stale_ns
                    judged = lo <= ts < hi and floor0 < limit
                prev_ts, prev_tf = ts, tf
                end = ts + _LAST_POINT[tf]
                if end > newest:
                    newest = end
            symbol = bar.symbol
            last = last_of.get(symbol, 0)
            if end > last:
                last_of[symbol] = end
            if judged and last < limit:
                out.append(self._stale_gap(symbol, last if last > floor0 else floor0, ts))
        self.newest, self.prior = newest, prior
        return out

    def can_skip(self) -> bool:
        """Whether :meth:`skip` may stand in for :meth:`on_bars` (no outage is waiting to be judged)."""
        return self.outage == _NONE and not self.down

    def skip(self, times: Sequence[int], symbols: Iterable[str], timeframe: Timeframe) -> None:
        """:meth:`on_bars` of a bar of each of ``symbols`` at each of ``times`` (consecutive
        instants, every symbol seen at the instant before the first): no gap can open, so only the
        data times move (the backtest loop's catch-up)."""
        if not times:
            return
        offset = _LAST_POINT[timeframe]
        newest = self.newest
        for ts in times[-2:]:  # (only the last two instants leave a trace: prior and newest)
            if ts > newest:
                self.prior = newest
            end = ts + offset
            if end > newest:
                newest = end
        self.newest = newest
        last_of = self.last
        end = times[-1] + offset
        for symbol in symbols:
            if end > last_of.get(symbol, 0):
                last_of[symbol] = end

    def _on_bars_judging(self, bars: Iterable[Bar]) -> list[FeedGap]:
        """:meth:`on_bars` while an outage waits for its first data (rare): bar by bar."""
        out: list[FeedGap] = []
        last_of = self.last
        stale_ns = self.stale_ns
        for bar in bars:
            ts = bar.ts
            end = ts + _LAST_POINT[bar.timeframe]
            newest = self.newest
            if ts > newest:
                ref = self.prior = newest
                self.newest = end
            else:
                ref = self.prior
                if end > newest:
                    self.newest = end
            symbol = bar.symbol
            last = last_of.get(symbol, 0)
            if end > last:
                last_of[symbol] = end
            if self.outage != _NONE and not self.down:
                gap = self._judge_outage(ts)
                if gap is not None:
                    out.append(gap)
            if self.open <= ts < self.close:
                floor = last if last > self.floor else self.floor
                if ref - floor > stale_ns:
                    out.append(self._stale_gap(symbol, floor, ts))
        return out

    def _stale_gap(self, symbol: str, start: int, end: int) -> FeedGap:
        if symbol not in self.gaps:
            self.gaps[symbol] = (start, end)
        return FeedGap(symbol=symbol, start=start, end=end, reason="stale")

    # -- the connection ----------------------------------------------------------------------------

    def on_status(self, event: FeedStatus) -> None:
        """The shell saw its feed go down or come back up."""
        if not event.connected:
            if not self.down:
                self.down, self.down_reason = True, event.reason
                if self.outage == _NONE:
                    self.outage, self.outage_reason = self.newest, event.reason
        else:
            self.down, self.down_reason = False, ""

    def _judge_outage(self, ts: int) -> FeedGap | None:
        """The first data after a reconnect, at ``ts``: the outage was a gap, or nothing was missed."""
        start = max(self.outage, self.open)
        self.outage = _NONE
        if not (self.open <= ts < self.close) or ts - start <= self.stale_ns:
            return None
        self.floor = ts
        return self._feed_gap(start, ts)

    def _feed_gap(self, start: int, end: int) -> FeedGap:
        if FEED not in self.gaps:
            self.gaps[FEED] = (start, end)
        why = self.outage_reason
        return FeedGap(symbol=FEED, start=start, end=end, reason=f"feed down: {why}" if why else "feed down")

    # -- the session ---------------------------------------------------------------------------------

    def on_session_open(self, open_ns: int, close_ns: int) -> None:
        self.open, self.close, self.floor = open_ns, close_ns, open_ns
        self.gaps.clear()

    def on_session_close(self) -> list[FeedGap]:
        """The gaps still open at the close: an outage, then each stale symbol (in config order)."""
        close = self.close
        out: list[FeedGap] = []
        if close == 0:
            return out
        if self.outage != _NONE:
            start = max(self.outage, self.open)
            if close - start > self.stale_ns:
                out.append(self._feed_gap(start, close))
            if not self.down:  # (back up, but no data came before the close: judged here)
                self.outage = _NONE
        newest, floor0, stale_ns = self.newest, self.floor, self.stale_ns
        for symbol in self.symbols:
            floor = max(self.last.get(symbol, 0), floor0)
            if newest - floor > stale_ns:
                out.append(self._stale_gap(symbol, floor, close))
        self.open = self.close = 0
        return out

    # -- the gate ------------------------------------------------------------------------------------

    def vetoes(self, symbol: str, now: int, strategy: Any) -> tuple[str, ...]:
        """Why no new entry may be taken on ``symbol`` at ``now`` (empty: none)."""
        out: tuple[str, ...] = ()
        if self.down:
            why = self.down_reason
            out = (f"feed down: {why}" if why else "feed down",)
        elif self.close:
            floor = max(self.last.get(symbol, 0), self.floor)
            silent = self.newest - floor
            if silent > self.stale_ns:
                out = (f"feed stale: {symbol} silent {silent // NS_PER_SECOND} s",)
            elif self.outage != _NONE and now - max(self.outage, self.open) > self.stale_ns:
                why = self.outage_reason
                waited = (now - max(self.outage, self.open)) // NS_PER_SECOND
                out = (f"feed down: {why + ', ' if why else ''}no data for {waited} s",)
        if self.gaps:
            out += self._range_vetoes(symbol, strategy)
        return out

    def _range_vetoes(self, symbol: str, strategy: Any) -> tuple[str, ...]:
        found = [g for g in (self.gaps.get(symbol), self.gaps.get(FEED)) if g is not None]
        if not found:
            return ()
        range_end = range_end_of(strategy, symbol)
        if range_end is None:
            return ()
        start, end = min(found)
        if start + self.stale_ns >= range_end:
            return ()
        return (f"opening range incomplete: feed gap {_clock(start)}-{_clock(end)}",)

    # -- persistence ---------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        data = attrs.asdict(self, recurse=False)
        del data["stale_ns"], data["symbols"]  # (from the config)
        data["last"] = dict(self.last)
        data["gaps"] = {s: list(g) for s, g in self.gaps.items()}
        return data

    @classmethod
    def restore(cls, data: dict[str, Any], *, stale_seconds: float, symbols: tuple[str, ...]) -> FeedGate:
        """The gate :meth:`snapshot` gave ``data``; the threshold and symbols come from the config."""
        fields = {k: v for k, v in data.items() if k not in ("last", "gaps")}
        return cls(
            stale_ns=_ns(stale_seconds),
            symbols=symbols,
            last=dict(data["last"]),
            gaps={s: (int(g[0]), int(g[1])) for s, g in data["gaps"].items()},
            **fields,
        )

    @classmethod
    def for_config(cls, stale_seconds: float, symbols: tuple[str, ...]) -> FeedGate:
        """A fresh gate: ``feed.stale_seconds`` and the config's symbols."""
        return cls(stale_ns=_ns(stale_seconds), symbols=symbols)


def _ns(seconds: float) -> int:
    return round(seconds * NS_PER_SECOND)
