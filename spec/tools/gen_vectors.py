#!/usr/bin/env python3
"""Generates the conformance vectors in spec/vectors/.

    python3 spec/tools/gen_vectors.py          # (re)writes spec/vectors/*.json
    python3 spec/tools/gen_vectors.py --check  # fails if the files are stale

Standard library only, deterministic. Every expected result is computed by
the reference model below (a direct transcription of the receiver rules of
spec/<format>.md), and each case also states the outcome its author meant
(result and error kind), which the model must agree with: a slip in either
stops the generator instead of producing a wrong vector.

File layout: spec/README.md, "Vector files", and spec/vectors/schema.json
(written by this script too).
"""

import json
import os
import struct
import sys

SCHEMA_ID = "wireforms-vectors-v1.json"
VERSION = 1
HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(os.path.dirname(HERE), "vectors")

MAGIC = 0xDEADBEEF
TYPED_DEFAULT_MAX = 1 << 20
FRAME_DEFAULT_MAX = 1 << 20
U16_MAX = 0xFFFF
LINE_DEFAULT_MAX = 65536
SMALL = 16

# --------------------------------------------------------------------------
# Parse outcomes of the model parsers (one message from the front of a buffer)


def complete(message, consumed):
    return ("complete", message, consumed)


def incomplete(needed):
    """needed: int, or None when unknown."""
    return ("incomplete", needed)


def error(kind, section, **detail):
    return ("error", kind, section, detail)


# ---- typed (spec/typed.md) ------------------------------------------------


def parse_typed(buf, limits):
    if len(buf) < 5:
        return incomplete(5 - len(buf))  # typed/5.1
    length, mtype = struct.unpack(">IB", buf[:5])
    if length > limits["max_payload_len"]:  # typed/5.2, before waiting for the payload
        return error("too_large", "typed/5.2", len=length, max=limits["max_payload_len"])
    if len(buf) < 5 + length:
        return incomplete(5 + length - len(buf))
    return complete({"type": mtype, "payload": buf[5 : 5 + length].hex()}, 5 + length)


def encode_typed(m):
    p = bytes.fromhex(m["payload"])
    return struct.pack(">IB", len(p), m["type"]) + p


# ---- magic (spec/magic.md) ------------------------------------------------


def parse_magic(buf, limits):
    if len(buf) < 8:
        return incomplete(8 - len(buf))  # magic/5.1: checks wait for the whole header
    magic, version, ptype, length = struct.unpack(">IBBH", buf[:8])
    if magic != MAGIC:
        return error("bad_magic", "magic/5.2", found=magic)
    if version != 1:
        return error("bad_version", "magic/5.3", found=version)
    if length > limits["max_payload_len"]:
        return error("too_large", "magic/5.4", len=length, max=limits["max_payload_len"])
    if len(buf) < 8 + length:
        return incomplete(8 + length - len(buf))
    return complete(
        {"version": version, "type": ptype, "payload": buf[8 : 8 + length].hex()}, 8 + length
    )


def encode_magic(m):
    p = bytes.fromhex(m["payload"])
    return struct.pack(">IBBH", MAGIC, m["version"], m["type"], len(p)) + p


def magic_header(ptype, length, version=1, magic=MAGIC):
    return struct.pack(">IBBH", magic, version, ptype, length)


# ---- frame (spec/frame.md) ------------------------------------------------


def parse_frame(buf, limits):
    if len(buf) < 4:
        return incomplete(4 - len(buf))
    (length,) = struct.unpack(">I", buf[:4])
    if length > limits["max_payload_len"]:
        return error("too_large", "frame/5.2", len=length, max=limits["max_payload_len"])
    if len(buf) < 4 + length:
        return incomplete(4 + length - len(buf))
    return complete({"payload": buf[4 : 4 + length].hex()}, 4 + length)


def encode_frame(m):
    p = bytes.fromhex(m["payload"])
    return struct.pack(">I", len(p)) + p


# ---- mux (spec/mux.md) ----------------------------------------------------


def parse_mux(buf, limits):
    if len(buf) < 4:
        return incomplete(4 - len(buf))
    channel, length = struct.unpack(">HH", buf[:4])
    if length > limits["max_payload_len"]:
        return error("too_large", "mux/5.2", len=length, max=limits["max_payload_len"])
    if len(buf) < 4 + length:
        return incomplete(4 + length - len(buf))
    return complete({"channel": channel, "payload": buf[4 : 4 + length].hex()}, 4 + length)


def encode_mux(m):
    p = bytes.fromhex(m["payload"])
    return struct.pack(">HH", m["channel"], len(p)) + p


