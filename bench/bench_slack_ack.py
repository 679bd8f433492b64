"""Ack latency and throughput of `/accountplan list`, `show` (a 1,500-item plan) and
`mine`, with 2,000 plans in the database, at concurrency 1, 8 and 32, beside a bare
Bolt app on the same server (waitress, same threads) answering the same command.

    python bench/bench_slack_ack.py [--requests 120] [--levels 1,8,32]
                                    [--database-url postgresql://…]   (default: SQLite)

Both apps run as real processes (`accountplan serve --no-scheduler`, bench/bare_bolt.py)
against a local Slack-compatible Web API in this process; every request is signed.
"ack" is the HTTP answer (what Slack waits up to 3 s for); "done" is until the app's
answer reached the Web API (the modal opened, the list posted to response_url).
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.data import Shape, bulk_plans  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import make_engine  # noqa: E402
from tests.bot import signing  # noqa: E402
from tests.bot.slack_api import FakeSlackAPI  # noqa: E402

TEAM = signing.TEAM_ID
MEMBER = "U0MEMBER"  # on every plan's team, assignee of every item


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command} exited: {process.stderr.read().decode()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{command} did not answer /health")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def one_request(port: int, api: FakeSlackAPI, text: str) -> tuple[float, float, int, str]:
    fields = signing.slash_command("/accountplan", text, user=MEMBER, team=TEAM,
                                   response_url=api.response_url(channel=signing.CHANNEL_ID),
                                   trigger_id=api.trigger_id())
    body = signing.encode_form(fields)
    headers = signing.signed_headers(body, signing.FORM)
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/slack/events", body=body.encode(), headers=headers)
        response = connection.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 0  # dropped connection
    finally:
        connection.close()
    key = fields["trigger_id"] if text.startswith("show") else fields["response_url"]
    return started, time.monotonic() - started, status, key


def answered_at(api: FakeSlackAPI) -> dict[str, float]:
    """When the app's answer to each request reached the Web API, by trigger id
    (modals) or response URL (lists): monotonic, like the request start times."""
    found = {}
    for call in list(api.calls):
        if call.method == "views.open":
            found.setdefault(call.params.get("trigger_id"), call.at)
        elif call.method == "response_url":
            found.setdefault(call.url, call.at)
    return found


def run_level(port: int, api: FakeSlackAPI, text: str, concurrency: int, requests: int) -> dict:
    results: list[tuple[float, float, int, str]] = []
    lock = threading.Lock()

    def worker(_n: int) -> None:
        result = one_request(port, api, text)
        with lock:
            results.append(result)

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(requests)))
    wall = time.monotonic() - started
    latencies = sorted(r[1] for r in results)
    ok = sum(1 for r in results if r[2] == 200)
    result = {"p50": statistics.median(latencies), "p99": _p99(latencies),
              "rps": len(results) / wall, "failed": len(results) - ok, "done_p99": None}
    if text != "help":
        settle(api)  # answers still on their way after the acks
        arrived = answered_at(api)
        done = sorted(arrived[key] - start for start, _, _, key in results if key in arrived)
        result["done_p99"] = _p99(done) if done else None
        result["unanswered"] = len(results) - len(done)
    return result


def settle(api: FakeSlackAPI, quiet: float = 1.5, limit: float = 120.0) -> None:
    """Wait until the app stops calling the Web API: work still queued after the acks of
    one level must not be measured as the next level's."""
    deadline = time.monotonic() + limit
    seen = -1
    while time.monotonic() < deadline:
        count = len(api.calls)
        if count == seen:
            return
        seen = count
        time.sleep(quiet)


def _p99(values: list[float]) -> float:
    return values[min(len(values) - 1, int(len(values) * 0.99))]


def _done(result: dict) -> str:
    if result.get("done_p99") is None:
        return ""
    return f"  done p99 {result['done_p99'] * 1000:7.1f} ms (unanswered {result['unanswered']})"


def prepare_database(url: str | None, workdir: Path) -> tuple[str, int]:
    url = url or f"sqlite:///{workdir / 'bench.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    t = time.perf_counter()
    bulk_plans(engine, team_id=TEAM, plans=2_000, shape=Shape(5, 4, 3))
    (big,) = bulk_plans(engine, team_id=TEAM, plans=1, shape=Shape(5, 10, 30), name_prefix="Big plan")
    print(f"data: 2,001 plans, {2_000 * 60 + 1_500:,} action items in {time.perf_counter() - t:.1f} s "
          f"({engine.dialect.name}); big plan id {big}", flush=True)
    engine.dispose()
    return url, big


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=120, help="requests per command and level")
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        url, big = prepare_database(args.database_url, Path(tmp))
        api = FakeSlackAPI().start()
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": signing.SIGNING_SECRET,
               "SLACK_API_URL": api.url, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
        commands = {"list": "list", "show": f"show {big}", "mine": "mine"}
        rows = []
        try:
            for name, server_cmd in (("accountplan", [sys.executable, "-m", "bot.cli", "serve", "--no-scheduler"]),
                                     ("bare Bolt", [sys.executable, "bench/bare_bolt.py"])):
                port = free_port()
                process = start(server_cmd, {**env, "PORT": str(port)}, port)
                try:
                    run_level(port, api, "help", 4, 20)  # warm up
                    settle(api)
                    for command, text in commands.items():
                        for level in levels:
                            result = run_level(port, api, text, level, args.requests)
                            rows.append((name, command, level, result))
                            print(f"{name:12} {command:5} c={level:<3} ack p50 {result['p50'] * 1000:7.1f} ms"
                                  f"  p99 {result['p99'] * 1000:7.1f} ms  {result['rps']:6.1f} req/s"
                                  f"  failed {result['failed']}" + _done(result), flush=True)
                finally:
                    stop(process)
        finally:
            api.stop()

    print("\nratio accountplan / bare Bolt (same server, same run): p99 ack and req/s")
    bare = {(c, lv): r for n, c, lv, r in rows if n == "bare Bolt"}
    for name, command, level, result in rows:
        if name != "accountplan":
            continue
        base = bare[(command, level)]
        print(f"  {command:5} c={level:<3} p99 ×{result['p99'] / base['p99']:.2f}"
              f"   req/s ×{result['rps'] / base['rps']:.2f}")


if __name__ == "__main__":
    main()
