#!/usr/bin/env python3
"""A decoder of the typed, magic and frame formats behind the harness
protocol (spec/harness.md), correct except for one deliberate fault, for
the tests of `wireforms fuzz`. Decoding in stream mode only; anything
else (datagrams, encode requests) is `unsupported`.

Usage: faulty_decoder.py FAULT, where FAULT is
  limit-off-by-one  typed: a length of max_payload_len + 1 is accepted
  magic-v2          magic: version 2 is accepted as well as 1
  crash-on-ff       frame: a payload starting with byte 0xff crashes it
  none              no fault
"""
import json
import struct
import sys

FAULT = sys.argv[1] if len(sys.argv) > 1 else "none"
# 255 entries: indexing it with 0xff fails, as a table one short would.
TABLE = list(range(255))


def parse(fmt, data, limit):
    """One message at the front of data: ('ok', message, used),
    ('need', n) or ('error', kind)."""
    if fmt == "typed":
        if len(data) < 5:
            return ("need", 5 - len(data))
        length, kind = struct.unpack(">IB", data[:5])
        allowed = limit + 1 if FAULT == "limit-off-by-one" else limit
        if length > allowed:
            return ("error", "too_large")
        if len(data) < 5 + length:
            return ("need", 5 + length - len(data))
        return ("ok", {"type": kind, "payload": data[5:5 + length].hex()}, 5 + length)
    if fmt == "magic":
        if len(data) < 8:
            return ("need", 8 - len(data))
        magic, version, kind, length = struct.unpack(">IBBH", data[:8])
        if magic != 0xDEADBEEF:
            return ("error", "bad_magic")
        versions = (1, 2) if FAULT == "magic-v2" else (1,)
        if version not in versions:
            return ("error", "bad_version")
        if length > limit:
            return ("error", "too_large")
        if len(data) < 8 + length:
            return ("need", 8 + length - len(data))
        message = {"version": version, "type": kind, "payload": data[8:8 + length].hex()}
        return ("ok", message, 8 + length)
    if fmt == "frame":
        if len(data) < 4:
            return ("need", 4 - len(data))
        (length,) = struct.unpack(">I", data[:4])
        if length > limit:
            return ("error", "too_large")
        if len(data) < 4 + length:
            return ("need", 4 + length - len(data))
        payload = data[4:4 + length]
        if FAULT == "crash-on-ff" and payload:
            TABLE[payload[0]]  # IndexError for 0xff: the crash
        return ("ok", {"payload": payload.hex()}, 4 + length)
    raise ValueError(fmt)


def judge(case):
    verdict = {"id": case["id"]}
    supported = case.get("op", "decode") == "decode" and case.get("mode") == "stream"
    if case["format"] not in ("typed", "magic", "frame") or not supported:
        verdict["result"] = "unsupported"
        return verdict
    data = bytes.fromhex(case["input"])
    limit = case["limits"]["max_payload_len"]
    messages = []
    at = 0
    while at < len(data):
        step = parse(case["format"], data[at:], limit)
        if step[0] == "ok":
            messages.append(step[1])
            at += step[2]
            continue
        verdict.update(result="invalid", messages=messages, errorOffset=at)
        if step[0] == "need":
            verdict.update(error="incomplete", needed=step[1])
        else:
            verdict["error"] = step[1]
        return verdict
    verdict.update(result="valid", messages=messages)
    return verdict


def main():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = stdin.read(4)
        if len(head) < 4:
            return
        (length,) = struct.unpack(">I", head)
        case = json.loads(stdin.read(length))
        body = json.dumps(judge(case)).encode()
        stdout.write(struct.pack(">I", len(body)) + body)
        stdout.flush()


if __name__ == "__main__":
    main()
