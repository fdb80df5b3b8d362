# knotball firmware: the package that runs on the ball (and, unchanged, on the host). Here:
# the const() stand-in, and the board interface every board shares (BoardBase, SensorFault,
# and VirtualClock for boards off the ball). They live in the package itself, loaded anyway:
# on the ball each module of its own costs about 2 KB of heap.
VERSION = "0.1.0"

# `X = const(n)` in every firmware module: MicroPython's compiler folds it into the code (and
# an _X name costs no RAM); on CPython it is the plain number. The one stand-in is here.
try:
    from micropython import const
except ImportError:

    def const(x):  # type: ignore[misc]  # CPython stand-in: mypy wants the stub's signature
        return x


class SensorFault(Exception):
    """A reading that cannot be trusted; args[0] is a short reason, e.g. "saturated".
    (Here, not in sensors/: the app catches it from any board without loading a driver.)"""


# The board interface, written once: what the app may ask of a board. Three boards give it
# (ball/board.py on the ESP32, ball/sim.py's sim board, the virtual ball's vboard.py) and the
# tests' fakes. Every board gives:
#   read_sensor() -> raw counts (raises OSError for the bus, sensors.SensorFault for the
#       reading); led(r, g, b); motor(duty 0..1000); off() (motor and LED off, never
#       raises: it runs on every exit path); ticks_ms(), ticks_diff(a, b), ticks_add(t, ms),
#       sleep_ms(ms).
# The features below are optional: a board without one keeps the default here, an explicit
# "none", never a missing method the app has to probe for. (The required methods are not
# stubbed here: on the ball each method costs heap, and a board without one fails at once.)


class BoardBase:
    # A sensor reading that has not moved for this long is a frozen sensor (0: never
    # checked; a real ADC always shows some noise, a trace holds still).
    stuck_ms = 0
    # An absolute sensor (a barometer reads ~100 kPa at rest) learns its zero at boot.
    zero_at_boot = False
    # The board can deep-sleep (deep_sleep() then does not return).
    can_sleep = False
    # The cell's cut-off in mV (None: the app's CUTOFF_MV; hardware/README.md, 3.1).
    cutoff_mv: int | None = None
    profile: dict = {}  # the board profile (hardware/boards/*.json), read only

    # ---- optional: each default says the board has no such feature ----

    def reset_sensor(self):
        """Rebuild the sensor driver after a fault (none to rebuild)."""

    def battery_mv(self):
        """The battery's voltage in mV; 0: no battery divider on this board."""
        return 0

    def deep_sleep(self, wake_ms, zero=None):
        """Outputs off and deep sleep until the timer (wake_ms; None: no timer) or a reset,
        keeping the sensor's zero; only called when can_sleep."""

    def woke_from_sleep(self):
        return False

    def kept_zero(self):
        """The sensor's zero kept through a deep sleep, or None."""
        return None

    def ball_id(self):
        """A stable id for this ball ("" when it has none)."""
        return ""

    def boot_id(self):
        """A random id for this power-on, 1..2**30-1 (0: unknown)."""
        return 0

    def unix_time(self):
        """Unix seconds from a clock the host set and the board kept (0: none)."""
        return 0

    def set_time(self, unix):
        """Keep the host's clock (an RTC), if the board has one."""

    def start_watchdog(self):
        """A hardware watchdog fed by read_sensor(), if the board has one."""

    def keep_watchdog_fed(self):
        """After Ctrl-C: feed the watchdog from a timer, if one was started."""

    def net(self, wifi):
        """The radio for the live page: `wifi` is the network `KB wifi` stored (a dict),
        None when none is, or False: off. Never waits for a connection. Returns the
        (address, port) to serve on, or None: no network (none stored, or no radio)."""
        return None

    def net_sent(self, n):
        """The page's server just sent n bytes (the virtual ball records when, against
        its motor's starts, for the tests)."""


# A virtual clock for boards off the ball (the sim board, test boards): time in plain ms
# that moves only when the loop sleeps, so a whole session replays in milliseconds.
class VirtualClock(BoardBase):
    t = 0

    def ticks_ms(self):
        return self.t

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, t, ms):
        return t + ms

    def sleep_ms(self, ms):
        self.t += ms
