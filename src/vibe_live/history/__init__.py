"""History for the live service: Yahoo warm-up, the archive of its own bars, and gap backfill.

Yahoo's bars come through the backtester's source (:func:`vibe_backtest.yahoo.fetch_yahoo`) and
its Parquet cache (``<cache_dir>/5m/SYMBOL.parquet``); nothing here talks to Yahoo another way.

- :mod:`~vibe_live.history.source`: :class:`YahooHistory`, that source with retries, backoff and a
  cache-first read; it never raises for an unreachable Yahoo (it says so instead).
- :mod:`~vibe_live.history.warmup`: how much history the config needs, and the logged ``Bar``
  events that warm the indicators up before the first live print.
- :mod:`~vibe_live.history.archive`: the 5m bars the service built from its prints, appended after
  each close to ``<cache_dir>/5m-<source>/SYMBOL.parquet`` (one folder per source: Yahoo's
  consolidated volume and Finnhub's IEX-only volume never share a file).
- :mod:`~vibe_live.history.gaps`: the intervals a session's log shows the feed missed.
- :mod:`~vibe_live.history.backfill`: Yahoo's bars for those gaps, marked recovered in the store.
- :mod:`~vibe_live.history.keeper`: :class:`HistoryKeeper`, the service's hook tying them together.
"""

from __future__ import annotations

from vibe_live.history.keeper import HistoryKeeper, make_history
from vibe_live.history.source import Fetched, YahooHistory

__all__ = ["Fetched", "HistoryKeeper", "YahooHistory", "make_history"]
