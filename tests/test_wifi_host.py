"""`knotball wifi` on the host and ball.wifi on CPython: the QR code printed is the URL's,
the URL's form, what the ball checks and shows (never a station's password), and `knotball
config` masking a password should one ever be among its keys."""

import io
import json

import pytest
import qrcode

from ball import BoardBase, wifi
from knotball.commands import config as config_cmd
from knotball.commands.wifi import describe, join_text, page_url, qr_text

URL = "http://192.168.1.23/?k=00112233445566778899aabbccddeeff"
CHARS = {"\xa0": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1), "\u2588": (1, 1)}


def modules(text):
    """The QR matrix back from its text: each character holds two rows of modules."""
    rows = []
    for line in text.splitlines():
        pairs = [CHARS[ch] for ch in line]
        rows.append([top for top, _ in pairs])
        rows.append([bottom for _, bottom in pairs])
    return rows


def test_the_qr_code_printed_is_the_urls_own():
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(URL)
    qr.make(fit=True)
    want = [[int(m) for m in row] for row in qr.get_matrix()]
    got = modules(qr_text(URL))
    assert got[: len(want)] == want
    extra = got[len(want) :]  # an odd count of rows: the last character row's lower half
    assert len(extra) <= 1 and not any(m for row in extra for m in row)
    other = modules(qr_text(URL.replace("0011", "ffff")))
    assert other[: len(want)] != want


def test_the_url_leaves_out_port_80_and_is_none_until_served():
    state = {"serving": True, "host": "192.168.1.23", "port": 80, "token": "ab" * 16}
    assert page_url(state) == "http://192.168.1.23/?k=" + "ab" * 16
    assert page_url(dict(state, port=8080)).startswith("http://192.168.1.23:8080/?k=")
    assert page_url(dict(state, serving=False)) is None


def test_a_station_state_never_carries_its_password(tmp_path):
    path = str(tmp_path / "wifi.json")
    stored = wifi.save(path, wifi.check({"ssid": "HomeNet", "password": "hunter2hunter2"}))
    assert wifi.load(path) == stored and stored["password"] == "hunter2hunter2"
    shown = wifi.state(wifi.load(path), None, "t" * 32)
    assert "hunter2hunter2" not in json.dumps(shown)
    assert shown == {
        "wifi": "station", "on": True, "serving": False, "token": "t" * 32, "ssid": "HomeNet"
    }  # fmt: skip
    out = io.StringIO()
    describe(shown, out)
    assert out.getvalue().splitlines()[0] == "Wi-Fi: on, network HomeNet"


@pytest.mark.parametrize(
    "given, key",
    [
        ({"ssid": ""}, "ssid"),
        ({"ssid": "x" * 33}, "ssid"),
        ({"ssid": "n", "password": "short"}, "password"),
        ({"ssid": "n", "password": "x" * 64}, "password"),
        ({"ssid": "n", "password": "caf\u00e9caf\u00e9"}, "password"),
        ({"ssid": "n", "pass": "12345678"}, "pass"),
    ],
)
def test_a_bad_network_is_refused_naming_its_field(given, key):
    with pytest.raises(wifi.WifiError) as e:
        wifi.check(given)
    assert e.value.key == key and str(e.value).startswith(key + ":")


def test_an_open_network_has_an_empty_password():
    assert wifi.check({"ssid": "Cafe"})["password"] == ""


def test_the_access_point_is_named_after_the_ball_with_a_random_passphrase():
    a, b = wifi.access_point("a1b2c3d4e5f6"), wifi.access_point("a1b2c3d4e5f6")
    assert a["ssid"] == "knotball-e5f6" and a["mode"] == "ap"
    assert len(a["password"]) == 20 and a["password"] != b["password"]
    shown = wifi.state(a, None, "t" * 32)
    assert shown["ap_password"] == a["password"] and shown["wifi"] == "ap"


def matrix(text):
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(text)
    qr.make(fit=True)
    return [[int(m) for m in row] for row in qr.get_matrix()]


def test_the_access_point_is_joined_by_scanning_its_own_qr_code_then_the_pages():
    a = wifi.access_point("a1b2c3d4e5f6")
    shown = wifi.state(a, FakeServer(None, "192.168.4.1", 80), "t" * 32)
    out = io.StringIO()
    describe(shown, out)
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("  join it with the password " + a["password"])
    page = next(i for i, line in enumerate(lines) if line.startswith("live page: "))
    join = "WIFI:T:WPA;S:knotball-e5f6;P:{};;".format(a["password"])
    assert join_text(a["ssid"], a["password"]) == join
    want = matrix(join)
    assert modules("\n".join(lines[2:page]))[: len(want)] == want  # the network's code first
    url = "http://192.168.4.1/?k=" + "t" * 32
    assert lines[page] == "live page: " + url
    want = matrix(url)
    assert modules("\n".join(lines[page + 1 : -1]))[: len(want)] == want  # then the page's


def test_the_join_code_escapes_what_the_wifi_qr_format_reserves():
    assert join_text('a;b,c:d"e\\f', "p;w") == 'WIFI:T:WPA;S:a\\;b\\,c\\:d\\"e\\\\f;P:p\\;w;;'


def test_config_masks_a_password_among_its_keys():
    out = io.StringIO()
    config_cmd.show({"session_limit_s": 60, "wifi_password": "hunter2hunter2"}, out=out)
    assert "hunter2hunter2" not in out.getvalue() and "wifi_password" in out.getvalue()


class Connecting(BoardBase):
    """A board whose station gets its address on the third time it is asked."""

    def __init__(self):
        self.asked = []

    def net(self, wifi):
        self.asked.append(wifi)
        return ("192.168.1.23", 80) if len(self.asked) >= 3 else None


class FakeServer:
    def __init__(self, control, host, port, sent=None):
        self.addr = (host, port)


def test_a_station_still_connecting_is_asked_again_from_the_loop(tmp_path, monkeypatch):
    import types

    from ball import start, web
    from ball.control import Control

    monkeypatch.setattr(web, "Server", FakeServer)
    path = str(tmp_path / "wifi.json")
    wifi.save(path, wifi.check({"ssid": "HomeNet", "password": "hunter2hunter2"}))
    hw = Connecting()
    app = types.SimpleNamespace(web=None, board=hw)
    control = Control(app)
    app.web = start.serve(hw, control, path)
    assert isinstance(app.web, start.Joining) and control.page() is None
    app.web.poll(0)  # asks again at once: not yet
    assert isinstance(app.web, start.Joining) and len(hw.asked) == 2
    app.web.poll(start.JOIN_RETRY_MS - 1)
    assert len(hw.asked) == 2  # not before its time
    app.web.poll(start.JOIN_RETRY_MS)
    assert isinstance(app.web, FakeServer) and control.page().addr == ("192.168.1.23", 80)
    assert hw.asked[-1]["ssid"] == "HomeNet"


def test_nothing_is_retried_without_a_network_switched_on(tmp_path):
    from ball import start

    path = str(tmp_path / "wifi.json")
    assert start.serve(Connecting(), None, path) is None  # none stored
    wifi.save(path, {"on": False, "ssid": "HomeNet", "password": ""})
    hw = Connecting()
    assert start.serve(hw, None, path) is None and hw.asked == [False]  # off: radio off
