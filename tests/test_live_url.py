"""`knotball live --url`: the same view as over USB, from the ball's live page on Wi-Fi
(here the virtual ball's --http-port), following a session and picking the ball up again
after it restarts; a retired token and a bad address said in one line."""

import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from netrelay import Relay
from test_web_virtual import CFG, PagedBall, ball_time, watch_until
from vball_fixture import deploy_firmware, write_trace

from conftest import knotball


@pytest.fixture(scope="module")
def firmware_image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deploy")
    return deploy_firmware(tmp, tmp / "flash.img", CFG)


@pytest.fixture
def paged(firmware_image, tmp_path):
    image = tmp_path / "flash.img"
    shutil.copyfile(firmware_image, image)
    rows = [(0, 0), (1000, 25), (4000, 40), (30000, 40), (30100, 0)]
    p = PagedBall(tmp_path, image, "--trace", write_trace(tmp_path / "t.csv", rows))
    yield p
    p.ball.kill()


class Live:
    """`knotball live --url URL --plain` running; its lines collected in threads."""

    def __init__(self, url):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "knotball", "live", "--url", url, "--plain"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out, self.err = [], []
        for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _read(stream, lines):
        for line in stream:
            lines.append(line.rstrip("\n"))

    def wait(self, pred, what, start=0, timeout=30):
        """Until a line from index `start` on satisfies pred(its fields)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.out[start:]:
                if pred(line.split()):
                    return
            assert self.proc.poll() is None, self.err
            time.sleep(0.1)
        raise AssertionError("live never showed {}; stderr: {}".format(what, self.err))

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=10)


def test_live_over_the_page_follows_the_session_and_the_ball_restarting(paged):
    live = Live(paged.url)
    try:
        live.wait(lambda f: f[3] == "active" and f[2] in ("medium", "firm"), "a session")
        t_before = int(live.out[-1].split()[0])
        paged.ball.mpremote("reset", check=False)  # the ball restarts: its clock with it
        seen = len(live.out)
        deadline = time.monotonic() + 40
        while not any("reconnecting" in e for e in live.err):
            assert time.monotonic() < deadline, live.err
            time.sleep(0.1)
        live.wait(lambda f: int(f[0]) < t_before, "samples after the restart", seen, 40)
        assert any(e.endswith("connected") for e in live.err), live.err
    finally:
        assert live.stop() == 0
    for line in live.out:
        fields = line.split()
        assert len(fields) == 8 and float(fields[1]) >= 0, line
    assert paged.token not in "".join(live.err)


def test_a_retired_token_and_a_bad_address_are_said_in_one_line(paged):
    res = knotball("wifi", "--port", paged.ball.port, "--new-token")
    assert res.returncode == 0, res.stderr
    res = knotball("live", "--url", paged.url, "--plain", timeout=60)
    assert res.returncode == 1 and "refused this address's token" in res.stderr
    assert paged.token not in res.stderr and res.stdout == ""
    res = knotball("live", "--url", "http://127.0.0.1:{}/".format(paged.port))
    assert res.returncode == 2 and "no token" in res.stderr
    assert len(res.stderr.splitlines()) == 1


def test_live_over_a_cut_link_resumes_with_every_sample_once_then_says_a_longer_gap(paged):
    relay = Relay(paged.port)
    live = Live("http://127.0.0.1:{}/?k={}".format(relay.port, paged.token))
    try:
        live.wait(lambda f: f[3] == "active", "a session")
        relay.cut()  # the body and the wall shadow the link
        t_cut = ball_time(paged)
        watch_until(paged, t_cut + 4000)  # the ball keeps 12 s
        relay.mend()
        live.wait(lambda f: int(f[0]) >= t_cut + 6000, "samples after the cut", timeout=40)
        assert any("reconnecting" in e for e in live.err), live.err
        t = [int(line.split()[0]) for line in live.out]
        assert [b - a for a, b in zip(t, t[1:], strict=False)] == [100] * (len(t) - 1), t
        assert not any("gap" in e for e in live.err)
        relay.cut()
        t_cut = ball_time(paged)
        watch_until(paged, t_cut + 16000)  # longer than the ball keeps
        relay.mend()
        live.wait(lambda f: int(f[0]) >= t_cut + 17000, "samples after the gap", timeout=40)
    finally:
        assert live.stop() == 0
        relay.close()
    gaps = [e for e in live.err if e.startswith("knotball live: gap: ")]
    assert len(gaps) == 1 and "s of samples lost" in gaps[0], live.err
    lost = float(gaps[0].split()[3])
    t = [int(line.split()[0]) for line in live.out]
    jumps = [b - a for a, b in zip(t, t[1:], strict=False) if b - a != 100]
    assert len(jumps) == 1 and jumps[0] == round(lost * 1000) + 100, (jumps, lost)
