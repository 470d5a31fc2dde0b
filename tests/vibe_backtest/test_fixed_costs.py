"""The fixed costs of a ``vibe-backtest run``: what it imports, how it writes its files, how it exits.

- a run over Parquet/CSV files, with its report or without, imports neither pandas, nor plotly's
  Python package, nor yaml, nor ``pyarrow.compute`` (its kernels are called through
  ``pyarrow._compute``; checked in a fresh interpreter: this process has them all), and those
  kernel calls give what ``pyarrow.compute``'s functions give;
- the CSV writer (Arrow string kernels) gives pandas' ``to_csv`` bytes for every kind of column,
  and a run's files read back (pandas, ``vibe-live serve-results``' reader) as the result's frames;
- the pyarrow reader gives the same bars as the pandas reader for every layout it accepts;
- the command exits by ``os._exit`` with its exit code, its output flushed.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_backtest.api import calendar, run_backtest
from vibe_backtest.arrow import arrow_cast, from_numpy, kernel, strings, to_bools, to_numpy
from vibe_backtest.data import bars_from_frame, load_file
from vibe_backtest.results import BacktestResult
from vibe_backtest.sample import write_sample
from vibe_backtest.settings import _load, _scalar
from vibe_backtest.tables import Column, Table, column, csv_text, format_floats, time_column

SRC = str(Path(__file__).resolve().parents[2] / "src")
NY = "America/New_York"


def _child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}  # the same session cache as this process (calendar())
    return subprocess.run(
        [sys.executable, *(["-c", code] if code else []), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def market_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("markets")
    dirs = {}
    for fmt in ("parquet", "csv"):
        write_sample(root / fmt, fmt, symbols=["AAPL", "MSFT"], sessions=calendar(), n_sessions=8)  # type: ignore[arg-type]
        dirs[fmt] = root / fmt
    return dirs


# ---------------------------------------------------------------------------------------------
# Imports

HEAVY = ("pandas", "plotly", "yaml", "tqdm", "dask", "narwhals", "pyarrow.compute")
RUN = f"""
import sys
from vibe_backtest.cli import main
code = main(sys.argv[1:])
print({{"code": code, "loaded": [m for m in {HEAVY!r} if m in sys.modules]}})
"""


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("report", [False, True])
def test_a_run_over_files_imports_no_pandas_plotly_yaml_or_pyarrow_compute(
    market_dirs: dict[str, Path], tmp_path: Path, fmt: str, report: bool
) -> None:
    args = ["run", "--data", str(market_dirs[fmt]), "--out", str(tmp_path / "out"), "--quiet"]
    args += ["--set", "exchange.preset=optimistic", "--set", "validation.enabled=false"]
    args += [] if report else ["--no-report"]
    done = _child(RUN, *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str({"code": 0, "loaded": []})
    assert (tmp_path / "out" / "report.html").is_file() is report
    if report:
        text = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
        assert text.count("* plotly.js v") == 1 and "Plotly.newPlot(" in text


def test_importing_the_package_loads_nothing_heavy() -> None:
    done = _child(f"import sys, vibe_backtest.cli; print([m for m in {HEAVY!r} if m in sys.modules])")
    assert done.stdout.strip() == "[]", done.stderr


def test_the_kernel_calls_are_pyarrow_computes() -> None:
    import pyarrow.compute as pc
    from pyarrow._compute import MatchSubstringOptions, ReplaceSubstringOptions, TrimOptions

    words = strings(["a,b", '"q"', "-0.5", "", "x.y.z"])
    assert kernel("replace_substring", words, options=ReplaceSubstringOptions(".", "")).equals(
        pc.replace_substring(words, ".", "")
    )
    assert kernel("utf8_ltrim", words, options=TrimOptions("-0")).equals(pc.utf8_ltrim(words, "-0"))
    needs = kernel("match_substring_regex", words, options=MatchSubstringOptions('[,"]'))
    assert needs.equals(pc.match_substring_regex(words, '[,"]')) and needs.to_pylist()[:3] == [
        True,
        True,
        False,
    ]
    plus = strings(["+"])[0]
    assert kernel("binary_join_element_wise", words, words, plus).equals(
        pc.binary_join_element_wise(words, words, plus)
    )
    assert kernel("any", needs).as_py() is True and kernel("all", needs).as_py() is False


def test_cast_is_a_safe_cast_and_bools_take_nulls_as_false() -> None:
    import pyarrow as pa

    big = from_numpy(np.array([1, 2**40], dtype=np.int64))
    with pytest.raises(pa.ArrowInvalid):  # Array.cast's default: overflow raises
        arrow_cast(big, pa.int32())
    with pytest.raises(pa.ArrowInvalid):  # and so does truncation
        arrow_cast(from_numpy(np.array([1.5])), pa.int64())
    assert to_numpy(
        arrow_cast(from_numpy(np.array([3, -4], dtype=np.int32)), pa.int64()), np.int64
    ).tolist() == [3, -4]
    flags = from_numpy(np.array([True, False, True]))
    assert flags.type == pa.bool_() and flags.to_pylist() == [True, False, True]
    holed = pa.Array.from_buffers(pa.bool_(), 3, [pa.py_buffer(bytes([0b101])), pa.py_buffer(bytes([0b011]))])
    assert holed.to_pylist() == [True, None, False]
    assert to_bools(holed).tolist() == [True, False, False]


# ---------------------------------------------------------------------------------------------
# The command's exit


def test_the_command_exits_with_its_code_and_flushed_output(
    market_dirs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = _child("", "-m", "vibe_backtest.cli", "run", "--data", str(market_dirs["csv"]), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"results in {out}/" in done.stdout  # printed after the files, before os._exit
    assert json.loads((out / "summary.json").read_text())["symbols"] == ["AAPL", "MSFT"]
    bad = _child("", "-m", "vibe_backtest.cli", "run", "--data", str(tmp_path / "nowhere"), "--out", str(out))
    assert bad.returncode == 2
    assert "no such folder" in bad.stderr


# ---------------------------------------------------------------------------------------------
# CSV bytes: the Arrow writer against pandas' to_csv (what the files were before)

FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=-1e6, max_value=1e6, places=4, allow_nan=False).map(float),
    st.integers(-(10**12), 10**12).map(float),
    st.floats(min_value=1e-6, max_value=1e-3),
)
TEXT = st.one_of(
    st.none(), st.text(st.characters(codec="utf-8"), max_size=12), st.sampled_from(["a,b", 'q"r', "x\ny"])
)
SECONDS = st.integers(946_684_800, 2_051_222_400)
NANOS = st.sampled_from([0, 0, 0, 500_000_000, 1_000, 1, 999_999_999])


def _pandas_csv(frame: pd.DataFrame) -> str:
    """The files as pandas wrote them: ISO times with offsets, %.10g floats, no index."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = [t.isoformat() for t in out[name]]
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, float_format="%.10g")
    return buffer.getvalue()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(FLOATS, st.integers(-(10**15), 10**15), st.booleans(), TEXT, SECONDS, NANOS), max_size=25
    ),
    st.sampled_from([NY, "UTC", "Asia/Kolkata"]),
)
def test_csv_bytes_equal_pandas_to_csv(rows: list[tuple], zone: str) -> None:
    floats, ints, flags, texts, seconds, nanos = (
        (list(c) for c in zip(*rows, strict=True)) if rows else ([],) * 6
    )
    stamps = [s * 10**9 + n for s, n in zip(seconds, nanos, strict=True)]
    table = Table(
        {
            "time": time_column(stamps, zone),
            "x": column(np.asarray(floats, dtype=np.float64)) if rows else column([]),
            "n": column(ints),
            "ok": column(flags),
            "why": column(texts),
        }
    )
    assert csv_text(table) == _pandas_csv(table.to_frame())


