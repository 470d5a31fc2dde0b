"""The parameter-stability view: a lone sharp peak stands out from a plateau in ``sweep.html``."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vibe_backtest.report import write_sweep_report
from vibe_backtest.stability import neighbour_stats, stability_table


def test_neighbour_stats_on_a_small_grid() -> None:
    grid = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, np.nan]])
    stats = neighbour_stats(grid)
    assert stats["count"].tolist() == [[3, 4, 2], [3, 4, 3]]
    assert stats["mean"][0, 0] == pytest.approx((2 + 4 + 5) / 3)
    assert stats["min"][1, 1] == 1.0 and stats["max"][1, 1] == 4.0  # NaN neighbours are skipped
    assert stats["mean"][1, 2] == pytest.approx((2 + 3 + 5) / 3)  # a missing cell still has neighbours


def _sweep(values: dict[tuple[float, int], float]) -> pd.DataFrame:
    rows = [
        {"strategy.reward_risk": rr, "strategy.opening_range_minutes": orm, "sharpe": v, "error": ""}
        for (rr, orm), v in values.items()
    ]
    return pd.DataFrame(rows)


def test_a_lone_peak_has_a_large_gap_and_a_plateau_a_small_one(tmp_path: Path) -> None:
    cells = list(itertools.product([1.0, 1.5, 2.0, 2.5, 3.0], [5, 15, 30, 60]))
    values = {c: 0.1 for c in cells}
    values[(1.5, 15)] = 3.0  # lone peak
    for c in itertools.product([2.5, 3.0], [30, 60]):  # a plateau a bit lower
        values[c] = 2.0
    table = _sweep(values)
    keys = ["strategy.reward_risk", "strategy.opening_range_minutes"]
    stab = stability_table(table, keys, "sharpe").set_index(keys)
    peak, plateau = stab.loc[(1.5, 15)], stab.loc[(3.0, 60)]
    assert peak["neighbours"] == 8 and plateau["neighbours"] == 3
    assert peak["peak_gap"] == pytest.approx(3.0 - 0.1)
    assert plateau["peak_gap"] == pytest.approx(0.0)
    text = write_sweep_report(table, keys, "sharpe", tmp_path / "sweep.html").read_text()
    assert 'id="stability-chart"' in text and 'id="stability-table"' in text
    rows = re.findall(r"<tr>(.*?)</tr>", text.split('id="stability-table"')[1].split("</table>")[0])
    first = re.findall(r"<td>(.*?)</td>", rows[1])  # rows[0]: the header
    assert first[1:4] == ["1.50", "15", "3.00"]  # best cell first, with its neighbours beside it
    assert first[-1] == "2.90"  # its peak gap


def test_one_key_and_failed_cells(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {"seed": [1, 2, 3], "sharpe": [1.0, None, 2.0], "error": ["", "RuntimeError: boom", ""]}
    )
    text = write_sweep_report(table, ["seed"], "sharpe", tmp_path / "s.html").read_text()
    assert "1 of 3 runs failed" in text and 'id="stability-table"' in text
    stab = stability_table(table, ["seed"], "sharpe")
    assert stab["seed"].tolist() == [1, 3] and stab["neighbours"].tolist() == [0, 0]
