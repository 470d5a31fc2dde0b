"""Risk: sizing never exceeds the risk, position, cash and gross-exposure caps and is the largest
size within them; vetoes are values with reasons; the daily loss halt fires exactly at its threshold."""

from __future__ import annotations

import math

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core.config import RiskConfig
from vibe_core.models import Signal
from vibe_core.risk import Exposure, RiskState, size_entry
from vibe_core.types import Side

PROPERTY = settings(max_examples=300, deadline=None)


def signal(price: float, stop: float, side: Side = Side.BUY) -> Signal:
    target = price + side.sign * 2 * abs(price - stop) or price
    return Signal(symbol="AAPL", ts=0, side=side, price=price, stop=stop, target=max(target, 0.01))


configs = st.builds(
    RiskConfig,
    risk_per_trade_pct=st.floats(0.001, 0.05),
    max_position_pct=st.floats(0.01, 1.0),
    max_open_positions=st.integers(1, 10),
    max_gross_exposure_pct=st.floats(0.1, 4.0),
    allow_margin=st.booleans(),
)


@st.composite
def setups(draw: st.DrawFn) -> tuple[Signal, Exposure, RiskConfig]:
    side = draw(st.sampled_from(Side))
    price = draw(st.integers(100, 100_000)) / 100
    distance = draw(st.integers(1, 5_000)) / 100
    stop = price - side.sign * distance
    if stop <= 0:
        stop = price + side.sign * distance
    equity = draw(st.floats(1_000.0, 1e7))
    exposure = Exposure(
        equity=equity,
        cash=draw(st.floats(-1_000.0, equity)),
        gross=draw(st.floats(0.0, 2 * equity)),
        open_positions=draw(st.integers(0, 10)),
    )
    return signal(price, stop, side), exposure, draw(configs)


@given(setups())
@PROPERTY
def test_sizing_never_exceeds_a_cap_and_is_the_largest_within_them(
    setup: tuple[Signal, Exposure, RiskConfig],
) -> None:
    sig, exposure, config = setup
    qty, why = size_entry(sig, RiskState(), exposure, config)
    assert why.startswith("risk: ")
    per_share = abs(sig.price - sig.stop)
    caps = [
        config.risk_per_trade_pct * exposure.equity / per_share,
        config.max_position_pct * exposure.equity / sig.price,
        max(config.max_gross_exposure_pct * exposure.equity - exposure.gross, 0.0) / sig.price,
    ]
    if not config.allow_margin:
        caps.append(max(exposure.cash, 0.0) / sig.price)
    if exposure.open_positions >= config.max_open_positions:
        assert qty == 0 and "max open positions" in why
        return
    eps = 1e-6
    assert qty <= min(caps) + eps  # never above any cap
    assert qty + 1 > min(caps) - eps  # and no share left on the table
    if qty == 0:
        assert "size below 1 share" in why
    else:
        assert f"{qty} shares" in why


@given(setups())
@PROPERTY
def test_pause_and_halt_veto_every_entry(setup: tuple[Signal, Exposure, RiskConfig]) -> None:
    sig, exposure, config = setup
    assert size_entry(sig, RiskState(paused=True), exposure, config) == (0, "risk: trading paused")
    assert size_entry(sig, RiskState(halted=True), exposure, config) == (0, "risk: daily loss halt")


def test_a_zero_stop_distance_is_a_veto() -> None:
    sig = Signal(symbol="AAPL", ts=0, side=Side.BUY, price=100.0, stop=100.0, target=101.0)
    exposure = Exposure(equity=10_000.0, cash=10_000.0, gross=0.0, open_positions=0)
    assert size_entry(sig, RiskState(), exposure, RiskConfig()) == (0, "risk: stop distance is zero")


def test_the_design_example_by_hand() -> None:
    # floor(min(1% x 10,000 / 2, 20% x 10,000 / 100, 10,000 / 100)) = floor(min(50, 20, 100)) = 20
    sig = Signal(symbol="AAPL", ts=0, side=Side.BUY, price=100.0, stop=98.0, target=104.0)
    exposure = Exposure(equity=10_000.0, cash=10_000.0, gross=0.0, open_positions=0)
    qty, why = size_entry(sig, RiskState(), exposure, RiskConfig())
    assert qty == 20
    assert why == "risk: 20 shares, risking 40.00 (0.40% of equity)"
    qty, why = size_entry(sig, RiskState(), attrs.evolve(exposure, cash=150.0), RiskConfig())
    assert (qty, why) == (1, "risk: 1 shares, risking 2.00 (0.02% of equity)")
    qty, why = size_entry(sig, RiskState(), attrs.evolve(exposure, cash=50.0), RiskConfig())
    assert (qty, why) == (0, "risk: size below 1 share (bound by cash)")


@given(
    start=st.floats(1_000.0, 1e7),
    pct=st.floats(0.001, 0.5),
    offset=st.integers(-3, 3),
)
@PROPERTY
def test_the_halt_fires_exactly_at_the_threshold_once_per_session(
    start: float, pct: float, offset: int
) -> None:
    state = RiskState()
    state.on_session_open(start, RiskConfig(daily_loss_halt_pct=pct))
    floor = start * (1.0 - pct)
    equity = floor
    for _ in range(abs(offset)):  # a few representable steps away from the threshold
        equity = math.nextafter(equity, math.inf if offset > 0 else -math.inf)
    fired = state.check_halt(equity)
    assert fired == (equity <= floor)
    assert state.halted == fired
    if fired:
        assert state.check_halt(0.0) is False  # it fires once per session
    state.on_session_open(equity, RiskConfig(daily_loss_halt_pct=pct))  # the next session resets it
    assert not state.halted
    assert state.session_start_equity == equity


def test_no_session_or_no_equity_means_no_halt() -> None:
    assert RiskState().check_halt(-1e9) is False
    state = RiskState()
    state.on_session_open(0.0, RiskConfig())
    assert state.halt_equity is None and state.check_halt(-5.0) is False


@pytest.mark.parametrize("paused", [False, True])
def test_snapshot_restore_round_trips(paused: bool) -> None:
    state = RiskState(paused=paused)
    state.on_session_open(12_345.0, RiskConfig())
    assert RiskState.restore(state.snapshot()) == state
