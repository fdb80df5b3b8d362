"""Links that misbehave, through real ptys (issue 15, findings 7 and 8): a ball that vanishes
during the first exchange, a slow link and one too slow to finish, another ball on the port
live was following, a reader of `live --plain` that goes, and two virtual balls on one image.
"""

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import threading
import time
import tty

import pytest
from ballpty import Ball, pty_far_end
from vball_fixture import VirtualBall, deploy_firmware, put_and_reset, sim_log

from conftest import knotball
from knotball import cli
from knotball.transport.link import Link, LinkError

CFG = {"session_limit_s": 10, "idle_stop_s": 5, "warn_before_s": 2, "hold_min_s": 1}
LOG = "00000001.kbl"
LIVE = [sys.executable, "-m", "knotball", "live", "--plain"]


@pytest.fixture(scope="module")
def firmware_image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deploy")
    return deploy_firmware(tmp, tmp / "flash.img", CFG)


@contextlib.contextmanager
def vanishing_port():
    """A pty whose far end goes, as an unplugged ball's port does, the moment a command
    sends `KB hello`: the port's node disappears and reads of it fail."""
    master, slave = os.openpty()
    tty.setraw(slave)

    def far_end():
        heard = b""
        while b"KB hello" not in heard and select.select([master], [], [], 30)[0]:
            heard += os.read(master, 1024)
        os.close(master)

    t = threading.Thread(target=far_end, daemon=True)
    t.start()
    try:
        yield os.ttyname(slave)
    finally:
        t.join(35)
        os.close(slave)


@pytest.mark.parametrize("command", ["pull", "live", "config"])
def test_a_ball_vanishing_during_the_first_exchange_is_one_line_and_a_status(command):
    with vanishing_port() as port:
        extra = ["--plain"] if command == "live" else []
        res = knotball(command, "--port", port, *extra, timeout=60)
    lines = res.stderr.splitlines()
    assert res.returncode == 1, res.stderr
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert lines[0].startswith("knotball {}: ".format(command)) and port in lines[0], lines


