"""The arithmetic of `knotball calibrate` (calfit.py), without a ball: scale readings as
people type them, steady holds and finished presses found in live samples, and the fits."""

import bisect
import random

import pytest

from knotball.calibration import fit as calfit
from knotball.calibration.fit import G

FSR_K = 100000 * 20 / 20**0.85  # the sim-fsr board: 100 000 counts/N at 20 N, F**0.85


@pytest.mark.parametrize(
    "text, kg",
    [("2.1", 2.1), ("2.1 kg", 2.1), ("2100 g", 2.1), ("2100g", 2.1), ("4.6 lb", 2.0865),
     ("4.6lbs", 2.0865), ("2,1", 2.1), (" 3 KG ", 3.0), ("2.1 kg.", 2.1), (".5", 0.5),
     ("16 oz", 0.4536)],
)  # fmt: skip
def test_scale_readings_are_read_in_the_units_people_type(text, kg):
    assert calfit.parse_load(text) == pytest.approx(kg, abs=1e-4)


@pytest.mark.parametrize(
    "text, why",
    [("", "not a weight"), ("abc", "not a weight"), ("2.1 stone", "not a weight"),
     ("-2", "not a weight"), ("0", "more than 0"), ("200", "check the unit"),
     ("2.1.3", "not a weight")],
)  # fmt: skip
def test_nonsense_is_refused_saying_what_to_type(text, why):
    with pytest.raises(ValueError, match=why):
        calfit.parse_load(text)


def test_zero_is_a_book_weight_but_not_a_load():
    assert calfit.parse_load("0", allow_zero=True) == 0.0
    assert calfit.parse_loads("2,4,6") == [2.0, 4.0, 6.0]
    assert calfit.parse_loads("1.5, 3kg") == [1.5, 3.0]
    for bad in ("2", "2,4,6,8", "4,2", "2,2", "2,x"):
        with pytest.raises(ValueError, match="--loads"):
            calfit.parse_loads(bad)


def test_a_linear_fit_recovers_a_barometers_zero_and_slope():
    rng = random.Random(1)
    book = 0.3 * G
    forces = [book] + [book + kg * G for kg in (2, 4, 6)]
    points = [(f, 101300 + 23.7 * f + rng.uniform(-2, 2)) for f in forces]
    fit = calfit.fit_linear(points)
    assert fit.slope == pytest.approx(23.7, rel=0.005)
    assert fit.zero == pytest.approx(101300, abs=3)
    err_n, err_pct = fit.max_error()
    assert err_n < 0.2 and err_pct < 1 and fit.verdict() == "good"
    assert fit.errors[0][2] is None  # the rest point: in newtons only


def test_a_bad_reading_makes_the_verdict_poor():
    points = [(0, 0)] + [(f * G, 1000 * f * G) for f in (2, 4)] + [(6 * G, 1000 * 5 * G)]
    fit = calfit.fit_linear(points)
    assert fit.max_error()[1] > calfit.FAIR_PCT and fit.verdict() == "poor"


def test_a_curve_fit_recovers_an_fsr_and_its_points_follow_the_curve():
    rng = random.Random(2)
    points = [(0.0, 0.0)] + [
        (kg * G, FSR_K * (kg * G) ** 0.85 * (1 + rng.uniform(-0.004, 0.004))) for kg in (2, 4, 6)
    ]
    fit = calfit.fit_curve(points)
    assert fit.exponent == pytest.approx(0.85, abs=0.03)
    assert fit.counts_above_zero(20) == pytest.approx(FSR_K * 20**0.85, rel=0.01)
    assert fit.verdict() == "good"
    line_n, line_pct = fit.max_error(fit.line_errors)
    assert line_pct > 5  # a straight line would not do for an FSR
    # The stored points: 8 of them, increasing; interpolating between them stays within 1 %
    # of the fitted curve from 1 N up, and reads the true force within 2 % over the loads
    # (10 to 70 N) and to 0.2 N below them, where the curve is extrapolated.
    cal = fit.cal_points(1.5 * 6 * G)
    assert len(cal) == calfit.CAL_POINTS
    forces = [0.0] + [f for f, _ in cal]
    counts = [0] + [c for _, c in cal]
    assert forces == sorted(forces) and counts == sorted(counts)

    def read(c):
        j = bisect.bisect(counts, c)
        return forces[j - 1] + (forces[j] - forces[j - 1]) * (c - counts[j - 1]) / (
            counts[j] - counts[j - 1]
        )

    for tenth in range(10, int(forces[-1] * 10)):
        f = tenth / 10
        assert read(fit.counts_above_zero(f)) == pytest.approx(f, rel=0.01), f
        if f > 70:
            continue  # beyond the loads by more than a fifth: the fit's own business
        truth = read(FSR_K * f**0.85)
        assert truth == (pytest.approx(f, rel=0.02) if f >= 10 else pytest.approx(f, abs=0.2)), f


def test_a_curve_through_every_reading_is_fair_at_best():
    points = [(0.0, 0.0)] + [(kg * G, FSR_K * (kg * G) ** 0.85) for kg in (2, 4)]
    fit = calfit.fit_curve(points)
    assert fit.dof == 0 and fit.verdict() == "fair"


