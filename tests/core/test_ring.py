# The live page's ring of recent samples (ball/web.py Ring): numbered, kept through
# wraparound, packed back into the stream's events, and where a reconnecting page resumes
# (with the gap told when the ring no longer has it all); and the hold on sends while the
# haptic motor starts (web.held, Feedback.motor_started_ms).
import json

from ball import session as s
from ball.feedback import START, Feedback
from ball.web import MOTOR_HOLD_MS, Ring, held
from ball.wire.events import parse_id
from kbtest import FakeBoard


class Source:
    """Control.pack_event's part the ring uses: the fields of one sample."""

    def __init__(self):
        self.force_mn = 0
        self.fields = (1, 1, 0, 0, 0)  # band, state, cues, fault, stop

    def pack_event(self, buf, off, now_ms, seen, pack_into):
        band, state, cues, fault, stop = self.fields
        return pack_into(
            buf, off, now_ms, self.force_mn, band, state, now_ms, 60000, 0, cues, fault, stop
        )


def event(ring, seq):
    """Sample `seq` packed as the stream sends it: (id text, the data's object)."""
    buf = bytearray(400)
    end = ring.pack(buf, 0, seq)
    text = bytes(buf[:end]).decode()
    assert text.endswith("\n\n")
    lines = text[:-2].split("\n")
    assert len(lines) == 2 and lines[0].startswith("id: ") and lines[1].startswith("data: ")
    return lines[0][4:], json.loads(lines[1][6:])


def filled(n, size=20):
    ring = Ring(size, run=4321)
    src = Source()
    for i in range(n):
        src.force_mn = i * 10
        ring.push(src, i * 100, [0] * 6)
    return ring


def test_the_ring_keeps_the_last_samples_in_order_through_wraparound():
    ring = filled(53)
    assert ring.seq == 53 and ring.oldest() == 33
    for seq in range(33, 53):
        ident, obj = event(ring, seq)
        assert parse_id(ident) == (4321, seq)
        assert obj["t_ms"] == seq * 100 and obj["force_n"] == seq / 100


def test_every_field_comes_back_as_it_was_kept():
    ring = Ring(4, run=7)
    src = Source()
    src.force_mn = -1234
    src.fields = (4, 2, 63, 3, 7)  # over, stopped, every cue, stuck, low_battery
    ring.push(src, 123456, [0] * 6)
    _ident, obj = event(ring, 0)
    assert obj["force_n"] == -1.234 and obj["band"] == "over" and obj["state"] == "stopped"
    assert len(obj["cues"]) == 6 and obj["fault"] == "stuck" and obj["stop"] == "low_battery"
    assert obj["elapsed_ms"] == 123456 and obj["limit_ms"] == 60000


def test_a_reader_resumes_after_its_last_sample_or_is_told_what_is_missing():
    ring = filled(53)
    assert ring.resume(None) == (52, 0)  # a new page: from the newest on
    assert ring.resume((4321, 40)) == (41, 0)  # still kept: nothing missing
    assert ring.resume((4321, 52)) == (53, 0)  # up to date: the next one
    assert ring.resume((4321, 32)) == (33, 0)  # just kept
    assert ring.resume((4321, 20)) == (33, 12)  # older than the ring: 12 samples lost
    assert ring.resume((99, 40)) == (33, -1)  # another run (a reset): unknown gap
    assert ring.resume((4321, 60)) == (33, -1)  # a number this run never gave
    assert filled(0).resume(None) == (0, 0)


def test_sends_are_held_only_while_the_motor_starts():
    assert not held(0, None)
    assert held(1000, 1000) and held(1000 + MOTOR_HOLD_MS - 1, 1000)
    assert not held(1000 + MOTOR_HOLD_MS, 1000)
    assert not held(10, 1000)  # the app rebased its clock since: long ago


class Sess:
    state = s.ACTIVE
    band = s.LIGHT
    stop_reason = 0


def test_the_feedback_says_when_the_motor_started_from_off():
    board = FakeBoard()
    fb = Feedback(board)
    fb.update(0, 0, Sess())
    assert fb.motor_started_ms is None
    fb.play(500, START)
    fb.update(500, 0, Sess())
    assert board.duty > 0 and fb.motor_started_ms == 500
    fb.update(510, 0, Sess())  # running on: not a start
    assert fb.motor_started_ms == 500
    fb.update(700, 0, Sess())
    assert board.duty == 0
    fb.play(900, START)
    fb.update(900, 0, Sess())
    assert fb.motor_started_ms == 900
