"""The two guided calibrations of `knotball calibrate`: fit the ball's sensor to newtons with
a kitchen scale (scale), and set the bands to what feels strong but good to this person
(bands).

Both flows are interactive but scriptable: prompts on stdout, answers read line by line
from stdin (a pipe works; no terminal needed), and the ball itself tells the person when it
has what it needs with a short buzz. For their whole duration the ball is in calibration
mode (`KB calib on`, renewed every couple of seconds of ball time; the ball drops it by
itself 10 s after the last renewal): it reads and filters the sensor but starts no session,
logs nothing and gives no cues, and its LED shows cyan with a short blink off every second.
It is taken out on every way out: the end, an error, Ctrl-C, the end of the answers.

scale: the ball lies on the scale under a book (which spreads the hands' force), the scale
tared with both on it, so the scale shows the force the hands add; the book's own weight
(asked first) is the force at rest. Each load is read from the raw counts once held steady
for 1.5 s of ball time; the fit is a straight line for a barometer or a load cell and a
power-law curve for an FSR (calfit.py), shown with its errors and a verdict before saving.

bands: the pressure-pain threshold is measured the way a physiotherapist does it with an
algometer: a slow, steady build-up (about 5 s; a fast press overshoots the moment the
person would have said "now", so it is repeated), three times, averaged. Here the end point
is not pain but "strong but good" - the most pressure that still feels good, which is the
top of the firm band. The other edges are fractions of it: first contact low (12.5 %, at
most 5 N, so light rolling still counts), medium from 40 % and firm from 75 % (the working
range a therapist aims for, "a good hurt" below the threshold), and too hard above 100 %,
where the body starts to fight back.
"""

from ball import config
from knotball.calibration import fit as calfit
from knotball.calibration.flow import BAD_INPUT, WAIT_PRESS_MS, Stop

BUZZ_GOT_IT = 250  # ms: the ball has the reading
BUZZ_AGAIN = 500  # ms: too fast, do it again


def model_of(hello):
    """How this ball's sensor responds: an FSR's curve, or a straight line."""
    return "curve" if (hello.get("like") or hello.get("sensor")) == "fsr" else "linear"


def scale(flow):
    say, ball, answers = flow.say, flow.ball, flow.answers
    model = model_of(flow.hello)
    say("You need a kitchen scale and a book (a paperback spreads your hands' force).")
    book = answers.ask(
        ball,
        "1. Weigh the book on its own. What does the scale show (0 without a book)?",
        lambda t: calfit.parse_load(t, allow_zero=True),
    )
    answers.ask(
        ball,
        "2. Put the ball on the scale with the book on top, hands off, and tare the scale "
        "(it shows 0). Then press Enter.",
        str,
    )
    say("  reading the ball at rest…")
    rest = flow.rest()
    say("  at rest: {:.0f} counts (noise ±{:.1f})".format(rest.level, rest.noise))
    readings = [
        _load(flow, rest, i + 3, target)
        for i, target in enumerate(calfit.parse_loads(flow.args.loads))
    ]
    problem = calfit.check_points([(kg, r.delta) for kg, r in readings], rest.threshold)
    if problem:
        raise Stop(problem + "; nothing saved")
    points = [(book * calfit.G, rest.level)] + [
        ((book + kg) * calfit.G, rest.level + r.delta) for kg, r in readings
    ]
    fit = calfit.fit_curve(points) if model == "curve" else calfit.fit_linear(points)
    values = {"zero_counts": int(round(fit.zero))}
    if model == "curve":
        values["cal_points"] = fit.cal_points(1.5 * points[-1][0])
        values["counts_per_n"] = _counts_per_n(fit.counts_above_zero(20.0) / 20.0)
    else:
        values["counts_per_n"] = _counts_per_n(fit.slope)
    quality, table = _show_fit(flow, fit, book, readings)
    raw = {
        "book_kg": book,
        "rest_counts": round(rest.level, 2),
        "rest_noise": round(rest.noise, 3),
        "loads": [
            {"kg": kg, "counts": round(rest.level + r.delta, 2), "spread_pct": r.spread_pct}
            for kg, r in readings
        ],
    }
    flow.result.update(model=model, values=values, quality=quality, points=table)
    if model == "curve" and "cal_points" not in config.DEFAULTS:
        raise Stop("this firmware cannot store an FSR's curve (cal_points): update knotball")
    flow.decide(quality["verdict"])
    flow.save("scale", values, quality, raw)
    say("Next: knotball calibrate bands — set the bands to what feels strong but good to you.")


