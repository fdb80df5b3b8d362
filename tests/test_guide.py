"""The hardware guide against the code: every board-profile key it names is one that
firmware/ball/profile.py knows (and every key profile.py knows is in the guide's table), and
every console message it quotes is one the firmware prints."""

import ast
import re
from pathlib import Path

from ball import profile

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "hardware" / "README.md").read_text()


def _section(number):
    start = GUIDE.index("\n## {}. ".format(number))
    end = GUIDE.index("\n## ", start + 1)
    return GUIDE[start:end]


def _firmware_strings():
    out = []
    for path in (ROOT / "firmware").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.append(node.value)
    return out


def test_every_key_in_the_profile_table_is_checked_by_profile_py_and_the_other_way_round():
    table = [line for line in _section(9).splitlines() if line.startswith("| `")]
    named = set()
    for row in table:
        named |= set(re.findall(r"`([a-z0-9_]+)`", row.split("|")[1]))
    assert named and named <= set(profile.KEYS), named - set(profile.KEYS)
    assert set(profile.KEYS) <= named, set(profile.KEYS) - named


def test_every_key_set_in_the_guide_is_a_profile_key():
    # `key` = value in the pin tables, "key": value in the JSON examples.
    set_keys = set(re.findall(r"`([a-z0-9_]+)(?:\[\d+\])?` = ", GUIDE))
    set_keys |= set(re.findall(r'"([a-z0-9_]+)": ', _section(9)))
    assert len(set_keys) > 15
    assert set_keys <= set(profile.KEYS), set_keys - set(profile.KEYS)


def _pieces(text):
    return [p.strip() for p in re.split(r"\.\.\.|\b[A-Z][A-Z_]+\b|: ", text) if len(p.strip()) > 2]


def test_every_console_message_the_guide_quotes_is_printed_by_the_firmware():
    """A quote's placeholders are written in capitals (KEY, PATH, MV) or as "..."; each
    literal piece between them and between ": " separators must be part of a firmware
    string, where the firmware's own {} placeholders stand for anything."""
    quotes = re.findall(r"`(knotball: [^`]+)`", GUIDE)
    quotes += re.findall(r"`(board profile: [^`]+)`", GUIDE)
    assert len(quotes) >= 6
    code = [piece for s in _firmware_strings() for piece in s.split(": ")]
    patterns = [
        re.compile(".+".join(re.escape(part) for part in re.split(r"\{[^}]*\}", c)))
        for c in code
        if "{" in c and len(re.sub(r"\{[^}]*\}", "", c).strip()) > 1
    ]
    for quote in quotes:
        for piece in _pieces(quote):
            found = any(piece in c for c in code) or any(p.fullmatch(piece) for p in patterns)
            assert found, "{!r}: {!r} is not printed by the firmware".format(quote, piece)


def test_the_fit_table_adds_up_and_everything_is_inside_the_cavity():
    """5.2's table: each farthest point's distance from the centre, and the room left to the
    cavity's 28.5 mm radius, are what the point's coordinates give."""
    rows = re.findall(
        r"^\| [^|]+ \| \(([-−\d., ]+)\) \| [^|]*= ([\d.]+) \| ([\d.]+) \|$", _section(5), re.M
    )
    assert len(rows) >= 6
    for point, distance, room in rows:
        xyz = [float(v.replace("−", "-")) for v in point.split(",")]
        d = sum(v * v for v in xyz) ** 0.5
        assert abs(d - float(distance)) < 0.06, (point, d, distance)
        assert abs(28.5 - d - float(room)) < 0.06 and float(room) > 0, (point, room)


def test_the_profiles_in_the_guide_are_accepted():
    import json

    examples = re.findall(r"```json\n(.*?)```", GUIDE, re.S)
    assert examples
    for text in examples:
        assert profile.validate(json.loads(text))
