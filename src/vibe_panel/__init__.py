"""vibe_panel: the Panel dashboard; it reads only the monitoring API (live, or over a finished backtest)."""
