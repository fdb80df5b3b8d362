# The live page's event stream (DESIGN.md contract 6), ball to browser and host: the body of
# `GET /live`, server-sent events (text/event-stream, UTF-8, lines ending in "\n").
#   The ball MUST send first one `edges` event:
#       event: edges
#       data: {"edges_n":{"light":5.0,"medium":..,"firm":..,"over":..},"limit_ms":N,
#              "hold_min_ms":N,"hold_max_ms":N}
#   then one unnamed event per sample it streams, at most one every 100 ms:
#       data: {"t_ms":N,"force_n":12.345,"band":NAME,"state":NAME,"elapsed_ms":N,
#              "limit_ms":N,"hold_ms":N,"cues":[NAME,..],"fault":NAME,"stop":NAME}
#   (names from ball/wire: BAND_NAMES, STATE_NAMES, CUE_NAMES (the cues given since the
#   sample before), FAULT_NAMES ("" = none), STOP_REASONS (the last stop, "" = none)).
#   Each event ends with an empty line. A reader MUST ignore keys and events it does not
#   know (a newer ball may add them) and SHOULD treat a stream silent for 2 s as stale.
# Resuming after a gap (the body and a wall shadow the radio): a sample event MAY begin
# with an `id: RUN.SEQ` line (RUN: the ball's page server since it started, SEQ: the
# sample's number, one more per sample). A reader reconnecting SHOULD send the last id it
# had as a `Last-Event-ID:` request header (a browser's EventSource does so by itself);
# the ball then sends the samples after it that it still keeps, in order, before the live
# ones. When it no longer has them all it first sends
#       event: gap
#       data: {"missing":N}
#   N samples lost (-1: unknown, the id is from another run), and a reader MUST NOT join
#   the samples either side of it as if they were adjacent.
# The ball packs samples, ids and gaps in place (the *_pack_into functions: no allocation
# per sample); the host reads events with EventReader.
import json

from ball.wire import BAND_NAMES, CUE_NAMES, FAULT_NAMES, STATE_NAMES, STOP_REASONS

SAMPLE_MAX = 320  # the longest sample event, every cue given at once included
ID_MAX = 26  # the longest id line: "id: " RUN "." SEQ "\n", each number below 2**30
GAP_MAX = 40  # the longest gap event
EVERY_MS = 100  # at most ten samples a second


def _quoted(names):
    return tuple(b'"' + n.encode() + b'"' for n in names)


_BANDS = _quoted(BAND_NAMES)
_STATES = _quoted(STATE_NAMES)
_CUES = _quoted(CUE_NAMES)
_FAULTS = _quoted(FAULT_NAMES)
_STOPS = _quoted(STOP_REASONS)


def _put(buf, i, s):
    n = len(s)
    buf[i : i + n] = s  # a slice store: no heap on MicroPython 1.2x
    return i + n


def _int(buf, i, n):
    """The decimal digits of int n at buf[i]; returns the index after them. Small ints only
    (never above 2**30): the divisor never grows past n."""
    if n < 0:
        buf[i] = 45  # "-"
        i += 1
        n = -n
    d = 1
    while n // d >= 10:
        d *= 10
    while d:
        buf[i] = 48 + n // d % 10
        i += 1
        d //= 10
    return i


