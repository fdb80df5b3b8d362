"""`knotball calibrate scale|bands` end to end on the virtual ball, answers scripted on stdin:
the ball's sensor plays a trace of a person at the kitchen scale or against the wall (in
ball time, --speed 10), the command runs as a user runs it, and afterwards the ball's config,
its forces and the history say what the calibration did. Also every way it must refuse.

Traces start with a long rest (40 s of ball time, 4 s real): the command must have connected
and read the rest level by then, as the trace plays from the ball's first sample."""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time

import pytest
from ballpty import answering_pty
from vball_fixture import VirtualBall, deploy_firmware

from ball import config
from ball.wire import framing
from conftest import knotball
from knotball import traces
from knotball.calibration.fit import G
from knotball.history import store

SPEED = 10
REST_S = 40
BOOK_KG = 0.3
SIM_BOARDS = {  # the ball's config as deployed; physics from the board profile
    "sim": {},
    # A barometric ball's zero is learnt at boot; a config zero near it keeps the boot
    # reading (~101 kPa) from starting a session before it is learnt.
    "sim-baro": {"zero_counts": 101000},
    "sim-fsr": {"counts_per_n": 100000},  # the README's rough figure for FSRs
}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """One flash image per sim board: the firmware deployed with stock mpremote, then
    `knotball flash --board NAME --config` on a copy for the other boards."""
    tmp = tmp_path_factory.mktemp("images")
    base = deploy_firmware(tmp, tmp / "sim.img", SIM_BOARDS["sim"])
    out = {"sim": base}
    for board in ("sim-baro", "sim-fsr"):
        image = tmp / (board + ".img")
        shutil.copyfile(base, image)
        cfg = tmp / (board + ".json")
        cfg.write_text(json.dumps(SIM_BOARDS[board]))
        v = VirtualBall(tmp, image)
        try:
            v.wait_app()
            res = knotball("flash", "--port", v.port, "--board", board, "--config", cfg)
            assert res.returncode == 0, res.stderr
            assert v.wait_app()["board"] == board
            v.stop()
        finally:
            v.kill()
        out[board] = image
    return out


@pytest.fixture
def ball(images, tmp_path):
    """start(board, trace): a virtual ball on a copy of that board's image, up and running."""
    started = []

    def start(board, trace):
        image = tmp_path / "flash.img"
        shutil.copyfile(images[board], image)
        v = VirtualBall(tmp_path, image, "--trace", trace, "--speed", SPEED)
        started.append(v)
        v.wait_app()
        return v

    yield start
    for v in started:
        v.kill()


def scale_trace(path, loads_kg, then_n=None, book_kg=BOOK_KG):
    """A book on the ball throughout the flow; a press to book + each load, held 4 s,
    released; then (then_n) the ball off the scale and a 30 N-ish press well after the flow,
    to read the calibrated force."""
    b = traces.TraceBuilder(seed=4)
    book = book_kg * G
    b.force += [book] * b._n(REST_S)
    for kg in loads_kg:
        f = (book_kg + kg) * G
        b.ramp(1.5, f).hold(4, f, wobble_n=0.15).ramp(0.5, book)
        b.force += [book] * b._n(3)
    if then_n:
        # Calibrated: the ball comes off the scale (a book left on it for good would read as
        # the ball's new zero: the auto-zero takes a load that still, under light_n, as rest).
        b.ramp(0.5, 0).rest(8)
        b.ramp(1, then_n).hold(10, then_n, wobble_n=0).ramp(0.5, 0).rest(5)
    traces.write_csv(path, b.build(noise_pct=0.3, floor_n=0.02, spike_rate=0))
    return path


def bands_trace(path, presses):
    """(rise seconds, peak N) presses: up, down over 1.5 s, 3 s of rest each."""
    b = traces.TraceBuilder(seed=5).rest(REST_S)
    for rise_s, peak in presses:
        b.ramp(rise_s, peak).ramp(1.5, 0).rest(3)
    traces.write_csv(path, b.build(noise_pct=0.5, floor_n=0.02, spike_rate=0))
    return path


