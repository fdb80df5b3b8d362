# The reference run for the power-cut sweep (powercut.py): the firmware on real littlefs
# (os.VfsLfs2, MicroPython unix port) over a block device that records every erase and
# write, and a record of when each piece of data became durable, counted in operations.
# Two boots, three sessions (time limit, idle stop, aborted), checkpoints every 8 s, old
# traces dropped to free flash, a config save. Deterministic: same operations every run.
import builtins
import os
import sys

from ball import VirtualClock, config, log
from ball.app import App
from ball.dose import Dose
from ball.wire import STOP_REASONS, logfile, records

BLOCK_SIZE = 512
# Small blocks, and only a little more flash than the log keeps free, so the scenario also
# drops old traces (make_room) and that is swept too.
BLOCK_COUNT = log.RESERVE_BYTES // BLOCK_SIZE + 10
ERASED = b"\xff" * BLOCK_SIZE
MOUNT = "/flash"
ROOT = MOUNT + "/logs"
CONFIG = MOUNT + "/config.json"
OLD_CFG = config.validate({"session_limit_s": 60, "idle_stop_s": 5, "warn_before_s": 5})
NEW_CFG = config.validate({"session_limit_s": 50, "idle_stop_s": 4, "warn_before_s": 5})
# What a session may be found as after recovery: (kind, summary values, file bytes), kind
# "complete" (its own summary), "interrupted" (checkpoints, no summary) or "absent".
ABSENT = ("absent", None, b"")


def fail(where, what):
    print("FAIL {}: {}".format(where, what))
    sys.exit(1)


class Flash:
    """A block device for VfsLfs2 (the extended interface: byte offsets inside a block) over
    a bytearray. With record=True every erase and write is appended to `ops` as
    (position, bytes) and every sync request records how many operations preceded it."""

    def __init__(self, image, record=False):
        self.image = image
        self.ops = [] if record else None
        self.syncs = []

    def readblocks(self, block, buf, offset=0):
        p = block * BLOCK_SIZE + offset
        buf[:] = memoryview(self.image)[p : p + len(buf)]

    def writeblocks(self, block, buf, offset=0):
        self._apply(block * BLOCK_SIZE + offset, bytes(buf))

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return BLOCK_COUNT
        if op == 5:  # block size
            return BLOCK_SIZE
        if op == 6:  # erase
            self._apply(arg * BLOCK_SIZE, ERASED)
        elif op == 3 and self.ops is not None:  # sync: littlefs asks after data and commits
            self.syncs.append(len(self.ops))
        return 0

    def _apply(self, pos, data):
        if self.ops is not None:
            self.ops.append((pos, data))
        apply(self.image, (pos, data))


def apply(image, op):
    # A write replaces the bytes, as on a device with its own write cache (where writes can
    # be reordered). littlefs only programs erased areas, so on NOR flash this is the same.
    pos, data = op
    image[pos : pos + len(data)] = data


class Reference:
    """The recorded run: the formatted image it started from, its operations, its sync
    points (operation counts) and `history`: key (session id, or "config") ->
    [(start, end, state)] in time order, one per flush, close or config save that began
    after `start` operations and returned after `end`. A state is durable once `end`
    operations are on flash, and may already be while the cut falls between."""

    def __init__(self, flash):
        self.flash = flash
        self.initial = bytes(flash.image)
        self.ops = flash.ops
        self.syncs = flash.syncs
        self.history = {}

    def milestone(self, key, start, state):
        self.history.setdefault(key, []).append((start, len(self.flash.ops), state))

    def session_ids(self):
        return sorted(k for k in self.history if k != "config")


_ref = None  # the Reference being recorded


def session_state(data):
    """What recovery must make of a session file holding `data`."""
    if not data:
        return ABSENT
    s = logfile.parse(data, keep_trace=False)[0][0]
    if s["complete"]:
        return ("complete", s["summary_values"], data)
    if s["checkpoints"]:
        return ("interrupted", s["summary_values"], data)
    return ABSENT  # a header only: recovery removes the file


class TracedFile:
    """A session file opened by the log writer: passes everything through and notes, at
    each flush and close, what the file holds from then on."""

    def __init__(self, path, mode):
        self.f = builtins.open(path, mode)
        self.sid = int(path.split("/")[-1][:-4])
        self.data = bytearray()

    def write(self, buf, n=None):
        n = len(buf) if n is None else n
        self.data += bytes(buf[:n])
        return self.f.write(buf, n)

    def flush(self):
        self._durable(self.f.flush)

    def close(self):
        self._durable(self.f.close)

    def _durable(self, fn):
        start = len(_ref.flash.ops)
        fn()
        _ref.milestone(self.sid, start, session_state(bytes(self.data)))


