"""Validation rules: each vetoes or passes, and its reason says why with the numbers.

Indicator values come from a real bank fed constant or steadily moving bars, so the direction of
every comparison is known without reproducing talipp's arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs
import pytest

from vibe_core.config import ConfigError, RuleConfig, ValidationConfig, config_from_dict
from vibe_core.events import Bar
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.models import Signal
from vibe_core.types import Side, Timeframe
from vibe_core.validation import (
    RuleContext,
    SupportResistance,
    SupportResistanceConfig,
    TrendAlignment,
    TrendConfig,
    Validator,
    VolumeConfig,
    VolumeConfirmation,
    register_rule,
)
from vibe_core.validation import registry as rule_registry
from vibe_core.validation.rules import Swings

T0 = 1_714_570_200_000_000_000  # 2024-05-01 09:30 New York


def bars(tf: Timeframe, closes: Sequence[float], *, spread: float = 1.0, volume: float = 1000.0) -> list[Bar]:
    return [
        Bar(
            symbol="AAPL",
            timeframe=tf,
            ts=T0 + i * tf.ns,
            open=c,
            high=c + spread / 2,
            low=c - spread / 2,
            close=c,
            volume=volume,
        )
        for i, c in enumerate(closes)
    ]


def bank_of(specs: Sequence[IndicatorSpec], *series: list[Bar]) -> IndicatorBank:
    bank = IndicatorBank(specs)
    for s in series:
        bank.on_bars(s)
    return bank


def signal(side: str = "buy", price: float = 100.0) -> Signal:
    long = side == "buy"
    return Signal(
        symbol="AAPL",
        ts=T0,
        side=Side.BUY if long else Side.SELL,
        price=price,
        stop=price - 1 if long else price + 1,
        target=price + 2 if long else price - 2,
    )


def ctx(bank: IndicatorBank, **fields: object) -> RuleContext:
    base: dict[str, object] = {
        "indicators": bank,
        "swings": None,
        "breakout_volume": 0.0,
        "volume_source": None,
        "close_1h": None,
    }
    return RuleContext(**{**base, **fields})  # type: ignore[arg-type]


# trend ---------------------------------------------------------------------------------------


def trend_bank(rule: TrendAlignment, rising_15m: bool) -> IndicatorBank:
    closes_15m = [100 + (i if rising_15m else -i) * 0.5 for i in range(30)]
    return bank_of(rule.specs, bars(Timeframe.H1, [100.0] * 30), bars(Timeframe.M15, closes_15m))


@pytest.mark.parametrize(
    ("side", "close_1h", "rising", "ok", "reason"),
    [
        ("buy", 101.0, True, True, "trend: 1h close 101.00 > ema20@1h 100.00, ema20@15m rising"),
        ("buy", 99.0, True, False, "trend: 1h close 99.00 <= ema20@1h 100.00, ema20@15m rising"),
        ("buy", 101.0, False, False, "trend: 1h close 101.00 > ema20@1h 100.00, ema20@15m not rising"),
        ("sell", 99.0, False, True, "trend: 1h close 99.00 < ema20@1h 100.00, ema20@15m falling"),
        ("sell", 101.0, False, False, "trend: 1h close 101.00 >= ema20@1h 100.00, ema20@15m falling"),
        ("sell", 99.0, True, False, "trend: 1h close 99.00 < ema20@1h 100.00, ema20@15m not falling"),
    ],
)
def test_trend(side: str, close_1h: float, rising: bool, ok: bool, reason: str) -> None:
    rule = TrendAlignment(TrendConfig())
    assert rule.check(signal(side), ctx(trend_bank(rule, rising), close_1h=close_1h)) == (ok, reason)


def test_trend_waits_for_its_emas() -> None:
    rule = TrendAlignment(TrendConfig(ema_period=5))
    bank = bank_of(rule.specs, bars(Timeframe.H1, [100.0] * 3), bars(Timeframe.M15, [100.0] * 10))
    assert rule.check(signal(), ctx(bank, close_1h=101.0)) == (
        False,
        "trend: warming up (ema5@1h, ema5@15m not ready)",
    )


# volume --------------------------------------------------------------------------------------


def volume_bank(rule: VolumeConfirmation, n: int = 25, volume: float = 1000.0) -> IndicatorBank:
    return bank_of(rule.specs, bars(Timeframe.M5, [100.0] * n, volume=volume))


@pytest.mark.parametrize(
    ("volume", "ok", "reason"),
    [
        (1400.0, False, "volume 1.40x < 1.50x"),
        (1500.0, True, "volume 1.50x >= 1.50x"),
        (2600.0, True, "volume 2.60x >= 1.50x"),
    ],
)
def test_volume_compares_the_bar_with_the_average_of_the_bars_before(
    volume: float, ok: bool, reason: str
) -> None:
    rule = VolumeConfirmation(VolumeConfig())
    context = ctx(volume_bank(rule), breakout_volume=volume, volume_source=("test", 25))
    assert rule.check(signal(), context) == (ok, reason)


def test_volume_multiplier_is_a_key() -> None:
    rule = VolumeConfirmation(VolumeConfig(volume_multiplier=3.0))
    context = ctx(volume_bank(rule), breakout_volume=2600.0, volume_source=("test", 25))
    assert rule.check(signal(), context) == (False, "volume 2.60x < 3.00x")


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (None, "volume: only 0/21 ? bars to compare"),
        (("iex", 5), "volume: only 5/21 iex bars to compare"),
        (("", 20), "volume: only 20/21 unnamed bars to compare"),
    ],
)
def test_volume_needs_enough_bars_of_the_breakout_bars_source(source: object, reason: str) -> None:
    rule = VolumeConfirmation(VolumeConfig())
    context = ctx(volume_bank(rule), breakout_volume=5000.0, volume_source=source)
    assert rule.check(signal(), context) == (False, reason)


def test_volume_warming_up_and_a_zero_average() -> None:
    rule = VolumeConfirmation(VolumeConfig())
    young = ctx(volume_bank(rule, n=10), breakout_volume=5000.0, volume_source=("test", 25))
    assert rule.check(signal(), young) == (False, "volume: warming up (sma20.volume@5m not ready)")
    silent = volume_bank(rule, volume=0.0)
    assert rule.check(signal(), ctx(silent, breakout_volume=0.0, volume_source=("test", 25))) == (
        False,
        "volume: average is 0, bar 0",
    )
    assert rule.check(signal(), ctx(silent, breakout_volume=7.0, volume_source=("test", 25))) == (
        True,
        "volume: average is 0, bar 7",
    )


# support / resistance -----------------------------------------------------------------------


def sr_context(rule: SupportResistance, highs: list[float], lows: list[float]) -> RuleContext:
    bank = bank_of(rule.specs, bars(Timeframe.H1, [100.0] * 30, spread=2.0))  # ATR(14) of 1h bars: 2.00
    swings = Swings.empty(rule.history_1h)
    swings.highs.extend(highs)
    swings.lows.extend(lows)
    return ctx(bank, swings=swings)


PEAK = [100.0, 101.0, 105.0, 101.0, 100.0]  #: a swing high at 105 (strength 2)
TROUGH = [100.0, 99.0, 95.0, 99.0, 100.0]  #: a swing low at 95


@pytest.mark.parametrize(
    ("side", "price", "ok", "reason"),
    [
        ("buy", 104.5, False, "resistance: 1h swing high 105.00 is 0.25 ATR above entry"),
        ("buy", 104.0, False, "resistance: 1h swing high 105.00 is 0.50 ATR above entry"),
        ("buy", 103.9, True, "resistance: no 1h swing high within 0.5 ATR above"),
        ("buy", 105.5, True, "resistance: no 1h swing high within 0.5 ATR above"),
        ("sell", 95.5, False, "support: 1h swing low 95.00 is 0.25 ATR below entry"),
        ("sell", 96.1, True, "support: no 1h swing low within 0.5 ATR below"),
    ],
)
def test_support_resistance(side: str, price: float, ok: bool, reason: str) -> None:
    rule = SupportResistance(SupportResistanceConfig())
    assert rule.check(signal(side, price), sr_context(rule, PEAK, TROUGH)) == (ok, reason)


def test_support_resistance_room_and_strength_are_keys() -> None:
    wide = SupportResistance(SupportResistanceConfig(sr_atr_multiple=1.0))
    assert wide.check(signal("buy", 103.5), sr_context(wide, PEAK, TROUGH)) == (
        False,
        "resistance: 1h swing high 105.00 is 0.75 ATR above entry",
    )
    strict = SupportResistance(SupportResistanceConfig(swing_strength=3))  # 105 has 2 bars a side
    assert strict.check(signal("buy", 104.5), sr_context(strict, PEAK, TROUGH))[0] is True


def test_support_resistance_warming_up_and_without_history() -> None:
    rule = SupportResistance(SupportResistanceConfig())
    assert rule.check(signal(), ctx(bank_of(rule.specs, bars(Timeframe.H1, [100.0] * 3)))) == (
        False,
        "resistance: warming up (atr14@1h not ready)",
    )
    warm = bank_of(rule.specs, bars(Timeframe.H1, [100.0] * 30))
    assert rule.check(signal(), ctx(warm)) == (True, "resistance: no 1h history")


# the validator and the registry --------------------------------------------------------------


def test_the_validator_runs_the_enabled_rules_in_order_and_lists_the_vetoes() -> None:
    validator = Validator.from_config(ValidationConfig.of(trend=False))
    assert [r.name for r in validator.rules] == ["volume", "support_resistance"]
    validator.on_bars(bars(Timeframe.M5, [100.0] * 25))
    reasons, vetoes = validator.evaluate(signal(), IndicatorBank(validator.required_indicators()))
    assert reasons == (
        "volume: warming up (sma20.volume@5m not ready)",
        "resistance: warming up (atr14@1h not ready)",
    )
    assert vetoes == reasons
    off = Validator.from_config(ValidationConfig.of(enabled=False))
    assert off.evaluate(signal(), IndicatorBank([])) == (("validation off",), ())
    assert off.required_indicators() == []


@attrs.frozen(kw_only=True)
class PriceCapConfig(RuleConfig):
    enabled: bool = False  # (off unless asked for: other tests see the defaults)
    max_price: float = 50.0


@attrs.frozen
class PriceCap:
    """A toy rule: no entry above ``max_price``."""

    config_class = PriceCapConfig

    config: PriceCapConfig
    name: str = "price_cap"
    specs: tuple[IndicatorSpec, ...] = ()
    history_1h: int = 0

    def check(self, signal: Signal, ctx: RuleContext) -> tuple[bool, str]:
        ok = signal.price <= self.config.max_price
        return ok, f"price {signal.price:.2f} {'<=' if ok else '>'} {self.config.max_price:.2f}"


@pytest.fixture
def price_cap() -> Iterator[None]:
    register_rule("price_cap", PriceCap)
    yield
    del rule_registry._RULES["price_cap"]  # (the registry is global: leave it as found)


@pytest.mark.usefixtures("price_cap")
def test_a_new_rule_is_one_class_and_a_registration() -> None:
    cfg = config_from_dict({"validation": {"price_cap": True, "max_price": 99.5, "trend": False}})
    assert cfg.validation.rule("price_cap") == PriceCapConfig(enabled=True, max_price=99.5)
    validator = Validator.from_config(cfg.validation)
    assert [r.name for r in validator.rules] == ["volume", "support_resistance", "price_cap"]
    _, vetoes = validator.evaluate(signal(price=100.0), IndicatorBank(validator.required_indicators()))
    assert vetoes[-1] == "price 100.00 > 99.50"
    with pytest.raises(ConfigError, match=r"expected float @ validation.max_price"):
        config_from_dict({"validation": {"max_price": "high"}})


@pytest.mark.usefixtures("price_cap")
def test_a_rule_cannot_take_a_key_another_rule_has() -> None:
    @attrs.frozen(kw_only=True)
    class Clash(RuleConfig):
        ema_period: int = 5

    with pytest.raises(ConfigError, match=r"validation.ema_period: already a key"):
        register_rule("clash", type("ClashRule", (), {"config_class": Clash}))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"validation.max_price: already a key"):
        register_rule("max_price", PriceCap)
    with pytest.raises(ConfigError, match=r"has no config_class"):
        register_rule("bare", object)  # type: ignore[arg-type]
    assert "clash" not in rule_registry.rule_types()
