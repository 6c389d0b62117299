/*
 * test_ipc.c: the worker IPC framing (4-byte big-endian length + JSON text). Round trips
 * over socketpairs and pipes, the incremental reader under every way of splitting its
 * input, the protocol errors (oversized lengths must fail before any allocation, bad JSON
 * must say where), end of file in and between frames, and a dead peer, which must be an
 * AL_EIO result rather than SIGPIPE killing the test. ASan's leak check at exit covers the
 * 10,000-frame streams.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "worker/ipc.h"

/* A growable byte string for building wire input by hand. */
typedef struct bytes {
  unsigned char *p;
  size_t len, cap;
} bytes;

static void bytes_add(bytes *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->p = realloc(b->p, b->cap);
    assert_non_null(b->p);
  }
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
}

static void bytes_header(bytes *b, uint32_t n) {
  unsigned char h[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                        (unsigned char)(n >> 8), (unsigned char)n};
  bytes_add(b, h, 4);
}

/* Appends a frame holding `n` bytes of `text`, built independently of ipc_encode(). */
static void bytes_frame(bytes *b, const char *text, size_t n) {
  bytes_header(b, (uint32_t)n);
  bytes_add(b, text, n);
}

/* Appends ipc_encode()'s frame for `v`. */
static void bytes_frame_json(bytes *b, const json_t *v) {
  unsigned char *f;
  size_t n;
  assert_int_equal(ipc_encode(v, &f, &n, NULL), 0);
  bytes_add(b, f, n);
  free(f);
}

/* Messages the round trips carry: objects, an empty one, scalars (JSON_DECODE_ANY), and
 * strings with NUL bytes, non-ASCII text, astral characters and U+2028. */
static json_t *sample(int i) {
  switch (i) {
  case 0: return tj("{'op':'render','instanceId':'counter@abcd1234','args':[1,2.5,null,true]}");
  case 1: return json_object();
  case 2: {
    json_t *o = json_object();
    json_object_set_new(o, "nul", json_stringn("a\0b\0", 4));
    json_object_set_new(o, "only_nul", json_stringn("\0", 1));
    return o;
  }
  case 3: return json_pack("{s:s, s:s}", "caf\xc3\xa9 \xe2\x98\x83", "\xf0\x9f\x98\x80 \xe2\x80\xa8 \xe4\xb8\xad\xe6\x96\x87",
                           "k", "\"quotes\" \\ \n\t");
  case 4: return json_integer(-42);
  case 5: return json_string("bare string");
  default: return json_null();
  }
}
#define SAMPLES 7

static bool same(const json_t *a, const json_t *b) {
  if (json_equal(a, b)) return true;
  char *x = tj_text(a), *y = tj_text(b);
  print_error("expected %s\n     got %s\n", x, y);
  free(x);
  free(y);
  return false;
}

/* Pops every complete frame into out[] (new references); returns how many, or fails the
 * test on an error. */
static int pop_all(ipc_reader *r, json_t **out, int max) {
  int n = 0;
  json_t *m;
  int rc;
  while ((rc = ipc_reader_next(r, &m, NULL)) == 1) {
    assert_true(n < max);
    out[n++] = m;
  }
  assert_int_equal(rc, 0);
  assert_null(m);
  return n;
}

static void decref_all(json_t **v, int n) {
  for (int i = 0; i < n; i++) json_decref(v[i]);
}

/* ------------------------------------------------------------------------------------- */

static void test_wire_format(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  json_t *v = tj("{'b':[true,null],'a':1}");
  assert_int_equal(ipc_send(sv[0], v, NULL), 0);
  assert_int_equal(ipc_send_text(sv[0], "[1]", 3, NULL), 0);
  json_decref(v);
  /* compact, key order kept, big-endian length */
  static const char want[] = "\0\0\0\x17{\"b\":[true,null],\"a\":1}\0\0\0\x03[1]";
  char got[sizeof want];
  size_t have = 0;
  while (have < sizeof want - 1) {
    ssize_t n = read(sv[1], got + have, sizeof want - 1 - have);
    assert_true(n > 0);
    have += (size_t)n;
  }
  assert_memory_equal(got, want, sizeof want - 1);
  close(sv[0]);
  close(sv[1]);
}