def _load(flow, rest, step, target):
    """One load: a steady press read from the raw counts, a buzz, the release, and what
    the scale showed. Returns (kg, calfit.Reading)."""
    say = flow.say
    say(
        "{}. Press down on the book until the scale shows about {:g} kg and hold it steady. "
        "The ball buzzes when it has the reading: note what the scale shows, then let "
        "go.".format(step, target)
    )
    hold = calfit.Hold(rest)
    hints = [0]

    def steady(s):
        got = hold.add(s["t_ms"], s["raw"])
        if got is None and hold.pressed_ms > 10000 * (hints[0] + 1):
            hints[0] += 1  # every 10 s of pressing without a steady reading
            say("  hold it steadier (the reading moves by ±{:.0f} %)".format(hold.last_spread))
        return got

    reading = flow.wait_for(
        steady,
        "no steady press seen for {} s: is the ball on the scale, its sensor connected?".format(
            WAIT_PRESS_MS // 1000
        ),
    )
    flow.ball.buzz(BUZZ_GOT_IT)
    say("  got it (steady within ±{:.1f} %): let go".format(reading.spread_pct))
    flow.wait_for(
        lambda s: True if calfit.released(rest, reading, s["raw"]) else None,
        "the ball did not come back to rest: let go of the book",
    )
    return flow.answers.ask(flow.ball, "   What did the scale show?", calfit.parse_load), reading


def _show_fit(flow, fit, book, readings):
    """Print the fit, each point's error and the verdict; returns (quality, table)."""
    say = flow.say
    say()
    if fit.model == "curve":
        say(
            "Fit (FSR curve): counts above zero = {:.0f} × F^{:.3f}, zero at {:.0f}".format(
                fit.slope, fit.exponent, fit.zero
            )
        )
    else:
        say("Fit (straight line): {:.4g} counts per newton, zero at {:.0f}".format(
            fit.slope, fit.zero
        ))  # fmt: skip
    say("  {:>8}  {:>8}  {:>12}  {:>9}  {}".format("scale", "force", "counts", "error", "steady"))
    table = []
    spreads = [None] + [r.spread_pct for _, r in readings]
    for (f, c), (_, err, pct), spread in zip(fit.points, fit.errors, spreads, strict=True):
        table.append({"force_n": round(f, 3), "counts": round(c, 1), "error_n": round(err, 3)})
        say("  {:>6.2f} kg  {:>6.1f} N  {:>12.0f}  {:>+7.2f} N{}  {}".format(
            f / calfit.G - book, f, c, err, "" if pct is None else " ({:+.1f} %)".format(pct),
            "rest" if spread is None else "±{:.1f} %".format(spread),
        ))  # fmt: skip
    err_n, err_pct = fit.max_error()
    quality = {
        "max_error_n": round(err_n, 3),
        "max_error_pct": round(err_pct, 2),
        "verdict": fit.verdict(),
        "spread_pct": [round(r.spread_pct, 2) for _, r in readings],
    }
    say("Largest error: {:.2f} N ({:.1f} %): {}.".format(
        err_n, err_pct, _VERDICT_TEXT[quality["verdict"]]
    ))  # fmt: skip
    if fit.model == "curve":
        line = fit.max_error(fit.line_errors)
        quality.update(exponent=round(fit.exponent, 4), line_error_n=round(line[0], 3))
        quality["line_error_pct"] = round(line[1], 2)
        say("  (a straight line would be off by up to {:.1f} N, {:.0f} %)".format(*line))
    if fit.dof <= 0:
        say("  (no reading to spare: a third load would check the fit)")
    return quality, table


_VERDICT_TEXT = {
    "good": "good",
    "fair": "fair (usable; a steadier hold would do better)",
    "poor": "poor: redo it",
}


def _counts_per_n(value):
    """As precise as the ball's config takes it: a whole number where only those are valid."""
    try:
        config.validate({"counts_per_n": round(value, 4)})
        return round(value, 4)
    except config.ConfigError:
        return int(round(value))


