"""A history for the physio's report and the export, built from session logs the firmware
wrote (ball.sim) and imported with `knotball import`, plus threshold measurements stored as
`knotball calibrate bands` stores them. Times are UTC: tests set TZ=UTC for the commands."""

import calendar

from test_history import relabel, write_log

from conftest import knotball
from knotball import traces
from knotball.history import store

DAY = calendar.timegm((2025, 3, 10, 8, 0, 0))  # Monday 2025-03-10, 08:00 UTC
H = 3600
D = 86400


def logs(tmp_path_factory):
    """The firmware's logs: 30 s with a moment too hard, a symptom stop, five minutes."""
    hard = traces.TraceBuilder(seed=21).rest(1).ramp(0.5, 25).hold(10, 25).roll(8, 30, 10)
    hard = hard.ramp(0.5, 62).hold(2, 62).ramp(0.5, 30).roll(10, 30, 8).ramp(0.5, 0).rest(1)
    symptom = traces.TraceBuilder(seed=2).rest(1).roll(10, 20, 8).ramp(0.3, 0).rest(1)
    for _ in range(2):  # two quick firm squeezes: numbness or tingling
        symptom = symptom.ramp(0.1, 60).hold(0.05, 60, wobble_n=1).ramp(0.1, 0).rest(0.3)
    symptom = symptom.rest(3)
    five = traces.TraceBuilder(seed=5).rest(1).ramp(0.5, 20)
    for level in (20, 28, 24, 32, 26, 30):
        five = five.hold(10, level).roll(40, level, 8)
    five = five.ramp(0.5, 0).rest(1)
    base = tmp_path_factory.mktemp("physio")
    return {
        "hard": write_log(base / "hard", hard, session_limit_s=30),
        "symptom": write_log(base / "symptom", symptom, session_limit_s=120),
        "five": write_log(base / "five", five, session_limit_s=300),
    }


# (session id, log, start): Monday two short sessions, Tuesday a symptom stop and five
# minutes, Thursday four five-minute sessions (over the guidance), one without a clock.
PLAN = [
    (1, "hard", DAY),
    (2, "hard", DAY + 3 * H),
    (3, "symptom", DAY + D),
    (4, "five", DAY + D + 4 * H),
    (5, "five", DAY + 3 * D),
    (6, "five", DAY + 3 * D + 2 * H),
    (7, "five", DAY + 3 * D + 4 * H),
    (8, "five", DAY + 3 * D + 6 * H),
    (9, "hard", 0),
]
# Thresholds: one the week before (the starting level), Tuesday and Friday.
THRESHOLDS = [(DAY - 7 * D, (30.1, 31.5, 29.0)), (DAY + D, (33.0, 34.2, 32.1)),
              (DAY + 4 * D, (36.4, 37.0, 35.5))]  # fmt: skip


def build(logs, tmp_path, plan=PLAN, thresholds=THRESHOLDS):
    """Import the planned sessions into the test's history; store the thresholds. A plan's
    (id, log, start, AREA) is a session on that body area; a threshold's (at, peaks, AREA)
    is measured on it as `knotball measure AREA` keeps it (the bands unchanged)."""
    files = []
    for sid, name, start, *area in plan:
        path = tmp_path / "{:08d}.kbl".format(sid)
        path.write_bytes(relabel(logs[name], sid, start, *area))
        files.append(path)
    res = knotball("import", *files)
    assert res.returncode == 0, res.stderr
    for at, peaks, *area in thresholds:
        level = sum(peaks) / len(peaks)
        quality = {"level_n": round(level, 2)}
        quality["spread_pct"] = round(100 * (max(peaks) - min(peaks)) / level, 1)
        kind, values = ("threshold", {}) if area else ("bands", {"over_n": round(level * 1.3, 1)})
        store.History().add_calibration(
            "vb01", kind, values, quality, [{"peak_n": p, "rise_ms": 5200} for p in peaks],
            board="sim-baro", at=at, area=area[0] if area else None,
        )  # fmt: skip
    return store.History().sessions()
