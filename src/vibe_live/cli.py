"""``vibe-live``: run, config show, export, audit, restore, doctor. Exit codes: 0 success, 2 bad input
(named), 1 internal error (doctor: a check failed), 130 when a second signal cut a shutdown short.

``vibe-live run --replay sample --speed 600`` is the offline demo: the built-in sample market played
as trade prints through the whole service (log, engine, paper venue), no network, no keys.
"""

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

_SECRETS_HELP = (
    "Secrets come only from the environment or a .env file in the working directory: the Finnhub key "
    "from FINNHUB_API_KEY or VIBE__DATA__FINNHUB_API_KEY (the latter wins), the API key from "
    "VIBE__API__API_KEY, the Discord webhook from VIBE__NOTIFICATIONS__DISCORD_WEBHOOK_URL."
)
_LAYERS_HELP = (
    "Config layers, later wins: defaults < config/{env}.yaml < --config FILE < .env < environment "
    "VIBE__SECTION__KEY < --set (and --symbols, --db, --finnhub-url)."
)


class _BadInput(Exception):
    pass


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


def _config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", action="append", default=[], help="YAML config (repeatable)")
    p.add_argument(
        "--env",
        choices=["local", "dev", "prod"],
        help="reads config/{env}.yaml (default: $TRADING_ENV or local; only local may lack its file)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key, e.g. --set storage.snapshot_every=5000 (repeatable)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vibe-live",
        description="The vibe paper-trading service. Offline demo: vibe-live run --replay sample --speed 600",
        epilog=f"{_LAYERS_HELP} {_SECRETS_HELP}",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="run the service (a replay of stored bars, or live)",
        description="Run the service: feed -> SQLite log -> engine -> actions. Recovers from --db on start; "
        "SIGTERM/SIGINT shut it down cleanly (a second signal exits at once).",
        epilog=f"{_LAYERS_HELP} {_SECRETS_HELP}",
    )
    _config_options(run)
    run.add_argument(
        "--replay",
        metavar="DIR|sample",
        help="play stored 5m bars as trade prints: 'sample' (the built-in market; data.sample_* keys) or "
        "a folder of SYMBOL.csv / SYMBOL.parquet (the backtester's loader). Without it: live (Finnhub key)",
    )
    run.add_argument(
        "--speed",
        type=_positive_float,
        metavar="X",
        help="replay at X times real time (--clock wall; default 1)",
    )
    run.add_argument(
        "--clock",
        choices=["wall", "feed"],
        default="wall",
        help="wall: time is the wall clock (a replay's scaled by --speed); feed: the prints' own time, "
        "as fast as possible (a replay), or as they come (live: tests and recorded streams)",
    )
    run.add_argument("--finnhub-url", metavar="URL", help="Finnhub WebSocket URL (data.finnhub_url)")
    run.add_argument("--db", metavar="PATH", help="SQLite store (storage.db; default var/vibe.db)")
    run.add_argument("--symbols", metavar="A,B", help="comma-separated symbols (the core's symbols)")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="signals, validation and notifications as usual, no orders (a logged Pause: every signal is "
        "vetoed 'risk: trading paused'; a later run without --dry-run on the same --db resumes trading)",
    )
    run.add_argument("--log-format", choices=["text", "json"], default="text", help="log lines (stderr)")
    config = sub.add_parser("config", help="show the effective configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    show = config_sub.add_parser(
        "show",
        help="print the merged config, every value with the layer that set it (secrets masked)",
        description=_LAYERS_HELP,
        epilog=_SECRETS_HELP,
    )
    _config_options(show)
    export = sub.add_parser("export", help="write the backtester's result files from a store")
    export.add_argument("--db", metavar="PATH", required=True)
    export.add_argument("--out", metavar="DIR", required=True)
    audit = sub.add_parser("audit", help="backtest the bars a session saw and report every difference")
    audit.add_argument("--db", metavar="PATH", required=True)
    audit.add_argument("--out", metavar="DIR")
    restore = sub.add_parser(
        "restore",
        help="fetch the latest copy of the store from the sync target, check it, put it in place",
        description="Download the newest copy at --from (sync.url by default; or the copy the URL names), "
        "check it (integrity_check, a vibe store of a schema this vibe knows), then replace --db atomically. "
        "A store in use is never replaced; one whose log goes further than the copy's only with --force "
        "(the replaced store is kept beside it).",
        epilog=_LAYERS_HELP,
    )
    _config_options(restore)
    restore.add_argument(
        "--from", dest="source", metavar="URL", help="file://, s3://, gs://, az:// (sync.url)"
    )
    restore.add_argument(
        "--db", metavar="PATH", help="where the store goes (storage.db; default var/vibe.db)"
    )
    restore.add_argument(
        "--force", action="store_true", help="replace a store newer than the copy, or unreadable"
    )
    doctor = sub.add_parser(
        "doctor",
        help="check a deployment before it runs: one line per check, exit 1 if any failed",
        description="Checks: config, db, api, finnhub, discord, sync, clock (OK / FAIL / SKIP, a detail).",
        epilog=f"{_LAYERS_HELP} {_SECRETS_HELP}",
    )
    _config_options(doctor)
    doctor.add_argument("--db", metavar="PATH", help="SQLite store (storage.db)")
    doctor.add_argument("--timeout", type=_positive_float, default=5.0, metavar="S", help="per network check")
    doctor.add_argument("--time-url", metavar="URL", help="also compare the clock with this URL's HTTP Date")
    doctor.add_argument(
        "--skip", action="append", default=[], metavar="CHECK", help="skip a check (repeatable), e.g. finnhub"
    )
    serve = sub.add_parser(
        "serve-results",
        help="serve the monitoring API's read routes over a finished `vibe-backtest run` folder",
        description="The read routes of the monitoring API (docs/api.md) over a backtest's result files, "
        "so the dashboard shows a backtest as it shows a live session. Ctrl-C stops it.",
    )
    serve.add_argument("dir", metavar="DIR", help="a `vibe-backtest run --out DIR` folder")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: a free one)")
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="URL",
        help="allow this browser origin (repeatable)",
    )
    _demo_parser(sub)
    return parser


