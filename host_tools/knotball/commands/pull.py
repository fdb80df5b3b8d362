"""knotball pull: copy the ball's finished session logs into the host history, verify each
copy, and only then delete it from the ball (DESIGN.md contract 4).

Order per file, so that a cut link, a reset or a full disk loses nothing: get (CRC-checked
per frame and whole), write the --out copy, add to the history (one verified transaction),
and only when every session in it is stored complete, `rm NAME CRC` — which the ball refuses
if the file changed since. Anything short of that leaves the file on the ball for next time.
A damaged log is named and the pull fails, but what it holds is stored (marked damaged) and
the file's own bytes are kept in the history (verified against the ball's CRC) before it is
removed: a damaged file never makes every later pull fail, and nothing of it is lost.

Threshold files (tNNNNNNN.kbt: a body area's threshold the ball measured by itself, from the
phone page) come in the same way and in the same order: got, kept in --out, stored in the
history as a "threshold" measurement (once: a file pulled again adds nothing), then removed.
A damaged one is named, its bytes kept in the history and it is removed; one of a newer
format stays on the ball until knotball is updated.
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from serial import SerialException

from ball.wire import logfile
from knotball import stops
from knotball.history import advice, guidance, store, thresholds
from knotball.history.logs import brief, damage_dicts, date_from_uptime, describe_damage
from knotball.runtime import UsageError
from knotball.transport import ports
from knotball.transport.link import BallError, LinkError, LinkLost, TooSlow

OK, FAILED, NOT_KNOTBALL = 0, 1, 2


def add_arguments(p):
    ports.add_argument(p)
    p.add_argument("--out", metavar="DIR", help="also keep a copy of each log file in DIR")
    p.add_argument("--keep", action="store_true", help="delete nothing from the ball")
    p.add_argument("--json", action="store_true", help="print one JSON object with the result")
    p.add_argument(
        "--ball",
        metavar="NAME",
        help="the name this ball goes by in the history (default: the name it already has, "
        "or ball- and the end of its id); giving it renames the ball",
    )


def _say(message):
    print("knotball pull: " + message, file=sys.stderr)


def _wanted(entry):
    """A session log the ball has finished with (not the file being written) or a threshold
    file; not other files."""
    name = entry["name"]
    return (name.endswith(".kbl") or thresholds.is_threshold_name(name)) and not entry["active"]


def _write_atomic(path, data):
    path.parent.mkdir(exist_ok=True)  # --out DIR's last level only: its parent was checked
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class Pull:
    def __init__(self, link, history, ball, args, hello):
        self.link, self.history, self.ball, self.args = link, history, ball, args
        # The ball's boot and uptime, and when they were read: to date sessions recorded
        # before its clock was set (history.logs.date_from_uptime).
        self.hello, self.hello_at = hello, time.time()
        self.sessions = []  # sessions new to the history (added or replacing a lesser copy)
        self.thresholds = []  # measurements new to the history (thresholds.brief + "file")
        self.threshold_files = 0
        self.deleted = 0
        # Measurements are kept under the ball's own id, as `knotball measure` keeps them.
        self.uid = hello.get("id") or ball
        self.status = OK

    def note(self, message):
        if not self.args.json:
            print(message)

    def one(self, entry):
        """Copy, store and (unless --keep) delete one file. LinkError/StoreError propagate:
        the caller stops there, with this file still on the ball."""
        name, crc = entry["name"], entry["crc32"]
        data = self.link.get(name, entry["size"], crc)
        self.copy_out(name, data)
        if thresholds.is_threshold_name(name):
            self.threshold(name, crc, data)
            return
        try:
            sessions, damage = logfile.read(data)
            date_from_uptime(sessions, self.hello, self.hello_at)
            added = self.history.add(
                self.ball, sessions, source="{}:{}".format(self.link.name, name)
            )
        except logfile.NotALog as e:
            _say("{}: {}; left on the ball".format(name, e))
            self.status = FAILED
            return
        by_id = {s["id"]: s for s in sessions}
        for sid in added.added + added.replaced:
            self.sessions.append(brief(by_id[sid]))
            self.note(
                "{}: session {} stored ({})".format(
                    name, sid, stops.stopped(by_id[sid]["stop_reason"])
                )
            )
        for sid in added.duplicates:
            self.note("{}: session {} is already in the history".format(name, sid))
        why = None
        if added.conflicts:
            why = (
                "the history already holds a different session {} of {}; pull with "
                "`--ball OTHER_NAME` to keep this ball apart".format(
                    ", ".join(map(str, added.conflicts)), self.ball
                )
            )
        elif added.incomplete:
            why = "session {} in it is cut short".format(", ".join(map(str, added.incomplete)))
        elif not sessions and not damage:
            why = "it holds no session"
        if why:
            _say("{}: kept on the ball: {}".format(name, why))
            self.status = FAILED
            return
        if damage:
            self.status = FAILED
            _say(
                "{}: damaged, {}; every intact record was stored{}".format(
                    name,
                    describe_damage(damage_dicts(damage)),
                    "" if self.args.keep else ", and the file's bytes kept in the history",
                )
            )
            if self.args.keep:
                return
            self.history.keep_file(self.ball, name, crc, data)
        elif self.args.keep:
            return
        self.remove(name, crc)

    def copy_out(self, name, data):
        if self.args.out:
            try:
                _write_atomic(Path(self.args.out) / name, data)
            except OSError as e:
                raise store.StoreError(
                    "--out {}: cannot write {} there ({})".format(
                        self.args.out, name, e.strerror or e
                    )
                )

    def remove(self, name, crc):
        try:
            self.link.rm(name, crc)
        except BallError as e:  # it changed since ls (e.g. summaries.kbl grew): next time
            _say("{}: kept on the ball: {}".format(name, e))
            return
        self.deleted += 1

    def threshold(self, name, crc, data):
        """Store one threshold file's measurement (verified copy in `data`), then remove it."""
        self.threshold_files += 1
        try:
            m = thresholds.read(data)
        except thresholds.Newer as e:
            _say("{}: {}; left on the ball: update knotball to pull it".format(name, e))
            self.status = FAILED
            return
        except ValueError as e:
            self.status = FAILED
            _say(
                "{}: damaged threshold file ({}){}".format(
                    name,
                    e,
                    "" if self.args.keep else "; its bytes are kept in the history",
                )
            )
            if self.args.keep:
                return
            self.history.keep_file(self.ball, name, crc, data)
            self.remove(name, crc)
            return
        at, how = thresholds.dated(m, self.hello, self.hello_at)
        _, added = thresholds.store(self.history, self.uid, m, at, how, self.hello)
        self.note(
            "{}: {}, measured {}, {}".format(
                name,
                thresholds.describe(m),
                thresholds.when(at, how),
                "stored" if added else "already in the history",
            )
        )
        if added:
            self.thresholds.append(dict(thresholds.brief(m, at, how), file=name))
        if not self.args.keep:
            self.remove(name, crc)


