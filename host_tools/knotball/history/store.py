"""The session history on the host: one SQLite file that `knotball import` (and later
`knotball pull`) add to and `history`/`report` read.

Where: $KNOTBALL_HOME/history.sqlite when KNOTBALL_HOME is set, else
$XDG_DATA_HOME/knotball/history.sqlite (XDG_DATA_HOME defaults to ~/.local/share).

Schema, version 6 (`schema` holds the version; a newer one is refused, never guessed at; an
older one is brought up to date by the first command that writes):
  balls     id, name (unique: the friendly name the person sees and can change with
            `knotball pull --ball NAME`; "sim" for imported files), added_at, and (since
            version 3) uid: the ball's own stable id from `KB hello` (its chip id; NULL for
            balls known only by a name: imports, and pulls before version 3). A ball that
            reports an id is found by it, so two balls never share a history
  sessions  one row per (ball_id, session_id): start_unix (0: clock not set),
            start_estimated (since version 3; 1: start_unix was worked out at the pull from
            the ball's uptime, the ball's clock not being set when the session ran), the header
            (firmware, period, band edges, limits; NULL where an archived summary did not
            keep them), the summary (duration, stop_reason, time per band, peak/mean mN,
            holds, too-hard count, one column per cue), recovered (summary rebuilt after an
            interruption), complete (ended by its own summary record: a cut-short copy is
            not), archived (the ball had dropped the trace), imported_at, source, and (since
            version 4) damaged (1: the copy came from a log with damage in this session: a
            record lost, repeated, out of order or its header lost) and damage (JSON: the
            [offset, reason] pairs found in it, NULL when none), and (since version 5) area:
            the body area the ball recorded for it (NULL: none chosen, or a log from
            before areas; shown as "unspecified")
  damaged_files  (since version 4) the bytes of a damaged log file exactly as the ball held
            it (checked against the ball's CRC-32), kept by `knotball pull` before it
            removes the file from the ball: ball_id, name, crc32, data, pulled_at
  traces    one row per session that has a trace: samples, data = zlib of packed
            (u32 t_ms, u8 band, u32 force mN). A BLOB, not a row per sample: a trace is only
            ever read whole, and 3,600 rows per six-minute session would make the file and
            every listing many times bigger and slower for nothing.
  faults    (ball_id, session_id, seq): t_ms and what ("bus", "sensor", "stuck", "cleared")
  calibrations  (since version 2) one row per calibration saved by `knotball calibrate`:
            id, ball (the ball's own id from `KB hello`, e.g. its chip id; not a `balls`
            name, which the user chooses per command), board, sensor, at_unix, kind
            ("scale" or "bands"), and JSON texts: values (the config keys saved on the
            ball), quality (fit errors, verdict, or the spread of the presses), points (the
            raw measurements the values came from), and (since version 5) area: the body
            area a threshold was measured on (`knotball measure AREA`; kind "threshold", or
            "bands" when the bands were set from it; NULL for `calibrate`), and (since
            version 6) source: the identity of a measurement the ball took by itself and
            `knotball pull` or `import` brought from a threshold file (tNNNNNNN.kbt): "kbt:"
            and the ball's id, the file's unix time, boot id, seconds since boot and area
            (unique: a file pulled twice is stored once; NULL for the others)

A session id is unique per ball. Adding a session already stored is a duplicate (no-op).
A stored copy is replaced only by a more complete copy of the same session that agrees with
it: a damaged copy by an undamaged one, an interrupted (cut-short) copy by one with more of
its trace or with its own summary, an archived summary by the full session with its trace.
A damaged copy agrees when its trace holds only samples of the other's (it has gaps), and a
copy whose header was lost when the rest agrees (its start time is unknown). A copy that
disagrees (another session under the same id, e.g. logs of two `knotball sim --out` runs) is
a conflict: left out and reported, never merged. Every add is one transaction, all or
nothing, and is read back afterwards: what `add` reports as stored is in the file.
"""

import json
import os
import sqlite3
import struct
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ball.wire import BAND_NAMES, CUE_NAMES, logfile

