# Power-cut sweep of the session log and the config on real littlefs (os.VfsLfs2 in the
# MicroPython unix port), for tests/test_log_power.py.
#
# powerscene.py runs the firmware once on a block device that records every erase and write.
# The firmware is deterministic, so the flash after "power cut before operation N" is the
# starting image with the first N-1 operations applied. Each such image is booted as the
# ball would (mount, log.recover()) and checked against what was durable by then:
#   micropython powercut.py ordered    before and halfway through every operation
#   micropython powercut.py reorder    the operations since the last sync land in any order
#   micropython powercut.py recovery   a second cut anywhere inside recover() itself
# Run with MICROPYPATH=<firmware>:<tests/mp>. Exits 1 naming the cut and the fault on the
# first failure; otherwise prints one summary line starting "power-cut".
import os
import sys

from powerscene import (
    ABSENT,
    BLOCK_SIZE,
    CONFIG,
    ERASED,
    MOUNT,
    NEW_CFG,
    OLD_CFG,
    ROOT,
    Flash,
    apply,
    fail,
    run_reference,
)

from ball import config, log
from ball.dose import Dose
from ball.wire import STOP_REASONS, framing, logfile, records

ORDERS = 8  # reorder mode: landing orders tried per cut point


def allowed(ref, key, durable, reached):
    """States `key` may be found in when the first `durable` operations are surely on flash
    and those up to `reached` may be: the last one made durable by then, or one whose
    operations were under way when the power went (a commit cut halfway can already be
    whole: its CRC comes before the padding; with reordering, any of the pending ones)."""
    states = ["absent" if key == "config" else ABSENT]
    hist = ref.history.get(key, [])
    for _start, end, state in hist:
        if end <= durable:
            states = [state]
    for start, end, state in hist:
        if end > durable and start < reached:
            states.append(state)
    return states


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def snapshot():
    """Every file on the flash: path -> bytes."""
    files = {}
    for d in (MOUNT, ROOT):
        try:
            names = os.listdir(d)
        except OSError:
            continue  # no logs directory yet
        for name in names:
            path = d + "/" + name
            if not os.stat(path)[0] & 0x4000:  # not a directory
                files[path] = _read(path)
    return files


def _matches(state, data, archived):
    kind, values, expected = state
    if kind == "absent":
        return data is None and archived is None
    if kind == "interrupted":  # the flushed bytes, then the summary recovery rebuilt
        return archived is None and data == expected + _closing(expected, values)
    if data is None and archived is None:
        return False  # a finished session lost
    return data in (None, expected) and archived in (None, values)


def _closing(data, values):
    """The 'S' that ends the cut session in data (v2): its values, the session id, and the
    number after its last record's."""
    n = sum(1 for _off, rtype, _p in framing.frames(data) if rtype is not None)
    sid = int(records.unpack_header(next(framing.frames(data))[2])["id"])
    ids = bytearray(records.IDS_SIZE)
    records.ids_pack_into(ids, 0, sid, n)
    return framing.record(framing.SUMMARY, records.summary_payload(values) + bytes(ids))


def _describe(state):
    kind, values, _data = state
    if kind == "absent":
        return "absent"
    return "{} {} ms ({})".format(kind, values[0], STOP_REASONS[values[17]])


def _describe_found(data, archived):
    out = []
    if data is not None:
        s = logfile.parse(data, keep_trace=False)[0][0]
        out.append("file: {} ms ({})".format(s["duration_ms"], s["stop_reason"]))
    if archived is not None:
        out.append("archived: {} ms".format(archived[0]))
    return ", ".join(out) or "absent"


