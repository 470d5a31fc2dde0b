"""The webhook sender: one task per webhook draining the outbox to Discord, never on the trading path.

State: the request window, the webhook's and the process's gates, failure counts, ``stats``, and
``stopped`` once the webhook is gone. Consumes: the outbox's pending rows, Discord's answers.
Emits: ``POST``s, ``sent``/``parts_sent``/``failed`` commits, log lines. Invariants: one request in
flight at a time; a row is marked sent only after a 2xx for its last part; no request starts before
the window and both gates allow it.

What goes out next (:meth:`WebhookSender.choose`): once the oldest pending item is ``coalesce_ms``
old, the longest run of pending items (in commit order) that fits one message, coalesced; an item
too big for one message goes alone, split over several (its delivered parts are counted, so a
restart resumes with the next part). An urgent item is never coalesced and cuts the window short:
the items committed before it go at once when they fit :data:`URGENT_BEHIND` messages (order
kept), else the urgent one goes first. ``coalesce_ms=0``: one item per message, at once.

Each request: at most ``rate_limit`` starts in any ``rate_period_s`` seconds, then the webhook's
gate (``X-RateLimit-Remaining: 0`` closes it for ``X-RateLimit-Reset-After``; a 429 for its
``retry_after``) and the process-wide gate (a 429 with ``global: true`` or ``X-RateLimit-Global``).
The URL is rewritten to the versioned ``/api/v10/`` form, where ``retry_after`` is in seconds, and
asks ``?wait=true`` so that a 2xx means the message was saved. A 5xx or a network error is retried
after a jittered exponential backoff (capped at ``backoff_max_s``); 401, 403 and 404 (the webhook
is deleted or its token wrong) stop the sender with an error log, keeping the outbox for a fixed
webhook; any other 4xx (a 400 names a body Discord refuses) marks those items failed, with the
answer, and goes on.

The HTTP call and the commit of ``sent`` after it are not cancelled half-way (a shield bounded by
the request timeout), so the only duplicate is a crash between Discord's 2xx and that commit.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx

from vibe_live.logs import LOGGER
from vibe_live.notify.items import Item
from vibe_live.notify.outbox import Outbox, OutboxRow
from vibe_live.notify.packing import EMBEDS, FIELDS, TOTAL, Message, item_messages, size
from vibe_live.notify.ratelimit import GLOBAL_GATE, Gate, RequestWindow, backoff

__all__ = ["WebhookSender", "versioned_url", "mask_url", "API_VERSION", "URGENT_BEHIND"]

API_VERSION = 10
URGENT_BEHIND = 3  #: an urgent item waits behind at most this many messages, else it goes first
_GONE = (401, 403, 404)


def versioned_url(url: str) -> str:
    """``…/api/webhooks/ID/TOKEN`` (the form Discord hands out, API v6) as ``…/api/v10/webhooks/…``."""
    parts = urlsplit(url)
    path = parts.path
    if path.startswith("/api/webhooks/"):
        path = f"/api/v{API_VERSION}/webhooks/" + path.removeprefix("/api/webhooks/")
    return urlunsplit(parts._replace(path=path))


def mask_url(url: str) -> str:
    """The URL without its token (for logs): ``https://discord.com/api/v10/webhooks/123/***``."""
    parts = urlsplit(url)
    head, _, _ = parts.path.rpartition("/")
    return urlunsplit(parts._replace(path=f"{head}/***", query=""))


def _raw_size(item: Item) -> int:
    """The characters an item brings to a message at the least (its texts, before any layout)."""
    return size(item.title) + size(item.description) + sum(size(n) + size(v) for n, v in item.fields)


def _log(event: str, level: int = logging.INFO, **fields: object) -> None:
    LOGGER.log(level, event, extra={"event": event, "fields": fields})


class _Gone(Exception):
    pass


