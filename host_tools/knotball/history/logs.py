"""Session log files as the host reads them (`knotball inspect`, `import`), and the brief
form of a session that contracts 4 and 5 promise (`inspect --json`, `pull --json`)."""

from ball.wire import logfile


def date_from_uptime(sessions, hello, host_now):
    """Date the sessions recorded while the ball's clock was not set (start 0), in place,
    when the ball has not been reset since: the same boot id as `hello` (the ball's `KB
    hello`, read at host_now). Their start becomes an estimate, marked start_estimated."""
    boot, uptime_s = hello.get("boot"), hello.get("uptime_s")
    if not boot or uptime_s is None:
        return
    for s in sessions:
        h = s.get("header", {})
        if not s.get("start_unix") and h.get("boot") == boot and h["uptime_s"] <= uptime_s:
            s["start_unix"] = int(round(host_now - (uptime_s - h["uptime_s"])))
            s["start_estimated"] = True


def brief(s):
    """The fields of a session that contract 4/5 promise."""
    return {
        "id": s["id"],
        "duration_ms": s["duration_ms"],
        "stop_reason": s["stop_reason"],
        "band_ms": s["band_ms"],
        "peak_n": s["peak_n"],
    }


def damage_dicts(damage):
    """The reader's [(offset, reason)] as [{"offset", "reason"}]."""
    return [{"offset": off, "reason": why} for off, why in damage]


def describe_damage(damage):
    """One line naming every damage: "at byte N: why; at byte M: why"."""
    return "; ".join("at byte {}: {}".format(d["offset"], d["reason"]) for d in damage)


def read(path):
    """(sessions, damage, error): error is a message when the file cannot be read or is not
    a knotball log; damage is a list of {"offset", "reason"}, empty when there is none."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return [], [], "cannot read it ({})".format(e.strerror)
    if not data:
        return [], [], "not a knotball log (the file is empty)"
    try:
        sessions, damage = logfile.read(data)
    except logfile.NotALog as e:
        return [], [], str(e)
    return sessions, damage_dicts(damage), None
