"""``walkforward.html``: the stitched out-of-sample equity, the parameters each window chose, and the
in-sample against out-of-sample metric per window (the gap is what optimisation flattered)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from vibe_backtest.report import (
    _esc,
    _figure,
    _new_figure,
    _note,
    _pairs,
    _table,
    _write_page,
    format_value,
)

if TYPE_CHECKING:
    from vibe_backtest.walkforward import WalkForward

__all__ = ["write_walkforward_report"]


def _equity_figure(wf: WalkForward) -> go.Figure:
    fig = _new_figure()
    for window, part in wf.equity.groupby("window", sort=True):
        fig.add_trace(
            go.Scatter(
                x=part["date"].tolist(),
                y=part["equity"].to_numpy(),
                mode="lines+markers",
                marker={"size": 4},
                name=f"window {window}",
            )
        )
    fig.update_layout(
        title="Stitched out-of-sample equity (each test window in its own colour)",
        xaxis_title="session",
        yaxis_title="equity",
        hovermode="x unified",
    )
    fig.update_xaxes(type="category")
    return fig


def _gap_figure(wf: WalkForward) -> go.Figure:
    table = wf.table
    labels = [
        f"{w} ({a}..{b})"
        for w, a, b in zip(table["window"], table["test_from"], table["test_to"], strict=True)
    ]
    fig = _new_figure(
        go.Bar(x=labels, y=pd.to_numeric(table[f"is_{wf.metric}"], errors="coerce"), name="in sample"),
        go.Bar(x=labels, y=pd.to_numeric(table[f"oos_{wf.metric}"], errors="coerce"), name="out of sample"),
    )
    fig.update_layout(
        title=f"{wf.metric}: in sample (training, best cell) against out of sample (next sessions)",
        barmode="group",
        xaxis_title="window (test sessions)",
        yaxis_title=wf.metric,
    )
    fig.update_xaxes(type="category")
    return fig


def write_walkforward_report(wf: WalkForward, path: Path) -> Path:
    """Write the self-contained walk-forward page to ``path``."""
    table = wf.table
    metric = wf.metric
    is_values = pd.to_numeric(table[f"is_{metric}"], errors="coerce")
    oos_values = pd.to_numeric(table[f"oos_{metric}"], errors="coerce")
    changes = sum(
        1
        for a, b in zip(
            table[wf.keys].itertuples(index=False, name=None),
            table[wf.keys].iloc[1:].itertuples(index=False, name=None),
            strict=False,
        )
        if a != b
    )
    final = float(wf.equity["equity"].iloc[-1]) if len(wf.equity) else wf.initial_capital
    items = [
        ("Windows", str(len(table))),
        ("Out-of-sample sessions", str(len(wf.equity))),
        ("Initial capital", format_value("initial_capital", wf.initial_capital)),
        ("Final equity (stitched)", format_value("final_equity", final)),
        ("Out-of-sample total return", format_value("total_return", wf.total_return)),
        ("Out-of-sample sharpe (stitched daily)", format_value("sharpe", wf.sharpe)),
        (
            f"Mean in-sample {metric}",
            format_value(metric, float(np.nanmean(is_values)) if is_values.notna().any() else None),
        ),
        (
            f"Mean out-of-sample {metric}",
            format_value(metric, float(np.nanmean(oos_values)) if oos_values.notna().any() else None),
        ),
        ("Parameter changes between windows", str(changes)),
    ]
    shown = table.set_index("window")
    body = [
        "<h1>vibe walk-forward analysis</h1>",
        f"<p>Grid over {_esc(', '.join(wf.keys))}; each window picks the best cell by "
        f"<b>{_esc(metric)}</b> on its training sessions and is scored on the test sessions after them.</p>",
        _pairs(items, "walkforward-summary"),
        '<h2 id="equity">Stitched out-of-sample equity</h2>',
        _note(
            "Each test window is its own backtest starting from the equity the previous one ended with; "
            "every session appears once."
        ),
        _figure(_equity_figure(wf), "walkforward-equity", 460) if len(wf.equity) else _note("No test ran."),
        '<h2 id="gap">In sample against out of sample</h2>',
        _figure(_gap_figure(wf), "walkforward-gap", 420),
        '<h2 id="windows">Windows and the parameters they chose</h2>',
        f'<div class="wide">{_table(shown, "walkforward-table")}</div>',
    ]
    return _write_page(path, f"vibe walk-forward: {metric}", body)
