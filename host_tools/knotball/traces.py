"""Realistic synthetic pressure traces: rolling against a wall, holds, releases, sensor noise.

Used by the tests, `make bench` and the bundled demo session. Deterministic for a seed.
What is modelled, and why:
- rolling at 0.3-1 Hz: the force swells as the ball passes over muscle and fades between;
- the person's lean drifts slowly, so the mean force wanders by several newtons;
- FSR-like noise: a few percent of the reading plus a small floor, and occasional
  single-sample spikes or dropouts (contact bounce, ADC glitches);
- slow sensor drift (temperature, weather, creep) added to the apparent force.
"""

import csv
import math
import random


class TraceBuilder:
    """Build a clean force profile segment by segment, then add noise with build()."""

    def __init__(self, rate_hz=100, seed=0):
        self.dt = 1.0 / rate_hz
        self.rng = random.Random(seed)
        self.force = []

    @property
    def level(self):
        return self.force[-1] if self.force else 0.0

    def _n(self, seconds):
        return max(1, round(seconds / self.dt))

    def rest(self, seconds):
        self.force += [0.0] * self._n(seconds)
        return self

    def ramp(self, seconds, to_n):
        start, n = self.level, self._n(seconds)
        self.force += [start + (to_n - start) * (i + 1) / n for i in range(n)]
        return self

    def hold(self, seconds, level_n, wobble_n=0.6):
        """A steady press on a knot: the level with a slow, small wobble of the body."""
        phase = self.rng.uniform(0, 2 * math.pi)
        n = self._n(seconds)
        self.force += [
            level_n + wobble_n * math.sin(phase + 2 * math.pi * 0.25 * i * self.dt)
            for i in range(n)
        ]
        return self

    def roll(self, seconds, mean_n, amp_n, freq_hz=0.6, lean_drift_n=0.0):
        """Rolling up and down the back: a swell per pass, lean drifting over the segment."""
        phase = self.rng.uniform(0, 2 * math.pi)
        drift_phase = self.rng.uniform(0, 2 * math.pi)
        n = self._n(seconds)
        out = []
        for i in range(n):
            t = i * self.dt
            lean = lean_drift_n * math.sin(drift_phase + 2 * math.pi * t / max(seconds, 1))
            swell = amp_n * math.sin(phase + 2 * math.pi * freq_hz * t)
            out.append(max(0.0, mean_n + lean + swell))
        # Blend from the current level so the segment does not start with a jump.
        blend = min(n, self._n(0.3))
        for i in range(blend):
            w = (i + 1) / blend
            out[i] = self.level * (1 - w) + out[i] * w
        self.force += out
        return self

    def build(self, noise_pct=3.0, floor_n=0.05, spike_rate=0.002, drift_n_per_min=0.0):
        """[(t_ms, force_n)] with noise, spikes and drift applied."""
        rows = []
        rng = self.rng
        for i, f in enumerate(self.force):
            t = i * self.dt
            v = f * (1 + rng.gauss(0, noise_pct / 100)) + rng.gauss(0, floor_n)
            v += drift_n_per_min * t / 60
            if spike_rate and rng.random() < spike_rate:
                v = rng.choice((0.0, v * rng.uniform(2.0, 3.0) + 20))
            rows.append((round(t * 1000), round(v, 3)))
        return rows


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(("t_ms", "force_n"))
        w.writerows(rows)


def demo_session(seed=7):
    """About 80 s against a wall: warm up light, roll, hold a knot, go firm, press too hard
    once, back off, and keep rolling past the 60 s limit before stepping away."""
    b = TraceBuilder(seed=seed)
    b.rest(1.5).ramp(0.8, 10)
    b.roll(10, mean_n=14, amp_n=6, freq_hz=0.5, lean_drift_n=2)
    b.ramp(1.0, 27).hold(9, 27)
    b.roll(10, mean_n=26, amp_n=9, freq_hz=0.7, lean_drift_n=3)
    b.ramp(0.8, 42).hold(7, 42)
    b.ramp(0.4, 64).hold(1.2, 64).ramp(0.6, 40)
    b.roll(14, mean_n=30, amp_n=10, freq_hz=0.4, lean_drift_n=4)
    b.ramp(0.8, 25).hold(12, 25)
    b.roll(6, mean_n=20, amp_n=8, freq_hz=0.6).ramp(0.8, 0).rest(4)
    return b.build()


def edge_hold(edge_n, seconds=20, seed=1, noise_pct=3.0, spike_rate=0.004):
    """Ramp up to exactly a band edge and hold there, noisy, with spikes."""
    b = TraceBuilder(seed=seed).rest(1).ramp(1.0, edge_n).hold(seconds, edge_n, wobble_n=0)
    b.ramp(0.5, 0).rest(1)
    return b.build(noise_pct=noise_pct, spike_rate=spike_rate)


def step(to_n, before_s=1.0, after_s=2.0):
    """A clean step from rest to `to_n` at t = before_s: for latency."""
    b = TraceBuilder().rest(before_s)
    b.force += [float(to_n)] * b._n(after_s)
    return b.build(noise_pct=0, floor_n=0, spike_rate=0)
