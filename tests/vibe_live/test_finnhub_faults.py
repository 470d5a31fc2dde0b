"""The service on the real Finnhub client against a fake Finnhub server on 127.0.0.1, one fault at a
time: it stays up, reconnects, resubscribes, counts and logs the fault, logs the connection going
down and coming back as ``FeedStatus`` events, and loses no print the server delivered."""

from __future__ import annotations

import itertools

import pytest
from tests.fakes.finnhub_server import FakeFinnhub
from tests.vibe_live.finnhub_run import run_live, sample_frames, texts

FRAMES = texts(sample_frames())  # one session, AAPL and MSFT: 312 frames of 2 prints
AT = 100  # the frame before which the fault happens

#: fault -> (the counter it must raise in FeedHealth.faults, the reason of the FeedStatus down, or None
#: when the connection stays up)
CASES = {
    "drop": (None, "connection lost"),
    "close": (None, "closed by server (code 1001, going away)"),
    "silent": ("watchdog", "watchdog: silent 0.5 s"),
    "refuse:2": ("handshake 503", "connection lost"),
    "unauthorized:1": ("401 unauthorized", "connection lost"),
    "malformed": ("malformed json", None),
    "unknown": ("unknown type", None),
    "bad_row": ("row missing p", None),
    "error": ("server error", None),
}


@pytest.mark.parametrize("fault", list(CASES))
def test_each_fault_is_survived_counted_and_loses_no_delivered_print(tmp_path, fault):
    counter, down = CASES[fault]
    with FakeFinnhub(FRAMES, faults={AT: [fault]}) as server:
        run = run_live(tmp_path, server)
        delivered = server.delivered_prints()
        subscribes, handshakes = server.subscribes, server.handshakes

    assert len(delivered) == 2 * len(FRAMES)
    assert run.prints() == delivered  # every delivered print logged, once, in order
    if counter is not None:
        assert run.feed.health.faults[counter] >= 1, run.feed.health.faults
        assert f"kind={counter}" in run.logs or "(HTTP 401 at the handshake)" in run.logs
    statuses = [(e["payload"]["connected"], e["payload"]["reason"]) for e in run.kinds("FeedStatus")]
    if down is None:
        assert statuses == [(True, "connected")]
        assert run.feed.health.reconnects == 0
    else:
        assert statuses == [(True, "connected"), (False, down), (True, "reconnected")]
        assert run.feed.health.reconnects == 1 and run.feed.health.connected
        assert all(s == ["AAPL", "MSFT"] for s in subscribes) and len(subscribes) == 2  # resubscribed
        # no feed time passes while down: both stamped with the time of the last print before the drop
        seqs = [e["seq"] for e in run.events]
        down_at = next(e for e in run.events if e["kind"] == "FeedStatus" and not e["payload"]["connected"])
        before = run.events[seqs.index(down_at["seq"]) - 1]
        assert down_at["ts"] == before["ts"] == run.kinds("FeedStatus")[-1]["ts"]
    if fault.startswith(("refuse", "unauthorized")):
        n = int(fault.split(":")[1])
        assert handshakes.count(503 if fault.startswith("refuse") else 401) == n
        assert run.feed.connections == 2
    ts = [e["ts"] for e in run.events]
    assert all(a <= b for a, b in itertools.pairwise(ts))  # time never runs back in the log
    assert "url=http://127.0.0.1" in run.logs and "test-key" not in run.logs  # the key is never logged


def test_a_connection_dropped_every_few_frames_resumes_where_it_stopped(tmp_path):
    with FakeFinnhub(FRAMES, drop_every=40) as server:
        run = run_live(tmp_path, server)
        delivered = server.delivered_prints()
        drops = len(server.drops)
    assert drops == len(FRAMES) // 40
    assert run.prints() == delivered and len(delivered) == 2 * len(FRAMES)
    statuses = [e["payload"]["connected"] for e in run.kinds("FeedStatus")]
    assert statuses == [True] + [False, True] * drops
    assert run.feed.health.reconnects == drops
