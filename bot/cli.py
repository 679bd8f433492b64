"""`accountplan`: the console script (RUN_CONTRACT "Commands").

    accountplan serve [--no-scheduler] [--workers N]
    accountplan tick [--now ISO-8601]
    accountplan db upgrade
    accountplan demo [--team TEAM_ID]
    accountplan export [PLAN] [--templates] [--format md|json|yaml] [--team TEAM_ID] [--output FILE]
    accountplan import FILE [--team TEAM_ID]
    accountplan manifest [--socket-mode | --url https://HOST] [--oauth] [--name NAME]
    accountplan doctor

The database is DATABASE_URL (default sqlite:///accountplan.db). SQLite is migrated on
start; PostgreSQL must be current (`accountplan db upgrade`) for every other command.
The workspace of demo/export/import is --team, or else the only one in the database,
or else T0LOCAL, a local workspace for using the CLI without Slack.
Every error is one line on stderr and exit code 1 (2 for bad usage), no traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib
import io
import sys
from importlib import resources

from sqlalchemy import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.config import LOCAL_TEAM, one_line
from storage import migrate
from storage.db import database_url, is_sqlite, make_engine, make_session_factory, transaction
from storage.errors import PlanError

SAMPLE = "newton_2025.yaml"
SAMPLE_PLAN_NAME = "Newton Memorial Hospital 2025 Strategic Plan"
LISTED = 50  # plans listed by name after an import


class CliError(Exception):
    """A one-line message for the user; exit code 1."""


def _say(message: str) -> None:
    print(f"accountplan: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------
# Database and workspace


def _url(engine: Engine | None = None) -> str:
    """The database URL without its password, for messages."""
    if engine is not None:
        return engine.url.render_as_string(hide_password=True)
    try:
        return make_url(database_url()).render_as_string(hide_password=True)
    except ArgumentError:
        return "DATABASE_URL"


def _engine() -> Engine:
    try:
        return make_engine()
    except ArgumentError:
        # SQLAlchemy's message repeats the URL, password and all: not printed.
        raise CliError(
            "DATABASE_URL is not a database URL (expected postgresql://… or sqlite:///…)"
        ) from None
    except ModuleNotFoundError as error:
        raise CliError(f"DATABASE_URL needs the database driver {error.name}, not installed") from None


def _open_database(*, migrate_sqlite: bool = True) -> Engine:
    engine = _engine()
    try:
        if is_sqlite(engine):
            if migrate_sqlite:
                migrate.upgrade(engine)
        elif not migrate.is_current(engine):
            engine.dispose()
            raise CliError(
                f"the database schema at {_url(engine)} is not up to date: "
                "run `accountplan db upgrade`"
            )
    except SQLAlchemyError as error:
        engine.dispose()
        raise CliError(_database_problem(error)) from None
    return engine


def _database_problem(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    reason = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return f"database error at {_url()} ({type(original).__name__}: {reason})"


def resolve_team(session, team: str | None) -> tuple[str, bool]:
    """(team id, True when it is T0LOCAL because --team was not given and the database
    holds no plans yet)."""
    if team is not None:
        team = team.strip()
        if not team.isalnum() or len(team) > 32:
            raise CliError(f"--team {team!r} is not a Slack workspace id such as T0123ABCD")
        return team, False
    from storage.plans import workspaces_with_plans  # noqa: PLC0415

    teams = workspaces_with_plans(session)
    if not teams:
        return LOCAL_TEAM, True
    if len(teams) > 1:
        raise CliError(
            f"this database holds plans of several workspaces ({', '.join(teams)}): "
            "choose one with --team TEAM_ID"
        )
    return teams[0], False


# ---------------------------------------------------------------------------
# Commands


def cmd_db_upgrade(args) -> int:
    engine = _engine()
    try:
        migrate.upgrade(engine)
    except SQLAlchemyError as error:
        raise CliError(_database_problem(error)) from None
    finally:
        engine.dispose()
    print(f"database at {_url(engine)} is up to date")
    return 0


def _written_plan(session, team_id: str, plan_id: int) -> str:
    """The team's written plan (key stakeholders included), as the team's canvas has it."""
    from blocks.written_plan import render_written_plan
    from storage.agreements import agreement_states
    from storage.models import utcnow
    from storage.plans import Actor, load_plan_tree, plan_progress
    from storage.stakeholders import list_stakeholders, stakeholder_tree

    plan = load_plan_tree(session, team_id, plan_id)
    people = stakeholder_tree(list_stakeholders(session, Actor(team_id, plan.owner_id), plan_id))
    return render_written_plan(plan, plan_progress(session, team_id, plan_id), stakeholders=people,
                               today=utcnow().date(), agreements=agreement_states(session, team_id, plan_id))


def cmd_demo(args) -> int:
    from storage.planfile import import_plan_file
    from storage.plans import first_plan_named

    engine = _open_database()
    try:
        with transaction(make_session_factory(engine)) as session:
            team_id, _ = resolve_team(session, args.team)
            plan_id = first_plan_named(session, team_id, SAMPLE_PLAN_NAME)
            if plan_id is None:
                text = resources.files("storage").joinpath("samples", SAMPLE).read_text("utf-8")
                (plan_id,) = import_plan_file(session, team_id, text, "yaml")
                where = " (a local workspace for the CLI)" if team_id == LOCAL_TEAM else ""
                _say(f"loaded the sample plan as #{plan_id} into workspace {team_id}{where}")
            document = _written_plan(session, team_id, plan_id)
    finally:
        engine.dispose()
    sys.stdout.write(document)
    return 0


def cmd_export(args) -> int:
    from storage.planfile import export_plans
    from storage.plans import find_plans

    if args.plan is None and not args.templates:
        _say("export needs a PLAN (an id or part of its name), or --templates")
        return 2
    fmt = args.format or ("yaml" if args.templates else "md")
    if args.templates and fmt == "md":
        _say("--templates writes a plan file: use --format yaml or --format json")
        return 2
    facts = None
    engine = _open_database()
    try:
        with make_session_factory(engine)() as session:
            team_id, _ = resolve_team(session, args.team)
            plan_ids = []
            if args.plan is not None:
                found = find_plans(session, team_id, args.plan, limit=20)
                if not found:
                    raise CliError(f"no plan matches “{args.plan}” in workspace {team_id}")
                if len(found) > 1:
                    _say(f"several plans match “{args.plan}”; name one by its id:")
                    for plan in found:
                        print(f"  {plan.id}\t{plan.name}", file=sys.stderr)
                    return 1
                plan_ids = [found[0].id]
            if fmt == "md":
                output = _written_plan(session, team_id, plan_ids[0])
                if args.output:
                    from storage.digests.charts import progress_facts
                    from storage.models import Audience

                    facts = progress_facts(session, team_id, plan_ids[0], audience=Audience.TEAM)
            else:
                # With --templates: the workspace's own templates (never the built-ins).
                output = export_plans(session, team_id, plan_ids, fmt, templates=args.templates)
    finally:
        engine.dispose()
    if not args.output:
        sys.stdout.write(output)
        return 0
    if facts is not None:
        output = _with_chart(output, args.output, facts)
    _write(args.output, output.encode("utf-8"))
    return 0


def chart_path(output: str) -> str:
    """Where the written plan's chart goes: beside it, "plan.md" → "plan.progress.png"."""
    import os.path

    root, extension = os.path.splitext(output)
    return f"{root if extension else output}.progress.png"


