"""The history against the physiotherapist's guidance (up to three sessions a day, 5–6
minutes on an area): when a session started and how it ended in words, notes on one session,
and daily totals per ball."""

import time

# The guidance the product encodes. The ball enforces its own limits (the session cap is
# 360 s); these are what the history is checked against, whatever the ball was set to.
SESSIONS_PER_DAY = 3
SESSION_MAX_MS = 6 * 60 * 1000
DAY_MAX_MS = SESSIONS_PER_DAY * SESSION_MAX_MS


UNSPECIFIED = "unspecified"  # the area of a session or threshold that has none
ESTIMATED = "≈"  # marks a start worked out from the ball's uptime (its clock was not set)


def started(s):
    if not s["start_unix"]:
        return "clock not set"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s["start_unix"]))
    return ESTIMATED + when if s.get("start_estimated") else when


def day_of(s):
    """The local date of a session as YYYY-MM-DD, or None when the ball's clock was not set."""
    if not s["start_unix"]:
        return None
    return time.strftime("%Y-%m-%d", time.localtime(s["start_unix"]))


def minutes(ms):
    return "{:.1f} minutes".format(ms / 60000)


def short_minutes(ms):
    return "{:.1f} min".format(ms / 60000)


def session_notes(s):
    """Short notes on one session: guidance first, then what kind of copy it is."""
    notes = []
    if s["duration_ms"] > SESSION_MAX_MS:
        notes.append(
            "longer than the guidance: {}; the advice is up to 6 on an area".format(
                minutes(s["duration_ms"])
            )
        )
    if not s["complete"]:
        notes.append("cut-short copy: what was recovered up to its last checkpoint")
    elif s["stop_reason"] == "interrupted":
        notes.append("interrupted (power cut): rebuilt from its last checkpoint")
    if s["archived"]:
        notes.append("trace dropped on the ball: summary only")
    if s.get("damage"):
        notes.append("from a damaged log: what its intact records hold (the file is kept)")
    return notes


def ordered(sessions):
    """Dated sessions in time order, then those without a clock by ball and id."""
    return sorted(
        sessions,
        key=lambda s: (
            (0, s["start_unix"], s["ball"], s["id"])
            if s["start_unix"]
            else (1, 0, s["ball"], s["id"])
        ),
    )


def area_of(record):
    """The body area of a session or a threshold measurement ("unspecified" when it has none:
    logs from before areas, no area chosen, `knotball calibrate bands`)."""
    return record.get("area") or UNSPECIFIED


def _area_day_notes(area, n, ms, when):
    """Where one area's day went past the guidance (up to 3 sessions of 5–6 minutes on an
    area); sessions without an area are counted together, as the ball counts them."""
    on = "" if area == UNSPECIFIED else " on " + area
    notes = []
    if n > SESSIONS_PER_DAY:
        notes.append(
            "over the guidance: {} sessions{} {}; the advice is up to {}".format(
                n, on, when, SESSIONS_PER_DAY
            )
        )
    if ms > DAY_MAX_MS:
        notes.append(
            "over the guidance: {}{} {}; the advice is up to 3 sessions of 5–6 minutes".format(
                minutes(ms), on, when
            )
        )
    return notes


def days(sessions, today=None):
    """Daily totals per ball, with each area's sessions and time, and gentle notes where an
    area went past the guidance that day: it is per area, so a day on several areas can be
    within it for each."""
    today = today or time.strftime("%Y-%m-%d")
    totals: dict = {}
    for s in sessions:
        d = totals.setdefault(
            (day_of(s), s["ball"]), {"sessions": 0, "duration_ms": 0, "areas": {}}
        )
        a = d["areas"].setdefault(area_of(s), {"sessions": 0, "duration_ms": 0})
        for t in (d, a):
            t["sessions"] += 1
            t["duration_ms"] += s["duration_ms"]
    out = []
    for (day, ball), d in sorted(totals.items(), key=lambda kv: (kv[0][0] is None, kv[0])):
        when = "today" if day == today else "that day"
        if day is None:
            notes = ["clock not set: cannot be counted per day (`knotball flash` sets the clock)"]
        else:
            notes = [
                note
                for area, a in sorted(d["areas"].items())
                for note in _area_day_notes(area, a["sessions"], a["duration_ms"], when)
            ]
        out.append(
            {
                "date": day,
                "ball": ball,
                "sessions": d["sessions"],
                "duration_ms": d["duration_ms"],
                "areas": dict(sorted(d["areas"].items())),
                "over_guidance": day is not None and len(notes) > 0,
                "notes": notes,
            }
        )
    return out
