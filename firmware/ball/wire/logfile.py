# Reading a whole session log file (firmware/LOG-FORMAT.md): the host's history and the
# ball's own boot recovery and rotation read logs with this one reader.
#
# A session file holds 'H', then 'T' (and 'F', 'N') records, then 'S'. Readers MUST:
#   - check every CRC; on damaged bytes report damage at their offset and go on at the next
#     offset where a whole valid frame starts, however far on; damage is a torn tail only
#     when no valid frame follows it;
#   - treat data as not a knotball log only when no valid frame is anywhere in it and it
#     does not start with the magic (a log cut short in its first record starts with it);
#   - in version 2, check each record's session id and number: a record of another session
#     ends the open one, a record whose session's 'H' is lost starts that session (its
#     header unknown: damage), a number that skips is damage (records missing) and one
#     already passed is damage (repeated or out of order) and is not read;
#   - finish a session that has no 'S' from its last 'T' and mark it interrupted; in
#     version 3, when its last record read is marked LAST (written with the 'S'), its 'S'
#     was lost to damage: report that too, and a record after a LAST one other than the 'S';
#   - in version 3, take a session's area and limit from its last 'N' record, if any (it
#     moved to another area while it ran), else from its 'H';
#   - report a second session with an id already read from the same file as damage and
#     ignore it ('A' records excepted: rotation cut by a power cut can repeat one);
#   - ignore record types they do not know (newer writers MAY add types).
# Writers MUST make each 'T' durable (flush) before the next, and SHOULD write one every
# CHECKPOINT_MS of session time and make it durable within DURABLE_MS, so a power cut loses
# at most the last DURABLE_MS of a session.
import struct

from ball.wire import CUE_NAMES, FAULT_NAMES, STOP_REASONS, name
from ball.wire import records as rec
from ball.wire.framing import ARCHIVED, AREA, FAULT, HEADER, MAGIC, SUMMARY, TRACE, frames

STOP_INTERRUPTED = STOP_REASONS.index("interrupted")

# A frame whose CRC matches but whose payload is too short for its type: struct.error on
# CPython, ValueError on MicroPython.
_DECODE_ERRORS = (ValueError, IndexError) + ((struct.error,) if hasattr(struct, "error") else ())


class NotALog(ValueError):
    """The data is not a knotball log at all."""


def _lost_header(sid):
    """What is known of a session whose 'H' is lost: its id (from its records)."""
    return {"version": 2, "id": sid, "start_unix": 0, "lost": True}


def summary_values(s):
    """The 'S' payload fields of a session.Session, in order."""
    return (
        [s.elapsed_ms]
        + list(s.band_ms)
        + [s.peak_mn, s.mean_mn(), min(s.holds, 0xFFFF), s.longest_hold_ms]
        + [min(s.over_count, 0xFFFF)]
        + [min(c, 0xFFFF) for c in s.cue_counts]
        + [s.stop_reason, 0]
    )


def summary_dict(values, session_id):
    band_ms = values[1:6]
    cues = values[11:17]
    return {
        "id": session_id,
        "duration_ms": values[0],
        "stop_reason": name(STOP_REASONS, values[17]),
        "band_ms": {
            "light": band_ms[1],
            "medium": band_ms[2],
            "firm": band_ms[3],
            "over": band_ms[4],
        },
        "idle_ms": band_ms[0],
        "peak_n": values[6] / 1000,
        "mean_n": values[7] / 1000,
        "holds": values[8],
        "longest_hold_ms": values[9],
        "too_hard_count": values[10],
        "cues": dict(zip(CUE_NAMES, cues)),
        "recovered": bool(values[18] & rec.FLAG_RECOVERED),
    }


def archived_payload(session):
    """An 'A' payload from a session dict as parse() returns it."""
    h = session["header"]
    edges = (h["light_mn"], h["medium_mn"], h["firm_mn"], h["over_mn"])
    return rec.archived_payload(
        session["id"],
        session["start_unix"],
        edges,
        h["session_limit_ms"],
        session["summary_values"],
        h.get("area", ""),
    )


class _Open:
    """A session being read: its header, trace and what its checkpoints say so far."""

    def __init__(self, header, keep_trace, damage):
        self.header = header
        self.id = header["id"]
        self.version = header["version"]
        self.seq = 0  # the number of its last record read (version 2; the 'H' is 0)
        self.last_at = -1  # the offset of its record marked LAST (version 3), if read
        self.damage = damage  # [(offset, reason)] found in it
        self.trace: list | None = [] if keep_trace else None
        self.period = header.get("period_ms") or rec.TRACE_PERIOD_MS
        self.end_ms = 0
        self.band_ms = [0, 0, 0, 0, 0]
        self.contact_sum = 0
        self.contact_n = 0
        self.stats = (0, 0, (0, 0, 0, 0, 0, 0), 0)
        self.chunks = 0
        self.faults: list = []

    def add_chunk(self, p):
        t0, band, changes, codes, stats = rec.unpack_trace(p)
        self.stats = stats
        self.chunks += 1
        at = dict(changes)
        step = rec.FORCE_STEP_MN
        for i in range(len(codes)):
            band = at.get(i, band)
            code = codes[i]
            if band > 4:
                band = 4
            self.band_ms[band] += self.period
            if band:
                self.contact_sum += code * step
                self.contact_n += 1
            if self.trace is not None:
                self.trace.append((t0 + i * self.period, band, code * step / 1000))
        self.end_ms = t0 + len(codes) * self.period

    def recovered_values(self):
        holds, over, cues, peak = self.stats
        mean = self.contact_sum // self.contact_n if self.contact_n else 0
        return (
            [self.end_ms]
            + self.band_ms
            + [peak, mean, holds, 0, over]
            + list(cues)
            + [STOP_INTERRUPTED, rec.FLAG_RECOVERED | (rec.FLAG_DAMAGED if self.damage else 0)]
        )


