/*
 * session.c: the workbench protocol over one al_host (see session.h and
 * docs/workbench-protocol.md).
 *
 * Requests become host calls; plugin calls go through the *_async API with a sess_call
 * carrying who asked, so the answer reaches the right page from inside sess_dispatch().
 * Pushes are derived, never guessed: the change subscription only marks what the host
 * said changed (instances whose render inputs changed, records, shared domains), and
 * flush() turns those marks into messages and re-renders after each step. Timeline pushes
 * send the entries recorded since the last one sent (al_timeline_since's cursor), audit
 * pushes likewise (al_audit_since); the metrics tick reads the telemetry summed up
 * (al_telemetry_summary), never the records themselves.
 *
 * What the session builds is jansson values, serialised once per message; what the
 * library returned and the session only passes on (trees, states, grants, timeline
 * entries, audit records) is spliced into the message as the library's own text
 * (splice()), never parsed and printed again: the library's writer made it valid JSON with
 * every plugin string escaped, so no plugin string can break a frame, and its numbers
 * keep their shortest form.
 *
 * Source names: the loader reads code by its file name's extension (a .js script, or a
 * .ts/.tsx/.mjs ES module, TypeScript and JSX transpiled first), so the catalog keeps each
 * example's real file name, a load takes the page's `sourceName` (else the bundled
 * package's file, else <package>.js), and the session remembers per instance the name it
 * was loaded under: a reload compiles the new code the same way, never as .js.
 *
 * The hooks layer: the log and approve callbacks run on worker threads and share only
 * `inbox` (under `mu`) with the host thread: they append and wake the loop, flush() takes
 * what is there. An approval is keyed "pluginId\naction\nresource"; only the resource is plugin-chosen and it
 * comes last, so no resource can pose as another plugin's or action's key. Answers are
 * remembered for the server's run and never written to disk: a restart asks again. A pi
 * extension's ctx.ui question (action "ui", or "ui.select" / "ui.input" / "ui.editor") is
 * asked each time and never remembered: it is a question about this one call, not a
 * permission. The last three are text questions: their resource is the library's JSON
 * ({title, options | placeholder | prefill}), passed to the page as it is (the page parses
 * it), and approval.answer's `text` answers them (al_approval_answer_text).
 *
 * pi extensions (pi.* messages) run on the pi lane (pilane.h), a second host on a thread
 * of its own, made at the first pi.* message when the session has a home: their calls
 * are synchronous and may wait on a person, whose answer comes through this loop. Each
 * request is a sess_call like the others (so sess_pending counts it); the lane wakes the
 * loop when it has answered and sess_dispatch replies with the lane's text spliced.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "assets.h"
#include "pilane.h"
#include "session.h"
#include "tabs.h"
#include "wb_profile.h"

#define SESS_ERRORS_KEPT 200
#define SESS_EXAMPLES "examples/plugins/"
#define SESS_PI_EXAMPLES "examples/pi/"
#define SESS_NAME_MAX 128       /* bytes of a source name, with its NUL */
#define SESS_LOGS_KEPT 500      /* log lines a new page is given */
#define SESS_LOGS_QUEUED 2000   /* lines waiting for the host thread; more are counted, dropped */
#define SESS_LOG_MAX 4096       /* bytes of one log line kept */
#define SESS_AUDIT_PUSH 50      /* records looked at per flush */
#define SESS_AUDIT_HELLO 200    /* records a new page is given */
#define SESS_PROMPTS_MAX 50     /* approvals pending at once; past that, denied unasked */
#define SESS_KEY_MAX 1200       /* an approval key's bytes (a longer resource is denied unasked) */
#define SESS_UI_KEY_MAX 200000  /* the same for a ctx.ui question, whose resource is its text */
#define SESS_ANSWER_TEXT_MAX AL_APPROVAL_TEXT_MAX /* bytes of approval.answer's `text`: what the library takes */
#define SESS_HISTORY_KEPT 100   /* state snapshots kept per instance (State tab, rewind) */
#define SESS_SNAPSHOT_MAX 65536 /* bytes of one snapshot's state JSON; bigger ones keep none (so at most ~6.4 MiB per instance) */
#define SESS_WB_ENTRIES 200     /* the session's own timeline entries kept: as many as al_timeline gives */

/* One request (or internal render) waiting for its async answer. */
typedef struct sess_call {
  struct sess_call *prev, *next;
  struct sess *s;
  uint64_t client;
  json_t *req_id; /* NULL: nobody to answer (a re-render the session started) */
  char op[16];
  char instance_id[AL_INSTANCE_ID_MAX];
  char widget_id[128];
  char handler[128];
  char package_id[AL_INSTANCE_ID_MAX];
  char source_name[SESS_NAME_MAX]; /* load/reload: the file name the code went in under */
} sess_call;

struct sess {
  sess_config cfg;
  char *home, *worker_path;
  al_host *h;
  json_t *catalog;      /* [catalog entry] */
  json_t *tabs;         /* as the page last saved them */
  json_t *tab_of;       /* instanceId -> tabId */
  json_t *dirty;        /* instanceId -> true: render inputs changed */
  json_t *records;      /* instanceId -> true: record (status, grants, code) changed */
  bool domains_changed;
  json_t *errors;       /* newest SESS_ERRORS_KEPT error entries */
  size_t errors_sent;   /* how many of `errors` were pushed (from the end) */
  json_t *errors_new;   /* not pushed yet */
  uint64_t timeline_seq; /* the newest timeline entry pushed (al_timeline_since's cursor) */
  uint64_t audit_seq;    /* the newest audit record pushed (al_audit_since's cursor) */
  char *last_metrics;
  unsigned last_worker_crashes;
  uint64_t crash_seen_ms;
  sess_call *calls;
  size_t ncalls;
  json_t *logs;         /* newest SESS_LOGS_KEPT log lines (host thread) */
  json_t *history;      /* instanceId -> [snapshot]: its local state after each call */
  json_t *wb_entries;   /* timeline entries the session adds (state/set, state/rewind) */
  json_t *source_names; /* instanceId -> the file name its code was loaded under */
  unsigned wb_seq;
  pilane *lane;         /* pi extensions' host and thread; NULL until the first pi.* request */
  char *policy;         /* the policy's text, for the lane's host */
  /* Shared with the log and approve callbacks (worker threads), under mu. */
  pthread_mutex_t mu;
  bool mu_ok;
  struct {
    json_t *logs;       /* [line] not pushed yet */
    size_t dropped;     /* lines past SESS_LOGS_QUEUED since the last flush */
    json_t *prompts;    /* [prompt] new since the last flush */
    json_t *pending;    /* key -> prompt: asked, not answered */
    json_t *answers;    /* key -> prompt + {allow}: remembered for the run */
    json_t *waiting;    /* key -> [al_approval * as integer]: plugin calls parked on it */
    bool closing;       /* the session is going: every question is denied at once */
  } inbox;
};

static uint64_t time_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Takes text the library returned and parses it; NULL on failure. */
static json_t *take_json(char *text) {
  json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
  al_free(text);
  return v;
}

/* ---- sending -------------------------------------------------------------------------- */

static void send_json(sess *s, uint64_t client, json_t *msg /* stolen */) {
  if (!msg) return;
  char *text = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(msg);
  if (!text) return;
  s->cfg.send(s->cfg.send_ud, client, text, strlen(text));
  free(text);
}

static void push(sess *s, json_t *msg) { send_json(s, SESS_BROADCAST, msg); }

/* The text of object `env` with members keys[i]: raws[i] appended (NULL: null). A raw is
 * JSON text the library returned, which its writer made (valid JSON, numbers in their
 * shortest form) and which goes out as it came, never parsed and printed again; a key is
 * one of ours (a literal needing no escape). malloc()ed; NULL when out of memory. */
static char *splice(const json_t *env, size_t n, const char *const keys[], const char *const raws[]) {
  char *e = env ? json_dumps(env, JSON_COMPACT) : NULL;
  if (!e) return NULL;
  size_t el = strlen(e), len = el + 1;
  for (size_t i = 0; i < n; i++) len += strlen(keys[i]) + (raws[i] ? strlen(raws[i]) : 4) + 4;
  char *out = malloc(len);
  if (!out) {
    free(e);
    return NULL;
  }
  size_t o = el - 1; /* the closing brace goes last */
  memcpy(out, e, o);
  for (size_t i = 0; i < n; i++) {
    const char *r = raws[i] ? raws[i] : "null";
    size_t kl = strlen(keys[i]), rl = strlen(r);
    if (o > 1) out[o++] = ',';
    out[o++] = '"';
    memcpy(out + o, keys[i], kl);
    o += kl;
    out[o++] = '"';
    out[o++] = ':';
    memcpy(out + o, r, rl);
    o += rl;
  }
  out[o++] = '}';
  out[o] = '\0';
  free(e);
  return out;
}

/* send_json with spliced members; env stolen, raws borrowed. */
static void send_spliced(sess *s, uint64_t client, json_t *env, size_t n, const char *const keys[],
                         const char *const raws[]) {
  char *text = splice(env, n, keys, raws);
  json_decref(env);
  if (text) s->cfg.send(s->cfg.send_ud, client, text, strlen(text));
  free(text);
}

/* reply_ok whose `ok` object is made of spliced members alone. */
static void reply_spliced(sess *s, uint64_t client, json_t *id, size_t n, const char *const keys[],
                          const char *const raws[]) {
  json_t *empty = json_object();
  char *ok = splice(empty, n, keys, raws);
  json_decref(empty);
  const char *const key[] = {"ok"}, *raw[] = {ok};
  if (ok) send_spliced(s, client, json_pack("{s:O}", "re", id ? id : json_null()), 1, key, raw);
  free(ok);
}

