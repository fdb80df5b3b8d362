"""A session as a person reads it: a band strip over time, the cues, and a summary."""

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ball.wire import BAND_NAMES
from knotball import stops

BAND_STYLE = {
    "idle": ("·", "grey50"),
    "light": ("▂", "green"),
    "medium": ("▄", "yellow"),
    "firm": ("▆", "dark_orange"),
    "over": ("█", "bold red"),
}
# The one table of cue words: cue -> (its name, what the person feels). Every command
# that shows a cue (sim, report, live) says it with these.
CUES = {
    "hold_effective": ("hold effective", "double tap: this hold has done its work"),
    "hold_long": ("hold long", "three long buzzes: time to move on"),
    "too_hard": ("too hard", "rapid buzz: too hard, ease off"),
    "time_warning": ("time warning", "long-short: the time limit is near"),
    "done": ("done", "one long buzz: the session is over"),
    "rest": ("rest", "slow triple: that was today's last session, rest"),
}
# A symptom stop ends with its own feel instead of `done`'s (ball/feedback.py SYMPTOM).
SYMPTOM_DONE = ("done", "one long soft buzz, then a steady teal light: rest this area")


def cue_words(cue, stop_reason=None):
    """(name, what you feel) for a cue; `done` after a symptom stop feels different."""
    if cue == "done" and stop_reason == "symptom":
        return SYMPTOM_DONE
    return CUES.get(cue, (cue.replace("_", " "), ""))


CELL_MS = 250
ROW_CELLS = 40


def _seconds(ms):
    return "{:6.2f} s".format(ms / 1000)


def band_strip(band_events, end_ms, start_ms=0, quiet=()):
    """Rows of Text: each cell shows the band at its start; cells inside a `quiet` span
    (start_ms, end_ms) — after a session stopped, the ball is calm — are dimmed."""
    rows = []
    changes = sorted((e["t_ms"], e["band"]) for e in band_events)
    band, i = "idle", 0
    t = start_ms
    while t < end_ms:
        row = Text()
        for _ in range(ROW_CELLS):
            if t >= end_ms:
                break
            while i < len(changes) and changes[i][0] <= t:
                band = changes[i][1]
                i += 1
            char, style = BAND_STYLE[band]
            if any(a <= t < b for a, b in quiet):
                style = "grey35"
            row.append(char, style=style)
            t += CELL_MS
        rows.append(row)
    return rows


def quiet_spans(events, end_ms):
    """From each session stop to the next session start: the ball measures, but is calm."""
    spans, stop = [], None
    for e in events:
        if e["event"] == "session_stop":
            stop = e["t_ms"]
        elif e["event"] == "session_start" and stop is not None:
            spans.append((stop, e["t_ms"]))
            stop = None
    if stop is not None:
        spans.append((stop, end_ms + 1))
    return spans


def render(events, name, runtime, console=None):
    console = console or Console(highlight=False)
    where = "the MicroPython unix port" if runtime == "micropython" else "CPython"
    console.print(Text.assemble(("knotball sim", "bold"), " — {} on {}".format(name, where)))
    if not events:
        console.print("no events")
        return
    end_ms = max(e["t_ms"] for e in events)
    start_ms = min(e["t_ms"] for e in events)
    bands = [e for e in events if e["event"] == "band"]
    console.print()
    legend = Text("  ")
    for band in BAND_NAMES:
        char, style = BAND_STYLE[band]
        legend.append(char * 2, style=style).append(" " + band + "  ")
    console.print(legend, Text("(a mark is {:.2f} s)".format(CELL_MS / 1000), style="dim"))
    console.print(Text("  grey: after a stop, while the ball is calm", style="dim"))
    row_ms = CELL_MS * ROW_CELLS
    quiet = quiet_spans(events, end_ms)
    for n, row in enumerate(band_strip(bands, end_ms, start_ms, quiet)):
        console.print(Text("{:5d} s  ".format((start_ms + n * row_ms) // 1000)) + row)
    console.print()
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("time", justify="right")
    table.add_column("what")
    table.add_column("you feel", style="dim")
    reason = None
    for e in events:
        kind = e["event"]
        if kind == "session_start":
            table.add_row(
                _seconds(e["t_ms"]), Text("session started", style="bold cyan"), "a tick"
            )
        elif kind == "session_stop":
            reason = e["reason"]
            table.add_row(
                _seconds(e["t_ms"]),
                Text("session " + stops.stopped(e["reason"]), style="bold cyan"),
                "",
            )
        elif kind == "cue":
            style = "bold red" if e["cue"] == "too_hard" else "bold"
            words, feel = cue_words(e["cue"], reason)
            table.add_row(_seconds(e["t_ms"]), Text(words, style=style), feel)
    console.print(table)
    for s in (e for e in events if e["event"] == "summary"):
        console.print()
        render_summary(s, console, band_changes=len(bands))


def render_summary(s, console, band_changes=None):
    dur = s["duration_ms"]
    head = Text.assemble(
        ("Summary", "bold"),
        "  {:.1f} s, {}".format(dur / 1000, stops.stopped(s["stop_reason"])),
    )
    console.print(head)
    longest = max(list(s["band_ms"].values()) + [1])
    for band in BAND_NAMES[1:]:
        ms = s["band_ms"].get(band, 0)
        char, style = BAND_STYLE[band]
        bar = Text("█" * round(30 * ms / longest), style=style)
        console.print(Text("  {:<7}{:7.1f} s  ".format(band, ms / 1000)) + bar)
    facts = ["peak {:.1f} N".format(float(s["peak_n"]))]
    if "mean_n" in s:
        facts.append("mean {:.1f} N in contact".format(float(s["mean_n"])))
    if "holds" in s:
        facts.append("{} effective hold{}".format(s["holds"], "" if s["holds"] == 1 else "s"))
    if "too_hard_count" in s:
        facts.append("too hard {}×".format(s["too_hard_count"]))
    if band_changes is not None:
        facts.append("{} band changes".format(band_changes))
    console.print("  " + " · ".join(facts))
