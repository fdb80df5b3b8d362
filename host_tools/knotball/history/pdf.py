"""The report for the physiotherapist (`knotball report --pdf`): a few A4 pages over a range
of days. 1: sessions and minutes per day and area against the guidance; 2: too-hard moments
and numbness or tingling stops; 3: each area's pressure threshold over time; last: a table of
the sessions. Every chart has a title and labelled axes; the text is real text (searchable,
copyable)."""

import datetime
import io
import math
import textwrap

import matplotlib

matplotlib.use("Agg")  # files only, never a window: before pyplot is imported

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from knotball import stops  # noqa: E402
from knotball.history import guidance, physio  # noqa: E402
from knotball.history.plot import BAND_COLOURS, SYMPTOM_COLOUR  # noqa: E402

A4_LANDSCAPE = (11.69, 8.27)
GREY = "#555555"
GUIDE = "#b03a2e"
RED = BAND_COLOURS[4]
# One colour per area, as many as a report can show: the ball's built-in areas, the person's
# own (dose.AREAS_MAX) and "unspecified".
AREA_COLOURS = (
    "#3b6fb6", "#2e9d4a", "#e3a400", "#8e44ad", "#f06a00", "#0f9b8e", "#7f8c8d",
    "#c0392b", "#5dade2", "#82c46c", "#f5cd5b", "#bb8fce", "#f5a26b", "#76d7c4",
    "#34495e", "#a04000", "#d35480", "#154360", "#7d6608",
)  # fmt: skip
ROWS_PER_PAGE = 22
LABEL_IN = 0.45  # inches: a bar's minutes label at 7 pt ("20.0 min" is 0.40 wide)
LISTED = 6  # symptom stops and notes listed under a chart; more are counted
GUIDANCE = "the guidance: up to {} sessions a day on an area, 5–6 minutes each".format(
    guidance.SESSIONS_PER_DAY
)
HOW_TO_MEASURE = (
    "Measure it with 'knotball measure AREA' (or 'knotball calibrate bands'): three slow "
    "presses into the ball on that area, each built up over about 5 s until the pressure "
    "feels strong but good. Repeat it every week or two on the same area to see a trend."
)


def _colour(areas, area):
    return AREA_COLOURS[areas.index(area) % len(AREA_COLOURS)]


class _Pages:
    """The PDF being written: each page with its title, a subtitle and a numbered footer."""

    def __init__(self, pdf, span):
        self.pdf, self.span, self.count = pdf, span, 0

    def new(self, title, subtitle=""):
        fig = plt.figure(figsize=A4_LANDSCAPE)
        fig.text(0.05, 0.95, title, fontsize=17, fontweight="bold", va="top")
        if subtitle:
            fig.text(0.05, 0.905, subtitle, fontsize=10, color=GREY, va="top", linespacing=1.5)
        return fig

    def save(self, fig):
        self.count += 1
        fig.text(
            0.05,
            0.03,
            "knotball report · {} · page {}".format(self.span, self.count),
            fontsize=8,
            color="#888888",
        )
        self.pdf.savefig(fig)
        plt.close(fig)


def _plain(ax):
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    ax.set_axisbelow(True)
    ax.grid(axis="y", color="#e6e6e6", linewidth=0.6)


def _day_axis(ax, days):
    """Days along x: one position per date, labelled with the weekday, thinned when many."""
    step = max(1, math.ceil(len(days) / 16))
    ticks = list(range(0, len(days), step))
    ax.set_xticks(ticks)
    ax.set_xticklabels(
        [datetime.date.fromisoformat(days[i]["date"]).strftime("%a\n%d %b") for i in ticks],
        fontsize=8,
    )
    ax.set_xlim(-0.6, len(days) - 0.4)
    ax.set_xlabel("day")


def _counts_axis(ax, top):
    ax.set_ylim(0, max(top, 1) * 1.25)
    ax.yaxis.get_major_locator().set_params(integer=True)


def _text_lines(fig, y, lines, colour=GREY):
    shown = lines[:LISTED]
    if len(lines) > LISTED:
        shown.append("… and {} more".format(len(lines) - LISTED))
    for i, line in enumerate(shown):
        fig.text(0.07, y - i * 0.028, line, fontsize=9, color=colour, va="top")


