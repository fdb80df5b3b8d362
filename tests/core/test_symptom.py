# Stop on symptoms: two quick firm squeezes end the session as "symptom", the host can end
# it the same way, and the rest of the day is rest.
from ball import config, feedback
from ball import session as s
from ball.app import App
from ball.feedback import Feedback
from ball.wire import CUE_NAMES
from kbtest import FakeBoard, run_session


def make(**over):
    cfg = dict(config.DEFAULTS)
    cfg.update(over)
    return s.Session(config.validate(cfg))


def rest_due(sess):
    """The next contact would get the rest signal (what `KB hello` reports as rest)."""
    return sess.resting or sess.sessions_today >= sess.max_per_day


def squeeze(peak_mn, ms=250):
    """One quick squeeze in the hand, 10 ms samples: up to peak_mn, a moment there, down."""
    n = ms // 10
    rise = n * 2 // 5
    top = n - 2 * rise
    up = [peak_mn * (i + 1) // rise for i in range(rise)]
    return up + [peak_mn] * top + up[::-1]


def released(ms):
    return [0] * (ms // 10)


def rolling(seconds):
    """Rolling without letting go: 12..40 N at 0.5 Hz."""
    out = []
    for i in range(seconds * 100):
        phase = i % 200
        out.append(12000 + 280 * (phase if phase < 100 else 200 - phase))
    return out


def stops(events):
    return [t for t, ev in events if ev & s.EV_STOP]


def test_two_quick_firm_squeezes_end_the_session_as_symptom():
    sess = make(session_limit_s=120)
    forces = released(500) + rolling(10) + released(1000)
    forces += squeeze(45000) + released(300) + squeeze(45000) + released(3000)
    ev = run_session(sess, forces)
    assert len(stops(ev)) == 1
    assert sess.stop_reason == s.STOP_SYMPTOM
    assert sess.cue_counts[CUE_NAMES.index("done")] == 1
    # Stopped at the release of the second squeeze, not at the end of the trace.
    assert stops(ev)[0] < (len(forces) - 250) * 10


def test_the_gesture_as_first_contact_starts_a_session_and_ends_it_as_symptom():
    sess = make()
    forces = released(500) + squeeze(50000) + released(200) + squeeze(50000) + released(100)
    ev = run_session(sess, forces)
    assert len([1 for _, e in ev if e & s.EV_START]) == 1
    assert len(stops(ev)) == 1 and sess.stop_reason == s.STOP_SYMPTOM
    assert sess.elapsed_ms < 1000


def test_the_gestures_squeezes_are_not_counted_as_pressing_too_hard():
    sess = make(session_limit_s=120)
    forces = released(500) + rolling(5) + released(1000)
    forces += squeeze(80000) + released(300) + squeeze(90000) + released(500)
    ev = run_session(sess, forces)
    assert [1 for _, e in ev if e & s.CUE_TOO_HARD]  # the cue played: nobody knew yet
    assert sess.stop_reason == s.STOP_SYMPTOM
    assert sess.over_count == 0 and sess.cue_counts[CUE_NAMES.index("too_hard")] == 0
    assert sess.peak_mn < 45000  # the rolling's peak, not the squeezes'


def test_what_is_not_the_gesture_leaves_the_session_running():
    cases = {
        "one squeeze": squeeze(50000),
        "slow presses": squeeze(50000, 700) + released(300) + squeeze(50000, 700),
        "a long gap": squeeze(50000) + released(800) + squeeze(50000),
        "soft squeezes": squeeze(28000) + released(300) + squeeze(28000),
        "not let go": squeeze(50000) + [8000] * 30 + squeeze(50000),
    }
    for name, gesture in cases.items():
        sess = make(session_limit_s=120)
        run_session(sess, released(500) + rolling(5) + released(1000) + gesture + released(500))
        assert sess.state == s.ACTIVE, name


def test_a_third_squeeze_is_not_needed_and_a_pair_after_a_single_one_counts():
    sess = make(session_limit_s=120)
    forces = released(500) + rolling(3) + released(1000) + squeeze(50000) + released(1500)
    forces += squeeze(50000) + released(300) + squeeze(50000) + released(100)
    run_session(sess, forces)
    assert sess.stop_reason == s.STOP_SYMPTOM


def test_outside_a_session_the_gesture_does_nothing():
    sess = make(session_limit_s=2)
    forces = released(100) + [25000] * 250  # the session stops at its limit, still pressed
    forces += released(500) + squeeze(50000) + released(300) + squeeze(50000)
    ev = run_session(sess, forces)
    assert len(stops(ev)) == 1 and sess.stop_reason == s.STOP_TIME_LIMIT
    assert not rest_due(sess)


def test_after_a_symptom_stop_the_next_contact_gets_rest_until_a_new_day():
    sess = make(max_sessions_per_day=3)
    forces = released(500) + squeeze(50000) + released(300) + squeeze(50000) + released(3000)
    run_session(sess, forces)
    assert sess.sessions_today == 1 and rest_due(sess)
    ev = run_session(sess, [25000] * 100, start_ms=10000)
    assert [1 for _, e in ev if e & s.CUE_REST] and not [1 for _, e in ev if e & s.EV_START]
    sess.new_day()
    ev = run_session(sess, released(3000) + [25000] * 100, start_ms=20000)
    assert [1 for _, e in ev if e & s.EV_START]


def test_end_stops_a_running_session_with_the_done_cue_tallied():
    sess = make()
    run_session(sess, [25000] * 100)
    ev = sess.end(1000, s.STOP_SYMPTOM)
    assert ev & s.EV_STOP and ev & s.CUE_DONE
    assert sess.stop_reason == s.STOP_SYMPTOM and rest_due(sess)
    assert sess.cue_counts[CUE_NAMES.index("done")] == 1
    assert sess.end(1010, s.STOP_SYMPTOM) == 0


def test_app_request_stop_reaches_listener_feedback_and_session_on_the_next_tick():
    board = FakeBoard(counts=25000)
    app = App(board, config.DEFAULTS)
    heard = []
    app.listener = lambda now, ev: heard.append((now, ev))
    for i in range(100):
        app.now = i * 10  # as App.run keeps it
        app.tick(app.now)
    assert app.request_stop(s.STOP_SYMPTOM)
    assert not [1 for _, ev in heard if ev & s.EV_STOP]  # not before the next tick
    app.tick(1000)
    stop = [now for now, ev in heard if ev & s.EV_STOP and ev & s.CUE_DONE]
    assert stop == [1000] and app.session.stop_reason == s.STOP_SYMPTOM
    assert app.session.elapsed_ms == 990 - app.session.start_ms  # stopped when asked
    assert app.feedback._pat is feedback.SYMPTOM
    assert not app.request_stop(s.STOP_SYMPTOM)  # nothing running any more


def test_symptom_stop_has_its_own_feel_and_colour():
    board = FakeBoard()
    sess = make()
    fb = Feedback(board)
    t = 0
    forces = released(500) + squeeze(50000) + released(300) + squeeze(50000) + released(200)
    for f in forces:
        fb.update(t, sess.step(t, f), sess)
        t += 10
    assert sess.stop_reason == s.STOP_SYMPTOM
    assert board.rgb == feedback.SYMPTOM_RGB and board.duty > 0
    assert feedback.SYMPTOM[0] != feedback.DONE[0] and feedback.SYMPTOM[1] < feedback.DONE[1]
    assert feedback.SYMPTOM_RGB not in (feedback.DONE_RGB, feedback.REST_RGB)
    for _ in range(300):
        fb.update(t, sess.step(t, 0), sess)
        t += 10
    assert board.duty == 0  # the buzz ends
