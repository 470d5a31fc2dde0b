"""The simulated venue's settings: the fill-model numbers, their named presets and the section.

State: none: frozen values (:class:`FillModel`, :data:`PRESETS`, :class:`ExchangeConfig`).
Consumes: the ``exchange`` section of the configuration.
Emits: the :class:`FillModel` a run uses (:meth:`ExchangeConfig.fill_model`).
Invariants: every key of :class:`FillModel` is an optional override in :class:`ExchangeConfig`;
a fill model's ``fill_delay_ms_max >= fill_delay_ms_min``; ``preset`` names one of :data:`PRESETS`.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from vibe_core.config.fields import ConfigError, fraction, non_negative, one_of

__all__ = ["FillModel", "PRESETS", "ExchangeConfig"]


@attrs.frozen(kw_only=True)
class FillModel:
    """Concrete fill-model numbers after the preset is applied (see :data:`PRESETS`)."""

    section: ClassVar[str] = "exchange."

    slippage_base_pct: float = 0.0
    slippage_volatility: float = 0.0
    slippage_size: float = 0.0
    partial_fills: bool = False
    partial_probability: float = 0.0
    max_participation: float = 1.0
    fill_delay_ms_min: int = 0
    fill_delay_ms_max: int = 0
    fee_per_share: float = 0.0
    fee_min: float = 0.0


PRESETS: dict[str, FillModel] = {
    "optimistic": FillModel(),
    "base": FillModel(
        slippage_base_pct=0.0002,
        slippage_volatility=0.05,
        slippage_size=0.1,
        partial_fills=True,
        partial_probability=0.2,
        max_participation=0.1,
    ),
    "pessimistic": FillModel(
        slippage_base_pct=0.0005,
        slippage_volatility=0.1,
        slippage_size=0.2,
        partial_fills=True,
        partial_probability=0.5,
        max_participation=0.05,
        fill_delay_ms_min=500,
        fill_delay_ms_max=2000,
        fee_per_share=0.005,
        fee_min=1.0,
    ),
}


@attrs.frozen(kw_only=True)
class ExchangeConfig:
    """The simulated venue: a preset plus explicit overrides (``None`` = take the preset's)."""

    section: ClassVar[str] = "exchange."

    preset: str = attrs.field(default="base", validator=one_of(*PRESETS))
    slippage_base_pct: float | None = attrs.field(default=None, validator=non_negative)
    slippage_volatility: float | None = attrs.field(default=None, validator=non_negative)
    slippage_size: float | None = attrs.field(default=None, validator=non_negative)
    partial_fills: bool | None = None
    partial_probability: float | None = attrs.field(default=None, validator=fraction)
    max_participation: float | None = attrs.field(default=None, validator=fraction)
    fill_delay_ms_min: int | None = attrs.field(default=None, validator=non_negative)
    fill_delay_ms_max: int | None = attrs.field(default=None, validator=non_negative)
    fee_per_share: float | None = attrs.field(default=None, validator=non_negative)
    fee_min: float | None = attrs.field(default=None, validator=non_negative)

    def fill_model(self) -> FillModel:
        """The preset with every explicitly set key applied on top."""
        base = PRESETS[self.preset]
        changes = {
            f.name: getattr(self, f.name)
            for f in attrs.fields(ExchangeConfig)
            if f.name != "preset" and getattr(self, f.name) is not None
        }
        model = attrs.evolve(base, **changes)
        if model.fill_delay_ms_max < model.fill_delay_ms_min:
            raise ConfigError("exchange.fill_delay_ms_max must be >= exchange.fill_delay_ms_min")
        return model


for _cls in (FillModel, ExchangeConfig):
    attrs.resolve_types(_cls)