def _dose_page(pages, days, sessions, undated):
    areas = physio.areas_in(days)
    total_ms = sum(d["duration_ms"] for d in days)
    used = sum(1 for d in days if d["sessions"])
    subtitle = "{} session{}, {} on {} of {} day{} · {}".format(
        len(sessions),
        "" if len(sessions) == 1 else "s",
        guidance.minutes(total_ms),
        used,
        len(days),
        "" if len(days) == 1 else "s",
        GUIDANCE,
    )
    if undated:
        subtitle += (
            "\n{} session{} without a date (the ball's clock was not set) not shown".format(
                undated, "" if undated == 1 else "s"
            )
        )
    fig = pages.new("Sessions and minutes per day and area", subtitle)
    top = fig.add_axes((0.07, 0.52, 0.70, 0.30))
    bottom = fig.add_axes((0.07, 0.16, 0.70, 0.25))
    width = 0.8 / max(len(areas), 1)
    label = len(days) <= 14  # room for a label on each bar
    # A label wider than its bar would run into the next area's: stand it up instead.
    upright = width * 0.70 * A4_LANDSCAPE[0] / len(days) < LABEL_IN
    for k, area in enumerate(areas):
        xs = [i - 0.4 + width * (k + 0.5) for i in range(len(days))]
        n = [d["areas"].get(area, {}).get("sessions", 0) for d in days]
        bars = top.bar(xs, n, width * 0.9, color=_colour(areas, area), label=area)
        if label:
            minutes = [d["areas"].get(area, {}).get("duration_ms", 0) / 60000 for d in days]
            top.bar_label(
                bars,
                ["{:.1f} min".format(m) if m else "" for m in minutes],
                fontsize=7,
                color=GREY,
                padding=2,
                rotation=90 if upright else 0,
            )
    top.axhline(guidance.SESSIONS_PER_DAY, color=GUIDE, linewidth=1, linestyle=(0, (4, 3)))
    top.text(
        len(days) - 0.4,
        guidance.SESSIONS_PER_DAY,
        " up to {} a day".format(guidance.SESSIONS_PER_DAY),
        color=GUIDE,
        fontsize=8,
        va="center",
    )
    _plain(top)
    _counts_axis(top, max([guidance.SESSIONS_PER_DAY] + [d["sessions"] for d in days]))
    _day_axis(top, days)
    top.set_ylabel("sessions a day")
    top.set_title("Sessions per day and area (minutes on top)", loc="left", fontsize=11)
    legend = top.legend(
        title="area", loc="upper left", bbox_to_anchor=(1.11, 1), frameon=False, fontsize=8
    )

    for k, area in enumerate(areas):
        xs, ys = [], []
        for i, d in enumerate(days):
            # each session of the day side by side within the area's slot, in time order
            mine = [s for s in sessions if guidance.day_of(s) == d["date"]]
            mine = [s for s in mine if physio.area_of(s) == area]
            for j, s in enumerate(guidance.ordered(mine)):
                xs.append(i - 0.4 + width * (k + (j + 0.5) / len(mine)))
                ys.append(s["duration_ms"] / 60000)
        bottom.plot(
            xs,
            ys,
            "o",
            color=_colour(areas, area),
            markersize=6,
            alpha=0.8,
        )
    limit = guidance.SESSION_MAX_MS / 60000
    bottom.axhspan(5, limit, color=GUIDE, alpha=0.08, linewidth=0)
    bottom.axhline(limit, color=GUIDE, linewidth=1, linestyle=(0, (4, 3)))
    bottom.text(len(days) - 0.4, limit, " up to 5–6 min", color=GUIDE, fontsize=8, va="center")
    _plain(bottom)
    longest = max([s["duration_ms"] / 60000 for s in sessions] + [limit])
    bottom.set_ylim(0, longest * 1.2)
    _day_axis(bottom, days)
    bottom.set_ylabel("minutes per session")
    bottom.set_title("Minutes of each session, per day and area", loc="left", fontsize=11)
    notes = ["{}: {}".format(d["date"], note) for d in days for note in d["notes"]]
    # Under the legend, however many areas it lists (with four it reached the heading at 0.70).
    legend_bottom = legend.get_window_extent().transformed(fig.transFigure.inverted()).y0
    y = min(0.70, legend_bottom - 0.04)
    if notes:
        fig.text(0.85, y, "Over the guidance", fontsize=10, fontweight="bold", color=GUIDE)
        if len(notes) > LISTED:
            notes = notes[:LISTED] + ["… and {} more".format(len(notes) - LISTED)]
        fig.text(0.85, y - 0.03, "\n".join(textwrap.fill(n, 28) for n in notes), fontsize=8,
                 color=GUIDE, va="top", linespacing=1.4)  # fmt: skip
    else:
        fig.text(0.85, y, "Every day within\nthe guidance", fontsize=10, color="#2e9d4a")
    pages.save(fig)


