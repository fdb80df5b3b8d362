"""The console fuzz (issue 15): tests/mp/consolefuzz.py sends thousands of random and crafted
lines (junk bytes, NULs, high bytes, partial and over-long lines, every command with 0 to 4
random arguments, huge and negative numbers, clock jumps, `KB rm` of what must stay with its
right CRC) to the firmware's real console on the MicroPython unix port, while the real App
runs a press every 15 s on a virtual clock. `pytest -k fuzz -s` prints the figures."""

import json

import pytest

from conftest import TESTS, run_micropython

LINES = 5000


def fuzz(tmp_path, seed):
    """Run the fuzz; return its figures (the JSON line it prints)."""
    res = run_micropython(TESTS / "mp" / "consolefuzz.py", tmp_path, seed, LINES, timeout=600)
    out = res.stdout.strip().splitlines()
    assert res.returncode == 0 and out and out[-1].startswith("fuzz "), res.stdout + res.stderr
    figures = json.loads(out[-1][len("fuzz ") :])
    keys = "lines bytes frames replies worst_poll_us heap_start heap_end real_ms".split()
    limit, period = figures["limit_ms"], figures["period_ms"]
    on_time = sum(
        reason == "time_limit" and limit <= stop - start <= limit + period
        for start, stop, reason, _elapsed in figures["sessions"]
    )
    print("seed", seed, {k: figures[k] for k in keys})
    print(
        "  sessions: {} started, {} stopped on time, {} rest signals".format(
            len(figures["sessions"]), on_time, figures["rest_signals"]
        )
    )
    return figures


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_console_line_ends_the_app_or_lifts_a_limit(tmp_path, seed):
    cfg_before = {"session_limit_s": 10, "idle_stop_s": 2, "max_sessions_per_day": 4}
    f = fuzz(tmp_path, seed)
    # Every line answered with one valid frame (a `get` that the next line cancelled ends
    # without its closing reply), and the ball still answers after the fuzz.
    assert f["lines"] >= LINES and f["bytes"] > 100 * LINES
    assert f["bad_frames"] == 0
    answered = f["lines"] - f["silent_lines"]
    assert answered - f["get_lines"] <= f["replies"] <= answered
    assert f["last_reply"][0] == "R" and f["last_reply"][1]["command"] == "hello"
    # More presses came than the day allows: exactly the day's limit of sessions started,
    # whatever clock the fuzz set, each stopped at its time limit (within one sample), and
    # the presses after them got the rest signal. No session ended as aborted.
    limit_ms = cfg_before["session_limit_s"] * 1000
    assert f["limit_ms"] == limit_ms
    assert len(f["sessions"]) == cfg_before["max_sessions_per_day"], f["sessions"]
    assert f["sessions_today"] == cfg_before["max_sessions_per_day"]
    assert f["rest_signals"] >= 1
    for start, stop, reason, elapsed in f["sessions"]:
        assert reason == "time_limit" and elapsed == limit_ms, (start, stop, reason)
        assert limit_ms <= stop - start <= limit_ms + f["period_ms"], (start, stop)
    # Nothing changed on the ball's flash but what the sessions wrote: the config as it was,
    # no network stored, every session's log and the next id still there.
    for key, value in cfg_before.items():
        assert f["config"][key] == value, key
    assert json.loads((tmp_path / "config.json").read_text()) == cfg_before
    assert f["files"] == ["config.json", "logs"]
    n = len(f["sessions"])
    assert f["logs"] == ["{:08d}.kbl".format(i) for i in range(1, n + 1)] + ["next_id"]
    assert (tmp_path / "logs" / "next_id").read_text().split()[0] == str(n + 1)
