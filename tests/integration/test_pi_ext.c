/*
 * test_pi_ext.c: pi extensions through the C API (docs/pi-extensions.md), for what the
 * CLI test (tests/cli/test_pi_ext.sh) cannot reach: al_pi_context reaching ctx (cwd,
 * the session entries, the model, flags), a pi package's extensions loading in its
 * package.json order under their plugin ids, an async factory, a tool_call handler that
 * never returns blocking when its time runs out (fail closed, process isolation), a pi
 * event with no subscriber costing nothing, al_pi_extensions, an unknown profile refused,
 * pi.events across extensions (the host's bus), an async factory waited for past
 * its first timer or hostcall, and ctx.ui's text questions (select, input, editor)
 * answered through the ask callback, in process isolation.
 */
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char root[256];

static void put(const char *rel, const char *text) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  for (char *p = path + strlen(root) + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    mkdir(path, 0700);
    *p = '/';
  }
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static al_host *mk_ask(al_isolation iso, al_ask_fn ask, al_approve_fn approve) {
  al_config cfg;
  al_config_init(&cfg);
  cfg.ask = ask;
  cfg.approve = approve;
  cfg.isolation = iso;
  cfg.workers = 1;
  cfg.watchdog_grace_ms = 5000; /* see testutil.h */
  cfg.limits.load_ms = 5000;
  al_host *h = NULL;
  al_error e;
  if (al_host_new(&cfg, &h, &e)) fail_msg("host: %s", e.message);
  return h;
}

static al_host *mk(al_isolation iso) { return mk_ask(iso, NULL, NULL); }

static void load(al_host *h, const char *rel, char *id) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  al_error e = {0};
  if (al_load_package(h, path, NULL, id, id ? AL_INSTANCE_ID_MAX : 0, &e)) fail_msg("load %s: %s", rel, e.message);
}

static json_t *command(al_host *h, const char *name, const char *args) {
  char *out = NULL;
  al_error e = {0};
  if (al_command_call(h, name, args, &out, &e)) fail_msg("command %s: %s", name, e.message);
  return t_json(out);
}

static json_t *emit(al_host *h, const char *event, const char *payload) {
  char *out = NULL;
  al_error e = {0};
  if (al_emit(h, event, payload, &out, &e)) fail_msg("emit %s: %s", event, e.message);
  return t_json(out);
}

/* ctx is what al_pi_context said, per call: a second context replaces the first. */
static void test_context(void **state) {
  (void)state;
  put("ctx.ts",
      "import type { ExtensionAPI } from '@mariozechner/pi-coding-agent';\n"
      "export default function (pi: ExtensionAPI) {\n"
      "  pi.registerFlag('mode', { type: 'string', default: 'plain' });\n"
      "  pi.registerCommand('where', { handler: async (args, ctx) => {\n"
      "    pi.appendEntry('ctx', { cwd: ctx.cwd, n: ctx.sessionManager.getEntries().length,\n"
      "      model: ctx.model ? ctx.model.id : null, mode: pi.getFlag('mode'), args,\n"
      "      name: pi.getSessionName() ?? null });\n"
      "  } });\n"
      "}\n");
  al_host *h = mk(AL_ISOLATION_PROCESS);
  load(h, "ctx.ts", NULL);
  json_t *r = command(h, "where", "a  b");
  json_t *d = json_object_get(json_array_get(json_object_get(r, "intents"), 0), "data");
  char cwd[1024];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_string_equal(json_string_value(json_object_get(d, "cwd")), cwd); /* default: the host's */
  assert_int_equal(json_integer_value(json_object_get(d, "n")), 0);
  assert_string_equal(json_string_value(json_object_get(d, "mode")), "plain");
  assert_string_equal(json_string_value(json_object_get(d, "args")), "a  b"); /* as given */
  json_decref(r);
  al_error e = {0};
  assert_int_equal(al_pi_context(h, "{\"cwd\":\"/srv\",\"entries\":[{\"id\":\"e1\"},{\"id\":\"e2\"}],"
                                    "\"model\":{\"id\":\"m1\"},\"flags\":{\"mode\":\"loud\"},\"sessionName\":\"s\"}", &e), 0);
  r = command(h, "where", "");
  t_assert_json(json_object_get(json_array_get(json_object_get(r, "intents"), 0), "data"),
                "{\"cwd\":\"/srv\",\"n\":2,\"model\":\"m1\",\"mode\":\"loud\",\"args\":\"\",\"name\":\"s\"}");
  json_decref(r);
  assert_int_equal(al_pi_context(h, "[1]", &e), AL_EINVALID_ARGUMENT);
  assert_int_equal(al_command_call(h, "nope", "", NULL, &e), AL_EINVALID_ARGUMENT);
  al_host_free(h);
}