def calibrate(v, what, answers, *args, timeout=120):
    res = subprocess.run(
        [sys.executable, "-m", "knotball", "calibrate", what, "--port", v.port, "--json"]
        + [str(a) for a in args],
        input=answers,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    result = json.loads(res.stdout) if res.stdout.strip() else None
    return res, result


def ball_state(v):
    with v.link() as link:
        return link.hello(), link.cfg()


def live_force(v, above_n, n=40):
    """The median force of n live samples above `above_n` (a press in the trace)."""
    got = []
    with v.link(timeout=5) as link:
        for s in link.live():
            if s["force_n"] > above_n:
                got.append(s["force_n"])
            if len(got) >= n:
                break
    return sorted(got)[n // 2]


def test_scale_on_a_barometric_ball_fits_a_line_saves_it_and_the_ball_reads_true(ball, tmp_path):
    v = ball("sim-baro", scale_trace(tmp_path / "t.csv", (2, 4, 6), then_n=30))
    res, result = calibrate(v, "scale", "0.3\n\n2\n4000 g\n13.23 lb\n", "--yes")
    assert res.returncode == 0, res.stderr
    assert result["model"] == "linear" and result["saved"] and result["applied"]
    readme_keys = "kind ball saved applied history_id model values quality points error"
    assert set(readme_keys.split()) <= set(result) and result["error"] is None
    assert result["quality"]["verdict"] == "good"
    values = result["values"]
    assert values["counts_per_n"] == pytest.approx(23.7, rel=0.015)  # whole counts pre-float
    assert values["zero_counts"] == pytest.approx(101300, abs=5)
    assert "Saved on the ball" in res.stderr and "knotball calibrate bands" in res.stderr
    hello, cfg = ball_state(v)
    assert hello["calib"] is False  # taken out of calibration mode
    assert cfg["counts_per_n"] == values["counts_per_n"]
    assert cfg["zero_counts"] == values["zero_counts"]
    assert cfg["session_limit_s"] == config.DEFAULTS["session_limit_s"]  # the rest is kept
    assert live_force(v, 20) == pytest.approx(30, rel=0.04)  # the press after: 30 N
    (entry,) = store.History().calibrations(hello["id"])
    assert entry["kind"] == "scale" and entry["values"] == values
    assert entry["board"] == "sim-baro" and entry["sensor"] == "bmp280"
    assert [p["kg"] for p in entry["points"]["loads"]] == pytest.approx([2, 4, 6], abs=0.01)
    assert entry["points"]["book_kg"] == BOOK_KG


def test_scale_on_an_fsr_ball_fits_its_curve(ball, tmp_path):
    v = ball("sim-fsr", scale_trace(tmp_path / "t.csv", (2, 4, 6), then_n=30))
    res, result = calibrate(v, "scale", "0.3\n\n2\n4\n6\n", "--yes")
    assert result["model"] == "curve", res.stderr
    assert result["quality"]["exponent"] == pytest.approx(0.85, abs=0.03)
    assert result["quality"]["verdict"] == "good"
    assert result["quality"]["line_error_pct"] > 5  # a straight line would not do
    k = 100000 * 20 / 20**0.85  # the sim-fsr board's physics
    points = result["values"]["cal_points"]
    assert len(points) == 8
    for f, counts in points:
        if 10 <= f <= 70:
            assert counts == pytest.approx(k * f**0.85, rel=0.02), f
    # Until the firmware's piecewise calibration (signal.Calibration with cal_points) is
    # merged, the curve cannot be stored: the command says so and saves nothing. After the
    # merge this checks the curve is on the ball and reads the later 30 N press right.
    if "cal_points" not in config.DEFAULTS:
        assert res.returncode == 1 and not result["saved"]
        assert "cal_points" in result["error"]
        assert store.History().calibrations() == []
        return
    assert res.returncode == 0, res.stderr
    hello, cfg = ball_state(v)
    assert cfg["cal_points"] == points and cfg["zero_counts"] == result["values"]["zero_counts"]
    assert live_force(v, 20) == pytest.approx(30, rel=0.04)


def test_bands_from_three_slow_presses_a_fast_one_repeated(ball, tmp_path):
    trace = bands_trace(tmp_path / "t.csv", [(0.8, 40), (5, 40), (5, 36), (5, 44)])
    v = ball("sim", trace)
    res, result = calibrate(v, "bands", "\ny\n")
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("too fast (the peak came") == 1
    assert res.stderr.count("built up over") == 3
    level = result["quality"]["level_n"]
    assert level == pytest.approx(40, rel=0.03)  # the mean of 40, 36 and 44
    assert [p["peak_n"] for p in result["points"]] == pytest.approx([40, 36, 44], rel=0.03)
    assert all(p["rise_ms"] > 3500 for p in result["points"])
    edges = {"light_n": 5.0, "medium_n": 0.4 * level, "firm_n": 0.75 * level, "over_n": level}
    assert result["values"] == pytest.approx(edges, abs=0.06)
    hello, cfg = ball_state(v)
    assert {k: cfg[k] for k in edges} == result["values"]
    (entry,) = store.History().calibrations(hello["id"])
    assert entry["kind"] == "bands" and entry["quality"]["level_n"] == level


def test_a_garbage_answer_from_a_pipe_exits_2_saves_nothing_and_ends_calibration(ball, tmp_path):
    v = ball("sim-baro", scale_trace(tmp_path / "t.csv", (2,)))
    _, before = ball_state(v)
    res, result = calibrate(v, "scale", "a paperback\n")
    assert res.returncode == 2
    assert "'a paperback' is not a weight" in res.stderr and "nothing saved" in res.stderr
    assert "Traceback" not in res.stderr and not result["saved"]
    hello, after = ball_state(v)
    assert after == before and hello["calib"] is False
    assert store.History().calibrations() == []


def test_answers_ending_mid_flow_exit_2_and_declining_saves_nothing(ball, tmp_path):
    v = ball("sim", bands_trace(tmp_path / "t.csv", [(5, 40)] * 3))
    _, before = ball_state(v)
    res, _ = calibrate(v, "scale", "0\n")  # then nothing: the Enter never comes
    assert res.returncode == 2 and "end of input" in res.stderr
    res, result = calibrate(v, "bands", "\nn\n")
    assert res.returncode == 1 and "not saved" in res.stderr
    assert result["values"]["over_n"] == pytest.approx(40, rel=0.03)
    hello, after = ball_state(v)
    assert after == before and hello["calib"] is False
    assert store.History().calibrations() == []


def test_the_ball_id_is_stable_per_flash_image(images, tmp_path):
    """Kept after the image's last block: across restarts and in a copy of the image (the
    same ball), different for another image."""
    ids = []
    for image in (images["sim"], images["sim"], images["sim-fsr"]):  # sim-fsr: a copy
        v = VirtualBall(tmp_path, image)
        try:
            hello = v.wait_app()
            v.stop()
        finally:
            v.kill()
        ids.append(hello["id"])
        assert hello["board"] == image.stem and hello["sensor"] == "sim"
    assert ids[0] == ids[1] == ids[2] and ids[0].startswith("vb") and len(ids[0]) == 18
    blank = tmp_path / "blank.img"
    VirtualBall(tmp_path, blank).stop()
    tail = blank.read_bytes()[-12:]
    assert tail[:4] == b"KBID" and "vb" + tail[4:].hex() != ids[0]
    assert images["sim"].read_bytes()[-12:] == b"KBID" + bytes.fromhex(ids[0][2:])


def test_a_ball_in_a_session_is_left_alone(ball, tmp_path):
    trace = tmp_path / "t.csv"
    traces.write_csv(trace, [(0, 30.0), (60000, 30.0)])  # pressed from the start
    v = ball("sim", trace)
    deadline = time.monotonic() + 10
    while ball_state(v)[0]["session"] != "active":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    res, _ = calibrate(v, "bands", "\n")
    assert res.returncode == 1 and "a session is running" in res.stderr
    assert ball_state(v)[0]["session"] == "active"


def test_ctrl_c_takes_the_ball_out_of_calibration_mode(ball, tmp_path):
    v = ball("sim", bands_trace(tmp_path / "t.csv", [(5, 40)] * 3))
    proc = subprocess.Popen(
        [sys.executable, "-m", "knotball", "calibrate", "bands", "--port", v.port],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdin.write("\n")
    proc.stdin.flush()
    # By now the ball is in calibration mode (the command holds the port: it is the one
    # that could ask); Ctrl-C while it waits for the first press.
    assert "Press 1 of 3" in _read_until(proc.stdout, "Press 1 of 3")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and "interrupted" in err
    assert ball_state(v)[0]["calib"] is False


def _read_until(stream, text, timeout=20):
    """What the command printed up to `text` (prompts end without a newline)."""
    got = ""
    deadline = time.monotonic() + timeout
    while text not in got:
        assert time.monotonic() < deadline, got
        if select.select([stream], [], [], 0.1)[0]:
            got += os.read(stream.fileno(), 4096).decode()
    return got


@pytest.fixture
def old_ball():
    """A pty answering every `KB hello` as firmware of console protocol 1 would."""
    reply = framing.record(framing.REPLY, json.dumps({"command": "hello", "proto": 1}).encode())
    with answering_pty(lambda data: reply if b"KB hello" in data else None) as port:
        yield port


def test_old_firmware_no_ball_and_bad_options_are_clear_one_line_errors(old_ball, tmp_path):
    res = knotball("calibrate", "scale", "--port", old_ball)
    assert res.returncode == 2
    assert "protocol 1" in res.stderr and "knotball flash" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    res = knotball("calibrate", "bands", "--port", tmp_path / "no-such-port")
    assert res.returncode == 1 and "no such port" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    res = knotball("calibrate", "scale", "--loads", "6,2", "--port", tmp_path / "no-such-port")
    assert res.returncode == 2 and "--loads: give 2 or 3 increasing loads" in res.stderr


def test_at_a_terminal_a_garbage_answer_is_asked_again(ball, tmp_path):
    v = ball("sim", bands_trace(tmp_path / "t.csv", [(5, 40)] * 3))
    master, slave = os.openpty()  # a terminal in canonical mode: lines, Ctrl-D is the end
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "knotball", "calibrate", "scale", "--port", v.port],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(slave)
        slave = None
        _read_until(proc.stdout, "Weigh the book")
        os.write(master, b"a paperback\n")
        assert "is not a weight" in _read_until(proc.stdout, "is not a weight")
        os.write(master, b"250 g\n")
        _read_until(proc.stdout, "tare the scale")
        os.write(master, b"\x04")  # Ctrl-D: no more answers
        out, err = proc.communicate(timeout=20)
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)
    assert proc.returncode == 2 and "end of input" in err
    assert ball_state(v)[0]["calib"] is False
