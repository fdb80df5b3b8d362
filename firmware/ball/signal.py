# Signal path: raw sensor counts -> millinewtons -> spike-free force, with auto-zero at rest
# and drift tracking. Everything in the sampling loop is integer arithmetic: on MicroPython a
# float is a heap object, and the loop must not allocate. Forces are millinewtons (mN).
from array import array

from ball import const

# Raw readings are clamped to +-_RAW_MAX and config.py keeps |zero_counts| <= 2**29, so
# raw - zero stays below 2**30 in magnitude: a small int even on the ESP32 (31-bit small ints;
# a bigger one would be a heap long). FSR sums reach ~5e6 counts, an HX711 2**23: far inside.
_RAW_MAX = const(0x1FFFFFFF)
_D_MAX = const(0x3FFFFFFF)
# Forces saturate at +-_MAX_MN (16,777 N): far beyond any press, and far enough below 2**30
# that the session's sums and percentages of a force stay small ints.
_MAX_MN = const(0xFFFFFF)
# Slopes are a 15-bit mantissa and a shift: mN = counts * m / 2**k with 2**14 <= m < 2**15,
# at most 1/16384 above the configured slope; counts * m is split at bit 15 (see mn()).
_M_BITS = const(15)
_LO_MASK = const(0x7FFF)

# Auto-zero: a block of this many samples counts as "at rest" when its spread is small.
_REST_BLOCK = const(50)
_REST_SPREAD_MN = const(300)
# Block sums add counts above the zero, each clamped here so 50 of them stay below 2**30. A
# block at rest reads within a few newtons: 2**24 counts is more unless a sensor has over
# 6e6 counts per newton, where a clamped block still moves the zero the right way (and a
# barometer's zero captured at boot is ~1e5 Pa).
_SUM_MAX = const(1 << 24)
# Drift rate: the zero's shift per block at rest, averaged with weight 1/16 and kept in 1/16
# counts, from the _RATE_AFTER-th block of a rest on (the first ones heal the offset a press
# left, which is not a rate). A release is predicted from it only after _PREDICT_AFTER
# blocks away (5 s) and only when it predicts more than the at-rest window. rate * away
# stays below 2**29.
_RATE_FRAC = const(4)
_RATE_MAX = const(1 << 19)
_RATE_AFTER = const(8)
_AWAY_MAX = const(1 << 10)
_PREDICT_AFTER = const(10)
_PREDICT_BLOCKS = const(4)  # steady blocks in a row at the predicted level (2 s)
_SETTLE_BLOCKS = const(10)  # steady blocks in a row under first contact (5 s)


# Calibration segments: _W ints each in one array, at these offsets.
_C = const(0)  # where the segment starts, in counts above zero (sign removed)
_F = const(1)  # what it reads there, in mN
_M = const(2)  # slope mantissa: the segment rises m / 2**k mN per count
_K = const(3)  # slope shift
_X = const(4)  # the largest offset into the segment before the force saturates
_W = const(5)


