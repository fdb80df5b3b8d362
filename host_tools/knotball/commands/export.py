"""knotball export: every session in the history as one CSV row for a spreadsheet, or only
those started from --from to --to (local dates). The file is written whole or not at all;
"-" is standard output. A range without sessions writes the header row and says so."""

import csv
import datetime
import io
import sys

from ball.wire import CUE_NAMES
from knotball.history import physio, store
from knotball.history.guidance import ordered
from knotball.outfiles import STDOUT, write_whole
from knotball.runtime import UsageError

BANDS = (("light", "light_s"), ("medium", "medium_s"), ("firm", "firm_s"), ("over", "too_hard_s"))
COLUMNS = (
    ("ball", "id", "start", "area", "duration_s", "stop_reason")
    + tuple(column for _, column in BANDS)
    + ("peak_force_n", "mean_force_n", "holds", "too_hard_count", "cues")
)


def add_arguments(p):
    p.add_argument(
        "--csv", metavar="FILE", required=True, help="the CSV file to write ('-': standard output)"
    )
    physio.add_range_arguments(p, "every session")


def start_iso(s):
    """The session's start as ISO 8601 local time (empty when the ball's clock was not set)."""
    if not s["start_unix"]:
        return ""
    return datetime.datetime.fromtimestamp(s["start_unix"]).isoformat(timespec="seconds")


def _seconds(ms):
    return ms / 1000


def row(s):
    cues = ";".join("{}={}".format(c, s["cues"][c]) for c in CUE_NAMES if s["cues"].get(c))
    return (
        [s["ball"], s["id"], start_iso(s), physio.area_of(s), _seconds(s["duration_ms"])]
        + [s["stop_reason"]]
        + [_seconds(s["band_ms"][band]) for band, _ in BANDS]
        + [s["peak_n"], s["mean_n"], s["holds"], s["too_hard_count"], cues]
    )


def csv_bytes(sessions):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(row(s) for s in sessions)
    return out.getvalue().encode()


def run(args):
    try:
        sessions = ordered(store.History().sessions())
    except store.StoreError as e:
        raise UsageError(str(e))
    notes = []
    if args.first is None and args.last is None:
        chosen, where = sessions, "in the history"
    else:
        try:
            first, last = physio.date_range(sessions, args.first, args.last)
        except ValueError as e:
            raise UsageError(str(e))
        chosen, where = physio.between(sessions, first, last), physio.range_text(first, last)
        undated = sum(1 for s in sessions if not s["start_unix"])
        if undated:
            notes.append(
                "{} session{} without a date (the ball's clock was not set) left out of the "
                "range".format(undated, "" if undated == 1 else "s")
            )
    write_whole([("--csv", args.csv, csv_bytes(chosen))])
    if chosen:
        said = "wrote {}: {} session{} {}".format(
            "standard output" if args.csv == STDOUT else args.csv,
            len(chosen),
            "" if len(chosen) == 1 else "s",
            where,
        )
    else:
        said = "no sessions {}: wrote {} with its header row only".format(
            where, "standard output" if args.csv == STDOUT else args.csv
        )
    # The CSV may be on standard output: what was done goes to stderr then.
    out = sys.stderr if args.csv == STDOUT or not chosen else sys.stdout
    for line in [said] + notes:
        print(line, file=out)
    return 0
