"""The live page in a real browser (headless Chromium driven by selenium) on a phone-sized
window, served by a virtual ball: what a person two metres away sees. Marked `browser`:
deselected, and said so at the end of the run, where Chromium is not installed."""

import json
import shutil
import time
from pathlib import Path

import pytest
from test_web_virtual import PagedBall
from vball_fixture import deploy_firmware, write_trace

from conftest import knotball

pytestmark = pytest.mark.browser
ARTEFACTS = Path(__file__).resolve().parent.parent / "build" / "page-screenshots"
MEDIUM_RGB = "rgba(154, 106, 0, 1)"  # body.medium in firmware/page.html: amber, as the LED


@pytest.fixture(scope="module")
def firmware_image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deploy")
    return deploy_firmware(tmp, tmp / "flash.img", {"session_limit_s": 60})


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--user-data-dir={}".format(tmp_path / "chromium-profile"),
        "--window-size=390,844",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    yield driver
    driver.quit()


def seen(driver, pred, timeout=30):
    """Wait until pred(driver) is true; what the page showed when it never was."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred(driver):
            return
        time.sleep(0.1)
    raise AssertionError(driver.find_element("tag name", "body").text)


def text(driver, id_):
    return driver.find_element("id", id_).text


def viewport(driver, width, height):
    """The page's viewport exactly width x height CSS pixels, as on a phone."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
    )
    assert driver.execute_script("return [innerWidth, innerHeight]") == [width, height]


def shot(driver, tmp_path, name):
    path = tmp_path / name
    driver.save_screenshot(str(path))
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, ARTEFACTS / name)


def test_the_page_shows_force_band_hold_and_cue_and_its_stop_button_ends_the_session(
    firmware_image, tmp_path, browser
):
    image = tmp_path / "flash.img"
    shutil.copyfile(firmware_image, image)
    rows = [(0, 0), (1000, 25), (70000, 25), (70100, 0)]
    p = PagedBall(tmp_path, image, "--trace", write_trace(tmp_path / "press.csv", rows))
    try:
        browser.get(p.url)
        seen(browser, lambda d: text(d, "band").lower() == "medium")
        force = text(browser, "force")
        assert force.endswith("N") and 20 <= float(force.split()[0]) <= 30
        body = browser.find_element("tag name", "body")
        seen(browser, lambda d: body.value_of_css_property("background-color") == MEDIUM_RGB)
        seen(browser, lambda d: int(text(d, "hold").split()[1]) >= 5)
        seen(browser, lambda d: text(d, "cue") == "hold effective")
        assert "/ 1:00" in text(browser, "time")  # the 60 s limit of the test firmware
        shot(browser, tmp_path, "page-portrait.png")
        browser.set_window_size(844, 390)
        shot(browser, tmp_path, "page-landscape.png")

        browser.find_element("id", "stop").click()
        seen(browser, lambda d: text(d, "note") == "stopped: rest this area")
        seen(browser, lambda d: "symptom" in text(d, "band").lower())
        p.ball.wait_finished()
        res = knotball("pull", "--port", p.ball.port, "--json")
        assert res.returncode == 0, res.stderr
        (session,) = json.loads(res.stdout)["sessions"]
        assert session["stop_reason"] == "symptom"
    finally:
        p.ball.kill()


# Phones: a small one and a larger one, each way up (CSS pixels).
SIZES = [(360, 640), (640, 360), (412, 915), (915, 412)]
# What a person reads from two metres and the button they must hit: each must be on screen
# whole, and none may cover another.
KEY = ("force", "band", "bar", "time", "hold", "holdbar", "cue", "stop", "sound")
BOXES = """return arguments[0].map(function (id) {
  var r = document.getElementById(id).getBoundingClientRect();
  return [id, r.left, r.top, r.right, r.bottom];
}).concat([["page", 0, 0, document.documentElement.scrollWidth,
            document.documentElement.scrollHeight]]);"""


def overlap(a, b):
    return min(a[3], b[3]) - max(a[1], b[1]) > 0.5 and min(a[4], b[4]) - max(a[2], b[2]) > 0.5


def test_portrait_and_landscape_on_small_and_large_phones_fit_with_the_force_large(
    firmware_image, tmp_path, browser
):
    image = tmp_path / "flash.img"
    shutil.copyfile(firmware_image, image)
    rows = [(0, 0), (1000, 25), (70000, 25), (70100, 0)]
    p = PagedBall(tmp_path, image, "--trace", write_trace(tmp_path / "press.csv", rows))
    try:
        browser.get(p.url)
        seen(browser, lambda d: text(d, "cue") == "hold effective")
        for width, height in SIZES:
            viewport(browser, width, height)
            where = "{}x{}".format(width, height)
            boxes = browser.execute_script(BOXES, list(KEY))
            page = boxes.pop()
            assert page[3] <= width and page[4] <= height, (where, "scrolls", page)
            for id_, left, top, right, bottom in boxes:
                assert right - left > 0 and bottom - top > 0, (where, id_, "not shown")
                assert left >= 0 and top >= 0, (where, id_, left, top)
                assert right <= width and bottom <= height, (where, id_, right, bottom)
            for i, a in enumerate(boxes):
                for b in boxes[i + 1 :]:
                    assert not overlap(a, b), (where, a, b)
            force = boxes[0]
            assert force[4] - force[2] >= 0.25 * min(width, height), (where, force)
            shot(browser, tmp_path, "page-{}.png".format(where))
    finally:
        p.ball.kill()
