# HX711 driver against a pin-level fake that follows the datasheet's timing (fake_hx711.py):
# values, gain pulses, polling an 80 SPS converter at 100 Hz, faults, power-down, stalls.
import sys

from fake_hx711 import PERIOD_US, UNSETTLED, FakeHX711

from ball.sensors import SensorFault
from ball.sensors.hx711 import HX711, SETTLE_GRACE_CALLS, TIMEOUT_CALLS
from kbtest import raises

LOOP_US = 10000  # the app reads the sensor every 10 ms
A = 123456  # channel A counts at gain 128 in most tests


def make(gain=128, a=A, b=0, invert=False):
    fake = FakeHX711(a=a, b=b)
    hx = HX711(fake.dout, fake.pd_sck, gain=gain, invert=invert, clock=fake)
    return fake, hx


def poll(fake, hx, calls):
    """`calls` loop periods: the values read() returned."""
    out = []
    for _ in range(calls):
        fake.advance(LOOP_US)
        out.append(hx.read())
    return out


def read_or_fault(hx):
    try:
        return hx.read()
    except SensorFault as e:
        return e.args[0]


def poll_faults(fake, hx, calls):
    """Like poll(), with each fault's reason in place of a value."""
    out = []
    for _ in range(calls):
        fake.advance(LOOP_US)
        out.append(read_or_fault(hx))
    return out


def settle(fake, hx):
    """Poll as the board layer does at boot until the driver has a settled reading; return
    what read() gave meanwhile."""
    out = []
    while not hx.settled():
        fake.advance(LOOP_US)
        out.append(read_or_fault(hx))
        assert len(out) <= TIMEOUT_CALLS + SETTLE_GRACE_CALLS, out
    return out


def fault(hx):
    return raises(SensorFault, hx.read).args[0]


def test_reads_positive_and_negative_counts():
    fake, hx = make(a=A)
    settle(fake, hx)
    assert poll(fake, hx, 3) == [A, A, A]
    fake.a = -98765
    assert poll(fake, hx, 3)[-1] == -98765
    for code, value in ((0x000001, 1), (0xFFFFFF, -1), (0x7FFFFE, 8388606), (0x800001, -8388607)):
        fake.raw = code
        assert poll(fake, hx, 2)[-1] == value
    assert fake.errors == []


def test_invert_makes_more_force_larger_on_a_reversed_bridge():
    fake, hx = make(a=-5000, invert=True)
    settle(fake, hx)
    assert poll(fake, hx, 2) == [5000, 5000]


