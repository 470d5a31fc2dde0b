"""``run_backtest``: the Python entry point for notebooks; the CLI is a thin layer over it."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from vibe_backtest.data import BarSeries, DataError, date_range, iter_bars, load_dir
from vibe_backtest.loop import run_loop
from vibe_backtest.results import BacktestResult
from vibe_backtest.sessions import cache_root, nyse_calendar
from vibe_core.calendar import SessionTable
from vibe_core.config import Config, config_from_dict

__all__ = ["run_backtest", "load_market", "calendar"]

Source = Literal["sample", "yahoo"]


@functools.cache
def calendar() -> SessionTable:
    """Every NYSE session exchange-calendars knows (about 20 years back, one year ahead).

    Kept on disk for the day (:mod:`vibe_backtest.sessions`): building it takes ~0.7 s.
    """
    return nyse_calendar()


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
    sessions = calendar()
    if data is not None and source is not None:
        raise DataError("give either data or source, not both")
    if isinstance(data, Mapping):
        market = {s.upper(): v for s, v in data.items() if wanted is None or s.upper() in wanted}
    elif data is not None:
        market = load_dir(data, wanted, tz=tz, sessions=sessions, start=start, end=end)
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
    if start is not None or end is not None:
        from vibe_backtest.data import day_bounds_ns

        lo, hi = day_bounds_ns(start, end)
        market = {s: v.between(lo, hi) for s, v in market.items()}
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
) -> BacktestResult:
    """Backtest ``config`` (default: ORB on the MVP symbols) over files, a mapping, the sample or Yahoo.

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
        loop = run_loop(iter_bars(market), cfg, sessions, on_progress=on_progress)
    finally:
        if bar is not None:
            bar.close()
    first, last = date_range(market)
    frames = {s: v.to_frame() for s, v in market.items()} if keep_bars else {}
    extra = {"start": first.isoformat(), "end": last.isoformat(), "symbols": list(market)}
    return BacktestResult.from_loop(loop, cfg, bars=frames, extra=extra)