# ---- request / response lines (spec/reqres.md) ----------------------------


def parse_line(buf, limits, names):
    max_len = limits["max_line_len"]
    i = buf.find(b"\n", 0, max_len)  # reqres/5.2: look no further than the limit
    if i < 0:
        if len(buf) >= max_len:
            return error("line_too_long", "reqres/5.2", max=max_len)
        return incomplete(None)
    line = buf[:i]
    if line.endswith(b"\r"):  # reqres/5.5: one '\r' before '\n' is stripped
        line = line[:-1]
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        return error("invalid_utf8", "reqres/5.4", offset=e.start)
    parts = text.split(":", 2)
    if len(parts) != 3:
        return error("malformed", "reqres/5.3", offset=len(line))
    return complete(dict(zip(names, parts)), i + 1)


REQUEST_FIELDS = ("id", "command", "args")
RESPONSE_FIELDS = ("id", "status", "data")


def parse_request(buf, limits):
    return parse_line(buf, limits, REQUEST_FIELDS)


def parse_response(buf, limits):
    return parse_line(buf, limits, RESPONSE_FIELDS)


class Unencodable(Exception):
    pass


def encode_line(m, names):
    head, second, rest = (m[n] for n in names)
    for field in (head, second):
        if any(c in field for c in ":\n"):
            raise Unencodable(field)
    if "\n" in rest or rest.endswith("\r"):
        raise Unencodable(rest)
    return f"{head}:{second}:{rest}\n".encode("utf-8")


def encode_request(m):
    return encode_line(m, REQUEST_FIELDS)


def encode_response(m):
    return encode_line(m, RESPONSE_FIELDS)


# --------------------------------------------------------------------------
# Stream and datagram decoding


def decode(parse, data, limits, mode):
    """The whole input as the vectors define it (spec/README.md)."""
    if mode == "datagram":
        r = parse(data, limits)
        if r[0] == "complete":
            _, message, used = r
            if used < len(data):
                return {"result": "invalid", "messages": [], "error": "trailing_bytes",
                        "errorOffset": 0, "errorDetail": {"len": len(data) - used}}
            return {"result": "valid", "messages": [message]}
        if r[0] == "incomplete":
            return {"result": "invalid", "messages": [], "error": "incomplete",
                    "errorOffset": 0, "needed": r[1]}
        _, kind, _section, detail = r
        return {"result": "invalid", "messages": [], "error": kind, "errorOffset": 0,
                "errorDetail": detail}
    messages, off = [], 0
    while off < len(data):
        r = parse(data[off:], limits)
        if r[0] == "complete":
            messages.append(r[1])
            off += r[2]
        elif r[0] == "incomplete":
            return {"result": "invalid", "messages": messages, "error": "incomplete",
                    "errorOffset": off, "needed": r[1]}
        else:
            _, kind, _section, detail = r
            return {"result": "invalid", "messages": messages, "error": kind,
                    "errorOffset": off, "errorDetail": detail}
    return {"result": "valid", "messages": messages}


def error_section(parse, data, limits, outcome):
    """The section the failing parse cites, for checking a case's section."""
    r = parse(data[outcome["errorOffset"]:], limits)
    return r[2] if r[0] == "error" else None


# --------------------------------------------------------------------------
# Case collection


class Builder:
    def __init__(self, fmt, parse, encode, notes):
        self.fmt = fmt
        self.parse = parse
        self.encode = encode
        self.notes = notes
        self.groups = []
        self.used_flags = set()
        self.next_id = 1

    def group(self, limits, mode="stream", comment=""):
        g = {"comment": comment, "limits": limits, "mode": mode, "tests": []}
        self.groups.append(g)
        return g

    def case(self, group, comment, section, flags, data, expect, kind=None):
        """expect: 'valid' or 'invalid'; kind: the error kind meant."""
        out = decode(self.parse, data, group["limits"], group["mode"])
        where = f"{self.fmt} case {self.next_id} ({comment})"
        assert out["result"] == expect, f"{where}: model says {out}"
        if expect == "invalid":
            assert out["error"] == kind, f"{where}: model says {out['error']}"
            cited = error_section(self.parse, data, group["limits"], out)
            if cited is not None:
                assert cited == section, f"{where}: error cites {cited}"
        flags = list(flags)
        test = {"tcId": self.next_id, "comment": comment, "section": section,
                "flags": flags, "input": data.hex(), "result": out["result"],
                "messages": out["messages"]}
        if expect == "valid":
            try:
                again = b"".join(self.encode(m) for m in out["messages"])
            except Unencodable:
                assert "Unencodable" in flags, f"{where}: not re-encodable"
                again = None
            if again is not None:
                assert "Unencodable" not in flags, f"{where}: re-encodes"
                if again != data:
                    assert "NonCanonical" in flags, f"{where}: re-encoding differs"
                    test["canonical"] = again.hex()
                else:
                    assert "NonCanonical" not in flags, f"{where}: canonical"
        else:
            test["error"] = out["error"]
            test["errorOffset"] = out["errorOffset"]
            if out["error"] == "incomplete":
                test["needed"] = out["needed"]
            else:
                test["errorDetail"] = out["errorDetail"]
        for f in flags:
            assert f in self.notes, f"{where}: flag {f} has no note"
        self.used_flags.update(flags)
        group["tests"].append(test)
        self.next_id += 1

    def document(self, spec):
        return {
            "schema": SCHEMA_ID,
            "format": self.fmt,
            "version": VERSION,
            "spec": spec,
            "numberOfTests": self.next_id - 1,
            "notes": {k: v for k, v in sorted(self.notes.items()) if k in self.used_flags},
            "testGroups": self.groups,
        }


