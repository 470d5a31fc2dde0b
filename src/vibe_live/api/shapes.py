"""What both read sources share: time and cursor formats, order status, drawdown, performance over
a period, the opening range and the chart markers.

Pure functions of rows (times in ns UTC): the live store and a backtest's files go through the
same code, so the dashboard sees the same numbers for the same trades.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from vibe_core.calendar import SessionTable
from vibe_core.metrics import max_drawdown, sharpe
from vibe_live.api.errors import BadParam
from vibe_live.api.models import BarRow, EquityPoint, Marker, OpeningRange, Performance, Period, TradeRow
from vibe_live.logs import NEW_YORK

__all__ = [
    "utc",
    "ns_of",
    "parse_since",
    "parse_cursor",
    "cursor_of",
    "order_status",
    "equity_points",
    "performance",
    "opening_range",
    "markers",
    "Query",
    "PERIOD_DAYS",
    "day_start",
    "r_multiple",
]

NS = 1_000_000_000
PERIOD_DAYS: dict[str, int | None] = {"day": 1, "week": 7, "month": 30, "all": None}


class Query(NamedTuple):
    """A list route's filters: ``since`` (ns UTC, inclusive), ``cursor`` (exclusive, newest first)."""

    symbol: str | None = None
    status: str | None = None
    since: int | None = None
    limit: int = 100
    cursor: tuple[int, int] | None = None


