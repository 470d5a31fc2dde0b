"""``vibe-backtest``: run, sample, sweep, walkforward, sensitivity, config show.

Exit codes: 0 success, 2 bad input, 1 internal error (or a sweep with failed runs, written anyway).

Bad input is found before any long work: the options, the config layers and the output folder are
checked first, and results are written atomically (a complete folder or none).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as dt
import gc
import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _day(text: str) -> str:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None
    return text


def _add_config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        action="append",
        default=[],
        help="YAML config (repeatable, a later file wins; environment VIBE__SECTION__KEY and --set win)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set exchange.preset=optimistic (repeatable)",
    )


def _add_data_options(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--data", metavar="DIR", help="directory with one SYMBOL.csv or SYMBOL.parquet per symbol"
    )
    group.add_argument(
        "--source", choices=["sample", "yahoo"], help="built-in sample market (default) or Yahoo"
    )
    _add_config_options(p)
    p.add_argument("--symbols", metavar="A,B", help="comma-separated symbols (default: all in the data)")
    p.add_argument("--start", type=_day, metavar="YYYY-MM-DD", help="first New York date (inclusive)")
    p.add_argument("--end", type=_day, metavar="YYYY-MM-DD", help="last New York date (inclusive)")
    p.add_argument("--tz", default="America/New_York", help="timezone of naive timestamps in files")
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="Yahoo Parquet cache (default: $VIBE_CACHE_DIR, $XDG_CACHE_HOME/vibe or ~/.cache/vibe, /yahoo)",
    )


def _add_backend_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        choices=["auto", "dask", "pool"],
        default=None,
        help="where the backtests run: dask (a local cluster, or --scheduler), pool (a process pool), "
        "auto (dask when installed; default, or sweep.backend in the config)",
    )
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="an existing Dask cluster's scheduler "
        "(default: sweep.scheduler in the config, else a local cluster)",
    )
    p.add_argument(
        "--workers", type=_positive, default=None, help="local worker processes (default: all cores)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vibe-backtest", description="Backtest intraday strategies with the vibe core."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="backtest and write trades, equity, summary and an HTML report")
    _add_data_options(run)
    run.add_argument("--out", metavar="DIR", help="output directory (default results/<timestamp>/)")
    run.add_argument("--no-report", action="store_true", help="skip report.html")
    run.add_argument(
        "--every-bar",
        action="store_true",
        help="step the engine on every bar instead of skipping the bars that cannot change anything "
        "(the same results, slower: a check of the fast path)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar or table")
    sample = sub.add_parser(
        "sample",
        help="write the built-in sample market as files",
        description="Write the seeded sample market (5m bars on real NYSE sessions) as one file a symbol.",
    )
    sample.add_argument("--out", metavar="DIR", required=True, help="folder for SYMBOL.csv / SYMBOL.parquet")
    sample.add_argument(
        "--format", choices=["csv", "parquet"], default="csv", help="file format (default csv)"
    )
    sample.add_argument(
        "--sessions", type=_positive, default=60, metavar="N", help="number of sessions (default 60)"
    )
    sample.add_argument(
        "--end",
        type=_day,
        default=None,
        metavar="YYYY-MM-DD",
        help="last session on or before this date (default 2024-07-26)",
    )
    sample.add_argument(
        "--symbols", metavar="A,B", help="comma-separated symbols (default AAPL,MSFT,AMZN,TSLA,GOOGL)"
    )
    sample.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    sweep = sub.add_parser("sweep", help="run every combination of a parameter grid in parallel")
    _add_data_options(sweep)
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a config key and its values, e.g. --grid strategy.reward_risk=1.5,2,3 (repeatable)",
    )
    sweep.add_argument("--metric", default="sharpe", help="summary field for the heatmap (default sharpe)")
    _add_backend_options(sweep)
    sweep.add_argument("--out", metavar="DIR", help="output directory (default results/sweep-<timestamp>/)")
    wf = sub.add_parser(
        "walkforward",
        help="walk-forward analysis: best grid cell on each training window, scored on the sessions after",
    )
    _add_data_options(wf)
    wf.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a config key and its values (repeatable)",
    )
    wf.add_argument(
        "--train", type=_positive, required=True, metavar="N", help="training sessions per window"
    )
    wf.add_argument("--test", type=_positive, required=True, metavar="N", help="test sessions per window")
    wf.add_argument("--step", type=_positive, metavar="N", help="sessions between windows (default --test)")
    wf.add_argument("--anchored", action="store_true", help="every window trains from the first session")
    wf.add_argument(
        "--warmup",
        type=int,
        default=5,
        metavar="N",
        help="sessions before each test window that warm the engine's indicators, P&L dropped (default 5)",
    )
    wf.add_argument(
        "--metric", default="sharpe", help="summary field that picks the best cell (default sharpe)"
    )
    _add_backend_options(wf)
    wf.add_argument(
        "--out", metavar="DIR", help="output directory (default results/walkforward-<timestamp>/)"
    )
    sens = sub.add_parser(
        "sensitivity", help="the same backtest under each fill preset (and variants), side by side"
    )
    _add_data_options(sens)
    sens.add_argument(
        "--presets",
        default="optimistic,base,pessimistic",
        metavar="A,B",
        help="fill presets to compare (default optimistic,base,pessimistic; '' for none)",
    )
    sens.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL:KEY=VALUE",
        help="one more run, e.g. --variant slow:exchange.fill_delay_ms_max=5000 "
        "(repeatable; a label gathers its keys)",
    )
    sens.add_argument(
        "--out", metavar="DIR", help="output directory (default results/sensitivity-<timestamp>/)"
    )
    config = sub.add_parser("config", help="show the effective configuration and where each value came from")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    show = config_sub.add_parser(
        "show",
        help="print the merged config, each value with the layer that set it (secrets masked)",
        description="Layers: defaults < --config FILE(s) < environment VIBE__SECTION__KEY < --set.",
    )
    _add_config_options(show)
    return parser


def _default_out(prefix: str = "") -> Path:
    return Path("results") / f"{prefix}{dt.datetime.now():%Y%m%d-%H%M%S}"


def _symbols(text: str | None) -> list[str] | None:
    return None if not text else [s.strip().upper() for s in text.split(",") if s.strip()]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 100 else f"{value:,.2f}"
    return str(value)


def print_summary(summary: dict[str, Any], out: Path, *, report: bool = True) -> None:
    rows = [
        ("period", f"{summary.get('start')} .. {summary.get('end')} ({summary.get('sessions')} sessions)"),
        ("symbols", ", ".join(summary.get("symbols", []))),
        ("initial capital", _fmt(summary["initial_capital"])),
        ("final equity", _fmt(summary["final_equity"])),
        ("total return", f"{summary['total_return']:.2%}"),
        ("trades", _fmt(summary["n_trades"])),
        ("win rate", "-" if summary["win_rate"] is None else f"{summary['win_rate']:.1%}"),
        ("profit factor", _fmt(summary["profit_factor"])),
        ("sharpe", _fmt(summary["sharpe"])),
        ("sortino", _fmt(summary["sortino"])),
        ("max drawdown", f"{summary['max_drawdown']:.2%}"),
        ("avg trade minutes", _fmt(summary["avg_trade_minutes"])),
        ("exposure", f"{summary['exposure']:.1%}"),
        ("signals (accepted)", f"{summary['signals']} ({summary['signals_accepted']})"),
        (
            "bars",
            f"{summary['bars_processed']:,} in {summary['wall_seconds']:.2f} s "
            f"({summary['bars_processed'] / max(summary['wall_seconds'], 1e-9):,.0f} bars/s; "
            f"{summary.get('bars_stepped', summary['bars_processed']):,} stepped, "
            "the rest could change nothing)",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    print(f"\n  results in {out}/" + (" (open report.html)" if report else "") + "\n")


def _check_data_options(args: argparse.Namespace) -> None:
    """Options that can be judged without loading anything, named as the user typed them."""
    from vibe_backtest.api import check_tz
    from vibe_backtest.data import DataError

    try:
        check_tz(args.tz)
    except DataError as exc:
        raise _BadInput(f"--tz: {exc}") from None
    if args.start is not None and args.end is not None and args.start > args.end:
        raise _BadInput(f"--start {args.start} is after --end {args.end}")
    if args.data is not None:
        data = Path(args.data)
        if data.is_file():
            raise _BadInput(
                f"--data {data} is a file; give the folder that holds the SYMBOL.csv / SYMBOL.parquet "
                f"files (here: --data {data.parent})"
            )
        if not data.is_dir():
            raise _BadInput(f"--data {data}: no such folder")


def _cmd_run(args: argparse.Namespace) -> int:
    from vibe_backtest.api import run_backtest
    from vibe_backtest.results import atomic_dir
    from vibe_backtest.settings import load_settings

    _check_data_options(args)
    config = load_settings(args.config, args.overrides)
    out = Path(args.out) if args.out else _default_out()
    with atomic_dir(out) as folder:  # checked and made before the backtest runs
        market = _load(args)
        _collect_again()  # what exists now (modules, config, bars) lives to the exit
        result = run_backtest(
            market,
            config=config,
            progress=not args.quiet,
            keep_bars=True,  # bars.csv (and the report's charts)
            skip=not args.every_bar,
        )
        result.write_files(folder, report=not args.no_report)
    if not args.quiet:
        print_summary(result.summary, out, report=not args.no_report)
    return EXIT_OK


def _cmd_sample(args: argparse.Namespace) -> int:
    from vibe_backtest.api import calendar
    from vibe_backtest.sample import SAMPLE_END, write_sample
    from vibe_core.config import MVP_SYMBOLS

    end = dt.date.fromisoformat(args.end) if args.end else SAMPLE_END
    try:
        paths = write_sample(
            args.out,
            args.format,
            symbols=_symbols(args.symbols) or MVP_SYMBOLS,
            sessions=calendar(),
            n_sessions=args.sessions,
            end=end,
            seed=args.seed,
        )
    except ValueError as exc:  # more sessions than the calendar has before --end
        raise _BadInput(f"--sessions {args.sessions} --end {end}: {exc}") from None
    for p in paths:
        print(p)
    return EXIT_OK


def _settings(args: argparse.Namespace) -> tuple[Any, Any]:
    """The core config and the ``sweep`` section, from the same layers; options win over the section."""
    import attrs

    from vibe_backtest.settings import build_config, settings_layers, sweep_settings

    layers = settings_layers(args.config, args.overrides)
    config, _ = build_config(layers)
    sweep, _ = sweep_settings(layers)
    chosen = {
        "backend": getattr(args, "backend", None),
        "scheduler": getattr(args, "scheduler", None),
        "workers": getattr(args, "workers", None),
    }
    return config, attrs.evolve(sweep, **{k: v for k, v in chosen.items() if v is not None})


def _load(args: argparse.Namespace) -> Any:
    from vibe_backtest.api import load_market

    return load_market(
        args.data,
        source=args.source,
        symbols=_symbols(args.symbols),
        start=args.start,
        end=args.end,
        tz=args.tz,
        cache_dir=args.cache_dir,
    )


def _backend(market: Any, sweep: Any, tasks: int) -> Any:
    from vibe_backtest.backends import open_backend

    return open_backend(
        market, backend=sweep.backend, workers=sweep.workers, scheduler=sweep.scheduler, tasks=tasks
    )


def _check_metric(metric: str) -> None:
    from vibe_backtest.report import LOWER_IS_BETTER

    known = {
        "total_return", "final_equity", "n_trades", "win_rate", "profit_factor", "sharpe", "sortino",
        "max_drawdown", "avg_trade_minutes", "exposure", "signals", "signals_accepted",
        "order_rejections", "risk_halts",
    } | (LOWER_IS_BETTER - {"wall_seconds"})  # fmt: skip
    if metric not in known:
        raise _BadInput(f"--metric {metric!r} is not a summary field; one of: {', '.join(sorted(known))}")


def _report_failures(table: Any, what: str, keys: Sequence[str]) -> int:
    """Each failed row on stderr, named by its parameters; exit 1 if any (the files are written)."""
    failed = table[table["error"].fillna("").astype(str) != ""]
    for _, row in failed.iterrows():
        named = ", ".join(f"{k}={row[k]}" for k in keys)
        print(f"vibe-backtest: {what} failed ({named}): {row['error']}", file=sys.stderr)
    if len(failed):
        print(
            f"vibe-backtest: {len(failed)} of {len(table)} {what}s failed (rows with an error)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return EXIT_OK


def _cmd_sweep(args: argparse.Namespace) -> int:
    from vibe_backtest.results import atomic_dir
    from vibe_backtest.sweep import (
        SWEEP_FILES,
        combinations,
        config_for,
        parse_grid,
        run_cells,
        sweep_table,
        write_sweep_files,
    )
    from vibe_core.config import config_to_dict

    if not args.grid:
        raise _BadInput("sweep needs at least one --grid KEY=V1,V2")
    _check_data_options(args)
    _check_metric(args.metric)
    base, sweep = _settings(args)
    grid = parse_grid(args.grid, base=base)
    combos = combinations(grid)
    configs = [config_to_dict(config_for(base, c)) for c in combos]
    out = Path(args.out) if args.out else _default_out("sweep-")
    with atomic_dir(out, SWEEP_FILES) as folder:  # checked before the market is loaded
        market = _load(args)
        with _backend(market, sweep, len(configs)) as backend:
            table = sweep_table(combos, run_cells(backend, configs))
            where = f"{backend.name}, {backend.workers} worker(s)"
        write_sweep_files(table, list(grid), args.metric, folder)
    print(table.drop(columns="error").to_string(index=False, max_rows=50))
    print(f"\n  {len(table)} combinations on {where}; results in {out}/ (sweep.csv, sweep.html)\n")
    return _report_failures(table, "run", list(grid))


def _cmd_walkforward(args: argparse.Namespace) -> int:
    from vibe_backtest.results import atomic_dir
    from vibe_backtest.sweep import combinations, parse_grid
    from vibe_backtest.walkforward import WALKFORWARD_FILES, make_windows, market_sessions, run_walkforward

    if not args.grid:
        raise _BadInput("walkforward needs at least one --grid KEY=V1,V2")
    _check_data_options(args)
    _check_metric(args.metric)
    try:
        make_windows(
            args.train + args.test,
            args.train,
            args.test,
            args.step,
            anchored=args.anchored,
            warmup=args.warmup,
        )
    except ValueError as exc:
        raise _BadInput(str(exc)) from None
    base, sweep = _settings(args)
    grid = parse_grid(args.grid, base=base)
    out = Path(args.out) if args.out else _default_out("walkforward-")
    with atomic_dir(out, WALKFORWARD_FILES) as folder:
        market = _load(args)
        try:
            windows = make_windows(
                len(market_sessions(market)), args.train, args.test, args.step, anchored=args.anchored
            )
        except ValueError as exc:
            raise _BadInput(str(exc)) from None
        with _backend(market, sweep, len(windows) * len(combinations(grid))) as backend:
            wf = run_walkforward(
                backend, market, grid, base=base, train=args.train, test=args.test, step=args.step,
                anchored=args.anchored, metric=args.metric, warmup=args.warmup,
            )  # fmt: skip
        wf.write_files(folder)
    print(wf.table.drop(columns="error").to_string(index=False, max_rows=50))
    print(
        f"\n  {len(wf.table)} windows; out of sample: total return {wf.total_return:.2%}, "
        f"sharpe {wf.sharpe:.2f}; results in {out}/ (walkforward.csv, walkforward.html)\n"
    )
    return _report_failures(wf.table, "test window", ["window", "test_from", "test_to", *grid])


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from vibe_backtest.results import atomic_dir
    from vibe_backtest.sensitivity import SENSITIVITY_FILES, parse_variants, run_sensitivity

    _check_data_options(args)
    base, _ = _settings(args)
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    variants = parse_variants(presets, args.variant)
    from vibe_backtest.sweep import config_for

    for v in variants:  # every run's config is checked before any backtest
        config_for(base, v.overrides, f"--variant {v.label}" if v.label not in presets else "--presets")
    out = Path(args.out) if args.out else _default_out("sensitivity-")
    with atomic_dir(out, SENSITIVITY_FILES) as folder:
        sens = run_sensitivity(_load(args), base, variants)
        sens.write_files(folder)
    shown = sens.table.set_index("run").T
    print(shown.to_string(float_format=lambda x: f"{x:,.4f}"))
    print(
        f"\n  {len(sens.trades)} trade(s) not in every run; "
        f"results in {out}/ (sensitivity.csv, sensitivity.html)\n"
    )
    return EXIT_OK


def _cmd_config(args: argparse.Namespace) -> int:
    from vibe_backtest.settings import settings_layers, show_settings

    print(show_settings(settings_layers(args.config, args.overrides)), end="")
    return EXIT_OK


def _warning_printer(original: Any) -> Any:
    """Data warnings as one line naming the program; any other warning as Python prints it."""
    from vibe_backtest.data import DataWarning

    def show(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(category, type) and issubclass(category, DataWarning):
            print(f"vibe-backtest: warning: {message}", file=sys.stderr)
        else:
            original(message, category, *args, **kwargs)

    return show


class _BadInput(Exception):
    pass


def _input_errors(*known: type[Exception]) -> tuple[type[Exception], ...]:
    """The bad-input errors, ``BackendError`` once a command has loaded the backends (a run does
    not: 15 ms of imports)."""
    backends = sys.modules.get("vibe_backtest.backends")
    loaded = (backends.BackendError,) if backends is not None else ()
    return (*known, _BadInput, *loaded)


_held = False  #: entry() turned automatic garbage collection off until the work starts


def _hold_collection() -> None:
    """No automatic garbage collection while the command starts: the imports, the config and the
    data make objects that live until the exit, and the ~120 collections that would look at them
    (and a full one once the loop has run a while) cost 50-70 ms of a run."""
    global _held
    gc.disable()
    _held = True


def _collect_again() -> None:
    """Automatic collection back on (if :func:`_hold_collection` held it), with every object made
    so far frozen out of it (``gc.freeze``): later collections look only at what the work makes.
    The few cycles left by the imports are kept, not collected (a one-off, not a growing leak).

    A young generation of 5,000 objects instead of 700: a backtest's loop makes short-lived
    objects by the million (events, actions, records) and the default collected 64 times a
    504-session run, 30-40 ms; now 5 times, 7-9 ms (the garbage a collection waits for: <1 MB).
    """
    global _held
    if _held:
        _held = False
        if "pandas" in sys.modules:  # a slow path (Yahoo, a CSV layout pyarrow left to pandas, the
            gc.collect()  # calendar built): its frames' cycles are garbage, not frozen for good
        gc.freeze()
        gc.set_threshold(5_000, 10, 10)
        gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    from vibe_backtest.data import DataError, DataWarning
    from vibe_backtest.results import OutputError
    from vibe_core.config import ConfigError

    args = _parser().parse_args(argv)
    if args.command != "run":
        _collect_again()  # (a run turns it on when its data is loaded)
    handlers = {
        "run": _cmd_run,
        "sample": _cmd_sample,
        "sweep": _cmd_sweep,
        "walkforward": _cmd_walkforward,
        "sensitivity": _cmd_sensitivity,
        "config": _cmd_config,
    }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", DataWarning)
            warnings.showwarning = _warning_printer(warnings.showwarning)
            return handlers[args.command](args)
    except OutputError as exc:
        print(f"vibe-backtest: error: --out {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except _input_errors(ConfigError, DataError) as exc:
        print(f"vibe-backtest: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("vibe-backtest: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print(
            "vibe-backtest: internal error (a bug: please report it with the traceback above)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def entry() -> None:
    """The ``vibe-backtest`` command: :func:`main`, then exit without freeing every object.

    Only for a process started as the command (tests call :func:`main` in-process): the results are
    written and closed by then; atexit handlers still run (pools, clusters, logging).
    """
    _hold_collection()
    # Arrow on glibc's malloc: what the file readers free is reused by numpy and can be trimmed
    # (its default, mimalloc, keeps ~100 MB after reading 10 years of bars).
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    # No linear algebra runs here: OpenBLAS starting a thread a core when numpy is imported costs
    # 15-40 ms for nothing (and a pool's or cluster's workers, which inherit it, should not share
    # cores with BLAS threads anyway). Set before numpy is imported; a value the user set wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code = main()
    atexit._run_exitfuncs()  # CPython's own exit step (private but stable since 3.0)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a closed pipe (`| head`): nothing left to tell
            stream.flush()
    os._exit(code)  # skip the interpreter's teardown: freeing every object costs ~0.3 s after a run


if __name__ == "__main__":
    entry()
