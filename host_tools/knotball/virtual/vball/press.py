# A press script for the virtual ball (`knotball virtual --press FILE`): a hand on the ball
# instead of a recorded trace, so a calibration can be tried without hardware. Read by the
# host to check the file (knotball.virtual.vball.press) and by the ball to play it, so both
# read it the same way. The format, one point a line:
#
#     # comments and blank lines are ignored
#     0    0        SECONDS NEWTONS: the force at that time of the ball's clock
#     3    0        (from its first sample); straight lines between the points
#     8    40
#     repeat        optional, last: play it again from 0, for ever
#
# Times rise, forces are 0 N or more. After the last point (without `repeat`) the hand is off.


class PressError(ValueError):
    pass


def parse(lines, name="press script"):
    """((t_ms, force_n), ...) and repeat; PressError names the line and what is wrong."""
    points = []
    repeat = False
    for n, line in enumerate(lines, 1):
        text = line.split("#")[0].strip()
        if not text:
            continue
        where = "{}, line {}: ".format(name, n)
        if repeat:
            raise PressError(where + "`repeat` must be the last line")
        if text == "repeat":
            repeat = True
            continue
        parts = text.split()
        try:
            if len(parts) != 2:
                raise ValueError
            t_s, force = float(parts[0]), float(parts[1])
        except ValueError:
            raise PressError(where + "expected `SECONDS NEWTONS` (e.g. `8 40`), got " + text)
        if force < 0 or t_s < 0 or not force < 1e4:
            raise PressError(where + "seconds and newtons must be 0 or more (and sensible)")
        t_ms = int(t_s * 1000)
        if points and t_ms <= points[-1][0]:
            raise PressError(where + "times must rise ({} s is not after the line before)".format(
                parts[0]
            ))  # fmt: skip
        points.append((t_ms, force))
    if not points:
        raise PressError(name + ": no `SECONDS NEWTONS` lines")
    if repeat and points[-1][0] == 0:
        raise PressError(name + ": `repeat` needs a last time above 0")
    return points, repeat


class Press:
    """The script's force at a time of the ball's clock (ms since its first sample)."""

    def __init__(self, points, repeat):
        self.points = points
        self.period = points[-1][0] if repeat else 0

    def at(self, t_ms):
        points = self.points
        if self.period:
            t_ms %= self.period
        if t_ms < points[0][0] or t_ms > points[-1][0]:
            return 0.0
        for i in range(1, len(points)):
            t1, f1 = points[i]
            if t_ms <= t1:
                t0, f0 = points[i - 1]
                return f0 + (f1 - f0) * (t_ms - t0) / (t1 - t0)
        return points[-1][1]
