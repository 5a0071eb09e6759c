"""Setting a hub up: key, schema, seed data, first credentials.

Shared by `kiosk-hub` (server.cli) and the embedded hub (server.embedded).
"""

from __future__ import annotations

import os
import secrets
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from kiosk.domain import VIETNAM_TZ
from server import migrate
from server.db import create_hub_engine, session_factory
from server.models import AdminToken, Kiosk
from server.security import SecretBox, issue_admin_token, issue_kiosk
from server.seed import seed_reference_data
from server.settings import HubSettings


def ensure_secret_key(settings: HubSettings) -> Path | None:
    """Create the server-side key file (owner-only) unless a key is configured.

    Returns the path when a new key was written. The key never goes into the
    database: a database dump alone must not reveal kiosk secrets.
    """
    if settings.secret_key:
        return None
    path = settings.resolved_secret_key_file()
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two hubs initialising at once must not write different keys.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return path


def initialise(settings: HubSettings) -> bool:
    """Key, schema (Alembic, to head) and reference data. Returns whether it seeded."""
    ensure_secret_key(settings)
    settings.load_secret_key()  # fail now, not at the first request
    url = settings.resolved_database_url()
    migrate.upgrade(url)
    engine = create_hub_engine(url)
    try:
        with session_factory(engine)() as session, session.begin():
            return seed_reference_data(session)
    finally:
        engine.dispose()


def seed_demo_appointment(settings: HubSettings, today: date) -> str | None:
    """The demo patient's appointment (server.seed.seed_demo_appointment)."""
    from server.seed import seed_demo_appointment as seed

    engine = create_hub_engine(settings.resolved_database_url())
    try:
        with session_factory(engine)() as session, session.begin():
            return seed(session, today, settings.hospital_code)
    finally:
        engine.dispose()


def _now() -> datetime:
    return datetime.now(VIETNAM_TZ)


def has_admin_token(settings: HubSettings) -> bool:
    engine = create_hub_engine(settings.resolved_database_url())
    try:
        with session_factory(engine)() as session:
            return session.scalar(select(AdminToken.id).where(AdminToken.revoked_at.is_(None)).limit(1)) is not None
    finally:
        engine.dispose()


def new_admin_token(settings: HubSettings, label: str) -> str:
    engine = create_hub_engine(settings.resolved_database_url())
    try:
        with session_factory(engine)() as session, session.begin():
            return issue_admin_token(session, label, _now())
    finally:
        engine.dispose()


def rotate_admin_token(settings: HubSettings, label: str) -> str:
    """Revoke the tokens carrying `label` and issue a new one.

    The embedded hub takes a fresh token at every start; revoking its old
    ones keeps exactly one valid instead of one more per restart.
    """
    engine = create_hub_engine(settings.resolved_database_url())
    try:
        with session_factory(engine)() as session, session.begin():
            now = _now()
            for old in session.scalars(
                select(AdminToken).where(AdminToken.label == label, AdminToken.revoked_at.is_(None))
            ):
                old.revoked_at = now
            return issue_admin_token(session, label, now)
    finally:
        engine.dispose()


def add_kiosk(settings: HubSettings, name: str) -> tuple[str, str]:
    """A new kiosk credential (kiosk_id, secret); the secret is shown once."""
    box = SecretBox(settings.load_secret_key())
    engine = create_hub_engine(settings.resolved_database_url())
    try:
        with session_factory(engine)() as session, session.begin():
            return issue_kiosk(session, box, name, _now())
    finally:
        engine.dispose()


def kiosk_named(settings: HubSettings, name: str) -> tuple[str, str]:
    """The credential of the active kiosk called `name`, issuing one if needed.

    Only the embedded hub uses this: it runs on the kiosk itself, so handing
    the secret back to the same machine reveals nothing new.
    """
    box = SecretBox(settings.load_secret_key())
    engine = create_hub_engine(settings.resolved_database_url())
    try:
        with session_factory(engine)() as session, session.begin():
            kiosk = session.scalar(
                select(Kiosk).where(Kiosk.name == name, Kiosk.active.is_(True)).order_by(Kiosk.created_at).limit(1)
            )
            if kiosk is not None:
                return kiosk.kiosk_id, box.open(kiosk.kiosk_id, kiosk.secret_encrypted)
            return issue_kiosk(session, box, name, _now())
    finally:
        engine.dispose()
