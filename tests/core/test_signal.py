# Signal path: calibration both ways (linear and piecewise, integer-only, accurate, monotonic,
# saturating, never a long int), spike rejection, auto-zero only at rest, drift and its flag,
# the wake check in deep sleep.
from drifting import Rand, fsr_points, piecewise_n

from ball import config
from ball import session as s
from ball.signal import AutoZero, Calibration, Median3, SignalPath, wake_check
from kbtest import SMALL, Bounded

MAX_MN = 0xFFFFFF  # where forces saturate: 16,777 N

# Each sensor kind's realistic calibration and raw range: (name, calibration, lowest and
# highest raw count it can give).
SENSORS = (
    # BMP280 in a sealed ball: ~40 Pa per newton, ~101 kPa at rest, presses add up to 15 kPa
    ("barometer", Calibration(101325, 37.3), 98000, 120000),
    # HX711: 24-bit signed, ~20,000 counts per newton, wired so the counts fall
    ("load cell", Calibration(123456, -20000.0), -(1 << 23), (1 << 23) - 1),
    # Two FSRs summed, linear fit: ~1e5 nS per newton, up to ~5e6 nS
    ("fsr linear", Calibration(0, 100000), 0, 5000000),
    # Two FSRs summed, four kitchen-scale points on a power-law sensor
    ("fsr points", Calibration(0, 1000, fsr_points()), 0, 5000000),
)


def exact_n(cal, name, raw):
    """The calibration in floats: what to_mn approximates, in newtons."""
    d = raw - cal.zero
    if name == "fsr points":
        return piecewise_n(d, fsr_points())
    return d / {"barometer": 37.3, "load cell": -20000.0, "fsr linear": 100000}[name]


def sweep(lo, hi, n=400, seed=1):
    """A grid over lo..hi, its ends, and pseudo-random points between."""
    rand = Rand(seed)
    step = (hi - lo) // n or 1
    return (
        list(range(lo, hi, step)) + [hi] + [lo + int(rand.uniform() * (hi - lo)) for _ in range(n)]
    )


def test_calibration_counts_to_millinewtons_and_back():
    cal = Calibration(1000, 250)
    assert cal.to_mn(1000) == 0
    assert cal.to_mn(1000 + 250 * 20) == 20000
    assert cal.to_mn(1000 - 125) == -500
    assert cal.to_counts(20.0) == 1000 + 5000
    for n in (0.0, 1.5, 12.25, 80.0):
        assert abs(cal.to_mn(cal.to_counts(n)) - n * 1000) <= 1000 // 250
    for _, cal, _, _ in SENSORS:  # the simulated sensor's inverse, for every kind
        for n in (-2.0, 0.0, 0.5, 4.9, 15.0, 37.5, 61.0, 120.0):
            slope = abs(cal.to_mn(cal.to_counts(n) + 1) - cal.to_mn(cal.to_counts(n)))
            assert abs(cal.to_mn(cal.to_counts(n)) - n * 1000) <= slope + 1


def test_the_config_builds_the_calibration():
    cal = Calibration.from_config(config.validate({"zero_counts": 10, "counts_per_n": 40.5}))
    assert cal.to_mn(10 + 405) == 10000
    cfg = config.validate({"cal_points": fsr_points(), "counts_per_n": 1})
    assert Calibration.from_config(cfg).to_mn(fsr_points()[1][1]) == 15000  # points win


def test_calibration_is_within_a_hundredth_of_a_percent_over_every_sensors_range():
    for name, cal, lo, hi in SENSORS:
        for raw in sweep(lo, hi):
            exact = exact_n(cal, name, raw) * 1000
            err = abs(cal.to_mn(raw) - exact)
            assert err <= 1 + abs(exact) * 1e-4, (name, raw, cal.to_mn(raw), exact)


def test_any_slope_in_the_configured_range_is_accurate():
    for cpn in (0.01, 0.3, 1, 7, 40, 999.5, 3333, 1e5, 123456.7, 1e7, -0.01, -7, -1e7):
        cal = Calibration(-5000, cpn)
        for raw in sweep(-(1 << 29) + 1, (1 << 29) - 1, 200, 2):
            exact = (raw + 5000) * 1000 / cpn
            got = cal.to_mn(raw)
            if abs(exact) >= MAX_MN:  # saturated: the last whole count under the ceiling
                assert MAX_MN - 1000 / abs(cpn) <= abs(got) <= MAX_MN and got * exact > 0
            else:
                assert abs(got - exact) <= 1 + abs(exact) * 1e-4, (cpn, raw, got, exact)


def test_a_piecewise_curve_is_continuous_and_monotonic_across_its_points():
    cal = Calibration(250, 1000, fsr_points())
    raws = sweep(-3000000, 12000000, 1000, 3)
    for _, c in fsr_points():
        raws += [250 + c + k for k in range(-3, 4)]
    raws.sort()
    forces = [cal.to_mn(r) for r in raws]
    for i in range(1, len(forces)):
        assert forces[i] >= forces[i - 1], (raws[i - 1], raws[i], forces[i - 1], forces[i])
    for n, c in fsr_points():  # each point reads its newtons
        assert abs(cal.to_mn(250 + c) - n * 1000) <= 1 + n * 0.1


