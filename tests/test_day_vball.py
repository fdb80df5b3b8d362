"""Symptom stop and sessions per day on the virtual ball (`knotball virtual`, the firmware as
flashed, its flash image kept across restarts): `KB symptom` ends the running session, the
log says so, and the day's count and rest survive a restart of the ball."""

import time

import pytest
from vball_fixture import VirtualBall, deploy_firmware, write_trace

from ball.wire import logfile
from knotball.transport.link import BallError


@pytest.fixture
def image(tmp_path):
    cfg = {"session_limit_s": 120, "max_sessions_per_day": 2, "idle_stop_s": 5}
    return deploy_firmware(tmp_path, tmp_path / "flash.img", cfg)


def wait_hello(v, key, value, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        with v.link() as link:
            hello = link.hello()
        if hello[key] == value:
            return hello
        assert time.monotonic() < deadline, hello
        time.sleep(0.2)


def test_symptom_key_ends_the_session_and_the_rest_survives_a_restart(tmp_path, image):
    trace = write_trace(tmp_path / "press.csv", [(0, 0), (500, 30), (90000, 30), (90100, 0)])
    v = VirtualBall(tmp_path, image, "--trace", trace)
    try:
        v.wait_app()
        hello = wait_hello(v, "session", "active")
        assert hello["sessions_today"] == 1 and hello["max_sessions_per_day"] == 2
        assert hello["rest"] is False
        with v.link() as link:
            reply = link.request("symptom")
            assert reply["stopped"] is True and reply["reason"] == "symptom"
            with pytest.raises(BallError, match="no session is running"):
                link.request("symptom")
            hello = link.hello()
        assert hello["session"] == "stopped" and hello["rest"] is True
        (entry,) = v.wait_finished()
        sessions, damage = logfile.parse(v.get(entry["name"]), keep_trace=False)
        assert damage is None and sessions[0]["stop_reason"] == "symptom"
        v.stop()
        v = VirtualBall(tmp_path, image)  # no trace: nobody presses it
        hello = v.wait_app()
        assert hello["sessions_today"] == 1 and hello["rest"] is True
        v.stop()
    finally:
        v.kill()


def local_offset_for(now, local_s):
    """The UTC offset (within -12 h..+14 h) that makes unix time `now` read local_s seconds
    past local midnight."""
    offset = (local_s - now) % 86400
    return offset - 86400 if offset > 14 * 3600 else offset


def test_the_days_count_survives_a_restart_and_a_clock_past_midnight_ends_no_rest(tmp_path, image):
    # Two short presses: two sessions (each ends idle), the day's two used up.
    rows = [(0, 0), (500, 30), (2500, 30), (2600, 0), (11000, 0), (11500, 30), (13500, 30)]
    trace = write_trace(tmp_path / "two.csv", rows + [(13600, 0)])
    v = VirtualBall(tmp_path, image, "--trace", trace, "--speed", 4)
    try:
        v.wait_app()
        v.wait_finished(2, timeout=60)
        hello = wait_hello(v, "sessions_today", 2)
        assert hello["rest"] is True
        v.stop()
        v = VirtualBall(tmp_path, image)
        hello = v.wait_app()
        assert hello["sessions_today"] == 2 and hello["rest"] is True
        # The host sets the clock to one second before local midnight, then to one second
        # past it: the dates move, but the ball's own clock has not seen a day pass.
        with v.link() as link:
            now = int(time.time())
            for local_s in (86399, 1):
                offset = local_offset_for(now, local_s)
                reply = link.request("clock {} {}".format(now, offset))
                assert reply["utc_offset_s"] == offset
            with pytest.raises(BallError, match="UTC_OFFSET_S"):
                link.request("clock {} 99999".format(now))
            with pytest.raises(BallError, match="2020"):
                link.request("clock 99999999999999999999999")
        time.sleep(3)  # past that midnight on the ball's own clock too
        with v.link() as link:
            hello = link.hello()
        assert hello["sessions_today"] == 2 and hello["rest"] is True
        assert abs(hello["unix"] - time.time()) < 60
        v.stop()
        v = VirtualBall(tmp_path, image)  # and after another restart
        hello = v.wait_app()
        assert hello["sessions_today"] == 2 and hello["rest"] is True
        v.stop()
    finally:
        v.kill()


def test_the_s_key_in_knotball_live_ends_the_session_as_a_symptom(tmp_path, image):
    """A person at the laptop presses `s` in `knotball live` (here typed into its stdin):
    the session ends, the ball logs why, and live says to rest."""
    import subprocess
    import sys

    trace = write_trace(tmp_path / "press.csv", [(0, 0), (500, 30), (90000, 30), (90100, 0)])
    v = VirtualBall(tmp_path, image, "--trace", trace)
    proc = None
    try:
        v.wait_app()
        wait_hello(v, "session", "active")
        proc = subprocess.Popen(
            [sys.executable, "-m", "knotball", "live", "--plain", "--port", v.port],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = proc.stdout.readline().split()
        assert first[3] == "active", first
        proc.stdin.write("s\n")
        proc.stdin.flush()
        states = []
        for line in proc.stdout:
            states.append(line.split()[3])
            if states[-1] == "stopped":
                break
        proc.send_signal(2)  # Ctrl-C
        assert proc.wait(15) == 0
        err = proc.stderr.read()
        assert "numbness or tingling" in err and "Rest this area" in err, err
        (entry,) = v.wait_finished()
        (session,), damage = logfile.parse(v.get(entry["name"]))
        assert session["stop_reason"] == "symptom" and damage is None
        assert session["duration_ms"] < 60000  # ended by the key, long before its limit
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        v.kill()
