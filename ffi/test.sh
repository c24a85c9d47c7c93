#!/usr/bin/env bash
# Every test of the C ABI (ffi/README.md), in one command:
#
#   bash ffi/test.sh
#
# Installs what is missing (gcc and valgrind with apt-get, pytest with pip;
# needs root for apt-get), builds the library, then runs: the Rust tests of
# the boundary (panic, pointers), the header drift check, the C test over
# every spec vector under AddressSanitizer + UndefinedBehaviorSanitizer
# (static library) and under valgrind (shared library), the C streaming
# example, a build through the pkg-config file, the C side of the boundary
# benchmark, and the Python tests and example. Ends with "N passed, N failed" (one per step) and exits non-zero
# when a step failed.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
step() {
  local name="$1"
  shift
  printf '\n--> %s\n' "$name"
  if "$@"; then
    passed=$((passed + 1))
    echo "ok: $name"
  else
    failed=$((failed + 1))
    echo "FAILED: $name"
  fi
}

# ---- what the tests need -----------------------------------------------------
need_apt=()
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
command -v valgrind >/dev/null 2>&1 || need_apt+=(valgrind)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# gcc's sanitizer runtimes (libasan, libubsan) come with Debian's gcc.
if ! python3 -c 'import pytest' >/dev/null 2>&1; then
  echo "installing pytest"
  # A Debian python3 refuses pip into the system (PEP 668): then Debian's own.
  python3 -m pip install -q pytest ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pytest >/dev/null; }
fi
gcc --version | head -n 1
valgrind --version
python3 -m pytest --version

CFLAGS=(-Wall -Wextra -Werror -std=c11 -g -I"$here/include")
SANITIZE=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
# What a Rust staticlib needs from the system (`--print native-static-libs`).
STATIC_LIBS=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

build_library() { cargo build -q -p wireforms-ffi --release; }
rust_tests() { cargo test -q -p wireforms-ffi --lib; }
header_is_current() { cargo test -q -p wireforms-ffi --test header; }
vectors_to_lines() { python3 "$here/c/vectors_to_lines.py" "$root/spec/vectors" >"$work/vectors.txt"; }

c_vectors_sanitized() {
  gcc "${CFLAGS[@]}" "${SANITIZE[@]}" "$here/c/test_ffi.c" \
    "$target/release/libwireforms_ffi.a" "${STATIC_LIBS[@]}" -o "$work/test_ffi_asan" &&
    "$work/test_ffi_asan" "$work/vectors.txt" | tail -n 2
}

c_vectors_valgrind() {
  gcc "${CFLAGS[@]}" "$here/c/test_ffi.c" -L"$target/release" -lwireforms_ffi \
    -Wl,-rpath,"$target/release" -o "$work/test_ffi" &&
    valgrind -q --error-exitcode=99 --leak-check=full \
      --errors-for-leak-kinds=definite,indirect,possible \
      "$work/test_ffi" "$work/vectors.txt" | tail -n 2
}

stream_example() {
  gcc "${CFLAGS[@]}" "${SANITIZE[@]}" "$here/examples/stream.c" \
    "$target/release/libwireforms_ffi.a" "${STATIC_LIBS[@]}" -o "$work/stream" || return 1
  # Three typed messages, read one byte at a time: every cut point.
  printf '\x00\x00\x00\x02\x01hi\x00\x00\x00\x00\x07\x00\x00\x00\x03\x02abc' >"$work/typed.bin"
  printf 'typed type=1 payload=6869\ntyped type=7 payload=\ntyped type=2 payload=616263\n3 messages\n' >"$work/typed.want"
  for size in 1 2 3 4096; do
    "$work/stream" typed "$size" <"$work/typed.bin" >"$work/typed.got" &&
      cmp -s "$work/typed.got" "$work/typed.want" || { echo "typed, reads of $size"; return 1; }
  done
  printf '1:ECHO:hello\n2:UPPER:a:b\r\n' | "$work/stream" request 1 >"$work/req.got" &&
    printf 'request id=1 command=ECHO args=hello\nrequest id=2 command=UPPER args=a:b\n2 messages\n' |
    cmp -s - "$work/req.got" || { echo "request lines"; return 1; }
  # A cut stream and a refused header fail, with a message.
  if printf '1:ECHO:hel' | "$work/stream" request 3 >/dev/null 2>&1; then echo "cut line"; return 1; fi
  if printf '\xff\xff\xff\xff\x01' | "$work/stream" typed >/dev/null 2>"$work/err"; then return 1; fi
  grep -q 'too_large, spec typed/5.2' "$work/err"
}

