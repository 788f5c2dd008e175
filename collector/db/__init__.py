"""Storage of the collector: tables, engines and Alembic migrations (SQLite or PostgreSQL)."""
