/* fuzz_agent.c: what a coding agent (or anything posing as one) hands `airlock emit
 * --protocol`: arbitrary hook input, through the input mapping (ap_payload) and, with an
 * arbitrary aggregate beside it, through the answer (ap_answer) for every mapped event of
 * both protocols. Nothing may crash or leak; the answer must follow the agents' rules: the
 * exit status is 0, 1 or 2, nothing is printed on stdout with a non-zero status (the
 * agent ignores it), and what is printed with 0 is one JSON object.
 *
 * Byte 0 picks the protocol (bit 7), the event (the rest, modulo the table) and fail_open
 * (bit 6 of byte 1, when there is one); the rest is JSON: its "input" member is the
 * agent's input, its "agg" member the aggregate (both default to {}), its "failure"
 * member, when a string, a failure found beside the aggregate. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_proto.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  ap_protocol p = data[0] & 0x80 ? AP_GEMINI_CLI : AP_CLAUDE_CODE;
  size_t n;
  const ap_event *t = ap_events(p, &n);
  const ap_event *ev = &t[(data[0] & 0x3f) % n];
  bool fail_open = data[1] & 0x40;
  json_t *v = json_loadb((const char *)data + 2, size - 2, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  if (!v) return 0;
  json_t *input = json_object_get(v, "input"), *agg = json_object_get(v, "agg");
  const char *failure = json_string_value(json_object_get(v, "failure"));
  json_t *in = json_is_object(input) ? json_incref(input) : json_object();
  json_t *ag = json_is_object(agg) ? json_incref(agg) : json_object();

  json_t *pl = ap_payload(p, ev, in);
  CHECK(pl && json_is_object(pl));
  json_decref(pl);

  char *out = NULL, *err = NULL;
  size_t out_len = 0, err_len = 0;
  FILE *fo = open_memstream(&out, &out_len), *fe = open_memstream(&err, &err_len);
  CHECK(fo && fe);
  int st = ap_answer(p, ev, in, ag, failure, fail_open, fo, fe);
  fclose(fo);
  fclose(fe);
  CHECK(st == 0 || st == 1 || st == 2);
  if (st) CHECK(out_len == 0);
  if (st == 2) CHECK(err_len > 0); /* a block always says why */
  if (out_len) {
    json_t *o = json_loadb(out, out_len, 0, NULL);
    CHECK(json_is_object(o));
    json_decref(o);
  }
  free(out);
  free(err);

  /* The failure answer alone. */
  FILE *null = fopen("/dev/null", "w");
  CHECK(null);
  st = ap_fail(p, data[1] & 1 ? NULL : ev, failure, fail_open, null);
  CHECK(st == 1 || st == 2);
  fclose(null);

  json_decref(in);
  json_decref(ag);
  json_decref(v);
  return 0;
}