COMMON_NOTES = {
    "EmptyPayload": "The message carries no payload bytes.",
    "MaxPayload": "The payload is exactly the group's max_payload_len (the limit is inclusive).",
    "OverLimit": "A length one or more above the group's limit; rejected from the header, before any payload is awaited.",
    "Concatenated": "Several messages back to back in one input; each is decoded in turn.",
    "ShortHeader": "The input ends inside a header.",
    "ShortPayload": "The input ends inside a payload (the header is complete).",
    "ErrorAfterMessages": "Whole messages precede the failing one; they are decoded and listed before the error.",
    "EmptyInput": "No bytes at all: a stream that ends cleanly, or an empty datagram.",
    "DefaultLimit": "Boundary of the default limit, shown with a header alone (the payload is not included).",
    "GuideExample": "Bytes exchanged by the guide's programs.",
    "Binary": "The payload holds bytes that are not text (NUL, 0xFF, header-like bytes).",
    "Datagram": "One datagram (spec section 7.2): exactly one message, no more, no less.",
    "TrailingBytes": "A datagram with bytes after its one message.",
    "CheckOrder": "Several checks could fail; the spec fixes which one is reported.",
}


def pick(extra, *names):
    d = {k: COMMON_NOTES[k] for k in COMMON_NOTES}
    d.update(extra)
    return d


# ---- generic binary cases -------------------------------------------------