class Calibration:
    """Raw counts -> mN. Linear (`counts_per_n` counts per newton, any sign: an inverted load
    cell counts down) or, with `cal_points`, piecewise linear through (0, 0) and up to 8
    [newtons, counts above zero] points, extended past both ends with the end segments'
    slopes. `zero` is the raw reading at no load; the auto-zero moves it. Where a segment
    starts, its reading comes from the integer curve itself, so the curve is continuous and
    monotonic exactly as the loop computes it."""

    def __init__(self, zero_counts, counts_per_n=1000, cal_points=None):
        self.zero = int(zero_counts)
        pts = cal_points or [[1, counts_per_n]]  # linear: one segment, the slope as a float
        self.invert = pts[0][1] < 0
        self.n = len(pts)
        t = self.seg = array("i", [0] * (_W * len(pts)))
        pn = 0
        pc = 0
        m = k = 0
        for i in range(len(pts)):  # at start, not in the loop: floats and long ints are fine
            j = i * _W
            if i:  # the end of the segment before, as mn() computes it
                t[j + _C] = pc
                x = min(pc - t[j - _W + _C], t[j - _W + _X]) * m
                t[j + _F] = t[j - _W + _F] + (x >> k if k >= 0 else x << -k)
            s = (pts[i][0] - pn) * 1000 / (abs(pts[i][1]) - pc)
            k = 0
            while s * 2**k >= 1 << _M_BITS:
                k -= 1
            while s * 2**k < 1 << (_M_BITS - 1):
                k += 1
            m = int(s * 2**k)
            if m < s * 2**k:  # rounded up: mn() floors, so an exact load reads exact
                m += 1
            if m >= 1 << _M_BITS:  # rounded up past the top: one bit less
                m >>= 1
                k -= 1
            t[j + _M] = m
            t[j + _K] = k
            room = _MAX_MN - t[j + _F]
            x = (((room + 1) << k) - 1) // m if k >= 0 else room // (m << -k)
            t[j + _X] = x if x < _D_MAX else _D_MAX
            pn = pts[i][0]
            pc = abs(pts[i][1])

    @staticmethod
    def from_config(cfg):
        return Calibration(cfg["zero_counts"], cfg["counts_per_n"], cfg.get("cal_points"))

    def delta(self, raw):
        """Counts above the zero, raw clamped so the difference stays a small int."""
        if raw > _RAW_MAX:
            raw = _RAW_MAX
        elif raw < -_RAW_MAX:
            raw = -_RAW_MAX
        return raw - self.zero

    def mn(self, d):
        """mN for d counts above the zero: monotonic, 0 at 0, within +-16,777 N. Integer
        only: (x >> 15) * m and (x & 0x7FFF) * m are both below 2**30, and when k < 15 the
        shifted high part is at most the result, which _X keeps below _MAX_MN."""
        if self.invert:
            d = -d
        neg = d < 0
        t = self.seg
        j = 0
        if neg:
            d = -d
        else:
            j = (self.n - 1) * _W
            while d < t[j + _C]:
                j -= _W
        x = d - t[j + _C]
        if x > t[j + _X]:
            x = t[j + _X]
        m = t[j + _M]
        k = t[j + _K]
        if k >= _M_BITS:
            y = ((x >> _M_BITS) * m + (((x & _LO_MASK) * m) >> _M_BITS)) >> (k - _M_BITS)
        elif k >= 0:
            y = (((x >> _M_BITS) * m) << (_M_BITS - k)) + (((x & _LO_MASK) * m) >> k)
        else:
            y = (x * m) << -k  # over 16 N per count: _X keeps x tiny
        y += t[j + _F]
        return -y if neg else y

    def to_mn(self, raw):
        return self.mn(self.delta(raw))

    def to_counts(self, force_n):
        """Inverse, for the simulated sensor: newtons -> raw counts (floats: not the loop)."""
        mn = force_n * 1000
        t = self.seg
        j = (self.n - 1) * _W
        while j and mn < t[j + _F]:
            j -= _W
        d = t[j + _C] + (mn - t[j + _F]) * 2 ** t[j + _K] / t[j + _M]
        return self.zero + int(round(-d if self.invert else d))


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

    Samples are taken in blocks of _REST_BLOCK; a block whose spread is under
    _REST_SPREAD_MN is steady. A steady block is "at rest", and the zero moves a quarter of
    the way to its mean, when every force in it is within +-`max_mn` (well under first
    contact), or when it is all below zero (a released ball cannot press less than nothing,
    so a zero taken too high, pressed at boot or before cooling, heals on release).
    Slow drift (temperature, weather, FSR creep) is followed; a press, or a ball rolling,
    never moves the zero.

    A sealed ball warming drifts while pressed too, where the zero must stand still: it is
    released at an offset of (drift rate x press time), which may be past the window, and
    the zero would stay stuck there while the drift goes on. So a run of steady blocks is
    a release too, and the zero jumps to it: _SETTLE_BLOCKS of them (5 s, more than a breath:
    a person touching the ball is not that still) anywhere under first contact (2 x max_mn,
    where the session sees no contact anyway); or, once the zero's rate at rest is known and
    it predicts an offset past that after _PREDICT_AFTER blocks away, _PREDICT_BLOCKS of them
    up to twice the predicted offset + max_mn. With no drift the prediction is 0. `drift` is
    the total correction so far, in counts (the zero captured at boot is not drift)."""

    def __init__(self, cal, max_mn, capture=False):
        self.cal = cal
        self.max_mn = max_mn
        self.capture = capture  # take the first steady block as the zero, whatever it reads
        self.drift = 0
        self.rate = 0  # zero shift per block at rest, in 1/16 counts
        self.away = 0  # blocks since the last at rest; below 0: blocks at rest in a row
        self.run = 0  # steady blocks in a row that look like a release so far
        self._n = 0
        self._sum = 0
        self._lo = 0
        self._hi = 0
        self._ok = True

    def step(self, raw, force_mn):
        """Feed one sample; True when the zero moved (at the end of a block)."""
        d = self.cal.delta(raw)
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
        if d > _SUM_MAX:
            d = _SUM_MAX
        elif d < -_SUM_MAX:
            d = -_SUM_MAX
        self._sum += d
        self._n += 1
        if self._n < _REST_BLOCK:
            return False
        self._n = 0
        steady = self._hi - self._lo < _REST_SPREAD_MN
        mean = self._sum // _REST_BLOCK
        if steady and self.capture:
            self.capture = False
            self.cal.zero += mean
            return True
        if steady and (self._ok or self._hi < 0):
            shift = mean // 4
            self.cal.zero += shift
            self.drift += shift
            if self.away > -_RATE_AFTER:
                self.away = (self.away if self.away < 0 else 0) - 1
            else:
                r = self.rate + ((shift << _RATE_FRAC) - self.rate) // 16
                if -_RATE_MAX < r < _RATE_MAX:
                    self.rate = r
            self.run = 0
            return shift != 0
        if steady and self._lo >= -self.max_mn:
            top = 2 * self.max_mn  # first contact: below it the session sees no contact
            need = _SETTLE_BLOCKS
            if self.away >= _PREDICT_AFTER:
                pred = 2 * self.cal.mn((self.rate * self.away) >> _RATE_FRAC) + self.max_mn
                if pred > top:
                    top = pred
                    need = _PREDICT_BLOCKS
            if self._hi <= top:
                self.run += 1
                if self.run < need:
                    return False
                self.cal.zero += mean
                self.drift += mean
                self.away = 0
                self.run = 0
                return True
        self.run = 0
        if self.away < 0:
            self.away = 0
        if self.away < _AWAY_MAX:
            self.away += 1
        return False


def wake_check(cal, counts, light_n):
    """A timer wake from deep sleep: True when one of the raw `counts` is a press (light_n
    newtons or more). If not, and they are at rest by the auto-zero's rules (steady, and
    within +-light_n/2 or all below zero), the zero moves a quarter of the way to them, as
    it would awake: a wake every few seconds follows the weather and the temperature, so
    hours of drift in deep sleep never add up to a phantom press (nor to a press too light
    to wake the ball).
    Allocates (once per wake)."""
    edge = int(light_n * 1000)
    forces = [cal.to_mn(r) for r in counts]
    lo = min(forces)
    hi = max(forces)
    if hi >= edge:
        return True
    if hi - lo < _REST_SPREAD_MN and (lo >= -edge // 2 and hi <= edge // 2 or hi < 0):
        cal.zero += sum(cal.delta(r) for r in counts) // (4 * len(counts))
    return False


class SignalPath:
    """raw counts -> calibrated, spike-filtered force in mN, with auto-zero at rest."""

    def __init__(self, cfg, zero_at_boot=False):
        self.cal = Calibration.from_config(cfg)
        self.median = Median3()
        # Only forces under half of first contact count as "released".
        self.autozero = AutoZero(self.cal, int(cfg["light_n"] * 500), zero_at_boot)
        # Past drift_max_n of zero drift the flag rises; it falls again below 3/4 of it.
        self.drift_max_mn = int(cfg.get("drift_max_n", 10) * 1000)
        self.raw = 0
        self.force_mn = 0
        self.drift_mn = 0  # the zero's moves since start (config zero or boot capture), mN
        self.drift_bad = False  # the drift is past cfg drift_max_n: recalibrate

    def step(self, raw):
        self.raw = raw
        mn = self.cal.to_mn(raw)
        capturing = self.autozero.capture
        if self.autozero.step(raw, mn):
            d = self.cal.mn(self.autozero.drift)
            self.drift_mn = d
            if d < 0:
                d = -d
            if d > self.drift_max_mn:
                self.drift_bad = True
            elif d * 4 < self.drift_max_mn * 3:
                self.drift_bad = False
        if capturing:
            mn = 0  # an absolute sensor reads nothing until its zero is learnt, not 100 kPa
        self.force_mn = self.median.step(mn)
        return self.force_mn
