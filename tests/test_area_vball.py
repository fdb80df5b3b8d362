"""Body areas end to end on the virtual ball (`knotball virtual`, the firmware as flashed,
its flash image kept across restarts), reached through its pty as a person's computer
reaches a ball: `knotball area` chooses and adds areas, each area gets its own sessions a
day, a session without an area keeps the whole body's daily limit, the log records the
area, and the area chosen and the day per area survive a restart. Over Wi-Fi the same
through the page's /area (knotball live --url's link)."""

import json
import time

import pytest
from test_web_virtual import PagedBall
from vball_fixture import VirtualBall, deploy_firmware, write_trace

from conftest import knotball
from knotball.transport.link import BallError
from knotball.transport.page import PageLink


@pytest.fixture
def image(tmp_path):
    cfg = {"session_limit_s": 120, "max_sessions_per_day": 1, "idle_stop_s": 3}
    return deploy_firmware(tmp_path, tmp_path / "flash.img", cfg)


def area(v, *args):
    res = knotball("area", *args, "--port", v.port, "--json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def hello(v):
    with v.link() as link:
        return link.hello()


def test_areas_are_chosen_added_counted_apart_logged_and_kept_across_a_restart(tmp_path, image):
    v = VirtualBall(tmp_path, image)  # nobody presses it
    try:
        v.wait_app()
        state = area(v)
        assert state["area"] == "none" and "calves" in state["areas"]
        res = knotball("area", "shoulders", "--port", v.port)
        assert res.returncode == 2 and "knotball area --add shoulders" in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
        res = knotball("area", "Left Knee", "--port", v.port)  # refused before connecting
        assert res.returncode == 2 and "NAME may hold only a-z" in res.stderr
        assert area(v, "--add", "left_knee")["area"] == "left_knee"
        assert "left_knee" in area(v)["areas"]
        with v.link() as link:
            assert link.cfg()["areas"] == ["left_knee"]  # kept in the ball's config
        assert area(v, "calves")["area"] == "calves"
        v.stop()

        # A press (a session on the calves, ended idle), then another: the calves have had
        # their one session of the day, so the second gets the rest signal.
        rows = [(0, 0), (500, 30), (2500, 30), (2600, 0), (8000, 0), (8500, 30), (9500, 30)]
        trace = write_trace(tmp_path / "p.csv", rows + [(9600, 0)])
        v = VirtualBall(tmp_path, image, "--trace", trace)
        v.wait_app()
        (entry,) = v.wait_finished()
        while hello(v)["uptime_ms"] < 11000:
            time.sleep(0.2)
        assert len(v.wait_finished()) == 1  # no second session: rest
        h = hello(v)
        assert h["sessions_today"] == 1 and h["rest"] is True
        state = area(v)
        assert state["today"]["calves"][0] == 1 and state["rest"] is True
        assert 5 <= state["today"]["calves"][1] <= 7  # its seconds: 2 pressed + 3 idle
        assert area(v, "soles")["rest"] is False  # another area: its own day
        assert area(v, "none")["rest"] is True  # no area: the whole body's one a day
        res = knotball("pull", "--port", v.port, "--json")
        assert res.returncode == 0, res.stderr
        res = knotball("history", "--json")
        assert [s["area"] for s in json.loads(res.stdout)["sessions"]] == ["calves"]
        area(v, "left_knee")
        v.stop()

        v = VirtualBall(tmp_path, image)
        assert v.wait_app()["area"] == "left_knee"  # `KB hello` says it too
        state = area(v)
        assert state["area"] == "left_knee" and state["today"]["calves"][0] == 1
        assert state["rest"] is False
        v.stop()
    finally:
        v.kill()


def test_the_page_lists_and_chooses_areas_for_live_over_wifi(tmp_path, image):
    p = PagedBall(tmp_path, image)
    try:
        link = PageLink(p.url)
        try:
            state = link.request("area")
            assert state["area"] == "none" and "soles" in state["areas"]
            assert link.request("area soles")["area"] == "soles"
            with pytest.raises(BallError, match="not an area of this ball"):
                link.request("area elbows")
            assert link.request("area")["area"] == "soles"
        finally:
            link.close()
        assert area(p.ball, "none")["area"] == "none"  # and over USB, the same ball
    finally:
        p.ball.kill()