static void test_round_trip_small(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ipc_reader r;
  ipc_reader_init(&r);
  for (int i = 0; i < SAMPLES; i++) {
    json_t *v = sample(i), *m = NULL;
    assert_non_null(v);
    al_error err;
    assert_int_equal(ipc_send(sv[0], v, &err), 0);
    assert_int_equal(ipc_recv(sv[1], &r, &m, &err), 1);
    assert_true(same(v, m));
    json_decref(m);
    json_decref(v);
  }
  /* text the caller encoded itself, NUL escape included */
  static const char text[] = "{\"s\":\"x\\u0000y\"}";
  assert_int_equal(ipc_send_text(sv[0], text, sizeof text - 1, NULL), 0);
  json_t *m = NULL;
  assert_int_equal(ipc_recv(sv[1], &r, &m, NULL), 1);
  assert_int_equal(json_string_length(json_object_get(m, "s")), 3);
  assert_memory_equal(json_string_value(json_object_get(m, "s")), "x\0y", 3);
  json_decref(m);
  ipc_reader_free(&r);
  close(sv[0]);
  close(sv[1]);
}

typedef struct big_job {
  int fd;
  const json_t *a, *b;
  int rc;
} big_job;

static void *big_writer(void *p) {
  big_job *j = p;
  j->rc = ipc_send(j->fd, j->a, NULL);
  if (j->rc == 0) j->rc = ipc_send(j->fd, j->b, NULL);
  return NULL;
}

/* A frame far larger than the socket buffer, with both ends non-blocking so the EAGAIN
 * paths of ipc_send() and ipc_recv() run. */
static void test_round_trip_1mib_nonblocking(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  for (int i = 0; i < 2; i++)
    assert_int_equal(fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK), 0);
  size_t n = 1u << 20;
  char *s = malloc(n);
  assert_non_null(s);
  for (size_t i = 0; i < n; i++) s[i] = (char)('a' + i % 26);
  s[12345] = '\0'; /* a NUL deep inside */
  json_t *a = json_pack("{s:s%}", "blob", s, n), *b = sample(3);
  free(s);
  assert_non_null(a);

  big_job j = {.fd = sv[0], .a = a, .b = b, .rc = -1};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, big_writer, &j), 0);
  ipc_reader r;
  ipc_reader_init(&r);
  json_t *m = NULL;
  al_error err;
  assert_int_equal(ipc_recv(sv[1], &r, &m, &err), 1);
  assert_true(same(a, m));
  json_decref(m);
  /* the big buffer is not kept once the frame is consumed */
  assert_true(r.cap <= 64 * 1024);
  assert_int_equal(ipc_recv(sv[1], &r, &m, &err), 1);
  assert_true(same(b, m));
  json_decref(m);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(j.rc, 0);
  ipc_reader_free(&r);
  json_decref(a);
  json_decref(b);
  close(sv[0]);
  close(sv[1]);
}

static void test_byte_at_a_time(void **state) {
  (void)state;
  bytes in = {0};
  json_t *want[SAMPLES];
  for (int i = 0; i < SAMPLES; i++) {
    want[i] = sample(i);
    bytes_frame_json(&in, want[i]);
  }
  ipc_reader r;
  ipc_reader_init(&r);
  json_t *got[SAMPLES];
  int n = 0;
  for (size_t i = 0; i < in.len; i++) {
    assert_int_equal(ipc_reader_feed(&r, in.p + i, 1, NULL), 0);
    n += pop_all(&r, got + n, SAMPLES - n);
    /* small frames never push the buffer past its first allocation */
    assert_true(r.cap <= 4096);
  }
  assert_int_equal(n, SAMPLES);
  for (int i = 0; i < SAMPLES; i++) assert_true(same(want[i], got[i]));
  decref_all(want, SAMPLES);
  decref_all(got, SAMPLES);
  ipc_reader_free(&r);
  free(in.p);
}

static void test_many_frames_one_feed(void **state) {
  (void)state;
  enum { N = 5000 };
  bytes in = {0};
  for (int i = 0; i < N; i++) {
    char text[64];
    int len = snprintf(text, sizeof text, "{\"seq\":%d}", i);
    bytes_frame(&in, text, (size_t)len);
  }
  ipc_reader r;
  ipc_reader_init(&r);
  assert_int_equal(ipc_reader_feed(&r, in.p, in.len, NULL), 0);
  json_t *m;
  for (int i = 0; i < N; i++) {
    assert_int_equal(ipc_reader_next(&r, &m, NULL), 1);
    assert_int_equal(json_integer_value(json_object_get(m, "seq")), i);
    json_decref(m);
  }
  assert_int_equal(ipc_reader_next(&r, &m, NULL), 0);
  assert_null(m);
  /* fully drained: the offsets reset instead of creeping along the buffer */
  assert_int_equal(r.off, 0);
  assert_int_equal(r.len, 0);
  ipc_reader_free(&r);
  free(in.p);
}

