"""A thin ctypes wrapper over the wireforms C ABI (include/wireforms.h).

A demonstration that the ABI is usable from any language with a C FFI, and
the Python side of its tests: not a packaged library (no wheel, no
compiled extension, no API promise beyond the C header's).

    import wireforms_ffi as wf
    outcome = wf.parse("typed", b"\\x00\\x00\\x00\\x02\\x01hi")
    # Complete(message={'type': 1, 'payload': b'hi'}, consumed=7)

The library is found at $WIREFORMS_FFI_LIB, else at
target/release/libwireforms_ffi.so (then target/debug) of this repository.
Messages are dicts in the shape of the spec's vectors (spec/README.md),
with payloads as bytes and text fields as str.
"""

import ctypes
import os
from ctypes import POINTER, Structure, c_char, c_char_p, c_size_t, c_uint8, c_uint16
from ctypes import c_uint32, c_uint64, c_void_p
from dataclasses import dataclass
from pathlib import Path

STATUS_OK = 0
STATUS_INCOMPLETE = 1
STATUS_ERROR = 2
STATUS_NULL_POINTER = 3
STATUS_MISALIGNED_POINTER = 4
STATUS_INVALID_ARGUMENT = 5
STATUS_PANIC = 6

DETAIL_LEN, DETAIL_MAX, DETAIL_FOUND, DETAIL_OFFSET = 1, 2, 4, 8
DETAIL_NEEDED, DETAIL_AVAILABLE = 16, 32

FORMATS = ("typed", "magic", "frame", "mux", "request", "response")
BINARY = ("typed", "magic", "frame", "mux")


def _find_library():
    explicit = os.environ.get("WIREFORMS_FFI_LIB")
    if explicit:
        return explicit
    root = Path(__file__).resolve().parents[2]
    for profile in ("release", "debug"):
        candidate = root / "target" / profile / "libwireforms_ffi.so"
        if candidate.exists():
            return str(candidate)
    raise OSError("libwireforms_ffi.so not found: build it with "
                  "`cargo build -p wireforms-ffi --release` or set WIREFORMS_FFI_LIB")


lib = ctypes.CDLL(_find_library())


class Bytes(Structure):
    _fields_ = [("data", c_void_p), ("len", c_size_t)]


class Str(Structure):
    _fields_ = [("data", c_void_p), ("len", c_size_t)]


class Error(Structure):
    _fields_ = [
        ("kind", c_uint32), ("details", c_uint32),
        ("len", c_uint64), ("max", c_uint64), ("found", c_uint64),
        ("offset", c_size_t), ("needed", c_size_t), ("available", c_size_t),
        ("section", c_char * 24), ("field", c_char * 16), ("message", c_char * 160),
    ]


class TypedLimits(Structure):
    _fields_ = [("max_payload_len", c_uint32)]


class MagicLimits(Structure):
    _fields_ = [("max_payload_len", c_uint16)]


class FrameLimits(Structure):
    _fields_ = [("max_payload_len", c_uint32)]


class MuxLimits(Structure):
    _fields_ = [("max_payload_len", c_uint16)]


class LineLimits(Structure):
    _fields_ = [("max_line_len", c_size_t)]


class TypedMessage(Structure):
    _fields_ = [("message_type", c_uint8), ("payload", Bytes)]


class MagicPacket(Structure):
    _fields_ = [("version", c_uint8), ("packet_type", c_uint8), ("payload", Bytes)]


class Frame(Structure):
    _fields_ = [("payload", Bytes)]


class MuxFrame(Structure):
    _fields_ = [("channel", c_uint16), ("payload", Bytes)]


class Request(Structure):
    _fields_ = [("id", Str), ("command", Str), ("args", Str)]


class Response(Structure):
    _fields_ = [("id", Str), ("status", Str), ("data", Str)]


_TYPES = {
    "typed": (TypedLimits, TypedMessage, "typed"),
    "magic": (MagicLimits, MagicPacket, "magic"),
    "frame": (FrameLimits, Frame, "frame"),
    "mux": (MuxLimits, MuxFrame, "mux"),
    "request": (LineLimits, Request, "line"),
    "response": (LineLimits, Response, "line"),
}