static void reply_ok(sess *s, uint64_t client, json_t *id, json_t *ok /* stolen */) {
  send_json(s, client, json_pack("{s:O,s:o}", "re", id ? id : json_null(), "ok", ok ? ok : json_object()));
}

/* A JSON string from text that may not be UTF-8: error messages quote plugin strings and
 * are cut to a fixed size, possibly inside a character. Bytes that do not decode become
 * '?', so the answer is still sent. */
static json_t *text_json(const char *t) {
  json_t *v = json_string(t);
  if (v) return v;
  char buf[sizeof ((al_error *)0)->message];
  size_t n = strlen(t), i = 0;
  if (n >= sizeof buf) n = sizeof buf - 1;
  while (i < n) {
    size_t len = 1;
    unsigned char c = (unsigned char)t[i];
    if (c >= 0xC0 && c < 0xF8) len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    json_t *one = i + len <= n && c >= 0x80 ? json_stringn(t + i, len) : NULL;
    if (c < 0x80 || one) {
      memcpy(buf + i, t + i, len);
    } else {
      len = 1;
      buf[i] = '?';
    }
    json_decref(one);
    i += len;
  }
  buf[n] = 0;
  return json_string(buf);
}

/* The wire form of an error: {code, message, line?, path?, instanceId?}. */
static json_t *error_json(int code, const al_error *e) {
  json_t *o = json_pack("{s:s,s:o}", "code", al_err_name(code), "message",
                        text_json(e && e->message[0] ? e->message : al_strerror(code)));
  if (o && e) {
    if (e->line > 0) json_object_set_new(o, "line", json_integer(e->line));
    if (e->path[0]) json_object_set_new(o, "path", text_json(e->path));
    if (e->instance_id[0]) json_object_set_new(o, "instanceId", text_json(e->instance_id));
  }
  return o;
}

static void reply_error(sess *s, uint64_t client, json_t *id, int code, const al_error *e) {
  send_json(s, client, json_pack("{s:O,s:o}", "re", id ? id : json_null(), "error", error_json(code, e)));
}

/* Answers INVALID_ARGUMENT with a formatted message naming what was wrong. */
static void reply_bad(sess *s, uint64_t client, json_t *id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void reply_bad(sess *s, uint64_t client, json_t *id, const char *fmt, ...) {
  al_error e = {0};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e.message, sizeof e.message, fmt, ap);
  va_end(ap);
  reply_error(s, client, id, AL_EINVALID_ARGUMENT, &e);
}

/* Records a failed plugin call for the Errors tab; pushed by the next flush. */
static void note_error(sess *s, const sess_call *c, int code, const al_error *e) {
  json_t *entry = error_json(code, e);
  if (!entry) return;
  json_object_set_new(entry, "time", json_integer((json_int_t)time_ms()));
  json_object_set_new(entry, "op", json_string(c->op));
  if (c->instance_id[0]) json_object_set_new(entry, "instanceId", json_string(c->instance_id));
  if (c->widget_id[0]) json_object_set_new(entry, "widgetId", json_string(c->widget_id));
  if (c->handler[0]) json_object_set_new(entry, "handler", json_string(c->handler));
  if (c->package_id[0]) json_object_set_new(entry, "packageId", json_string(c->package_id));
  json_array_append(s->errors, entry);
  if (json_array_size(s->errors) > SESS_ERRORS_KEPT) json_array_remove(s->errors, 0);
  json_array_append_new(s->errors_new, entry);
}

/* ---- calls in flight ------------------------------------------------------------------ */

static sess_call *call_new(sess *s, uint64_t client, json_t *req_id, const char *op) {
  sess_call *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->s = s;
  c->client = client;
  c->req_id = req_id ? json_incref(req_id) : NULL;
  snprintf(c->op, sizeof c->op, "%s", op);
  c->next = s->calls;
  if (s->calls) s->calls->prev = c;
  s->calls = c;
  s->ncalls++;
  return c;
}

static void call_free(sess_call *c) {
  sess *s = c->s;
  if (c->prev) c->prev->next = c->next;
  else s->calls = c->next;
  if (c->next) c->next->prev = c->prev;
  s->ncalls--;
  json_decref(c->req_id);
  free(c);
}

/* ---- records -------------------------------------------------------------------------- */

/* The page's instance record: the host's, plus grants, local state and tab. */
static json_t *instance_record(sess *s, const char *id) {
  char *text = NULL;
  if (al_plugin_info(s->h, id, &text, NULL)) return NULL;
  json_t *rec = take_json(text);
  if (!rec) return NULL;
  if (!al_grants_get(s->h, id, &text, NULL)) json_object_set_new(rec, "grants", take_json(text));
  if (!al_state_get(s->h, id, &text, NULL)) json_object_set_new(rec, "state", take_json(text));
  json_t *tab = json_object_get(s->tab_of, id);
  if (tab) json_object_set(rec, "tabId", tab);
  return rec;
}

static json_t *shared_all(sess *s) {
  char *text = NULL;
  json_t *out = json_object();
  if (al_shared_domains(s->h, &text, NULL)) return out;
  json_t *names = take_json(text);
  size_t i;
  json_t *n;
  json_array_foreach(names, i, n) {
    if (!al_shared_get(s->h, json_string_value(n), &text, NULL))
      json_object_set_new(out, json_string_value(n), take_json(text));
  }
  json_decref(names);
  return out;
}

/* The same as the text of one object, each projection spliced as the library wrote it
 * (the name, the host's, escaped by jansson all the same). malloc()ed; NULL when out of
 * memory. */
static char *shared_text(sess *s) {
  char *text = NULL;
  json_t *names = al_shared_domains(s->h, &text, NULL) ? json_array() : take_json(text);
  size_t len = 1, i;
  char *out = malloc(2);
  json_t *n;
  if (out) out[0] = '{';
  json_array_foreach(names, i, n) {
    char *key = out ? json_dumps(n, JSON_ENCODE_ANY) : NULL, *proj = NULL;
    if (key && !al_shared_get(s->h, json_string_value(n), &proj, NULL)) {
      size_t kl = strlen(key), pl = strlen(proj);
      char *grown = realloc(out, len + kl + pl + 3);
      if (grown) {
        out = grown;
        if (len > 1) out[len++] = ',';
        memcpy(out + len, key, kl);
        len += kl;
        out[len++] = ':';
        memcpy(out + len, proj, pl);
        len += pl;
      } else {
        free(out);
        out = NULL;
      }
    }
    free(key);
    al_free(proj);
  }
  json_decref(names);
  if (out) {
    char *grown = realloc(out, len + 2);
    if (grown) {
      out = grown;
      out[len++] = '}';
      out[len] = '\0';
    } else {
      free(out);
      out = NULL;
    }
  }
  return out;
}

/* ---- change notification -> marks ----------------------------------------------------- */

static void on_change(void *user, const al_change *c) {
  sess *s = user;
  for (size_t i = 0; i < c->instance_count; i++)
    json_object_set_new(s->dirty, c->instance_ids[i], json_true());
  if (c->domain_count) s->domains_changed = true;
  if (c->origin_instance_id && strcmp(c->cause, "event") != 0)
    json_object_set_new(s->records, c->origin_instance_id, json_true());
}

/* ---- rendering ------------------------------------------------------------------------ */

static void render_done(void *user, int rc, const char *json, const al_error *err) {
  sess_call *c = user;
  sess *s = c->s;
  json_t *msg = json_pack("{s:s,s:s,s:s}", "type", "tree", "instanceId", c->instance_id,
                          "widgetId", c->widget_id);
  if (!rc) {
    const char *const key[] = {"tree"}, *raw[] = {json};
    if (c->req_id) reply_spliced(s, c->client, c->req_id, 1, key, raw);
    send_spliced(s, SESS_BROADCAST, msg, 1, key, raw);
  } else {
    json_object_set_new(msg, "error", error_json(rc, err));
    if (c->req_id) reply_error(s, c->client, c->req_id, rc, err);
    if (rc != AL_EINSTANCE_NOT_FOUND) note_error(s, c, rc, err);
    push(s, msg);
  }
  call_free(c);
}

static int render_one(sess *s, uint64_t client, json_t *req_id, const char *id, const char *widget) {
  sess_call *c = call_new(s, client, req_id, "render");
  if (!c) return AL_ENO_MEMORY;
  snprintf(c->instance_id, sizeof c->instance_id, "%s", id);
  snprintf(c->widget_id, sizeof c->widget_id, "%s", widget);
  int rc = al_render_async(s->h, id, widget, render_done, c);
  if (rc) call_free(c);
  return rc;
}

/* Every widget of `id`, as the instance's record lists them. */
static void render_all(sess *s, const char *id) {
  char *text = NULL;
  if (al_plugin_info(s->h, id, &text, NULL)) return;
  json_t *rec = take_json(text);
  size_t i;
  json_t *w;
  json_array_foreach(json_object_get(rec, "widgets"), i, w) {
    int rc = render_one(s, 0, NULL, id, json_string_value(w));
    if (rc) { /* BUSY: the page shows it in place rather than a stale tree */
      al_error e = {0};
      snprintf(e.message, sizeof e.message, "%s", al_strerror(rc));
      push(s, json_pack("{s:s,s:s,s:s,s:o}", "type", "tree", "instanceId", id, "widgetId",
                        json_string_value(w), "error", error_json(rc, &e)));
    }
  }
  json_decref(rec);
}

/* ---- pushes derived from the marks ---------------------------------------------------- */

/* Pushes the entries recorded since the last push, as the library wrote them; an idle
 * timeline costs one call that copies nothing. */
