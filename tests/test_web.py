"""The live page's server (ball/web.py) on CPython over real sockets: pairing, routes, the
stream, and what it does with requests that are malformed, too big or too slow. Its loop
runs in a thread on a clock 10x faster than real time, so the 3 s request timeout takes
0.3 s; the same module runs on the virtual ball (tests/test_web_virtual.py)."""

import http.client
import json
import shutil
import socket
import threading
import time

import pytest

from ball import VirtualClock, config, log
from ball.app import App
from ball.control import Control
from ball.dose import Dose
from ball.feedback import START
from ball.session import ACTIVE
from ball.web import MOTOR_HOLD_MS, Server, load_token, new_token
from ball.wire.events import EVERY_MS, EventReader

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


def test_measuring_a_threshold_over_http_needs_the_token_names_bad_requests_and_waits(
    server, tmp_path
):
    web, port = server
    app = web.control.app
    k = "?k=" + TOKEN.decode()
    for method, path in (("GET", "/measure"), ("POST", "/measure?a=calves")):
        res, body = request(port, method, path)
        assert res.status == 401 and b"knotball wifi" in body
    assert not app.calib
    res, body = request(port, "POST", "/measure" + k + "&a=calves")  # nowhere to keep it
    assert res.status == 400 and "keeps no files" in json.loads(body)["error"]
    (tmp_path / "logs").mkdir()
    app.log = log.SessionLog(str(tmp_path / "logs"), app.cfg, "test")
    for query, says in (("&a=elbows", "not an area"), ("&a=%FF", "a-z"), ("", "?a=AREA")):
        res, body = request(port, "POST", "/measure" + k + query)
        assert res.status == 400 and says in json.loads(body)["error"], query
    res, body = request(port, "POST", "/measure" + k + "&bands=1")
    assert res.status == 409 and "measure first" in json.loads(body)["error"]
    assert not app.calib
    res, body = request(port, "POST", "/measure" + k + "&a=calves")
    got = json.loads(body)
    assert res.status == 200 and got["state"] == "waiting" and got["area"] == "calves"
    res, body = request(port, "GET", "/measure" + k)
    got = json.loads(body)
    assert res.status == 200 and got["press"] == 1 and got["of"] == 3 and app.calib
    res, body = request(port, "POST", "/measure" + k + "&stop=1")
    assert res.status == 200 and json.loads(body)["state"] == "idle" and not app.calib
    for n in range(1, 21):
        (tmp_path / "logs" / "t{:07d}.kbt".format(n)).write_bytes(b"x")
    res, body = request(port, "POST", "/measure" + k + "&a=calves")
    assert res.status == 409 and "pull first" in json.loads(body)["error"]
    shutil.rmtree(tmp_path / "logs")  # the flash fails: the page is told and stays up
    res, body = request(port, "POST", "/measure" + k + "&a=calves")
    assert res.status == 500 and "flash" in json.loads(body)["error"]
    assert request(port, "GET", "/measure" + k)[0].status == 200
    app.board.read_sensor = lambda: 30000  # a press: a session starts
    while app.session.state != ACTIVE:
        time.sleep(0.01)
    res, body = request(port, "POST", "/measure" + k + "&a=calves")
    assert res.status == 409 and "session is running" in json.loads(body)["error"]
    assert not app.calib


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


