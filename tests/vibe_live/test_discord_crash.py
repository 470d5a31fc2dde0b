"""kill -9 of a real sender process mid-burst, then a restart on the same SQLite file: nothing lost or
sent twice.

The fake Discord holds the request that follows the 37th delivery (it is in flight when the process
dies, and the server drops it: not delivered), so the kill lands at a known point of the protocol
(outside the one documented window, between a 2xx and its ``sent`` commit).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from tests.fakes.discord_server import FakeDiscord
from tests.vibe_live.live_files import env

from vibe_live.notify.items import Item
from vibe_live.notify.outbox import Outbox
from vibe_live.store import Store

SENDER = """
import sys, anyio
from vibe_live.notify.outbox import Outbox
from vibe_live.notify.sender import WebhookSender
box = Outbox(sys.argv[1])
sender = WebhookSender(sys.argv[2], box, coalesce_ms=0, rate_limit=5, rate_period_s=0.1)
anyio.run(lambda: sender.run(until_empty=True))
print(box.counts())
"""


@pytest.fixture
def discord():
    server = FakeDiscord(limit=5, period=0.1).start()
    yield server
    server.stop()


def _sender(db, url):
    return subprocess.Popen(
        [sys.executable, "-c", SENDER, str(db), url],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_mid_burst_and_restart_loses_and_duplicates_nothing(discord, tmp_path):
    db = tmp_path / "vibe.db"
    Store(db).close()
    box = Outbox(db)
    box.add([Item(key=f"note:{i}", kind="notice", title=f"n{i:03d}") for i in range(100)])
    discord.hold_after = 37
    first = _sender(db, discord.url())
    try:
        assert discord.held.wait(timeout=60), "the sender never reached the held request"
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=10)
    assert box.counts() == {"pending": 63, "sent": 37, "failed": 0}
    discord.hold_after = None
    discord.release()  # the held request is dropped: its client is dead
    time.sleep(0.05)
    second = _sender(db, discord.url())
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    delivered = [e["title"] for m in discord.messages() for e in m["body"]["embeds"]]
    assert delivered == [f"n{i:03d}" for i in range(100)]
    assert box.counts() == {"pending": 0, "sent": 100, "failed": 0}
    assert discord.over_limit == 0
    box.close()
