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