/* Two frames, the input cut in two at every offset. */
static void test_split_every_offset(void **state) {
  (void)state;
  json_t *a = sample(2), *b = sample(3);
  bytes in = {0};
  bytes_frame_json(&in, a);
  size_t first_end = in.len;
  bytes_frame_json(&in, b);
  for (size_t k = 0; k <= in.len; k++) {
    ipc_reader r;
    ipc_reader_init(&r);
    json_t *got[2];
    assert_int_equal(ipc_reader_feed(&r, in.p, k, NULL), 0);
    int n1 = pop_all(&r, got, 2);
    assert_int_equal(n1, (k >= first_end) + (k == in.len));
    assert_int_equal(ipc_reader_feed(&r, in.p + k, in.len - k, NULL), 0);
    int n2 = pop_all(&r, got + n1, 2 - n1);
    assert_int_equal(n1 + n2, 2);
    assert_true(same(a, got[0]));
    assert_true(same(b, got[1]));
    decref_all(got, 2);
    ipc_reader_free(&r);
  }
  json_decref(a);
  json_decref(b);
  free(in.p);
}

static void test_oversized_length(void **state) {
  (void)state;
  static const uint32_t lengths[] = {IPC_MAX_FRAME + 1u, 0xffffffffu};
  for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
    char num[16];
    snprintf(num, sizeof num, "%lu", (unsigned long)lengths[i]);
    bytes in = {0};
    bytes_header(&in, lengths[i]);
    bytes_add(&in, "{}", 2);

    /* refused by the feed that completes the header, with nothing buffered */
    ipc_reader r;
    ipc_reader_init(&r);
    al_error err;
    assert_int_equal(ipc_reader_feed(&r, in.p, 3, &err), 0);
    assert_int_equal(ipc_reader_feed(&r, in.p + 3, in.len - 3, &err), AL_EINVALID_ARGUMENT);
    assert_int_equal(err.code, AL_EINVALID_ARGUMENT);
    assert_non_null(strstr(err.message, num));
    assert_non_null(strstr(err.message, "67108864"));
    assert_null(r.buf);
    assert_int_equal(r.cap, 0);
    /* and the stream stays failed */
    json_t *m = NULL;
    assert_int_equal(ipc_reader_next(&r, &m, &err), AL_EINVALID_ARGUMENT);
    assert_null(m);
    assert_int_equal(ipc_reader_feed(&r, "x", 1, &err), AL_EINVALID_ARGUMENT);
    ipc_reader_free(&r);

    /* behind a good frame the header is only seen by next(), which refuses it */
    bytes two = {0};
    bytes_frame(&two, "[7]", 3);
    bytes_add(&two, in.p, in.len);
    ipc_reader_init(&r);
    assert_int_equal(ipc_reader_feed(&r, two.p, two.len, &err), 0);
    assert_int_equal(ipc_reader_next(&r, &m, &err), 1);
    assert_true(tj_is(m, "[7]"));
    json_decref(m);
    assert_int_equal(ipc_reader_next(&r, &m, &err), AL_EINVALID_ARGUMENT);
    assert_non_null(strstr(err.message, num));
    assert_null(m);
    assert_int_equal(r.cap, 0);
    ipc_reader_free(&r);

    /* and from a socket */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[0], in.p, in.len), (ssize_t)in.len);
    ipc_reader_init(&r);
    assert_int_equal(ipc_recv(sv[1], &r, &m, &err), AL_EINVALID_ARGUMENT);
    assert_non_null(strstr(err.message, num));
    assert_int_equal(r.cap, 0);
    ipc_reader_free(&r);
    close(sv[0]);
    close(sv[1]);
    free(in.p);
    free(two.p);
  }

  /* exactly the limit is allowed, and announcing it allocates nothing up front */
  bytes in = {0};
  bytes_header(&in, IPC_MAX_FRAME);
  bytes_add(&in, "\"abc", 4);
  ipc_reader r;
  ipc_reader_init(&r);
  json_t *m;
  assert_int_equal(ipc_reader_feed(&r, in.p, in.len, NULL), 0);
  assert_int_equal(ipc_reader_next(&r, &m, NULL), 0);
  assert_true(r.cap <= 4096);
  ipc_reader_free(&r);
  free(in.p);
}

