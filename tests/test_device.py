"""Smoke test on a real ball: `pytest --device /dev/ttyUSB0 -k device`. Deselected without
--device (see conftest.py), so it is never counted when no ball is connected."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.device

CHECK = """
import json
from ball import VERSION, board, profile
p = board.load_profile()
profile.validate(p)
hw = board.Board(p)
hw.off()
try:
    reading = hw.read_sensor()
    error = None
except Exception as e:
    reading, error = None, str(e)
print(json.dumps({"version": VERSION, "board": p.get("name"), "reading": reading,
                  "error": error, "battery_mv": hw.battery_mv(),
                  "motor_duty": hw.pwm.duty_u16()}))
"""


def mpremote(port, *args):
    return subprocess.run(
        [sys.executable, "-m", "mpremote", "connect", port, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_device_firmware_answers_and_its_outputs_are_off(request):
    import json

    port = request.config.getoption("--device")
    res = mpremote(port, "exec", CHECK)
    assert res.returncode == 0, res.stderr
    facts = json.loads(res.stdout.strip().splitlines()[-1])
    print(facts)
    assert facts["version"] and facts["board"]
    assert facts["motor_duty"] == 0
    assert facts["error"] is None and isinstance(facts["reading"], int)