def binary_cases(b, fmt, header, default_max, format_max, examples, type_cases):
    """Cases shared by the length-prefixed formats.

    header(length, i) -> header bytes for message number i (i picks type or
    channel); message(payload, i) = header + payload.
    """
    def msg(payload, i=1):
        return header(len(payload), i) + payload

    hlen = len(header(0, 1))
    tl = "magic/5.4" if fmt == "magic" else f"{fmt}/5.2"  # the too_large section
    s = b.group({"max_payload_len": SMALL}, comment="limit 16: maximum and maximum + 1")
    b.case(s, "empty stream", f"{fmt}/5.1", ["EmptyInput"], b"", "valid")
    b.case(s, "empty payload", f"{fmt}/2.2", ["EmptyPayload"], msg(b""), "valid")
    b.case(s, "one-byte payload", f"{fmt}/2.2", [], msg(b"A"), "valid")
    b.case(s, "payload of exactly the limit (16)", f"{fmt}/3", ["MaxPayload"],
           msg(bytes(range(0x61, 0x71))), "valid")
    b.case(s, "binary payload", f"{fmt}/2.2", ["Binary"],
           msg(b"\x00\xff" + header(3, 1) + b"\x00"), "valid")
    b.case(s, "limit + 1 (17), header alone", tl,
           ["OverLimit"], header(17, 1), "invalid", "too_large")
    b.case(s, "limit + 1 (17) with its payload present", tl,
           ["OverLimit"], msg(b"x" * 17), "invalid", "too_large")
    big = format_max
    b.case(s, f"largest length the field holds ({big})", tl,
           ["OverLimit"], header(big, 1), "invalid", "too_large")
    b.case(s, "three messages", f"{fmt}/2.2", ["Concatenated"],
           msg(b"one", 1) + msg(b"", 2) + msg(b"three", 3), "valid")
    for cut in range(1, hlen):
        b.case(s, f"{cut} header byte(s) of {hlen}", f"{fmt}/5.1", ["ShortHeader"],
               msg(b"abc")[:cut], "invalid", "incomplete")
    b.case(s, "header only, payload of 3 missing", f"{fmt}/5.1", ["ShortPayload"],
           header(3, 1), "invalid", "incomplete")
    b.case(s, "payload cut one byte short", f"{fmt}/5.1", ["ShortPayload"],
           msg(b"abc")[:-1], "invalid", "incomplete")
    b.case(s, "a message, then a cut header", f"{fmt}/5.1", ["ShortHeader", "ErrorAfterMessages"],
           msg(b"ok") + header(2, 1)[:2], "invalid", "incomplete")
    b.case(s, "a message, then a cut payload", f"{fmt}/5.1", ["ShortPayload", "ErrorAfterMessages"],
           msg(b"ok") + msg(b"abcdef")[:-4], "invalid", "incomplete")
    b.case(s, "a message, then a length over the limit", tl,
           ["OverLimit", "ErrorAfterMessages"], msg(b"ok") + header(17, 1), "invalid", "too_large")
    for comment, flags, i in type_cases:
        b.case(s, comment, flags[0], flags[1:], msg(b"t", i), "valid")

    d = b.group({"max_payload_len": default_max}, comment="default limit")
    for comment, data in examples:
        b.case(d, comment, f"{fmt}/6", ["GuideExample"], data, "valid")
    b.case(d, f"default limit ({default_max}), header alone", f"{fmt}/3", ["DefaultLimit", "ShortPayload"],
           header(default_max, 1), "invalid", "incomplete")
    if default_max < format_max:
        b.case(d, f"default limit + 1 ({default_max + 1}), header alone", tl,
               ["DefaultLimit", "OverLimit"], header(default_max + 1, 1), "invalid", "too_large")

    g = b.group({"max_payload_len": SMALL}, mode="datagram", comment="datagrams, limit 16")
    b.case(g, "one message", f"{fmt}/7.2", ["Datagram"], msg(b"datagram"), "valid")
    b.case(g, "empty payload", f"{fmt}/7.2", ["Datagram", "EmptyPayload"], msg(b""), "valid")
    b.case(g, "empty datagram", f"{fmt}/7.2", ["Datagram", "EmptyInput"], b"", "invalid", "incomplete")
    b.case(g, "one trailing byte", f"{fmt}/7.2", ["Datagram", "TrailingBytes"],
           msg(b"abc") + b"\x00", "invalid", "trailing_bytes")
    b.case(g, "two messages in one datagram", f"{fmt}/7.2", ["Datagram", "TrailingBytes"],
           msg(b"abc") + msg(b"de"), "invalid", "trailing_bytes")
    b.case(g, "cut message", f"{fmt}/7.2", ["Datagram", "ShortPayload"],
           msg(b"abcdef")[:-2], "invalid", "incomplete")
    b.case(g, "length over the limit", tl, ["Datagram", "OverLimit"],
           msg(b"x" * 17), "invalid", "too_large")
    return s


def build_typed():
    b = Builder("typed", parse_typed, encode_typed, pick({
        "TypeBoundary": "A boundary of the type code space (0, 127, 128, 255): every code is valid.",
    }))
    types = {1: 1, 2: 2, 3: 3}

    def header(length, i):
        return struct.pack(">IB", length, types.get(i, i))

    type_cases = [
        (f"type {t}", ["typed/5.3", "TypeBoundary"], t) for t in (0, 127, 128, 255)
    ]
    guide = b"Binary message data"
    binary_cases(b, "typed", header, TYPED_DEFAULT_MAX, 0xFFFFFFFF, [
        ("the guide's request: type 1, 19 bytes", header(19, 1) + guide),
        ("the reference server's reply to it: type 2", header(19, 2) + guide),
    ], type_cases)
    return b.document("spec/typed.md")


