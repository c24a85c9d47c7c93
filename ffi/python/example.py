"""The reference server's request/response loop over standard input and
output, through the C ABI: read bytes, parse the request lines that are
whole, write each reply, keep the rest for the next read.

    printf '1:ECHO:hello\n2:UPPER:abc\n' | python3 ffi/python/example.py
    1:OK:hello
    2:OK:ABC

A demonstration of the ABI (see wireforms_ffi.py), not a server.
"""

import sys

import wireforms_ffi as wf


def main():
    pending = b""
    while True:
        chunk = sys.stdin.buffer.read1(4096)
        pending += chunk
        while True:
            try:
                outcome = wf.parse("request", pending)
            except wf.WireError as e:
                print(f"error: {e} (kind {e.kind}, spec {e.section})", file=sys.stderr)
                return 1
            if isinstance(outcome, wf.Incomplete):
                break
            sys.stdout.buffer.write(wf.reference_reply("request", outcome.message))
            pending = pending[outcome.consumed:]
        if not chunk:
            if pending:
                print("error: the input ended inside a line", file=sys.stderr)
                return 1
            return 0


if __name__ == "__main__":
    sys.exit(main())