static void flush_timeline(sess *s) {
  char *text = NULL;
  uint64_t last = s->timeline_seq;
  if (al_timeline_since(s->h, s->timeline_seq, &text, &last, NULL)) return;
  if (last != s->timeline_seq) {
    const char *const key[] = {"entries"}, *raw[] = {text};
    s->timeline_seq = last;
    send_spliced(s, SESS_BROADCAST, json_pack("{s:s}", "type", "timeline"), 1, key, raw);
  }
  al_free(text);
}

/* ---- state history: a snapshot after every call, for the State tab's diff and rewind -- */

/* Appends a snapshot of `id`'s local state now: {seq, time, op, handler?, dispatchId?,
 * actions: [actionType...], state} (state null and tooLarge true past SESS_SNAPSHOT_MAX),
 * keeps the newest SESS_HISTORY_KEPT and pushes it as `history`. */
static void history_add(sess *s, const char *id, const char *op, const char *handler,
                        const char *dispatch_id, json_t *actions /* stolen, may be NULL */) {
  char *text = NULL;
  if (al_state_get(s->h, id, &text, NULL)) {
    json_decref(actions);
    return;
  }
  bool big = strlen(text) > SESS_SNAPSHOT_MAX;
  json_t *state = big ? json_null() : take_json(text);
  if (big) al_free(text);
  json_t *list = json_object_get(s->history, id);
  if (!list) {
    list = json_array();
    json_object_set_new(s->history, id, list);
  }
  json_t *last = json_array_get(list, json_array_size(list) - 1);
  json_int_t seq = last ? json_integer_value(json_object_get(last, "seq")) + 1 : 1;
  json_t *e = json_pack("{s:I,s:I,s:s,s:o,s:o}", "seq", seq, "time", (json_int_t)time_ms(), "op", op,
                        "actions", actions ? actions : json_array(), "state", state ? state : json_null());
  if (!e || !list) {
    json_decref(e);
    return;
  }
  if (handler && *handler) json_object_set_new(e, "handler", json_string(handler));
  if (dispatch_id && *dispatch_id) json_object_set_new(e, "dispatchId", json_string(dispatch_id));
  if (big) json_object_set_new(e, "tooLarge", json_true());
  json_array_append(list, e);
  while (json_array_size(list) > SESS_HISTORY_KEPT) json_array_remove(list, 0);
  push(s, json_pack("{s:s,s:s,s:o}", "type", "history", "instanceId", id, "entry", e));
}

/* Records a state edit made from the page in the timeline, as the session's own entry:
 * the host does not trace al_state_set. Its dispatchId is the host's newest one plus
 * ".NNNNNN", so it sorts after every entry made before it and before every later one. */
static void note_state_edit(sess *s, const char *id, const char *action, json_t *payload /* stolen */) {
  char *text = NULL, did[96];
  json_t *tr = al_trace(s->h, &text, NULL) ? NULL : take_json(text);
  const char *last = json_string_value(json_object_get(tr, "lastDispatchId"));
  snprintf(did, sizeof did, "%.60s.%06u", last ? last : "0", ++s->wb_seq);
  json_decref(tr);
  json_t *e = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:n,s:s,s:o}", "dispatchId", did, "timestamp",
                        (json_int_t)time_ms(), "scope", "host", "actionType", action, "instanceId", id,
                        "outcome", "applied", "reason", "source", "workbench", "payload",
                        payload ? payload : json_null());
  if (!e) return;
  json_array_append(s->wb_entries, e);
  while (json_array_size(s->wb_entries) > SESS_WB_ENTRIES) json_array_remove(s->wb_entries, 0);
  push(s, json_pack("{s:s,s:[o]}", "type", "timeline", "entries", e));
}

static int by_dispatch(const void *a, const void *b) {
  const char *x = json_string_value(json_object_get(*(json_t *const *)a, "dispatchId"));
  const char *y = json_string_value(json_object_get(*(json_t *const *)b, "dispatchId"));
  return strcmp(x ? x : "", y ? y : "");
}

/* The host's timeline with the session's own entries merged in, by dispatchId. */
static json_t *timeline_all(sess *s) {
  char *text = NULL;
  json_t *all = al_timeline(s->h, &text, NULL) ? json_array() : take_json(text);
  if (!all || !json_array_size(s->wb_entries)) return all ? all : json_array();
  size_t n = json_array_size(all) + json_array_size(s->wb_entries), i, k = 0;
  json_t **v = calloc(n, sizeof *v), *e;
  if (!v) return all;
  /* When the host's list is full (its newest 200), ours stop where its window starts. */
  const char *oldest = json_array_size(all) >= SESS_WB_ENTRIES
                           ? json_string_value(json_object_get(json_array_get(all, 0), "dispatchId"))
                           : NULL;
  json_array_foreach(all, i, e) v[k++] = e;
  json_array_foreach(s->wb_entries, i, e) {
    const char *d = json_string_value(json_object_get(e, "dispatchId"));
    if (!oldest || (d && strcmp(d, oldest) > 0)) v[k++] = e;
  }
  n = k;
  qsort(v, n, sizeof *v, by_dispatch);
  json_t *out = json_array();
  for (i = 0; i < n; i++) json_array_append(out, v[i]);
  free(v);
  json_decref(all);
  return out;
}

/* ---- the hooks layer: audit, logs, approvals ------------------------------------------ */

/* Pushes the audit records kept since the last push (the newest SESS_AUDIT_PUSH of
 * them), newest first, as the library wrote them; an idle trail costs one call that
 * copies nothing. */
static void flush_audit(sess *s) {
  char *text = NULL;
  uint64_t last = s->audit_seq;
  if (al_audit_since(s->h, s->audit_seq, SESS_AUDIT_PUSH, &text, &last, NULL)) return;
  if (last != s->audit_seq) {
    const char *const key[] = {"records"}, *raw[] = {text};
    s->audit_seq = last;
    send_spliced(s, SESS_BROADCAST, json_pack("{s:s}", "type", "audit"), 1, key, raw);
  }
  al_free(text);
}

/* {pending: [prompt], remembered: [prompt + allow]}, oldest first. Takes mu. */
static json_t *approvals_json(sess *s) {
  json_t *pending = json_array(), *remembered = json_array();
  const char *k;
  json_t *v;
  pthread_mutex_lock(&s->mu);
  json_object_foreach(s->inbox.pending, k, v) json_array_append(pending, v);
  json_object_foreach(s->inbox.answers, k, v) json_array_append(remembered, v);
  pthread_mutex_unlock(&s->mu);
  return json_pack("{s:o,s:o}", "pending", pending, "remembered", remembered);
}

/* al_log_fn, on a worker thread: queue the line, wake the loop when the queue was empty. */
static void on_log(void *user, const char *plugin_id, const char *level, const char *message) {
  sess *s = user;
  size_t n = strlen(message);
  if (n > SESS_LOG_MAX) { /* cut at a character boundary, so UTF-8 text stays valid */
    n = SESS_LOG_MAX;
    while (n > 0 && ((unsigned char)message[n] & 0xC0) == 0x80) n--;
  }
  json_t *msg = json_stringn(message, n);
  json_t *line = json_pack("{s:I,s:o,s:o,s:o}", "time", (json_int_t)time_ms(), "pluginId",
                           text_json(plugin_id), "level", text_json(level), "message",
                           msg ? msg : text_json(message));
  bool wake = false;
  /* Once queued, the line is shared with the host thread: its reference is handed over
   * under the lock, never dropped outside it. */
  pthread_mutex_lock(&s->mu);
  if (!line || json_array_size(s->inbox.logs) >= SESS_LOGS_QUEUED) {
    s->inbox.dropped++;
    json_decref(line);
  } else {
    wake = !json_array_size(s->inbox.logs);
    json_array_append_new(s->inbox.logs, line);
  }
  pthread_mutex_unlock(&s->mu);
  if (wake && s->cfg.wake) s->cfg.wake(s->cfg.wake_ud);
}

/* A ctx.ui question (never remembered): "ui" (confirm) or "ui.<kind>". */
static bool ui_action(const char *act) {
  return act && !strncmp(act, "ui", 2) && (!act[2] || act[2] == '.');
}

/* A ctx.ui question answered with text: select, input, editor. */
static bool text_action(const char *act) {
  return act && (!strcmp(act, "ui.select") || !strcmp(act, "ui.input") || !strcmp(act, "ui.editor"));
}

/* al_ask_fn, on a host thread: a remembered answer at once; otherwise a prompt for the
 * pages, and the plugin's call stays parked (its deadline paused) until a person answers
 * (do_approval) or the session closes (denied). */
