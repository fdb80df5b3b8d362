"""The ball's live page over Wi-Fi as a link for `knotball live --url` (DESIGN.md contract
6): GET /live read with ball.wire.events.EventReader, its samples handed out as
frame(deadline) -> (SAMPLE, dict) in the fields of ball.wire.console.unpack_live (and a gap
the ball could not fill as (GAP, {"missing": N})), the `s` key's symptom as POST /symptom
and the `a` key's area as GET and POST /area. The token is the URL's `k=`; messages never
show it. Opened again after a drop (Resuming), the stream picks up after the last sample it
had.
"""

import http.client
import json
import socket
import time
from urllib.parse import parse_qs, quote, urlsplit

from ball import config
from ball.wire.events import EVERY_MS, EventReader
from knotball.runtime import UsageError
from knotball.transport.link import BallError, LinkError
from knotball.transport.ports import PortError

SAMPLE = "page sample"  # the frame type of a sample from the page (not a console frame)
GAP = "page gap"  # samples the ball no longer had when the stream resumed
_HEAD_MAX = 4096


class Unpaired(PortError):
    """The ball refused the token: waiting will not change that."""


def parse(url):
    """(host, port, token) of a paired URL (the scheme may be left out); UsageError says
    what is missing."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    token = parse_qs(parts.query).get("k", [""])[0]
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError("--url {}: give the address `knotball wifi` prints".format(url))
    if not token:
        raise UsageError(
            "--url: the address has no token (?k=...): copy it whole from `knotball wifi`"
        )
    return parts.hostname, parts.port or 80, token


class PageLink:
    """GET /live on the ball at url, opened at once; cfg holds the bands and limit from its
    `edges` event, as the console's config would."""

    def __init__(self, url, timeout=3.0, last_id=""):
        self.host, self.port, self.token = parse(url)
        self.last_id = last_id
        self.name = "http://{}:{}/".format(self.host, self.port)
        self.timeout = timeout
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except OSError as e:
            raise LinkError("{}: {}".format(self.name, e.strerror or e))
        self.reader = EventReader(last_id)
        self.cfg = dict(config.DEFAULTS)
        try:
            self._open()
        except BaseException:
            self.sock.close()
            raise

    def _open(self):
        resume = "Last-Event-ID: {}\r\n".format(self.last_id) if self.last_id else ""
        self.sock.sendall(
            "GET /live?k={} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n{}\r\n".format(
                self.token, self.host, resume
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            data = self._recv(time.monotonic() + self.timeout)
            head += data
            if len(head) > _HEAD_MAX:
                raise LinkError("{}: not a knotball page".format(self.name))
        head, rest = head.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0].split(b" ")
        if len(status) < 2 or status[1] == b"401":
            raise Unpaired(
                "{} refused this address's token (a new one was made?): copy the address "
                "`knotball wifi` prints now".format(self.name)
            )
        if status[1] != b"200":
            raise LinkError("{} answered {}: not a knotball page".format(self.name, status[1]))
        self.reader.feed(rest)
        deadline = time.monotonic() + self.timeout
        while True:  # the stream MUST begin with its `edges` event: the bands to draw
            for name, obj in self.reader.events():
                if name == "edges":
                    self._edges(obj)
                    return
            self.reader.feed(self._recv(deadline))

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise LinkError("{}: no live samples in time".format(self.name))
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(4096)
        except TimeoutError:
            raise LinkError("{}: no live samples in time".format(self.name))
        except OSError as e:
            raise LinkError("{}: {}".format(self.name, e.strerror or e))
        if not data:
            raise LinkError("{} closed the stream".format(self.name))
        return data

    def frame(self, deadline):
        """(SAMPLE, the next sample as a dict), or None once deadline (time.monotonic())
        passes; LinkError when the stream ends."""
        while True:
            for name, obj in self.reader.events():
                if name == "edges":
                    self._edges(obj)
                elif name == "message":
                    return SAMPLE, self._sample(obj)
                elif name == "gap":
                    return GAP, obj
            try:
                self.reader.feed(self._recv(deadline))
            except LinkError:
                if time.monotonic() >= deadline:
                    return None
                raise

    def _edges(self, obj):
        for band, n in obj.get("edges_n", {}).items():
            self.cfg[band + "_n"] = n
        if "limit_ms" in obj:
            self.cfg["session_limit_s"] = obj["limit_ms"] / 1000

    @staticmethod
    def _sample(obj):
        """The fields `knotball live` shows, as over USB; the page has no raw counts, drift
        or calibration flag."""
        s = {"raw": None, "drift_n": 0.0, "calib": False, "drift_bad": False}
        s.update(obj)
        s["fault"] = s.get("fault") or ""
        return s

    def request(self, command, timeout=None):
        """The keys' commands: `symptom` (POST /symptom), `area` (GET /area) and `area NAME`
        (POST /area?a=NAME), answered as the console answers them; the console's `live
        off` has nothing to stop here: closing the stream ends it."""
        word, _, arg = command.partition(" ")
        if word == "symptom":
            method, path = "POST", "/symptom?k=" + self.token
        elif word == "area":
            method, path = ("POST", "/area?k={}&a={}".format(self.token, quote(arg)))
            if not arg:
                method, path = "GET", "/area?k=" + self.token
        else:
            return {}
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
        try:
            conn.request(method, path, headers={"Content-Length": "0"})
            res = conn.getresponse()
            body = res.read()
        except OSError as e:
            raise LinkError("{}: {}".format(self.name, e))
        finally:
            conn.close()
        if word == "area":
            try:
                reply = json.loads(body)
            except ValueError:
                reply = {"error": "the page answered {}".format(res.status)}
            if res.status != 200 or "error" in reply:
                raise BallError({"command": "area", "error": reply.get("error", res.status)})
            return reply
        if res.status != 200 or b'"stopped":true' not in body:
            raise BallError({"command": "symptom", "error": "no session is running"})
        return {"stopped": True}

    def close(self):
        self.sock.close()


def gap_text(obj):
    """What `knotball live` says of a gap event."""
    n = obj.get("missing", -1)
    if n < 0:
        return "gap: the ball restarted, its samples from before are lost"
    return "gap: {:.1f} s of samples lost while the link was down".format(n * EVERY_MS / 1000)


class Resuming:
    """(link, cfg) for knotball live's follow(), as its USB connect() gives; each call
    after the first resumes from the last sample the previous link had."""

    def __init__(self, url):
        self.url = url
        self.link = None

    def __call__(self):
        last = self.link.reader.last_id if self.link is not None else ""
        self.link = PageLink(self.url, last_id=last)
        return self.link, self.link.cfg
