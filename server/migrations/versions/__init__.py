"""Migration scripts, applied in order by `server.migrate.upgrade`."""
