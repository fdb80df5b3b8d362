# Signal path: calibration both ways, spike rejection, auto-zero only at rest.
from ball import config
from ball.signal import AutoZero, Calibration, Median3, SignalPath


def test_calibration_counts_to_millinewtons_and_back():
    cal = Calibration(1000, 250)
    assert cal.to_mn(1000) == 0
    assert cal.to_mn(1000 + 250 * 20) == 20000
    assert cal.to_mn(1000 - 125) == -500
    assert cal.to_counts(20.0) == 1000 + 5000
    for n in (0.0, 1.5, 12.25, 80.0):
        assert abs(cal.to_mn(cal.to_counts(n)) - n * 1000) <= 1000 // 250


def test_calibration_clamps_huge_readings_instead_of_overflowing():
    cal = Calibration(0, 1)
    assert cal.to_mn(10**9) == cal.to_mn(10**7)
    assert cal.to_mn(-(10**9)) < 0


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
