"""Developer sessions: `nox -s tests` (what CI runs), `lint`, `typecheck`, `bench`."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite in a fresh virtual environment (`nox -s tests -- -k bars` to filter)."""
    session.install("-e", ".[test,live,panel,sweep]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "--diff", "src", "tests", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[test,dev,live,panel,sweep]")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Speed and memory figures (printed); `nox -s bench -- bars` runs one benchmark.

    `nox -s bench -- compare` times the engine at 0799dbe and HEAD side by side (bench_compare.py);
    `nox -s bench -- peers` runs vibe against the peer kit (bench_peers.py, also `nox -s bench_peers`);
    `nox -s bench -- floor` splits the skipping loop's time into its events and prints the floor
    they set under issue 14's targets (`python benchmarks/bench_floor.py --peers 504=OUT.json`, with
    bench_peers.py's --json, adds the whole processes').
    """
    session.install("-e", ".[test,bench,live,panel,sweep]")
    names = session.posargs or [
        "bars", "indicators", "venue", "engine", "data", "backtest", "store", "live", "audit",
        "history", "sync", "sweep", "discord", "api", "panel", "finnhub",
    ]  # fmt: skip
    for name in names:
        session.run("python", f"benchmarks/bench_{name}.py")


@nox.session
def bench_peers(session: nox.Session) -> None:
    """vibe beside backtesting.py, backtrader and a plain loop from ../shared/bench-peers, interleaved.

    `nox -s bench_peers -- --quick` (under a minute), `-- --sizes 504 --rounds 5 --json out.json`;
    `-- sweep [--base REV] [--head WORKTREE]` times the 48-cell sweep of two commits instead.
    """
    session.install("-e", ".[bench,sweep]")
    args = list(session.posargs)
    if args[:1] == ["sweep"]:
        session.run("python", "benchmarks/bench_sweep_compare.py", *args[1:])
    else:
        session.run("python", "benchmarks/bench_peers.py", *args)
