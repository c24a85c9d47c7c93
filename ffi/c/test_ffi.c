/*
 * The C ABI driven from C, as a user would: every conformance vector of
 * spec/vectors (as written by vectors_to_lines.py) decoded, checked against
 * the file and encoded again, plus the contract checks of the boundary
 * (NULL and misaligned pointers, short buffers, names, reference replies).
 *
 *   test_ffi VECTORS.txt
 *
 * Every input is copied into a heap buffer of exactly its length and every
 * output buffer is allocated at exactly the size asked for, so that
 * AddressSanitizer or valgrind sees any read or write past either.
 * Prints one line per failure and ends with "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wireforms.h"

static int passed;
static int failed;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (cond) {                                                                \
      passed++;                                                                \
    } else {                                                                   \
      failed++;                                                                \
      printf("FAIL %s:%d: ", __FILE__, __LINE__);                              \
      printf(__VA_ARGS__);                                                     \
      printf("\n");                                                            \
    }                                                                          \
  } while (0)

enum format { TYPED, MAGIC, FRAME, MUX, REQUEST, RESPONSE };
static const char *const FORMAT_NAMES[] = {"typed", "magic", "frame",
                                           "mux",   "request", "response"};

/* A message of any format: numbers a, b and up to three byte fields. */
typedef struct {
  uint32_t a, b;
  const uint8_t *field[3];
  size_t len[3];
} any_msg;

static bool is_text(enum format f) { return f == REQUEST || f == RESPONSE; }

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    perror("malloc");
    exit(2);
  }
  return p;
}

/* ---- the ABI, one switch per operation ---------------------------------- */

static wireforms_status parse_one(enum format f, const uint8_t *in, size_t len,
                                  uint64_t limit, any_msg *m, size_t *consumed,
                                  size_t *needed, wireforms_error *err) {
  wireforms_status s = WIREFORMS_STATUS_PANIC;
  memset(m, 0, sizeof *m);
  switch (f) {
  case TYPED: {
    wireforms_typed_limits l = {(uint32_t)limit};
    wireforms_typed_message out;
    s = wireforms_typed_parse(in, len, &l, &out, consumed, needed, err);
    if (s == WIREFORMS_STATUS_OK) {
      m->b = out.message_type;
      m->field[0] = out.payload.data;
      m->len[0] = out.payload.len;
    }
    break;
  }
  case MAGIC: {
    wireforms_magic_limits l = {(uint16_t)limit};
    wireforms_magic_packet out;
    s = wireforms_magic_parse(in, len, &l, &out, consumed, needed, err);
    if (s == WIREFORMS_STATUS_OK) {
      m->a = out.version;
      m->b = out.packet_type;
      m->field[0] = out.payload.data;
      m->len[0] = out.payload.len;
    }
    break;
  }
  case FRAME: {
    wireforms_frame_limits l = {(uint32_t)limit};
    wireforms_frame out;
    s = wireforms_frame_parse(in, len, &l, &out, consumed, needed, err);
    if (s == WIREFORMS_STATUS_OK) {
      m->field[0] = out.payload.data;
      m->len[0] = out.payload.len;
    }
    break;
  }
  case MUX: {
    wireforms_mux_limits l = {(uint16_t)limit};
    wireforms_mux_frame out;
    s = wireforms_mux_parse(in, len, &l, &out, consumed, needed, err);
    if (s == WIREFORMS_STATUS_OK) {
      m->b = out.channel;
      m->field[0] = out.payload.data;
      m->len[0] = out.payload.len;
    }
    break;
  }
  case REQUEST: {
    wireforms_line_limits l = {(size_t)limit};
    wireforms_request out;
    s = wireforms_request_parse(in, len, &l, &out, consumed, needed, err);
    if (s == WIREFORMS_STATUS_OK) {
      wireforms_str fs[3] = {out.id, out.command, out.args};
      for (int i = 0; i < 3; i++) {
        m->field[i] = (const uint8_t *)fs[i].data;
        m->len[i] = fs[i].len;
      }
    }
    break;
  }
  case RESPONSE: {
    wireforms_line_limits l = {(size_t)limit};
    wireforms_response out;
    s = wireforms_response_parse(in, len, &l, &out, consumed, needed, err);
    if (s == WIREFORMS_STATUS_OK) {
      wireforms_str fs[3] = {out.id, out.status, out.data};
      for (int i = 0; i < 3; i++) {
        m->field[i] = (const uint8_t *)fs[i].data;
        m->len[i] = fs[i].len;
      }
    }
    break;
  }
  }
  return s;
}

