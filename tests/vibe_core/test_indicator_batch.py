"""Batch adders: SMA, EMA and ATR fed in batches equal talipp's own ``add``, bit for bit."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from talipp.indicators import ATR, EMA, RSI, SMA, VWAP
from talipp.indicators.Indicator import Indicator
from talipp.ohlcv import OHLCV

from vibe_core.indicators.batch import batch_adder

prices = st.floats(1.0, 1000.0, allow_nan=False, allow_infinity=False)
volumes = st.floats(0.0, 1e7, allow_nan=False, allow_infinity=False)


@st.composite
def ohlcv_inputs(draw: st.DrawFn) -> OHLCV:
    a, b, c, d = (draw(prices) for _ in range(4))
    low, high = min(a, b, c, d), max(a, b, c, d)
    return OHLCV(a, high, low, d, draw(volumes))


def cuts(draw: st.DrawFn, n: int) -> list[int]:
    """Random batch boundaries over ``n`` inputs."""
    return sorted(set(draw(st.lists(st.integers(0, n), max_size=12))) | {0, n})


def state(ind: Indicator) -> tuple[Any, ...]:
    return (ind.input_values, ind.output_values, [list(m) for m in ind.managed_sequences])


def make(kind: str, period: int) -> Indicator:
    return {"sma": SMA, "ema": EMA, "atr": ATR}[kind](period)


@given(
    kind=st.sampled_from(["sma", "ema", "atr"]),
    period=st.integers(1, 30),
    data=st.data(),
)
@settings(max_examples=300, deadline=None)
def test_batches_equal_talipp_one_value_at_a_time(kind: str, period: int, data: st.DataObject) -> None:
    values = data.draw(st.lists(ohlcv_inputs() if kind == "atr" else prices, max_size=120))
    reference = make(kind, period)
    for v in values:
        reference.add(v)

    batched = make(kind, period)
    add = batch_adder(batched)
    bounds = cuts(data.draw, len(values))
    purge_at = data.draw(st.integers(0, len(bounds)))
    for k, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        add(values[lo:hi])
        if k == purge_at:  # a purge in between (as the bank does) keeps later values exact
            extra = len(batched.input_values) - (2 * period + 2)
            if extra > 0:
                batched.purge_oldest(extra)
    n = len(batched.input_values)
    assert batched.output_values == reference.output_values[len(reference.output_values) - n :]
    assert batched.input_values == reference.input_values[len(reference.input_values) - n :]
    if kind == "atr":
        assert batched.tr == reference.tr[len(reference.tr) - len(batched.tr) :]


@pytest.mark.parametrize("kind", ["sma", "ema", "atr"])
def test_warm_up_then_steady_state_in_one_batch(kind: str) -> None:
    values: list[Any] = [1.0 * i for i in range(10)]
    if kind == "atr":
        values = [OHLCV(10 + i, 11 + i, 9 + i, 10.5 + i, 100) for i in range(10)]
    ref, batched = make(kind, 4), make(kind, 4)
    for v in values:
        ref.add(v)
    batch_adder(batched)(values)
    assert state(batched) == state(ref)
    assert batched.output_values[:3] == [None, None, None]


def test_other_indicators_keep_talipps_add() -> None:
    for ind in (RSI(14), VWAP(), SMA(5, input_modifier=abs)):
        assert batch_adder(ind) == ind.add
    listened = SMA(5)
    listened.add_output_listener(EMA(3))
    assert batch_adder(listened) == listened.add
