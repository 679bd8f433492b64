"""Plan health: the plan header with its parts, the compact figure in lists, App Home and
digests; team only."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from blocks.digest import digest_messages
from blocks.health import health_figure, health_headline, health_parts
from blocks.home import home_view
from blocks.messages import plan_line, plan_list
from blocks.plan_view import plan_view
from storage.domain import HealthPart, PlanHealth
from storage.models import Audience
from tests.blockkit import validate_message, validate_view
from tests.blocks.builders import build_plan, progress_of
from tests.blocks.people import health
from tests.blocks.test_digest import make_content

TODAY = dt.date(2026, 3, 2)


def _text(blocks) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_headline_and_parts_in_plain_words():
    assert health_headline(health(72)) == ":large_yellow_circle: *Health 72/100 · Needs attention*"
    assert health_headline(health(80)).endswith("*Health 80/100 · Healthy*")
    assert health_headline(health(30)).startswith(":red_circle: *Health 30/100 · At risk*")
    parts = health_parts(health())
    assert parts[0] == "Objectives updated in the last 30 days *15/25* (3 of 5 objectives)"
    assert len(parts) == 5
    assert health_figure(health(72)) == " · :large_yellow_circle: health 72"
    assert health_figure(None) == ""
    hostile = PlanHealth(10, (HealthPart("<!channel>", 0, 100, "a & b <@U1>"),))
    assert health_parts(hostile) == ["&lt;!channel&gt; *0/100* (a &amp; b &lt;@U1&gt;)"]


def test_the_plan_header_shows_health_and_its_parts_on_every_page():
    plan = build_plan(strategies=3, objectives=10, items=10)
    progress = progress_of(plan)
    for page in (0, 1):
        view = plan_view(plan, progress, can_edit=True, page=page, today=TODAY, health=health())
        assert validate_view(view) == []
        block = next(b for b in view["blocks"] if b.get("block_id") == "health")
        assert block["type"] == "context"
        assert "Health 72/100 · Needs attention" in block["elements"][0]["text"]
        assert "Stakeholder coverage *13/20* (no champion named)" in block["elements"][1]["text"]
    without = plan_view(plan, progress, can_edit=True, today=TODAY)
    assert "Health" not in _text(without["blocks"])


def test_the_customer_view_never_takes_health():
    plan = build_plan()
    with pytest.raises(ValueError):
        plan_view(plan, progress_of(plan), can_edit=False, customer=True, health=health())


def test_lists_and_app_home_show_the_compact_figure_only_when_given():
    plans = [build_plan(name=f"Plan {n}") for n in range(3)]
    progress = {p.id: progress_of(p).plan for p in plans}
    scores = {plans[0].id: health(80), plans[1].id: health(40)}
    listing = plan_list("Plans", plans, progress, health=scores)
    assert validate_message(listing) == []
    text = _text(listing["blocks"])
    assert "· :large_green_circle: health 80" in text and ":red_circle: health 40" in text
    assert text.count("health ") == 2  # the third plan has none
    assert plan_list("Plans", plans, progress) == plan_list("Plans", plans, progress, health=None)
    assert "health" not in _text(plan_list("Plans", plans, progress)["blocks"])
    assert plan_line(plans[0], progress[plans[0].id], health(80)).endswith("health 80")
    home = home_view([], plans, progress, today=TODAY, health=scores)
    assert validate_view(home) == []
    assert ":large_green_circle: health 80" in _text(home["blocks"])
    assert home_view([], plans, progress, today=TODAY) == home_view([], plans, progress, today=TODAY,
                                                                    health=None)


def test_digests_show_health_in_team_channels_only():
    team = digest_messages(make_content(), health=health())
    assert validate_message(team[0]) == []
    assert team[0]["blocks"][1]["type"] == "context"
    assert "Health 72/100 · Needs attention" in _text(team[0]["blocks"][1])
    assert "Health" not in _text(digest_messages(make_content())[0]["blocks"])
    customer = digest_messages(make_content(audience=Audience.EXTERNAL), health=health())
    assert "Health" not in _text(customer[0]["blocks"])


def test_qbr_digests_say_what_objective_owners_said_in_team_channels_only():
    from types import SimpleNamespace as NS

    said = NS(total=5, updated=3, on_track=2, at_risk=1, off_track=0)
    team = digest_messages(make_content(), objective_updates=said)
    assert validate_message(team[0]) == []
    assert "*Since the last QBR:* 3 of 5 objectives updated, 1 at risk" in _text(team[0]["blocks"])
    assert "off track" not in _text(team[0]["blocks"])
    none_yet = digest_messages(make_content(), objective_updates=NS(total=0, updated=0, on_track=0,
                                                                    at_risk=0, off_track=0))
    assert "Since the last QBR" not in _text(none_yet[0]["blocks"])
    customer = digest_messages(make_content(audience=Audience.EXTERNAL), objective_updates=said)
    assert "Since the last QBR" not in _text(customer[0]["blocks"])