static wireforms_status parse_datagram(enum format f, const uint8_t *in,
                                       size_t len, uint64_t limit, any_msg *m,
                                       wireforms_error *err) {
  wireforms_status s = WIREFORMS_STATUS_PANIC;
  memset(m, 0, sizeof *m);
  switch (f) {
  case TYPED: {
    wireforms_typed_limits l = {(uint32_t)limit};
    wireforms_typed_message out;
    s = wireforms_typed_parse_datagram(in, len, &l, &out, err);
    if (s == WIREFORMS_STATUS_OK) {
      m->b = out.message_type;
      m->field[0] = out.payload.data;
      m->len[0] = out.payload.len;
    }
    break;
  }
  case MAGIC: {
    wireforms_magic_limits l = {(uint16_t)limit};
    wireforms_magic_packet out;
    s = wireforms_magic_parse_datagram(in, len, &l, &out, err);
    if (s == WIREFORMS_STATUS_OK) {
      m->a = out.version;
      m->b = out.packet_type;
      m->field[0] = out.payload.data;
      m->len[0] = out.payload.len;
    }
    break;
  }
  case FRAME: {
    wireforms_frame_limits l = {(uint32_t)limit};
    wireforms_frame out;
    s = wireforms_frame_parse_datagram(in, len, &l, &out, err);
    if (s == WIREFORMS_STATUS_OK) {
      m->field[0] = out.payload.data;
      m->len[0] = out.payload.len;
    }
    break;
  }
  case MUX: {
    wireforms_mux_limits l = {(uint16_t)limit};
    wireforms_mux_frame out;
    s = wireforms_mux_parse_datagram(in, len, &l, &out, err);
    if (s == WIREFORMS_STATUS_OK) {
      m->b = out.channel;
      m->field[0] = out.payload.data;
      m->len[0] = out.payload.len;
    }
    break;
  }
  default:
    break; /* the lines have no datagram vectors */
  }
  return s;
}

static wireforms_bytes bytes_of(const any_msg *m, int i) {
  wireforms_bytes b = {m->field[i], m->len[i]};
  return b;
}

static wireforms_str str_of(const any_msg *m, int i) {
  wireforms_str s = {(const char *)m->field[i], m->len[i]};
  return s;
}

/* op 0: encoded length into *n; op 1: emit; op 2: reply length; op 3: reply. */
static wireforms_status call(enum format f, int op, const any_msg *m,
                             uint8_t *out, size_t out_len, size_t *n,
                             wireforms_error *err) {
  switch (f) {
  case TYPED: {
    wireforms_typed_message c = {(uint8_t)m->b, bytes_of(m, 0)};
    switch (op) {
    case 0: return wireforms_typed_encoded_len(&c, n, err);
    case 1: return wireforms_typed_emit(&c, out, out_len, n, err);
    case 2: return wireforms_typed_reference_reply_len(&c, n, err);
    default: return wireforms_typed_reference_reply(&c, out, out_len, n, err);
    }
  }
  case MAGIC: {
    wireforms_magic_packet c = {(uint8_t)m->a, (uint8_t)m->b, bytes_of(m, 0)};
    switch (op) {
    case 0: return wireforms_magic_encoded_len(&c, n, err);
    case 1: return wireforms_magic_emit(&c, out, out_len, n, err);
    case 2: return wireforms_magic_reference_reply_len(&c, n, err);
    default: return wireforms_magic_reference_reply(&c, out, out_len, n, err);
    }
  }
  case FRAME: {
    wireforms_frame c = {bytes_of(m, 0)};
    switch (op) {
    case 0: return wireforms_frame_encoded_len(&c, n, err);
    case 1: return wireforms_frame_emit(&c, out, out_len, n, err);
    case 2: return wireforms_frame_reference_reply_len(&c, n, err);
    default: return wireforms_frame_reference_reply(&c, out, out_len, n, err);
    }
  }
  case MUX: {
    wireforms_mux_frame c = {(uint16_t)m->b, bytes_of(m, 0)};
    switch (op) {
    case 0: return wireforms_mux_encoded_len(&c, n, err);
    case 1: return wireforms_mux_emit(&c, out, out_len, n, err);
    case 2: return wireforms_mux_reference_reply_len(&c, n, err);
    default: return wireforms_mux_reference_reply(&c, out, out_len, n, err);
    }
  }
  case REQUEST: {
    wireforms_request c = {str_of(m, 0), str_of(m, 1), str_of(m, 2)};
    switch (op) {
    case 0: return wireforms_request_encoded_len(&c, n, err);
    case 1: return wireforms_request_emit(&c, out, out_len, n, err);
    case 2: return wireforms_request_reference_reply_len(&c, n, err);
    default: return wireforms_request_reference_reply(&c, out, out_len, n, err);
    }
  }
  case RESPONSE: {
    wireforms_response c = {str_of(m, 0), str_of(m, 1), str_of(m, 2)};
    switch (op) {
    case 0: return wireforms_response_encoded_len(&c, n, err);
    case 1: return wireforms_response_emit(&c, out, out_len, n, err);
    default: return WIREFORMS_STATUS_INVALID_ARGUMENT; /* no reply */
    }
  }
  }
  return WIREFORMS_STATUS_PANIC;
}