def test_a_piecewise_curve_extends_with_its_end_segments_slopes():
    pts = fsr_points()
    cal = Calibration(0, 1000, pts)
    (n1, c1), (n2, c2) = pts[-2], pts[-1]
    far = c2 + 4000000  # past the last point: the last segment's slope
    assert abs(cal.to_mn(far) - (n2 + (far - c2) * (n2 - n1) / (c2 - c1)) * 1000) < 10
    below = -200000  # under the zero: the first segment's slope, mirrored
    assert abs(cal.to_mn(below) - below * pts[0][0] / pts[0][1] * 1000) < 10


def test_inverted_sensors_count_down():
    down = Calibration(1000, 0, [[10, -20000], [30, -50000]])
    up = Calibration(1000, 0, [[10, 20000], [30, 50000]])
    for d in (0, 1, 999, 20000, 35000, 50000, 90000, -4000):
        assert down.to_mn(1000 - d) == up.to_mn(1000 + d)
    assert down.to_mn(1000 - 20000) == 10000
    lin = Calibration(0, -20000)
    assert lin.to_mn(-20000 * 25) == 25000 and lin.to_mn(20000) == -1000


def test_forces_saturate_instead_of_wrapping():
    cal = Calibration(0, 0.01)  # 100 N per count: 167 counts is the last under the ceiling
    assert cal.to_mn(10**12) == cal.to_mn(168) == cal.to_mn(167) == 16700000
    assert cal.to_mn(-(10**12)) == -16700000 and cal.to_mn(166) == 16600000
    steep = Calibration(0, 1000, [[5, 1000], [10, 3000]])  # 2.5 N per 1000 counts at the end
    last = 0
    for raw in range(0, 1 << 31, 1 << 20):  # rising all the way: no wrap to negative
        assert steep.to_mn(raw) >= last
        last = steep.to_mn(raw)
    assert MAX_MN - 3 <= last <= MAX_MN


def test_no_calibration_step_needs_a_long_int_on_the_esp32():
    cals = [cal for _, cal, _, _ in SENSORS] + [
        Calibration(1 << 29, 0.01),
        Calibration(-(1 << 29), 1e7),
        Calibration(0, -0.01),
        Calibration(-7, 0, [[0.5, 3], [1, 7], [2000, (1 << 30) - 1]]),
    ]
    Bounded.peak = 0
    for cal in cals:
        cal.seg = [Bounded(v) for v in cal.seg]
        cal.zero = Bounded(cal.zero)  # so a clamped raw minus the zero is checked too
        for raw in sweep(-(1 << 30) + 1, (1 << 30) - 1, 300, 4) + [0, 1, -1]:
            cal.to_mn(Bounded(raw))
    assert 1 << 29 < Bounded.peak < SMALL  # the sweep reached the top, and stayed below


def test_median_rejects_single_sample_spikes():
    m = Median3()
    m.reset(5000)
    out = [m.step(v) for v in (5000, 5000, 90000, 5000, 5000, 0, 5000, 5000)]
    assert max(out) == 5000 and min(out) == 5000


def test_median_follows_a_real_step_within_two_samples():
    m = Median3()
    out = [m.step(v) for v in (0, 0, 30000, 30000, 30000)]
    assert out[3] == 30000


def test_autozero_follows_drift_at_rest():
    cal = Calibration(0, 100)
    az = AutoZero(cal, 2500)
    raw = 0
    for i in range(6000):  # 60 s at 100 Hz drifting 2 N/min
        raw = i * 200 // 6000
        az.step(raw, cal.to_mn(raw))
    assert abs(cal.to_mn(raw)) < 300
    assert az.drift > 100


def test_autozero_never_moves_while_pressed():
    cal = Calibration(0, 100)
    az = AutoZero(cal, 2500)
    for _ in range(3000):
        az.step(2000, cal.to_mn(2000))  # a steady 20 N press
    assert cal.zero == 0 and az.drift == 0


def test_signal_path_outputs_filtered_force():
    sp = SignalPath(config.DEFAULTS)
    cpn = config.DEFAULTS["counts_per_n"]
    forces = [sp.step(v * cpn) for v in (10, 10, 10, 200, 10, 10)]
    assert max(forces) == 10000


def test_absolute_sensor_learns_its_zero_at_boot():
    cfg = dict(config.DEFAULTS)
    cfg["counts_per_n"] = 100  # a sealed ball: ~100 Pa of rise per newton
    sp = SignalPath(cfg, zero_at_boot=True)
    for i in range(60):  # a barometer at rest reads ~101 kPa, with a little noise
        sp.step(101325 + (i % 3))
    assert abs(sp.step(101325)) < 100  # reads ~0 N now
    for _ in range(10):
        f = sp.step(101325 + 2500)
    assert abs(f - 25000) < 100  # and a 25 N press reads as one


