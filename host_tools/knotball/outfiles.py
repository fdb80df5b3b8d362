"""Output files the commands write (report --png/--csv/--pdf, export --csv): whole or not at
all. Each goes to a temporary file beside its target and is renamed over it only once every
output has been written; "-" is standard output, written last."""

import os
import sys
import tempfile
from pathlib import Path

from knotball.runtime import UsageError

STDOUT = "-"


def write_whole(outputs):
    """Write each (option, path, bytes): all into temporary files beside their targets
    first, then renamed over them, so no output is ever left half-written; a path of "-"
    is standard output, written after the files."""
    staged = []
    umask = os.umask(0)
    os.umask(umask)
    try:
        for option, path, data in outputs:
            if path == STDOUT:
                continue
            target = Path(path)
            if target.is_dir():
                raise UsageError("{} {}: is a directory; give a file name".format(option, path))
            try:
                fd, tmp = tempfile.mkstemp(
                    prefix="." + target.name + ".", suffix=".tmp", dir=target.parent
                )
                staged.append((tmp, target))
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(tmp, 0o666 & ~umask)
            except OSError as e:
                raise UsageError(
                    "{} {}: cannot write it ({}); nothing was written".format(
                        option, path, e.strerror or e
                    )
                )
        for tmp, target in staged:
            os.replace(tmp, target)
        staged = []
    finally:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    for _, path, data in outputs:
        if path == STDOUT:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