/* ---- the vector file ---------------------------------------------------- */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decodes hex ("-" = empty) into a new buffer of exactly its length. */
static uint8_t *unhex(const char *s, size_t *len) {
  if (strcmp(s, "-") == 0) s = "";
  size_t n = strlen(s) / 2;
  uint8_t *out = xmalloc(n);
  for (size_t i = 0; i < n; i++) {
    int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      fprintf(stderr, "bad hex %s\n", s);
      exit(2);
    }
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  *len = n;
  return out;
}

typedef struct {
  enum format format;
  long id;
  bool datagram;
  uint64_t limit;
  char result[16];
  uint8_t *input;
  size_t input_len;
  uint8_t *canonical; /* NULL when absent */
  size_t canonical_len;
  bool unencodable;
  char error[32];
  long error_offset, needed;
  char section[32];
  uint32_t mask;
  uint64_t len, max, found, offset;
  size_t n_messages;
  any_msg *messages;
} vector;

static bool same_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static bool same_msg(enum format f, const any_msg *got, const any_msg *want) {
  int fields = is_text(f) ? 3 : 1;
  if (!is_text(f) && (got->a != want->a || got->b != want->b)) return false;
  for (int i = 0; i < fields; i++)
    if (!same_bytes(got->field[i], got->len[i], want->field[i], want->len[i]))
      return false;
  return true;
}

static const char *kind_name(const wireforms_error *e) {
  return wireforms_error_kind_name(e->kind);
}

#define DETAIL_MASK                                                            \
  (WIREFORMS_DETAIL_LEN | WIREFORMS_DETAIL_MAX | WIREFORMS_DETAIL_FOUND |      \
   WIREFORMS_DETAIL_OFFSET)

/* Encodes every message through the ABI; returns a new buffer (or NULL on
 * an encoding error, with *err filled in). */
static uint8_t *encode_all(const vector *v, any_msg *got, size_t n, size_t *out_len,
                           wireforms_error *err, const char *label) {
  size_t total = 0;
  uint8_t *all = xmalloc(1);
  for (size_t i = 0; i < n; i++) {
    size_t len = 0, written = 0;
    wireforms_status s = call(v->format, 0, &got[i], NULL, 0, &len, err);
    if (s != WIREFORMS_STATUS_OK) {
      free(all);
      return NULL;
    }
    uint8_t *buf = xmalloc(len);
    if (len > 0) {
      wireforms_error short_err;
      s = call(v->format, 1, &got[i], buf, len - 1, &written, &short_err);
      CHECK(s == WIREFORMS_STATUS_ERROR &&
                short_err.kind == WIREFORMS_ERROR_KIND_BUFFER_TOO_SMALL &&
                short_err.needed == len && short_err.available == len - 1,
            "%s: emit into %zu bytes: status %u kind %s", label, len - 1, s,
            kind_name(&short_err));
    }
    s = call(v->format, 1, &got[i], buf, len, &written, err);
    CHECK(s == WIREFORMS_STATUS_OK && written == len,
          "%s: emit: status %u, %zu of %zu bytes: %s", label, s, written, len,
          err->message);
    all = realloc(all, total + len + 1);
    if (!all) exit(2);
    if (len) memcpy(all + total, buf, len);
    total += len;
    free(buf);
  }
  *out_len = total;
  return all;
}

