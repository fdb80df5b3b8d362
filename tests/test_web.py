"""The live page's server (ball/web.py) on CPython over real sockets: pairing, routes, the
stream, and what it does with requests that are malformed, too big or too slow. Its loop
runs in a thread on a clock 10x faster than real time, so the 3 s request timeout takes
0.3 s; the same module runs on the virtual ball (tests/test_web_virtual.py)."""

import http.client
import json
import socket
import threading
import time

import pytest

from ball import VirtualClock, config
from ball.app import App
from ball.control import Control
from ball.dose import Dose
from ball.web import Server, load_token, new_token
from ball.wire.events import EventReader

TOKEN = b"0123456789abcdef0123456789abcdef"
SPEED = 10


class Board(VirtualClock):
    def read_sensor(self):
        return 0

    def led(self, r, g, b):
        pass

    def motor(self, duty):
        pass

    def off(self):
        pass


@pytest.fixture
def server(tmp_path):
    """A Server on a free port, polled every 2 ms of real time; yields (server, port)."""
    page = tmp_path / "page.html"
    page.write_bytes(b"<!doctype html><title>knotball live</title>" + b"x" * 3000)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = App(Board(), config.validate({}), dose=Dose())
    web = Server(Control(app), "127.0.0.1", port, token=TOKEN, page_path=str(page))
    running = True
    t0 = time.monotonic()

    def loop():
        while running:
            now = int((time.monotonic() - t0) * 1000 * SPEED)
            app.tick(now)
            web.poll(now)
            time.sleep(0.002)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield web, port
    running = False
    thread.join(2)
    web.close()


def request(port, method, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request(method, path, headers=headers or {})
    res = conn.getresponse()
    body = res.read()
    conn.close()
    return res, body


def test_without_the_token_a_page_gets_401_a_pairing_note_and_no_data(server):
    web, port = server
    for path in ("/", "/live", "/?k=" + "f" * 32, "/live?k=" + TOKEN.decode()[:-1]):
        res, body = request(port, "GET", path)
        assert res.status == 401, path
        assert b"knotball wifi" in body and b"force" not in body and TOKEN not in body
    res, body = request(port, "POST", "/symptom")
    assert res.status == 401


def test_the_token_in_the_query_gives_the_page_and_a_cookie_that_pairs_it(server):
    web, port = server
    res, body = request(port, "GET", "/?k=" + TOKEN.decode())
    assert res.status == 200 and body.startswith(b"<!doctype html><title>knotball live")
    assert len(body) > 3000 and res.getheader("Content-Type").startswith("text/html")
    cookie = res.getheader("Set-Cookie")
    assert cookie.startswith("kb=" + TOKEN.decode()) and "HttpOnly" in cookie
    res, body = request(port, "GET", "/", {"Cookie": "other=1; " + cookie.split(";")[0]})
    assert res.status == 200 and body.startswith(b"<!doctype html>")


def test_anything_else_is_404(server):
    web, port = server
    for method, path in (("GET", "/favicon.ico"), ("POST", "/"), ("GET", "/symptom")):
        res, body = request(port, method, path + "?k=" + TOKEN.decode())
        assert res.status == 404, (method, path)


def test_live_streams_the_edges_then_samples_at_up_to_ten_a_second(server):
    web, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /live?k=" + TOKEN + b" HTTP/1.1\r\nHost: ball\r\n\r\n")
        reader = EventReader()
        got = []
        start = time.monotonic()
        while len(got) < 12:
            reader.feed(s.recv(4096))
            got += list(reader.events())
        real_s = time.monotonic() - start
    assert got[0][0] == "edges" and got[0][1]["edges_n"]["light"] == 5.0
    samples = [obj for name, obj in got[1:] if name == "message"]
    keys = {"t_ms", "force_n", "band", "state", "elapsed_ms", "limit_ms", "hold_ms"}
    assert keys | {"cues", "fault"} <= set(samples[0])
    steps = [b["t_ms"] - a["t_ms"] for a, b in zip(samples, samples[1:], strict=False)]
    assert min(steps) >= 100  # at most ten a second (of the ball's clock)
    assert real_s < 5


def test_post_symptom_with_the_token_asks_the_app_to_stop(server):
    web, port = server
    res, body = request(port, "POST", "/symptom?k=" + TOKEN.decode())
    assert res.status == 200 and json.loads(body) == {"stopped": False}  # none was running


def test_the_area_picker_lists_the_areas_and_chooses_one_with_the_token(server):
    web, port = server
    k = "?k=" + TOKEN.decode()
    res, body = request(port, "GET", "/area" + k)
    state = json.loads(body)
    assert res.status == 200 and state["area"] == "none" and "calves" in state["areas"]
    res, body = request(port, "POST", "/area?a=calves")  # no token: nothing changes
    assert res.status == 401 and web.control.app.dose.area == ""
    res, body = request(port, "POST", "/area" + k + "&a=calves")
    assert res.status == 200 and json.loads(body)["area"] == "calves"
    assert web.control.app.dose.area == "calves"
    for bad in ("shoulders", "..%2F", "%FF", ""):
        res, body = request(port, "POST", "/area" + k + "&a=" + bad)
        assert res.status == 400 and "area" in json.loads(body)["error"], bad
    assert web.control.app.dose.area == "calves"
    res, body = request(port, "POST", "/area" + k + "&a=none")
    assert json.loads(body)["area"] == "none" and web.control.app.dose.area == ""


def test_a_new_token_ends_the_streams_of_the_old_one(server):
    web, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /live?k=" + TOKEN + b" HTTP/1.1\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 200 OK")
        web.set_token(b"f" * 32)
        s.settimeout(2)
        while s.recv(4096):
            pass  # the ball closed it
    res, _ = request(port, "GET", "/?k=" + TOKEN.decode())
    assert res.status == 401


def test_garbage_oversized_and_silent_requests_are_dropped_and_the_page_still_answers(server):
    web, port = server
    garbage = socket.create_connection(("127.0.0.1", port))
    garbage.sendall(b"\x00\xff hello\r\n\r\n")
    big = socket.create_connection(("127.0.0.1", port))
    try:
        big.sendall(b"GET / HTTP/1.1\r\nX: " + b"a" * 100_000)
    except OSError:
        pass  # the ball closed it part way: that is the point
    silent = socket.create_connection(("127.0.0.1", port))
    for s in (garbage, big, silent):
        s.settimeout(5)
        try:
            assert s.recv(100) == b""  # closed without an answer
        except ConnectionResetError:
            pass
        s.close()
    res, _ = request(port, "GET", "/?k=" + TOKEN.decode())
    assert res.status == 200 and web.refused >= 3


def test_more_clients_than_slots_are_turned_away_not_queued(server):
    web, port = server
    crowd = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
    time.sleep(0.5)
    assert sum(c.state != 0 for c in web.clients) <= len(web.clients)
    for c in crowd:
        c.close()
    time.sleep(0.5)  # the silent ones time out (3 s of the ball's clock)
    res, _ = request(port, "GET", "/?k=" + TOKEN.decode())
    assert res.status == 200 and web.refused >= 45


def test_the_token_is_made_once_and_replaced_on_request(tmp_path):
    path = str(tmp_path / "token")
    first = load_token(path)
    assert len(first) == 32 and int(first, 16) >= 0
    assert load_token(path) == first
    second = new_token(path)
    assert second != first and load_token(path) == second
