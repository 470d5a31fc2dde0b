"""Exact, JSON-safe copies of talipp indicator internals.

talipp keeps its whole state in plain lists: ``input_values``, ``output_values``, the "managed
sequences" it trims in step with the inputs (ATR's true ranges, RSI's average gain and loss,
VWAP's running sums) and sub-indicators. Copying those lists, recursively, restores an indicator
bit for bit. Re-feeding a window to a fresh indicator would not: it seeds again from the first
inputs it sees and drifts from the original.

State: none: pure functions of a talipp indicator's lists.
Consumes: an indicator (:func:`dump_indicator`); a fresh indicator and a dump (:func:`load_indicator`).
Emits: JSON-safe data; an indicator overwritten in place.
Invariants: ``load_indicator(fresh, dump_indicator(ind))`` leaves ``fresh`` with the same lists
as ``ind`` (floats survive ``json.dumps``/``loads`` unchanged; an ``OHLCV`` or ``Bar`` input becomes a
5-list and comes back as an ``OHLCV``, which the indicators read the same way).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from vibe_core.events import Bar
from vibe_core.indicators.rows import Row

if TYPE_CHECKING:  # (talipp is imported with the first indicator built: see the functions below)
    from talipp.indicators.Indicator import Indicator

__all__ = ["dump_indicator", "load_indicator"]


def _encode(value: Any, OHLCV: type[Any]) -> Any:  # (OHLCV: talipp's class, imported by the caller)
    if isinstance(value, (Bar, Row)):  # the bank feeds ATR and VWAP closed bars as they are
        return [value.open, value.high, value.low, value.close, value.volume]
    if isinstance(value, OHLCV):
        if value.time is not None:
            raise ValueError("OHLCV inputs carry no time in the bank")
        return [value.open, value.high, value.low, value.close, value.volume]
    return value


def _decode(value: Any, OHLCV: type[Any]) -> Any:
    if isinstance(value, list):
        if len(value) != 5:
            raise ValueError(f"an OHLCV input is a list of 5 numbers, got {value!r}")
        return OHLCV(value[0], value[1], value[2], value[3], value[4])
    return value


def _encode_all(values: Iterable[Any]) -> list[Any]:
    from talipp.ohlcv import OHLCV

    return [_encode(v, OHLCV) for v in values]


def _decode_all(values: Iterable[Any]) -> list[Any]:
    from talipp.ohlcv import OHLCV

    return [_decode(v, OHLCV) for v in values]


def dump_indicator(indicator: Indicator) -> dict[str, Any]:
    """The indicator's lists (and its sub-indicators', recursively) as JSON-safe data."""
    from talipp.indicators.Indicator import Indicator

    if indicator.output_listeners or indicator.input_sampler is not None:
        raise ValueError("indicators with output listeners or input sampling are not snapshotted")
    return {
        "input": _encode_all(indicator.input_values),
        "output": _encode_all(indicator.output_values),
        "managed": [
            dump_indicator(seq) if isinstance(seq, Indicator) else _encode_all(seq)
            for seq in indicator.managed_sequences
        ],
        "sub": [dump_indicator(sub) for sub in indicator.sub_indicators],
    }


def load_indicator(indicator: Indicator, data: dict[str, Any]) -> None:
    """Overwrite a freshly built indicator of the same kind and period with ``data``.

    Managed lists are refilled in place: the indicator reads them through attributes (``self.tr``)
    that must stay the very objects listed in ``managed_sequences``.
    """
    from talipp.indicators.Indicator import Indicator

    managed, subs = data["managed"], data["sub"]
    if len(managed) != len(indicator.managed_sequences) or len(subs) != len(indicator.sub_indicators):
        raise ValueError(f"snapshot does not fit {type(indicator).__name__}: wrong number of internal series")
    indicator.input_values = _decode_all(data["input"])
    indicator.output_values = _decode_all(data["output"])
    for seq, seq_data in zip(indicator.managed_sequences, managed, strict=True):
        if isinstance(seq, Indicator):
            load_indicator(seq, seq_data)
        else:
            seq[:] = _decode_all(seq_data)
    for sub, sub_data in zip(indicator.sub_indicators, subs, strict=True):
        load_indicator(sub, sub_data)