/* A pi package: package.json's pi.extensions order is the load order and the chain's;
 * each extension is its own plugin id ("<package>-<stem>"); an async factory is awaited. */
static void test_package(void **state) {
  (void)state;
  put("pkg/package.json", "{\"name\":\"@me/duo\",\"pi\":{\"extensions\":[\"./src/second.ts\",\"./src/first.ts\"]}}");
  put("pkg/src/first.ts",
      "export default async function (pi) {\n"
      "  await Promise.resolve();\n"
      "  pi.on('input', (e) => ({ action: 'transform', text: e.text + '>first' }));\n"
      "}\n");
  put("pkg/src/second.ts",
      "export default function (pi) {\n"
      "  pi.on('input', (e) => ({ action: 'transform', text: e.text + '>second' }));\n"
      "}\n");
  al_host *h = mk(AL_ISOLATION_PROCESS);
  load(h, "pkg", NULL);
  json_t *r = emit(h, "input", "{\"text\":\"t\"}");
  assert_string_equal(json_string_value(json_object_get(r, "action")), "transform");
  assert_string_equal(json_string_value(json_object_get(json_object_get(r, "payload"), "text")), "t>second>first");
  json_decref(r);
  char *out = NULL;
  al_error e = {0};
  assert_int_equal(al_pi_extensions(h, &out, &e), 0);
  json_t *x = t_json(out);
  assert_int_equal(json_array_size(x), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(x, 0), "pluginId")), "me-duo-second");
  assert_string_equal(json_string_value(json_object_get(json_array_get(x, 1), "pluginId")), "me-duo-first");
  t_assert_json(json_object_get(json_array_get(x, 1), "events"), "[\"input\"]");
  json_decref(x);
  al_host_free(h);
}

/* A tool_call handler that never returns: its time runs out and the call is blocked,
 * naming the extension, while the extension after it is never asked. */
static void test_stall_blocks(void **state) {
  (void)state;
  put("stall.ts", "export default function (pi) { pi.on('tool_call', () => { for (;;) {} }); }\n");
  put("after.ts", "export default function (pi) { pi.on('tool_call', () => { pi.appendEntry('after', {}); }); }\n");
  al_host *h = mk(AL_ISOLATION_PROCESS);
  load(h, "stall.ts", NULL);
  load(h, "after.ts", NULL);
  json_t *r = emit(h, "tool_call", "{\"toolName\":\"bash\",\"toolCallId\":\"c\",\"input\":{}}");
  assert_string_equal(json_string_value(json_object_get(r, "action")), "block");
  const char *why = json_string_value(json_object_get(r, "reason"));
  assert_non_null(strstr(why, "Extension 'stall' failed in tool_call: VM_TIMEOUT"));
  assert_int_equal(json_array_size(json_object_get(r, "intents")), 0);
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "errors"), 0), "extension")),
                      "stall");
  json_decref(r);
  al_host_free(h);
}

/* Nobody subscribed: an emit answers continue with the payload as given (type filled in),
 * and without a result wanted it returns at once. An unknown profile is refused. */
