/* fuzz_wsmsg.c: arbitrary bytes as one WebSocket message from a page, through the
 * workbench session (server/session.c) driving a real host in inline isolation. Every
 * message the session sends back must be a JSON object that is either an answer (with
 * "re" and exactly one of "ok" / "error") or a push (with a string "type"), and an input
 * must never crash it. The session lives across inputs, so loads made by one input are
 * there for the next; it is renewed every 16 inputs, since each may hold instances with up
 * to 32 MiB of heap. The policy's default is "ask", so a plugin's hostcall reaches the
 * session's approve callback (prompts, remembered answers) and approval.answer/revoke have
 * something to act on. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_check.h"
#include "session.h"


static void on_send(void *ud, uint64_t client, const char *text, size_t len) {
  (void)ud;
  CHECK(client == 1 || client == SESS_BROADCAST);
  json_t *m = json_loadb(text, len, 0, NULL);
  CHECK(json_is_object(m));
  if (json_object_get(m, "re")) {
    CHECK(client == 1);
    CHECK(!json_object_get(m, "ok") != !json_object_get(m, "error"));
    json_t *e = json_object_get(m, "error");
    if (e) CHECK(json_is_string(json_object_get(e, "code")) && json_is_string(json_object_get(e, "message")));
  } else {
    CHECK(client == SESS_BROADCAST);
    CHECK(json_is_string(json_object_get(m, "type")));
  }
  json_decref(m);
}

static sess *session;
static unsigned uses;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!session || ++uses % 16 == 0) {
    sess_free(session);
    session = NULL;
    sess_config cfg = {.isolation = AL_ISOLATION_INLINE, .send = on_send,
                       .policy_json = "{\"default\": \"ask\"}"};
    CHECK(sess_new(&cfg, &session, NULL) == 0);
  }
  sess_message(session, 1, (const char *)data, size);
  sess_dispatch(session);
  sess_tick(session);
  CHECK(sess_pending(session) == 0); /* inline: every call is answered at once */
  return 0;
}
