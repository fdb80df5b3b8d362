# The USB console's frames (DESIGN.md contract 4), ball to host. The host sends ASCII lines
# `KB <command> [args]\n` (never 0x03: Ctrl-C stays MicroPython's); the ball answers with
# frames (framing.py) of these types:
#   'R' reply: UTF-8 JSON object, always with "command" naming the command it answers.
#   'E' error: UTF-8 JSON {"error": what went wrong and what to do, "command": NAME}
#       (a config refusal adds "key": the offending key).
#   'L' live sample (LIVE_SIZE bytes): u32 t_ms (ball uptime), i32 force mN (calibrated
#       and filtered), u8 band, u8 session state, u32 session elapsed ms, u32 current hold
#       ms, u16 cue bits (bit i: CUE_NAMES[i] given since the last 'L'), u8 fault
#       (FAULT_NAMES index), i32 raw sensor counts (the driver's reading, before
#       calibration), i32 zero drift mN (followed at rest since calibration), u8 flags
#       (FLAG_CALIB: calibration mode; FLAG_DRIFT_BAD: the drift is out of range).
#   'D' file data: u32 offset of the first byte in the file, then the bytes (at most 1024).
import json
import struct

from ball.wire import BAND_NAMES, CUE_NAMES, FAULT_NAMES, STATE_NAMES, name

_LIVE = "<IiBBIIHBiiB"
LIVE_SIZE = 30
FLAG_CALIB = 1
FLAG_DRIFT_BAD = 2
DATA_MAX = 1024

# ---- 'L' live sample ----


def live_pack_into(buf, off, t, force, band, state, elapsed, hold, cues, fault, raw, drift, flags):
    """An 'L' payload at buf[off] (in place: the ball streams without allocating)."""
    struct.pack_into(
        _LIVE, buf, off, t, force, band, state, elapsed, hold, cues, fault, raw, drift, flags
    )
    return LIVE_SIZE


def unpack_live(p):
    """An 'L' payload as a dict, in the host's units (N) and names."""
    t, force, band, state, elapsed, hold, cues, fault, raw, drift, flags = struct.unpack(_LIVE, p)
    return {
        "t_ms": t,
        "force_n": force / 1000,
        "band": name(BAND_NAMES, band),
        "state": name(STATE_NAMES, state),
        "elapsed_ms": elapsed,
        "hold_ms": hold,
        "cues": [n for i, n in enumerate(CUE_NAMES) if cues & (1 << i)],
        "fault": name(FAULT_NAMES, fault),
        "raw": raw,
        "drift_n": drift / 1000,
        "calib": bool(flags & FLAG_CALIB),
        "drift_bad": bool(flags & FLAG_DRIFT_BAD),
    }


# ---- 'D' file data ----


def data_pack_into(buf, off, offset, data, n):
    """A 'D' payload at buf[off]: the file offset, then data[:n]. Returns its size."""
    struct.pack_into("<I", buf, off, offset)
    buf[off + 4 : off + 4 + n] = memoryview(data)[:n]
    return 4 + n


def unpack_data(p):
    """(file offset, the bytes) of a 'D' payload."""
    return struct.unpack_from("<I", p, 0)[0], bytes(p[4:])


# ---- 'R' reply and 'E' error ----


def reply_payload(command, obj):
    obj["command"] = command
    return json.dumps(obj).encode()


def error_payload(command, message, **extra):
    obj = {"error": message, "command": command}
    obj.update(extra)  # a config refusal: key=the offending key
    return json.dumps(obj).encode()


def unpack_reply(p):
    """An 'R' or 'E' payload as a dict."""
    return json.loads(bytes(p))
