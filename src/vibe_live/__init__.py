"""vibe_live: the anyio paper-trading service around the same core as the backtester.

Feeds (Finnhub over WebSocket, or stored bars replayed as prints) -> the SQLite write-ahead log ->
``vibe_core.engine.step`` -> the paper venue's fills, read tables, notifications (Discord outbox),
the monitoring API (Litestar), cloud copies of the store. ``vibe-live run`` (:mod:`vibe_live.cli`).
"""
