"""Indicator specifications: what to compute, on which bars, under which stable key.

State: none: frozen values (:class:`IndicatorSpec`) and the known kinds and fields.
Consumes: spec fields, or a key to parse (``ema20@15m``).
Emits: specs with a stable ``key``; ``min_history`` (the bars a spec needs before it has a value).
Invariants: ``IndicatorSpec.parse(spec.key)`` has the same key as ``spec``; a spec's kind, period
and field are checked where it is built (vwap takes no period, RSI needs at least 2).

A spec is a value (``ema20@15m``); the bank builds one talipp indicator per spec and symbol. Keys
are what config, strategies and validation rules use to ask for values.
"""

from __future__ import annotations

import re
from typing import Final

import attrs

from vibe_core.types import Timeframe

__all__ = ["IndicatorSpec", "KINDS", "OHLCV_KINDS", "FIELDS", "min_history"]

KINDS: Final = ("ema", "sma", "atr", "rsi", "vwap")
OHLCV_KINDS: Final = frozenset({"atr", "vwap"})  #: fed whole bars; ``field`` does not apply
FIELDS: Final = ("close", "volume")

_KEY = re.compile(r"^(?P<kind>[a-z]+)(?P<period>\d+)?(?:\.(?P<field>[a-z]+))?@(?P<tf>\w+)$")


def _check_period(inst: IndicatorSpec, _attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if inst.kind == "vwap":
        if value is not None:
            raise ValueError(f"vwap takes no period, got {value!r}")
        return
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{inst.kind} needs an integer period, got {value!r}")
    # RSI seeds its averages from period - 1 changes, so it needs at least 2.
    low = 2 if inst.kind == "rsi" else 1
    if value < low:
        raise ValueError(f"{inst.kind} period must be >= {low}, got {value}")


@attrs.frozen(kw_only=True)
class IndicatorSpec:
    """One indicator on one timeframe: ``kind`` with ``period`` over ``field`` of each bar.

    ``field`` picks the input of float indicators (EMA, SMA, RSI); ATR and VWAP read the whole
    bar and ignore it (it is left out of their key).
    """

    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    period: int | None = attrs.field(default=None, validator=_check_period)
    timeframe: Timeframe = attrs.field(validator=attrs.validators.instance_of(Timeframe))
    field: str = attrs.field(default="close", validator=attrs.validators.in_(FIELDS))
    #: stable name: ``ema20@15m``, ``sma20.volume@5m``, ``atr14@5m``, ``vwap@5m`` (made once: rules
    #: look values up by it for every signal)
    key: str = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        period = "" if self.period is None else str(self.period)
        field = f".{self.field}" if self.field != "close" and not self.ohlcv else ""
        object.__setattr__(self, "key", f"{self.kind}{period}{field}@{self.timeframe.label}")

    @property
    def ohlcv(self) -> bool:
        """True when the indicator is fed whole bars (talipp ``OHLCV``) rather than one float."""
        return self.kind in OHLCV_KINDS

    @classmethod
    def parse(cls, text: str) -> IndicatorSpec:
        """``"sma20.volume@5m"`` -> spec; raises ``ValueError`` naming the text."""
        match = _KEY.match(text.strip())
        if match is None:
            raise ValueError(f"bad indicator key {text!r}; expected like 'ema20@15m' or 'sma20.volume@5m'")
        try:
            period = match["period"]
            return cls(
                kind=match["kind"],
                period=None if period is None else int(period),
                timeframe=Timeframe.parse(match["tf"]),
                field=match["field"] or "close",
            )
        except ValueError as exc:
            raise ValueError(f"bad indicator key {text!r}: {exc}") from None


def min_history(spec: IndicatorSpec) -> int:
    """Fewest inputs the bank may keep after a purge without changing any later value.

    talipp decides "seed now" from the length of its input list (EMA and ATR re-seed when it
    equals the period, RSI when it equals period + 1) and RSI purges its averages in step with
    its inputs although they are ``period`` entries shorter, so a history cut near the period
    silently changes the results. Twice the period plus two stays clear of both.
    """
    return 2 if spec.period is None else 2 * spec.period + 2
