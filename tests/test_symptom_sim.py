"""The symptom gesture through the real firmware loop (sim board, virtual clock): two quick
firm squeezes end the session as "symptom", in noise and spikes and at any strength, and
nothing else a person does with the ball is taken for them: rolling at 0.3-1 Hz with and
without letting go, presses at band edges, single squeezes, slow presses, knocks."""

import pytest

from conftest import TESTS, of, run_micropython, sim_events, write
from knotball import traces

LONG = {"session_limit_s": 120}  # long traces end by themselves, not at the limit
SEEDS = range(20)


def squeeze(b, peak_n, ms=250):
    """One quick squeeze of the ball in the hand: up, a moment at the peak, down."""
    ramp = ms * 0.4 / 1000
    return b.ramp(ramp, peak_n).hold(ms * 0.2 / 1000, peak_n, wobble_n=1).ramp(ramp, 0)


def gesture(b, peak_n=50, ms=250, gap_s=0.3):
    squeeze(b, peak_n, ms).rest(gap_s)
    return squeeze(b, peak_n, ms)


def symptom_stops(events):
    return of(events, "session_stop", reason="symptom")


def roll_session(seed, seconds=10):
    """Rolling against the wall (up to ~35 N), then the ball taken in the hand."""
    b = traces.TraceBuilder(seed=seed).rest(1)
    return b.roll(seconds, 20, 8, lean_drift_n=4).ramp(0.3, 0).rest(1)


@pytest.mark.parametrize("peak_n", [42, 60, 90])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_gesture_ends_the_session_as_symptom_in_noise_and_spikes(tmp_path, peak_n, seed):
    b = gesture(roll_session(seed), peak_n)
    end_ms = len(b.force) * 10
    rows = b.rest(3).build(noise_pct=4, spike_rate=0.01)
    ev = sim_events(write(tmp_path, rows), LONG)
    assert len(of(ev, "session_start")) == 1
    (stop,) = of(ev, "session_stop")
    assert stop["reason"] == "symptom"
    assert end_ms <= stop["t_ms"] <= end_ms + 100  # at the second release
    assert of(ev, "cue", cue="done")
    summary = ev[-1]
    assert summary["stop_reason"] == "symptom"
    assert summary["too_hard_count"] == 0 and summary["cues"]["too_hard"] == 0
    assert float(summary["peak_n"]) < 40  # the rolling's peak, not the squeezes'


@pytest.mark.parametrize("ms,gap_s", [(150, 0.1), (200, 0.4), (300, 0.2), (380, 0.3)])
def test_quick_and_less_quick_squeezes_are_recognised(tmp_path, ms, gap_s):
    b = gesture(roll_session(4), 60, ms, gap_s).rest(3)
    ev = sim_events(write(tmp_path, b.build(noise_pct=3, spike_rate=0.005)), LONG)
    assert [e["reason"] for e in of(ev, "session_stop")] == ["symptom"]


def test_the_gesture_as_first_contact_starts_and_ends_a_session_on_micropython(tmp_path):
    b = gesture(traces.TraceBuilder(seed=5).rest(1), 55).rest(3)
    ev = sim_events(write(tmp_path, b.build()), runtime="micropython")
    assert len(of(ev, "session_start")) == 1
    assert [e["reason"] for e in of(ev, "session_stop")] == ["symptom"]
    assert ev[-1]["duration_ms"] < 1500


def test_after_the_gesture_a_press_gets_the_rest_signal_not_a_session(tmp_path):
    b = gesture(roll_session(6)).rest(4).ramp(0.3, 25).hold(3, 25).ramp(0.3, 0).rest(3)
    ev = sim_events(write(tmp_path, b.build()), LONG)
    assert len(of(ev, "session_start")) == 1 and len(symptom_stops(ev)) == 1
    assert len(of(ev, "cue", cue="rest")) == 1
    stop = symptom_stops(ev)[0]["t_ms"]
    assert [e["rgb"] for e in of(ev, "led") if e["t_ms"] == stop] == [[0, 40, 40]]


