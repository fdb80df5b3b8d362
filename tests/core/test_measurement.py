# An area's threshold measured on the ball itself (ball/measure.py), as the phone page asks
# for it: three slow presses in calibration mode, the page renewing it every second, the
# result kept as one threshold file. The real loop (App.run) on a virtual clock.
import os

from ball import config, log
from ball import session as s
from ball.app import App
from ball.console import Refused
from ball.control import Control
from ball.dose import Dose
from ball.measure import BUZZ_AGAIN, BUZZ_GOT_IT, FILES_MAX, Busy, Trial, band_edges
from ball.wire import threshold
from kbtest import FakeBoard, raises, tmp_path

REST_MS = 1000
FALL_MS = 1500
GAP_MS = 2000


class PressBoard(FakeBoard):
    """Presses (rise ms, peak N) one after the other, from REST_MS: up linearly, down over
    FALL_MS, GAP_MS at rest. 1000 counts per N (the default calibration). fault_at: from
    then on the sensor's bus fails."""

    def __init__(self, presses, fault_at=None):
        super().__init__()
        self.presses = presses
        self.fault_at = fault_at
        self.end = REST_MS + sum(r + FALL_MS + GAP_MS for r, _ in presses)

    def read_sensor(self):
        if self.fault_at is not None and self.t >= self.fault_at:
            raise OSError(5, "bus error")
        t = self.t - REST_MS
        for rise, peak in self.presses:
            if t < 0:
                return 0
            if t < rise:
                return peak * 1000 * t // rise
            if t < rise + FALL_MS:
                return peak * 1000 * (rise + FALL_MS - t) // FALL_MS
            t -= rise + FALL_MS + GAP_MS
        return 0


def ball(name, presses, cfg=None, fault_at=None):
    root = tmp_path(name)
    os.mkdir(root)
    cfg = config.validate(cfg or {})
    board = PressBoard(presses, fault_at)
    app = App(board, cfg, None, log.SessionLog(root, cfg, "test"), dose=Dose())
    return app, board, Control(app, root + "/config.json"), root


def run(app, board, control, until_ms, ask=True, seen=None):
    """The real loop until board time until_ms; the page asks for the state every second
    (ask) and `seen` collects the states it got."""
    at = [board.t]

    def stop():
        if ask and board.t >= at[0]:
            at[0] += 1000
            got = control.measure_status(app.now)
            if seen is not None and (not seen or seen[-1] != got["state"]):
                seen.append(got["state"])
        return board.t >= until_ms

    app.run(stop)


def buzzes(board):
    """(start, length) of each buzz, in ms."""
    out = []
    on = None
    for t, duty in board.motor_log:
        if duty and on is None:
            on = t
        elif not duty and on is not None:
            out.append((on, t - on))
            on = None
    return out


def thresholds(root):
    return sorted(n for n in os.listdir(root) if threshold.number_of(n) is not None)


def test_three_slow_presses_are_kept_as_one_threshold_file_numbered_above_the_last():
    app, board, control, root = ball("m-good", [(5000, 40), (5000, 36), (5000, 44)])
    with open(root + "/t0000007.kbt", "wb") as f:
        f.write(b"an older one, not pulled yet")
    got = control.measure_start("calves", app.now)
    assert got["state"] == "waiting" and got["press"] == 1 and got["of"] == 3
    assert app.calib
    seen = []
    run(app, board, control, board.end + 500, seen=seen)
    assert seen[0] in ("waiting", "pressing") and "got" in seen and seen[-1] == "done"
    assert thresholds(root) == ["t0000007.kbt", "t0000008.kbt"]
    with open(root + "/t0000008.kbt", "rb") as f:
        kept = threshold.unpack(f.read())
    assert kept["area"] == "calves" and kept["unix"] == 0 and kept["boot"] == app.boot_id
    assert [round(p) for p in kept["peaks_n"]] == [40, 36, 44]
    assert all(3500 < r <= 5000 for r in kept["rise_ms"])
    assert round(kept["level_n"]) == 40 and 19 <= kept["spread_pct"] <= 21
    assert 15 <= kept["uptime_s"] <= 30
    status = control.measure_status(app.now)
    assert status["state"] == "done" and status["file"] == "t0000008.kbt"
    assert status["level_n"] == round(kept["level_n"], 1) and len(status["peaks_n"]) == 3
    assert not app.calib  # back to sessions, and no session started while measuring
    assert app.session.sessions_today == 0
    assert [round(n, -1) for _, n in buzzes(board)] == [BUZZ_GOT_IT] * 3


def test_a_press_too_fast_gets_the_long_buzz_and_is_done_again():
    app, board, control, root = ball("m-fast", [(800, 30), (4000, 30), (4000, 30), (4000, 30)])
    control.measure_start("calves", app.now)
    seen = []
    run(app, board, control, board.end + 500, seen=seen)
    assert "too_fast" in seen and seen[-1] == "done"
    assert [round(n, -1) for _, n in buzzes(board)] == [BUZZ_AGAIN] + [BUZZ_GOT_IT] * 3
    (name,) = thresholds(root)
    with open(root + "/" + name, "rb") as f:
        assert len(threshold.unpack(f.read())["peaks_n"]) == 3


def test_a_sensor_fault_mid_press_fails_it_with_the_motor_off():
    app, board, control, root = ball("m-fault", [(5000, 40)] * 3)
    fault_at = REST_MS + 5000 + FALL_MS + GAP_MS + 2500  # halfway up the second press
    board.fault_at = fault_at
    control.measure_start("calves", app.now)
    run(app, board, control, board.end)
    status = control.measure_status(app.now)
    assert status["state"] == "failed" and "sensor fault" in status["error"]
    assert status["peaks_n"] and round(status["peaks_n"][0]) == 40
    assert board.duty == 0 and not [t for t, d in board.motor_log if d and t >= fault_at]
    assert thresholds(root) == [] and not app.calib


