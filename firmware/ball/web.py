# The ball's live page over Wi-Fi (DESIGN.md contract 6): a small HTTP server the loop polls
# in its spare time, after the sample's outputs are set, as it polls the USB console. Loaded
# only when the board brings up a network (Wi-Fi configured, or the virtual ball's
# --http-port): a ball without Wi-Fi never pays for its bytecode or its buffers.
#
# What clients can make the loop do is bounded: at most _CLIENTS connections (more are
# accepted and closed at once), per poll one accept, one request answered, one read of at
# most _READ bytes and one write per client. A request must be whole within _REQ_MAX bytes
# and _REQ_MS; a client that takes nothing for _STALL_MS is dropped. Every socket is
# non-blocking: nothing here waits. Samples are kept in a ring of the last _RING (Ring):
# a stream that fell behind (a slow phone, a link shadowed by the body and a wall, the
# motor's start below) is sent what it missed from the ring, in order, a few events per
# poll, and told of a gap when the ring no longer has it all; a page that reconnects says
# the last sample it had (Last-Event-ID) and resumes there. Samples are packed into buffers
# made here once: streaming allocates nothing per sample (answering a request does,
# between samples). Without the token a request gets 401
# and no data, and nothing a request does writes to flash, except POST /symptom with the
# token (it ends the session, which the log records), POST /area?a=NAME with the token
# (the area chosen, kept with the day's count) and POST /measure with the token (a threshold
# measured on the ball, kept as a file; ?bands=1: the bands set from it, saved in the config).
import os
import select
import socket
from array import array
from binascii import hexlify

from ball import const
from ball.session import STOP_SYMPTOM
from ball.wire import events

TOKEN_PATH = "/token"
PAGE_PATH = "/page.html.gz"  # the live page, gzipped (put on the ball with the firmware)
PORT = 80

_CLIENTS = const(5)
_REQ_MAX = const(1536)  # a phone's GET with its cookie is ~700 bytes
_REQ_MS = const(3000)
_STALL_MS = const(10000)
_READ = const(512)
_OUT = const(512)  # page chunks and a stream's unsent rest (>= EVENT_MAX + events.GAP_MAX)
EVENT_MAX = events.ID_MAX + events.SAMPLE_MAX  # the longest sample event with its id
# The ring: 12 s of samples at events.EVERY_MS, _FIELDS ints each (2,880 bytes). A shadowed
# link comes back within seconds as the ball rolls on; a longer gap is told, not hidden.
_RING = const(120)
_FIELDS = const(6)
# Events packed per poll for streams catching up from the ring (the live sample is packed
# once for all): one takes 12 us on a PC's unix port (an estimated 0.5 ms on an ESP32), so
# two keep the loop's 10 ms period safe, and a stream catches up at 20 times the live rate
# (the whole ring in 0.6 s).
_CATCH_UP = const(2)
# No socket sends while the haptic motor starts (hardware/README.md, 3.8): an ERM motor
# draws its stall current (2-3x its running current, ~90-150 mA for the ball's 10 mm coin
# motor) until its rotor is up to speed: 30-80 ms in the motor makers' data (rise time to
# 90 % speed at 3 V). A transmit burst (240-340 mA) on top of that, through the cell's
# protection FETs and the LDO, can sag 3V3 into a brown-out.
# The feedback's half-duty first sample (10 ms) softens the start; 80 ms covers the rest.
# Receiving goes on (the radio's receive current is a third of a burst's); TCP ACKs the
# network stack sends itself are small and not held.
MOTOR_HOLD_MS = const(80)
_FREE = const(0)
_READING = const(1)  # the request is arriving
_SENDING = const(2)  # an answer is going out; then the connection closes
_STREAMING = const(3)  # GET /live: a sample every events.EVERY_MS

_HEAD = "HTTP/1.1 {}\r\nContent-Type: {}\r\nCache-Control: no-store\r\nConnection: close\r\n"
_PAIR = (
    b"<!doctype html><meta name=viewport content='width=device-width'><title>knotball</title>"
    b"<h1>Not paired</h1><p>Open the address <code>knotball wifi</code> shows (or scan its "
    b"QR code) with the ball on USB. A new token (<code>knotball wifi --new-token</code>) "
    b"retires old addresses.</p>"
)
_NO_PAGE = b"<!doctype html><p>The live page is not on this ball: run knotball flash.</p>"


