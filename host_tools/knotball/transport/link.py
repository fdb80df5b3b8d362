"""The host side of the ball's USB console (DESIGN.md contract 4; the frames are
ball.wire.console's, shared with the firmware).

Commands go out as ASCII lines `KB <command> [args]\\n`; replies come back as CRC-checked
frames in the log's framing. Bytes that are not a valid frame are console text (the
firmware's print() output): they are collected in `Link.text`, or given to `on_text`.
"""

import json
import termios
import time
import zlib

from ball.wire import PROTO
from ball.wire import framing as fr
from ball.wire.console import DATA_MAX, unpack_data, unpack_live, unpack_reply

_READ_SIZE = 4096
MIN_BAUD = 300  # the slowest link a transfer waits for (10 bits a byte, as --baud counts)
_REPLY_ROOM = 128  # bytes of the 'R' frame that ends a `get`


class LinkError(Exception):
    """The link failed: no ball, not knotball firmware, a timeout, a corrupt transfer."""


class LinkLost(LinkError):
    """The port itself failed: the cable pulled, a native-USB ball reset, the virtual ball
    gone (pyserial's errors, or the OS's, while reading or writing)."""


class TooSlow(LinkError):
    """Bytes kept coming, but slower than MIN_BAUD: the transfer would not finish in the
    time it may take (trying again on the same link will not help)."""


class AtTheRepl(LinkError):
    """The port shows MicroPython's REPL prompt: a ball, but not running knotball's app
    (waiting longer will not change that)."""


class BallError(LinkError):
    """The ball refused a command; `reply` is its 'E' frame as a dict."""

    def __init__(self, reply):
        super().__init__("the ball refused `{}`: {}".format(reply.get("command"), reply["error"]))
        self.reply = reply