def _session(header, values, trace, archived, complete, checkpoints):
    out = summary_dict(values, header["id"])
    out["complete"] = complete  # ended by its own 'S' or 'A' record
    out["checkpoints"] = checkpoints
    out["start_unix"] = header["start_unix"]
    out["area"] = header.get("area", "")  # "": none chosen, or a version-1 log
    out["header"] = header
    out["summary_values"] = list(values)
    out["archived"] = archived
    if trace is not None:
        out["trace"] = trace
    return out


class _Reader:
    """The rules above, one frame at a time."""

    def __init__(self, keep_trace):
        self.keep_trace = keep_trace
        self.sessions: list = []
        self.seen: set = set()
        self.damage: list = []
        self.pending: list = []  # damage met while no session was open: the next one's
        self.current: _Open | None = None

    def note(self, offset, reason):
        self.damage.append((offset, reason))
        s = self.current
        (s.damage if s is not None else self.pending).append((offset, reason))

    def open(self, header) -> _Open:
        self.close()
        self.seen.add(header["id"])
        s = self.current = _Open(header, self.keep_trace, self.pending)
        self.pending = []
        return s

    def close(self, values=None):
        """End the open session: by its own summary `values`, or rebuilt from its trace."""
        s = self.current
        if s is None:
            return
        if values is None and s.last_at >= 0:
            self.note(s.last_at, "session {}: its summary is lost".format(s.id))
        self.current = None
        out = _session(
            s.header, values or s.recovered_values(), s.trace, False, values is not None, s.chunks
        )
        out["faults"] = s.faults
        out["damage"] = s.damage
        out["version"] = s.version
        out["seq"] = s.seq
        self.sessions.append(out)

    def frame(self, offset, rtype, p):
        if rtype == HEADER:
            h = rec.unpack_header(p)
            if h["id"] in self.seen:
                self.note(offset, "session {} met again".format(h["id"]))
            else:
                self.open(h)
        elif rtype == ARCHIVED:
            header, values = rec.unpack_archived(p)
            if header["id"] not in self.seen:
                self.seen.add(header["id"])
                self.sessions.append(_session(header, values, None, True, True, 0))
        elif rtype == TRACE or rtype == FAULT or rtype == SUMMARY or rtype == AREA:
            place = rec.ids(p, rec.body_size(rtype, p))
            s = self._in_place(offset, place)
            if s is None:
                return
            if s.last_at >= 0 and rtype != SUMMARY:
                self.note(offset, "a record of session {} after its last".format(s.id))
            if place is not None and place[1] & rec.LAST:
                s.last_at = offset
            self._read(s, rtype, p, offset)

    def _in_place(self, offset, place):
        """The session a 'T', 'F' or 'S' record with this (session id, number), or None
        (version 1), is read into, or None when it is not read; opens the session whose 'H'
        is lost, notes damage."""
        s = self.current
        if place is None:
            if s is None or s.version >= 2:
                self.note(offset, "a record outside its session (the session's header lost?)")
                return None
            return s
        sid, seq = place
        seq &= ~rec.LAST
        if s is None or s.id != sid:
            if sid in self.seen:
                self.note(offset, "a record of session {} after its end".format(sid))
                return None
            self.close()
            self.note(offset, "session {}: its header is lost".format(sid))
            s = self.open(_lost_header(sid))
            s.seq = seq - 1
        if seq <= s.seq:
            self.note(offset, "record {} of session {} repeated or out of order".format(seq, sid))
            return None
        if seq > s.seq + 1:
            self.note(offset, "{} record(s) of session {} missing".format(seq - s.seq - 1, sid))
        s.seq = seq
        return s

    def _read(self, s, rtype, p, offset):
        if rtype == TRACE:
            s.add_chunk(p)
        elif rtype == AREA:  # the session moved to another area: its own from here on
            s.header["area"], s.header["session_limit_ms"] = rec.unpack_area(p)
        elif rtype == FAULT:
            t, what = rec.unpack_fault(p)
            s.faults.append((t, "cleared" if what == 0 else name(FAULT_NAMES, what)))
        else:
            values = rec.unpack_summary(p)
            if values[18] & rec.FLAG_DAMAGED and not s.damage:
                # The ball's boot recovery met damage it left in place (so it is read again
                # here) or a summary lost to damage (gone: only this flag tells of it).
                at = s.last_at if s.last_at >= 0 else offset
                self.note(at, "session {}: its summary is lost (rebuilt)".format(s.id))
            self.close(values)


def read(data, keep_trace=True):
    """Read a whole log file's bytes. Returns (sessions, damage): sessions as dicts in file
    order (each with its own "damage"), damage a list of (offset, reason) in file order.
    Raises NotALog."""
    data = bytes(data)
    r = _Reader(keep_trace)
    valid = False
    for offset, rtype, payload in frames(data):
        if rtype is None:
            r.note(offset, payload)
            continue
        valid = True
        try:
            r.frame(offset, rtype, payload)
        except _DECODE_ERRORS:
            r.note(offset, "record too short for its type")
    if not valid and data[: min(len(data), 2)] != MAGIC[: min(len(data), 2)] or not data:
        raise NotALog("not a knotball log (no knotball record in it)")
    r.close()
    if r.pending and r.sessions:
        r.sessions[-1].setdefault("damage", []).extend(r.pending)
    return r.sessions, r.damage


def parse(data, keep_trace=True):
    """read(), with only the first damage: (sessions, None or (offset, reason))."""
    sessions, damage = read(data, keep_trace)
    return sessions, damage[0] if damage else None
