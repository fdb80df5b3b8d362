# Signal path: raw sensor counts -> millinewtons -> spike-free force, with auto-zero at rest.
# Everything here is integer arithmetic: on MicroPython a float is a heap object, and the
# sampling loop must not allocate. Forces are millinewtons (mN) inside the firmware.
try:
    from micropython import const
except ImportError:

    def const(x):  # type: ignore[misc]  # CPython stand-in: mypy wants the stub's signature
        return x


# |raw - zero| is clamped here so `delta * 1000` stays a small int even on a 32-bit port
# (small ints are 31-bit there; a bigger product would allocate a long int).
_MAX_DELTA = const(1000000)
# Auto-zero: a block of this many samples counts as "at rest" when its spread is small.
_REST_BLOCK = const(50)
_REST_SPREAD_MN = const(300)


class Calibration:
    """Linear raw counts -> mN: `zero_counts` at no load, `counts_per_n` counts per newton."""

    def __init__(self, zero_counts, counts_per_n):
        self.zero = int(zero_counts)
        self.cpn = int(counts_per_n)

    def to_mn(self, raw):
        d = raw - self.zero
        if d > _MAX_DELTA:
            d = _MAX_DELTA
        elif d < -_MAX_DELTA:
            d = -_MAX_DELTA
        # Split so no intermediate exceeds cpn * 1000 (< 2**30): no long ints, no floats.
        q = d // self.cpn
        return q * 1000 + (d - q * self.cpn) * 1000 // self.cpn

    def to_counts(self, force_n):
        """Inverse, for the simulated sensor: newtons -> raw counts."""
        return self.zero + int(round(force_n * self.cpn))


class Median3:
    """Median of the last three samples: a single-sample spike never reaches the output,
    at the cost of one sample of delay on a real step."""

    def __init__(self):
        self.a = 0
        self.b = 0

    def reset(self, v):
        self.a = v
        self.b = v

    def step(self, c):
        a = self.a
        b = self.b
        self.a = b
        self.b = c
        if a > b:
            a, b = b, a
        if c <= a:
            return a
        if c >= b:
            return b
        return c


class AutoZero:
    """Re-zero the calibration while the ball is released and steady, never while pressed.

    Samples are taken in blocks; a block whose every force is below `max_mn` (well under
    first contact) and whose spread is under `_REST_SPREAD_MN` is "at rest", and the zero
    moves a quarter of the way to that block's mean. Slow drift (temperature, weather, FSR
    creep) is followed; a press, or a ball rolling, never moves the zero. `drift` is the
    total correction so far, in counts."""

    def __init__(self, cal, max_mn, capture=False):
        self.cal = cal
        self.max_mn = max_mn
        self.capture = capture  # take the first steady block as the zero, whatever it reads
        self.drift = 0
        self._n = 0
        self._sum = 0
        self._lo = 0
        self._hi = 0
        self._ok = True

    def step(self, raw, force_mn):
        if self._n == 0:
            self._lo = force_mn
            self._hi = force_mn
            self._sum = 0
            self._ok = True
        if force_mn > self.max_mn or force_mn < -self.max_mn:
            self._ok = False
        if force_mn < self._lo:
            self._lo = force_mn
        elif force_mn > self._hi:
            self._hi = force_mn
        d = raw - self.cal.zero
        if self.capture or -_MAX_DELTA < d < _MAX_DELTA:
            self._sum += d  # (capture happens once, at boot: a long int there is fine)
        else:
            self._ok = False
        self._n += 1
        if self._n < _REST_BLOCK:
            return
        self._n = 0
        if self._hi - self._lo >= _REST_SPREAD_MN:
            return
        if self.capture:
            self.capture = False
            self.cal.zero += self._sum // _REST_BLOCK
        elif self._ok or self._hi < 0:
            # At rest near zero, or steady below zero: a released ball cannot press less
            # than nothing, so a zero taken too high (pressed at boot) heals on release.
            shift = self._sum // (_REST_BLOCK * 4)
            self.cal.zero += shift
            self.drift += shift


class SignalPath:
    """raw counts -> calibrated, spike-filtered force in mN, with auto-zero at rest."""

    def __init__(self, cfg, zero_at_boot=False):
        self.cal = Calibration(cfg["zero_counts"], cfg["counts_per_n"])
        self.median = Median3()
        # Only forces under half of first contact count as "released".
        self.autozero = AutoZero(self.cal, int(cfg["light_n"] * 500), zero_at_boot)
        self.raw = 0
        self.force_mn = 0
        self.drift_mn = 0  # zero drift followed at rest since calibration, in mN
        self.drift_bad = False  # the drift is past cfg drift_max_n: recalibrate

    def step(self, raw):
        self.raw = raw
        mn = self.cal.to_mn(raw)
        self.autozero.step(raw, mn)
        self.force_mn = self.median.step(mn)
        return self.force_mn
