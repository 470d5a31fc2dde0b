"""Hypothesis strategies for every core value type, event and action.

Values are plausible (finite floats, cent-scale prices, ns timestamps in this century, bars with
low <= open/close <= high, orders whose prices match their type) so the same strategies serve codec
round trips and behavioural properties. Import this module explicitly (it needs hypothesis).

State: none: functions returning hypothesis strategies, in :mod:`~vibe_core.testing.strategies.values`
(scalars and model values), :mod:`~vibe_core.testing.strategies.messages` (events and actions) and
:mod:`~vibe_core.testing.strategies.configs` (indicator specs and configuration).
Consumes: hypothesis draws.
Emits: values, events, actions and configs that pass their own checks.
Invariants: each strategy draws only valid instances (a property that needs an invalid one builds
it on purpose).
"""

from __future__ import annotations

from vibe_core.testing.strategies.configs import (
    configs,
    exchange_configs,
    feed_configs,
    indicator_specs,
    risk_configs,
    strategy_configs,
    validation_configs,
)
from vibe_core.testing.strategies.messages import (
    actions,
    bar_slices,
    bars,
    cancel_orders,
    clocks,
    close_alls,
    event_rejected,
    events,
    feed_gaps,
    feed_statuses,
    filled,
    market_events,
    notifies,
    order_accepted,
    order_cancelled,
    order_rejected,
    pauses,
    resumes,
    risk_halted,
    signal_evaluated,
    submit_orders,
    trade_closed,
    trades,
)
from vibe_core.testing.strategies.values import (
    TS_MAX,
    TS_MIN,
    account_views,
    fills,
    money,
    order_ids,
    orders,
    position_views,
    prices,
    quantities,
    reasons,
    signals,
    symbols,
    timeframes,
    timestamps,
    trade_records,
    volumes,
)

__all__ = [
    "TS_MIN",
    "TS_MAX",
    "symbols",
    "timestamps",
    "prices",
    "money",
    "quantities",
    "volumes",
    "timeframes",
    "reasons",
    "order_ids",
    "orders",
    "fills",
    "signals",
    "trade_records",
    "position_views",
    "account_views",
    "trades",
    "bars",
    "bar_slices",
    "clocks",
    "order_accepted",
    "order_rejected",
    "filled",
    "order_cancelled",
    "pauses",
    "resumes",
    "close_alls",
    "feed_statuses",
    "market_events",
    "events",
    "submit_orders",
    "cancel_orders",
    "notifies",
    "trade_closed",
    "signal_evaluated",
    "risk_halted",
    "event_rejected",
    "feed_gaps",
    "actions",
    "indicator_specs",
    "strategy_configs",
    "validation_configs",
    "risk_configs",
    "exchange_configs",
    "feed_configs",
    "configs",
]
