"""knotball pull and knotball live against the firmware on the MicroPython unix port, through
the real pty path (tests/ballpty.py): pyserial opens a pty whose bytes a relay copies to and
from the ball's console. The ball's log directory is its flash: what is there is on the ball.
"""

import json
import signal
import subprocess
import sys
import threading
import time

import pytest
import serial
from ballpty import Ball, answering_pty

from ball.wire import console as wconsole
from ball.wire import framing, logfile
from knotball import cli
from knotball.commands import live
from knotball.history import guidance, store
from knotball.history.logs import date_from_uptime
from knotball.transport import ports
from knotball.transport.link import Link, LinkError

SESSION = "00000001.kbl"


@pytest.fixture
def ball(tmp_path):
    """A ball whose one session has finished; the test's own link is closed, so the
    command under test is the only reader of the port."""
    (tmp_path / "ball").mkdir()
    b = Ball(tmp_path / "ball", blob=False)
    try:
        b.wait_text("event session_stop")
        b.wait_finished(SESSION)
        b.link.close()
        yield b
    finally:
        b.close()


def pull(capsys, *args):
    status = cli.main(["pull", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def stored(ball_name="ball"):
    history = store.History()
    return history.sessions(ball_name) if history.exists() else []


def test_pull_stores_the_session_deletes_it_and_a_second_pull_brings_nothing(ball, capsys):
    status, out, err = pull(capsys, "--port", ball.port, "--json", "--out", ball.logdir.parent)
    assert status == 0, err
    result = json.loads(out)
    assert result["pulled"] == 1 and result["deleted"] == 1
    (s,) = result["sessions"]
    assert set(s) == {"id", "duration_ms", "stop_reason", "band_ms", "peak_n"}
    assert s["id"] == 1 and s["stop_reason"] == "time_limit"
    assert set(s["band_ms"]) == {"light", "medium", "firm", "over"}
    assert not (ball.logdir / SESSION).exists()
    (kept,) = stored()
    assert kept["id"] == 1 and kept["complete"] and kept["stop_reason"] == "time_limit"
    copy = logfile.parse((ball.logdir.parent / SESSION).read_bytes())[0]
    assert copy[0]["duration_ms"] == s["duration_ms"]

    status, out, err = pull(capsys, "--port", ball.port, "--json")
    assert status == 0, err
    again = json.loads(out)
    assert again.pop("advice")["kind"] == "stay"  # one comfortable session so far
    assert again == {"pulled": 0, "deleted": 0, "sessions": [], "thresholds": []}
    assert len(stored()) == 1


def test_a_cut_link_deletes_and_adds_nothing_and_the_next_pull_resumes(ball, capsys):
    on_ball = (ball.logdir / SESSION).read_bytes()
    ball.cut_on_get = 20  # part of the first data frame, then the cable is gone
    status, out, err = pull(capsys, "--port", ball.port, "--json")
    assert status == 1
    assert "run `knotball pull` again" in err and "Traceback" not in err
    assert out == ""
    assert (ball.logdir / SESSION).read_bytes() == on_ball
    assert stored() == []
    ball.mend()

    def full_disk(self, ball_name, data, source=None):
        raise store.StoreError("cannot write the history: database or disk is full")

    real_add = store.History.add
    store.History.add = full_disk
    try:
        status, out, err = pull(capsys, "--port", ball.port)
    finally:
        store.History.add = real_add
    assert status == 1 and "disk is full" in err
    assert (ball.logdir / SESSION).exists()

    status, out, err = pull(capsys, "--port", ball.port, "--keep", "--json")
    assert status == 0, err
    assert json.loads(out)["pulled"] == 1 and json.loads(out)["deleted"] == 0
    assert (ball.logdir / SESSION).read_bytes() == on_ball

    status, out, err = pull(capsys, "--port", ball.port, "--ball", "kitchen")
    assert status == 0, err
    assert "1 session pulled, 1 file deleted" in out
    assert not (ball.logdir / SESSION).exists()
    assert [s["id"] for s in stored()] == [1]
    assert [s["id"] for s in stored("kitchen")] == [1]


def test_two_balls_sessions_never_collide_and_each_keeps_its_own_name(tmp_path, capsys):
    """Two balls both have a session 1: each is known by its own id, no --ball needed."""
    names = []
    for uid in ("24a1c3f0b7e2", "9e0d51aa4c88"):
        (tmp_path / uid).mkdir()
        b = Ball(tmp_path / uid, blob=False, ball_id=uid)
        try:
            b.wait_finished(SESSION)
            b.link.close()
            status, out, err = pull(capsys, "--port", b.port)
        finally:
            b.close()
        assert status == 0, err
        assert "1 session pulled" in out and "ball ball" not in out
        assert "━" not in err and "kB" not in err  # no progress bar: stderr is no terminal
        names.append(out.splitlines()[-2].split(":")[0])
    assert names == ["ball-b7e2", "ball-4c88"]
    assert [s["id"] for s in stored("ball-b7e2")] == [1]
    assert [s["id"] for s in stored("ball-4c88")] == [1]


def test_a_session_recorded_before_the_clock_was_set_is_dated_as_an_estimate(tmp_path, capsys):
    """The ball's clock was never set; it has not been reset since the session, so its
    start is worked out from the ball's uptime, and marked as estimated."""
    before = time.time()
    b = Ball(tmp_path, blob=False)
    try:
        b.wait_finished(SESSION)
        b.link.close()
        status, out, err = pull(capsys, "--port", b.port)
        after = time.time()
    finally:
        b.close()
    assert status == 0, err
    (s,) = stored()
    assert s["start_estimated"] and before - 1 <= s["start_unix"] <= after + 1
    assert guidance.started(s).startswith(guidance.ESTIMATED)


def test_only_sessions_of_the_boot_the_ball_still_runs_are_dated():
    hello = {"boot": 7, "uptime_s": 100}

    def recorded(boot, uptime_s, start_unix=0):
        return {"start_unix": start_unix, "header": {"boot": boot, "uptime_s": uptime_s}}

    same, reset, old_log, clock_set = (
        recorded(7, 40), recorded(3, 40), recorded(0, 0), recorded(7, 40, 1_700_000_000)
    )  # fmt: skip
    date_from_uptime([same, reset, old_log, clock_set], hello, 1_800_000_000)
    assert same["start_unix"] == 1_800_000_000 - 60 and same["start_estimated"]
    assert reset["start_unix"] == old_log["start_unix"] == 0
    assert clock_set["start_unix"] == 1_700_000_000 and "start_estimated" not in clock_set


@pytest.fixture
def text_port():
    """A pty that answers every byte with a REPL prompt and never sends a frame."""
    with answering_pty(lambda data: b">>> ") as port:
        yield port


@pytest.mark.parametrize("command", ["pull", "live", "config"])
def test_a_port_without_knotball_firmware_exits_2(text_port, capsys, command):
    status = cli.main([command, "--port", text_port])
    out, err = capsys.readouterr()
    assert status == 2
    assert "not the REPL" in err and len(err.strip().splitlines()) == 1


def test_a_busy_port_is_named_and_nothing_is_done(text_port, capsys):
    with serial.Serial(text_port, exclusive=True):
        status, out, err = pull(capsys, "--port", text_port)
    assert status == 1 and "busy" in err


def test_the_port_is_found_only_when_exactly_one_ball_is_connected(monkeypatch, capsys):
    monkeypatch.delenv("KNOTBALL_PORT", raising=False)
    monkeypatch.setattr(ports, "candidates", lambda: [])
    status, out, err = pull(capsys)
    assert status == 1 and "no ball found" in err
    monkeypatch.setattr(ports, "candidates", lambda: ["/dev/ttyUSB0", "/dev/ttyACM0"])
    status, out, err = pull(capsys)
    assert status == 1 and "several balls: use --port" in err
    monkeypatch.setattr(ports, "candidates", lambda: ["/dev/ttyACM0"])
    assert ports.choose() == "/dev/ttyACM0"
    monkeypatch.setenv("KNOTBALL_PORT", "/dev/ttyUSB7")
    assert ports.choose() == "/dev/ttyUSB7"
    assert ports.choose("/dev/ttyS1") == "/dev/ttyS1"


@pytest.mark.parametrize("plain", [["--plain"], []], ids=["plain", "output-not-a-terminal"])
def test_live_plain_prints_samples_and_the_session_still_ends_on_time(tmp_path, plain):
    """Plain lines with --plain, and without it when the output is not a terminal (a file,
    a pipe): never nothing."""
    b = Ball(tmp_path, blob=False)
    b.link.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "knotball", "live", *plain, "--port", b.port],
        stdin=subprocess.DEVNULL,  # no keys typed (and never a terminal put in cbreak mode)
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    # A guard, not a timing check: a live that printed nothing would leave the loop below
    # waiting forever; this ends it and the asserts say what was missing.
    guard = threading.Timer(60, proc.kill)
    guard.start()
    try:
        for line in proc.stdout:
            lines.append(line.split())
            states = [f[3] for f in lines]
            if "active" in states and states[-1] == "stopped" or len(lines) > 300:
                break
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0, proc.stderr.read()
        b.link = Link(b.port, timeout=5)
        b.wait_finished(SESSION)
    finally:
        guard.cancel()
        if proc.poll() is None:
            proc.kill()
        b.close()
    assert lines and all(len(f) == 8 for f in lines)
    t = [int(f[0]) for f in lines]
    assert t == sorted(t) and len(set(t)) == len(t)
    assert {f[2] for f in lines} <= {"idle", "light", "medium", "firm", "over"}
    assert "medium" in {f[2] for f in lines}
    assert any("done" in f[6] for f in lines)
    (session,), damage = logfile.parse((b.logdir / SESSION).read_bytes())
    assert session["stop_reason"] == "time_limit" and damage is None


class FakeLink:
    def __init__(self, script):
        self.script = list(script)
        self.sent = []
        self.closed = False

    def frame(self, deadline):
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    def request(self, command, timeout=None):
        self.sent.append(command)

    def close(self):
        self.closed = True


def _sample(t):
    buf = bytearray(wconsole.LIVE_SIZE)
    wconsole.live_pack_into(buf, 0, t, 30000, 2, 1, t, 0, 0, 0, 30000, 0, 0)
    return framing.LIVE, bytes(buf)


def test_live_reconnects_after_a_read_error_until_the_port_is_back():
    first = FakeLink([_sample(100), _sample(200), OSError("device disconnected")])
    second = FakeLink([_sample(50), None])  # then silence: the ball reset
    third = FakeLink([_sample(20), KeyboardInterrupt()])
    attempts = [(first, {}), LinkError("cannot open"), (second, {}), OSError("gone"), (third, {})]

    def opener():
        got = attempts.pop(0)
        if isinstance(got, BaseException):
            raise got
        return got

    class View:
        samples, connects = [], 0

        def connected(self, cfg):
            View.connects += 1

        def sample(self, s):
            View.samples.append(s["t_ms"])

    status, sleeps = [], []
    assert live.follow(opener, View(), status.append, sleeps.append) == 0
    assert View.samples == [100, 200, 50, 20]
    assert View.connects == 3
    assert status == ["reconnecting…", "connected", "reconnecting…", "connected"]
    assert sleeps == [1, 1, 1, 1]
    assert first.closed and second.closed and third.closed
    assert third.sent == ["live off"]
