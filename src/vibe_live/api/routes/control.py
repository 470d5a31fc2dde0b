"""``POST /admin/pause|resume|close_all`` (the API key, always) and ``WS /ws/updates``: the live
service's own routes (a results folder has neither)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import anyio
import msgspec
from litestar import Controller, WebSocket, post, websocket
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, ServiceUnavailableException
from litestar.params import JSONBody, QueryParameter

from vibe_live.api.models import Accepted
from vibe_live.api.updates import UpdateHub
from vibe_live.commands import Command, CommandInbox, InboxFull, Kind

__all__ = ["AdminController", "updates"]

ANSWER_TIMEOUT_S = 10.0


class Reason(msgspec.Struct, kw_only=True):
    reason: Annotated[str, msgspec.Meta(max_length=200)] = "operator"


async def _submit(inbox: NamedDependency[CommandInbox], kind: Kind, reason: str) -> Accepted:
    command = Command(kind=kind, reason=reason)
    try:
        inbox.put(command)
    except InboxFull as exc:
        raise ServiceUnavailableException(str(exc)) from None
    with anyio.move_on_after(ANSWER_TIMEOUT_S):
        await command.done.wait()
    if not command.done.is_set():
        raise ServiceUnavailableException(
            f"the service did not apply the command within {ANSWER_TIMEOUT_S:.0f} s"
        )
    if command.seq is None:
        raise ClientException(command.error or "not applied", status_code=409)
    return Accepted(accepted=True, seq=command.seq)


class AdminController(Controller):
    """Operator controls: each becomes a logged event, applied by the service's step task. The app
    mounts it behind :class:`~vibe_live.api.auth.KeyGuard` whatever ``api.enable_auth`` says."""

    path = "/admin"
    tags: ClassVar[list[str]] = ["controls"]  # type: ignore[misc]

    @post("/pause", status_code=200)
    async def pause(self, inbox: NamedDependency[CommandInbox], data: JSONBody[Reason | None] = None) -> Accepted:
        """No new entries until resume (exits still work): a logged ``Pause``."""
        return await _submit(inbox, "pause", (data or Reason()).reason)

    @post("/resume", status_code=200)
    async def resume(self, inbox: NamedDependency[CommandInbox]) -> Accepted:
        """Entries allowed again: a logged ``Resume``."""
        return await _submit(inbox, "resume", "")

    @post("/close_all", status_code=200)
    async def close_all(self, inbox: NamedDependency[CommandInbox], data: JSONBody[Reason | None] = None) -> Accepted:
        """Cancel the working orders and flatten every position now: a logged ``CloseAll``."""
        return await _submit(inbox, "close_all", (data or Reason()).reason)


@websocket("/ws/updates")
async def updates(
    socket: WebSocket[Any, Any, Any],
    hub: NamedDependency[UpdateHub],
    since: Annotated[int | None, QueryParameter(ge=0, description="resume after this message number")] = None,
) -> None:
    """Numbered row messages (order, fill, trade, signal, halt) after ``since``, then the live stream,
    with the account, positions and health as they change."""
    await hub.serve(socket, since)
