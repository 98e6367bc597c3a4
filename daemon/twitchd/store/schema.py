"""Opening the database and migrating its schema, from the first release on.

The version lives in ``PRAGMA user_version`` (0 = empty database). Migrations
are an ordered list; migration ``k`` takes version ``k`` to ``k + 1`` inside one
transaction, so a crash mid-migration leaves the previous version intact. A
database from a newer twitchd is refused rather than misread.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from twitchd.errors import StoreError
from twitchd.store.paths import database_path


def _v1(db: sqlite3.Connection) -> None:
    """The first schema: sessions, their devices, sample chunks, events, markers."""
    _script(db, """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,          -- ISO 8601, UTC
            ended_at TEXT,                     -- NULL while recording or after a crash
            patient TEXT NOT NULL DEFAULT '',
            muscle TEXT NOT NULL DEFAULT '',
            side TEXT NOT NULL DEFAULT '',
            technique TEXT NOT NULL DEFAULT '',
            practitioner TEXT NOT NULL DEFAULT '',
            notes TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE devices (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            name TEXT NOT NULL,                -- the pipeline's name, e.g. sim-1
            device_id TEXT NOT NULL,
            firmware TEXT NOT NULL,
            board TEXT NOT NULL,
            rate_hz INTEGER NOT NULL,
            channels TEXT NOT NULL,            -- JSON list of channel names
            calibration TEXT NOT NULL,         -- JSON ChannelMap: counts -> volts/newtons
            calibration_note TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (session_id, name)
        );
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            device TEXT NOT NULL,
            first_index INTEGER NOT NULL,      -- unwrapped device sample index
            n INTEGER NOT NULL,
            channels INTEGER NOT NULL,
            host_time REAL NOT NULL,           -- Unix time the first sample was taken (device clock, mapped)
            device_t0_us INTEGER NOT NULL,     -- the device clock of the first frame
            counts BLOB NOT NULL               -- little-endian uint16, n x channels
        );
        CREATE INDEX chunks_by_session ON chunks(session_id, device, first_index);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            device TEXT NOT NULL,
            kind TEXT NOT NULL,
            onset_s REAL NOT NULL,             -- seconds since the device's first recorded sample
            end_s REAL NOT NULL,
            decided_s REAL NOT NULL,
            peak_emg_v REAL,
            force_n REAL,
            confidence REAL NOT NULL,
            extra TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX events_by_session ON events(session_id, onset_s);
        CREATE TABLE markers (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            t_s REAL NOT NULL,
            host_time REAL NOT NULL,
            label TEXT NOT NULL
        );
    """)


def _script(db: sqlite3.Connection, script: str) -> None:
    """Statement by statement: ``executescript`` would commit the migration's transaction."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _v2(db: sqlite3.Connection) -> None:
    """Why a recording ended (stopped, disk full, writer behind) and which twitchd made it."""
    db.execute("ALTER TABLE sessions ADD COLUMN stop_reason TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE sessions ADD COLUMN app_version TEXT NOT NULL DEFAULT ''")


def _v3(db: sqlite3.Connection) -> None:
    """The practitioner's ground truth: kinds of marks, sites, and review corrections.

    Markers become marks: a kind (felt LTR, referred pain, note), where the
    mark came from, and for a press of the board's button the board's own
    clock. ``sites`` is a timeline: the site in force from ``t_s`` until the
    next row. Corrections are their own table so that the detector's events
    are never overwritten; each says who made it, when, and which earlier
    correction of the same event it replaced.
    """
    _script(db, """
        ALTER TABLE markers ADD COLUMN kind TEXT NOT NULL DEFAULT 'note';
        ALTER TABLE markers ADD COLUMN source TEXT NOT NULL DEFAULT 'screen';
        ALTER TABLE markers ADD COLUMN device TEXT;
        ALTER TABLE markers ADD COLUMN device_time_us INTEGER;
        ALTER TABLE markers ADD COLUMN site TEXT;
        CREATE TABLE sites (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            t_s REAL NOT NULL,                 -- session time from which the site is current
            muscle TEXT NOT NULL,              -- '' = no site set from here on
            side TEXT NOT NULL DEFAULT '',
            point TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX sites_by_session ON sites(session_id, t_s);
        CREATE TABLE corrections (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            action TEXT NOT NULL,              -- accept, reject, relabel, add
            event_id INTEGER,                  -- the detector event it judges (events.id)
            added_id INTEGER,                  -- or the earlier 'add' it judges (corrections.id)
            kind TEXT,                         -- the kind it gives (relabel, add)
            onset_s REAL,                      -- add: where the practitioner put it
            end_s REAL,
            author TEXT NOT NULL,
            created_at TEXT NOT NULL,          -- ISO 8601, UTC
            replaces INTEGER,                  -- the correction of the same target it supersedes
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX corrections_by_session ON corrections(session_id, id);
    """)