SCHEMA_VERSION = 6
HEADER_COLS = tuple(
    "firmware period_ms light_mn medium_mn firm_mn over_mn session_limit_ms idle_stop_ms "
    "hold_min_ms hold_max_ms warn_before_ms max_sessions_per_day".split()
)
BAND_COLS = tuple(b + "_ms" for b in BAND_NAMES)
CUE_COLS = tuple("cue_" + c for c in CUE_NAMES)
SUMMARY_COLS = (
    ("duration_ms", "stop_reason")
    + BAND_COLS
    + ("peak_mn", "mean_mn", "holds", "longest_hold_ms", "too_hard_count")
    + CUE_COLS
    + ("recovered",)
)
FLAG_COLS = ("complete", "archived", "start_estimated", "damaged", "damage")
SESSION_COLS = ("session_id", "start_unix") + HEADER_COLS + ("area",) + SUMMARY_COLS + FLAG_COLS
_SAMPLE = struct.Struct("<IBI")

_SCHEMA = """
CREATE TABLE schema (version INTEGER NOT NULL);
CREATE TABLE balls (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    added_at INTEGER NOT NULL
);
CREATE TABLE sessions (
    ball_id INTEGER NOT NULL REFERENCES balls(id),
    session_id INTEGER NOT NULL,
    start_unix INTEGER NOT NULL,
    {header},
    duration_ms INTEGER NOT NULL,
    stop_reason TEXT NOT NULL,
    {summary},
    complete INTEGER NOT NULL,
    archived INTEGER NOT NULL,
    imported_at INTEGER NOT NULL,
    source TEXT,
    PRIMARY KEY (ball_id, session_id)
);
CREATE TABLE traces (
    ball_id INTEGER NOT NULL,
    session_id INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (ball_id, session_id),
    FOREIGN KEY (ball_id, session_id) REFERENCES sessions(ball_id, session_id)
);
CREATE TABLE faults (
    ball_id INTEGER NOT NULL,
    session_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    t_ms INTEGER NOT NULL,
    what TEXT NOT NULL,
    PRIMARY KEY (ball_id, session_id, seq),
    FOREIGN KEY (ball_id, session_id) REFERENCES sessions(ball_id, session_id)
);
""".format(
    header=",\n    ".join(c + (" TEXT" if c == "firmware" else " INTEGER") for c in HEADER_COLS),
    summary=",\n    ".join(c + " INTEGER NOT NULL" for c in SUMMARY_COLS[2:]),
)
# What each schema version adds to the one before: an older history is brought up to date
# by the first command that writes to it, in one transaction.
_MIGRATIONS = {
    2: """
CREATE TABLE calibrations (
    id INTEGER PRIMARY KEY,
    ball TEXT NOT NULL,
    board TEXT,
    sensor TEXT,
    at_unix INTEGER NOT NULL,
    kind TEXT NOT NULL,
    firmware TEXT,
    values_json TEXT NOT NULL,
    quality_json TEXT NOT NULL,
    points_json TEXT NOT NULL
);
""",
    3: """
ALTER TABLE balls ADD COLUMN uid TEXT;
CREATE UNIQUE INDEX balls_uid ON balls(uid);
ALTER TABLE sessions ADD COLUMN start_estimated INTEGER NOT NULL DEFAULT 0;
""",
    4: """
ALTER TABLE sessions ADD COLUMN damaged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN damage TEXT;
CREATE TABLE damaged_files (
    ball_id INTEGER NOT NULL REFERENCES balls(id),
    name TEXT NOT NULL,
    crc32 INTEGER NOT NULL,
    data BLOB NOT NULL,
    pulled_at INTEGER NOT NULL,
    PRIMARY KEY (ball_id, name, crc32)
);
""",
    5: """
ALTER TABLE sessions ADD COLUMN area TEXT;
ALTER TABLE calibrations ADD COLUMN area TEXT;
""",
    6: """
ALTER TABLE calibrations ADD COLUMN source TEXT;
CREATE UNIQUE INDEX calibrations_source ON calibrations(source);
""",
}
# The friendly name a ball that reports an id gets when it first comes home: "ball-" and the
# end of its id, longer only when another ball already has that name.
NAME_PREFIX = "ball-"
CALIBRATION_COLS = (
    "id", "ball", "board", "sensor", "at_unix", "kind", "firmware", "values_json",
    "quality_json", "points_json", "area", "source",
)  # fmt: skip


