"""Start light, build up: what the history suggests for the next session. Only ever a
suggestion, with the command to take it; the ball's limit changes only when the person
runs that command.

The guidance: begin with up to one minute; at most 5-6 minutes on an area; it should feel
good, never irritating; stop at numbness or tingling. So a new person starts at 60 s, and
after COMFORTABLE_RUN comfortable sessions in a row at the current limit the next step is
STEP_S longer, up to the firmware's hard cap. A session is comfortable when it ran its full
time (stopped by the time limit, not cut short) and stayed out of "too hard" (at most one
too-hard cue and under OVER_SHARE of its time above the firm band). A numbness or tingling
stop in the last SYMPTOM_DAYS days, on any of the person's balls, holds every suggestion back
and advises rest instead: the advice is for the person, the limits are per ball.
"""

import time

from ball.config import DEFAULTS, HARD_CAP_S

STEP_S = 60
COMFORTABLE_RUN = 3
OVER_SHARE = 0.05
SYMPTOM_DAYS = 7


def comfortable(s):
    """Did this session run its full time without pressing too hard?"""
    if s["stop_reason"] != "time_limit" or not s["complete"] or s["recovered"]:
        return False
    over = s["band_ms"]["over"]
    return s["too_hard_count"] <= 1 and over <= OVER_SHARE * max(s["duration_ms"], 1)


def limit_s(s):
    """The session limit the session ran under (None when the ball did not keep it)."""
    ms = s.get("session_limit_ms")
    return None if ms is None else ms // 1000


def _rest(sessions, now):
    """The rest advice when a session of any ball ended with numbness or tingling in the
    last SYMPTOM_DAYS days (or at an unknown time), else None."""
    recent = [
        s
        for s in sessions
        if s["stop_reason"] == "symptom"
        and (not s["start_unix"] or now - s["start_unix"] < SYMPTOM_DAYS * 86400)
    ]
    if not recent:
        return None
    last = recent[-1]
    which = " of {}".format(last["ball"]) if last.get("ball") else ""
    return {
        "kind": "rest",
        "text": "Session {}{} ended with numbness or tingling. Rest that area; if it happens "
        "again, stop using the ball there and see a physiotherapist or doctor. No longer "
        "sessions are suggested for {} days after it.".format(last["id"], which, SYMPTOM_DAYS),
    }


def suggest(sessions, now=None, everyone=None):
    """One ball's sessions, oldest first -> a dict: kind (start / rest / longer / stay /
    cap / ease), text, and for "longer" the suggested limit_s and the command. `everyone`:
    the sessions of all the person's balls (default: these), for the symptom stop."""
    now = time.time() if now is None else now
    tip = _rest(sessions if everyone is None else everyone, now)
    if tip is not None:
        return tip
    if not sessions:
        return {
            "kind": "start",
            "text": "Start light: sessions of {} s, the ball's default. The history will "
            "suggest longer ones once a few have felt comfortable.".format(
                DEFAULTS["session_limit_s"]
            ),
        }
    current = next((limit_s(s) for s in reversed(sessions) if limit_s(s) is not None), None)
    if current is None:
        current = DEFAULTS["session_limit_s"]
    run = []
    for s in reversed(sessions):
        if limit_s(s) not in (None, current):
            break
        run.append(s)
    hard = [s for s in run[:COMFORTABLE_RUN] if s["too_hard_count"] > 1]
    if len(hard) >= 2:
        return {
            "kind": "ease",
            "text": '{} of your last sessions went into "too hard" again and again: ease '
            "off. It should feel good, never irritating; pressing too hard makes the body "
            "fight back. If the bands feel wrong for you, run `knotball calibrate "
            "bands`.".format(len(hard)),
        }
    streak = 0
    for s in run:
        if not comfortable(s):
            break
        streak += 1
    if current >= HARD_CAP_S:
        return {
            "kind": "cap",
            "text": "Your sessions are {} s: the most the guidance allows on one area "
            "(5-6 minutes).".format(current),
        }
    if streak < COMFORTABLE_RUN:
        return {
            "kind": "stay",
            "text": "Stay at {} s for now: {} comfortable session{} in a row at that limit "
            "so far; after {} the history suggests a longer one.".format(
                current, streak, "" if streak == 1 else "s", COMFORTABLE_RUN
            ),
        }
    longer = min(current + STEP_S, HARD_CAP_S)
    command = "knotball config session_limit_s={}".format(longer)
    return {
        "kind": "longer",
        "limit_s": longer,
        "command": command,
        "text": "Your last {} sessions at {} s ran their full time comfortably. If it still "
        "feels good, you could try {} s: `{}` (with --port if several balls are connected). "
        "Only if it feels right: nothing changes until you run it.".format(
            streak, current, longer, command
        ),
    }
