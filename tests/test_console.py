"""The USB console end to end: the firmware on the MicroPython unix port, its stdin/stdout
on a pty, and the host's Link talking to it through pyserial on a second pty's path.

The ball's pty is raw (bytes pass unchanged, no \\n -> \\r\\n) but keeps ISIG, so a 0x03
from the host raises SIGINT -> KeyboardInterrupt, as Ctrl-C does on the unix port. Link
cannot open the ball's own pty slave (it would talk to itself), so a relay copies bytes
between the two pty masters, as the virtual ball will.
"""

import json
import time
import zlib

import pytest
from ballpty import CFG, Ball

from ball.wire import framing
from knotball.transport.link import BallError, Link, LinkError


@pytest.fixture(scope="module")
def ball(tmp_path_factory):
    b = Ball(tmp_path_factory.mktemp("consoleball"))
    yield b
    b.close()


@pytest.fixture
def finished(ball):
    """The ball once its session has stopped and its file is closed."""
    ball.wait_text("event session_stop")
    deadline = time.monotonic() + 10
    while True:
        files = {f["name"]: f for f in ball.link.ls()}
        if "00000001.kbl" in files and not files["00000001.kbl"]["active"]:
            return ball
        assert time.monotonic() < deadline, files
        time.sleep(0.1)


def test_hello_names_the_firmware_and_protocol(ball):
    reply = ball.link.hello()
    assert reply["proto"] == 2
    assert reply["firmware"]
    assert reply["sensor"] == "sim" and reply["calib"] is False and "id" in reply
    assert reply["session"] in ("ready", "active", "stopped")
    assert reply["uptime_ms"] >= 0


def test_live_samples_arrive_and_the_session_still_stops_at_its_limit(ball):
    states = []
    for sample in ball.link.live():
        states.append(sample["state"])
        if "active" in states and sample["state"] == "stopped" or len(states) > 400:
            break
    assert "active" in states
    assert ball.link.hello()["live"] is False  # the iterator turned the stream off
    ball.wait_text("event session_stop time_limit")


def test_console_text_between_frames_does_not_break_parsing(ball):
    ball.wait_text("consoleball ready")
    ball.wait_text("event session_start")
    assert ball.link.hello()["proto"] == 2


def test_ls_lists_the_finished_session_with_its_crc(finished):
    files = {f["name"]: f for f in finished.link.ls()}
    data = (finished.logdir / "00000001.kbl").read_bytes()
    assert files["00000001.kbl"]["size"] == len(data)
    assert files["00000001.kbl"]["crc32"] == zlib.crc32(data)
    assert files["blob.bin"]["crc32"] == zlib.crc32(finished.blob)


def test_get_returns_the_files_bytes_in_several_chunks(finished):
    files = {f["name"]: f for f in finished.link.ls()}
    frames = []
    on_frame = finished.link.frame

    def counting(deadline):
        got = on_frame(deadline)
        if got and got[0] == framing.DATA:
            frames.append(len(got[1]))
        return got

    finished.link.frame = counting
    try:
        blob = finished.link.get("blob.bin", 5000, files["blob.bin"]["crc32"])
    finally:
        del finished.link.frame
    assert blob == finished.blob
    assert len(frames) == 5
    session = files["00000001.kbl"]
    got = finished.link.get("00000001.kbl", session["size"], session["crc32"])
    assert got == (finished.logdir / "00000001.kbl").read_bytes()


def test_rm_deletes_only_with_the_files_current_crc(finished):
    path = finished.logdir / "00000001.kbl"
    crc = zlib.crc32(path.read_bytes())
    with pytest.raises(BallError, match="nothing deleted"):
        finished.link.rm("00000001.kbl", crc ^ 1)
    assert path.exists()
    finished.link.rm("00000001.kbl", crc)
    assert not path.exists()
    assert "00000001.kbl" not in [f["name"] for f in finished.link.ls()]


def test_rm_removes_a_threshold_file_only_with_its_current_crc(ball):
    from ball.wire import threshold

    path = ball.logdir / threshold.file_name(1)
    path.write_bytes(threshold.pack(0, 1, 2, 30.0, 0.0, [(30.0, 5000)], "calves"))
    crc = zlib.crc32(path.read_bytes())
    with pytest.raises(BallError, match="nothing deleted"):
        ball.link.rm(path.name, crc ^ 1)
    assert path.exists()
    ball.link.rm(path.name, crc)
    assert not path.exists()


