"""``sensitivity.html``: the runs side by side, what the fills cost in each, and the trades one run has
and another has not."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import plotly.graph_objects as go

from vibe_backtest.report import _figure, _new_figure, _note, _table, _write_page

if TYPE_CHECKING:
    from vibe_backtest.sensitivity import Sensitivity

__all__ = ["write_sensitivity_report"]

_COSTS = (("slippage_cost", "slippage"), ("fee_cost", "fees"), ("partial_fill_cost", "partial fills"))


def write_sensitivity_report(sens: Sensitivity, path: Path) -> Path:
    """Write the self-contained sensitivity page to ``path``."""
    table = sens.table.set_index("run")
    fig = _new_figure(
        *(go.Bar(x=list(table.index), y=table[col].to_numpy(), name=name) for col, name in _COSTS)
    )
    fig.update_layout(
        title="P&L lost to the fill model (positive: money lost)", barmode="relative", yaxis_title="P&L"
    )
    fig.update_xaxes(type="category")
    ret = _new_figure(
        go.Bar(x=list(table.index), y=table["total_return"].to_numpy() * 100, name="total return")
    )
    ret.update_layout(title="Total return (%)", yaxis_title="%")
    ret.update_xaxes(type="category")
    body = [
        "<h1>vibe fill-model sensitivity</h1>",
        "<p>The same backtest under each fill preset or variant. Does the edge survive realistic fills?</p>",
        '<h2 id="runs">Runs side by side</h2>',
        f'<div class="wide">{_table(table, "sensitivity-table")}</div>',
        _note(
            "slippage: fill price against the venue's matched price; partial fills: later pieces' price "
            "drift plus unfilled entry shares at their trade's P&L per share (see vibe_backtest.sensitivity)."
        ),
        _figure(ret, "sensitivity-return", 360),
        _figure(fig, "sensitivity-costs", 400),
        '<h2 id="trades">Trades not in every run</h2>',
    ]
    if len(sens.trades):
        body.append(
            _note("Matched by symbol, side and entry order time; P&L per run, empty where a run lacks it.")
        )
        body.append(f'<div class="wide">{_table(sens.trades, "sensitivity-trades")}</div>')
    else:
        body.append(_note("Every run has the same trades."))
    return _write_page(path, "vibe sensitivity", body)
