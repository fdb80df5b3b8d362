"""knotball report: one session from the history — its summary, and on request a plot of it
(--png) and its trace (--csv); or, with --pdf, the report for the physiotherapist over a
range of days (--from/--to). Output files are written whole or not at all."""

import sys

from rich.console import Console
from rich.text import Text

from ball.wire import BAND_NAMES
from knotball import timeline
from knotball.history import guidance, physio, store
from knotball.outfiles import write_whole
from knotball.runtime import UsageError

STRIP_CELLS_MS = (250, 500, 1000, 2000)
FAULT_TEXT = {
    "bus": "the sensor stopped answering",
    "sensor": "the sensor's reading was not trusted",
    "stuck": "the reading froze",
    "cleared": "the sensor works again",
}


def add_arguments(p):
    p.add_argument("session", nargs="?", metavar="SESSION", help="a session id (default: latest)")
    p.add_argument("--ball", metavar="NAME", help="the ball, when several have this id")
    p.add_argument("--png", metavar="FILE", help="plot force over time by band into FILE")
    p.add_argument("--csv", metavar="FILE", help="write the trace as t_ms,band,force_n rows")
    p.add_argument(
        "--pdf",
        metavar="FILE",
        help="the report for the physiotherapist over the days --from..--to, as a PDF",
    )
    physio.add_range_arguments(p, "the first session's date")


def latest(sessions):
    """The latest session: a ball's highest id (ids only grow); across balls, the one that
    started last where clocks were set, else the one imported last."""
    tops: dict = {}
    for s in sessions:
        if s["ball"] not in tops or s["id"] > tops[s["ball"]]["id"]:
            tops[s["ball"]] = s
    return max(tops.values(), key=lambda s: (s["start_unix"], s["imported_at"], s["id"]))


def _latest_ids(sessions, n=5):
    recent = list(reversed(guidance.ordered(sessions)))[:n]
    several = len({s["ball"] for s in sessions}) > 1
    return ", ".join(
        "{} ({})".format(s["id"], s["ball"]) if several else str(s["id"]) for s in recent
    )


def resolve(sessions, wanted, ball):
    """(ball, id) of the session asked for, or UsageError saying what there is."""
    where = " of ball {!r}".format(ball) if ball else ""
    if not sessions:
        raise UsageError(
            "no sessions{} in the history: bring a ball's home with `knotball pull` (or add "
            "log files with `knotball import FILE...`)".format(where)
        )
    if wanted is None:
        s = latest(sessions)
        return s["ball"], s["id"]
    try:
        sid = int(wanted)
    except ValueError:
        raise UsageError("SESSION must be a session id (a number), not {!r}".format(wanted))
    found = [s for s in sessions if s["id"] == sid]
    if not found:
        raise UsageError(
            "no session {}{} in the history; the latest are: {}".format(
                sid, where, _latest_ids(sessions)
            )
        )
    if len(found) > 1:
        raise UsageError(
            "session {} is in the history of several balls ({}): choose one with --ball".format(
                sid, ", ".join(s["ball"] for s in found)
            )
        )
    return found[0]["ball"], sid


def _newtons(f):
    return "{:.3f}".format(f).rstrip("0").rstrip(".")


def csv_bytes(s):
    rows = ["t_ms,band,force_n"]
    rows += ["{},{},{}".format(t, BAND_NAMES[b], _newtons(f)) for t, b, f in s["trace"]]
    return ("\n".join(rows) + "\n").encode()


