# Power cuts against a threshold measured on the ball (ball/measure.py write()) on real
# littlefs (os.VfsLfs2, MicroPython unix port), for tests/test_log_power.py. One recorded
# write of a second threshold file beside a first; the flash after a power cut before
# operation N, and halfway through it, is mounted as the ball boots, and every threshold
# file on it must be whole (threshold.unpack reads it): the first always, the second
# either absent or whole, never half. Exits 1 naming the cut and the fault.
import os

from powerscene import ERASED, MOUNT, ROOT, Flash, apply, fail

from ball.measure import files, write
from ball.wire import threshold

BLOCK_COUNT = 58  # powerscene's device
FIRST = threshold.pack(1700000000, 7, 60, 40.0, 20.0, [(40.0, 5000), (36.0, 4800)], "calves")
SECOND = threshold.pack(0, 9, 61, 31.5, 4.5, [(31.0, 5100), (32.0, 4900)], "glutes_left")


def reference():
    """(the image with the first file, the operations that write the second)."""
    flash = Flash(bytearray(ERASED * BLOCK_COUNT))
    os.VfsLfs2.mkfs(flash)
    os.mount(os.VfsLfs2(flash), MOUNT)
    os.mkdir(ROOT)
    write(ROOT, FIRST)
    os.umount(MOUNT)
    initial = bytes(flash.image)
    flash.ops = []
    os.mount(os.VfsLfs2(flash), MOUNT)
    name = write(ROOT, SECOND)
    os.umount(MOUNT)
    if name != "t0000002.kbt":
        fail("reference run", "the second file is named {}".format(name))
    return initial, flash.ops


def boot(image):
    """Mount as the ball boots: {name: area} of the threshold files, or what went wrong."""
    try:
        os.mount(os.VfsLfs2(Flash(image)), MOUNT)
    except Exception as e:
        return "mount: {}".format(e)
    try:
        out = {}
        for name in files(ROOT):
            with open(ROOT + "/" + name, "rb") as f:
                out[name] = threshold.unpack(f.read())["area"]
        return out
    except Exception as e:  # a half file that unpack refuses is the finding
        return "{}: {}".format(type(e).__name__, e)
    finally:
        os.umount(MOUNT)


def check(got):
    if isinstance(got, str):
        return got
    if got not in (
        {"t0000001.kbt": "calves"},
        {"t0000001.kbt": "calves", "t0000002.kbt": "glutes_left"},
    ):
        return "the files found: {}".format(got)
    return None


def main():
    initial, ops = reference()
    image = bytearray(initial)
    found = set()
    for n in range(len(ops) + 1):
        if n:
            apply(image, ops[n - 1])
        got = boot(bytearray(image))
        fault = check(got)
        if fault:
            fail("cut before operation {} of {}".format(n + 1, len(ops)), fault)
        found.add(len(got))
        if n < len(ops):
            pos, data = ops[n]
            torn = bytearray(image)
            apply(torn, (pos, data[: len(data) // 2]))
            fault = check(boot(torn))
            if fault:
                fail("cut halfway through operation {}".format(n + 1), fault)
    if found != {1, 2}:
        fail("sweep", "the cuts found only {} files".format(sorted(found)))
    print("threshold power-cut sweep: {} cut points, 0 failures".format(2 * len(ops) + 1))


main()
