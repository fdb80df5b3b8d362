# Feedback: LED per band, distinct haptic patterns, motor cap, everything off.
from ball import config, feedback
from ball import session as s
from ball.feedback import Feedback
from kbtest import FakeBoard


def drive(fb, sess, board, forces_mn, t0=0):
    t = t0
    for f in forces_mn:
        board.t = t
        fb.update(t, sess.step(t, f), sess)
        t += 10
    return t


def test_led_colour_follows_the_band():
    board = FakeBoard()
    sess = s.Session(config.DEFAULTS)
    fb = Feedback(board)
    drive(fb, sess, board, [30000] * 20)
    assert board.rgb == feedback.BAND_RGB[s.MEDIUM]
    drive(fb, sess, board, [10000] * 100, 200)
    assert board.rgb == feedback.BAND_RGB[s.LIGHT]


def test_every_cue_has_a_distinct_pattern():
    pats = (
        feedback.START,
        feedback.HOLD_EFFECTIVE,
        feedback.HOLD_LONG,
        feedback.TIME_WARNING,
        feedback.DONE,
        feedback.REST,
        feedback.TOO_HARD,
        feedback.SYMPTOM,
    )
    rhythms = [p[0] for p in pats]
    for i in range(len(rhythms)):
        for j in range(i + 1, len(rhythms)):
            assert rhythms[i] != rhythms[j]
    for p in pats:
        for k in range(0, len(p[0]), 2):
            assert p[0][k] < feedback.MOTOR_MAX_ON_MS


def test_pattern_plays_without_blocking_then_stops():
    board = FakeBoard()
    fb = Feedback(board)
    sess = s.Session(config.DEFAULTS)
    fb.play(0, feedback.HOLD_EFFECTIVE)
    drive(fb, sess, board, [0] * 50)
    ons = [t for t, d in board.motor_log if d > 0]
    offs = [t for t, d in board.motor_log if d == 0]
    assert ons[:2] == [0, 240]
    assert offs[-1] == 360
    assert board.duty == 0 and not fb.playing()


def test_higher_priority_cue_preempts():
    board = FakeBoard()
    fb = Feedback(board)
    fb.play(0, feedback.HOLD_EFFECTIVE)
    fb.play(10, feedback.TOO_HARD)
    assert fb._pat is feedback.TOO_HARD
    fb.play(20, feedback.START)
    assert fb._pat is feedback.TOO_HARD


def test_motor_is_never_on_longer_than_the_cap():
    board = FakeBoard()
    fb = Feedback(board)
    sess = s.Session(config.DEFAULTS)
    fb.play(0, ((10000,), 1000, 9))  # a pattern that asks for 10 s on
    drive(fb, sess, board, [0] * 1000)
    on_at = [t for t, d in board.motor_log if d > 0][0]
    off_at = [t for t, d in board.motor_log if d == 0 and t > on_at][0]
    assert off_at - on_at <= feedback.MOTOR_MAX_ON_MS


def test_too_hard_repeats_while_too_hard():
    board = FakeBoard()
    fb = Feedback(board)
    sess = s.Session(config.DEFAULTS)
    drive(fb, sess, board, [70000] * 350)
    bursts = [t for t, d in board.motor_log if d == 1000]
    assert bursts[0] <= 40
    assert len([t for t in bursts if t > 900]) >= 8  # still warning after a second


def test_off_turns_everything_off():
    board = FakeBoard()
    fb = Feedback(board)
    sess = s.Session(config.DEFAULTS)
    fb.play(0, feedback.DONE)
    drive(fb, sess, board, [30000] * 20)
    fb.off()
    assert board.duty == 0 and board.rgb == (0, 0, 0) and not fb.playing()


def test_calm_after_stop():
    board = FakeBoard()
    fb = Feedback(board)
    cfg = dict(config.DEFAULTS)
    cfg["session_limit_s"] = 2
    cfg["warn_before_s"] = 1
    sess = s.Session(cfg)
    drive(fb, sess, board, [30000] * 600)
    assert sess.state == s.STOPPED
    assert board.rgb == feedback.DONE_RGB and board.duty == 0


def led_over(fb, sess, board, forces_mn, t0):
    """Drive the feedback; return (t, rgb) for every LED change."""
    seen = []
    t = t0
    for f in forces_mn:
        board.t = t
        fb.update(t, sess.step(t, f), sess)
        if not seen or seen[-1][1] != board.rgb:
            seen.append((t, board.rgb))
        t += 10
    return seen


def test_drift_winks_yellow_between_sessions_and_never_during_one():
    rgb = feedback.DRIFT_RGB
    others = feedback.BAND_RGB + (feedback.DONE_RGB, feedback.REST_RGB, feedback.FAULT_RGB)
    assert rgb not in others and rgb != feedback.OFF_RGB
    board = FakeBoard()
    sess = s.Session(config.validate({"idle_stop_s": 2}))
    fb = Feedback(board)
    fb.drift = True
    ready = led_over(fb, sess, board, [0] * 600, 0)  # 6 s waiting
    winks = [t for t, c in ready if c == rgb]
    assert winks == [0, 2000, 4000]  # 200 ms every 2 s, over the idle colour
    assert [c for t, c in ready if t % 2000 == 200] == [feedback.BAND_RGB[s.IDLE]] * 3
    led_over(fb, sess, board, [0] * 100, 6000)
    active = led_over(fb, sess, board, [30000] * 500, 7000)  # a 5 s session: no wink
    assert rgb not in [c for _, c in active] and sess.state == s.ACTIVE
    after = led_over(fb, sess, board, [0] * 600, 12000)  # it stops idle: winks over the calm
    assert rgb in [c for _, c in after] and feedback.DONE_RGB in [c for _, c in after]
    fb.drift = False
    assert rgb not in [c for _, c in led_over(fb, sess, board, [0] * 300, 18000)]


def test_the_app_shows_the_signal_paths_drift_flag():
    from ball.app import App

    board = FakeBoard()
    app = App(board, config.DEFAULTS)
    app.tick(0)
    assert board.rgb != feedback.DRIFT_RGB
    app.signal.drift_bad = True
    app.tick(2000)
    assert board.rgb == feedback.DRIFT_RGB
    app.signal.drift_bad = False
    app.tick(4000)
    assert board.rgb == feedback.BAND_RGB[s.IDLE]
