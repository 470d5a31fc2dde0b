"""Cloud sync's cost: one round (online backup + upload + prune) and a restore, by store size.

Stores of N sessions of the sample market (5 symbols, validation on) are written by the real
service (``--clock feed``), then each is synced with :class:`vibe_live.sync.Syncer` to a
``file://`` folder and to S3 on moto's server (127.0.0.1, s3fs; skipped when moto or s3fs is
missing), and restored from there with :func:`vibe_live.restore.restore` (download +
``integrity_check`` + replace). Best of 3. Run ``python benchmarks/bench_sync.py [N ...]``.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio

from vibe_backtest.api import calendar
from vibe_backtest.data import iter_bars
from vibe_backtest.sample import sample_market
from vibe_live.feeds.replay import ReplayFeed
from vibe_live.logs import setup_logging
from vibe_live.restore import restore
from vibe_live.service import LiveService
from vibe_live.settings import SyncSettings, build_settings
from vibe_live.store import Store
from vibe_live.sync import Syncer, backup_copy

REPEATS = 3
SYMBOLS = ["AAPL", "MSFT", "AMZN", "TSLA", "GOOGL"]


def write_store(db: Path, sessions: int) -> None:
    setup_logging(stream=io.StringIO())
    bars = list(iter_bars(sample_market(SYMBOLS, sessions=calendar(), n_sessions=sessions)))
    store = Store(db)
    try:
        service = LiveService(
            build_settings({"symbols": SYMBOLS}),
            store,
            calendar(),
            lambda skip: ReplayFeed(bars, skip=skip),
            feed_label="bench",
            clock_mode="feed",
            last_close=calendar().session_at(bars[-1].ts).close,
        )
        anyio.run(service.run)
    finally:
        store.close()


def best(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def one_round(db: Path, url: str, endpoint: str = "") -> None:
    syncer = Syncer(SyncSettings(url=url, endpoint_url=endpoint, keep=2, retries=0), db)
    assert anyio.run(syncer.sync_once, "bench"), syncer.status.last_error


def measure(folder: Path, n: int, endpoint: str) -> str:
    """One row: the store of ``n`` sessions, its size, and the times of each step."""
    db = folder / f"s{n}.db"
    write_store(db, n)
    with Store(db, readonly=True) as store:
        events = store.last_seq()
    size = db.stat().st_size / 1e6
    copy = folder / "c.db"

    def backup() -> None:
        copy.unlink(missing_ok=True)
        backup_copy(db, copy)

    local_url = (folder / "backups").as_uri()
    times = [
        best(backup),
        best(lambda: one_round(db, local_url)),
        best(lambda: restore(local_url, folder / f"r{n}.db", force=True)),
    ]
    if endpoint:
        url = f"s3://bench/{n}"
        times.append(best(lambda: one_round(db, url, endpoint)))
        times.append(best(lambda: restore(url, folder / f"q{n}.db", endpoint_url=endpoint, force=True)))
    shown = " ".join(f"{t:>12.3f}" for t in times)
    return f"{n:>8} {events:>8} {size:>7.1f} {shown}"


def main(sizes: list[int]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="vibe-bench-sync-"))
    endpoint, server = "", None
    try:
        import s3fs
        from moto.server import ThreadedMotoServer

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3fs.S3FileSystem(endpoint_url=endpoint).mkdir("bench")
    except ImportError:
        print("moto or s3fs missing: S3 skipped")
    heads = ["backup s", "file:// s", "restore s", "S3 s", "S3 restore s"]
    print(f"{'sessions':>8} {'events':>8} {'MB':>7} " + " ".join(f"{h:>12}" for h in heads))
    try:
        for n in sizes:
            print(measure(folder, n, endpoint))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [20, 60, 250])
