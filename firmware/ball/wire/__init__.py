# The wire: every byte layout and name table shared by the ball (which writes) and the host
# (which reads), in one place. This module: what each number on the wire means (below).
# framing: the "KB" frame around every log record and console frame, and the scanners
# that find frames. records: the session log's records. console: the USB console's
# frames. logfile: the rules for reading a whole log file. Each layout is a
# pack_into(buf, off, ...) for the ball (in place, allocation-free) beside its unpack(...)
# for the reader.
#
# The index of a name in these tables is the byte the ball writes. Append only: a reader
# of older logs and balls reads the same names. The ball's logic keeps its own const()
# indices (session.py, app.py); tests check that both agree (tests/core/test_wire.py).

BAND_NAMES = ("idle", "light", "medium", "firm", "over")
# Cues in the order of Session.cue_counts, the log's cue counts and the live frame's cue bits.
CUE_NAMES = ("hold_effective", "hold_long", "too_hard", "time_warning", "done", "rest")
STOP_REASONS = (
    "", "time_limit", "idle", "aborted", "interrupted", "sensor_fault", "symptom", "low_battery",
)  # fmt: skip
STATE_NAMES = ("ready", "active", "stopped")
# Sensor faults: 0 none (in a log's 'F' record: the sensor works again), then what failed.
FAULT_NAMES = ("", "bus", "sensor", "stuck")
LOG_VERSION = 3  # the 'H' record's format version (1: no record ids, 2: no last mark; read)
PROTO = 2  # the USB console protocol's version, in the `KB hello` reply


def name(table, i):
    """table[i], or "unknown" for an index a newer writer added."""
    return table[i] if 0 <= i < len(table) else "unknown"
