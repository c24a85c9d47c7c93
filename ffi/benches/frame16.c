/*
 * The C side of the boundary benchmark (BENCHMARKS.md, "The C boundary"):
 * the loop of ffi/benches/boundary.rs's `c-abi`, compiled as C and linked
 * against the shared library, so the count includes the PLT call a real C
 * program makes. 100 passes over 10,000 frames of 16 payload bytes.
 *
 *   cc -O2 -std=c11 -Iffi/include ffi/benches/frame16.c -Ltarget/release \
 *      -lwireforms_ffi -Wl,-rpath,$PWD/target/release -o frame16
 *   valgrind --tool=callgrind ./frame16
 */
#include <stdio.h>
#include <string.h>

#include "wireforms.h"

enum { FRAMES = 10000, PAYLOAD = 16, WIRE = 4 + PAYLOAD };

static unsigned char stream[FRAMES * WIRE];

int main(void) {
  for (size_t i = 0; i < FRAMES; i++) {
    unsigned char *f = stream + i * WIRE;
    f[0] = 0, f[1] = 0, f[2] = 0, f[3] = PAYLOAD;
    memcpy(f + 4, "0123456789abcdef", PAYLOAD);
  }
  wireforms_frame_limits limits = wireforms_frame_limits_default();
  size_t total = 0;
  for (int pass = 0; pass < 100; pass++) {
    size_t at = 0, consumed, needed;
    wireforms_frame frame;
    while (wireforms_frame_parse(stream + at, sizeof stream - at, &limits, &frame,
                                 &consumed, &needed, NULL) == WIREFORMS_STATUS_OK) {
      total += frame.payload.len;
      at += consumed;
    }
  }
  printf("%zu payload bytes\n", total);
  return total == (size_t)100 * FRAMES * PAYLOAD ? 0 : 1;
}
