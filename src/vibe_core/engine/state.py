"""The engine's state and how a fresh one is built.

State: :class:`EngineState`: the bar aggregator, indicator bank, simulated venue (or, for an
external broker, the :class:`~vibe_core.engine.book.BrokerBook` of what was asked of it),
portfolio, risk, strategy, validator and feed gate, plus the session bookkeeping and the counters
of rejected events.
Consumes: nothing (built by :func:`new_state`, changed by :func:`vibe_core.engine.step`).
Emits: nothing.
Invariants: exactly one of ``venue`` and ``book`` is set; ``pending`` holds at most one working
entry per symbol; ``now`` never decreases.
"""

from __future__ import annotations

import attrs

from vibe_core.bars import BarAggregator
from vibe_core.calendar import Session, SessionTable
from vibe_core.config import Config
from vibe_core.engine.book import BrokerBook
from vibe_core.events import Bar
from vibe_core.feedgate import FeedGate
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.portfolio import Portfolio
from vibe_core.risk import RiskState
from vibe_core.sim.venue import Venue
from vibe_core.strategy import Strategy, create
from vibe_core.types import Timeframe
from vibe_core.validation import Validator

__all__ = ["EngineState", "PendingEntry", "new_state", "PRIMARY", "TIMEFRAMES"]

PRIMARY = Timeframe.M5
TIMEFRAMES = (Timeframe.M5, Timeframe.M15, Timeframe.H1)


@attrs.define
class PendingEntry:
    """A working entry order and the cash it has reserved."""

    order_id: str
    reserved: float
    price: float


@attrs.define
class EngineState:
    config: Config
    sessions: SessionTable
    bars: BarAggregator
    indicators: IndicatorBank
    venue: Venue | None  #: the simulated venue; ``None`` when an external broker executes
    portfolio: Portfolio
    risk: RiskState
    strategy: Strategy
    validator: Validator
    book: BrokerBook | None = None  #: what was asked of the external broker (``venue`` is None)
    session_index: int = -1  #: index in ``sessions`` of the current (or last) session
    session_closed: bool = True  #: the current session's close has been processed
    flattened: bool = False  #: the end-of-day flatten ran this session
    day: str = ""  #: current session date as YYYYMMDD, for order ids
    order_seq: int = 0  #: order counter of the current session
    now: int = 0  #: time of the latest accepted event
    pending: dict[str, PendingEntry] = attrs.Factory(dict)  #: symbol -> working entry
    wake: int = 0  #: the next time at which session bookkeeping has work (flatten, close, open)
    deferred: list[Bar] = attrs.Factory(list)  #: input bars matched but not closed yet (same open time)
    rejected: dict[str, int] = attrs.Factory(dict)  #: reason -> events refused at the door
    feed: FeedGate = attrs.Factory(FeedGate)  #: stale symbols and feed outages (:mod:`vibe_core.feedgate`)

    @property
    def session(self) -> Session | None:
        return self.sessions.sessions[self.session_index] if self.session_index >= 0 else None


def _indicator_specs(strategy: Strategy, validator: Validator) -> list[IndicatorSpec]:
    specs: dict[str, IndicatorSpec] = {}
    for spec in [*strategy.required_indicators(), *validator.required_indicators()]:
        specs.setdefault(spec.key, spec)
    return list(specs.values())


def _timeframes(specs: list[IndicatorSpec], validator: Validator) -> tuple[Timeframe, ...]:
    """The primary timeframe plus only the higher ones something reads (aggregation is not free)."""
    needed = {PRIMARY, *(spec.timeframe for spec in specs)}
    if validator.config.enabled:
        needed.add(Timeframe.H1)  # swing points and the last 1h close
    return tuple(tf for tf in TIMEFRAMES if tf in needed)


def new_state(config: Config, sessions: SessionTable, *, external_broker: bool = False) -> EngineState:
    """A fresh engine for ``config`` over ``sessions`` (built once by the shell).

    ``external_broker``: orders go out as ``SubmitOrder``/``CancelOrder`` actions and the broker's
    events come back in; otherwise the built-in simulated venue executes them.
    """
    strategy = create(config)
    validator = Validator.from_config(config.validation)
    venue = None
    book = None
    if external_broker:
        book = BrokerBook()
    else:
        venue = Venue(
            model=config.exchange.fill_model(),
            seed=config.seed,
            symbols=frozenset(config.symbols),
            sessions=sessions,
        )
    specs = _indicator_specs(strategy, validator)
    return EngineState(
        config=config,
        sessions=sessions,
        bars=BarAggregator(sessions=sessions, timeframes=_timeframes(specs, validator)),
        indicators=IndicatorBank(specs, window=config.indicator_window),
        venue=venue,
        book=book,
        portfolio=Portfolio.new(config.initial_capital),
        risk=RiskState(session_start_equity=config.initial_capital),
        strategy=strategy,
        validator=validator,
        feed=FeedGate.for_config(config.feed.stale_seconds, config.symbols),
    )
