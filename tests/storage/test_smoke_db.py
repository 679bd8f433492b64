from sqlalchemy import select, text

from storage.models import Account


def test_database_answers_and_is_empty(session):
    assert session.execute(text("select 1")).scalar() == 1
    assert session.scalars(select(Account)).all() == []
