"""The Dockerfile, read instruction by instruction (no image can be built here): the
base, `pip install .`, a user that is not root, no secret baked in, `accountplan serve`,
and a HEALTHCHECK on /health whose command is run here against a small server."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SECRET_VARIABLES = re.compile(r"SLACK_(BOT_TOKEN|APP_TOKEN|SIGNING_SECRET|CLIENT_SECRET)|DATABASE_URL")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    result, current = [], ""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        word, _, rest = current.strip().partition(" ")
        result.append((word.upper(), rest.strip()))
        current = ""
    return result


def of(kind: str) -> list[str]:
    return [rest for word, rest in instructions() if word == kind]


def test_base_image_and_install():
    assert instructions()[0] == ("FROM", "python:3.11-slim")
    assert any(re.search(r"\bpip install \.(\s|$)", run) for run in of("RUN"))


def test_copies_what_pip_install_needs():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    copied = {Path(source).name for copy in of("COPY") for source in copy.split()[:-1]}
    packages = {pattern.rstrip("*") for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert {"pyproject.toml", project["project"]["readme"], *packages} <= copied
    ignored = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for name in copied:
        assert (REPO / name).exists(), name
        assert not any(fnmatch.fnmatch(name, pattern) for pattern in ignored), name
    for kept_out in (".git", ".venv", ".env", "accountplan.db", "tests"):
        assert any(fnmatch.fnmatch(kept_out, pattern) for pattern in ignored), kept_out


def test_runs_as_a_user_that_is_not_root():
    order = [word for word, _ in instructions()]
    users = of("USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert max(i for i, word in enumerate(order) if word == "USER") < order.index("CMD")
    assert order.index("USER") > max(i for i, word in enumerate(order) if word == "RUN")


def test_no_secret_baked_in():
    for word, rest in instructions():
        if word in ("ENV", "ARG", "LABEL"):
            assert not SECRET_VARIABLES.search(rest), rest
    text = (REPO / "Dockerfile").read_text()
    assert not re.search(r"xox[bpae]-|xapp-|postgres(ql)?://\S*:\S*@", text)
    assert "COPY . " not in text  # only named sources: never a stray .env


def test_serves_by_default():
    (cmd,) = of("CMD")
    assert json.loads(cmd) == ["accountplan", "serve"]
    assert "3000" in " ".join(of("EXPOSE"))


def healthcheck_command() -> list[str]:
    (check,) = of("HEALTHCHECK")
    options, _, command = check.partition("CMD ")
    assert "--interval" in options and "--timeout" in options
    return json.loads(command)


class Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(self.status if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def health_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_check(port: int, **env: str) -> int:
    command = healthcheck_command()
    assert command[0] == "python"
    environ = {k: v for k, v in os.environ.items() if k != "SLACK_APP_TOKEN"}
    return subprocess.run([sys.executable, *command[1:]], env={**environ, "PORT": str(port), **env},
                          capture_output=True, timeout=30).returncode


def test_healthcheck_asks_for_health(health_server, monkeypatch):
    assert "/health" in " ".join(healthcheck_command())
    port = health_server.server_address[1]
    monkeypatch.setattr(Health, "status", 200)
    assert run_check(port) == 0
    monkeypatch.setattr(Health, "status", 503)  # database unavailable
    assert run_check(port) != 0
    assert run_check(port, SLACK_APP_TOKEN="xapp-1") == 0  # Socket Mode serves no HTTP
