"""Portfolio accounting: cash and positions conserved over any fill sequence, a round trip's P&L is
the cash it made, reversals open a new round trip, and readers get frozen views."""

from __future__ import annotations

import math

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core import portfolio
from vibe_core.models import Fill, PositionView
from vibe_core.portfolio import Portfolio
from vibe_core.types import ExitReason, Side

SYMBOLS = ("AAPL", "MSFT", "TSLA")
PROPERTY = settings(max_examples=200, deadline=None)


def fill(
    symbol: str, side: Side, qty: int, price: float, fee: float = 0.0, ts: int = 0, tag: str = ""
) -> Fill:
    return Fill(
        order_id=f"{symbol}-1", symbol=symbol, side=side, qty=qty, price=price, ref_price=price, fee=fee,
        ts=ts, tag=tag,
    )  # fmt: skip


@st.composite
def fill_sequences(draw: st.DrawFn) -> list[Fill]:
    n = draw(st.integers(min_value=1, max_value=30))
    return [
        fill(
            draw(st.sampled_from(SYMBOLS)),
            draw(st.sampled_from(Side)),
            draw(st.integers(min_value=1, max_value=500)),
            draw(st.integers(min_value=100, max_value=100_000)) / 100,  # cents
            draw(st.integers(min_value=0, max_value=500)) / 100,
            ts=i,
        )
        for i in range(n)
    ]


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


@given(fill_sequences())
@PROPERTY
def test_cash_and_positions_are_conserved(fills: list[Fill]) -> None:
    p = Portfolio.new(100_000.0)
    records = [r for f in fills if (r := p.apply_fill(f)) is not None]
    spent = sum(f.qty * f.side.sign * f.price + f.fee for f in fills)
    assert close(p.cash, 100_000.0 - spent)
    for symbol in SYMBOLS:
        net = sum(f.qty * f.side.sign for f in fills if f.symbol == symbol)
        assert p.position_qty(symbol) == net
        assert (symbol in p.positions) == (net != 0)  # flat symbols hold no position
    assert close(p.fees_paid, sum(f.fee for f in fills))
    assert p.n_fills == len(fills)
    # average-cost accounting: every dollar is realized (net of fees) or still open
    assert close(p.equity() - 100_000.0, p.realized_pnl + p.unrealized_pnl())
    # realized P&L of the closed round trips plus what the open ones realized so far
    open_realized = sum(
        v.realized_pnl - pos.fees for v, pos in zip(p.position_views(), _sorted(p), strict=True)
    )
    assert close(p.realized_pnl, sum(r.pnl for r in records) + open_realized)


def _sorted(p: Portfolio) -> list:  # the private bookkeeping, in the views' order
    return [p.positions[s] for s in sorted(p.positions)]


@given(
    side=st.sampled_from(Side),
    qty=st.integers(min_value=1, max_value=10_000),
    entry=st.integers(min_value=100, max_value=100_000),
    exit_=st.integers(min_value=100, max_value=100_000),
    fees=st.tuples(st.integers(0, 1000), st.integers(0, 1000)),
)
@PROPERTY
def test_a_round_trip_realizes_the_cash_it_made(
    side: Side, qty: int, entry: int, exit_: int, fees: tuple[int, int]
) -> None:
    p = Portfolio.new(1e9)
    opened = fill("AAPL", side, qty, entry / 100, fees[0] / 100, ts=1)
    assert p.apply_fill(opened) is None
    record = p.apply_fill(fill("AAPL", side.opposite, qty, exit_ / 100, fees[1] / 100, ts=2, tag="target"))
    assert record is not None
    expected = side.sign * qty * (exit_ - entry) / 100 - (fees[0] + fees[1]) / 100
    assert close(record.pnl, expected)
    assert close(p.cash - 1e9, record.pnl)
    assert close(p.realized_pnl, record.pnl)
    assert (record.side, record.qty, record.entry_time, record.exit_time) == (side, qty, 1, 2)
    assert (record.entry_price, record.exit_price, record.exit_reason) == (
        entry / 100,
        exit_ / 100,
        ExitReason.TARGET,
    )
    assert p.positions == {}


def test_scaling_in_averages_the_entry_and_a_reversal_starts_a_new_round_trip() -> None:
    p = Portfolio.new(10_000.0)
    p.apply_fill(fill("AAPL", Side.BUY, 10, 100.0, ts=1))
    p.apply_fill(fill("AAPL", Side.BUY, 30, 104.0, ts=2))
    [view] = p.position_views()
    assert (view.qty, view.avg_price) == (40, 103.0)
    record = p.apply_fill(fill("AAPL", Side.SELL, 50, 105.0, ts=3, tag="stop"))
    assert record is not None
    assert (record.qty, record.entry_price, record.exit_price, record.pnl) == (40, 103.0, 105.0, 80.0)
    assert record.exit_reason is ExitReason.STOP
    [short] = p.position_views()
    assert (short.qty, short.avg_price, short.realized_pnl) == (-10, 105.0, 0.0)


def test_marks_move_equity_and_unrealized_pnl_only() -> None:
    p = Portfolio.new(10_000.0)
    p.apply_fill(fill("AAPL", Side.SELL, 10, 50.0))
    p.mark("AAPL", 45.0)
    account = p.account(ts=7)
    assert (account.cash, account.equity, account.unrealized_pnl, account.gross_exposure) == (
        10_500.0,
        10_050.0,
        50.0,
        450.0,
    )
    assert account.realized_pnl == 0.0


def test_views_are_frozen_and_the_bookkeeping_is_private() -> None:
    p = Portfolio.new(1_000.0)
    p.apply_fill(fill("AAPL", Side.BUY, 1, 10.0))
    [view] = p.position_views()
    assert isinstance(view, PositionView)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        view.qty = 5  # type: ignore[misc]
    assert "Position" not in portfolio.__all__ and not hasattr(portfolio, "Position")


@given(fill_sequences())
@settings(max_examples=50, deadline=None)
def test_snapshot_and_restore_continue_the_same(fills: list[Fill]) -> None:
    p = Portfolio.new(50_000.0)
    half = len(fills) // 2
    for f in fills[:half]:
        p.apply_fill(f)
    q = Portfolio.restore(p.snapshot())
    assert q == p
    for f in fills[half:]:
        assert p.apply_fill(f) == q.apply_fill(f)
    assert q == p