@settings(max_examples=200, deadline=None)
@given(st.lists(FLOATS, max_size=50))
def test_float_cells_are_percent_10g(values: list[float]) -> None:
    cells = format_floats(np.asarray(values, dtype=np.float64)).to_pylist()
    assert cells == ["" if math.isnan(v) else f"{v:.10g}" for v in values]


def test_columns_take_the_kind_pandas_infers() -> None:
    assert column([1, 2]).kind == "int"
    assert column([1, None]).kind == "float"  # pandas: float64, NaN shown as an empty cell
    assert column([1.5, 2]).kind == "float"
    assert column([True, False]).kind == "bool"
    assert column([True, None]).kind == "str"  # object: True, empty
    assert column(["a", None]).kind == "str"
    assert column([None, None]).kind == "str"
    text = csv_text(
        Table(
            {
                "a": column([1, None]),
                "b": column([True, None]),
                "c": Column("category", (["X"], np.zeros(2, dtype=np.int64))),
            }
        )
    )
    assert text == "a,b,c\n1,True,X\n,,X\n"


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[BacktestResult, Path]:
    result = run_backtest(symbols=["AAPL", "MSFT"], config={"exchange": {"preset": "pessimistic"}})
    out = result.write(tmp_path_factory.mktemp("run") / "out", report=False)
    return result, out


@pytest.mark.parametrize("name", ["trades", "orders", "fills", "signals", "gaps", "equity"])
def test_the_files_read_back_as_the_result_frames(sample_run: tuple[BacktestResult, Path], name: str) -> None:
    result, out = sample_run
    frame = getattr(result, name)
    if name == "equity":
        frame = frame[["cash", "equity"]].reset_index()
    back = pd.read_csv(out / f"{name}.csv")
    assert list(back.columns) == list(frame.columns)
    assert len(back) == len(frame)
    for col in frame.columns:
        mine, theirs = frame[col], back[col]
        if isinstance(mine.dtype, pd.DatetimeTZDtype):
            parsed = pd.to_datetime(theirs, utc=True) if len(theirs) else theirs
            assert list(parsed) == list(mine.dt.tz_convert("UTC"))
        elif mine.dtype.kind == "f":
            np.testing.assert_allclose(
                theirs.to_numpy(dtype=float), mine.to_numpy(), rtol=1e-9, equal_nan=True
            )
        elif len(mine):
            shown = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in mine]
            assert ["" if isinstance(v, float) and math.isnan(v) else str(v) for v in theirs] == shown


