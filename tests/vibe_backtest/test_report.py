"""HTML reports (vibe_backtest.report): self-contained files, sections, hand-computed tables."""

from __future__ import annotations

import base64
import itertools
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_backtest.report import (
    MAX_CANDLE_DAYS,
    equity_points,
    format_value,
    month_table,
    opening_ranges,
    signal_table,
    symbol_table,
    veto_reasons,
    write_report,
    write_sweep_report,
)
from vibe_backtest.results import TRADE_COLUMNS, BacktestResult
from vibe_core.config import Config, config_from_dict

NY = "America/New_York"
SIGNAL_COLUMNS = [
    "time",
    "symbol",
    "side",
    "price",
    "stop",
    "target",
    "range_high",
    "range_low",
    "accepted",
    "qty",
    "reasons",
]
SECTIONS = [
    "Summary",
    "Equity and drawdown",
    "Price, opening range and trades",
    "P&amp;L distribution",
    "Per symbol",
    "Per month",
    "Signals",
]


# ---------------------------------------------------------------------------------------------
# Builders


def ts(day: str, hhmm: str) -> pd.Timestamp:
    return pd.Timestamp(f"{day} {hhmm}", tz=NY)


def day_bars(days: list[str], base: float = 100.0) -> pd.DataFrame:
    """78 5m bars a day, like ``BarSeries.to_frame``: bar i opens at base + i*0.1, range +-0.5."""
    frames = []
    for d in days:
        stamps = pd.date_range(ts(d, "09:30"), periods=78, freq="5min")
        o = base + 0.1 * np.arange(78)
        frames.append(
            pd.DataFrame(
                {
                    "timestamp": stamps,
                    "open": o,
                    "high": o + 0.5,
                    "low": o - 0.5,
                    "close": o + 0.1,
                    "volume": np.full(78, 1000, dtype=np.int64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def trade(symbol: str, day: str, pnl: float, reason: str = "target", side: str = "buy") -> dict[str, object]:
    return {
        "symbol": symbol,
        "side": side,
        "qty": 10,
        "entry_time": ts(day, "09:50"),
        "entry_price": 101.0,
        "exit_time": ts(day, "11:00"),
        "exit_price": 101.0 + pnl / 10,
        "pnl": pnl,
        "exit_reason": reason,
    }


def trades_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=TRADE_COLUMNS)
    for col in ("entry_time", "exit_time"):
        frame[col] = (
            pd.to_datetime(frame[col]).dt.tz_convert(NY)
            if len(frame)
            else pd.Series([], dtype=f"datetime64[ns, {NY}]")
        )
    return frame


def signal(symbol: str, day: str, accepted: bool, reasons: str, rng: tuple[float, float] = (110.0, 90.0)):
    return {
        "time": ts(day, "09:45"),
        "symbol": symbol,
        "side": "buy",
        "price": 101.0,
        "stop": 99.0,
        "target": 105.0,
        "range_high": rng[0],
        "range_low": rng[1],
        "accepted": accepted,
        "qty": 10 if accepted else 0,
        "reasons": reasons,
    }


def equity_frame(day_values: dict[str, float]) -> pd.DataFrame:
    """78 samples a day (09:35 .. 16:00), the equity constant at the day's value."""
    index, values = [], []
    for d, v in day_values.items():
        index += list(pd.date_range(ts(d, "09:35"), periods=78, freq="5min"))
        values += [v] * 78
    eq = np.array(values)
    return pd.DataFrame(
        {"cash": eq, "equity": eq, "exposed": np.zeros(len(eq), dtype=bool)},
        index=pd.DatetimeIndex(index, name="time"),
    )


DAYS = ["2024-04-30", "2024-05-01", "2024-05-02"]


def sample_result(**changes: object) -> BacktestResult:
    """Two symbols, three days; AAPL +100 / -40 / +60, MSFT -25.5 (one trade each day but the first)."""
    trades = trades_frame(
        [
            trade("AAPL", "2024-04-30", 100.0, "target"),
            trade("AAPL", "2024-05-01", -40.0, "stop"),
            trade("MSFT", "2024-05-01", -25.5, "eod"),
            trade("AAPL", "2024-05-02", 60.0, "eod"),
        ]
    )
    signals = pd.DataFrame(
        [
            signal("AAPL", "2024-04-30", True, "trend ok; volume 2.0x >= 1.5x"),
            signal("AAPL", "2024-05-01", True, "trend ok; volume 1.7x >= 1.5x"),
            signal("MSFT", "2024-05-01", True, "trend ok; volume 1.6x >= 1.5x"),
            signal("AAPL", "2024-05-02", True, "trend ok; volume 3.0x >= 1.5x"),
            signal("MSFT", "2024-05-02", False, "trend ok; volume 0.5x < 1.5x"),
            signal("MSFT", "2024-05-02", False, "trend weak; volume 0.7x < 1.5x"),
        ],
        columns=SIGNAL_COLUMNS,
    )
    equity = equity_frame({"2024-04-30": 10_100.0, "2024-05-01": 10_034.5, "2024-05-02": 10_094.5})
    summary = {
        "initial_capital": 10_000.0,
        "final_equity": 10_094.5,
        "total_return": 0.0123,
        "n_trades": 4,
        "win_rate": 0.5,
        "profit_factor": 160 / 65.5,
        "sharpe": 1.234,
        "max_drawdown": 0.0064851,
        "avg_trade_minutes": 70.0,
        "exposure": 0.25,
        "start": DAYS[0],
        "end": DAYS[-1],
        "symbols": ["AAPL", "MSFT"],
    }
    fields = {
        "config": Config(symbols=("AAPL", "MSFT")),
        "summary": summary,
        "trades": trades,
        "equity": equity,
        "signals": signals,
        "orders": pd.DataFrame(),
        "fills": pd.DataFrame(),
        "bars": {"AAPL": day_bars(DAYS), "MSFT": day_bars(DAYS, 200.0)},
    }
    fields.update(changes)
    return BacktestResult(**fields)  # type: ignore[arg-type]


class Tables(HTMLParser):
    """Collects every ``<table id=...>`` as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._current: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._current = self.tables.setdefault(dict(attrs_).get("id") or "", [])
        elif tag == "tr" and self._current is not None:
            self._current.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._current is not None:
            self._current[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(text: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(text)
    return parser.tables


def as_dict(rows: list[list[str]]) -> dict[str, list[str]]:
    """Body rows keyed by their first cell (the header row is skipped by the caller's key)."""
    return {r[0]: r[1:] for r in rows}


def assert_self_contained(text: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, re.IGNORECASE), "external script"
    assert not re.search(r"<link[^>]*href\s*=\s*[\"']?https?:", text, re.IGNORECASE), "external stylesheet"
    assert text.count("* plotly.js v") == 1, "plotly.js must be embedded exactly once"


# Plotly figures as written into the page, and plotly.js's date axis with rangebreaks

MS_HOUR, MS_DAY = 3_600_000, 86_400_000
WEEKDAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def figures(text: str) -> dict[str, tuple[list[dict], dict]]:
    """Every ``Plotly.newPlot(id, data, layout, ...)`` of the page body: id -> (data, layout)."""
    body = text[text.index("<body>") :]
    decoder, found = json.JSONDecoder(), {}
    for match in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', body):
        data, end = decoder.raw_decode(body, match.end())
        layout, _ = decoder.raw_decode(body, end + re.match(r"\s*,\s*", body[end:]).end())
        found[match.group(1)] = (data, layout)
    return found


def values(array: object) -> np.ndarray:
    """A trace array, plain or plotly's typed-array form (``{"dtype", "bdata"}``)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array if array is not None else [], dtype=object)


def ms(text: object) -> float:
    return pd.Timestamp(str(text)).value / 1e6


def plotly_breaks(rangebreaks: list[dict], lo: float, hi: float) -> list[list[float]]:
    """plotly.js 4 ``ax.locateBreaks``: the break intervals (ms) in [lo, hi], *as plotly merges them*.

    A new interval is folded into every earlier one it overlaps (and those are not merged with
    each other), so overlapping rangebreaks come out as overlapping intervals, which plotly then
    subtracts twice from the axis length.
    """

    def pattern(rb: dict) -> str:
        bounds = rb.get("bounds") or [""]
        guessed = "day of week" if str(bounds[0])[:3].lower() in WEEKDAYS else ""
        return str(rb.get("pattern", guessed) or "")

    merged: list[list[float]] = []

    def add(a: float, b: float) -> None:
        a, b = min(max(a, lo), hi), min(max(b, lo), hi)
        if a == b:
            return
        hit = False
        for q in merged:
            if a < q[1] and b >= q[0]:
                q[0], q[1], hit = min(q[0], a), max(q[1], b), True
        if not hit:
            merged.append([a, b])

    for rb in sorted(rangebreaks, key=lambda rb: pattern(rb) != "day of week"):
        if rb.get("enabled") is False:
            continue
        if "values" in rb:
            for v in rb["values"]:
                add(ms(v), ms(v) + rb.get("dvalue", MS_DAY))
            continue
        kind, (b0, b1) = pattern(rb), rb["bounds"]
        if not kind:
            add(*sorted((ms(b0), ms(b1))))
            continue
        start = pd.Timestamp(math.floor(lo) * 1_000_000)
        into_day = (start - start.normalize()).value / 1e6
        if kind == "day of week":
            b0, b1 = (WEEKDAYS.get(str(b)[:3].lower(), b) for b in (b0, b1))
            period, unit = 7 * MS_DAY, MS_DAY
            first = math.floor(lo) - ((start.dayofweek + 1) % 7) * MS_DAY - into_day + float(b0) * MS_DAY
        else:
            period, unit = MS_DAY, MS_HOUR
            first = math.floor(lo) - into_day + float(b0) * MS_HOUR
        length = ((period / unit if float(b1) < float(b0) else 0) + float(b1) - float(b0)) * unit
        t = first
        while t < hi:
            add(t, t + length)
            t += period
    return sorted(merged)


def axis_position(x: float, breaks: list[list[float]]) -> float:
    """plotly.js ``l2p`` up to scale: ``x`` less the breaks before it (a prefix of the sorted list)."""
    before = 0
    for i, (a, b) in enumerate(breaks):
        if x < a:
            break
        if x > b:
            before = i + 1
        else:
            before = i if x < (a + b) / 2 else i + 1
            break
    return x - sum(b - a for a, b in breaks[:before])


def assert_time_axes_sane(data: list[dict], layout: dict) -> None:
    """Each trace's x sorted, every x drawn in time order on its axis and none hidden by a
    rangebreak, no overlapping breaks (plotly subtracts an overlap twice: lines run backwards)."""
    by_axis: dict[str, list[dict]] = {}
    for trace in data:
        by_axis.setdefault(str(trace.get("xaxis", "x")), []).append(trace)
    for axis_id, traces in by_axis.items():
        axis = layout["xaxis" + axis_id[1:]]
        xs = {t.get("name"): [ms(x) for x in values(t.get("x")) if x is not None] for t in traces}
        for name, x in xs.items():
            assert x == sorted(x), f"{name}: x not sorted"
        every = sorted({x for x_ in xs.values() for x in x_})
        whole = all_days_view(layout).get("xaxis.range", axis.get("range"))  # candles open on one day
        lo, hi = (ms(whole[0]), ms(whole[1])) if whole is not None else (every[0], every[-1])
        assert lo <= every[0] and every[-1] <= hi, "the x range cuts data off"
        breaks = plotly_breaks(axis.get("rangebreaks", []), lo, hi)
        assert sum(b - a for a, b in breaks) < hi - lo, "the rangebreaks hide the whole axis"
        for first, second in itertools.pairwise(breaks):
            assert first[1] <= second[0], f"overlapping rangebreaks {first} {second}"
        hidden = [x for x in every if any(a <= x < b for a, b in breaks)]
        assert not hidden, f"points inside a rangebreak: {hidden[:3]}"
        position = [axis_position(x, breaks) for x in every]
        assert all(p < q for p, q in itertools.pairwise(position)), "the axis runs backwards"


def day_buttons(layout: dict) -> list[dict]:
    """The candlestick chart's day selector: one relayout button a day, then "all N days"."""
    (menu,) = layout["updatemenus"]
    return [b for b in menu["buttons"] if not b["label"].startswith("all ")]


def all_days_view(layout: dict) -> dict:
    for menu in layout.get("updatemenus", []):
        for button in menu["buttons"]:
            if button["label"].startswith("all "):
                return dict(button["args"][0])
    return {}


def assert_charts_sane(text: str) -> None:
    """Every chart of a report: time axes as above, candles present, no duplicate equity time."""
    for div, (data, layout) in figures(text).items():
        if div.startswith(("equity", "candles")):
            assert_time_axes_sane(data, layout)
        for trace in data:
            if trace["type"] == "candlestick":
                assert len(values(trace["x"])), f"{div}: no candles"
                assert len(values(trace["open"])) == len(values(trace["x"]))
        if div == "equity-chart":
            for trace in data:
                x = list(values(trace["x"]))
                assert len(set(x)) == len(x), "duplicate equity times"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("report") / "nested" / "report.html"
    assert write_report(sample_result(), path) == path
    return path.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# The single-backtest report


def test_report_is_self_contained_with_sections_in_order(report: str) -> None:
    assert_self_contained(report)
    positions = [report.index(f">{title}</h2>") for title in SECTIONS]
    assert positions == sorted(positions)
    assert report.count("Plotly.newPlot(") == 4  # equity, two candlestick charts, P&L histogram
    assert 'id="candles-AAPL"' in report
    assert 'id="candles-MSFT"' in report


def test_header_names_period_symbols_and_config(report: str) -> None:
    config = as_dict(tables(report)["config-table"])
    assert config["Period"] == ["2024-04-30 to 2024-05-02"]
    assert config["Symbols"] == ["AAPL, MSFT"]
    assert config["Exchange preset"] == ["base"]
    assert config["Validation"] == ["on"]
    assert config["strategy.reward_risk"] == ["2.00"]
    assert config["strategy.opening_range_minutes"] == ["15"]
    assert config["Initial capital"] == ["10,000.00"]


def test_summary_is_formatted(report: str) -> None:
    summary = as_dict(tables(report)["summary-table"])
    assert summary["Total return"] == ["1.23%"]
    assert summary["Final equity"] == ["10,094.50"]
    assert summary["Win rate"] == ["50.00%"]
    assert summary["Max drawdown"] == ["0.65%"]
    assert summary["Exposure"] == ["25.00%"]
    assert summary["Profit factor"] == ["2.44"]  # 160 / 65.5
    assert summary["N trades"] == ["4"]
    assert summary["Symbols"] == ["AAPL, MSFT"]


def test_per_symbol_table_matches_hand_computation(report: str) -> None:
    rows = tables(report)["symbol-table"]
    assert rows[0] == ["symbol", "Trades", "Win rate", "Total pnl", "Avg pnl", "Profit factor"]
    body = as_dict(rows[1:])
    # AAPL: +100, -40, +60 -> 2 of 3 win, total 120, mean 40, PF 160 / 40 = 4
    assert body["AAPL"] == ["3", "66.67%", "120.00", "40.00", "4.00"]
    # MSFT: one loss of 25.50 -> no gain, PF 0 / 25.5 = 0
    assert body["MSFT"] == ["1", "0.00%", "-25.50", "-25.50", "0.00"]


def test_per_month_table_matches_hand_computation(report: str) -> None:
    body = as_dict(tables(report)["month-table"][1:])
    # April: one trade +100, equity 10,000 -> 10,100 (+1%); May: 3 trades -40 -25.5 +60 = -5.5,
    # equity 10,100 -> 10,094.5: -5.5 / 10,100 = -0.0545%
    assert body["2024-04"] == ["1", "100.00", "1.00%"]
    assert body["2024-05"] == ["3", "-5.50", "-0.05%"]


def test_signal_tables(report: str) -> None:
    found = tables(report)
    counts = as_dict(found["signal-table"][1:])
    assert counts["AAPL"] == ["3", "3", "0"]
    assert counts["MSFT"] == ["3", "1", "2"]
    assert counts["all"] == ["6", "4", "2"]
    vetoes = as_dict(found["veto-table"][1:])
    # "trend ok" and "volume ...x >= ...x" also appear on accepted signals, so they are passes; the
    # two vetoes "volume 0.5x < 1.5x" and "volume 0.7x < 1.5x" group, their numbers as a range
    assert vetoes == {"volume 0.5..0.7x < 1.5x": ["2", "100.00%"], "trend weak": ["1", "50.00%"]}


def test_report_with_no_trades(tmp_path: Path) -> None:
    empty = trades_frame([])
    signals = pd.DataFrame(columns=SIGNAL_COLUMNS)
    result = sample_result(
        trades=empty,
        signals=signals,
        equity=equity_frame({d: 10_000.0 for d in DAYS}),
        summary={"n_trades": 0, "win_rate": None, "total_return": 0.0},
    )
    text = write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert_self_contained(text)
    assert text.count("No trades in this backtest.") == 2  # P&L and per symbol; months come from equity
    assert "No signals." in text
    assert "AAPL: no day with a trade or a signal." in text
    assert text.count("Plotly.newPlot(") == 1  # only the (flat) equity curve
    found = tables(text)
    assert "symbol-table" not in found
    assert "month-table" in found  # the equity months are still there, with 0 trades
    assert as_dict(found["month-table"][1:])["2024-05"] == ["0", "0.00", "0.00%"]
    assert as_dict(found["summary-table"])["Win rate"] == ["—"]


def test_report_without_bars_or_equity(tmp_path: Path) -> None:
    result = sample_result(bars={}, equity=pd.DataFrame({"cash": [], "equity": [], "exposed": []}))
    text = write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No equity samples." in text
    assert "Input bars were not kept" in text
    assert as_dict(tables(text)["month-table"][1:])["2024-04"] == ["1", "100.00", "—"]


def test_long_equity_curve_is_resampled_per_session(tmp_path: Path) -> None:
    days = [d.strftime("%Y-%m-%d") for d in pd.bdate_range("2023-01-02", periods=270)]  # 260 x 78 > 20,000
    days = [
        d
        for d in days
        if d
        not in {
            "2023-01-16",
            "2023-02-20",
            "2023-04-07",
            "2023-05-29",
            "2023-06-19",
            "2023-07-04",
            "2023-09-04",
            "2023-11-23",
            "2023-12-25",
            "2024-01-01",
        }
    ]
    equity = equity_frame({d: 10_000.0 + i for i, d in enumerate(days)})
    text = write_report(sample_result(equity=equity), tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"{260 * 78:,} equity samples: one point per session" in text
    assert_charts_sane(text)
    data, _ = figures(text)["equity-chart"]
    assert list(values(data[0]["x"])) == days


def test_short_equity_curve_is_not_resampled(report: str) -> None:
    assert "one point per session" not in report


def test_equity_points_resampling_by_hand() -> None:
    index = pd.DatetimeIndex(
        [
            ts("2024-05-01", "10:00"),
            ts("2024-05-01", "11:00"),
            ts("2024-05-01", "16:00"),
            ts("2024-05-02", "10:00"),
            ts("2024-05-02", "16:00"),
        ]
    )
    equity = pd.DataFrame({"equity": [100.0, 120.0, 110.0, 90.0, 130.0]}, index=index)
    full, resampled = equity_points(equity, 100.0, max_points=5)
    assert not resampled
    np.testing.assert_allclose(full["drawdown"], [0.0, 0.0, 110 / 120 - 1, 90 / 120 - 1, 0.0])
    daily, resampled = equity_points(equity, 100.0, max_points=4)
    assert resampled
    assert [d.strftime("%Y-%m-%d") for d in daily.index] == ["2024-05-01", "2024-05-02"]
    np.testing.assert_allclose(daily["equity"], [110.0, 130.0])
    np.testing.assert_allclose(daily["drawdown"], [110 / 120 - 1, 90 / 120 - 1])


def test_candles_show_at_most_the_last_days_with_activity(tmp_path: Path) -> None:
    days = [d.strftime("%Y-%m-%d") for d in pd.bdate_range("2024-03-01", periods=MAX_CANDLE_DAYS + 5)]
    signals = pd.DataFrame([signal("AAPL", d, False, "x") for d in days], columns=SIGNAL_COLUMNS)
    result = sample_result(bars={"AAPL": day_bars(days)}, trades=trades_frame([]), signals=signals)
    text = write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"AAPL: the last {MAX_CANDLE_DAYS} of {MAX_CANDLE_DAYS + 5} days with a trade or a signal;" in text
    chart = text[text.index('id="candles-AAPL"') :]
    chart = chart[: chart.index("</script>")]
    assert days[5] in chart  # the first shown day
    assert days[4] not in chart  # the last hidden one
    assert_charts_sane(text)


def test_charts_of_the_sample_report_are_sane(report: str) -> None:
    assert_charts_sane(report)
    assert set(figures(report)) == {"equity-chart", "candles-AAPL", "candles-MSFT", "pnl-chart"}


# Around Memorial Day (Mon 05-27), Juneteenth (Wed 06-19), the 13:00 close of 07-03 and 07-04.
HOLIDAY_DAYS = [
    d.strftime("%Y-%m-%d")
    for d in pd.bdate_range("2024-05-20", "2024-07-12")
    if d.strftime("%m-%d") not in {"05-27", "06-19", "07-04"}
]


def early_close(frame: pd.DataFrame, times: pd.Series | pd.DatetimeIndex, last: str) -> pd.DataFrame:
    """``frame`` without its rows after ``last`` on 2024-07-03 (the market closed at 13:00)."""
    local = pd.DatetimeIndex(times).tz_convert(NY)
    late = (local.strftime("%Y-%m-%d") == "2024-07-03") & (local.strftime("%H:%M") > last)
    return frame[~np.asarray(late)]


def holiday_result() -> BacktestResult:
    bars = day_bars(HOLIDAY_DAYS)
    bars = early_close(bars, bars["timestamp"], "12:55").reset_index(drop=True)  # stamped at the open
    equity = equity_frame({d: 10_000.0 + i for i, d in enumerate(HOLIDAY_DAYS)})
    equity = early_close(equity, equity.index, "13:00")  # stamped at the close
    active = [
        "2024-05-24",
        "2024-05-28",
        "2024-06-18",
        "2024-06-20",
        "2024-07-02",
        "2024-07-03",
        "2024-07-05",
    ]
    signals = pd.DataFrame([signal("AAPL", d, False, "x") for d in active], columns=SIGNAL_COLUMNS)
    rows = [
        trade("AAPL", "2024-07-05", 5.0, "eod"),
        trade("AAPL", "2024-05-24", -3.0, "stop"),
        trade("AAPL", "2024-07-03", 2.0, "eod"),
        trade("AAPL", "2024-05-28", 1.0, "eod"),
    ]
    rows[2]["exit_time"] = ts("2024-07-03", "12:38:20")  # off the 5m grid, an early-close day
    rows[1]["exit_time"] = ts("2024-05-24", "15:58")  # after the last candle's open
    return sample_result(bars={"AAPL": bars}, equity=equity, trades=trades_frame(rows), signals=signals)


def test_charts_hide_nights_weekends_holidays_and_early_closes_only(tmp_path: Path) -> None:
    result = holiday_result()
    text = write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert_charts_sane(text)
    charts = figures(text)
    data, layout = charts["equity-chart"]
    assert list(values(data[0]["x"])) == list(
        pd.DatetimeIndex(result.equity.index).strftime("%Y-%m-%d %H:%M")
    )
    assert all("values" not in rb and "pattern" not in rb for rb in layout["xaxis"]["rangebreaks"])
    # one break per overnight gap, the early close's afternoon included
    assert len(layout["xaxis"]["rangebreaks"]) == len(HOLIDAY_DAYS) - 1
    assert {"bounds": ["2024-07-03 13:02:30", "2024-07-05 09:32:30"]} in layout["xaxis"]["rangebreaks"]
    data, layout = charts["candles-AAPL"]
    traces = {t["name"]: t for t in data}
    days = sorted({x[:10] for x in values(traces["AAPL"]["x"])})
    assert days == [
        "2024-05-24",
        "2024-05-28",
        "2024-06-18",
        "2024-06-20",
        "2024-07-02",
        "2024-07-03",
        "2024-07-05",
    ]  # every day with a signal, none between
    assert len(values(traces["AAPL"]["x"])) == 7 * 78 - 36  # 07-03 ends at 12:55
    assert len(layout["xaxis"]["rangebreaks"]) == len(days) - 1
    assert [x for x in values(traces["range high"]["x"]) if x is not None][::2] == [
        f"{d} 09:30" for d in days
    ]
    # one day per view: the chart opens on the last day, x and y fitted to its candles and marks
    buttons = day_buttons(layout)
    assert [b["label"][4:] for b in buttons] == days
    views = {b["label"][4:]: b["args"][0] for b in buttons}
    assert layout["xaxis"]["range"] == views["2024-07-05"]["xaxis.range"]
    assert layout["yaxis"]["range"] == views["2024-07-05"]["yaxis.range"]
    assert views["2024-07-03"]["xaxis.range"] == ["2024-07-03 09:27:30", "2024-07-03 12:57:30"]
    assert views["2024-05-24"]["xaxis.range"][1] == "2024-05-24 16:00:30"  # the 15:58 stop exit
    assert all_days_view(layout)["xaxis.tickvals"] == [f"{d} 09:30" for d in days]  # a tick a day
    assert len(values(traces["entry"]["x"])) == 4
    assert list(values(traces["exit: eod"]["x"])) == [
        "2024-05-28 11:00",
        "2024-07-03 12:38",
        "2024-07-05 11:00",
    ]
    assert list(values(traces["exit: stop"]["x"])) == ["2024-05-24 15:58"]


def test_opening_ranges_prefer_signals_else_first_bars() -> None:
    bars = day_bars(["2024-05-01", "2024-05-02"]).set_index("timestamp")
    bars.index = bars.index.tz_localize(None)
    signals = pd.DataFrame([signal("AAPL", "2024-05-02", True, "", (123.0, 95.0))], columns=SIGNAL_COLUMNS)
    ranges = opening_ranges(bars, signals, minutes=15)
    # 2024-05-01: bars 09:30, 09:35, 09:40 open at 100.0, 100.1, 100.2: high 100.7, low 99.5
    assert ranges.loc[pd.Timestamp("2024-05-01"), "high"] == pytest.approx(100.7)
    assert ranges.loc[pd.Timestamp("2024-05-01"), "low"] == pytest.approx(99.5)
    assert tuple(ranges.loc[pd.Timestamp("2024-05-02")]) == (123.0, 95.0)
    assert opening_ranges(bars, signals.iloc[:0], minutes=5).loc[pd.Timestamp("2024-05-02"), "high"] == 100.5


def test_one_minute_bars_become_five_minute_candles(tmp_path: Path) -> None:
    stamps = pd.date_range(ts("2024-05-01", "09:30"), periods=390, freq="1min")
    o = 100.0 + 0.01 * np.arange(390)
    bars = pd.DataFrame(
        {"timestamp": stamps, "open": o, "high": o + 0.2, "low": o - 0.2, "close": o, "volume": 1}
    )
    result = sample_result(bars={"AAPL": bars}, trades=trades_frame([trade("AAPL", "2024-05-01", 5.0)]))
    text = write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    chart = text[text.index('id="candles-AAPL"') :]
    assert "2024-05-01 09:35" in chart
    assert "2024-05-01 09:31" not in chart


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("total_return", 0.1234, "12.34%"),
        ("max_drawdown", 0.0, "0.00%"),
        ("final_equity", 1234567.891, "1,234,567.89"),
        ("pnl", -3.0, "-3.00"),
        ("n_trades", 12, "12"),
        ("bars_processed", 23220, "23,220"),
        ("sharpe", 1.23456, "1.23"),
        ("profit_factor", 0.80657, "0.81"),
        ("exchange.fee_per_share", 0.005, "0.005"),
        ("exchange.slippage_size", 0.1, "0.1"),
        ("risk.risk_per_trade_pct", 0.01, "1.00%"),
        ("profit_factor", None, "—"),
        ("profit_factor", float("nan"), "—"),
        ("profit_factor", float("inf"), "∞"),
        ("validation.enabled", True, "yes"),
        ("symbols", ["AAPL", "MSFT"], "AAPL, MSFT"),
        ("start", "2024-05-01", "2024-05-01"),
    ],
)
def test_format_value(key: str, value: object, shown: str) -> None:
    assert format_value(key, value) == shown


# ---------------------------------------------------------------------------------------------
# Properties of the tables


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.sampled_from(["AAPL", "MSFT", "TSLA"]), st.floats(-1e4, 1e4)), min_size=1, max_size=40
    )
)
def test_symbol_table_partitions_the_trades(data: list[tuple[str, float]]) -> None:
    trades = pd.DataFrame({"symbol": [s for s, _ in data], "pnl": [p for _, p in data]})
    table = symbol_table(trades)
    assert table["trades"].sum() == len(data)
    assert table["total_pnl"].sum() == pytest.approx(sum(p for _, p in data), abs=1e-6)
    for symbol, row in table.iterrows():
        mine = [p for s, p in data if s == symbol]
        assert row["win_rate"] == pytest.approx(sum(p > 0 for p in mine) / len(mine))
        assert row["avg_pnl"] == pytest.approx(row["total_pnl"] / row["trades"])
        assert pd.isna(row["profit_factor"]) == (not any(p < 0 for p in mine))  # undefined without a loss


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(1.0, 1e6), min_size=1, max_size=60),
    per_day=st.integers(1, 7),
    cap=st.integers(1, 60),
)
def test_equity_points_keep_the_last_equity_and_the_deepest_drawdown(
    values: list[float], per_day: int, cap: int
) -> None:
    days = pd.bdate_range("2024-01-02", periods=len(values))
    stamps = [d + pd.Timedelta(hours=10, minutes=i) for i, d in enumerate(days.repeat(per_day))]
    equity = pd.DataFrame({"equity": np.repeat(values, per_day)}, index=pd.DatetimeIndex(stamps, tz=NY))
    points, resampled = equity_points(equity, 1.0, max_points=cap)
    full, _ = equity_points(equity, 1.0, max_points=10**9)
    assert resampled == (len(equity) > cap)
    assert (full["drawdown"] <= 0).all()
    assert points["drawdown"].min() == pytest.approx(full["drawdown"].min())
    assert points["equity"].iloc[-1] == full["equity"].iloc[-1]
    assert len(points) == (len(values) if resampled else len(equity))