static void test_invalid_json(void **state) {
  (void)state;
  static const struct {
    const char *text;
    size_t len;
    const char *says; /* part of jansson's message */
  } cases[] = {
      {"{\"a\":", 5, "end of file"},
      {"{} x", 4, "end of file expected"},
      {"", 0, "end of file"},
      {"\"\xff\"", 3, "unable to decode byte 0xff"},
      {"{'a':1}", 7, "string or '}' expected"},
      {"[1,]", 4, "unexpected token"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bytes in = {0};
    bytes_frame(&in, cases[i].text, cases[i].len);
    ipc_reader r;
    ipc_reader_init(&r);
    al_error err;
    json_t *m = NULL;
    assert_int_equal(ipc_reader_feed(&r, in.p, in.len, &err), 0);
    assert_int_equal(ipc_reader_next(&r, &m, &err), AL_EINVALID_ARGUMENT);
    assert_null(m);
    if (!strstr(err.message, cases[i].says) || !strstr(err.message, "not valid JSON") ||
        !strstr(err.message, "position"))
      fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.message, cases[i].says);
    /* nothing after an error is trusted, not even a good frame */
    bytes good = {0};
    bytes_frame(&good, "{}", 2);
    assert_int_equal(ipc_reader_feed(&r, good.p, good.len, &err), AL_EINVALID_ARGUMENT);
    assert_int_equal(ipc_reader_next(&r, &m, &err), AL_EINVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "unusable"));
    assert_null(m);
    ipc_reader_free(&r);
    free(in.p);
    free(good.p);
  }
  /* the position is jansson's, counted within the frame's text */
  bytes in = {0};
  bytes_frame(&in, "[1, 2, @]", 9);
  ipc_reader r;
  ipc_reader_init(&r);
  al_error err;
  json_t *m;
  assert_int_equal(ipc_reader_feed(&r, in.p, in.len, NULL), 0);
  assert_int_equal(ipc_reader_next(&r, &m, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "line 1, column 8, position 8"));
  ipc_reader_free(&r);
  free(in.p);
}

static void test_eof_mid_frame(void **state) {
  (void)state;
  static const size_t cuts[] = {1, 3, 4, 7};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    bytes in = {0};
    bytes_frame(&in, "{\"a\":123}", 9);
    assert_int_equal(write(sv[0], in.p, cuts[i]), (ssize_t)cuts[i]);
    close(sv[0]);
    ipc_reader r;
    ipc_reader_init(&r);
    json_t *m = NULL;
    al_error err;
    assert_int_equal(ipc_recv(sv[1], &r, &m, &err), AL_EIO);
    assert_null(m);
    assert_non_null(strstr(err.message, "mid-frame"));
    ipc_reader_free(&r);
    close(sv[1]);
    free(in.p);
  }
}

static void test_clean_eof(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ipc_reader r;
  ipc_reader_init(&r);
  json_t *v = sample(0), *m = NULL;
  assert_int_equal(ipc_send(sv[0], v, NULL), 0);
  assert_int_equal(ipc_send(sv[0], v, NULL), 0);
  close(sv[0]);
  assert_int_equal(ipc_recv(sv[1], &r, &m, NULL), 1);
  json_decref(m);
  assert_int_equal(ipc_recv(sv[1], &r, &m, NULL), 1);
  json_decref(m);
  assert_int_equal(ipc_recv(sv[1], &r, &m, NULL), 0);
  assert_null(m);
  assert_int_equal(ipc_recv(sv[1], &r, &m, NULL), 0); /* and it stays at EOF */
  ipc_reader_free(&r);
  json_decref(v);
  close(sv[1]);

  /* a peer that never wrote anything */
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  close(sv[0]);
  ipc_reader_init(&r);
  assert_int_equal(ipc_recv(sv[1], &r, &m, NULL), 0);
  assert_null(m);
  ipc_reader_free(&r);
  close(sv[1]);
}

