# The radio on only while it is useful (ball/radio.py), and start.RadioSwitch making that
# real: the page's server closed and the radio off when unused, served again on a press.
from ball.radio import KEEP_MS, LOW_MV, Radio
from ball.session import ACTIVE, READY


def test_on_from_boot_then_off_five_minutes_after_the_last_use():
    r = Radio(1000)
    assert r.on
    assert not r.step(1000 + KEEP_MS - 10, False) and r.on
    assert r.step(1000 + KEEP_MS, False) and not r.on
    assert not r.step(1000 + KEEP_MS + 10, False) and not r.on  # said once


def test_a_session_a_press_or_an_open_page_keeps_it_on_and_a_press_brings_it_back():
    r = Radio(0)
    t = 0
    while t < 3 * KEEP_MS:  # a long use: busy all along
        assert not r.step(t, True)
        t += 1000
    assert r.on
    last = t - 1000
    assert not r.step(last + KEEP_MS - 1, False)  # counted from the last use
    assert r.step(last + KEEP_MS, False) and not r.on
    assert r.step(last + KEEP_MS + 5000, True) and r.on  # pressed: on again


def test_asked_for_it_stays_on_from_then():
    r = Radio(0)
    r.wake(KEEP_MS - 1)
    assert not r.step(KEEP_MS + 1000, False) and r.on
    assert r.step(2 * KEEP_MS - 1, False) and not r.on


def test_a_rebased_clock_counts_from_now_rather_than_switching_off():
    r = Radio(250000)
    assert not r.step(10, False) and r.on  # the app's clock restarted at 0
    assert r.step(10 + KEEP_MS, False) and not r.on


def test_a_low_cell_turns_a_radio_in_use_off_until_it_reads_charged():
    r = Radio(0)
    assert not r.step(1000, True, 3900) and r.on
    assert r.step(2000, True, LOW_MV - 10) and not r.on and r.low  # in use, still off
    assert not r.step(3000, True, LOW_MV + 50)  # a cell that recovers with the radio off
    assert not r.on
    assert r.step(4000, True, LOW_MV + 100) and r.on  # charged: on again while in use


def test_no_cell_on_the_divider_is_not_a_low_cell():
    r = Radio(0)
    for mv in (0, 1200, 2499):  # a USB bench: nothing, or a floating divider
        assert not r.step(1000, True, mv) and r.on


class Session:
    state = READY
    band = 0


class Page:
    def __init__(self, streams=0):
        self.addr = ("192.168.1.23", 80)
        self.streams = streams
        self.closed = False

    def close(self):
        self.closed = True


class Board:
    def __init__(self):
        self.asked = []

    def net(self, wifi):
        self.asked.append(wifi)
        return None


class App:
    def __init__(self, web):
        self.session = Session()
        self.web = web
        self.battery_mv = 0  # no divider


class Control:
    def __init__(self, app):
        self.app = app


def switch(web):
    from ball.start import RadioSwitch

    app = App(web)
    hw = Board()
    return RadioSwitch(hw, Control(app), "/no/such/wifi.json", 0), app, hw


def test_unused_the_page_closes_and_the_radio_goes_off():
    sw, app, hw = switch(Page())
    page = app.web
    sw.poll(KEEP_MS - 1)
    assert app.web is page and hw.asked == []
    sw.poll(KEEP_MS)
    assert app.web is None and page.closed and hw.asked == [False]


def test_an_open_page_or_a_session_keeps_the_server():
    sw, app, hw = switch(Page(streams=1))
    sw.poll(2 * KEEP_MS)
    assert app.web is not None and hw.asked == []
    app.web.streams = 0
    app.session.state = ACTIVE
    sw.poll(3 * KEEP_MS)
    assert app.web is not None and hw.asked == []
    app.session.state = READY
    sw.poll(4 * KEEP_MS)
    assert app.web is None and hw.asked == [False]


def test_a_press_asks_for_the_network_again():
    sw, app, hw = switch(Page())
    sw.poll(KEEP_MS)
    app.session.band = 2  # pressed
    sw.poll(KEEP_MS + 10)
    # serve() asks the board again: here no network is stored (Board.net(None)), so
    # nothing serves; with one, the server comes back (tests/test_web_virtual.py)
    assert sw.radio.on and hw.asked == [False, None] and app.web is None


def test_a_page_in_use_closes_and_the_radio_goes_off_when_the_cell_reads_low():
    sw, app, hw = switch(Page(streams=1))
    page = app.web
    sw.poll(1000)
    assert app.web is page and hw.asked == []
    app.battery_mv = LOW_MV - 50  # the app's last reading (every 5 s in a session)
    app.session.state = ACTIVE
    sw.poll(2000)
    assert app.web is None and page.closed and hw.asked == [False] and sw.radio.low
