# Flash full, on real littlefs in the MicroPython unix port: rotation drops the oldest
# traces (summaries stay), every session still stops on time, config saves still succeed;
# and on a flash filled by something else, logging fails loudly but the session still ends
# on time with the motor off. Run: micropython flashfull.py rotate|jammed
import os
import sys

from ramflash import mount

from ball import VirtualClock, config, log
from ball import session as s
from ball.app import App
from ball.wire import logfile


class PressBoard(VirtualClock):
    """Virtual clock; presses 25 N for `press_ms`, then releases for `rest_ms`, repeatedly."""

    def __init__(self, press_ms, rest_ms):
        self.t = 0
        self.press_ms = press_ms
        self.cycle = press_ms + rest_ms
        self.duty = 0

    def read_sensor(self):
        return 25000 if self.t % self.cycle < self.press_ms else 0

    def led(self, r, g, b):
        pass

    def motor(self, duty):
        self.duty = duty

    def off(self):
        self.duty = 0


def run_sessions(n, cfg, reserve, on_stop):
    board = PressBoard(press_ms=35000, rest_ms=5000)
    wlog = log.SessionLog("/flash/logs", cfg, "test", reserve=reserve)
    stops = []

    def listener(now, ev):
        if ev & s.EV_START:
            stops.append([now, None])
        if ev & s.EV_STOP:
            stops[-1][1] = now

    app = App(board, cfg, listener, wlog)

    def stop():
        done = len(stops) >= n and stops[-1][1] is not None and not wlog.pending()
        if stops and stops[-1][1] is not None and len(stops) > len(seen):
            seen.append(1)
            on_stop(app, wlog)
        return done

    seen = []
    app.run(stop)
    return stops, wlog, board


def rotate():
    mount(64, 512)  # 32 KiB of flash: a few dozen short sessions fill it
    cfg = config.validate({"session_limit_s": 30, "warn_before_s": 5})
    free_after = []

    def on_stop(app, wlog):
        app.session.new_day()  # more sessions than a day allows: each is a new day here
        while wlog.pending():  # let the stop's flash work, rotation included, finish
            wlog.service(True)
        config.save("/flash/config.json", {"session_limit_s": 30 + len(free_after) % 10})
        free_after.append(log.free_bytes("/flash/logs"))

    stops, wlog, board = run_sessions(60, cfg, 6 * 1024, on_stop)
    for start, stop in stops:
        assert stop - start == 30000, "a session did not stop on time: {}".format(stop - start)
    files = log.session_ids("/flash/logs")
    with open("/flash/logs/" + log.SUMMARIES, "rb") as f:
        archived, damage = logfile.parse(f.read(), keep_trace=False)
    assert damage is None
    ids = sorted([a["id"] for a in archived] + files)
    assert ids == list(range(1, 61)), "a session's summary was lost: {}".format(ids)
    assert len(archived) > 10, "rotation never ran"
    for a in archived:
        assert a["archived"] and a["duration_ms"] == 30000 and a["stop_reason"] == "time_limit"
    assert wlog.errors == 0, wlog.error
    assert config.load("/flash/config.json")["session_limit_s"] == 30 + 59 % 10
    assert board.duty == 0
    print(
        "rotate ok: 60 sessions, {} archived, {} with traces, lowest free {} bytes".format(
            len(archived), len(files), min(free_after)
        )
    )


def jammed():
    mount(64, 512)
    n = 0
    try:  # fill the flash with files that are not the log's
        while True:
            with open("/flash/junk{}".format(n), "wb") as f:
                f.write(bytearray(400))
            n += 1
    except OSError:
        pass
    assert os.statvfs("/flash")[3] == 0, "the flash did not fill up"
    cfg = config.validate({"session_limit_s": 20, "warn_before_s": 5})
    stops, wlog, board = run_sessions(2, cfg, 4096, lambda app, wlog: None)
    assert wlog.errors > 0 and wlog.error, "a full flash went unreported"
    for start, stop in stops:
        assert stop - start == 20000, "a session did not stop on time"
    assert board.duty == 0
    print("jammed ok: log error reported ({}), sessions stopped on time".format(wlog.error))


{"rotate": rotate, "jammed": jammed}[sys.argv[1]]()
