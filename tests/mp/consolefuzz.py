# Console fuzz on the MicroPython unix port (issue 15): thousands of random and crafted lines
# fed to the firmware's real console while the real App runs sessions on a virtual clock.
# It reports what happened; tests/test_console_fuzz.py judges it: no line may end the app,
# every frame out must be valid, every line gets its one reply, the ball still answers
# `KB hello` afterwards, every session stops at its limit, and no clock jump or command
# gives a session past the day's limit.
# Run: micropython consolefuzz.py DIR SEED LINES  (DIR: an empty scratch directory)
# Prints the figures as one JSON line starting "fuzz ", or "FAIL ..." if the app ended.
import gc
import io
import json
import os
import random
import select
import sys
import time
from binascii import crc32

from ball import VirtualClock, config, session
from ball.app import PERIOD_MS, App
from ball.console import Console
from ball.control import Control
from ball.dose import Dose
from ball.log import SessionLog
from ball.signal import Calibration
from ball.wire import STOP_REASONS
from ball.wire import framing as fr

LIMIT_S = 10
MAX_PER_DAY = 4  # more presses than that come in a run: the rest must hold
CFG = {"session_limit_s": LIMIT_S, "idle_stop_s": 2, "max_sessions_per_day": MAX_PER_DAY}
NOON = 1781524800  # 2026-06-15 12:00 UTC: the host's clock when the fuzz starts
# Clocks a host may set (2020 to 2100, offsets within a day): just before the same or the
# next midnight, back in time, a century on. None may give a session past the day's limit.
CLOCKS = (
    b"KB clock 1781567990 0",  # 23:59:50 the same day
    b"KB clock 1781654390 0",  # 23:59:50 the next day
    b"KB clock 1781564390 3600",  # 23:59:50 local at UTC+1
    b"KB clock 1781567999 -50400",
    b"KB clock 1577836800 0",  # 2020-01-01, back in time
    b"KB clock 4133980799 50400",  # the last second of 2100
)
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
    b"KB clock abc",
    b"KB clock 1e3",
    b"KB clock -99999999999999999999999 0",
    b"KB clock 1781567990 0 0",
    b"KB clock 1781567990 50401",
    b"KB clock 1577836799 0",
    b"KB clock 4133980800 0",
    b"KB clock " + b"9" * 400,
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
    b"KB " + (LETTERS * 5)[:252].encode(),
    b"KB\x00" * 300,
    b"\x80\x81\xfe\xff" * 64,
    b"KB hello\x00",
    b"KB\x85hello",
    b"KB " + b"z" * 1000,
    b"KB cmd_hello",
    b"KB __init__",
    b"KB _command",
    b"KB error",
    b"KB send",
    b"KB poll",
)


class Feed(io.IOBase):
    """The console's input: lines made on demand (so the harness holds one at a time): first
    the sweep, then `left` fuzz lines, then the tail sent after the fuzz."""

    def __init__(self, sweep, lines):
        self.head = sweep
        self.left = lines
        self.cur = b""
        self.pos = 0
        self.lines = 0
        self.bytes = 0
        self.gets = 0
        self.silent = 0  # lines that get no reply: only \r, or a get cancelled
        self.tail = []  # lines sent after the fuzz

    def _next(self):
        if self.head:
            return self.head.pop(0)
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
        return self.pos < len(self.cur) or bool(self.head or self.tail) or self.left > 0

    def ioctl(self, req, arg):
        if req == 3:  # MP_STREAM_POLL: readable while lines are left, as a USB port
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
                c = obj.get("command", "")
                c = c if c in COMMANDS else "(not a command)"
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


def wrong(name, args):
    """`KB name args` in a form that must change nothing: no valid verb, no argument-free
    form of a command that acts, no whole config."""
    if args and args[0] in VALID_VERBS:
        args[0] += "!"
    if name in ("symptom", "hello", "ls") and not "".join(args).strip():
        args.append("x")
    if name == "cfg" and args:
        args[0] = "{" + args[0]
    return ("KB " + name + " " + " ".join(args)).encode()


def sweep():
    """Every command with 0 to 4 random arguments."""
    return [wrong(name, [word() for _ in range(k)]) for name in COMMANDS for k in range(5)]


def file_crc(path):
    with open(path, "rb") as f:
        return crc32(f.read()) & 0xFFFFFFFF


def rm_with_the_right_crc():
    """`KB rm` of a file that must stay, with its CRC-32 as it is now: the next id and the
    day's count, the config, the log being written."""
    writing = CONSOLE.control.writing()
    name = random.choice(("next_id", "../config.json", writing or "next_id"))
    try:
        crc = file_crc(CONSOLE.root + "/" + name)
    except OSError:
        crc = 0
    return "KB rm {} {}".format(name, crc).encode()


