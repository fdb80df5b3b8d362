# The live page's event text (ball/wire/events.py, DESIGN.md contract 6) against literals:
# these bytes are what every page and `knotball live --url` read. The ball packs a sample
# in place; the same bytes on CPython and on the unix port.
import json

from ball import app
from ball.wire import CUE_NAMES, events
from kbtest import FakeBoard

SAMPLE = (
    b'data: {"t_ms":1234,"force_n":12.345,"band":"medium","state":"active",'
    b'"elapsed_ms":4000,"limit_ms":60000,"hold_ms":1500,'
    b'"cues":["hold_effective","too_hard"],"fault":"","stop":""}\n\n'
)


def pack(*fields):
    buf = bytearray(events.SAMPLE_MAX + 8)
    end = events.sample_pack_into(buf, 4, *fields)
    return bytes(buf[4:end])


def test_a_sample_event_is_these_bytes():
    assert pack(1234, 12345, 2, 1, 4000, 60000, 1500, 0b101, 0, 0) == SAMPLE


def test_forces_keep_three_places_and_their_sign():
    for mn, text in ((0, "0.000"), (7, "0.007"), (-5, "-0.005"), (-12050, "-12.050")):
        event = pack(0, mn, 0, 0, 0, 0, 0, 0, 0, 0)
        assert b'"force_n":' + text.encode() + b"," in event, event
        assert json.loads(event[6:])["force_n"] == mn / 1000


def test_the_longest_event_fits_and_reads_back():
    big = (1 << 30) - 1
    event = pack(big, -big, 4, 2, big, big, big, (1 << len(CUE_NAMES)) - 1, 3, 7)
    assert len(event) <= events.SAMPLE_MAX
    obj = json.loads(event[6:])
    assert obj["cues"] == list(CUE_NAMES) and obj["band"] == "over"
    assert obj["fault"] == "stuck" and obj["stop"] == "low_battery" and obj["t_ms"] == big


def test_the_edges_event_gives_band_edges_in_newtons():
    edges = [0, 5000, 20000, 35000, 55500]
    text = events.edges_event(edges, 60000, 5000, 60000)
    assert text.startswith(b"event: edges\ndata: ") and text.endswith(b"}\n\n")
    obj = json.loads(text[19:])
    assert obj["edges_n"] == {"light": 5.0, "medium": 20.0, "firm": 35.0, "over": 55.5}
    assert (obj["limit_ms"], obj["hold_min_ms"], obj["hold_max_ms"]) == (60000, 5000, 60000)


def test_control_packs_the_running_session_and_each_cue_once():
    from ball import config
    from ball.control import Control

    cfg = config.validate({"hold_min_s": 1})
    a = app.App(FakeBoard(), cfg)
    c = Control(a)
    a.session.step(0, 25000)
    t = 0
    while t < 1500:
        t += 10
        a.session.step(t, 25000)
    buf = bytearray(events.SAMPLE_MAX)
    seen = [0, 0, 0, 0, 0, 0]
    first = json.loads(bytes(buf[6 : c.pack_event(buf, 0, t, seen, events.sample_pack_into)]))
    again = json.loads(bytes(buf[6 : c.pack_event(buf, 0, t, seen, events.sample_pack_into)]))
    assert first["state"] == "active" and first["band"] == "medium"
    assert first["cues"] == ["hold_effective"] and again["cues"] == []
    assert first["limit_ms"] == a.session.limit_ms