def build_magic():
    b = Builder("magic", parse_magic, encode_magic, pick({
        "TypeBoundary": "A boundary of the packet type space (0, 255): every code is valid.",
        "BadMagic": "The first four bytes are not 0xDEADBEEF.",
        "BadVersion": "The version byte is not 1.",
    }))

    def header(length, i):
        return magic_header(i % 256, length)

    type_cases = [(f"packet type {t}", ["magic/5.5", "TypeBoundary"], t) for t in (0, 255)]
    guide = b"Custom protocol message"
    s = binary_cases(b, "magic", header, U16_MAX, U16_MAX, [
        ("the guide's request: type 1, 23 bytes", header(23, 1) + guide),
        ("the reference server's reply to it: type 2", header(23, 2) + guide),
    ], type_cases)
    for found in (0x00000000, 0xEFBEADDE, 0xDEADBEEE, 0xFFFFFFFF):
        b.case(s, f"magic 0x{found:08x}", "magic/5.2", ["BadMagic"],
               magic_header(1, 0, magic=found), "invalid", "bad_magic")
    for v in (0, 2, 255):
        b.case(s, f"version {v}", "magic/5.3", ["BadVersion"],
               magic_header(1, 0, version=v), "invalid", "bad_version")
    b.case(s, "bad magic and bad version: magic is checked first", "magic/5.2",
           ["BadMagic", "BadVersion", "CheckOrder"],
           magic_header(1, 0, version=2, magic=0), "invalid", "bad_magic")
    b.case(s, "bad version and a length over the limit: version is checked first", "magic/5.3",
           ["BadVersion", "OverLimit", "CheckOrder"],
           magic_header(1, 17, version=2), "invalid", "bad_version")
    b.case(s, "bad magic in a cut header: nothing is decided before the whole header",
           "magic/5.1", ["BadMagic", "ShortHeader", "CheckOrder"],
           b"\x00\x00\x00\x00\x01", "invalid", "incomplete")
    b.case(s, "a packet, then a bad magic", "magic/5.2", ["BadMagic", "ErrorAfterMessages"],
           header(2, 1) + b"ok" + magic_header(1, 0, magic=0xCAFEBABE), "invalid", "bad_magic")
    return b.document("spec/magic.md")


def build_frame():
    b = Builder("frame", parse_frame, encode_frame, pick({}))

    def header(length, _i):
        return struct.pack(">I", length)

    frames = [b"First frame", b"Second frame with more data", b"Third frame"]
    examples = [("the guide's three frames", b"".join(header(len(f), 0) + f for f in frames)),
                ("the reference server's replies", b"".join(header(len(f), 0) + f.upper() for f in frames))]
    binary_cases(b, "frame", header, FRAME_DEFAULT_MAX, 0xFFFFFFFF, examples, [])
    return b.document("spec/frame.md")


def build_mux():
    b = Builder("mux", parse_mux, encode_mux, pick({
        "ChannelBoundary": "A boundary of the channel space (0, 1, 65535): every channel id is valid.",
    }))

    def header(length, i):
        return struct.pack(">HH", i, length)

    type_cases = [(f"channel {c}", ["mux/5.3", "ChannelBoundary"], c) for c in (0, 1, 2, 65535)]
    examples = [
        ("the guide's three frames on channels 1, 2, 1",
         header(20, 1) + b"Message on channel 1" + header(20, 2) + b"Message on channel 2"
         + header(28, 1) + b"Another message on channel 1"),
        ("the reference server's reply on channel 1", header(28, 1) + b"Echo 1: Message on channel 1"),
        ("the reference server's reply to an empty frame on channel 2", header(8, 2) + b"Echo 2: "),
    ]
    s = binary_cases(b, "mux", header, U16_MAX, U16_MAX, examples, type_cases)
    b.case(s, "interleaved channels 0, 65535, 0", "mux/5.3", ["ChannelBoundary", "Concatenated"],
           header(1, 0) + b"a" + header(1, 65535) + b"b" + header(0, 0), "valid")
    return b.document("spec/mux.md")


LINE_NOTES = {
    "EmptyInput": COMMON_NOTES["EmptyInput"],
    "Concatenated": "Several lines back to back in one input; each is decoded in turn.",
    "ErrorAfterMessages": COMMON_NOTES["ErrorAfterMessages"],
    "GuideExample": COMMON_NOTES["GuideExample"],
    "CheckOrder": COMMON_NOTES["CheckOrder"],
    "NonCanonical": "Valid, but re-encoding the decoded messages gives different bytes (given in canonical).",
    "Unencodable": "Valid on receipt, but a sender may not produce it: encoding the decoded message must fail with invalid_field (section 4.1).",
    "MaxLine": "A line (with its line ending) of exactly the group's max_line_len bytes.",
    "LineTooLong": "No '\\n' within the first max_line_len bytes.",
    "UnterminatedLine": "The input ends inside a line (no '\\n' yet): incomplete with needed unknown. The reference server answers such a last line when the peer half-closes (section 6).",
    "Malformed": "Fewer than two ':' in the line.",
    "InvalidUtf8": "The line is not valid UTF-8.",
    "EmptyFields": "Empty fields, which are valid.",
    "ColonInLast": "The last field contains ':', which is valid.",
    "Unicode": "Non-ASCII UTF-8 text.",
    "CarriageReturn": "A '\\r' that is not the one before '\\n'.",
}


