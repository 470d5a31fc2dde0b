"""``Quiet.extent`` over a :class:`Lookahead` finds the same row as the rule it states, row by row.

The backtest's skipping loop asks ``extent`` which rows after the last step can be skipped; its
numpy form compares every row's levels with the band's thresholds at once. Here a plain loop
written from the rule (a row wakes the engine when its bar reaches a symbol's order band, the
close before it leaves the strategy's band, equity at that close reaches the halt floor, or it is
a gap) is the reference, on coarse price grids so that exact touches are common.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core.engine.skip import Lookahead, Quiet

STEP = 300 * 10**9
INF = float("inf")


def reference(
    q: Quiet,
    ts: list[int],
    high: npt.NDArray[np.float64],
    low: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    ok: list[bool],
    row: int,
    bound: int,
) -> tuple[int, list[bool] | None]:
    if bound - row < 2 or ts[row] + STEP <= q.after:
        return 1, None
    for r in range(row + 1, bound):
        before = r - 1
        equity = q.cash
        for column, qty in q.positions:
            equity += qty * float(close[before, column])
        if q.floor is not None and equity <= q.floor:
            return r - row, None  # (the close before wakes every symbol: the halt)
        if not ok[r]:
            return r - row, None
        width = len(q.low)
        matched = [low[r, i] <= q.low[i] or high[r, i] >= q.high[i] for i in range(width)]
        closing = [
            close[before, i] < q.close_low[i] or close[before, i] > q.close_high[i] for i in range(width)
        ]
        if any(matched) or any(closing):
            return r - row, [m or c for m, c in zip(matched, closing, strict=True)]
    return bound - row, None


prices = st.integers(97, 103).map(float)


def band(lo: int, hi: int, edge: float) -> st.SearchStrategy[float]:
    """A band's edge: mostly on the price grid (exact touches), sometimes open (or shut: ``-edge``)."""
    return st.one_of(st.integers(lo, hi).map(float), st.just(edge), st.just(-edge))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Quiet, dict[str, object], int, int]:
    width = draw(st.integers(1, 3))
    rows = draw(st.integers(2, 14))
    close = np.array([[draw(prices) for _ in range(width)] for _ in range(rows)])
    high = close + np.array([[draw(st.integers(0, 3)) for _ in range(width)] for _ in range(rows)])
    low = close - np.array([[draw(st.integers(0, 3)) for _ in range(width)] for _ in range(rows)])
    ok = [draw(st.integers(0, 9)) > 0 for _ in range(rows)]  # (mostly complete)
    ts = [10**18 + i * STEP for i in range(rows)]
    positions = tuple(
        (column, draw(st.integers(-30, 30)))
        for column in draw(st.lists(st.integers(0, width - 1), unique=True, max_size=width))
    )
    cash = float(draw(st.integers(-2000, 4000)))
    floor = draw(st.one_of(st.none(), st.none(), st.integers(-1000, 4000).map(float)))
    q = Quiet(
        wake=1 << 62,
        low=[draw(band(92, 99, -INF)) for _ in range(width)],
        high=[draw(band(101, 108, INF)) for _ in range(width)],
        expires=1 << 62,
        close_low=[draw(band(96, 100, -INF)) for _ in range(width)],
        close_high=[draw(band(100, 104, INF)) for _ in range(width)],
        after=ts[0] + draw(st.integers(-2, 2)) * STEP,
        until=1 << 62,
        floor=floor,
        cash=cash,
        positions=positions,
    )
    row = draw(st.integers(0, rows - 1))
    bound = draw(st.integers(row, rows))
    market = {"ts": ts, "high": high, "low": low, "close": close, "ok": ok}
    return q, market, row, bound


@settings(max_examples=400, deadline=None)
@given(cases(), st.sampled_from([2, 3, 64]))
def test_extent_is_the_rule_row_by_row(case: tuple[Quiet, dict[str, object], int, int], block: int) -> None:
    q, m, row, bound = case
    ts, high, low, close, ok = m["ts"], m["high"], m["low"], m["close"], m["ok"]
    assert isinstance(ts, list) and isinstance(ok, list)
    assert isinstance(high, np.ndarray) and isinstance(low, np.ndarray) and isinstance(close, np.ndarray)
    look = Lookahead(np.array(ts, dtype=np.int64), high, low, close, np.array(ok), window=len(ts))
    look._BLOCK = block  # (small blocks: levels rebuilt across block boundaries, as on long markets)
    first, loud = q.extent(look, row, bound)
    want_first, want_loud = reference(q, ts, high, low, close, ok, row, bound)
    assert first == want_first
    assert (None if loud is None else loud.tolist()) == want_loud


def test_a_close_on_the_band_edge_is_quiet_and_one_past_it_wakes() -> None:
    ts = np.array([10**18 + i * STEP for i in range(4)], dtype=np.int64)
    close = np.array([[100.0], [100.0], [np.nextafter(100.0, INF)], [100.0]])
    look = Lookahead(ts, close + 1, close - 1, close, np.ones(4, dtype=bool), window=4)
    q = Quiet(
        wake=1 << 62, low=[-INF], high=[INF], expires=1 << 62, close_low=[99.0], close_high=[100.0],
        after=0, until=1 << 62, floor=None, cash=0.0, positions=(),
    )  # fmt: skip
    first, loud = q.extent(look, 0, 4)
    assert first == 3  # (row 2's close is past the band: row 3, the step after it, wakes)
    assert loud is not None and loud.tolist() == [True]
