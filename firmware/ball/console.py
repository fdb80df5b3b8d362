# The USB console protocol, ball side (DESIGN.md contract 4). The host sends ASCII lines
# `KB <command> [args]\n`; the ball answers with binary frames in the log's framing
# (ball/wire: "KB" + type + length + payload + CRC-32; console types R, E, L, D). Commands
# are plain ASCII and never contain 0x03, so Ctrl-C still reaches MicroPython and stops the
# app with its outputs off. Everything here runs in the loop's spare time, after the sample's
# outputs are set: it may allocate and it never waits for input.
import os
import select
from binascii import crc32

from ball import VERSION
from ball.session import STOP_SYMPTOM
from ball.wire import PROTO, threshold
from ball.wire import console as wc
from ball.wire import framing as fr

try:
    from typing import Any
except ImportError:
    pass

from ball import const

_LINE_MAX = const(1024)  # a `cfg {json}` line with every key and 8 cal_points fits easily
_CHUNK = const(1024)  # file bytes per 'D' frame
_LIVE_MS = const(50)  # 'L' frames at 20 Hz
# select's poll() allocates its result (ipoll too, on the unix port), so input is looked at
# every _POLL_EVERY calls only: 50 ms at 100 Hz still feels instant to a person typing or a
# host waiting, and an idle console costs one small allocation per 5 samples, not per sample.
_POLL_EVERY = const(5)
_IDLE_CHUNKS = const(4)  # 'D' frames per poll() between sessions
_READ_MAX = const(256)  # input bytes taken per poll(): a flood cannot stall the loop
_UTC_MAX_S = const(14 * 3600)  # local time runs from UTC-12 to UTC+14
_U32_MAX = 0xFFFFFFFF  # offsets, lengths and CRCs are u32 on the wire and on flash
# Clocks the ball believes: 2020-01-01 to 2100-12-31 UTC. Anything else is a host bug or an
# attack, and time.gmtime or the RTC would wrap it silently.
_CLOCK_MIN = 1577836800
_CLOCK_MAX = 4133980799
# Dispatched by this table, never by getattr on the name received: on MicroPython getattr
# interns its name for good (heap lost per distinct name) and fails on a long one.
_COMMANDS = (
    "hello",
    "live",
    "ls",
    "get",
    "rm",
    "cfg",
    "calib",
    "buzz",
    "wifi",
    "clock",
    "symptom",
    "area",
)
_NO_ARGS = ("hello", "ls", "symptom")
_USAGE = (
    "commands: KB hello | KB live on|off | KB ls | KB get NAME OFFSET LENGTH | "
    "KB rm NAME CRC32 | KB cfg [JSON] | KB clock UNIX_SECONDS [UTC_OFFSET_S] | KB symptom | "
    "KB calib on|off | KB buzz MS | KB wifi [set JSON|off|ap|new-token] | KB area [NAME|none]"
)


def _name_ok(name):
    return name and "/" not in name and "\\" not in name and name not in (".", "..")


class Refused(Exception):
    """A command's argument refused: its message is the 'E' reply."""


def number(word, what, lo, hi):
    """word as a whole number within lo..hi; Refused naming `what` otherwise."""
    try:
        v = int(word)
    except ValueError:
        v = None
    if v is None or not lo <= v <= hi:
        raise Refused(
            "{} must be a whole number from {} to {}, not {}".format(what, lo, hi, word[:24])
        )
    return v