def load_token(path=TOKEN_PATH):
    """The pairing token kept on flash (32 hex digits, 128 bits); made once if missing."""
    try:
        with open(path, "rb") as f:
            token = f.read(33).strip()
        if len(token) == 32:
            return token
    except OSError:
        pass
    return new_token(path)


def new_token(path=TOKEN_PATH):
    """A new token from the ball's random source, saved atomically; old pages stop working."""
    token = hexlify(os.urandom(16))
    with open(path + ".tmp", "wb") as f:
        f.write(token)
    os.rename(path + ".tmp", path)
    return token


def held(now_ms, started_ms):
    """True while the motor that started at started_ms (None: never) may still draw its
    start-up current: the page's server sends nothing then."""
    return started_ms is not None and 0 <= now_ms - started_ms < MOTOR_HOLD_MS


def _store(ring, i, t, force_mn, band, state, elapsed, limit, hold, cues, fault, stop):
    """Control.pack_event's pack_into for the ring: a sample's fields as ints at ring[i]
    (each below 2**30: reading them back makes no long int)."""
    ring[i] = t
    ring[i + 1] = force_mn
    ring[i + 2] = elapsed
    ring[i + 3] = limit
    ring[i + 4] = hold
    ring[i + 5] = band | state << 3 | cues << 5 | fault << 11 | stop << 13
    return i + _FIELDS


class Ring:
    """The last `size` samples, kept as ints in one array made here (no allocation per
    sample), each with its number `seq` (the next one's is self.seq); `run` tells this
    server's numbers from those of an earlier one (a reset, the radio off and on)."""

    def __init__(self, size=_RING, run=None):
        self.size = size
        self.a = array("i", (0 for _ in range(size * _FIELDS)))
        self.seq = 0
        self.run = run if run is not None else int.from_bytes(os.urandom(3), "little")

    def push(self, control, now_ms, seen):
        """This sample (with the cues given since `seen`, as Control.pack_event)."""
        control.pack_event(self.a, self.seq % self.size * _FIELDS, now_ms, seen, _store)
        self.seq += 1

    def oldest(self):
        """The number of the oldest sample still kept."""
        return self.seq - self.size if self.seq > self.size else 0

    def pack(self, buf, off, seq):
        """Sample `seq` (kept: oldest() <= seq < self.seq) as an event with its id at
        buf[off], in place; returns the index after it."""
        a = self.a
        i = seq % self.size * _FIELDS
        p = a[i + 5]
        off = events.id_pack_into(buf, off, self.run, seq)
        return events.sample_pack_into(
            buf,
            off,
            a[i],
            a[i + 1],
            p & 7,
            p >> 3 & 3,
            a[i + 2],
            a[i + 3],
            a[i + 4],
            p >> 5 & 63,
            p >> 11 & 3,
            p >> 13,
        )

    def resume(self, last):
        """Where a stream starts: (the first sample to send, samples missing before it:
        0, N, or -1 for unknown). `last`: (run, seq) of the last sample the reader had, or
        None: a new reader, from the newest sample on."""
        newest = self.seq - 1 if self.seq else 0
        if last is None:
            return newest, 0
        run, seq = last
        if run != self.run or seq >= self.seq:
            return self.oldest(), -1  # another run's number: all this one has, and a gap
        if seq + 1 < self.oldest():
            return self.oldest(), self.oldest() - seq - 1
        return seq + 1, 0


def _arg(target, key):
    """The value of `key` (b"a=") in the request target's query as text, or None; "?" for
    bytes that are not text (refused later as no name)."""
    q = target.find(b"?")
    if q < 0:
        return None
    for part in target[q + 1 :].split(b"&"):
        if part.startswith(key):
            try:
                return bytes(part[len(key) :]).decode()
            except UnicodeError:
                return "?"
    return None


def _same(a, b):
    """a == b in a time that does not tell how much of a guess was right."""
    if len(a) != len(b):
        return False
    d = 0
    for i in range(len(a)):
        d |= a[i] ^ b[i]
    return d == 0


# The same calls on the ball (MicroPython streams: readinto/write return None for "would
# block") and on CPython (recv_into/send raise BlockingIOError).
if hasattr(socket.socket, "recv_into"):

    def _recv(sock, mv):
        try:
            return sock.recv_into(mv)
        except BlockingIOError:
            return None

    def _send(sock, buf, off, n):
        try:
            return sock.send(memoryview(buf)[off : off + n])
        except BlockingIOError:
            return None

