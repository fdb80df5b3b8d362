# The virtual ball's board layer, standing in for the firmware's ball.board (which needs
# machine/neopixel): the sensor is a pressure trace played in real time x speed from the
# first sample, the clock runs `speed` times faster, LED and motor keep their state.
# The sensor's physics come from the board profile's sim_* keys (ball/profile.py): raw
# counts that the ball's calibration has to be fitted to, as on a real ball. Without them
# the trace goes through the inverse of the ball's own calibration (reads back exactly).
# A hand can press it too (`knotball virtual --press`, or the arrow keys): while it presses
# (above 0 N), its force replaces the trace's.
import os
import time

PROFILE_PATH = "/board.json"
CONFIG_PATH = "/config.json"
_BAROMETERS = ("bmp280", "bmp388", "bmp390")
_REF_N = 20.0  # sim_counts_per_n is the counts per newton at this force
_LATE_MS = 10  # one sample period (ball/app.py PERIOD_MS)
_trace = None  # the trace file, opened by the ROM while the host's files were still visible
_speed = 1.0
_id = ""
_press = None  # a press.Press script, played on the ball's clock
_keys = None  # a file the host rewrites with the arrow keys' force ("12.00\n")


_http_port = None  # the live page on 127.0.0.1 (`knotball virtual --http-port`), or None
# A file (KNOTBALL_VBALL_IO_LOG) the tests read: "m T" when the motor starts from off and
# "s T N" when the page's server sends N bytes, T in board ms; or None.
_io_log = None


def configure(trace_file, speed, ball_id="", press=None, keys=None, http_port=None, io_log=None):
    global _trace, _speed, _id, _press, _keys, _http_port, _io_log
    _trace = trace_file
    _speed = speed
    _id = ball_id
    _press = press
    _keys = keys
    _http_port = http_port
    _io_log = io_log


def _hand(t_ms):
    """The force of a hand on the ball at t_ms: the keys first, then the press script."""
    if _keys is not None:
        _keys.seek(0)
        try:
            force = float(_keys.read())
        except ValueError:
            force = 0.0  # not written yet
        if force > 0:
            return force
    return _press.at(t_ms) if _press is not None else 0.0


def load_profile(path=PROFILE_PATH):
    """As the firmware's: the profile on the image, or None (printing why)."""
    import json

    from ball import profile as profiles

    try:
        with open(path) as f:
            return profiles.validate(json.load(f))
    except OSError:
        print("knotball: no {}: copy hardware/boards/sim.json there".format(path))
    except ValueError as e:
        print("knotball: {}: {}".format(path, e))
    return None


def outputs_off(profile=None):
    pass  # nothing to drive: the virtual outputs start off


def safe_mode_requested(profile, window_ms=1000):
    return False


class Trace:
    """`t_ms,force_n` rows read one at a time (the host checked the file): the latest force
    at a time, none after the end."""

    def __init__(self, f):
        self.f = f
        f.seek(0)
        f.readline()  # the header
        self.force = 0.0
        self.next = self._row()
        self.start = self.last = self.next[0] if self.next else 0.0

    def _row(self):
        while True:
            line = self.f.readline()
            if not line:
                return None
            parts = line.strip().split(",")
            if len(parts) == 2:
                return float(parts[0]), float(parts[1])

    def at(self, t_ms):
        """Force at t_ms from the first row; none once past the last row."""
        t_ms += self.start
        while self.next is not None and self.next[0] <= t_ms:
            self.last, self.force = self.next
            self.next = self._row()
        if self.next is None and t_ms > self.last:
            self.force = 0.0
        return self.force


class Physics:
    """Force in newtons -> raw counts, as the profile's sim_* keys describe the sensor."""

    def __init__(self, profile):
        self.zero = profile.get("sim_zero_counts", 0)
        self.cpn = profile["sim_counts_per_n"]
        self.exponent = profile.get("sim_exponent", 1.0)
        self.noise = int(profile.get("sim_noise_counts", 0))
        self.seed = 12345

    def to_counts(self, force_n):
        counts = self.zero
        if force_n > 0:
            counts += self.cpn * _REF_N * (force_n / _REF_N) ** self.exponent
        if self.noise:
            # A fixed-seed LCG: the same trace gives the same readings, run after run.
            self.seed = (self.seed * 1103515245 + 12345) & 0x7FFFFFFF
            counts += self.seed % (2 * self.noise + 1) - self.noise
        return int(round(counts))


