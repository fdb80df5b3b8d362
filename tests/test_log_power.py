"""Power-cut sweeps of the session log and the config on real littlefs: tests/mp/powercut.py
on the MicroPython unix port cuts the power at every flash operation of a recorded run and
checks the next boot (mount, recover); tests/mp/damageboot.py boots damaged logs. `pytest -k
power -s` shows how many cuts and flips were tried."""

import re

from ball import config, sim
from ball.wire import framing
from conftest import TESTS, run_micropython
from knotball.commands.demo import TRACE as DEMO_TRACE


def sweep(mode):
    """Run one sweep; return its summary line (printed, so -s shows it)."""
    res = run_micropython(TESTS / "mp" / "powercut.py", mode, path=[TESTS / "mp"])
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.strip().splitlines()
    print("\n".join(lines[-2:]))  # the scenario, then the sweep's result
    assert lines[-1].endswith(", 0 failures"), lines[-1]
    return lines[-1]


def cut_points(line, pattern):
    m = re.match(pattern, line)
    assert m, line
    return int(m.group(1))


def test_power_cut_sweep_every_write_keeps_finished_sessions_and_a_whole_config():
    """Before and halfway through every erase and write: the flash mounts, finished sessions
    are intact, the cut one is back to its last checkpoint or gone, the config old or new."""
    line = sweep("ordered")
    assert cut_points(line, r"power-cut sweep: (\d+) cut points") > 100


def test_power_cut_sweep_reordered_writes_since_the_last_sync():
    """The same checks when the writes since littlefs's last sync land in any order, or not
    at all: what was synced must survive."""
    line = sweep("reorder")
    assert cut_points(line, r"power-cut reorder sweep: (\d+) cut points x") > 100


def test_power_cut_sweep_inside_recovery_is_recovered_at_the_next_boot():
    """A second cut anywhere inside recover() leaves the flash that boot's recovery finishes."""
    line = sweep("recovery")
    assert cut_points(line, r"power-cut recovery sweep: (\d+) cut points") > 100


def test_boot_recovery_on_real_littlefs_never_cuts_or_deletes_a_damaged_log(tmp_path):
    """Every single-bit flip of the demo session's log, finished and cut by a power cut after
    its fifth record, on littlefs: recovery keeps every byte (tests/mp/damageboot.py)."""
    sim.run(str(DEMO_TRACE), config.validate({}), lambda line: None, str(tmp_path))
    data = (tmp_path / "00000001.kbl").read_bytes()
    fifth = [off for off, rtype, _p in framing.frames(data) if rtype is not None][5]
    (tmp_path / "cut.kbl").write_bytes(data[:fifth])
    logs = [tmp_path / "00000001.kbl", tmp_path / "cut.kbl"]
    res = run_micropython(TESTS / "mp" / "damageboot.py", "all", *logs, path=[TESTS / "mp"])
    assert res.returncode == 0, res.stdout + res.stderr
    line = res.stdout.strip().splitlines()[-1]
    print(line)
    flips = 8 * (len(data) + fifth)
    assert line.startswith("damage-boot sweep: {} flips, 0 cut, 0 deleted".format(flips)), line


def test_power_cuts_never_give_an_area_back_a_session_or_seconds_it_used():
    """The day per area on real littlefs: before and halfway through every erase and write
    of a run with two sessions on one area, the boot finds the area chosen, its count never
    lower than before, its seconds the running session's limit or the real length, and its
    day (made 6 minutes there) used up once the second session, limited to what was left,
    has started."""
    res = run_micropython(TESTS / "mp" / "areacut.py", path=[TESTS / "mp"])
    assert res.returncode == 0, res.stdout + res.stderr
    line = res.stdout.strip().splitlines()[-1]
    print(line)
    assert cut_points(line, r"area power-cut sweep: (\d+) cut points, 0 failures") >= 90


def test_a_power_cut_while_a_threshold_is_written_leaves_no_half_file():
    """A threshold measured on the ball, written beside an older one on real littlefs: cut
    before and halfway through every erase and write, the boot finds the older file whole
    and the new one absent or whole (threshold.unpack reads it), never half of it."""
    res = run_micropython(TESTS / "mp" / "thresholdcut.py", path=[TESTS / "mp"])
    assert res.returncode == 0, res.stdout + res.stderr
    line = res.stdout.strip().splitlines()[-1]
    print(line)
    assert cut_points(line, r"threshold power-cut sweep: (\d+) cut points, 0 failures") >= 9