def _hello(port, timeout=30):
    """The ball's hello once its app answers (a slow link: a patient link)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with Link(port, timeout=5) as link:
                return link.hello()
        except LinkError:
            assert time.monotonic() < deadline, "the firmware does not answer"
            time.sleep(0.5)


def test_pull_succeeds_on_a_1200_baud_link(firmware_image, tmp_path, capsys):
    image = tmp_path / "flash.img"
    shutil.copyfile(firmware_image, image)
    local = tmp_path / LOG
    local.write_bytes(sim_log(tmp_path / "sim").read_bytes())  # ~4.7 KiB: five 'D' frames
    v = VirtualBall(tmp_path, image)
    try:
        put_and_reset(v, {LOG: local})  # at full speed: mpremote's copy is no part of this
        v.stop()
        v = VirtualBall(tmp_path, image, "--baud", 1200)  # 120 bytes a second
        _hello(v.port)
        status = cli.main(["pull", "--port", v.port, "--json"])
        out, err = capsys.readouterr()
        assert status == 0, err
        result = json.loads(out)
        assert result["pulled"] == 1 and result["deleted"] == 1, result
        assert result["sessions"][0]["duration_ms"] > 0
        v.stop()
    finally:
        v.kill()


def test_a_link_too_slow_to_finish_is_named_and_pull_does_not_promise_a_resume(tmp_path, capsys):
    b = Ball(tmp_path, blob=False)
    try:
        b.wait_text("event session_stop")
        size = b.wait_finished(LOG)[LOG]["size"]
        on_ball = (b.logdir / LOG).read_bytes()
        b.link.close()
        b.slow_on_get = 10  # bytes a second: 100 baud, under the 300 a transfer waits for
        status = cli.main(["pull", "--port", b.port, "--json"])
        out, err = capsys.readouterr()
    finally:
        b.close()
    assert status == 1 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert b.port in err and "too slow" in err and "300 baud" in err, err
    assert "again" not in err and "resume" not in err, err
    assert "nothing unverified was deleted" in err
    assert (b.logdir / LOG).read_bytes() == on_ball and size == len(on_ball)


def _first_line(proc, timeout=30):
    """The first line proc prints (a guard kills it if none comes)."""
    guard = threading.Timer(timeout, proc.kill)
    guard.start()
    try:
        return proc.stdout.readline()
    finally:
        guard.cancel()


def test_live_names_a_different_ball_found_on_the_port_and_stops(tmp_path):
    ids = ("24a1c3f0b7e2", "9e0d51aa4c88")
    balls = []
    for uid in ids:
        (tmp_path / uid).mkdir()
        balls.append(Ball(tmp_path / uid, blob=False, ball_id=uid))
        balls[-1].link.close()
    first, second = balls
    port = tmp_path / "ttyBALL"  # a stable name, as /dev/serial/by-id/... is
    port.symlink_to(first.port)
    proc = subprocess.Popen(
        LIVE + ["--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _first_line(proc), proc.stderr.read()  # following the first ball
        first.close()
        balls.remove(first)
        swap = tmp_path / "ttyBALL.new"
        swap.symlink_to(second.port)
        swap.replace(port)  # the other ball now answers on the same path
        try:
            status = proc.wait(60)
        except subprocess.TimeoutExpired:
            status = None  # still following, whichever ball it is
        assert status == 1, "live did not stop"
        err = proc.stderr.read()
        assert "Traceback" not in err and ids[0] in err and ids[1] in err, err
        assert err.splitlines()[-1].startswith("knotball live: another ball"), err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for b in balls:
            b.close()


def test_live_piped_into_head_exits_when_its_reader_goes(tmp_path):
    b = Ball(tmp_path, blob=False)
    b.link.close()
    live = subprocess.Popen(
        LIVE + ["--port", b.port],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    head = subprocess.Popen(["head", "-1"], stdin=live.stdout, stdout=subprocess.PIPE, text=True)
    live.stdout.close()  # head is its only reader now
    try:
        line, _ = head.communicate(timeout=60)
        assert len(line.split()) == 8, line  # one sample line, then head is gone
        try:
            status = live.wait(30)
        except subprocess.TimeoutExpired:
            live.kill()  # still running, writing to nobody
            live.wait()
            status = None
        err = live.stderr.read()
        assert status == 0, err
        assert "Traceback" not in err and "reconnecting" not in err, err
    finally:
        for proc in (head, live):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        b.close()


def test_a_second_virtual_ball_on_the_same_image_is_refused_until_the_first_is_gone(tmp_path):
    image = tmp_path / "shared.img"
    first = VirtualBall(tmp_path, image)
    try:
        second = subprocess.Popen(
            [sys.executable, "-m", "knotball", "virtual", "--flash", str(image)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            out, err = second.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            second.terminate()
            out, err = second.communicate()
            pytest.fail("a second virtual ball started on the same image: " + out)
        assert second.returncode == 2, err
        (line,) = err.splitlines()
        assert str(image) in line and "another virtual ball" in line, line
        assert "Traceback" not in err and out == ""
        first.stop()
    finally:
        first.kill()
    (tmp_path / "again").mkdir()
    again = VirtualBall(tmp_path / "again", image)  # the first is gone: the image is free
    try:
        assert again.mpremote("exec", "print(6 * 7)").strip() == "42"
        again.stop()
    finally:
        again.kill()


def far_end(on_command):
    """A raw pty whose far end runs on_command(master fd, done) once the host writes its
    first command line; yields the port's path."""

    def run(master, done):
        heard = b""
        while b"\n" not in heard and not done.is_set():
            if select.select([master], [], [], 0.05)[0]:
                heard += os.read(master, 1024)
        if not done.is_set():
            on_command(master, done)

    return pty_far_end(run)


def ask(path, command, timeout):
    """link.request(command) on a thread: (reply or the exception, whether it returned)."""
    got = []

    def run():
        with Link(path, timeout=timeout) as link:
            try:
                got.append(link.request(command))
            except LinkError as e:
                got.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(60)  # a guard against a hang only: the answer comes in seconds
    return (got[0] if got else None), not t.is_alive()


def test_live_samples_streaming_never_keep_a_command_without_reply_waiting_for_ever():
    from ball.wire import framing
    from ball.wire.console import LIVE_SIZE, live_pack_into

    def stream(master, done):  # samples at 20 Hz, and never the reply
        payload = bytearray(LIVE_SIZE)
        live_pack_into(payload, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        sample = framing.record(framing.LIVE, payload)
        while not done.is_set():
            os.write(master, sample)
            time.sleep(0.05)

    with far_end(stream) as path:
        got, returned = ask(path, "calib on", timeout=1)
    assert returned and isinstance(got, LinkError) and "no reply" in str(got), got


def test_a_long_reply_on_a_slow_link_is_waited_for_while_it_keeps_coming():
    from ball.wire import framing

    files = [{"name": "{:08d}.kbl".format(i), "size": 5000, "crc32": i} for i in range(40)]
    reply = framing.record(framing.REPLY, json.dumps({"command": "ls", "files": files}).encode())

    def slowly(master, done):  # about 1000 bytes/s: 2.5 s for the reply, timeout 1 s
        for i in range(0, len(reply), 100):
            if done.is_set():
                return
            os.write(master, reply[i : i + 100])
            time.sleep(0.1)

    assert len(reply) > 2000
    with far_end(slowly) as path:
        got, returned = ask(path, "ls", timeout=1)
    assert returned and not isinstance(got, Exception), got
    assert got["files"] == files