def check_sessions(ref, files, recovered, durable, reached, first):
    found, archived, repaired = {}, {}, []
    for path, data in files.items():
        if not path.startswith(ROOT + "/"):
            continue  # the config, and config.json.tmp which the next save overwrites
        name = path[len(ROOT) + 1 :]
        if name == log.SUMMARIES:
            sessions, damage = logfile.parse(data, keep_trace=False)
            if damage:
                return "summaries.kbl damaged: {}".format(damage)
            for s in sessions:
                archived[s["id"]] = s["summary_values"]
        elif name.endswith(log.SUFFIX) and name[:-4].isdigit():
            try:
                sessions, damage = logfile.parse(data, keep_trace=False)
            except logfile.NotALog:
                return "{} is not a log after recovery ({} bytes)".format(name, len(data))
            if damage or len(sessions) != 1 or not sessions[0]["complete"]:
                return "{} not repaired: damage {}, {} sessions".format(
                    name, damage, len(sessions)
                )
            found[int(name[:-4])] = data
            if sessions[0]["recovered"]:
                repaired.append(int(name[:-4]))
        elif name != log.NEXT_ID:
            return "unexpected file after recovery: " + name
    for sid in list(found) + list(archived):
        if sid not in ref.history:
            return "session {} found, but the firmware never wrote it".format(sid)
    for sid in ref.session_ids():
        states = allowed(ref, sid, durable, reached)
        data, arch = found.get(sid), archived.get(sid)
        if not any(_matches(st, data, arch) for st in states):
            return "session {}: found {}; expected {}".format(
                sid, _describe_found(data, arch), " or ".join(_describe(st) for st in states)
            )
    # After a cut inside recovery, the first attempt may already have repaired some files.
    if not set(recovered) <= set(repaired) or (first and len(recovered) != len(repaired)):
        return "recover() returned {}, but the repaired files are {}".format(recovered, repaired)
    ids = list(found) + list(archived)
    slog = log.SessionLog(ROOT, NEW_CFG)
    if ids and slog.next_id <= max(ids):
        return "the next session would get id {}, already used".format(slog.next_id)
    problem = Dose().restore(slog.day_text)  # the same atomic write: old or new, never torn
    if problem:
        return problem
    return None


def check_config(ref, durable, reached):
    try:
        cfg = config.load(CONFIG)
    except OSError:
        got = "absent"
    except config.ConfigError as e:
        return "config unreadable (torn?): {}".format(e)
    else:
        got = "old" if cfg == OLD_CFG else "new" if cfg == NEW_CFG else "something else"
    states = allowed(ref, "config", durable, reached)
    if got not in states:
        return "config is {}; expected {}".format(got, " or ".join(states))
    return None


def check_image(ref, image, durable, reached, first=True):
    """Boot on `image` as the ball would (mount, recover) and check what is on it. `first`
    is False when a recovery was already cut short on it. Returns None, or the fault."""
    dev = Flash(image)
    try:
        os.mount(os.VfsLfs2(dev), MOUNT)
    except OSError as e:
        return "mount failed: {!r}".format(e)
    try:
        recovered = log.recover(ROOT)
        files = snapshot()
        again = log.recover(ROOT)
        if again:
            return "recover() repaired {}, then found them broken again".format(again)
        if snapshot() != files:
            return "a second recover() changed the files"
        os.umount(MOUNT)
        try:
            os.mount(os.VfsLfs2(dev), MOUNT)
        except OSError as e:
            return "second mount, after recovery, failed: {!r}".format(e)
        if snapshot() != files:
            return "the files changed across a remount"
        return check_config(ref, durable, reached) or check_sessions(
            ref, files, recovered, durable, reached, first
        )
    except Exception as e:  # whatever recovery or reading raises is a finding
        return "{}: {}".format(type(e).__name__, e)
    finally:
        try:
            os.umount(MOUNT)
        except OSError:
            pass  # the second mount failed


def describe_op(ops, i):
    if i >= len(ops):
        return "the end of the run"
    pos, data = ops[i]
    what = "erase" if data is ERASED else "write {} bytes to".format(len(data))
    return "operation {} of {} ({} block {} offset {})".format(
        i + 1, len(ops), what, pos // BLOCK_SIZE, pos % BLOCK_SIZE
    )


# ---- the sweeps ---------------------------------------------------------------------------


