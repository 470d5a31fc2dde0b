"""The one converter: every value, event and action survives a JSON round trip; bad data names the field."""

from __future__ import annotations

import json
from typing import Any

import cattrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core import codec
from vibe_core.actions import (
    ACTION_TYPES,
    Action,
    CancelOrder,
    EventRejected,
    FeedGap,
    Notify,
    RiskHalted,
    SignalEvaluated,
    SubmitOrder,
    TradeClosed,
)
from vibe_core.config import Config, ConfigError, config_from_dict, config_to_dict
from vibe_core.events import (
    EVENT_TYPES,
    Bar,
    BarSlice,
    Clock,
    CloseAll,
    Event,
    FeedStatus,
    Filled,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    Pause,
    Resume,
    Trade,
)
from vibe_core.models import AccountView, Fill, Order, PositionView, Signal, TradeRecord
from vibe_core.testing import strategies as vs
from vibe_core.testing.builders import bar, order

EXAMPLES = settings(max_examples=150, deadline=None)


def through_json(data: Any) -> Any:
    return json.loads(json.dumps(data, allow_nan=False))


@given(vs.events())
@EXAMPLES
def test_events_round_trip_through_the_union(event: Event) -> None:
    data = through_json(codec.event_to_dict(event))
    assert data["type"] == type(event).__name__
    assert codec.event_from_dict(data) == event
    assert codec.structure(through_json(codec.unstructure(event)), type(event)) == event


@given(vs.actions())
@EXAMPLES
def test_actions_round_trip_through_the_union(action: Action) -> None:
    data = through_json(codec.action_to_dict(action))
    assert data["type"] == type(action).__name__
    assert codec.structure(data, Action) == action
    assert codec.structure(through_json(codec.unstructure(action)), type(action)) == action


@given(
    st.one_of(
        vs.orders(), vs.fills(), vs.signals(), vs.trade_records(), vs.position_views(), vs.account_views()
    )
)
@EXAMPLES
def test_models_round_trip(value: Order | Fill | Signal | TradeRecord | PositionView | AccountView) -> None:
    assert codec.structure(through_json(codec.unstructure(value)), type(value)) == value


@given(vs.configs())
@settings(max_examples=100, deadline=None)
def test_config_round_trips(config: Config) -> None:
    assert config_from_dict(through_json(config_to_dict(config))) == config


PER_CLASS = [
    (Trade, vs.trades),
    (Bar, vs.bars),
    (BarSlice, vs.bar_slices),
    (Clock, vs.clocks),
    (OrderAccepted, vs.order_accepted),
    (OrderRejected, vs.order_rejected),
    (Filled, vs.filled),
    (OrderCancelled, vs.order_cancelled),
    (Pause, vs.pauses),
    (Resume, vs.resumes),
    (CloseAll, vs.close_alls),
    (FeedStatus, vs.feed_statuses),
    (SubmitOrder, vs.submit_orders),
    (CancelOrder, vs.cancel_orders),
    (Notify, vs.notifies),
    (TradeClosed, vs.trade_closed),
    (SignalEvaluated, vs.signal_evaluated),
    (RiskHalted, vs.risk_halted),
    (EventRejected, vs.event_rejected),
    (FeedGap, vs.feed_gaps),
]


def test_every_event_and_action_class_has_a_strategy() -> None:
    assert {cls for cls, _ in PER_CLASS} == set(EVENT_TYPES) | set(ACTION_TYPES)


@pytest.mark.parametrize(("cls", "strategy"), PER_CLASS, ids=[c.__name__ for c, _ in PER_CLASS])
@given(data=st.data())
@settings(max_examples=30, deadline=None)
def test_each_class_round_trips(cls: type, strategy: Any, data: st.DataObject) -> None:
    # Per class, so no type can hide behind the unions' sampling.
    value = data.draw(strategy())
    assert type(value) is cls
    union: Any = Event if cls in EVENT_TYPES else Action
    assert codec.structure(through_json(codec.converter.unstructure(value, union)), union) == value
    assert codec.structure(through_json(codec.unstructure(value)), cls) == value


@given(vs.bars(cents=True))
@settings(max_examples=100, deadline=None)
def test_bars_are_consistent(b: Bar) -> None:
    assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
    assert b.volume >= 0
    assert b.ts % b.timeframe.ns == 0


def test_tagged_dicts_look_as_documented() -> None:
    data = codec.event_to_dict(bar(close=101.5))
    assert data["type"] == "Bar"
    assert data["timeframe"] == 300
    assert data["close"] == 101.5
    cancel = CancelOrder(ts=1, order_id="X", reason="r")
    assert codec.action_to_dict(cancel) == {"type": "CancelOrder", "ts": 1, "order_id": "X", "reason": "r"}


def messages(exc: BaseException) -> str:
    assert isinstance(exc, cattrs.BaseValidationError), exc
    return "; ".join(cattrs.transform_error(exc))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"open": "abc"}, "$.open"),
        ({"timeframe": 7}, "$.timeframe"),
        ({"ts": None}, "$.ts"),
    ],
)
def test_a_bad_event_field_is_named(change: dict[str, Any], field: str) -> None:
    data = {**codec.event_to_dict(bar()), **change}
    with pytest.raises(cattrs.BaseValidationError) as info:
        codec.event_from_dict(data)
    assert field in messages(info.value)


def test_missing_and_extra_fields_are_named() -> None:
    data = codec.unstructure(order())
    del data["qty"]
    with pytest.raises(cattrs.BaseValidationError) as info:
        codec.structure(data, Order)
    assert "$.qty" in messages(info.value)
    data = {**codec.unstructure(order()), "colour": "red"}
    with pytest.raises(cattrs.BaseValidationError) as info:
        codec.structure(data, Order)
    assert "colour" in messages(info.value)


def test_a_nested_bad_field_is_named_with_its_path() -> None:
    data = codec.action_to_dict(SubmitOrder(order=order()))
    data["order"]["side"] = "sideways"
    with pytest.raises(cattrs.BaseValidationError) as info:
        codec.structure(data, Action)
    assert "$.order.side" in messages(info.value)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"risk": {"bogus": 1}}, "bogus"),
        ({"strategy": {"reward_risk": "lots"}}, "reward_risk"),
        ({"strategy": {"last_entry_time": "25:00"}}, "last_entry_time"),
        ({"initial_capital": -5}, "initial_capital"),
    ],
)
def test_a_bad_config_key_is_named(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        config_from_dict(data)


# ---------------------------------------------------------------------------------------------
# The converter is built on first use (a backtest that never serializes does not pay for it)


def test_importing_the_core_builds_no_converter_and_first_use_builds_one() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, vibe_core, vibe_core.codec as c\n"
        "print('vibe_core.converter' in sys.modules, 'cattrs.strategies' in sys.modules)\n"
        "from vibe_core.events import Clock\n"
        "from vibe_core.converter import converter\n"
        "print(c.event_to_dict(Clock(ts=5)), converter is c.converter is c.get_converter())\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": src},
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["False False", "{'ts': 5, 'ts_recv': None, 'type': 'Clock'} True"]


def test_threads_asking_at_once_share_one_converter(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import threading

    import vibe_core

    # as before the first use, in this process (the module, and the package's name for it, come back after)
    monkeypatch.delitem(sys.modules, "vibe_core.converter")
    monkeypatch.delattr(vibe_core, "converter")
    got: list[cattrs.Converter] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        got.append(codec.get_converter())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(c is got[0] for c in got)
    assert codec.structure(codec.unstructure(Clock(ts=7)), Clock) == Clock(ts=7)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        codec.nothing  # noqa: B018
