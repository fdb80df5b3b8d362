"""The live page in a real browser when the link drops (the body and a wall shadow the
radio): through a relay the test cuts, the page resumes from its last sample; a cut longer
than the ball keeps (12 s) is shown as a gap, never joined over. Marked `browser`, as
tests/test_page_browser.py (whose browser and helpers it uses)."""

import shutil

import pytest
from netrelay import Relay

# Its browser and image fixtures (pytest finds them here by name) and helpers.
from test_page_browser import browser, firmware_image, seen, shot, text  # noqa: F401
from test_web_virtual import PagedBall, ball_time, watch_until
from vball_fixture import write_trace

pytestmark = pytest.mark.browser


def test_a_link_cut_longer_than_the_ball_keeps_shows_as_a_gap_on_the_page(
    firmware_image,  # noqa: F811
    tmp_path,
    browser,  # noqa: F811
):
    image = tmp_path / "flash.img"
    shutil.copyfile(firmware_image, image)
    rows = [(0, 0), (1000, 25), (70000, 25), (70100, 0)]
    trace = write_trace(tmp_path / "press.csv", rows)
    p = PagedBall(tmp_path, image, "--trace", trace, "--speed", 4)
    relay = Relay(p.port)
    try:
        browser.get("http://127.0.0.1:{}/?k={}".format(relay.port, p.token))
        seen(browser, lambda d: text(d, "band") == "MEDIUM")
        assert text(browser, "gap") == ""
        relay.cut()
        watch_until(p, ball_time(p) + 16000)  # longer than the ring
        relay.mend()
        seen(browser, lambda d: "data lost" in text(d, "gap"), timeout=60)
        lost = float(text(browser, "gap").split()[1])
        assert 4 <= lost <= 60, text(browser, "gap")
        seen(browser, lambda d: "no data" not in text(d, "note"))
        shot(browser, tmp_path, "page-gap.png")
    finally:
        relay.close()
        p.ball.kill()
