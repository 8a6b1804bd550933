"""Durable state behind a repository interface; SQLite (WAL) is the embedded default."""