class StoreError(Exception):
    """The history cannot be opened, read or written; the message says why."""


@dataclass
class Added:
    """What one add did, as lists of session ids. Stored safely (a `pull` may delete these
    from the ball): added + replaced + duplicates. Not stored: conflicts. `incomplete`: ids
    whose given copy was cut short (no summary record); `damage`: (offset, reason) or None."""

    added: list = field(default_factory=list)
    duplicates: list = field(default_factory=list)
    replaced: list = field(default_factory=list)
    conflicts: list = field(default_factory=list)
    incomplete: list = field(default_factory=list)
    damage: tuple | None = None


def default_path():
    home = os.environ.get("KNOTBALL_HOME")
    if home:
        return Path(home) / "history.sqlite"
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "knotball" / "history.sqlite"


# ---- sessions as rows ----------------------------------------------------------------------


def _record(s):
    """A parse()-shaped session dict -> (columns, trace in mN or None, faults)."""
    h = s.get("header", {})
    cols = {"session_id": int(s["id"]), "start_unix": int(s.get("start_unix") or 0)}
    for c in HEADER_COLS:
        cols[c] = h.get(c)
    cols["area"] = s.get("area") or h.get("area") or None
    cols.update(
        duration_ms=int(s["duration_ms"]),
        stop_reason=str(s["stop_reason"]),
        idle_ms=int(s.get("idle_ms", 0)),
        peak_mn=round(s["peak_n"] * 1000),
        mean_mn=round(s.get("mean_n", 0) * 1000),
        holds=int(s.get("holds", 0)),
        longest_hold_ms=int(s.get("longest_hold_ms", 0)),
        too_hard_count=int(s.get("too_hard_count", 0)),
        recovered=int(bool(s.get("recovered"))),
        complete=int(bool(s.get("complete", True))),
        archived=int(bool(s.get("archived"))),
        start_estimated=int(bool(s.get("start_estimated"))),
        damaged=int(bool(s.get("damage"))),
        damage=json.dumps([list(d) for d in s["damage"]]) if s.get("damage") else None,
    )
    for b in BAND_NAMES[1:]:
        cols[b + "_ms"] = int(s["band_ms"][b])
    for c in CUE_NAMES:
        cols["cue_" + c] = int(s.get("cues", {}).get(c, 0))
    trace = s.get("trace")
    if trace is not None:
        trace = [(int(t), int(b), round(f * 1000)) for t, b, f in trace]
    faults = [(int(t), str(w)) for t, w in s.get("faults", ())]
    return cols, trace, faults


def _public(cols, trace, faults, extra):
    """(columns, trace, faults) -> a dict shaped like ball.wire.logfile.parse() gives."""
    has_trace = trace is not None or extra.pop("has_trace", False)
    header = {"id": cols["session_id"], "start_unix": cols["start_unix"]}
    header.update((c, cols[c]) for c in HEADER_COLS if cols[c] is not None)
    s = {
        "id": cols["session_id"],
        "start_unix": cols["start_unix"],
        "duration_ms": cols["duration_ms"],
        "stop_reason": cols["stop_reason"],
        "band_ms": {b: cols[b + "_ms"] for b in BAND_NAMES[1:]},
        "idle_ms": cols["idle_ms"],
        "peak_n": cols["peak_mn"] / 1000,
        "mean_n": cols["mean_mn"] / 1000,
        "holds": cols["holds"],
        "longest_hold_ms": cols["longest_hold_ms"],
        "too_hard_count": cols["too_hard_count"],
        "cues": {c: cols["cue_" + c] for c in CUE_NAMES},
        "recovered": bool(cols["recovered"]),
        "complete": bool(cols["complete"]),
        "archived": bool(cols["archived"]),
        "start_estimated": bool(cols["start_estimated"]),
        "damage": [tuple(d) for d in json.loads(cols["damage"])] if cols["damage"] else [],
        "area": cols["area"] or "",
        "header": header,
        "faults": faults,
        "has_trace": has_trace,
    }
    if trace is not None:
        s["trace"] = [(t, b, mn / 1000) for t, b, mn in trace]
    s.update(extra)
    return s


