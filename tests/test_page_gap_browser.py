"""The live page in a real browser when the link drops (the body and a wall shadow the
radio): through a relay the test cuts, the page resumes from its last sample; a cut longer
than the ball keeps (12 s) is shown as a gap, never joined over. Marked `browser`, as
tests/test_page_browser.py (whose browser and helpers it uses)."""

import shutil
import socket
import threading

import pytest

# Its browser and image fixtures (pytest finds them here by name) and helpers.
from test_page_browser import browser, firmware_image, seen, shot, text  # noqa: F401
from test_web_virtual import PagedBall, Stream
from vball_fixture import write_trace

pytestmark = pytest.mark.browser


class Relay:
    """127.0.0.1:port -> the ball's port, byte for byte, until cut(): then every
    connection is closed and new ones are closed at once, until mend()."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.open = True
        self.pairs = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                a, _ = self.sock.accept()
            except OSError:
                return
            if not self.open:
                a.close()
                continue
            b = socket.create_connection(self.target)
            with self.lock:
                self.pairs.append((a, b))
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.open = False
        with self.lock:
            for a, b in self.pairs:
                for s in (a, b):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            self.pairs = []

    def mend(self):
        self.open = True

    def close(self):
        self.cut()
        self.sock.close()


def ball_time(p):
    """The ball's clock now, from a fresh stream straight to the ball."""
    s = Stream(p.port, p.token)
    try:
        return s.wait(lambda o: True)[1]["t_ms"]
    finally:
        s.close()


def test_a_link_cut_longer_than_the_ball_keeps_shows_as_a_gap_on_the_page(
    firmware_image,  # noqa: F811
    tmp_path,
    browser,  # noqa: F811
):
    image = tmp_path / "flash.img"
    shutil.copyfile(firmware_image, image)
    rows = [(0, 0), (1000, 25), (70000, 25), (70100, 0)]
    trace = write_trace(tmp_path / "press.csv", rows)
    p = PagedBall(tmp_path, image, "--trace", trace, "--speed", 4)
    relay = Relay(p.port)
    try:
        browser.get("http://127.0.0.1:{}/?k={}".format(relay.port, p.token))
        seen(browser, lambda d: text(d, "band") == "MEDIUM")
        assert text(browser, "gap") == ""
        relay.cut()
        t = ball_time(p)
        s = Stream(p.port, p.token)
        try:
            s.wait(lambda o: o["t_ms"] >= t + 16000, timeout=60)  # longer than the ring
        finally:
            s.close()
        relay.mend()
        seen(browser, lambda d: "data lost" in text(d, "gap"), timeout=60)
        lost = float(text(browser, "gap").split()[1])
        assert 4 <= lost <= 60, text(browser, "gap")
        seen(browser, lambda d: "no data" not in text(d, "note"))
        shot(browser, tmp_path, "page-gap.png")
    finally:
        relay.close()
        p.ball.kill()
