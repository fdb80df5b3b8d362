"""The live page in a real browser (headless Chromium driven by selenium) on a phone-sized
window, served by a virtual ball: what a person two metres away sees. Marked `browser`:
deselected, and said so at the end of the run, where Chromium is not installed."""

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from test_web_virtual import PagedBall
from vball_fixture import HARDWARE, deploy_firmware, write_trace

from conftest import knotball
from knotball.browser import headless, viewport

pytestmark = pytest.mark.browser
ARTEFACTS = Path(__file__).resolve().parent.parent / "build" / "page-screenshots"
PRESS = [(0, 0), (1000, 25), (70000, 25), (70100, 0)]  # a steady medium press for a minute
MEDIUM_RGB = "rgba(154, 106, 0, 1)"  # body.medium in firmware/page.html: amber, as the LED


@pytest.fixture(scope="module")
def firmware_image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deploy")
    return deploy_firmware(tmp, tmp / "flash.img", {"session_limit_s": 60})


@pytest.fixture
def browser(tmp_path):
    driver = headless(tmp_path / "chromium-profile", (390, 844))
    yield driver
    driver.quit()


def seen(driver, pred, timeout=30):
    """Wait until pred(driver) is true; what the page showed when it never was. An element
    the page replaced while pred read it (the area list is rebuilt when it arrives) is
    read again on the next try."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred(driver):
                return
        except StaleElementReferenceException:
            pass
        time.sleep(0.1)
    raise AssertionError(driver.find_element("tag name", "body").text)


def text(driver, id_):
    return driver.find_element("id", id_).text


def shot(driver, tmp_path, name):
    path = tmp_path / name
    driver.save_screenshot(str(path))
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, ARTEFACTS / name)


def paged_ball(firmware_image, tmp_path, rows, *extra):
    image = tmp_path / "flash.img"
    if not image.exists():
        shutil.copyfile(firmware_image, image)
    trace = write_trace(tmp_path / "press.csv", rows)
    return PagedBall(tmp_path, image, "--trace", trace, *extra)


def test_the_page_shows_force_band_hold_and_cue_and_its_stop_button_ends_the_session(
    firmware_image, tmp_path, browser
):
    p = paged_ball(firmware_image, tmp_path, PRESS)
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
        viewport(browser, 844, 390)
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


def fits_every_phone(driver, tmp_path, keys, name):
    """At each of SIZES: the elements `keys` on screen whole, none covering another, no
    scrolling, and the force's digits at least a quarter of the short side; a screenshot."""
    for width, height in SIZES:
        viewport(driver, width, height)
        where = "{}x{}".format(width, height)
        boxes = driver.execute_script(BOXES, list(keys))
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
        shot(driver, tmp_path, name.format(where))


def test_portrait_and_landscape_on_small_and_large_phones_fit_with_the_force_large(
    firmware_image, tmp_path, browser
):
    p = paged_ball(firmware_image, tmp_path, PRESS)
    try:
        browser.get(p.url)
        seen(browser, lambda d: text(d, "cue") == "hold effective")
        fits_every_phone(browser, tmp_path, KEY, "page-{}.png")
        # The most the page ever shows at once: a fault, the longest cue and a note (the
        # ball gone, so no sample redraws them).
        p.ball.stop()
        seen(browser, lambda d: "no data for" in note(d))
        browser.execute_script(
            "var f = document.getElementById('fault'); f.style.display = 'block';"
            "f.textContent = 'sensor fault: stuck';"
            "document.getElementById('cue').textContent = 'hold long, move on';"
        )
        fits_every_phone(browser, tmp_path, KEY + ("fault", "note"), "page-{}-busiest.png")
    finally:
        p.ball.kill()


def note(driver):
    return text(driver, "note")


def body_classes(driver):
    return driver.find_element("tag name", "body").get_attribute("class").split()


