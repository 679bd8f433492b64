"""`accountplan` end to end: main(argv) with DATABASE_URL on a fresh database (SQLite
file, or a PostgreSQL schema of its own), plus the installed console script once."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from sqlalchemy import func, select

from bot import cli
from storage.db import make_engine
from storage.models import AccountPlan, ActionItem
from tests.conftest import POSTGRES_URL, _fresh_postgres_schema

SAMPLE = "Newton Memorial Hospital 2025 Strategic Plan"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path, monkeypatch) -> str:
    """DATABASE_URL of an empty database: SQLite (migrated by the CLI itself) or
    PostgreSQL (brought up to date with `accountplan db upgrade`, as people must)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cli.db'}"
    else:
        schema = _fresh_postgres_schema(request)
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("DATABASE_URL", url)
    if request.param == "postgres":
        assert cli.main(["db", "upgrade"]) == 0
    return url


def run(capsys, *argv: str) -> SimpleNamespace:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return SimpleNamespace(code=code, out=out, err=err)


def count(url: str, model=AccountPlan, **where) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(model).filter_by(**where))
    finally:
        engine.dispose()


def one_line_error(result) -> str:
    assert result.code == 1
    assert result.out == ""
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1, result.err
    return result.err


# ---------------------------------------------------------------------------


def test_demo_prints_the_written_plan_once_loaded(database, capsys):
    first = run(capsys, "demo")
    assert first.code == 0
    assert first.out.startswith(f"# {SAMPLE}\n")
    for text in [
        "- **Account:** Newton Memorial Hospital",
        "- **Dates:** 1 Jan 2025 – 31 Dec 2025",
        "- **Status:** Active",
        "### 1. Improve account's awareness of Cholecap and Restolar",
        "#### 1.1 Expand understanding of improved patient outcomes",
        "#### 1.2 Identify therapeutic gaps",
        "- [ ] Share results from latest Cholecap and Restolar studies",
        "- [ ] Follow up visit to answer questions and provide additional product information",
        "- Superior product efficacy as demonstrated through multiple studies",
        "- Account has low awareness of product due to legacy use of competitor product",
        "- Possibility of unseating key competitor on formularies",
        "### Threats",
    ]:
        assert text in first.out, text
    assert "T0LOCAL" in first.err

    second = run(capsys, "demo")
    assert second.code == 0 and second.out == first.out
    assert second.err == ""  # nothing loaded the second time
    assert count(database) == 1


def test_export_import_round_trip(database, capsys, tmp_path):
    run(capsys, "demo")
    exported = run(capsys, "export", "Newton", "--format", "yaml")
    assert exported.code == 0
    assert yaml.safe_load(exported.out)["plans"][0]["name"] == SAMPLE
    as_json = run(capsys, "export", "1", "--format", "json")
    assert as_json.code == 0 and as_json.out.startswith('{\n  "plans": [')

    plan_file = tmp_path / "newton.yaml"
    plan_file.write_text(exported.out, encoding="utf-8")
    imported = run(capsys, "import", str(plan_file), "--team", "T0SECOND")
    assert imported.code == 0
    assert imported.out.startswith("imported 1 plan into workspace T0SECOND\n")
    assert SAMPLE in imported.out

    again = run(capsys, "export", SAMPLE.lower(), "--format", "yaml", "--team", "T0SECOND")
    assert again.code == 0 and again.out == exported.out
    markdown = run(capsys, "export", "newton", "--team", "T0SECOND")
    assert markdown.code == 0 and markdown.out.startswith(f"# {SAMPLE}")


def test_import_from_stdin_into_the_local_workspace(database, capsys, monkeypatch):
    text = (Path(cli.__file__).parents[1] / "storage" / "samples" / "newton_2025.yaml").read_text()
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(read=lambda: text))
    result = run(capsys, "import", "-")
    assert result.code == 0
    assert "T0LOCAL" in result.err and "local workspace" in result.err
    assert count(database, team_id="T0LOCAL") == 1


