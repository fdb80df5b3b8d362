"""`knotball flash`: deploy the firmware, board profile, config and clock (DESIGN.md
contract 4), uploading only what changed.

Over one raw-REPL connection (mpremote's SerialTransport) it reads the ball's manifest
(/.knotball-manifest.json: path -> sha256 of the bytes deployed there) and the sizes of the
files on it, uploads the files whose content differs (each written to PATH.tmp, then renamed:
a cut never leaves a half file under the real name), removes stale firmware files, writes the
manifest last, and hard-resets the ball. The app that boots gets the host's clock (`KB clock`).

Everything the user gives is checked before the ball is touched: config (exit 2), board
profile (exit 2). `--micropython FIRMWARE.bin` first writes MicroPython itself with esptool.
"""

import base64
import contextlib
import hashlib
import io
import json
import subprocess
import sys
import time
from pathlib import Path

from ball import profile as board_profile
from knotball import configfile
from knotball.runtime import FIRMWARE_ROOT, UsageError, compiled_firmware
from knotball.transport import ports
from knotball.transport.link import LinkError

MANIFEST = "/.knotball-manifest.json"
BOARDS_DIR = FIRMWARE_ROOT.parent / "hardware" / "boards"
CHUNK = 2048  # raw bytes per write command (base64 on the wire)
# Where MicroPython's image goes, per chip (Espressif's bootloader offsets).
FLASH_OFFSETS = {"esp32": "0x1000", "esp32c3": "0x0", "esp32s3": "0x0"}
KEPT = ("/board.json", "/config.json")  # kept from the ball when not given this time


class FlashError(Exception):
    """The ball could not be reached or refused a step: one line, exit status 1."""


