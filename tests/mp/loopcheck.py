# MicroPython-only checks of the sampling loop's memory behaviour, used by the tests
# (heap_lock: no allocation at all) and by `make bench` (bytes per iteration, time per
# iteration). Run: micropython loopcheck.py lock|lockfsr|locklog|gesture|alloc|cost
import gc
import sys
import time
from array import array

import micropython

from ball import BoardBase, config
from ball.app import PERIOD_MS, App
from ball.dose import Dose
from ball.session import STOP_SYMPTOM
from ball.signal import Calibration

# A two-FSR ball calibrated at four kitchen-scale loads: a power-law curve, ~4e6 counts at 70 N.
FSR_POINTS = [[5, 392758], [15, 999258], [30, 1801163], [60, 3246598]]


class RingBoard(BoardBase):
    """A board whose sensor replays preallocated counts and whose outputs keep ints:
    nothing here allocates, so anything that does is the firmware's."""

    def __init__(self, counts):
        self.counts = counts
        self.i = 0
        self.duty = 0
        self.r = 0
        self.changes = 0

    def read_sensor(self):
        c = self.counts[self.i]
        self.i += 1
        if self.i >= len(self.counts):
            self.i = 0
        return c

    def led(self, r, g, b):
        self.r = r
        self.changes += 1

    def motor(self, duty):
        self.duty = duty
        self.changes += 1

    def off(self):
        self.duty = 0

    def battery_mv(self):
        return 3900  # read every 5 s in a session, 30 s between: that must not allocate


def session_counts(cfg):
    """A 70 s session's counts: roll, hold, press too hard, roll past the limit, release."""
    cal = Calibration.from_config(cfg)
    out = array("i")
    t = 0
    while t < 7000:
        if t < 100:
            n = 0
        elif t < 1500:
            n = 15 + (t % 100) // 5  # rolling 15..35 N
        elif t < 2300:
            n = 27  # a hold
        elif t < 2450:
            n = 70  # too hard
        elif t < 6600:
            n = 20 + (t % 70) // 3
        else:
            n = 0
        noise = ((t * 7919) % 13) - 6  # deterministic +-0.6 N in 0.1 N steps
        out.append(cal.to_counts(n + noise / 10))
        t += 1
    return out


def gesture_counts(cfg):
    """Released, then two quick firm squeezes (0.25 s each, 0.3 s apart), then released."""
    cpn = cfg["counts_per_n"]
    out = array("i")
    for n in [0] * 300 + ([50] * 25 + [0] * 30) * 2 + [0] * 300:
        out.append(n * cpn)
    return out


def with_dose(app):
    """Sessions per day as on the ball (no RTC here): counted in the sampling loop too."""
    dose = Dose()
    dose.restore("")
    return App(app.board, app.cfg, app.listener, app.log, dose=dose)


def run_locked(app, start, n):
    """Run n ticks with the heap locked; a MemoryError means the loop allocated."""
    micropython.heap_lock()
    try:
        t = start
        end = start + n * PERIOD_MS
        while t < end:
            app.tick(t)
            t += PERIOD_MS
    finally:
        micropython.heap_unlock()
    return t


def run_web(app, web, start, n, readers, locked, drain=None):
    """n iterations of sample + server poll (+ the pages reading), heap locked or not."""
    t = start
    end = start + n * PERIOD_MS
    while t < end:
        if locked:
            micropython.heap_lock()
        try:
            app.tick(t)
            web.poll(t)
            if drain is not None:
                drain(readers)
        finally:
            if locked:
                micropython.heap_unlock()
        t += PERIOD_MS
    return t


