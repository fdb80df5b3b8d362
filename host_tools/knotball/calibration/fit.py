"""The arithmetic of `knotball calibrate`, apart from any ball or terminal: what a person
types into a kitchen-scale prompt, when a stream of live samples holds a steady press or a
finished one, and the fits from raw counts to newtons. Samples are live sample dicts
(`ball.wire.console.unpack_live`; t_ms is the ball's own clock, so a virtual ball at
--speed X is judged in ball time).

Two sensor responses:
- linear (barometer in a sealed ball, load cell): counts = zero + cpn * F, least squares;
- curve (FSR): conductance grows as a power of the force, counts = zero + k * F**a with
  a ~ 0.7-1.0; fitted by searching `a`, and stored as up to 8 (newtons, counts above zero)
  points for the ball's piecewise-linear calibration, spaced so that interpolating between
  them stays within a fraction of a percent of the curve.
"""

import math
import re

from ball import measure
from ball.measure import LEVEL_MIN_N, RISE_MIN_MS, SPREAD_WARN_PCT, band_edges  # noqa: F401

G = 9.80665  # N per kg: a kitchen scale shows mass, the ball feels force
MAX_LOAD_KG = 60.0
# Verdicts from the largest fit error at a scale reading, in percent of that reading: a
# kitchen scale is good to ~1 %, a held press wobbles by a few percent.
GOOD_PCT = 3.0
FAIR_PCT = 7.0
# Steady hold: this much ball time whose readings stay within +-HOLD_SPREAD_PCT of their
# mean (two standard deviations: a stray sample does not spoil a good hold), or within a
# few times the rest noise for a tiny press on a quiet sensor.
HOLD_MS = 1500
HOLD_SPREAD_PCT = 2.5
CAL_POINTS = 8
EXPONENTS = (0.3, 1.6)  # the power-law exponents searched; FSRs lie well inside

_UNITS = {
    "": 1.0, "kg": 1.0, "kgs": 1.0, "kilo": 1.0, "kilos": 1.0, "kilogram": 1.0,
    "kilograms": 1.0, "g": 0.001, "gr": 0.001, "gram": 0.001, "grams": 0.001,
    "lb": 0.45359237, "lbs": 0.45359237, "pound": 0.45359237, "pounds": 0.45359237,
    "oz": 0.028349523125, "ounce": 0.028349523125, "ounces": 0.028349523125,
}  # fmt: skip
_LOAD = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\.?")


def parse_load(text, allow_zero=False):
    """A scale reading as typed ("2.1", "2.1 kg", "2100 g", "4.6 lb", "2,1") -> kg.
    Raises ValueError with a message saying what to type."""
    t = text.strip().lower().replace(",", ".")
    m = _LOAD.fullmatch(t)
    if not m or m.group(2) not in _UNITS:
        raise ValueError(
            "{!r} is not a weight: type what the scale shows, e.g. 2.1, 2.1 kg, 2100 g or "
            "4.6 lb".format(text.strip())
        )
    kg = float(m.group(1)) * _UNITS[m.group(2)]
    if kg <= 0 and not allow_zero:
        raise ValueError("the scale must show more than 0: press down harder")
    if kg > MAX_LOAD_KG:
        raise ValueError(
            "{:g} kg is more than a kitchen scale weighs (or a ball takes): check the unit".format(
                kg
            )
        )
    return kg


def parse_loads(text):
    """--loads "2,4,6" -> [2.0, 4.0, 6.0]: two or three increasing target loads in kg."""
    try:
        loads = [parse_load(p) for p in text.split(",")]
    except ValueError as e:
        raise ValueError("--loads: {}".format(e))
    if not 2 <= len(loads) <= 3 or loads != sorted(set(loads)):
        raise ValueError("--loads: give 2 or 3 increasing loads in kg, e.g. 2,4,6")
    return loads


# ---- the rest level and steady holds, from raw counts --------------------------------------


class Rest:
    """The ball untouched: mean raw counts and their noise, and the press threshold that
    follows from that noise alone (never from a calibration, which may be wildly wrong)."""

    def __init__(self, raws):
        n = len(raws)
        self.level = sum(raws) / n
        self.noise = math.sqrt(sum((r - self.level) ** 2 for r in raws) / n)
        self.p2p = max(raws) - min(raws)
        self.threshold = max(10 * self.noise, 3 * self.p2p, 5.0)

    def steady(self, raws):
        """No touch in the window: its two halves agree within the noise."""
        h = len(raws) // 2
        a, b = sum(raws[:h]) / h, sum(raws[h:]) / (len(raws) - h)
        return abs(a - b) <= max(4 * self.noise, 2.0)