@settings(max_examples=30, deadline=None)
@given(
    flags=st.lists(
        st.tuples(
            st.sampled_from(["A", "B"]),
            st.booleans(),
            st.sets(st.sampled_from(["ok", "r1 0.5x", "r2", "r3 12.5 ATR"])),
        ),
        max_size=30,
    )
)
def test_signal_and_veto_counts_are_consistent(flags: list[tuple[str, bool, set[str]]]) -> None:
    signals = pd.DataFrame(
        {
            "symbol": [s for s, _, _ in flags],
            "accepted": [a for _, a, _ in flags],
            "reasons": ["; ".join(sorted(r)) for _, _, r in flags],
        }
    )
    table = signal_table(signals)
    vetoed = sum(not a for _, a, _ in flags)
    assert table.loc["all"].tolist() == [len(flags), len(flags) - vetoed, vetoed]
    vetoes = veto_reasons(signals)
    assert vetoes["count"].is_monotonic_decreasing

    def pattern(reason: str) -> str:
        return reason.replace("12.5", "#").replace("0.5", "#")

    vetoes.index = [pattern(r) for r in vetoes.index]  # each reason has one number value here

    passes = {pattern(r) for _, a, rs in flags if a for r in rs}
    expected: dict[str, int] = {}
    for _, a, rs in flags:
        for r in {pattern(r) for r in rs} - passes if not a else ():
            expected[r] = expected.get(r, 0) + 1
    assert vetoes["count"].to_dict() == expected
    np.testing.assert_allclose(vetoes["share"], vetoes["count"] / max(vetoed, 1))


