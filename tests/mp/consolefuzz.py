# Console fuzz on the MicroPython unix port (issue 15): thousands of random and crafted lines
# fed to the firmware's real console while the real App runs sessions on a virtual clock.
# No line may end the app; every frame out must be valid; every line gets its one reply;
# the ball still answers `KB hello` afterwards; every session stops at its limit.
# Run: micropython consolefuzz.py DIR SEED LINES  (DIR: an empty scratch directory)
# Prints the figures as one JSON line starting "fuzz ", then "fuzz ok" or "FAIL ...".
import gc
import io
import json
import random
import select
import sys
import time

from ball import VirtualClock, config, session
from ball.app import App
from ball.console import Console
from ball.control import Control
from ball.dose import Dose
from ball.log import SessionLog
from ball.signal import Calibration
from ball.wire import STOP_REASONS
from ball.wire import framing as fr

LIMIT_S = 10
CFG = {"session_limit_s": LIMIT_S, "idle_stop_s": 2, "max_sessions_per_day": 24}
COMMANDS = ("hello", "live", "ls", "get", "rm", "cfg", "calib", "buzz", "wifi", "clock")
COMMANDS += ("symptom",)
# Arguments that would make a line a valid command with an effect on the sessions (stop one,
# change the config, calibrate): the fuzz sends these only in their wrong forms.
VALID_VERBS = ("on", "off", "set", "ap", "new-token")
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
NUMBERS = (
    "0",
    "-1",
    "1",
    "4294967295",
    "4294967296",
    "99999999999999999999999",
    "-99999999999999999999999",
    "100000000000000000000000",
    "1e9",
    "0x10",
    "1_000",
    "+5",
    "--1",
    "١٢٣",
    "1.5",
    "nan",
    "inf",
    "",
)
CRAFTED = (
    b"K",
    b"KB",
    b"KB ",
    b"KB\t",
    b"KBhello",
    b"kb hello",
    b"KB  ",
    b"\x00KB hello",
    b"KB hel\x00lo",
    b"KB \xff\xfe",
    b"KB hello\r\r\r",
    b"\r",
    b"   ",
    b"KB get",
    b"KB get next_id",
    b"KB get next_id 0",
    b"KB get next_id 0 1 2",
    b"KB get ../next_id 0 1",
    b"KB get . 0 1",
    b"KB get .. 0 1",
    b"KB get / 0 1",
    b"KB get logs\\x 0 1",
    b"KB get nosuchfile 0 1",
    b"KB get next_id 99999999999999999999999 1",
    b"KB get next_id 0 -1",
    b"KB rm",
    b"KB rm next_id",
    b"KB rm next_id 0 0",
    b"KB rm next_id 0",
    b"KB rm 00000001.kbl 1",
    b"KB rm 00000001.kbl -1",
    b"KB rm x.kbl 99999999999999999999999",
    b"KB clock",
    b"KB clock 100000000000000000000000",
    b"KB clock -1",
    b"KB clock 1700000000 1 2",
    b"KB clock 1700000000 99999999999999999999",
    b"KB clock 1700000000 -99999",
    b"KB clock 0 0",
    b"KB buzz",
    b"KB buzz 0",
    b"KB buzz 501",
    b"KB buzz -5",
    b"KB buzz 99999999999999999999999",
    b"KB buzz 1 2",
    b"KB live",
    b"KB live maybe",
    b"KB live on off",
    b"KB calib",
    b"KB calib yes",
    b"KB calib on now",
    b"KB cfg {",
    b"KB cfg []",
    b"KB cfg null",
    b"KB cfg 1",
    b'KB cfg {"session_limit_s": 361}',
    b'KB cfg {"session_limit_s": 1e999}',
    b'KB cfg {"session_limit_s": 99999999999999999999999}',
    b'KB cfg {"session_limit_s": -1}',
    b'KB cfg {"max_sessions_per_day": 9999}',
    b'KB cfg {"nope": 1}',
    b'KB cfg {"light_n": "x"}',
    b"KB wifi x",
    b"KB wifi set",
    b"KB wifi set [",
    b'KB wifi set {"ssid": 5}',
    b'KB wifi set {"ssid": "a", "password": "short"}',
    b"KB wifi set " + b"[" * 300,
    b"KB cfg " + b"[" * 300,
    b"KB cfg " + b'{"a":' * 200,
    b"KB hello x",
    b"KB ls x",
    b"KB symptom now",
    b"KB symptom 1 2 3",
    b"KB " + b"a" * 252,
    b"KB " + b"z" * 1000,
    b"KB cmd_hello",
    b"KB __init__",
    b"KB _command",
    b"KB error",
    b"KB send",
    b"KB poll",
)


