""""Our commitments / your commitments" in the digest's summary: each side's items with
who and when, "…and N more", the customer's side named for who reads it, user text
escaped, and valid Block Kit."""

from __future__ import annotations

import datetime as dt
import json

from blocks.digest import digest_messages
from storage.digests import Commitments
from storage.models import ActionItem, Audience
from tests.blockkit import validate_message
from tests.blocks.test_digest import TODAY, make_content


def item(title, due, assignee=None, contact=None, item_id=None):
    return ActionItem(id=item_id, title=title, due_date=due, assignee_id=assignee, customer_contact_id=contact)


def with_commitments(audience=Audience.TEAM, **fields):
    content = make_content(audience=audience)
    content.commitments = Commitments(**fields)
    return content


def text_of(message) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def test_both_sides_with_who_when_and_the_rest_counted():
    content = with_commitments(
        ours=[item("Book the demo", TODAY - dt.timedelta(days=2), "UOWNER"),
              item("Draft the summary", None)],
        theirs=[item("Share usage data <!channel>", TODAY + dt.timedelta(days=3), contact=7, item_id=41),
                item("Sign the pilot", TODAY + dt.timedelta(days=9), "UCUSTOMER")],
        ours_total=2, theirs_total=6, contacts={41: "Dr. Ada *Smith*"})
    [message] = digest_messages(content)
    assert validate_message(message) == []
    text = text_of(message)
    assert "*Our commitments* (2)" in text and "*Customer commitments* (6)" in text
    assert "Book the demo · <@UOWNER> · due 31 May 2025 (2 days late)" in text
    assert "Draft the summary · no due date" in text
    assert "Sign the pilot · <@UCUSTOMER> · due 11 Jun 2025" in text
    # User text is escaped (no channel ping); a contact without Slack is named.
    assert "<!channel>" not in text
    assert "Share usage data &lt;!channel&gt; · Dr. Ada *Smith* (customer contact) · due 5 Jun 2025" in text
    assert "…and 4 more." in text and "…and 0 more" not in text
    # Soonest first is storage's order; the summary keeps it.
    assert text.index("Book the demo") < text.index("Draft the summary")


def test_a_contacts_item_names_the_contact_for_the_team_and_no_one_for_the_customer():
    """A contact without Slack owns the item; its assignee is the team member who
    follows it up. The team reads the contact's name (stakeholder data); a customer
    channel reads no person at all for it."""
    theirs = [item("Share usage data", TODAY + dt.timedelta(days=3), "UFOLLOW", contact=7, item_id=41),
              item("Sign the pilot", TODAY + dt.timedelta(days=9), "UCUSTOMER")]
    team = text_of(digest_messages(with_commitments(theirs=theirs, theirs_total=2,
                                                    contacts={41: "Dr. Ada <Smith>"}))[0])
    assert ("Share usage data · Dr. Ada &lt;Smith&gt; (customer contact, followed up by <@UFOLLOW>) · "
            "due 5 Jun 2025") in team
    [message] = digest_messages(with_commitments(Audience.EXTERNAL, theirs=theirs, theirs_total=2))
    assert validate_message(message) == []
    shared = text_of(message)
    assert "Share usage data · due 5 Jun 2025" in shared and "UFOLLOW" not in shared
    assert "Ada" not in shared and "Sign the pilot · <@UCUSTOMER> · due 11 Jun 2025" in shared


def test_a_customer_channel_reads_your_commitments():
    content = with_commitments(Audience.EXTERNAL, ours=[item("Book the demo", TODAY, "UOWNER")],
                               theirs=[], ours_total=1, theirs_total=0)
    [message] = digest_messages(content)
    assert validate_message(message) == []
    text = text_of(message)
    assert "*Our commitments* (1)" in text and "*Your commitments* (0)" in text
    assert "Nothing open." in text


def test_no_section_when_nobody_owes_anything():
    [message] = digest_messages(with_commitments())
    assert "commitments" not in text_of(message)