def _safety_page(pages, days, sessions):
    hard = sum(d["too_hard"] for d in days)
    symptom = [s for s in sessions if s["stop_reason"] == "symptom"]
    subtitle = (
        "{} too-hard moment{} (the pressure went past the 'too hard' edge: the ball buzzes "
        "and shows red) · {} stop{} for numbness or tingling".format(
            hard, "" if hard == 1 else "s", len(symptom), "" if len(symptom) == 1 else "s"
        )
    )
    fig = pages.new("Too hard and numbness or tingling", subtitle)
    top = fig.add_axes((0.07, 0.55, 0.88, 0.27))
    bottom = fig.add_axes((0.07, 0.22, 0.88, 0.22))
    xs = range(len(days))
    for ax, values, colour, ylabel, title in (
        (top, [d["too_hard"] for d in days], RED, "too-hard moments", "Too-hard moments per day"),
        (
            bottom,
            [d["symptom_stops"] for d in days],
            SYMPTOM_COLOUR,
            "stops",
            "Sessions stopped for numbness or tingling, per day",
        ),
    ):
        bars = ax.bar(xs, values, 0.6, color=colour)
        if len(days) <= 31:
            ax.bar_label(bars, [str(v) if v else "" for v in values], fontsize=8, padding=2)
        _plain(ax)
        _counts_axis(ax, max(values + [1]))
        _day_axis(ax, days)
        ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left", fontsize=11)
    if symptom:
        lines = [
            "{} · session {}{} · {} · after {}".format(
                guidance.started(s),
                s["id"],
                " of " + s["ball"] if len({x["ball"] for x in sessions}) > 1 else "",
                physio.area_of(s),
                guidance.short_minutes(s["duration_ms"]),
            )
            for s in symptom
        ]
        _text_lines(fig, 0.12, lines, SYMPTOM_COLOUR)
    else:
        fig.text(0.07, 0.12, "No session was stopped for numbness or tingling.", fontsize=9)
    pages.save(fig)