def test_the_page_says_it_is_reconnecting_when_the_ball_goes_and_streams_again_when_back(
    firmware_image, tmp_path, browser
):
    p = paged_ball(firmware_image, tmp_path, PRESS)
    again = None
    try:
        browser.get(p.url)
        seen(browser, lambda d: text(d, "band").lower() == "medium")
        p.ball.stop()  # the ball is gone: its server with it
        seen(browser, lambda d: "reconnecting" in note(d))
        seen(browser, lambda d: "stale" in body_classes(d) and "no data for" in note(d))
        shot(browser, tmp_path, "page-reconnecting.png")
        # The same ball back (same flash, so the same token; same address).
        again = paged_ball(firmware_image, tmp_path, PRESS, "--http-port", p.port)
        assert again.url == p.url
        seen(browser, lambda d: note(d) == "reconnected", timeout=40)
        assert "stale" not in body_classes(browser)
        seen(browser, lambda d: text(d, "band").lower() == "medium")
        t0 = text(browser, "time")
        seen(browser, lambda d: text(d, "time") != t0)  # streaming, not a frozen picture
    finally:
        p.ball.kill()
        if again is not None:
            again.ball.kill()


def test_data_that_stops_arriving_is_marked_stale_while_the_link_stays_open(
    firmware_image, tmp_path, browser
):
    p = paged_ball(firmware_image, tmp_path, PRESS)
    try:
        browser.get(p.url)
        seen(browser, lambda d: text(d, "band").lower() == "medium")
        assert "stale" not in body_classes(browser) and "no data" not in note(browser)
        firmware = p.ball.rom_pid()
        os.kill(firmware, signal.SIGSTOP)  # the ball stalls; its socket stays open
        try:
            seen(browser, lambda d: "stale" in body_classes(d))
            seen(browser, lambda d: note(d).startswith("no data for "))
            assert "reconnecting" not in note(browser)  # the stream is open, just silent
            opacity = browser.find_element("id", "reading").value_of_css_property("opacity")
            assert float(opacity) < 0.5  # the old figures are dimmed, not shown as current
        finally:
            os.kill(firmware, signal.SIGCONT)
        seen(browser, lambda d: "stale" not in body_classes(d))
        assert "no data" not in note(browser)
    finally:
        p.ball.kill()


@pytest.fixture(scope="module")
def stuck_image(tmp_path_factory):
    """A ball whose board flags a reading unchanged for 2 s as a stuck sensor (the firmware's
    own check), fed an unchanging press: a sensor fault without touching the firmware."""
    tmp = tmp_path_factory.mktemp("stuck")
    profile = dict(json.loads((HARDWARE / "sim.json").read_text()), stuck_ms=2000)
    return deploy_firmware(tmp, tmp / "flash.img", {"session_limit_s": 60}, board=profile)


def test_a_sensor_fault_is_shown_in_red(stuck_image, tmp_path, browser):
    p = paged_ball(stuck_image, tmp_path, PRESS)
    try:
        browser.get(p.url)
        fault = browser.find_element("id", "fault")
        seen(browser, lambda d: fault.is_displayed())
        assert fault.text == "sensor fault: stuck"
        assert fault.value_of_css_property("color") == "rgba(204, 0, 0, 1)"  # #c00
        assert text(browser, "force") == "– N"  # no number from a sensor not to be trusted
        shot(browser, tmp_path, "page-fault.png")
    finally:
        p.ball.kill()


def test_after_the_tap_for_sound_a_band_change_plays_a_tone_and_a_cue_is_spoken(
    firmware_image, tmp_path, browser
):
    """Headless Chromium plays nothing: the page lists what its sound code scheduled
    (window.kbSound), tones by frequency (light 330 Hz, medium 440 Hz) and spoken words."""
    rows = [(0, 0), (12000, 12), (15000, 25), (70000, 25), (70100, 0)]
    p = paged_ball(firmware_image, tmp_path, rows)
    try:
        browser.get(p.url)
        seen(browser, lambda d: text(d, "band").lower() == "idle")
        assert browser.execute_script("return kbSound") == []  # silent until tapped
        browser.find_element("id", "sound").click()
        assert text(browser, "sound") == "sound on"
        seen(browser, lambda d: text(d, "cue") == "hold effective")
        heard = browser.execute_script("return kbSound")
        assert heard[:2] == ["tone 440", "say sound on"], heard  # the tap's own answer
        later = heard[2:]
        assert "tone 330" in later and "tone 440" in later, heard
        assert later.index("tone 330") < later.index("tone 440")  # idle -> light -> medium
        seen(browser, lambda d: "say hold effective" in d.execute_script("return kbSound"))
    finally:
        p.ball.kill()