def line_cases(b, second, guide):
    """Cases shared by request and response lines. second: a valid middle field."""
    s = b.group({"max_line_len": SMALL}, comment="limit 16 (counts the line ending)")
    b.case(s, "empty stream", "reqres/5.1", ["EmptyInput"], b"", "valid")
    b.case(s, "shortest line: two ':' and '\\n'", "reqres/2.2", ["EmptyFields"], b"::\n", "valid")
    b.case(s, "one line", "reqres/2.2", [], f"1:{second}:x\n".encode(), "valid")
    line = f"1:{second}:".encode()
    fill = b"abcdefghijklmnop"
    at_max = line + fill[: SMALL - 1 - len(line)] + b"\n"
    assert len(at_max) == SMALL
    b.case(s, "line of exactly the limit, '\\n' included", "reqres/5.2", ["MaxLine"], at_max, "valid")
    b.case(s, "one byte over: '\\n' is byte 17", "reqres/5.2", ["LineTooLong"],
           at_max[:-1] + b"z\n", "invalid", "line_too_long")
    b.case(s, "limit reached without '\\n'", "reqres/5.2", ["LineTooLong"],
           at_max[:-1] + b"z", "invalid", "line_too_long")
    b.case(s, "one byte short of the limit without '\\n'", "reqres/5.1", ["UnterminatedLine"],
           at_max[:-1], "invalid", "incomplete")
    b.case(s, "limit reached with CRLF: the '\\r' counts", "reqres/5.5", ["MaxLine", "NonCanonical"],
           at_max[:-2] + b"\r\n", "valid")
    b.case(s, "CRLF one byte over the limit", "reqres/5.2", ["LineTooLong"],
           at_max[:-1] + b"\r\n", "invalid", "line_too_long")
    b.case(s, "a line, then one too long", "reqres/5.2", ["LineTooLong", "ErrorAfterMessages"],
           b"1::\n" + b"x" * SMALL, "invalid", "line_too_long")
    b.case(s, "too long even though a valid line would follow", "reqres/5.2", ["LineTooLong"],
           b"x" * SMALL + b"\n::\n", "invalid", "line_too_long")

    d = b.group({"max_line_len": LINE_DEFAULT_MAX}, comment="default limit")
    for comment, data in guide:
        b.case(d, comment, "reqres/6", ["GuideExample"], data, "valid")
    b.case(d, "empty ID and middle field", "reqres/2.2", ["EmptyFields"], b"::x\n", "valid")
    b.case(d, "empty last field", "reqres/2.2", ["EmptyFields"], f"7:{second}:\n".encode(), "valid")
    b.case(d, "':' in the last field", "reqres/2.2", ["ColonInLast"],
           f"7:{second}:a:b::c:\n".encode(), "valid")
    b.case(d, "UTF-8 text", "reqres/2.2", ["Unicode"], f"é:{second}:héllo ß ᾳ 😀\n".encode(), "valid")
    b.case(d, "three lines", "reqres/2.2", ["Concatenated"],
           f"1:{second}:a\n2:{second}:b\n3:{second}:c\n".encode(), "valid")
    b.case(d, "NUL and tab are ordinary text", "reqres/2.2", [], f"1:{second}:\x00\t\x7f\n".encode(), "valid")
    b.case(d, "CRLF line ending", "reqres/5.5", ["NonCanonical"], f"1:{second}:x\r\n".encode(), "valid")
    b.case(d, "CRLF then LF", "reqres/5.5", ["NonCanonical", "Concatenated"],
           f"1:{second}:x\r\n2:{second}:y\n".encode(), "valid")
    b.case(d, "'\\r' inside the last field is kept", "reqres/5.5", ["CarriageReturn"],
           f"1:{second}:a\rb\n".encode(), "valid")
    b.case(d, "only one '\\r' is stripped: the last field ends with '\\r'", "reqres/5.5",
           ["CarriageReturn", "Unencodable"], f"1:{second}:x\r\r\n".encode(), "valid")
    b.case(d, "'\\r' inside the ID", "reqres/10", ["CarriageReturn"],
           f"a\rb:{second}:x\n".encode(), "valid")
    b.case(d, "empty line", "reqres/5.3", ["Malformed"], b"\n", "invalid", "malformed")
    b.case(d, "CRLF alone", "reqres/5.3", ["Malformed"], b"\r\n", "invalid", "malformed")
    b.case(d, "no ':'", "reqres/5.3", ["Malformed"], b"hello\n", "invalid", "malformed")
    b.case(d, "one ':'", "reqres/5.3", ["Malformed"], f"1:{second}\n".encode(), "invalid", "malformed")
    b.case(d, "one ':' and CRLF", "reqres/5.3", ["Malformed"], b"1:x\r\n", "invalid", "malformed")
    b.case(d, "a line, then a malformed one", "reqres/5.3", ["Malformed", "ErrorAfterMessages"],
           f"1:{second}:a\nbad\n".encode(), "invalid", "malformed")
    b.case(d, "lone continuation byte", "reqres/5.4", ["InvalidUtf8"],
           f"1:{second}:".encode() + b"\x80\n", "invalid", "invalid_utf8")
    b.case(d, "0xff", "reqres/5.4", ["InvalidUtf8"], b"\xff:" + second.encode() + b":x\n", "invalid", "invalid_utf8")
    b.case(d, "sequence cut by the line end", "reqres/5.4", ["InvalidUtf8"],
           f"1:{second}:ok".encode() + b"\xe2\x82\n", "invalid", "invalid_utf8")
    b.case(d, "UTF-16 surrogate", "reqres/5.4", ["InvalidUtf8"],
           f"1:{second}:".encode() + b"\xed\xa0\x80\n", "invalid", "invalid_utf8")
    b.case(d, "overlong encoding of '/'", "reqres/5.4", ["InvalidUtf8"],
           f"1:{second}:".encode() + b"\xc0\xaf\n", "invalid", "invalid_utf8")
    b.case(d, "invalid UTF-8 and no ':': UTF-8 is checked first", "reqres/5.4",
           ["InvalidUtf8", "Malformed", "CheckOrder"], b"ab\xffcd\n", "invalid", "invalid_utf8")
    b.case(d, "last line without '\\n'", "reqres/5.1", ["UnterminatedLine", "ErrorAfterMessages"],
           f"1:{second}:a\n2:{second}:b".encode(), "invalid", "incomplete")
    b.case(d, "a '\\r' waiting for its '\\n'", "reqres/5.1", ["UnterminatedLine"],
           f"1:{second}:a\r".encode(), "invalid", "incomplete")
    return d