def _with_chart(document: str, output: str, facts) -> str:
    """Write the progress chart beside the written plan and link it from the document,
    before its first section (after the plan's header); no chart when there is nothing
    to draw (no action items, no measurable objective)."""
    import os.path
    from urllib.parse import quote

    from blocks.charts import progress_chart
    from storage.models import utcnow

    chart = progress_chart(facts, utcnow().date())
    if chart is None:
        return document
    path = chart_path(output)
    _write(path, chart.png)
    alt = chart.alt_text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    image = f"![{alt}]({quote(os.path.basename(path))})\n\n"
    at = document.find("\n## ")
    return document + "\n" + image if at < 0 else document[:at + 1] + image + document[at + 1:]


def _write(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as file:
            file.write(data)
    except OSError as error:
        raise CliError(f"cannot write {path}: {error.strerror or error}") from None


def _open_plan_file(name: str):
    """The plan file as a text stream, read as the import goes (a BOM is not content)."""
    if name == "-":
        binary = getattr(sys.stdin, "buffer", None)
        if binary is None:  # a stand-in without bytes: its text, whole
            return sys.stdin.read()
        return io.TextIOWrapper(binary, encoding="utf-8-sig")
    try:
        return open(name, encoding="utf-8-sig")  # noqa: SIM115 - closed by cmd_import
    except OSError as error:
        raise CliError(f"cannot read {name}: {error.strerror or error}") from None


def cmd_import(args) -> int:
    from storage.planfile import import_file
    from storage.plans import plan_names
    from storage.templates import template_names

    source = _open_plan_file(args.file)
    try:
        engine = _open_database()
        # What is loaded by now outlives the import: kept out of the garbage collector's
        # full passes meanwhile, which would otherwise walk it again at every batch.
        gc.freeze()
        try:
            with transaction(make_session_factory(engine)) as session:
                team_id, fallback = resolve_team(session, args.team)
                # Read entry by entry and written in batches, all in this one transaction.
                imported = import_file(
                    session, team_id, source, filename=None if args.file == "-" else args.file
                )
                plan_ids = imported.plans
                shown = plan_ids[:LISTED]
                names = plan_names(session, team_id, shown)
                templates = template_names(session, team_id, imported.templates[:LISTED])
        finally:
            gc.unfreeze()
            engine.dispose()
    except (OSError, UnicodeDecodeError) as error:  # reading the file, part way through
        raise CliError(f"cannot read {args.file}: {getattr(error, 'strerror', None) or error}") from None
    finally:
        if hasattr(source, "close") and args.file != "-":
            source.close()
    if fallback:
        _say(
            f"no --team given and no workspace in the database yet: imported into {LOCAL_TEAM}, "
            "a local workspace for the CLI (use --team TEAM_ID for a Slack workspace)"
        )
    what = f"{len(plan_ids)} {'plan' if len(plan_ids) == 1 else 'plans'}"
    if imported.templates:
        count = len(imported.templates)
        what += f" and {count} {'template' if count == 1 else 'templates'}"
    print(f"imported {what} into workspace {team_id}")
    for plan_id in shown:
        print(f"  {plan_id}\t{names[plan_id]}")
    if len(plan_ids) > LISTED:
        print(f"  … and {len(plan_ids) - LISTED} more")
    for template_id, name in templates:
        print(f"  template {template_id}\t{name}")
    if len(imported.templates) > LISTED:
        print(f"  … and {len(imported.templates) - LISTED} more templates")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def cmd_serve(args) -> int:
    server = importlib.import_module("bot.server")  # Slack and the web server load only here
    return int(server.serve(no_scheduler=args.no_scheduler, workers=args.workers) or 0)


def _parse_now(text: str | None) -> dt.datetime:
    if not text:
        return dt.datetime.now(dt.timezone.utc)
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"--now {text!r} is not an ISO 8601 time such as 2025-03-01T09:00:00Z") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


