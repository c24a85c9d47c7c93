#!/usr/bin/env python3
"""Writes every test of spec/vectors/*.json as plain lines for the C test
(ffi/c/test_vectors.c), which has no JSON reader. Nothing is dropped or
judged here: each test becomes one `test` line and one `msg` line per
expected message, and the first line counts the tests (numberOfTests of
every file, checked against the tests written).

    test <format> <tcId> <mode> <limit> <result> <input> <canonical>
         <unencodable> <error> <errorOffset> <needed> <section>
         <detailMask> <len> <max> <found> <offset> <messages>
    msg <a> <b> <c>

Hex strings are lower-case; "-" is the empty string. <needed> is -1 for
null and -2 when absent; <errorOffset> is -1 when absent. Detail mask bits
(as WIREFORMS_DETAIL_* in wireforms.h): len 1, max 2, found 4, offset 8.
Messages: typed "0 type payload", magic "version type payload", frame
"0 0 payload", mux "0 channel payload", request/response the three text
fields as UTF-8 hex.

Usage: vectors_to_lines.py SPEC_VECTORS_DIR > vectors.txt
"""
import json
import os
import sys

FORMATS = ["typed", "magic", "frame", "mux", "request", "response"]
DETAIL_BITS = {"len": 1, "max": 2, "found": 4, "offset": 8}


def h(s):
    return s if s else "-"


def text_hex(s):
    return h(s.encode("utf-8").hex())


def message_fields(fmt, m):
    if fmt == "typed":
        return ["0", str(m["type"]), h(m["payload"])]
    if fmt == "magic":
        return [str(m["version"]), str(m["type"]), h(m["payload"])]
    if fmt == "frame":
        return ["0", "0", h(m["payload"])]
    if fmt == "mux":
        return ["0", str(m["channel"]), h(m["payload"])]
    if fmt == "request":
        return [text_hex(m["id"]), text_hex(m["command"]), text_hex(m["args"])]
    return [text_hex(m["id"]), text_hex(m["status"]), text_hex(m["data"])]


def main():
    root = sys.argv[1]
    lines = []
    total = 0
    for fmt in FORMATS:
        with open(os.path.join(root, fmt + ".json"), encoding="utf-8") as f:
            doc = json.load(f)
        assert doc["format"] == fmt
        written = 0
        for group in doc["testGroups"]:
            (limit,) = group["limits"].values()
            mode = group.get("mode", "stream")
            for t in group["tests"]:
                written += 1
                detail = t.get("errorDetail", {})
                mask = 0
                for key in detail:
                    mask |= DETAIL_BITS[key]
                needed = t.get("needed", -2)
                lines.append(" ".join([
                    "test", fmt, str(t["tcId"]), mode, str(limit), t["result"],
                    h(t["input"]), h(t.get("canonical", "")),
                    "1" if "Unencodable" in t["flags"] else "0",
                    t.get("error", "-"), str(t.get("errorOffset", -1)),
                    str(-1 if needed is None else needed), t["section"], str(mask),
                    str(detail.get("len", 0)), str(detail.get("max", 0)),
                    str(detail.get("found", 0)), str(detail.get("offset", 0)),
                    str(len(t["messages"])),
                ]))
                for m in t["messages"]:
                    lines.append("msg " + " ".join(message_fields(fmt, m)))
        assert written == doc["numberOfTests"], (fmt, written, doc["numberOfTests"])
        total += written
    print("count", total)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
