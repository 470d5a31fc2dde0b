"""The webhook sender against a fake Discord on 127.0.0.1 (real sockets, uvicorn) and a real SQLite outbox.

Limits are scaled down (5 per 0.1 s instead of 5 per 2 s) so a burst of 100 takes about 2 s; the
sender is given the same numbers, as it would be Discord's.
"""

from __future__ import annotations

import logging
import socket

import anyio
import pytest
from tests.fakes.discord_server import FakeDiscord

from vibe_live.notify.items import Item
from vibe_live.notify.outbox import Outbox
from vibe_live.notify.ratelimit import Gate
from vibe_live.notify.sender import WebhookSender, mask_url, versioned_url
from vibe_live.store import Store

PERIOD = 0.1


@pytest.fixture
def discord():
    server = FakeDiscord(limit=5, period=PERIOD, global_limit=50).start()
    yield server
    server.stop()


@pytest.fixture
def outbox(tmp_path):
    Store(tmp_path / "vibe.db").close()  # creates and migrates the store
    box = Outbox(tmp_path / "vibe.db")
    yield box
    box.close()


def note(i: int, **kw: object) -> Item:
    return Item(key=f"note:{i}", kind="notice", title=f"n{i:03d}", **kw)  # type: ignore[arg-type]


def sender(url: str, box: Outbox, **kw: object) -> WebhookSender:
    options: dict[str, object] = {
        "coalesce_ms": 0,
        "rate_limit": 5,
        "rate_period_s": PERIOD,
        "backoff_base_s": 0.05,
        "global_gate": Gate(),
        "seed": 1,
    }
    options.update(kw)
    return WebhookSender(url, box, **options)  # type: ignore[arg-type]


def drain(s: WebhookSender, timeout: float = 30) -> None:
    async def main() -> None:
        with anyio.fail_after(timeout):
            await s.run(until_empty=True)

    anyio.run(main)


def titles(server: FakeDiscord, webhook: str = "123") -> list[str]:
    """Every item title delivered, in order: a lone item's embed title, a coalesced one's field names."""
    out, grouped = [], False
    for message in server.messages(webhook):
        for embed in message["body"]["embeds"]:
            names = [f["name"] for f in embed.get("fields", [])]
            if "title" in embed:
                grouped = embed["title"].startswith("Notices (")
                out += names if grouped else [embed["title"]]
            elif grouped:  # a coalesced embed's continuation (over 25 fields)
                out += names
    return out


def test_the_url_is_versioned_and_masked_in_logs():
    assert (
        versioned_url("https://discord.com/api/webhooks/1/abc")
        == "https://discord.com/api/v10/webhooks/1/abc"
    )
    assert (
        versioned_url("https://discord.com/api/v10/webhooks/1/abc")
        == "https://discord.com/api/v10/webhooks/1/abc"
    )
    assert (
        mask_url("https://discord.com/api/v10/webhooks/1/abc?x=1")
        == "https://discord.com/api/v10/webhooks/1/***"
    )


def test_a_burst_of_100_arrives_complete_in_order_and_no_request_breaks_the_limit(discord, outbox):
    outbox.add([note(i) for i in range(100)])
    s = sender(discord.url(), outbox)
    drain(s)
    assert titles(discord) == [f"n{i:03d}" for i in range(100)]
    assert discord.over_limit == 0
    assert [r.status for r in discord.requests] == [200] * 100
    assert {(r.version, r.query) for r in discord.requests} == {(10, "wait=true")}
    arrivals = [r.at for r in discord.requests]
    assert all(b - a >= PERIOD for a, b in zip(arrivals, arrivals[5:], strict=False))
    assert outbox.counts() == {"pending": 0, "sent": 100, "failed": 0}


def test_a_coalesced_burst_of_100_is_a_few_messages_in_order(discord, outbox):
    outbox.add([note(i) for i in range(100)])
    s = sender(discord.url(), outbox, coalesce_ms=20)
    drain(s)
    assert titles(discord) == [f"n{i:03d}" for i in range(100)]
    assert 1 <= len(discord.messages()) <= 2
    assert outbox.counts()["sent"] == 100


def test_a_429_is_honoured_for_its_retry_after_in_seconds(discord, outbox):
    discord.force_429.append((0.3, False))
    outbox.add([note(i) for i in range(3)])
    s = sender(discord.url(), outbox)
    drain(s)
    first, retry = discord.requests[0], discord.requests[1]
    assert first.status == 429 and retry.status == 200
    assert retry.at - first.at >= 0.3
    assert titles(discord) == ["n000", "n001", "n002"]
    assert s.stats["rate_limited"] == 1