@pytest.mark.parametrize("name", ["next_id", "blob.bin", "t0000001.kbt.bak"])
def test_rm_removes_nothing_but_a_finished_session_log_even_with_its_true_crc(ball, name):
    """The day's count and the next id live in next_id: removing it would lift the
    sessions-per-day limit and reuse ids after a reset."""
    path = ball.logdir / name
    if not path.exists():
        path.write_bytes(b"a file pull never takes")
    before = path.read_bytes()
    with pytest.raises(BallError, match="only a finished session log") as e:
        ball.link.rm(name, zlib.crc32(before))
    assert e.value.reply["command"] == "rm"
    assert path.read_bytes() == before
    assert ball.link.hello()["proto"] == 2


def test_rm_refuses_the_session_log_being_written(ball):
    ball.wait_text("event session_start")
    active = [f for f in ball.link.ls() if f["active"]]
    if active:  # (the session may already have ended on a slow machine)
        with pytest.raises(BallError, match="being written"):
            ball.link.rm(active[0]["name"], active[0]["crc32"])
        assert (ball.logdir / active[0]["name"]).exists()


def test_cfg_over_the_hard_cap_is_refused_naming_the_key(ball):
    before = ball.cfg_path.read_bytes()
    with pytest.raises(BallError) as e:
        ball.link.cfg({"session_limit_s": 999})
    assert e.value.reply["key"] == "session_limit_s"
    assert "session_limit_s" in str(e.value)
    assert ball.cfg_path.read_bytes() == before


def test_cfg_valid_is_saved_atomically(ball):
    saved = ball.link.cfg(dict(CFG, session_limit_s=120))
    assert saved["session_limit_s"] == 120
    on_disk = json.loads(ball.cfg_path.read_text())
    assert on_disk["session_limit_s"] == 120
    assert not (ball.cfg_path.parent / "config.json.tmp").exists()
    assert ball.link.cfg()["session_limit_s"] == 120


def test_cfg_says_whether_it_applies_now(ball):
    ball.wait_text("event session_stop")
    reply = ball.link.save_cfg(dict(CFG, session_limit_s=3))
    assert reply["applied"] is True and reply["applies"] == "now"


def test_calibration_mode_streams_raw_counts_and_takes_buzzes(ball):
    ball.wait_text("event session_stop")
    with pytest.raises(BallError, match="calibration mode"):
        ball.link.request("buzz 100")
    assert ball.link.request("calib on")["calib"] is True
    assert ball.link.hello()["calib"] is True
    assert ball.link.request("buzz 100")["buzz_ms"] == 100
    with pytest.raises(BallError, match="1 to 500 ms"):
        ball.link.request("buzz 900")
    sample = next(ball.link.live())
    assert sample["calib"] is True and sample["drift_bad"] is False
    assert sample["raw"] == round(sample["force_n"] * 1000)  # 1000 counts/N, zero 0
    assert ball.link.request("calib off")["calib"] is False
    assert next(ball.link.live())["calib"] is False


def test_clock_is_remembered(ball):
    ball.link.clock(1_700_000_000)
    assert ball.link.hello()["unix"] >= 1_700_000_000


def test_clock_takes_the_local_utc_offset_and_refuses_an_impossible_one(ball):
    assert ball.link.request("clock 1700000000 -18000")["utc_offset_s"] == -18000
    with pytest.raises(BallError, match="UTC_OFFSET_S"):
        ball.link.request("clock 1700000000 90000")
    with pytest.raises(BallError, match="UTC_OFFSET_S must be a whole number"):
        ball.link.request("clock 1700000000 +1h")


def test_hello_tells_the_days_sessions_and_whether_the_next_press_gets_rest(ball):
    hello = ball.link.hello()
    assert hello["max_sessions_per_day"] == 3
    assert hello["sessions_today"] in (0, 1)
    assert hello["rest"] is False


