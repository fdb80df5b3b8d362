"""The live page on the virtual ball (`knotball virtual --http-port 0 --url-file F`), over
real sockets: pairing refused and accepted, the stream following a trace to the session's
stop at its limit, POST /symptom ending a session that `knotball pull` then brings home,
and a hostile network that must change none of that."""

import gzip
import hashlib
import http.client
import json
import shutil
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from test_calibrate import SPEED as MEASURE_SPEED
from test_calibrate import bands_trace
from vball_fixture import VirtualBall, deploy_firmware, write_trace

from ball.web import MOTOR_HOLD_MS
from ball.wire import threshold
from ball.wire.events import EventReader
from conftest import FIRMWARE_ROOT, knotball

CFG = {"session_limit_s": 10, "idle_stop_s": 5, "warn_before_s": 2, "hold_min_s": 1}
SPEED = 2


@pytest.fixture(scope="module")
def firmware_image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deploy")
    return deploy_firmware(tmp, tmp / "flash.img", CFG)


class PagedBall:
    """A virtual ball serving its page: url (the paired URL), host/port/token."""

    def __init__(self, tmp, image, *extra):
        url_file = tmp / "url.txt"
        self.ball = VirtualBall(tmp, image, "--http-port", 0, "--url-file", url_file, *extra)
        deadline = time.monotonic() + 30
        while not url_file.exists():
            assert self.ball.proc.poll() is None, self.ball.proc.communicate()
            assert time.monotonic() < deadline, "no URL file"
            time.sleep(0.05)
        self.url = url_file.read_text().strip()
        parts = urlsplit(self.url)
        self.port = parts.port
        self.token = parts.query[2:]

    def request(self, method, path, headers=None, timeout=5):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.request(method, path, headers=headers or {})
        res = conn.getresponse()
        body = res.read()
        conn.close()
        return res, body


@pytest.fixture
def paged(firmware_image, tmp_path):
    image = tmp_path / "flash.img"
    shutil.copyfile(firmware_image, image)
    started = []

    def start(*extra):
        p = PagedBall(tmp_path, image, *extra)
        started.append(p)
        return p

    yield start
    for p in started:
        p.ball.kill()