class Feed(io.IOBase):
    """The console's input: lines made on demand (so the harness holds one at a time), and
    poll() says POLLIN while any are left, as a USB port does."""

    def __init__(self, lines):
        self.left = lines
        self.cur = b""
        self.pos = 0
        self.lines = 0
        self.bytes = 0
        self.gets = 0
        self.silent = 0  # lines that get no reply: only \r, or a get cancelled
        self.tail = []  # lines sent after the fuzz

    def _next(self):
        if self.tail:
            return self.tail.pop(0)
        if not self.left:
            return None
        self.left -= 1
        return line()

    def readinto(self, buf):
        if self.pos >= len(self.cur):
            nxt = self._next()
            if nxt is None:
                return 0
            self.cur = nxt + b"\n"
            self.pos = 0
            self.lines += 1
            self.bytes += len(self.cur)
            if not nxt.replace(b"\r", b""):
                self.silent += 1
            elif nxt.startswith(b"KB get "):
                self.gets += 1
        buf[0] = self.cur[self.pos]
        self.pos += 1
        return 1

    def more(self):
        return self.pos < len(self.cur) or bool(self.tail) or self.left > 0

    def ioctl(self, req, arg):
        if req == 3:  # MP_STREAM_POLL
            return arg & select.POLLIN if self.more() else 0
        return -1


class Out(io.IOBase):
    """The console's output: every write must be one whole valid frame; counted by type."""

    def __init__(self):
        self.kinds = {}
        self.bad = 0
        self.bytes = 0
        self.replies = 0
        self.errors_by = {}
        self.last = None

    def write(self, b):
        self.bytes += len(b)
        stop, bad = fr.check(b, 0)
        if bad is not None or stop + 4 != len(b):
            self.bad += 1
            return len(b)
        k = chr(b[2])
        self.kinds[k] = self.kinds.get(k, 0) + 1
        if k in "RE":
            self.replies += 1
            obj = json.loads(bytes(b[fr.FRAME_HEAD : stop]))
            self.last = (k, obj)
            if k == "E":
                c = obj.get("command", "")[:12]
                self.errors_by[c] = self.errors_by.get(c, 0) + 1
        return len(b)


def word():
    r = random.getrandbits(3)
    if r < 3:
        return random.choice(NUMBERS)
    if r < 5:
        return "".join(random.choice(LETTERS) for _ in range(random.randint(1, 20)))
    if r == 5:
        return str(random.getrandbits(32) - (1 << 31)) + "0" * random.getrandbits(5)
    return bytes(0x21 + random.getrandbits(7) % 94 for _ in range(random.randint(1, 8))).decode()


def junk(n):
    """Bytes of every value but \\n (NULs, \\r, 0x03, invalid UTF-8 included)."""
    b = bytearray(random.getrandbits(8) for _ in range(n))
    for i in range(n):
        if b[i] == 10:
            b[i] = 0
    return bytes(b)


def line():
    r = random.getrandbits(4)
    if r < 3:
        return junk(random.randint(0, 200))
    if r < 8:  # a command with the wrong arguments
        name = random.choice(COMMANDS)
        args = [word() for _ in range(random.randint(0, 6))]
        if args and args[0] in VALID_VERBS:
            args[0] += "!"
        if name in ("symptom", "hello", "ls") and not "".join(args).strip():
            args.append("x")  # never the valid, argument-free form
        if name == "cfg" and args:
            args[0] = "{" + args[0]  # never a whole JSON object: no config change
        return ("KB " + name + " " + " ".join(args)).encode()
    if r < 10:
        return random.choice(CRAFTED)
    if r == 10:  # a name too long, or not a command
        return b"KB " + bytes(random.choice(b"abcxyz_") for _ in range(random.randint(1, 600)))
    if r == 11:  # overlong: the console's buffer holds 1024
        return b"KB cfg " + b"9" * random.randint(1000, 3000)
    if r == 12:  # a partial prefix, then junk
        return random.choice((b"K", b"KB", b"kB ", b"K B ")) + junk(random.randint(0, 30))
    if r == 13:  # answered commands that do nothing to a session
        return random.choice((b"KB hello", b"KB ls", b"KB get next_id 0 5", b"KB live off"))
    if r == 14:
        return ("KB " + random.choice(COMMANDS) + " " + word() * random.randint(1, 40)).encode()
    return b"KB clock " + random.choice(NUMBERS).encode() + b" " + word().encode()