class Hold:
    """Feed raw samples; `add` returns a Reading once a press has been held steady for
    HOLD_MS of ball time, None until then. A press is a departure from the rest level by
    more than its threshold."""

    def __init__(self, rest):
        self.rest = rest
        self.window = []  # (t_ms, raw) of the press so far, at most HOLD_MS
        self.pressed_ms = 0  # ball time spent pressed, for a hint when it will not settle
        self.last_spread = None

    def add(self, t_ms, raw):
        delta = raw - self.rest.level
        if abs(delta) <= self.rest.threshold:
            self.window = []  # not pressed (any more): start again
            return None
        if self.window:
            self.pressed_ms += max(0, t_ms - self.window[-1][0])
        self.window.append((t_ms, raw))
        while self.window and t_ms - self.window[0][0] > HOLD_MS:
            self.window.pop(0)
        if t_ms - self.window[0][0] < HOLD_MS - 100:
            return None  # not yet a whole window (samples come every 50 ms)
        raws = [r for _, r in self.window]
        mean = sum(raws) / len(raws)
        level = mean - self.rest.level
        spread = 2 * math.sqrt(sum((r - mean) ** 2 for r in raws) / len(raws))
        self.last_spread = 100 * spread / max(abs(level), 1e-9)
        if spread <= max(HOLD_SPREAD_PCT / 100 * abs(level), 3 * self.rest.noise + 1):
            return Reading(level, self.last_spread, t_ms)
        return None


class Reading:
    def __init__(self, delta, spread_pct, t_ms):
        self.delta = delta  # mean raw counts above the rest level over the steady window
        self.spread_pct = spread_pct  # +- two standard deviations over the window, % of delta
        self.t_ms = t_ms


def released(rest, reading, raw):
    """The press is over: back within a quarter of it of the rest level (FSRs creep back)."""
    return abs(raw - rest.level) <= max(rest.threshold, 0.25 * abs(reading.delta))


# ---- fits: points are (force_n, counts) -----------------------------------------------------


def _line(points):
    """Least squares counts = zero + slope * force."""
    n = len(points)
    mf = sum(f for f, _ in points) / n
    mc = sum(c for _, c in points) / n
    sff = sum((f - mf) ** 2 for f, _ in points)
    slope = sum((f - mf) * (c - mc) for f, c in points) / sff
    return mc - slope * mf, slope


def _errors(points, force_of):
    """Per point (force, error N, error % of that force); None for the rest point (the
    first), whose force is the book's: a few newtons, where a percentage says little."""
    out = []
    for i, (f, c) in enumerate(points):
        err = force_of(c) - f
        out.append((f, err, 100 * err / f if i and f > 0 else None))
    return out


def _power(points, a):
    """Least squares counts = zero + k * force**a for a fixed a; (zero, k, sse)."""
    basis = [(f**a, c) for f, c in points]
    zero, k = _line(basis)
    sse = sum((zero + k * x - c) ** 2 for x, c in basis)
    return zero, k, sse


