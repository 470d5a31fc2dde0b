"""The monitoring API (Litestar): health, Prometheus metrics, the read routes, the update stream and
the guarded operator controls, over a live service or a finished backtest (docs/api.md)."""

from vibe_live.api.app import create_app

__all__ = ["create_app"]
