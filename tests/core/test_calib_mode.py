# Calibration mode and a new config at once: while the host calibrates, the ball reads and
# filters its sensor but starts no session, gives no cue and buzzes only when asked; it lapses
# by itself when the host stops renewing it. A saved config applies between sessions at once
# and waits while one runs, whose limits stay as they started.
from ball import config
from ball import session as s
from ball.app import App
from ball.calib import BUZZ_MAX_MS, CALIB_LAPSE_MS, CALIB_RGB
from ball.session import Session
from ball.signal import SignalPath
from kbtest import FakeBoard, run_ticks

PRESS = 30000  # counts: 30 N with the default 1000 counts per newton


def test_no_session_and_no_cue_while_calibrating_but_the_force_is_filtered():
    board = FakeBoard(counts=0)
    app = App(board, config.validate({}))
    t = run_ticks(app, board, 0, 500)
    assert app.calibrate(True, t)
    board.counts = PRESS
    t = run_ticks(app, board, t, 3000)
    assert app.session.state == s.READY and app.session.sessions_today == 0
    assert app.signal.force_mn == 30000  # read and filtered all the same
    assert app.signal.raw == PRESS
    assert all(d == 0 for _, d in board.motor_log)  # no start tick, nothing at all


def test_the_led_shows_calibration_and_the_motor_buzzes_only_when_asked():
    board = FakeBoard(counts=0)
    app = App(board, config.validate({}))
    app.calibrate(True, 0)
    t = run_ticks(app, board, 0, 500)
    assert board.rgb == CALIB_RGB
    assert not app.buzz(t, BUZZ_MAX_MS + 1) and not app.buzz(t, 0)
    assert app.buzz(t, 200)
    start = t
    t = run_ticks(app, board, t, 1000)
    ons = [x for x, d in board.motor_log if d > 0]
    offs = [x for x, d in board.motor_log if d == 0 and x > start]
    assert ons and ons[0] == start and offs and 190 <= offs[0] - start <= 210
    assert board.duty == 0


def test_buzz_is_refused_outside_calibration():
    board = FakeBoard(counts=0)
    app = App(board, config.validate({}))
    assert not app.buzz(0, 100)
    run_ticks(app, board, 0, 300)
    assert all(d == 0 for _, d in board.motor_log)


def test_calibration_is_refused_during_a_session():
    board = FakeBoard(counts=PRESS)
    app = App(board, config.validate({}))
    t = run_ticks(app, board, 0, 500)
    assert app.session.state == s.ACTIVE
    assert not app.calibrate(True, t) and not app.calib


def test_calibration_lapses_without_renewal_and_sessions_run_again():
    board = FakeBoard(counts=0)
    app = App(board, config.validate({}))
    app.calibrate(True, 0)
    t = run_ticks(app, board, 0, CALIB_LAPSE_MS - 2000)
    app.calibrate(True, t)  # renewed: another full lapse from here
    board.counts = PRESS
    t = run_ticks(app, board, t, CALIB_LAPSE_MS - 100)
    assert app.calib and app.session.sessions_today == 0
    t = run_ticks(app, board, t, 500)
    assert not app.calib
    assert app.session.state == s.ACTIVE and app.session.sessions_today == 1
    assert board.rgb != CALIB_RGB


def test_calibration_off_gives_the_outputs_back_to_the_session():
    board = FakeBoard(counts=0)
    app = App(board, config.validate({}))
    app.calibrate(True, 0)
    t = run_ticks(app, board, 0, 500)
    app.buzz(t, 500)
    t = run_ticks(app, board, t, 100)
    assert board.duty > 0
    app.calibrate(False, t)
    assert board.duty == 0  # the buzz stops with the mode
    run_ticks(app, board, t, 200)
    assert board.rgb == (0, 0, 16)  # waiting: dim blue again


