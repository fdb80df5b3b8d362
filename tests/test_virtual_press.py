"""A hand on the virtual ball, so calibration can be tried without hardware: `--press SCRIPT`
(`SECONDS NEWTONS` lines on the ball's clock, `repeat` to loop) and the arrow keys of the
terminal `knotball virtual` runs in. End to end: `knotball calibrate bands` on a virtual
ball pressed by the README's script, through the pty, as the README shows it."""

import fcntl
import json
import os
import re
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from vball_fixture import VirtualBall, deploy_firmware

from conftest import knotball
from knotball.transport.link import Link
from knotball.virtual import keys
from knotball.virtual.vball.press import Press, PressError, parse

README = Path(__file__).resolve().parent.parent / "README.md"
SPEED = 10


def readme_block(after):
    """The first fenced block after the line containing `after` in the README."""
    text = README.read_text()
    start = text.index("```", text.index(after))
    start = text.index("\n", start) + 1
    return text[start : text.index("```", start)]


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("press")
    return deploy_firmware(tmp, tmp / "sim.img", {})


@pytest.fixture
def fresh_image(image, tmp_path):
    copy = tmp_path / "flash.img"
    copy.write_bytes(image.read_bytes())
    return copy


def test_a_press_script_is_straight_lines_between_points_and_may_repeat():
    points, repeat = parse(
        ["# a slow press", "0 0", "", "3 0", "8 40  # strong but good", "9.5 0"]
    )
    assert points == [(0, 0.0), (3000, 0.0), (8000, 40.0), (9500, 0.0)] and not repeat
    p = Press(points, repeat)
    assert [p.at(t) for t in (0, 3000, 5500, 8000, 8750, 9500, 20000)] == [
        0.0, 0.0, 20.0, 40.0, 20.0, 0.0, 0.0,
    ]  # fmt: skip
    looped = Press(*parse(["0 0", "1 10", "2 0", "repeat"]))
    assert looped.at(500) == looped.at(2500) == looped.at(40500) == 5.0


@pytest.mark.parametrize(
    "lines, problem",
    [
        (["0 0", "5 ten"], "line 2: expected `SECONDS NEWTONS`"),
        (["0 0", "5"], "line 2: expected `SECONDS NEWTONS`"),
        (["0 0", "3 -4"], "line 2: seconds and newtons must be 0 or more"),
        (["0 0", "3 4", "3 8"], "line 3: times must rise"),
        (["0 0", "repeat", "4 2"], "line 3: `repeat` must be the last line"),
        (["# nothing"], "no `SECONDS NEWTONS` lines"),
    ],
)
def test_a_bad_press_script_names_its_line(lines, problem):
    with pytest.raises(PressError, match=re.escape(problem)):
        parse(lines, "p.txt")


def test_knotball_virtual_refuses_a_bad_press_script_in_one_line(tmp_path):
    script = tmp_path / "press.txt"
    script.write_text("0 0\n8 forty\n")
    res = knotball("virtual", "--flash", tmp_path / "f.img", "--press", script)
    assert res.returncode == 2
    assert res.stderr.strip() == (
        "knotball virtual: {}, line 2: expected `SECONDS NEWTONS` (e.g. `8 40`), got 8 forty"
    ).format(script)
    res = knotball("virtual", "--flash", tmp_path / "f.img", "--press", tmp_path / "none.txt")
    assert res.returncode == 2 and "none.txt: No such file" in res.stderr
    assert not (tmp_path / "f.img").exists()  # refused before anything started


def test_keys_press_harder_softer_and_space_lets_go():
    up, down = b"\x1b[A", b"\x1b[B"
    assert keys.apply(0.0, up * 3) == 3 * keys.STEP_N
    assert keys.apply(10.0, down + b"\x1bOB") == 10.0 - 2 * keys.STEP_N
    assert keys.apply(10.0, up + b" ") == 0.0
    assert keys.apply(1.0, down * 3) == 0.0  # never below nothing
    assert keys.apply(0.0, b"x\x1b[C") == 0.0  # other keys do nothing


def test_calibrate_bands_on_a_virtual_ball_pressed_by_the_readme_script(fresh_image, tmp_path):
    script = tmp_path / "slow-presses.txt"
    script.write_text(readme_block("Slow presses to 40 N, as"))
    v = VirtualBall(tmp_path, fresh_image, "--press", script, "--speed", SPEED)
    try:
        v.wait_app()
        res = subprocess.run(
            [sys.executable, "-m", "knotball", "calibrate", "bands", "--json", "--yes"],
            input="\n",
            env=dict(os.environ, KNOTBALL_PORT=v.port),  # as `knotball virtual` prints it
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert res.returncode == 0, res.stderr
        result = json.loads(res.stdout)
        assert result["saved"] and result["quality"]["level_n"] == pytest.approx(40, rel=0.05)
        assert result["values"]["over_n"] == pytest.approx(40, rel=0.05)
        said = re.findall(r"peak ([\d.]+) N, built up over ([\d.]+) s", res.stderr)
        (readme,) = re.findall(r"`peak ([\d.]+) N, built up over ([\d.]+) s`", README.read_text())
        assert len(said) == 3, res.stderr
        for peak, rise in said:
            assert float(peak) == pytest.approx(float(readme[0]), abs=0.3)
            assert float(rise) == pytest.approx(float(readme[1]), abs=0.2)
        with Link(v.port, timeout=3) as link:
            assert link.cfg()["over_n"] == result["values"]["over_n"]
        v.stop()
    finally:
        v.kill()


def _foreground_on(slave):
    """The child: a new session whose controlling terminal (in the foreground) is `slave`."""
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)


def test_the_arrow_keys_of_its_terminal_press_the_ball(fresh_image, tmp_path):
    master, slave = os.openpty()
    port_file = tmp_path / "port.txt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "knotball", "virtual", "--flash", str(fresh_image)]
        + ["--port-file", str(port_file)],
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: _foreground_on(slave),
    )
    os.close(slave)
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        seen = _read_until(master, keys.HELP)
        assert "export KNOTBALL_PORT=" in seen
        with Link(port_file.read_text().strip(), timeout=3) as link:
            os.write(master, b"\x1b[A" * 15)  # 30 N: a medium press starts a session
            assert "pressing  30.0 N" in _read_until(master, "pressing  30.0 N")
            assert _session(link, "active")
            os.write(master, b" ")  # let go: the session ends by itself after idle_stop_s
            assert "pressing   0.0 N" in _read_until(master, "pressing   0.0 N")
            assert _max_force(link) < 1
        os.write(master, b"\x03")  # Ctrl-C
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert list(Path(os.environ["KNOTBALL_HOME"], "running").iterdir()) == []  # keys file too


def _read_until(fd, text, timeout=20):
    import select

    got = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in got:
        assert time.monotonic() < deadline, got
        if select.select([fd], [], [], 0.1)[0]:
            got += os.read(fd, 4096)
    return got.decode()


def _session(link, state, timeout=10):
    deadline = time.monotonic() + timeout
    while link.hello()["session"] != state:
        assert time.monotonic() < deadline, "the session did not become " + state
        time.sleep(0.1)
    return True


def _max_force(link, n=30):
    """The largest force of n live samples, once the filter has settled after a release."""
    samples = []
    for s in link.live():
        samples.append(s["force_n"])
        if len(samples) >= 2 * n:
            break
    return max(samples[n:])
