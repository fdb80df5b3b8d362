"""Every board profile shipped in hardware/boards/ is valid, and names its board."""

import json
from pathlib import Path

import pytest

from ball import profile

BOARDS = sorted((Path(__file__).resolve().parent.parent / "hardware" / "boards").glob("*.json"))


def test_the_required_boards_are_there():
    names = {p.stem for p in BOARDS}
    assert {"esp32-devkitc", "xiao-esp32c3", "xiao-esp32s3", "sim"} <= names


@pytest.mark.parametrize("path", BOARDS, ids=lambda p: p.stem)
def test_shipped_profile_is_valid(path):
    p = json.loads(path.read_text())
    assert profile.validate(p) is p
    assert p["name"] == path.stem and p.get("description")
