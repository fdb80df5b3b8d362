"""knotball inspect: read session log files as the ball stores them (contract 5), and threshold
files (tNNNNNNN.kbt: a threshold the ball measured by itself, as `pull --out` copies it)."""

import json
import sys
import time

from rich.console import Console
from rich.table import Table

from knotball import stops
from knotball.history import thresholds
from knotball.history.logs import brief, describe_damage, read

OK, NOT_A_LOG, DAMAGED = 0, 2, 3


def add_arguments(p):
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="session log files (*.kbl), threshold files (*.kbt)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per file")


def _started(s):
    if not s.get("start_unix"):
        return "clock not set"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(s["start_unix"]))


def _table(sessions):
    t = Table(box=None, header_style="bold", pad_edge=False)
    for col in (
        "id",
        "started",
        "duration",
        "stopped",
        "light",
        "medium",
        "firm",
        "over",
        "peak",
    ):
        t.add_column(col, justify="left" if col in ("started", "stopped") else "right")
    for s in sessions:
        bm = s["band_ms"]
        reason = stops.phrase(s["stop_reason"])
        if s.get("archived"):
            reason += " (trace dropped)"
        t.add_row(
            str(s["id"]),
            _started(s),
            "{:.1f} s".format(s["duration_ms"] / 1000),
            reason,
            *("{:.1f} s".format(bm[b] / 1000) for b in ("light", "medium", "firm", "over")),
            "{:.1f} N".format(s["peak_n"]),
        )
    return t


def _measured(m):
    if m["unix"]:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(m["unix"]))
    return "at an unknown time (the ball's clock was not set: {} s after boot {})".format(
        m["uptime_s"], m["boot"]
    )


def _threshold(path, args, console):
    """Print one threshold file; its exit status."""
    m, damage, error, _ = thresholds.read_file(path)
    if args.json:
        obj = {"file": path, "sessions": [], "threshold": m}
        obj.update(damage=damage[0] if damage else None, damages=damage)
        if error:
            obj["error"] = error
        print(json.dumps(obj))
    if error:
        print("knotball inspect: {}: {}".format(path, error), file=sys.stderr)
        return NOT_A_LOG
    if damage:
        print(
            "knotball inspect: {}: damage {}; no measurement could be read".format(
                path, describe_damage(damage)
            ),
            file=sys.stderr,
        )
        return DAMAGED
    if not args.json:
        console.print(
            "[bold]{}[/bold]: {}, presses {} N, measured {}".format(
                path,
                thresholds.describe(m),
                ", ".join("{:.1f}".format(p) for p in m["peaks_n"]),
                _measured(m),
            ),
            soft_wrap=True,
        )
    return OK


def run(args):
    worst = OK
    console = Console(highlight=False)
    for path in args.files:
        if thresholds.is_threshold_file(path):
            status = _threshold(path, args, console)
            worst = status if status == NOT_A_LOG or worst == OK else worst
            continue
        sessions, damage, error = read(path)
        if error:
            worst = NOT_A_LOG
            print("knotball inspect: {}: {}".format(path, error), file=sys.stderr)
            if args.json:
                obj = {"file": path, "sessions": [], "damage": None, "damages": [], "error": error}
                print(json.dumps(obj))
            continue
        if args.json:
            # "damage": the first (contract 5); "damages": every one, in file order.
            obj = {"file": path, "sessions": [brief(s) for s in sessions]}
            obj.update(damage=damage[0] if damage else None, damages=damage)
            print(json.dumps(obj))
        else:
            n = len(sessions)
            console.print("[bold]{}[/bold]: {} session{}".format(path, n, "" if n == 1 else "s"))
            if sessions:
                console.print(_table(sessions))
        if damage:
            if worst == OK:
                worst = DAMAGED
            print(
                "knotball inspect: {}: damage {}; every intact record was read".format(
                    path, describe_damage(damage)
                ),
                file=sys.stderr,
            )
    return worst
