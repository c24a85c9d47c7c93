/*
 * Streaming with the wireforms C ABI: read a byte stream from a file
 * descriptor, parse messages as the bytes arrive, and handle "needed".
 *
 *   stream typed|request [READ_SIZE] < input
 *
 * Reads standard input READ_SIZE bytes at a time at most (default 4096;
 * 1 shows that a message cut anywhere still parses), prints one line per
 * message, and at the end "N messages". Exits 1 on a wire error or when
 * the stream ends inside a message.
 *
 * The buffer holds at most one message plus one read: parsed bytes are
 * dropped from its front, and it grows only to what the parser says it
 * needs, which the parser has already checked against the limits.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wireforms.h"

typedef struct {
  uint8_t *data;
  size_t len, cap;
} buffer;

static void reserve(buffer *b, size_t more) {
  if (b->cap - b->len >= more) return;
  size_t cap = b->len + more;
  uint8_t *data = realloc(b->data, cap);
  if (!data) {
    perror("realloc");
    exit(2);
  }
  b->data = data;
  b->cap = cap;
}

static void print_hex(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
}

/* Parses one message from the front of `b`; prints it. Returns the status
 * and sets *consumed / *needed as the ABI does. */
static wireforms_status parse(int text, const buffer *b, size_t *consumed,
                              size_t *needed, wireforms_error *err) {
  if (text) {
    wireforms_request r;
    wireforms_status s =
        wireforms_request_parse(b->data, b->len, NULL, &r, consumed, needed, err);
    if (s == WIREFORMS_STATUS_OK)
      /* The fields point into our buffer: print them before it changes. */
      printf("request id=%.*s command=%.*s args=%.*s\n", (int)r.id.len, r.id.data,
             (int)r.command.len, r.command.data, (int)r.args.len, r.args.data);
    return s;
  }
  wireforms_typed_message m;
  wireforms_status s =
      wireforms_typed_parse(b->data, b->len, NULL, &m, consumed, needed, err);
  if (s == WIREFORMS_STATUS_OK) {
    printf("typed type=%u payload=", m.message_type);
    print_hex(m.payload.data, m.payload.len);
    printf("\n");
  }
  return s;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "typed") != 0 && strcmp(argv[1], "request") != 0)) {
    fprintf(stderr, "usage: %s typed|request [READ_SIZE] < input\n", argv[0]);
    return 2;
  }
  int text = strcmp(argv[1], "request") == 0;
  size_t read_size = argc > 2 ? strtoul(argv[2], NULL, 10) : 4096;
  if (read_size == 0) read_size = 1;

  buffer b = {NULL, 0, 0};
  size_t messages = 0, want = read_size;
  int eof = 0;
  for (;;) {
    /* Parse every whole message in the buffer. */
    size_t consumed = 0, needed = 0;
    wireforms_error err;
    wireforms_status s;
    while ((s = parse(text, &b, &consumed, &needed, &err)) == WIREFORMS_STATUS_OK) {
      messages++;
      memmove(b.data, b.data + consumed, b.len - consumed);
      b.len -= consumed;
    }
    if (s != WIREFORMS_STATUS_INCOMPLETE) {
      fprintf(stderr, "stream: %s (%s, spec %s)\n", err.message,
              wireforms_error_kind_name(err.kind), err.section);
      free(b.data);
      return 1;
    }
    if (eof) break;
    /* INCOMPLETE: `needed` more bytes at least (0: unknown, a line). Read
     * that much if known, else one read's worth. */
    want = needed > read_size ? needed : read_size;
    reserve(&b, want);
    size_t chunk = want < read_size ? want : read_size;
    ssize_t n = read(STDIN_FILENO, b.data + b.len, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("read");
      free(b.data);
      return 2;
    }
    if (n == 0) eof = 1;
    b.len += (size_t)n;
  }
  free(b.data);
  if (b.len > 0) {
    fprintf(stderr, "stream: the input ended inside a message (%zu bytes)\n", b.len);
    return 1;
  }
  printf("%zu messages\n", messages);
  return 0;
}
