"""Schema migrations (Alembic), shipped inside the package so they run from any folder."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, inspect

from storage.db import normalize_url

_INI = Path(__file__).with_name("alembic.ini")


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config(str(_INI))
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    if url:
        # ConfigParser treats % specially; URLs may contain it (escaped passwords).
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the newest).

    On SQLite, Alembic changes a table by copying it into a new one and dropping the
    old; with foreign keys enforced, dropping a referenced table deletes its children
    (ON DELETE CASCADE): upgrading a database with plans through 0003 lost every
    strategy. So foreign keys are off while migrations run (see _foreign_keys_off).
    """
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to `revision`, with the same care as `upgrade`."""
    _migrate(engine, command.downgrade, revision)


def _migrate(engine: Engine, step, revision: str) -> None:
    """Run an Alembic command; on SQLite with foreign keys off (SQLite only honours the
    pragma outside a transaction), checked before the commit, and on again after."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                step(alembic_config(connection=connection), revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:  # rolled back: the database stays as it was
                        raise RuntimeError(f"migration left {len(broken)} rows pointing nowhere: {broken[:5]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def is_current(engine: Engine) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        return set(MigrationContext.configure(connection).get_current_heads()) == heads