def line():
    r = random.getrandbits(4)
    if r < 3:
        return junk(random.randint(0, 200))
    if r < 8:  # a command with the wrong arguments
        return wrong(random.choice(COMMANDS), [word() for _ in range(random.randint(0, 6))])
    if r == 8:
        return random.choice(CRAFTED)
    if r == 9:  # a host moving the clock, or removing what must stay
        return random.choice(CLOCKS) if random.getrandbits(1) else rm_with_the_right_crc()
    if r == 10:  # a name too long, or not a command
        return b"KB " + bytes(random.choice(b"abcxyz_") for _ in range(random.randint(1, 600)))
    if r == 11:  # overlong: the console's buffer holds 1024
        return b"KB cfg " + b"9" * random.randint(1000, 3000)
    if r == 12:  # a partial prefix, then junk
        return random.choice((b"K", b"KB", b"kB ", b"K B ")) + junk(random.randint(0, 30))
    if r == 13:  # answered commands that do nothing to a session
        return random.choice((b"KB hello", b"KB ls", b"KB get next_id 0 5", b"KB live off"))
    if r == 14:
        return wrong(random.choice(COMMANDS), [word() * random.randint(1, 40)])
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

    def _ready(self):
        # The unix port's select.poll waits ~1 ms of real time on every call, timeout 0 or
        # not, when a stream has no file descriptor (as Feed has none): at one call per byte
        # a 600 kB fuzz would take ten minutes of real time. A USB console (an ESP32's
        # stdin, a pty on the virtual ball) answers at once, so the feed is asked directly.
        return self.inp.more()


CONSOLE = None  # the console under test (rm_with_the_right_crc reads its files)


def main(root, seed, n):
    global CONSOLE
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
    rests = [0]

    def listener(now_ms, ev):
        if ev & session.EV_START:
            sessions.append([now_ms, None, None, None])
        if ev & session.CUE_REST:
            rests[0] += 1
        if ev & session.EV_STOP and sessions:
            s = sessions[-1]
            s[1], s[2], s[3] = (
                now_ms,
                STOP_REASONS[app.session.stop_reason],
                app.session.elapsed_ms,
            )

    app.listener = listener
    feed = Feed(sweep(), n)
    out = Out()
    control = Control(app)
    control.set_clock(NOON, 0)  # as `knotball flash` does: from here, the day is 2026-06-15
    console = CONSOLE = TimedConsole(feed, out, control, logs, cfg_path)
    console.wifi_path = root + "/wifi.json"
    app.console = console
    gc.collect()
    heap0 = gc.mem_alloc()
    state = {"phase": 0, "until": 0}
    # Enough presses that the day's limit is reached and the next press gets rest.
    presses_ms = (MAX_PER_DAY + 1) * board.period + LIMIT_S * 1000

    def stop():
        # Fuzz until the lines run out, let the sessions run out too, then `KB hello`, and
        # end between sessions.
        if app.now > 3600 * 1000:
            return True  # a safety net: an hour of virtual time
        if state["phase"] == 0 and not feed.more():
            state["phase"] = 1
            state["until"] = max(app.now + (LIMIT_S + 6) * 1000, presses_ms)
        elif state["phase"] == 1 and app.now >= state["until"]:
            state["phase"] = 2
            out.last = None
            feed.tail.append(b"KB hello")
        elif state["phase"] == 2 and not feed.more() and out.last is not None:
            return app.session.state != session.ACTIVE
        return False

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
        "silent_lines": feed.silent,
        "get_lines": feed.gets,
        "frames": out.kinds,
        "replies": out.replies - 1,
        "bad_frames": out.bad,
        "errors_by_command": out.errors_by,
        "last_reply": out.last,
        "sessions": sessions,
        "rest_signals": rests[0],
        "sessions_today": app.session.sessions_today,
        "limit_ms": app.session.limit_ms,
        "period_ms": PERIOD_MS,
        "config": app.cfg,
        "virtual_ms": app.now,
        "real_ms": real_ms,
        "worst_poll_us": console.worst_us,
        "overruns": app.overruns,
        "heap_start": heap0,
        "heap_end": gc.mem_alloc(),
        "heap_free_end": gc.mem_free(),
        "files": sorted(os.listdir(root)),
        "logs": sorted(os.listdir(logs)),
    }
    print("fuzz " + json.dumps(figures))
    return 0


sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
