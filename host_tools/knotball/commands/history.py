"""knotball history: the sessions in the host history, with daily totals against the
physiotherapist's guidance (up to three sessions a day, 5–6 minutes on an area); --week: the
last seven days, a row each, with totals per area."""

import datetime
import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from knotball import stops
from knotball.history import advice, physio, store
from knotball.history.guidance import (
    SESSION_MAX_MS,
    SESSIONS_PER_DAY,
    day_of,
    days,
    ordered,
    session_notes,
    short_minutes,
    started,
)
from knotball.runtime import UsageError

UNKNOWN_DAY = "date unknown"
TIP_STYLE = {"rest": "yellow", "ease": "yellow", "longer": "green"}
EMPTY = (
    "The history is empty. Bring a ball's sessions home with `knotball pull`, or add log "
    "files with `knotball import FILE...` (from `knotball sim --out DIR`)."
)


def add_arguments(p):
    p.add_argument("--ball", metavar="NAME", help="only the sessions of this ball")
    p.add_argument(
        "--week",
        action="store_true",
        help="the last 7 days (today included): per day sessions, minutes, too hard, symptom "
        "stops, and minutes per area",
    )
    p.add_argument("--json", action="store_true", help="one JSON object: sessions and days")


def _session_json(s):
    keys = (
        "ball",
        "id",
        "start_unix",
        "start_estimated",
        "duration_ms",
        "stop_reason",
        "band_ms",
        "peak_n",
        "mean_n",
        "holds",
        "too_hard_count",
        "cues",
        "complete",
        "recovered",
        "archived",
        "has_trace",
    )
    out = {k: s[k] for k in keys}
    out["area"] = physio.area_of(s)
    out["date"] = day_of(s)
    out["over_guidance"] = s["duration_ms"] > SESSION_MAX_MS
    out["notes"] = session_notes(s)
    return out


def _at(s):
    """A session's start time of day (its date heads its day's rows)."""
    when = started(s)
    return when if not s["start_unix"] else when[: -len("YYYY-MM-DD HH:MM")] + when[-5:]


def _sessions_table(sessions, show_ball):
    # Each day heads its own rows, so a row gives only the time of day, and one space parts
    # the columns: the table, its area and ball columns included, fits 80 columns.
    t = Table(box=None, header_style="bold", pad_edge=False, collapse_padding=True)
    t.add_column("started", no_wrap=True)
    if show_ball:
        t.add_column("ball", no_wrap=True)
    t.add_column("id", justify="right", no_wrap=True)
    t.add_column("area", max_width=15)
    t.add_column("time", justify="right", no_wrap=True)
    t.add_column("stopped", no_wrap=True)
    for band in ("light", "medium", "firm", "over"):
        t.add_column(band, justify="right", no_wrap=True)
    t.add_column("peak", justify="right", no_wrap=True)
    last_day = ()
    for s in sessions:
        day = day_of(s)
        if day != last_day:
            if last_day != ():
                t.add_row()  # a blank line between days
            t.add_row(Text(day or UNKNOWN_DAY, "bold"))
        last_day = day
        over = s["duration_ms"] > SESSION_MAX_MS
        row = [_at(s)] + ([s["ball"]] if show_ball else []) + [str(s["id"])]
        row.append(physio.area_of(s).replace("_", " "))
        row.append(Text(short_minutes(s["duration_ms"]), style="yellow" if over else ""))
        reason = stops.phrase(s["stop_reason"])
        row.append(reason + ("*" if session_notes(s) else ""))
        row += ["{:.0f} s".format(s["band_ms"][b] / 1000) for b in ("light", "medium", "firm")]
        row.append(
            Text(
                "{:.0f} s".format(s["band_ms"]["over"] / 1000),
                "red" if s["too_hard_count"] else "",
            )
        )
        row.append("{:.1f} N".format(s["peak_n"]))
        t.add_row(*row)
    return t


def _days_table(day_rows, show_ball):
    t = Table(box=None, header_style="bold", pad_edge=False)
    t.add_column("day", no_wrap=True)
    if show_ball:
        t.add_column("ball")
    t.add_column("sessions", justify="right")
    t.add_column("time", justify="right")
    by_area = any(set(d["areas"]) - {physio.UNSPECIFIED} for d in day_rows)
    if by_area:
        t.add_column("per area")
    t.add_column("")
    for d in day_rows:
        if d["date"] is None:
            note = Text("\n".join(d["notes"]), style="dim")
        elif d["over_guidance"]:
            note = Text("\n".join(d["notes"]), style="yellow")
        else:
            note = Text("within the guidance", style="green")
        row = [d["date"] or UNKNOWN_DAY] + ([d["ball"]] if show_ball else [])
        row += [str(d["sessions"]), short_minutes(d["duration_ms"])]
        if by_area:
            row.append(
                "\n".join(
                    "{} {}".format(area.replace("_", " "), _area_cell(a))
                    for area, a in d["areas"].items()
                )
            )
        t.add_row(*row, note)
    return t


def _area_cell(a):
    if not a:
        return Text("–", style="dim")
    return "{} × {}".format(a["sessions"], short_minutes(a["duration_ms"]))


