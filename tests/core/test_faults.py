# Sensor faults: a loose wire, a saturated or frozen sensor. The motor goes off in the very
# sample that saw the fault, the LED shows the fault, the session keeps to its limit without
# readings, the sensor is retried, and the session resumes or ends cleanly.
from ball import config, feedback
from ball import session as s
from ball.app import FAULT_BUS, FAULT_SENSOR, FAULT_STUCK, App
from ball.sensors import SensorFault
from kbtest import FakeBoard, run_ticks


class FlakyBoard(FakeBoard):
    def __init__(self, counts):
        super().__init__(counts)
        self.fail = None  # an exception to raise from read_sensor, or None
        self.resets = 0

    def read_sensor(self):
        if self.fail is not None:
            raise self.fail
        return self.counts

    def reset_sensor(self):
        self.resets += 1


def make(limit_s=60, stuck_ms=0):
    board = FlakyBoard(counts=30000)
    board.stuck_ms = stuck_ms
    cfg = config.validate({"session_limit_s": limit_s})
    events = []
    app = App(board, cfg, lambda now, ev: events.append((now, ev)))
    return board, app, events


def first(events, bit, after=0):
    for t, ev in events:
        if ev & bit and t >= after:
            return t
    return None


def test_loose_wire_turns_the_motor_off_in_the_same_sample():
    board, app, events = make()
    board.counts = 70000  # too hard: the warning buzz is playing
    t = run_ticks(app, board, 0, 40)
    while board.duty == 0:  # to a moment the motor is on
        t = run_ticks(app, board, t, 10)
    assert t < 200
    board.fail = OSError(5, "EIO")
    app.tick(t)
    assert board.duty == 0  # the same sample: well within 100 ms
    assert app.fault == FAULT_BUS and "5" in app.fault_text
    assert board.rgb == feedback.FAULT_RGB
    assert first(events, s.EV_FAULT) == t


def test_brief_fault_resumes_the_session():
    board, app, events = make()
    t = run_ticks(app, board, 0, 2000)
    board.fail = SensorFault("saturated")
    t = run_ticks(app, board, t, 1200)
    assert app.fault == FAULT_SENSOR and app.session.state == s.ACTIVE
    assert board.resets >= 2  # retried every 500 ms
    board.fail = None
    t = run_ticks(app, board, t, 500)
    assert app.fault == 0 and first(events, s.EV_FAULT_CLEAR) is not None
    assert app.session.state == s.ACTIVE and app.session.band == s.MEDIUM
    assert board.rgb == feedback.BAND_RGB[s.MEDIUM]


def test_lasting_fault_ends_the_session_cleanly():
    board, app, events = make()
    t = run_ticks(app, board, 0, 2000)
    board.fail = OSError(19, "ENODEV")
    run_ticks(app, board, t, 6000)
    assert app.session.state == s.STOPPED
    assert app.session.stop_reason == s.STOP_SENSOR_FAULT
    stop = first(events, s.EV_STOP)
    assert stop - t <= 5010
    assert board.duty == 0 and board.rgb in (feedback.FAULT_RGB, feedback.OFF_RGB)


def test_time_limit_still_stops_a_blind_session():
    board, app, events = make(limit_s=10)
    t = run_ticks(app, board, 0, 8000)
    board.fail = SensorFault("not ready")
    run_ticks(app, board, t, 4000)
    start = first(events, s.EV_START)
    assert first(events, s.EV_STOP) - start <= 10010
    assert app.session.stop_reason == s.STOP_TIME_LIMIT
    assert sum(app.session.band_ms) == app.session.elapsed_ms


def test_frozen_reading_is_a_fault_when_the_board_checks():
    board, app, events = make(stuck_ms=2000)
    t = run_ticks(app, board, 0, 1000)
    assert app.fault == 0
    t = run_ticks(app, board, t, 1500)
    assert app.fault == FAULT_STUCK and board.duty == 0
    board.counts += 7  # it moves again
    run_ticks(app, board, t, 100)
    assert app.fault == 0


def test_a_sensor_stuck_for_good_ends_the_session_as_a_fault():
    """Re-initialising a frozen sensor that still reads the same is no cure: the fault
    lasts, and the session ends as sensor_fault 5 s in, not at its limit."""
    board, app, events = make(limit_s=60, stuck_ms=2000)
    run_ticks(app, board, 0, 12000)
    assert board.resets > 0
    assert app.session.stop_reason == s.STOP_SENSOR_FAULT
    stop = first(events, s.EV_STOP)
    assert stop is not None and stop <= 2000 + 5000 + 2 * 10
    assert first(events, s.EV_FAULT_CLEAR) is None  # never cleared while frozen


def test_no_fault_cue_and_no_band_while_blind():
    board, app, events = make()
    t = run_ticks(app, board, 0, 1000)
    board.fail = OSError(5, "EIO")
    t = run_ticks(app, board, t, 2000)
    assert app.session.band == s.IDLE
    cues = [ev for tt, ev in events if tt > 1000 and ev & (s.CUE_TOO_HARD | s.CUE_HOLD_EFFECTIVE)]
    assert cues == []


def test_fault_is_logged_in_the_session():
    from ball.log import SessionLog
    from ball.wire import logfile
    from kbtest import tmp_path

    root = tmp_path("faultlog")
    board = FlakyBoard(counts=30000)
    cfg = config.validate({"session_limit_s": 10})
    wlog = SessionLog(root, cfg, "test")
    app = App(board, cfg, None, wlog)
    t = 0
    while t < 12000:
        board.t = t
        board.fail = OSError(5, "EIO") if 3000 <= t < 4000 else None
        app.tick(t)
        wlog.service(True)
        t += 10
    with open(root + "/00000001.kbl", "rb") as f:
        sessions, damage = logfile.parse(f.read())
    assert damage is None
    (t1, what1), (t2, what2) = sessions[0]["faults"]  # in session time (from first contact)
    assert what1 == "bus" and what2 == "cleared" and t2 - t1 == 1000
    assert 2900 <= t1 <= 3000
    assert sessions[0]["stop_reason"] == "time_limit"
