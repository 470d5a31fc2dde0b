"""The frame stream between the service's feed task and its step task.

The feed task sends chunks of frames (one frame at a time from a paced or live feed, up to
:data:`CHUNK` from an unpaced replay, which saves a task switch per frame); the step task takes them
one at a time (:meth:`FrameStream.next`) and may look at the frames already received, in its chunk
or queued in the stream (:meth:`FrameStream.peek`, :meth:`FrameStream.take`), to commit several
together.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from vibe_live.feeds import Frame, MarketFeed

__all__ = ["CHUNK", "FrameStream", "frames"]

CHUNK = 64  #: frames per chunk from an unpaced replay


class FrameStream:
    """The step task's side of the frame stream: chunks in, one frame at a time out."""

    def __init__(self, stream: MemoryObjectReceiveStream[list[Frame]]) -> None:
        self._stream = stream
        self._buffer: list[Frame] = []
        self._at = 0

    async def next(self) -> Frame:
        """The next frame; ``anyio.EndOfStream`` after the last. Cancelling it loses nothing."""
        if self._at >= len(self._buffer):
            self._buffer, self._at = await self._stream.receive(), 0
        frame = self._buffer[self._at]
        self._at += 1
        return frame

    @property
    def buffered(self) -> int:
        """Frames received and not taken yet."""
        return len(self._buffer) - self._at

    def peek(self) -> Frame | None:
        """The next frame already received, without taking it (None when none is waiting).

        When the current chunk is used up it takes the next chunk if one is already in the stream
        (a live feed sends one frame per chunk: what queued up while a commit ran can join the next).
        """
        if self._at >= len(self._buffer):
            try:
                self._buffer, self._at = self._stream.receive_nowait(), 0
            except (anyio.WouldBlock, anyio.EndOfStream):
                return None
        return self._buffer[self._at]

    def take(self) -> Frame:
        """Take the next buffered frame (check :meth:`peek` first)."""
        frame = self._buffer[self._at]
        self._at += 1
        return frame

    def __aiter__(self) -> FrameStream:
        return self

    async def __anext__(self) -> Frame:
        try:
            return await self.next()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> FrameStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stream.aclose()


async def frames(feed: MarketFeed) -> AsyncGenerator[Frame, None]:
    """The feed's frames, empty ones dropped (the feed's stream is closed with this one)."""
    async with aclosing(feed.frames()) as stream:
        async for frame in stream:
            if frame:
                yield frame