def _week_table(day_rows):
    areas = physio.areas_in(day_rows) or [physio.UNSPECIFIED]
    t = Table(box=None, header_style="bold", pad_edge=False)
    t.add_column("day", no_wrap=True)
    for name in ("sessions", "time", "too hard", "symptom stops"):
        t.add_column(name, justify="right", no_wrap=True)
    for area in areas:
        t.add_column(area, justify="right", no_wrap=True)
    for d in day_rows:
        when = datetime.date.fromisoformat(d["date"]).strftime("%a %Y-%m-%d")
        when += "*" if d["notes"] else ""
        quiet = "dim" if not d["sessions"] else ""
        row = [Text(when, quiet), Text(str(d["sessions"]), quiet)]
        row.append(Text(short_minutes(d["duration_ms"]), quiet))
        row.append(Text(str(d["too_hard"]), "red" if d["too_hard"] else quiet))
        row.append(Text(str(d["symptom_stops"]), "bold cyan" if d["symptom_stops"] else quiet))
        row += [_area_cell(d["areas"].get(area)) for area in areas]
        t.add_row(*row)
    return t


def run_week(args, history, sessions):
    first, last = physio.last_week()
    day_rows = physio.day_totals(sessions, first, last)
    if args.json:
        out = {"history": str(history.path), "from": str(first), "to": str(last)}
        print(json.dumps(dict(out, days=day_rows)))
        return 0
    console = Console(highlight=False)
    n = sum(d["sessions"] for d in day_rows)
    console.print(
        Text.assemble(
            ("The last 7 days", "bold"),
            ", {} to {}: {} session{}, {}".format(
                first,
                last,
                n,
                "" if n == 1 else "s",
                short_minutes(sum(d["duration_ms"] for d in day_rows)),
            ),
        )
    )
    console.print(
        Text(
            "the guidance: up to {} sessions a day on an area, 5–6 minutes each".format(
                SESSIONS_PER_DAY
            ),
            "dim",
        )
    )
    console.print(_week_table(day_rows))
    for d in day_rows:
        for note in d["notes"]:
            console.print(Text("* {}: over the guidance: {}".format(d["date"], note), "yellow"))
    if not n:
        console.print("No sessions {}.".format(physio.range_text(first, last)))
    console.print(Text("history file: {}".format(history.path), "dim"))
    return 0


def _print_thresholds(console, trends):
    """Each area's pressure threshold over time (`knotball measure`), if any was measured."""
    if not trends:
        return
    console.print(
        Text.assemble(
            ("Pressure threshold per area", "bold"),
            " — three slow presses to strong but good (knotball measure AREA)",
        )
    )
    for area, ms in trends.items():
        console.print(
            "{}: {}; last {} (presses differ {:.0f} %)".format(
                area.replace("_", " "),
                physio.trend_text(ms),
                ms[-1]["date"],
                ms[-1]["spread_pct"] or 0,
            )
        )
    console.print()


def run(args):
    history = store.History()
    try:
        sessions = ordered(history.sessions(args.ball))
        balls = history.balls()
    except store.StoreError as e:
        raise UsageError(str(e))
    if args.ball is not None and args.ball not in balls:
        if balls:
            raise UsageError(
                "no ball named {!r} in the history; its balls: {}".format(
                    args.ball, ", ".join(balls)
                )
            )
        sessions = []
    if args.week:
        return run_week(args, history, sessions)
    day_rows = days(sessions)
    shown = sorted({s["ball"] for s in sessions})
    try:
        everyone = sessions if args.ball is None else ordered(history.sessions())
    except store.StoreError as e:
        raise UsageError(str(e))
    tips = {
        b: advice.suggest([s for s in sessions if s["ball"] == b], everyone=everyone)
        for b in shown
    }
    try:
        trends = physio.threshold_trends(history.calibrations())
    except store.StoreError as e:
        raise UsageError(str(e))
    if args.json:
        print(
            json.dumps(
                {
                    "history": str(history.path),
                    "sessions": [_session_json(s) for s in sessions],
                    "days": day_rows,
                    "advice": tips,
                    "thresholds": {
                        area: [
                            {k: m[k] for k in ("date", "level_n", "peaks_n", "spread_pct")}
                            for m in ms
                        ]
                        for area, ms in trends.items()
                    },
                }
            )
        )
        return 0
    console = Console(highlight=False)
    if not sessions:
        console.print(EMPTY)
        _print_thresholds(console, trends)
        return 0
    several = len(shown) > 1
    n = len(sessions)
    console.print(
        Text.assemble(
            ("History", "bold"),
            ": {} session{} from {}".format(n, "" if n == 1 else "s", ", ".join(shown)),
        )
    )
    console.print(_sessions_table(sessions, several))
    for s in sessions:
        for note in session_notes(s):
            who = "{} {}".format(s["ball"], s["id"]) if several else str(s["id"])
            style = "yellow" if note.startswith("longer") else "dim"
            console.print(Text("* session {}: {}".format(who, note), style=style))
    console.print()
    console.print(
        Text.assemble(
            ("Daily totals", "bold"),
            " — the guidance: up to {} sessions a day on an area, 5–6 minutes each".format(
                SESSIONS_PER_DAY
            ),
        )
    )
    console.print(_days_table(day_rows, several))
    console.print()
    _print_thresholds(console, trends)
    rest = [tip for tip in tips.values() if tip["kind"] == "rest"]
    # Rest is for the person, whichever ball: said once, not once per ball.
    for ball, tip in [("", rest[0])] if rest else list(tips.items()):
        who = " ({})".format(ball) if several and ball else ""
        console.print(
            Text.assemble(
                ("Next" + who + ": ", "bold"), (tip["text"], TIP_STYLE.get(tip["kind"], ""))
            )
        )
    console.print(Text("history file: {}".format(history.path), "dim"))
    return 0
