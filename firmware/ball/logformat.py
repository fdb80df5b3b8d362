# The session log format, version 1: ONE module, used by the ball to write and by the host to
# read. The human-readable description is firmware/LOG-FORMAT.md; this docstring is the rule.
"""Session log format v1.

A log file is a sequence of records. Every record is framed:

    offset  size  field
    0       2     magic, the bytes 0x4B 0x42 ("KB")
    2       1     record type (ASCII letter, below)
    3       2     payload length L, unsigned little-endian; L MUST be <= MAX_PAYLOAD
    5       L     payload
    5+L     4     CRC-32 (IEEE 802.3, as zlib.crc32) of bytes 2 .. 5+L-1 (type, length,
                  payload), unsigned little-endian

All integers are unsigned little-endian. Times are milliseconds, forces millinewtons.

Record types:
  'H' header: starts a session. u8 format version (1), u32 session id (unique per ball),
      u32 start time in unix seconds (0: the ball's clock was not set), u16 trace period ms,
      u32 x4 band edges light/medium/firm/over (mN), u32 session limit ms, u32 idle stop ms,
      u32 hold min ms, u32 hold max ms, u32 time-warning lead ms, u8 max sessions per day,
      u8 n + n bytes firmware version (ASCII).
  'T' trace chunk (also the checkpoint): u32 t0 = session time of its first sample,
      u8 n samples, u8 nb band changes, u8 band of the first sample, u8 holds so far,
      u8 too-hard count so far, u8 x6 cue counts so far (CUE_NAMES order), u32 peak force
      so far (mN); then nb x (u8 sample index, u8 band): the band from that sample on;
      then n x u8 force codes. Sample i covers session time [t0 + i*period, t0 + (i+1)*period);
      its code is the mean force over that time in 0.5 N steps, 0..254; 255 means 127.5 N or
      more. Counts saturate at 255. Bands: 0 idle, 1 light, 2 medium, 3 firm, 4 over.
  'S' summary: ends a session. u32 duration ms, u32 x5 time per band (idle, light, medium,
      firm, over), u32 peak mN, u32 mean mN in contact, u16 holds, u32 longest hold ms,
      u16 too-hard count, u16 x6 cue counts, u8 stop reason (STOP_REASONS index), u8 flags
      (bit 0: recovered from the trace after an interruption).
  'F' sensor fault: u32 session time, u8 what (0 the sensor works again, 1 bus error,
      2 the driver distrusts its reading, 3 the reading froze).
  'A' archived summary (the file summaries.kbl): u32 session id, u32 start time,
      u32 x4 band edges, u32 session limit ms, then an 'S' payload. Written when a session's
      trace is dropped to free flash; the summary stays.

Console frames (the USB console, firmware/ball/console.py and host_tools/knotball/link.py)
use the same framing; they never appear in a log file. The host sends ASCII lines
`KB <command> [args]\n` (never 0x03: Ctrl-C stays MicroPython's); the ball answers:
  'R' reply: UTF-8 JSON object, always with "command" naming the command it answers.
  'E' error: UTF-8 JSON {"error": what went wrong and what to do, "command": NAME}
      (a config refusal adds "key": the offending key).
  'L' live sample (LIVE_SIZE bytes): u32 t_ms (ball uptime), i32 force mN (calibrated and
      filtered), u8 band, u8 session state (0 ready, 1 active, 2 stopped), u32 session
      elapsed ms, u32 current hold ms, u16 cue bits (bit i: CUE_NAMES[i] given since the
      last 'L'), u8 fault (0 none, else FAULT_NAMES index), i32 raw sensor counts (the
      driver's reading, before calibration), i32 zero drift mN (followed at rest since
      calibration), u8 flags (bit 0: calibration mode; bit 1: the drift is out of range).
  'D' file data: u32 offset of the first byte in the file, then the bytes (at most 1024).
The host MUST scan the byte stream for valid frames (magic, length <= MAX_PAYLOAD, CRC);
any other bytes are console text (print() output) and MUST NOT break the scan.

A session file holds 'H', then 'T' records, then 'S'. Readers MUST:
  - treat a file that does not start with the magic as not a knotball log;
  - check every CRC; on a bad frame report damage at its offset and resume at the next
    offset where a whole valid frame starts; a frame running past the end of the data is a
    torn tail: report it and stop;
  - finish a session that has 'H' but no 'S' from its last 'T' and mark it interrupted;
  - ignore a second session with an id already read from the same file;
  - ignore record types they do not know (newer writers MAY add types).
Writers MUST make each 'T' durable (flush) before the next, and SHOULD write one every
CHECKPOINT_MS of session time and make it durable within DURABLE_MS, so a power cut loses
at most the last DURABLE_MS of a session.
"""