def traced_open(path, mode="r"):
    name = path.split("/")[-1]
    if "w" in mode and name.endswith(log.SUFFIX) and name[:-4].isdigit():
        return TracedFile(path, mode)
    return builtins.open(path, mode)


def press(t):
    """Newtons at t ms into a press: rolling, a 7 s hold, 0.4 s too hard, rolling."""
    if t < 3000:
        return 15 + (t % 1000) // 50
    if t < 10000:
        return 27
    if t < 12000:
        return 20 + (t % 700) // 35
    if t < 12400:
        return 70
    return 15 + (t % 900) // 45


def boot1_force(t):
    return press(t - 1000) if 1000 <= t < 63000 else 0  # session 1 runs into its limit


def boot2_force(t):
    if 1000 <= t < 36000:
        return press(t - 1000)  # session 2, then a release: it stops idle
    if t >= 46000:
        return press(t - 46000)  # session 3, aborted when the loop stops
    return 0


class VirtualBoard(VirtualClock):
    """No hardware and no sleeping: sleep_ms advances the clock; the sensor reads force_at."""

    def __init__(self, force_at, cfg):
        self.t = 0
        self.force_at = force_at
        self.cpn = cfg["counts_per_n"]

    def read_sensor(self):
        noise = (self.t * 7919) % 13 - 6  # deterministic, +-0.6 N
        return self.force_at(self.t) * self.cpn + noise * self.cpn // 10

    def led(self, r, g, b):
        pass

    def motor(self, duty):
        pass

    def off(self):
        pass


def boot(cfg, force_at, until_ms):
    """One power-up as on the ball: recover, then the loop until until_ms (a power-off, or a
    Ctrl-C: the loop's shutdown closes a running session as aborted)."""
    log.recover(ROOT)
    slog = log.SessionLog(ROOT, cfg, "powercut")
    board = VirtualBoard(force_at, cfg)
    dose = Dose()  # the day's starts, saved with the next id
    if dose.restore(slog.day_text):
        fail("reference run", "the day's count did not survive the reboot")
    app = App(board, cfg, None, slog, dose=dose)
    app.run(lambda: board.t >= until_ms)
    if slog.errors:
        fail("reference run", "log error: {}".format(slog.error))


def save_config(cfg, name):
    start = len(_ref.flash.ops)
    config.save(CONFIG, cfg)
    _ref.milestone("config", start, name)


def run_reference():
    global _ref
    flash = Flash(bytearray(ERASED * BLOCK_COUNT))
    os.VfsLfs2.mkfs(flash)
    flash.ops = []  # record from here: the ball leaves the factory formatted
    _ref = Reference(flash)
    os.mount(os.VfsLfs2(flash), MOUNT)
    log.open = traced_open  # the writer's own open(): module globals come before builtins
    try:
        save_config(OLD_CFG, "old")
        boot(OLD_CFG, boot1_force, 68000)
        save_config(NEW_CFG, "new")  # over USB while the ball is idle; used from boot 2
        boot(NEW_CFG, boot2_force, 93000)
        names = os.listdir(ROOT)
    finally:
        del log.open
    os.umount(MOUNT)
    ref, _ref = _ref, None
    ref.syncs = sorted(set(ref.syncs))  # two syncs with nothing written between count once
    check_reference(ref, names)
    return ref


def check_reference(ref, names):
    """The scenario did what the sweep relies on; if the firmware changed, say so here."""
    sids = ref.session_ids()
    reasons = [STOP_REASONS[ref.history[sid][-1][2][1][17]] for sid in sids]
    if sids != [1, 2, 3] or reasons != ["time_limit", "idle", "aborted"]:
        fail("reference run", "sessions {} stopped by {}".format(sids, reasons))
    for sid in sids:
        final = ref.history[sid][-1][2]
        durations = []
        for _start, _end, st in ref.history[sid]:
            if st[0] == "interrupted" and st[1][0] not in durations:
                durations.append(st[1][0])
                if st[1][17] != logfile.STOP_INTERRUPTED or not st[1][18] & 1:
                    fail("reference run", "a checkpoint would not recover as interrupted")
        # Each checkpoint made durable before the next one (ball.wire.logfile: a MUST).
        every = list(range(records.CHECKPOINT_MS, final[1][0], records.CHECKPOINT_MS))
        if final[0] != "complete" or durations != every:
            fail(
                "reference run",
                "session {}: checkpoints flushed at {} ms, expected {}".format(
                    sid, durations, every
                ),
            )
    if log.SUMMARIES not in names:
        fail("reference run", "no trace was dropped to free flash: {}".format(names))
    if not ref.syncs or ref.syncs[-1] != len(ref.ops):
        fail("reference run", "littlefs did not ask for a sync after its last write")
