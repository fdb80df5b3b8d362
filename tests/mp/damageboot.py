# Boot recovery on damaged session logs on real littlefs (os.VfsLfs2, MicroPython unix port),
# for tests/test_log_power.py: each log file given is put on a fresh littlefs with one bit
# flipped, at every byte (bit `STEP * byte mod 8`, or every bit with "all"), and the ball's
# boot recovery runs on it. Recovery may append a summary to a cut session; it must never cut
# or delete a file that holds bytes it cannot read.
# Run: micropython damageboot.py [all] LOG.kbl... with MICROPYPATH=<firmware>:<tests/mp>.
# Prints one line: "damage-boot sweep: N flips, C cut, D deleted, A appended".
import os
import sys

from ramflash import mount

from ball import log

ROOT = "/flash/logs"
STEP = 3  # which bit of each byte is flipped: 3 * byte mod 8 visits every bit position


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def main(args):
    every = args and args[0] == "all"
    files = args[1:] if every else args
    mount(64, 512)
    os.mkdir(ROOT)
    path = ROOT + "/" + log.session_file(1)
    flips = cut = deleted = appended = 0
    for name in files:
        data = _read(name)
        for i in range(len(data)):
            for bit in range(8) if every else (STEP * i % 8,):
                bad = bytearray(data)
                bad[i] ^= 1 << bit
                with open(path, "wb") as f:
                    f.write(bad)
                log.recover(ROOT)
                flips += 1
                try:
                    after = _read(path)
                except OSError:
                    deleted += 1
                    print("deleted: {} byte {} bit {}".format(name, i, bit))
                    continue
                if after[: len(bad)] != bad:
                    cut += 1
                    print("cut: {} byte {} bit {}".format(name, i, bit))
                elif len(after) > len(bad):
                    appended += 1
                os.remove(path)
    print(
        "damage-boot sweep: {} flips, {} cut, {} deleted, {} appended".format(
            flips, cut, deleted, appended
        )
    )


main(sys.argv[1:])
