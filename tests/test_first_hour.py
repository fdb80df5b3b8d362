"""A newcomer's first hour (issue 12): what goes wrong when the README is followed, or not,
on purpose. Every mistake is one line naming what was wrong and what to do, a non-zero exit
status, nothing half-written and no traceback."""

from conftest import knotball


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
