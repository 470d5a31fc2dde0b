"""P&L sensitivity to the fill model: one backtest under each fill preset (or variant), side by side.

What each run's fills cost, in account currency (positive: money lost), from its fills and orders:

- ``slippage_cost``: over every fill, ``(price - ref_price) x qty`` for a buy and
  ``(ref_price - price) x qty`` for a sell. ``ref_price`` is the price the venue matched before
  slippage (the fill record carries it), so this is exactly what the slippage term took.
- ``fee_cost``: the fills' fees.
- ``partial_fill_cost`` = ``partial_drift`` + ``unfilled_value``. ``partial_drift``: an order filled
  in pieces; each piece after the first is valued at the move of the matched price since the
  first piece (``(ref_price - first ref_price) x qty``, sign as above): what waiting for liquidity
  cost. ``unfilled_value``: an entry that ended partly filled, its unfilled shares valued at the
  per-share P&L of the trade it opened (a winner cut short is P&L lost; a loser cut short is
  negative: a loss avoided). Entries that never filled have no trade to value them by; they are
  counted (``entries_never_filled``) and show up as trades missing from that run.

The fill delay of a preset is not priced separately: it moves fills to later matched prices,
which shows in the trades and their P&L rather than in these costs.

Trades are matched across runs by symbol, side and the time their entry order was placed (the
signal's time: a fill delay moves the entry fill, not the order): ``trades_only_here`` are this
run's trades missing from at least one other run, ``trades_missing_here`` the other runs' trades
this one does not have.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd

from vibe_backtest.results import BacktestResult
from vibe_core.config import Config, ConfigError

__all__ = [
    "Variant",
    "parse_variants",
    "fill_costs",
    "trade_keys",
    "run_sensitivity",
    "Sensitivity",
    "SENSITIVITY_FILES",
]

SENSITIVITY_FILES = frozenset({"sensitivity.csv", "sensitivity-trades.csv", "sensitivity.html"})
_SIGN = {"buy": 1.0, "sell": -1.0}


@attrs.frozen
class Variant:
    """A labelled run: ``overrides`` (dotted key -> value) on top of the base config."""

    label: str
    overrides: dict[str, Any]


def parse_variants(presets: Sequence[str], variants: Sequence[str]) -> list[Variant]:
    """``--presets a,b`` and ``--variant LABEL:KEY=VALUE`` (repeatable; one label gathers its keys)."""
    from vibe_backtest.settings import parse_assignment

    out: dict[str, dict[str, Any]] = {p: {"exchange.preset": p} for p in presets}
    for text in variants:
        label, sep, assignment = text.partition(":")
        if not sep or not label.strip():
            raise ConfigError(f"--variant {text!r}: expected LABEL:key.path=value")
        if label.strip() in presets:
            raise ConfigError(f"--variant {text!r}: {label.strip()!r} is already a preset run")
        key, value = parse_assignment(assignment, f"--variant {label.strip()}")
        out.setdefault(label.strip(), {})[key] = value
    if not out:
        raise ConfigError("sensitivity needs at least one preset (--presets) or --variant")
    return [Variant(label, overrides) for label, overrides in out.items()]


def _sign(sides: pd.Series) -> np.ndarray:
    return np.array([_SIGN[str(s)] for s in sides], dtype=np.float64)


def fill_costs(result: BacktestResult) -> dict[str, float]:
    """Slippage, fees and partial-fill costs of one run (see the module's definitions)."""
    fills, orders, trades = result.fills, result.orders, result.trades
    costs = {
        "slippage_cost": 0.0,
        "fee_cost": 0.0,
        "partial_drift": 0.0,
        "unfilled_value": 0.0,
        "entries_never_filled": 0.0,
    }
    if len(fills):
        sign = _sign(fills["side"])
        qty = fills["qty"].to_numpy(dtype=np.float64)
        price = fills["price"].to_numpy(dtype=np.float64)
        ref = fills["ref_price"].to_numpy(dtype=np.float64)
        costs["slippage_cost"] = float(np.sum(sign * (price - ref) * qty))
        costs["fee_cost"] = float(fills["fee"].to_numpy(dtype=np.float64).sum())
        first_ref = fills.groupby("order_id", sort=False)["ref_price"].transform("first").to_numpy(np.float64)
        costs["partial_drift"] = float(np.sum(sign * (ref - first_ref) * qty))
    if len(orders):
        entries = orders[(orders["tag"] == "entry") & (orders["filled_qty"] < orders["qty"])]
        costs["entries_never_filled"] = float((entries["filled_qty"] == 0).sum())
        cut = entries[entries["filled_qty"] > 0]
        if len(cut) and len(trades):
            first_fill = fills.groupby("order_id", sort=False)["time"].first()
            per_share = {
                (s, t): p / q
                for s, t, p, q in zip(
                    trades["symbol"], trades["entry_time"], trades["pnl"], trades["qty"], strict=True
                )
            }
            for order_id, symbol, qty, filled in zip(
                cut["id"], cut["symbol"], cut["qty"], cut["filled_qty"], strict=True
            ):
                value = per_share.get((symbol, first_fill.get(order_id)))
                if value is not None:
                    costs["unfilled_value"] += (qty - filled) * value
    costs["partial_fill_cost"] = costs["partial_drift"] + costs["unfilled_value"]
    return costs


def trade_keys(result: BacktestResult) -> pd.Series:
    """Each trade's match key: ``SYMBOL side YYYY-MM-DDTHH:MM:SS``, the time its entry order was placed
    (New York; the entry fill's time when the order is not found).

    The order's time is the signal's, which no fill-model setting moves; the entry fill's time moves
    with a fill delay or a partial first fill.
    """
    trades, fills, orders = result.trades, result.fills, result.orders
    if not len(trades):
        return pd.Series([], dtype=str)
    placed: dict[tuple[str, Any], Any] = {}
    if len(fills) and len(orders):
        entries = fills[fills["tag"] == "entry"].groupby("order_id", sort=False).first()
        when = dict(zip(orders["id"], orders["time"], strict=True))
        placed = {
            (s, t): when.get(oid, t)
            for oid, s, t in zip(entries.index, entries["symbol"], entries["time"], strict=True)
        }
    times = [placed.get((s, t), t) for s, t in zip(trades["symbol"], trades["entry_time"], strict=True)]
    stamps = pd.DatetimeIndex(times).tz_convert("America/New_York").strftime("%Y-%m-%dT%H:%M:%S")
    return pd.Series(
        [f"{s} {side} {m}" for s, side, m in zip(trades["symbol"], trades["side"], stamps, strict=True)],
        index=trades.index,
    )


@attrs.frozen
class Sensitivity:
    """``table``: one row per run; ``trades``: every trade key missing from some run, P&L per run."""

    table: pd.DataFrame
    trades: pd.DataFrame

    def write_files(self, folder: Path | str) -> None:
        from vibe_backtest.sensitivity_report import write_sensitivity_report

        folder = Path(folder)
        self.table.to_csv(folder / "sensitivity.csv", index=False)
        self.trades.to_csv(folder / "sensitivity-trades.csv")
        write_sensitivity_report(self, folder / "sensitivity.html")


def run_sensitivity(
    market: Mapping[str, Any],
    base: Config,
    variants: Sequence[Variant],
    *,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
) -> Sensitivity:
    """Backtest ``base`` under each variant on ``market`` (here, one after another: a few runs)."""
    from vibe_backtest.api import run_backtest
    from vibe_backtest.sweep import config_for

    configs = [config_for(base, v.overrides, f"--variant {v.label}") for v in variants]  # all checked first
    rows = []
    pnl: dict[str, pd.Series] = {}
    for variant, config in zip(variants, configs, strict=True):
        result = run_backtest(market, config=config, start=start, end=end, keep_bars=False)
        s = result.summary
        rows.append(
            {
                "run": variant.label,
                "preset": config.exchange.preset,
                "total_return": s["total_return"],
                "final_equity": s["final_equity"],
                "sharpe": s["sharpe"],
                "max_drawdown": s["max_drawdown"],
                "n_trades": s["n_trades"],
                "win_rate": s["win_rate"],
                **fill_costs(result),
            }
        )
        keys = trade_keys(result)
        pnl[variant.label] = pd.Series(result.trades["pnl"].to_numpy(dtype=np.float64), index=keys.to_numpy())
    table = pd.DataFrame(rows)
    present = {label: set(series.index) for label, series in pnl.items()}
    union = set().union(*present.values())
    common = set.intersection(*present.values()) if present else set()
    table["trades_only_here"] = [len(present[r] - common) for r in table["run"]]
    table["trades_missing_here"] = [len(union - present[r]) for r in table["run"]]
    odd = sorted(union - common)
    trades = pd.DataFrame(
        {label: series.groupby(level=0).sum().reindex(odd) for label, series in pnl.items()},
        index=pd.Index(odd, name="trade"),
    )
    return Sensitivity(table=table, trades=trades)