def _demo_parser(sub: Any) -> None:
    demo = sub.add_parser(
        "demo",
        help="the sample market as a fast live session, with the API and the dashboard (offline)",
        description="Runs `vibe-live run --replay sample` on a temporary store with the monitoring API, "
        "and `vibe-panel serve` over it; prints the dashboard's URL. Ctrl-C stops both cleanly. "
        "Needs the live and panel extras.",
    )
    demo.add_argument("--speed", type=_positive_float, default=600.0, help="replay speed (default 600)")
    demo.add_argument("--port", type=int, default=5006, help="dashboard port (default 5006)")
    demo.add_argument("--api-port", type=int, default=8080, help="API port (default 8080)")
    demo.add_argument("--host", default="127.0.0.1", help="address of both (default 127.0.0.1)")
    demo.add_argument("--db", metavar="PATH", help="keep the store here (default: a temporary one)")
    demo.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="passed to vibe-live run (repeatable)")  # fmt: skip


def _cli_layers(args: argparse.Namespace) -> list[Any]:
    from vibe_backtest.settings import dotted_layer
    from vibe_live.settings import service_layers

    layers = service_layers(args.config, args.overrides, env=args.env)
    for option, key in (("symbols", "symbols"), ("db", "storage.db"), ("finnhub_url", "data.finnhub_url")):
        value = getattr(args, option, None)
        if value:
            layers.append(dotted_layer(f"--{option.replace('_', '-')}", [(key, value)]))
    return layers


def _cmd_config(args: argparse.Namespace) -> int:
    from vibe_live.settings import resolve_settings, show_service_settings

    settings, provenance = resolve_settings(_cli_layers(args))
    print(show_service_settings(settings, provenance), end="")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    import attrs

    from vibe_backtest.api import calendar
    from vibe_live.clock import ReplayClock
    from vibe_live.logs import setup_logging
    from vibe_live.settings import resolve_settings

    settings, provenance = resolve_settings(_cli_layers(args))
    if args.clock == "feed" and args.speed is not None:
        raise _BadInput(
            "--speed paces a wall-clock replay; --clock feed plays as fast as possible (drop one)"
        )
    if args.replay is None:
        return _live(settings, args)
    market, label = _load_replay(args.replay, settings, chosen="symbols" in provenance)
    setup_logging(args.log_format)
    if set(market) != set(settings.core.symbols):
        settings = attrs.evolve(settings, core=attrs.evolve(settings.core, symbols=tuple(market)))
    sessions = calendar()
    bars, last_close, paced_from = _replay_bars(market, sessions, settings.data.replay_warmup_sessions)
    from vibe_live.feeds.replay import ReplayFeed

    clock = ReplayClock(args.speed or 1.0) if args.clock == "wall" else None
    return _serve(
        settings,
        args,
        sessions,
        lambda skip: ReplayFeed(bars, skip=skip),
        feed_label=label,
        clock=clock,
        last_close=last_close,
        paced_from=paced_from if args.clock == "wall" else None,
    )