def test_month_table_without_equity_has_no_return() -> None:
    trades = trades_frame([trade("AAPL", "2024-05-01", 10.0), trade("AAPL", "2024-06-03", -4.0)])
    table = month_table(trades, pd.DataFrame({"equity": []}), 1000.0)
    assert table.to_dict("index") == {
        "2024-05": {"trades": 1, "pnl": 10.0, "return": None},
        "2024-06": {"trades": 1, "pnl": -4.0, "return": None},
    }


# ---------------------------------------------------------------------------------------------
# The sweep report


def sweep_table() -> pd.DataFrame:
    rows = []
    for rr in (1.5, 2.0):
        for orm in (15, 30):
            for short in (False, True):
                rows.append(
                    {
                        "strategy.reward_risk": rr,
                        "strategy.opening_range_minutes": orm,
                        "strategy.allow_short": short,
                        "sharpe": rr * 10 + orm + (5 if short else 0),
                        "total_return": 0.01 * rr,
                        "max_drawdown": 0.001 * orm,
                        "n_trades": 7,
                    }
                )
    return pd.DataFrame(rows)


def test_sweep_report_two_keys_is_a_heatmap(tmp_path: Path) -> None:
    table = sweep_table().query("`strategy.allow_short` == False")
    text = write_sweep_report(
        table, ["strategy.reward_risk", "strategy.opening_range_minutes"], "sharpe", tmp_path / "sweep.html"
    ).read_text(encoding="utf-8")
    assert_self_contained(text)
    assert '"type":"heatmap"' in text.replace(" ", "")
    assert "sharpe over strategy.reward_risk x strategy.opening_range_minutes" in text
    assert "mean over" not in text
    rows = tables(text)["sweep-table"]
    assert rows[0][:3] == ["rank", "Strategy.reward risk", "Strategy.opening range minutes"]
    # sharpe = 10 rr + orm: 50 (2.0, 30) > 45 (1.5, 30) > 35 (2.0, 15) > 30 (1.5, 15)
    ranked = [(r[1], r[2]) for r in rows[1:]]
    assert ranked == [("2.00", "30"), ("1.50", "30"), ("2.00", "15"), ("1.50", "15")]
    assert "Best: strategy.reward_risk=2.00, strategy.opening_range_minutes=30" in text


