"""Service logs: one line per order, fill, trade, halt and signal, as text or JSON lines."""

from __future__ import annotations

import io
import json

import pytest

from vibe_backtest.api import calendar, load_market
from vibe_backtest.data import iter_bars
from vibe_core.actions import FeedGap, RiskHalted
from vibe_core.config import config_from_dict
from vibe_core.events import Clock
from vibe_live.logs import describe, iso, log_actions, setup_logging


@pytest.fixture(scope="module")
def actions():
    """Every action of a week of the sample market (orders, fills, trades, signals)."""
    from vibe_core.engine import new_state, step
    from vibe_core.events import BarSlice

    market = load_market(start="2024-05-01", end="2024-05-08")
    cfg = config_from_dict({"validation": {"enabled": False}})
    state = new_state(cfg, calendar())
    out = []
    bars = list(iter_bars(market))
    for ts in sorted({b.ts for b in bars}):
        _, a = step(state, BarSlice(ts=ts, bars=[b for b in bars if b.ts == ts]))
        out += a
    _, a = step(state, Clock(ts=bars[-1].ts + 10**15))
    return out + a


def test_iso_is_new_york_time():
    assert iso(1_714_570_200_000_000_000) == "2024-05-01T09:30:00-04:00"


def test_json_lines_name_the_event_and_its_fields(actions):
    stream = io.StringIO()
    setup_logging("json", stream=stream)
    log_actions(actions)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    events = {line["event"] for line in lines}
    assert {"order", "fill", "trade closed", "signal"} <= events
    assert len(lines) == sum(describe(a) is not None for a in actions)
    fill = next(line for line in lines if line["event"] == "fill")
    assert {"order", "symbol", "side", "qty", "price", "time"} <= fill.keys()
    assert fill["time"].endswith(("-04:00", "-05:00"))


def test_text_lines_carry_the_fields(actions):
    stream = io.StringIO()
    setup_logging("text", stream=stream)
    log_actions(actions)
    text = stream.getvalue()
    assert "trade closed" in text and "pnl=" in text and "reason=" in text


def test_a_halt_is_a_warning():
    stream = io.StringIO()
    setup_logging("json", stream=stream)
    log_actions([RiskHalted(ts=1_714_570_200_000_000_000, reason="daily loss 3.10% >= 3.00%",
                            session_start_equity=10_000, equity=9_690)])  # fmt: skip
    line = json.loads(stream.getvalue())
    assert line["level"] == "warning" and line["event"] == "risk halt" and "3.10%" in line["reason"]


def test_a_feed_gap_is_a_warning_with_its_span():
    stream = io.StringIO()
    setup_logging("json", stream=stream)
    start = 1_714_570_200_000_000_000
    log_actions([FeedGap(symbol="AAPL", start=start, end=start + 143 * 10**9, reason="stale")])
    line = json.loads(stream.getvalue())
    assert line["level"] == "warning" and line["event"] == "feed gap"
    assert (line["symbol"], line["start"], line["seconds"], line["reason"]) == (
        "AAPL",
        "2024-05-01T09:30:00-04:00",
        143,
        "stale",
    )