def _serve(settings: Any, args: argparse.Namespace, sessions: Any, make_feed: Any, **service: Any) -> int:
    """The service over ``settings.storage.db`` with its notifier and (unless switched off) the API,
    until the feed ends or a signal stops it: the one path of a replay and of the live feed."""
    import anyio

    from vibe_live.notify import make_notifier
    from vibe_live.service import LiveService
    from vibe_live.store import Store

    store = Store(settings.storage.db, durability=settings.storage.durability)
    notifier = None
    try:
        notifier = make_notifier(settings, store.path)
        live = LiveService(
            settings,
            store,
            sessions,
            make_feed,
            clock_mode=args.clock,
            dry_run=args.dry_run,
            notifier=notifier,
            **service,
        )
        if settings.features.enable_dashboard_api:
            from vibe_live.api.live import attach_api

            try:
                attach_api(live)
            except OSError as exc:
                raise _BadInput(f"{exc} (set api.port, or features.enable_dashboard_api: false)") from None
        anyio.run(live.run)
    finally:
        if notifier is not None:
            notifier.close()
        store.close()
    return EXIT_OK


def _live(settings: Any, args: argparse.Namespace) -> int:
    """The live service: the Finnhub feed, the wall clock (``--clock feed``: the prints' time)."""

    from vibe_backtest.api import calendar
    from vibe_live.clock import WallClock
    from vibe_live.feeds.finnhub import SymbolLimitError, finnhub_feed
    from vibe_live.history import make_history
    from vibe_live.logs import setup_logging

    if not settings.data.finnhub_api_key:
        raise _BadInput(
            "live mode needs a Finnhub API key: set FINNHUB_API_KEY (or VIBE__DATA__FINNHUB_API_KEY) in "
            "the environment or a .env file; without network or key, `vibe-live run --replay sample` works"
            " offline"
        )
    if args.speed is not None:
        raise _BadInput("--speed paces a replay (--replay); the live feed runs at the market's pace")
    try:
        finnhub_feed(settings)  # refuses too many symbols before anything is opened
    except SymbolLimitError as exc:
        raise _BadInput(str(exc)) from None
    setup_logging(args.log_format)
    sessions = calendar()
    return _serve(
        settings,
        args,
        sessions,
        lambda skip: finnhub_feed(settings),  # the server replays nothing: no resume position
        feed_label="finnhub",
        clock=WallClock() if args.clock == "wall" else None,
        history=make_history(settings, sessions),  # warm-up (data.warmup), archive, backfill
    )


def _load_replay(replay: str, settings: Any, *, chosen: bool) -> tuple[dict[str, Any], str]:
    """The bars to replay and a label naming them (kept in the store: a resume needs the same feed).

    A folder gives every symbol it has files for unless the symbols were chosen (``--symbols`` or a
    config layer), as ``vibe-backtest run --data`` does.
    """
    from vibe_backtest.api import load_market

    symbols = list(settings.core.symbols)
    if replay == "sample":
        from vibe_backtest.api import calendar
        from vibe_backtest.sample import sample_market

        data = settings.data
        try:
            end = dt.date.fromisoformat(data.sample_end)
        except ValueError:
            raise _BadInput(f"data.sample_end {data.sample_end!r} is not a date YYYY-MM-DD") from None
        try:
            market = sample_market(
                symbols, sessions=calendar(), n_sessions=data.sample_sessions, end=end, seed=data.sample_seed
            )
        except ValueError as exc:
            raise _BadInput(f"--replay sample: {exc}") from None
        market = load_market(market)
        label = f"replay sample sessions={data.sample_sessions} end={end} seed={data.sample_seed}"
        return market, label + f" symbols={','.join(symbols)}"
    path = Path(replay)
    if path.is_file():
        raise _BadInput(f"--replay {path} is a file; give the folder of SYMBOL.csv / SYMBOL.parquet files")
    if not path.is_dir():
        raise _BadInput(f"--replay {path}: no such folder (or 'sample' for the built-in market)")
    market = load_market(path, symbols=symbols if chosen else None)
    return market, f"replay {path.resolve()} symbols={','.join(sorted(market))}"