/* The reference reply of a parsed message, through the ABI; a request's
 * reply must parse back as a response to the same ID, with status OK, or
 * ERR where the reply's data could not be carried (spec reqres §6). */
static void check_reply(const vector *v, const any_msg *m, const char *label) {
  if (v->format == RESPONSE) return;
  size_t len = 0, written = 0;
  wireforms_error err;
  wireforms_status s = call(v->format, 2, m, NULL, 0, &len, &err);
  CHECK(s == WIREFORMS_STATUS_OK, "%s: reply length: %u %s", label, s, err.message);
  if (s != WIREFORMS_STATUS_OK) return;
  uint8_t *buf = xmalloc(len);
  s = call(v->format, 3, m, buf, len, &written, &err);
  CHECK(s == WIREFORMS_STATUS_OK && written == len, "%s: reply: %u %s", label, s,
        err.message);
  if (s == WIREFORMS_STATUS_OK && v->format == REQUEST) {
    wireforms_response r;
    size_t consumed, needed;
    s = wireforms_response_parse(buf, written, NULL, &r, &consumed, &needed, &err);
    CHECK(s == WIREFORMS_STATUS_OK && consumed == written &&
              same_bytes((const uint8_t *)r.id.data, r.id.len, m->field[0], m->len[0]) &&
              ((r.status.len == 2 && memcmp(r.status.data, "OK", 2) == 0) ||
               (r.status.len == 3 && memcmp(r.status.data, "ERR", 3) == 0)),
          "%s: the reply is a response (OK, or ERR for data a line cannot carry) to the same id",
          label);
  }
  free(buf);
}

