"""A process for the kill -9 test: appends groups of prints to a store for ever, reporting each commit.

Usage: ``python appender.py DB GROUP_SIZE``. Print ``seq`` carries ``ts = T0 + seq * 1000`` and
``size = seq``, so the test can check that the log is exactly a prefix of what was sent. After each
committed group it writes the last committed ``seq`` on stdout.
"""

from __future__ import annotations

import sys

from vibe_core.events import Trade
from vibe_live.store import Store

T0 = 1_714_570_200_000_000_000


def main() -> None:
    path, size = sys.argv[1], int(sys.argv[2])
    store = Store(path, check=False)
    seq = store.last_seq()
    while True:
        group = [
            Trade(symbol="AAPL", ts=T0 + s * 1_000, price=100.0 + (s % 100) / 100, size=float(s))
            for s in range(seq + 1, seq + size + 1)
        ]
        seq = store.append(group)[-1]
        print(seq, flush=True)


if __name__ == "__main__":
    main()