static void on_ask(void *user, al_approval *q, const char *plugin_id, const char *action,
                   const char *resource) {
  sess *s = user;
  /* A ctx.ui question's resource is its text (an editor's prefill, a select's options),
   * so its key may be longer than a permission's. */
  size_t max = ui_action(action) ? SESS_UI_KEY_MAX : SESS_KEY_MAX;
  size_t len = strlen(plugin_id) + strlen(action) + strlen(resource) + 2;
  json_t *k = len < max ? json_sprintf("%s\n%s\n%s", plugin_id, action, resource) : NULL;
  if (!k) { /* too long, not UTF-8, or out of memory: nothing a person could answer */
    al_approval_answer(q, AL_APPROVE_DENY);
    return;
  }
  const char *key = json_string_value(k);
  int answer = -1;
  bool wake = false;
  pthread_mutex_lock(&s->mu);
  json_t *known = json_object_get(s->inbox.answers, key);
  json_t *list = json_object_get(s->inbox.waiting, key);
  if (s->inbox.closing) {
    answer = AL_APPROVE_DENY;
  } else if (known) {
    answer = json_is_true(json_object_get(known, "allow")) ? AL_APPROVE_ALLOW : AL_APPROVE_DENY;
  } else if (!json_object_get(s->inbox.pending, key) && json_object_size(s->inbox.pending) >= SESS_PROMPTS_MAX) {
    answer = AL_APPROVE_DENY; /* too many open questions: denied unasked */
  } else {
    if (!json_object_get(s->inbox.pending, key)) {
      json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:I}", "key", key, "pluginId", plugin_id, "action",
                            action, "resource", resource, "time", (json_int_t)time_ms());
      if (p && !json_object_set(s->inbox.pending, key, p) && !json_array_append(s->inbox.prompts, p))
        wake = true;
      json_decref(p);
    }
    if (!list && !json_object_set_new(s->inbox.waiting, key, json_array()))
      list = json_object_get(s->inbox.waiting, key);
    if (!list || json_array_append_new(list, json_integer((json_int_t)(uintptr_t)q))) answer = AL_APPROVE_DENY;
  }
  pthread_mutex_unlock(&s->mu);
  json_decref(k);
  if (answer >= 0) al_approval_answer(q, answer);
  if (wake && s->cfg.wake) s->cfg.wake(s->cfg.wake_ud);
}

/* Answers every plugin call parked on `key` (all of them when key is NULL), on the host
 * thread. Text questions (`text_q`, only with a key) get `text` through
 * al_approval_answer_text (NULL: dismissed; the library copies it, so it need only live
 * through this call); the others `answer`. Takes mu, answers outside it. */
static void answer_waiting(sess *s, const char *key, int answer, bool text_q, const char *text) {
  json_t *lists = json_array();
  pthread_mutex_lock(&s->mu);
  if (key) {
    json_t *l = json_object_get(s->inbox.waiting, key);
    if (l) json_array_append(lists, l);
    json_object_del(s->inbox.waiting, key);
  } else {
    const char *k;
    json_t *l;
    json_object_foreach(s->inbox.waiting, k, l) json_array_append(lists, l);
    json_object_clear(s->inbox.waiting);
  }
  pthread_mutex_unlock(&s->mu);
  size_t i, j;
  json_t *l, *q;
  json_array_foreach(lists, i, l) json_array_foreach(l, j, q) {
    al_approval *a = (al_approval *)(uintptr_t)json_integer_value(q);
    if (text_q)
      al_approval_answer_text(a, text);
    else
      al_approval_answer(a, answer);
  }
  json_decref(lists);
}

/* Pushes what the callbacks left: log lines (kept for new pages too) and new prompts. */
static void flush_inbox(sess *s) {
  pthread_mutex_lock(&s->mu);
  json_t *logs = json_array_size(s->inbox.logs) ? json_copy(s->inbox.logs) : NULL;
  json_t *prompts = json_array_size(s->inbox.prompts) ? json_copy(s->inbox.prompts) : NULL;
  size_t dropped = s->inbox.dropped;
  if (logs) json_array_clear(s->inbox.logs);
  if (prompts) json_array_clear(s->inbox.prompts);
  s->inbox.dropped = 0;
  pthread_mutex_unlock(&s->mu);
  if (logs || dropped) {
    if (!logs) logs = json_array();
    size_t i;
    json_t *line;
    json_array_foreach(logs, i, line) json_array_append(s->logs, line);
    while (json_array_size(s->logs) > SESS_LOGS_KEPT) json_array_remove(s->logs, 0);
    json_t *msg = json_pack("{s:s,s:o}", "type", "log", "entries", logs);
    if (msg && dropped) json_object_set_new(msg, "dropped", json_integer((json_int_t)dropped));
    push(s, msg);
  }
  size_t i;
  json_t *p;
  json_array_foreach(prompts, i, p) push(s, json_pack("{s:s,s:O}", "type", "approval", "prompt", p));
  json_decref(prompts);
}

/* approval.answer {key, allow, text?} and approval.revoke {key}. On the host thread. */
static void do_approval(sess *s, uint64_t client, json_t *id, const char *type, const json_t *req) {
  const json_t *key = json_object_get(req, "key");
  const json_t *allow = json_object_get(req, "allow");
  const json_t *text = json_object_get(req, "text");
  bool answer = !strcmp(type, "approval.answer");
  if (!json_is_string(key)) {
    reply_bad(s, client, id, "%s: 'key' must be a string (from an approval prompt)", type);
    return;
  }
  if (answer && !json_is_boolean(allow)) {
    reply_bad(s, client, id, "approval.answer: 'allow' must be true or false");
    return;
  }
  if (answer && text) {
    if (!json_is_string(text)) {
      reply_bad(s, client, id, "approval.answer: 'text' must be a string (the answer to a ctx.ui select, input or editor question)");
      return;
    }
    if (json_string_length(text) > SESS_ANSWER_TEXT_MAX) {
      reply_bad(s, client, id, "approval.answer: 'text' is %zu bytes; at most %d are taken",
                json_string_length(text), SESS_ANSWER_TEXT_MAX);
      return;
    }
  }
  const char *k = json_string_value(key);
  bool found = false, text_q = false;
  char refused[64] = "";
  pthread_mutex_lock(&s->mu);
  json_t *p = json_object_get(s->inbox.pending, k);
  if (!p) p = json_object_get(s->inbox.answers, k);
  const char *act = json_string_value(json_object_get(p, "action"));
  if (p && answer && text && !text_action(act)) { /* text answers only a text question */
    snprintf(refused, sizeof refused, "%s", act ? act : "?");
  } else if (p && answer && ui_action(act)) { /* ctx.ui: this call's question alone */
    text_q = text_action(act);
    found = !json_object_del(s->inbox.pending, k);
  } else if (p && answer) {
    json_t *a = json_deep_copy(p);
    json_object_set(a, "allow", (json_t *)allow);
    json_object_set_new(a, "time", json_integer((json_int_t)time_ms()));
    found = a && !json_object_set_new(s->inbox.answers, k, a);
    json_object_del(s->inbox.pending, k);
  } else if (p) {
    found = !json_object_del(s->inbox.answers, k);
  }
  pthread_mutex_unlock(&s->mu);
  if (refused[0]) {
    reply_bad(s, client, id,
              "approval.answer: 'text' answers only a ctx.ui select, input or editor question "
              "(action ui.select, ui.input or ui.editor); key '%.300s' is action '%s', answered by 'allow' alone",
              k, refused);
    return;
  }
  if (!found) {
    reply_bad(s, client, id, "%s: no %s approval with key '%.300s'", type,
              answer ? "pending or remembered" : "remembered", k);
    return;
  }
  /* A text question: the text when allowed, else (or with no text) dismissed. */
  if (answer)
    answer_waiting(s, k, json_is_true(allow) ? AL_APPROVE_ALLOW : AL_APPROVE_DENY, text_q,
                   text_q && json_is_true(allow) && text ? json_string_value(text) : NULL);
  json_t *all = approvals_json(s);
  push(s, json_pack("{s:s,s:O,s:O}", "type", "approvals", "pending", json_object_get(all, "pending"),
                    "remembered", json_object_get(all, "remembered")));
  reply_ok(s, client, id, json_pack("{s:o}", "approvals", all));
}

/* Turns what changed into pushes and re-renders. Renders answer later, and may change
 * status, which marks records again: each dispatch flushes, so it converges. */
static void flush(sess *s) {
  flush_timeline(s);
  flush_inbox(s);
  flush_audit(s);
  if (json_array_size(s->errors_new)) {
    push(s, json_pack("{s:s,s:O}", "type", "errors", "entries", s->errors_new));
    json_array_clear(s->errors_new);
  }
  const char *id;
  json_t *v, *tmp;
  json_object_foreach_safe(s->records, tmp, id, v) {
    json_t *rec = instance_record(s, id);
    if (rec) push(s, json_pack("{s:s,s:o}", "type", "instance", "instance", rec));
    json_object_del(s->records, id);
  }
  if (s->domains_changed) {
    s->domains_changed = false;
    char *domains = shared_text(s);
    const char *const key[] = {"domains"}, *raw[] = {domains};
    if (domains) send_spliced(s, SESS_BROADCAST, json_pack("{s:s}", "type", "shared"), 1, key, raw);
    free(domains);
  }
  json_t *dirty = s->dirty;
  s->dirty = json_object();
  json_object_foreach(dirty, id, v) {
    char *st = NULL, *gs = NULL;
    if (al_state_get(s->h, id, &st, NULL)) continue; /* gone */
    if (al_global_state(s->h, id, &gs, NULL)) gs = NULL;
    const char *const keys[] = {"state", "globalState"}, *raws[] = {st, gs};
    send_spliced(s, SESS_BROADCAST, json_pack("{s:s,s:s}", "type", "state", "instanceId", id), 2,
                 keys, raws);
    al_free(st);
    al_free(gs);
    render_all(s, id);
  }
  json_decref(dirty);
}

/* ---- metrics -------------------------------------------------------------------------- */

/* The summary's figures for one instance, zeros when it has no call in the window. */
static json_t *call_stats(const json_t *summary, const char *id) {
  json_t *row = json_object_get(json_object_get(summary, "instances"), id);
  return row ? json_copy(row)
             : json_pack("{s:i,s:i,s:i,s:i,s:i}", "calls", 0, "p50Us", 0, "p99Us", 0, "timeouts", 0,
                         "crashes", 0);
}

