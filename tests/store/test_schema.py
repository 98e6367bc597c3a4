"""A practitioner upgrades twitchd: the sessions recorded by older versions stay readable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from twitchd.errors import StoreError
from twitchd.store.schema import MIGRATIONS, SCHEMA_VERSION, connect, migrate
from twitchd.store.sessions import SessionStore


def version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def test_an_empty_database_is_version_0_and_migrates_to_the_newest(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "twitchd.sqlite3").close()  # an empty file: version 0
    db = connect(tmp_path)
    assert version(db) == SCHEMA_VERSION == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert migrate(db) == SCHEMA_VERSION  # a second run finds nothing to do


def test_a_version_1_database_keeps_its_sessions(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "twitchd.sqlite3", isolation_level=None)
    migrate(old, target=1)  # as the first release left it
    old.execute("INSERT INTO sessions (started_at, patient) VALUES ('2026-01-02T03:04:05+00:00', 'P-old')")
    old.close()
    db = connect(tmp_path)
    assert version(db) == SCHEMA_VERSION
    assert db.execute("SELECT patient, stop_reason FROM sessions").fetchall() == [("P-old", "")]
    db.close()
    with SessionStore(tmp_path) as store:
        (s,) = store.all()
        assert s["patient"] == "P-old" and s["samples"] == 0 and s["duration_s"] == 0.0


def test_a_database_from_a_newer_twitchd_is_refused_not_misread(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "twitchd.sqlite3")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this twitchd"):
        connect(tmp_path)


def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr("twitchd.store.schema.MIGRATIONS", [*MIGRATIONS, broken])
    monkeypatch.setattr("twitchd.store.schema.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    db = sqlite3.connect(tmp_path / "twitchd.sqlite3", isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        migrate(db, target=SCHEMA_VERSION + 1)
    assert version(db) == SCHEMA_VERSION
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