def test_a_zero_taken_while_pressed_heals_on_release():
    cal = Calibration(0, 100)
    az = AutoZero(cal, 2500, capture=True)
    for _ in range(50):
        az.step(3000, cal.to_mn(3000))  # booted while pressed at 30 N
    assert cal.zero == 3000
    for _ in range(2000):
        az.step(0, cal.to_mn(0))  # released: reads -30 N, steady
    assert abs(cal.to_mn(0)) < 300


def test_drift_is_the_zero_followed_at_rest_in_newtons_and_flags_past_the_limit():
    cfg = config.validate({"counts_per_n": 40, "drift_max_n": 10})
    sp = SignalPath(cfg)
    raw = 0
    rises = []
    for i in range(60000):  # 10 min of +1 Pa per second at rest: 15 N at 40 Pa/N
        raw = i // 100
        sp.step(raw + (i * 7919) % 3)
        if sp.drift_bad and not rises:
            rises.append(raw / 40)
    assert abs(sp.drift_mn / 1000 - raw / 40) < 0.3
    assert 10 < rises[0] < 10.5  # risen just past drift_max_n, not before
    for i in range(60000):  # and back: the flag falls below 3/4 of the limit (7.5 N)
        raw = 600 - i // 100
        sp.step(raw)
        if not sp.drift_bad:
            break
    assert not sp.drift_bad and 7 < raw / 40 < 7.5


def test_drift_in_newtons_follows_a_piecewise_curve():
    cfg = config.validate({"cal_points": fsr_points()})
    sp = SignalPath(cfg)
    for _ in range(3000):
        sp.step(150000)  # the FSR's baseline has crept: ~1.9 N through the first segment
    assert abs(sp.drift_mn - piecewise_n(150000, fsr_points()) * 1000) < 50


def test_an_absolute_sensor_reads_nothing_before_its_zero_is_learnt():
    cfg = config.validate({"counts_per_n": 40})
    sp = SignalPath(cfg, zero_at_boot=True)
    sess = s.Session(cfg)
    for i in range(200):  # power-on: ~101 kPa is no force, and no session
        ev = sess.step(i * 10, sp.step(101325 + i % 3))
        assert sp.force_mn == 0 or i >= 50
        assert not ev & s.EV_START
    assert sp.drift_mn == 0  # the zero learnt at boot is not drift


def test_an_offset_left_under_first_contact_is_settled_after_five_still_seconds():
    cal = Calibration(0, 100)
    az = AutoZero(cal, 2500)
    for _ in range(1000):
        az.step(0, 0)
    for _ in range(3000):
        az.step(4000, cal.to_mn(4000))  # a 40 N press
    moved = []
    for i in range(1000):  # released warmer: 3.5 N of offset, still, under first contact
        if az.step(350, cal.to_mn(350)):
            moved.append(i)
    assert moved and 490 <= moved[0] < 550  # ten half-second blocks
    assert abs(cal.zero - 350) < 5 and az.drift == cal.zero


def test_a_long_press_in_a_warming_ball_is_released_at_the_drift_rate_learnt_at_rest():
    cfg = config.validate({"counts_per_n": 40})
    sp = SignalPath(cfg)
    sess = s.Session(cfg)
    pa = 0.0
    for i in range(18000):  # 3 min: rest 2 min at +4.6 Pa/s (0.8 K/min), press 1 min at 30 N
        pa += 0.046
        press = 12000 <= i < 18000
        sp.step(int(pa) + (1200 + (i % 50) * 2 if press else 0))
    assert sp.cal.mn(int(pa) - sp.cal.zero) > 6000  # released now: ~7 N past the zero
    idle_at = None
    for i in range(1000):  # released: 7 N reads as a light press until the release is seen
        pa += 0.046
        sess.step(i * 10, sp.step(int(pa) + i % 2))
        if idle_at is None and i > 5 and abs(sp.force_mn) < 2500:
            idle_at = i * 10
    assert idle_at is not None and idle_at <= 3000
    assert abs(sp.drift_mn / 1000 - pa / 40) < 0.5


def test_wake_checks_follow_hours_of_drift_in_deep_sleep_and_still_see_a_press():
    cal = Calibration(101325, 40)
    pa = 101325.0
    for _ in range(5400):  # 3 h of wakes every 2 s, the weather rising 3 hPa an hour
        pa += 300 / 1800
        assert not wake_check(cal, [int(pa) + k % 2 for k in range(5)], 5.0)
    assert abs(cal.zero - pa) < 10  # 900 Pa followed: it would read as 22 N
    zero = cal.zero
    assert wake_check(cal, [int(pa), int(pa) + 150, int(pa) + 300, int(pa) + 310, 0], 5.0)
    assert cal.zero == zero  # a press moves nothing
    pa -= 400  # a steady reading below zero (a cold front while asleep) is followed too
    for _ in range(40):
        wake_check(cal, [int(pa)] * 5, 5.0)
    assert abs(cal.zero - pa) < 10
