"""The picture of one session for `knotball report --png`: force over time coloured by band,
the band edges, the holds, the too-hard moments, sensor faults and the time limit."""

import io

import matplotlib

matplotlib.use("Agg")  # files only, never a window: before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ball.wire import BAND_NAMES  # noqa: E402
from knotball import stops  # noqa: E402
from knotball.history import guidance  # noqa: E402

BAND_LABELS = tuple("too hard" if b == "over" else b for b in BAND_NAMES)
# The LED's colours (firmware feedback.BAND_RGB: green, amber, orange, red), made readable on
# white; idle, dim blue on the ball, is a quiet grey here.
BAND_COLOURS = ("#9aa0a6", "#2e9d4a", "#e3a400", "#f06a00", "#d7263d")
EDGE_KEYS = ("light_mn", "medium_mn", "firm_mn", "over_mn")
HOLD_COLOUR = "#3b6fb6"
FAULT_COLOUR = "#b000b5"
SYMPTOM_COLOUR = "#0f9b8e"  # the ball's teal after a symptom stop
# A steady hold as the ball judges it (session.py): within 20 % (at least 1.5 N) of a level
# that follows slowly (time constant ~2.5 s, here per 100 ms sample), in light..firm.
_HOLD_TOL = 0.20
_HOLD_TOL_MIN_N = 1.5
_HOLD_FOLLOW = 1 / 26


def holds(trace, hold_min_ms, period_ms):
    """Steady spans of at least hold_min_ms, as (start_ms, end_ms), derived from the trace.
    An approximation of the ball's own judgement: the trace is a 10 Hz mean, the ball saw
    100 Hz."""
    if not trace:
        return []
    spans, start, ref, last = [], None, 0.0, 0
    for t, band, f in trace + [(trace[-1][0] + period_ms, 0, 0.0)]:  # idle at the end
        tol = max(ref * _HOLD_TOL, _HOLD_TOL_MIN_N)
        if start is not None and 1 <= band <= 3 and abs(f - ref) <= tol:
            ref += (f - ref) * _HOLD_FOLLOW
            last = t
            continue
        if start is not None and last - start >= hold_min_ms:  # as the ball times it
            spans.append((start, last + period_ms))
        start, ref, last = (t, f, t) if 1 <= band <= 3 else (None, 0.0, 0)
    return spans


def too_hard_entries(trace):
    """Session times at which the band went into 'over' (the too-hard cue)."""
    return [t for i, (t, b, _) in enumerate(trace) if b == 4 and (i == 0 or trace[i - 1][1] != 4)]


def fault_spans(faults, end_ms):
    """(start, end) of each time the sensor was faulty, from the F records."""
    spans, since = [], None
    for t, what in faults:
        if what == "cleared":
            if since is not None:
                spans.append((since, t))
            since = None
        elif since is None:
            since = t
    if since is not None:
        spans.append((since, end_ms))
    return spans


def _bands_in_colour(ax, trace, period_ms):
    """The force line and the area under it in the colour of the band the ball showed: one
    polygon and one line per run of a band, joined where the band changes."""
    xs = [(t + period_ms / 2) / 1000 for t, _, _ in trace]
    fs = [f for _, _, f in trace]
    i = 0
    while i < len(trace):
        band = min(trace[i][1], 4)
        j = i
        while j + 1 < len(trace) and trace[j + 1][1] == trace[i][1]:
            j += 1
        lo = max(i - 1, 0)  # from the previous sample: no gap where the colour changes
        x, f = xs[lo : j + 1], fs[lo : j + 1]
        colour = BAND_COLOURS[band]
        ax.fill_between(x, f, 0, color=colour, alpha=0.25, linewidth=0)
        ax.plot(x, f, color=colour, linewidth=1.8, solid_capstyle="round", zorder=3)
        i = j + 1


def _too_hard(ax, trace, period_ms, right_s):
    """A marker at each entry into 'over'; one label per cluster of entries close together."""
    entries = [
        ((t + period_ms / 2) / 1000, max(f for tt, _, f in trace if t <= tt < t + 1000))
        for t in too_hard_entries(trace)
    ]
    red = BAND_COLOURS[4]
    clusters: list = []
    for x, f in entries:
        if clusters and x - clusters[-1][0][0] < right_s * 0.06:
            clusters[-1].append((x, f))
        else:
            clusters.append([(x, f)])
    for cluster in clusters:
        ax.plot([x for x, _ in cluster], [f for _, f in cluster], "v", color=red, markersize=4)
        x = (cluster[0][0] + cluster[-1][0]) / 2
        f = max(f for _, f in cluster)
        label = "too hard" if len(cluster) == 1 else "too hard ×{}".format(len(cluster))
        ax.annotate(
            label,
            (x, f),
            xytext=(0, 8),
            textcoords="offset points",
            ha="center",
            fontsize=8,
            color=red,
        )


def title(s, when):
    return "Session {} · {} · {:.1f} s · {}".format(
        s["id"], when, s["duration_ms"] / 1000, stops.stopped(s["stop_reason"])
    )


