"""knotball import: add session log files (from `knotball sim --out` or copied from a ball)
to the host history. Each file is one all-or-nothing add; importing again adds nothing.
Threshold files (tNNNNNNN.kbt, as `pull --out` copies them) are stored as `pull` stores them,
once: a measurement already pulled or imported is not added again."""

import sys

from knotball import stops
from knotball.history import logs, store, thresholds
from knotball.runtime import UsageError

OK, FAILED, NOT_A_LOG, DAMAGED = 0, 1, 2, 3
_WORSE = (OK, FAILED, DAMAGED, NOT_A_LOG)  # which status wins when several apply


def add_arguments(p):
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="session log files (*.kbl), threshold files (*.kbt)",
    )
    p.add_argument(
        "--ball",
        metavar="NAME",
        default="sim",
        help="the ball the logs came from (default: sim, the simulated ball)",
    )


def _warn(message):
    print("knotball import: " + message, file=sys.stderr)


def _worst(a, b):
    return max(a, b, key=_WORSE.index)


def _describe(s):
    text = "{:.1f} s, {}".format(s["duration_ms"] / 1000, stops.stopped(s["stop_reason"]))
    if not s.get("complete", True):
        text += "; cut short: recovered up to its last checkpoint"
    if s.get("archived"):
        text += "; summary only, the ball had dropped its trace"
    return text


def _threshold(history, ball, path, counts):
    """Store one threshold file's measurement; its exit status. Raises store.StoreError."""
    m, damage, error, _ = thresholds.read_file(path)
    if error:
        _warn("{}: {}; nothing imported from it".format(path, error))
        return NOT_A_LOG
    if damage:
        _warn("{}: damage {}; nothing imported from it".format(path, logs.describe_damage(damage)))
        return DAMAGED
    at, how = thresholds.dated(m, fallback=thresholds.file_time(path))
    # Under the ball's own id when the history knows one for NAME, as `pull` stores it: a
    # pulled measurement imported again from its --out copy is the same measurement.
    _, added = thresholds.store(history, history.uid_of(ball) or ball, m, at, how)
    counts["thresholds"] += added
    print(
        "{}: {}, measured {}, {}".format(
            path,
            thresholds.describe(m),
            thresholds.when(at, how),
            "added" if added else "already in the history",
        )
    )
    return OK


def run(args):
    ball = args.ball.strip()
    if not ball or len(ball) > 64 or not ball.isprintable():
        raise UsageError("--ball {!r}: give a short printable name".format(args.ball))
    history = store.History()
    status = OK
    counts = {"added": 0, "replaced": 0, "duplicates": 0, "conflicts": 0}
    measured = {"files": 0, "thresholds": 0}
    for path in args.files:
        if thresholds.is_threshold_file(path):
            measured["files"] += 1
            try:
                status = _worst(status, _threshold(history, ball, path, measured))
            except store.StoreError as e:
                _warn("{}: {}".format(path, e))
                return _worst(status, FAILED)
            continue
        sessions, damage, error = logs.read(path)
        if error:
            _warn("{}: {}; nothing imported from it".format(path, error))
            status = _worst(status, NOT_A_LOG)
            continue
        try:
            result = history.add(ball, sessions, source=str(path))
        except store.StoreError as e:
            _warn("{}: {}".format(path, e))
            return _worst(status, FAILED)
        by_id = {s["id"]: s for s in sessions}
        for sid in result.added:
            print("{}: session {} added ({})".format(path, sid, _describe(by_id[sid])))
        for sid in result.replaced:
            print(
                "{}: session {} replaced the less complete copy in the history ({})".format(
                    path, sid, _describe(by_id[sid])
                )
            )
        for sid in result.duplicates:
            print("{}: session {} is already in the history".format(path, sid))
        for sid in result.conflicts:
            _warn(
                "{}: session {} left out: the history already holds a different session {} "
                "of {} (import with --ball OTHER_NAME to keep them apart)".format(
                    path, sid, sid, ball
                )
            )
            status = _worst(status, FAILED)
        for key in counts:
            counts[key] += len(getattr(result, key))
        if not sessions and not damage:
            print("{}: no sessions in it".format(path))
        if damage:
            _warn(
                "{}: damage {}; imported what was recovered".format(
                    path, logs.describe_damage(damage)
                )
            )
            status = _worst(status, DAMAGED)
    n = measured["thresholds"]
    print(
        "{}: {} added, {} replaced, {} already in the history{}{}. "
        "`knotball history` lists them.".format(
            ball,
            counts["added"],
            counts["replaced"],
            counts["duplicates"],
            ", {} left out".format(counts["conflicts"]) if counts["conflicts"] else "",
            "; {} threshold{} added".format(n, "" if n == 1 else "s") if measured["files"] else "",
        )
    )
    return status
