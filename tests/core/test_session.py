# Session state machine: bands with hysteresis, holds, limits, cues, sessions per day.
from ball import config
from ball import session as s
from kbtest import run_session


def make(**over):
    cfg = dict(config.DEFAULTS)
    cfg.update(over)
    return s.Session(config.validate(cfg))


def first(events, bit):
    for t, ev in events:
        if ev & bit:
            return t
    return None


def count(events, bit):
    return len([1 for _, ev in events if ev & bit])


def test_each_band_is_reached_within_30_ms_of_a_step():
    for n, band in ((10, s.LIGHT), (25, s.MEDIUM), (45, s.FIRM), (70, s.OVER)):
        sess = make()
        ev = run_session(sess, [0] * 10 + [n * 1000] * 10)
        assert sess.band == band
        assert first(ev, s.EV_BAND) - 100 <= 30


def test_too_hard_cue_on_entering_over():
    sess = make()
    ev = run_session(sess, [30000] * 50 + [70000] * 20 + [30000] * 50 + [70000] * 20)
    assert count(ev, s.CUE_TOO_HARD) == 2
    assert sess.over_count == 2


def test_noisy_press_at_an_edge_does_not_flicker():
    sess = make()
    edge = int(config.DEFAULTS["medium_n"] * 1000)
    noise = (0, 400, -500, 300, -200, 600, -600, 100)  # about +-3 %
    forces = [edge + noise[i % len(noise)] for i in range(2000)]
    ev = run_session(sess, forces)
    assert count(ev, s.EV_BAND) <= 2  # idle -> light/medium once, then steady


def test_a_two_sample_burst_cannot_flip_the_band():
    sess = make()
    forces = [25000] * 50 + [90000, 90000] + [25000] * 50
    run_session(sess, forces)
    assert sess.over_count == 0 and sess.band == s.MEDIUM


def test_session_starts_at_first_contact_and_stops_at_the_limit():
    sess = make(session_limit_s=10)
    ev = run_session(sess, [0] * 20 + [25000] * 1200)
    start = first(ev, s.EV_START)
    stop = first(ev, s.EV_STOP)
    assert start is not None and stop is not None
    assert 10000 <= stop - start <= 10000 + 10  # within one sample period
    assert sess.stop_reason == s.STOP_TIME_LIMIT
    assert first(ev, s.CUE_DONE) == stop


def test_limit_counts_short_releases():
    sess = make(session_limit_s=10)
    forces = ([25000] * 200 + [0] * 100) * 5
    ev = run_session(sess, forces)
    assert count(ev, s.EV_START) == 1
    assert first(ev, s.EV_STOP) - first(ev, s.EV_START) <= 10010


def test_idle_stop_after_release():
    sess = make(idle_stop_s=3)
    ev = run_session(sess, [25000] * 300 + [0] * 400)
    assert sess.stop_reason == s.STOP_IDLE
    assert first(ev, s.EV_STOP) >= 3000 + 3000


def test_no_new_session_while_still_pressing_after_a_stop():
    sess = make(session_limit_s=5)
    ev = run_session(sess, [25000] * 1500)
    assert count(ev, s.EV_START) == 1
    assert sess.state == s.STOPPED


def test_new_session_after_release_and_press():
    sess = make(session_limit_s=5)
    ev = run_session(sess, [25000] * 600 + [0] * 300 + [25000] * 100)
    assert count(ev, s.EV_START) == 2
    assert sess.sessions_today == 2


def test_hold_cues_at_hold_min_and_hold_max():
    sess = make(session_limit_s=120, hold_min_s=5, hold_max_s=60)
    ev = run_session(sess, [0] * 10 + [25000] * 6500)
    eff = first(ev, s.CUE_HOLD_EFFECTIVE)
    long = first(ev, s.CUE_HOLD_LONG)
    start = first(ev, s.EV_START)
    assert 5000 <= eff - start <= 5100
    assert 60000 <= long - start <= 60100
    assert count(ev, s.CUE_HOLD_EFFECTIVE) == 1 and sess.holds == 1


def test_rolling_is_not_a_hold():
    sess = make()
    forces = []
    for i in range(3000):  # 0.5 Hz roll between ~10 and ~40 N
        phase = i % 200
        forces.append(10000 + 300 * (phase if phase < 100 else 200 - phase))
    ev = run_session(sess, forces)
    assert count(ev, s.CUE_HOLD_EFFECTIVE) == 0


def test_time_warning_before_the_limit():
    sess = make(session_limit_s=30, warn_before_s=10)
    ev = run_session(sess, [25000] * 3200)
    start = first(ev, s.EV_START)
    assert 20000 <= first(ev, s.CUE_TIME_WARNING) - start <= 20010


def test_rest_after_the_days_sessions():
    sess = make(session_limit_s=2, max_sessions_per_day=2)
    one = [25000] * 250 + [0] * 250
    ev = run_session(sess, one * 3)
    assert count(ev, s.EV_START) == 2
    assert count(ev, s.CUE_REST) == 1
    sess.new_day()
    ev = run_session(sess, one, start_ms=100000)
    assert count(ev, s.EV_START) == 1


def test_summary_figures():
    sess = make(session_limit_s=10)
    run_session(sess, [15000] * 300 + [30000] * 300 + [70000] * 100 + [0] * 500)
    bm = sess.band_ms
    assert abs(bm[s.LIGHT] - 3000) <= 50 and abs(bm[s.MEDIUM] - 3000) <= 50
    assert abs(bm[s.OVER] - 1000) <= 50
    assert sess.peak_mn == 70000
    assert sum(bm) == sess.elapsed_ms


def test_abort_stops_an_active_session_once():
    sess = make()
    run_session(sess, [25000] * 100)
    assert sess.stop(1000, s.STOP_ABORTED) & s.EV_STOP
    assert sess.stop(1010, s.STOP_ABORTED) == 0