def utc(ts: int) -> str:
    """ns UTC -> ``2024-05-01T13:30:00Z`` (microseconds only when there are some)."""
    stamp = dt.datetime.fromtimestamp(ts // 1000 / 1e6, tz=dt.UTC)
    if stamp.microsecond:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def ns_of(stamp: dt.datetime) -> int:
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    delta = stamp - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * NS + delta.microseconds * 1000


def parse_since(text: str | None, field: str = "since") -> int | None:
    """An ISO 8601 time (``Z`` or an offset; naive means UTC) or a date -> ns UTC."""
    if text is None or text == "":
        return None
    try:
        stamp = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadParam(field, f"{text!r} is not an ISO 8601 time (e.g. 2024-05-01T13:30:00Z)") from None
    if (
        not dt.datetime(1970, 1, 2, tzinfo=dt.UTC)
        <= stamp.replace(tzinfo=stamp.tzinfo or dt.UTC)
        <= dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
    ):
        raise BadParam(field, f"{text!r} is out of range (1970-01-02 .. 2200-01-01)")
    return ns_of(stamp)


def cursor_of(key: tuple[int, int]) -> str:
    return f"{key[0]}-{key[1]}"


def parse_cursor(text: str | None) -> tuple[int, int] | None:
    """A ``next_cursor`` from an earlier page: two non-negative ints joined by ``-``."""
    if text is None or text == "":
        return None
    a, sep, b = text.partition("-")
    if not (sep and a.isdigit() and b.isdigit() and len(a) <= 18 and len(b) <= 18):
        raise BadParam("cursor", f"{text!r} is not a cursor from an earlier page's next_cursor")
    return int(a), int(b)


def order_status(recorded: str, filled: int, qty: int) -> tuple[str, str]:
    """The recorded status (``accepted``, ``cancelled: eod``, ``partially filled, rejected: ...``,
    ``filled``...) and the filled quantity -> (``working|partially_filled|filled|cancelled|rejected``,
    reason)."""
    text = recorded.split(", ")[-1]
    kind, _, reason = text.partition(": ")
    if filled >= qty > 0:
        return "filled", ""
    if kind in ("cancelled", "rejected"):
        return kind, reason
    return ("partially_filled" if filled else "working"), ""


def equity_points(
    times: Sequence[int], cash: Sequence[float], equity: Sequence[float], initial: float, since: int | None
) -> list[EquityPoint]:
    """The curve with its drawdown from the running peak (the initial capital counts as a peak)."""
    out: list[EquityPoint] = []
    peak = initial
    for t, c, e in zip(times, cash, equity, strict=True):
        peak = max(peak, e)
        if since is None or t >= since:
            out.append(
                EquityPoint(time=utc(t), equity=e, cash=c, drawdown=(peak - e) / peak if peak > 0 else 0.0)
            )
    return out


def day_start(ts: int) -> int:
    day = dt.datetime.fromtimestamp(ts / NS, tz=NEW_YORK).date()
    return ns_of(dt.datetime(day.year, day.month, day.day, tzinfo=NEW_YORK))


def performance(
    period: Period,
    *,
    now: int | None,
    initial: float,
    times: Sequence[int],
    equity: Sequence[float],
    trades: Sequence[tuple[int, int, float]],
) -> Performance:
    """P&L, return, win rate, Sharpe (daily closes), max drawdown, trade count and average duration
    over ``period``: the New York day of ``now`` (``day``), the 7 or 30 days ending with it, or
    everything. ``trades`` are ``(entry_time, exit_time, pnl)``; a trade counts in the period it
    closed in."""
    days = PERIOD_DAYS[period]
    start = None if days is None or now is None else day_start(now) - (days - 1) * 86_400 * NS
    t = np.asarray(times, dtype=np.int64)
    e = np.asarray(equity, dtype=float)
    before = e[t < start] if start is not None else e[:0]
    base = float(before[-1]) if before.size else initial
    inside = e[t >= start] if start is not None else e
    final = float(inside[-1]) if inside.size else base
    closes = _daily_closes(t[t >= start] if start is not None else t, inside)
    returns = (
        np.diff(np.concatenate([[base], closes])) / np.concatenate([[base], closes])[:-1]
        if closes.size
        else closes
    )
    picked = [(a, b, p) for a, b, p in trades if start is None or b >= start]
    wins = sum(1 for _, _, p in picked if p > 0)
    minutes = [(b - a) / (60 * NS) for a, b, _ in picked]
    curve = np.concatenate([[base], inside])
    return Performance(
        period=period,
        pnl=final - base,
        return_pct=(final / base - 1.0) * 100 if base else 0.0,
        win_rate=wins / len(picked) if picked else None,
        sharpe=_finite(sharpe(returns)),
        max_drawdown_pct=_finite(max_drawdown(curve) * 100) if curve.size and curve.min() > 0 else 0.0,
        trades=len(picked),
        avg_duration_minutes=sum(minutes) / len(minutes) if minutes else None,
    )


def _finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0


def _daily_closes(t: np.ndarray, e: np.ndarray) -> np.ndarray:
    """The last equity sample of each New York day."""
    if not t.size:
        return e[:0]
    days = np.array([dt.datetime.fromtimestamp(x / NS, tz=NEW_YORK).date().toordinal() for x in t])
    last = np.append(days[1:] != days[:-1], True)
    picked: np.ndarray = e[last]
    return picked


def opening_range(
    bars: Sequence[BarRow], times: Sequence[int], sessions: SessionTable, minutes: int
) -> OpeningRange | None:
    """The range of the latest session's first ``minutes`` among time-ordered ``bars`` (None before
    it has a bar). Scans back from the end only as far as that session's open."""
    session = None
    for ts in reversed(times):
        session = sessions.session_at(ts)
        if session is not None:
            break
    if session is None:
        return None
    end = session.open + minutes * 60 * NS
    inside = []
    for i in range(len(times) - 1, -1, -1):
        if times[i] < session.open:
            break
        if times[i] < end:
            inside.append(bars[i])
    if not inside:
        return None
    return OpeningRange(
        date=session.date.isoformat(), high=max(b.high for b in inside), low=min(b.low for b in inside)
    )


def markers(
    trades: Sequence[TradeRow], entry_ns: Sequence[int], exit_ns: Sequence[int], lo: int, hi: int
) -> list[Marker]:
    """Entries and exits of ``trades`` (their times in ns beside them) inside ``[lo, hi]``, in time order."""
    out: list[tuple[int, Marker]] = []
    for trade, a, b in zip(trades, entry_ns, exit_ns, strict=True):
        if lo <= a <= hi:
            out.append(
                (
                    a,
                    Marker(
                        time=trade.entry_time,
                        price=trade.entry_price,
                        kind="entry",
                        side=trade.side,
                        pnl=None,
                    ),
                )
            )
        if lo <= b <= hi:
            out.append(
                (
                    b,
                    Marker(
                        time=trade.exit_time,
                        price=trade.exit_price,
                        kind="exit",
                        side=trade.side,
                        pnl=trade.pnl,
                    ),
                )
            )
    out.sort(key=lambda m: m[0])
    return [m for _, m in out]


def r_multiple(side: str, qty: int, pnl: float, price: float | None, stop: float | None) -> float | None:
    """P&L over the money at risk when the entry was sized (signal price to stop, times the shares)."""
    if price is None or stop is None or qty <= 0:
        return None
    risk = abs(price - stop) * qty
    return pnl / risk if risk > 0 else None