def test_readings_that_do_not_follow_the_load_are_refused():
    assert calfit.check_points([(2.0, 500), (4.0, 1000), (6.0, 1500)], 10) is None
    assert "no more at 4 kg" in calfit.check_points([(2.0, 500), (4.0, 400)], 10)
    assert "no more at 4 kg" in calfit.check_points([(2.0, 500), (4.0, -900)], 10)
    assert "almost the same load" in calfit.check_points([(2.0, 500), (2.1, 700)], 10)
    assert "barely moved" in calfit.check_points([(2.0, 20), (4.0, 40)], 10)
    assert calfit.check_points([(4.0, -1000), (2.0, -500)], 10) is None  # a falling reading


def samples(rows):
    """Live-sample dicts from (t_ms, raw) or (t_ms, force_n, raw) rows."""
    out = []
    for row in rows:
        t, f, raw = row if len(row) == 3 else (row[0], 0.0, row[1])
        out.append({"t_ms": t, "force_n": f, "raw": raw, "fault": ""})
    return out


def feed(detector, rows):
    for s in samples(rows):
        got = (
            detector.add(s)
            if isinstance(detector, calfit.Trial)
            else detector.add(s["t_ms"], s["raw"])
        )
        if got is not None:
            return got, s["t_ms"]
    return None, None


def test_a_steady_hold_is_read_from_raw_counts_after_a_second_and_a_half():
    rng = random.Random(3)
    rest = calfit.Rest([101300 + rng.choice((-2, -1, 0, 1, 2)) for _ in range(40)])
    assert rest.steady([101300] * 40) and 5 <= rest.threshold <= 20
    rows = [(t, 101300 + rng.choice((-2, 0, 2))) for t in range(0, 1000, 50)]
    rows += [(1000 + i * 50, 101300 + 465 * i / 20) for i in range(20)]  # a 1 s ramp
    rows += [(2000 + i * 50, 101765 + rng.uniform(-5, 5)) for i in range(60)]
    reading, t = feed(calfit.Hold(rest), rows)
    assert reading.delta == pytest.approx(465, abs=6) and reading.spread_pct < 2.5
    assert 3400 <= t <= 3600  # 1.5 s of steady press after the ramp
    assert not calfit.released(rest, reading, 101700)
    assert calfit.released(rest, reading, 101310)


def test_a_wobbling_press_is_not_taken_for_a_reading():
    rest = calfit.Rest([0] * 40)
    rows = [(t, 2_000_000 + 200_000 * (1 if (t // 250) % 2 else -1)) for t in range(0, 8000, 50)]
    hold = calfit.Hold(rest)
    assert feed(hold, rows) == (None, None)
    assert hold.last_spread > 5 and hold.pressed_ms >= 7900


def slow_press(t0, peak, rise_ms, raw_per_n=1000, clip_n=None):
    rows = []
    for t in range(0, rise_ms + 1, 50):
        f = peak * t / rise_ms
        shown = min(f, clip_n) if clip_n else f
        rows.append((t0 + t, shown, round(f * raw_per_n)))
    for t in range(50, 1500, 50):
        f = peak * (1 - t / 1500)
        rows.append((t0 + rise_ms + t, min(f, clip_n) if clip_n else f, round(f * raw_per_n)))
    rows += [(t0 + rise_ms + 1500 + t, 0.0, 0) for t in range(0, 600, 50)]
    return rows


def test_a_slow_press_gives_its_peak_and_how_long_it_built_up():
    rows = [(t, 0.0, 0) for t in range(0, 500, 50)] + slow_press(500, 40.0, 5000)
    press, _ = feed(calfit.Trial(5.0), rows)
    assert press.peak_n == pytest.approx(40.0)
    assert 4300 <= press.rise_ms <= 4500 and not press.too_fast and not press.clipped


def test_a_fast_press_is_flagged_and_a_press_under_way_at_the_start_is_skipped():
    rows = [(t, 30.0, 30000) for t in range(0, 500, 50)] + [
        (t, 0.0, 0) for t in range(500, 1000, 50)
    ]
    rows += slow_press(1000, 25.0, 800)
    press, _ = feed(calfit.Trial(5.0), rows)
    assert press.peak_n == pytest.approx(25.0) and press.too_fast


def test_a_press_beyond_the_calibrations_range_is_flagged_clipped():
    rows = [(t, 0.0, 0) for t in range(0, 500, 50)] + slow_press(500, 40.0, 5000, clip_n=30.0)
    press, _ = feed(calfit.Trial(5.0), rows)
    assert press.peak_n == pytest.approx(30.0) and press.clipped


def test_band_edges_are_fractions_of_the_strong_but_good_level():
    assert calfit.band_edges(40.0) == {
        "light_n": 5.0,
        "medium_n": 16.0,
        "firm_n": 30.0,
        "over_n": 40.0,
    }
    assert calfit.band_edges(8.0) == {
        "light_n": 1.0,
        "medium_n": 3.2,
        "firm_n": 6.0,
        "over_n": 8.0,
    }
    assert calfit.band_edges(20.0)["light_n"] == 2.5
