/* fuzz_ipc.c: arbitrary bytes through the IPC frame decoder, cut into chunks whose sizes
 * the input chooses. Whatever the chunking, the decoder must pop the same frames and end
 * in the same state as when given the whole stream at once; every popped message must
 * re-encode to a frame that decodes to an equal value; a failed reader must stay failed;
 * and after popping, less than one frame may remain buffered.
 *
 * Input: byte 0 picks k = 1..8; bytes 1..k are chunk sizes, used in turn (0 is an empty
 * feed; values over 127 stand for larger chunks, up to 8 KiB); the rest is the stream. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_check.h"
#include "worker/ipc.h"


/* The message must survive encode -> decode unchanged, as the only frame. */
static void check_reencode(const json_t *m) {
  unsigned char *frame;
  size_t len;
  CHECK(ipc_encode(m, &frame, &len, NULL) == 0);
  ipc_reader r;
  ipc_reader_init(&r);
  json_t *back = NULL, *none = NULL;
  CHECK(ipc_reader_feed(&r, frame, len, NULL) == 0);
  CHECK(ipc_reader_next(&r, &back, NULL) == 1);
  CHECK(json_equal(m, back));
  CHECK(ipc_reader_next(&r, &none, NULL) == 0 && !none);
  json_decref(back);
  ipc_reader_free(&r);
  free(frame);
}

/* The reference: the whole stream in one feed. Returns the final status (0 or the error)
 * and the frames popped, in *out (caller frees). */
static int decode_whole(const uint8_t *s, size_t n, json_t ***out, size_t *count) {
  ipc_reader r;
  ipc_reader_init(&r);
  json_t **v = malloc((n / 5 + 1) * sizeof *v); /* a frame is at least 5 bytes */
  CHECK(v);
  size_t k = 0;
  int rc = ipc_reader_feed(&r, s, n, NULL);
  if (rc == 0) {
    json_t *m;
    while ((rc = ipc_reader_next(&r, &m, NULL)) == 1) v[k++] = m;
  }
  ipc_reader_free(&r);
  *out = v;
  *count = k;
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t nsizes = (size_t)(data[0] % 8) + 1;
  if (size < 1 + nsizes) return 0;
  const uint8_t *sizes = data + 1;
  const uint8_t *s = data + 1 + nsizes;
  size_t n = size - 1 - nsizes;
  int all_zero = 1;
  for (size_t i = 0; i < nsizes; i++) all_zero &= sizes[i] == 0;

  json_t **want;
  size_t nwant;
  int want_rc = decode_whole(s, n, &want, &nwant);
  CHECK(want_rc == 0 || want_rc == AL_EINVALID_ARGUMENT);

  ipc_reader r;
  ipc_reader_init(&r);
  size_t pos = 0, got = 0, turn = 0;
  int rc = 0;
  while (rc == 0 && pos < n) {
    size_t c = sizes[turn++ % nsizes];
    if (c > 127) c = (c - 127) * 64;
    if (all_zero) c = 1;
    if (c > n - pos) c = n - pos;
    rc = ipc_reader_feed(&r, s + pos, c, NULL);
    if (rc) break;
    pos += c;
    json_t *m;
    while ((rc = ipc_reader_next(&r, &m, NULL)) == 1) {
      CHECK(got < nwant);
      CHECK(json_equal(m, want[got]));
      check_reencode(m);
      json_decref(m);
      got++;
    }
    if (rc == 0) {
      /* what stays buffered is one incomplete frame */
      size_t live = r.len - r.off;
      CHECK(live < IPC_HEADER + IPC_MAX_FRAME);
    }
  }
  CHECK(got == nwant);
  CHECK(rc == want_rc);
  if (rc) {
    /* failed for good */
    json_t *m = NULL;
    CHECK(ipc_reader_feed(&r, "{}", 2, NULL) == rc);
    CHECK(ipc_reader_next(&r, &m, NULL) == rc && !m);
    CHECK(r.cap == 0);
  }
  ipc_reader_free(&r);
  for (size_t i = 0; i < nwant; i++) json_decref(want[i]);
  free(want);
  return 0;
}
