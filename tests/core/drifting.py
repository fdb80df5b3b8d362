# Physical sensor models for the drift scenarios (tests/core/test_drift.py): the raw counts a
# sealed barometric ball or an FSR ball gives while a person presses it now and then and the
# zero drifts (temperature, weather, creep), with noise and spikes. Deterministic, and the
# same numbers on CPython and MicroPython (own generator, plain float maths).
import math

from ball import config, session
from ball.signal import SignalPath

PERIOD_MS = 10  # the ball samples at 100 Hz


class Rand:
    """xorshift32: a tiny deterministic generator, identical on both runtimes."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFF or 1

    def uniform(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s / 4294967296.0

    def gauss(self):
        """Approximately normal, mean 0, sd 1 (sum of four uniforms, Irwin-Hall)."""
        return (self.uniform() + self.uniform() + self.uniform() + self.uniform() - 2) * 1.7320508


class Person:
    """Presses: (start s, length s, level N). A person cannot hold a ball still: the force
    ramps in over 0.5 s and out over 0.3 s, and in between breathing moves it +-8 % at
    0.25 Hz, a slow lean +-5 % over 7 s, and physiological tremor +-1.2 % at 9.5 Hz."""

    def __init__(self, presses):
        self.presses = presses

    def force(self, t):
        for start, length, level in self.presses:
            if start <= t < start + length:
                u = t - start
                ramp = min(1.0, u / 0.5, (start + length - t) / 0.3)
                wobble = 0.08 * math.sin(6.2832 * 0.25 * u) + 0.05 * math.sin(6.2832 * u / 7)
                return level * ramp * (1 + wobble + 0.012 * math.sin(6.2832 * 9.5 * u))
        return 0.0

    def pressing(self, t, margin=0.0):
        """In a press, at least `margin` s from either end."""
        for start, length, _level in self.presses:
            if start + margin <= t < start + length - margin:
                return True
        return False

    def press_start(self, t):
        for start, length, _level in self.presses:
            if start <= t < start + length:
                return start
        return None


class BaroBall:
    """A sealed ball at ambient pressure with a BMP280 inside (raw counts are pascals).

    At rest the air follows the gas law at constant volume, p = p0 * T / T0 (+0.34 %/K), plus
    `transmit` of any change of the weather outside (1 for a soft sealed bladder, which is
    the worst case; a stiff ball passes a fraction). A press adds `pa_per_n` Pa per newton,
    scaled with the absolute pressure (isothermal compression: dp = p * dV / V). The chip
    reads to the pascal with ~1.3 Pa RMS noise (x2 oversampling), and a rare glitch."""

    def __init__(self, temp_c, weather_pa, pa_per_n=40.0, transmit=1.0, seed=1):
        self.temp_c = temp_c  # t (s) -> degC
        self.weather_pa = weather_pa  # t (s) -> ambient pressure, Pa
        self.p0 = weather_pa(0)
        self.t0_k = temp_c(0) + 273.15
        self.pa_per_n = pa_per_n
        self.transmit = transmit
        self.rand = Rand(seed)

    def rest_pa(self, t):
        gas = self.p0 * (self.temp_c(t) + 273.15) / self.t0_k
        return gas + self.transmit * (self.weather_pa(t) - self.p0)

    def drift_n(self, t, since=0.0):
        """The zero's drift from `since` to t, in newtons at the calibrated slope."""
        return (self.rest_pa(t) - self.rest_pa(since)) / self.pa_per_n

    def counts(self, t, force_n):
        rest = self.rest_pa(t)
        p = rest + force_n * self.pa_per_n * rest / self.p0 + 1.3 * self.rand.gauss()
        if self.rand.uniform() < 0.001:
            p += 2000 if self.rand.uniform() < 0.5 else -2000
        return int(p + 0.5)


# An FSR's conductance (nS, the driver's counts) grows as a power of the force: 1e5 nS at 1 N,
# exponent 0.85 (FSR 400 series, R ~ F^-a with a 0.7..1.1). The kitchen-scale calibration
# points are this curve read quickly (before creep) at four loads.
FSR_K = 100000.0
FSR_A = 0.85
FSR_LOADS = (5, 15, 30, 60)


def fsr_ns(force_n):
    return FSR_K * force_n**FSR_A if force_n > 0 else 0.0


def fsr_points():
    return [[n, int(fsr_ns(n) + 0.5)] for n in FSR_LOADS]