_TEXT_FIELDS = {"request": ("id", "command", "args"), "response": ("id", "status", "data")}

for _fmt, (_limits, _message, _limits_name) in _TYPES.items():
    f = getattr(lib, f"wireforms_{_fmt}_parse")
    f.argtypes = [c_void_p, c_size_t, POINTER(_limits), POINTER(_message),
                  POINTER(c_size_t), POINTER(c_size_t), POINTER(Error)]
    f.restype = c_uint32
    for op in ("encoded_len", "reference_reply_len"):
        if hasattr(lib, f"wireforms_{_fmt}_{op}"):
            f = getattr(lib, f"wireforms_{_fmt}_{op}")
            f.argtypes = [POINTER(_message), POINTER(c_size_t), POINTER(Error)]
            f.restype = c_uint32
    for op in ("emit", "reference_reply"):
        if hasattr(lib, f"wireforms_{_fmt}_{op}"):
            f = getattr(lib, f"wireforms_{_fmt}_{op}")
            f.argtypes = [POINTER(_message), c_void_p, c_size_t, POINTER(c_size_t),
                          POINTER(Error)]
            f.restype = c_uint32
    f = getattr(lib, f"wireforms_{_fmt}_parse_datagram")
    f.argtypes = [c_void_p, c_size_t, POINTER(_limits), POINTER(_message), POINTER(Error)]
    f.restype = c_uint32
    f = getattr(lib, f"wireforms_{_limits_name}_limits_default")
    f.argtypes = []
    f.restype = _limits

lib.wireforms_ffi_version.restype = c_uint32
lib.wireforms_status_name.argtypes = [c_uint32]
lib.wireforms_status_name.restype = c_char_p
lib.wireforms_error_kind_name.argtypes = [c_uint32]
lib.wireforms_error_kind_name.restype = c_char_p


class WireError(Exception):
    """A failure reported by the library: `status`, and from its error record
    `kind` (the spec's name), `section`, `field`, `details` (the vectors'
    `errorDetail` shape) and `needed`/`available` where set."""

    def __init__(self, status, record):
        self.status = lib.wireforms_status_name(status).decode()
        self.kind = lib.wireforms_error_kind_name(record.kind).decode()
        self.section = record.section.decode()
        self.field = record.field.decode()
        self.details = {}
        for bit, name in ((DETAIL_LEN, "len"), (DETAIL_MAX, "max"),
                          (DETAIL_FOUND, "found"), (DETAIL_OFFSET, "offset")):
            if record.details & bit:
                self.details[name] = getattr(record, name)
        self.needed = record.needed if record.details & DETAIL_NEEDED else None
        self.available = record.available if record.details & DETAIL_AVAILABLE else None
        super().__init__(f"{self.status}: {record.message.decode()}")


@dataclass
class Complete:
    message: dict
    consumed: int


@dataclass
class Incomplete:
    needed: int  # 0: unknown (a text line without its "\n")


def version():
    return lib.wireforms_ffi_version()


def limits(fmt, limit=None):
    """The C limits struct of `fmt`: the defaults, or `limit` as its maximum."""
    limits_type, _, name = _TYPES[fmt]
    value = getattr(lib, f"wireforms_{name}_limits_default")()
    if limit is not None:
        setattr(value, limits_type._fields_[0][0], limit)
    return value


def _slice(data, base, view):
    """The bytes a parsed slice points at, which must lie inside `data`."""
    if view.len == 0:
        return b""
    offset = view.data - base
    assert 0 <= offset and offset + view.len <= len(data), "a slice outside the input"
    return data[offset:offset + view.len]


def _to_dict(fmt, data, base, m):
    if fmt in _TEXT_FIELDS:
        return {name: _slice(data, base, getattr(m, name)).decode("utf-8")
                for name in _TEXT_FIELDS[fmt]}
    out = {}
    if fmt == "typed":
        out["type"] = m.message_type
    elif fmt == "magic":
        out["version"], out["type"] = m.version, m.packet_type
    elif fmt == "mux":
        out["channel"] = m.channel
    out["payload"] = _slice(data, base, m.payload)
    return out


