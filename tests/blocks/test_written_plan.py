"""The written plan: every section, readable Markdown, user text inert.

blocks knows nothing of the database: these tests feed it plain objects shaped like
storage.plans.load_plan_tree's (the CLI tests feed it real ones)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace as NS

import pytest
from markdown_it import MarkdownIt

from blocks.written_plan import INTERNAL_NOTE, format_day, format_number, render_written_plan


def item(title, *, done=False, shared=True, due=None, assignee="UMEMBER", notes="", done_at=None):
    return NS(
        title=title,
        status="done" if done else "open",
        shared_with_customer=shared,
        due_date=due,
        assignee_id=assignee,
        notes=notes,
        done_at=done_at,
    )


def plan_tree(name="Newton Memorial Hospital 2025 Strategic Plan", **overrides):
    objectives = [
        NS(
            id=11,
            title="Expand understanding of improved patient outcomes",
            description="Outcomes data for the P&T committee",
            measure_unit="IDNs",
            target_value=Decimal("5.0000"),
            current_value=Decimal("3.0000"),
            shared_with_customer=True,
            action_items=[
                item(
                    "Share results from latest Cholecap and Restolar studies",
                    done=True,
                    due=dt.date(2025, 3, 1),
                    done_at=dt.datetime(2025, 2, 27, 16, 0, tzinfo=dt.timezone.utc),
                ),
                item("Price list for the buyer", shared=False, assignee="UOWNER", notes="margin 12%\nkeep internal"),
            ],
        ),
        NS(
            id=12,
            title="Identify therapeutic gaps",
            description="",
            measure_unit="",
            target_value=None,
            current_value=None,
            shared_with_customer=True,
            action_items=[
                item(
                    "Follow up visit to answer questions and provide additional product information",
                    due=dt.date(2025, 4, 15),
                    assignee="UOWNER",
                )
            ],
        ),
    ]
    fields = dict(
        name=name,
        account=NS(name="Newton Memorial Hospital"),
        start_date=dt.date(2025, 1, 1),
        end_date=dt.date(2025, 12, 31),
        status="active",
        owner_id="UOWNER",
        member_ids=["UMEMBER", "UOTHER"],
        vision="Be Newton's partner of choice\nfor cardiovascular care.",
        customer_goals="Fewer readmissions",
        our_goals="Cholecap on formulary",
        strategies=[
            NS(
                id=1,
                title="Improve account's awareness of Cholecap and Restolar",
                description="",
                shared_with_customer=True,
                objectives=objectives,
            )
        ],
        swot_entries=[
            NS(kind="strength", position=0, text="Superior product efficacy", team_only=True),
            NS(kind="weakness", position=0, text="Low awareness", team_only=True),
            NS(kind="opportunity", position=0, text="Competitor sanctions", team_only=False),
        ],
        reviews=[
            NS(
                held_on=dt.date(2025, 6, 15),
                attendees="Dr. Smith, Pharmacy lead",
                notes="Went well",
                decisions="Add a second site",
                next_qbr_date=dt.date(2025, 9, 15),
            ),
            NS(held_on=dt.date(2025, 3, 15), attendees="", notes="", decisions="", next_qbr_date=None),
        ],
    )
    fields.update(overrides)
    return NS(**fields)


@dataclass
class Counted:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


@dataclass
class Progress:
    """Shaped like storage.plans.PlanProgress."""

    plan: Counted
    strategies: dict = field(default_factory=dict)
    objectives: dict = field(default_factory=dict)

    def strategy(self, strategy_id):
        return self.strategies.get(strategy_id, Counted(0, 0))

    def objective(self, objective_id):
        return self.objectives.get(objective_id, Counted(0, 0))


def html(markdown: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


# ---------------------------------------------------------------------------


def test_every_section_is_there():
    doc = render_written_plan(plan_tree())
    headings = re.findall(r"^#+ .*$", doc, re.MULTILINE)
    assert headings == [
        "# Newton Memorial Hospital 2025 Strategic Plan",
        "## Vision",
        "## Customer goals",
        "## Our goals",
        "## Strategies",
        "### 1. Improve account's awareness of Cholecap and Restolar",
        "#### 1.1 Expand understanding of improved patient outcomes",
        "#### 1.2 Identify therapeutic gaps",
        "## SWOT",
        "### Strengths",
        "### Weaknesses",
        "### Opportunities",
        "### Threats",
        "## Review history",
        "### QBR of 15 Mar 2025",
        "### QBR of 15 Jun 2025",
    ]
    for line in [
        "- **Account:** Newton Memorial Hospital",
        "- **Dates:** 1 Jan 2025 – 31 Dec 2025",
        "- **Status:** Active",
        "- **Owner:** UOWNER",
        "- **Team:** UMEMBER, UOTHER",
        "- **Progress:** 1 of 3 action items done (33%)",
        "Be Newton's partner of choice  \nfor cardiovascular care.",
        "_Progress: 1 of 3 action items done (33%) · shared with customer_",
        "_Measure: 3 of 5 IDNs (60%) · Progress: 1 of 2 action items done (50%) · shared with customer_",
        "_Progress: 0 of 1 action item done (0%) · shared with customer_",
        "- [x] Share results from latest Cholecap and Restolar studies — UMEMBER, due 1 Mar 2025, done 27 Feb 2025"
        " (shared with customer)\n",
        "- [ ] Price list for the buyer — UOWNER\n\n  margin 12%  \n  keep internal",
        "- [ ] Follow up visit to answer questions and provide additional product information — UOWNER, due 15 Apr 2025"
        " (shared with customer)\n",
        "- Superior product efficacy",
        "### Threats\n\n_None noted._",
        "**Attendees:** Dr. Smith, Pharmacy lead",
        "**Decisions:** Add a second site",
        "**Next QBR:** 15 Sep 2025",
        "**Next QBR:** not set",
    ]:
        assert line in doc, line
    assert INTERNAL_NOTE not in doc


def test_it_is_well_formed_markdown():
    rendered = html(render_written_plan(plan_tree()))
    assert rendered.count("<li>") == 12  # 6 facts, 3 action items, 3 SWOT entries
    assert "<h1>Newton Memorial Hospital 2025 Strategic Plan</h1>" in rendered
    assert re.search(r"<li>\s*(<p>)?\[x\] Share results", rendered)
    assert "<pre>" not in rendered and "<code>" not in rendered  # notes did not turn into code


def test_given_progress_is_used():
    progress = Progress(
        plan=Counted(2, 4), strategies={1: Counted(2, 4)}, objectives={11: Counted(1, 3), 12: Counted(1, 1)}
    )
    doc = render_written_plan(plan_tree(), progress)
    assert "- **Progress:** 2 of 4 action items done (50%)" in doc
    assert "Progress: 1 of 1 action item done (100%)" in doc


def test_names_replace_user_ids():
    doc = render_written_plan(plan_tree(), names={"UOWNER": "Olga Owner", "UMEMBER": "Max Member"})
    assert "- **Owner:** Olga Owner" in doc
    assert "- **Team:** Max Member, UOTHER" in doc
    assert "— Max Member, due 1 Mar 2025" in doc
    assert "UMEMBER" not in doc and "<@" not in doc


def test_customer_version_shows_only_what_is_shared_with_the_customer():
    doc = render_written_plan(plan_tree(), include_team_only=False)
    assert INTERNAL_NOTE in doc and "Some parts of this plan are kept within the account team." in doc
    assert "Price list" not in doc and "margin" not in doc
    assert "Share results from latest" in doc and "Follow up visit" in doc
    assert "shared with customer" not in doc  # everything shown is: no marks
    # Never the SWOT (whatever its own flag says) nor the QBR reviews.
    assert "## SWOT" not in doc and "Competitor sanctions" not in doc and "Superior" not in doc
    assert "## Review history" not in doc and "Went well" not in doc and "Dr. Smith" not in doc
    # Progress counts only what is shown, even when full progress is given.
    progress = Progress(plan=Counted(1, 3))
    doc = render_written_plan(plan_tree(), progress, include_team_only=False)
    assert "- **Progress:** 1 of 2 action items done (50%)" in doc


def test_a_shared_record_under_a_part_that_is_not_stays_out_of_the_customer_version():
    tree = plan_tree(swot_entries=[], reviews=[])
    tree.strategies[0].objectives[0].action_items.pop()  # the item that is not shared
    first, second = tree.strategies[0].objectives
    first.shared_with_customer = False  # its items are marked shared, it is not
    doc = render_written_plan(tree, include_team_only=False)
    assert "Expand understanding" not in doc and "Share results from latest" not in doc
    assert "#### 1.1 Identify therapeutic gaps" in doc and "Follow up visit" in doc  # renumbered
    assert "- **Progress:** 0 of 1 action item done (0%)" in doc and INTERNAL_NOTE in doc
    team = render_written_plan(tree)
    assert "- [x] Share results" in team and "(shared with customer)" in team
    assert "_Measure: 3 of 5 IDNs (60%) · Progress: 1 of 1 action item done (100%)_\n" in team  # unmarked

    tree.strategies[0].shared_with_customer = False  # nothing of the strategy goes out
    doc = render_written_plan(tree, include_team_only=False)
    assert "Improve account" not in doc and "Follow up visit" not in doc and "Identify" not in doc
    assert "_No strategies yet._" in doc and INTERNAL_NOTE in doc


def test_records_without_the_mark_are_not_shared():
    """Anything that does not say it is shared (an older object, a SWOT entry) is not."""
    tree = plan_tree(swot_entries=[], reviews=[])
    del tree.strategies[0].shared_with_customer
    doc = render_written_plan(tree, include_team_only=False)
    assert "Improve account" not in doc and INTERNAL_NOTE in doc


def test_nothing_hidden_means_no_note():
    tree = plan_tree(swot_entries=[], reviews=[])
    tree.strategies[0].objectives[0].action_items.pop()  # the item that is not shared
    assert INTERNAL_NOTE not in render_written_plan(tree, include_team_only=False)
    tree.reviews = [NS(held_on=dt.date(2025, 3, 15), attendees="", notes="", decisions="", next_qbr_date=None)]
    assert INTERNAL_NOTE in render_written_plan(tree, include_team_only=False)  # the reviews stay in


def test_empty_plan_says_what_is_missing():
    doc = render_written_plan(
        plan_tree(vision="", customer_goals="", our_goals="", strategies=[], swot_entries=[], reviews=[], member_ids=[])
    )
    assert doc.count("_Not written yet._") == 3
    assert "_No strategies yet._" in doc and "_No reviews yet._" in doc
    assert doc.count("_None noted._") == 4
    assert "- **Team:** none yet" in doc
    assert "- **Progress:** no action items yet" in doc


@pytest.mark.parametrize("hostile", ["<!channel>", "*bold* [x](http://evil)", "# Title\n- list\n<b>x</b>"])
def test_user_text_is_inert(hostile):
    tree = plan_tree(name=hostile, vision=hostile)
    tree.strategies[0].title = hostile
    tree.strategies[0].objectives[0].action_items[0].title = hostile
    tree.swot_entries[0].text = hostile
    tree.reviews[0].notes = hostile
    rendered = html(render_written_plan(tree, names={"UOWNER": hostile}))
    for made in ("<a ", "<em>bold", "<b>", "<li>list", "<h1>Title"):
        assert made not in rendered
    assert "<strong>Account:</strong>" in rendered  # our own structure is still there
    # The text itself is all there, shown as typed (the owner's name: in the header and
    # as the owner of each of the two objectives).
    assert rendered.count("[x](http://evil)") == (11 if "[x]" in hostile else 0)
    assert "&lt;!channel&gt;" in rendered or "<!channel>" not in hostile


def test_formatting_helpers():
    assert format_day(dt.date(2025, 3, 1)) == "1 Mar 2025"
    assert format_day(dt.datetime(2025, 12, 31, 23, 0)) == "31 Dec 2025"
    assert format_day(None) == ""
    assert [format_number(v) for v in (Decimal("5.0000"), Decimal("2.5000"), 3, "1e3")] == ["5", "2.5", "3", "1000"]


def test_enum_status_and_members_list_work():
    """ORM-shaped inputs: StrEnum-like statuses, members instead of member_ids."""

    class Status(str):
        @property
        def value(self):
            return str(self)

    tree = plan_tree(status=Status("completed"))
    del tree.member_ids
    tree.members = [NS(user_id="UMEMBER")]
    doc = render_written_plan(tree)
    assert "- **Status:** Completed" in doc and "- **Team:** UMEMBER" in doc


# ---------------------------------------------------------------------------
# Key stakeholders and objective progress (the team's document only)


def _people(today):
    from tests.blocks.people import org_chart

    return org_chart(today)


def test_the_team_document_has_a_key_stakeholders_table():
    today = dt.date(2026, 3, 2)
    doc = render_written_plan(plan_tree(), stakeholders=_people(today), today=today,
                              names={"USAM": "Sam S."})
    assert "## Key stakeholders" in doc
    assert doc.index("## Key stakeholders") < doc.index("## SWOT")
    assert "| Name | Title | Side | Role | Influence | Stance | Reports to | Last contact |" in doc
    assert ("| Dr. Jane Smith | Chief Medical Officer | Customer | Sponsor | High | Supporter |  "
            "| 20 Feb 2026 |") in doc
    assert "| ↳ Raj Patel | Director of Pharmacy | Customer | Decision maker | Medium | Neutral " \
           "| Dr. Jane Smith | 1 Jan 2026 (not contacted for 60+ days) |" in doc
    assert "| \u00a0\u00a0↳ Lee Wong |" in doc and "| never (not contacted for 60+ days) |" in doc
    assert "| Sam Seller (Sam S.) | Account manager | Ours |" in doc
    table = html(doc).split("<table>")[1].split("</table>")[0]
    assert table.count("<tr>") == 5  # the heading and four people
    assert render_written_plan(plan_tree(), stakeholders=[]).count("_No stakeholders named yet._") == 1
    assert "Key stakeholders" not in render_written_plan(plan_tree())


def test_stakeholder_cells_are_escaped_and_never_break_the_table():
    from tests.blocks.people import Person, tree_of

    boss = Person("a | b\nc", title="*x* [y](http://evil) <b>z</b>")
    report = Person("- 1. #head", title="line one\r\nline two", reports_to_id=boss.id)
    doc = render_written_plan(plan_tree(), stakeholders=tree_of([boss, report]))
    rendered = html(doc)
    table = rendered.split("<table>")[1].split("</table>")[0]
    rows = table.split("<tr>")[1:]
    assert len(rows) == 3
    assert all(row.count("<td>") == 8 or row.count("<th>") == 8 for row in rows)
    assert "a | b c" in table and "line one line two" in table
    assert "<a " not in table and "<em>" not in table and "<b>" not in table


def test_stakeholders_never_reach_a_customers_document():
    with pytest.raises(ValueError):
        render_written_plan(plan_tree(), include_team_only=False, stakeholders=[])


def test_objectives_show_owner_and_last_update_to_the_team_only():
    tree = plan_tree()
    first = tree.strategies[0].objectives[0]
    first.owner_id = "UANA"
    first.progress_status = "at_risk"
    first.progress_note = "budget freeze | until April"
    first.progress_updated_at = dt.datetime(2026, 2, 20, 10, tzinfo=dt.timezone.utc)
    doc = render_written_plan(tree, names={"UANA": "Ana", "UOWNER": "Olga"})
    assert "_Owner: Ana · At risk: budget freeze \\| until April (updated 20 Feb 2026)_" in doc
    assert "_Owner: Olga · no progress update yet_" in doc  # no owner: the plan's owner
    customer = render_written_plan(tree, include_team_only=False, names={"UANA": "Ana"})
    assert "At risk" not in customer and "_Owner:" not in customer and "budget freeze" not in customer
