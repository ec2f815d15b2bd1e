"""The on-disk indexes beside Docker's layout: one SQLite database.

Docker keeps its image store's indexes in memory and rebuilds them at daemon start by parsing
every config. A CLI starts a fresh process for every command, so the indexes live on disk
instead (``ocitool-index.sqlite`` beside ``imagedb``): a prefix search, a listing or a parent
walk reads index rows and parses at most the configs it shows. The files in Docker's layout are
the truth; the index is derived from them and rebuilt when missing or marked stale.
"""

from __future__ import annotations

import sqlite3

__all__ = ["SCHEMA_VERSION", "open_index"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,          -- hex of the sha256 image ID: prefix search is a range scan
    parent TEXT NOT NULL DEFAULT '',
    top_chain TEXT NOT NULL DEFAULT '',
    created INTEGER NOT NULL DEFAULT 0,
    created_text TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    labels TEXT NOT NULL DEFAULT '',
    os TEXT NOT NULL DEFAULT '',
    architecture TEXT NOT NULL DEFAULT '',
    variant TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS images_parent ON images(parent);
CREATE INDEX IF NOT EXISTS images_top_chain ON images(top_chain);
CREATE TABLE IF NOT EXISTS layers (
    chain TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    parent TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    blob TEXT NOT NULL DEFAULT '',
    media_type TEXT NOT NULL DEFAULT '',
    blob_size INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS layers_parent ON layers(parent);
CREATE INDEX IF NOT EXISTS layers_blob ON layers(blob);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""


def open_index(path: str | None) -> sqlite3.Connection:
    """Open (creating the schema) the index at ``path``, or an in-memory one for ``None``.

    Autocommit is off: callers commit once per store operation, so an operation's index
    changes are applied whole or not at all.
    """
    conn = sqlite3.connect(path or ":memory:", isolation_level="DEFERRED", check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_SCHEMA)
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
    conn.commit()
    return conn