static void test_edges(void **state) {
  (void)state;
  put("quiet.ts", "export default function (pi) { pi.registerCommand('x', { handler() {} }); }\n");
  al_host *h = mk(AL_ISOLATION_THREAD);
  load(h, "quiet.ts", NULL);
  al_error e = {0};
  assert_int_equal(al_emit(h, "turn_start", "{}", NULL, &e), 0);
  json_t *r = emit(h, "turn_start", "{\"turnIndex\":1}");
  t_assert_json(r, "{\"event\":\"turn_start\",\"action\":\"continue\",\"payload\":{\"turnIndex\":1,\"type\":\"turn_start\"},"
                   "\"intents\":[],\"errors\":[]}");
  json_decref(r);
  al_load_opts o = {.profile = "vscode", .source_name = "a.ts"};
  char id[AL_INSTANCE_ID_MAX];
  assert_int_equal(al_load(h, "p", "export default 1", 16, &o, id, sizeof id, &e), AL_EINVALID_ARGUMENT);
  assert_non_null(strstr(e.message, "unknown plugin profile"));
  al_host_free(h);
}

static const char *intent_who(const json_t *r, size_t i) {
  return json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(r, "intents"), i), "data"),
                                           "who"));
}

/* pi.events crosses extensions through the host: the emitter's own listener runs at once,
 * the others once its call has answered, in load order, and what they emit in turn goes
 * on (here back to the emitter). A listener that throws is an error under its own name,
 * not the emitter's failure; two extensions that answer each other forever are cut off
 * at the host's bound, with an error saying so. */
static void test_bus(void **state) {
  (void)state;
  put("emitter.ts",
      "export default function (pi) {\n"
      "  pi.events.on('chat', (d) => pi.appendEntry('e', { who: 'self:' + d.text }));\n"
      "  pi.events.on('reply', (d) => pi.appendEntry('e', { who: 'reply:' + d.from }));\n"
      "  pi.registerCommand('ping', { handler: async (args) => { pi.events.emit('chat', { text: args }); } });\n"
      "  pi.on('session_start', () => { pi.events.emit('chat', { text: 'start' }); });\n"
      "}\n");
  put("thrower.ts", "export default function (pi) { pi.events.on('chat', () => { throw new Error('deaf'); }); }\n");
  put("listener.ts",
      "export default function (pi) {\n"
      "  pi.events.on('chat', async (d) => {\n"
      "    await Promise.resolve();\n"
      "    pi.appendEntry('e', { who: 'heard:' + d.text });\n"
      "    pi.events.emit('reply', { from: 'listener' });\n"
      "  });\n"
      "}\n");
  al_host *h = mk(AL_ISOLATION_PROCESS);
  load(h, "emitter.ts", NULL);
  load(h, "thrower.ts", NULL);
  load(h, "listener.ts", NULL);
  json_t *r = command(h, "ping", "hi");
  assert_int_equal(json_array_size(json_object_get(r, "intents")), 3);
  assert_string_equal(intent_who(r, 0), "self:hi");
  assert_string_equal(intent_who(r, 1), "heard:hi");
  assert_string_equal(intent_who(r, 2), "reply:listener");
  const json_t *e0 = json_array_get(json_object_get(r, "errors"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "errors")), 1);
  assert_string_equal(json_string_value(json_object_get(e0, "extension")), "thrower");
  assert_non_null(strstr(json_string_value(json_object_get(e0, "message")), "deaf"));
  json_decref(r);
  r = emit(h, "session_start", "{\"reason\":\"startup\"}"); /* the same from a hook */
  assert_int_equal(json_array_size(json_object_get(r, "intents")), 3);
  assert_string_equal(intent_who(r, 1), "heard:start");
  json_decref(r);
  al_host_free(h);

  put("ping.ts",
      "export default function (pi) {\n"
      "  pi.events.on('to-ping', (d) => { pi.events.emit('to-pong', { n: d.n + 1 }); });\n"
      "  pi.registerCommand('serve', { handler: async () => { pi.events.emit('to-pong', { n: 0 }); } });\n"
      "}\n");
  put("pong.ts", "export default function (pi) { pi.events.on('to-pong', (d) => { pi.events.emit('to-ping', { n: d.n + 1 }); }); }\n");
  h = mk(AL_ISOLATION_THREAD);
  load(h, "ping.ts", NULL);
  load(h, "pong.ts", NULL);
  r = command(h, "serve", "");
  const json_t *e1 = json_array_get(json_object_get(r, "errors"), 0);
  assert_non_null(e1);
  assert_non_null(strstr(json_string_value(json_object_get(e1, "message")), "more than 64 deliveries"));
  json_decref(r);
  al_host_free(h);
}

