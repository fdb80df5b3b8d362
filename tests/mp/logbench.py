# Log figures on real littlefs in the MicroPython unix port, for `make bench`:
#   capacity FILE      how many copies of a session file fit in 1 MB of flash
#   summaries FILE     how many archived summaries fit in 1 MB of flash
#   pause TRACE CFG    the longest single flash step the writer adds to a loop iteration
# 1 MB = 256 blocks of 4096 bytes, the ESP32's flash sector size.
import sys
import time

from ramflash import mount

from ball import config, log, sim
from ball.wire import framing, logfile


def read(path):
    with open(path, "rb") as f:
        return f.read()


def capacity(path):
    data = read(path)
    mount(256)
    log.SessionLog("/flash/logs", config.DEFAULTS)
    n = 0
    try:
        while True:
            with open("/flash/logs/" + log.session_file(n + 1), "wb") as f:
                f.write(data)
            n += 1
    except OSError:
        pass
    print("sessions_per_mb", n)


def summaries(path):
    session = logfile.parse(read(path), keep_trace=False)[0][0]
    record = framing.record(framing.ARCHIVED, logfile.archived_payload(session))
    mount(256)
    n = 0
    try:
        with open("/flash/summaries.kbl", "ab") as f:
            while True:
                f.write(record)
                if n % 16 == 0:
                    f.flush()  # as rotation does, a few summaries at a time
                n += 1
    except OSError:
        pass
    print("summaries_per_mb", n, "record_bytes", len(record))


def pause(trace, cfg_path):
    bdev = mount(256)
    steps = []
    service = log.SessionLog.service

    def timed(self, idle=True, now_ms=None, calm=True):
        e, w = bdev.erases, bdev.writes
        t0 = time.ticks_us()
        service(self, idle, now_ms, calm)
        if bdev.erases != e or bdev.writes != w:
            steps.append((time.ticks_diff(time.ticks_us(), t0), bdev.erases - e, bdev.writes - w))

    log.SessionLog.service = timed
    sim.run(trace, config.load(cfg_path), lambda line: None, "/flash/logs")
    worst = max(steps)
    print(
        "steps",
        len(steps),
        "max_us",
        worst[0],
        "max_erases",
        max(s[1] for s in steps),
        "max_writes",
        max(s[2] for s in steps),
    )


{"capacity": capacity, "summaries": summaries, "pause": pause}[sys.argv[1]](*sys.argv[2:])