def parse(fmt, data, limit=None):
    """One message from the front of `data` (bytes): Complete or Incomplete;
    raises WireError on an error."""
    data = bytes(data)
    _, message_type, _ = _TYPES[fmt]
    buf = c_char_p(data)  # points at the bytes object's own memory: no copy
    base = ctypes.cast(buf, c_void_p).value or 0
    lim = limits(fmt, limit)
    m, consumed, needed, err = message_type(), c_size_t(), c_size_t(), Error()
    status = getattr(lib, f"wireforms_{fmt}_parse")(
        buf, len(data), ctypes.byref(lim), ctypes.byref(m), ctypes.byref(consumed),
        ctypes.byref(needed), ctypes.byref(err))
    if status == STATUS_OK:
        return Complete(_to_dict(fmt, data, base, m), consumed.value)
    if status == STATUS_INCOMPLETE:
        return Incomplete(needed.value)
    raise WireError(status, err)


def parse_datagram(fmt, data, limit=None):
    """The one message a datagram holds (a line may leave out its final
    "\\n"); raises WireError."""
    data = bytes(data)
    _, message_type, _ = _TYPES[fmt]
    buf = c_char_p(data)
    base = ctypes.cast(buf, c_void_p).value or 0
    lim = limits(fmt, limit)
    m, err = message_type(), Error()
    status = getattr(lib, f"wireforms_{fmt}_parse_datagram")(
        buf, len(data), ctypes.byref(lim), ctypes.byref(m), ctypes.byref(err))
    if status == STATUS_OK:
        return _to_dict(fmt, data, base, m)
    raise WireError(status, err)


def _to_struct(fmt, message, keep):
    """The C struct of a message dict; `keep` holds the buffers alive."""
    _, message_type, _ = _TYPES[fmt]

    def view(cls, raw):
        raw = bytes(raw)
        keep.append(raw)
        return cls(ctypes.cast(c_char_p(raw), c_void_p).value if raw else None, len(raw))

    if fmt in _TEXT_FIELDS:
        return message_type(*(view(Str, message[name].encode("utf-8"))
                              for name in _TEXT_FIELDS[fmt]))
    payload = view(Bytes, message["payload"])
    if fmt == "typed":
        return message_type(message["type"], payload)
    if fmt == "magic":
        return message_type(message["version"], message["type"], payload)
    if fmt == "mux":
        return message_type(message["channel"], payload)
    return message_type(payload)


def _write(fmt, message, measure, write):
    keep = []
    m = _to_struct(fmt, message, keep)
    n, err = c_size_t(), Error()
    status = getattr(lib, f"wireforms_{fmt}_{measure}")(ctypes.byref(m), ctypes.byref(n),
                                                        ctypes.byref(err))
    if status != STATUS_OK:
        raise WireError(status, err)
    out = ctypes.create_string_buffer(max(n.value, 1))
    written = c_size_t()
    status = getattr(lib, f"wireforms_{fmt}_{write}")(
        ctypes.byref(m), out, n.value, ctypes.byref(written), ctypes.byref(err))
    if status != STATUS_OK:
        raise WireError(status, err)
    assert written.value == n.value, "the length told first is the length written"
    return out.raw[:written.value]


def encode(fmt, message):
    """The bytes of `message` (encoded_len, then emit); raises WireError."""
    return _write(fmt, message, "encoded_len", "emit")


def reference_reply(fmt, request):
    """The reference server's encoded answer to `request` (not for "response")."""
    return _write(fmt, request, "reference_reply_len", "reference_reply")


def emit_into(fmt, message, size):
    """emit into a buffer of exactly `size` bytes (to see buffer_too_small)."""
    keep = []
    m = _to_struct(fmt, message, keep)
    out = ctypes.create_string_buffer(max(size, 1))
    written, err = c_size_t(), Error()
    status = getattr(lib, f"wireforms_{fmt}_emit")(ctypes.byref(m), out, size,
                                                   ctypes.byref(written), ctypes.byref(err))
    if status != STATUS_OK:
        raise WireError(status, err)
    return out.raw[:written.value]
