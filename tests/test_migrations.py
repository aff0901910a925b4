"""The Alembic chain builds exactly the schema the models declare, and unwinds cleanly.

Why this matters: production databases are only ever built by `alembic upgrade head`, while
tests and the ORM see `models/`. If the two drift, code that passes its tests breaks on the
first deploy; if a downgrade is broken, a bad release cannot be rolled back. Each test uses a
database of its own, never the shared `app` one, so the migrations run on an empty database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine

from models import Base
from models.base import built_on
from tests.conftest import alembic_config, fresh_database


def _differences(engine: Engine) -> list[Any]:
    """Alembic autogenerate's view of what a new revision would have to change."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "target_metadata": Base.metadata,
                "include_object": built_on(conn.dialect.name),
            },
        )
        return list(compare_metadata(context, Base.metadata))


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _revisions_base_to_head() -> list[str]:
    """The revision ids from first to last; fails if the chain has branches or merges."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = script.get_heads()
    assert len(heads) == 1, f"the migration chain must have one head, found {heads}"
    chain = []
    for revision in script.walk_revisions("base", "heads"):
        down = revision.down_revision
        assert not isinstance(down, tuple | list), (
            f"revision {revision.revision} merges {down}: keep the chain linear"
        )
        chain.append(revision.revision)
    chain.reverse()
    assert chain, "no migrations found"
    return chain


@pytest.fixture
def migrated_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = fresh_database(request, f"migrations_{request.node.name[:40].lower()}", tmp_path)
    engine = create_engine(url)
    yield engine
    engine.dispose()


def test_upgrade_head_builds_exactly_what_the_models_declare(migrated_engine: Engine) -> None:
    differences = _differences(migrated_engine)
    assert differences == [], (
        "models/ and migrations/ disagree; write a revision with "
        "`alembic revision --autogenerate`:\n" + "\n".join(map(repr, differences))
    )


def test_models_and_migrated_schema_have_the_same_tables(migrated_engine: Engine) -> None:
    migrated = _tables(migrated_engine)
    declared = set(Base.metadata.tables)
    assert migrated == declared, (
        f"only in migrations: {sorted(migrated - declared)}; "
        f"only in models: {sorted(declared - migrated)}"
    )


def test_chain_is_linear_with_one_head() -> None:
    chain = _revisions_base_to_head()
    assert len(chain) == len(set(chain))


def test_every_migration_downgrades_to_base_and_upgrades_again(
    migrated_engine: Engine,
) -> None:
    """Down one revision at a time to base, then up one at a time to head.

    Every step is checked: the database reports the expected revision, and each downgrade
    followed by the same upgrade works (so each revision's pair of functions is reversible).
    """
    chain = _revisions_base_to_head()
    cfg = alembic_config(migrated_engine.url.render_as_string(hide_password=False))
    assert _current_revision(migrated_engine) == chain[-1]

    for index in range(len(chain) - 1, -1, -1):
        below = chain[index - 1] if index > 0 else None
        command.downgrade(cfg, below or "base")
        assert _current_revision(migrated_engine) == below
        # The same revision applies again on top of its own downgrade, and reverts again.
        command.upgrade(cfg, chain[index])
        assert _current_revision(migrated_engine) == chain[index]
        command.downgrade(cfg, below or "base")
        assert _current_revision(migrated_engine) == below

    assert _tables(migrated_engine) == set(), "downgrade to base left tables behind"

    for revision in chain:
        command.upgrade(cfg, revision)
        assert _current_revision(migrated_engine) == revision

    assert _differences(migrated_engine) == []
    assert _tables(migrated_engine) == set(Base.metadata.tables)
