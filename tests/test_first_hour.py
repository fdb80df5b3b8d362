"""A newcomer's first hour (issue 12): what goes wrong when the README is followed, or not,
on purpose. Every mistake is one line naming what was wrong and what to do, a non-zero exit
status, nothing half-written and no traceback."""

import pytest

from conftest import knotball
from knotball.runtime import UsageError


def one_line(res):
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def test_a_port_that_is_no_serial_port_or_is_missing_is_one_line_saying_what_to_do(
    tmp_path, monkeypatch
):
    res = knotball("pull", "--port", "/dev/null")
    line = one_line(res)
    assert res.returncode == 1 and "--port /dev/null: not a serial port" in line
    assert "Errno" not in line and "ioctl" not in line
    monkeypatch.setenv("KNOTBALL_PORT", str(tmp_path / "ttyUSB9"))
    res = knotball("live")
    line = one_line(res)
    assert res.returncode == 1 and "KNOTBALL_PORT=" in line and "no such port" in line
    assert "unset KNOTBALL_PORT" in line and "Errno" not in line


def test_pull_out_must_be_a_directory_and_is_never_made_with_its_parents(tmp_path):
    a_file = tmp_path / "copies"
    a_file.write_text("")
    res = knotball("pull", "--out", a_file, "--port", "/dev/null")
    assert res.returncode == 2 and "is a file; give a directory" in one_line(res)
    deep = tmp_path / "no" / "such" / "dir"
    res = knotball("pull", "--out", deep, "--port", "/dev/null")
    assert res.returncode == 2 and "does not exist" in one_line(res)
    assert not (tmp_path / "no").exists()
    res = knotball("pull", "--out", tmp_path / "new", "--port", "/dev/null")
    assert res.returncode == 1 and not (tmp_path / "new").exists()  # no ball: nothing made


def config_says(*changes):
    """`knotball config KEY=VALUE...` against no ball: the changes are checked first."""
    res = knotball("config", "--port", "/dev/null", *changes)
    return res.returncode, one_line(res)


def test_config_refuses_what_cannot_work_naming_the_key_the_person_typed():
    from knotball.commands import config as config_command

    status, line = config_says("session_limit_s=60.5")
    assert status == 2 and "session_limit_s: must be a whole number, got 60.5" in line
    status, line = config_says("session_limit_s=90", "session_limit_s=120")
    assert status == 2 and "session_limit_s: given twice" in line
    status, line = config_says("session_limt_s=90")
    assert status == 2 and "did you mean session_limit_s?" in line
    status, line = config_says("session_limit_s=true")
    assert status == 2 and "got true" in line and "True" not in line
    # What the ball holds is only known once connected: checked against its config.
    current = dict(config_command.config.DEFAULTS)
    for changes, wanted in (
        ({"warn_before_s": 100}, "warn_before_s: 100 s is more than half the session limit"),
        ({"light_n": 30}, "light_n: 30 N is not below medium_n (20.0 N)"),
    ):
        with pytest.raises(UsageError, match=wanted.replace("(", r"\(").replace(")", r"\)")):
            config_command.merged(current, changes)


def test_a_config_file_with_a_key_twice_or_a_typo_is_refused_by_name(tmp_path):
    from knotball import configfile

    twice = tmp_path / "twice.json"
    twice.write_text('{"session_limit_s": 90, "session_limit_s": 120}')
    with pytest.raises(UsageError, match="session_limit_s: given twice"):
        configfile.load(twice)
    typo = tmp_path / "typo.json"
    typo.write_text('{"hold_mn_s": 5}')
    with pytest.raises(UsageError, match="did you mean hold_min_s"):
        configfile.load(typo)


SESSION = {
    "ball": "ball-b7e2",
    "holds": 3,
    "peak_n": 40.0,
    "too_hard_count": 0,
    "complete": True,
    "archived": False,
}


def test_one_wording_per_stop_reason_in_every_output():
    from ball.wire import STOP_REASONS
    from knotball import stops, timeline
    from knotball.history import plot

    assert set(stops.STOP_TEXT) == set(STOP_REASONS[1:])
    s = SESSION | {"id": 4, "duration_ms": 21000, "stop_reason": "symptom"}
    words = "stopped: numbness or tingling"
    assert plot.title(s, "2025-11-24 16:00").endswith(words)
    assert plot.stop_marker(s) == (21.0, words, plot.SYMPTOM_COLOUR)
    from rich.console import Console

    console = Console(record=True, width=100)
    timeline.render_summary(dict(s, band_ms={"light": 1, "medium": 2, "firm": 3}), console)
    assert words in console.export_text()
    s["stop_reason"] = "aborted"
    assert plot.title(s, "x").endswith("stopped: the ball's app was stopped")


def test_the_plot_says_when_the_trace_shows_fewer_holds_than_the_ball_counted():
    from knotball.history import plot

    s = SESSION | {"duration_ms": 60000, "stop_reason": "time_limit"}
    line = plot.subtitle(s, [(0, 6000), (9000, 16000)], 60000, 60000)
    assert "3 effective holds (the ball's count; 2 found in the trace, shaded)" in line
    assert "3 effective holds  ·" in plot.subtitle(s, [(0, 1)] * 3, 60000, 60000)


def test_bare_knotball_prints_the_help():
    res = knotball()
    assert res.returncode == 0 and "COMMAND" in res.stdout and "pull" in res.stdout
    assert res.stderr == ""


def test_an_empty_history_points_to_pull():
    res = knotball("history")
    assert res.returncode == 0 and "`knotball pull`" in res.stdout
    res = knotball("report")
    assert res.returncode == 2 and "`knotball pull`" in one_line(res)


def test_a_missing_trace_is_named_without_a_line_number(tmp_path):
    res = knotball("sim", tmp_path / "nope.csv")
    line = one_line(res)
    assert res.returncode == 2 and "nope.csv: cannot open the trace file" in line
    assert "line 0" not in line


def test_virtual_refuses_a_file_that_is_no_flash_image_and_defaults_beside_the_history(
    tmp_path,
):
    from knotball.commands import virtual

    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    res = knotball("virtual", "--flash", notes)
    assert res.returncode == 2 and "not a virtual ball's flash image" in one_line(res)
    assert notes.read_text() == "my notes\n"  # never formatted
    assert virtual.default_image() == tmp_path / "home" / "virtual-ball.img"  # KNOTBALL_HOME


def test_every_ball_command_says_the_same_of_a_port_without_knotball_on_it(tmp_path):
    """A blank virtual ball (MicroPython, no knotball app): a wrong port is bad input, exit
    2, one line naming the port, whichever command found it."""
    from vball_fixture import VirtualBall

    v = VirtualBall(tmp_path, tmp_path / "flash.img")
    try:
        for command in (["config"], ["area"], ["area", "calves"], ["wifi"], ["pull"]):
            res = knotball(*command, "--port", v.port)
            line = one_line(res)
            assert res.returncode == 2 and v.port in line, (command, res.returncode, line)
    finally:
        v.kill()
