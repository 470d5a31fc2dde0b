"""The order-type registry: what the venue needs to know about each kind of order.

State: the module-level registry ``OrderType -> OrderKind`` (filled at import by the built-in
kinds, and by :func:`register` for a new one).
Consumes: :class:`OrderKind` records.
Emits: the kind of an order (:func:`kind_of`); an unknown type raises ``KeyError`` naming it.
Invariants: one kind per type; a kind is immutable once registered.

# Adding an order type
Write one module with the two pure functions (``match`` and ``reach``) and an :class:`OrderKind`,
and call :func:`register` with it. The venue asks the kind, never the type: which prices the order
must carry, how it matches on a step of the price path, where on the price axis it can act (the
quiet-band fast path), whether its fills slip, whether a new order is checked at once against the
last price, whether it fills at the session's last price when working at the close, and which
price a buy is charged against for the cash check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import attrs

from vibe_core.models import Order
from vibe_core.types import OrderType

__all__ = ["OrderKind", "MatchFn", "ReachFn", "register", "unregister", "kind_of", "find", "registered"]

#: ``(order, triggered, start, price, continuous) -> (matched price or None, triggered after)``
MatchFn: TypeAlias = Callable[[Order, bool, float, float, bool], tuple[float | None, bool]]
#: ``(order, triggered) -> (level, up)``: acts at prices ``>= level`` when ``up``, ``<= level``
#: otherwise; ``None``: at any price
ReachFn: TypeAlias = Callable[[Order, bool], tuple[float, bool] | None]


def _no_cash_price(order: Order) -> float | None:
    return None


@attrs.frozen(kw_only=True)
class OrderKind:
    """The behaviour of one order type at the simulated venue.

    ``match`` prices one step ``start -> price`` of the path (``continuous``: the price slides
    through every level between; otherwise only ``price`` is seen) and says whether the order has
    triggered by its end. ``reach`` must agree with ``match``: an order whose reach no price of a
    bar's range meets cannot match in that bar.
    """

    type: OrderType
    match: MatchFn
    reach: ReachFn
    needs_limit: bool = False  #: ``limit_price`` must be a finite positive price
    needs_stop: bool = False  #: ``stop_price`` must be a finite positive price
    slips: bool = True  #: fills move against the order by the slippage model (limits never do)
    checked_at_once: bool = True  #: a new active order meets the last price at once
    fills_at_close: bool = False  #: working at its DAY close: fills at the session's last price
    #: the price a buy's cash check uses; ``None``: the last price, else the stop price
    cash_price: Callable[[Order], float | None] = _no_cash_price


_REGISTRY: dict[OrderType, OrderKind] = {}


def register(kind: OrderKind) -> OrderKind:
    """Make ``kind`` the behaviour of orders of ``kind.type``; a type is registered once."""
    known = _REGISTRY.get(kind.type)
    if known is not None and known is not kind:
        raise ValueError(f"order type {kind.type!r} is already registered")
    _REGISTRY[kind.type] = kind
    return kind


def unregister(order_type: OrderType) -> None:
    """Forget the kind of ``order_type`` (a plugin unloading; tests that register a toy type)."""
    _REGISTRY.pop(order_type, None)


def kind_of(order_type: OrderType) -> OrderKind:
    """The registered behaviour of ``order_type``."""
    try:
        return _REGISTRY[order_type]
    except KeyError:
        raise KeyError(f"no order kind registered for order type {order_type!r}") from None


def find(order_type: OrderType) -> OrderKind | None:
    """The registered behaviour of ``order_type``, or None (an order the venue rejects)."""
    return _REGISTRY.get(order_type)


def registered() -> tuple[OrderKind, ...]:
    """Every registered kind, in registration order."""
    return tuple(_REGISTRY.values())