else:

    def _recv(sock, mv):
        return sock.readinto(mv)

    def _send(sock, buf, off, n):
        return sock.write(buf, off, n)


class _Client:
    def __init__(self):
        self.sock = None
        self.state = _FREE
        self.since = 0  # when it connected; then when it last took bytes
        self.req = bytearray(_REQ_MAX)
        self.mv = memoryview(self.req)
        self.n = 0
        self.out = bytearray(_OUT)
        self.data = self.out  # what is being sent: data[off:end]
        self.off = 0
        self.end = 0
        self.file = None  # the page, sent in _OUT chunks
        self.want = 0  # streaming: the number of the next sample it is to get


class Server:
    """The page's HTTP server on (host, port), reaching the app only through a
    control.Control."""

    def __init__(self, control, host, port=PORT, token=None, page_path=PAGE_PATH, sent=None):
        self.control = control
        self.sent = sent  # sent(n) after each send that took bytes (Board.net_sent), or None
        self.addr = (host, port)  # for the page's URL `KB wifi` shows
        self.token = token or load_token()
        self.page_path = page_path
        self.clients = [_Client() for _ in range(_CLIENTS)]
        self.msg = bytearray(EVENT_MAX)
        self.msg_end = 0
        self.msg_seq = -1  # the sample packed in msg (the newest, for every stream at once)
        self.ring = Ring()
        self.seen = [0, 0, 0, 0, 0, 0]  # cue counts the last sample kept reported
        self.sent_at = -events.EVERY_MS
        self.streams = 0
        self.requests = 0  # answered (any status): for the bench and the tests
        self.refused = 0  # connections closed unanswered: no slot, too big, too slow
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(socket.getaddrinfo(host, port)[0][-1])
        s.listen(_CLIENTS)
        s.setblocking(False)
        self.sock = s
        poller = select.poll()
        poller.register(s, select.POLLIN)
        # MicroPython's ipoll() reuses one result (made by its first call, here); poll()
        # builds a list each time. CPython has only poll().
        self.ready = getattr(poller, "ipoll", poller.poll)
        for _ in self.ready(0):
            pass  # nobody can have connected yet
        self.poller = poller

    def close(self):
        for c in self.clients:
            self._drop(c)
        self.sock.close()

    def set_token(self, token):
        """A new token: every connection made with the old one ends now."""
        self.token = token
        for c in self.clients:
            self._drop(c)

    # ---- the loop calls this once per sample period, after the outputs are set ----

    def poll(self, now_ms):
        if now_ms < self.sent_at:  # the app rebased its clock
            self.sent_at = now_ms - events.EVERY_MS
            for c in self.clients:
                c.since = now_ms
        for _obj, _ev in self.ready(0):
            self._accept(now_ms)
        quiet = not held(now_ms, self.control.motor_started_ms())
        answered = False
        for c in self.clients:
            if c.state == _READING:
                if self._read(c, now_ms) and not answered:
                    answered = True  # one request a poll: the rest wait for the next
                    self._answer(c, now_ms)
            elif c.state == _SENDING and quiet:
                if self._flush(c, now_ms):
                    self._drop(c)
            if c.state != _FREE and now_ms - c.since > (
                _REQ_MS if c.state == _READING else _STALL_MS
            ):
                self.refused += 1
                self._drop(c)
        if now_ms - self.sent_at >= events.EVERY_MS:
            self.sent_at = now_ms  # kept with no page open too: one may be coming back
            self.ring.push(self.control, now_ms, self.seen)
        if self.streams and quiet:
            self._stream(now_ms)

    def _accept(self, now_ms):
        try:
            sock, _addr = self.sock.accept()
        except OSError:
            return
        for c in self.clients:
            if c.state == _FREE:
                sock.setblocking(False)
                c.sock = sock
                c.state = _READING
                c.since = now_ms
                c.n = 0
                return
        self.refused += 1
        sock.close()  # every slot taken: no queue to fill

    def _drop(self, c):
        if c.state == _STREAMING:
            self.streams -= 1
        if c.file is not None:
            c.file.close()
            c.file = None
        if c.sock is not None:
            try:
                c.sock.close()
            except OSError:
                pass
            c.sock = None
        c.state = _FREE
        c.off = c.end = 0

    def _read(self, c, now_ms):
        """Take what arrived; True once the request's head is whole."""
        if c.n > 3 and c.req.find(b"\r\n\r\n", 0, c.n) >= 0:
            return True  # whole already: it waited while another request was answered
        room = _REQ_MAX - c.n
        if room <= 0:
            self.refused += 1
            self._drop(c)  # too big: dropped unanswered
            return False
        try:
            got = _recv(c.sock, c.mv[c.n : c.n + min(room, _READ)])
        except OSError:
            got = 0
        if got is None:
            return False
        if got == 0:
            self._drop(c)  # the client left
            return False
        start = c.n - 3 if c.n > 3 else 0
        c.n += got
        return c.req.find(b"\r\n\r\n", start, c.n) >= 0

    # ---- requests ----

    def _authed(self, head, target):
        q = target.find(b"?")
        if q >= 0:
            for part in target[q + 1 :].split(b"&"):
                if part.startswith(b"k=") and _same(part[2:], self.token):
                    return True
        for line in head.split(b"\r\n")[1:]:
            if line[:7].lower() == b"cookie:":
                for part in line[7:].split(b";"):
                    part = part.strip()
                    if part.startswith(b"kb=") and _same(part[3:], self.token):
                        return True
        return False

    def _answer(self, c, now_ms):
        head = bytes(c.mv[: c.req.find(b"\r\n\r\n")])
        first = head.split(b"\r\n", 1)[0].split(b" ")
        if len(first) != 3 or not first[2].startswith(b"HTTP/1."):
            self.refused += 1
            self._drop(c)  # not HTTP: no answer at all
            return
        self.requests += 1
        method, target = first[0], first[1]
        q = target.find(b"?")
        path = target if q < 0 else target[:q]
        known = (method, path) in (
            (b"GET", b"/"),
            (b"GET", b"/live"),
            (b"POST", b"/symptom"),
            (b"GET", b"/area"),
            (b"POST", b"/area"),
            (b"GET", b"/measure"),
            (b"POST", b"/measure"),
        )
        if not known:
            self._reply(c, now_ms, "404 Not Found", "text/plain", b"not found\n")
        elif not self._authed(head, target):
            self._reply(c, now_ms, "401 Unauthorized", "text/html; charset=utf-8", _PAIR)
        elif path == b"/":
            self._page(c, now_ms)
        elif path == b"/live":
            self._start_stream(c, head, now_ms)
        elif path == b"/area":
            self._area(c, now_ms, method == b"POST", target)
        elif path == b"/measure":
            self._measure(c, now_ms, method == b"POST", target)
        else:
            stopped = self.control.request_stop(STOP_SYMPTOM)
            body = b'{"stopped":true}\n' if stopped else b'{"stopped":false}\n'
            self._reply(c, now_ms, "200 OK", "application/json", body)

    def _area(self, c, now_ms, choose, target):
        """GET /area: the area chosen, the areas and the day per area (as `KB area`);
        POST /area?a=NAME: choose one for the sessions from now on, the running one's too
        when it can take it (`none`: no area); its "applies" says which."""
        import json

        from ball.console import Refused

        status, obj = "200 OK", None
        if choose:
            try:
                moved = self.control.set_area(_arg(target, b"a=") or "")[1]
                obj = self.control.areas()
                obj["applies"] = "this session on" if moved else "from the next session"
            except Refused as e:
                status, obj = "400 Bad Request", {"error": str(e)}
        body = json.dumps(obj or self.control.areas()).encode()
        self._reply(c, now_ms, status, "application/json", body)

    def _measure(self, c, now_ms, post, target):
        """The phone page's threshold measurement (ball/measure.py, loaded now): GET its
        state (which renews it); POST ?a=AREA starts, ?stop=1 cancels, ?bands=1 sets the
        bands from the last result. 400 names a bad request, 409 what must happen first."""
        import json

        from ball.console import Refused
        from ball.measure import Busy

        control = self.control
        status = "200 OK"
        try:
            if not post:
                obj = control.measure_status(now_ms)
            elif _arg(target, b"stop=") == "1":
                obj = control.measure_stop(now_ms)
            elif _arg(target, b"bands=") == "1":
                obj = control.measure_bands()
            elif _arg(target, b"a=") is not None:
                obj = control.measure_start(_arg(target, b"a="), now_ms)
            else:
                raise Refused("POST /measure?a=AREA starts, ?stop=1 cancels, ?bands=1 sets bands")
        except Busy as e:
            status, obj = "409 Conflict", {"error": str(e)}
        except Refused as e:
            status, obj = "400 Bad Request", {"error": str(e)}
        except OSError as e:  # the flash: said to the page, which stays up
            status, obj = "500 Internal Server Error", {"error": "the ball's flash: {}".format(e)}
        self._reply(c, now_ms, status, "application/json", json.dumps(obj).encode())

    def _reply(self, c, now_ms, status, ctype, body, extra=""):
        head = _HEAD.format(status, ctype) + extra
        if body is not None:
            head += "Content-Length: {}\r\n".format(len(body))
        c.data = head.encode() + b"\r\n" + (body or b"")
        c.off = 0
        c.end = len(c.data)
        c.state = _SENDING
        c.since = now_ms

    def _page(self, c, now_ms):
        cookie = "Set-Cookie: kb={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000\r\n"
        extra = cookie.format(self.token.decode())
        try:
            c.file = open(self.page_path, "rb")
        except OSError:
            self._reply(c, now_ms, "200 OK", "text/html; charset=utf-8", _NO_PAGE, extra)
            return
        if self.page_path.endswith(".gz"):
            extra += "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"
        extra += "Content-Length: {}\r\n".format(os.stat(self.page_path)[6])
        self._reply(c, now_ms, "200 OK", "text/html; charset=utf-8", None, extra)

    def _start_stream(self, c, head, now_ms):
        edges, limit, hold_min, hold_max = self.control.limits()
        last = None
        for line in head.split(b"\r\n")[1:]:
            if line[:14].lower() == b"last-event-id:":
                last = events.parse_id(line[14:])
        c.want, missing = self.ring.resume(last)
        head = _HEAD.format("200 OK", "text/event-stream") + "X-Accel-Buffering: no\r\n\r\n"
        c.data = (
            head.encode()
            + b"retry: 1000\n\n"
            + events.edges_event(edges, limit, hold_min, hold_max)
            + (events.gap_event(missing) if missing else b"")
        )
        c.off = 0
        c.end = len(c.data)
        c.state = _STREAMING
        c.since = now_ms
        self.streams += 1

    # ---- bytes out ----

    def _flush(self, c, now_ms):
        """One write of what is pending; True when all of it (and the page) has gone."""
        if c.off >= c.end and c.file is not None:
            n = c.file.readinto(c.out)
            if not n:
                c.file.close()
                c.file = None
                return True
            c.data = c.out
            c.off = 0
            c.end = n
        if c.off >= c.end:
            return True
        try:
            w = _send(c.sock, c.data, c.off, c.end - c.off)
        except OSError:
            self._drop(c)
            return False
        if w:
            c.off += w
            c.since = now_ms
            if self.sent is not None:
                self.sent(w)
        return c.off >= c.end and c.file is None

    def _stream(self, now_ms):
        """To every stream that has taken what it had: the newest sample (packed once for
        all), or, to one behind, what it missed from the ring. One write per stream."""
        ring = self.ring
        newest = ring.seq - 1
        budget = _CATCH_UP
        for c in self.clients:
            if c.state != _STREAMING or not self._flush(c, now_ms) or c.want > newest:
                continue  # gone, still sending its last, or up to date
            if c.want == newest:
                if self.msg_seq != newest:
                    self.msg_end = ring.pack(self.msg, 0, newest)
                    self.msg_seq = newest
                c.want += 1
                self._send(c, self.msg, self.msg_end, now_ms)
                continue
            j = 0
            oldest = ring.oldest()
            if c.want < oldest:  # behind by more than the ring: the reader is told
                j = events.gap_pack_into(c.out, 0, oldest - c.want)
                c.want = oldest
            while budget and c.want <= newest and j + EVENT_MAX <= _OUT:
                j = ring.pack(c.out, j, c.want)
                c.want += 1
                budget -= 1
            if j:
                c.data = c.out
                c.off = 0
                c.end = j
                self._flush(c, now_ms)

    def _send(self, c, msg, end, now_ms):
        """msg[:end] to c, which has nothing pending; what the socket does not take now
        goes with the next polls, from the client's own buffer."""
        try:
            w = _send(c.sock, msg, 0, end)
        except OSError:
            self._drop(c)
            return
        w = w or 0
        if w:
            c.since = now_ms
            if self.sent is not None:
                self.sent(w)
        if w < end:
            out = c.out
            j = 0
            while w < end:
                out[j] = msg[w]
                j += 1
                w += 1
            c.data = out
            c.off = 0
            c.end = j