ROLLS = {
    "leaning": dict(mean_n=25, amp_n=12),  # never lets go
    "letting go": dict(mean_n=15, amp_n=25),  # off the back for a third of each cycle
    "touch and go": dict(mean_n=8, amp_n=35),  # off for almost half of each cycle
}


@pytest.mark.parametrize("style", list(ROLLS))
@pytest.mark.parametrize("freq_hz", [0.3, 0.6, 1.0])
def test_rolling_is_never_taken_for_the_gesture(tmp_path, style, freq_hz):
    sessions = 0
    for seed in SEEDS:
        b = traces.TraceBuilder(seed=seed).rest(1)
        b.roll(40, freq_hz=freq_hz, lean_drift_n=4, **ROLLS[style]).ramp(0.3, 0).rest(1)
        rows = b.build(noise_pct=4, spike_rate=0.01)
        ev = sim_events(write(tmp_path, rows, "roll{}.csv".format(seed)), LONG)
        assert not symptom_stops(ev), (style, freq_hz, seed)
        sessions += len(of(ev, "session_start"))
    assert sessions >= len(SEEDS)  # the ball was in use


@pytest.mark.parametrize("edge", ["light_n", "medium_n", "firm_n", "over_n"])
def test_presses_at_band_edges_are_not_the_gesture(tmp_path, edge):
    from ball.config import DEFAULTS

    for seed in (1, 2, 3):
        rows = traces.edge_hold(DEFAULTS[edge], seconds=20, seed=seed)
        ev = sim_events(write(tmp_path, rows), LONG)
        assert of(ev, "session_start") and not symptom_stops(ev), seed


def _not_gestures():
    """(name, builder) pairs of things a person does that are not two quick squeezes."""

    def single(b):
        squeeze(b, 60).rest(1)
        return b.roll(5, 25, 12)

    def slow_presses(b):
        return gesture(b, 60, ms=800, gap_s=0.3)

    def far_apart(b):
        return gesture(b, 60, gap_s=1.0)

    def soft(b):
        return gesture(b, 28)

    def knocks(b):  # the ball bouncing off the wall: 30 ms contacts
        for _ in range(4):
            b.hold(0.03, 60, wobble_n=0).rest(0.25)
        return b

    def press_and_release_twice(b):  # a deliberate press and hold, twice
        return b.ramp(0.3, 40).hold(1, 40).ramp(0.2, 0).rest(0.3).ramp(0.3, 40).hold(1, 40)

    return [single, slow_presses, far_apart, soft, knocks, press_and_release_twice]


@pytest.mark.parametrize("make", _not_gestures(), ids=lambda f: f.__name__)
def test_things_that_are_not_the_gesture_leave_the_session_running(tmp_path, make):
    for seed in (1, 2, 3, 4, 5):
        b = make(roll_session(seed, seconds=5)).ramp(0.2, 0).rest(25)
        ev = sim_events(write(tmp_path, b.build(noise_pct=3, spike_rate=0.01)), LONG)
        assert not symptom_stops(ev), seed
        assert [e["reason"] for e in of(ev, "session_stop")] == ["idle"], seed


def test_spikes_and_dropouts_on_a_light_touch_are_not_the_gesture(tmp_path):
    for seed in SEEDS:
        b = traces.TraceBuilder(seed=seed).rest(1).ramp(0.3, 8).hold(30, 8).ramp(0.3, 0)
        rows = b.rest(1).build(spike_rate=0.05)  # spikes to ~40 N and drops to 0, 1 in 20
        ev = sim_events(write(tmp_path, rows), LONG)
        assert of(ev, "session_start") and not symptom_stops(ev), seed


def test_the_gesture_path_does_not_allocate_on_micropython():
    """The squeezes, the symptom stop and its feedback with the heap locked."""
    res = run_micropython(TESTS / "mp" / "loopcheck.py", "gesture", path=[TESTS / "mp"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok heap-locked gesture ticks 660" in res.stdout
