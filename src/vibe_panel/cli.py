"""``vibe-panel serve``: the dashboard over a running service's API, or over a finished backtest.

Exit codes: 0 after Ctrl-C, 2 bad input (named), 1 internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_API = "http://127.0.0.1:8080"
API_KEY_ENV = "VIBE__API__API_KEY"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vibe-panel", description="The vibe dashboard (Panel).")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve the dashboard",
        description="Serve the dashboard over the monitoring API (--api), or over a finished "
        "`vibe-backtest run` folder (--results; the API's results app runs in-process).",
    )
    source = serve.add_mutually_exclusive_group()
    source.add_argument("--api", metavar="URL", help=f"the service's API (default {DEFAULT_API})")
    source.add_argument("--results", metavar="DIR", help="a finished vibe-backtest run folder")
    serve.add_argument("--port", type=int, default=5006, help="dashboard port (default 5006)")
    serve.add_argument("--host", default="127.0.0.1", help="dashboard address (default 127.0.0.1)")
    return parser


def _serve(args: argparse.Namespace) -> int:
    from vibe_panel.server import results_api, serve_dashboard

    # read routes behind api.enable_auth need the key too; the controls ask for it in the page
    api_key = os.environ.get(API_KEY_ENV, "")
    url = f"http://{args.host}:{args.port}/"
    if args.results:
        folder = Path(args.results)
        if not folder.is_dir():
            print(f"vibe-panel: error: --results {folder}: no such folder", file=sys.stderr)
            return EXIT_BAD_INPUT
        from vibe_live.api.results_source import ResultsError

        try:
            with results_api(folder) as api_url:
                print(f"vibe-panel: dashboard of {folder} at {url}", flush=True)
                serve_dashboard(api_url, live=False, host=args.host, port=args.port)
        except ResultsError as exc:
            print(f"vibe-panel: error: --results {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        return EXIT_OK
    api_url = args.api or DEFAULT_API
    if not api_url.startswith(("http://", "https://")):
        print(f"vibe-panel: error: --api {api_url!r}: give an http:// or https:// URL", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"vibe-panel: dashboard of {api_url} at {url}", flush=True)
    serve_dashboard(api_url, live=True, host=args.host, port=args.port, api_key=api_key)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _serve(args)
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception:
        traceback.print_exc()
        print(
            "vibe-panel: internal error (a bug: please report it with the traceback above)", file=sys.stderr
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