static bool sigpipe_pending(void) {
  sigset_t p;
  assert_int_equal(sigpending(&p), 0);
  return sigismember(&p, SIGPIPE) == 1;
}

/* SIGPIPE gets its default action (terminate) here, whatever the test runner inherited,
 * so surviving is the test. */
static void test_peer_closed(void **state) {
  (void)state;
  struct sigaction dfl, old_action;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  assert_int_equal(sigaction(SIGPIPE, &dfl, &old_action), 0);
  json_t *v = sample(0);
  al_error err;
  sigset_t before, after;
  assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &before), 0);

  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  close(sv[1]);
  assert_int_equal(ipc_send(sv[0], v, &err), AL_EIO);
  assert_non_null(strstr(err.message, "closed"));
  assert_int_equal(ipc_send_text(sv[0], "{}", 2, &err), AL_EIO);
  close(sv[0]);

  int p[2];
  assert_int_equal(pipe(p), 0);
  close(p[0]);
  assert_int_equal(ipc_send(p[1], v, &err), AL_EIO);
  assert_non_null(strstr(err.message, "closed"));
  assert_int_equal(ipc_send_text(p[1], "{}", 2, &err), AL_EIO);
  assert_false(sigpipe_pending());
  assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &after), 0);
  assert_int_equal(sigismember(&before, SIGPIPE), sigismember(&after, SIGPIPE));

  /* a SIGPIPE that was pending before the send is not ours to swallow */
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  assert_int_equal(pthread_sigmask(SIG_BLOCK, &pipe_set, NULL), 0);
  assert_int_equal(pthread_kill(pthread_self(), SIGPIPE), 0);
  assert_true(sigpipe_pending());
  assert_int_equal(ipc_send(p[1], v, &err), AL_EIO);
  assert_true(sigpipe_pending());
  struct timespec zero = {0, 0};
  assert_int_equal(sigtimedwait(&pipe_set, NULL, &zero), SIGPIPE);
  assert_int_equal(pthread_sigmask(SIG_SETMASK, &before, NULL), 0);
  close(p[1]);
  json_decref(v);
  assert_int_equal(sigaction(SIGPIPE, &old_action, NULL), 0);
}

static void test_too_large(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  al_error err;
  /* the length is checked before the text is touched */
  static const char small[] = "{}";
  assert_int_equal(ipc_send_text(sv[0], small, (size_t)IPC_MAX_FRAME + 1, &err),
                   AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "limit"));

  /* a string of exactly the limit encodes to two more bytes than allowed */
  char *s = malloc(IPC_MAX_FRAME);
  assert_non_null(s);
  memset(s, 'x', IPC_MAX_FRAME);
  json_t *v = json_stringn_nocheck(s, IPC_MAX_FRAME);
  free(s);
  assert_non_null(v);
  assert_int_equal(ipc_send(sv[0], v, &err), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "limit"));
  json_decref(v);

  /* nothing reached the socket */
  char c;
  assert_int_equal(recv(sv[1], &c, 1, MSG_DONTWAIT), -1);
  assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
  close(sv[0]);
  close(sv[1]);
}