def _v4(db: sqlite3.Connection) -> None:
    """The clinical session: pressure pain threshold trials, and the detector settings a session ran with.

    A PPT trial keeps only the moment of the patient's press and where it
    came from: the threshold and the ramp are read off the stored force
    (twitchd.ppt), so every reader agrees. ``detector_params`` is a JSON list
    of ``[t_s, {name: value}]``: the settings from the start, and each change.
    """
    _script(db, """
        ALTER TABLE sessions ADD COLUMN detector_params TEXT NOT NULL DEFAULT '[]';
        CREATE TABLE ppt_trials (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            series INTEGER NOT NULL,           -- trials of one series belong together (three per site)
            t_s REAL NOT NULL,                 -- session time of the patient's press
            source TEXT NOT NULL,              -- key, pedal, screen, board
            device TEXT,                       -- the device whose force it is read from
            device_time_us INTEGER,            -- the board's clock, for a press of its button
            site TEXT,                         -- JSON: the site it was measured at
            calibration TEXT NOT NULL DEFAULT '' -- the force calibration in use, and whether it was current
        );
        CREATE INDEX ppt_by_session ON ppt_trials(session_id, t_s);
    """)


#: MIGRATIONS[k] takes a database from version k to k + 1. Append only.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring ``db`` to ``target``, one transaction per step; returns the version found."""
    found = int(db.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise StoreError(f"the session database has schema version {found}, newer than this twitchd "
                         f"understands ({SCHEMA_VERSION}); upgrade twitchd")
    for version in range(found, target):
        try:
            db.execute("BEGIN IMMEDIATE")
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return found


def connect(data_dir: Path | None, *, create: bool = True) -> sqlite3.Connection:
    """The database in WAL mode, migrated to the current schema.

    ``synchronous=NORMAL`` in WAL mode: a killed process loses nothing that was
    committed; a power cut may lose the last commits but never corrupts.
    """
    path = database_path(data_dir)
    if not create and not path.exists():
        raise StoreError(f"no session database at {path}")
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        migrate(db)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the session database {path}: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"cannot create the data directory {path.parent}: {exc.strerror or exc}") from exc
    return db


def connect_for_reading(data_dir: Path | None) -> sqlite3.Connection:
    """The database for reading, also on a read-only filesystem.

    A WAL database needs its ``-shm`` file even to read; where the folder
    cannot be written (a disk Linux remounted read-only, a write-protected
    card), nobody can change the file, so it is opened as immutable instead.
    """
    path = database_path(data_dir)
    try:
        return connect(data_dir, create=False)
    except StoreError:
        if not path.exists() or os.access(path.parent, os.W_OK):
            raise
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(f"{path} is on a read-only filesystem with unmerged changes in {wal.name}: "
                         "copy the folder somewhere writable to read it")
    try:
        db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro&immutable=1", uri=True, check_same_thread=False)
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the session database {path}: {exc}") from exc
    if version != SCHEMA_VERSION:
        db.close()
        raise StoreError(f"{path} is read-only and has schema version {version}, not {SCHEMA_VERSION}: "
                         "copy it somewhere writable to upgrade it")
    return db
