"""vibe_live: the anyio paper-trading service (Finnhub feed, paper broker, SQLite log, API).

Not built yet: it arrives with the next issues. The core already speaks its language (trade prints,
``Clock`` events, operator commands, snapshots).
"""
