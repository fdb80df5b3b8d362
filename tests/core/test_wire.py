# The wire against byte literals: these bytes ARE log formats v1 and v2 and console protocol 2
# (firmware/LOG-FORMAT.md). The ball packs with ball.wire and the host reads with it: a
# change to either side that breaks one of these literals breaks every reader and every
# ball in the field. Bump the version instead.
from ball import app, dose, session
from ball.wire import (
    BAND_NAMES,
    CUE_NAMES,
    FAULT_NAMES,
    STATE_NAMES,
    STOP_REASONS,
    framing,
    logfile,
    records,
)
from ball.wire import console as wconsole
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
# 'H': session 7, started 2025-11-24 16:00 UTC, trace every 100 ms, default bands, firmware 0.1.0,
# boot 42, 90 s after it
HEADER = bytes.fromhex(
    "4b42483e00010700000000812469640088130000204e0000b8880000d8d6000060ea0000204e00008813"
    "000060ea0000102700000305302e312e302a0000005a00000049ce43bb"
)
# The same header as the first v1 firmware wrote it: ending with the firmware version, no
# boot id and seconds since boot. Still read, with boot 0 (nothing to date it by).
HEADER_FIRST = bytes.fromhex(
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
# 'F': at 4.2 s of the session the bus failed.
FAULT = bytes.fromhex("4b4246050068100000012160b456")
# Version 2 (what the ball writes now): the same header with version 2; 'F', 'T' and 'S' end
# with the session id (7) and the record's number in the session (the 'H' is 0).
HEADER_V2 = bytes.fromhex(
    "4b42485300020700000000812469640088130000204e0000b8880000d8d6000060ea0000204e00008813"
    "000060ea0000102700000305302e312e302a0000005a0000000663616c76657300000000000000000000"
    "00000000f4b3e875"
)
# A version-2 header written before the area field (never released, still read).
HEADER_V2_NO_AREA = bytes.fromhex(
    "4b42483e00020700000000812469640088130000204e0000b8880000d8d6000060ea0000204e00008813"
    "000060ea0000102700000305302e312e302a0000005a00000098e81eba"
)
FAULT_V2 = bytes.fromhex("4b42460b006810000001070000000100fb86d9e0")
TRACE_V2 = bytes.fromhex(
    "4b42541e00000000000301010000000000000000e02e000002020a1428070000000200984c2920"
)
SUMMARY_V2 = bytes.fromhex(
    "4b42533c0048ee0000e8030000204e00003075000028230000e8030000b8050100606d00000200e8260000"
    "010002000000010001000100000001000700000003001f236f3d"
)
# Version 3 (what the ball writes now): the same header with version 3, and the session's
# last record before its 'S' marked in its number's top bit (the 'T' above, number 2).
HEADER_V3 = bytes.fromhex(
    "4b42485300030700000000812469640088130000204e0000b8880000d8d6000060ea0000204e00008813"
    "000060ea0000102700000305302e312e302a0000005a0000000663616c76657300000000000000000000"
    "000000000a679773"
)
TRACE_V3_LAST = bytes.fromhex(
    "4b42541e00000000000301010000000000000000e02e000002020a1428070000000280b8cf91cd"
)
# 'N' (version 3): the running session moved to lower_back, its limit now 60 s (record 2).
AREA_V3 = bytes.fromhex(
    "4b424e1f000a6c6f7765725f6261636b0000000000000000000060ea00000700000002003abc694a"
)
# 'L': uptime 1 s, -0.25 N, medium, active, 12.345 s in, holding 5 s, cues hold_effective
# and too_hard, no fault, raw 101325 counts, drift -3.4 N, calibration mode and drift bad.
LIVE = bytes.fromhex(
    "4b424c1e00e803000006ffffff02013930000088130000050000cd8b0100b8f2ffff0355bc9f92"
)
# 'D': bytes 01 02 03 from offset 2048 of a file.
DATA = bytes.fromhex("4b424407000008000001020307791456")
# 'R': the reply to `KB live on`.
REPLY = bytes.fromhex(
    "4b425221007b226c697665223a20747275652c2022636f6d6d616e64223a20226c697665227d124b73a5"
)
# 'E': the refusal of `KB symptom` with no session running.
ERROR = bytes.fromhex(
    "4b424549007b226572726f72223a20226e6f2073657373696f6e2069732072756e6e696e673a206e6f7468"
    "696e6720746f2073746f70222c2022636f6d6d616e64223a202273796d70746f6d227dbe93af66"
)


def payload(frame):
    return frame[framing.FRAME_HEAD : -4]


def test_names_are_the_indices_the_ball_writes():
    assert BAND_NAMES[session.IDLE] == "idle" and BAND_NAMES[session.OVER] == "over"
    assert BAND_NAMES[session.MEDIUM] == "medium" and len(BAND_NAMES) == session.OVER + 1
    assert STOP_REASONS[session.STOP_TIME_LIMIT] == "time_limit"
    assert STOP_REASONS[session.STOP_IDLE] == "idle"
    assert STOP_REASONS[session.STOP_ABORTED] == "aborted"
    assert STOP_REASONS[session.STOP_INTERRUPTED] == "interrupted"
    assert STOP_REASONS[session.STOP_SENSOR_FAULT] == "sensor_fault"
    assert STOP_REASONS[session.STOP_SYMPTOM] == "symptom"
    assert STOP_REASONS[session.STOP_LOW_BATTERY] == "low_battery"
    assert STATE_NAMES[session.READY] == "ready" and STATE_NAMES[session.STOPPED] == "stopped"
    assert FAULT_NAMES[app.FAULT_BUS] == "bus" and FAULT_NAMES[app.FAULT_STUCK] == "stuck"
    assert FAULT_NAMES[app.FAULT_SENSOR] == "sensor" and FAULT_NAMES[app.FAULT_NONE] == ""
    # Each cue's event bit is CUE_FIRST shifted by its index in CUE_NAMES.
    assert session.CUE_HOLD_EFFECTIVE == session.CUE_FIRST << CUE_NAMES.index("hold_effective")
    assert session.CUE_TOO_HARD == session.CUE_FIRST << CUE_NAMES.index("too_hard")
    assert session.CUE_REST == session.CUE_FIRST << CUE_NAMES.index("rest")


def test_header_bytes():
    head = records.header_payload(7, 1764000000, CFG, "0.1.0", boot=42, uptime_s=90)
    assert head[-21:] == bytes(21)  # no area chosen: n = 0
    buf = bytearray(records.header_payload(0, 0, CFG, "0.1.0"))
    records.header_set_area(buf, 0, b"lower_back", 10)
    records.header_set_id(buf, 0, 7, 1764000000)
    records.header_set_start(buf, 0, 42, 90)
    records.header_set_area(buf, 0, b"calves", 6)  # a shorter name clears the longer one
    assert framing.record(framing.HEADER, bytes(buf)) == HEADER_V3
    for frame in (HEADER, HEADER_V2, HEADER_V2_NO_AREA, HEADER_V3):
        h = records.unpack_header(payload(frame))
        assert h["boot"] == 42 and h["uptime_s"] == 90 and h["firmware"] == "0.1.0"
    assert records.unpack_header(payload(HEADER_V2))["version"] == 2
    assert records.unpack_header(payload(HEADER_V2))["area"] == "calves"


def test_a_summary_lost_after_the_last_record_is_damage_not_a_power_cut():
    whole = HEADER_V3 + FAULT_V2 + TRACE_V3_LAST + SUMMARY_V2
    (s,), damage = logfile.read(whole)
    assert s["complete"] and damage == [] and s["stop_reason"] == "time_limit"
    # Its 'S' gone: the 'T' marked last went out with it, so no power cut fell between.
    (s,), damage = logfile.read(whole[: -len(SUMMARY_V2)])
    at = len(HEADER_V3 + FAULT_V2)
    assert damage == [(at, "session 7: its summary is lost")] and s["damage"] == damage
    assert s["stop_reason"] == "interrupted" and not s["complete"]
    assert s["summary_values"][-1] == records.FLAG_RECOVERED | records.FLAG_DAMAGED
    # Version 2 marked no last record: a missing 'S' there is a power cut, as it was.
    (s,), damage = logfile.read(HEADER_V2 + FAULT_V2 + TRACE_V2)
    assert damage == [] and s["stop_reason"] == "interrupted"
    assert s["summary_values"][-1] == records.FLAG_RECOVERED


def renumbered(frame, seq):
    """A 'T', 'F' or 'S' frame of session 7 as record number seq."""
    b = bytearray(payload(frame))
    records.ids_pack_into(b, len(b) - records.IDS_SIZE, 7, seq)
    return framing.record(frame[2], bytes(b))


def test_a_session_moved_to_another_area_takes_its_area_and_limit_from_then():
    b = bytearray(records.AREA_SIZE + records.IDS_SIZE)
    n = records.area_pack_into(b, 0, b"lower_back", 10, 60000)
    records.ids_pack_into(b, n, 7, 2)
    assert framing.record(framing.AREA, bytes(b)) == AREA_V3
    assert records.unpack_area(payload(AREA_V3)) == ("lower_back", 60000)
    log = HEADER_V3 + FAULT_V2 + AREA_V3 + renumbered(TRACE_V3_LAST, 3 | records.LAST)
    (s,), damage = logfile.read(log + renumbered(SUMMARY_V2, 4))
    assert damage == [] and s["complete"]
    assert s["area"] == "lower_back" and s["header"]["session_limit_ms"] == 60000
    archived = framing.record(framing.ARCHIVED, logfile.archived_payload(s))
    assert logfile.read(archived)[0][0]["area"] == "lower_back"  # kept when the trace goes
    (s,), damage = logfile.read(log)  # its 'S' lost: rebuilt, on the area it moved to
    assert s["area"] == "lower_back" and s["stop_reason"] == "interrupted" and damage


def test_a_record_after_the_last_is_damage():
    b = bytearray(payload(FAULT_V2))
    records.ids_pack_into(b, len(b) - records.IDS_SIZE, 7, 3)
    fault = framing.record(framing.FAULT, bytes(b))
    b = bytearray(payload(SUMMARY_V2))
    records.ids_pack_into(b, len(b) - records.IDS_SIZE, 7, 4)
    summary = framing.record(framing.SUMMARY, bytes(b))
    head = HEADER_V3 + FAULT_V2 + TRACE_V3_LAST
    (s,), damage = logfile.read(head + fault + summary)
    assert damage == [(len(head), "a record of session 7 after its last")]
    assert s["complete"] and s["faults"] == [(4200, "bus"), (4200, "bus")]


def test_the_area_reads_as_none_chosen_from_older_headers_and_travels_in_archives():
    for frame, area in ((HEADER, ""), (HEADER_V2_NO_AREA, ""), (HEADER_V2, "calves")):
        sessions, damage = logfile.parse(frame + FAULT_V2 + TRACE_V2 + SUMMARY_V2)
        assert sessions[0]["area"] == area and damage is None
    sessions, _ = logfile.parse(HEADER_V2 + FAULT_V2 + TRACE_V2 + SUMMARY_V2)
    archived = framing.record(framing.ARCHIVED, logfile.archived_payload(sessions[0]))
    again, damage = logfile.parse(archived)
    assert again[0]["area"] == "calves" and again[0]["archived"] and damage is None
    old = framing.record(framing.ARCHIVED, logfile.archived_payload(sessions[0])[:-7])
    assert logfile.parse(old)[0][0]["area"] == ""


def test_the_area_names_fit_the_log_header():
    assert dose.AREA_LEN == records.AREA_LEN
    for name in dose.AREAS:
        assert dose.area_problem(name) is None and len(name) <= records.AREA_LEN


def _with_ids(frame, rtype, seq):
    """A v1 frame's payload with the v2 ids (session 7, number seq) packed after it."""
    body = payload(frame)
    buf = bytearray(framing.FRAME_OVERHEAD + len(body) + records.IDS_SIZE)
    buf[framing.FRAME_HEAD : framing.FRAME_HEAD + len(body)] = body
    n = len(body) + records.ids_pack_into(buf, framing.FRAME_HEAD + len(body), 7, seq)
    framing.frame(buf, 0, rtype, n)
    return bytes(buf)


def test_v2_records_end_with_the_session_id_and_their_number():
    assert _with_ids(FAULT, framing.FAULT, 1) == FAULT_V2
    assert _with_ids(TRACE, framing.TRACE, 2) == TRACE_V2
    assert _with_ids(SUMMARY, framing.SUMMARY, 3) == SUMMARY_V2
    assert records.ids(payload(TRACE_V2), records.body_size(framing.TRACE, payload(TRACE_V2)))
    assert records.ids(payload(TRACE), records.body_size(framing.TRACE, payload(TRACE))) is None


def test_a_v2_session_reads_as_its_v1_twin():
    v1, d1 = logfile.parse(HEADER + FAULT + TRACE + SUMMARY)
    v2, d2 = logfile.parse(HEADER_V2 + FAULT_V2 + TRACE_V2 + SUMMARY_V2)
    assert d1 is None and d2 is None and v2[0]["complete"]
    for key in ("summary_values", "trace", "faults", "id", "start_unix"):
        assert v2[0][key] == v1[0][key], key


def test_a_header_from_before_the_boot_fields_is_still_read():
    h = records.unpack_header(payload(HEADER_FIRST))
    assert h["id"] == 7 and h["firmware"] == "0.1.0" and h["boot"] == 0
    (s,), damage = logfile.parse(HEADER_FIRST + TRACE + SUMMARY)
    assert damage is None and s["header"]["session_limit_ms"] == 60000


def test_trace_bytes():
    buf = bytearray(framing.FRAME_OVERHEAD + 40)
    off = framing.FRAME_HEAD
    cues = [0, 0, 0, 0, 0, 0]
    changes = bytes([2, 2])
    n = records.trace_pack_into(buf, off, 0, 1, 0, 0, cues, 12000, changes, 1, b"\n\x14(", 3)
    assert framing.frame(buf, 0, framing.TRACE, n) == len(TRACE)
    assert bytes(buf[: len(TRACE)]) == TRACE
    t0, band0, changes, codes, stats = records.unpack_trace(payload(TRACE))
    assert (t0, band0, changes, bytes(codes)) == (0, 1, [(2, 2)], bytes([10, 20, 40]))
    assert stats[0] == 0 and stats[1] == 0 and list(stats[2]) == cues and stats[3] == 12000


def test_trace_counts_saturate_at_a_byte():
    buf = bytearray(40)
    records.trace_pack_into(buf, 0, 0, 1, 300, 256, [999, 0, 0, 0, 0, 0], 1, b"", 0, b"", 0)
    stats = records.unpack_trace(buf)[4]
    assert stats[0] == 255 and stats[1] == 255 and stats[2][0] == 255


def test_summary_bytes():
    assert framing.record(framing.SUMMARY, records.summary_payload(SUMMARY_VALUES)) == SUMMARY
    buf = bytearray(framing.FRAME_OVERHEAD + records.SUMMARY_SIZE)
    v = SUMMARY_VALUES
    n = records.summary_pack_into(
        buf, framing.FRAME_HEAD, v[0], v[1:6], v[6], v[7], v[8], v[9], v[10], v[11:17], 1, 0
    )
    framing.frame(buf, 0, framing.SUMMARY, n)
    assert bytes(buf) == SUMMARY
    assert list(records.unpack_summary(payload(SUMMARY))) == SUMMARY_VALUES


def test_fault_bytes():
    buf = bytearray(framing.FRAME_OVERHEAD + records.FAULT_SIZE)
    n = records.fault_pack_into(buf, framing.FRAME_HEAD, 4200, app.FAULT_BUS)
    framing.frame(buf, 0, framing.FAULT, n)
    assert bytes(buf) == FAULT
    assert tuple(records.unpack_fault(payload(FAULT))) == (4200, 1)
    sessions, damage = logfile.parse(HEADER + FAULT + TRACE + SUMMARY)
    assert damage is None and sessions[0]["faults"] == [(4200, "bus")]


def test_live_bytes():
    buf = bytearray(framing.FRAME_OVERHEAD + wconsole.LIVE_SIZE)
    flags = wconsole.FLAG_CALIB | wconsole.FLAG_DRIFT_BAD
    n = wconsole.live_pack_into(
        buf, framing.FRAME_HEAD, 1000, -250, 2, 1, 12345, 5000, 5, 0, 101325, -3400, flags
    )
    framing.frame(buf, 0, framing.LIVE, n)
    assert bytes(buf) == LIVE
    s = wconsole.unpack_live(payload(LIVE))
    assert s["t_ms"] == 1000 and s["force_n"] == -0.25 and s["band"] == "medium"
    assert s["state"] == "active" and s["elapsed_ms"] == 12345 and s["hold_ms"] == 5000
    assert s["cues"] == ["hold_effective", "too_hard"] and s["fault"] == ""
    assert s["raw"] == 101325 and s["drift_n"] == -3.4 and s["calib"] and s["drift_bad"]


def test_live_names_an_index_a_newer_ball_added_unknown():
    buf = bytearray(wconsole.LIVE_SIZE)
    wconsole.live_pack_into(buf, 0, 0, 0, 9, 7, 0, 0, 0, 200, 0, 0, 0)
    s = wconsole.unpack_live(buf)
    assert s["band"] == "unknown" and s["state"] == "unknown" and s["fault"] == "unknown"


def test_data_bytes():
    buf = bytearray(framing.FRAME_OVERHEAD + 4 + 3)
    n = wconsole.data_pack_into(buf, framing.FRAME_HEAD, 2048, b"\x01\x02\x03\x04", 3)
    framing.frame(buf, 0, framing.DATA, n)
    assert bytes(buf) == DATA
    assert wconsole.unpack_data(payload(DATA)) == (2048, b"\x01\x02\x03")


def test_reply_and_error_frames():
    assert REPLY[2] == framing.REPLY and framing.check(REPLY, 0)[1] is None
    assert wconsole.unpack_reply(payload(REPLY)) == {"live": True, "command": "live"}
    got = wconsole.unpack_reply(wconsole.reply_payload("live", {"live": True}))
    assert got == {"live": True, "command": "live"}
    assert ERROR[2] == framing.ERROR and framing.check(ERROR, 0)[1] is None
    refusal = {"error": "no session is running: nothing to stop", "command": "symptom"}
    assert wconsole.unpack_reply(payload(ERROR)) == refusal
    assert wconsole.unpack_reply(wconsole.error_payload("symptom", refusal["error"])) == refusal
    err = wconsole.unpack_reply(wconsole.error_payload("cfg", "no", key="light_n"))
    assert err == {"error": "no", "command": "cfg", "key": "light_n"}


def test_split_finds_a_frame_among_console_text():
    text = b"knotball: hello KB world\n"
    buf = bytearray(text + LIVE + b"more")
    t, size, rtype = framing.split(buf)
    assert (t, size, rtype) == (len(text), len(LIVE), framing.LIVE)
    # A frame cut short waits for its bytes; text before it is already text.
    assert framing.split(bytearray(text + LIVE[:10])) == (len(text), 0, None)
    # A lone first magic byte at the end may begin a frame.
    assert framing.split(bytearray(b"abcK")) == (3, 0, None)
    # A damaged frame is text.
    bad = bytearray(LIVE)
    bad[10] ^= 1
    assert framing.split(bad)[2] is None and framing.split(bad)[0] == len(bad)


def test_frame_fields():
    assert SUMMARY[:2] == b"KB" and SUMMARY[2] == ord("S")
    assert (
        SUMMARY[3] | SUMMARY[4] << 8
        == records.SUMMARY_SIZE
        == len(SUMMARY) - framing.FRAME_OVERHEAD
    )


def test_a_whole_session_reads_back():
    sessions, damage = logfile.parse(HEADER + TRACE + SUMMARY)
    assert damage is None and len(sessions) == 1
    s = sessions[0]
    assert s["id"] == 7 and s["start_unix"] == 1764000000 and s["complete"]
    assert s["duration_ms"] == 61000 and s["stop_reason"] == "time_limit"
    assert s["band_ms"] == {"light": 20000, "medium": 30000, "firm": 9000, "over": 1000}
    assert s["peak_n"] == 67.0 and s["header"]["firmware"] == "0.1.0"
    assert s["trace"] == [(0, 1, 5.0), (100, 1, 10.0), (200, 2, 20.0)]


def test_session_without_summary_is_recovered_from_its_checkpoint():
    sessions, damage = logfile.parse(HEADER + TRACE)
    s = sessions[0]
    assert damage is None and not s["complete"] and s["stop_reason"] == "interrupted"
    assert s["duration_ms"] == 300 and s["peak_n"] == 12.0
    assert s["band_ms"]["light"] == 200 and s["band_ms"]["medium"] == 100


def test_torn_tail_is_damage_after_everything_before_it():
    sessions, damage = logfile.parse(HEADER + TRACE + SUMMARY[:-3])
    assert damage == (len(HEADER + TRACE), "torn record at the end (power cut while writing?)")
    assert sessions[0]["duration_ms"] == 300


def test_flipped_bit_is_detected_and_reading_resumes_after_it():
    bad = bytearray(HEADER + TRACE + SUMMARY)
    bad[len(HEADER) + 20] ^= 0x10
    sessions, damage = logfile.parse(bytes(bad))
    assert damage[0] == len(HEADER) and "CRC" in damage[1]
    assert sessions[0]["complete"] and sessions[0]["duration_ms"] == 61000


def test_not_a_log():
    raises(logfile.NotALog, logfile.parse, b"t_ms,force_n\n")
    raises(logfile.NotALog, logfile.parse, b"")


def test_unknown_record_types_are_skipped():
    extra = framing.record(ord("X"), b"future")
    sessions, damage = logfile.parse(HEADER + extra + TRACE + SUMMARY)
    assert damage is None and sessions[0]["duration_ms"] == 61000


def test_a_repeated_session_id_is_read_once():
    one = HEADER + TRACE + SUMMARY
    sessions, _ = logfile.parse(one + one)
    assert len(sessions) == 1


def test_archived_summary_keeps_the_summary_without_the_trace():
    s = logfile.parse(HEADER + TRACE + SUMMARY)[0][0]
    archived = framing.record(framing.ARCHIVED, logfile.archived_payload(s))
    head = archived[framing.FRAME_HEAD : framing.FRAME_HEAD + records.ARCHIVED_PREFIX]
    # id 7, started 2025-11-24 16:00 UTC, default bands, a 60 s limit; then the 'S'.
    assert head == bytes.fromhex("070000000081246988130000204e0000b8880000d8d6000060ea0000")
    a = logfile.parse(archived)[0][0]
    assert a["archived"] and a["id"] == 7 and "trace" not in a
    assert a["summary_values"] == s["summary_values"]
    size = records.ARCHIVED_PREFIX + records.SUMMARY_SIZE + 1  # + the area: none (n = 0)
    assert len(archived) == framing.FRAME_OVERHEAD + size and archived[-5] == 0


def test_force_codes_saturate():
    assert (
        records.force_code(-5) == 0
        and records.force_code(499) == 0
        and records.force_code(500) == 1
    )
    assert records.force_code(10**6) == 255


def test_stop_reasons_keep_their_indices_so_older_logs_read_the_same():
    old = ("", "time_limit", "idle", "aborted", "interrupted", "sensor_fault", "symptom")
    assert STOP_REASONS[: len(old)] == old  # logs store the index: new reasons go at the end
    assert STOP_REASONS[len(old)] == "low_battery"


# ---- version 2: order, number and identity of records are checked ----


def _session_v2(sid=7, seqs=(1, 2, 3, 4)):
    """H, three 'T' (t0 0, 300, 600 ms) and 'S' of session sid, numbered seqs."""
    head = bytearray(payload(HEADER_V2))
    records.header_set_id(head, 0, sid, 1764000000)
    out = [framing.record(framing.HEADER, bytes(head))]
    for k in range(3):
        t = bytearray(payload(TRACE))
        t[0:4] = (300 * k).to_bytes(4, "little")
        out.append(framing.record(framing.TRACE, bytes(t) + _ids(sid, seqs[k])))
    out.append(framing.record(framing.SUMMARY, payload(SUMMARY) + _ids(sid, seqs[3])))
    return out


def _ids(sid, seq):
    buf = bytearray(records.IDS_SIZE)
    records.ids_pack_into(buf, 0, sid, seq)
    return bytes(buf)


def test_a_v2_session_reads_whole():
    sessions, damage = logfile.read(b"".join(_session_v2()))
    assert damage == [] and sessions[0]["complete"] and len(sessions[0]["trace"]) == 9


def test_a_dropped_repeated_or_swapped_record_is_damage_never_read_silently():
    h, t1, t2, t3, s = _session_v2()
    for name, recs in (
        ("dropped", [h, t1, t3, s]),
        ("repeated", [h, t1, t2, t2, t3, s]),
        ("swapped", [h, t2, t1, t3, s]),
        ("summary first", [h, t1, t2, s, t3]),
    ):
        data = b"".join(recs)
        sessions, damage = logfile.read(data)
        assert damage, name
        assert sessions[0]["damage"] == damage, name
        assert len(sessions[0]["trace"]) < 9 or name == "repeated", name
        assert len(sessions[0]["trace"]) <= 9, name  # a repeat is never read twice


def test_a_session_whose_header_is_lost_is_still_identified_by_its_records():
    h, t1, t2, t3, s = _session_v2()
    sessions, damage = logfile.read(t1 + t2 + t3 + s)
    assert damage == [(0, "session 7: its header is lost")]
    assert sessions[0]["id"] == 7 and sessions[0]["complete"]
    assert sessions[0]["header"]["lost"] and len(sessions[0]["trace"]) == 9


def test_two_sessions_in_a_file_never_share_a_summary():
    h1, t1, _t2, _t3, s1 = _session_v2(7)
    h2, u1, u2, u3, s2 = _session_v2(8)
    # Session 7's summary and session 8's header damaged: 8's records are 8's, not 7's.
    bad_s1 = s1[:-1] + bytes([s1[-1] ^ 1])
    bad_h2 = h2[:9] + bytes([h2[9] ^ 1]) + h2[10:]
    sessions, damage = logfile.read(h1 + t1 + bad_s1 + bad_h2 + u1 + u2 + u3 + s2)
    assert [s["id"] for s in sessions] == [7, 8] and len(damage) == 2  # one span, one note
    assert not sessions[0]["complete"] and sessions[0]["stop_reason"] == "interrupted"
    assert sessions[1]["complete"] and len(sessions[1]["trace"]) == 9


def test_a_damaged_length_is_damage_not_a_torn_tail_when_records_follow():
    for recs in (_session_v2(), [HEADER, TRACE, TRACE, SUMMARY]):
        data = bytearray(b"".join(recs))
        at = len(recs[0]) + 4  # the high byte of the first 'T''s length
        data[at] ^= 0x08
        sessions, damage = logfile.read(bytes(data))
        assert damage[0][0] == len(recs[0]) and "torn" not in damage[0][1]
        assert sessions[0]["complete"], damage


def test_a_damaged_magic_at_the_start_is_damage_not_another_kind_of_file():
    data = bytearray(b"".join(_session_v2()))
    data[0] ^= 0x01
    sessions, damage = logfile.read(bytes(data))
    assert damage[0][0] == 0 and sessions[0]["id"] == 7 and sessions[0]["complete"]


# ---- threshold files (the phone page's measurement, firmware/ball/wire/threshold.py) ----

# A measurement on calves at 2026-12-05 10:00:00 UTC, boot 0x01020304, 5 s after boot:
# level 30.5 N, spread 6.6 %, presses (29.5 N, 5200 ms), (31.5 N, 6100 ms), (30.5 N, 5800 ms).
THRESHOLD_FILE = bytes.fromhex(
    "4b4250"  # magic, type 'P'
    "2500"  # payload length 37
    "01"
    "a0e0136b"
    "04030201"
    "05000000"  # version, unix, boot, seconds since boot
    "3101"
    "4200"
    "03"  # level 305 (0.1 N), spread 66 (0.1 %), 3 presses
    "2701"
    "5014"
    "3b01"
    "d417"
    "3101"
    "a816"  # (peak 0.1 N, rise ms) x3
    "06"
    "63616c766573"  # "calves"
)


def test_a_threshold_file_is_these_bytes_and_reads_back():
    from ball.wire import threshold

    presses = [(29.5, 5200), (31.5, 6100), (30.5, 5800)]
    data = threshold.pack(1796464800, 0x01020304, 5, 30.5, 6.6, presses, "calves")
    assert data[:-4] == THRESHOLD_FILE
    assert framing.check(data, 0) == (len(data) - 4, None)
    got = threshold.unpack(data)
    assert got == {
        "unix": 1796464800, "boot": 0x01020304, "uptime_s": 5, "level_n": 30.5,
        "spread_pct": 6.6, "peaks_n": [29.5, 31.5, 30.5], "rise_ms": [5200, 6100, 5800],
        "area": "calves",
    }  # fmt: skip
    assert threshold.file_name(12) == "t0000012.kbt"
    assert threshold.number_of("t0000012.kbt") == 12
    assert threshold.number_of("00000012.kbl") is None
    assert threshold.number_of("t00000x2.kbt") is None


def test_a_damaged_or_foreign_threshold_file_is_refused_naming_why():
    from ball.wire import threshold

    data = threshold.pack(0, 1, 2, 30.0, 0.0, [(30.0, 5000)], "soles")
    for bad, why in (
        (data[:-1], "torn"),
        (data[:20] + bytes([data[20] ^ 1]) + data[21:], "CRC"),
        (data + data, "more than one"),
        (framing.record(framing.SUMMARY, bytes(10)), "not a threshold"),
        (b"", "empty"),
    ):
        e = raises(ValueError, threshold.unpack, bad)
        assert why in str(e), (why, str(e))
    raises(ValueError, threshold.pack, 0, 0, 0, 1.0, 0.0, [], "soles")
