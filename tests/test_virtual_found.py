"""A running `knotball virtual` is found without --port, as one ball on USB is: it registers
its pty in the knotball home while it runs (KNOTBALL_HOME is per test here), a registration
left by a dead process is ignored and removed, and it prints the `export KNOTBALL_PORT=…`
line for shells that want to name it."""

import json
import subprocess
import sys

import pytest
from vball_fixture import VirtualBall

from conftest import knotball
from knotball.transport import ports
from knotball.virtual import registry


@pytest.fixture
def no_usb(monkeypatch):
    """No USB ball on this computer, whatever the test machine has plugged in."""
    from serial.tools import list_ports

    monkeypatch.delenv("KNOTBALL_PORT", raising=False)
    monkeypatch.setattr(list_ports, "comports", lambda: [])


def test_a_running_virtual_ball_is_the_one_ball_and_is_forgotten_when_it_stops(no_usb, tmp_path):
    v = VirtualBall(tmp_path, tmp_path / "flash.img")
    try:
        assert ports.candidates() == [v.port]
        assert ports.choose() == v.port
        # A command run as the person runs it finds it too: a blank ball is no knotball,
        # and the message names the port it found.
        res = knotball("config")
        assert "no ball found" not in res.stderr and v.port in res.stderr
        v.stop()
    finally:
        v.kill()
    assert ports.candidates() == []
    assert list(registry.directory().iterdir()) == []
    with pytest.raises(ports.PortError, match="start `knotball virtual`"):
        ports.choose()


def test_it_prints_the_export_line_for_its_port(tmp_path):
    v = VirtualBall(tmp_path, tmp_path / "flash.img")
    try:
        v.proc.terminate()
        out, _ = v.proc.communicate(timeout=15)
    finally:
        v.kill()
    assert "  export KNOTBALL_PORT={}\n".format(v.port) in out.decode()
    assert "find it without --port" in out.decode()


def test_a_registration_whose_process_is_gone_is_ignored_and_removed(no_usb, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    entry = registry.register("/dev/null", tmp_path / "x.img", pid=dead.pid)
    assert json.loads(entry.read_text())["pid"] == dead.pid
    assert ports.candidates() == []
    assert not entry.exists()
    with pytest.raises(ports.PortError, match="no ball found"):
        ports.choose()


def test_a_registered_pty_that_vanished_is_ignored_too(no_usb, tmp_path):
    entry = registry.register(str(tmp_path / "pts-gone"), tmp_path / "x.img")  # this process
    assert registry.ports() == [] and not entry.exists()


def test_two_balls_are_a_question_not_a_guess(no_usb, monkeypatch, tmp_path):
    registry.register("/dev/null", tmp_path / "x.img")  # this process: alive
    assert ports.choose() == "/dev/null"
    from serial.tools import list_ports

    class Usb:
        device, vid = "/dev/ttyUSB0", 0x10C4

    monkeypatch.setattr(list_ports, "comports", lambda: [Usb()])
    with pytest.raises(ports.PortError, match="several balls.*ttyUSB0, /dev/null"):
        ports.choose()