def sweep_ordered(ref):
    """Cut before each operation, and halfway through it (a torn write or erase)."""
    ops = ref.ops
    image = bytearray(ref.initial)
    for n in range(len(ops) + 1):  # n operations done; n == len(ops) is the uncut run
        if n:
            apply(image, ops[n - 1])
        fault = check_image(ref, bytearray(image), n, n)
        if fault:
            fail("cut before " + describe_op(ops, n), fault)
        if n < len(ops):
            pos, data = ops[n]
            torn = bytearray(image)
            apply(torn, (pos, data[: len(data) // 2]))
            fault = check_image(ref, torn, n, n + 1)
            if fault:
                fail("cut halfway through " + describe_op(ops, n), fault)
    print(
        "power-cut sweep: {} cut points (before and halfway through each of {} flash "
        "operations), 0 failures".format(2 * len(ops), len(ops))
    )


class XorShift:
    """A tiny deterministic generator: the same orders on every port and every run."""

    def __init__(self, seed):
        self.x = (seed * 2654435761 + 12345) & 0xFFFFFFFF or 1

    def below(self, n):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x % n


def landed(window, order, n):
    """Which operations of `window` reached the flash, in what order: order 0 all of them
    backwards; the others a pseudo-random subset in a pseudo-random order."""
    if order == 0:
        return window[::-1]
    rng = XorShift(order * 100003 + n)
    picked = [i for i in window if rng.below(2)]
    for i in range(len(picked) - 1, 0, -1):  # Fisher-Yates
        j = rng.below(i + 1)
        picked[i], picked[j] = picked[j], picked[i]
    return picked


def sweep_reordered(ref):
    """A device with a write cache persists, at a cut, what came before the last completed
    sync, plus any of the operations since then in any order. littlefs syncs after a
    file's data and again after each metadata commit (the recording checks it asks)."""
    ops = ref.ops
    synced = bytearray(ref.initial)  # the image at the last sync point
    done = 0  # operations in `synced`
    images = 0
    for n in range(len(ops) + 1):
        for point in ref.syncs:
            if done < point <= n:
                while done < point:
                    apply(synced, ops[done])
                    done += 1
        window = list(range(done, n))
        for order in range(ORDERS if window else 1):
            image = bytearray(synced)
            picked = landed(window, order, n)
            for i in picked:
                apply(image, ops[i])
            images += 1
            fault = check_image(ref, image, done, n)
            if fault:
                where = "cut before {}, {} operations after the last sync; landed {}".format(
                    describe_op(ops, n), len(window), [i + 1 for i in picked]
                )
                fail(where, fault)
    print(
        "power-cut reorder sweep: {} cut points x {} orders ({} images), 0 failures".format(
            len(ops), ORDERS, images
        )
    )


def sweep_recovery(ref):
    """For each cut that leaves recover() work to do, cut again before each of recovery's
    own operations; the next boot's recovery must still reach a state allowed for the
    first cut."""
    ops = ref.ops
    image = bytearray(ref.initial)
    cuts = recoveries = 0
    for n in range(len(ops)):
        if n:
            apply(image, ops[n - 1])
        dev = Flash(bytearray(image), record=True)
        try:
            os.mount(os.VfsLfs2(dev), MOUNT)
            log.recover(ROOT)
            os.umount(MOUNT)
        except Exception as e:  # the ordered sweep says more; here just stop clearly
            fail("cut before " + describe_op(ops, n), "{}: {}".format(type(e).__name__, e))
        recoveries += 1 if dev.ops else 0
        cut = bytearray(image)
        for k in range(len(dev.ops)):
            if k:
                apply(cut, dev.ops[k - 1])
            cuts += 1
            fault = check_image(ref, bytearray(cut), n, n, first=False)
            if fault:
                where = "cut before {}, then before recovery's operation {} of {}".format(
                    describe_op(ops, n), k + 1, len(dev.ops)
                )
                fail(where, fault)
    print(
        "power-cut recovery sweep: {} cut points inside {} recoveries, 0 failures".format(
            cuts, recoveries
        )
    )


def main(mode):
    sweeps = {"ordered": sweep_ordered, "reorder": sweep_reordered, "recovery": sweep_recovery}
    if mode not in sweeps:
        fail("usage", "micropython powercut.py " + "|".join(sweeps))
    ref = run_reference()
    print(
        "scenario: sessions {}, 2 config saves, {} flash operations, {} syncs".format(
            ref.session_ids(), len(ref.ops), len(ref.syncs)
        )
    )
    sweeps[mode](ref)


main(sys.argv[1] if len(sys.argv) > 1 else "ordered")
