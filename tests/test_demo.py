"""`knotball demo` (`make demo`) as a newcomer runs it: the whole job on a virtual ball, the
live page's URL shown and, where headless Chromium is installed, a picture of the page
mid-session left beside the report's plot."""

import os
import re
import subprocess
import sys

from matplotlib.image import imread

from conftest import browser_present, knotball

URL = re.compile(r"the ball's live page: http://127\.0\.0\.1:\d+/\?k=[0-9a-f]{32}\n")
# The page's background in a band with contact (firmware/page.html body.light .. body.over).
BAND_RGB = {(0x1B, 0x7F, 0x3A), (0x9A, 0x6A, 0x00), (0xC2, 0x41, 0x0C), (0xB0, 0x00, 0x20)}


def test_the_demo_never_touches_the_persons_history(tmp_path):
    home = tmp_path / "home"  # KNOTBALL_HOME, set for every test by conftest
    assert os.environ["KNOTBALL_HOME"] == str(home)
    png = tmp_path / "demo.png"
    # Slow enough for a browser to start while the 60 s session runs (10 s here).
    res = knotball("demo", "--speed", 6, "--plain", "--png", png, timeout=200)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 session pulled" in res.stdout and png.exists()
    assert not home.exists()  # its history was a temporary one, gone with it
    assert URL.search(res.stdout), res.stdout
    assert "vball:" not in res.stdout + res.stderr  # the virtual ball's own notes stay inside
    page = tmp_path / "demo-page.png"
    if browser_present():
        assert "the live page mid-session: {}".format(page) in res.stdout, res.stdout
        corner = imread(str(page))[2, 2][:3]  # the page's background, RGB in 0..1
        assert tuple(round(c * 255) for c in corner) in BAND_RGB, corner
    else:
        assert "no picture of the live page: no " in res.stdout and not page.exists()


def test_without_chromium_the_demo_says_how_to_get_one_and_still_succeeds(tmp_path):
    png = tmp_path / "demo.png"
    env = dict(os.environ, KNOTBALL_CHROMIUM=str(tmp_path / "no-chromium"))
    res = subprocess.run(
        [sys.executable, "-m", "knotball", "demo", "--speed", "20", "--plain", "--png", str(png)],
        capture_output=True,
        text=True,
        timeout=200,
        env=env,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert png.exists() and not (tmp_path / "demo-page.png").exists()
    assert "no picture of the live page: no {}".format(tmp_path / "no-chromium") in res.stdout
    assert "apt-get install chromium chromium-driver" in res.stdout
