import datetime as dt
import threading

from storage.claims import claim_due, claim_due_groups
from storage.models import Account, AccountPlan, DigestFrequency, DigestSubscription, PlanStatus

NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.timezone.utc)
LEASE = dt.timedelta(minutes=5)


def _subscriptions(session_factory, count: int, *, due: dt.datetime = NOW) -> list[int]:
    with session_factory() as session, session.begin():
        account = Account(team_id="T1", name=f"Account due {due.isoformat()}")
        plan = AccountPlan(team_id="T1", name="P", account=account,
                           start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31),
                           status=PlanStatus.ACTIVE, owner_id="U1")
        session.add(plan)
        session.flush()
        rows = [DigestSubscription(team_id="T1", plan_id=plan.id, channel_id=f"C{n}",
                                   frequency=DigestFrequency.WEEKLY, next_run_at=due, created_by="U1")
                for n in range(count)]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def test_claims_due_rows_once_until_the_lease_runs_out(session_factory):
    ids = _subscriptions(session_factory, 3)
    _subscriptions(session_factory, 1, due=NOW + dt.timedelta(hours=1))  # not due yet
    assert claim_due(session_factory, DigestSubscription, now=NOW, lease=LEASE) == ids
    assert claim_due(session_factory, DigestSubscription, now=NOW, lease=LEASE) == []
    later = NOW + LEASE + dt.timedelta(seconds=1)  # the pass died: its lease ran out
    assert claim_due(session_factory, DigestSubscription, now=later, lease=LEASE, limit=2) == ids[:2]


def test_concurrent_passes_never_claim_the_same_row(session_factory):
    ids = _subscriptions(session_factory, 60)
    results: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def one_pass() -> None:
        try:
            start.wait()
            got = []
            while batch := claim_due(session_factory, DigestSubscription, now=NOW, lease=LEASE, limit=7):
                got += batch
            results.append(got)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=one_pass) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    claimed = [row for got in results for row in got]
    assert sorted(claimed) == sorted(ids)  # every row once, none twice


def test_concurrent_passes_never_split_a_group(session_factory):
    """claim_due_groups: every due row of a group (here a plan's subscriptions; a
    person's reminders in the scheduler) goes to one claim of one pass."""
    groups: dict[int, set[int]] = {}
    with session_factory() as session, session.begin():
        plans = []
        for n in range(12):
            plan = AccountPlan(team_id="T1", name=f"P{n}", account=Account(team_id="T1", name=f"Account {n}"),
                               start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31),
                               status=PlanStatus.ACTIVE, owner_id="U1")
            session.add(plan)
            plans.append(plan)
        session.flush()
        for n in range(60):  # interleaved: a group's rows are far apart in claim order
            plan = plans[n % len(plans)]
            row = DigestSubscription(team_id="T1", plan_id=plan.id, channel_id=f"C{n}",
                                     frequency=DigestFrequency.WEEKLY, next_run_at=NOW, created_by="U1")
            session.add(row)
            session.flush()
            groups.setdefault(plan.id, set()).add(row.id)
    claims: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def one_pass() -> None:
        try:
            start.wait()
            while batch := claim_due_groups(session_factory, DigestSubscription, now=NOW, lease=LEASE,
                                            group_by=("team_id", "plan_id"), limit=2):
                claims.append(batch)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=one_pass) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(row for batch in claims for row in batch) == sorted(row for g in groups.values() for row in g)
    for batch in claims:  # whole groups only
        assert all(rows <= set(batch) or not rows & set(batch) for rows in groups.values())
