"""Running virtual balls, so the tools find one without `--port` as they find a ball on USB.

While `knotball virtual` runs it keeps a small file in the knotball home (beside the
history: `$KNOTBALL_HOME/running/` when set): `virtual-PID.json`, `{"pid", "port", "flash"}`,
removed when it stops. A file whose process is gone (a `kill -9`, a crash) or whose pty has
vanished is ignored and removed by the next reader.
"""

import json
import os

from knotball.history import store


def directory():
    return store.default_path().parent / "running"


def register(port, flash, pid=None):
    """Record a running virtual ball; returns the file to remove when it stops."""
    pid = os.getpid() if pid is None else pid
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "virtual-{}.json".format(pid)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"pid": pid, "port": port, "flash": str(flash)}) + "\n")
    tmp.replace(path)  # readers never see half an entry
    return path


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def ports():
    """The ports of the virtual balls running now; stale entries are removed."""
    folder = directory()
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("virtual-*.json")):
        try:
            entry = json.loads(path.read_text())
            pid, port = int(entry["pid"]), str(entry["port"])
        except (OSError, ValueError, KeyError, TypeError):
            pid, port = None, None  # unreadable: nobody can use it
        if pid is not None and _alive(pid) and os.path.exists(port):
            found.append(port)
        else:
            path.unlink(missing_ok=True)
    return found