def test_ambiguous_plan_lists_the_matches(database, capsys):
    run(capsys, "demo")
    exported = run(capsys, "export", "Newton", "--format", "json").out
    engine = make_engine(database)
    from storage.db import make_session_factory, transaction
    from storage.planfile import import_plan_file

    with transaction(make_session_factory(engine)) as session:
        import_plan_file(session, "T0LOCAL", exported.replace("2025 Strategic", "2026 Strategic"))
    engine.dispose()

    result = run(capsys, "export", "Newton")
    assert result.code == 1 and result.out == ""
    assert "several plans match “Newton”" in result.err
    assert "1\tNewton Memorial Hospital 2025 Strategic Plan" in result.err
    assert "2\tNewton Memorial Hospital 2026 Strategic Plan" in result.err
    assert run(capsys, "export", "2026").code == 0


def test_no_matching_plan(database, capsys):
    run(capsys, "demo")
    err = one_line_error(run(capsys, "export", "Mercy"))
    assert err == "accountplan: no plan matches “Mercy” in workspace T0LOCAL\n"


def test_bad_plan_file_is_one_line_and_changes_nothing(database, capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "plans:\n"
        "  - {name: A, account: X, start_date: 2025-01-01, end_date: 2025-12-31, owner: U1}\n"
        "  - {name: B, account: X, start_date: 2025-01-01, end_date: 2025-12-31, owner: U1, colour: red}\n"
    )
    err = one_line_error(run(capsys, "import", str(bad)))
    assert err.startswith("accountplan: plans[1].colour: unknown field")
    assert count(database) == 0


def test_missing_file(database, capsys, tmp_path):
    err = one_line_error(run(capsys, "import", str(tmp_path / "nope.yaml")))
    assert err == f"accountplan: cannot read {tmp_path / 'nope.yaml'}: No such file or directory\n"


def test_several_workspaces_need_team(database, capsys):
    run(capsys, "demo", "--team", "T0ONE")
    run(capsys, "demo", "--team", "T0TWO")
    err = one_line_error(run(capsys, "export", "Newton"))
    assert "several workspaces (T0ONE, T0TWO)" in err and "--team" in err
    assert run(capsys, "export", "Newton", "--team", "T0TWO").code == 0


def test_team_must_look_like_a_workspace_id(database, capsys):
    err = one_line_error(run(capsys, "demo", "--team", "my team"))
    assert err == "accountplan: --team 'my team' is not a Slack workspace id such as T0123ABCD\n"


def test_tick_calls_the_scheduler(database, capsys, monkeypatch):
    calls = []
    fake = SimpleNamespace(tick=lambda now: calls.append(now))
    monkeypatch.setitem(sys.modules, "bot.scheduler.passes", fake)
    assert run(capsys, "tick", "--now", "2025-03-01T09:00:00+01:00").code == 0
    assert calls == [dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.timezone.utc)]
    assert run(capsys, "tick").code == 0
    assert calls[-1].tzinfo is not None
    err = one_line_error(run(capsys, "tick", "--now", "tomorrow"))
    assert "--now 'tomorrow' is not an ISO 8601 time" in err


def test_serve_hands_over_to_bot_server(monkeypatch, capsys):
    calls = []

    def serve(no_scheduler=False, workers=None):
        calls.append((no_scheduler, workers))
        return 2

    monkeypatch.setitem(sys.modules, "bot.server", SimpleNamespace(serve=serve))
    assert cli.main(["serve", "--no-scheduler"]) == 2
    assert cli.main(["serve", "--workers", "3"]) == 2
    assert calls == [(True, None), (False, 3)]
    with pytest.raises(SystemExit):  # argparse's one-line usage error
        cli.main(["serve", "--workers", "0"])


# ---------------------------------------------------------------------------
# The database is wrong: one line, no secret