static void run_vector(vector *v) {
  char label[64];
  snprintf(label, sizeof label, "%s #%ld", FORMAT_NAMES[v->format], v->id);
  any_msg *got = xmalloc(sizeof(any_msg) * (v->input_len + 1));
  size_t n = 0, at = 0;
  bool failure = false;
  wireforms_error err;
  memset(&err, 0, sizeof err);
  size_t fail_at = 0, need = 0;
  wireforms_status fail_status = WIREFORMS_STATUS_OK;

  if (v->datagram) {
    wireforms_status s = parse_datagram(v->format, v->input, v->input_len, v->limit,
                                        &got[0], &err);
    if (s == WIREFORMS_STATUS_OK) {
      n = 1;
    } else {
      failure = true;
      fail_status = s;
      if (err.details & WIREFORMS_DETAIL_NEEDED) need = err.needed;
    }
  } else {
    while (at < v->input_len) {
      size_t consumed = 0, needed = 0;
      wireforms_status s = parse_one(v->format, v->input + at, v->input_len - at,
                                     v->limit, &got[n], &consumed, &needed, &err);
      if (s == WIREFORMS_STATUS_OK) {
        CHECK(consumed > 0 && consumed <= v->input_len - at && needed == 0,
              "%s: consumed %zu of %zu", label, consumed, v->input_len - at);
        /* Zero copy: the fields lie inside the input. */
        for (int i = 0; i < 3; i++)
          if (got[n].len[i])
            CHECK(got[n].field[i] >= v->input + at &&
                      got[n].field[i] + got[n].len[i] <= v->input + at + consumed,
                  "%s: field %d outside the message's bytes", label, i);
        n++;
        at += consumed;
        if (consumed == 0) break;
      } else {
        failure = true;
        fail_status = s;
        fail_at = at;
        need = needed;
        break;
      }
    }
  }

  bool want_valid = strcmp(v->result, "valid") == 0 ||
                    (strcmp(v->result, "acceptable") == 0 && !failure);
  CHECK(n == v->n_messages, "%s: %zu messages, expected %zu", label, n, v->n_messages);
  for (size_t i = 0; i < n && i < v->n_messages; i++)
    CHECK(same_msg(v->format, &got[i], &v->messages[i]), "%s: message %zu differs",
          label, i);

  if (want_valid) {
    CHECK(!failure, "%s: valid input failed: status %s, %s", label,
          wireforms_status_name(fail_status), err.message);
    if (!failure) {
      for (size_t i = 0; i < n; i++) check_reply(v, &got[i], label);
      size_t enc_len = 0;
      uint8_t *enc = encode_all(v, got, n, &enc_len, &err, label);
      if (v->unencodable) {
        size_t sl = strlen(err.section);
        CHECK(enc == NULL && err.kind == WIREFORMS_ERROR_KIND_INVALID_FIELD && sl > 4 &&
                  strcmp(err.section + sl - 4, "/4.1") == 0,
              "%s: encoding must fail with invalid_field (4.1), got %s %s", label,
              kind_name(&err), err.section);
      } else {
        const uint8_t *want = v->canonical ? v->canonical : v->input;
        size_t want_len = v->canonical ? v->canonical_len : v->input_len;
        CHECK(enc != NULL && same_bytes(enc, enc_len, want, want_len),
              "%s: re-encoding differs (%s)", label, enc ? "bytes" : err.message);
      }
      free(enc);
    }
  } else if (!failure) {
    CHECK(false, "%s: invalid input decoded without error", label);
  } else if (fail_status == WIREFORMS_STATUS_INCOMPLETE ||
             strcmp(v->error, "incomplete") == 0) {
    /* A stream that ends inside a message (INCOMPLETE), or a short datagram
     * (ERROR, kind incomplete). */
    bool ok_status = fail_status == WIREFORMS_STATUS_INCOMPLETE ||
                     (fail_status == WIREFORMS_STATUS_ERROR &&
                      err.kind == WIREFORMS_ERROR_KIND_INCOMPLETE);
    CHECK(ok_status && strcmp(v->error, "incomplete") == 0,
          "%s: status %s (%s), expected %s", label, wireforms_status_name(fail_status),
          err.message, v->error);
    CHECK((long)fail_at == v->error_offset, "%s: at %zu, expected %ld", label, fail_at,
          v->error_offset);
    long want_need = v->needed == -1 ? 0 : v->needed;
    CHECK((long)need == want_need, "%s: needed %zu, expected %ld", label, need,
          v->needed);
  } else {
    CHECK(fail_status == WIREFORMS_STATUS_ERROR, "%s: status %s", label,
          wireforms_status_name(fail_status));
    CHECK(strcmp(kind_name(&err), v->error) == 0, "%s: error %s (%s), expected %s",
          label, kind_name(&err), err.message, v->error);
    CHECK((long)fail_at == v->error_offset, "%s: at %zu, expected %ld", label, fail_at,
          v->error_offset);
    CHECK((err.details & DETAIL_MASK) == v->mask, "%s: details %#x, expected %#x",
          label, err.details & DETAIL_MASK, v->mask);
    CHECK((!(v->mask & WIREFORMS_DETAIL_LEN) || err.len == v->len) &&
              (!(v->mask & WIREFORMS_DETAIL_MAX) || err.max == v->max) &&
              (!(v->mask & WIREFORMS_DETAIL_FOUND) || err.found == v->found) &&
              (!(v->mask & WIREFORMS_DETAIL_OFFSET) || err.offset == v->offset),
          "%s: error data differ: %s", label, err.message);
    CHECK(strcmp(err.section, v->section) == 0, "%s: section %s, expected %s", label,
          err.section, v->section);
    CHECK(err.message[0] != '\0', "%s: no message", label);
  }
  free(got);
}

static enum format format_named(const char *name) {
  for (int i = 0; i < 6; i++)
    if (strcmp(name, FORMAT_NAMES[i]) == 0) return (enum format)i;
  fprintf(stderr, "unknown format %s\n", name);
  exit(2);
}