class Stream:
    """GET /live read in a thread: events as (host seconds, name, object)."""

    def __init__(self, port, token, last_id=""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        resume = "Last-Event-ID: {}\r\n".format(last_id) if last_id else ""
        self.sock.sendall(
            "GET /live?k={} HTTP/1.1\r\nHost: ball\r\n{}\r\n".format(token, resume).encode()
        )
        self.events = []
        self.ids = []  # each sample's id, in the order they came
        self.nbytes = 0  # everything received, headers included
        self.closed = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        reader = EventReader()
        try:
            while True:
                data = self.sock.recv(4096)
                if not data:
                    break
                reader.feed(data)
                self.nbytes += len(data)
                now = time.monotonic()
                for name, obj in reader.events():
                    self.events.append((now, name, obj))
                    if name == "message":
                        self.ids.append(reader.last_id)
        except OSError:
            pass
        self.closed = True

    def samples(self):
        return [(t, obj) for t, name, obj in self.events if name == "message"]

    def wait(self, pred, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t, obj in self.samples():
                if pred(obj):
                    return t, obj
            time.sleep(0.05)
        raise AssertionError("the stream never showed it; last: {}".format(self.samples()[-1:]))

    def close(self):
        self.sock.close()
        self.thread.join(2)


def session_trace(tmp_path):
    """Rest, medium, firm, a moment over, medium on past the 10 s limit, release."""
    rows = [(0, 0), (1500, 25), (5000, 40), (8000, 62), (8600, 25), (14000, 25), (14100, 0)]
    return write_trace(tmp_path / "trace.csv", rows + [(20000, 0)])


def test_pairing_is_refused_without_the_token_and_accepted_with_it(paged):
    p = paged()
    assert p.url == "http://127.0.0.1:{}/?k={}".format(p.port, p.token)
    assert len(p.token) == 32 and int(p.token, 16) >= 0
    for path in ("/", "/live", "/?k=" + "0" * 32):
        res, body = p.request("GET", path)
        assert res.status == 401 and b"knotball wifi" in body
        assert b"force" not in body and p.token.encode() not in body
    res, body = p.request("GET", "/?k=" + p.token)
    assert res.status == 200 and res.getheader("Content-Type").startswith("text/html")
    cookie = res.getheader("Set-Cookie").split(";")[0]
    res, body = p.request("GET", "/", {"Cookie": cookie})
    assert res.status == 200
    res, _ = p.request("GET", "/history?k=" + p.token)
    assert res.status == 404


def test_the_stream_follows_a_trace_to_the_stop_at_its_limit(paged, tmp_path):
    p = paged("--trace", session_trace(tmp_path), "--speed", SPEED)
    s = Stream(p.port, p.token)
    try:
        _, stop = s.wait(lambda o: o["state"] == "stopped", timeout=30)
    finally:
        s.close()
    assert s.events[0][1] == "edges"
    edges = s.events[0][2]
    assert edges["limit_ms"] == 10000 and edges["edges_n"]["medium"] == 20.0
    samples = [obj for _, obj in s.samples()]
    bands = [
        b["band"]
        for a, b in zip([{}] + samples, samples, strict=False)
        if a.get("band") != b["band"]
    ]
    assert bands[:4] == ["idle", "medium", "firm", "over"], bands
    cues = [c for obj in samples for c in obj["cues"]]
    for cue in ("hold_effective", "too_hard", "time_warning", "done"):
        assert cue in cues, cues
    assert stop["stop"] == "time_limit" and stop["elapsed_ms"] == stop["limit_ms"] == 10000
    active = [o for o in samples if o["state"] == "active"]
    assert all(0 <= o["force_n"] < 70 and o["hold_ms"] >= 0 for o in active)
    steps = [b["t_ms"] - a["t_ms"] for a, b in zip(samples, samples[1:], strict=False)]
    assert min(steps) >= 100 and max(steps) <= 400, steps  # ten a second, none lost for long


def test_post_symptom_ends_the_session_as_symptom_and_pull_brings_it_home(paged, tmp_path):
    rows = [(0, 0), (1000, 25), (30000, 25), (30100, 0)]
    p = paged("--trace", write_trace(tmp_path / "press.csv", rows), "--speed", SPEED)
    s = Stream(p.port, p.token)
    try:
        s.wait(lambda o: o["state"] == "active" and o["elapsed_ms"] > 1000)
        res, _ = p.request("POST", "/symptom")
        assert res.status == 401  # no token: nothing stops
        res, body = p.request("POST", "/symptom?k=" + p.token)
        assert res.status == 200 and json.loads(body) == {"stopped": True}
        _, stop = s.wait(lambda o: o["state"] == "stopped")
    finally:
        s.close()
    assert stop["stop"] == "symptom" and stop["elapsed_ms"] < 10000
    p.ball.wait_finished()
    res = knotball("pull", "--port", p.ball.port, "--json")
    assert res.returncode == 0, res.stderr
    (session,) = json.loads(res.stdout)["sessions"]
    assert session["stop_reason"] == "symptom"


def slow_reader(port, token, stop):
    """Streams /live but takes one byte a second."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.sendall("GET /live?k={} HTTP/1.1\r\n\r\n".format(token).encode())
    while not stop.is_set():
        try:
            s.recv(1)
        except OSError:
            break
        stop.wait(1)
    s.close()


def hostile(port, token, stop):
    """Garbage, a 100 kB header, 50 connections at once, a stream never read: again and
    again until told to stop."""
    held = []
    while not stop.is_set():
        for payload in (b"\x00\xff\r\n\r\n", b"GET / HTTP/1.1\r\nX: " + b"a" * 100_000):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(payload)
                    s.recv(10)
            except OSError:
                pass
        crowd = []
        for _ in range(50):
            try:
                crowd.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                pass
        stop.wait(0.5)
        for c in crowd:
            c.close()
        if not held:
            never = socket.create_connection(("127.0.0.1", port))
            never.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            never.sendall("GET /live?k={} HTTP/1.1\r\n\r\n".format(token).encode())
            held.append(never)  # connected, never read
        for path in (b"/symptom", b"/"):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(b"POST " + path + b" HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
                    s.recv(100)
            except OSError:
                pass
    for s in held:
        s.close()


def test_a_hostile_network_neither_delays_the_stop_nor_stops_a_paired_page(paged, tmp_path):
    p = paged("--trace", session_trace(tmp_path), "--speed", SPEED)
    page = Stream(p.port, p.token)
    stop = threading.Event()
    attackers = [
        threading.Thread(target=hostile, args=(p.port, p.token, stop), daemon=True),
        threading.Thread(target=slow_reader, args=(p.port, p.token, stop), daemon=True),
    ]
    for a in attackers:
        a.start()
    try:
        t_start, first = page.wait(lambda o: o["state"] == "active", timeout=30)
        t_stop, last = page.wait(lambda o: o["state"] == "stopped", timeout=30)
    finally:
        stop.set()
        for a in attackers:
            a.join(10)
    # On time: exactly at its limit on the ball's clock, and that clock kept pace with
    # real time (x SPEED) while under attack: a slow loop would show as lag here.
    assert last["stop"] == "time_limit" and last["elapsed_ms"] == 10000
    ball_s = (last["t_ms"] - first["t_ms"]) / 1000 / SPEED
    assert abs((t_stop - t_start) - ball_s) < 0.5, (t_stop - t_start, ball_s)
    samples = [o for _, o in page.samples()]
    steps = [b["t_ms"] - a["t_ms"] for a, b in zip(samples, samples[1:], strict=False)]
    assert max(steps) <= 500, max(steps)  # the paired page kept streaming throughout
    page.close()
    # Requests without the token write nothing: the flash image is unchanged by them.
    p.ball.wait_finished()
    time.sleep(1)
    before = hashlib.sha256(p.ball.image.read_bytes()).hexdigest()
    for path in (b"/symptom", b"/", b"/live"):
        for method in (b"POST", b"GET"):
            with socket.create_connection(("127.0.0.1", p.port), timeout=5) as s:
                s.sendall(method + b" " + path + b" HTTP/1.1\r\n\r\n")
                assert s.recv(100).startswith(b"HTTP/1.1 40")
    time.sleep(1)
    assert hashlib.sha256(p.ball.image.read_bytes()).hexdigest() == before


def test_the_page_flashed_with_the_firmware_is_what_the_paired_phone_gets(paged):
    p = paged()
    res, body = p.request("GET", "/?k=" + p.token)
    assert res.status == 200 and res.getheader("Content-Encoding") == "gzip"
    page = gzip.decompress(body).decode()
    assert page == (FIRMWARE_ROOT / "page.html").read_text()
    for shown in (
        'id="force"',
        'id="band"',
        "/live",
        "/symptom",
        "Numbness or tingling",
        "/measure",
    ):
        assert shown in page
    # Still small for the ball: 6 KiB of flash (the log keeps 24 KiB free for one session),
    # sent in 512-byte chunks between samples (12 polls), once a visit. It grew past 4 KiB
    # with measuring a threshold from the page (issue 14).
    assert len(body) < 6144


def test_three_presses_measured_from_the_page_are_kept_on_the_balls_flash_until_pulled(
    paged, tmp_path
):
    """The phone page's measurement end to end: started over HTTP, the page asking about
    once a second (of real time: 10 s of the ball's at --speed 10), the trace's three slow
    presses, and the threshold file on the ball's flash, read over USB as `pull` reads it."""
    trace = bands_trace(tmp_path / "presses.csv", [(5, 40), (5, 36), (5, 44)])
    p = paged("--trace", trace, "--speed", MEASURE_SPEED)
    k = "?k=" + p.token
    res, body = p.request("POST", "/measure" + k + "&a=calves")
    assert res.status == 200 and json.loads(body)["state"] == "waiting", body
    states = []
    deadline = time.monotonic() + 60
    while not states or states[-1] not in ("done", "failed"):
        assert time.monotonic() < deadline, states
        time.sleep(0.3)
        res, body = p.request("GET", "/measure" + k)
        got = json.loads(body)
        if not states or states[-1] != got["state"]:
            states.append(got["state"])
    assert states[-1] == "done", got
    assert "pressing" in states and "got" in states
    assert got["peaks_n"] == pytest.approx([40, 36, 44], rel=0.03)
    files = [f["name"] for f in p.ball.files() if f["name"].endswith(".kbt")]
    assert files == [got["file"]] == ["t0000001.kbt"]
    kept = threshold.unpack(p.ball.get(got["file"]))
    assert kept["area"] == "calves" and kept["peaks_n"] == pytest.approx([40, 36, 44], rel=0.03)
    assert kept["level_n"] == pytest.approx(40, rel=0.03) and kept["level_n"] == got["level_n"]
    assert all(r > 3500 for r in kept["rise_ms"])
    with p.ball.link() as link:
        assert link.hello()["calib"] is False  # back to sessions
    # ...and `knotball pull` brings it into the history as the area's threshold, dated by the
    # ball, then takes it off the ball.
    res = knotball("pull", "--port", p.ball.port, "--json")
    assert res.returncode == 0, res.stderr
    (pulled,) = json.loads(res.stdout)["thresholds"]
    assert pulled["area"] == "calves" and pulled["level_n"] == got["level_n"]
    assert not [f for f in p.ball.files() if f["name"].endswith(".kbt")]
    res = knotball("history", "--json")
    assert res.returncode == 0, res.stderr
    trend = json.loads(res.stdout)["thresholds"]["calves"]
    assert [m["level_n"] for m in trend] == [got["level_n"]], trend


def answers(port, token):
    """The page's server answers a paired GET / (False: nothing listens, the radio is off)."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/?k=" + token)
        status = conn.getresponse().status
        conn.close()
        return status == 200
    except OSError:
        return False


def wait_for(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def test_the_radio_goes_off_when_unused_and_a_press_brings_the_page_back(paged, tmp_path):
    """Five minutes of the ball's clock untouched (at 50x: 6 s here), the server closes and
    the radio is off; a press at 480 s serves the page again."""
    press = tmp_path / "press.txt"
    press.write_text("0 0\n480 0\n481 30\n484 30\n485 0\n")
    p = paged("--press", press, "--speed", 50)
    assert answers(p.port, p.token)
    assert wait_for(lambda: not answers(p.port, p.token), 120), "the radio never went off"
    assert wait_for(lambda: answers(p.port, p.token), 120), "a press never brought it back"


def seq(ident):
    return int(ident.split(".")[1])


def test_no_byte_goes_out_while_the_motor_starts_and_no_sample_is_lost(
    paged, tmp_path, monkeypatch
):
    io_log = tmp_path / "io.log"
    monkeypatch.setenv("KNOTBALL_VBALL_IO_LOG", str(io_log))
    p = paged("--trace", session_trace(tmp_path), "--speed", SPEED)
    s = Stream(p.port, p.token)
    try:
        _, stop = s.wait(lambda o: o["state"] == "stopped", timeout=30)
        s.wait(lambda o: o["t_ms"] >= stop["t_ms"] + 1500)  # the done buzz has started
    finally:
        s.close()
    starts, sends = [], []
    for line in io_log.read_text().splitlines():
        kind, t, *_ = line.split()
        (starts if kind == "m" else sends).append(int(t))
    assert len(starts) >= 4 and len(sends) > 100  # the start tick and the cues; the stream
    for m in starts:
        assert not [t for t in sends if m <= t < m + MOTOR_HOLD_MS], (m, sends)
    n = [seq(i) for i in s.ids]
    assert n == list(range(n[0], n[-1] + 1))  # what was held went out after, none lost


def ball_time(p):
    """The ball's clock now, from a fresh stream straight to the ball."""
    s = Stream(p.port, p.token)
    try:
        return s.wait(lambda o: True)[1]["t_ms"]
    finally:
        s.close()


def watch_until(p, t_ms):
    """Until the ball's own clock (a fresh page's samples) reaches t_ms."""
    w = Stream(p.port, p.token)
    try:
        w.wait(lambda o: o["t_ms"] >= t_ms, timeout=60)
    finally:
        w.close()


def test_a_page_cut_off_resumes_from_its_last_id_then_a_longer_gap_is_told(paged, tmp_path):
    p = paged("--trace", session_trace(tmp_path), "--speed", 5)
    s = Stream(p.port, p.token)
    try:
        s.wait(lambda o: o["state"] == "active")
    finally:
        s.close()  # the body and the wall shadow the link
    last_id, last = s.ids[-1], s.samples()[-1][1]
    watch_until(p, last["t_ms"] + 4000)  # 4 s of the ball's clock: the ring keeps 12
    s = Stream(p.port, p.token, last_id)
    try:
        s.wait(lambda o: o["t_ms"] >= last["t_ms"] + 5000)
    finally:
        s.close()
    assert [name for _, name, _ in s.events[:2]] == ["edges", "message"]  # no gap
    assert [seq(i) for i in s.ids] == list(range(seq(last_id) + 1, seq(s.ids[-1]) + 1))
    t = [last["t_ms"]] + [obj["t_ms"] for _, obj in s.samples()]
    assert sorted(set(t)) == t and max(b - a for a, b in zip(t, t[1:], strict=False)) <= 200

    last_id, last = s.ids[-1], s.samples()[-1][1]
    watch_until(p, last["t_ms"] + 16000)  # longer than the ring
    s = Stream(p.port, p.token, last_id)
    try:
        s.wait(lambda o: o["t_ms"] >= last["t_ms"] + 16500)
    finally:
        s.close()
    names = [name for _, name, _ in s.events]
    assert names[:3] == ["edges", "gap", "message"] and names.count("gap") == 1
    first = seq(s.ids[0])
    assert s.events[1][2] == {"missing": first - seq(last_id) - 1} and first > seq(last_id) + 30
    assert [seq(i) for i in s.ids] == list(range(first, seq(s.ids[-1]) + 1))
