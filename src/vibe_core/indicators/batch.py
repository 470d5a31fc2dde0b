"""Whole batches into talipp's SMA, EMA and ATR, in one loop each, with talipp's own arithmetic.

State: none of its own: it appends to the lists of the talipp indicator it is given.
Consumes: a talipp indicator and a batch of inputs (floats, or bars for ATR).
Emits: nothing; the indicator's ``input_values``/``output_values`` (and ATR's ``tr``) grow.
Invariants: after a batch, the indicator's lists are bit for bit those that ``add`` one value at
a time would leave.

talipp's generic ``Indicator.add`` costs about 5,000 machine instructions per value (per value it
loops over sub-indicators and listeners, calls ``_calculate_new_value``, which calls
``has_valid_values``, and appends through a method), which made the indicator bank a third of
the engine's cost per bar. Once an SMA, EMA or ATR is past its warm-up, each new output is one line
of arithmetic on the previous output: here that line runs in a loop over the batch, written
exactly as talipp writes it (same operands, same order), so every value is bit for bit what
``add`` gives (``tests/vibe_core/test_indicator_batch.py`` checks it against talipp itself).

The warm-up, and any indicator with an input modifier, sampler, sub-indicator or listener, goes
through talipp's ``add`` unchanged. The indicator keeps its state in its own lists, so talipp's
purge, snapshot and reads work on it as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # (talipp is imported with the first indicator built: a run with none never pays for it)
    from talipp.indicators import ATR, EMA, SMA
    from talipp.indicators.Indicator import Indicator

__all__ = ["batch_adder"]

Adder = Callable[[list[Any]], None]


def _sma(ind: SMA, values: list[float]) -> None:
    # talipp: output[-1] - (input[-period - 1] - input[-1]) / float(period)
    inp, out = ind.input_values, ind.output_values
    p = ind.period
    fp = float(p)
    last = out[-1]
    i = len(inp)
    inp.extend(values)
    for x in values:
        last = last - (inp[i - p] - x) / fp
        out.append(last)
        i += 1


def _ema(ind: EMA, values: list[float]) -> None:
    # talipp: float(mult * input[-1] + (1.0 - mult) * output[-1]), mult = 2.0 / (period + 1.0)
    out = ind.output_values
    mult = 2.0 / (ind.period + 1.0)
    keep = 1.0 - mult
    last = out[-1]
    ind.input_values.extend(values)
    for x in values:
        last = float(mult * x + keep * last)
        out.append(last)


def _atr(ind: ATR, bars: list[Any]) -> None:
    # talipp: tr = max(high - low, |high - prev close|, |low - prev close|);
    #         output = (output[-1] * (period - 1) + tr) / period
    inp, out, tr = ind.input_values, ind.output_values, ind.tr
    p = ind.period
    p1 = p - 1
    last = out[-1]
    close2 = inp[-1].close
    inp.extend(bars)
    for b in bars:
        high, low = b.high, b.low
        t = max(high - low, abs(high - close2), abs(low - close2))
        tr.append(t)
        last = (last * p1 + t) / p
        out.append(last)
        close2 = b.close


def batch_adder(indicator: Indicator) -> Adder:
    """A function adding a list of inputs to ``indicator``, equal in effect to ``indicator.add``."""
    from talipp.indicators import ATR, EMA, SMA

    fast: Callable[[Any, list[Any]], None] | None = {SMA: _sma, EMA: _ema, ATR: _atr}.get(type(indicator))
    if (
        fast is None
        or indicator.input_modifier is not None
        or indicator.input_sampler is not None
        or indicator.sub_indicators
        or indicator.output_listeners
    ):
        generic: Adder = indicator.add
        return generic
    period: int = indicator.period
    add: Adder = indicator.add

    def add_batch(values: list[Any]) -> None:
        # talipp computes the first output (a plain mean) when it holds ``period`` inputs; from
        # the next input on, each output follows from the previous one
        warm = period - len(indicator.input_values)
        if warm > 0:
            add(values[:warm])
            values = values[warm:]
            if not values:
                return
        fast(indicator, values)

    return add_batch