def test_serve_results_reads_the_folder(sample_run: tuple[BacktestResult, Path]) -> None:
    pytest.importorskip("litestar")
    from vibe_live.api.results_source import ResultsSource

    result, out = sample_run
    source = ResultsSource(out)
    assert source.symbols() == ["AAPL", "MSFT"]
    assert len(source._trades) == len(result.trades)
    assert source._eq_value == pytest.approx(result.equity["equity"].tolist(), rel=1e-9)


def test_bars_csv_is_the_input_bars(sample_run: tuple[BacktestResult, Path]) -> None:
    result, out = sample_run
    back = pd.read_csv(out / "bars.csv")
    whole = result.bars_frame()
    assert list(back["symbol"]) == list(whole["symbol"])
    assert list(pd.to_datetime(back["time"], utc=True)) == list(whole["time"].dt.tz_convert("UTC"))
    np.testing.assert_allclose(
        back[["open", "high", "low", "close", "volume"]], whole[["open", "high", "low", "close", "volume"]]
    )


# ---------------------------------------------------------------------------------------------
# The Arrow reader gives the pandas reader's bars


def _frames() -> dict[str, pd.DataFrame]:
    stamps = pd.date_range("2024-05-01 09:30", periods=6, freq="5min", tz=NY)
    prices = {"open": [100.0, 101, 102, 103, 104, 105], "high": [101.0, 102, 103, 104, 105, 106],
              "low": [99.5, 100, 101, 102, 103, 104], "close": [100.5, 101.5, 102.5, 103.5, 104.5, 105.5],
              "volume": [1000, 0, 5, 7, 9, 11]}  # fmt: skip
    iso = [t.isoformat() for t in stamps]
    naive = [t.strftime("%Y-%m-%d %H:%M:%S") for t in stamps]
    epoch_ms = [t.value // 10**6 for t in stamps]
    return {
        "iso offsets": pd.DataFrame({"timestamp": iso, **prices}),
        "naive local": pd.DataFrame({"Datetime": naive, **{k.capitalize(): v for k, v in prices.items()}}),
        "epoch ms": pd.DataFrame({"time": epoch_ms, **prices}),
        "utc z": pd.DataFrame(
            {"date": [t.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ") for t in stamps], **prices}
        ),
    }


@pytest.mark.parametrize("layout", list(_frames()))
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_arrow_reader_equals_the_pandas_reader(tmp_path: Path, layout: str, fmt: str) -> None:
    frame = _frames()[layout]
    path = tmp_path / f"AAPL.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
        again = pd.read_csv(path)
    else:
        frame.to_parquet(path, index=False)
        again = pd.read_parquet(path)
    fast = load_file(path, sessions=calendar())
    slow = bars_from_frame(again, symbol="AAPL", label=str(path), sessions=calendar())
    assert fast == slow


def test_a_parquet_datetime_index_is_read_as_the_time(tmp_path: Path) -> None:
    frame = _frames()["iso offsets"]
    indexed = frame.assign(timestamp=pd.to_datetime(frame["timestamp"], utc=True)).set_index("timestamp")
    indexed.to_parquet(tmp_path / "AAPL.parquet")
    fast = load_file(tmp_path / "AAPL.parquet")
    slow = bars_from_frame(pd.read_parquet(tmp_path / "AAPL.parquet"), symbol="AAPL", label="x")
    assert fast == slow
    assert dt.datetime.fromtimestamp(int(fast.ts[0]) / 1e9, dt.UTC).hour == 13  # 09:30 EDT


# ---------------------------------------------------------------------------------------------
# --set values without yaml


@pytest.mark.parametrize(
    "raw",
    ["optimistic", "false", "False", "FALSE", "fAlse", "on", "OFF", "y", "n", "yes", "null", "Null", "~", "",
     "12", "-3", "0", "012", "1_000", "1.5", "-0.25", ".5", "1e3", "0x1F", "14:30", "a b", "[1,2]", "abc_def",
     "A1", "2024-01-02", "x-y", "nan", ".inf"],
)  # fmt: skip
def test_set_values_read_as_yaml_reads_them(raw: str) -> None:
    import yaml

    try:
        value = _load(raw) if raw else ""
    except yaml.YAMLError:
        value = raw
    expected = raw if isinstance(value, (dict, list)) or value is None else value
    got = _scalar(raw)
    assert (got, type(got)) == (expected, type(expected))
