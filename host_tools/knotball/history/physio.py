"""The history as a physiotherapist reads it over a range of days (`knotball report --pdf`,
`export`, `history --week`): the body area of each session, date ranges, totals per day and
area against the guidance, too-hard moments and symptom stops, and the pressure threshold
over time. Read-only: it works on what store.History returns.

Areas: each session's log records the area chosen on the ball, each `knotball measure`
the area it measured; `area_of` is the one place that says "unspecified" for those without
one (logs from before areas, no area chosen, `knotball calibrate bands`).
"""

import datetime
import re
import time

from knotball.history.guidance import (
    SESSION_MAX_MS,
    SESSIONS_PER_DAY,
    UNSPECIFIED,
    area_of,
    day_of,
)

WEEK_DAYS = 7
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def today():
    return datetime.date.today()


def parse_date(option, text):
    """The local date `text` (YYYY-MM-DD) given to `option`; ValueError with a one-line
    message naming the option otherwise."""
    if _DATE.match(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(
        "{} {}: not a date; give it as YYYY-MM-DD, e.g. {}".format(
            option, text, today().isoformat()
        )
    )


def add_range_arguments(p, by_default):
    """--from/--to on a command's parser (`knotball export`, `report --pdf`)."""
    p.add_argument(
        "--from",
        dest="first",
        metavar="DATE",
        help="only sessions started on or after this local date, YYYY-MM-DD (default: {})".format(
            by_default
        ),
    )
    p.add_argument(
        "--to",
        dest="last",
        metavar="DATE",
        help="only sessions started on or before this local date, YYYY-MM-DD (default: today)",
    )


def date_range(sessions, first=None, last=None):
    """(first, last) dates from the --from/--to texts (either may be None): by default from
    the first dated session (or `last`) to today (or the last session, if later). ValueError
    naming the option for a bad date or a range that ends before it starts."""
    days = sorted(datetime.date.fromisoformat(d) for d in map(day_of, sessions) if d)
    start = parse_date("--from", first) if first is not None else None
    if last is not None:
        end = parse_date("--to", last)
    else:
        end = max(days[-1], today()) if days else today()
    if start is None:
        start = min(days[0], end) if days else end
    if start > end:
        raise ValueError(
            "--from {} is after --to {}: the range must start on or before its last day".format(
                start, end
            )
        )
    return start, end


def range_text(first, last):
    if first == last:
        return "on {}".format(first)
    return "between {} and {}".format(first, last)


def between(sessions, first, last):
    """The sessions started on a local date from `first` to `last`, both included (sessions
    whose ball's clock was not set have no date and are never in a range)."""
    lo, hi = first.isoformat(), last.isoformat()
    return [s for s in sessions if day_of(s) and lo <= day_of(s) <= hi]


def last_week(end=None):
    """(first, last): the last WEEK_DAYS days, today included."""
    end = end or today()
    return end - datetime.timedelta(days=WEEK_DAYS - 1), end


def dates(first, last):
    return [
        (first + datetime.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)
    ]


def _area_notes(area, n, longest_ms):
    on = "" if area == UNSPECIFIED else " on " + area
    notes = []
    if n > SESSIONS_PER_DAY:
        notes.append(
            "{} sessions{}: the advice is up to {} a day on an area".format(
                n, on, SESSIONS_PER_DAY
            )
        )
    if longest_ms > SESSION_MAX_MS:
        notes.append(
            "a session of {:.1f} min{}: the advice is up to 6".format(longest_ms / 60000, on)
        )
    return notes


def day_totals(sessions, first, last):
    """One dict per date from `first` to `last` (days without sessions included): date,
    sessions, duration_ms, too_hard (moments), symptom_stops, areas {AREA: {sessions,
    duration_ms, longest_ms}}, and notes where an area went past the guidance."""
    out = {
        d: {"date": d, "sessions": 0, "duration_ms": 0, "too_hard": 0, "symptom_stops": 0}
        for d in dates(first, last)
    }
    areas: dict = {d: {} for d in out}
    for s in between(sessions, first, last):
        day = out[day_of(s)]
        day["sessions"] += 1
        day["duration_ms"] += s["duration_ms"]
        day["too_hard"] += s["too_hard_count"]
        day["symptom_stops"] += s["stop_reason"] == "symptom"
        a = areas[day["date"]].setdefault(
            area_of(s), {"sessions": 0, "duration_ms": 0, "longest_ms": 0}
        )
        a["sessions"] += 1
        a["duration_ms"] += s["duration_ms"]
        a["longest_ms"] = max(a["longest_ms"], s["duration_ms"])
    for d, day in out.items():
        day["areas"] = dict(sorted(areas[d].items()))
        day["notes"] = [
            note
            for name, a in day["areas"].items()
            for note in _area_notes(name, a["sessions"], a["longest_ms"])
        ]
    return list(out.values())


def areas_in(days):
    """Every area named in day_totals() rows, in a stable order."""
    return sorted({a for d in days for a in d["areas"]})


def local_date(unix):
    return time.strftime("%Y-%m-%d", time.localtime(unix))


def thresholds(calibrations, first, last):
    """The pressure thresholds measured by `knotball calibrate bands` or `knotball measure
    AREA` (the level of three slow presses to "strong but good") from `first` to `last`,
    oldest first, each with area, date, at_unix, level_n, peaks_n, spread_pct and ball. Per
    area, the last one measured before `first` comes too, with before=True: the level the
    range started from."""
    lo, hi = first.isoformat(), last.isoformat()
    inside, before = [], {}
    for c in sorted(calibrations, key=lambda c: (c["at_unix"], c["id"])):
        if c["kind"] not in ("bands", "threshold") or "level_n" not in c["quality"]:
            continue
        day = local_date(c["at_unix"])
        m = {
            "area": area_of(c),
            "date": day,
            "at_unix": c["at_unix"],
            "level_n": float(c["quality"]["level_n"]),
            "peaks_n": [float(p["peak_n"]) for p in c["points"] if "peak_n" in p],
            "spread_pct": c["quality"].get("spread_pct"),
            "ball": c["ball"],
            "before": day < lo,
        }
        if day < lo:
            before[m["area"]] = m
        elif day <= hi:
            inside.append(m)
    return list(before.values()) + inside


def trend_text(points):
    """An area's threshold from its first measurement to its last, in words."""
    first, last = points[0]["level_n"], points[-1]["level_n"]
    if len(points) < 2:
        return "{:.1f} N (one measurement)".format(first)
    return "{:.1f} N → {:.1f} N ({:+.1f} N, {:+.0f} %)".format(
        first, last, last - first, 100 * (last - first) / first
    )


def threshold_trends(calibrations):
    """{area: [measurement, ...]} of every threshold measured (as thresholds() gives them),
    oldest first."""
    out: dict = {}
    for m in thresholds(calibrations, datetime.date.min, datetime.date.max):
        out.setdefault(m["area"], []).append(m)
    return dict(sorted(out.items()))