def _band_strip(s, console):
    """The session as rows of band marks, like `knotball sim` shows it, but with marks long
    enough for a whole session to fit in a dozen rows; each mark shows the highest band
    within it, so a moment too hard is never hidden."""
    trace, period = s["trace"], s["header"].get("period_ms") or 100
    end = trace[-1][0] + period
    cell = next((c for c in STRIP_CELLS_MS if end <= c * timeline.ROW_CELLS * 12), 5000)
    highest = [0] * -(-end // cell)
    for t, b, _ in trace:
        highest[t // cell] = max(highest[t // cell], min(b, 4))
    legend = Text("  ")
    for band in BAND_NAMES:
        char, style = timeline.BAND_STYLE[band]
        legend.append(char * 2, style=style).append(" " + band + "  ")
    console.print(legend, Text("(each mark is {:g} s)".format(cell / 1000), "dim"))
    for r in range(0, len(highest), timeline.ROW_CELLS):
        row = Text("{:5d} s  ".format(r * cell // 1000))
        for b in highest[r : r + timeline.ROW_CELLS]:
            char, style = timeline.BAND_STYLE[BAND_NAMES[b]]
            row.append(char, style=style)
        console.print(row)


def render(s, console):
    h = s["header"]
    head = [s["ball"], guidance.started(s)]
    if h.get("firmware"):
        head.append("firmware " + h["firmware"])
    console.print(Text.assemble(("Session {}".format(s["id"]), "bold"), " · " + " · ".join(head)))
    edges = " · ".join(
        "{} ≥{:g} N".format(name, h[key] / 1000)
        for name, key in zip(
            ("light", "medium", "firm", "too hard"),
            ("light_mn", "medium_mn", "firm_mn", "over_mn"),
            strict=True,
        )
    )
    console.print(
        Text("  bands: {} · limit {:g} s".format(edges, h["session_limit_ms"] / 1000), "dim")
    )
    console.print()
    if s.get("trace"):
        _band_strip(s, console)
        console.print()
    timeline.render_summary(s, console)
    given = ["{} {}×".format(name.replace("_", " "), n) for name, n in s["cues"].items() if n]
    console.print("  cues: " + (" · ".join(given) if given else "none"))
    if s["faults"]:
        console.print(Text("  sensor faults:", "magenta"))
    for t, what in s["faults"]:
        console.print(
            Text("    {:7.1f} s  {}".format(t / 1000, FAULT_TEXT.get(what, what)), "magenta")
        )
    for note in guidance.session_notes(s):
        console.print(Text("  " + note, "yellow"))
    if not s["has_trace"]:
        console.print(Text("  no trace: the ball dropped it to free flash", "dim"))


def run_pdf(args):
    """The physio's report: every session started from --from to --to (of --ball)."""
    if args.session is not None or args.png or args.csv:
        raise UsageError(
            "--pdf reports a range of days (--from/--to), not one session: give SESSION, "
            "--png and --csv in another `knotball report`"
        )
    hist = store.History()
    try:
        everything = hist.sessions(args.ball)
        first, last = physio.date_range(everything, args.first, args.last)
        calibrations = hist.calibrations()
    except store.StoreError as e:
        raise UsageError(str(e))
    except ValueError as e:
        raise UsageError(str(e))
    sessions = physio.between(everything, first, last)
    from knotball.history import pdf  # matplotlib takes a while to import: only when asked

    data, pages = pdf.render(sessions, calibrations, first, last, everything)
    write_whole([("--pdf", args.pdf, data)])
    span = physio.range_text(first, last)
    if not sessions:
        print(
            "no sessions {}{}: wrote {}, one page that says so".format(
                span, " of ball " + args.ball if args.ball else "", args.pdf
            ),
            file=sys.stderr,
        )
        return 0
    n = len(sessions)
    print(
        "wrote {}: {} pages, {} session{} {}".format(
            args.pdf, pages, n, "" if n == 1 else "s", span
        )
    )
    return 0


def run(args):
    if args.pdf:
        return run_pdf(args)
    if args.first is not None or args.last is not None:
        raise UsageError("--from and --to choose the days of --pdf: add --pdf FILE")
    hist = store.History()
    try:
        balls = hist.balls()
        if args.ball is not None and args.ball not in balls:
            raise UsageError(
                "no ball named {!r} in the history{}".format(
                    args.ball, "; its balls: " + ", ".join(balls) if balls else ""
                )
            )
        ball, sid = resolve(hist.sessions(args.ball), args.session, args.ball)
        s = hist.session(ball, sid)
    except store.StoreError as e:
        raise UsageError(str(e))
    outputs = []
    for option, path in (("--png", args.png), ("--csv", args.csv)):
        if path is None:
            continue
        if not s.get("trace"):
            raise UsageError(
                "{}: session {} has no trace (the ball dropped it to free flash and kept "
                "only its summary); nothing to write".format(option, sid)
            )
        if option == "--png":
            from knotball.history import (
                plot,  # matplotlib takes a while to import: only when asked
            )

            outputs.append((option, path, plot.render_png(s, guidance.started(s))))
        else:
            outputs.append((option, path, csv_bytes(s)))
    write_whole(outputs)
    console = Console(highlight=False)
    render(s, console)
    for option, path, _ in outputs:
        console.print("wrote {} ({})".format(path, "plot" if option == "--png" else "trace"))
    return 0