def test_a_global_429_holds_every_webhook_of_the_process(discord, tmp_path):
    gate = Gate()
    Store(tmp_path / "a.db").close()
    Store(tmp_path / "b.db").close()
    box_a, box_b = Outbox(tmp_path / "a.db"), Outbox(tmp_path / "b.db")
    box_a.add([note(i) for i in range(4)])
    box_b.add([note(i) for i in range(4)])
    discord.force_429.append((0.4, True))
    a = sender(discord.url("123/x"), box_a, global_gate=gate)
    b = sender(discord.url("456/y"), box_b, global_gate=gate)

    async def main() -> None:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: a.run(until_empty=True))
                while not discord.requests:  # a's first request is answered 429 global
                    await anyio.sleep(0.005)
                tg.start_soon(lambda: b.run(until_empty=True))

    anyio.run(main)
    limited = discord.requests[0]
    assert limited.status == 429 and limited.webhook == "123"
    after = [r for r in discord.requests[1:] if r.status == 200]
    assert len(after) == 8 and all(r.at - limited.at >= 0.4 for r in after)  # b waited too
    assert titles(discord, "123") == titles(discord, "456") == [f"n{i:03d}" for i in range(4)]
    assert a.stats["rate_limited_global"] + b.stats["rate_limited_global"] == 1
    box_a.close()
    box_b.close()


def test_a_deleted_webhook_stops_the_sender_with_an_alert_and_keeps_the_outbox(discord, outbox, caplog):
    discord.gone.add("123")
    outbox.add([note(i) for i in range(10)])
    s = sender(discord.url(), outbox)
    with caplog.at_level(logging.CRITICAL, logger="vibe_live"):
        drain(s)
    assert s.stopped is not None and s.stopped.startswith("404")
    assert [r.status for r in discord.requests] == [404]  # no hammering of a deleted webhook
    assert outbox.counts() == {"pending": 10, "sent": 0, "failed": 0}
    alert = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert alert and "ALERT" in alert[0].getMessage() and alert[0].fields["kept"] == 10  # type: ignore[attr-defined]
    assert "tok" not in alert[0].fields["webhook"]  # type: ignore[attr-defined]
    discord.gone.clear()  # the webhook is fixed; the next start sends what was kept
    drain(sender(discord.url(), outbox))
    assert titles(discord) == [f"n{i:03d}" for i in range(10)]


def test_an_unauthorized_webhook_also_stops(discord, outbox):
    discord.fail.extend([401])
    outbox.add([note(0)])
    s = sender(discord.url(), outbox)
    drain(s)
    assert s.stopped is not None and s.stopped.startswith("401")
    assert outbox.counts()["pending"] == 1


def test_server_errors_back_off_growing_then_recover_without_duplicates(discord, outbox):
    discord.fail.extend([500, 502, 503])
    outbox.add([note(i) for i in range(5)])
    s = sender(discord.url(), outbox, backoff_base_s=0.05)
    drain(s)
    assert [r.status for r in discord.requests] == [500, 502, 503, 200, 200, 200, 200, 200]
    gaps = [b.at - a.at for a, b in zip(discord.requests, discord.requests[1:4], strict=False)]
    assert gaps[0] >= 0.025 and gaps[1] >= 0.05 and gaps[2] >= 0.1  # at least half of 0.05 * 2^k
    assert titles(discord) == [f"n{i:03d}" for i in range(5)]
    assert s.stats["backoffs"] == 3


def test_a_network_error_backs_off_until_the_server_answers(outbox):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    outbox.add([note(i) for i in range(3)])
    url = f"http://127.0.0.1:{port}/api/webhooks/123/tok"
    s = sender(url, outbox, backoff_base_s=0.05, backoff_max_s=0.2)
    server = FakeDiscord(limit=5, period=PERIOD)

    async def main() -> None:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: s.run(until_empty=True))
                await anyio.sleep(0.6)
                await anyio.to_thread.run_sync(server.start, port)

    try:
        anyio.run(main)
        assert s.stats["network_errors"] >= 2
        assert titles(server) == ["n000", "n001", "n002"]
        assert outbox.counts()["sent"] == 3
    finally:
        server.stop()


def test_a_refused_message_is_marked_failed_with_the_answer_and_the_rest_goes_on(discord, outbox):
    discord.fail.extend([400])
    outbox.add([note(i) for i in range(3)])
    s = sender(discord.url(), outbox)
    drain(s)
    assert outbox.counts() == {"pending": 0, "sent": 2, "failed": 1}
    assert titles(discord) == ["n001", "n002"]