def piecewise_n(counts, points):
    """Newtons for counts above zero through the calibration points, in floats (the
    reference the firmware's integer curve is held to), extended at both ends."""
    pts = [[0, 0]] + points
    i = 1
    while i < len(pts) - 1 and counts > pts[i][1]:
        i += 1
    (n0, c0), (n1, c1) = pts[i - 1], pts[i]
    return n0 + (counts - c0) * (n1 - n0) / (c1 - c0)


class FsrBall:
    """Two FSRs in a ball, summed conductance. Under a steady press the conductance creeps
    up logarithmically, 1 + 0.0268 ln(1 + t / 1 s): +11 % after 60 s. After release a
    residual of 3 % of the last press decays with a 20 s time constant. The ball's own
    preload drifts the baseline by `baseline_ns_per_s`. Noise: 2 % of the reading plus
    1500 nS; spikes (contact bounce) one sample in 500: a dropout or a doubling."""

    CREEP = 0.0268
    RESIDUAL = 0.03
    RESIDUAL_S = 20.0

    def __init__(self, baseline_ns_per_s=0.0, seed=2):
        self.baseline = baseline_ns_per_s
        self.rand = Rand(seed)
        self.pressed_at = None
        self.released_at = None
        self.last_ns = 0.0

    def rest_ns(self, t):
        res = 0.0
        if self.released_at is not None:
            res = (
                self.RESIDUAL * self.last_ns * math.exp(-(t - self.released_at) / self.RESIDUAL_S)
            )
        return self.baseline * t + res

    def counts(self, t, force_n):
        if force_n > 0:
            if self.pressed_at is None:
                self.pressed_at = t
            g = fsr_ns(force_n) * (1 + self.CREEP * math.log(1 + (t - self.pressed_at)))
            self.last_ns = g
        else:
            if self.pressed_at is not None:
                self.released_at = t
            self.pressed_at = None
            g = 0.0
        g += self.rest_ns(t)
        g = g * (1 + 0.02 * self.rand.gauss()) + 1500 * self.rand.gauss()
        r = self.rand.uniform()
        if r < 0.001:
            g = 0.0
        elif r < 0.002:
            g *= 2
        return int(g) if g > 0 else 0


class Run:
    """The real SignalPath and Session on a model's raw counts at 100 Hz, watched: what the
    ball read at every press moment, where its zero moved, sessions and the drift flag."""

    def __init__(self, cfg, ball, person, zero_at_boot=False):
        self.cfg = config.validate(cfg)
        self.ball = ball
        self.person = person
        self.signal = SignalPath(self.cfg, zero_at_boot)
        self.session = session.Session(self.cfg)
        self.starts = []  # session start times, s
        self.zero_moves_pressed = []  # (t, force N): the zero moved with a press under way
        self.worst = (0.0, 0.0)  # (excess over tolerance, t)
        self.idle_errors = []  # t where the band was not idle well after a release
        self.checks = 0

    def run(self, seconds, tolerance=None, watch=None):
        """Step to `seconds`. tolerance(t, true_n) -> N allowed at press moments; watch(t)
        is called every 0.5 s for the test's own checks."""
        sig = self.signal
        f1 = f2 = 0.0  # the true force one and two samples back
        touched = 0  # samples in a row with force on the ball
        since_contact = 1e9
        zero = sig.cal.zero
        for i in range(int(seconds * 1000 / PERIOD_MS)):
            t_ms = i * PERIOD_MS
            t = t_ms / 1000
            f = self.person.force(t)
            force_mn = sig.step(self.ball.counts(t, f))
            ev = self.session.step(t_ms, force_mn)
            if ev & session.EV_START:
                self.starts.append(t)
            touched = touched + 1 if f > 0 else 0
            since_contact = 0 if f > 0 else since_contact + PERIOD_MS / 1000
            if sig.cal.zero != zero:
                if touched >= 50:  # a whole block under a press: never at rest
                    self.zero_moves_pressed.append((t, f))
                zero = sig.cal.zero
            if tolerance is not None and self.person.pressing(t, 0.8):
                # Against the median of the same three true forces: the ball's median
                # filter lags tremor by a sample, which is no sensor error.
                true = max(min(f, f1), min(max(f, f1), f2))
                self.checks += 1
                excess = abs(force_mn / 1000 - true) - tolerance(t, true)
                if excess > self.worst[0]:
                    self.worst = (excess, t)
            if since_contact > 4 and self.session.band != session.IDLE:
                self.idle_errors.append(t)
            if watch is not None and t_ms % 500 == 0:
                watch(t)
            f2 = f1
            f1 = f
        return self