def _threshold_page(pages, measured, first, last):
    span = physio.range_text(first, last)
    if not [m for m in measured if not m["before"]]:
        fig = pages.new("Pressure threshold per area")
        fig.text(0.05, 0.8, "No pressure threshold measured {}.".format(span), fontsize=13)
        lines = [
            "Last measured before: {} on {}: {:.1f} N".format(m["area"], m["date"], m["level_n"])
            for m in measured
            if m["before"]
        ]
        if lines:
            lines.append("")
        lines += textwrap.wrap(HOW_TO_MEASURE, 110)
        fig.text(0.05, 0.74, "\n".join(lines), fontsize=11, va="top", linespacing=1.6)
        pages.save(fig)
        return
    areas = sorted({m["area"] for m in measured})
    subtitle = (
        "The level of three slow presses up to 'strong but good' (knotball measure AREA): "
        "the dot is their mean, the bar their range.\nA level that rises over the weeks means "
        "the area takes more pressure before it hurts: each area's change is under its name."
    )
    fig = pages.new("Pressure threshold per area", subtitle)
    # Narrower than the other charts: the legend beside it holds each area's change in
    # words (one line of the subtitle held them all, and ran off the page from two areas).
    ax = fig.add_axes((0.08, 0.16, 0.62, 0.62))
    for area in areas:
        mine = [m for m in measured if m["area"] == area]
        when = [datetime.datetime.fromtimestamp(m["at_unix"]) for m in mine]
        levels = [m["level_n"] for m in mine]
        low = [lv - min(m["peaks_n"] or [lv]) for lv, m in zip(levels, mine, strict=True)]
        high = [max(m["peaks_n"] or [lv]) - lv for lv, m in zip(levels, mine, strict=True)]
        colour = _colour(areas, area)
        label = "{}\n{}".format(area, physio.trend_text(mine))
        ax.errorbar(
            when, levels, yerr=[low, high], color=colour, marker="o", capsize=4, label=label
        )
        for w, lv, m in zip(when, levels, mine, strict=True):
            note = "{:.1f} N".format(lv) + (" (before)" if m["before"] else "")
            ax.annotate(note, (w, lv), xytext=(6, 6), textcoords="offset points", fontsize=8)
    ax.axvspan(
        datetime.datetime.combine(first, datetime.time()),
        datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time()),
        color="#3b6fb6",
        alpha=0.06,
        linewidth=0,
        label="the report's days",
    )
    _plain(ax)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%Y"))
    ax.set_ylim(0, max(max(m["peaks_n"] or [m["level_n"]]) for m in measured) * 1.2)
    ax.set_xlabel("date measured")
    ax.set_ylabel("strong-but-good level (N)")
    ax.set_title("Threshold over time", loc="left", fontsize=11)
    ax.legend(title="area", loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    pages.save(fig)


SESSION_COLUMNS = (
    "started", "ball", "id", "area", "minutes", "stopped", "light s", "medium s", "firm s",
    "too hard s", "too hard ×", "peak N", "holds",
)  # fmt: skip
# Of the table's axes, 0.92 of the page: each column as wide as its heading or its widest
# text needs at 8.5 pt, the area's for a name of AREA_LEN (20) characters, "stopped"'s for
# "numbness or tingling" in bold (a cell's text starts 10 % into it and is not clipped: a
# text wider than the rest of its cell runs under the next cell).
SESSION_WIDTHS = (
    0.125, 0.068, 0.035, 0.155, 0.06, 0.148, 0.052, 0.068, 0.046, 0.072, 0.076, 0.052, 0.041,
)  # fmt: skip


def _session_row(s):
    seconds = [
        "{:.0f}".format(s["band_ms"][b] / 1000) for b in ("light", "medium", "firm", "over")
    ]
    return (
        [guidance.started(s), s["ball"], str(s["id"]), physio.area_of(s)]
        + ["{:.1f}".format(s["duration_ms"] / 60000), stops.phrase(s["stop_reason"])]
        + seconds
        + [str(s["too_hard_count"]), "{:.1f}".format(s["peak_n"]), str(s["holds"])]
    )


def _sessions_pages(pages, sessions):
    ordered = guidance.ordered(sessions)
    for start in range(0, len(ordered), ROWS_PER_PAGE):
        chunk = ordered[start : start + ROWS_PER_PAGE]
        fig = pages.new(
            "Sessions",
            "{}–{} of {} · times in seconds per band; 'too hard ×' counts the moments the "
            "pressure went past the 'too hard' edge".format(
                start + 1, start + len(chunk), len(ordered)
            ),
        )
        ax = fig.add_axes((0.04, 0.08, 0.92, 0.78))
        ax.axis("off")
        table = ax.table(
            cellText=[_session_row(s) for s in chunk],
            colLabels=SESSION_COLUMNS,
            colWidths=SESSION_WIDTHS,
            loc="upper center",
            cellLoc="left",
        )
        table.auto_set_font_size(False)
        table.set_fontsize(8.5)
        table.scale(1, 1.45)
        for (r, c), cell in table.get_celld().items():
            cell.set_edgecolor("#dddddd")
            if r == 0:
                cell.set_text_props(fontweight="bold")
                cell.set_facecolor("#eeeeee")
                continue
            s = chunk[r - 1]
            if s["stop_reason"] == "symptom" and c == 5:
                cell.set_text_props(color=SYMPTOM_COLOUR, fontweight="bold")
            if s["too_hard_count"] and c == 10:
                cell.set_text_props(color=RED, fontweight="bold")
            if s["duration_ms"] > guidance.SESSION_MAX_MS and c == 4:
                cell.set_text_props(color=GUIDE, fontweight="bold")
        pages.save(fig)


def _empty_page(pages, span, everything):
    fig = pages.new("No sessions {}".format(span))
    if everything:
        dated = sorted(d for d in map(guidance.day_of, everything) if d)
        known = "The history holds {} session{}".format(
            len(everything), "" if len(everything) == 1 else "s"
        )
        if dated:
            known += ", from {} to {}".format(dated[0], dated[-1])
        text = known + ": choose those days with --from and --to."
    else:
        text = "The history is empty: bring a ball's sessions home with `knotball pull`."
    fig.text(0.05, 0.8, text, fontsize=12, wrap=True)
    pages.save(fig)


def render(sessions, calibrations, first, last, everything=()):
    """(PDF bytes, page count) of the report on `sessions` (already those of the range)
    from `first` to `last` (dates), with the threshold measurements from `calibrations`.
    `everything`: the whole history, to say what there is when the range is empty."""
    span = "{} to {}".format(first, last) if first != last else str(first)
    out = io.BytesIO()
    with (
        matplotlib.rc_context({"pdf.fonttype": 42, "font.size": 9}),
        PdfPages(out, metadata={"Title": "knotball report " + span, "Creator": "knotball"}) as pdf,
    ):
        pages = _Pages(pdf, span)
        if not sessions:
            _empty_page(pages, physio.range_text(first, last), list(everything))
        else:
            undated = sum(1 for s in everything if not s["start_unix"])
            days = physio.day_totals(sessions, first, last)
            _dose_page(pages, days, sessions, undated)
            _safety_page(pages, days, sessions)
            _threshold_page(pages, physio.thresholds(calibrations, first, last), first, last)
            _sessions_pages(pages, sessions)
        count = pages.count
    return out.getvalue(), count