import struct
from binascii import crc32

from ball.session import CUE_NAMES, STOP_REASONS

MAGIC = b"KB"
VERSION = 1
HEADER = 0x48  # 'H'
TRACE = 0x54  # 'T'
SUMMARY = 0x53  # 'S'
ARCHIVED = 0x41  # 'A'
FAULT = 0x46  # 'F'
FAULT_SIZE = 5
# Console frame types (never in a log file).
REPLY = 0x52  # 'R'
ERROR = 0x45  # 'E'
LIVE = 0x4C  # 'L'
DATA = 0x44  # 'D'
LIVE_SIZE = 30
FAULT_NAMES = ("cleared", "bus", "sensor", "stuck")
FRAME_HEAD = 5
FRAME_OVERHEAD = 9
MAX_PAYLOAD = 4096
TRACE_PERIOD_MS = 100  # 10 Hz trace
CHECKPOINT_MS = 8000
DURABLE_MS = 10000
FORCE_STEP_MN = 500
FORCE_MAX_CODE = 255
TRACE_FIXED = 19  # bytes of a 'T' payload before the band changes
SUMMARY_SIZE = 54
ARCHIVED_PREFIX = 28
STOP_INTERRUPTED = STOP_REASONS.index("interrupted")

_H = "<BIIHIIIIIIIIIB"
S_FORMAT = _S = "<IIIIIIIIHIHHHHHHHBB"
_A = "<IIIIIII"
_T = "<IBBBBB6BI"


# A frame whose CRC matches but whose payload is too short for its type: struct.error on
# CPython, ValueError on MicroPython.
_DECODE_ERRORS = (ValueError, IndexError) + ((struct.error,) if hasattr(struct, "error") else ())


class NotALog(ValueError):
    """The data is not a knotball log at all."""


def frame_head(buf, start, rtype, length):
    """Write magic, type and length before the payload already in
    buf[start+5 : start+5+length]. Returns the whole record's size. Allocates nothing."""
    buf[start] = 0x4B
    buf[start + 1] = 0x42
    buf[start + 2] = rtype
    buf[start + 3] = length & 0xFF
    buf[start + 4] = length >> 8
    return length + FRAME_OVERHEAD


def frame_crc(buf, start):
    """Write the CRC after the record at buf[start] whose head is written. Returns its size."""
    length = buf[start + 3] | (buf[start + 4] << 8)
    crc = crc32(memoryview(buf)[start + 2 : start + 5 + length]) & 0xFFFFFFFF
    struct.pack_into("<I", buf, start + 5 + length, crc)
    return length + FRAME_OVERHEAD


def frame(buf, start, rtype, length):
    """Complete the record whose payload is already in buf[start+5 : start+5+length]."""
    frame_head(buf, start, rtype, length)
    return frame_crc(buf, start)


def record(rtype, payload):
    """One whole record as bytes (host side and tests)."""
    buf = bytearray(len(payload) + FRAME_OVERHEAD)
    buf[FRAME_HEAD : FRAME_HEAD + len(payload)] = payload
    frame(buf, 0, rtype, len(payload))
    return bytes(buf)


