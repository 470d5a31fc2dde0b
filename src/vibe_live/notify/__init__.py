"""Discord notifications: a persistent outbox in the store, a rate-limited sender, coalescing and splitting.

Modules: :mod:`~vibe_live.notify.items` (one notification), :mod:`~vibe_live.notify.formatting`
(items from actions and service events), :mod:`~vibe_live.notify.packing` (coalescing, embed
limits, splitting), :mod:`~vibe_live.notify.outbox` (the SQLite outbox),
:mod:`~vibe_live.notify.ratelimit` and :mod:`~vibe_live.notify.sender` (the webhook sender),
:mod:`~vibe_live.notify.notifier` (the service's hooks).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vibe_live.logs import LOGGER

if TYPE_CHECKING:
    from vibe_live.notify.notifier import DiscordNotifier

__all__ = ["DiscordNotifier", "enabled", "make_notifier"]


def __getattr__(name: str) -> Any:
    if name == "DiscordNotifier":  # imported on use: a service without notifications never loads httpx
        from vibe_live.notify.notifier import DiscordNotifier

        return DiscordNotifier
    raise AttributeError(name)


def enabled(settings: Any) -> bool:
    """``features.enable_notifications`` and ``notifications.enabled`` both on."""
    return bool(settings.features.enable_notifications and settings.notifications.enabled)


def make_notifier(settings: Any, db: Path | str) -> DiscordNotifier | None:
    """The notifier of the service over the store at ``db`` (opened first), or None when switched off.

    Switched on without a webhook URL: a warning, and None (the service runs without it).
    """
    if not enabled(settings):
        return None
    if not settings.notifications.discord_webhook_url:
        LOGGER.warning(
            "notifications on but no webhook",
            extra={
                "event": "notifications on but no webhook",
                "fields": {"note": "set VIBE__NOTIFICATIONS__DISCORD_WEBHOOK_URL; running without"},
            },
        )
        return None
    from vibe_live.notify.notifier import DiscordNotifier

    notifier = DiscordNotifier(settings.notifications, db)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return notifier