def subtitle(s, drawn, limit, end_ms):
    """The facts under the title. The holds are the ball's count; where the spans found in
    the 10 Hz trace (`drawn`) are not as many, it says so rather than disagree silently."""
    n = s["holds"]
    held = "{} effective hold{}".format(n, "" if n == 1 else "s")
    if len(drawn) != n:
        held += " (the ball's count; {} found in the trace, shaded)".format(len(drawn))
    facts = [s["ball"], "peak {:.1f} N".format(s["peak_n"]), held]
    facts.append("too hard {}×".format(s["too_hard_count"]))
    if limit and limit > end_ms * 1.3:
        facts.append("limit {:g} s (not reached)".format(limit / 1000))
    facts += guidance.session_notes(s)
    return "  ·  ".join(facts)


def stop_marker(s):
    """(seconds, label, colour) of the line marking how the session stopped, or None for
    the time limit (its own line says it). A symptom stop is teal, like the ball's LED."""
    if s["stop_reason"] == "time_limit":
        return None
    colour = SYMPTOM_COLOUR if s["stop_reason"] == "symptom" else "#333333"
    return s["duration_ms"] / 1000, stops.stopped(s["stop_reason"]), colour


def render_png(s, title_when):
    """PNG bytes of session `s` (a history session with its trace)."""
    h, trace, period = s["header"], s["trace"], s["header"].get("period_ms") or 100
    end_ms = max(s["duration_ms"], trace[-1][0] + period if trace else 0)
    limit = h.get("session_limit_ms")
    edges = [h[k] / 1000 for k in EDGE_KEYS]
    top = max([s["peak_n"], edges[3]] + [f for _, _, f in trace]) * 1.15

    fig, ax = plt.subplots(figsize=(11, 5), dpi=150, layout="constrained")
    ax.set_facecolor("white")
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    right = end_ms / 1000 * 1.02
    if limit and limit <= end_ms * 1.3:
        right = max(right, limit / 1000 * 1.04)

    drawn = holds(trace, h.get("hold_min_ms") or 5000, period)
    for a, b in drawn:
        ax.axvspan(a / 1000, b / 1000, color=HOLD_COLOUR, alpha=0.09, linewidth=0, zorder=0)
        width = (b - a) / 1000
        if width >= right * 0.025:  # a label only where it fits
            ax.text(
                (a + b) / 2000,
                top * 0.985,
                ("hold {:.0f} s" if width >= right * 0.06 else "{:.0f} s").format(width),
                ha="center",
                va="top",
                fontsize=8,
                color=HOLD_COLOUR,
            )
    for a, b in fault_spans(s["faults"], end_ms):
        ax.axvspan(
            a / 1000,
            max(b, a + period) / 1000,
            color=FAULT_COLOUR,
            alpha=0.18,
            linewidth=0,
            hatch="///",
            zorder=0,
        )

    for k, e in enumerate(edges):
        ax.axhline(e, color=BAND_COLOURS[k + 1], linewidth=0.9, linestyle=(0, (4, 3)), zorder=1)
        ax.text(
            right,
            e,
            " {} {:g} N".format(BAND_LABELS[k + 1], e),
            va="center",
            ha="left",
            fontsize=8,
            color=BAND_COLOURS[k + 1],
            clip_on=False,
        )
    _bands_in_colour(ax, trace, period)

    _too_hard(ax, trace, period, right)
    if limit and limit <= end_ms * 1.3:
        _marked_line(ax, limit / 1000, top, "time limit {:g} s".format(limit / 1000), "#333333")

    marker = stop_marker(s)
    if marker is not None:
        at_s, label, colour = marker
        _marked_line(ax, at_s, top, label, colour, before=True)

    ax.set_xlim(0, right)
    ax.set_ylim(0, top)
    ax.set_xlabel("session time (s)")
    ax.set_ylabel("force (N)")
    ax.grid(axis="x", color="#e6e6e6", linewidth=0.6)
    ax.set_axisbelow(True)
    fig.suptitle(title(s, title_when), x=0.01, ha="left", fontsize=13, fontweight="bold")
    ax.set_title(subtitle(s, drawn, limit, end_ms), loc="left", fontsize=9, color="#555555")
    legend = [Patch(color=BAND_COLOURS[k], alpha=0.7, label=BAND_LABELS[k]) for k in range(1, 5)]
    legend.append(Patch(color=HOLD_COLOUR, alpha=0.2, label="steady hold (from the trace)"))
    if s["faults"]:
        legend.append(Patch(color=FAULT_COLOUR, alpha=0.3, hatch="///", label="sensor fault"))
    ax.legend(
        handles=legend,
        loc="upper left",
        ncols=len(legend),
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0, -0.12),
    )
    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor="white")
    plt.close(fig)
    return out.getvalue()


def _marked_line(ax, at_s, top, label, colour, before=False):
    """A vertical line at at_s with its label written along it: after the line, or before
    it (a stop's marker, so it never sits on the time limit's label)."""
    ax.axvline(at_s, color=colour, linewidth=1.6 if before else 1.2, zorder=2)
    ax.annotate(
        label,
        (at_s, top * 0.5),
        xytext=(-4 if before else 4, 0),
        textcoords="offset points",
        rotation=90,
        ha="right" if before else "left",
        va="center",
        fontsize=8,
        fontweight="bold" if before else "normal",
        color=colour,
    )