def header_payload(session_id, start_unix, cfg, firmware):
    fw = firmware.encode()[:255]
    ms = 1000
    head = struct.pack(
        _H,
        VERSION,
        session_id,
        start_unix,
        TRACE_PERIOD_MS,
        int(cfg["light_n"] * ms),
        int(cfg["medium_n"] * ms),
        int(cfg["firm_n"] * ms),
        int(cfg["over_n"] * ms),
        int(cfg["session_limit_s"] * ms),
        int(cfg["idle_stop_s"] * ms),
        int(cfg["hold_min_s"] * ms),
        int(cfg["hold_max_s"] * ms),
        int(cfg["warn_before_s"] * ms),
        cfg["max_sessions_per_day"],
    )
    return head + bytes([len(fw)]) + fw


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


def summary_payload(values):
    return struct.pack(_S, *values)


def archived_payload(session):
    """An 'A' payload from a session dict as parse() returns it."""
    h = session["header"]
    head = struct.pack(
        _A,
        session["id"],
        session["start_unix"],
        h["light_mn"],
        h["medium_mn"],
        h["firm_mn"],
        h["over_mn"],
        h["session_limit_ms"],
    )
    return head + summary_payload(session["summary_values"])


def force_code(mean_mn):
    c = mean_mn // FORCE_STEP_MN if mean_mn > 0 else 0
    return c if c < FORCE_MAX_CODE else FORCE_MAX_CODE


# ---- reading -------------------------------------------------------------------------


def _decode_header(p):
    v = struct.unpack_from(_H, p, 0)
    n = p[48]
    return {
        "version": v[0],
        "id": v[1],
        "start_unix": v[2],
        "period_ms": v[3],
        "light_mn": v[4],
        "medium_mn": v[5],
        "firm_mn": v[6],
        "over_mn": v[7],
        "session_limit_ms": v[8],
        "idle_stop_ms": v[9],
        "hold_min_ms": v[10],
        "hold_max_ms": v[11],
        "warn_before_ms": v[12],
        "max_sessions_per_day": v[13],
        "firmware": bytes(p[49 : 49 + n]).decode(),
    }


def summary_dict(values, session_id):
    band_ms = values[1:6]
    cues = values[11:17]
    return {
        "id": session_id,
        "duration_ms": values[0],
        "stop_reason": STOP_REASONS[values[17]] if values[17] < len(STOP_REASONS) else "unknown",
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
        "recovered": bool(values[18] & 1),
    }


