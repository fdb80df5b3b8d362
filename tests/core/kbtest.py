# Tiny helpers shared by the core tests, which run unchanged on CPython (pytest) and on the
# MicroPython unix port (tests/core/mprun.py): plain asserts, no pytest imports.
import os

from ball import VirtualClock


def raises(exc, fn, *args):
    """Call fn(*args); return the exception it raised, which must be an `exc`."""
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("expected {} from {}".format(exc.__name__, fn))


def tmp_path(name):
    """A scratch file path in the directory the test runner chose."""
    base = os.getenv("KNOTBALL_TMP") or "."
    return base + "/" + name


class FakeBoard(VirtualClock):
    """Outputs and sensor with no hardware: remembers the last command to each output."""

    def __init__(self, counts=0):
        self.counts = counts
        self.rgb = (-1, -1, -1)
        self.duty = -1
        self.motor_log = []
        self.offs = 0
        self.t = 0

    def read_sensor(self):
        return self.counts

    def led(self, r, g, b):
        self.rgb = (r, g, b)

    def motor(self, duty):
        self.duty = duty
        self.motor_log.append((self.t, duty))

    def off(self):
        self.offs += 1


def run_ticks(app, board, t0, ms):
    """Tick `app` every 10 ms from t0 for ms, the board's clock following; returns the end."""
    t = t0
    while t < t0 + ms:
        board.t = t
        app.tick(t)
        t += 10
    return t


def run_session(sess, forces_mn, start_ms=0, period_ms=10):
    """Step `sess` through a list of forces; return [(t_ms, events)] for non-empty events."""
    out = []
    t = start_ms
    for f in forces_mn:
        ev = sess.step(t, f)
        if ev:
            out.append((t, ev))
        t += period_ms
    return out


# The ESP32's small ints: 31-bit signed. Anything outside allocates a long int.
SMALL = 1 << 30


class Bounded:
    """An int that fails the test as soon as arithmetic on it leaves the ESP32's small ints."""

    peak = 0

    def __init__(self, v):
        assert -SMALL <= v < SMALL, "intermediate {} needs a long int".format(v)
        if abs(v) > Bounded.peak:
            Bounded.peak = abs(v)
        self.v = v

    def __add__(self, o):
        return Bounded(self.v + _v(o))

    def __radd__(self, o):
        return Bounded(_v(o) + self.v)

    def __sub__(self, o):
        return Bounded(self.v - _v(o))

    def __rsub__(self, o):
        return Bounded(_v(o) - self.v)

    def __mul__(self, o):
        return Bounded(self.v * _v(o))

    def __rmul__(self, o):
        return Bounded(_v(o) * self.v)

    def __floordiv__(self, o):
        return Bounded(self.v // _v(o))

    def __rshift__(self, o):
        return Bounded(self.v >> _v(o))

    def __lshift__(self, o):
        return Bounded(self.v << _v(o))

    def __and__(self, o):
        return Bounded(self.v & _v(o))

    def __neg__(self):
        return Bounded(-self.v)

    def __lt__(self, o):
        return self.v < _v(o)

    def __le__(self, o):
        return self.v <= _v(o)

    def __ge__(self, o):
        return self.v >= _v(o)

    def __gt__(self, o):
        return self.v > _v(o)

    def __eq__(self, o):
        return self.v == _v(o)


def _v(o):
    return o.v if isinstance(o, Bounded) else o