def test_sweep_report_three_keys_averages_the_others(tmp_path: Path) -> None:
    keys = ["strategy.reward_risk", "strategy.opening_range_minutes", "strategy.allow_short"]
    text = write_sweep_report(sweep_table(), keys, "sharpe", tmp_path / "s.html").read_text(encoding="utf-8")
    assert "(mean over strategy.allow_short)" in text
    # cell (rr 2.0, orm 30): mean of 50 and 55 = 52.5; the heatmap text shows the mean
    assert '"52.50"' in text
    assert len(tables(text)["sweep-table"]) == 1 + 8


def test_sweep_report_one_key_is_a_bar_chart(tmp_path: Path) -> None:
    table = sweep_table().query("`strategy.opening_range_minutes` == 15 and `strategy.allow_short` == False")
    text = write_sweep_report(table, ["strategy.reward_risk"], "total_return", tmp_path / "s.html").read_text(
        encoding="utf-8"
    )
    assert '"type":"bar"' in text.replace(" ", "")
    assert '"type":"heatmap"' not in text.replace(" ", "")
    body = tables(text)["sweep-table"][1:]
    assert [r[1] for r in body] == ["2.00", "1.50"]
    assert [r[5] for r in body] == ["2.00%", "1.50%"]  # the total_return column, as percent


