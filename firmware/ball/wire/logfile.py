# Reading a whole session log file (firmware/LOG-FORMAT.md): the host's history and the
# ball's own boot recovery and rotation read logs with this one reader.
#
# A session file holds 'H', then 'T' records, then 'S'. Readers MUST:
#   - treat a file that does not start with the magic as not a knotball log;
#   - check every CRC; on a bad frame report damage at its offset and resume at the next
#     offset where a whole valid frame starts; a frame running past the end of the data is
#     a torn tail: report it and stop;
#   - finish a session that has 'H' but no 'S' from its last 'T' and mark it interrupted;
#   - ignore a second session with an id already read from the same file;
#   - ignore record types they do not know (newer writers MAY add types).
# Writers MUST make each 'T' durable (flush) before the next, and SHOULD write one every
# CHECKPOINT_MS of session time and make it durable within DURABLE_MS, so a power cut loses
# at most the last DURABLE_MS of a session.
import struct

from ball.wire import CUE_NAMES, FAULT_NAMES, STOP_REASONS, name
from ball.wire import records as rec
from ball.wire.framing import ARCHIVED, FAULT, HEADER, MAGIC, SUMMARY, TORN, TRACE, frames

STOP_INTERRUPTED = STOP_REASONS.index("interrupted")

# A frame whose CRC matches but whose payload is too short for its type: struct.error on
# CPython, ValueError on MicroPython.
_DECODE_ERRORS = (ValueError, IndexError) + ((struct.error,) if hasattr(struct, "error") else ())


class NotALog(ValueError):
    """The data is not a knotball log at all."""


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
    )


class _Open:
    """A session being read: its header, trace and what its checkpoints say so far."""

    def __init__(self, header, keep_trace):
        self.header = header
        self.trace: list | None = [] if keep_trace else None
        self.period = header["period_ms"] or rec.TRACE_PERIOD_MS
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
            + [STOP_INTERRUPTED, rec.FLAG_RECOVERED]
        )


def _session(header, values, trace, archived, complete, checkpoints):
    out = summary_dict(values, header["id"])
    out["complete"] = complete  # ended by its own 'S' or 'A' record
    out["checkpoints"] = checkpoints
    out["start_unix"] = header["start_unix"]
    out["header"] = header
    out["summary_values"] = list(values)
    out["archived"] = archived
    if trace is not None:
        out["trace"] = trace
    return out


def parse(data, keep_trace=True):
    """Read a whole log file's bytes. Returns (sessions, damage): sessions as dicts in file
    order, damage None or (offset, reason) of the first damage found. Raises NotALog."""
    data = bytes(data)
    if len(data) < 2 or data[:2] != MAGIC:
        if len(data) == 1 and data[:1] == MAGIC[:1]:
            return [], (0, TORN)
        raise NotALog("not a knotball log (it does not start with the bytes 'KB')")
    sessions, seen, damage = [], set(), None
    current = None

    def finish(s, values, complete):
        if s.header["id"] not in seen:
            seen.add(s.header["id"])
            sessions.append(_session(s.header, values, s.trace, False, complete, s.chunks))
            sessions[-1]["faults"] = s.faults

    for offset, rtype, payload in frames(data):
        if rtype is None:
            damage = damage or (offset, payload)
            continue
        try:
            if rtype == HEADER:
                if current is not None:
                    finish(current, current.recovered_values(), False)
                current = _Open(rec.unpack_header(payload), keep_trace)
            elif rtype == TRACE and current is not None:
                current.add_chunk(payload)
            elif rtype == FAULT and current is not None:
                t, what = rec.unpack_fault(payload)
                current.faults.append((t, "cleared" if what == 0 else name(FAULT_NAMES, what)))
            elif rtype == SUMMARY and current is not None:
                finish(current, rec.unpack_summary(payload), True)
                current = None
            elif rtype == ARCHIVED:
                header, values = rec.unpack_archived(payload)
                if header["id"] not in seen:
                    seen.add(header["id"])
                    sessions.append(_session(header, values, None, True, True, 0))
        except _DECODE_ERRORS:
            damage = damage or (offset, "record too short for its type")
    if current is not None:
        finish(current, current.recovered_values(), False)
    return sessions, damage
