#!/usr/bin/env python3
"""A server of the typed or mux format, correct except for one deliberate
fault, for the tests of `wireforms fuzz`. Listens on 127.0.0.1:0 and
prints its address on a line of standard output.

Usage: faulty_server.py FAULT, where FAULT is
  one-per-connection  typed: answers the first message, then closes
                      (as the guide's server does)
  mux-desync          mux: writes the reply length as a u16 of 8 + n, in one
                      frame, so replies of 65,528 bytes or more lie (as the
                      guide's server does)
  typed-ok, mux-ok    no fault
"""
import socket
import socketserver
import struct
import sys

FAULT = sys.argv[1] if len(sys.argv) > 1 else "typed-ok"
TYPED_LIMIT = 1 << 20


def read_exact(sock, n):
    """n bytes, or None when the peer ends first."""
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            return None
        out += chunk
    return out


class Typed(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        while True:
            head = read_exact(sock, 5)
            if head is None:
                return
            length, kind = struct.unpack(">IB", head)
            if length > TYPED_LIMIT:
                return
            payload = read_exact(sock, length)
            if payload is None:
                return
            sock.sendall(struct.pack(">IB", length, (kind + 1) % 256) + payload)
            if FAULT == "one-per-connection":
                return


class Mux(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        while True:
            head = read_exact(sock, 4)
            if head is None:
                return
            channel, length = struct.unpack(">HH", head)
            payload = read_exact(sock, length)
            if payload is None:
                return
            reply = b"Echo %d: " % channel + payload
            if FAULT == "mux-desync":
                sock.sendall(struct.pack(">HH", channel, len(reply) & 0xFFFF) + reply)
                continue
            for at in range(0, len(reply), 65535):
                part = reply[at:at + 65535]
                sock.sendall(struct.pack(">HH", channel, len(part)) + part)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a peer that resets is not worth a traceback


def main():
    handler = Mux if FAULT.startswith("mux") else Typed
    with Server(("127.0.0.1", 0), handler) as server:
        server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        host, port = server.server_address
        print(f"{host}:{port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
