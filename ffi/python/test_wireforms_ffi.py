"""Every vector of spec/vectors/ through the C ABI from Python (ctypes), as
spec/README.md "Running a vector" says, plus a few checks of the boundary.

    python3 -m pytest ffi/python
"""

import ctypes
import json
from pathlib import Path

import pytest

import wireforms_ffi as wf

VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors"


def load_cases():
    cases = []
    for fmt in wf.FORMATS:
        doc = json.loads((VECTORS / f"{fmt}.json").read_text(encoding="utf-8"))
        count = 0
        for group in doc["testGroups"]:
            (limit,) = group["limits"].values()
            for test in group["tests"]:
                count += 1
                cases.append(pytest.param(fmt, limit, group.get("mode", "stream"), test,
                                          id=f"{fmt}-{test['tcId']}"))
        assert count == doc["numberOfTests"]
    return cases


CASES = load_cases()


def test_every_vector_is_collected():
    total = sum(json.loads((VECTORS / f"{f}.json").read_text())["numberOfTests"]
                for f in wf.FORMATS)
    assert len(CASES) == total == 219


def expected_messages(fmt, test):
    out = []
    for m in test["messages"]:
        m = dict(m)
        if "payload" in m:
            m["payload"] = bytes.fromhex(m["payload"])
        out.append(m)
    return out


def decode(fmt, data, limit, mode):
    """(messages, failure): failure is None or (kind, offset, needed, error)."""
    if mode == "datagram":
        try:
            return [wf.parse_datagram(fmt, data, limit)], None
        except wf.WireError as e:
            return [], (e.kind, 0, e.needed, e)
    messages, at = [], 0
    while at < len(data):
        try:
            outcome = wf.parse(fmt, data[at:], limit)
        except wf.WireError as e:
            return messages, (e.kind, at, None, e)
        if isinstance(outcome, wf.Incomplete):
            return messages, ("incomplete", at, outcome.needed, None)
        assert 0 < outcome.consumed <= len(data) - at
        messages.append(outcome.message)
        at += outcome.consumed
    return messages, None


@pytest.mark.parametrize("fmt,limit,mode,test", CASES)
def test_vector(fmt, limit, mode, test):
    data = bytes.fromhex(test["input"])
    messages, failure = decode(fmt, data, limit, mode)
    assert messages == expected_messages(fmt, test)
    valid = test["result"] == "valid" or (test["result"] == "acceptable" and failure is None)
    if valid:
        assert failure is None, failure
        if "Unencodable" in test["flags"]:
            with pytest.raises(wf.WireError) as refused:
                b"".join(wf.encode(fmt, m) for m in messages)
            assert refused.value.kind == "invalid_field"
            assert refused.value.section.endswith("/4.1")
            return
        encoded = b"".join(wf.encode(fmt, m) for m in messages)
        assert encoded == bytes.fromhex(test.get("canonical", test["input"]))
        for m in messages:
            if fmt != "response":
                assert wf.reference_reply(fmt, m)
        return
    assert failure is not None, "invalid input decoded without error"
    kind, offset, needed, error = failure
    assert kind == test["error"]
    assert offset == test["errorOffset"]
    if kind == "incomplete":
        assert needed == (test["needed"] or 0)
    else:
        assert error.details == test.get("errorDetail", {})
        assert error.section == test["section"]


def test_short_buffer_writes_nothing_and_tells_the_size():
    message = {"channel": 1, "payload": b"hello"}
    assert wf.emit_into("mux", message, 9) == b"\x00\x01\x00\x05hello"
    with pytest.raises(wf.WireError) as short:
        wf.emit_into("mux", message, 8)
    assert short.value.kind == "buffer_too_small"
    assert (short.value.needed, short.value.available) == (9, 8)


def test_reference_replies():
    assert wf.reference_reply("typed", {"type": 255, "payload": b"x"}) == b"\0\0\0\1\0x"
    assert wf.reference_reply("frame", {"payload": b"First frame"}) == b"\0\0\0\x0bFIRST FRAME"
    assert wf.reference_reply("mux", {"channel": 1, "payload": b"hi"}) == b"\0\1\0\x0aEcho 1: hi"
    request = {"id": "7", "command": "REVERSE", "args": "abc"}
    assert wf.reference_reply("request", request) == b"7:OK:cba\n"


def test_null_pointers_are_a_status_not_a_crash():
    err = wf.Error()
    status = wf.lib.wireforms_typed_parse(None, 5, None, None, None, None, ctypes.byref(err))
    assert status == wf.STATUS_NULL_POINTER
    assert wf.lib.wireforms_status_name(status) == b"null_pointer"
    assert err.message.startswith(b"null_pointer: ")


def test_version_and_names():
    assert wf.version() == 100
    assert wf.lib.wireforms_error_kind_name(2) == b"too_large"
    assert wf.limits("request").max_line_len == 65536


def test_a_line_datagram_may_leave_out_its_line_feed():
    assert wf.parse_datagram("request", b"7:ECHO:a:b") == {"id": "7", "command": "ECHO", "args": "a:b"}
    with pytest.raises(wf.WireError) as trailing:
        wf.parse_datagram("response", b"1:OK:x\nmore")
    assert (trailing.value.kind, trailing.value.details) == ("trailing_bytes", {"len": 4})
