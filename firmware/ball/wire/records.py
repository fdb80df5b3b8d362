# The session log's records, version 3 (firmware/LOG-FORMAT.md). Each record is framed
# (framing.py); here are the payloads: pack_into(buf, off, ...) writes one in place for the
# ball (no allocation: the sampling loop builds records this way), unpack(payload) reads
# one for the host and the ball's recovery. All integers unsigned little-endian; times in
# ms, forces in mN.
#
#   'H' header: starts a session. u8 format version, u32 session id (unique per ball),
#       u32 start time in unix seconds (0: the ball's clock was not set), u16 trace period
#       ms, u32 x4 band edges light/medium/firm/over (mN), u32 session limit ms, u32 idle
#       stop ms, u32 hold min ms, u32 hold max ms, u32 time-warning lead ms, u8 max
#       sessions per day, u8 n + n bytes firmware version (ASCII); then (added within v1:
#       readers that stop after the version skip them) u32 boot id (random per power-on or
#       reset, 0: unknown), u32 seconds since that boot at the session's start, so the host
#       can date a session recorded before the clock was set; then (version 2) u8 n + 20
#       bytes: the body area the session was for, its first n bytes (ASCII, dose.py's
#       rules; n = 0: none chosen), the rest zero. Without it (a version-1 header) the area
#       is unknown; readers show both as "unspecified".
#   'T' trace chunk (also the checkpoint): u32 t0 = session time of its first sample,
#       u8 n samples, u8 nb band changes, u8 band of the first sample, u8 holds so far,
#       u8 too-hard count so far, u8 x6 cue counts so far (CUE_NAMES order), u32 peak force
#       so far (mN); then nb x (u8 sample index, u8 band): the band from that sample on;
#       then n x u8 force codes. Sample i covers session time [t0 + i*period,
#       t0 + (i+1)*period); its code is the mean force over that time in 0.5 N steps,
#       0..254; 255 means 127.5 N or more. Counts saturate at 255.
#   'S' summary: ends a session. u32 duration ms, u32 x5 time per band (idle, light,
#       medium, firm, over), u32 peak mN, u32 mean mN in contact, u16 holds, u32 longest
#       hold ms, u16 too-hard count, u16 x6 cue counts, u8 stop reason (STOP_REASONS
#       index), u8 flags (bit 0: recovered from the trace after an interruption).
#   'F' sensor fault: u32 session time, u8 what (FAULT_NAMES index; 0: works again).
#   'N' (version 3) the running session moved to another body area (chosen during it): u8 n
#       + 20 bytes, the area as in 'H' (n = 0: none), then u32 the session's limit (ms) from
#       then on; the session's area and limit are the last 'N' gives, else its 'H's.
#   Version 2: 'T', 'F' and 'S' (and 'N') payloads end with 6 more bytes, the record's place: u32
#       session id, u16 record number within the session (the 'H' is 0, the records after
#       it 1, 2, 3 ...), so a reader sees records missing, repeated or out of order and
#       knows a record's session when its 'H' is lost. A payload's length tells the two
#       versions apart (ids(): with or without the 6 bytes), so one reader reads both.
#   Version 3: the record number's top bit (LAST) marks the session's last record before
#       its 'S', written with it (a 'T', empty when the stop fell on a chunk's end): a
#       session whose 'S' is missing after it lost its summary to damage, not to a power cut.
#   'A' archived summary (the file summaries.kbl): u32 session id, u32 start time,
#       u32 x4 band edges, u32 session limit ms, then an 'S' payload, then (version 2)
#       u8 n + n bytes: the session's area as its 'H' gave it. Written when a session's
#       trace is dropped to free flash; the summary stays.
import struct

from ball.wire import LOG_VERSION

TRACE_PERIOD_MS = 100  # 10 Hz trace
CHECKPOINT_MS = 8000
DURABLE_MS = 10000
FORCE_STEP_MN = 500
FORCE_MAX_CODE = 255

_H = "<BIIHIIIIIIIIIB"
HEADER_FIXED = 48  # bytes of an 'H' payload before the firmware version
_BOOT = "<II"  # after the firmware version: boot id, seconds since boot at the start
_T = "<IBBBBB6BI"
TRACE_FIXED = 19  # bytes of a 'T' payload before the band changes
_S = "<IIIIIIIIHIHHHHHHHBB"
SUMMARY_SIZE = 54
_F = "<IB"
FAULT_SIZE = 5
_A = "<IIIIIII"
ARCHIVED_PREFIX = 28
FLAG_RECOVERED = 1
FLAG_DAMAGED = 2  # a rebuilt summary of a session whose log was damaged
_IDS = "<IH"
IDS_SIZE = 6
LAST = 0x8000  # in a record number: the session's last record before its 'S'
AREA_LEN = 20  # the longest area name (ball/dose.py checks names against it)