def Board(profile):
    """The virtual board, sharing the firmware's board interface (ball/__init__.py). That
    is read from the image, as main.py is, when main.py builds its board: this module is
    loaded before the image is mounted, and the image may hold another firmware."""
    global last
    from ball import BoardBase

    cls = _classes.get(BoardBase)
    if cls is None:
        cls = type("Board", (VirtualBoard, BoardBase), {})
        _classes.clear()
        _classes[BoardBase] = cls
    last = cls(profile)
    return last


_classes: dict = {}
last = None  # the board built last: what its LED and motor do, seen at the REPL


class VirtualBoard:
    """What the virtual ball's board does; Board() adds the interface's defaults."""

    def __init__(self, profile):
        self.profile = profile
        self.stuck_ms = profile.get("stuck_ms", 0)
        if "sim_counts_per_n" in profile:
            self.cal = Physics(profile)
            # A barometric ball reads ~100 kPa at rest: it learns its zero at boot.
            self.zero_at_boot = profile.get("sim_like") in _BAROMETERS
        else:
            self.cal = None  # the inverse of the config's calibration, read at the first sample
        self.vt = 0  # board time, ms: see ticks_ms
        self.real_ms = 0.0  # real time since then, ms (summed: ticks wrap)
        self._real_at = time.ticks_ms()
        self.first = None  # board time of the first sample: the trace starts there
        self.trace = Trace(_trace) if _trace is not None else None
        self.rgb = (0, 0, 0)
        self.duty = 0
        self.clock_offset = None
        self.on_time = False  # caught up with real time (x speed) since boot
        self.overruns = 0

    # The board's clock is virtual: it moves only by what the loop sleeps, so every sample
    # is exactly one period after the last and the trace is read at the same instants on
    # every run, however busy the computer (a real-time clock made the same trace give 3
    # holds on one run and 2 on another). Sleeps are paced against real time x speed; a
    # computer too slow for the speed makes the ball lag, never skip samples.

    def ticks_ms(self):
        return self.vt

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, t, ms):
        return t + ms

    def sleep_ms(self, ms):
        self.vt += ms
        now = time.ticks_ms()
        self.real_ms += time.ticks_diff(now, self._real_at)
        self._real_at = now
        ahead_ms = self.vt / _speed - self.real_ms
        if ahead_ms > 0:
            time.sleep_us(int(ahead_ms * 1000))
            self.on_time = True
        elif ahead_ms < -_LATE_MS and self.on_time:
            # Where a ball's loop counts an overrun (app.py: more than a sample late, then
            # it resynchronises), this ball is behind real time; said once per episode to
            # the host (pty_ball counts them). Booting is not counted.
            self.on_time = False
            self.overruns += 1
            import sys

            sys.stderr.write("vball: overrun {} ({} ms behind)\n".format(self.overruns, -ahead_ms))

    def read_sensor(self):
        if self.cal is None:
            from ball import config
            from ball.signal import Calibration

            cfg, _problem = config.load_or_defaults(CONFIG_PATH)
            self.cal = Calibration.from_config(cfg)
        now = self.ticks_ms()
        if self.first is None:
            self.first = now
        t = now - self.first
        force = self.trace.at(t) if self.trace is not None else 0.0
        hand = _hand(t)
        return self.cal.to_counts(hand if hand > 0 else force)

    def ball_id(self):
        """The flash image's own id (the ROM keeps it outside the filesystem)."""
        return _id

    def boot_id(self):
        """A random id for this power-on (or reset), 1..2**30-1: a small int on the ball."""
        return (int.from_bytes(os.urandom(4), "little") & 0x3FFFFFFF) or 1

    def led(self, r, g, b):
        self.rgb = (r, g, b)

    def motor(self, duty):
        if _io_log is not None and duty and not self.duty:
            _io_log.write("m {}\n".format(self.vt))
        self.duty = duty

    def net_sent(self, n):
        if _io_log is not None:
            _io_log.write("s {} {}\n".format(self.vt, n))

    def off(self):
        self.rgb = (0, 0, 0)
        self.duty = 0

    def unix_time(self):
        if self.clock_offset is None:
            return 0
        return int(time.time()) + self.clock_offset

    def set_time(self, unix):
        self.clock_offset = unix - int(time.time())

    def start_watchdog(self):
        pass

    def keep_watchdog_fed(self):
        pass

    def woke_from_sleep(self):
        return False

    def kept_zero(self):
        return None

    def net(self, wifi):
        """No radio: the live page on 127.0.0.1 when the host asked for a port, and the
        host told where and with which token (pty_ball reads the ROM's stderr)."""
        if _http_port is None or wifi is False:
            return None
        import sys

        from ball.web import load_token

        sys.stderr.write("vball: http {} {}\n".format(_http_port, load_token().decode()))
        return ("127.0.0.1", _http_port)