def test_symptom_with_no_session_running_says_so(ball):
    ball.wait_text("event session_stop")
    with pytest.raises(BallError, match="no session is running") as e:
        ball.link.request("symptom")
    assert e.value.reply["command"] == "symptom"


def test_unknown_command_gets_an_error_frame_naming_it(ball):
    with pytest.raises(BallError) as e:
        ball.link.request("frobnicate 1 2")
    assert e.value.reply["command"] == "frobnicate"
    assert "KB hello" in e.value.reply["error"]  # says what to do
    with pytest.raises(BallError, match="usage"):
        ball.link.request("get ../etc/passwd 0 10")


def test_an_overlong_command_name_is_an_unknown_command_and_the_app_runs_on(ball):
    name = "a" * 252
    with pytest.raises(BallError, match="unknown command") as e:
        ball.link.request(name)
    assert e.value.reply["command"] == name
    assert ball.link.hello()["proto"] == 2
    assert b"Traceback" not in ball.link.text


@pytest.mark.parametrize(
    "args, argument",
    [
        ("next_id 99999999999999999999999 1", "OFFSET"),
        ("00000001.kbl 0 99999999999999999999999", "LENGTH"),
        ("00000001.kbl -1 10", "OFFSET"),
        ("00000001.kbl 0 4294967296", "LENGTH"),
    ],
)
def test_get_with_a_number_out_of_range_is_refused_naming_it(ball, args, argument):
    with pytest.raises(BallError, match=argument) as e:
        ball.link.request("get " + args)
    assert e.value.reply["command"] == "get"
    assert ball.link.hello()["proto"] == 2


def test_get_past_the_end_sends_no_bytes_and_says_so(ball):
    size = len(ball.blob)
    frames = []
    reply = ball.link.request(
        "get blob.bin {} 100".format(size + 10), on_frame=lambda t, p: frames.append(t)
    )
    assert frames == [] and reply["end"] == size + 10 and reply["size"] == size


def test_rm_with_a_crc_out_of_range_is_refused_naming_it(ball):
    with pytest.raises(BallError, match="CRC32"):
        ball.link.request("rm 00000001.kbl 99999999999999999999999")
    assert ball.link.hello()["proto"] == 2


@pytest.mark.parametrize("unix", ["100000000000000000000000", "-1", "1500000000", "4200000000"])
def test_a_clock_outside_2020_to_2100_is_refused_not_stored_wrapped(ball, unix):
    ball.link.clock(1_700_000_000)
    with pytest.raises(BallError, match="2020") as e:
        ball.link.request("clock " + unix)
    assert e.value.reply["command"] == "clock"
    assert 1_700_000_000 <= ball.link.hello()["unix"] < 1_700_000_000 + 600


@pytest.mark.parametrize("command", ["hello x", "ls now", "symptom please"])
def test_commands_without_arguments_refuse_extra_ones(ball, command):
    with pytest.raises(BallError, match="takes no arguments"):
        ball.link.request(command)


def test_ctrl_c_ends_the_app_with_outputs_off(tmp_path):
    b = Ball(tmp_path)
    try:
        b.wait_text("event session_start")  # the motor or LED may be on now
        b.link.port.write(b"\x03")
        b.wait_text("consoleball ended")
        b.wait_text("led=(0, 0, 0) duty=0")
        assert b.proc.wait(10) == 0
    finally:
        b.close()


def test_a_port_without_knotball_firmware_is_named_as_such(tmp_path):
    class Echo:  # a port that answers text, never a frame
        name = "fake"

        def read(self, n):
            time.sleep(0.01)
            return b">>> "

        def write(self, data):
            pass

    with pytest.raises(LinkError, match="not the REPL"):
        Link(Echo(), timeout=0.2).hello()


@pytest.mark.parametrize("arg", ["calves", "x" * 300, "two words", "none"])
def test_area_on_a_ball_without_a_days_count_is_refused_naming_why(ball, arg):
    with pytest.raises(BallError, match="keeps no day's count") as e:
        ball.link.request("area " + arg)
    assert e.value.reply["command"] == "area"
    assert ball.link.request("area")["area"] == "none"  # the listing still answers
    assert ball.link.hello()["proto"] == 2