class Link:
    """A console link over a serial port path (pyserial: USB, or the virtual ball's pty) or
    over any object with read(n) and write(b) that returns what is available."""

    def __init__(self, port, timeout=3.0, on_text=None):
        if isinstance(port, str):
            import serial  # pyserial, installed with mpremote

            try:
                self.port = serial.Serial(port, 115200, timeout=0.02)
            except serial.SerialException as e:
                raise LinkError("cannot open {}: {}".format(port, e))
            self.name = port
        else:
            self.port = port
            self.name = getattr(port, "name", "the link")
        self.timeout = timeout
        self.on_text = on_text
        self.text = bytearray()  # console text seen so far (when on_text is None)
        self._buf = bytearray()
        self._frames_seen = 0
        self.bytes_in = 0  # bytes read from the port so far
        self._heard = 0.0  # time.monotonic() of the last bytes read

    def _lost(self, error):
        return LinkLost(
            "{} went away ({}); check that the ball is connected".format(
                self.name, str(error) or type(error).__name__
            )
        )

    def close(self):
        self.port.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- the byte stream: frames and console text ----

    def _text(self, data):
        if not data:
            return
        if self.on_text is not None:
            self.on_text(bytes(data))
        else:
            self.text += data

    def _scan(self):
        """The next valid frame in the buffer as (type, payload), or None when more bytes
        are needed. Bytes before it are console text."""
        buf = self._buf
        text, size, rtype = fr.split(buf)
        self._text(buf[:text])
        del buf[:text]
        if rtype is None:
            return None
        payload = bytes(buf[fr.FRAME_HEAD : size - 4])
        del buf[:size]
        self._frames_seen += 1
        return rtype, payload

    def frame(self, deadline):
        """The next frame, or None once time.monotonic() passes deadline."""
        while True:
            got = self._scan()
            if got is not None:
                return got
            if time.monotonic() > deadline:
                return None
            try:
                data = self.port.read(_READ_SIZE)
            except OSError as e:  # pyserial's SerialException is one
                raise self._lost(e)
            if data:
                self._buf += data
                self.bytes_in += len(data)
                self._heard = time.monotonic()
            elif not hasattr(self.port, "timeout"):
                time.sleep(0.005)  # a raw file object returned at once: don't spin

    def send(self, command):
        if "\n" in command or "\x03" in command:
            raise ValueError("a console command is one line without control characters")
        try:
            self.port.write(("KB " + command + "\n").encode())
            flush = getattr(self.port, "flush", None)
            if flush:
                flush()
        except (OSError, termios.error) as e:  # tcdrain on a port gone raises termios.error
            raise self._lost(e)

    def _no_reply(self, command):
        if not self._frames_seen:
            what = (
                "it printed text but sent no knotball frame: is the knotball firmware running "
                "(not the REPL)? Reset the ball or run `knotball flash`"
                if self.text
                else "nothing came back: is a knotball connected on this port and powered?"
            )
            error = AtTheRepl if b">>> " in self.text else LinkError
            return error("no reply from {} to `{}`: {}".format(self.name, command, what))
        return LinkError(
            "no reply from {} to `{}` within {} s".format(self.name, command, self.timeout)
        )

    def _too_slow(self, start, bytes_before):
        seconds = time.monotonic() - start
        return TooSlow(
            "{} is too slow to finish: {} bytes in {:.0f} s ({:.0f} bytes/s), under the {} "
            "bytes/s ({} baud) a transfer needs; connect the ball straight to this computer "
            "(or give the virtual ball a higher --baud)".format(
                self.name,
                self.bytes_in - bytes_before,
                seconds,
                (self.bytes_in - bytes_before) / seconds,
                MIN_BAUD // 10,
                MIN_BAUD,
            )
        )

    def _wait(self, command, deadline, on_frame=None, bound=None):
        """Frames until the 'R' or 'E' answering `command`; others go to on_frame. With a
        `bound` (a later time), a slow link is waited for: the deadline moves on while the
        answer keeps coming (its bytes, or other frames than live samples, less than
        `timeout` ago), up to the bound; past it, TooSlow. Live samples streaming meanwhile
        are no answer: they never keep a command waiting past its deadline."""
        name = command.split()[0]
        start, bytes_before = time.monotonic(), self.bytes_in
        progress = start  # the last sign of the answer coming
        while True:
            got = self.frame(deadline)
            now = time.monotonic()
            if got is not None and got[0] != fr.LIVE:
                progress = now
            elif got is None and self._buf:
                progress = max(progress, self._heard)  # part of a frame came
            if got is None or now > deadline:
                if bound is None or progress < now - self.timeout:
                    raise self._no_reply(command)
                if now >= bound:
                    raise self._too_slow(start, bytes_before)
                deadline = min(progress + self.timeout, bound)
                if got is None:
                    continue
            rtype, payload = got
            if rtype in (fr.REPLY, fr.ERROR):
                reply = unpack_reply(payload)
                if reply.get("command") != name:
                    continue  # a late answer to an earlier command
                if rtype == fr.ERROR:
                    raise BallError(reply)
                return reply
            if on_frame is not None:
                on_frame(rtype, payload)

    def request(self, command, timeout=None, on_frame=None):
        """Send one command and return the ball's reply (a dict). Raises BallError when the
        ball refuses it, LinkError when nothing valid comes back in time: `timeout` for it
        to begin, and while it keeps coming, as long as the longest reply takes at
        MIN_BAUD. Other frames that arrive meanwhile go to on_frame(type, payload), or are
        dropped."""
        self.send(command)
        now = time.monotonic()
        wait = timeout or self.timeout
        bound = now + wait + fr.MAX_PAYLOAD * 10 / MIN_BAUD
        return self._wait(command, now + wait, on_frame, bound)

    # ---- commands ----

    def hello(self):
        reply = self.request("hello")
        if reply.get("proto") != PROTO:
            raise LinkError(
                "{} speaks console protocol {}, this knotball speaks {}: update the firmware "
                "(`knotball flash`) or the host tools".format(self.name, reply.get("proto"), PROTO)
            )
        return reply

    def live(self):
        """Live samples (dicts, see ball.wire.console.unpack_live) at ~20 Hz until the
        caller stops iterating; the session on the ball is not disturbed."""
        self.request("live on")
        try:
            while True:
                got = self.frame(time.monotonic() + self.timeout)
                if got is None:
                    raise LinkError("{} stopped sending live samples".format(self.name))
                if got[0] == fr.LIVE:
                    yield unpack_live(got[1])
        finally:
            self.request("live off")

    def ls(self):
        return self.request("ls")["files"]

    def get(self, name, size, crc=None, attempts=3):
        """The file's first `size` bytes. Each 'D' frame is CRC-checked by the framing; a
        gap (a frame lost to corruption) resumes from the last good byte; with `crc` (from
        ls) the whole file is checked too."""
        data = bytearray()
        for _ in range(attempts):
            skipping = [False]

            def on_frame(rtype, payload, skipping=skipping):
                if rtype != fr.DATA or skipping[0]:
                    return
                offset, chunk = unpack_data(payload)
                if offset != len(data):
                    skipping[0] = True  # a chunk was lost: ask again from here afterwards
                    return
                data.extend(chunk)

            want = size - len(data)
            command = "get {} {} {}".format(name, len(data), want)
            self.send(command)
            # USB sends the whole file in a blink; a slow link (a throttled virtual ball)
            # is waited for while its bytes keep coming, as long as the bytes to come
            # take at MIN_BAUD.
            frames = -(-want // DATA_MAX)  # each with its framing and a u32 offset
            expected = want + frames * (fr.FRAME_OVERHEAD + 4) + _REPLY_ROOM
            now = time.monotonic()
            bound = now + self.timeout + expected * 10 / MIN_BAUD
            end = self._wait(command, now + self.timeout, on_frame, bound)
            if len(data) >= size or end["end"] >= end["size"] and not skipping[0]:
                break
        if len(data) != size:
            raise LinkError(
                "{}: got {} of {} bytes from {}".format(name, len(data), size, self.name)
            )
        if crc is not None and zlib.crc32(data) & 0xFFFFFFFF != crc:
            raise LinkError(
                "{}: the copy's CRC-32 does not match the ball's; pull it again".format(name)
            )
        return bytes(data)

    def rm(self, name, crc):
        """Delete a file on the ball, only if it still has the CRC-32 the host verified."""
        return self.request("rm {} {}".format(name, crc))

    def cfg(self, cfg=None):
        if cfg is None:
            return self.request("cfg")["config"]
        return self.save_cfg(cfg)["saved"]

    def save_cfg(self, cfg, on_frame=None):
        """Save a whole config on the ball; its reply says whether it "applied" now."""
        return self.request("cfg " + json.dumps(cfg, separators=(",", ":")), on_frame=on_frame)

    def clock(self, unix=None, utc_offset_s=None):
        """Set the ball's clock: unix seconds, and local time's offset from UTC so the ball
        counts sessions per local calendar day (both default to this computer's)."""
        unix = int(time.time() if unix is None else unix)
        if utc_offset_s is None:
            utc_offset_s = time.localtime(unix).tm_gmtoff
        return self.request("clock {} {}".format(unix, int(utc_offset_s)))
