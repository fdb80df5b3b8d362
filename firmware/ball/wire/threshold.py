# A body area's pressure threshold measured on the ball itself (the phone page's "measure"),
# kept on the ball's flash until `knotball pull` has stored it in the history
# (firmware/LOG-FORMAT.md, "Threshold files"). One file per measurement, named
# tNNNNNNN.kbt (NNNNNNN: a number the ball counts up), holding one framed record:
#
#   'P' threshold: u8 format version (1), u32 unix time of the measurement (0: the ball's
#       clock was not set), u32 boot id, u32 seconds since that boot (to date it as a
#       session is dated when the clock was not set), u16 level in 0.1 N (the mean of the
#       peaks), u16 spread of the peaks in 0.1 % of the level, u8 n presses, then n x (u16
#       peak in 0.1 N, u16 rise time in ms: from first contact to the peak), then u8 n + n
#       bytes: the area's name (ASCII, ball/dose.py's rules).
#
# All integers unsigned little-endian. The file is written whole (a temporary file renamed),
# so a power cut leaves either no file or a whole one; the frame's CRC names any later damage.
import struct

from ball.wire import framing as fr

THRESHOLD = 0x50  # 'P'
VERSION = 1
SUFFIX = ".kbt"
PRESSES_MAX = 9
_HEAD = "<BIIIHHB"
_HEAD_SIZE = 18
_PRESS = "<HH"
_U16 = 0xFFFF


def _u16(v):
    v = int(round(v))
    return 0 if v < 0 else (v if v < _U16 else _U16)


def file_name(number):
    return "t{:07d}{}".format(number, SUFFIX)


def number_of(name):
    """The number of a threshold file's name, or None when `name` is not one."""
    if len(name) != 12 or name[0] != "t" or not name.endswith(SUFFIX):
        return None
    digits = name[1:8]
    return int(digits) if digits.isdigit() else None


def pack(unix, boot, uptime_s, level_n, spread_pct, presses, area):
    """The whole file's bytes. presses: (peak N, rise ms) pairs, 1 to PRESSES_MAX."""
    if not 1 <= len(presses) <= PRESSES_MAX:
        raise ValueError("1 to {} presses".format(PRESSES_MAX))
    name = area.encode()
    n = len(presses)
    payload = bytearray(_HEAD_SIZE + 4 * n + 1 + len(name))
    struct.pack_into(
        _HEAD, payload, 0, VERSION, unix, boot, uptime_s, _u16(level_n * 10),
        _u16(spread_pct * 10), n,
    )  # fmt: skip
    off = _HEAD_SIZE
    for peak, rise in presses:
        struct.pack_into(_PRESS, payload, off, _u16(peak * 10), _u16(rise))
        off += 4
    payload[off] = len(name)
    payload[off + 1 :] = name
    return fr.record(THRESHOLD, payload)


def unpack(data):
    """A threshold file's bytes as a dict; ValueError naming what is wrong with them."""
    got = list(fr.frames(data))
    if not got or got[0][1] is None:
        raise ValueError(got[0][2] if got else "empty")
    off, rtype, p = got[0]
    if off or len(got) > 1 or len(data) != len(p) + fr.FRAME_OVERHEAD:
        raise ValueError("more than one record")
    if rtype != THRESHOLD:
        raise ValueError("not a threshold record")
    if len(p) < _HEAD_SIZE + 1:
        raise ValueError("record too short")
    version, unix, boot, uptime_s, level, spread, n = struct.unpack_from(_HEAD, p, 0)
    if version != VERSION:
        raise ValueError("format version {} (this reader knows {})".format(version, VERSION))
    end = _HEAD_SIZE + 4 * n
    if not 1 <= n <= PRESSES_MAX or len(p) < end + 1 or len(p) != end + 1 + p[end]:
        raise ValueError("record length does not fit its presses and area")
    presses = [struct.unpack_from(_PRESS, p, _HEAD_SIZE + 4 * i) for i in range(n)]
    return {
        "unix": unix,
        "boot": boot,
        "uptime_s": uptime_s,
        "level_n": level / 10,
        "spread_pct": spread / 10,
        "peaks_n": [peak / 10 for peak, _ in presses],
        "rise_ms": [rise for _, rise in presses],
        "area": bytes(p[end + 1 :]).decode(),
    }
