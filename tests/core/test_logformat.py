# The log format against byte literals: these bytes ARE format v1 (firmware/LOG-FORMAT.md).
# A change that breaks one of them breaks every reader: bump the format version instead.
import struct

from ball import logformat as lf
from kbtest import raises

CFG = {
    "light_n": 5.0,
    "medium_n": 20.0,
    "firm_n": 35.0,
    "over_n": 55.0,
    "session_limit_s": 60,
    "idle_stop_s": 20,
    "hold_min_s": 5,
    "hold_max_s": 60,
    "warn_before_s": 10,
    "max_sessions_per_day": 3,
}
# 'H': session 7, started 2025-11-24 16:00 UTC, trace every 100 ms, default bands, firmware 0.1.0
HEADER = bytes.fromhex(
    "4b42483600010700000000812469640088130000204e0000b8880000d8d6000060ea0000204e00008813"
    "000060ea0000102700000305302e312e30c9d811a4"
)
# 'T': t0 0, 3 samples, 1 band change, first band light, peak 12 N; band medium from
# sample 2; samples 5 N, 10 N, 20 N.
TRACE = bytes.fromhex("4b42541800000000000301010000000000000000e02e000002020a14281ca401ff")
# 'S': 61 s, idle 1 s, light 20 s, medium 30 s, firm 9 s, over 1 s, peak 67 N, mean 28 N,
# 2 holds, longest 9.96 s, too hard once, cues 2/0/1/1/1/0, stopped by the time limit.
SUMMARY_VALUES = [61000, 1000, 20000, 30000, 9000, 1000, 67000, 28000, 2, 9960, 1]
SUMMARY_VALUES += [2, 0, 1, 1, 1, 0, 1, 0]
SUMMARY = bytes.fromhex(
    "4b4253360048ee0000e8030000204e00003075000028230000e8030000b8050100606d00000200e8260000"
    "01000200000001000100010000000100fd2c6889"
)


def test_header_bytes():
    assert lf.record(lf.HEADER, lf.header_payload(7, 1764000000, CFG, "0.1.0")) == HEADER


def test_trace_bytes():
    payload = struct.pack("<IBBBBB6BI", 0, 3, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 12000)
    assert lf.record(lf.TRACE, payload + bytes([2, 2, 10, 20, 40])) == TRACE


def test_summary_bytes():
    assert lf.record(lf.SUMMARY, lf.summary_payload(SUMMARY_VALUES)) == SUMMARY


def test_frame_fields():
    assert SUMMARY[:2] == b"KB" and SUMMARY[2] == ord("S")
    assert SUMMARY[3] | SUMMARY[4] << 8 == lf.SUMMARY_SIZE == len(SUMMARY) - lf.FRAME_OVERHEAD


def test_a_whole_session_reads_back():
    sessions, damage = lf.parse(HEADER + TRACE + SUMMARY)
    assert damage is None and len(sessions) == 1
    s = sessions[0]
    assert s["id"] == 7 and s["start_unix"] == 1764000000 and s["complete"]
    assert s["duration_ms"] == 61000 and s["stop_reason"] == "time_limit"
    assert s["band_ms"] == {"light": 20000, "medium": 30000, "firm": 9000, "over": 1000}
    assert s["peak_n"] == 67.0 and s["header"]["firmware"] == "0.1.0"
    assert s["trace"] == [(0, 1, 5.0), (100, 1, 10.0), (200, 2, 20.0)]


def test_session_without_summary_is_recovered_from_its_checkpoint():
    sessions, damage = lf.parse(HEADER + TRACE)
    s = sessions[0]
    assert damage is None and not s["complete"] and s["stop_reason"] == "interrupted"
    assert s["duration_ms"] == 300 and s["peak_n"] == 12.0
    assert s["band_ms"]["light"] == 200 and s["band_ms"]["medium"] == 100


def test_torn_tail_is_damage_after_everything_before_it():
    sessions, damage = lf.parse(HEADER + TRACE + SUMMARY[:-3])
    assert damage == (len(HEADER + TRACE), "torn record at the end (power cut while writing?)")
    assert sessions[0]["duration_ms"] == 300


def test_flipped_bit_is_detected_and_reading_resumes_after_it():
    bad = bytearray(HEADER + TRACE + SUMMARY)
    bad[len(HEADER) + 20] ^= 0x10
    sessions, damage = lf.parse(bytes(bad))
    assert damage[0] == len(HEADER) and "CRC" in damage[1]
    assert sessions[0]["complete"] and sessions[0]["duration_ms"] == 61000


def test_not_a_log():
    raises(lf.NotALog, lf.parse, b"t_ms,force_n\n")
    raises(lf.NotALog, lf.parse, b"")


def test_unknown_record_types_are_skipped():
    extra = lf.record(ord("X"), b"future")
    sessions, damage = lf.parse(HEADER + extra + TRACE + SUMMARY)
    assert damage is None and sessions[0]["duration_ms"] == 61000


def test_a_repeated_session_id_is_read_once():
    one = HEADER + TRACE + SUMMARY
    sessions, _ = lf.parse(one + one)
    assert len(sessions) == 1


def test_archived_summary_keeps_the_summary_without_the_trace():
    s = lf.parse(HEADER + TRACE + SUMMARY)[0][0]
    archived = lf.record(lf.ARCHIVED, lf.archived_payload(s))
    a = lf.parse(archived)[0][0]
    assert a["archived"] and a["id"] == 7 and "trace" not in a
    assert a["summary_values"] == s["summary_values"]
    assert len(archived) == lf.FRAME_OVERHEAD + lf.ARCHIVED_PREFIX + lf.SUMMARY_SIZE


def test_force_codes_saturate():
    assert lf.force_code(-5) == 0 and lf.force_code(499) == 0 and lf.force_code(500) == 1
    assert lf.force_code(10**6) == 255


def test_stop_reasons_keep_their_indices_so_older_logs_read_the_same():
    from ball.session import STOP_REASONS

    old = ("", "time_limit", "idle", "aborted", "interrupted", "sensor_fault", "symptom")
    assert STOP_REASONS[: len(old)] == old  # logs store the index: new reasons go at the end
    assert STOP_REASONS[len(old)] == "low_battery"
