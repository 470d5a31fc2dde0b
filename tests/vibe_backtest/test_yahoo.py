"""The Yahoo source with its Parquet cache (vibe_backtest.yahoo), against a fake yfinance."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from tests.fakes.yahoo import FakeYahoo, default_bars, history_frame, rate_limit_error

from vibe_backtest.data import DataError, load_file
from vibe_backtest.yahoo import cache_path, fetch_yahoo, merge_series, normalize_download
from vibe_core.types import Timeframe

FIVE = 300 * 10**9
DAY = 86_400 * 10**9


@pytest.fixture(scope="module")
def bars() -> dict[str, pd.DataFrame]:
    return default_bars(["AAPL", "TSLA", "MSFT"])


def stamps(frame: pd.DataFrame) -> np.ndarray:
    return frame.index.as_unit("ns").asi8


def end_of(frame: pd.DataFrame) -> int:
    """An instant after the last bar has closed."""
    return int(stamps(frame)[-1]) + FIVE


def fetch(fake: FakeYahoo, symbols, tmp_path, sessions, **kwargs):
    kwargs.setdefault("now_ns", max(end_of(f) for f in fake.bars.values()) if fake.bars else None)
    return fetch_yahoo(symbols, cache_dir=tmp_path, sessions=sessions, downloader=fake, **kwargs)


# --------------------------------------------------------------------------------------------
# Normalising yfinance's shapes


def test_single_ticker_download_is_multiindex_and_normalised(bars):
    frame = FakeYahoo(bars=bars)(["AAPL"], period="60d", interval="5m")
    assert isinstance(frame.columns, pd.MultiIndex)
    assert list(frame.columns.names) == ["Price", "Ticker"]
    assert str(frame.index.dtype) == "datetime64[us, America/New_York]"
    out = normalize_download(frame, ["AAPL"])
    assert list(out) == ["AAPL"]
    got = out["AAPL"]
    assert list(got.columns) == ["timestamp", "open", "high", "low", "close", "volume"]
    assert pd.DatetimeIndex(got["timestamp"]).as_unit("ns").asi8.tolist() == stamps(bars["AAPL"]).tolist()
    assert got["close"].tolist() == bars["AAPL"]["Close"].tolist()
    assert got["volume"].tolist() == bars["AAPL"]["Volume"].astype(float).tolist()


def test_multi_ticker_outer_join_rows_are_dropped(bars):
    holed = {**bars, "TSLA": bars["TSLA"].drop(bars["TSLA"].index[[3, 40, 41]])}
    frame = FakeYahoo(bars=holed)(["AAPL", "TSLA"], period="60d", interval="5m")
    assert frame["Close"]["TSLA"].isna().sum() == 3  # yfinance's outer join
    out = normalize_download(frame, ["AAPL", "TSLA"])
    assert len(out["AAPL"]) == len(bars["AAPL"])
    assert len(out["TSLA"]) == len(bars["TSLA"]) - 3
    assert (
        pd.DatetimeIndex(out["TSLA"]["timestamp"]).as_unit("ns").asi8.tolist()
        == stamps(holed["TSLA"]).tolist()
    )


@pytest.mark.parametrize("shape", ["flat", "history", "utc", "by_ticker", "naive"])
def test_other_shapes_normalise_the_same(bars, shape):
    fake = FakeYahoo(bars=bars)
    reference = normalize_download(fake(["MSFT"], period="60d", interval="5m"), ["MSFT"])["MSFT"]
    if shape == "flat":
        frame = fake(["MSFT"], period="60d", interval="5m", multi_level_index=False)
        assert not isinstance(frame.columns, pd.MultiIndex)
    elif shape == "history":  # Ticker.history(): flat, with Dividends and Stock Splits
        frame = bars["MSFT"]
        assert "Stock Splits" in frame.columns
    elif shape == "utc":  # yfinance < 1.4 returned intraday download() in UTC
        frame = fake(["MSFT"], period="60d", interval="5m")
        frame.index = frame.index.tz_convert("UTC")
    elif shape == "by_ticker":
        frame = fake(["MSFT"], period="60d", interval="5m", group_by="ticker")
        assert list(frame.columns.names) == ["Ticker", "Price"]
    else:  # ignore_tz=True: naive exchange time
        frame = fake(["MSFT"], period="60d", interval="5m", ignore_tz=True)
        assert frame.index.tz is None
    pd.testing.assert_frame_equal(normalize_download(frame, ["MSFT"])["MSFT"], reference)


def test_offline_and_failed_shapes_give_nothing(bars):
    offline = FakeYahoo(bars=bars, offline=True)(["AAPL"], period="60d", interval="5m")
    assert offline.shape == (0, 6)
    assert ("Adj Close", "AAPL") in offline.columns
    assert normalize_download(offline, ["AAPL"]) == {}
    limited = FakeYahoo(bars=bars, failing={"TSLA": rate_limit_error()})(
        ["AAPL", "TSLA"], period="60d", interval="5m"
    )
    assert ("Adj Close", "TSLA") in limited.columns
    assert limited.xs("TSLA", axis=1, level="Ticker").isna().all().all()
    assert list(normalize_download(limited, ["AAPL", "TSLA"])) == ["AAPL"]
    assert normalize_download(None, ["AAPL"]) == {}


# --------------------------------------------------------------------------------------------
# fetch_yahoo: cache, merge, failures


def test_fetch_writes_the_cache(bars, tmp_path, sessions):
    fake = FakeYahoo(bars=bars)
    got = fetch(fake, ["aapl", "TSLA"], tmp_path, sessions)
    assert list(got) == ["AAPL", "TSLA"]
    call = fake.calls[0]
    assert call["tickers"] == ["AAPL", "TSLA"]
    assert (call["interval"], call["period"], call["prepost"], call["progress"]) == (
        "5m",
        "60d",
        False,
        False,
    )
    for sym, series in got.items():
        assert series.source == "yahoo"
        assert series.timeframe is Timeframe.M5
        assert series.ts.tolist() == stamps(bars[sym]).tolist()
        assert series.close.tolist() == bars[sym]["Close"].tolist()
        path = tmp_path / "5m" / f"{sym}.parquet"
        assert cache_path(tmp_path, sym) == path
        assert load_file(path, source="yahoo") == series


def test_cache_merges_and_newest_wins(bars, tmp_path, sessions):
    full = bars["AAPL"]
    t = stamps(full)
    early = full[t < t[0] + 10 * DAY]
    late = full[t >= t[0] + 5 * DAY].copy()
    overlap = stamps(late) < t[0] + 10 * DAY
    late.loc[overlap, "Close"] = late.loc[overlap, "Open"]  # a revised bar: still consistent
    fetch(FakeYahoo(bars={"AAPL": early}), ["AAPL"], tmp_path, sessions)
    got = fetch(FakeYahoo(bars={"AAPL": late}), ["AAPL"], tmp_path, sessions)["AAPL"]
    assert got.ts.tolist() == t.tolist()
    expected = full["Close"].to_numpy().copy()
    expected[np.isin(t, stamps(late))] = late["Close"].to_numpy()
    assert (expected != full["Close"].to_numpy()).sum() > 10  # the revision is visible
    assert got.close.tolist() == expected.tolist()
    assert load_file(cache_path(tmp_path, "AAPL"), source="yahoo") == got


def test_archive_grows_past_the_window(bars, tmp_path, sessions):
    full = bars["MSFT"]
    t = stamps(full)
    cut = t[0] + 7 * DAY
    fake = FakeYahoo(bars={"MSFT": full}, now_ns=int(cut))
    first = fetch(fake, ["MSFT"], tmp_path, sessions, days=3, now_ns=int(cut))["MSFT"]
    assert first.ts.max() < cut
    assert first.ts.min() >= cut - 3 * DAY
    fake.now_ns = end_of(full)
    second = fetch(fake, ["MSFT"], tmp_path, sessions, days=3)["MSFT"]
    assert set(first.ts.tolist()) <= set(second.ts.tolist())
    assert second.ts.min() == first.ts.min()
    assert second.ts.max() == t[-1]


def test_still_forming_bar_is_dropped(bars, tmp_path, sessions):
    last = int(stamps(bars["AAPL"])[-1])
    got = fetch(FakeYahoo(bars=bars), ["AAPL"], tmp_path, sessions, now_ns=last + 120 * 10**9)["AAPL"]
    assert last not in set(got.ts.tolist())
    assert len(got) == len(bars["AAPL"]) - 1


def test_extended_hours_rows_are_dropped(bars, tmp_path, sessions):
    base = bars["AAPL"]
    after = stamps(base)[-1] + np.arange(1, 4) * FIVE  # 16:00, 16:05, 16:10
    extra = history_frame(after, [100.0] * 3, [101.0] * 3, [99.0] * 3, [100.5] * 3, [10] * 3)
    got = fetch(FakeYahoo(bars={"AAPL": pd.concat([base, extra])}), ["AAPL"], tmp_path, sessions)["AAPL"]
    assert got.ts.tolist() == stamps(base).tolist()
    assert got.dropped_extended == 3


def test_offline_without_cache_is_a_clear_error(bars, tmp_path, sessions):
    with pytest.raises(DataError) as info:
        fetch(FakeYahoo(bars=bars, offline=True), ["AAPL"], tmp_path, sessions)
    message = str(info.value)
    assert "Yahoo returned no data for AAPL" in message
    assert "offline or rate-limited?" in message
    assert str(tmp_path / "5m") in message


def test_offline_with_cache_warns_and_uses_it(bars, tmp_path, sessions, caplog):
    cached = fetch(FakeYahoo(bars=bars), ["AAPL"], tmp_path, sessions)["AAPL"]
    with caplog.at_level(logging.WARNING, logger="vibe_backtest.yahoo"):
        got = fetch(FakeYahoo(bars=bars, offline=True), ["AAPL"], tmp_path, sessions)
    assert got["AAPL"] == cached
    (record,) = [r for r in caplog.records if r.name == "vibe_backtest.yahoo"]
    assert "Yahoo returned no data for AAPL" in record.getMessage()
    assert f"Using the cache at {cache_path(tmp_path, 'AAPL')}" in record.getMessage()


def test_rate_limited_ticker_all_nan(bars, tmp_path, sessions):
    fake = FakeYahoo(bars=bars, failing={"TSLA": rate_limit_error()})
    with pytest.raises(DataError, match=r"Yahoo returned no data for TSLA:") as info:
        fetch(fake, ["AAPL", "TSLA"], tmp_path, sessions)
    assert "AAPL" not in str(info.value).split(":")[1]
    assert cache_path(tmp_path, "AAPL").exists()  # the good ticker still reached the archive
    assert not cache_path(tmp_path, "TSLA").exists()


def test_rate_limited_ticker_falls_back_to_its_cache(bars, tmp_path, sessions, caplog):
    first = fetch(FakeYahoo(bars=bars), ["AAPL", "TSLA"], tmp_path, sessions)
    fake = FakeYahoo(bars=bars, failing={"TSLA": rate_limit_error()})
    with caplog.at_level(logging.WARNING, logger="vibe_backtest.yahoo"):
        got = fetch(fake, ["AAPL", "TSLA"], tmp_path, sessions)
    assert got == first
    ours = [r.getMessage() for r in caplog.records if r.name == "vibe_backtest.yahoo"]
    assert [m.split(":")[0] for m in ours] == ["Yahoo returned no data for TSLA"]


def test_rate_limit_raised_by_the_downloader(tmp_path, sessions):
    def history_style(tickers, **_):
        raise rate_limit_error()  # Ticker.history() re-raises YFRateLimitError

    with pytest.raises(DataError, match=r"rate-limited \(YFRateLimitError: Too Many Requests"):
        fetch_yahoo(["AAPL"], cache_dir=tmp_path, sessions=sessions, downloader=history_style)


def test_black_holed_network_times_out(bars, tmp_path, sessions, caplog):
    sleeper = FakeYahoo(bars=bars, sleep=5.0)
    with pytest.raises(DataError, match=r"no answer within 0\.5 s"):
        fetch(sleeper, ["AAPL"], tmp_path, sessions, timeout=0.5)
    cached = fetch(FakeYahoo(bars=bars), ["AAPL"], tmp_path, sessions)["AAPL"]
    with caplog.at_level(logging.WARNING, logger="vibe_backtest.yahoo"):
        got = fetch(sleeper, ["AAPL"], tmp_path, sessions, timeout=0.5)
    assert got["AAPL"] == cached
    (record,) = [r for r in caplog.records if r.name == "vibe_backtest.yahoo"]
    assert "no answer within 0.5 s" in record.getMessage()


def test_bad_yahoo_rows_are_rejected_with_their_source(bars, tmp_path, sessions):
    broken = bars["AAPL"].copy()
    broken.iloc[7, broken.columns.get_loc("High")] = broken["Low"].iloc[7] - 1.0
    with pytest.raises(DataError, match=r"yahoo AAPL: row 8 .*high .* < low"):
        fetch(FakeYahoo(bars={"AAPL": broken}), ["AAPL"], tmp_path, sessions)


@pytest.mark.parametrize("interval", ["15m", "2m", "1d"])
def test_unsupported_interval(tmp_path, sessions, interval):
    with pytest.raises(DataError, match=f"interval '{interval}' is not supported"):
        fetch_yahoo(
            ["AAPL"], cache_dir=tmp_path, sessions=sessions, interval=interval, downloader=FakeYahoo()
        )


def test_one_minute_asks_for_at_most_seven_days(tmp_path, sessions):
    fake = FakeYahoo(offline=True)
    with pytest.raises(DataError):
        fetch_yahoo(["AAPL"], cache_dir=tmp_path, sessions=sessions, interval="1m", downloader=fake)
    assert (fake.calls[0]["interval"], fake.calls[0]["period"]) == ("1m", "7d")


def test_merge_series_rejects_other_bar_sizes(bars, tmp_path, sessions):
    five = fetch(FakeYahoo(bars=bars), ["AAPL"], tmp_path, sessions)["AAPL"]
    import attrs

    one = attrs.evolve(five, timeframe=Timeframe.M1)
    with pytest.raises(DataError, match="cached bars are 1m, downloaded bars are 5m"):
        merge_series(one, five)
    assert merge_series(None, five) is five


def test_default_downloader_redirects_yfinance_caches(tmp_path, monkeypatch):
    import yfinance

    from vibe_backtest import yahoo

    seen = []
    calls = []
    monkeypatch.setattr(yfinance, "set_tz_cache_location", seen.append)

    def fake_download(*args, **kwargs):
        import warnings

        warnings.warn("yfinance noise", FutureWarning, stacklevel=1)
        calls.append((args, kwargs))
        return pd.DataFrame()

    monkeypatch.setattr(yfinance, "download", fake_download)
    download = yahoo._yfinance_downloader(tmp_path)
    assert download("AAPL", interval="5m").empty  # the wrapper calls yf.download, warnings silenced
    assert calls == [(("AAPL",), {"interval": "5m"})]
    assert seen == [str(tmp_path / "yfinance")]
    assert (tmp_path / "yfinance").is_dir()