@pytest.mark.postgres
def test_postgres_schema_not_current(request, monkeypatch, capsys):
    schema = _fresh_postgres_schema(request)
    monkeypatch.setenv("DATABASE_URL", f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    err = one_line_error(run(capsys, "demo"))
    assert err.endswith("is not up to date: run `accountplan db upgrade`\n")
    upgrade = run(capsys, "db", "upgrade")
    assert upgrade.code == 0 and "up to date" in upgrade.out
    assert run(capsys, "demo").code == 0


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://someone:s3cretpw@127.0.0.1:1/nothing",
        "postgresql://someone:s3cretpw@/",
        "mysql+nodriver://someone:s3cretpw@host/db",
        "not a url s3cretpw",
    ],
)
def test_database_errors_are_one_line_without_the_password(url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", url)
    for argv in (["export", "x"], ["db", "upgrade"]):
        err = one_line_error(run(capsys, *argv))
        assert "s3cretpw" not in err


# ---------------------------------------------------------------------------
# The installed console script, from another folder


def test_console_script_runs_from_any_folder(tmp_path):
    script = shutil.which("accountplan") or str(Path(sys.executable).with_name("accountplan"))
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}")
    result = subprocess.run(
        [script, "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"# {SAMPLE}\n")
    assert count(env["DATABASE_URL"], ActionItem) == 2


def test_templates_export_and_import(database, capsys, tmp_path):
    """`export --templates` writes the workspace's templates as a plan file with only
    `templates:`; `import` takes it (or plans and templates together) back unchanged."""
    from storage.db import make_session_factory, transaction
    from storage.domain import Actor
    from storage.models import PlanTemplate
    from storage.templates import add_template

    assert run(capsys, "demo").code == 0
    engine = make_engine(database)
    with transaction(make_session_factory(engine)) as session:
        add_template(session, Actor("T0LOCAL", "U0123OWNER"), "Hospital", {"strategies": [
            {"title": "Grow", "objectives": [{"title": "Listings", "action_items": [
                {"title": "Meet", "due_offset_days": 14}]}]}]})
    engine.dispose()

    alone = run(capsys, "export", "--templates")
    assert alone.code == 0 and alone.out.startswith("templates:\n  - name: Hospital\n    owner: U0123OWNER\n")
    assert "plans" not in yaml.safe_load(alone.out)
    both = run(capsys, "export", "Newton", "--templates", "--format", "json")
    assert both.code == 0 and list(yaml.safe_load(both.out)) == ["plans", "templates"]

    (tmp_path / "t.yaml").write_text(alone.out, encoding="utf-8")
    imported = run(capsys, "import", str(tmp_path / "t.yaml"), "--team", "T0SECOND")
    assert imported.code == 0
    assert imported.out.startswith("imported 0 plans and 1 template into workspace T0SECOND\n  template ")
    assert imported.out.rstrip().endswith("\tHospital")
    assert run(capsys, "export", "--templates", "--team", "T0SECOND").out == alone.out

    (tmp_path / "both.json").write_text(both.out, encoding="utf-8")
    again = run(capsys, "import", str(tmp_path / "both.json"), "--team", "T0THIRD")
    assert again.code == 0 and again.out.startswith("imported 1 plan and 1 template into workspace T0THIRD\n")
    assert run(capsys, "export", "Newton", "--templates", "--format", "json", "--team", "T0THIRD").out == both.out

    # All or nothing: the template name is taken in T0SECOND, so its plan goes too.
    bad = run(capsys, "import", str(tmp_path / "both.json"), "--team", "T0SECOND")
    assert one_line_error(bad) == "accountplan: templates[0].name: a template of this name exists: choose another\n"
    assert count(database, team_id="T0SECOND") == 0 and count(database, PlanTemplate, team_id="T0SECOND") == 1


def test_export_usage(database, capsys):
    nothing = run(capsys, "export")
    assert nothing.code == 2 and "export needs a PLAN" in nothing.err and nothing.out == ""
    markdown = run(capsys, "export", "--templates", "--format", "md")
    assert markdown.code == 2 and "--templates writes a plan file" in markdown.err