def test_urgent_items_skip_the_coalescing_window(discord, outbox):
    outbox.add([note(i) for i in range(3)])
    s = sender(discord.url(), outbox, coalesce_ms=60_000)

    async def main() -> None:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(s.run)
                await anyio.sleep(0.2)
                assert discord.messages() == []  # waiting for the window
                halt = Item(key="halt:1:0", kind="halt", severity="critical", title="HALT", urgent=True)
                outbox.add([halt])
                s.poke()
                while outbox.counts()["pending"]:  # long before the 60 s window ends
                    await anyio.sleep(0.01)
                tg.cancel_scope.cancel()

    anyio.run(main)
    # the halt cut the window short: what came before it went first (one message), the halt alone
    assert titles(discord) == ["n000", "n001", "n002", "HALT"]
    assert [len(m["body"]["embeds"]) for m in discord.messages()] == [1, 1]
    assert discord.messages()[1]["body"]["embeds"][0]["title"] == "HALT"


def test_an_urgent_item_behind_a_backlog_of_several_messages_goes_first(discord, outbox):
    outbox.add([note(i, description="x" * 900) for i in range(20)])  # ~18k characters: 4 messages
    outbox.add([Item(key="halt:1:0", kind="halt", severity="critical", title="HALT", urgent=True)])
    drain(sender(discord.url(), outbox, coalesce_ms=60_000))
    assert titles(discord)[0] == "HALT"
    assert sorted(titles(discord)[1:]) == [f"n{i:03d}" for i in range(20)]


def test_an_item_too_big_for_one_message_goes_in_parts_and_resumes_after_the_last_part_sent(discord, outbox):
    text = "".join(f"row {i:05d} " + "x" * 50 + "\n" for i in range(400))  # ~25k characters: 5 messages
    outbox.add([Item(key="big", kind="notice", title="Big", description=text)])
    (row,) = outbox.pending()
    outbox.mark_part(row.id, 2)  # two parts went out before a crash
    drain(sender(discord.url(), outbox))
    got = "".join(e.get("description", "") for m in discord.messages() for e in m["body"]["embeds"])
    from vibe_live.notify.packing import item_messages

    parts = item_messages([row.item])
    want = "".join(e.get("description", "") for m in parts[2:] for e in m)
    assert len(discord.messages()) == len(parts) - 2 and got == want
    assert outbox.counts()["sent"] == 1


def test_items_already_in_the_outbox_are_not_added_twice(outbox):
    assert outbox.add([note(0), note(1)], seq=5) == 2
    assert outbox.add([note(1), note(2)], seq=3) == 1
    assert outbox.high_water() == 5  # the mark never goes back
    assert [r.key for r in outbox.pending()] == ["note:0", "note:1", "note:2"]


def test_two_webhooks_over_the_global_limit_are_slowed_by_its_429s_and_lose_nothing(tmp_path):
    server = FakeDiscord(limit=5, period=PERIOD, global_limit=10).start()  # 10 a second over both
    gate = Gate()
    boxes = []
    for name in ("a", "b"):
        Store(tmp_path / f"{name}.db").close()
        boxes.append(Outbox(tmp_path / f"{name}.db"))
        boxes[-1].add([note(i) for i in range(8)])
    a = sender(server.url("123/x"), boxes[0], global_gate=gate)
    b = sender(server.url("456/y"), boxes[1], global_gate=gate)

    async def main() -> None:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: a.run(until_empty=True))
                tg.start_soon(lambda: b.run(until_empty=True))

    try:
        anyio.run(main)
        assert titles(server, "123") == titles(server, "456") == [f"n{i:03d}" for i in range(8)]
        limited = [r for r in server.requests if r.status == 429]
        assert limited and a.stats["rate_limited_global"] + b.stats["rate_limited_global"] == len(limited)
        accepted = [r.at for r in server.requests if r.status == 200]
        assert all(y - x >= 1.0 for x, y in zip(accepted, accepted[10:], strict=False))
    finally:
        server.stop()
        for box in boxes:
            box.close()


def test_a_row_that_cannot_be_read_back_is_marked_failed_not_a_crash(discord, outbox):
    outbox.add([note(0), note(1, urgent=True), note(2)])
    outbox._conn.execute(
        "UPDATE outbox SET payload = '{\"kind\": \"nope\"}' WHERE key IN ('note:0', 'note:1')"
    )
    drain(sender(discord.url(), outbox))
    assert titles(discord) == ["n002"]
    assert outbox.counts() == {"pending": 0, "sent": 1, "failed": 2}
