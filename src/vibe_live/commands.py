"""Operator commands (the API's controls) to the service's step task: a bounded inbox.

The API's handler puts a command and waits for its answer; the step task, between two steps (and
woken from an idle wait), takes the commands, logs and applies each as its own event
(``Pause``/``Resume``/``CloseAll`` through ``Journal.feed``, like any event: replayed on recovery,
seen by the audit) and answers with the command's log position. Nothing but the step task ever
applies an event.
"""

from __future__ import annotations

import collections
from typing import Literal

import anyio
import attrs

from vibe_core.events import CloseAll, Event, Pause, Resume

__all__ = ["Command", "CommandInbox", "InboxFull", "Kind", "command_event"]

Kind = Literal["pause", "resume", "close_all"]


class InboxFull(RuntimeError):
    """Too many commands waiting: the step task is busy (or stopped)."""


@attrs.define(eq=False)
class Command:
    kind: Kind
    reason: str
    done: anyio.Event = attrs.Factory(anyio.Event)
    seq: int | None = None  #: its log position, once applied
    error: str | None = None  #: why it was not applied

    def answer(self, seq: int | None, error: str | None = None) -> None:
        self.seq, self.error = seq, error
        self.done.set()


class CommandInbox:
    """Bounded; :meth:`put` from a request, :meth:`take` and :meth:`woken` from the step task."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._queue: collections.deque[Command] = collections.deque()
        self._wake: anyio.CancelScope | None = None
        self.open = True

    def put(self, command: Command) -> None:
        if not self.open:
            raise InboxFull("the service is not taking commands (stopping, or the replay is over)")
        if len(self._queue) >= self.size:
            raise InboxFull(f"{self.size} commands are waiting already; try again")
        self._queue.append(command)
        if self._wake is not None:
            self._wake.cancel()

    def take(self) -> list[Command]:
        out = list(self._queue)
        self._queue.clear()
        return out

    def __len__(self) -> int:
        return len(self._queue)

    def wake_scope(self) -> anyio.CancelScope:
        """A scope for the step task's idle wait: a :meth:`put` cancels it (the task then takes the
        command). Already cancelled when a command is waiting."""
        scope = anyio.CancelScope()
        self._wake = scope
        if self._queue:
            scope.cancel()
        return scope

    def close(self) -> None:
        """No more commands: the waiting ones are answered with an error."""
        self.open = False
        for command in self.take():
            command.answer(None, "the service stopped before applying it")


def command_event(command: Command, ts: int, ts_recv: int) -> Event:
    """The logged event of ``command`` at event time ``ts``."""
    if command.kind == "pause":
        return Pause(ts=ts, reason=command.reason or "operator", ts_recv=ts_recv)
    if command.kind == "resume":
        return Resume(ts=ts, ts_recv=ts_recv)
    return CloseAll(ts=ts, reason=command.reason or "operator", ts_recv=ts_recv)
