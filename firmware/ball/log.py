# The session log writer on the ball, and its recovery and rotation: buffering, flash
# scheduling and rotation (the records' layouts are ball/wire/records.py). Samples are
# buffered in RAM; flash work is split into single steps (open, write, flush,
# close, ...) that service() does one at a time after the outputs are driven, so a flash
# commit never delays the sample that needed feedback. A log error never stops a session.
import os
import sys

from ball import const
from ball.session import EV_FAULT, EV_FAULT_CLEAR, EV_START, EV_STOP
from ball.wire import framing as fr
from ball.wire import logfile
from ball.wire import records as rec

SUMMARIES = "summaries.kbl"
NEXT_ID = "next_id"
SUFFIX = ".kbl"
# Samples per trace chunk: a checkpoint every 8 s, durable within rec.DURABLE_MS even when
# its flash steps wait _MAX_DEFER_MS for a calm moment.
_CHUNK = rec.CHECKPOINT_MS // rec.TRACE_PERIOD_MS
_MAX_DEFER_MS = const(1900)  # then a sample each for the write and the sync
_OUT_SIZE = const(2048)
# Flash kept free at the end of a session for the next session, a config save and the
# summaries file; below it the oldest traces are dropped (their summaries stay).
RESERVE_BYTES = 24 * 1024

# Steps run lowest bit first. The next id is saved before the session's file is created, so
# no id whose file ever reached the flash is given again after a power cut. The same atomic
# write keeps the day's session starts (dose.py) on a second line of the next_id file.
_OP_SAVE_ID = const(1)
_OP_OPEN = const(2)
_OP_WRITE = const(4)
_OP_SYNC = const(8)
_OP_CLOSE = const(16)
_OP_ROTATE = const(32)

_MICROPYTHON = sys.implementation.name == "micropython"


def _write(f, buf, n):
    if _MICROPYTHON:
        return f.write(buf, n)  # writes buf[:n] without copying it
    return f.write(memoryview(buf)[:n])


def _join(root, name):
    return root + "/" + name


def session_file(session_id):
    return "{:08d}{}".format(session_id, SUFFIX)


def session_ids(root):
    """Ids of the session files in root, oldest first."""
    ids = []
    for name in os.listdir(root):
        if name.endswith(SUFFIX) and name != SUMMARIES and name[:-4].isdigit():
            ids.append(int(name[:-4]))
    ids.sort()
    return ids


