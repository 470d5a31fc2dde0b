"""Discord notification figures, against the fake Discord server on 127.0.0.1 with Discord's own limit
(5 requests per 2 s per webhook) and the sender's defaults:

- time to drain 100 notifications one per message (``coalesce_ms=0``): bound by the bucket, about
  (100 - 5) / 5 * 2 = 38 s;
- the same 100 coalesced (default ``coalesce_ms=2000``): the window, then a few messages;
- the cost on the trading path: one outbox commit (a notifier hook) p50/p99, and packing 250 items.

Run ``python benchmarks/bench_discord.py``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.discord_server import FakeDiscord

from vibe_live.notify.items import Item
from vibe_live.notify.outbox import Outbox
from vibe_live.notify.packing import item_messages
from vibe_live.notify.ratelimit import Gate
from vibe_live.notify.sender import WebhookSender
from vibe_live.store import Store


def _items(n: int, tag: str) -> list[Item]:
    fields = (("qty", "10"), ("entry", "190.00 at 09:45"), ("exit", "191.00 at 10:30"), ("R", "+1.00 R"))
    return [
        Item(key=f"{tag}:{i}", kind="trade", title=f"AAPL long closed: +{i}.00 (+1.00 R)", fields=fields)
        for i in range(n)
    ]


def drain_time(coalesce_ms: int, folder: Path) -> tuple[float, int, int]:
    """Seconds from 100 committed items to the last one delivered, messages, and 429s."""
    server = FakeDiscord(limit=5, period=2.0).start()
    db = folder / f"c{coalesce_ms}.db"
    Store(db).close()
    box = Outbox(db)
    sender = WebhookSender(server.url(), box, coalesce_ms=coalesce_ms, global_gate=Gate())
    box.add(_items(100, "t"))
    started = time.perf_counter()

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(sender.run)
            while box.counts()["pending"]:
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()

    anyio.run(main)
    took = time.perf_counter() - started
    messages = len(server.messages())
    limited = sum(r.status == 429 for r in server.requests)
    server.stop()
    box.close()
    return took, messages, limited


def commit_cost(folder: Path) -> tuple[float, float]:
    db = folder / "commit.db"
    Store(db).close()
    box = Outbox(db)
    times = []
    for i, item in enumerate(_items(2000, "c")):
        t = time.perf_counter()
        box.add([item], seq=i)
        times.append(time.perf_counter() - t)
    box.close()
    times.sort()
    return statistics.median(times) * 1e3, times[int(len(times) * 0.99)] * 1e3


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        p50, p99 = commit_cost(folder)
        print(f"outbox commit (one item + the high-water mark): p50 {p50:.3f} ms, p99 {p99:.3f} ms")
        items = _items(250, "p")
        t = time.perf_counter()
        messages = item_messages(items)
        print(
            f"packing 250 trade items: {len(messages)} messages in {(time.perf_counter() - t) * 1e3:.1f} ms"
        )
        for coalesce in (2000, 0):
            took, sent, limited = drain_time(coalesce, folder)
            print(
                f"100 notifications, coalesce_ms={coalesce}, bucket 5 per 2 s: drained in {took:.1f} s,"
                f" {sent} messages, {limited} answered 429"
            )


if __name__ == "__main__":
    main()