def main(mode):
    cfg = config.validate({"cal_points": FSR_POINTS} if mode == "lockfsr" else {})
    board = RingBoard(session_counts(cfg))
    app = with_dose(App(board, cfg))
    gc.collect()
    if mode in ("lock", "lockfsr"):
        # The whole session (start, bands, holds, too hard, warning, stop, release) with
        # the heap locked, twice round so a second session starts too; lockfsr through a
        # piecewise calibration on counts in the millions.
        t = run_locked(app, 0, 14000)
        sess = app.session
        print("sessions", sess.sessions_today, "changes", board.changes, "holds", sess.holds)
        assert sess.sessions_today == 2, "expected two sessions in the locked run"
        assert sess.over_count >= 1 and board.changes > 20
        assert max(board.counts) > 3000000 or mode == "lock"
        assert 69000 < sess.peak_mn < 71000, sess.peak_mn  # 70 N, read right
        print("ok heap-locked ticks", t // PERIOD_MS)
    elif mode == "locklog":
        # The same with the session log on littlefs: the sampling path (tick) stays
        # allocation-free; only the flash steps between samples (service) may allocate.
        from ramflash import mount

        from ball.log import SessionLog

        mount(64)
        wlog = SessionLog("/flash/logs", cfg, "test")
        app = with_dose(App(RingBoard(session_counts(cfg)), cfg, None, wlog))
        gc.collect()
        t = 0
        while t < 14000 * PERIOD_MS:
            t = run_locked(app, t, 1)
            wlog.service(True)
        sess = app.session
        assert sess.sessions_today == 2 and wlog.errors == 0, wlog.error
        assert wlog.next_id == 3
        print("ok heap-locked ticks with logging", t // PERIOD_MS)
    elif mode == "gesture":
        # The symptom gesture from the first contact: a session starts and stops as
        # symptom, its own feedback plays, the day's count and rest are updated.
        app = with_dose(App(RingBoard(gesture_counts(cfg)), cfg))
        gc.collect()
        t = run_locked(app, 0, 660)
        sess = app.session
        assert sess.stop_reason == STOP_SYMPTOM and sess.resting, sess.stop_reason
        assert app.dose.resting and app.dose.count == 1
        print("ok heap-locked gesture ticks", t // PERIOD_MS)
    elif mode == "calib":
        # Calibration mode: the sensor read and filtered, the calibration LED, the host's
        # buzzes and renewals, and the mode lapsing back to sessions, with the heap locked.
        # The console's 'L' frames go out between samples, unlocked: the console runs in
        # the loop's spare time (a CRC-32 above 2**30 is a long int on the ESP32).
        from ball.console import Console
        from ball.control import Control

        class Sink:
            def __init__(self):
                self.frames = 0

            def write(self, data):
                self.frames += 1

        sink = Sink()
        con = Console(sys.stdin.buffer, sink, Control(app), "/", "/config.json")
        app.calibrate(True, 0)
        gc.collect()
        t = 0
        while t < 120000:
            micropython.heap_lock()
            try:
                app.tick(t)
                if t % 2000 == 0 and t < 60000:
                    app.calibrate(True, t)  # the host renews; after 60 s it stops
                if t % 3000 == 0:
                    app.buzz(t, 200)
            finally:
                micropython.heap_unlock()
            if t % 50 == 0:
                con._send_live(t)
            t += PERIOD_MS
        assert not app.calib, "calibration mode should have lapsed"
        assert app.session.sessions_today >= 1, "sessions should run again after the lapse"
        print("ok heap-locked calibration ticks", t // PERIOD_MS, "frames", sink.frames)
    elif mode == "measure":
        # The phone page's threshold measurement: a press too fast, then three slow ones,
        # stepped in each sample with the heap locked (their buzzes too); the result worked
        # out and written between samples, unlocked, as App.run does (calib.CalibMode.spare).
        import os

        from ball.measure import Measurement

        counts = array("i")
        cpn = cfg["counts_per_n"]
        for rise in (800, 5000, 5000, 5000):
            for t in range(0, rise + 3500, 10):
                n = 30 * t // rise if t < rise else max(0, 30 * (rise + 1500 - t) // 1500)
                counts.append(n * cpn)
        app = App(RingBoard(counts), cfg)
        app.calibrate(True, 0)
        m = Measurement("calves", int(cfg["light_n"] * 1000), os.getenv("KNOTBALL_TMP") or ".")
        app._calib.job = m
        gc.collect()
        t = 0
        while t < len(counts) * PERIOD_MS:
            micropython.heap_lock()
            try:
                app.tick(t)
                if t % 1000 == 0:
                    app.calibrate(True, t)  # the page asks every second
            finally:
                micropython.heap_unlock()
            if app.calib:
                app._calib.spare(t)
            t += PERIOD_MS
        assert m.state == 5 and m.n == 3 and m.file, (m.state, m.n, m.error)
        print("ok heap-locked measurement ticks", t // PERIOD_MS, "file", m.file)
    elif mode in ("lockstream", "allocstream"):
        # The live page's server in the loop, as on a ball on Wi-Fi: first with nobody
        # connected, then with two pages streaming over real sockets (they read between
        # samples), one of them back after a gap: it resumes 10 s back, which the ring sends
        # while the heap is locked. lockstream: the heap locked for sample, server poll and
        # readers alike; allocstream: bytes allocated per iteration while streaming (for
        # make bench).
        import socket

        from ball.control import Control
        from ball.web import Server

        port = int(sys.argv[2])
        # Told of every send, as start.serve sets it up on a ball.
        web = Server(Control(app), "127.0.0.1", port, token=b"0" * 32, sent=app.board.net_sent)
        t = run_web(app, web, 0, 3000, (), mode == "lockstream")
        readers = []
        back = "Last-Event-ID: {}.{}\r\n".format(web.ring.run, web.ring.seq - 100).encode()
        for resume in (b"", back):
            c = socket.socket()
            c.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
            c.write(
                b"GET /live?k=" + b"0" * 32 + b" HTTP/1.1\r\nHost: ball\r\n" + resume + b"\r\n"
            )
            c.setblocking(False)
            readers.append(c)
        while web.streams < 2:
            web.poll(t)
        rbuf = bytearray(4096)
        got = [0]

        def drain(socks):
            for c in socks:
                n = c.readinto(rbuf)
                while n:
                    got[0] += n
                    n = c.readinto(rbuf)

        gc.collect()
        if mode == "allocstream":
            n = 6000
            gc.disable()
            before = gc.mem_alloc()
            run_web(app, web, t, n, readers, False, drain)
            after = gc.mem_alloc()
            gc.enable()
            print("stream bytes", got[0], "alloc_bytes_per_iter", (after - before) / n)
        else:
            t = run_web(app, web, t, 11000, readers, True, drain)
            assert app.session.sessions_today == 2, app.session.sessions_today
            assert got[0] > 2 * 1100 * 150 + 100 * 150, got[0]  # every sample, and 10 s resent
            assert web.clients[1].want == web.ring.seq, "the page back after a gap caught up"
            print("ok heap-locked ticks with the page streaming", t // PERIOD_MS)
        web.close()
    elif mode == "ring":
        # The live page's ring (ball/web.py): its bytes, and one sample event resent from it
        # (bytes, and time to pack on this port).
        from ball.control import Control
        from ball.web import Ring

        ring = Ring()
        control = Control(app)
        t = run_locked(app, 0, 1500)  # into a session: a realistic sample
        for i in range(ring.size):
            ring.push(control, t + i * 100, [0] * 6)
        buf = bytearray(400)
        size = 0
        start = time.ticks_us()
        for i in range(1000):
            size += ring.pack(buf, 0, ring.oldest() + i % ring.size)
        us = time.ticks_diff(time.ticks_us(), start) / 1000
        print("ring_bytes", len(ring.a) * 4, "event_bytes", size / 1000, "pack_us", us)
    elif mode == "alloc":
        n = 7000
        gc.collect()
        gc.disable()
        before = gc.mem_alloc()
        t = 0
        while t < n * PERIOD_MS:
            app.tick(t)
            t += PERIOD_MS
        after = gc.mem_alloc()
        gc.enable()
        print("alloc_bytes_per_iter", (after - before) / n)
    elif mode == "cost":
        n = 20000
        t0 = time.ticks_us()
        t = 0
        while t < n * PERIOD_MS:
            app.tick(t)
            t += PERIOD_MS
        print("us_per_iter", time.ticks_diff(time.ticks_us(), t0) / n)
    return app


main(sys.argv[1] if len(sys.argv) > 1 else "lock")