TICK_DESCRIPTION = """\
One scheduler pass as of now (or --now), then exit. It sends what is due at that moment,
including what it schedules in the same pass (plans just imported or copied, items
changed since the last pass):
  - time zones Slack has not told us yet: users.list when many people of a workspace
    are unknown, users.info for a few; until one arrives the person is reminded at
    09:00 in ACCOUNTPLAN_TIMEZONE, and moved when it does;
  - assignment, done and reassignment DMs still waiting;
  - action-item reminders at 09:00 in each assignee's own time zone, one DM per person
    listing everything due for them (several DMs past 24 items). A 09:00 that nobody
    sent at (the first pass after an import, no instance running at 09:00, an item
    rescheduled after its slot) is caught up: the due-soon reminder goes out the same
    day if the item is not yet overdue, an overdue one at most once a day, on working
    days only;
  - Monday summaries, scheduled digests and QBR nudges.
Safe from cron and from several machines at once: nothing is sent twice."""


def cmd_tick(args) -> int:
    now = _parse_now(args.now)
    _open_database().dispose()  # migrate SQLite / insist PostgreSQL is current
    scheduler = importlib.import_module("bot.scheduler.passes")  # Slack loads only here
    metrics = _tick_metrics(scheduler)
    result = scheduler.tick(now)
    if metrics is not None:
        problem = metrics.push_after_tick()
        if problem:
            print(f"accountplan: {problem}", file=sys.stderr)
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


