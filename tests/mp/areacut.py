# Power cuts against the day per area on real littlefs (os.VfsLfs2, MicroPython unix port),
# for tests/test_log_power.py. One recorded run: the area "calves" chosen over the console,
# a 100 s session on it that stops idle, then a second one, limited to what the area has
# left of its day (made 6 minutes here, so two sessions use it up), that is still running
# when the run ends. The flash after a power cut before operation N, and halfway through
# it, is booted as the ball boots (mount, recover, the day's count read back), and must
# never give the area back a session or seconds it used: the count never drops as N grows,
# the seconds are the first session's limit (while it runs) or its real length, and once
# the second session has started the area's day is used up, whatever the cut. Exits 1
# naming the cut and the fault.
import os

from powerscene import ERASED, MOUNT, ROOT, Flash, VirtualBoard, apply, fail

from ball import config, log
from ball.app import App
from ball.control import Control
from ball.dose import Dose
from ball.wire import logfile

BLOCK_COUNT = 58  # powerscene's device
CFG = config.validate({"session_limit_s": 300, "idle_stop_s": 5})
AREA = "calves"
AREA_DAY_S = 360  # the area's day in this scene: the counting is the same for any length


def force_at(t):
    if 1000 <= t < 101000 or t >= 110000:
        return 25
    return 0


def reference():
    """Run once on a recording device: (starting image, operations, the first session's
    seconds)."""
    flash = Flash(bytearray(ERASED * BLOCK_COUNT))
    os.VfsLfs2.mkfs(flash)
    initial = bytes(flash.image)
    flash.ops = []
    os.mount(os.VfsLfs2(flash), MOUNT)
    log.recover(ROOT)
    slog = log.SessionLog(ROOT, CFG, "areacut")
    dose = Dose()
    dose.area_day_s = AREA_DAY_S
    dose.restore(slog.day_text)
    board = VirtualBoard(force_at, CFG)
    app = App(board, CFG, None, slog, dose=dose)
    Control(app).set_area(AREA)
    app.run(lambda: board.t >= 130000)
    today = dose.today()
    used = dose.used[0]  # the first session's seconds, from its real length
    os.umount(MOUNT)
    if today != {AREA: [2, AREA_DAY_S]} or not 100 <= used <= 110:
        fail("reference run", "the day {} after a first session of {} s".format(today, used))
    return initial, flash.ops, used


def boot(image):
    """Mount and recover as the ball boots; (area, sessions, seconds, rest, file areas)."""
    os.mount(os.VfsLfs2(Flash(image)), MOUNT)
    try:
        log.recover(ROOT)
        slog = log.SessionLog(ROOT, CFG, "areacut")
        dose = Dose()
        dose.area_day_s = AREA_DAY_S
        problem = dose.restore(slog.day_text)
        if problem:
            return problem
        n, secs = dose.today().get(AREA, [0, 0])
        areas = []
        for name in os.listdir(ROOT):  # the session files and the archived summaries
            if name.endswith(log.SUFFIX):
                with open(ROOT + "/" + name, "rb") as f:
                    areas += [s["area"] for s in logfile.parse(f.read())[0]]
        return dose.area, n, secs, dose.left_ms == 0, areas
    except Exception as e:  # whatever the boot raises is a finding
        return "{}: {}".format(type(e).__name__, e)
    finally:
        os.umount(MOUNT)


def check(got, seen, first):
    """None, or what is wrong with the day a boot found (`seen`: the count before)."""
    if isinstance(got, str):
        return got
    area, n, secs, rest, areas = got
    if seen[0] and area != AREA:
        return "the area chosen is {!r} after it was {!r}".format(area, AREA)
    if n < seen[1]:
        return "the area's count went back from {} to {}".format(seen[1], n)
    if n == 1 and secs not in (CFG["session_limit_s"], first):
        return "the first session counts {} s, neither its limit nor its {} s".format(secs, first)
    if n == 2 and (secs != AREA_DAY_S or not rest):
        return "after the second start the area counts {} s, rest {}".format(secs, rest)
    if any(a != AREA for a in areas):
        return "a session file records the areas {}".format(areas)
    seen[0] = seen[0] or area == AREA
    seen[1] = n
    return None


def main():
    initial, ops, first = reference()
    image = bytearray(initial)
    seen = [False, 0]
    counts = set()
    for n in range(len(ops) + 1):
        if n:
            apply(image, ops[n - 1])
        got = boot(bytearray(image))
        fault = check(got, seen, first)
        if fault:
            fail("cut before operation {} of {}".format(n + 1, len(ops)), fault)
        counts.add(got[1])
        if n < len(ops):
            pos, data = ops[n]
            torn = bytearray(image)
            apply(torn, (pos, data[: len(data) // 2]))
            fault = check(boot(torn), list(seen), first)
            if fault:
                fail("cut halfway through operation {}".format(n + 1), fault)
    if counts != {0, 1, 2}:
        fail("sweep", "the cuts found the area's count only at {}".format(sorted(counts)))
    print("area power-cut sweep: {} cut points, 0 failures".format(2 * len(ops) + 1))


main()
