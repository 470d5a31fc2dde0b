"""Hypothesis strategies for indicator specs and valid configurations.

State: none: functions returning hypothesis strategies.
Consumes: hypothesis draws.
Emits: :class:`~vibe_core.indicators.IndicatorSpec` s, config sections and whole :class:`Config` s.
Invariants: every config drawn passes every validator (fill delays ordered, ranges respected).
"""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from vibe_core.config import (
    PRESETS,
    Config,
    ExchangeConfig,
    FeedConfig,
    RiskConfig,
    StrategyConfig,
    ValidationConfig,
)
from vibe_core.indicators import KINDS, IndicatorSpec
from vibe_core.strategy.orb import OrbConfig
from vibe_core.testing.strategies.values import timeframes

__all__ = [
    "indicator_specs",
    "strategy_configs",
    "validation_configs",
    "risk_configs",
    "exchange_configs",
    "feed_configs",
    "configs",
]

# ---------------------------------------------------------------------------------------------
# indicator specs and configuration
# ---------------------------------------------------------------------------------------------


@st.composite
def indicator_specs(draw: st.DrawFn, kinds: tuple[str, ...] = KINDS) -> IndicatorSpec:
    kind = draw(st.sampled_from(kinds))
    period = None if kind == "vwap" else draw(st.integers(min_value=2, max_value=50))
    return IndicatorSpec(
        kind=kind,
        period=period,
        timeframe=draw(timeframes()),
        field=draw(st.sampled_from(("close", "volume"))) if kind in ("ema", "sma", "rsi") else "close",
    )


def _fraction() -> st.SearchStrategy[float]:
    return st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def _positive(limit: float = 100.0) -> st.SearchStrategy[float]:
    return st.floats(min_value=1e-6, max_value=limit, allow_nan=False)


def _hhmm() -> st.SearchStrategy[str]:
    return st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


def strategy_configs() -> st.SearchStrategy[StrategyConfig]:
    return st.builds(
        OrbConfig,
        opening_range_minutes=st.integers(1, 120),
        last_entry_time=_hhmm(),
        flatten_minutes_before_close=st.integers(0, 60),
        reward_risk=_positive(10.0),
        max_trades_per_day=st.integers(0, 10),
        allow_short=st.booleans(),
        stop_type=st.sampled_from(("range", "atr", "percent")),
        atr_period=st.integers(1, 50),
        atr_multiplier=_positive(10.0),
        stop_percent=_positive(0.5),
    )


def validation_configs() -> st.SearchStrategy[ValidationConfig]:
    return st.builds(
        ValidationConfig.of,
        enabled=st.booleans(),
        trend=st.booleans(),
        volume=st.booleans(),
        support_resistance=st.booleans(),
        ema_period=st.integers(1, 200),
        volume_multiplier=st.floats(0.0, 10.0, allow_nan=False),
        volume_sma_period=st.integers(1, 200),
        sr_atr_multiple=st.floats(0.0, 10.0, allow_nan=False),
        sr_atr_period=st.integers(1, 50),
        sr_atr_timeframe=st.sampled_from(["5m", "15m", "1h"]),
        swing_strength=st.integers(1, 10),
        swing_lookback_bars=st.integers(1, 500),
    )


def risk_configs() -> st.SearchStrategy[RiskConfig]:
    return st.builds(
        RiskConfig,
        risk_per_trade_pct=_fraction(),
        max_position_pct=_positive(5.0),
        max_open_positions=st.integers(0, 50),
        max_gross_exposure_pct=_positive(5.0),
        daily_loss_halt_pct=_fraction(),
        flatten_on_halt=st.booleans(),
        allow_margin=st.booleans(),
    )


@st.composite
def exchange_configs(draw: st.DrawFn) -> ExchangeConfig:
    """A preset with some keys overridden (``None`` = keep the preset's), delays ordered."""

    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(st.none() | strategy)

    delay_min = maybe(st.integers(0, 5_000))
    delay_max = None if delay_min is None else draw(st.none() | st.integers(delay_min, 10_000))
    return ExchangeConfig(
        preset=draw(st.sampled_from(tuple(PRESETS))),
        slippage_base_pct=maybe(st.floats(0.0, 0.01, allow_nan=False)),
        slippage_volatility=maybe(st.floats(0.0, 1.0, allow_nan=False)),
        slippage_size=maybe(st.floats(0.0, 1.0, allow_nan=False)),
        partial_fills=maybe(st.booleans()),
        partial_probability=maybe(_fraction()),
        max_participation=maybe(_fraction()),
        fill_delay_ms_min=delay_min,
        fill_delay_ms_max=delay_max,
        fee_per_share=maybe(st.floats(0.0, 0.1, allow_nan=False)),
        fee_min=maybe(st.floats(0.0, 10.0, allow_nan=False)),
    )


def feed_configs() -> st.SearchStrategy[FeedConfig]:
    return st.builds(FeedConfig, stale_seconds=_positive(3_600.0))


def configs() -> st.SearchStrategy[Config]:
    """Valid configurations (every validator passes)."""
    return st.builds(
        Config,
        symbols=st.lists(st.text(string.ascii_uppercase, min_size=1, max_size=5), min_size=1, max_size=6).map(
            tuple
        ),
        initial_capital=_positive(1e8),
        seed=st.integers(0, 2**63 - 1),
        indicator_window=st.integers(1, 100_000),
        strategy=strategy_configs(),
        validation=validation_configs(),
        risk=risk_configs(),
        exchange=exchange_configs(),
        feed=feed_configs(),
    )
