"""Yahoo history for the live service: the backtester's source and cache, with retries and backoff.

State: the cache folder, the session table, the download function (``yf.download``; a fake in
tests), the retry policy.
Consumes: symbols, how many days back, the instant the bars must have ended by.
Emits: :class:`Fetched`: per symbol the bars (cache merged with what Yahoo sent), and a
``problem`` when Yahoo gave nothing usable after every attempt.
Invariants: never raises for an unreachable Yahoo (offline, rate limit, empty frame, hang): each
attempt is bounded by ``timeout`` (:func:`vibe_backtest.yahoo.fetch_yahoo` runs the download in a
daemon thread), failures are retried ``retries`` times with a doubling backoff, then the cache is
all there is. A cache that already covers what is asked is read without any network call.
Blocking: call it from a worker thread (``anyio.to_thread``), never on the event loop.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import pandas as pd

from vibe_backtest.data import BarSeries, DataError, load_file
from vibe_backtest.yahoo import Downloader, cache_path, fetch_yahoo
from vibe_core.calendar import SessionTable
from vibe_core.types import Timeframe

__all__ = ["Fetched", "YahooHistory", "YAHOO_DAYS"]

YAHOO_DAYS = 60  #: Yahoo serves 5m bars for the last 60 calendar days only (protocols.md C3)
_DAY_NS = 86_400 * 10**9
_M5 = Timeframe.M5


@attrs.frozen
class Fetched:
    """What a fetch gave: ``bars`` per symbol (possibly only the cache), ``problem`` when Yahoo failed."""

    bars: dict[str, BarSeries]
    problem: str | None = None
    attempts: int = 0  #: Yahoo calls made (0: the cache was enough)


@attrs.define
class YahooHistory:
    """:func:`~vibe_backtest.yahoo.fetch_yahoo` with retries; see the module docstring."""

    cache_dir: Path = attrs.field(converter=Path)
    sessions: SessionTable
    downloader: Downloader | None = None  #: ``None``: the real ``yf.download``
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 2.0
    sleep: Callable[[float], None] = time.sleep

    def cached(self, symbols: Sequence[str]) -> dict[str, BarSeries]:
        """The cached Yahoo bars of ``symbols`` (those with a cache file)."""
        out = {}
        for sym in symbols:
            path = cache_path(self.cache_dir, sym)
            if path.is_file():
                out[sym.upper()] = load_file(path, symbol=sym, source="yahoo", timeframe=_M5)
        return out

    def fetch(
        self,
        symbols: Sequence[str],
        *,
        since_ns: int,
        until_ns: int | None = None,
        covered_by: int | None = None,
    ) -> Fetched:
        """Bars of ``symbols`` from ``since_ns`` on, ended by ``until_ns`` (default: now).

        ``covered_by``: when the cache of every symbol already has a bar ending at or after this
        time, no call is made. The download asks for the days from ``since_ns`` (at most Yahoo's
        60); older bars can only come from the cache.
        """
        wanted = [s.upper() for s in symbols]
        if covered_by is not None:
            cached = self.cached(wanted)
            if all(
                s in cached and len(cached[s]) and int(cached[s].ts[-1]) + _M5.ns >= covered_by
                for s in wanted
            ):
                return Fetched(cached)
        now = time.time_ns() if until_ns is None else until_ns
        days = min(YAHOO_DAYS, max(1, math.ceil((now - since_ns) / _DAY_NS) + 1))
        problem: str | None = "no attempt"
        for attempt in range(1, self.retries + 1):
            bars, problem = self._attempt(wanted, days, now)
            if problem is None:
                return Fetched(bars, attempts=attempt)
            if attempt < self.retries:
                self.sleep(self.backoff * 2 ** (attempt - 1))
        return Fetched(self.cached(wanted), problem=problem or "no data", attempts=self.retries)

    def _attempt(self, symbols: list[str], days: int, now: int) -> tuple[dict[str, BarSeries], str | None]:
        """One call: the bars and ``None``, or ``({}, why)`` when Yahoo sent nothing usable."""
        seen: dict[str, Any] = {}  # this attempt's outcome (a timed-out thread writes into its own)
        base = self.downloader

        def download(*args: Any, **kwargs: Any) -> pd.DataFrame:
            nonlocal base
            if base is None:
                from vibe_backtest.yahoo import _yfinance_downloader

                base = _yfinance_downloader(self.cache_dir)
            try:
                frame = base(*args, **kwargs)
            except Exception as exc:  # fetch_yahoo turns it into "no data"; keep the reason
                seen["error"] = f"{type(exc).__name__}: {exc}"
                raise
            seen["rows"] = 0 if frame is None else len(frame)
            return frame

        started = time.monotonic()
        try:
            bars = fetch_yahoo(
                symbols,
                cache_dir=self.cache_dir,
                sessions=self.sessions,
                days=days,
                downloader=download,
                timeout=self.timeout,
                now_ns=now,
            )
        except DataError as exc:
            return {}, str(exc)
        if not seen.get("rows"):
            if "error" in seen:
                return {}, f"Yahoo failed ({seen['error']})"
            if "rows" in seen:
                return {}, "Yahoo returned an empty frame (offline or rate-limited?)"
            waited = time.monotonic() - started
            return {}, f"Yahoo did not answer ({waited:.1f} s, timeout {self.timeout:g} s)"
        return bars, None
