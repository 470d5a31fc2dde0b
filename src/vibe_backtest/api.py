"""``run_backtest``: the Python entry point for notebooks; the CLI is a thin layer over it."""

from __future__ import annotations

import datetime as dt
import functools
import warnings
import zoneinfo
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from vibe_backtest.data import (
    BarSeries,
    DataError,
    DataWarning,
    date_range,
    day_bounds_ns,
    load_dir,
)
from vibe_backtest.loop import run_market
from vibe_backtest.results import BacktestResult
from vibe_backtest.sessions import cache_root, nyse_calendar
from vibe_core.calendar import SessionTable
from vibe_core.config import Config, config_from_dict

__all__ = ["run_backtest", "load_market", "calendar", "check_tz", "check_window"]

Source = Literal["sample", "yahoo"]


@functools.cache
def calendar() -> SessionTable:
    """Every NYSE session exchange-calendars knows (about 20 years back, one year ahead).

    Kept on disk for the day (:mod:`vibe_backtest.sessions`): building it takes ~0.7 s.
    """
    return nyse_calendar()


def check_tz(tz: str) -> None:
    """Raise :class:`DataError` unless ``tz`` is an IANA time zone name."""
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DataError(
            f"unknown time zone {tz!r} (expected an IANA name such as America/New_York)"
        ) from None


def _day(value: dt.date | str, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DataError(f"{name} {value!r} is not a date YYYY-MM-DD") from None


def check_window(start: dt.date | str | None, end: dt.date | str | None) -> None:
    """Raise :class:`DataError` for a malformed date or a ``start`` after ``end``."""
    first = None if start is None else _day(start, "start")
    last = None if end is None else _day(end, "end")
    if first is not None and last is not None and first > last:
        raise DataError(f"start {first} is after end {last}")


def _clip(
    market: dict[str, BarSeries], start: dt.date | str | None, end: dt.date | str | None
) -> dict[str, BarSeries]:
    """Bars between ``start`` and ``end``; dates outside the data are reported, not dropped silently.

    No bar left: :class:`DataError`. Sessions asked for that the data does not reach: a
    :class:`DataWarning` with the range the data covers.
    """
    if (start is None and end is None) or all(len(v) == 0 for v in market.values()):
        return market
    first, last = date_range(market)
    lo, hi = day_bounds_ns(start, end)
    clipped = {s: v.between(lo, hi) for s, v in market.items()}
    asked_from = first if start is None else _day(start, "start")
    asked_to = last if end is None else _day(end, "end")
    covers = f"the data covers {first} to {last}"
    if all(len(v) == 0 for v in clipped.values()):
        raise DataError(f"no bars between {asked_from} and {asked_to}; {covers}")
    missing = [
        s.date for s in calendar().sessions if asked_from <= s.date < first or last < s.date <= asked_to
    ]
    if missing:
        shown = max(asked_from, first), min(asked_to, last)
        warnings.warn(
            DataWarning(
                f"no bars for {len(missing)} session(s) asked for between {asked_from} and {asked_to}; "
                f"{covers}, so the backtest runs from {shown[0]} to {shown[1]}"
            ),
            stacklevel=3,
        )
    return clipped


def load_market(
    data: Path | str | Mapping[str, BarSeries] | None = None,
    *,
    source: Source | None = None,
    symbols: Iterable[str] | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    tz: str = "America/New_York",
    cache_dir: Path | str | None = None,
) -> dict[str, BarSeries]:
    """Bars per symbol from a directory, a mapping, the sample market or Yahoo."""
    wanted = None if symbols is None else [s.upper() for s in symbols]
    check_tz(tz)
    check_window(start, end)
    sessions = calendar()
    if data is not None and source is not None:
        raise DataError("give either data or source, not both")
    if isinstance(data, Mapping):
        market = {s.upper(): v for s, v in data.items() if wanted is None or s.upper() in wanted}
    elif data is not None:
        market = load_dir(data, wanted, tz=tz, sessions=sessions)
    elif source in (None, "sample"):
        from vibe_backtest.sample import PROFILES, sample_market
        from vibe_core.config import MVP_SYMBOLS

        unknown = [s for s in wanted or () if s not in PROFILES]
        if unknown:
            raise DataError(
                f"unknown symbol(s) {', '.join(unknown)} in the sample market; it has: {', '.join(PROFILES)}"
            )
        market = sample_market(wanted or MVP_SYMBOLS, sessions=sessions)
    elif source == "yahoo":
        from vibe_backtest.yahoo import fetch_yahoo

        cache = Path(cache_dir) if cache_dir is not None else cache_root() / "yahoo"
        from vibe_core.config import MVP_SYMBOLS

        market = fetch_yahoo(wanted or list(MVP_SYMBOLS), cache_dir=cache, sessions=sessions)
    else:
        raise DataError(f"unknown source {source!r}; expected sample or yahoo")
    market = _clip(market, start, end)
    if not market or all(len(v) == 0 for v in market.values()):
        raise DataError("no bars to backtest (check --symbols, --start and --end)")
    return market


def run_backtest(
    data: Path | str | Mapping[str, BarSeries] | None = None,
    *,
    config: Config | Mapping[str, Any] | None = None,
    source: Source | None = None,
    symbols: Iterable[str] | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    tz: str = "America/New_York",
    cache_dir: Path | str | None = None,
    progress: bool = False,
    keep_bars: bool = True,
    skip: bool = True,
) -> BacktestResult:
    """Backtest ``config`` (default: ORB on the MVP symbols) over files, a mapping, the sample or Yahoo.

    ``skip=False`` steps the engine on every bar instead of only on the bars that could change
    something (:func:`vibe_backtest.loop.run_market`): the same results, slower.

    >>> result = run_backtest()            # the built-in sample market
    >>> result.summary["n_trades"], result.trades.head()
    """
    cfg = config if isinstance(config, Config) else config_from_dict(dict(config or {}))
    market = load_market(
        data, source=source, symbols=symbols or None, start=start, end=end, tz=tz, cache_dir=cache_dir
    )
    market = {s: v for s, v in market.items() if len(v)}
    if set(cfg.symbols) != set(market):
        import attrs

        cfg = attrs.evolve(cfg, symbols=tuple(market))
    sessions = calendar()
    total = sum(len(v) for v in market.values())
    bar: Any = None
    on_progress = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="bar", unit_scale=True, desc="backtest", leave=False, disable=None)
        on_progress = bar.update
    try:
        loop = run_market(market, cfg, sessions, on_progress=on_progress, skip=skip)
    finally:
        if bar is not None:
            bar.close()
    first, last = date_range(market)
    extra = {"start": first.isoformat(), "end": last.isoformat(), "symbols": list(market)}
    return BacktestResult.from_loop(loop, cfg, bars=market if keep_bars else {}, extra=extra)
