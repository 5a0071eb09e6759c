"""Alembic migrations of the hub database (see `server.migrate`)."""