def add_arguments(p):
    p.add_argument("--port", help="the ball's serial port (default: the one ball connected)")
    p.add_argument(
        "--board",
        help="board profile name (hardware/boards/NAME.json); default: the one on the ball",
    )
    p.add_argument("--config", help="firmware config (JSON) to deploy; default: keep the ball's")
    p.add_argument(
        "--micropython",
        metavar="FIRMWARE.bin",
        help="first write MicroPython itself onto a blank ESP32 (with esptool)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


# ---- checks on the host, before the ball is touched ----


def board_names():
    return sorted(p.stem for p in BOARDS_DIR.glob("*.json"))


def load_board(name):
    path = BOARDS_DIR / (name + ".json")
    if not path.is_file():
        raise UsageError(
            "unknown board {!r}: use one of {}".format(name, ", ".join(board_names()) or "(none)")
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError("{}: not a readable JSON board profile ({})".format(path, e))
    try:
        return board_profile.validate(data)
    except board_profile.ProfileError as e:
        raise UsageError("{}: {}".format(path, e))


def _json_bytes(obj):
    return (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()


def wanted_files(profile=None, cfg=None):
    """path on the ball -> bytes: the compiled firmware, boot.py/main.py as source (the
    board runs them by name), the board profile and the config when given."""
    files = {}
    mpy = compiled_firmware()
    for f in sorted((mpy / "ball").rglob("*.mpy")):
        files["/" + f.relative_to(mpy).as_posix()] = f.read_bytes()
    for name in ("boot.py", "main.py"):
        files["/" + name] = (FIRMWARE_ROOT / name).read_bytes()
    if profile is not None:
        files["/board.json"] = _json_bytes(profile)
    if cfg is not None:
        files["/config.json"] = _json_bytes(cfg)
    return files


def sha(data):
    return hashlib.sha256(data).hexdigest()


def esptool_argv(profile, port, image):
    """The esptool command that writes MicroPython onto the board's chip."""
    chip = profile["chip"]
    if chip not in FLASH_OFFSETS:
        raise UsageError(
            "board {!r} ({} chip) has no MicroPython image to write: --micropython is for "
            "ESP32 boards (the virtual ball already runs MicroPython)".format(
                profile.get("name", "?"), chip
            )
        )
    return [sys.executable, "-m", "esptool", "--chip", chip, "--port", port] + [
        "write_flash",
        FLASH_OFFSETS[chip],
        str(image),
    ]


# ---- the ball side ----

_STATE = (
    r"""
import os, json
def _kb_walk(d, out, deep):
    try:
        it = list(os.ilistdir(d))
    except OSError:
        return
    for e in it:
        p = (d if d != '/' else '') + '/' + e[0]
        if e[1] == 0x4000:
            if deep or e[0] == 'ball':
                _kb_walk(p, out, True)
        else:
            out[p] = e[3] if len(e) > 3 and e[3] >= 0 else os.stat(p)[6]
_kb_files = {}
_kb_walk('/', _kb_files, False)
try:
    with open('%s') as f:
        _kb_m = json.load(f)
except Exception:
    _kb_m = None
print(json.dumps({'files': _kb_files, 'manifest': _kb_m}))
"""
    % MANIFEST
)


class Ball:
    """A raw-REPL connection to the ball through mpremote's transport."""

    def __init__(self, path):
        import serial

        try:  # find out why it cannot be opened, in words (mpremote only says "failed")
            serial.Serial(path, 115200, exclusive=True).close()
        except serial.SerialException as e:
            if "lock" in str(e) or "busy" in str(e).lower():
                raise FlashError(
                    "{} is busy: another program has it open (a `knotball live`, a serial "
                    "monitor?); close it and try again".format(path)
                )
            raise FlashError("cannot open {}: {}".format(path, e))
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport

        self.path = path
        try:
            self.tr = SerialTransport(path, 115200, exclusive=True)
        except TransportError as e:
            raise FlashError("cannot open {}: {}".format(path, e))
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # mpremote prints its bytes
                self.tr.enter_raw_repl(soft_reset=False, timeout_overall=5)
        except (TransportError, OSError) as e:
            self.close()
            raise FlashError(
                "no MicroPython REPL answered on {} ({}): is it an ESP32 running MicroPython? "
                "A blank board needs --micropython FIRMWARE.bin".format(path, e)
            )

    def exec(self, code, timeout=20):
        from mpremote.transport import TransportError

        try:
            out, err = self.tr.exec_raw(code, timeout=timeout)
        except (TransportError, OSError) as e:
            raise FlashError("the link to {} failed: {}".format(self.path, e))
        if err:
            raise FlashError(
                "the ball refused a step: {}".format(err.decode(errors="replace").strip())
            )
        return out.decode(errors="replace")

    def state(self):
        """(files on the ball: path -> size, manifest: path -> sha256 or {})"""
        out = self.exec(_STATE)
        try:
            got = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise FlashError("unexpected answer from the ball: {!r}".format(out[:200]))
        m = got.get("manifest")
        files = m.get("files") if isinstance(m, dict) else None
        return got["files"], files if isinstance(files, dict) else {}

    def read(self, path):
        out = self.exec("with open({!r},'rb') as f:\n print(f.read().hex())".format(path))
        return bytes.fromhex(out.strip())

    def mkdirs(self, paths):
        dirs = sorted({str(Path(p).parent) for p in paths} - {"/"}, key=len)
        if dirs:
            code = "import os\nfor d in {!r}:\n try:\n  os.mkdir(d)\n except OSError:\n  pass"
            self.exec(code.format(dirs))

    def write(self, path, data, progress=None):
        """PATH.tmp first, then renamed over PATH."""
        tmp = path + ".tmp"
        self.exec(
            "from binascii import a2b_base64 as _kb_d\n_kb_f=open({!r},'wb')\n"
            "_kb_w=_kb_f.write".format(tmp)
        )
        for i in range(0, len(data), CHUNK):
            chunk = data[i : i + CHUNK]
            self.exec("_kb_w(_kb_d({!r}))".format(base64.b64encode(chunk).decode()))
            if progress:
                progress(len(chunk))
        self.exec(
            "_kb_f.close()\nimport os\ntry:\n os.rename({0!r},{1!r})\nexcept OSError:\n"
            " os.remove({1!r})\n os.rename({0!r},{1!r})".format(tmp, path)
        )

    def remove(self, paths):
        if paths:
            code = "import os\nfor p in {!r}:\n try:\n  os.remove(p)\n except OSError:\n  pass"
            self.exec(code.format(sorted(paths)))

    def reset(self):
        """Hard reset into main.py; the link may drop under us (native USB): that is fine."""
        try:
            self.tr.exec_raw_no_follow("import machine\nmachine.reset()")
        except Exception:
            pass
        self.close()

    def close(self):
        try:
            self.tr.close()
        except Exception:
            pass


def _progress(total, quiet):
    if quiet or total == 0:
        return contextlib.nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    return Progress(
        TextColumn("flash: {task.description}"),
        BarColumn(),
        DownloadColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def deploy(ball, files, keep_board, quiet=False):
    """Upload what differs; returns (changed paths, unchanged paths, removed paths)."""
    on_ball, manifest = ball.state()
    if keep_board:
        if "/board.json" not in on_ball:
            raise UsageError(
                "the ball has no board profile yet: give --board NAME (one of {})".format(
                    ", ".join(board_names())
                )
            )
        try:
            board_profile.validate(json.loads(ball.read("/board.json")))
        except (ValueError, board_profile.ProfileError) as e:
            raise UsageError(
                "the ball's /board.json is not usable ({}): give --board NAME (one of {})".format(
                    e, ", ".join(board_names())
                )
            )
    final = {}
    for path in KEPT:  # not given this time: whatever the manifest said stays true
        if path not in files and path in manifest and path in on_ball:
            final[path] = manifest[path]
    changed, unchanged = [], [p for p in final]
    for path, data in files.items():
        digest = sha(data)
        final[path] = digest
        if manifest.get(path) == digest and on_ball.get(path) == len(data):
            unchanged.append(path)
        else:
            changed.append(path)
    # Ours and gone: firmware files from an older version, stray .py shadowing an .mpy.
    stale = {p for p in manifest if p not in final and p in on_ball}
    stale |= {p for p in on_ball if p.startswith("/ball/") and p not in final}
    if changed or stale:
        # First drop the claims about the files about to change: a flash cut half-way
        # leaves a manifest that only vouches for files that really are as it says.
        ball.exec(_write_manifest_code({p: final[p] for p in unchanged}))
        ball.mkdirs(changed)
        total = sum(len(files[p]) for p in changed)
        with _progress(total, quiet) as bar:
            task = bar.add_task("", total=total) if bar else None
            for path in changed:
                if bar:
                    bar.update(task, description=path)
                ball.write(path, files[path], (lambda n: bar.advance(task, n)) if bar else None)
        ball.remove(stale)
        ball.exec(_write_manifest_code(final))
    return changed, unchanged, sorted(stale)


def _write_manifest_code(files):
    data = json.dumps({"version": 1, "files": files}, sort_keys=True)
    tmp = MANIFEST + ".tmp"
    return (
        "import os\nwith open({0!r},'w') as f:\n f.write({2!r})\ntry:\n os.rename({0!r},{1!r})\n"
        "except OSError:\n os.remove({1!r})\n os.rename({0!r},{1!r})".format(tmp, MANIFEST, data)
    )


def set_clock(path, timeout=15.0):
    """After the reset: wait for the app's console, then give it the host's clock.
    Returns the app's hello reply."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            link = ports.open_link(path, timeout=1.0)
        except LinkError as e:  # native USB: the port comes back after the reset
            last = e
            time.sleep(0.3)
            continue
        try:
            hello = link.hello()
            link.clock()
            return hello
        except (LinkError, OSError) as e:
            last = e
        finally:
            try:
                link.close()
            except OSError:
                pass
    raise FlashError("flashed, but the app did not answer after the reset: {}".format(last))


def run(args):
    t0 = time.monotonic()
    cfg = configfile.load(args.config) if args.config else None
    profile = load_board(args.board) if args.board else None
    if args.micropython:
        if profile is None:
            raise UsageError(
                "--micropython needs --board NAME (one of {})".format(", ".join(board_names()))
            )
        if not Path(args.micropython).is_file():
            raise UsageError("{}: no such firmware image".format(args.micropython))
    files = wanted_files(profile, cfg)
    try:
        path = ports.choose(args.port)
    except LinkError as e:
        print("knotball flash: {}".format(e), file=sys.stderr)
        return 1
    if args.micropython:
        argv = esptool_argv(profile, path, args.micropython)
        print("flash: writing MicroPython with esptool …", file=sys.stderr, flush=True)
        if subprocess.run(argv).returncode != 0:
            print("knotball flash: esptool failed (see above)", file=sys.stderr)
            return 1
        time.sleep(2)  # the board boots MicroPython (first boot formats its filesystem)
    try:
        ball = Ball(path)
        try:
            changed, unchanged, removed = deploy(ball, files, profile is None, args.quiet)
        except BaseException:
            ball.close()
            raise
        ball.reset()
        hello = set_clock(path)
    except FlashError as e:
        print("knotball flash: {}".format(e), file=sys.stderr)
        return 1
    print(
        "flash: {} changed, {} unchanged, {} removed; the app is running (firmware {}), "
        "clock set ({:.1f} s)".format(
            len(changed),
            len(unchanged),
            len(removed),
            hello.get("firmware", "?"),
            time.monotonic() - t0,
        )
    )
    return 0