def free_bytes(root):
    st = os.statvfs(root)
    return st[0] * st[4]


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _replace(path, data):
    """Atomically replace path's content: temporary file, flush, rename."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


class SessionLog:
    def __init__(self, root, cfg, firmware="", unix_time=None, reserve=RESERVE_BYTES):
        self.root = root
        self.reserve = reserve
        self.cfg = cfg
        self.firmware = firmware
        self.unix_time = unix_time  # callable -> unix seconds, or None when no clock
        # This power-on's random id and a callable -> seconds since it (App wires them), so
        # the host can date a session recorded before its clock was set.
        self.boot_id = 0
        self.uptime_s = None
        self.error = None  # the last log error, as text, for the console
        self.errors = 0
        try:
            os.mkdir(root)
        except OSError:
            pass  # already there (or the flash is full: the first write will say so)
        self.day = None  # a dose.Dose whose text() is saved with the next id, or None
        self.day_text = ""  # what the next_id file held for it at start (for the boot)
        try:
            self.next_id, self.day_text = _load_next_id(root)
        except OSError as e:
            self.next_id = 1
            self.errors += 1
            self.error = "cannot read {}: {}".format(root, e)
        # The header of every session but its id and start time, made once: a session
        # start in the sampling loop only copies it.
        self._head = rec.header_payload(0, 0, cfg, firmware)
        self.samples = bytearray(_CHUNK)
        self.changes = bytearray(2 * _CHUNK)
        self.out = bytearray(_OUT_SIZE)
        self.out_len = 0
        self._unframed = 0  # records from here on still need their CRC
        self.f = None
        self.path = ""
        self.session_id = 0
        self._seq = 0  # the number of the session's last record (its 'H' is 0)
        self.active = False
        self.ops = 0
        self._since = -1  # when the queued steps started waiting for a calm moment
        self._reset_chunk(0)

    def configure(self, cfg):
        """A new config (App.reconfigure, between sessions): the next header carries it."""
        self.cfg = cfg
        self._head = rec.header_payload(0, 0, cfg, self.firmware)

    def _reset_chunk(self, t0):
        self._t0 = t0
        self._n = 0
        self._nb = 0
        self._band0 = 0
        self._last_band = 0
        self._sample_end = t0 + rec.TRACE_PERIOD_MS
        self._acc = 0
        self._acc_n = 0
        self._band = 0

    def _fail(self, what, e):
        self.errors += 1
        self.error = "{} {}: {}".format(what, self.path, e)
        self.active = False
        self.ops &= _OP_SAVE_ID  # the next id and the day's starts are not in this file
        self.out_len = 0
        self._unframed = 0
        f, self.f = self.f, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    # ---- the sampling path: called every tick, allocation-free (session start, checkpoint
    # and stop included: records are built in place; CRCs and files wait for service()) ----

    def step(self, ev, sess, fault=0):
        if ev & EV_START:
            self._begin(sess)
        if not self.active:
            return
        if ev & (EV_FAULT | EV_FAULT_CLEAR) and self._room(rec.FAULT_SIZE):
            p = self.out_len + fr.FRAME_HEAD
            size = self._ids(p, rec.fault_pack_into(self.out, p, sess.elapsed_ms, fault))
            self.out_len += fr.frame_head(self.out, self.out_len, fr.FAULT, size)
            self.ops |= _OP_WRITE | _OP_SYNC
        if sess.elapsed_ms >= self._sample_end:
            self._close_sample()
            self._sample_end += rec.TRACE_PERIOD_MS
            if self._n == _CHUNK:
                self._seal(sess)
        if ev & EV_STOP:  # the stop instant ends the trace; it starts no new sample
            self._close_sample()
            self._seal(sess, rec.LAST)
            self._end(sess)
            return
        f = sess.force_mn
        self._acc += f if f > 0 else 0
        self._acc_n += 1
        self._band = sess.band

    def _close_sample(self):
        if self._acc_n == 0:
            return
        n = self._n
        band = self._band
        if n == 0:
            self._band0 = band
        elif band != self._last_band:
            self.changes[2 * self._nb] = n
            self.changes[2 * self._nb + 1] = band
            self._nb += 1
        self._last_band = band
        self.samples[n] = rec.force_code(self._acc // self._acc_n)
        self._n = n + 1
        self._acc = 0
        self._acc_n = 0

    def _ids(self, p, size, last=0):
        """Append the session id and the next record number (| rec.LAST for the session's
        last record before its 'S') to the payload at out[p] of `size` bytes; returns its
        new size."""
        self._seq += 1
        return size + rec.ids_pack_into(self.out, p + size, self.session_id, self._seq | last)

    def _room(self, size):
        size += rec.IDS_SIZE
        if self.out_len + size + fr.FRAME_OVERHEAD > _OUT_SIZE:
            self._fail("buffer full for", "flash too slow")
            return False
        return True

    def _seal(self, sess, last=0):
        """Turn the buffered samples into a 'T' record (the checkpoint) and queue it. The
        stop's (last = rec.LAST) is written even without samples: it goes out with the 'S',
        so a file whose 'S' is missing after it was damaged, not cut by a power cut."""
        n, nb = self._n, self._nb
        if n == 0 and not last:
            return
        if not self._room(rec.TRACE_FIXED + 2 * nb + n):
            return
        p = self.out_len + fr.FRAME_HEAD
        size = rec.trace_pack_into(
            self.out,
            p,
            self._t0,
            self._band0,
            sess.holds,
            sess.over_count,
            sess.cue_counts,
            sess.peak_mn,
            self.changes,
            nb,
            self.samples,
            n,
        )
        size = self._ids(p, size, last)
        self.out_len += fr.frame_head(self.out, self.out_len, fr.TRACE, size)
        self.ops |= _OP_WRITE | _OP_SYNC
        self._reset_chunk(self._t0 + n * rec.TRACE_PERIOD_MS)
        self._last_band = sess.band

    # ---- session start and end (once per session: these may allocate) ----

    def _begin(self, sess):
        if self.f is not None:  # the previous session's close has not run yet
            self._do(_OP_WRITE | _OP_SYNC | _OP_CLOSE)
        self.session_id = self.next_id
        self.next_id += 1
        start = self.unix_time() if self.unix_time else 0
        head = self._head
        out = self.out
        n = len(head)
        i = 0
        while i < n:
            out[fr.FRAME_HEAD + i] = head[i]
            i += 1
        rec.header_set_id(out, fr.FRAME_HEAD, self.session_id, start or 0)
        if self.uptime_s is not None:
            rec.header_set_start(out, fr.FRAME_HEAD, self.boot_id, self.uptime_s())
        # The session's own limit (its area's time left may shorten it) and its area.
        rec.header_set_limit(out, fr.FRAME_HEAD, sess.limit_ms)
        area = self.day.area_b if self.day is not None else b""
        rec.header_set_area(out, fr.FRAME_HEAD, area, len(area))
        self.out_len = fr.frame_head(out, 0, fr.HEADER, n)
        self._seq = 0
        self._unframed = 0
        self.active = True
        self._reset_chunk(0)
        self.ops |= _OP_OPEN | _OP_WRITE | _OP_SYNC | _OP_SAVE_ID

    def _end(self, sess):
        if not self._room(rec.SUMMARY_SIZE):
            return
        p = self.out_len + fr.FRAME_HEAD
        size = rec.summary_pack_into(
            self.out,
            p,
            sess.elapsed_ms,
            sess.band_ms,
            sess.peak_mn,
            sess.mean_mn(),
            sess.holds,
            sess.longest_hold_ms,
            sess.over_count,
            sess.cue_counts,
            sess.stop_reason,
            0,
        )
        size = self._ids(p, size)
        self.out_len += fr.frame_head(self.out, self.out_len, fr.SUMMARY, size)
        self.active = False
        self.ops |= _OP_WRITE | _OP_SYNC | _OP_CLOSE | _OP_ROTATE

    def can_move(self):
        """Room for an 'N' record with a whole checkpoint and the summary still to come: a
        page choosing areas as fast as it can must never fill the buffer (that would end
        the session's log), so past this the session keeps its area."""
        need = 2 * fr.FRAME_OVERHEAD + 3 * rec.IDS_SIZE + rec.AREA_SIZE + rec.SUMMARY_SIZE
        need += fr.FRAME_OVERHEAD + rec.TRACE_FIXED + 3 * _CHUNK
        return self.active and self.out_len + need <= _OUT_SIZE

    def moved(self, area, limit_ms):
        """The running session moved to another area (ball/dose.py set_area, between
        samples, once can_move() said so): an 'N' record with the area (bytes) and the
        session's limit from now."""
        if not self.active or not self._room(rec.AREA_SIZE):
            return
        p = self.out_len + fr.FRAME_HEAD
        size = self._ids(p, rec.area_pack_into(self.out, p, area, len(area), limit_ms))
        self.out_len += fr.frame_head(self.out, self.out_len, fr.AREA, size)
        self.ops |= _OP_WRITE | _OP_SYNC

    def save_day(self):
        """The day's starts changed (dose.py): save them with the next id, between samples."""
        self.ops |= _OP_SAVE_ID

    # ---- flash work, one step per call, in the loop's spare time ----

    def pending(self):
        return self.ops != 0

    def service(self, idle=True, now_ms=None, calm=True):
        """Do the next queued flash step. A flash commit stalls the CPU (tens of ms on an
        ESP32), so steps wait for a `calm` moment (no cue playing, no recent band change)
        for at most _MAX_DEFER_MS. `idle` (no session, no cue) allows the long step,
        dropping old traces to free flash. Without now_ms nothing is deferred."""
        ops = self.ops
        if not ops:
            return
        if now_ms is not None and not calm:
            if self._since < 0:
                self._since = now_ms
            if now_ms - self._since < _MAX_DEFER_MS:
                return
        op = _OP_SAVE_ID
        while not ops & op:
            op <<= 1
        if op == _OP_ROTATE and not idle:
            return  # rotation is always the last step: nothing else is waiting
        self._do(op)
        if not self.ops & ~_OP_ROTATE:
            self._since = -1  # one wait per batch of writes, not one per step

    def _do(self, ops):
        op = _OP_SAVE_ID
        while op <= _OP_ROTATE:
            if ops & op:
                self.ops &= ~op
                try:
                    self._op(op)
                except OSError as e:
                    if op == _OP_ROTATE or op == _OP_SAVE_ID:
                        self.errors += 1
                        self.error = "rotation: {}".format(e)
                    else:
                        self._fail("cannot write", e)
                        return
            op <<= 1

    def _op(self, op):
        if op == _OP_OPEN:
            self.path = _join(self.root, session_file(self.session_id))
            self.f = open(self.path, "wb")
        elif op == _OP_WRITE:
            p = self._unframed
            while p < self.out_len:
                p += fr.frame_crc(self.out, p)
            if self.f is not None and self.out_len:
                _write(self.f, self.out, self.out_len)
            self.out_len = 0
            self._unframed = 0
        elif op == _OP_SYNC:
            if self.f is not None:
                self.f.flush()
        elif op == _OP_CLOSE:
            f, self.f = self.f, None
            if f is not None:
                f.close()
        elif op == _OP_SAVE_ID:
            text = str(self.next_id)
            if self.day is not None:
                text += "\n" + self.day.text()
            _replace(_join(self.root, NEXT_ID), text.encode())
        elif op == _OP_ROTATE:
            make_room(self.root, self.reserve, keep=self.path if self.f else "")

    def close(self):
        """Finish every queued step now (shutdown, or before a reset or a deep sleep), the
        day's starts and clock included."""
        if self.day is not None:
            self.ops |= _OP_SAVE_ID
        self._do(self.ops)


def _load_next_id(root):
    """(next id, the day's text or ""): the next_id file holds the id on its first line."""
    n = 1
    day = ""
    try:
        lines = _read(_join(root, NEXT_ID)).decode().split("\n", 1)
        if len(lines) > 1:
            day = lines[1].strip()
        n = int(lines[0])
    except (OSError, ValueError):
        pass
    ids = session_ids(root)
    if ids and ids[-1] >= n:
        n = ids[-1] + 1
    return n, day


def _closing_summary(session):
    """The 'S' record that ends a session cut short: rebuilt from its last checkpoint, with
    the session id and next record number of its version."""
    payload = rec.summary_payload(session["summary_values"])
    if session["version"] >= 2:
        ids = bytearray(rec.IDS_SIZE)
        rec.ids_pack_into(ids, 0, session["id"], session["seq"] + 1)
        payload += ids
    return fr.record(fr.SUMMARY, payload)


def _header_only(s):
    return not (s["complete"] or s["checkpoints"] or s["faults"])


def recover(root):
    """At boot: finish every session file cut by a power loss or crash. Recovery never
    removes a byte it cannot read: it only appends to a file whose last session has no
    summary one rebuilt from its last checkpoint (stop reason 'interrupted', flagged
    damaged when the file holds damage), so damage travels to the host to be named. It
    removes only an empty file or one holding a lone, undamaged header (a session cut
    before its first checkpoint). Each fix is an atomic replace, so a cut during recovery is
    recovered next time. Returns the ids of the sessions it recovered."""
    recovered: list[int] = []
    try:
        names = os.listdir(root)
    except OSError:
        return recovered
    for name in names:
        if name.endswith(".tmp"):
            os.remove(_join(root, name))
        elif name == SUMMARIES and os.stat(_join(root, name))[6] == 0:
            os.remove(_join(root, name))  # created by make_room, cut before its first flush
    for sid in session_ids(root):
        path = _join(root, session_file(sid))
        data = _read(path)
        try:
            sessions, damage = logfile.read(data, keep_trace=False)
        except logfile.NotALog:
            sessions, damage = [], [(0, "")]
        if not data or (len(sessions) == 1 and not damage and _header_only(sessions[0])):
            os.remove(path)
        elif sessions and not sessions[-1]["complete"]:
            _replace(path, data + _closing_summary(sessions[-1]))
            recovered.append(sid)
        # else finished, or nothing in it to finish: left whole for the host to read
    return recovered


def make_room(root, reserve, keep=""):
    """Drop the oldest traces until `reserve` bytes are free: each session's summary is
    appended to summaries.kbl (flushed) before its file is removed. A file with damage is
    left whole for the host to read and name. A cut in between leaves
    both, which readers merge by session id. Returns True when the reserve is free."""
    for sid in session_ids(root):
        if free_bytes(root) >= reserve:
            return True
        path = _join(root, session_file(sid))
        if path == keep:
            continue
        try:
            sessions, damage = logfile.read(_read(path), keep_trace=False)
        except logfile.NotALog:
            continue  # left for the host to read: never dropped unread
        if damage:
            continue
        with open(_join(root, SUMMARIES), "ab") as f:
            for s in sessions:
                f.write(fr.record(fr.ARCHIVED, logfile.archived_payload(s)))
            f.flush()
        os.remove(path)
    return free_bytes(root) >= reserve