def build_request():
    b = Builder("request", parse_request, encode_request, dict(LINE_NOTES))
    guide = [
        ("the guide's three requests", b"1:ECHO:hello\n2:UPPER:make this uppercase\n3:REVERSE:reverse\n"),
        ("an unknown command", b"4:FOO:x\n"),
    ]
    d = line_cases(b, "ECHO", guide)
    # What a server must answer (the conformance suite's server cases are
    # made from these): commands are case-sensitive (section 2.2); UPPER is
    # the simple mapping (section 6); a reply ending in '\r' is ERR.
    b.notes["CaseSensitive"] = ("Commands differ by case: a lower-case command is another command "
                                "(section 2.2), answered as unknown (section 6).")
    b.notes["CaseMapping"] = ("UPPER's simple case mapping (section 6): letters whose full upper case "
                              "is several characters either stay (ß) or map to one character (the "
                              "Greek letters with ypogegrammeni).")
    b.case(d, "lower- and mixed-case commands: not ECHO and UPPER (commands are case-sensitive)",
           "reqres/2.2", ["CaseSensitive"], b"1:echo:hello\n2:Upper:abc\n", "valid")
    b.case(d, "UPPER of Greek letters with ypogegrammeni: each maps to one capital", "reqres/6",
           ["Unicode", "CaseMapping"], "3:UPPER:\u1fb3 \u1fc3 \u1ff3 \u1f80\n".encode(), "valid")
    b.case(d, "UPPER of letters without a one-character upper case, and of a digraph", "reqres/6",
           ["Unicode", "CaseMapping"], "4:UPPER:\u00df \u0149 \u01f0 \u01c6\n".encode(), "valid")
    b.case(d, "REVERSE whose result would end with '\\r', then '\\r' inside ECHO's data", "reqres/6",
           ["CarriageReturn"], b"5:REVERSE:\rab\n6:ECHO:a\rb\n", "valid")
    return b.document("spec/reqres.md")


def build_response():
    b = Builder("response", parse_response, encode_response, dict(LINE_NOTES))
    guide = [
        ("the reference server's three replies", b"1:OK:hello\n2:OK:MAKE THIS UPPERCASE\n3:OK:esrever\n"),
        ("the reply to an unknown command", b"4:OK:Unknown command\n"),
        ("the reply to an empty ID and command", b":OK:Unknown command\n"),
    ]
    line_cases(b, "OK", guide)
    return b.document("spec/reqres.md")


# --------------------------------------------------------------------------
# The JSON Schema of the files (a subset of draft 2020-12 that tests/vectors.rs
# checks with its own small validator: type, required, properties,
# additionalProperties, items, enum, const, minimum, maximum, minItems,
# pattern, $ref, allOf, if/then, not).