def test_a_sensor_fault_stops_a_buzz_in_the_same_sample():
    board = FakeBoard(counts=0)
    app = App(board, config.validate({}))
    app.calibrate(True, 0)
    t = run_ticks(app, board, 0, 200)
    app.buzz(t, 500)
    t = run_ticks(app, board, t, 50)
    assert board.duty > 0

    def broken():
        raise OSError(5, "bus error")

    board.read_sensor = broken
    board.t = t
    app.tick(t)
    assert board.duty == 0 and app.fault


def test_a_config_applies_at_once_between_sessions_keeping_the_day_count():
    board = FakeBoard(counts=PRESS)
    app = App(board, config.validate({"session_limit_s": 2, "idle_stop_s": 1}))
    t = run_ticks(app, board, 0, 2500)  # one session, stopped at its limit
    board.counts = 0
    t = run_ticks(app, board, t, 3000)
    assert app.session.state == s.READY and app.session.sessions_today == 1
    cfg = config.validate({"light_n": 2, "medium_n": 10, "firm_n": 40, "over_n": 50})
    assert app.reconfigure(cfg)
    assert app.session.edges[2] == 10000 and app.session.limit_ms == 60000
    assert app.session.sessions_today == 1 and app.cfg is cfg
    board.counts = 30000
    run_ticks(app, board, t, 500)
    assert app.session.band == s.MEDIUM  # 30 N is medium now, no longer firm


def test_a_config_saved_mid_session_waits_for_its_end():
    board = FakeBoard(counts=PRESS)
    stops = []
    app = App(board, config.validate({"session_limit_s": 3}))
    app.listener = lambda now, ev: (
        stops.append((now, app.session.stop_reason)) if ev & s.EV_STOP else None
    )
    n = [0]

    def stop():
        n[0] += 1
        if n[0] == 50:  # mid-session
            assert not app.reconfigure(config.validate({"session_limit_s": 60}))
            assert app.session.limit_ms == 3000 and app.pending_cfg is not None
        return n[0] > 600

    app.run(stop)
    # The running session stopped at its own 3 s limit; then the new config took over.
    assert stops[0][1] == s.STOP_TIME_LIMIT and 3000 <= stops[0][0] - app.session.start_ms < 3100
    assert app.session.limit_ms == 60000 and app.pending_cfg is None


def test_every_setting_the_session_takes_from_the_config_is_applied():
    a = config.validate({})
    b = config.validate(
        {
            "light_n": 2,
            "medium_n": 9,
            "firm_n": 19,
            "over_n": 29,
            "session_limit_s": 120,
            "idle_stop_s": 9,
            "hold_min_s": 7,
            "hold_max_s": 70,
            "max_sessions_per_day": 5,
            "warn_before_s": 20,
        }
    )
    app = App(FakeBoard(), a)
    app.reconfigure(b)
    fresh_a, fresh_b = Session(a), Session(b)
    for name in fresh_b.__dict__:
        if getattr(fresh_a, name) != getattr(fresh_b, name):
            assert getattr(app.session, name) == getattr(fresh_b, name), name


def test_the_same_calibration_keeps_the_zero_and_a_new_one_takes_its_own():
    board = FakeBoard(counts=700)  # a zero drifted by 0.7 N, followed at rest
    app = App(board, config.validate({}))
    run_ticks(app, board, 0, 3000)
    followed = app.signal.cal.zero
    assert 0 < followed <= 700
    signal = app.signal
    app.reconfigure(config.validate({"light_n": 4}))
    assert app.signal is signal and app.signal.cal.zero == followed
    assert (
        app.signal.autozero.max_mn == SignalPath(config.validate({"light_n": 4})).autozero.max_mn
    )
    app.reconfigure(config.validate({"light_n": 4, "counts_per_n": 2000}))
    assert app.signal.cal.zero == followed and app.signal.cal.mn(2000) == 1000
    app.reconfigure(config.validate({"light_n": 4, "counts_per_n": 2000, "zero_counts": 650}))
    assert app.signal.cal.zero == 650