class Console:
    """The ball's end of the USB console. It reaches the app only through a control.Control,
    and the log files and the config file only through their paths."""

    wifi_path = "/wifi.json"  # the network `KB wifi` stores (start.WIFI_PATH)

    def __init__(self, stream_in, stream_out, control, log_root, config_path, chunk=_CHUNK):
        self.inp = stream_in
        self.out = stream_out
        self.control = control
        self.root = log_root
        self.config_path = config_path
        self.chunk = chunk
        self.now = 0
        self._poller = select.poll()
        self._poller.register(stream_in, select.POLLIN)
        self._eof = False
        self._line = bytearray(_LINE_MAX)
        self._len = 0
        self._overflow = False
        self._one = bytearray(1)
        self._calls = 0
        self.live = False
        self._live_at = 0
        # An 'L' frame is packed in place: streaming costs no allocation per sample.
        self._lbuf = bytearray(wc.LIVE_SIZE + fr.FRAME_OVERHEAD)
        self._cues = [0, 0, 0, 0, 0, 0]  # cue counts the last 'L' frame reported
        # A transfer in progress: one 'D' frame per poll(), so a big file never holds up
        # the loop for more than one chunk's read and write.
        self._xfile: Any = None  # the file being sent, or None
        self._xname = ""
        self._xoff = 0  # its next byte to send
        self._xleft = 0  # bytes still to send
        self._xsize = 0  # its size

    # ---- the loop calls this once per sample period ----

    def poll(self, now_ms):
        self.now = now_ms
        self._calls += 1
        if self._calls >= _POLL_EVERY:
            self._calls = 0
            self._read_input()
        if self._xfile is not None:
            # During a session one chunk per sample keeps the loop on time; between sessions
            # (when logs are pulled) a few chunks per sample let the link run at full speed.
            n = 1 if self.control.session_active() else _IDLE_CHUNKS
            while n and self._xfile is not None:
                self._send_chunk()
                n -= 1
        if self.live and now_ms - self._live_at >= _LIVE_MS:
            self._live_at = now_ms
            self._send_live(now_ms)

    def _ready(self):
        for _obj, ev in self._poller.poll(0):
            if ev & select.POLLIN:
                return True
            if ev & (select.POLLHUP | select.POLLERR):
                self._eof = True  # nobody will ever write: stop asking
        return False

    def _read_input(self):
        n = 0
        while not self._eof and n < _READ_MAX and self._ready():
            if not self.inp.readinto(self._one):
                self._eof = True
                return
            n += 1
            b = self._one[0]
            if b == 10:  # '\n' ends a command
                if self._overflow:
                    self._overflow = False
                    self.error("?", "line longer than {} bytes".format(_LINE_MAX))
                elif self._len:
                    self._command(bytes(self._line[: self._len]))
                self._len = 0
            elif b == 13:
                pass  # a terminal's Enter sends \r (\n): either ends nothing, \n does
            elif self._len < _LINE_MAX:
                self._line[self._len] = b
                self._len += 1
            else:
                self._overflow = True

    # ---- frames out ----

    def send(self, rtype, payload):
        self.out.write(fr.record(rtype, payload))

    def reply(self, command, obj):
        self.send(fr.REPLY, wc.reply_payload(command, obj))

    def error(self, command, message, **extra):
        self.send(fr.ERROR, wc.error_payload(command, message, **extra))

    def _send_live(self, now_ms):
        size = self.control.pack_live(self._lbuf, fr.FRAME_HEAD, now_ms, self._cues)
        fr.frame(self._lbuf, 0, fr.LIVE, size)
        self.out.write(self._lbuf)

    # ---- commands ----

    def _command(self, line):
        try:
            text = line.decode().strip()
        except UnicodeError:
            text = ""
        if not text.startswith("KB "):
            self.error(text[:20], "not a command; " + _USAGE)
            return
        parts = text[3:].strip().split(None, 1)
        name = parts[0] if parts else ""
        arg = parts[1].strip() if len(parts) > 1 else ""
        if self._xfile is not None:  # any new command cancels a transfer
            self._end_transfer()
        if name not in _COMMANDS:
            self.error(name, "unknown command; " + _USAGE)
            return
        if arg and name in _NO_ARGS:
            self.error(name, "KB {} takes no arguments".format(name))
            return
        try:
            getattr(self, "cmd_" + name)(name, arg)
        except Refused as e:
            self.error(name, str(e))
        except Exception as e:  # noqa: BLE001 (a flash error, or a bug: no line ends the app)
            # KeyboardInterrupt is not an Exception: Ctrl-C still stops the app.
            self.error(name, "{}: {}".format(type(e).__name__, e))

    def cmd_hello(self, name, arg):
        c = self.control
        obj = {"firmware": VERSION, "proto": PROTO, "uptime_ms": self.now, "live": self.live}
        obj.update(c.status())
        obj.update(c.identity())
        unix = c.unix_time()
        if unix:
            obj["unix"] = unix
        self.reply(name, obj)

    def cmd_live(self, name, arg):
        if arg not in ("on", "off"):
            self.error(name, "use `KB live on` or `KB live off`")
            return
        self.live = arg == "on"
        self._live_at = self.now - _LIVE_MS
        self.reply(name, {"live": self.live})

    def _crc(self, path):
        crc = 0
        buf = bytearray(512)
        with open(path, "rb") as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    return crc & 0xFFFFFFFF
                crc = crc32(memoryview(buf)[:n], crc)

    def cmd_ls(self, name, arg):
        # CRCs are read from flash here, in one go: a host lists files between sessions,
        # and a few hundred KiB read in well under a second even on the ball.
        active = self.control.writing()
        files = []
        for fname in sorted(os.listdir(self.root)):
            path = self.root + "/" + fname
            st = os.stat(path)
            if st[0] & 0x4000:
                continue  # a directory
            entry = {"name": fname, "size": st[6], "crc32": self._crc(path)}
            entry["active"] = fname == active  # still being written: not finished yet
            files.append(entry)
        self.reply(name, {"files": files})

    def _args(self, arg, usage):
        """NAME and its u32 arguments as named in usage (`KB get NAME OFFSET LENGTH`);
        Refused with the usage, or naming the argument out of range."""
        words = usage.split()[3:]
        parts = arg.split()
        if len(parts) != len(words) + 1 or not _name_ok(parts[0]):
            raise Refused("usage: " + usage)
        return [parts[0]] + [number(p, w, 0, _U32_MAX) for p, w in zip(parts[1:], words)]

    def cmd_get(self, name, arg):
        fname, offset, length = self._args(arg, "KB get NAME OFFSET LENGTH")
        path = self.root + "/" + fname
        size = os.stat(path)[6]
        f = open(path, "rb")
        f.seek(offset)
        self._xfile = f
        self._xname = fname
        self._xoff = offset
        self._xleft = min(length, max(size - offset, 0))
        self._xsize = size

    def _send_chunk(self):
        n = min(self.chunk, self._xleft)
        data = self._xfile.read(n) if n else b""
        if data:
            payload = bytearray(4 + len(data))
            wc.data_pack_into(payload, 0, self._xoff, data, len(data))
            self.send(fr.DATA, payload)
            self._xoff += len(data)
            self._xleft -= len(data)
        if not data or self._xleft <= 0:
            self._end_transfer()
            self.reply("get", {"name": self._xname, "end": self._xoff, "size": self._xsize})

    def _end_transfer(self):
        f, self._xfile = self._xfile, None
        f.close()

    def cmd_rm(self, name, arg):
        # Only what `pull` copies and verifies: a finished session log or a threshold
        # measured on the ball (tNNNNNNN.kbt). The next_id file (the next id and the day's
        # count), the config and the rest are never removed.
        fname, crc = self._args(arg, "KB rm NAME CRC32")
        if not fname.endswith(".kbl") and threshold.number_of(fname) is None:
            raise Refused(
                "only a finished session log (*.kbl) or a threshold file (t*.kbt) can be "
                "removed, not " + fname
            )
        if fname == self.control.writing():
            self.error(name, "{} is being written; remove it after the session".format(fname))
            return
        path = self.root + "/" + fname
        now = self._crc(path)
        if now != crc:
            self.error(
                name,
                "{} has CRC-32 {} now, not {}: nothing deleted; pull it again".format(
                    fname, now, crc
                ),
            )
            return
        os.remove(path)
        self.reply(name, {"removed": fname})

    def cmd_cfg(self, name, arg):
        from ball import config  # only when asked: its bytecode costs heap

        if not arg:
            cfg, problem = config.load_or_defaults(self.config_path)
            self.reply(name, {"config": cfg, "problem": problem})
            return
        try:
            cfg = config.save(self.config_path, config.parse(arg))
        except config.ConfigError as e:
            self.error(name, str(e), key=e.key)
            return
        # Applied at once between sessions; a running session keeps the values it started
        # with (changing its limits mid-way would break the promises of contract 2).
        applied = self.control.reconfigure(cfg)
        self.reply(
            name,
            {
                "saved": cfg,
                "applied": applied,
                "applies": "now" if applied else "when the running session ends",
            },
        )

    def cmd_calib(self, name, arg):
        from ball.calib import CALIB_LAPSE_MS  # only when asked: its bytecode costs heap

        if arg not in ("on", "off"):
            self.error(name, "use `KB calib on` (renew it every few seconds) or `KB calib off`")
            return
        if not self.control.calibrate(arg == "on", self.now):
            self.error(name, "a session is running: let it end (or stop it), then calibrate")
            return
        self.reply(name, {"calib": arg == "on", "lapse_ms": CALIB_LAPSE_MS})

    def cmd_buzz(self, name, arg):
        from ball.calib import BUZZ_MAX_MS

        try:
            ms = int(arg)
        except ValueError:
            ms = 0
        if not 0 < ms <= BUZZ_MAX_MS:
            self.error(name, "usage: KB buzz MS (1 to {} ms)".format(BUZZ_MAX_MS))
            return
        if not self.control.buzz(self.now, ms):
            self.error(name, "buzz only in calibration mode: send `KB calib on` first")
            return
        self.reply(name, {"buzz_ms": ms})

    def cmd_wifi(self, name, arg):
        from ball import wifi  # only when asked: its bytecode costs heap

        wifi.command(self, name, arg, self.wifi_path)

    def cmd_clock(self, name, arg):
        parts = arg.split()
        if not 1 <= len(parts) <= 2:
            raise Refused("usage: KB clock UNIX_SECONDS [UTC_OFFSET_S] (whole numbers)")
        # Only 2020 to 2100: a clock out of it would be stored wrapped, and the day's
        # count would follow it.
        unix = number(parts[0], "UNIX_SECONDS (2020 to 2100)", _CLOCK_MIN, _CLOCK_MAX)
        utc = number(parts[1], "UTC_OFFSET_S", -_UTC_MAX_S, _UTC_MAX_S) if len(parts) == 2 else 0
        self.control.set_clock(unix, utc)
        self.reply(name, {"unix": unix, "utc_offset_s": utc})

    def cmd_symptom(self, name, arg):
        # The host's "numbness or tingling" key: the session ends as the squeeze gesture
        # ends it (stop reason symptom), and contacts get the rest signal for the day.
        if not self.control.request_stop(STOP_SYMPTOM):
            self.error(name, "no session is running: nothing to stop")
            return
        elapsed = self.control.status()["elapsed_ms"]
        self.reply(name, {"stopped": True, "reason": "symptom", "elapsed_ms": elapsed})

    def cmd_area(self, name, arg):
        # The body area of the sessions from now on (the running one's too when that area
        # can take it): one of the config's areas, or `none`. Without one, the reply tells
        # the day per area.
        if arg:
            area, moved = self.control.set_area(arg)  # Refused, naming the problem
            when = "this session on" if moved else "from the next session"
            self.reply(name, {"area": area, "applies": when})
            return
        self.reply(name, self.control.areas())
