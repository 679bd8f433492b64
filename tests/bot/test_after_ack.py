"""The after-ack pool: earliest deadline first, modal work that cannot open in time is
told at once instead of drawn for nothing, failures reach the reporter."""

from __future__ import annotations

import threading
import time

from bot.runtime.after_ack import AfterAck, Answer


def test_queued_work_runs_by_deadline_not_by_arrival():
    pool = AfterAck(workers=1)
    started, release, ran = threading.Event(), threading.Event(), []

    def block():
        started.set()
        release.wait(5)

    pool.submit(block, answer=Answer.BACKGROUND)
    assert started.wait(5)
    now = time.monotonic()
    pool.submit(lambda: ran.append("home redraw"), answer=Answer.BACKGROUND, received_at=now)
    pool.submit(lambda: ran.append("list"), answer=Answer.MESSAGE, received_at=now)
    pool.submit(lambda: ran.append("show"), answer=Answer.MODAL, received_at=now)
    release.set()
    pool.shutdown()
    assert ran == ["show", "list", "home redraw"]


def test_modal_work_past_its_trigger_is_told_not_run():
    told, ran = [], []
    pool = AfterAck(workers=1, on_overload=lambda kwargs: told.append(kwargs["who"]))
    started, release = threading.Event(), threading.Event()

    def block():
        started.set()
        release.wait(5)

    pool.submit(block, answer=Answer.BACKGROUND)
    assert started.wait(5)
    # Arrived 2.4 s ago: by the time the worker is free, its trigger is (nearly) gone.
    pool.submit(lambda who: ran.append(who), answer=Answer.MODAL, received_at=time.monotonic() - 2.4,
                who="late")
    time.sleep(0.2)
    release.set()
    pool.shutdown()
    assert ran == [] and told == ["late"]


def test_failures_reach_the_reporter_and_the_pool_goes_on():
    reported, ran = [], []
    pool = AfterAck(workers=2, report=lambda error, kwargs: reported.append((str(error), kwargs["n"])))

    def work(n):
        if n == 2:
            raise ValueError("boom")
        ran.append(n)

    for n in range(4):
        pool.submit(work, answer=Answer.MESSAGE, n=n)
    pool.shutdown()
    assert sorted(ran) == [0, 1, 3] and reported == [("boom", 2)]
