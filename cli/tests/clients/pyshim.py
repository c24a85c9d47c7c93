#!/usr/bin/env python3
"""A client shim written from spec/harness.md section 9 alone, with faults
to order, for the tests of `wireforms conform --client`.

Usage: pyshim.py FORMAT FAULT, FORMAT request or mux, FAULT one of
none, reuse-ids (every request has ID 1), truncate (a mux payload longer
than a frame is cut to one frame), hang (never gives up on a silent server).
"""
import json
import os
import socket
import struct
import sys

fmt, fault = sys.argv[1], sys.argv[2]
host, port = os.environ["WIREFORMS_ADDR"].rsplit(":", 1)
give_up = int(os.environ.get("WIREFORMS_TIMEOUT_MS", "1000")) / 1000.0
sock = socket.create_connection((host, int(port)))
sock.settimeout(None if fault == "hang" else give_up)


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


ops = []
for line in sys.stdin:
    if not line.strip():
        continue
    op = json.loads(line)
    if op["op"] == "end":
        break
    ops.append(op)


def request():
    waiting = {}  # wire ID -> tags, oldest first
    for i, op in enumerate(ops):
        wire_id = "1" if fault == "reuse-ids" else str(i + 1)
        sock.sendall(f'{wire_id}:{op["command"]}:{op["args"]}\n'.encode())
        waiting.setdefault(wire_id, []).append(op["tag"])
    buf = b""
    why = "timeout"
    while any(waiting.values()):
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            why = "closed"
            break
        buf += chunk
        if len(buf) > 65536 and b"\n" not in buf:
            why = "line_too_long"
            break
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            parts = line.decode("utf-8", "replace").rstrip("\r").split(":", 2)
            if len(parts) != 3:
                why = "malformed"
                waiting_tags = [t for tags in waiting.values() for t in tags]
                for t in waiting_tags:
                    emit({"event": "error", "tag": t, "error": why})
                return
            rid, status, data = parts
            if waiting.get(rid):
                tag = waiting[rid].pop(0)
                emit({"event": "response", "tag": tag, "id": rid, "status": status, "data": data})
    for tags in waiting.values():
        for t in tags:
            emit({"event": "error", "tag": t, "error": why})


def mux():
    for op in ops:
        payload = bytes.fromhex(op["payload"])
        if fault == "truncate":
            payload = payload[:65535]
        for at in range(0, max(len(payload), 1), 65535):
            piece = payload[at:at + 65535]
            sock.sendall(struct.pack(">HH", op["channel"], len(piece)) + piece)
    buf = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            emit({"event": "error", "error": "timeout"})
            return
        if not chunk:
            if buf:
                emit({"event": "error", "error": "closed"})
            return
        buf += chunk
        while len(buf) >= 4:
            channel, length = struct.unpack(">HH", buf[:4])
            if len(buf) < 4 + length:
                break
            emit({"event": "data", "channel": channel, "payload": buf[4:4 + length].hex()})
            buf = buf[4 + length:]


request() if fmt == "request" else mux()
emit({"event": "done"})
