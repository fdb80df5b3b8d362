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

import contextlib
import gzip
import hashlib
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
from knotball.transport.repl import Repl

MANIFEST = "/.knotball-manifest.json"
BOARDS_DIR = FIRMWARE_ROOT.parent / "hardware" / "boards"
# Where MicroPython's image goes, per chip (Espressif's bootloader offsets).
FLASH_OFFSETS = {"esp32": "0x1000", "esp32c3": "0x0", "esp32s3": "0x0"}
KEPT = ("/board.json", "/config.json")  # kept from the ball when not given this time


def add_arguments(p):
    ports.add_argument(p)
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
    board runs them by name), the live page gzipped, the board profile and the config when
    given."""
    files = {}
    mpy = compiled_firmware()
    for f in sorted((mpy / "ball").rglob("*.mpy")):
        files["/" + f.relative_to(mpy).as_posix()] = f.read_bytes()
    for name in ("boot.py", "main.py"):
        files["/" + name] = (FIRMWARE_ROOT / name).read_bytes()
    files["/page.html.gz"] = page_gz()
    if profile is not None:
        files["/board.json"] = _json_bytes(profile)
    if cfg is not None:
        files["/config.json"] = _json_bytes(cfg)
    return files


def page_gz():
    """The live page as the ball serves it: gzipped with no timestamp, so the same page gives
    the same bytes and flash skips it when unchanged."""
    return gzip.compress((FIRMWARE_ROOT / "page.html").read_bytes(), 9, mtime=0)


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
    on_ball = ball.files(folders=("ball",))
    manifest = _manifest(ball, on_ball)
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
        ball.write(MANIFEST, _manifest_bytes({p: final[p] for p in unchanged}))
        ball.mkdirs(changed)
        total = sum(len(files[p]) for p in changed)
        with _progress(total, quiet) as bar:
            task = bar.add_task("", total=total) if bar else None
            for path in changed:
                if bar:
                    bar.update(task, description=path)
                ball.write(path, files[path], (lambda n: bar.advance(task, n)) if bar else None)
        ball.remove(stale)
        ball.write(MANIFEST, _manifest_bytes(final))
    return changed, unchanged, sorted(stale)


def _manifest(ball, on_ball):
    """What the manifest on the ball says was deployed: path -> sha256 ({} when none)."""
    if MANIFEST not in on_ball:
        return {}
    try:
        files = json.loads(ball.read(MANIFEST)).get("files")
    except (ValueError, AttributeError):
        return {}
    return files if isinstance(files, dict) else {}


def _manifest_bytes(files):
    return json.dumps({"version": 1, "files": files}, sort_keys=True).encode()


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
    raise LinkError("flashed, but the app did not answer after the reset: {}".format(last))


def _failed(e):
    """The ball could not be reached or refused a step: one line, exit status 1."""
    print("knotball flash: {}".format(e), file=sys.stderr)
    return 1


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
        return _failed(e)
    if args.micropython:
        argv = esptool_argv(profile, path, args.micropython)
        print("flash: writing MicroPython with esptool …", file=sys.stderr, flush=True)
        if subprocess.run(argv).returncode != 0:
            print("knotball flash: esptool failed (see above)", file=sys.stderr)
            return 1
        time.sleep(2)  # the board boots MicroPython (first boot formats its filesystem)
    try:
        ball = Repl(path)
        try:
            changed, unchanged, removed = deploy(ball, files, profile is None, args.quiet)
        except BaseException:
            ball.close()
            raise
        ball.reset()
        hello = set_clock(path)
    except LinkError as e:
        return _failed(e)
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
