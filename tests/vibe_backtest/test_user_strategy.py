"""A user's own strategy, in a package of their own, runs from the CLI with no wrapper script.

The package is written to a temporary folder put on ``PYTHONPATH``; ``vibe-backtest run`` names it
by import path (``--set strategy.name=userstrats.first_up:FirstUpBar``) and sets its own key
(``--set strategy.stop_pct=0.02``) through the usual settings layering.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

STRATEGY = '''
"""Buy the first 5m bar of the day that closes up after 10:00; stop and target stop_pct away."""

import attrs

from vibe_core.config import StrategyConfig, positive
from vibe_core.models import Signal
from vibe_core.strategy import BarStrategy
from vibe_core.types import Side, Timeframe


@attrs.frozen(kw_only=True)
class FirstUpConfig(StrategyConfig):
    stop_pct: float = attrs.field(default=0.01, validator=positive)


class FirstUpBar(BarStrategy[FirstUpConfig]):
    config_class = FirstUpConfig

    def on_session_open(self, symbol, session):
        self.state[symbol] = {"from": session.open + 30 * 60 * 10**9, "done": False}

    def on_entry(self, symbol):
        self.state[symbol]["done"] = True

    def on_bar(self, bar, indicators, position):
        day = self.state.get(bar.symbol)
        if bar.timeframe is not Timeframe.M5 or day is None or day["done"] or position != 0:
            return None
        if bar.ts + Timeframe.M5.ns < day["from"] or bar.close <= bar.open:
            return None
        pct = self.config.stop_pct
        return Signal(
            symbol=bar.symbol,
            ts=bar.ts + Timeframe.M5.ns,
            side=Side.BUY,
            price=bar.close,
            stop=round(bar.close * (1 - pct), 2),
            target=round(bar.close * (1 + 2 * pct), 2),
            strategy=self.name,
        )
'''


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBE__")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "pkgs"), *sys.path])
    return subprocess.run(
        [sys.executable, "-m", "vibe_backtest.cli", "run", "--quiet", "--no-report", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )


def _write_package(tmp_path: Path) -> None:
    pkg = tmp_path / "pkgs" / "userstrats"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "first_up.py").write_text(textwrap.dedent(STRATEGY))


def test_a_strategy_from_an_import_path_runs_from_the_cli_with_its_own_keys(tmp_path: Path) -> None:
    _write_package(tmp_path)
    out = tmp_path / "out"
    proc = _run(
        tmp_path,
        *("--symbols", "MSFT,TSLA", "--end", "2024-05-10", "--out", str(out)),
        *("--set", "strategy.name=userstrats.first_up:FirstUpBar", "--set", "strategy.stop_pct=0.02"),
        *("--set", "validation.enabled=false"),
    )
    assert proc.returncode == 0, proc.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["strategy"]["name"] == "userstrats.first_up:FirstUpBar"
    assert config["strategy"]["stop_pct"] == 0.02
    with (out / "signals.csv").open(newline="") as f:
        signals = list(csv.DictReader(f))
    days = {(s["symbol"], s["time"][:10]) for s in signals}
    assert len(days) == len(signals) > 0  # one a day and symbol: on_entry came back to the strategy
    for s in signals:
        price = float(s["price"])
        assert float(s["stop"]) == round(price * 0.98, 2)
        assert float(s["target"]) == round(price * 1.04, 2)
        assert s["time"][11:16] >= "10:00"
    with (out / "trades.csv").open(newline="") as f:
        assert len(list(csv.DictReader(f))) > 0


def test_a_key_the_users_strategy_does_not_have_is_an_error_naming_it(tmp_path: Path) -> None:
    _write_package(tmp_path)
    proc = _run(
        tmp_path,
        *("--symbols", "MSFT", "--end", "2024-05-03", "--out", str(tmp_path / "out")),
        *("--set", "strategy.name=userstrats.first_up:FirstUpBar", "--set", "strategy.stop_percent=0.02"),
    )
    assert proc.returncode == 2
    assert "strategy.stop_percent" in proc.stderr and "stop_pct" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_layers_name_a_strategy_and_set_its_keys_in_any_order_of_the_environment() -> None:
    from vibe_backtest.settings import load_settings

    env = {"VIBE__STRATEGY__EMA_PERIOD": "9", "VIBE__STRATEGY__NAME": "ema_pullback"}  # EMA_ sorts first
    cfg = load_settings(None, ["strategy.allow_short=true"], environ=env)
    assert (cfg.strategy.name, cfg.strategy.ema_period, cfg.strategy.allow_short) == ("ema_pullback", 9, True)