HEX = {"type": "string", "pattern": "^([0-9a-f]{2})*$"}
U8 = {"type": "integer", "minimum": 0, "maximum": 255}
U16 = {"type": "integer", "minimum": 0, "maximum": 65535}
U32 = {"type": "integer", "minimum": 0, "maximum": 4294967295}
ERRORS = ["incomplete", "too_large", "bad_magic", "bad_version", "malformed", "line_too_long",
          "invalid_utf8", "trailing_bytes", "invalid_field", "buffer_too_small", "io", "timeout",
          "closed", "misuse", "limit_reached", "internal"]
MESSAGES = {
    "typed": {"type": U8, "payload": HEX},
    "magic": {"version": U8, "type": U8, "payload": HEX},
    "frame": {"payload": HEX},
    "mux": {"channel": U16, "payload": HEX},
    "request": {"id": {"type": "string"}, "command": {"type": "string"}, "args": {"type": "string"}},
    "response": {"id": {"type": "string"}, "status": {"type": "string"}, "data": {"type": "string"}},
}
LIMITS = {
    "typed": {"max_payload_len": U32},
    "magic": {"max_payload_len": U16},
    "frame": {"max_payload_len": U32},
    "mux": {"max_payload_len": U16},
    "request": {"max_line_len": {"type": "integer", "minimum": 1}},
    "response": {"max_line_len": {"type": "integer", "minimum": 1}},
}


def obj(props, required=None):
    return {"type": "object", "required": sorted(required if required is not None else props),
            "properties": props, "additionalProperties": False}


def when(prop, value, then):
    return {"if": {"required": [prop], "properties": {prop: {"const": value}}}, "then": then}


def schema():
    test = obj({
        "tcId": {"type": "integer", "minimum": 1},
        "comment": {"type": "string"},
        "section": {"type": "string", "pattern": "^(typed|magic|frame|mux|reqres)/[0-9]+(\\.[0-9]+)?$"},
        "flags": {"type": "array", "items": {"type": "string"}},
        "input": HEX,
        "result": {"enum": ["valid", "invalid", "acceptable"]},
        "messages": {"type": "array"},
        "canonical": HEX,
        "error": {"enum": ERRORS},
        "errorOffset": {"type": "integer", "minimum": 0},
        "needed": {"type": ["integer", "null"], "minimum": 1},
        "errorDetail": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
    }, ["tcId", "comment", "section", "flags", "input", "result", "messages"])
    test["allOf"] = [
        when("result", "valid", {"not": {"required": ["error"]}}),
        when("result", "invalid", {"required": ["error", "errorOffset"], "not": {"required": ["canonical"]}}),
        when("error", "incomplete", {"required": ["needed"], "not": {"required": ["errorDetail"]}}),
    ]
    group = obj({
        "comment": {"type": "string"},
        "limits": {"type": "object"},
        "mode": {"enum": ["stream", "datagram"]},
        "tests": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/test"}},
    }, ["limits", "mode", "tests"])
    per_format = []
    for fmt, fields in MESSAGES.items():
        per_format.append(when("format", fmt, {"properties": {"testGroups": {"items": {"properties": {
            "limits": obj(LIMITS[fmt]),
            "tests": {"items": {"properties": {"messages": {"items": {"$ref": f"#/$defs/{fmt}Message"}}}}},
        }}}}}))
    top = obj({
        "schema": {"const": SCHEMA_ID},
        "format": {"enum": list(MESSAGES)},
        "version": {"const": VERSION},
        "spec": {"type": "string"},
        "numberOfTests": {"type": "integer", "minimum": 0},
        "notes": {"type": "object", "additionalProperties": {"type": "string"}},
        "testGroups": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/testGroup"}},
    })
    top["allOf"] = per_format
    defs = {"test": test, "testGroup": group}
    for fmt, fields in MESSAGES.items():
        defs[f"{fmt}Message"] = obj(fields)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "wireforms conformance vectors",
        "description": "One file of spec/vectors/; fields are documented in spec/README.md.",
        **top,
        "$defs": defs,
    }


# --------------------------------------------------------------------------


def render(doc):
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    files = {
        "typed.json": build_typed(),
        "magic.json": build_magic(),
        "frame.json": build_frame(),
        "mux.json": build_mux(),
        "request.json": build_request(),
        "response.json": build_response(),
        "schema.json": schema(),
    }
    stale = []
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, doc in files.items():
        path = os.path.join(OUT_DIR, name)
        text = render(doc)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            stale.append(name)
            if not check:
                with open(path, "w", encoding="utf-8", newline="\n") as f:
                    f.write(text)
        if name != "schema.json":
            print(f"{name}: {doc['numberOfTests']} cases")
    if check and stale:
        sys.exit("stale: " + ", ".join(stale))


if __name__ == "__main__":
    main()
