"""Other MicroPython tools against the virtual ball, as people use them on a real board:
rshell (which splits the board's replies on "\\r\\n", as print() ends lines over a UART)
and adafruit-ampy (which sends Ctrl-C twice right before its first raw-REPL command: a
Ctrl-C at a prompt is a byte in the stream there, not an interrupt that overtakes the bytes
sent before and after it). Stock mpremote has its own tests (tests/test_virtual.py)."""

import subprocess
import sys
from pathlib import Path

import pytest
from vball_fixture import VirtualBall, deploy_firmware

BIN = Path(sys.executable).parent
CFG = {"session_limit_s": 10}


@pytest.fixture(scope="module")
def ball(tmp_path_factory):
    """A virtual ball running the knotball firmware, which the tools interrupt."""
    tmp = tmp_path_factory.mktemp("peers")
    image = deploy_firmware(tmp, tmp / "flash.img", CFG)
    v = VirtualBall(tmp, image)
    v.wait_app()
    yield v
    v.kill()


def tool(*args):
    return subprocess.run(
        [str(BIN / args[0]), *map(str, args[1:])], capture_output=True, text=True, timeout=60
    )


def test_rshell_lists_the_ball_s_files(ball):
    res = tool("rshell", "--port", ball.port, "--quiet", "--nocolor", "ls", "/pyboard")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "main.py" in res.stdout.split() and "ball/" in res.stdout.split(), res.stdout


def test_ampy_lists_the_ball_s_files_every_time(ball):
    for attempt in range(12):
        res = tool("ampy", "--port", ball.port, "ls")
        assert res.returncode == 0, "attempt {}: {}".format(attempt, res.stdout + res.stderr)
        assert "/main.py" in res.stdout.split(), res.stdout