class Stepped:
    """A Server polled by hand on the ball's clock, 10 ms a step, and its streams' readers."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.app = App(Board(), config.validate({}))
        self.web = Server(Control(self.app), "127.0.0.1", self.port, token=TOKEN)
        self.now = 0

    def run(self, ms):
        end = self.now + ms
        while self.now < end:
            self.now += 10
            self.app.tick(self.now)
            self.web.poll(self.now)

    def open(self, last_id=None):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        extra = "Last-Event-ID: {}\r\n".format(last_id) if last_id else ""
        s.sendall("GET /live?k={} HTTP/1.1\r\n{}\r\n".format(TOKEN.decode(), extra).encode())
        return s

    def read(self, s, reader, until_seq):
        """Events up to sample `until_seq` (by its id), stepping the ball meanwhile."""
        got = []
        s.setblocking(False)
        for _ in range(2000):
            self.run(10)
            try:
                reader.feed(s.recv(65536))
            except BlockingIOError:
                continue
            for name, obj in reader.events():
                got.append((name, reader.last_id if name == "message" else "", obj))
            if reader.last_id and int(reader.last_id.split(".")[1]) >= until_seq:
                return got
        raise AssertionError("no sample {} in {}".format(until_seq, got[-3:]))

    def cut(self, ms):
        """A page reads the stream a while, then its link is down for `ms` of the ball's
        clock; returns the last id it had."""
        s = self.open()
        reader = EventReader()
        self.run(300)
        self.read(s, reader, self.web.ring.seq - 1)
        s.close()
        self.run(ms)
        return reader.last_id


def seqs(got):
    return [int(i.split(".")[1]) for name, i, _ in got if name == "message"]


@pytest.fixture
def stepped():
    st = Stepped()
    yield st
    st.web.close()


def test_nothing_is_sent_while_the_motor_starts_and_what_was_held_follows_in_order(stepped):
    st = stepped
    s = st.open()
    reader = EventReader()
    st.run(500)
    st.read(s, reader, st.web.ring.seq - 1)
    last = int(reader.last_id.split(".")[1])
    while st.now + 10 - st.web.sent_at < EVERY_MS:
        st.run(10)  # to the step before a sample is taken
    held_from = st.web.ring.seq
    st.app.feedback.play(st.now + 10, START)  # a cue: the motor starts with that sample
    st.run(MOTOR_HOLD_MS)
    assert st.app.feedback.motor_started_ms == st.now - MOTOR_HOLD_MS + 10
    assert st.web.ring.seq > held_from  # a sample was taken during the hold...
    time.sleep(0.2)
    with pytest.raises(BlockingIOError):
        s.recv(65536)  # ...and nothing went out
    n = seqs(st.read(s, reader, st.web.ring.seq))
    assert n == list(range(last + 1, n[-1] + 1)) and n[-1] >= held_from  # kept, in order
    s.close()


def test_a_page_back_with_its_last_id_gets_what_it_missed_in_order_then_live(stepped):
    st = stepped
    last = st.cut(5000)  # the body and the wall shadow the link for 5 s
    s = st.open(last)
    got = st.read(s, EventReader(last), st.web.ring.seq + 5)
    assert [name for name, _, _ in got[:2]] == ["edges", "message"]  # no gap told
    n = seqs(got)
    assert n == list(range(int(last.split(".")[1]) + 1, n[-1] + 1))  # none lost, none twice
    s.close()


def test_a_gap_longer_than_the_ring_is_told_and_the_kept_seconds_follow(stepped):
    st = stepped
    last_id = st.cut(20000)  # longer than the ring's 12 s
    last = int(last_id.split(".")[1])
    s = st.open(last_id)
    oldest = st.web.ring.oldest()
    got = st.read(s, EventReader(), st.web.ring.seq)
    n = seqs(got)
    assert [name for name, _, _ in got[:3]] == ["edges", "gap", "message"]
    assert n[0] >= oldest and got[1][2] == {"missing": n[0] - last - 1} and n[0] - last > 70
    assert n == list(range(n[0], n[-1] + 1))  # the kept seconds, in order, then live
    s.close()
    s = st.open("12.34")  # an id from before the ball restarted: how much is lost is unknown
    got = st.read(s, EventReader(), st.web.ring.seq)
    assert got[1][0] == "gap" and got[1][2] == {"missing": -1}
    s.close()


def test_two_requests_whole_in_the_same_poll_are_both_answered():
    """One request is answered a poll: one that was whole in the same poll waits for the
    next, and is answered then (the page asks /live and /area at once when it opens)."""
    st = Stepped()
    socks = [socket.create_connection(("127.0.0.1", st.port), timeout=5) for _ in range(2)]
    st.run(50)  # both accepted, nothing asked yet
    for s in socks:
        s.sendall("POST /symptom?k={} HTTP/1.1\r\n\r\n".format(TOKEN.decode()).encode())
    time.sleep(0.2)  # both requests wait whole in the server's socket buffers
    st.run(500)  # well within the 3 s a request may take
    for s in socks:
        s.setblocking(False)
        assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
        s.close()
    st.web.close()
