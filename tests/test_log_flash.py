"""The log on a full flash (real littlefs, MicroPython unix port), and the sampling path
with logging still allocation-free."""

from conftest import TESTS, run_micropython


def test_flash_full_rotation_keeps_every_summary_and_sessions_stop_on_time():
    res = run_micropython(TESTS / "mp" / "flashfull.py", "rotate", path=[TESTS / "mp"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "rotate ok: 60 sessions" in res.stdout
    print(res.stdout.strip())


def test_flash_jammed_by_other_files_reports_the_error_and_sessions_still_end():
    res = run_micropython(TESTS / "mp" / "flashfull.py", "jammed", path=[TESTS / "mp"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "jammed ok" in res.stdout
