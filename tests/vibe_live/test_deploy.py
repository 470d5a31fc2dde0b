"""The deployment files, without a Docker engine: the Dockerfile's commands run here, the compose file
and the systemd unit parse and name what exists, every config file loads through the real layers."""

from __future__ import annotations

import configparser
import contextlib
import http.server
import importlib
import importlib.util
import json
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from tests.vibe_live.live_files import env

from vibe_backtest.layers import is_secret
from vibe_live.cli import _parser
from vibe_live.settings import ENVS, Settings, load_service_settings, settings_to_dict

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, rest) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = dockerfile()
    last = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last:]


def one(steps: list[tuple[str, str]], word: str) -> str:
    found = [rest for w, rest in steps if w == word]
    assert len(found) == 1, f"{word}: {found}"
    return found[0]


def script_argv(name: str) -> list[str]:
    """The console script ``name`` (as pip installs it from pyproject) run from these sources."""
    module, func = SCRIPTS[name].split(":")
    return [sys.executable, "-c", f"import sys; from {module} import {func}; sys.exit({func}(sys.argv[1:]))"]


def entry_command() -> list[str]:
    stage = final_stage()
    return json.loads(one(stage, "ENTRYPOINT")) + json.loads(one(stage, "CMD"))


# -- Dockerfile ------------------------------------------------------------------------------------


def test_the_dockerfile_builds_a_wheel_then_runs_slim_as_a_non_root_user():
    steps = dockerfile()
    froms = [rest for word, rest in steps if word == "FROM"]
    assert len(froms) == 2 and froms[0].endswith("AS build") and froms[1].endswith("AS runtime")
    base = next(rest for word, rest in steps if word == "ARG" and rest.startswith("PYTHON_IMAGE="))
    assert "slim" in base and "3.11" in base
    stage = final_stage()
    assert any(w == "COPY" and rest.startswith("--from=build") for w, rest in stage)
    user = one(stage, "USER")
    assert user not in ("root", "0")
    words = [w for w, _ in stage]
    assert words.index("USER") < words.index("ENTRYPOINT")  # the service never runs as root
    extras = next(rest for w, rest in stage if w == "ARG" and rest.startswith("VIBE_EXTRAS="))
    for extra in extras.split("=", 1)[1].split(","):
        assert extra in EXTRAS, f"the image installs extra {extra!r}, which pyproject.toml lacks"
    assert one(stage, "STOPSIGNAL") == "SIGTERM"
    ignored = (ROOT / ".dockerignore").read_text().split()
    for word, rest in steps:  # what the image copies exists and is not ignored
        if word == "COPY" and not rest.startswith("--from"):
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists() and source not in ignored, source
    assert ".env" in ignored and ".git" in ignored


def test_the_entrypoint_is_exec_form_and_its_command_is_what_vibe_live_accepts():
    stage = final_stage()
    entry, cmd = json.loads(one(stage, "ENTRYPOINT")), json.loads(one(stage, "CMD"))
    assert entry == ["vibe-live"] and entry[0] in SCRIPTS
    args = _parser().parse_args(cmd)
    assert args.command == "run" and args.env == "prod" and args.log_format == "json"
    workdir = one(stage, "WORKDIR")
    volume = json.loads(one(stage, "VOLUME"))
    settings, _ = load_service_settings(env="prod", environ={}, cwd=ROOT)
    assert volume == [f"{workdir}/{Path(settings.storage.db).parent}"]  # the store is on the volume


def copy_app(tmp_path: Path) -> Path:
    """The image's /app: its config folder (WORKDIR /app, COPY config ./config)."""
    app = tmp_path / "app"
    shutil.copytree(ROOT / "config", app / "config")
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def json_lines(text: str) -> list[dict]:
    """The service's JSON log lines (anything else a library prints is skipped)."""
    out = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            if isinstance(record := json.loads(line), dict) and "event" in record:
                out.append(record)
    return out


API_MERGED = importlib.util.find_spec("vibe_live.api") is not None


