"""Realistic sessions through the real firmware loop (sim board, virtual clock).

Traces come from knotball.traces: rolling against a wall with the lean drifting, holds,
releases, FSR-like noise with spikes, band-edge presses and slow sensor drift."""

import pytest

from conftest import of, sim_events, write
from knotball import traces

BAND_ORDER = ("idle", "light", "medium", "firm", "over")


def test_demo_session_gives_every_cue_and_stops_at_the_limit(tmp_path):
    ev = sim_events(write(tmp_path, traces.demo_session()))
    start = of(ev, "session_start")[0]["t_ms"]
    stop = of(ev, "session_stop")[0]
    assert stop["reason"] == "time_limit"
    assert 60000 <= stop["t_ms"] - start <= 60010  # within one sample period
    for cue in ("hold_effective", "too_hard", "time_warning", "done"):
        assert of(ev, "cue", cue=cue), cue
    assert ev[-1]["event"] == "summary" and ev[-1]["stop_reason"] == "time_limit"
    assert ev[-1]["duration_ms"] == stop["t_ms"] - start


@pytest.mark.parametrize("freq_hz", [0.3, 0.6, 1.0])
def test_rolling_with_drifting_lean_is_not_taken_for_a_hold(tmp_path, freq_hz):
    b = traces.TraceBuilder(seed=int(freq_hz * 10)).rest(1)
    b.roll(40, mean_n=25, amp_n=12, freq_hz=freq_hz, lean_drift_n=6).ramp(0.5, 0).rest(1)
    ev = sim_events(write(tmp_path, b.build()), {"session_limit_s": 120})
    assert not of(ev, "cue", cue="hold_effective")
    bands = {e["band"] for e in of(ev, "band")}
    assert {"light", "medium", "firm"} <= bands  # the swell is followed


def test_steady_noisy_hold_with_spikes_gives_one_band_and_one_hold_cue(tmp_path):
    b = traces.TraceBuilder(seed=3).rest(1).ramp(0.4, 27).hold(20, 27).ramp(0.3, 0).rest(1)
    ev = sim_events(write(tmp_path, b.build(noise_pct=3, spike_rate=0.01)))
    # Up through light on the way in, down through it on the way out: nothing else.
    assert [e["band"] for e in of(ev, "band")] == ["light", "medium", "light", "idle"]
    assert len(of(ev, "cue", cue="hold_effective")) == 1
    assert not of(ev, "cue", cue="too_hard")  # spikes to 80+ N are filtered out
    start = of(ev, "session_start")[0]["t_ms"]
    assert 5000 <= of(ev, "cue", cue="hold_effective")[0]["t_ms"] - start <= 5500


@pytest.mark.parametrize("edge", ["light_n", "medium_n", "firm_n", "over_n"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_noisy_press_at_a_band_edge_never_flickers(tmp_path, edge, seed):
    from ball.config import DEFAULTS

    rows = traces.edge_hold(DEFAULTS[edge], seconds=20, seed=seed)
    ev = sim_events(write(tmp_path, rows), {"session_limit_s": 120})
    hold_start, hold_end = 2000, 22000
    during = [e for e in of(ev, "band") if hold_start + 500 <= e["t_ms"] <= hold_end]
    # At most one crossing (noise pushing the reading over the edge once), never back.
    assert len(during) <= 1
    steps = [BAND_ORDER.index(e["band"]) for e in of(ev, "band") if e["t_ms"] <= hold_end]
    assert steps == sorted(steps), "the band went down and up again during a steady press"


def test_slow_drift_at_rest_never_starts_a_session(tmp_path):
    b = traces.TraceBuilder(seed=4).rest(300)
    rows = b.build(noise_pct=0, floor_n=0.05, drift_n_per_min=1.5)  # +7.5 N by the end
    assert rows[-1][1] > 7  # without auto-zero this would read as a light press
    ev = sim_events(write(tmp_path, rows))
    assert not of(ev, "session_start")


def test_press_after_drift_is_measured_from_the_new_zero(tmp_path):
    b = traces.TraceBuilder(seed=5).rest(120).ramp(0.3, 25).hold(8, 25).ramp(0.3, 0).rest(1)
    rows = b.build(noise_pct=2, drift_n_per_min=3)  # +6 N of drift before the press
    ev = sim_events(write(tmp_path, rows))
    assert of(ev, "session_start")[0]["t_ms"] >= 120000  # not before the press
    assert max(BAND_ORDER.index(e["band"]) for e in of(ev, "band")) == 2  # medium
    assert abs(float(ev[-1]["peak_n"]) - 25) < 3


def test_sensor_dropout_mid_session_ends_it_by_idle_and_leaves_outputs_off(tmp_path):
    b = traces.TraceBuilder(seed=6).rest(1).ramp(0.3, 30).hold(10, 30).rest(30)
    ev = sim_events(write(tmp_path, b.build()), {"idle_stop_s": 5})
    stop = of(ev, "session_stop")[0]
    assert stop["reason"] == "idle"
    assert of(ev, "haptic")[-1]["duty"] == 0
    assert of(ev, "led")[-1]["rgb"] == [0, 0, 0]


def test_pressing_on_after_the_limit_keeps_the_ball_quiet(tmp_path):
    b = traces.TraceBuilder(seed=8).rest(1).ramp(0.3, 30).hold(30, 30).ramp(0.3, 70)
    b.hold(5, 70).ramp(0.3, 0).rest(3).ramp(0.3, 25).hold(3, 25).ramp(0.3, 0).rest(1)
    ev = sim_events(write(tmp_path, b.build()), {"session_limit_s": 20})
    stop = of(ev, "session_stop")[0]["t_ms"]
    assert len(of(ev, "session_start")) == 2  # only after release and a new press
    second = of(ev, "session_start")[1]["t_ms"]
    quiet = [e for e in ev if stop + 2000 < e["t_ms"] < second]
    assert not [e for e in quiet if e["event"] == "haptic" and e["duty"] > 0]
    assert not [e for e in quiet if e["event"] == "cue"]  # no too_hard after the stop


def test_rest_signal_after_the_days_sessions(tmp_path):
    b = traces.TraceBuilder(seed=9).rest(1)
    for _ in range(3):
        b.ramp(0.3, 25).hold(3, 25).ramp(0.3, 0).rest(3)
    ev = sim_events(write(tmp_path, b.build()), {"session_limit_s": 2, "max_sessions_per_day": 2})
    assert len(of(ev, "session_start")) == 2
    assert len(of(ev, "cue", cue="rest")) == 1