/* ctx.ui with a person: the ask callback gets select, input and editor as text questions
 * (the resource says what to show, as JSON) and answers with al_approval_answer_text, at
 * once or later from another thread; a select's answer that is none of its options is no
 * choice, a dismissed question is undefined, and confirm stays a yes/no. With only an
 * approve callback (no text to give) select asks option by option and input is
 * undefined. */
static char ui_shown[512];

static void *answer_later(void *q) {
  al_approval_answer_text(q, "line1\nline2");
  return NULL;
}

static void ui_ask(void *user, al_approval *q, const char *plugin_id, const char *action, const char *resource) {
  (void)user;
  (void)plugin_id;
  json_t *what = json_loads(resource, 0, NULL);
  const char *title = json_string_value(json_object_get(what, "title"));
  if (!strcmp(action, "ui")) {
    al_approval_answer(q, AL_APPROVE_ALLOW);
  } else if (!strcmp(action, "ui.select")) {
    if (!strcmp(title, "Kind?")) snprintf(ui_shown, sizeof ui_shown, "%s", resource);
    al_approval_answer_text(q, !strcmp(title, "Kind?") ? "idea" : "not-an-option");
  } else if (!strcmp(action, "ui.input")) {
    al_approval_answer_text(q, !strcmp(title, "Note?") ? "caf\xc3\xa9 \xe2\x98\x95" : NULL);
  } else if (!strcmp(action, "ui.editor")) {
    pthread_t t; /* answered later, from another thread */
    if (pthread_create(&t, NULL, answer_later, q)) al_approval_answer(q, AL_APPROVE_DENY);
    else pthread_detach(t);
  } else {
    al_approval_answer(q, AL_APPROVE_DENY);
  }
  json_decref(what);
}

static int ui_approve(void *user, const char *plugin_id, const char *action, const char *resource) {
  (void)user;
  (void)plugin_id;
  (void)action;
  return strstr(resource, "'b'") ? AL_APPROVE_ALLOW : AL_APPROVE_DENY;
}