def test_the_image_command_runs_and_sigterm_stops_it_with_a_final_copy(tmp_path):
    """ENTRYPOINT + CMD as the container runs them (TRADING_ENV=prod as the image sets it), played on
    the sample market instead of Finnhub (no network here), the copies on the local disk. Once the
    service serves the monitoring API, the image's HEALTHCHECK command must pass against it."""
    app = copy_app(tmp_path)
    backups = tmp_path / "backups"
    argv = entry_command()
    extra = ["--replay", "sample", "--speed", "300", "--set", "data.sample_sessions=2"]
    port = str(free_port())
    variables = {"VIBE__API__PORT": port, "VIBE__API__HOST": "127.0.0.1", "VIBE__API__API_KEY": "k" * 32}
    healthy = None
    with subprocess.Popen(
        script_argv(argv[0]) + argv[1:] + extra,
        cwd=app,
        env=env(TRADING_ENV="prod", VIBE__SYNC__URL=backups.as_uri(), **variables),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stderr is not None
            lines: list[dict] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (lines and lines[-1]["event"] == "warm-up done"):
                line = child.stderr.readline()
                if not line:
                    break
                lines += json_lines(line)
            assert lines and lines[-1]["event"] == "warm-up done", lines[-5:]
            if API_MERGED:  # the HEALTHCHECK command against the real /health/live
                for _ in range(20):
                    check = subprocess.run(
                        healthcheck_argv(), env=env(VIBE__API__PORT=port), capture_output=True, timeout=30
                    )
                    if (healthy := check.returncode == 0) or child.poll() is not None:
                        break
                    time.sleep(0.5)
            sent = time.monotonic()
            child.send_signal(signal.SIGTERM)
            rest = json_lines(child.stderr.read())
            assert child.wait(timeout=30) == 0
            stopped_in = time.monotonic() - sent
        finally:
            if child.poll() is None:
                child.kill()
    events = [e["event"] for e in lines + rest]
    assert "started" in events and "shutdown" in events and events[-1] == "stopped"
    synced = [e for e in rest if e["event"] == "synced"]
    assert synced and synced[-1]["reason"] == "shutdown"
    assert (backups / synced[-1]["copy"]).is_file()
    assert (app / "var" / "vibe.db").is_file()  # prod's storage.db, relative to WORKDIR
    assert healthy is (True if API_MERGED else None)
    print(f"SIGTERM to exit: {stopped_in:.2f} s")


class _Health(http.server.BaseHTTPRequestHandler):
    """A stand-in for the API's /health/live (only for the health-check command's own test)."""

    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/health/live" else 404
        body = json.dumps({"status": "alive", "uptime_seconds": 1.0}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def healthcheck_argv() -> list[str]:
    rest = one(final_stage(), "HEALTHCHECK")
    options, _, command = rest.partition(" CMD ")
    assert "--interval" in options and "--timeout" in options
    argv = json.loads(command)
    assert argv[0] == "python" and "/health/live" in argv[-1]  # exec form: no shell, no curl needed
    return [sys.executable, *argv[1:]]


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_the_health_check_command_passes_only_on_a_200_from_health_live(status, healthy):
    handler = type("Health", (_Health,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = str(server.server_address[1])
        done = subprocess.run(
            healthcheck_argv(), env=env(VIBE__API__PORT=port), capture_output=True, timeout=30
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (done.returncode == 0) is healthy, done.stderr


def test_the_health_check_command_fails_when_nothing_listens():
    port = str(free_port())
    done = subprocess.run(healthcheck_argv(), env=env(VIBE__API__PORT=port), capture_output=True, timeout=30)
    assert done.returncode != 0


def test_the_health_check_targets_the_port_prod_serves_the_api_on():
    settings, _ = load_service_settings(env="prod", environ={}, cwd=ROOT)
    assert "'VIBE__API__PORT', '8080'" in healthcheck_argv()[-1] and settings.api.port == 8080
    assert one(final_stage(), "EXPOSE") == "8080"


# -- docker compose --------------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_compose_file_runs_the_image_command_with_a_volume_env_file_and_grace():
    services = compose()["services"]
    bot = services["bot"]
    assert bot["build"] == "." and (ROOT / "Dockerfile").is_file()
    args = _parser().parse_args(bot["command"])
    assert args.command == "run" and args.env == "prod"
    assert bot["env_file"] == ".env" and (ROOT / ".env.example").is_file()
    volume, _, mount = bot["volumes"][0].partition(":")
    assert volume in compose()["volumes"] and mount == json.loads(one(final_stage(), "VOLUME"))[0]
    settings, _ = load_service_settings(env="prod", environ={}, cwd=ROOT)
    grace = float(bot["stop_grace_period"].removesuffix("s"))
    assert grace == 30 and settings.service.shutdown_timeout_s < grace
    assert bot["ports"] == [f"127.0.0.1:{settings.api.port}:{settings.api.port}"]  # loopback only
    dashboard = services["dashboard"]
    assert dashboard["image"] == bot["image"]
    assert dashboard["depends_on"]["bot"]["condition"] == "service_healthy"
    assert f"http://bot:{settings.api.port}" in dashboard["command"]
    assert all(port.startswith("127.0.0.1:") for port in dashboard["ports"])


def test_the_dashboard_command_is_a_console_script():
    entry = compose()["services"]["dashboard"]["entrypoint"]
    if entry[0] not in SCRIPTS:
        pytest.skip(f"{entry[0]} is not in pyproject.toml yet (it arrives with the dashboard branch)")
    assert entry == ["vibe-panel"]
    module = importlib.import_module(SCRIPTS[entry[0]].split(":")[0])
    args = module._parser().parse_args(compose()["services"]["dashboard"]["command"])
    assert args.command == "serve" and args.api == "http://bot:8080"
    assert (
        args.host == "0.0.0.0"
        and f"127.0.0.1:{args.port}:{args.port}" in compose()["services"]["dashboard"]["ports"]
    )


# -- systemd ---------------------------------------------------------------------------------------


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read(ROOT / "deploy" / "vibe-live.service")
    return parser


def test_the_systemd_unit_restarts_on_failure_and_stops_with_sigterm_in_time():
    service = unit()["Service"]
    assert service["Restart"] == "on-failure" and service["KillSignal"] == "SIGTERM"
    settings, _ = load_service_settings(env="prod", environ={}, cwd=ROOT)
    assert settings.service.shutdown_timeout_s < float(service["TimeoutStopSec"])
    assert unit()["Install"]["WantedBy"] == "multi-user.target"
    assert service["RestartPreventExitStatus"] == "2"  # a config error is not fixed by restarting


def test_the_systemd_unit_names_the_console_script_in_the_venv_of_its_working_directory():
    service = unit()["Service"]
    workdir = Path(service["WorkingDirectory"])
    argv = shlex.split(service["ExecStart"])
    binary = Path(argv[0])
    assert binary.name in SCRIPTS and binary.parent == workdir / ".venv" / "bin"
    args = _parser().parse_args(argv[1:])
    assert args.command == "run" and args.env == "prod"
    assert Path(service["EnvironmentFile"]) == workdir / ".env"
    settings, _ = load_service_settings(env="prod", environ={}, cwd=ROOT)
    writable = Path(service["ReadWritePaths"])
    assert (workdir / settings.storage.db).parent == writable  # the store (and its sync copies) live there
    environment = dict(item.split("=", 1) for item in shlex.split(service["Environment"]))
    assert environment["TRADING_ENV"] == "prod"
    assert Path(environment["VIBE_CACHE_DIR"]).is_relative_to(writable)  # the calendar cache is writable


# -- config files and secrets ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ENVS)
def test_every_environment_has_a_config_file_that_loads(name):
    settings, provenance = load_service_settings(env=name, environ={}, cwd=ROOT)
    assert any(origin == f"config/{name}.yaml" for origin in provenance.values())
    if name in ("dev", "prod"):
        assert settings.api.enable_auth and settings.features.enable_cloud_sync
        assert settings.sync.every_minutes == 5
    if name == "prod":
        assert not settings.sync.url.startswith("file:")  # the copies leave the machine


def test_the_config_folder_holds_one_file_per_environment():
    assert sorted(p.stem for p in (ROOT / "config").glob("*.yaml")) == sorted(ENVS)
    assert not list((ROOT / "config").glob("*.example"))


def secret_variables() -> list[str]:
    def walk(tree: dict, prefix: str = "") -> list[str]:
        out = []
        for key, value in tree.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict):
                out += walk(value, path + ".")
            elif is_secret(path):
                out.append("VIBE__" + path.upper().replace(".", "__"))
        return out

    return walk(settings_to_dict(Settings()))


def test_env_example_lists_every_secret_and_loads(tmp_path):
    text = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.M))
    assert set(secret_variables()) <= names and len(secret_variables()) >= 3
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= names
    for name in ENVS:  # as .env in the working directory: every layer still loads
        load_service_settings(env=name, environ={}, cwd=_with_dotenv(tmp_path / name, text))


def _with_dotenv(folder: Path, text: str) -> Path:
    shutil.copytree(ROOT / "config", folder / "config")
    (folder / ".env").write_text(text)
    return folder