static void test_bad_arguments(void **state) {
  (void)state;
  al_error err;
  json_t *m = json_null(); /* must be overwritten with NULL */
  ipc_reader_free(NULL);
  ipc_reader_init(NULL);
  ipc_reader r;
  ipc_reader_init(&r);
  ipc_reader_free(&r);
  ipc_reader_free(&r); /* twice is harmless */
  assert_int_equal(ipc_reader_next(NULL, &m, &err), AL_EINVALID_ARGUMENT);
  assert_null(m);
  assert_int_equal(ipc_reader_next(&r, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_int_equal(ipc_reader_feed(NULL, "x", 1, &err), AL_EINVALID_ARGUMENT);
  assert_int_equal(ipc_reader_feed(&r, NULL, 1, &err), AL_EINVALID_ARGUMENT);
  assert_int_equal(ipc_reader_feed(&r, NULL, 0, &err), 0);
  assert_int_equal(ipc_recv(-1, &r, &m, &err), AL_EINVALID_ARGUMENT);
  assert_int_equal(ipc_send(-1, json_null(), &err), AL_EINVALID_ARGUMENT);
  assert_int_equal(ipc_send(0, NULL, &err), AL_EINVALID_ARGUMENT);
  assert_int_equal(ipc_send_text(0, NULL, 1, &err), AL_EINVALID_ARGUMENT);
  unsigned char dummy, *f = &dummy;
  size_t n = 99;
  assert_int_equal(ipc_encode(NULL, &f, &n, &err), AL_EINVALID_ARGUMENT);
  assert_null(f);
  assert_int_equal(n, 0);

  /* a value jansson cannot encode: arrays containing each other */
  json_t *a = json_array(), *b = json_array();
  json_array_append(a, b);
  json_array_append(b, a);
  assert_int_equal(ipc_encode(a, &f, &n, &err), AL_EINVALID_ARGUMENT);
  assert_null(f);
  json_array_clear(b);
  json_decref(a);
  json_decref(b);
  ipc_reader_free(&r);
}

/* ------------------------------------------------------------------------------------- */

enum { STREAM_N = 10000 };

/* Frame i: {"seq":i,"pad":"<i % 300 chars>","s":"a\0b\u00e9"}. */
static json_t *stream_msg(int i) {
  char pad[300];
  memset(pad, 'p', sizeof pad);
  return json_pack("{s:i, s:s%, s:s%}", "seq", i, "pad", pad, (size_t)(i % 300), "s",
                   "a\0b\xc3\xa9", (size_t)5);
}

static void *stream_writer(void *p) {
  int fd = *(int *)p;
  intptr_t bad = 0;
  for (int i = 0; i < STREAM_N && !bad; i++) {
    json_t *v = stream_msg(i);
    bad = !v || ipc_send(fd, v, NULL) != 0;
    json_decref(v);
  }
  close(fd);
  return (void *)bad;
}

static void check_stream_msg(const json_t *m, int i) {
  json_t *want = stream_msg(i);
  assert_true(same(want, m));
  json_decref(want);
}

static void stream_join(pthread_t t) {
  void *bad = (void *)1;
  assert_int_equal(pthread_join(t, &bad), 0);
  assert_null(bad);
}

/* Blocking: ipc_recv() frame by frame until the writer closes. */
static void test_stream_pipe_recv(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, stream_writer, &p[1]), 0);
  ipc_reader r;
  ipc_reader_init(&r);
  json_t *m;
  for (int i = 0; i < STREAM_N; i++) {
    assert_int_equal(ipc_recv(p[0], &r, &m, NULL), 1);
    check_stream_msg(m, i);
    json_decref(m);
  }
  assert_int_equal(ipc_recv(p[0], &r, &m, NULL), 0);
  stream_join(t);
  ipc_reader_free(&r);
  close(p[0]);
}

/* Event-loop style: read() whatever is there, feed it, pop everything. */
static void test_stream_pipe_feed(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, stream_writer, &p[1]), 0);
  ipc_reader r;
  ipc_reader_init(&r);
  int seen = 0;
  size_t max_cap = 0;
  char chunk[1000];
  for (;;) {
    ssize_t n = read(p[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    assert_true(n >= 0);
    if (n == 0) break;
    assert_int_equal(ipc_reader_feed(&r, chunk, (size_t)n, NULL), 0);
    json_t *m;
    int rc;
    while ((rc = ipc_reader_next(&r, &m, NULL)) == 1) {
      check_stream_msg(m, seen++);
      json_decref(m);
    }
    assert_int_equal(rc, 0);
    if (r.cap > max_cap) max_cap = r.cap;
  }
  assert_int_equal(seen, STREAM_N);
  assert_int_equal(r.len - r.off, 0);
  assert_true(max_cap <= 4096); /* frames < 400 bytes + 1000-byte feeds */
  stream_join(t);
  ipc_reader_free(&r);
  close(p[0]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wire_format),
      cmocka_unit_test(test_round_trip_small),
      cmocka_unit_test(test_round_trip_1mib_nonblocking),
      cmocka_unit_test(test_byte_at_a_time),
      cmocka_unit_test(test_many_frames_one_feed),
      cmocka_unit_test(test_split_every_offset),
      cmocka_unit_test(test_oversized_length),
      cmocka_unit_test(test_invalid_json),
      cmocka_unit_test(test_eof_mid_frame),
      cmocka_unit_test(test_clean_eof),
      cmocka_unit_test(test_peer_closed),
      cmocka_unit_test(test_too_large),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_stream_pipe_recv),
      cmocka_unit_test(test_stream_pipe_feed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