static int run_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    exit(2);
  }
  char *line = NULL;
  size_t cap = 0;
  long count = -1, run = 0;
  while (getline(&line, &cap, f) > 0) {
    if (count < 0) {
      if (sscanf(line, "count %ld", &count) != 1) {
        fprintf(stderr, "%s: no count line\n", path);
        exit(2);
      }
      continue;
    }
    vector v;
    memset(&v, 0, sizeof v);
    char fmt[16], mode[16], *input = xmalloc(strlen(line)), *canon = xmalloc(strlen(line));
    unsigned long long limit, len, max, found, offset;
    int unenc;
    unsigned mask;
    if (sscanf(line,
               "test %15s %ld %15s %llu %15s %s %s %d %31s %ld %ld %31s %u %llu %llu "
               "%llu %llu %zu",
               fmt, &v.id, mode, &limit, v.result, input, canon, &unenc, v.error,
               &v.error_offset, &v.needed, v.section, &mask, &len, &max, &found,
               &offset, &v.n_messages) != 18) {
      fprintf(stderr, "bad line: %s", line);
      exit(2);
    }
    v.format = format_named(fmt);
    v.datagram = strcmp(mode, "datagram") == 0;
    v.limit = limit;
    v.unencodable = unenc != 0;
    v.mask = mask;
    v.len = len, v.max = max, v.found = found, v.offset = offset;
    v.input = unhex(input, &v.input_len);
    if (strcmp(canon, "-") != 0) v.canonical = unhex(canon, &v.canonical_len);
    v.messages = xmalloc(sizeof(any_msg) * (v.n_messages + 1));
    for (size_t i = 0; i < v.n_messages; i++) {
      if (getline(&line, &cap, f) <= 0) exit(2);
      char *a = xmalloc(strlen(line)), *b = xmalloc(strlen(line)), *c = xmalloc(strlen(line));
      if (sscanf(line, "msg %s %s %s", a, b, c) != 3) exit(2);
      any_msg *m = &v.messages[i];
      memset(m, 0, sizeof *m);
      if (is_text(v.format)) {
        uint8_t *p[3];
        p[0] = unhex(a, &m->len[0]), p[1] = unhex(b, &m->len[1]), p[2] = unhex(c, &m->len[2]);
        for (int k = 0; k < 3; k++) m->field[k] = p[k];
      } else {
        m->a = (uint32_t)strtoul(a, NULL, 10);
        m->b = (uint32_t)strtoul(b, NULL, 10);
        m->field[0] = unhex(c, &m->len[0]);
      }
      free(a), free(b), free(c);
    }
    run_vector(&v);
    run++;
    for (size_t i = 0; i < v.n_messages; i++)
      for (int k = 0; k < 3; k++) free((void *)v.messages[i].field[k]);
    free(v.messages);
    free(v.input);
    free(v.canonical);
    free(input);
    free(canon);
  }
  free(line);
  fclose(f);
  CHECK(run == count && count > 0, "ran %ld vectors of %ld", run, count);
  return (int)run;
}

/* ---- the contract of the boundary --------------------------------------- */