def _pack(trace):
    return zlib.compress(b"".join(_SAMPLE.pack(*x) for x in trace), 9)


def _unpack(blob, samples):
    raw = zlib.decompress(blob)
    if len(raw) != samples * _SAMPLE.size:
        raise StoreError("a stored trace is damaged (wrong length)")
    return [x for x in _SAMPLE.iter_unpack(raw)]


def _header_known(c):
    """Whether a stored copy knows its start time: its header was read, or it is an archived
    summary (which keeps it); a copy whose header was lost does not."""
    return c["period_ms"] is not None or bool(c["archived"])


def _verdict(old, new):
    """'new', 'duplicate', 'replace' or 'conflict' for a copy `new` of stored `old`."""
    if old is None:
        return "new"
    (oc, ot, _), (nc, nt, _) = old, new
    # An estimated start differs a little from pull to pull: it tells nothing apart; a lost
    # header tells nothing at all.
    same_start = not (oc["start_estimated"] or nc["start_estimated"])
    same_start = same_start and _header_known(oc) and _header_known(nc)
    for c in ("start_unix",) + HEADER_COLS if same_start else HEADER_COLS:
        if oc[c] is not None and nc[c] is not None and oc[c] != nc[c]:
            return "conflict"
    if ot is not None and nt is not None:
        short, long_ = (ot, nt) if len(ot) <= len(nt) else (nt, ot)
        if oc["damaged"] or nc["damaged"]:  # gaps: every sample it has is in the other
            if not set(short) <= set(long_):
                return "conflict"
        elif long_[: len(short)] != short:
            return "conflict"
    rebuilt = (oc["damaged"] and oc["recovered"]) or (nc["damaged"] and nc["recovered"])
    if oc["complete"] and nc["complete"] and not rebuilt:
        if any(oc[c] != nc[c] for c in SUMMARY_COLS):
            return "conflict"
    # Replace only by a copy at least as good in every respect and better in one: damage
    # never replaces an undamaged copy, a summary never costs a trace, a trace never costs
    # a summary.
    old_rank = (not oc["damaged"], oc["complete"], ot is not None, len(ot or ()))
    new_rank = (not nc["damaged"], nc["complete"], nt is not None, len(nt or ()))
    if new_rank != old_rank and all(n >= o for n, o in zip(new_rank, old_rank, strict=True)):
        return "replace"
    return "duplicate"


# ---- the history ---------------------------------------------------------------------------