static json_t *metrics(sess *s) {
  char *text = NULL;
  /* Every second: the library sums the telemetry window up, so no record is printed
   * and parsed here */
  json_t *tel = al_telemetry_summary(s->h, &text, NULL) ? NULL : take_json(text);
  json_t *health = al_health(s->h, &text, NULL) ? json_object() : take_json(text);
  json_t *trace = al_trace(s->h, &text, NULL) ? json_object() : take_json(text);
  json_t *m = json_object();
  static const char *const totals[] = {"calls", "p50Us", "p99Us", "timeouts", "crashes"};
  for (size_t k = 0; k < sizeof totals / sizeof totals[0]; k++) {
    json_t *v = json_object_get(tel, totals[k]);
    json_object_set_new(m, totals[k], v ? json_incref(v) : json_integer(0));
  }
  json_t *we = json_object_get(health, "workerEvents");
  unsigned crashes = (unsigned)json_integer_value(json_object_get(we, "crashes"));
  if (crashes != s->last_worker_crashes) {
    s->last_worker_crashes = crashes;
    s->crash_seen_ms = time_ms();
  }
  bool degraded = s->crash_seen_ms && time_ms() - s->crash_seen_ms < 60000;
  json_t *list = json_array();
  size_t i;
  json_t *inst;
  json_array_foreach(json_object_get(health, "instances"), i, inst) {
    const char *id = json_string_value(json_object_get(inst, "instanceId"));
    const char *status = json_string_value(json_object_get(inst, "status"));
    if (status && strcmp(status, "loaded")) degraded = true;
    json_t *row = call_stats(tel, id);
    json_object_set(row, "instanceId", json_object_get(inst, "instanceId"));
    json_object_set(row, "packageId", json_object_get(inst, "packageId"));
    json_object_set(row, "status", json_object_get(inst, "status"));
    json_object_set(row, "memoryBytes", json_object_get(inst, "memoryBytes"));
    json_array_append_new(list, row);
  }
  json_object_set_new(m, "dispatchCount", json_integer(json_integer_value(json_object_get(trace, "count"))));
  json_object_set_new(m, "instanceCount", json_integer((json_int_t)json_array_size(list)));
  json_object_set_new(m, "health", json_string(degraded ? "degraded" : "ok"));
  json_object_set(m, "workerEvents", we ? we : json_object());
  json_object_set_new(m, "instances", list);
  json_decref(tel);
  json_decref(health);
  json_decref(trace);
  return m;
}

void sess_tick(sess *s) {
  if (!s) return;
  json_t *m = metrics(s);
  char *text = json_dumps(m, JSON_COMPACT);
  json_decref(m);
  if (!text) return;
  if (s->last_metrics && !strcmp(text, s->last_metrics)) {
    free(text);
    return;
  }
  free(s->last_metrics);
  s->last_metrics = text;
  size_t n = strlen(text);
  /* {"type":"metrics",<body's members>}: the body is an object, so splice its braces. */
  char *msg = malloc(n + 32);
  if (!msg) return;
  int k = snprintf(msg, n + 32, "{\"type\":\"metrics\"%s%s", n > 2 ? "," : "", text + 1);
  s->cfg.send(s->cfg.send_ud, SESS_BROADCAST, msg, (size_t)k);
  free(msg);
}

/* ---- catalog -------------------------------------------------------------------------- */

/* The length of `name`'s extension when it is one of `exts`, else 0. */
static size_t ext_among(const char *name, const char *const *exts, size_t nexts) {
  size_t n = strlen(name);
  for (size_t i = 0; i < nexts; i++) {
    size_t k = strlen(exts[i]);
    if (n > k && !strcmp(name + n - k, exts[i])) return k;
  }
  return 0;
}

/* The length of `name`'s extension when it is one a bundled example may have: .js and .mjs
 * (JavaScript), .ts and .tsx (TypeScript, with JSX in .tsx); 0 for any other file, a
 * manifest say. The loader decides how to read the code by the same name (a script, or
 * an ES module transpiled first: docs/modules.md), so the name is kept as it is. */
static size_t example_ext(const char *name) {
  static const char *const exts[] = {".js", ".mjs", ".ts", ".tsx"};
  return ext_among(name, exts, sizeof exts / sizeof *exts);
}

/* Reads each bundled example's metadata by loading it once in a scratch inline host (our
 * own code, run once at start) and pairs it with its package's manifest grants. The
 * entry's `file` is the example's own file name (pomodoro.tsx), which is also the source
 * name a load of that package defaults to (do_load). */
static json_t *build_catalog(sess *s) {
  json_t *cat = json_array();
  al_config cfg;
  al_config_init(&cfg);
  cfg.isolation = AL_ISOLATION_INLINE;
  al_host *scratch = NULL;
  if (!cat || al_host_new(&cfg, &scratch, NULL)) return cat;
  size_t plen = strlen(SESS_EXAMPLES);
  for (size_t i = 0; i < asset_count; i++) {
    const asset_file *a = &asset_table[i];
    if (strncmp(a->name, SESS_EXAMPLES, plen) || strchr(a->name + plen, '/')) continue;
    const char *file = a->name + plen;
    size_t ext = example_ext(file);
    if (!ext || strlen(file) >= SESS_NAME_MAX) continue;
    char id[AL_INSTANCE_ID_MAX], *text = NULL;
    al_error e;
    al_load_opts o = {.source_name = file};
    if (al_load(scratch, "example", (const char *)a->data, a->len, &o, id, sizeof id, &e)) {
      fprintf(stderr, "airlock serve: example %s does not load: %s: %s\n", file, al_err_name(e.code), e.message);
      continue;
    }
    json_t *rec = al_plugin_info(scratch, id, &text, NULL) ? NULL : take_json(text);
    al_unload(scratch, id, NULL);
    if (!rec) continue;
    char pkg[AL_INSTANCE_ID_MAX];
    const char *declared = json_string_value(json_object_get(rec, "declaredId"));
    if (declared && *declared && !strchr(declared, '@') && strlen(declared) < 80)
      snprintf(pkg, sizeof pkg, "%s", declared);
    else
      snprintf(pkg, sizeof pkg, "%.*s", (int)(strlen(file) - ext), file);
    json_t *grants = al_package_grants(s->h, pkg, &text, NULL) ? json_object() : take_json(text);
    json_t *entry = json_pack("{s:s,s:s,s:O,s:O,s:o,s:s%}", "packageId", pkg, "file", file,
                              "title", json_object_get(rec, "title"), "widgets",
                              json_object_get(rec, "widgets"), "grants", grants, "source",
                              (const char *)a->data, a->len);
    json_t *desc = json_object_get(rec, "description");
    if (entry && desc) json_object_set(entry, "description", desc);
    if (entry) json_array_append_new(cat, entry);
    json_decref(rec);
  }
  al_host_free(scratch);
  /* pi extensions (examples/pi/): a folder of their own, since they do not load as widget
   * plugins in the scratch host; the page opens them as pi tabs (kind "pi"). Their title
   * is the file's stem, their description the first line of the opening comment. */
  plen = strlen(SESS_PI_EXAMPLES);
  for (size_t i = 0; i < asset_count; i++) {
    const asset_file *a = &asset_table[i];
    if (strncmp(a->name, SESS_PI_EXAMPLES, plen) || strchr(a->name + plen, '/')) continue;
    const char *file = a->name + plen, *src = (const char *)a->data;
    size_t ext = example_ext(file), dl = 0;
    if (!ext || strlen(file) >= SESS_NAME_MAX) continue;
    if (a->len > 3 && !strncmp(src, "// ", 3)) {
      while (3 + dl < a->len && src[3 + dl] != '\n') dl++;
    }
    json_t *entry = json_pack("{s:s%,s:s,s:s,s:s%,s:[],s:{},s:s%}", "packageId", file, strlen(file) - ext, "file",
                              file, "kind", "pi", "title", file, strlen(file) - ext, "widgets", "grants",
                              "source", src, a->len);
    if (entry && dl) json_object_set_new(entry, "description", json_stringn(src + 3, dl));
    if (entry) json_array_append_new(cat, entry);
  }
  return cat;
}

/* The file name of package `pkg`'s bundled example (borrowed from the catalog), or NULL
 * when `pkg` is no bundled package. */
static const char *catalog_file(const sess *s, const char *pkg) {
  size_t i;
  json_t *e;
  json_array_foreach(s->catalog, i, e) {
    if (!strcmp(json_string_value(json_object_get(e, "packageId")), pkg))
      return json_string_value(json_object_get(e, "file"));
  }
  return NULL;
}

/* Whether `src` is, byte for byte, the bundled example of package `pkg`: only unchanged
 * bundled code gets its manifest's grants (registered by wb_profile_register). */
