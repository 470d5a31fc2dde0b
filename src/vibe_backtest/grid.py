"""The market as one grid: a row per instant (a bar open time of any symbol), a column per symbol.

What the skipping loop (:func:`vibe_backtest.loop.run_market`) reads: the bars of an instant as a
row, the rows that can be skipped (:attr:`Grid.ok`), and column slices for the core's bulk
catch-up. Built once per run from the symbols' :class:`~vibe_backtest.data.BarSeries` with numpy;
a missing bar is NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from vibe_core.bars import checked_bar
from vibe_core.calendar import SessionTable
from vibe_core.events import Bar
from vibe_core.types import Timeframe

if TYPE_CHECKING:
    from vibe_backtest.data import BarSeries

__all__ = ["Grid"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@attrs.define(eq=False)
class Grid:
    """Columns ``open .. volume`` are ``instants x symbols``; ``present`` marks the bars that exist."""

    symbols: tuple[str, ...]
    sources: tuple[str, ...]
    timeframe: Timeframe
    ts: I64  #: the instants, ascending
    columns: tuple[F64, F64, F64, F64, F64]  #: open, high, low, close, volume
    present: npt.NDArray[np.bool_]
    #: row r has every symbol's bar, follows row r - 1 (complete too) by one bar in the same session,
    #: and lies on its session's grid: a row the core may skip
    ok: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, market: Mapping[str, BarSeries], sessions: SessionTable) -> Grid | None:
        """The grid of ``market`` (symbols in its order); ``None`` when it cannot be one: timeframes
        differ, or a symbol's times are not strictly increasing."""
        items = [s for s in market.values() if len(s)]
        if not items or len({s.timeframe for s in items}) != 1:
            return None
        if any(bool((np.diff(s.ts) <= 0).any()) for s in items):
            return None
        first = items[0].ts
        if all(np.array_equal(s.ts, first) for s in items[1:]):  # (the common case: one clock)
            ts = np.array(first)
            places = [np.arange(len(first))] * len(items)
        else:
            ts, inverse = np.unique(np.concatenate([s.ts for s in items]), return_inverse=True)
            places = np.split(inverse.ravel(), np.cumsum([len(s) for s in items])[:-1])
        rows, width = len(ts), len(items)
        present = np.zeros((rows, width), dtype=bool)
        columns = tuple(np.full((rows, width), np.nan) for _ in range(5))
        for k, series in enumerate(items):
            at = places[k]
            present[at, k] = True
            for column, values in zip(
                columns, (series.open, series.high, series.low, series.close, series.volume), strict=True
            ):
                column[at, k] = values
        timeframe = items[0].timeframe
        opens = np.array([s.open for s in sessions.sessions], dtype=np.int64)
        closes = np.array([s.close for s in sessions.sessions], dtype=np.int64)
        index = np.searchsorted(opens, ts, side="right") - 1
        inside = (index >= 0) & (ts < closes[np.maximum(index, 0)])
        aligned: npt.NDArray[np.bool_] = inside & ((ts - opens[np.maximum(index, 0)]) % timeframe.ns == 0)
        complete = np.all(present, axis=1)
        ok = np.zeros(rows, dtype=bool)
        ok[1:] = (
            complete[1:]
            & complete[:-1]
            & aligned[1:]
            & (np.diff(ts) == timeframe.ns)
            & (index[1:] == index[:-1])
        )
        return cls(
            symbols=tuple(s.symbol for s in items),
            sources=tuple(s.source for s in items),
            timeframe=timeframe,
            ts=ts,
            columns=columns,  # type: ignore[arg-type]
            present=present,
            ok=ok,
        )

    def __len__(self) -> int:
        return len(self.ts)

    def bars(self, row: int) -> list[Bar]:
        """The bars of one instant, in the symbols' order (as ``iter_bars`` merges them)."""
        t = int(self.ts[row])
        tf = self.timeframe
        values = zip(*(column[row].tolist() for column in self.columns), strict=True)
        here = self.present[row].tolist()
        return [
            checked_bar(s, tf, t, o, h, lo, c, v, src)  # (BarSeries columns are checked at load)
            for s, src, (o, h, lo, c, v), has in zip(self.symbols, self.sources, values, here, strict=True)
            if has
        ]

    def rows(self, lo: int, hi: int) -> tuple[I64, tuple[F64, F64, F64, F64, F64]]:
        """Instants ``lo..hi-1`` and their columns (views)."""
        return self.ts[lo:hi], tuple(column[lo:hi] for column in self.columns)  # type: ignore[return-value]