# ---- 'H' header ----


def header_payload(session_id, start_unix, cfg, firmware, boot=0, uptime_s=0):
    """The header for a config (a dict in N and s): made once per config (it allocates);
    a session start copies it and sets its id and times with header_set_id/_start."""
    fw = firmware.encode()[:255]
    ms = 1000
    head = struct.pack(
        _H,
        LOG_VERSION,
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
    return head + bytes([len(fw)]) + fw + struct.pack(_BOOT, boot, uptime_s) + bytes(1 + AREA_LEN)


def _area_at(buf, off):
    """Index of the area field of the header payload at buf[off]."""
    return off + HEADER_FIXED + 1 + buf[off + HEADER_FIXED] + 8


def header_set_area(buf, off, area, n):
    """Set the area of the header payload at buf[off]: the first n bytes of `area` (n = 0:
    none). Allocation-free."""
    _area_into(buf, _area_at(buf, off), area, n)


def _area_into(buf, q, area, n):
    buf[q] = n
    i = 0
    while i < AREA_LEN:
        buf[q + 1 + i] = area[i] if i < n else 0
        i += 1


def header_set_id(buf, off, session_id, start_unix):
    """Set the id and start time of the header payload at buf[off]."""
    struct.pack_into("<II", buf, off + 1, session_id, start_unix)


def header_set_limit(buf, off, limit_ms):
    """Set the session limit (ms) of the header payload at buf[off]: the session's own."""
    struct.pack_into("<I", buf, off + 27, limit_ms)


def header_set_start(buf, off, boot, uptime_s):
    """Set the boot id and seconds since boot of the header payload at buf[off]."""
    struct.pack_into(_BOOT, buf, off + HEADER_FIXED + 1 + buf[off + HEADER_FIXED], boot, uptime_s)


def unpack_header(p):
    v = struct.unpack_from(_H, p, 0)
    n = p[HEADER_FIXED]
    out = {
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
        "firmware": bytes(p[HEADER_FIXED + 1 : HEADER_FIXED + 1 + n]).decode(),
        # Older headers end with the version: boot 0, nothing to date a session by.
        "boot": 0,
        "uptime_s": 0,
    }
    if len(p) >= HEADER_FIXED + 1 + n + 8:
        out["boot"], out["uptime_s"] = struct.unpack_from(_BOOT, p, HEADER_FIXED + 1 + n)
    q = _area_at(p, 0)
    if len(p) > q:
        out["area"] = _area(p, q)
    return out


def _area(p, q):
    """The area name at p[q] (u8 n + n bytes); ValueError when it cannot be one."""
    n = p[q]
    if n > AREA_LEN or len(p) < q + 1 + n:
        raise ValueError("area longer than its field")
    return bytes(p[q + 1 : q + 1 + n]).decode()


# ---- 'N' the running session's new area (version 3) ----

AREA_SIZE = 1 + AREA_LEN + 4


def area_pack_into(buf, off, area, n, limit_ms):
    """An 'N' payload at buf[off]: the first n bytes of `area` and the session's limit from
    now on. Returns its size."""
    _area_into(buf, off, area, n)
    struct.pack_into("<I", buf, off + 1 + AREA_LEN, limit_ms)
    return AREA_SIZE


def unpack_area(p):
    """(area name, limit ms) of an 'N' payload."""
    return _area(p, 0), struct.unpack_from("<I", p, 1 + AREA_LEN)[0]


# ---- v2: the record's place, after a 'T', 'F' or 'S' payload ----


def ids_pack_into(buf, off, session_id, seq):
    """Write the session id and record number at buf[off] (after a payload). Returns 6."""
    struct.pack_into(_IDS, buf, off, session_id, seq)
    return IDS_SIZE


def ids(p, body):
    """(session id, record number) of a payload whose own fields take `body` bytes, or None
    for a version-1 payload (exactly `body` bytes). Raises ValueError for any other length."""
    if len(p) == body:
        return None
    if len(p) != body + IDS_SIZE:
        raise ValueError("record length does not fit its type")
    return struct.unpack_from(_IDS, p, body)


def body_size(rtype, p):
    """Bytes of a 'T' (0x54), 'F' (0x46), 'S' (0x53) or 'N' (0x4E) payload before its ids."""
    if rtype == 0x54:
        return TRACE_FIXED + 2 * p[5] + p[4]
    if rtype == 0x4E:
        return AREA_SIZE
    return FAULT_SIZE if rtype == 0x46 else SUMMARY_SIZE


# ---- 'T' trace chunk ----


def _u8(v):
    return v if v < 255 else 255


def trace_pack_into(buf, off, t0, band0, holds, over, cues, peak_mn, changes, nb, codes, n):
    """A 'T' payload at buf[off]: `cues` the 6 counts so far, `changes` nb (sample index,
    band) byte pairs, `codes` n force codes. Returns its size."""
    struct.pack_into("<IBBBBB", buf, off, t0, n, nb, band0, _u8(holds), _u8(over))
    i = 0
    while i < 6:
        buf[off + 9 + i] = _u8(cues[i])
        i += 1
    struct.pack_into("<I", buf, off + 15, peak_mn)
    q = off + TRACE_FIXED
    i = 0
    while i < 2 * nb:
        buf[q + i] = changes[i]
        i += 1
    q += 2 * nb
    i = 0
    while i < n:
        buf[q + i] = codes[i]
        i += 1
    return TRACE_FIXED + 2 * nb + n


def unpack_trace(p):
    """(t0, band of the first sample, [(sample index, band)...], codes, (holds, too-hard
    count, the 6 cue counts, peak mN)) of a 'T' payload."""
    v = struct.unpack_from(_T, p, 0)
    n, nb = v[1], v[2]
    changes = [(p[TRACE_FIXED + 2 * k], p[TRACE_FIXED + 2 * k + 1]) for k in range(nb)]
    base = TRACE_FIXED + 2 * nb
    codes = bytes(p[base : base + n])
    if len(codes) != n:
        raise ValueError("trace chunk shorter than its sample count")
    return v[0], v[3], changes, codes, (v[4], v[5], v[6:12], v[12])


def force_code(mean_mn):
    c = mean_mn // FORCE_STEP_MN if mean_mn > 0 else 0
    return c if c < FORCE_MAX_CODE else FORCE_MAX_CODE


# ---- 'S' summary ----


def _u16(v):
    return v if v < 0xFFFF else 0xFFFF


def summary_pack_into(
    buf, off, duration, band_ms, peak, mean, holds, longest, over, cues, reason, flags
):
    """An 'S' payload at buf[off]: `band_ms` the 5 times per band, `cues` the 6 counts."""
    struct.pack_into(
        _S,
        buf,
        off,
        duration,
        band_ms[0],
        band_ms[1],
        band_ms[2],
        band_ms[3],
        band_ms[4],
        peak,
        mean,
        _u16(holds),
        longest,
        _u16(over),
        _u16(cues[0]),
        _u16(cues[1]),
        _u16(cues[2]),
        _u16(cues[3]),
        _u16(cues[4]),
        _u16(cues[5]),
        reason,
        flags,
    )
    return SUMMARY_SIZE


def summary_payload(values):
    """An 'S' payload from its 19 field values in order (as unpack_summary gives them)."""
    return struct.pack(_S, *values)


def unpack_summary(p, off=0):
    """The 19 field values of an 'S' payload, in order."""
    return struct.unpack_from(_S, p, off)


# ---- 'F' sensor fault ----


def fault_pack_into(buf, off, t_ms, what):
    struct.pack_into(_F, buf, off, t_ms, what)
    return FAULT_SIZE


def unpack_fault(p):
    """(session time ms, what: FAULT_NAMES index)."""
    return struct.unpack_from(_F, p, 0)


# ---- 'A' archived summary ----


def archived_payload(session_id, start_unix, edges_mn, limit_ms, summary_values, area=""):
    """An 'A' payload: `edges_mn` the 4 band edges, then the summary's 19 values, then the
    area ("": none)."""
    e = edges_mn
    head = struct.pack(_A, session_id, start_unix, e[0], e[1], e[2], e[3], limit_ms)
    a = area.encode()[:AREA_LEN]
    return head + summary_payload(summary_values) + bytes([len(a)]) + a


def unpack_archived(p):
    """(header fields as unpack_header names them, the summary's 19 values)."""
    a = struct.unpack_from(_A, p, 0)
    header = {
        "id": a[0],
        "start_unix": a[1],
        "light_mn": a[2],
        "medium_mn": a[3],
        "firm_mn": a[4],
        "over_mn": a[5],
        "session_limit_ms": a[6],
    }
    q = ARCHIVED_PREFIX + SUMMARY_SIZE
    if len(p) > q:
        header["area"] = _area(p, q)
    return header, unpack_summary(p, ARCHIVED_PREFIX)