def presses(flow):
    """Three (args.trials) slow presses to "strong but good", as a physiotherapist's
    algometer reading: (the ball's config, level N, spread %, the presses). Stop when a
    press cannot be measured or the level is too low to trust."""
    args, say, ball, answers = flow.args, flow.say, flow.ball, flow.answers
    current = flow.link.request("cfg", on_frame=ball.keep)["config"]
    contact = current["light_n"]
    say(
        "Put the ball against a wall (or on the muscle). {} times: press slowly into it, "
        "taking about 5 s to build up, until the pressure feels strong but good - then ease "
        "off. A short buzz: got it. A long buzz: too fast, do it again.".format(args.trials)
    )
    answers.ask(ball, "Press Enter when ready.", str)
    peaks = []
    while len(peaks) < args.trials:
        say("Press {} of {}: build up slowly…".format(len(peaks) + 1, args.trials))
        trial = calfit.Trial(contact)
        press = flow.wait_for(
            trial.add,
            "no press seen for {} s (the ball reads no force over {} N): is it "
            "calibrated (knotball calibrate scale)?".format(WAIT_PRESS_MS // 1000, contact),
        )
        if press.fault or press.clipped:
            raise Stop(
                "the press went beyond what the ball can measure (peak {:.1f} N{}): press "
                "less hard, or check the sensor; nothing saved".format(
                    press.peak_n, ", sensor fault: " + press.fault if press.fault else ""
                )
            )
        if press.too_fast:
            ball.buzz(BUZZ_AGAIN)
            say(
                "  too fast (the peak came {:.1f} s after contact): build up over about 5 s. "
                "Again.".format(press.rise_ms / 1000)
            )
            continue
        ball.buzz(BUZZ_GOT_IT)
        peaks.append(press)
        say("  peak {:.1f} N, built up over {:.1f} s".format(press.peak_n, press.rise_ms / 1000))
    levels = [p.peak_n for p in peaks]
    level = sum(levels) / len(levels)
    spread = 100 * (max(levels) - min(levels)) / level if level > 0 else 0.0
    say(
        "Strong but good: {:.1f} N (presses {}).".format(
            level, ", ".join("{:.1f}".format(x) for x in levels)
        )
    )
    if spread > calfit.SPREAD_WARN_PCT:
        say(
            "  note: the presses differ by {:.0f} %: the bands may be off; you can run this "
            "again".format(spread)
        )
    if level < calfit.LEVEL_MIN_N:
        raise Stop(
            "{:.1f} N is too low to set bands by (at least {:g} N): is the ball calibrated "
            "(knotball calibrate scale)? Nothing saved".format(level, calfit.LEVEL_MIN_N)
        )
    return current, level, spread, peaks


def _new_bands(flow, current, level, spread, peaks):
    """The band edges from a level, shown beside the ball's; (values, quality, points)."""
    values = calfit.band_edges(level)
    flow.say("  {:<8} {:>7} {:>7}".format("edge", "now", "new"))
    for key, new in values.items():
        flow.say("  {:<8} {:>5.1f} N {:>5.1f} N".format(key[:-2], current[key], new))
    quality = {"level_n": round(level, 2), "spread_pct": round(spread, 1)}
    points = [{"peak_n": p.peak_n, "rise_ms": p.rise_ms} for p in peaks]
    flow.result.update(values=values, quality=quality, points=points)
    return values, quality, points


def bands(flow):
    values, quality, points = _new_bands(flow, *presses(flow))
    flow.decide("good")
    flow.save("bands", values, quality, points)


def measure(flow):
    """`knotball measure AREA`: the area's pressure threshold, kept in the history with the
    area and the date; the bands are set from it only when the person says so."""
    area = flow.args.area
    known = flow.link.request("area", on_frame=flow.ball.keep)["areas"]
    if area not in known:
        raise Stop(
            "AREA {} is not an area of this ball (add it with `knotball area --add {}`); "
            "nothing measured".format(area, area),
            BAD_INPUT,
        )
    flow.say("Measuring on {}.".format(area.replace("_", " ")))
    flow.result["area"] = area
    values, quality, points = _new_bands(flow, *presses(flow))
    if flow.args.keep_bands or not (
        flow.args.yes or flow.answers.confirm(flow.ball, "Set the bands from it too?")
    ):
        row = flow.record("threshold", quality, points, area)
        flow.say("Kept in the history (measurement {}); the bands are unchanged.".format(row))
        return
    flow.save("bands", values, quality, points, area=area)


FLOWS = {"scale": scale, "bands": bands, "measure": measure}
