"""The CSV writer's shortcuts give the text of the plain path: whole cents written from integers
(prices, cash) and the times of one table reused for the next table at the same instants
(bars.csv: every symbol at the same bar times)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_backtest.tables import Column, Table, column, csv_text, format_floats, time_column, write_csv

NY = "America/New_York"
CENTS = st.integers(-(10**10) + 1, 10**10 - 1)  # below 1e8 in size: the cents path


@settings(max_examples=200, deadline=None)
@given(st.lists(CENTS, min_size=1, max_size=40), st.booleans())
def test_whole_cents_are_percent_10g(cents: list[int], negative_zero: bool) -> None:
    values = [c / 100 for c in cents] + ([-0.0] if negative_zero else [])
    cells = format_floats(np.asarray(values, dtype=np.float64)).to_pylist()
    assert cells == [f"{v:.10g}" for v in values]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=6), st.integers(10, 200))
def test_a_column_of_few_cents_is_percent_10g(distinct: list[int], repeat: int) -> None:
    """Few distinct prices in a long column: each cent's text made once and taken per row."""
    rng = np.random.default_rng(len(distinct) * repeat)
    values = np.asarray(distinct, dtype=np.float64)[rng.integers(0, len(distinct), repeat)] / 100
    assert format_floats(values).to_pylist() == [f"{v:.10g}" for v in values.tolist()]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            CENTS.map(lambda c: c / 100),
            st.floats(allow_nan=True, allow_infinity=True),
            st.sampled_from([-0.0, 0.1 + 0.2, 9988.730000000001, 1e8, 1e-5]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_cents_mixed_with_other_values_are_percent_10g(values: list[float]) -> None:
    """Equity: most values whole cents, some float noise; orders: prices and NaN (no price)."""
    cells = format_floats(np.asarray(values, dtype=np.float64)).to_pylist()
    assert cells == ["" if v != v else f"{v:.10g}" for v in values]


def test_values_that_are_not_all_cents_take_the_plain_path() -> None:
    values = np.array([187.23, 187.2300000001, 1e-5, 1e9 + 0.5, np.nan, np.inf, 0.125, -3.0])
    assert format_floats(values).to_pylist() == ["" if v != v else f"{v:.10g}" for v in values.tolist()]


def _bars(symbol: str, ns: list[int], tz: str = "America/New_York") -> Table:
    n = len(ns)
    return Table(
        {
            "time": time_column(ns, tz),
            "symbol": Column("category", ([symbol], np.zeros(n, dtype=np.int64))),
            "close": column(np.arange(n, dtype=np.float64) / 4 + 100),
        }
    )


def _written(parts: list[Table]) -> str:
    out = io.BytesIO()
    write_csv(out, parts)
    return out.getvalue().decode()


def _plain(parts: list[Table]) -> str:
    texts = [csv_text(p) for p in parts]
    return texts[0] + "".join(t.split("\n", 1)[1] for t in texts[1:])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 4 * 10**9), min_size=1, max_size=12),
    st.lists(st.sampled_from(["same", "shifted", "shorter", "other zone"]), max_size=4),
)
def test_times_reused_across_tables_are_the_times_formatted_afresh(
    seconds: list[int], kinds: list[str]
) -> None:
    base = [s * 1_000_000_000 + (s % 3) * 1_000 for s in sorted(set(seconds))]
    parts = [_bars("AAPL", base)]
    for k, kind in enumerate(kinds):
        ns = {"same": base, "shifted": [t + 60_000_000_000 for t in base], "shorter": base[:-1] or base}.get(
            kind, base
        )
        parts.append(_bars(f"S{k}", ns, "Asia/Kolkata" if kind == "other zone" else "America/New_York"))
    assert _written(parts) == _plain(parts)


def test_times_reused_in_tables_of_several_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import vibe_backtest.tables as tables

    monkeypatch.setattr(tables, "CHUNK_ROWS", 7)  # chunks of 7 rows; table C starts 3 bars later
    ns = [1_700_000_000_000_000_000 + i * 300_000_000_000 for i in range(20)]
    parts = [_bars("A", ns), _bars("B", ns), _bars("C", ns[3:]), _bars("D", ns)]
    assert _written(parts) == _plain(parts)


VALUES = st.one_of(
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.none(),
    st.text(max_size=5),
    st.sampled_from([np.int64(3), np.float64(2.5), np.bool_(True), np.float32(1.5)]),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(VALUES, max_size=8), st.lists(st.sampled_from([1, 2.5, None]), max_size=8)))
def test_a_columns_kind_read_from_its_types_is_the_kind_read_value_by_value(items: list[object]) -> None:
    """``column`` decides plain Python lists by their types at once; the rule is ``_inferred``'s."""
    from vibe_backtest.tables import _inferred

    fast, slow = column(items), _inferred(list(items))
    assert fast.kind == slow.kind
    assert [type(v) for v in fast.values] == [type(v) for v in slow.values]
    assert [v if v == v else "nan" for v in fast.values] == [v if v == v else "nan" for v in slow.values]


def test_the_local_days_kept_for_the_next_file_are_only_reused_for_equal_times_and_zone() -> None:
    """data._local_days keeps its last answer (the files of a folder share their bar times)."""
    import datetime as dt
    import zoneinfo

    from vibe_backtest.data import _local_days

    def expected(ns: np.ndarray, tz: str) -> list[int]:
        zone, epoch = zoneinfo.ZoneInfo(tz), dt.date(1970, 1, 1)
        return [(dt.datetime.fromtimestamp(int(t) // 10**9, zone).date() - epoch).days for t in ns]

    ns = np.array([1_700_000_000, 1_700_050_000, 1_700_090_000], dtype=np.int64) * 1_000_000_000
    later = ns + 7 * 3600 * 10**9  # the first bar moves past midnight in New York
    cases = [(ns, NY), (ns.copy(), NY), (ns, "Asia/Kolkata"), (later, NY), (ns[:2], NY), (ns, NY)]
    for times, tz in cases:
        assert _local_days(times, tz).tolist() == expected(times, tz), (times, tz)
    assert expected(later, NY) != expected(ns, NY) != expected(ns, "Asia/Kolkata")
