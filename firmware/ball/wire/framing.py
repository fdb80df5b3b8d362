# The frame around every log record and console frame (firmware/LOG-FORMAT.md, "Framing"):
#
#     offset  size  field
#     0       2     magic, the bytes 0x4B 0x42 ("KB")
#     2       1     type (an ASCII letter: log records H T S F A, console frames R E L D)
#     3       2     payload length L, unsigned little-endian; L MUST be <= MAX_PAYLOAD
#     5       L     payload
#     5+L     4     CRC-32 (IEEE 802.3, as zlib.crc32) of bytes 2 .. 5+L-1, little-endian
#
# A reader MUST scan for valid frames (magic, length <= MAX_PAYLOAD, CRC); any other bytes
# are damage (in a log file) or console text (on the USB console) and MUST NOT stop the scan:
# the next valid frame after damage is read, however far on it starts.
import struct
from binascii import crc32

MAGIC = b"KB"
# Log records (firmware/ball/wire/records.py).
HEADER = 0x48  # 'H'
TRACE = 0x54  # 'T'
SUMMARY = 0x53  # 'S'
FAULT = 0x46  # 'F'
ARCHIVED = 0x41  # 'A'
AREA = 0x4E  # 'N'
# Console frames (firmware/ball/wire/console.py); never in a log file.
REPLY = 0x52  # 'R'
ERROR = 0x45  # 'E'
LIVE = 0x4C  # 'L'
DATA = 0x44  # 'D'
FRAME_HEAD = 5
FRAME_OVERHEAD = 9
MAX_PAYLOAD = 4096
TORN = "torn record at the end (power cut while writing?)"


def frame_head(buf, start, rtype, length):
    """Write magic, type and length before the payload already in
    buf[start+5 : start+5+length]. Returns the whole frame's size. Allocates nothing."""
    buf[start] = 0x4B
    buf[start + 1] = 0x42
    buf[start + 2] = rtype
    buf[start + 3] = length & 0xFF
    buf[start + 4] = length >> 8
    return length + FRAME_OVERHEAD


def frame_crc(buf, start):
    """Write the CRC after the frame at buf[start] whose head is written. Returns its size."""
    length = buf[start + 3] | (buf[start + 4] << 8)
    crc = crc32(memoryview(buf)[start + 2 : start + 5 + length]) & 0xFFFFFFFF
    struct.pack_into("<I", buf, start + 5 + length, crc)
    return length + FRAME_OVERHEAD


def frame(buf, start, rtype, length):
    """Complete the frame whose payload is already in buf[start+5 : start+5+length]."""
    frame_head(buf, start, rtype, length)
    return frame_crc(buf, start)


def record(rtype, payload):
    """One whole frame as bytes (outside the sampling loop: it allocates)."""
    buf = bytearray(len(payload) + FRAME_OVERHEAD)
    buf[FRAME_HEAD : FRAME_HEAD + len(payload)] = payload
    frame(buf, 0, rtype, len(payload))
    return bytes(buf)


def check(data, pos):
    """(stop, None) when a whole valid frame starts at data[pos] (its payload ends at stop);
    (None, reason) when not; the reason is TORN when it would run past the data."""
    end = len(data)
    if end - pos < FRAME_OVERHEAD:
        return None, TORN
    if data[pos] != 0x4B or data[pos + 1] != 0x42:
        return None, "no record starts here"
    length = data[pos + 3] | (data[pos + 4] << 8)
    if length > MAX_PAYLOAD:
        return None, "record length out of range"
    stop = pos + FRAME_HEAD + length
    if stop + 4 > end:
        return None, TORN
    if (
        crc32(memoryview(data)[pos + 2 : stop]) & 0xFFFFFFFF
        != struct.unpack_from("<I", data, stop)[0]
    ):
        return None, "CRC mismatch (corrupted record)"
    return stop, None


def frames(data):
    """The frames of a whole file's bytes: yield (offset, type, payload) for each valid
    frame and (offset, None, reason) for the damaged bytes before the next valid frame. A
    damaged frame is a torn tail (TORN) only when no valid frame follows it: a damaged
    length can make an intact frame look as if it ran past the end."""
    pos = 0
    while pos < len(data):
        stop, bad = check(data, pos)
        if bad is None:
            yield pos, data[pos + 2], data[pos + FRAME_HEAD : stop]
            pos = stop + 4
            continue
        nxt = pos + 1
        while True:
            nxt = data.find(MAGIC, nxt)
            if nxt < 0 or check(data, nxt)[1] is None:
                break
            nxt += 1
        if nxt >= 0 and bad == TORN:
            bad = "damaged record (its length runs over the records after it)"
        yield pos, None, bad
        if nxt < 0:
            return
        pos = nxt


def split(buf):
    """The first frame in a stream's bytes received so far (the USB console: frames among
    console text). Returns (text, size, type): buf[:text] is console text; then, when type
    is not None, a whole valid frame of `size` bytes follows (its payload is
    buf[text+5 : text+size-4]); when type is None, the bytes from `text` on may still begin
    a frame: wait for more. Text that happens to hold "KB" waits until its claimed length
    has arrived and then fails the CRC: a short delay, never a lost frame."""
    pos = 0
    n = len(buf)
    while True:
        i = buf.find(MAGIC, pos)
        if i < 0:
            keep = 1 if n and buf[n - 1] == 0x4B else 0  # maybe the first magic byte
            return n - keep, 0, None
        if n - i < FRAME_HEAD:
            return i, 0, None
        length = buf[i + 3] | (buf[i + 4] << 8)
        if length <= MAX_PAYLOAD:
            if n - i < length + FRAME_OVERHEAD:
                return i, 0, None
            if check(buf, i)[1] is None:
                return i, length + FRAME_OVERHEAD, buf[i + 2]
        pos = i + 1  # not a frame: the "K" was text
