"""The API's rows as the tables the dashboard shows: chosen columns, New York times, fixed order.

Pure functions of the JSON (no Panel), so what a table holds is checked without a browser. An
empty answer gives an empty frame with the same columns, so a table never changes shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import pandas as pd

__all__ = [
    "NY",
    "ROUNDED",
    "TRADE_COLUMNS",
    "POSITION_COLUMNS",
    "SIGNAL_COLUMNS",
    "FILL_COLUMNS",
    "HEALTH_COLUMNS",
    "ny_time",
    "trades_frame",
    "positions_frame",
    "signals_frame",
    "fills_frame",
    "health_frame",
    "equity_frame",
    "bars_frame",
    "symbols_seen",
]

NY: Final = "America/New_York"
TRADE_COLUMNS: Final = (
    "exit_time", "symbol", "side", "qty", "entry_time", "entry_price", "exit_price", "pnl", "fees",
    "r_multiple", "exit_reason",
)  # fmt: skip
POSITION_COLUMNS: Final = ("symbol", "qty", "avg_price", "last_price", "unrealized_pnl", "realized_pnl")
SIGNAL_COLUMNS: Final = (
    "time", "symbol", "side", "verdict", "vetoes", "price", "stop", "target", "qty", "reasons", "strategy",
)  # fmt: skip
FILL_COLUMNS: Final = ("time", "symbol", "side", "qty", "price", "fee", "order_id")
HEALTH_COLUMNS: Final = ("symbol", "last_print_age_s")
_TIME_COLUMNS: Final = ("time", "entry_time", "exit_time")
#: money and ratios shown to the cent (the API keeps full precision)
ROUNDED: Final = (
    "entry_price", "exit_price", "pnl", "fees", "r_multiple", "avg_price", "last_price", "unrealized_pnl",
    "realized_pnl", "price", "fee", "stop", "target",
)  # fmt: skip


def ny_time(value: Any) -> str:
    """An API time (ISO 8601 UTC) as New York wall time ``YYYY-MM-DD HH:MM:SS``; blank for none."""
    if value is None or value == "":
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return str(stamp.tz_convert(NY).strftime("%Y-%m-%d %H:%M:%S"))


def _frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=list(columns))
    for column in _TIME_COLUMNS:
        if column in frame:
            frame[column] = frame[column].map(ny_time).astype(object)
    for column in ROUNDED:
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float).round(2)
    return frame


def trades_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Closed trades, newest first as the API sends them."""
    return _frame(rows, TRADE_COLUMNS)


def positions_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    return _frame((r for r in rows if r.get("qty")), POSITION_COLUMNS)


def signals_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Signals with their verdict: the vetoes (the failing checks) and every check's reason, each list
    joined into one readable cell."""
    frame = _frame(rows, SIGNAL_COLUMNS)
    for column in ("vetoes", "reasons"):
        frame[column] = frame[column].map(_joined).astype(object)
    return frame


def _joined(value: Any) -> str:
    return "; ".join(map(str, value)) if isinstance(value, list) else str(value or "")


def fills_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    return _frame(rows, FILL_COLUMNS)


def health_frame(health: Mapping[str, Any]) -> pd.DataFrame:
    """Seconds since each symbol's last print (the feed's view), one row a symbol."""
    ages = (health.get("feed") or {}).get("last_print_age_seconds") or {}
    rows = [(s, None if a is None else round(float(a), 1)) for s, a in sorted(ages.items())]
    return pd.DataFrame(rows, columns=list(HEALTH_COLUMNS))


def equity_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """``time`` (tz-aware New York), ``equity``, ``drawdown`` (a fraction <= 0 of the running peak)."""
    frame = pd.DataFrame(list(rows), columns=["time", "equity", "cash", "drawdown"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.tz_convert(NY)
    frame["equity"] = frame["equity"].astype(float)
    peak = frame["equity"].cummax()
    frame["drawdown"] = (frame["equity"] / peak - 1.0).fillna(0.0) if len(frame) else frame["drawdown"]
    return frame


def bars_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=["time", "open", "high", "low", "close", "volume"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.tz_convert(NY)
    return frame


def symbols_seen(*groups: Iterable[Mapping[str, Any]], extra: Iterable[str] = ()) -> list[str]:
    """Every symbol named in the rows given (and ``extra``), sorted: the candlestick picker's list."""
    found = set(extra)
    for rows in groups:
        found.update(str(r["symbol"]) for r in rows if r.get("symbol"))
    return sorted(found)