def _tick_metrics(scheduler):
    """bot.runtime.metrics, counting this tick's pass and Slack calls, when there is a
    Pushgateway to push them to (ACCOUNTPLAN_PUSHGATEWAY_URL); else None."""
    import os  # noqa: PLC0415

    from bot.runtime import metrics  # noqa: PLC0415

    if not (os.environ.get(metrics.PUSHGATEWAY_ENV) or "").strip():
        return None
    metrics.hook_slack_calls()
    observers = getattr(scheduler, "observers", None)
    if observers is not None and metrics.observe_pass not in observers:
        observers.append(metrics.observe_pass)
    return metrics


def cmd_manifest(args) -> int:
    from bot.manifest import ManifestError, Variant, base_url, render  # noqa: PLC0415

    try:
        url = base_url(args.url) if args.url is not None else None
        text = render(Variant(url=url, oauth=args.oauth, name=args.name))
    except ManifestError as error:
        raise CliError(str(error)) from None
    sys.stdout.write(text)
    return 0


def cmd_doctor(args) -> int:
    from bot.doctor import run  # noqa: PLC0415 - Slack and the checks load only here

    return run()


# ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accountplan",
        description="Account plans for key account managers, written together in Slack.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the Slack app (and the scheduler)")
    serve.add_argument("--no-scheduler", action="store_true", help="do not send reminders and digests")
    serve.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                       help="HTTP worker processes behind the one port (default: one per core)")
    serve.set_defaults(run=cmd_serve)

    tick = commands.add_parser("tick", help="send everything that is due, once, then exit",
                               description=TICK_DESCRIPTION,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    tick.add_argument("--now", metavar="ISO-8601", help="act as if it were this time (default: now)")
    tick.set_defaults(run=cmd_tick)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="bring the schema up to date")
    upgrade.set_defaults(run=cmd_db_upgrade)

    team_help = "Slack workspace id (default: the only one in the database, else T0LOCAL)"
    demo = commands.add_parser("demo", help="load the sample plan and print it")
    demo.add_argument("--team", metavar="TEAM_ID", help=team_help)
    demo.set_defaults(run=cmd_demo)

    export = commands.add_parser("export", help="print a plan as a document or a plan file")
    export.add_argument("plan", metavar="PLAN", nargs="?", help="plan id or part of its name")
    export.add_argument("--templates", action="store_true",
                        help="the workspace's plan templates too (alone without PLAN), as a plan file")
    export.add_argument("--format", choices=("md", "json", "yaml"), default=None,
                        help="md (a document, the default for a plan) or a plan file: yaml (the "
                             "default with --templates) or json")
    export.add_argument("--team", metavar="TEAM_ID", help=team_help)
    export.add_argument("--output", "-o", metavar="FILE",
                        help="write to FILE instead of printing; a written plan (md) gets its "
                             "progress chart beside it (plan.md: plan.progress.png), linked from it")
    export.set_defaults(run=cmd_export)

    import_ = commands.add_parser("import", help="create the plans and templates of a plan file (all or nothing)")
    import_.add_argument("file", metavar="FILE", help="a JSON or YAML plan file, or - for stdin")
    import_.add_argument("--team", metavar="TEAM_ID", help=team_help)
    import_.set_defaults(run=cmd_import)

    manifest = commands.add_parser(
        "manifest", help="print the Slack app manifest to create the app from",
        description="Print the Slack app manifest (YAML) to paste at https://api.slack.com/apps "
                    "> Create New App > From a manifest. Default: Socket Mode.")
    where = manifest.add_mutually_exclusive_group()
    where.add_argument("--socket-mode", action="store_true",
                       help="Socket Mode: no request URLs, token rotation off (the default; for a first try)")
    where.add_argument("--url", metavar="https://HOST",
                       help="HTTP: every request URL on HOST, where `accountplan serve` answers")
    manifest.add_argument("--oauth", action="store_true",
                          help="with --url: OAuth installs for several workspaces (redirect URL, "
                               "token rotation)")
    manifest.add_argument("--name", default="Account Plans", metavar="NAME",
                          help="the app's and the bot's name in Slack (default: Account Plans)")
    manifest.set_defaults(run=cmd_manifest)

    doctor = commands.add_parser(
        "doctor", help="check the configuration, database, tokens and scopes, one line each")
    doctor.set_defaults(run=cmd_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CliError, PlanError) as error:
        _say(one_line(error))
        return 1
    except SQLAlchemyError as error:
        _say(one_line(_database_problem(error)))
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
