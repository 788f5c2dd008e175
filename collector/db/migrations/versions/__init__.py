"""Migration scripts, applied in order by ``collector.db.migrate.upgrade``."""