static bool is_bundled(const sess *s, const char *pkg, const char *src, size_t len) {
  size_t i;
  json_t *e;
  json_array_foreach(s->catalog, i, e) {
    json_t *source = json_object_get(e, "source");
    if (!strcmp(json_string_value(json_object_get(e, "packageId")), pkg) &&
        json_string_length(source) == len && !memcmp(json_string_value(source), src, len))
      return true;
  }
  return false;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int sess_new(const sess_config *cfg, sess **out, al_error *err) {
  *out = NULL;
  sess *s = calloc(1, sizeof *s);
  if (!s) goto nomem;
  s->cfg = *cfg;
  s->home = cfg->home ? strdup(cfg->home) : NULL;
  s->worker_path = cfg->worker_path ? strdup(cfg->worker_path) : NULL;
  s->policy = cfg->policy_json ? strdup(cfg->policy_json) : NULL;
  s->cfg.home = s->home;
  s->cfg.worker_path = s->worker_path;
  s->tab_of = json_object();
  s->dirty = json_object();
  s->records = json_object();
  s->errors = json_array();
  s->errors_new = json_array();
  s->logs = json_array();
  s->history = json_object();
  s->wb_entries = json_array();
  s->source_names = json_object();
  s->inbox.logs = json_array();
  s->inbox.prompts = json_array();
  s->inbox.pending = json_object();
  s->inbox.answers = json_object();
  s->inbox.waiting = json_object();
  if (!s->tab_of || !s->dirty || !s->records || !s->errors || !s->errors_new || !s->logs ||
      !s->history || !s->wb_entries || !s->source_names ||
      !s->inbox.logs || !s->inbox.prompts || !s->inbox.pending || !s->inbox.answers || !s->inbox.waiting ||
      (cfg->home && !s->home) || (cfg->worker_path && !s->worker_path) || (cfg->policy_json && !s->policy))
    goto nomem;
  if (pthread_mutex_init(&s->mu, NULL)) goto nomem;
  s->mu_ok = true;
  s->cfg.policy_json = NULL; /* the host keeps its own copy */
  al_config hc;
  al_config_init(&hc);
  hc.isolation = cfg->isolation;
  hc.workers = cfg->workers;
  hc.worker_path = s->worker_path;
  hc.home = s->home;
  hc.policy_json = cfg->policy_json;
  hc.log = on_log;
  hc.log_user = s;
  hc.ask = on_ask;
  hc.ask_user = s;
  int rc = al_host_new(&hc, &s->h, err);
  if (!rc) rc = wb_profile_register(s->h, err);
  if (rc) {
    sess_free(s);
    return rc;
  }
  if (al_subscribe(s->h, on_change, s, NULL) < 0) goto nomem;
  s->catalog = build_catalog(s);
  const char *why = NULL;
  s->tabs = s->home ? tabs_load(s->home, &why) : json_array();
  if (why) fprintf(stderr, "airlock serve: %s\n", why);
  if (!s->catalog || !s->tabs) goto nomem;
  *out = s;
  return 0;
nomem:
  sess_free(s);
  if (err) {
    memset(err, 0, sizeof *err);
    err->code = AL_ENO_MEMORY;
    snprintf(err->message, sizeof err->message, "out of memory starting the workbench");
  }
  return AL_ENO_MEMORY;
}

void sess_free(sess *s) {
  if (!s) return;
  /* Questions still waiting for a person are denied first: al_host_free would settle
   * them itself, but each al_approval the session holds is released only by its one
   * answer (al_approval_answer), so without this they would leak. */
  if (s->mu_ok) {
    pthread_mutex_lock(&s->mu);
    s->inbox.closing = true;
    pthread_mutex_unlock(&s->mu);
    answer_waiting(s, NULL, AL_APPROVE_DENY, false, NULL); /* a text question: dismissed */
  }
  /* The lane's running call, if it waits on a person, was just denied (and any question
   * it asks now is denied at once: closing); its queued ones are dropped unrun. */
  pilane_free(s->lane);
  /* The host next: its pending callbacks will never run, so their calls are ours. */
  al_host_free(s->h);
  while (s->calls) call_free(s->calls);
  json_decref(s->catalog);
  json_decref(s->tabs);
  json_decref(s->tab_of);
  json_decref(s->dirty);
  json_decref(s->records);
  json_decref(s->errors);
  json_decref(s->errors_new);
  json_decref(s->logs);
  json_decref(s->history);
  json_decref(s->wb_entries);
  json_decref(s->source_names);
  json_decref(s->inbox.logs);
  json_decref(s->inbox.prompts);
  json_decref(s->inbox.pending);
  json_decref(s->inbox.answers);
  json_decref(s->inbox.waiting);
  if (s->mu_ok) pthread_mutex_destroy(&s->mu);
  free(s->last_metrics);
  free(s->home);
  free(s->worker_path);
  free(s->policy);
  free(s);
}

static void pi_done(sess *s, pilane_req *r);

int sess_host_fd(const sess *s) { return s ? al_host_fd(s->h) : -1; }
size_t sess_pending(const sess *s) { return s ? s->ncalls : 0; }

void sess_dispatch(sess *s) {
  if (!s) return;
  /* Bounded: a burst of answers is handled in slices so sockets get serviced too. */
  for (int i = 0; i < 64 && al_host_dispatch(s->h, 0) > 0; i++) {}
  for (pilane_req *r; (r = pilane_take(s->lane));) pi_done(s, r);
  flush(s);
}

/* ---- requests ------------------------------------------------------------------------- */

/* A required string field, 1 to `max` bytes; NULL after answering the error. */
static const char *need_str(sess *s, uint64_t client, json_t *id, const json_t *req,
                            const char *type, const char *key, size_t max) {
  const json_t *v = json_object_get(req, key);
  if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > max ||
      strlen(json_string_value(v)) != json_string_length(v)) {
    reply_bad(s, client, id, "%s: '%s' must be a string of 1 to %zu characters", type, key, max);
    return NULL;
  }
  return json_string_value(v);
}

static void load_done(void *user, int rc, const char *json, const al_error *err) {
  sess_call *c = user;
  sess *s = c->s;
  if (!rc) {
    json_t *rec = instance_record(s, c->instance_id);
    (void)json;
    if (rec) push(s, json_pack("{s:s,s:O}", "type", "instance", "instance", rec));
    json_object_del(s->records, c->instance_id); /* just sent */
    /* What the next reload compiles the code as: the instance's kind stays what it was
     * loaded as. Without memory for it a reload would fall back to <package>.js. */
    json_object_set_new(s->source_names, c->instance_id, json_string(c->source_name));
    history_add(s, c->instance_id, c->op, NULL, NULL, NULL);
    reply_ok(s, c->client, c->req_id, json_pack("{s:o}", "instance", rec ? rec : json_null()));
  } else {
    if (!strcmp(c->op, "load")) json_object_del(s->tab_of, c->instance_id);
    reply_error(s, c->client, c->req_id, rc, err);
    note_error(s, c, rc, err);
  }
  call_free(c);
}

static void do_load(sess *s, uint64_t client, json_t *id, const json_t *req) {
  const char *pkg = need_str(s, client, id, req, "load", "packageId", 80);
  if (!pkg) return;
  const json_t *src = json_object_get(req, "source");
  if (!json_is_string(src)) {
    reply_bad(s, client, id, "load: 'source' must be a string");
    return;
  }
  const json_t *tab = json_object_get(req, "tabId");
  if (tab && !json_is_string(tab)) {
    reply_bad(s, client, id, "load: 'tabId' must be a string");
    return;
  }
  const json_t *sn = json_object_get(req, "sourceName");
  if (json_is_null(sn) || (json_is_string(sn) && !json_string_length(sn))) sn = NULL;
  if (sn && !json_is_string(sn)) {
    reply_bad(s, client, id, "load: 'sourceName' must be a string (a file name such as x.tsx)");
    return;
  }
  sess_call *c = call_new(s, client, id, "load");
  if (!c) return;
  snprintf(c->package_id, sizeof c->package_id, "%s", pkg);
  /* The name decides how the loader reads the code (x.tsx: TypeScript with JSX), and
   * errors name it. Unnamed: a bundled package's own file, so an edited pomodoro.tsx is
   * still TSX; else <package>.js, a script. */
  const char *bundled = catalog_file(s, pkg);
  if (sn) snprintf(c->source_name, sizeof c->source_name, "%.100s", json_string_value(sn));
  else if (bundled) snprintf(c->source_name, sizeof c->source_name, "%s", bundled);
  else snprintf(c->source_name, sizeof c->source_name, "%.100s.js", pkg);
  const char *code = json_string_value(src);
  size_t len = json_string_length(src);
  /* Custom code, an edited example included, starts with no grants (spec sec. 5). */
  al_load_opts o = {.source_name = c->source_name, .grants_json = is_bundled(s, pkg, code, len) ? NULL : "{}"};
  al_error e = {0};
  int rc = al_load_async(s->h, pkg, code, len, &o, c->instance_id, sizeof c->instance_id,
                         load_done, c, &e);
  if (rc) {
    reply_error(s, client, id, rc, &e);
    note_error(s, c, rc, &e);
    call_free(c);
    return;
  }
  if (tab) json_object_set(s->tab_of, c->instance_id, (json_t *)tab);
}

static void do_reload(sess *s, uint64_t client, json_t *id, const json_t *req) {
  const char *iid = need_str(s, client, id, req, "reload", "instanceId", AL_INSTANCE_ID_MAX - 1);
  if (!iid) return;
  const json_t *src = json_object_get(req, "source");
  if (!json_is_string(src)) {
    reply_bad(s, client, id, "reload: 'source' must be a string");
    return;
  }
  sess_call *c = call_new(s, client, id, "reload");
  if (!c) return;
  snprintf(c->instance_id, sizeof c->instance_id, "%s", iid);
  char *text = NULL;
  snprintf(c->source_name, sizeof c->source_name, "<plugin>");
  json_t *rec = al_plugin_info(s->h, iid, &text, NULL) ? NULL : take_json(text);
  if (rec) {
    snprintf(c->package_id, sizeof c->package_id, "%s", json_string_value(json_object_get(rec, "packageId")));
    const char *bundled = catalog_file(s, c->package_id);
    if (bundled) snprintf(c->source_name, sizeof c->source_name, "%s", bundled);
    else snprintf(c->source_name, sizeof c->source_name, "%.100s.js", c->package_id);
  }
  json_decref(rec);
  /* The name the instance was loaded under, so a .tsx instance reloads as TSX (its new
   * code is compiled the same way) and its errors keep naming pomodoro.tsx. Not known
   * (load_done had no memory to note it): the load's own default, as above. */
  const char *known = json_string_value(json_object_get(s->source_names, iid));
  if (known) snprintf(c->source_name, sizeof c->source_name, "%s", known);
  al_load_opts o = {.source_name = c->source_name};
  al_error e = {0};
  int rc = al_reload_async(s->h, iid, json_string_value(src), json_string_length(src), &o,
                           load_done, c, &e);
  if (rc) {
    reply_error(s, client, id, rc, &e);
    note_error(s, c, rc, &e);
    call_free(c);
  }
}