def _replay_bars(market: dict[str, Any], sessions: Any, warmup: int) -> tuple[list[Any], int, int]:
    """The bars in time order, the last session's close, and the open of the first paced session."""
    from vibe_backtest.data import iter_bars

    bars = list(iter_bars(market))
    if not bars:
        raise _BadInput("--replay: no bars to replay")
    opens = sorted({s.open for b in (bars[0], *bars) if (s := sessions.session_at(b.ts)) is not None})
    last = sessions.session_at(bars[-1].ts)
    if last is None:
        raise _BadInput("--replay: the last bar is outside every NYSE session")
    return bars, last.close, opens[min(warmup, len(opens) - 1)]


def _cmd_demo(args: argparse.Namespace) -> int:
    from vibe_live.demo import DemoError, run_demo

    try:
        return run_demo(
            speed=args.speed,
            port=args.port,
            api_port=args.api_port,
            host=args.host,
            db=Path(args.db) if args.db else None,
            overrides=args.overrides,
        )
    except DemoError as exc:
        print(f"vibe-live demo: {exc}", file=sys.stderr)
        return EXIT_INTERNAL


def _cmd_export(args: argparse.Namespace) -> int:
    from vibe_live.export import export_db  # type: ignore[import-not-found, unused-ignore]

    out = export_db(Path(args.db), Path(args.out))
    print(out)
    return EXIT_OK


def _cmd_audit(args: argparse.Namespace) -> int:
    from vibe_live.audit import audit_db  # type: ignore[import-not-found, unused-ignore]

    code: int = audit_db(Path(args.db), Path(args.out) if args.out else None)
    return code


def _cmd_restore(args: argparse.Namespace) -> int:
    from vibe_live.restore import restore
    from vibe_live.settings import resolve_settings

    settings, _ = resolve_settings(_cli_layers(args))
    url = args.source or settings.sync.url
    if not url:
        raise _BadInput("restore: give --from URL (or set sync.url)")
    done = restore(url, Path(settings.storage.db), endpoint_url=settings.sync.endpoint_url, force=args.force)
    print(done.describe())
    return EXIT_OK


def _cmd_doctor(args: argparse.Namespace) -> int:
    from vibe_live.doctor import CHECKS, format_checks, run_doctor
    from vibe_live.settings import pick_env, resolve_settings

    unknown = sorted(set(args.skip) - set(CHECKS))
    if unknown:
        raise _BadInput(f"--skip {', '.join(unknown)}: unknown check; expected one of {', '.join(CHECKS)}")

    def load() -> tuple[Any, str]:
        settings, provenance = resolve_settings(_cli_layers(args))
        import os

        layers = list(dict.fromkeys(provenance.values()))
        shown = ", ".join(layers[:6]) + (", ..." if len(layers) > 6 else "") if layers else "defaults only"
        return settings, f"env {pick_env(args.env, os.environ)}; set by: {shown}"

    checks = run_doctor(load, timeout=args.timeout, time_url=args.time_url, skip=args.skip)
    print(format_checks(checks), end="")
    return EXIT_INTERNAL if any(c.verdict == "FAIL" for c in checks) else EXIT_OK


def _cmd_serve_results(args: argparse.Namespace) -> int:
    from vibe_live.api.results_source import ResultsError
    from vibe_live.api.server import serve_results

    if not 0 <= args.port <= 65535:
        raise _BadInput(f"--port {args.port}: expected 0..65535")
    try:
        serve_results(Path(args.dir), args.host, args.port, cors_origins=tuple(args.cors_origin))
    except (ResultsError, OSError) as exc:
        raise _BadInput(str(exc)) from None
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    from vibe_backtest.data import DataError
    from vibe_core.config import ConfigError
    from vibe_live.store import StoreError
    from vibe_live.sync_target import SyncError

    args = _parser().parse_args(argv)
    handlers = {
        "run": _cmd_run,
        "config": _cmd_config,
        "export": _cmd_export,
        "audit": _cmd_audit,
        "restore": _cmd_restore,
        "doctor": _cmd_doctor,
        "serve-results": _cmd_serve_results,
        "demo": _cmd_demo,
    }
    try:
        return handlers[args.command](args)
    except (ConfigError, DataError, StoreError, SyncError, _BadInput) as exc:
        print(f"vibe-live: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("vibe-live: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print("vibe-live: internal error (a bug: please report it with the traceback above)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
