"""The firmware on the real MicroPython unix port: the core tests, and the heap-locked loop."""

import socket

import pytest

from conftest import TESTS, run_micropython
from knotball.runtime import FIRMWARE_ROOT
from knotball.virtual.pty_ball import VBALL_DIR

CORE_MODULES = sorted(p.stem for p in (TESTS / "core").glob("test_*.py"))


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_tests_pass_on_micropython(module, tmp_path):
    res = run_micropython(TESTS / "core" / "mprun.py", module, path=[TESTS / "core"])
    assert res.returncode == 0, res.stdout + res.stderr
    last = res.stdout.strip().splitlines()[-1]
    passed = int(last.split()[0])
    assert passed > 0 and last.endswith(" 0 failed")


def test_whole_session_runs_with_the_heap_locked():
    """A MemoryError here means some part of a sampling-loop iteration allocated."""
    res = run_micropython(TESTS / "mp" / "loopcheck.py", "lock", path=[TESTS / "mp"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok heap-locked ticks 14000" in res.stdout


def test_piecewise_calibration_on_fsr_counts_runs_with_the_heap_locked():
    """cal_points and counts in the millions: the calibration needs no heap either."""
    res = run_micropython(TESTS / "mp" / "loopcheck.py", "lockfsr", path=[TESTS / "mp"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok heap-locked ticks 14000" in res.stdout


def test_whole_session_with_logging_samples_with_the_heap_locked():
    """Session start, checkpoints and stop are built in place; files wait for service()."""
    res = run_micropython(TESTS / "mp" / "loopcheck.py", "locklog", path=[TESTS / "mp"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok heap-locked ticks with logging 14000" in res.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_whole_session_with_two_pages_streaming_runs_with_the_heap_locked():
    """The live page's server polled after every sample, idle and then streaming to two
    pages over real sockets: packing and sending a sample event allocates nothing."""
    res = run_micropython(
        TESTS / "mp" / "loopcheck.py", "lockstream", free_port(), path=[TESTS / "mp"]
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok heap-locked ticks with the page streaming 14000" in res.stdout


def test_loop_allocates_zero_bytes_per_iteration():
    res = run_micropython(TESTS / "mp" / "loopcheck.py", "alloc", path=[TESTS / "mp"])
    assert res.returncode == 0, res.stderr
    assert "alloc_bytes_per_iter 0.0" in res.stdout


def test_calibration_mode_samples_with_the_heap_locked():
    """Calibration LED, buzzes, renewals and the lapse back to sessions allocate nothing."""
    res = run_micropython(TESTS / "mp" / "loopcheck.py", "calib", path=[TESTS / "mp"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok heap-locked calibration ticks 12000" in res.stdout


def test_a_threshold_measurement_steps_with_the_heap_locked():
    """The phone page's measurement: presses detected, buzzes given, allocation-free; the
    file written between samples."""
    res = run_micropython(TESTS / "mp" / "loopcheck.py", "measure", path=[TESTS / "mp"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok heap-locked measurement ticks 2980 file t0000001.kbt" in res.stdout


def test_a_timer_wake_on_the_virtual_board_sleeps_again_without_the_safe_mode_window():
    """boot to deep sleep after a timer wake, as a flashed ball runs it (compiled firmware,
    cold imports); `make bench` prints how long it took."""
    from knotball.runtime import compiled_firmware

    res = run_micropython(
        TESTS / "mp" / "wakebench.py",
        FIRMWARE_ROOT,
        path=[compiled_firmware(), VBALL_DIR],
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "safe_mode_windows 0 slept_for 2000" in res.stdout
