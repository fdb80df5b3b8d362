"""`knotball measure AREA` end to end on the virtual ball: its sensor plays three slow presses
(ball time, --speed 10), the answers come on stdin, and afterwards the history holds the
area's threshold with its date, peaks and spread, the bands changed only when asked, and
`knotball history` shows the area's trend. Also the refusals."""

import json
import shutil
import subprocess
import sys

import pytest
from test_calibrate import SPEED, bands_trace
from vball_fixture import VirtualBall, deploy_firmware

from conftest import knotball
from knotball.history import store


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("measure")
    return deploy_firmware(tmp, tmp / "flash.img", {})


def measure(tmp_path, image, peaks, answers, *args):
    """Run `knotball measure` against a ball that presses `peaks` (5 s rises); returns
    (result, JSON result, hello and config after)."""
    trace = bands_trace(tmp_path / "t.csv", [(5, p) for p in peaks])
    v = VirtualBall(tmp_path, image, "--trace", trace, "--speed", SPEED)
    try:
        v.wait_app()
        res = subprocess.run(
            [sys.executable, "-m", "knotball", "measure", *args, "--port", v.port, "--json"],
            input=answers,
            capture_output=True,
            text=True,
            timeout=120,
        )
        with v.link() as link:
            after = link.hello(), link.cfg()
        v.stop()
    finally:
        v.kill()
    return res, json.loads(res.stdout) if res.stdout.strip() else None, after


def test_measure_keeps_each_areas_threshold_and_sets_the_bands_only_when_asked(tmp_path, image):
    img = tmp_path / "flash.img"
    shutil.copyfile(image, img)
    res, result, (hello, cfg) = measure(tmp_path, img, (40, 36, 44), "\nn\n", "calves")
    assert res.returncode == 0, res.stderr
    assert "Set the bands from it too?" in res.stderr and "bands are unchanged" in res.stderr
    assert result["area"] == "calves" and result["quality"]["level_n"] == pytest.approx(40, 0.03)
    assert cfg["over_n"] == 55.0 and hello["calib"] is False  # the default bands, kept
    (first,) = store.History().calibrations(hello["id"])
    assert first["kind"] == "threshold" and first["area"] == "calves"
    assert [p["peak_n"] for p in first["points"]] == pytest.approx([40, 36, 44], rel=0.03)
    assert first["quality"]["spread_pct"] == pytest.approx(20, abs=2)

    res, result, (hello, cfg) = measure(tmp_path, img, (30, 30, 30), "\n", "calves", "--yes")
    assert res.returncode == 0, res.stderr
    assert cfg["over_n"] == pytest.approx(30, rel=0.03)  # asked for: the bands follow
    second = store.History().calibrations(hello["id"])[-1]
    assert second["kind"] == "bands" and second["area"] == "calves"

    res = knotball("history", "--json")
    assert res.returncode == 0, res.stderr
    trend = json.loads(res.stdout)["thresholds"]["calves"]
    assert [round(m["level_n"]) for m in trend] == [40, 30] and len(trend[0]["peaks_n"]) == 3
    res = knotball("history")
    assert "Pressure threshold per area" in res.stdout
    assert "calves: 40." in res.stdout and "(-10." in res.stdout and "-25 %" in res.stdout


def test_measure_refuses_an_area_the_ball_does_not_know_and_a_bad_name(tmp_path, image):
    img = tmp_path / "flash.img"
    shutil.copyfile(image, img)
    res, result, (hello, _) = measure(tmp_path, img, (40,) * 3, "\n", "elbows")
    assert res.returncode == 2 and "AREA elbows is not an area of this ball" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 2  # the heading, then the one-line error
    assert hello["calib"] is False and store.History().calibrations() == []
    res = knotball("measure", "Left Elbow", "--port", "nowhere")
    assert res.returncode == 2 and res.stderr.startswith("knotball measure: AREA may hold")