def areas_pulled(p):
    """Once the paged ball's trace is played: its sessions pulled, their areas in the history."""
    p.ball.wait_finished(timeout=60)
    res = knotball("pull", "--port", p.ball.port, "--json")
    assert res.returncode == 0, res.stderr
    res = knotball("history", "--json")
    assert res.returncode == 0, res.stderr
    return [s["area"] for s in json.loads(res.stdout)["sessions"]]


def test_the_area_picker_chooses_the_area_the_next_session_is_logged_with(
    firmware_image, tmp_path, browser
):
    from selenium.webdriver.support.ui import Select

    image = tmp_path / "flash.img"
    shutil.copyfile(firmware_image, image)
    rows = [(0, 0), (20000, 0), (20100, 25), (24000, 25), (24100, 0)]
    p = PagedBall(tmp_path, image, "--trace", write_trace(tmp_path / "press.csv", rows))
    try:
        browser.get(p.url)
        seen(browser, lambda d: len(Select(d.find_element("id", "area")).options) > 10)
        picker = Select(browser.find_element("id", "area"))
        assert picker.first_selected_option.get_attribute("value") == "none"
        assert "upper back left" in [o.text for o in picker.options]
        picker.select_by_value("calves")
        seen(browser, lambda d: text(d, "note") == "area: calves, from the next session")
        shot(browser, tmp_path, "page-area.png")
        assert areas_pulled(p) == ["calves"]
        browser.refresh()  # the ball keeps the area chosen: the list comes back with it
        seen(browser, lambda d: len(Select(d.find_element("id", "area")).options) > 10)
        assert browser.execute_script("return document.getElementById('area').value") == "calves"
    finally:
        p.ball.kill()


def test_an_area_picked_while_rolling_is_the_running_sessions_area(
    firmware_image, tmp_path, browser
):
    from selenium.webdriver.support.ui import Select

    image = tmp_path / "flash.img"
    shutil.copyfile(firmware_image, image)
    rows = [(0, 0), (3000, 25), (12000, 25), (12100, 0)]
    p = PagedBall(tmp_path, image, "--trace", write_trace(tmp_path / "press.csv", rows))
    try:
        browser.get(p.url)
        seen(browser, lambda d: text(d, "band").lower() == "medium")  # rolling already
        seen(browser, lambda d: len(Select(d.find_element("id", "area")).options) > 10)
        Select(browser.find_element("id", "area")).select_by_value("glutes_left")
        seen(browser, lambda d: text(d, "note") == "area: glutes left, this session on")
        shot(browser, tmp_path, "page-area-while-rolling.png")
        assert areas_pulled(p) == ["glutes_left"]
    finally:
        p.ball.kill()


