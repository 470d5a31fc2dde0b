"""The indicator bank: talipp indicators per symbol and spec, fed closed bars, bounded in memory.

State: one talipp indicator per (symbol, spec), owned by exactly one engine state and never
shared; per (symbol, timeframe) a precomputed route list and up to one batch of bars not yet fed
(fed on the next read, save or full batch: talipp's per-call overhead is most of its cost; SMA,
EMA and ATR take a batch in one loop, :mod:`~vibe_core.indicators.batch`).
Consumes: closed :class:`~vibe_core.events.Bar` s (``on_bar``) and session opens
(``reset_session``, which restarts the session-anchored VWAP).
Emits: nothing; readers ask ``value`` / ``value_at``.
Invariants: every value equals that of an unbounded talipp indicator fed the same bars (history is
purged in batches but never below :func:`~vibe_core.indicators.specs.min_history`);
``IndicatorBank.restore(bank.snapshot())`` continues bit for bit like ``bank``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from vibe_core.codec import structure, unstructure
from vibe_core.events import Bar
from vibe_core.indicators.batch import batch_adder
from vibe_core.indicators.rows import Row
from vibe_core.indicators.snapshot import dump_indicator, load_indicator
from vibe_core.indicators.specs import IndicatorSpec, min_history
from vibe_core.types import Timeframe

if TYPE_CHECKING:  # (talipp is imported by _build: a run with no indicator never pays for it)
    from talipp.indicators.Indicator import Indicator

__all__ = ["IndicatorBank", "Row", "DEFAULT_WINDOW", "purge_batch"]

DEFAULT_WINDOW: Final = 1000
_BATCH: Final = 64  #: bars buffered per (symbol, timeframe) before they are fed to talipp


_UNUSED: Final[list[Row | Bar]] = []  #: the pending list of a (symbol, timeframe) no indicator reads

# What an indicator is fed from a bar.
_CLOSE: Final = 0
_VOLUME: Final = 1
_BAR: Final = 2

#: (indicator, its batch ``add``, source, keep, cap): past ``cap`` inputs, purge down to ``keep``.
_Route = tuple["Indicator", Callable[[Any], None], int, int, int]


def purge_batch(keep: int) -> int:
    """How far past ``keep`` an indicator may grow before it is purged.

    talipp purges by slicing its lists (O(n)) in Python loops over its series, so purging one entry
    per bar would cost O(window) per bar; purging a whole window's worth at once makes it O(1)
    amortised and rare (it was 2% of a backtest at a quarter window).
    """
    return max(64, keep)


def _bar(symbol: str, timeframe: Timeframe, row: Row | Bar) -> Bar:
    return row if isinstance(row, Bar) else Bar(symbol=symbol, timeframe=timeframe, **row._asdict())


def _row(bar: Bar) -> Row:
    return Row(bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.source, bar.ts_recv)


def _build(spec: IndicatorSpec) -> Indicator:
    from talipp.indicators import ATR, EMA, RSI, SMA, VWAP

    period = spec.period
    match spec.kind:
        case "ema":
            return EMA(period)
        case "sma":
            return SMA(period)
        case "rsi":
            return RSI(period)
        case "atr":
            return ATR(period)
        case "vwap":
            return VWAP()
    raise ValueError(f"unknown indicator kind {spec.kind!r}")


def _spec_to_dict(spec: IndicatorSpec) -> dict[str, Any]:
    return {"kind": spec.kind, "period": spec.period, "timeframe": spec.timeframe.label, "field": spec.field}


def _spec_from_dict(data: dict[str, Any]) -> IndicatorSpec:
    return IndicatorSpec(
        kind=data["kind"],
        period=data["period"],
        timeframe=Timeframe.parse(data["timeframe"]),
        field=data["field"],
    )


def _by_symbol_and_timeframe(item: tuple[tuple[str, Timeframe], list[Bar]]) -> tuple[str, int]:
    (symbol, tf), _ = item
    return symbol, tf.ns


@attrs.define(init=False, eq=False)
class IndicatorBank:
    """Indicators per symbol for fixed specs; symbols not given up front are added on their first bar.

    ``window`` is how many outputs per indicator stay readable through ``value_at`` (raised per
    indicator to its safe minimum); memory stays below about 2 x that many entries.
    """

    specs: tuple[IndicatorSpec, ...]
    window: int
    _by_key: dict[str, IndicatorSpec]
    _indicators: dict[str, dict[str, Indicator]]  #: symbol -> key -> indicator
    _routes: dict[tuple[str, Timeframe], tuple[_Route, ...]]
    _session: dict[str, tuple[Indicator, ...]]  #: symbol -> session-anchored indicators
    _pending: dict[tuple[str, Timeframe], list[Row | Bar]]  #: bars not fed to talipp yet (at most a batch)
    _timeframes: tuple[Timeframe, ...]  #: the timeframes some spec reads

    def __init__(
        self, specs: Iterable[IndicatorSpec], *, window: int = DEFAULT_WINDOW, symbols: Iterable[str] = ()
    ) -> None:
        if window < 1:
            raise ValueError(f"indicator window must be >= 1, got {window}")
        by_key: dict[str, IndicatorSpec] = {}
        for spec in specs:
            by_key.setdefault(spec.key, spec)
        self.specs = tuple(by_key.values())
        self._timeframes = tuple(sorted({spec.timeframe for spec in self.specs}))
        self.window = window
        self._by_key = by_key
        self._indicators = {}
        self._routes = {}
        self._session = {}
        self._pending = {}
        for symbol in symbols:
            self._add_symbol(symbol)

    def _add_symbol(self, symbol: str) -> dict[str, Indicator]:
        indicators = {spec.key: _build(spec) for spec in self.specs}
        routes: dict[Timeframe, list[_Route]] = {tf: [] for tf in Timeframe}
        for spec in self.specs:
            keep = max(self.window, min_history(spec))
            source = _BAR if spec.ohlcv else (_VOLUME if spec.field == "volume" else _CLOSE)
            indicator = indicators[spec.key]
            routes[spec.timeframe].append(
                (indicator, batch_adder(indicator), source, keep, keep + purge_batch(keep))
            )
        self._indicators[symbol] = indicators
        for tf, tf_routes in routes.items():
            self._routes[(symbol, tf)] = tuple(tf_routes)
        self._session[symbol] = tuple(indicators[s.key] for s in self.specs if s.kind == "vwap")
        return indicators

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols that have indicators (given up front or seen in a bar), in order of arrival."""
        return tuple(self._indicators)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._by_key)

    # -----------------------------------------------------------------------------------------
    # updates
    # -----------------------------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> None:
        """Take a closed bar for every indicator of its symbol and timeframe.

        Bars are fed to talipp in batches (one ``add(list)`` per indicator), at the latest when a
        value of the symbol is read or the bank is saved: talipp's per-call overhead is a large
        part of its cost, and a batch gives exactly the values of adding one bar at a time.
        """
        self.on_bars((bar,))

    def on_bars(self, bars: Iterable[Bar]) -> None:
        """:meth:`on_bar` of each bar in turn."""
        pending_by_key = self._pending
        for bar in bars:
            key = (bar.symbol, bar.timeframe)
            pending = pending_by_key.get(key)
            if pending is None:
                pending = self._pending_of(key)
            if pending is _UNUSED:
                continue
            pending.append(bar)  # (kept as it is: a step's bars are read by attribute, as Rows are)
            if len(pending) >= _BATCH:
                self._feed(key)

    def extend(self, symbol: str, timeframe: Timeframe, rows: Sequence[Row]) -> None:
        """:meth:`on_bars` of ``rows``, closed bars of one symbol and timeframe in time order, in
        one call (the backtest's catch-up), fed in the same batches as one by one."""
        if not rows:
            return
        key = (symbol, timeframe)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending_of(key)
        if pending is _UNUSED:
            return
        i, n = 0, len(rows)
        if n < _BATCH - len(pending):  # (the common case: no batch fills)
            pending.extend(rows)
            return
        while n - i >= _BATCH - len(pending):
            take = _BATCH - len(pending)
            pending.extend(rows[i : i + take])
            i += take
            self._feed(key)
        pending.extend(rows[i:])

    def extend_each(self, groups: Iterable[tuple[str, Timeframe, Sequence[Row]]]) -> None:
        """:meth:`extend` of each ``(symbol, timeframe, rows)`` in turn, in one call (a catch-up's
        bars of every symbol and timeframe)."""
        for symbol, timeframe, rows in groups:
            self.extend(symbol, timeframe, rows)

    def wants(self, timeframe: Timeframe) -> bool:
        """Whether some indicator reads bars of ``timeframe``."""
        return timeframe in self._timeframes

    def _pending_of(self, key: tuple[str, Timeframe]) -> list[Row | Bar]:
        if key not in self._routes:
            self._add_symbol(key[0])
        pending = self._pending[key] = [] if self._routes[key] else _UNUSED
        return pending

    def _feed(self, key: tuple[str, Timeframe]) -> None:
        """Feed the pending bars of ``key`` to its indicators, then purge what is past ``cap``."""
        bars = self._pending.get(key)
        if not bars:
            return
        for indicator, add, source, keep, cap in self._routes[key]:
            if source == _CLOSE:
                add([b.close for b in bars])
            elif source == _VOLUME:
                add([b.volume for b in bars])
            else:
                # The bars themselves: ATR and VWAP only read ``.open/.high/.low/.close/.volume``,
                # which a Bar has, and building a talipp ``OHLCV`` per bar cost more than the ATR.
                add(bars)  # (talipp copies the inputs into its own list)
            n = len(indicator.input_values)
            if n > cap:
                indicator.purge_oldest(n - keep)
        bars.clear()

    def _feed_symbol(self, symbol: str) -> None:
        pending = self._pending
        for tf in self._timeframes:  # (runs at every value read: most find nothing pending)
            if pending.get((symbol, tf)):
                self._feed((symbol, tf))

    def reset_session(self, symbol: str) -> None:
        """Restart session-anchored indicators (VWAP) of ``symbol``; called at each session open."""
        anchored = self._session.get(symbol, ())
        if anchored:
            self._feed_symbol(symbol)
            for indicator in anchored:
                indicator.remove_all()

    # -----------------------------------------------------------------------------------------
    # reads
    # -----------------------------------------------------------------------------------------

    def value(self, symbol: str, key: str) -> float | None:
        """Latest value of ``key`` for ``symbol``; ``None`` while warming up or before any bar."""
        return self.value_at(symbol, key, 0)

    def value_at(self, symbol: str, key: str, back: int) -> float | None:
        """The value ``back`` outputs ago (0 = latest, 1 = previous); ``None`` if not (or no longer) known.

        Outputs up to ``window - 1`` back are always kept. An unknown ``key`` raises ``KeyError``:
        asking for an indicator nobody declared is a bug, not a warm-up.
        """
        if back < 0:
            raise ValueError(f"back must be >= 0, got {back}")
        self._feed_symbol(symbol)
        per_symbol = self._indicators.get(symbol)
        if per_symbol is None:
            if key not in self._by_key:
                raise KeyError(f"no indicator {key!r} in the bank (have {', '.join(self._by_key)})")
            return None
        indicator = per_symbol.get(key)
        if indicator is None:
            raise KeyError(f"no indicator {key!r} in the bank (have {', '.join(self._by_key)})")
        out = indicator.output_values
        if back >= len(out):
            return None
        result: float | None = out[-1 - back]
        return result

    def history_len(self, symbol: str, key: str) -> int:
        """How many inputs the indicator currently keeps (for tests and memory checks)."""
        self._feed_symbol(symbol)
        return len(self._indicators[symbol][key].input_values)

    # -----------------------------------------------------------------------------------------
    # persistence
    # -----------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """JSON-safe copy of everything, talipp internals and bars not fed yet included; see :meth:`restore`.

        No side effect: the pending bars are saved as they are, not fed first.
        """
        return {
            "window": self.window,
            "specs": [_spec_to_dict(spec) for spec in self.specs],
            "symbols": {
                symbol: {key: dump_indicator(ind) for key, ind in indicators.items()}
                for symbol, indicators in self._indicators.items()
            },
            "pending": [
                [symbol, tf.label, [unstructure(_bar(symbol, tf, row)) for row in bars]]
                for (symbol, tf), bars in sorted(
                    self._pending.items(), key=lambda item: (item[0][0], item[0][1].ns)
                )
                if bars
            ],
        }

    @classmethod
    def restore(cls, data: dict[str, Any]) -> IndicatorBank:
        """The bank a :meth:`snapshot` was taken of, internals copied so it continues bit for bit."""
        specs = [_spec_from_dict(s) for s in data["specs"]]
        symbols: dict[str, dict[str, Any]] = data["symbols"]
        bank = cls(specs, window=data["window"], symbols=symbols)
        for symbol, per_key in symbols.items():
            indicators = bank._indicators[symbol]
            if set(per_key) != set(indicators):
                raise ValueError(
                    f"indicator snapshot of {symbol}: keys {sorted(per_key)}, expected {sorted(indicators)}"
                )
            for key, ind_data in per_key.items():
                load_indicator(indicators[key], ind_data)
        for symbol, label, bars in data["pending"]:
            bank._pending[(symbol, Timeframe.parse(label))] = [_row(structure(bar, Bar)) for bar in bars]
        return bank

    def __eq__(self, other: object) -> bool:
        """Equal specs, window and internal lists (talipp indicators compare by identity)."""
        if not isinstance(other, IndicatorBank):
            return NotImplemented
        return self.snapshot() == other.snapshot()

    __hash__ = None  # type: ignore[assignment]