class FuzzBoard(VirtualClock):
    """Presses of 30 N for LIMIT_S + 2 s, released 3 s, on a virtual clock."""

    def __init__(self, cfg):
        cal = Calibration.from_config(cfg)
        self.on = cal.to_counts(30.0)
        self.off_counts = cal.to_counts(0.0)
        self.t = 0
        self.period = (LIMIT_S + 5) * 1000

    def read_sensor(self):
        return (
            self.on
            if 500 <= self.t % self.period < (LIMIT_S + 2) * 1000 + 500
            else self.off_counts
        )

    def led(self, r, g, b):
        pass

    def motor(self, duty):
        pass

    def off(self):
        pass


class TimedConsole(Console):
    """The console, timed per poll (real µs: the loop's spare time it takes)."""

    worst_us = 0

    def poll(self, now_ms):
        t = time.ticks_us()
        super().poll(now_ms)
        us = time.ticks_diff(time.ticks_us(), t)
        if us > self.worst_us:
            self.worst_us = us


def main(root, seed, n):
    random.seed(seed)
    cfg = config.validate(CFG)
    cfg_path = root + "/config.json"
    with open(cfg_path, "w") as f:
        f.write(json.dumps(CFG))
    board = FuzzBoard(cfg)
    logs = root + "/logs"
    dose = Dose()
    dose.restore("")
    app = App(board, cfg, None, SessionLog(logs, cfg, "fuzz"), dose=dose)
    sessions = []

    def listener(now_ms, ev):
        if ev & session.EV_START:
            sessions.append([now_ms, None, None, None])
        if ev & session.EV_STOP and sessions:
            s = sessions[-1]
            s[1], s[2], s[3] = (
                now_ms,
                STOP_REASONS[app.session.stop_reason],
                app.session.elapsed_ms,
            )

    app.listener = listener
    feed = Feed(n)
    out = Out()
    console = TimedConsole(feed, out, Control(app), logs, cfg_path)
    console.wifi_path = root + "/wifi.json"
    app.console = console
    gc.collect()
    heap0 = gc.mem_alloc()
    state = {"phase": 0, "until": 0}

    def stop():
        # Fuzz until the lines run out, then let the last session end, then `KB hello`.
        if state["phase"] == 0 and not feed.more():
            state["phase"] = 1
            state["until"] = app.now + (LIMIT_S + 6) * 1000
        elif state["phase"] == 1 and app.now >= state["until"]:
            state["phase"] = 2
            out.last = None
            feed.tail.append(b"KB hello")
        elif state["phase"] == 2 and not feed.more() and out.last is not None:
            return True
        return app.now > 3600 * 1000  # a safety net: an hour of virtual time

    t0 = time.ticks_ms()
    try:
        app.run(stop)
    except BaseException as e:  # noqa: BLE001 (the very thing under test)
        print("FAIL the app ended:", type(e).__name__, e)
        sys.print_exception(e)
        return 1
    real_ms = time.ticks_diff(time.ticks_ms(), t0)
    gc.collect()
    figures = {
        "seed": seed,
        "lines": feed.lines - 1,
        "bytes": feed.bytes - len(b"KB hello\n"),
        "frames": out.kinds,
        "replies": out.replies - 1,
        "bad_frames": out.bad,
        "errors_by_command": out.errors_by,
        "sessions": [[s[0], s[1], s[2], s[3]] for s in sessions],
        "limit_ms": app.session.limit_ms,
        "virtual_ms": app.now,
        "real_ms": real_ms,
        "worst_poll_us": console.worst_us,
        "heap_start": heap0,
        "heap_end": gc.mem_alloc(),
        "heap_free_end": gc.mem_free(),
    }
    print("fuzz " + json.dumps(figures))
    problems = []
    if out.bad:
        problems.append("{} invalid frames".format(out.bad))
    if out.last is None or out.last[0] != "R" or out.last[1].get("command") != "hello":
        problems.append("no hello after the fuzz: {}".format(out.last))
    # Every line but the silent ones and the gets a later line cancelled has one reply.
    expect_min = feed.lines - 1 - feed.silent - feed.gets
    if not expect_min <= out.replies - 1 <= feed.lines - 1 - feed.silent:
        problems.append("replies {} for {} lines".format(out.replies - 1, feed.lines - 1))
    if len(sessions) < 3:
        problems.append("only {} sessions".format(len(sessions)))
    for s in sessions:
        if s[2] != "time_limit" or s[3] != app.session.limit_ms:
            problems.append("session {} did not stop at its limit".format(s))
    if problems:
        print("FAIL " + "; ".join(problems))
        return 1
    print("fuzz ok")
    return 0


sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
