"""Threshold files (tNNNNNNN.kbt) as the host reads them: a body area's pressure threshold the
ball measured by itself (the phone page's "measure"; format in ball.wire.threshold), brought
into the history by `knotball pull` and `import` as a "threshold" measurement, the same kind
`knotball measure AREA` stores, and shown by `knotball inspect`.

A measurement is stored once: its source names the ball and the instant the ball took it (unix
time, boot id, seconds since that boot) and the area, so pulling a file again (the `rm` lost
when the cable came out) or importing a pulled copy adds nothing.
"""

import os
import time

from ball import dose
from ball.wire import framing as fr
from ball.wire import threshold

KIND = "threshold"
# How a measurement got its date: the ball's clock; its uptime against the pull's `KB hello`
# (the clock was not set, the ball has not restarted since); the pull or the file's copy
# (the clock was not set and nothing better is known).
BY_CLOCK, BY_UPTIME, BY_PULL, BY_FILE = "clock", "uptime", "pull", "file"


class NotAThreshold(ValueError):
    """The bytes hold no knotball record at all."""


class Newer(ValueError):
    """A threshold file from a newer format version than this knotball reads."""


def is_threshold_name(name):
    return threshold.number_of(name) is not None


def looks_like(data):
    """Whether a file's bytes begin as a threshold record does (its magic and type)."""
    return bytes(data[:3]) == fr.MAGIC + bytes([threshold.THRESHOLD])


def read(data):
    """The measurement in a threshold file's bytes: threshold.unpack()'s dict. Raises
    NotAThreshold (no knotball record in them), Newer (a later format version) or ValueError
    naming the damage."""
    data = bytes(data)
    got = list(fr.frames(data))
    valid = [(off, rtype, p) for off, rtype, p in got if rtype is not None]
    if not data or not valid and data[:2] != fr.MAGIC[: len(data[:2])]:
        raise NotAThreshold("not a knotball file (no knotball record in it)")
    if valid and valid[0][0] == 0 and valid[0][1] == threshold.THRESHOLD:
        payload = valid[0][2]
        if payload and payload[0] > threshold.VERSION:
            raise Newer(
                "threshold format version {} (this knotball reads {})".format(
                    payload[0], threshold.VERSION
                )
            )
    m = threshold.unpack(data)
    why = dose.area_problem(m["area"])
    if why:
        raise ValueError("its area {}".format(why))
    return m


def is_threshold_file(path):
    """Whether `path` names a threshold file: its name ends in .kbt, or its bytes begin as a
    threshold record does (a copy renamed)."""
    if str(path).endswith(threshold.SUFFIX):
        return True
    try:
        with open(path, "rb") as f:
            return looks_like(f.read(3))
    except OSError:
        return False


def read_file(path):
    """(measurement, damage, error, data) of a threshold file on this computer: error
    (a message) when it cannot be read, is not a knotball file or is of a newer format
    (NEWER: what to do) and damage ([{"offset", "reason"}]) when it is damaged; the
    measurement is None then."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return None, [], "cannot read it ({})".format(e.strerror), b""
    try:
        return read(data), [], None, data
    except Newer as e:
        return None, [], "{}: {}".format(e, NEWER), data
    except NotAThreshold as e:
        return None, [], str(e), data
    except ValueError as e:
        bad = [off for off, rtype, _ in fr.frames(data) if rtype is None]
        return None, [{"offset": bad[0] if bad else 0, "reason": str(e)}], None, data


NEWER = "update knotball to read it"


def file_time(path):
    """(the file's modification time, BY_FILE): the date of a measurement the ball took before
    its clock was set, when only a copy of its file is at hand."""
    return int(os.stat(path).st_mtime), BY_FILE


def dated(m, hello=None, hello_at=None, fallback=None):
    """(unix time, how) of a measurement: the ball's clock when it was set; else from the
    ball's uptime when `hello` (its `KB hello`, read at hello_at) is of the same boot; else
    `fallback` (BY_PULL: now; or (unix, BY_FILE))."""
    if m["unix"]:
        return m["unix"], BY_CLOCK
    hello = hello or {}
    boot, uptime_s = hello.get("boot"), hello.get("uptime_s")
    if m["boot"] and boot == m["boot"] and uptime_s is not None and m["uptime_s"] <= uptime_s:
        return int(round(hello_at - (uptime_s - m["uptime_s"]))), BY_UPTIME
    if fallback is not None:
        return fallback
    return int(time.time()), BY_PULL


def source(ball, m):
    """The measurement's identity in the history: the ball's id, when it took it, the area."""
    return "kbt:{}:{}:{}:{}:{}".format(ball, m["unix"], m["boot"], m["uptime_s"], m["area"])


def store(history, ball, m, at, how, hello=None):
    """Keep the measurement `m` of ball `ball` (its own id, or its name when it has none) in
    the history, dated `at`, once. Returns (row id, added). Raises store.StoreError."""
    quality = {"level_n": m["level_n"], "spread_pct": m["spread_pct"]}
    if how != BY_CLOCK:
        quality["dated"] = how
    points = [{"peak_n": p, "rise_ms": r} for p, r in zip(m["peaks_n"], m["rise_ms"], strict=True)]
    hello = hello or {}
    return history.add_once(
        source(ball, m),
        ball,
        KIND,
        {},
        quality,
        points,
        at=at,
        area=m["area"],
        board=hello.get("board"),
        sensor=hello.get("like") or hello.get("sensor"),
        firmware=hello.get("firmware"),
    )


def when(at, how):
    """When a measurement was taken, in words ("2026-12-05 10:00", with how it was dated)."""
    text = time.strftime("%Y-%m-%d %H:%M", time.localtime(at))
    if how == BY_UPTIME:
        return "about {} (the ball's clock was not set: dated from its uptime)".format(text)
    if how == BY_PULL:
        return (
            "by {} (the ball's clock was not set and it restarted since: dated by this "
            "pull)".format(text)
        )
    if how == BY_FILE:
        return "by {} (the ball's clock was not set: dated by the file's copy)".format(text)
    return text


def describe(m):
    """ "calves threshold 30.5 N (spread 6 %)"."""
    return "{} threshold {:.1f} N (spread {:.0f} %)".format(
        m["area"].replace("_", " "), m["level_n"], m["spread_pct"]
    )


def brief(m, at, how):
    """A measurement as `pull --json` and `inspect --json` give it."""
    return {
        "area": m["area"],
        "level_n": m["level_n"],
        "spread_pct": m["spread_pct"],
        "peaks_n": m["peaks_n"],
        "rise_ms": m["rise_ms"],
        "at_unix": at,
        "dated": how,
    }