static void event_done(void *user, int rc, const char *json, const al_error *err) {
  sess_call *c = user;
  if (!rc) {
    json_t *res = json_loads(json, 0, NULL);
    /* The state this event left, with the plugin actions it applied, for diff and rewind. */
    json_t *types = json_array();
    const char *last = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(res, "actions"), i, a) {
      const char *scope = json_string_value(json_object_get(a, "scope"));
      if (json_string_value(json_object_get(a, "dispatchId"))) last = json_string_value(json_object_get(a, "dispatchId"));
      if (scope && !strcmp(scope, "plugin")) json_array_append(types, json_object_get(a, "actionType"));
    }
    history_add(c->s, c->instance_id, "event", c->handler, last, types);
    reply_ok(c->s, c->client, c->req_id, res);
  } else {
    reply_error(c->s, c->client, c->req_id, rc, err);
    note_error(c->s, c, rc, err);
  }
  call_free(c);
}

static void do_event(sess *s, uint64_t client, json_t *id, const json_t *req) {
  const char *iid = need_str(s, client, id, req, "event", "instanceId", AL_INSTANCE_ID_MAX - 1);
  const char *w = iid ? need_str(s, client, id, req, "event", "widgetId", 120) : NULL;
  const char *hd = w ? need_str(s, client, id, req, "event", "handler", 120) : NULL;
  if (!hd) return;
  const json_t *args = json_object_get(req, "args");
  char *args_text = args ? json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  sess_call *c = call_new(s, client, id, "event");
  if (!c || (args && !args_text)) {
    free(args_text);
    if (c) call_free(c);
    return;
  }
  snprintf(c->instance_id, sizeof c->instance_id, "%s", iid);
  snprintf(c->widget_id, sizeof c->widget_id, "%s", w);
  snprintf(c->handler, sizeof c->handler, "%s", hd);
  int rc = al_event_async(s->h, iid, w, hd, args_text, event_done, c);
  free(args_text);
  if (rc) {
    al_error e = {0};
    snprintf(e.message, sizeof e.message, "%s: %s", al_strerror(rc), iid);
    reply_error(s, client, id, rc, &e);
    call_free(c);
  }
}

/* Host-only requests: answered at once. */
static void do_sync(sess *s, uint64_t client, json_t *id, const char *type, const json_t *req) {
  al_error e = {0};
  char *text = NULL;
  int rc = 0;
  const char *iid = need_str(s, client, id, req, type, "instanceId", AL_INSTANCE_ID_MAX - 1);
  if (!iid) return;
  if (!strcmp(type, "unload")) {
    if (!(rc = al_unload_async(s->h, iid, NULL, NULL, &e))) {
      json_object_del(s->tab_of, iid);
      json_object_del(s->records, iid);
      json_object_del(s->history, iid);
      json_object_del(s->source_names, iid);
      push(s, json_pack("{s:s,s:s}", "type", "unload", "instanceId", iid));
      reply_ok(s, client, id, NULL);
    }
  } else if (!strcmp(type, "render")) {
    const char *w = need_str(s, client, id, req, type, "widgetId", 120);
    if (!w) return;
    rc = render_one(s, client, id, iid, w);
    if (rc) snprintf(e.message, sizeof e.message, "%s: %s", al_strerror(rc), iid);
  } else if (!strcmp(type, "state.get")) {
    char *gs = NULL;
    if (!(rc = al_state_get(s->h, iid, &text, &e)) && !(rc = al_global_state(s->h, iid, &gs, &e))) {
      const char *const keys[] = {"state", "globalState"}, *raws[] = {text, gs};
      reply_spliced(s, client, id, 2, keys, raws);
    }
    al_free(text);
    al_free(gs);
  } else if (!strcmp(type, "state.set")) {
    const json_t *st = json_object_get(req, "state");
    char *st_text = st ? json_dumps(st, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (!st_text) {
      reply_bad(s, client, id, "state.set: 'state' is required");
      return;
    }
    const json_t *to = json_object_get(req, "rewindTo");
    if (to && !json_is_integer(to)) {
      free(st_text);
      reply_bad(s, client, id, "state.set: 'rewindTo' must be a snapshot's seq (an integer)");
      return;
    }
    if (!(rc = al_state_set(s->h, iid, st_text, &e))) {
      const char *action = to ? "state/rewind" : "state/set";
      json_t *payload = to ? json_pack("{s:O,s:O}", "rewindTo", to, "state", st) : json_deep_copy(st);
      note_state_edit(s, iid, action, payload);
      history_add(s, iid, action, NULL, NULL, NULL);
      reply_ok(s, client, id, NULL);
    }
    free(st_text);
  } else if (!strcmp(type, "state.history")) {
    if (!(rc = al_state_get(s->h, iid, &text, &e))) {
      al_free(text);
      json_t *list = json_object_get(s->history, iid);
      reply_ok(s, client, id, json_pack("{s:O}", "entries", list ? list : json_array()));
    }
  } else if (!strcmp(type, "grants.get")) {
    if (!(rc = al_grants_get(s->h, iid, &text, &e))) {
      const char *const key[] = {"grants"}, *raw[] = {text};
      reply_spliced(s, client, id, 1, key, raw);
      al_free(text);
    }
  } else if (!strcmp(type, "grants.set")) {
    const json_t *g = json_object_get(req, "grants");
    char *g_text = json_is_object(g) ? json_dumps(g, JSON_COMPACT) : NULL;
    if (!g_text) {
      reply_bad(s, client, id, "grants.set: 'grants' must be an object {readShared, writeShared, systemCommands}");
      return;
    }
    if (!(rc = al_grants_set(s->h, iid, g_text, "workbench", &e))) {
      json_object_set_new(s->records, iid, json_true());
      if (!al_grants_get(s->h, iid, &text, NULL))
        reply_ok(s, client, id, json_pack("{s:o}", "grants", take_json(text)));
    }
    free(g_text);
  }
  if (rc) reply_error(s, client, id, rc, &e);
}

static void do_hello(sess *s, uint64_t client, json_t *id) {
  char *text = NULL;
  json_t *instances = json_array();
  json_t *ids = al_instances(s->h, &text, NULL) ? json_array() : take_json(text);
  size_t i;
  json_t *v;
  json_array_foreach(ids, i, v) {
    json_t *rec = instance_record(s, json_string_value(v));
    if (rec) json_array_append_new(instances, rec);
    json_object_set_new(s->dirty, json_string_value(v), json_true()); /* trees follow */
  }
  json_decref(ids);
  json_t *timeline = timeline_all(s);
  static const char *iso[] = {[AL_ISOLATION_THREAD] = "thread", [AL_ISOLATION_INLINE] = "inline",
                              [AL_ISOLATION_PROCESS] = "process"};
  al_config d;
  al_config_init(&d);
  json_t *ok = json_pack(
      "{s:s,s:s,s:{s:I,s:I,s:I,s:I,s:I},s:O,s:O,s:o,s:o,s:o,s:O,s:o}", "version", al_version(),
      "isolation", iso[s->cfg.isolation <= AL_ISOLATION_PROCESS ? s->cfg.isolation : 0], "limits",
      "memoryBytes", (json_int_t)d.limits.memory_bytes, "stackBytes",
      (json_int_t)d.limits.stack_bytes, "loadMs", (json_int_t)d.limits.load_ms, "renderMs",
      (json_int_t)d.limits.render_ms, "eventMs", (json_int_t)d.limits.event_ms, "catalog",
      s->catalog, "tabs", s->tabs, "instances", instances, "domains", shared_all(s), "timeline",
      timeline, "errors", s->errors, "metrics", metrics(s));
  if (ok) {
    json_object_set(ok, "logs", s->logs);
    json_object_set_new(ok, "audit", al_audit(s->h, SESS_AUDIT_HELLO, &text, NULL) ? json_array() : take_json(text));
    json_object_set_new(ok, "approvals", approvals_json(s));
  }
  reply_ok(s, client, id, ok);
}

/* ---- pi extensions, on the lane ------------------------------------------------------- */

/* A lane request's answer: its text as the `ok`, spliced, or the error. */
static void pi_done(sess *s, pilane_req *r) {
  sess_call *c = r->user;
  if (!r->rc) {
    const char *const key[] = {"ok"}, *raw[] = {r->json};
    send_spliced(s, c->client, json_pack("{s:O}", "re", c->req_id ? c->req_id : json_null()), 1, key, raw);
  } else {
    reply_error(s, c->client, c->req_id, r->rc, &r->err);
    note_error(s, c, r->rc, &r->err);
  }
  call_free(c);
  pilane_req_free(r);
}

/* tabId: [A-Za-z0-9_-]{1,64}, so it is one directory name. */
static bool pi_tab_ok(const char *t) {
  size_t n = strlen(t);
  if (!n || n > 64) return false;
  for (size_t i = 0; i < n; i++)
    if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9') ||
          t[i] == '_' || t[i] == '-'))
      return false;
  return true;
}

/* sourceName: a plain file name (no '/', not hidden) ending .ts, .js or .mjs, which is how
 * the loader knows the file for a pi extension (docs/pi-extensions.md). */
static bool pi_name_ok(const char *n) {
  size_t len = strlen(n);
  if (!len || len > 100 || n[0] == '.' || strchr(n, '/')) return false;
  static const char *const exts[] = {".ts", ".js", ".mjs"};
  return ext_among(n, exts, sizeof exts / sizeof *exts) > 0;
}