def _milli(buf, i, m):
    """m/1000 as a decimal with three places (12345 -> 12.345)."""
    if m < 0:
        buf[i] = 45
        i += 1
        m = -m
    i = _int(buf, i, m // 1000)
    buf[i] = 46  # "."
    m %= 1000
    buf[i + 1] = 48 + m // 100
    buf[i + 2] = 48 + m // 10 % 10
    buf[i + 3] = 48 + m % 10
    return i + 4


def sample_pack_into(buf, off, t, force_mn, band, state, elapsed, limit, hold, cues, fault, stop):
    """A sample event at buf[off] (`cues`: bit i for CUE_NAMES[i]); in place, allocating
    nothing. Returns the index after it (at most off + SAMPLE_MAX)."""
    i = _put(buf, off, b'data: {"t_ms":')
    i = _int(buf, i, t)
    i = _put(buf, i, b',"force_n":')
    i = _milli(buf, i, force_mn)
    i = _put(buf, i, b',"band":')
    i = _put(buf, i, _BANDS[band])
    i = _put(buf, i, b',"state":')
    i = _put(buf, i, _STATES[state])
    i = _put(buf, i, b',"elapsed_ms":')
    i = _int(buf, i, elapsed)
    i = _put(buf, i, b',"limit_ms":')
    i = _int(buf, i, limit)
    i = _put(buf, i, b',"hold_ms":')
    i = _int(buf, i, hold)
    i = _put(buf, i, b',"cues":[')
    c = 0
    first = True
    while c < len(_CUES):
        if cues & (1 << c):
            if not first:
                buf[i] = 44  # ","
                i += 1
            first = False
            i = _put(buf, i, _CUES[c])
        c += 1
    i = _put(buf, i, b'],"fault":')
    i = _put(buf, i, _FAULTS[fault])
    i = _put(buf, i, b',"stop":')
    i = _put(buf, i, _STOPS[stop])
    return _put(buf, i, b"}\n\n")


def id_pack_into(buf, off, run, seq):
    """The `id: RUN.SEQ` line at buf[off], in place; returns the index after it."""
    i = _put(buf, off, b"id: ")
    i = _int(buf, i, run)
    buf[i] = 46  # "."
    i = _int(buf, i + 1, seq)
    buf[i] = 10
    return i + 1


def gap_pack_into(buf, off, missing):
    """The `gap` event at buf[off] (missing samples; -1: unknown), in place; returns the
    index after it."""
    i = _put(buf, off, b'event: gap\ndata: {"missing":')
    i = _int(buf, i, missing)
    return _put(buf, i, b"}\n\n")


def gap_event(missing):
    """The `gap` event as bytes (between samples, where allocating is fine)."""
    buf = bytearray(GAP_MAX)
    return bytes(buf[: gap_pack_into(buf, 0, missing)])


def parse_id(value):
    """(run, seq) from an id's text (bytes or str), or None when it is not one of ours."""
    parts = value.strip().split(b"." if isinstance(value, bytes) else ".")
    if len(parts) != 2 or not (0 < len(parts[0]) < 11 and 0 < len(parts[1]) < 11):
        return None
    try:
        run = int(parts[0])
        seq = int(parts[1])
    except ValueError:
        return None
    return (run, seq) if run >= 0 and seq >= 0 else None


def edges_event(edges_mn, limit_ms, hold_min_ms, hold_max_ms):
    """The `edges` event: band edges (the lower edge of light..over, in mN) and the limits."""
    edges = {}
    for b in range(1, len(BAND_NAMES)):
        edges[BAND_NAMES[b]] = edges_mn[b] / 1000
    obj = {
        "edges_n": edges,
        "limit_ms": limit_ms,
        "hold_min_ms": hold_min_ms,
        "hold_max_ms": hold_max_ms,
    }
    return b"event: edges\ndata: " + json.dumps(obj).encode() + b"\n\n"


class EventReader:
    """The host's side: feed() bytes as they arrive, then events() yields (name, object)
    for each whole event ("message" for the unnamed sample events); last_id is the last
    event id read ("" before any), to resume from after a reconnect."""

    def __init__(self, last_id=""):
        self.buf = b""
        self.last_id = last_id

    def feed(self, data):
        self.buf += data

    def events(self):
        while True:
            end = self.buf.find(b"\n\n")
            if end < 0:
                return
            block, self.buf = self.buf[:end], self.buf[end + 2 :]
            event, data = "message", []
            for line in block.decode("utf-8", "replace").split("\n"):
                key, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if key == "event":
                    event = value
                elif key == "data":
                    data.append(value)
                elif key == "id":
                    self.last_id = value
            if data:
                try:
                    yield event, json.loads("\n".join(data))
                except ValueError:
                    continue  # not ours: a reader ignores what it cannot read