pkg_config_build() {
  # Install into a scratch prefix as ffi/README.md says, then build the
  # example through pkg-config, dynamically and statically.
  local prefix="$work/prefix"
  mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
  cp "$here/include/wireforms.h" "$prefix/include/"
  cp "$target/release/libwireforms_ffi.a" "$target/release/libwireforms_ffi.so" "$prefix/lib/"
  sed "s|@PREFIX@|$prefix|" "$here/wireforms-ffi.pc.in" >"$prefix/lib/pkgconfig/wireforms-ffi.pc"
  export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
  # shellcheck disable=SC2046
  gcc -Wall -Wextra -Werror -std=c11 "$here/examples/stream.c" $(pkg-config --cflags --libs wireforms-ffi) \
    -Wl,-rpath,"$prefix/lib" -o "$work/stream_dynamic" &&
    gcc -Wall -Wextra -Werror -std=c11 "$here/examples/stream.c" -static-libgcc \
      $(pkg-config --cflags wireforms-ffi) "$prefix/lib/libwireforms_ffi.a" \
      $(pkg-config --libs-only-l --static wireforms-ffi | sed 's/-lwireforms_ffi//') \
      -o "$work/stream_static" &&
    ldd "$work/stream_dynamic" | grep -q libwireforms_ffi &&
    ! ldd "$work/stream_static" | grep -q libwireforms_ffi &&
    "$work/stream_dynamic" typed <"$work/typed.bin" | cmp -s - "$work/typed.want" &&
    "$work/stream_static" typed <"$work/typed.bin" | cmp -s - "$work/typed.want"
}

c_bench_builds() {
  # The C side of the boundary benchmark still builds and runs (BENCHMARKS.md).
  gcc -O2 "${CFLAGS[@]}" "$here/benches/frame16.c" -L"$target/release" -lwireforms_ffi \
    -Wl,-rpath,"$target/release" -o "$work/frame16" && "$work/frame16"
}

python_tests() {
  WIREFORMS_FFI_LIB="$target/release/libwireforms_ffi.so" \
    python3 -m pytest -q -p no:cacheprovider "$here/python" | tail -n 1
}

python_example() {
  printf '1:ECHO:hello\n2:UPPER:abc\n3:REVERSE:xyz\r\n' |
    WIREFORMS_FFI_LIB="$target/release/libwireforms_ffi.so" python3 "$here/python/example.py" |
    cmp -s - <(printf '1:OK:hello\n2:OK:ABC\n3:OK:zyx\n')
}

step "build the library (cargo build -p wireforms-ffi --release)" build_library
step "Rust tests of the boundary (panics, pointers, records, replies)" rust_tests
step "header drift check (include/wireforms.h is cbindgen's output)" header_is_current
step "vectors to lines" vectors_to_lines
step "C: every vector, ASan + UBSan, static library" c_vectors_sanitized
step "C: every vector, valgrind, shared library" c_vectors_valgrind
step "C streaming example (ASan + UBSan)" stream_example
step "link through pkg-config, dynamic and static" pkg_config_build
step "C boundary benchmark builds and runs" c_bench_builds
step "Python: every vector through ctypes (pytest)" python_tests
step "Python example" python_example

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