def _out_dir(out):
    """--out DIR as a Path: a directory, or a new one in an existing directory (made with
    the first copy). UsageError otherwise, before the ball is touched."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsageError("--out {}: is a file; give a directory for the copies".format(out))
    if not path.parent.is_dir():
        raise UsageError(
            "--out {}: {} does not exist; give an existing directory, or create it first "
            "(mkdir -p {})".format(out, path.parent, out)
        )
    return path


def run(args):
    if args.out:
        args.out = _out_dir(args.out)
    try:
        link = ports.connect(args.port)
    except LinkError as e:
        _say(str(e))
        return FAILED
    with link:
        try:
            hello = link.hello()
        except LinkLost as e:
            _say("{}; nothing pulled".format(e))
            return FAILED
        except LinkError as e:
            _say("{}; nothing pulled".format(e))
            return NOT_KNOTBALL
        name = args.ball.strip() if args.ball is not None else None
        if name is not None and (not name or len(name) > 64 or not name.isprintable()):
            _say("--ball {!r}: give a short printable name".format(args.ball))
            return NOT_KNOTBALL
        history = store.History()
        try:
            # Known by its own id, so two balls' sessions never collide; a ball without
            # one (old firmware) goes by the name given, or "ball".
            uid = hello.get("id")
            ball = history.ball_for(uid, name) if uid else name or "ball"
        except store.StoreError as e:
            _say("{}; nothing pulled".format(e))
            return FAILED
        job = Pull(link, history, ball, args, hello)
        try:
            link.clock()
            files = [f for f in link.ls() if _wanted(f)]
            _pull_all(job, files, args.json)
        except TooSlow as e:  # pulling again would stop the same way
            _say("{}; nothing unverified was deleted".format(e))
            return FAILED
        except (LinkError, SerialException) as e:
            _say(
                "the link to {} failed: {}; nothing unverified was deleted, run "
                "`knotball pull` again to resume".format(link.name, e)
            )
            return FAILED
        except (store.StoreError, OSError) as e:
            _say("{}; nothing more was deleted from the ball".format(e))
            return FAILED
    try:
        everyone = guidance.ordered(job.history.sessions())
        tip = advice.suggest([s for s in everyone if s["ball"] == ball], everyone=everyone)
    except store.StoreError:
        tip = None  # the pull itself said what went wrong with the history
    if args.json:
        out = {"pulled": len(job.sessions), "deleted": job.deleted, "sessions": job.sessions}
        out["thresholds"] = job.thresholds
        out["advice"] = tip
        print(json.dumps(out))
    else:
        n = len(job.thresholds)
        print(
            "{}: {} session{} pulled, {}{} file{} deleted from the ball{}.".format(
                ball,
                len(job.sessions),
                "" if len(job.sessions) == 1 else "s",
                "{} threshold{} stored, ".format(n, "" if n == 1 else "s")
                if job.threshold_files
                else "",
                job.deleted,
                "" if job.deleted == 1 else "s",
                " (--keep)" if args.keep else "",
            )
        )
        if tip is not None:
            print("Next: " + tip["text"])
    return job.status


def _pull_all(job, files, quiet):
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    # A bar only for a person watching: not for --json, a log file, or nothing to pull.
    hidden = quiet or not files or not sys.stderr.isatty()
    with Progress(*columns, console=Console(stderr=True), disable=hidden) as progress:
        task = progress.add_task("pulling", total=sum(f["size"] for f in files))
        for entry in files:
            progress.update(task, description=entry["name"])
            job.one(entry)
            progress.advance(task, entry["size"])
