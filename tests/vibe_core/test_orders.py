"""The order lifecycle table, checked over every (status, input) pair."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core.orders import INPUTS, TERMINAL, TRANSITIONS, InvalidTransition, is_terminal, transition
from vibe_core.types import OrderStatus

P, A, PF, F, C, R = (
    OrderStatus.PENDING,
    OrderStatus.ACCEPTED,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED,
    OrderStatus.CANCELLED,
    OrderStatus.REJECTED,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(OrderStatus)), st.sampled_from(INPUTS))
def test_every_pair_is_a_table_entry_or_an_error(status, event):
    if (status, event) in TRANSITIONS:
        assert transition(status, event) is TRANSITIONS[(status, event)]
        assert not is_terminal(status)
    else:
        with pytest.raises(InvalidTransition) as info:
            transition(status, event)
        assert (info.value.status, info.value.event) == (status, event)
        assert status.value in str(info.value)
        assert event in str(info.value)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(TERMINAL, key=lambda s: s.value)), st.sampled_from(INPUTS))
def test_terminal_states_accept_nothing(status, event):
    with pytest.raises(InvalidTransition):
        transition(status, event)


def test_table_uses_only_known_inputs():
    assert {event for _, event in TRANSITIONS} == set(INPUTS)


def test_unknown_input_is_an_error():
    with pytest.raises(InvalidTransition):
        transition(A, "amend")


@pytest.mark.parametrize(
    ("path", "end"),
    [
        (["accept", "fill_full"], F),
        (["activate", "fill_partial", "fill_partial", "fill_full"], F),
        (["accept", "fill_partial", "cancel"], C),
        (["activate", "expire"], C),
        (["expire"], C),
        (["reject"], R),
    ],
)
def test_lifecycles(path, end):
    status = P
    for event in path:
        status = transition(status, event)
    assert status is end


@pytest.mark.parametrize("status", [P, A, PF])
def test_working_orders_can_always_be_cancelled_or_expired(status):
    assert transition(status, "cancel") is C
    assert transition(status, "expire") is C


@pytest.mark.parametrize("status", [A, PF, F, C, R])
def test_only_new_orders_are_accepted_or_rejected(status):
    for event in ("accept", "activate", "reject"):
        with pytest.raises(InvalidTransition):
            transition(status, event)


def test_pending_orders_cannot_fill():
    for event in ("fill_partial", "fill_full"):
        with pytest.raises(InvalidTransition):
            transition(P, event)


def test_every_status_is_reachable_from_pending():
    reached, frontier = {P}, [P]
    while frontier:
        status = frontier.pop()
        for (src, _), dst in TRANSITIONS.items():
            if src is status and dst not in reached:
                reached.add(dst)
                frontier.append(dst)
    assert reached == set(OrderStatus)
