"""``vibe-backtest``: run, sample, sweep. Exit codes: 0 success, 2 bad input, 1 internal error."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


def _day(text: str) -> str:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None
    return text


def _add_data_options(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--data", metavar="DIR", help="directory with one SYMBOL.csv or SYMBOL.parquet per symbol"
    )
    group.add_argument(
        "--source", choices=["sample", "yahoo"], help="built-in sample market (default) or Yahoo"
    )
    p.add_argument(
        "--config", metavar="FILE", help="YAML config (environment VIBE__SECTION__KEY and --set win)"
    )
    p.add_argument("--symbols", metavar="A,B", help="comma-separated symbols (default: all in the data)")
    p.add_argument("--start", type=_day, metavar="YYYY-MM-DD", help="first New York date (inclusive)")
    p.add_argument("--end", type=_day, metavar="YYYY-MM-DD", help="last New York date (inclusive)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set exchange.preset=optimistic (repeatable)",
    )
    p.add_argument("--tz", default="America/New_York", help="timezone of naive timestamps in files")
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="Yahoo Parquet cache (default: $VIBE_CACHE_DIR, $XDG_CACHE_HOME/vibe or ~/.cache/vibe, /yahoo)",
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
    run.add_argument("--quiet", action="store_true", help="no progress bar or table")
    sample = sub.add_parser("sample", help="write the built-in sample market as files")
    sample.add_argument("--out", metavar="DIR", required=True)
    sample.add_argument("--format", choices=["csv", "parquet"], default="csv")
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
    sweep.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    sweep.add_argument("--out", metavar="DIR", help="output directory (default results/sweep-<timestamp>/)")
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


def print_summary(summary: dict[str, Any], out: Path) -> None:
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
            f"({summary['bars_processed'] / max(summary['wall_seconds'], 1e-9):,.0f} bars/s)",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    print(f"\n  results in {out}/ (open report.html)\n")


def _cmd_run(args: argparse.Namespace) -> int:
    from vibe_backtest.api import run_backtest
    from vibe_backtest.settings import load_settings

    config = load_settings(args.config, args.overrides)
    result = run_backtest(
        args.data,
        config=config,
        source=args.source,
        symbols=_symbols(args.symbols),
        start=args.start,
        end=args.end,
        tz=args.tz,
        cache_dir=args.cache_dir,
        progress=not args.quiet,
        keep_bars=not args.no_report,
    )
    out = Path(args.out) if args.out else _default_out()
    result.write(out, report=not args.no_report)
    if not args.quiet:
        print_summary(result.summary, out)
    return EXIT_OK


def _cmd_sample(args: argparse.Namespace) -> int:
    from vibe_backtest.api import calendar
    from vibe_backtest.sample import write_sample

    paths = write_sample(args.out, args.format, sessions=calendar())
    for p in paths:
        print(p)
    return EXIT_OK


def _cmd_sweep(args: argparse.Namespace) -> int:
    from vibe_backtest.settings import load_settings
    from vibe_backtest.sweep import parse_grid, run_sweep

    if not args.grid:
        raise _BadInput("sweep needs at least one --grid KEY=V1,V2")
    grid = parse_grid(args.grid)
    base = load_settings(args.config, args.overrides)
    out = Path(args.out) if args.out else _default_out("sweep-")
    table = run_sweep(
        grid,
        base=base,
        data=args.data,
        source=args.source,
        symbols=_symbols(args.symbols),
        start=args.start,
        end=args.end,
        tz=args.tz,
        workers=args.workers,
        out=out,
        metric=args.metric,
    )
    print(table.to_string(index=False, max_rows=50))
    print(f"\n  {len(table)} combinations; results in {out}/ (sweep.csv, sweep.html)\n")
    return EXIT_OK


class _BadInput(Exception):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    from vibe_backtest.data import DataError
    from vibe_core.config import ConfigError

    args = _parser().parse_args(argv)
    handlers = {"run": _cmd_run, "sample": _cmd_sample, "sweep": _cmd_sweep}
    try:
        return handlers[args.command](args)
    except (ConfigError, DataError, _BadInput) as exc:
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


if __name__ == "__main__":
    sys.exit(main())
