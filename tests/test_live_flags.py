"""knotball live shows what the 'L' frame's flags say: a zero drift out of range (the signal
path's drift_bad) and calibration mode."""

import io

from rich.console import Console

from ball import config
from ball.wire import console as wconsole
from knotball.commands import live


def packed(*fields):
    """An 'L' payload packed as the ball packs it, read as the host reads it."""
    buf = bytearray(wconsole.LIVE_SIZE)
    assert wconsole.live_pack_into(buf, 0, *fields) == wconsole.LIVE_SIZE
    return wconsole.unpack_live(buf)


def sample(drift_mn=0, flags=0):
    return packed(100, 12000, 1, 0, 0, 0, 0, 0, 12000, drift_mn, flags)


def test_the_l_frame_carries_raw_counts_drift_and_flags():
    s = packed(7, -250, 0, 0, 0, 0, 0, 0, 101325, -3400, 3)
    assert s["raw"] == 101325 and s["drift_n"] == -3.4
    assert s["calib"] is True and s["drift_bad"] is True
    assert sample()["calib"] is False and sample()["drift_bad"] is False


def test_plain_says_once_on_stderr_when_the_drift_goes_out_of_range():
    out, err = io.StringIO(), io.StringIO()
    view = live.Plain(out, err)
    view.sample(sample())
    view.sample(sample(4200, 2))
    view.sample(sample(4300, 2))
    assert err.getvalue().count("drifted by +4.2 N: recalibrate") == 1
    assert len(out.getvalue().splitlines()) == 1  # the columns are unchanged (thinned to 10/s)
    assert len(out.getvalue().split()) == 8


def test_the_full_view_shows_the_drift_and_calibration_mode():
    console = Console(file=io.StringIO(), width=100)
    console.print(live.render(sample(-5100, 3), dict(config.DEFAULTS), None, ""))
    text = console.file.getvalue()
    assert "drifted by -5.1 N" in text and "calibrating" in text
    console = Console(file=io.StringIO(), width=100)
    console.print(live.render(sample(), dict(config.DEFAULTS), None, ""))
    assert "drifted" not in console.file.getvalue()