class _Open:
    """A session being read: its header, trace and what its checkpoints say so far."""

    def __init__(self, header, keep_trace):
        self.header = header
        self.trace: list | None = [] if keep_trace else None
        self.period = header["period_ms"] or TRACE_PERIOD_MS
        self.end_ms = 0
        self.band_ms = [0, 0, 0, 0, 0]
        self.contact_sum = 0
        self.contact_n = 0
        self.stats = (0, 0, (0, 0, 0, 0, 0, 0), 0)
        self.chunks = 0
        self.faults: list = []

    def add_chunk(self, p):
        v = struct.unpack_from(_T, p, 0)
        t0, n, nb, band = v[0], v[1], v[2], v[3]
        self.stats = (v[4], v[5], v[6:12], v[12])
        self.chunks += 1
        changes = {}
        for k in range(nb):
            changes[p[TRACE_FIXED + 2 * k]] = p[TRACE_FIXED + 2 * k + 1]
        base = TRACE_FIXED + 2 * nb
        for i in range(n):
            band = changes.get(i, band)
            code = p[base + i]
            if band > 4:
                band = 4
            self.band_ms[band] += self.period
            if band:
                self.contact_sum += code * FORCE_STEP_MN
                self.contact_n += 1
            if self.trace is not None:
                self.trace.append((t0 + i * self.period, band, code * FORCE_STEP_MN / 1000))
        self.end_ms = t0 + n * self.period

    def recovered_values(self):
        holds, over, cues, peak = self.stats
        mean = self.contact_sum // self.contact_n if self.contact_n else 0
        return (
            [self.end_ms]
            + self.band_ms
            + [peak, mean, holds, 0, over]
            + list(cues)
            + [STOP_INTERRUPTED, 1]
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


_TORN = "torn record at the end (power cut while writing?)"


def _check(data, pos):
    """(stop, None) when a whole valid frame starts at pos (its payload ends at stop);
    (None, reason) when not; the reason is _TORN when it would run past the data."""
    end = len(data)
    if end - pos < FRAME_OVERHEAD:
        return None, _TORN
    if data[pos : pos + 2] != MAGIC:
        return None, "no record starts here"
    length = data[pos + 3] | (data[pos + 4] << 8)
    if length > MAX_PAYLOAD:
        return None, "record length out of range"
    stop = pos + FRAME_HEAD + length
    if stop + 4 > end:
        return None, _TORN
    if crc32(data[pos + 2 : stop]) & 0xFFFFFFFF != struct.unpack_from("<I", data, stop)[0]:
        return None, "CRC mismatch (corrupted record)"
    return stop, None


def _frames(data):
    """Yield (offset, type, payload) for each valid frame, and (offset, None, reason) for
    damage; resynchronise after a bad frame, stop at a torn tail."""
    pos = 0
    while pos < len(data):
        stop, bad = _check(data, pos)
        if bad is None:
            yield pos, data[pos + 2], data[pos + FRAME_HEAD : stop]
            pos = stop + 4
            continue
        yield pos, None, bad
        if bad == _TORN:
            return
        nxt = pos + 1
        while True:
            nxt = data.find(MAGIC, nxt)
            if nxt < 0:
                return
            if _check(data, nxt)[1] is None:
                break
            nxt += 1
        pos = nxt


def parse(data, keep_trace=True):
    """Read a whole log file's bytes. Returns (sessions, damage): sessions as dicts in file
    order, damage None or (offset, reason) of the first damage found. Raises NotALog."""
    data = bytes(data)
    if len(data) < 2 or data[:2] != MAGIC:
        if len(data) == 1 and data[:1] == MAGIC[:1]:
            return [], (0, _TORN)
        raise NotALog("not a knotball log (it does not start with the bytes 'KB')")
    sessions, seen, damage = [], set(), None
    current = None

    def finish(s, values, complete):
        if s.header["id"] not in seen:
            seen.add(s.header["id"])
            sessions.append(_session(s.header, values, s.trace, False, complete, s.chunks))
            sessions[-1]["faults"] = s.faults

    for offset, rtype, payload in _frames(data):
        if rtype is None:
            damage = damage or (offset, payload)
            continue
        try:
            if rtype == HEADER:
                if current is not None:
                    finish(current, current.recovered_values(), False)
                current = _Open(_decode_header(payload), keep_trace)
            elif rtype == TRACE and current is not None:
                current.add_chunk(payload)
            elif rtype == FAULT and current is not None:
                t, what = struct.unpack_from("<IB", payload, 0)
                name = FAULT_NAMES[what] if what < len(FAULT_NAMES) else "unknown"
                current.faults.append((t, name))
            elif rtype == SUMMARY and current is not None:
                finish(current, struct.unpack_from(_S, payload, 0), True)
                current = None
            elif rtype == ARCHIVED:
                a = struct.unpack_from(_A, payload, 0)
                values = struct.unpack_from(_S, payload, ARCHIVED_PREFIX)
                header = {
                    "id": a[0],
                    "start_unix": a[1],
                    "light_mn": a[2],
                    "medium_mn": a[3],
                    "firm_mn": a[4],
                    "over_mn": a[5],
                    "session_limit_ms": a[6],
                }
                if a[0] not in seen:
                    seen.add(a[0])
                    sessions.append(_session(header, values, None, True, True, 0))
        except _DECODE_ERRORS:
            damage = damage or (offset, "record too short for its type")
    if current is not None:
        finish(current, current.recovered_values(), False)
    return sessions, damage