static void check_contract(void) {
  CHECK(wireforms_ffi_version() == WIREFORMS_FFI_VERSION, "header and library versions");
  CHECK(strcmp(wireforms_status_name(WIREFORMS_STATUS_NULL_POINTER), "null_pointer") == 0,
        "status name");
  CHECK(strcmp(wireforms_error_kind_name(WIREFORMS_ERROR_KIND_BAD_MAGIC), "bad_magic") == 0,
        "kind name");
  CHECK(strcmp(wireforms_error_kind_name(12345), "unknown") == 0, "unknown kind");
  CHECK(wireforms_typed_limits_default().max_payload_len == 1048576, "typed default");
  CHECK(wireforms_magic_limits_default().max_payload_len == 65535, "magic default");
  CHECK(wireforms_frame_limits_default().max_payload_len == 1048576, "frame default");
  CHECK(wireforms_mux_limits_default().max_payload_len == 65535, "mux default");
  CHECK(wireforms_line_limits_default().max_line_len == 65536, "line default");

  static const uint8_t packet[] = {0xde, 0xad, 0xbe, 0xef, 1, 7, 0, 2, 'h', 'i'};
  wireforms_magic_packet p;
  size_t consumed = 1, needed = 1;
  wireforms_error err;
  /* NULL outputs and inputs. */
  CHECK(wireforms_magic_parse(packet, sizeof packet, NULL, NULL, &consumed, &needed,
                              &err) == WIREFORMS_STATUS_NULL_POINTER &&
            err.kind == WIREFORMS_ERROR_KIND_NONE,
        "NULL message");
  CHECK(wireforms_magic_parse(NULL, 4, NULL, &p, &consumed, &needed, NULL) ==
            WIREFORMS_STATUS_NULL_POINTER,
        "NULL input with a length");
  CHECK(wireforms_magic_parse(NULL, 0, NULL, &p, &consumed, &needed, NULL) ==
                WIREFORMS_STATUS_INCOMPLETE &&
            needed == 8,
        "NULL empty input needs the header");
  /* A misaligned size_t *. */
  size_t room[2];
  size_t *odd = (size_t *)(void *)((char *)room + 1);
  CHECK(wireforms_magic_parse(packet, sizeof packet, NULL, &p, odd, &needed, &err) ==
            WIREFORMS_STATUS_MISALIGNED_POINTER,
        "misaligned consumed");
  /* A whole packet, its payload in the buffer. */
  CHECK(wireforms_magic_parse(packet, sizeof packet, NULL, &p, &consumed, &needed, &err) ==
                WIREFORMS_STATUS_OK &&
            consumed == 10 && p.packet_type == 7 && p.payload.data == packet + 8 &&
            p.payload.len == 2,
        "magic parse");
  /* The guide's replies. */
  uint8_t out[64];
  size_t written = 0;
  CHECK(wireforms_magic_reference_reply(&p, out, sizeof out, &written, &err) ==
                WIREFORMS_STATUS_OK &&
            written == 10 && out[5] == 8 && memcmp(out + 8, "hi", 2) == 0,
        "magic reply: type + 1");
  wireforms_request rq;
  static const char line[] = "1:UPPER:hello\n";
  CHECK(wireforms_request_parse((const uint8_t *)line, strlen(line), NULL, &rq, &consumed,
                                &needed, &err) == WIREFORMS_STATUS_OK,
        "request parse");
  CHECK(wireforms_request_reference_reply(&rq, out, sizeof out, &written, &err) ==
                WIREFORMS_STATUS_OK &&
            written == 11 && memcmp(out, "1:OK:HELLO\n", 11) == 0,
        "request reply");
  wireforms_mux_frame mf = {2, {(const uint8_t *)"hi", 2}};
  CHECK(wireforms_mux_reference_reply(&mf, out, sizeof out, &written, &err) ==
                WIREFORMS_STATUS_OK &&
            written == 4 + 10 && memcmp(out + 4, "Echo 2: hi", 10) == 0,
        "mux reply");
  /* A short output buffer: nothing written, the size told. */
  memset(out, 0xaa, sizeof out);
  CHECK(wireforms_mux_reference_reply(&mf, out, 13, &written, &err) ==
                WIREFORMS_STATUS_ERROR &&
            err.kind == WIREFORMS_ERROR_KIND_BUFFER_TOO_SMALL && err.needed == 14 &&
            out[0] == 0xaa,
        "mux reply into a short buffer");
  /* The output overlapping the message. */
  uint8_t buf[16] = {0};
  wireforms_frame fr = {{buf + 4, 4}};
  CHECK(wireforms_frame_emit(&fr, buf, sizeof buf, &written, &err) ==
            WIREFORMS_STATUS_INVALID_ARGUMENT,
        "overlapping emit");
  /* A line datagram may leave out its final "\n"; the fields stay in it. */
  static const char dgram[] = "7:ECHO:a:b";
  CHECK(wireforms_request_parse_datagram((const uint8_t *)dgram, strlen(dgram), NULL, &rq,
                                         &err) == WIREFORMS_STATUS_OK &&
            rq.args.data == dgram + 7 && rq.args.len == 3,
        "line datagram without its line feed");
  /* An error's message and section. */
  static const uint8_t bad[] = {0xca, 0xfe, 0xba, 0xbe, 1, 1, 0, 0};
  CHECK(wireforms_magic_parse(bad, sizeof bad, NULL, &p, &consumed, &needed, &err) ==
                WIREFORMS_STATUS_ERROR &&
            err.kind == WIREFORMS_ERROR_KIND_BAD_MAGIC && err.found == 0xcafebabe &&
            strcmp(err.section, "magic/5.2") == 0 &&
            strstr(err.message, "bad magic 0xcafebabe") != NULL,
        "bad magic record: %s", err.message);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s VECTORS.txt\n", argv[0]);
    return 2;
  }
  check_contract();
  int vectors = run_file(argv[1]);
  printf("c: %d vectors run\n", vectors);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