def test_each_gain_sends_its_pulse_count_and_the_fake_converts_at_that_gain():
    for gain, pulses, expect in ((128, 25, A), (64, 27, A // 2), (32, 26, -777)):
        fake, hx = make(gain=gain, a=A, b=-777)
        settle(fake, hx)
        values = poll(fake, hx, 50)
        assert values == [expect] * 50, (gain, values[:3])
        transfers = fake.selected[gain]
        assert transfers >= 40
        assert fake.pulses[pulses] == transfers
        assert sum(fake.pulses) == transfers, (gain, fake.pulses)
        assert fake.gain == gain
        assert fake.errors == [], fake.errors


def test_readings_made_while_the_chip_settles_are_never_returned():
    fake, hx = make(gain=64)
    assert not hx.settled()
    out = settle(fake, hx)
    # The fake produced unsettled conversions (the reset default gain 128, then gain 64 for
    # 50 ms); the driver said "settling" until the first settled one, and nothing else.
    assert fake.unsettled >= 4
    assert len(out) * LOOP_US >= 50000
    assert out[:-1] == ["settling"] * (len(out) - 1) and out[-1] == A // 2
    assert UNSETTLED not in poll(fake, hx, 20)


def test_polling_80_sps_at_100_hz_returns_the_last_reading_between_conversions():
    fake, hx = make()
    settle(fake, hx)
    conversions = fake.conversions
    start = fake.now
    values = []
    for i in range(1000):  # 10 s
        fake.a = i
        fake.advance(LOOP_US)
        values.append(hx.read())
    converted = fake.conversions - conversions
    # Every conversion was read (none overwritten unread) and no call ever waited.
    assert abs(converted - (fake.now - start) // PERIOD_US) <= 1
    fresh = sum(1 for i in range(1, 1000) if values[i] != values[i - 1])
    assert converted - 1 <= fresh <= converted
    # Between conversions the previous value comes back, never more than one call in a row.
    assert all(values[i] - values[i - 1] in (0, 1, 2) for i in range(1, 1000))
    assert fake.errors == []


def test_not_ready_returns_the_last_value_then_faults_after_the_timeout():
    fake, hx = make()
    settle(fake, hx)
    poll(fake, hx, 2)
    resets = fake.resets
    fake.disconnected = True
    assert poll(fake, hx, TIMEOUT_CALLS) == [A] * TIMEOUT_CALLS
    fake.advance(LOOP_US)
    assert fault(hx) == "not ready"
    # The driver tried one reset to recover, and keeps faulting: no stale value after that.
    assert fake.resets == resets + 1
    for _ in range(30):
        fake.advance(LOOP_US)
        assert fault(hx) == "not ready"
    # The app's retry resets the sensor: still no reading, and the old one is not offered.
    hx.reset()
    out = poll_faults(fake, hx, 40)
    assert out[:20] == ["settling"] * 20 and out[-1] == "not ready"
    # Back: the fault stands while the chip settles, then fresh readings come.
    fake.disconnected = False
    fake.a = 2 * A
    out = poll_faults(fake, hx, 10)
    assert out[0] == "not ready" and out[-3:] == [2 * A] * 3
    assert set(out) == {"not ready", 2 * A}
    assert fake.errors == []


def test_a_chip_that_never_converts_faults_at_boot():
    fake = FakeHX711()
    fake.disconnected = True
    hx = HX711(fake.dout, fake.pd_sck, clock=fake)
    limit = TIMEOUT_CALLS + SETTLE_GRACE_CALLS
    out = poll_faults(fake, hx, limit + 5)
    assert out == ["settling"] * limit + ["not ready"] * 5
    assert not hx.settled()


def test_saturated_codes_fault_until_the_input_is_back_in_range():
    fake, hx = make()
    settle(fake, hx)
    for code in (0x7FFFFF, 0x800000):
        fake.raw = code
        fake.advance(2 * LOOP_US)
        assert fault(hx) == "saturated"
        # Between conversions too: the latest reading is still out of range.
        assert fault(hx) == "saturated"
    fake.raw = None
    fake.a = 10**9  # a physical overload saturates the fake's ADC the same way
    fake.advance(2 * LOOP_US)
    assert fault(hx) == "saturated"
    fake.a = A
    fake.advance(2 * LOOP_US)
    assert hx.read() == A
    # Saturated from the first reading after a reset: "saturated", not "settling".
    fake.a = -(10**9)
    hx.reset()
    out = settle(fake, hx)
    assert out[-1] == "saturated" and fault(hx) == "saturated"
    assert fake.errors == []


def test_power_down_then_up_resets_to_gain_128_and_the_driver_selects_its_gain_again():
    fake, hx = make(gain=64)
    settle(fake, hx)
    assert fake.gain == 64
    hx.power_down()
    fake.advance(LOOP_US)
    assert fake.down
    assert fault(hx) == "powered down"
    resets = fake.resets
    hx.power_up()
    assert fake.resets == resets + 1
    assert fake.gain == 128  # the datasheet's default after a reset
    assert set(settle(fake, hx)[:-1]) == {"settling"}
    assert fake.gain == 64
    assert poll(fake, hx, 5) == [A // 2] * 5
    assert fake.errors == []


def test_power_up_right_after_power_down_still_makes_a_real_reset():
    fake, hx = make()
    settle(fake, hx)
    resets = fake.resets
    hx.power_down()
    hx.power_up()
    assert fake.resets == resets + 1
    assert fake.errors == []


def test_normal_reads_never_hold_pd_sck_high_near_the_power_down_time():
    fake, hx = make(gain=32, b=4242)
    settle(fake, hx)
    powerdowns = fake.powerdowns  # the driver's own reset at construction
    poll(fake, hx, 500)
    assert fake.powerdowns == powerdowns == 1
    assert 0 < fake.max_high_us <= fake.op_us < 50
    assert hx.stalls == 0
    assert fake.errors == []


def test_a_stall_with_pd_sck_high_powers_the_fake_down_and_the_driver_recovers():
    fake, hx = make(gain=64)
    settle(fake, hx)
    poll(fake, hx, 2)
    powerdowns = fake.powerdowns
    fake.stall_on_pulse(10, 80)  # an interrupt between sck(1) and sck(0), 80 us
    fake.a = 2 * A
    values = poll(fake, hx, TIMEOUT_CALLS + SETTLE_GRACE_CALLS)
    assert fake.stall_pulse == 0  # the stall happened
    assert fake.powerdowns >= powerdowns + 1
    assert hx.stalls == 1
    # The torn reading was dropped, and so were the unsettled ones after the reset: the last
    # good value stood (a glitch is not a sensor fault), then the new force came through at
    # the gain the driver selected again.
    old = values.count(A // 2)
    assert values == [A // 2] * old + [A] * (len(values) - old)
    assert 6 <= old <= TIMEOUT_CALLS + SETTLE_GRACE_CALLS - 3
    assert fake.gain == 64
    assert fake.errors == []


def test_repeated_stalls_end_in_a_fault_not_in_a_stale_value_forever():
    fake, hx = make()
    settle(fake, hx)
    faults = 0
    for _ in range(TIMEOUT_CALLS + SETTLE_GRACE_CALLS + 10):
        fake.stall_on_pulse(3, 80)
        fake.advance(LOOP_US)
        try:
            hx.read()
        except SensorFault as e:
            assert e.args[0] == "not ready"
            faults += 1
    assert hx.stalls > 5
    assert faults >= 5


def bitbang(fake, pulses):
    """A driver under test of the fake: wait for data, then `pulses` clock pulses."""
    while fake.dout.value():
        fake.advance(100)
    for _ in range(pulses):
        fake.pd_sck.value(1)
        fake.pd_sck.value(0)


def test_the_fake_catches_protocol_errors():
    fake = FakeHX711()
    bitbang(fake, 24)
    fake.advance(20000)  # the next conversion completes: that transfer was short
    assert len(fake.errors) == 1 and "after 24 pulses" in fake.errors[0]
    bitbang(fake, 28)
    assert len(fake.errors) == 2 and "28 PD_SCK pulses" in fake.errors[1]
    fake.errors = []
    bitbang(fake, 26)
    assert fake.gain == 32 and fake.selected[32] == 1 and fake.pulses[26] == 1
    bitbang(fake, 1)
    fake.pd_sck.value(1)
    fake.advance(55)  # high past T3 max, not yet a power-down
    fake.pd_sck.value(0)
    assert len(fake.errors) == 1 and "T3" in fake.errors[0]
    assert fake.powerdowns == 0
    fake.errors = []
    fake.pd_sck.value(1)  # a power-down is no pulse, even mid-transfer
    fake.advance(61)
    assert fake.down and fake.powerdowns == 1
    fake.pd_sck.value(0)
    assert not fake.down and fake.resets == 1 and fake.gain == 128
    assert fake.errors == []
    fake.pd_sck.value(1)  # right after the reset no data is ready: PD_SCK must stay low
    fake.pd_sck.value(0)
    assert len(fake.errors) == 1 and "DOUT is high" in fake.errors[0]


def test_read_does_not_allocate():
    fake, hx = make(gain=64, a=-(1 << 22))
    settle(fake, hx)
    n = 300
    out = [0] * n
    fake.advance(LOOP_US)
    hx.read()
    if sys.implementation.name == "micropython":
        import micropython

        micropython.heap_lock()
        try:
            i = 0
            while i < n:
                fake.advance(LOOP_US)
                out[i] = hx.read()
                i += 1
        finally:
            micropython.heap_unlock()
    else:
        for i in range(n):
            fake.advance(LOOP_US)
            out[i] = hx.read()
    assert out == [-(1 << 21)] * n
    assert fake.errors == []
    # On either runtime: every number read() handles fits a small int on the ESP32 (31 bits),
    # the condition for the MicroPython run above to need no heap at all.
    state = (hx._last, hx._stale, hx._grace, hx._settle, fake.data, 0xFFFFFF, 1 << 24)
    assert all(-(1 << 30) <= v < (1 << 30) for v in state)


def test_only_the_datasheet_gains_are_accepted():
    fake = FakeHX711()
    e = raises(ValueError, HX711, fake.dout, fake.pd_sck, 100, False, fake)
    assert "128, 64 or 32" in e.args[0]