def test_sweep_report_lower_drawdown_ranks_first(tmp_path: Path) -> None:
    keys = ["strategy.reward_risk", "strategy.opening_range_minutes"]
    path = write_sweep_report(sweep_table(), keys, "max_drawdown", tmp_path / "s.html")
    text = path.read_text(encoding="utf-8")
    body = tables(text)["sweep-table"][1:]
    assert [r[2] for r in body[:4]] == ["15"] * 4
    assert "lower is better" in text


def test_sweep_report_unknown_metric_names_columns(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown metric 'sharp'.*strategy\.reward_risk.*sharpe"):
        write_sweep_report(sweep_table(), ["strategy.reward_risk"], "sharp", tmp_path / "s.html")
    with pytest.raises(ValueError, match=r"sweep keys \['risk\.nope'\]"):
        write_sweep_report(sweep_table(), ["risk.nope"], "sharpe", tmp_path / "s.html")
    assert not (tmp_path / "s.html").exists()


# ---------------------------------------------------------------------------------------------
# End to end, on the real engine and the sample market


def test_report_from_a_real_sample_run(tmp_path: Path) -> None:
    try:
        from vibe_backtest.api import run_backtest

        result = run_backtest(symbols=["AAPL", "MSFT"], end="2024-06-14")
    except Exception as exc:  # the engine is not this file's subject
        pytest.skip(f"run_backtest() on the sample failed outside report.py: {exc!r}")
    text = write_report(result, tmp_path / "report.html").read_text(encoding="utf-8")
    assert_self_contained(text)
    assert_charts_sane(text)  # 2024-05-27 (Memorial Day) falls in the sample
    found = tables(text)
    n = len(result.trades)
    if n:
        body = as_dict(found["symbol-table"][1:])
        assert sum(int(v[0]) for v in body.values()) == n
        for symbol, group in result.trades.groupby("symbol"):
            assert body[symbol][2] == format_value("pnl", group["pnl"].sum())
    if len(result.signals):
        counts = as_dict(found["signal-table"][1:])
        assert counts["all"][:2] == [str(len(result.signals)), str(int(result.signals["accepted"].sum()))]
    reasons = [row[0] for row in found["veto-table"][1:]]
    assert reasons and not any("#" in r for r in reasons)  # the numbers are printed
    volume = next(r for r in reasons if r.startswith("volume") and "<" in r)
    low, high = re.fullmatch(r"volume (\d+\.\d+)\.\.(\d+\.\d+)x < 1\.50x", volume).groups()
    assert float(low) < float(high) <= 1.5


def test_a_strategy_without_an_opening_range_shows_nothing_of_orb(tmp_path: Path) -> None:
    base = sample_result()
    signals = base.signals.assign(range_high=np.nan, range_low=np.nan)
    pullback = config_from_dict({"strategy": {"name": "ema_pullback"}}).strategy  # no opening range
    config = attrs.evolve(base.config, strategy=pullback)
    result = attrs.evolve(base, signals=signals, config=config)
    text = write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert ">Price and trades</h2>" in text and "opening range" not in text.lower()
    for div, (data, layout) in figures(text).items():
        assert not any(str(t.get("name", "")).startswith("range") for t in data), div
        if div.startswith("candles"):
            assert layout["title"]["text"].endswith("5m bars, entries and exits")
    config_rows = as_dict(tables(text)["config-table"])
    assert config_rows["strategy.name"] == ["ema_pullback"] and "strategy.stop_buffer_pct" in config_rows
    assert not any("opening_range" in k for k in config_rows)
    # the same result with ORB's ranges draws them
    orb = write_report(base, tmp_path / "orb.html").read_text(encoding="utf-8")
    assert ">Price, opening range and trades</h2>" in orb
    assert any(t.get("name") == "range high" for t in figures(orb)["candles-AAPL"][0])


def test_the_sweep_table_scrolls_inside_its_container(tmp_path: Path) -> None:
    table = pd.DataFrame({f"strategy.key_{i}": [1.0, 2.0] for i in range(30)} | {"sharpe": [0.5, 1.0]})
    text = write_sweep_report(table, ["strategy.key_0"], "sharpe", tmp_path / "s.html").read_text()
    assert '<div class="wide"><table id="sweep-table">' in text
    assert re.search(r"\.wide \{[^}]*overflow-x: auto", text)