def test_a_threshold_measured_from_the_page_is_shown_and_can_set_the_bands(
    firmware_image, tmp_path, browser
):
    """Pick an area, tap measure, the trace's three slow presses (40, 36, 44 N): the page
    says what to do, then the threshold and where it is kept, and sets the bands on a tap.
    At --speed 4 the page's one request a second renews the measurement every 4 s of the
    ball's time (it lapses after 10)."""
    from selenium.webdriver.support.ui import Select

    from knotball import traces

    image = tmp_path / "flash.img"
    shutil.copyfile(firmware_image, image)
    b = traces.TraceBuilder(seed=5).rest(60)
    for peak in (40, 36, 44):
        b.ramp(5, peak).ramp(1.5, 0).rest(3)
    trace = tmp_path / "presses.csv"
    traces.write_csv(trace, b.build(noise_pct=0.5, floor_n=0.02, spike_rate=0))
    p = PagedBall(tmp_path, image, "--trace", trace, "--speed", 4)
    try:
        browser.get(p.url)
        seen(browser, lambda d: len(Select(d.find_element("id", "area")).options) > 10)
        Select(browser.find_element("id", "area")).select_by_value("calves")
        browser.find_element("id", "sound").click()
        browser.find_element("id", "mb").click()
        seen(browser, lambda d: text(d, "cue") == "press 1 of 3: build up slowly over 5 s")
        assert text(browser, "mb") == "cancel"
        shot(browser, tmp_path, "page-measure-start.png")
        assert "say press 1 of 3: build up slowly over 5 s" in browser.execute_script(
            "return kbSound"
        )
        browser.refresh()  # a page opened again mid-measurement follows it, not lets it lapse
        seen(browser, lambda d: text(d, "mb") == "cancel" and text(d, "cue").startswith("press "))
        browser.find_element("id", "sound").click()  # a new page: sound needs a tap again
        seen(browser, lambda d: text(d, "cue").startswith("press 1 of 3: slowly"), timeout=60)
        seen(browser, lambda d: float(text(d, "force").split()[0]) >= 10, timeout=30)
        assert text(browser, "band").lower() == "measuring"  # not the idle session's band
        shot(browser, tmp_path, "page-measure-pressing.png")
        seen(browser, lambda d: text(d, "cue").startswith("got "), timeout=60)
        seen(browser, lambda d: text(d, "cue").startswith("threshold "), timeout=60)
        level = float(text(browser, "cue").split()[1])
        assert 38.8 <= level <= 41.2
        assert "kept on the ball — knotball pull adds it to the history" in note(browser)
        assert text(browser, "mb") == "measure" and text(browser, "sb") == "set bands from it"
        heard = browser.execute_script("return kbSound")
        assert "say " + text(browser, "cue") in heard  # the threshold spoken too
        shot(browser, tmp_path, "page-measure-portrait.png")
        fits_every_phone(browser, tmp_path, KEY + ("area", "mb", "sb"), "page-measure-{}.png")
        viewport(browser, 390, 844)
        browser.find_element("id", "sb").click()
        seen(browser, lambda d: note(d).startswith("bands set: medium "))
        with p.ball.link() as link:
            assert link.cfg()["over_n"] == pytest.approx(level, abs=0.05)
        kbt = [f["name"] for f in p.ball.files() if f["name"].endswith(".kbt")]
        assert kbt == ["t0000001.kbt"]
    finally:
        p.ball.kill()


# A Wake Lock that says what the page asked of it (headless Chromium grants none).
FAKE_WAKE_LOCK = """
window.kbWake = [];
Object.defineProperty(navigator, "wakeLock", {configurable: true, value: {
  request: function (kind) {
    kbWake.push("request " + kind);
    var handlers = [];
    return Promise.resolve({
      addEventListener: function (name, f) { if (name === "release") handlers.push(f); },
      release: function () {
        kbWake.push("release");
        handlers.forEach(function (f) { f(); });
        return Promise.resolve();
      }
    });
  }
}});
"""


def test_the_screen_is_kept_awake_while_a_session_runs_and_let_go_after(
    firmware_image, tmp_path, browser
):
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FAKE_WAKE_LOCK})
    rows = [(0, 0), (8000, 25), (70000, 25), (70100, 0)]  # idle first, then a session
    p = paged_ball(firmware_image, tmp_path, rows)
    try:
        browser.get(p.url)
        seen(browser, lambda d: text(d, "band").lower() == "idle")
        assert browser.execute_script("return kbWake") == []  # no session: the screen may sleep
        seen(browser, lambda d: text(d, "band").lower() == "medium")
        seen(browser, lambda d: d.execute_script("return kbWake") == ["request screen"])
        browser.find_element("id", "stop").click()
        seen(browser, lambda d: "symptom" in text(d, "band").lower())
        seen(browser, lambda d: d.execute_script("return kbWake") == ["request screen", "release"])
    finally:
        p.ball.kill()
