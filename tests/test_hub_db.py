"""The hub database: Alembic migrations and the registration transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from kiosk.domain import VIETNAM_TZ, Citizen, Identity, IdentitySource, Registration, Sex, Verification, VisitType
from server import migrate
from server.db import create_hub_engine, session_factory
from server.models import Base, Department, Kiosk, QueueCounter
from server.models import Registration as RegistrationRow
from server.registrations import Registrar, RegistrationRejected
from server.security import SecretBox, issue_kiosk
from server.seed import seed_reference_data
from postgres_support import DATABASES, fresh_postgres_database





@pytest.fixture(params=DATABASES)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    else:
        with fresh_postgres_database("kiosk_db_test") as url:
            yield url


def test_upgrade_head_on_an_empty_database_matches_the_models(
    empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From an unrelated directory: the migrations must not depend on the cwd.
    monkeypatch.chdir(tmp_path)
    migrate.upgrade(empty_database)
    engine = create_hub_engine(empty_database)
    try:
        with engine.connect() as connection:
            # The newest revision, whichever it is: one head, reached.
            from alembic.script import ScriptDirectory

            heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
            assert len(heads) == 1 and migrate.current_revision(connection) == heads[0]
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert set(inspect(connection).get_table_names()) >= set(Base.metadata.tables)
    finally:
        engine.dispose()


def test_upgrade_is_idempotent_and_downgrade_works(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    migrate.upgrade(empty_database)
    migrate.downgrade(empty_database, revision="base")
    engine = create_hub_engine(empty_database)
    try:
        with engine.connect() as connection:
            assert not set(inspect(connection).get_table_names()) & set(Base.metadata.tables)
    finally:
        engine.dispose()
    migrate.upgrade(empty_database)


# -- the registration transaction, below HTTP --------------------------------------


@pytest.fixture
def registrar(empty_database: str) -> Iterator[tuple[Registrar, object, str]]:
    migrate.upgrade(empty_database)
    engine = create_hub_engine(empty_database)
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        seed_reference_data(session)
        kiosk_id, _ = issue_kiosk(session, SecretBox(b"k" * 32), "test kiosk", datetime.now(VIETNAM_TZ))
    try:
        yield Registrar(sessions, "01001", time.time), sessions, kiosk_id
    finally:
        engine.dispose()


def _registration(kiosk_id: str, n: int, department: str, at: datetime) -> Registration:
    citizen = Citizen(f"0011{n:08d}", f"PHẠM VĂN {n}", date(1970, 1, 1), Sex.MALE)
    return Registration(
        key=str(uuid.uuid4()),
        kiosk_id=kiosk_id,
        identity=Identity(citizen, IdentitySource.CCCD_QR, Verification.NOT_VERIFIED),
        insurance=None,
        visit_type=VisitType.NEW,
        department_code=department,
        service_code=f"KB.{department}",
        created_at=at,
    )


def test_a_refused_registration_rolls_its_number_back(registrar: tuple) -> None:
    desk, sessions, kiosk_id = registrar
    day = datetime(2026, 9, 1, 8, 0, tzinfo=VIETNAM_TZ)
    with sessions() as session, session.begin():
        session.get(Department, "NHI").daily_capacity = 1
    assert desk.register(_registration(kiosk_id, 1, "NHI", day), None, kiosk_id).receipt.queue_number == 1
    for n in range(2, 5):
        with pytest.raises(RegistrationRejected):
            desk.register(_registration(kiosk_id, n, "NHI", day), None, kiosk_id)
    with sessions() as session:
        counter = session.get(QueueCounter, ("NHI", date(2026, 9, 1)))
        assert counter is not None and counter.last_number == 1


def test_replay_answers_from_the_stored_row(registrar: tuple) -> None:
    desk, sessions, kiosk_id = registrar
    reg = _registration(kiosk_id, 7, "NOI", datetime(2026, 9, 2, 8, 0, tzinfo=VIETNAM_TZ))
    first = desk.register(reg, None, kiosk_id)
    again = desk.register(reg, None, kiosk_id)
    assert first.created and not again.created
    assert first.receipt == again.receipt
    with sessions() as session:
        assert len(session.scalars(select(RegistrationRow).where(RegistrationRow.key == reg.key)).all()) == 1
        assert session.get(Kiosk, kiosk_id) is not None