class WebhookSender:
    """Drains ``outbox`` to the webhook at ``url``: :meth:`run` it in the service's task group."""

    def __init__(
        self,
        url: str,
        outbox: Outbox,
        *,
        coalesce_ms: int = 2000,
        rate_limit: int = 5,
        rate_period_s: float = 2.0,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        request_timeout_s: float = 3.0,
        username: str = "vibe",
        global_gate: Gate = GLOBAL_GATE,
        seed: int | None = None,
    ) -> None:
        self.url = versioned_url(url)
        self.outbox = outbox
        self.coalesce_ns = coalesce_ms * 1_000_000
        self.window = RequestWindow(rate_limit, rate_period_s)
        self.route = Gate()
        self.global_gate = global_gate
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.request_timeout_s = request_timeout_s
        self.username = username
        self.stats: Counter[str] = Counter()
        self.stopped: str | None = None  #: why the webhook was given up (401/403/404), else None
        self.hurry = False  #: shutdown: send without waiting for the coalescing window
        self.running = False
        self._rng = random.Random(seed)
        self._wake = anyio.Event()
        self._windowed = False  #: waiting for a coalescing window to end

    def poke(self, *, urgent: bool = True) -> None:
        """New items were committed: look again now (while a coalescing window runs: urgent ones only)."""
        if urgent or not self._windowed:
            self._wake.set()

    # -- choosing ------------------------------------------------------------------------------

    def choose(self, now_ns: int) -> tuple[list[OutboxRow], list[Message]] | float | None:
        """What to send next: rows and their messages, or seconds to wait, or None (nothing pending)."""
        urgent = self.outbox.first_urgent()
        rows = self.outbox.pending(EMBEDS * FIELDS)
        if urgent is not None:
            before = [r for r in rows if r.id < urgent.id]
            if before and len(item_messages([r.item for r in before])) <= URGENT_BEHIND:
                return self._run_of(before)  # the window is cut short: what came first goes first
            return [urgent], item_messages([urgent.item])
        if not rows:
            return None
        first = rows[0]
        if self.coalesce_ns == 0 or first.parts_sent > 0:
            return [first], item_messages([first.item])
        due = first.created + self.coalesce_ns
        if now_ns < due and not self.hurry:
            return (due - now_ns) / 1e9
        return self._run_of(rows)

    @staticmethod
    def _run_of(rows: Sequence[OutboxRow]) -> tuple[list[OutboxRow], list[Message]]:
        """The longest run from ``rows[0]`` that fits one message (or ``rows[0]`` alone, in parts).

        Candidates stop at an urgent or part-sent row and once their raw text passes the 6000
        characters of a message (packing only adds); a binary search over the prefix length finds
        the longest that packs into one message (at worst a shorter one, never one that does not fit).
        """
        first = [rows[0]]
        messages = item_messages([rows[0].item])
        if len(messages) > 1 or rows[0].parts_sent > 0 or rows[0].item.urgent:
            return first, messages
        candidates, text = 1, _raw_size(rows[0].item)
        for row in rows[1:]:
            text += _raw_size(row.item)
            if row.item.urgent or row.parts_sent > 0 or text > TOTAL:
                break
            candidates += 1
        fits, low, high = messages, 1, candidates  # rows[:low] fits one message
        while low < high:
            mid = (low + high + 1) // 2
            trial = item_messages([r.item for r in rows[:mid]])
            if len(trial) == 1:
                fits, low = trial, mid
            else:
                high = mid - 1
        return list(rows[:low]), fits

    # -- running -------------------------------------------------------------------------------

    async def run(self, *, until_empty: bool = False, client: httpx.AsyncClient | None = None) -> None:
        """Send until cancelled (``until_empty``: now, until nothing is pending) or the webhook is gone."""
        if self.stopped is not None:
            return
        self.hurry = self.hurry or until_empty  # draining: no coalescing wait
        self.running = True
        own = client is None
        http = client or httpx.AsyncClient(
            timeout=self.request_timeout_s, headers={"User-Agent": "vibe (notifications)"}
        )
        try:
            while self.stopped is None:
                self._wake = anyio.Event()
                choice = self.choose(time.time_ns())
                if choice is None:
                    if until_empty:
                        return
                    await self._wake.wait()
                elif isinstance(choice, float):
                    self._windowed = True
                    try:
                        with anyio.move_on_after(choice):
                            await self._wake.wait()
                    finally:
                        self._windowed = False
                else:
                    await self._deliver(http, *choice)
        except _Gone:
            return
        finally:
            self.running = False
            if own:
                with anyio.CancelScope(shield=True):
                    await http.aclose()

    async def _deliver(
        self, http: httpx.AsyncClient, rows: Sequence[OutboxRow], messages: list[Message]
    ) -> None:
        ids = [r.id for r in rows]
        start = rows[0].parts_sent if len(rows) == 1 else 0
        for part in range(start, len(messages)):
            payload: dict[str, Any] = {
                "username": self.username,
                "embeds": messages[part],
                "allowed_mentions": {"parse": []},
            }
            refused = await self._post(http, payload)
            if refused is not None:
                self.outbox.mark_failed(ids, refused)
                self.stats["failed_items"] += len(ids)
                _log("discord refused a message", logging.ERROR, answer=refused, items=len(ids))
                return
            if part == len(messages) - 1:
                self.outbox.mark_sent(ids)
                self.stats["sent_items"] += len(ids)
            else:
                self.outbox.mark_part(ids[0], part + 1)

    async def _post(self, http: httpx.AsyncClient, payload: dict[str, Any]) -> str | None:
        """POST until a 2xx (None) or a refusal for good (Discord's answer); raises :class:`_Gone`."""
        failures = 0
        while True:
            await self.window.acquire()
            await self.route.wait()
            await self.global_gate.wait()
            try:
                with anyio.CancelScope(shield=True):
                    response = await http.post(self.url, params={"wait": "true"}, json=payload)
            except httpx.HTTPError as exc:
                failures += 1
                self.stats["network_errors"] += 1
                await self._back_off(failures, f"{type(exc).__name__}: {exc}")
                continue
            self.stats["requests"] += 1
            status = response.status_code
            self._read_headers(response)
            if 200 <= status < 300:
                self.stats["messages"] += 1
                return None
            if status == 429:
                self._rate_limited(response)
                continue
            body = response.text[:500]
            if status in _GONE:
                pending = self.outbox.counts()["pending"]
                self.stopped = f"{status} {body}".strip()
                _log(
                    "ALERT discord webhook refused: notifications stopped",
                    logging.CRITICAL,
                    status=status,
                    answer=body,
                    webhook=mask_url(self.url),
                    kept=pending,
                    note="the outbox is kept; fix notifications.discord_webhook_url and restart",
                )
                raise _Gone(status)
            if status >= 500:
                failures += 1
                self.stats["server_errors"] += 1
                await self._back_off(failures, f"{status} {body}")
                continue
            return f"{status} {body}"

    def _read_headers(self, response: httpx.Response) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset_after = response.headers.get("X-RateLimit-Reset-After")
        if remaining is not None and reset_after is not None:
            try:
                if int(float(remaining)) <= 0:
                    self.route.close_for(float(reset_after))
            except ValueError:
                pass

    def _rate_limited(self, response: httpx.Response) -> None:
        retry_after: float | None = None
        is_global = response.headers.get("X-RateLimit-Global", "").lower() == "true"
        try:
            body = response.json()
            retry_after = float(body["retry_after"])
            is_global = is_global or bool(body.get("global"))
        except (ValueError, KeyError, TypeError):
            pass
        if retry_after is None:
            try:
                retry_after = float(response.headers.get("Retry-After", "1"))
            except ValueError:
                retry_after = 1.0
        gate = self.global_gate if is_global else self.route
        gate.close_for(retry_after)
        self.stats["rate_limited_global" if is_global else "rate_limited"] += 1
        _log(
            "discord rate limit",
            logging.WARNING,
            retry_after=retry_after,
            scope="global" if is_global else response.headers.get("X-RateLimit-Scope", "webhook"),
        )

    async def _back_off(self, failures: int, why: str) -> None:
        delay = backoff(failures, base=self.backoff_base_s, cap=self.backoff_max_s, rng=self._rng)
        self.stats["backoffs"] += 1
        token = urlsplit(self.url).path.rpartition("/")[2]
        shown = why.replace(token, "***") if token else why
        _log("discord unreachable: retrying", logging.WARNING, error=shown[:200], retry_in=f"{delay:.2f} s")
        await anyio.sleep(delay)
