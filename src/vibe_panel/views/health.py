"""Health: feed connection, last print age per symbol, reconnects, gaps, errors, uptime, and the
dashboard's own link to the update stream."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import panel as pn

from vibe_panel import frames

__all__ = ["HealthView", "duration"]


def duration(seconds: float) -> str:
    """``3725.2`` -> ``1h 02m 05s``."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


class HealthView:
    def __init__(self) -> None:
        self.summary = pn.pane.Markdown("", css_classes=["vibe-health"], sizing_mode="stretch_width")
        self.ages = pn.widgets.Tabulator(
            frames.health_frame({}), disabled=True, show_index=False, width=320, label="last prints"
        )
        self.gaps = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.stream = pn.pane.Markdown("", css_classes=["vibe-stream"])
        self.panel = pn.Column(
            self.summary, self.stream, pn.Row(self.ages, self.gaps), sizing_mode="stretch_width"
        )

    def update(self, health: Mapping[str, Any]) -> None:
        feed = health.get("feed") or {}
        connected = "connected" if feed.get("connected") else "**disconnected**"
        rss = health.get("rss_bytes")
        lines = [
            f"**Feed** {connected} · reconnects {feed.get('reconnects', 0)} · "
            f"last data {frames.ny_time(health.get('last_data_time')) or 'none'}",
            f"**Uptime** {duration(float(health.get('uptime_seconds') or 0.0))} · errors in the last hour "
            f"{health.get('errors_last_hour', 0)} · CPU {health.get('cpu_percent') or 0:.0f}% · "
            f"RSS {(rss or 0) / 2**20:.0f} MiB",
        ]
        self.summary.object = "\n\n".join(lines)
        ages = frames.health_frame(health)
        if not ages.equals(self.ages.value):
            self.ages.value = ages
        gaps = health.get("gaps") or []
        self.gaps.object = (
            "**Gaps**\n\n"
            + "\n".join(
                f"- {g.get('symbol')} {frames.ny_time(g.get('from'))} .. {frames.ny_time(g.get('to'))}"
                f" {'recovered' if g.get('recovered') else '**not recovered**'}"
                for g in gaps[-20:]
            )
            if gaps
            else "**Gaps** none"
        )

    def show_stream(self, text: str) -> None:
        self.stream.object = text
