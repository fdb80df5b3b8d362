"""MicroPython's raw REPL on the ball, through mpremote's serial transport: what `knotball
flash` deploys files with, before the knotball app runs (a blank MicroPython board, or the
app stopped with Ctrl-C).

One primitive, exec(code): every file operation below is a few lines of Python run on the
ball. Files are written to PATH.tmp, then renamed, so a cut never leaves a half file under
the real name. Failures are LinkError, one line each, like the console's.
"""

import base64
import contextlib
import io
import json
from pathlib import Path

from knotball.transport.link import LinkError
from knotball.transport.ports import open_serial

CHUNK = 2048  # raw bytes per write command (base64 on the wire)

_FILES = r"""
import os, json
def _kb_walk(d, out, deep):
    try:
        it = list(os.ilistdir(d))
    except OSError:
        return
    for e in it:
        p = (d if d != '/' else '') + '/' + e[0]
        if e[1] == 0x4000:
            if deep or e[0] in %r:
                _kb_walk(p, out, True)
        else:
            out[p] = e[3] if len(e) > 3 and e[3] >= 0 else os.stat(p)[6]
_kb_files = {}
_kb_walk('/', _kb_files, False)
print(json.dumps(_kb_files))
"""


class Repl:
    """A raw-REPL connection to the ball on the serial port `path`."""

    def __init__(self, path):
        # Opened once by us first: mpremote only says "failed", this says busy or why.
        open_serial(path).close()
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport

        self.path = path
        try:
            self.tr = SerialTransport(path, 115200, exclusive=True)
        except TransportError as e:
            raise LinkError("cannot open {}: {}".format(path, e))
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # mpremote prints its bytes
                self.tr.enter_raw_repl(soft_reset=False, timeout_overall=5)
        except (TransportError, OSError) as e:
            self.close()
            raise LinkError(
                "no MicroPython REPL answered on {} ({}): is it an ESP32 running MicroPython? "
                "A blank board needs --micropython FIRMWARE.bin".format(path, e)
            )

    def exec(self, code, timeout=20):
        """Run `code` on the ball; what it printed, or LinkError with its traceback's end."""
        from mpremote.transport import TransportError

        try:
            out, err = self.tr.exec_raw(code, timeout=timeout)
        except (TransportError, OSError) as e:
            raise LinkError("the link to {} failed: {}".format(self.path, e))
        if err:
            raise LinkError(
                "the ball refused a step: {}".format(err.decode(errors="replace").strip())
            )
        return out.decode(errors="replace")

    def files(self, folders=()):
        """{path: size} of the files at the root and, all the way down, in these top-level
        folders (the others, such as the session logs, are not walked)."""
        out = self.exec(_FILES % (tuple(folders),))
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise LinkError("unexpected answer from the ball: {!r}".format(out[:200]))

    def read(self, path):
        out = self.exec("with open({!r},'rb') as f:\n print(f.read().hex())".format(path))
        return bytes.fromhex(out.strip())

    def mkdirs(self, paths):
        """The folders the files `paths` go in."""
        dirs = sorted({str(Path(p).parent) for p in paths} - {"/"}, key=len)
        if dirs:
            code = "import os\nfor d in {!r}:\n try:\n  os.mkdir(d)\n except OSError:\n  pass"
            self.exec(code.format(dirs))

    def write(self, path, data, progress=None):
        """PATH.tmp first, then renamed over PATH; progress(n) after each chunk sent."""
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