class Fit:
    """A fitted calibration of points (force N, counts), the rest point first: `errors` is
    what each point reads back as (force, error N, error %), `line_errors` the same for the
    best straight line (the curve fit's comparison)."""

    def __init__(self, model, zero, slope, exponent=1.0, points=(), params=2):
        self.model = model
        self.dof = len(points) - params  # points beyond those the fit needs: its check
        self.zero = zero
        self.slope = slope  # counts per newton (linear) or k of k * F**a (curve)
        self.exponent = exponent
        self.points = list(points)
        self.errors = _errors(self.points, self.force_of)
        self.line_errors = None

    def counts_above_zero(self, force_n):
        return self.slope * force_n**self.exponent if force_n > 0 else 0.0

    def force_of(self, counts):
        x = (counts - self.zero) / self.slope
        if self.model == "linear":
            return x
        return x ** (1 / self.exponent) if x > 0 else 0.0

    def max_error(self, errors=None):
        """(largest |error| in N, largest |error| in % of a load's force)."""
        errors = self.errors if errors is None else errors
        n = max(abs(e) for _, e, _ in errors)
        pct = max((abs(p) for _, _, p in errors if p is not None), default=0.0)
        return n, pct

    def verdict(self):
        pct = self.max_error()[1]
        if self.model == "curve" and self.exponent in EXPONENTS:
            return "poor"  # the search hit its edge: these readings are not an FSR's curve
        if pct > FAIR_PCT:
            return "poor"
        if pct > GOOD_PCT or self.dof <= 0:
            return "fair"  # (with no point to spare, nothing checks the fit)
        return "good"

    def cal_points(self, top_n):
        """Up to CAL_POINTS (newtons, counts above zero) pairs on the curve, from 1 N up to
        top_n, spaced evenly in log(force): between neighbours a factor of ~1.8 apart the
        straight chord of F**0.85 strays by under 1 %."""
        lo = 1.0
        ratio = (max(top_n, 10.0) / lo) ** (1 / (CAL_POINTS - 1))
        out = []
        for i in range(CAL_POINTS):
            f = round(lo * ratio**i, 2)
            out.append([f, int(round(self.counts_above_zero(f)))])
        return out


def fit_linear(points):
    zero, slope = _line(points)
    return Fit("linear", zero, slope, 1.0, points)


def fit_curve(points):
    """counts = zero + k * F**a: a by golden-section search on the squared error in
    counts, zero and k by least squares for each a."""
    lo, hi = EXPONENTS
    r = (math.sqrt(5) - 1) / 2
    a, b = hi - r * (hi - lo), lo + r * (hi - lo)
    fa, fb = _power(points, a)[2], _power(points, b)[2]
    for _ in range(60):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - r * (hi - lo)
            fa = _power(points, a)[2]
        else:
            lo, a, fa = a, b, fb
            b = lo + r * (hi - lo)
            fb = _power(points, b)[2]
    best = (a + b) / 2
    if abs(best - EXPONENTS[0]) < 1e-3 or abs(best - EXPONENTS[1]) < 1e-3:
        best = EXPONENTS[0] if best < 1 else EXPONENTS[1]
    zero, k, _ = _power(points, best)
    fit = Fit("curve", zero, k, best, points, params=3)
    line = fit_linear(points)
    fit.line_errors = line.errors
    return fit


def check_points(points, threshold):
    """Refuse readings a fit would only make look plausible; returns None or what is wrong
    and what to check. points: (kg on the scale, counts above rest), in the order taken."""
    by_load = sorted(points)
    for (k1, c1), (k2, c2) in zip(by_load, by_load[1:], strict=False):
        if k2 < k1 * 1.15:
            return (
                "two readings are almost the same load ({:g} and {:g} kg): press to clearly "
                "different loads".format(k1, k2)
            )
        if abs(c2) <= abs(c1) or (c1 > 0) != (c2 > 0):
            return (
                "the ball read no more at {:g} kg than at {:g} kg: its sensor is not following "
                "the load (is the ball slipping from under the book? is the sensor "
                "connected?)".format(k2, k1)
            )
    if abs(by_load[0][1]) < 3 * threshold:
        return (
            "the ball's reading barely moved at {:g} kg: check the sensor and its wiring, "
            "and that the ball itself (not the book's edge) takes the load".format(by_load[0][0])
        )
    return None


# ---- bands: slow presses up to "strong but good" --------------------------------------------
# The rules are the firmware's (ball/measure.py), which measures a threshold on the ball
# itself from the phone page: one detector, here fed the live samples the host receives.


class Trial:
    """Feed live samples; `add` returns a finished Press once the force has risen above
    `contact_n` and fallen back under 80 % of it for RELEASE_MS. It ignores a press already
    under way when it starts (it waits for a release first)."""

    def __init__(self, contact_n):
        self.detector = measure.Trial(int(round(contact_n * 1000)))

    def add(self, s):
        if self.detector.step(s["t_ms"], int(round(s["force_n"] * 1000)), s["raw"], s["fault"]):
            return Press(self.detector)
        return None


class Press:
    """A finished press, from a measure.Trial that has just returned True."""

    def __init__(self, trial):
        self.peak_n = trial.peak_mn / 1000
        self.rise_ms = trial.rise_ms
        self.fault = trial.fault or ""
        self.clipped = trial.clipped()

    @property
    def too_fast(self):
        return self.rise_ms < RISE_MIN_MS
