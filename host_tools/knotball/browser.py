"""Headless Chromium on the live page: what a phone shows, for `knotball demo`'s picture of
the page, `make bench`'s latency in the browser and the browser tests. Debian's `chromium`
and `chromium-driver`, driven by selenium; KNOTBALL_CHROMIUM / KNOTBALL_CHROMEDRIVER point
at others."""

import os

CHROMIUM = os.environ.get("KNOTBALL_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("KNOTBALL_CHROMEDRIVER", "/usr/bin/chromedriver")
HOW = "apt-get install chromium chromium-driver; pip install selenium"
PHONE = (412, 915)  # a larger phone, upright (CSS pixels)


def missing():
    """Why no headless browser can run here (one line), or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            return "no {} ({})".format(path, HOW)
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "no selenium ({})".format(HOW)
    return None


def headless(profile_dir, size=PHONE):
    """A headless Chromium whose page viewport is `size`; quit() it when done."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--user-data-dir={}".format(profile_dir),
        "--window-size={},{}".format(*size),
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        _phone(driver, *size)
    except Exception:
        driver.quit()
        raise
    return driver


def _phone(driver, width, height):
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
    )


def viewport(driver, width, height):
    """The loaded page's viewport exactly width x height CSS pixels, as on a phone."""
    _phone(driver, width, height)
    got = driver.execute_script("return [innerWidth, innerHeight]")
    if got != [width, height]:
        raise RuntimeError("viewport {}x{}, not {}x{}".format(*got, width, height))