class History:
    def __init__(self, path=None):
        self.path = Path(path) if path else default_path()

    def exists(self):
        return self.path.exists()

    def _connect(self, write):
        try:
            if write:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(self.path), isolation_level=None)
            else:
                # rw, not ro: a reader must be able to roll back a write cut short by a
                # crash (a hot journal). SQLite still opens a write-protected file read-only.
                uri = "file:{}?mode=rw".format(quote(self.path.resolve().as_posix()))
                conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            version = self._schema_version(conn, write)
        except (sqlite3.Error, OSError) as e:
            raise StoreError("cannot open the history {}: {}".format(self.path, _why(e)))
        if version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                "the history {} was written by a newer knotball (schema {}); "
                "upgrade knotball to read it".format(self.path, version)
            )
        return conn

    @staticmethod
    def _schema_version(conn, write):
        has = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema'"
        ).fetchone()
        if not has and not write:
            raise sqlite3.DatabaseError("not a knotball history")
        version = conn.execute("SELECT version FROM schema").fetchone()[0] if has else 0
        if not write or version >= SCHEMA_VERSION:
            return version
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again inside the transaction: another command may have just upgraded it.
            if has:
                version = conn.execute("SELECT version FROM schema").fetchone()[0]
            if version == 0:
                _run_script(conn, _SCHEMA)
                conn.execute("INSERT INTO schema VALUES (?)", (SCHEMA_VERSION,))
            for step in range(max(version, 1) + 1, SCHEMA_VERSION + 1):
                _run_script(conn, _MIGRATIONS[step])
            conn.execute("UPDATE schema SET version = ?", (max(version, SCHEMA_VERSION),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return max(version, SCHEMA_VERSION)

    # ---- writing --------------------------------------------------------------------------

    def add(self, ball, data, source=None):
        """Add a log file's bytes or a list of parse()-shaped session dicts to the history of
        `ball` (a name). Returns Added. Raises logfile.NotALog for bytes that are not a log
        (nothing added) and StoreError when the history cannot be written (nothing changed).
        """
        result = Added()
        if isinstance(data, bytes | bytearray | memoryview):
            sessions, result.damage = logfile.parse(bytes(data))
        else:
            sessions = list(data)
        records = [_record(s) for s in sessions]
        result.incomplete = [c["session_id"] for c, _, _ in records if not c["complete"]]
        if not records:
            return result
        stored = []
        conn = self._connect(write=True)
        try:
            conn.execute("BEGIN IMMEDIATE")
            ball_id = self._ball_id(conn, ball, create=True)
            now = int(time.time())
            for rec in records:
                sid = rec[0]["session_id"]
                verdict = _verdict(self._load(conn, ball_id, sid), rec)
                if verdict == "conflict":
                    result.conflicts.append(sid)
                    continue
                if verdict == "duplicate":
                    result.duplicates.append(sid)
                    continue
                if verdict == "replace":
                    self._delete(conn, ball_id, sid)
                    result.replaced.append(sid)
                else:
                    result.added.append(sid)
                self._insert(conn, ball_id, rec, now, source)
                stored.append(rec)
            conn.execute("COMMIT")
        except BaseException as e:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the journal still holds the old pages: the next open rolls back
            conn.close()
            if isinstance(e, sqlite3.Error | OSError):
                raise StoreError(
                    "cannot write the history {}: {}; nothing was changed".format(
                        self.path, _why(e)
                    )
                )
            raise
        conn.close()
        self._verify(ball, stored)
        return result

    def keep_file(self, ball, name, crc, data):
        """Keep a damaged log file's bytes (`crc`: its CRC-32 as the ball reported it) in the
        history of `ball`, read back and checked. Raises StoreError when they do not match
        the CRC or cannot be written and read back."""
        data = bytes(data)
        if zlib.crc32(data) & 0xFFFFFFFF != crc:
            raise StoreError("{}: the copy does not match the ball's CRC".format(name))
        conn = self._connect(write=True)
        try:
            conn.execute("BEGIN IMMEDIATE")
            ball_id = self._ball_id(conn, ball, create=True)
            conn.execute(
                "INSERT OR IGNORE INTO damaged_files VALUES (?, ?, ?, ?, ?)",
                (ball_id, name, crc, data, int(time.time())),
            )
            conn.execute("COMMIT")
            back = conn.execute(
                "SELECT data FROM damaged_files WHERE ball_id = ? AND name = ? AND crc32 = ?",
                (ball_id, name, crc),
            ).fetchone()
        except sqlite3.Error as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError("cannot write the history {}: {}".format(self.path, _why(e)))
        finally:
            conn.close()
        if back is None or back[0] != data:
            raise StoreError("{}: its bytes read back differently from {}".format(name, self.path))

    def damaged_files(self, ball):
        """[(name, crc32, bytes)] of the damaged log files kept for `ball`."""
        if not self._read("SELECT 1 FROM sqlite_master WHERE name = 'damaged_files'"):
            return []  # a history from before schema 4
        rows = self._read(
            "SELECT f.name, f.crc32, f.data FROM damaged_files f JOIN balls b "
            "ON b.id = f.ball_id WHERE b.name = ? ORDER BY f.name",
            (ball,),
        )
        return [(n, c, bytes(d)) for n, c, d in rows]

    def add_calibration(self, ball, kind, values, quality, points, board=None, sensor=None,
                        firmware=None, at=None, area=None):  # fmt: skip
        """Record a calibration saved on the ball `ball` (its id from `KB hello`), or a
        threshold measured on a body area (`knotball measure`); values, quality and points
        are JSON-able. Returns the row id. Raises StoreError."""
        row = _calibration_row(
            ball, kind, values, quality, points, board, sensor, firmware, at, area, None
        )
        conn = self._connect(write=True)
        try:
            return _insert_calibration(conn, row)
        except sqlite3.Error as e:
            raise StoreError(
                "cannot write the history {}: {}; nothing was changed".format(self.path, _why(e))
            )
        finally:
            conn.close()

    def add_once(self, source, ball, kind, values, quality, points, board=None, sensor=None,
                 firmware=None, at=None, area=None):  # fmt: skip
        """add_calibration() of a measurement known by its `source` (a threshold file the
        ball wrote), unless the history already holds one from that source: one transaction,
        read back afterwards. Returns (row id, added). Raises StoreError."""
        row = _calibration_row(
            ball, kind, values, quality, points, board, sensor, firmware, at, area, source
        )
        conn = self._connect(write=True)
        try:
            conn.execute("BEGIN IMMEDIATE")
            had = conn.execute("SELECT id FROM calibrations WHERE source = ?", (source,))
            had = had.fetchone()
            rowid = had[0] if had else _insert_calibration(conn, row)
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(
                "cannot write the history {}: {}; nothing was changed".format(self.path, _why(e))
            )
        finally:
            conn.close()
        if not had:
            back = [c for c in self.calibrations(ball) if c["id"] == rowid]
            want = dict(zip(CALIBRATION_COLS[1:], row, strict=True), id=rowid)
            for key in ("values", "quality", "points"):
                want[key] = json.loads(want.pop(key + "_json"))
            if back != [want]:
                raise StoreError(
                    "measurement {} reads back differently from what was written to {}".format(
                        source, self.path
                    )
                )
        return rowid, not had

    def calibrations(self, ball=None):
        """Calibrations in the order they were made (of one ball, by its id), as dicts with
        values/quality/points decoded."""
        if not self.exists():
            return []
        conn = self._connect(write=False)
        try:
            has = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'calibrations'"
            ).fetchone()
            if not has:
                return []  # a history from before calibrations (schema 1)
            # A history not yet upgraded lacks the later columns (area, source): read as NULL.
            there = {r[1] for r in conn.execute("PRAGMA table_info(calibrations)")}
            query = "SELECT {} FROM calibrations".format(
                ", ".join(c if c in there else "NULL" for c in CALIBRATION_COLS)
            )
            args: tuple = ()
            if ball is not None:
                query += " WHERE ball = ?"
                args = (ball,)
            rows = conn.execute(query + " ORDER BY id", args).fetchall()
        except sqlite3.Error as e:
            raise StoreError("cannot read the history {}: {}".format(self.path, _why(e)))
        finally:
            conn.close()
        out = []
        for row in rows:
            c = dict(zip(CALIBRATION_COLS, row, strict=True))
            for key in ("values", "quality", "points"):
                c[key] = json.loads(c.pop(key + "_json"))
            out.append(c)
        return out

    def ball_for(self, uid, name=None):
        """The history's name for the ball whose own id is `uid`, registering it on first
        sight: as `name` when given (the person's choice), else "ball-" and the end of its
        id. A known ball given a new `name` is renamed; a `name` held by an older entry
        without an id (pulled before ids were kept) is taken over by this ball, which joins
        its sessions. Raises StoreError when `name` belongs to another ball."""
        conn = self._connect(write=True)
        try:
            conn.execute("BEGIN IMMEDIATE")
            mine = conn.execute("SELECT id, name FROM balls WHERE uid = ?", (uid,)).fetchone()
            named = (
                name
                and conn.execute("SELECT id, uid FROM balls WHERE name = ?", (name,)).fetchone()
            )
            if named and (mine is None and named[1] is not None or mine and named[0] != mine[0]):
                raise StoreError(
                    "--ball {}: that name is another ball's in the history; choose another "
                    "(`knotball history` lists them)".format(name)
                )
            if mine is not None:
                if name and name != mine[1]:
                    conn.execute("UPDATE balls SET name = ? WHERE id = ?", (name, mine[0]))
                result = name or mine[1]
            elif named:
                conn.execute("UPDATE balls SET uid = ? WHERE id = ?", (uid, named[0]))
                result = name
            else:
                result = name or self._free_name(conn, uid)
                conn.execute(
                    "INSERT INTO balls (name, added_at, uid) VALUES (?, ?, ?)",
                    (result, int(time.time()), uid),
                )
            conn.execute("COMMIT")
            return result
        except BaseException as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise StoreError("cannot write the history {}: {}".format(self.path, _why(e)))
            raise
        finally:
            conn.close()

    @staticmethod
    def _free_name(conn, uid):
        for n in range(4, len(uid) + 1):
            name = NAME_PREFIX + uid[-n:]
            if not conn.execute("SELECT 1 FROM balls WHERE name = ?", (name,)).fetchone():
                return name
        n = conn.execute("SELECT COUNT(*) FROM balls").fetchone()[0]
        return "{}{}-{}".format(NAME_PREFIX, uid, n)

    def _ball_id(self, conn, name, create=False):
        row = conn.execute("SELECT id FROM balls WHERE name = ?", (name,)).fetchone()
        if row or not create:
            return row[0] if row else None
        cur = conn.execute(
            "INSERT INTO balls (name, added_at) VALUES (?, ?)", (name, int(time.time()))
        )
        return cur.lastrowid

    def _insert(self, conn, ball_id, rec, now, source):
        cols, trace, faults = rec
        names = ("ball_id",) + SESSION_COLS + ("imported_at", "source")
        values = [ball_id] + [cols[c] for c in SESSION_COLS] + [now, source]
        conn.execute(
            "INSERT INTO sessions ({}) VALUES ({})".format(
                ", ".join(names), ", ".join("?" * len(names))
            ),
            values,
        )
        sid = cols["session_id"]
        if trace is not None:
            conn.execute(
                "INSERT INTO traces VALUES (?, ?, ?, ?)", (ball_id, sid, len(trace), _pack(trace))
            )
        conn.executemany(
            "INSERT INTO faults VALUES (?, ?, ?, ?, ?)",
            [(ball_id, sid, i, t, what) for i, (t, what) in enumerate(faults)],
        )

    @staticmethod
    def _delete(conn, ball_id, sid):
        for table in ("faults", "traces", "sessions"):
            conn.execute(
                "DELETE FROM {} WHERE ball_id = ? AND session_id = ?".format(table), (ball_id, sid)
            )

    def _verify(self, ball, stored):
        """Read what was just committed back through a fresh connection."""
        if not stored:
            return
        conn = self._connect(write=False)
        try:
            ball_id = self._ball_id(conn, ball)
            for rec in stored:
                back = self._load(conn, ball_id, rec[0]["session_id"])
                if back != rec:
                    raise StoreError(
                        "session {} of ball {!r} reads back differently from what was "
                        "written to {}; keep the original log".format(
                            rec[0]["session_id"], ball, self.path
                        )
                    )
        except sqlite3.Error as e:
            raise StoreError("cannot read back the history {}: {}".format(self.path, _why(e)))
        finally:
            conn.close()

    # ---- reading --------------------------------------------------------------------------

    def _load(self, conn, ball_id, sid):
        """(columns, trace or None, faults) of one stored session, or None."""
        if ball_id is None:
            return None
        row = conn.execute(
            "SELECT {} FROM sessions WHERE ball_id = ? AND session_id = ?".format(
                ", ".join(SESSION_COLS)
            ),
            (ball_id, sid),
        ).fetchone()
        if row is None:
            return None
        cols = dict(zip(SESSION_COLS, row, strict=True))
        t = conn.execute(
            "SELECT data, samples FROM traces WHERE ball_id = ? AND session_id = ?",
            (ball_id, sid),
        ).fetchone()
        samples = _unpack(*t) if t else None
        faults = conn.execute(
            "SELECT t_ms, what FROM faults WHERE ball_id = ? AND session_id = ? ORDER BY seq",
            (ball_id, sid),
        ).fetchall()
        return cols, samples, [tuple(f) for f in faults]

    def _read(self, query, args=()):
        if not self.exists():
            return []
        conn = self._connect(write=False)
        try:
            return conn.execute(query, args).fetchall()
        except sqlite3.Error as e:
            raise StoreError("cannot read the history {}: {}".format(self.path, _why(e)))
        finally:
            conn.close()

    def balls(self):
        return [r[0] for r in self._read("SELECT name FROM balls ORDER BY name")]

    def uid_of(self, name):
        """The own id of the ball the history calls `name` (from `KB hello`), or None."""
        if not self._read("SELECT 1 FROM pragma_table_info('balls') WHERE name = 'uid'"):
            return None  # a history from before ids were kept (schema 2)
        rows = self._read("SELECT uid FROM balls WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def sessions(self, ball=None):
        """Every session (without its trace and faults) as a dict, with "ball", "imported_at",
        "source" and "has_trace"; ordered by ball name and id."""
        query = (
            "SELECT b.name, s.imported_at, s.source, t.samples IS NOT NULL, {} FROM sessions s "
            "JOIN balls b ON b.id = s.ball_id LEFT JOIN traces t "
            "ON t.ball_id = s.ball_id AND t.session_id = s.session_id".format(
                ", ".join("s." + c for c in SESSION_COLS)
            )
        )
        args = ()
        if ball is not None:
            query += " WHERE b.name = ?"
            args = (ball,)
        out = []
        for row in self._read(query + " ORDER BY b.name, s.session_id", args):
            cols = dict(zip(SESSION_COLS, row[4:], strict=True))
            extra = {"ball": row[0], "imported_at": row[1], "source": row[2]}
            extra["has_trace"] = bool(row[3])
            out.append(_public(cols, None, [], extra))
        return out

    def session(self, ball, session_id):
        """One session with its trace (when it has one) and faults, or None."""
        if not self.exists():
            return None
        conn = self._connect(write=False)
        try:
            ball_id = self._ball_id(conn, ball)
            rec = self._load(conn, ball_id, session_id)
            if rec is None:
                return None
            row = conn.execute(
                "SELECT imported_at, source FROM sessions WHERE ball_id = ? AND session_id = ?",
                (ball_id, session_id),
            ).fetchone()
        except sqlite3.Error as e:
            raise StoreError("cannot read the history {}: {}".format(self.path, _why(e)))
        finally:
            conn.close()
        return _public(*rec, {"ball": ball, "imported_at": row[0], "source": row[1]})


def _calibration_row(ball, kind, values, quality, points, board, sensor, firmware, at, area,
                     source):  # fmt: skip
    """The calibrations row (every column but id) of one calibration or measurement."""
    return (
        str(ball), board, sensor, int(time.time() if at is None else at), kind, firmware,
        json.dumps(values), json.dumps(quality), json.dumps(points), area, source,
    )  # fmt: skip


def _insert_calibration(conn, row):
    cur = conn.execute(
        "INSERT INTO calibrations ({}) VALUES ({})".format(
            ", ".join(CALIBRATION_COLS[1:]), ", ".join("?" * len(row))
        ),
        row,
    )
    return cur.lastrowid


def _run_script(conn, script):
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _why(e):
    return getattr(e, "strerror", None) or str(e) or type(e).__name__