/* Writes the page's source to <home>/pi-tabs/<tab>/<name>; the path goes to `path`. */
static int pi_write(sess *s, const char *tab, const char *name, const json_t *src, char *path, size_t cap,
                    al_error *e) {
  const char *what = path;
  snprintf(path, cap, "%s/pi-tabs", s->home);
  if (mkdir(path, 0700) && errno != EEXIST) goto io;
  snprintf(path, cap, "%s/pi-tabs/%s", s->home, tab);
  if (mkdir(path, 0700) && errno != EEXIST) goto io;
  snprintf(path, cap, "%s/pi-tabs/%s/%s", s->home, tab, name);
  FILE *f = fopen(path, "w");
  if (!f) goto io;
  size_t len = json_string_length(src);
  bool ok = fwrite(json_string_value(src), 1, len, f) == len;
  if (fclose(f) || !ok) goto io;
  return 0;
io:
  memset(e, 0, sizeof *e);
  e->code = AL_EIO;
  snprintf(e->message, sizeof e->message, "pi.load: cannot write %.400s: %s", what, strerror(errno));
  return AL_EIO;
}

/* pi.load, pi.unload, pi.emit, pi.command, pi.tool, pi.list: checked here, run on the lane. */
static void do_pi(sess *s, uint64_t client, json_t *id, const char *type, const json_t *req) {
  static const char *const ops[] = {"pi.load", "pi.unload", "pi.emit", "pi.command", "pi.tool", "pi.list"};
  size_t op = 0;
  while (op < 6 && strcmp(type, ops[op])) op++;
  if (op == 6) {
    reply_bad(s, client, id, "unknown message type '%.60s'", type);
    return;
  }
  const char *a = NULL, *name = NULL;
  char *b = NULL, path[4096];
  const json_t *v, *src = NULL;
  if (op == PILANE_LOAD) {
    const char *tab = need_str(s, client, id, req, type, "tabId", 64);
    name = tab ? need_str(s, client, id, req, type, "sourceName", 100) : NULL;
    if (!name) return;
    src = json_object_get(req, "source");
    if (!pi_tab_ok(tab)) {
      reply_bad(s, client, id, "pi.load: 'tabId' must be 1 to 64 of A-Z a-z 0-9 _ - (got '%.64s')", tab);
      return;
    } else if (!pi_name_ok(name)) {
      reply_bad(s, client, id, "pi.load: 'sourceName' must be a plain file name ending .ts, .js or .mjs "
                "(no '/', not starting with '.'), got '%.100s'", name);
      return;
    } else if (!json_is_string(src)) {
      reply_bad(s, client, id, "pi.load: 'source' must be a string (the extension's code)");
      return;
    }
    a = tab;
  } else if (op == PILANE_UNLOAD) {
    if (!(a = need_str(s, client, id, req, type, "instanceId", AL_INSTANCE_ID_MAX - 1))) return;
  } else if (op == PILANE_EMIT || op == PILANE_TOOL) {
    const char *key = op == PILANE_EMIT ? "payload" : "params";
    if (!(a = need_str(s, client, id, req, type, op == PILANE_EMIT ? "event" : "name", 120))) return;
    v = json_object_get(req, key);
    if (v && !json_is_object(v)) {
      reply_bad(s, client, id, "%s: '%s' must be an object", type, key);
      return;
    }
    if (v && !(b = json_dumps(v, JSON_COMPACT))) {
      reply_error(s, client, id, AL_ENO_MEMORY, NULL); /* an answer even now: the page waits for one */
      return;
    }
  } else if (op == PILANE_COMMAND) {
    if (!(a = need_str(s, client, id, req, type, "name", 120))) return;
    v = json_object_get(req, "args");
    if (v && !json_is_string(v)) {
      reply_bad(s, client, id, "pi.command: 'args' must be a string (the text after the command name)");
      return;
    }
    if (v && !(b = strdup(json_string_value(v)))) {
      reply_error(s, client, id, AL_ENO_MEMORY, NULL);
      return;
    }
  }
  al_error e = {0};
  if (!s->home) { /* the loader takes a pi extension from a file, and files live in home */
    free(b);
    reply_bad(s, client, id, "%s: the workbench needs a home (airlock serve --home DIR) for pi extensions: "
              "their code is run from files under <home>/pi-tabs/", type);
    return;
  }
  if (op == PILANE_LOAD) {
    if (pi_write(s, a, name, src, path, sizeof path, &e)) {
      reply_error(s, client, id, AL_EIO, &e);
      return;
    }
    if (!(b = strdup(path))) {
      reply_error(s, client, id, AL_ENO_MEMORY, NULL);
      return;
    }
  }
  int rc = 0;
  if (!s->lane) {
    pilane_config lc = {.isolation = s->cfg.isolation, .home = s->home, .worker_path = s->worker_path,
                        .policy_json = s->policy, .ask = on_ask, .ask_user = s, .log = on_log,
                        .log_user = s, .wake = s->cfg.wake, .wake_ud = s->cfg.wake_ud};
    rc = pilane_new(&lc, &s->lane, &e);
  }
  sess_call *c = rc ? NULL : call_new(s, client, id, type);
  if (!rc && !c) rc = AL_ENO_MEMORY;
  pilane_req *r = c ? pilane_req_new((pilane_op)op, a, b, c) : NULL;
  free(b);
  if (c && !r) rc = AL_ENO_MEMORY;
  if (r && (rc = pilane_submit(s->lane, r, &e))) pilane_req_free(r);
  if (rc) {
    if (c) call_free(c);
    reply_error(s, client, id, rc, e.message[0] ? &e : NULL);
  }
}

void sess_message(sess *s, uint64_t client, const char *msg, size_t len) {
  if (!s) return;
  json_error_t je;
  json_t *req = len <= SESS_MAX_MESSAGE ? json_loadb(msg, len, 0, &je) : NULL;
  json_t *id = json_object_get(req, "id");
  if (id && !json_is_string(id) && !json_is_integer(id)) id = NULL;
  const char *type = json_string_value(json_object_get(req, "type"));
  if (len > SESS_MAX_MESSAGE) {
    reply_bad(s, client, NULL, "message is %zu bytes, over the %zu-byte limit", len, SESS_MAX_MESSAGE);
  } else if (!req) {
    reply_bad(s, client, NULL, "message is not valid JSON: %s (line %d, column %d)", je.text, je.line, je.column);
  } else if (!json_is_object(req)) {
    reply_bad(s, client, NULL, "message must be a JSON object {id, type, ...}");
  } else if (!type) {
    reply_bad(s, client, id, "message has no 'type' string");
  } else if (!strcmp(type, "hello")) {
    do_hello(s, client, id);
  } else if (!strcmp(type, "catalog")) {
    reply_ok(s, client, id, json_pack("{s:O}", "plugins", s->catalog));
  } else if (!strcmp(type, "load")) {
    do_load(s, client, id, req);
  } else if (!strcmp(type, "reload")) {
    do_reload(s, client, id, req);
  } else if (!strcmp(type, "event")) {
    do_event(s, client, id, req);
  } else if (!strcmp(type, "unload") || !strcmp(type, "render") || !strcmp(type, "state.get") ||
             !strcmp(type, "state.set") || !strcmp(type, "state.history") || !strcmp(type, "grants.get") || !strcmp(type, "grants.set")) {
    do_sync(s, client, id, type, req);
  } else if (!strncmp(type, "pi.", 3)) {
    do_pi(s, client, id, type, req);
  } else if (!strcmp(type, "shared.get")) {
    char *domains = shared_text(s);
    const char *const key[] = {"domains"}, *raw[] = {domains};
    if (domains) reply_spliced(s, client, id, 1, key, raw);
    else reply_error(s, client, id, AL_ENO_MEMORY, NULL);
    free(domains);
  } else if (!strcmp(type, "timeline")) {
    reply_ok(s, client, id, json_pack("{s:o}", "entries", timeline_all(s)));
  } else if (!strcmp(type, "audit")) {
    const json_t *n = json_object_get(req, "n");
    char *text = NULL;
    al_error e = {0};
    int rc;
    if (n && (!json_is_integer(n) || json_integer_value(n) < 0 || json_integer_value(n) > 100000)) {
      reply_bad(s, client, id, "audit: 'n' must be an integer from 0 (all kept) to 100000");
    } else if ((rc = al_audit(s->h, n ? (size_t)json_integer_value(n) : SESS_AUDIT_HELLO, &text, &e))) {
      reply_error(s, client, id, rc, &e);
    } else {
      const char *const key[] = {"records"}, *raw[] = {text};
      reply_spliced(s, client, id, 1, key, raw);
      al_free(text);
    }
  } else if (!strcmp(type, "approvals")) {
    reply_ok(s, client, id, json_pack("{s:o}", "approvals", approvals_json(s)));
  } else if (!strcmp(type, "approval.answer") || !strcmp(type, "approval.revoke")) {
    do_approval(s, client, id, type, req);
  } else if (!strcmp(type, "metrics")) {
    reply_ok(s, client, id, metrics(s));
  } else if (!strcmp(type, "tabs.save")) {
    json_t *tabs = json_object_get(req, "tabs");
    if (!json_is_array(tabs)) {
      reply_bad(s, client, id, "tabs.save: 'tabs' must be an array");
    } else if (s->home && tabs_save(s->home, tabs)) {
      al_error e = {0};
      snprintf(e.message, sizeof e.message, "could not save the tabs under %.400s", s->home);
      reply_error(s, client, id, AL_EIO, &e);
    } else {
      json_decref(s->tabs);
      s->tabs = json_incref(tabs);
      reply_ok(s, client, id, NULL);
    }
  } else {
    reply_bad(s, client, id, "unknown message type '%.60s'", type);
  }
  json_decref(req);
  sess_dispatch(s);
}