def test_a_measurement_lapses_when_the_page_stops_asking():
    app, board, control, root = ball("m-lapse", [(5000, 40)] * 3)
    control.measure_start("calves", app.now)
    run(app, board, control, 9000, ask=False)
    assert app.calib
    run(app, board, control, 10500, ask=False)
    status = control.measure_status(app.now)
    assert not app.calib and status["state"] == "failed" and "10 s" in status["error"]
    assert thresholds(root) == []


def test_a_phone_left_asking_with_no_press_for_2_minutes_gives_the_ball_back_to_sessions():
    app, board, control, root = ball("m-forgot", [])
    control.measure_start("calves", app.now)
    run(app, board, control, 110000)
    assert app.calib and control.measure_status(app.now)["state"] == "waiting"
    run(app, board, control, 125000)  # the page still asks every second
    status = control.measure_status(app.now)
    assert status["state"] == "failed" and "no press for 2 minutes" in status["error"]
    assert not app.calib and thresholds(root) == []


def test_a_session_runs_again_once_a_measurement_lapsed():
    app, board, control, root = ball("m-after", [(1, 30)] + [(5000, 40)] * 3)
    board.presses = [(REST_MS, 0)] * 11 + [(5000, 40)]  # the first press after 11 s
    board.end = 11 * (REST_MS + FALL_MS + GAP_MS) + 20000
    control.measure_start("calves", app.now)
    run(app, board, control, board.end, ask=False)
    assert app.session.sessions_today == 1


def test_a_measurement_is_refused_during_a_session_and_a_session_waits_for_it():
    app, board, control, root = ball("m-busy", [(500, 30)])
    refused = []

    def stop():
        if app.session.state == s.ACTIVE and not refused:
            refused.append(raises(Busy, control.measure_start, "calves", app.now))
            assert not app.calib
        return board.t >= REST_MS + 1000

    app.run(stop)
    assert refused and "session is running" in str(refused[0])
    app2, board2, control2, _ = ball("m-busy2", [(500, 30)] * 3)
    control2.measure_start("calves", app2.now)
    run(app2, board2, control2, board2.end)
    assert app2.session.state == s.READY and app2.session.sessions_today == 0


def test_an_unknown_area_is_a_bad_request_and_a_full_flash_asks_to_pull_first():
    app, board, control, root = ball("m-refused", [])
    e = raises(Refused, control.measure_start, "elbows", 0)
    assert not isinstance(e, Busy) and "not an area of this ball" in str(e)
    e = raises(Refused, control.measure_start, "Calves!", 0)
    assert not isinstance(e, Busy) and "a-z" in str(e)
    for n in range(1, FILES_MAX + 1):
        with open(root + "/" + threshold.file_name(n), "wb") as f:
            f.write(b"x")
    e = raises(Busy, control.measure_start, "calves", 0)
    assert "pull first" in str(e) and not app.calib
    assert control.measure_status(0)["state"] == "idle"


def test_a_level_too_low_to_trust_fails_with_its_reason_and_keeps_nothing():
    app, board, control, root = ball("m-low", [(4000, 6)] * 3, {"light_n": 1.0})
    control.measure_start("calves", app.now)
    run(app, board, control, board.end + 500)
    status = control.measure_status(app.now)
    assert status["state"] == "failed" and "too low" in status["error"]
    assert thresholds(root) == [] and not app.calib


def test_stop_cancels_and_the_bands_are_set_from_a_result_only_when_asked():
    app, board, control, root = ball("m-bands", [(5000, 30)] * 3)
    assert "measure first" in str(raises(Busy, control.measure_bands))
    control.measure_start("calves", app.now)
    assert control.measure_stop(app.now)["state"] == "idle" and not app.calib
    control.measure_start("calves", app.now)
    run(app, board, control, board.end + 500)
    assert control.measure_status(app.now)["state"] == "done"
    assert app.cfg["over_n"] == 55.0  # unchanged until asked
    level = control.measure_status(app.now)["level_n"]
    got = control.measure_bands()
    assert got["set"] == band_edges(level) and app.cfg["over_n"] == round(level, 1)
    assert config.load(root + "/config.json")["firm_n"] == got["set"]["firm_n"]
    assert app.session.edges[4] == int(got["set"]["over_n"] * 1000)


def test_the_detector_keeps_the_peak_the_rise_and_sees_clipping_in_constant_memory():
    t = Trial(5000)
    assert not t.step(0, 30000, 30000, 0)  # under way at the start: ignored
    assert not t.step(10, 0, 0, 0)
    ended = False
    for i in range(0, 4001, 10):  # 40 N in 4 s, the reading clipped at 30 N
        f = 40 * i // 4
        ended = ended or t.step(20 + i, min(f, 30000), f, 0)
    for i in range(10, 400, 10):
        ended = ended or t.step(4020 + i, 0, 0, 0)
    assert ended and t.peak_mn == 30000 and 2400 <= t.rise_ms <= 2600 and t.clipped()
    t2 = Trial(5000)
    t2.step(0, 0, 0, 0)
    for i in range(0, 3001, 10):
        t2.step(i, 40 * i // 3, 40 * i // 3, 0)
    assert not t2.clipped() and t2.peak_mn == 40000 and t2.rise_ms == 3000 - 380