static void test_ui_text(void **state) {
  (void)state;
  put("asks.ts",
      "export default function (pi) {\n"
      "  pi.registerCommand('ask', { handler: async (args, ctx) => {\n"
      "    const kind = await ctx.ui.select('Kind?', ['todo', 'idea']);\n"
      "    const bad = await ctx.ui.select('Again?', ['a', 'b']);\n"
      "    const note = await ctx.ui.input('Note?', 'one line');\n"
      "    const text = await ctx.ui.editor('Edit', 'pre');\n"
      "    const gone = await ctx.ui.input('Skip?');\n"
      "    const ok = await ctx.ui.confirm('Sure?', 'really');\n"
      "    pi.appendEntry('r', { kind: kind ?? null, bad: bad ?? null, note: note ?? null, text: text ?? null,\n"
      "                          gone: gone === undefined ? 'undefined' : gone, ok });\n"
      "  } });\n"
      "}\n");
  al_host *h = mk_ask(AL_ISOLATION_PROCESS, ui_ask, NULL);
  assert_int_equal(al_pi_context(h, "{\"hasUI\":true}", NULL), 0);
  load(h, "asks.ts", NULL);
  json_t *r = command(h, "ask", "");
  json_t *want = json_loads("{\"kind\":\"idea\",\"bad\":null,\"note\":\"caf\u00e9 \u2615\",\"text\":\"line1\\nline2\","
                            "\"gone\":\"undefined\",\"ok\":true}", 0, NULL);
  assert_true(json_equal(json_object_get(json_array_get(json_object_get(r, "intents"), 0), "data"), want));
  json_decref(want);
  json_decref(r);
  json_t *shown = json_loads(ui_shown, 0, NULL);
  want = json_loads("{\"title\":\"Kind?\",\"options\":[\"todo\",\"idea\"]}", 0, NULL);
  assert_true(json_equal(shown, want));
  json_decref(shown);
  json_decref(want);
  al_host_free(h);

  h = mk_ask(AL_ISOLATION_THREAD, NULL, ui_approve);
  assert_int_equal(al_pi_context(h, "{\"hasUI\":true}", NULL), 0);
  load(h, "asks.ts", NULL);
  r = command(h, "ask", "");
  want = json_loads("{\"kind\":null,\"bad\":\"b\",\"note\":null,\"text\":null,\"gone\":\"undefined\",\"ok\":false}", 0,
                    NULL);
  assert_true(json_equal(json_object_get(json_array_get(json_object_get(r, "intents"), 0), "data"), want));
  json_decref(want);
  json_decref(r);
  al_host_free(h);
}

/* pi awaits an async factory: one that waits on a timer and a hostcall (a refused
 * pi.exec here) is waited for, and what it registers after them counts; one that fails
 * after its first await fails the load, and no instance is left. */
static void test_async_factory(void **state) {
  (void)state;
  put("late.ts",
      "export default async function (pi) {\n"
      "  await new Promise((r) => setTimeout(r, 5));\n"
      "  let code = 'none';\n"
      "  try { await pi.exec('echo', ['x']); } catch (e) { code = e.code; }\n"
      "  pi.registerFlag('denied', { type: 'string', default: code });\n"
      "  pi.registerCommand('late', { handler: async () => { pi.appendEntry('e', { who: pi.getFlag('denied') }); } });\n"
      "}\n");
  put("broken.ts",
      "export default async function (pi) {\n"
      "  await new Promise((r) => setTimeout(r, 1));\n"
      "  throw new Error('no config file');\n"
      "}\n");
  al_host *h = mk(AL_ISOLATION_PROCESS);
  load(h, "late.ts", NULL);
  json_t *r = command(h, "late", "");
  assert_string_equal(intent_who(r, 0), "CAPABILITY_DENIED");
  json_decref(r);
  char path[512], id[AL_INSTANCE_ID_MAX];
  snprintf(path, sizeof path, "%s/broken.ts", root);
  al_error e = {0};
  assert_int_equal(al_load_package(h, path, NULL, id, sizeof id, &e), AL_EPLUGIN_LOAD);
  assert_non_null(strstr(e.message, "pi extension factory failed: "));
  assert_non_null(strstr(e.message, "no config file"));
  char *out = NULL;
  assert_int_equal(al_pi_extensions(h, &out, &e), 0);
  json_t *x = t_json(out);
  assert_int_equal(json_array_size(x), 1); /* late only */
  json_decref(x);
  al_host_free(h);
}

static int setup(void **state) {
  (void)state;
  snprintf(root, sizeof root, "/tmp/airlock-pi-XXXXXX");
  return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_context),
      cmocka_unit_test(test_package),
      cmocka_unit_test(test_stall_blocks),
      cmocka_unit_test(test_edges),
      cmocka_unit_test(test_bus),
      cmocka_unit_test(test_async_factory),
      cmocka_unit_test(test_ui_text),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
