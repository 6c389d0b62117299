/*
 * airlock.h: run untrusted JavaScript plugins inside a C application.
 *
 * This header is the whole public API and its manual. The plugin contract it implements
 * (names, error codes, validation messages) is fixed in the project's spec,
 * plugin-contract.md; this file says how a C host drives it.
 *
 * Model
 *   An al_host owns everything a plugin can affect: instances, their local state, grants,
 *   shared domains, the dispatch trace and timeline. Each instance runs in its own QuickJS
 *   runtime with its own memory, stack and time limits. Plugins see only copies of state
 *   and talk back only through plain JSON that the host validates before acting on it.
 *
 * Values
 *   Every structured value crossing this API is JSON text (UTF-8, NUL-terminated). Inputs
 *   are borrowed for the duration of the call. Outputs returned through `char **` are
 *   allocated by the library and freed by the caller with al_free(); on failure the output
 *   pointer is set to NULL.
 *
 * Errors
 *   Functions return 0 on success or a negative AL_E* code from the one table below. Every
 *   function that can fail takes an optional `al_error *err` (may be NULL) which, on
 *   failure, receives the code, a message and, for contract violations, the path.
 *
 * Threading
 *   An al_host's API is single-threaded: all calls on one host must be made by one thread
 *   at a time (the "host thread"; the caller provides the lock if it needs one). Plugin
 *   code runs elsewhere: on the host's worker threads (AL_ISOLATION_THREAD, the default),
 *   each QuickJS runtime owned by exactly one worker for its life, so calls to instances
 *   on different workers run in parallel when issued with the *_async functions. A worker
 *   is an event loop over its instances: a call whose handler awaits pi.sleep, pi.http,
 *   pi.kv, pi.fs, pi.getConfig or a person's approval is parked, and the worker serves
 *   other instances' calls meanwhile (the hostcall itself runs on a host thread). Plugin
 *   code that computes without awaiting (a loop, a long top-level load) holds its worker
 *   until its deadline: instances on the same worker wait that long, those on others do
 *   not, and new instances go to the least busy worker. The synchronous functions block
 *   the host thread until their call is answered.
 *   Different hosts are independent and may be driven from different threads at once.
 *   al_strerror(), al_err_name(), al_version() and al_config_init() are thread-safe.
 *   Change callbacks run on the thread that made the call which caused the change, after
 *   the store has been updated, and must not call back into the same host.
 */
#ifndef AIRLOCK_H
#define AIRLOCK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(AL_BUILDING) && defined(__GNUC__)
#define AL_API __attribute__((visibility("default")))
#else
#define AL_API
#endif

#define AL_VERSION "0.1.0"

/* ---------------------------------------------------------------------------------------
 * Error codes. One table: X(NAME, value, contract code string, description).
 * The contract code strings are the ones plugins, tests and the wire protocol use.
 * ------------------------------------------------------------------------------------- */
#define AL_ERROR_TABLE(X)                                                                  \
  X(OK,                  0, "OK",                 "success")                               \
  X(PLUGIN_LOAD,        -1, "PLUGIN_LOAD_ERROR",  "the plugin failed to load")             \
  X(INSTANCE_NOT_FOUND, -2, "INSTANCE_NOT_FOUND", "no instance with that id")              \
  X(WIDGET_NOT_FOUND,   -3, "WIDGET_NOT_FOUND",   "no widget with that id")                \
  X(HANDLER_NOT_FOUND,  -4, "HANDLER_NOT_FOUND",  "no handler with that name")             \
  X(PLUGIN,             -5, "PLUGIN_ERROR",       "the plugin threw")                      \
  X(TIMEOUT,            -6, "VM_TIMEOUT",         "the call's deadline passed")            \
  X(MEMORY_LIMIT,       -7, "VM_MEMORY_LIMIT",    "the instance's memory limit was hit")   \
  X(STACK_OVERFLOW,     -8, "VM_STACK_OVERFLOW",  "the instance's stack limit was hit")    \
  X(CONTRACT,           -9, "CONTRACT_VIOLATION", "the plugin broke the contract")         \
  X(CRASHED,           -10, "PLUGIN_CRASHED",     "the worker running the plugin died")    \
  X(CAPABILITY_DENIED, -11, "CAPABILITY_DENIED",  "a capability was denied")               \
  X(PREFLIGHT_BLOCKED, -12, "PREFLIGHT_BLOCKED",  "preflight blocked the plugin")          \
  X(PLUGINS_DISABLED,  -13, "PLUGINS_DISABLED",   "plugins are disabled")                  \
  X(BUSY,              -14, "BUSY",               "the instance's queue is full")          \
  X(INTERNAL,          -15, "INTERNAL_ERROR",     "internal error in Airlock")             \
  X(INVALID_ARGUMENT,  -16, "INVALID_ARGUMENT",   "invalid argument")                      \
  X(INSTANCE_EXISTS,   -17, "INSTANCE_EXISTS",    "an instance with that id exists")       \
  X(NO_MEMORY,         -18, "OUT_OF_MEMORY",      "the host ran out of memory")            \
  X(IO,                -19, "IO_ERROR",           "input/output error")                    \
  X(UNKNOWN_DOMAIN,    -20, "UNKNOWN_DOMAIN",     "no shared domain with that name")      \
  X(STATE_LIMIT,       -21, "STATE_LIMIT",        "the instance's state limit was hit")

enum {
#define AL_X_(name, value, code, desc) AL_E##name = value,
  AL_ERROR_TABLE(AL_X_)
#undef AL_X_
};
#define AL_OK AL_EOK

/* The contract code string for `code` ("VM_TIMEOUT"), or "UNKNOWN". Static storage. */
AL_API const char *al_err_name(int code);
/* A short English description of `code`. Static storage. */
AL_API const char *al_strerror(int code);
/* The code whose contract string is `name`, or AL_EINTERNAL when there is none. */
AL_API int al_err_from_name(const char *name);

/* Optional error out-struct. Fields are always NUL-terminated. `path` is set for
 * CONTRACT_VIOLATION (e.g. "root.children[1]"), `instance_id` when a call concerned one,
 * and `line` (1-based, 0 if unknown) when the engine reported a source line. */
typedef struct al_error {
  int code;
  char message[512];
  char path[256];
  char instance_id[96];
  int line;
} al_error;

/* The error as JSON text, the form the library uses wherever an error crosses a boundary:
 * {"code": al_err_name(code), "message", "path"?, "line"?, "instanceId"?}, the optional
 * members only when set. Free with al_free(); NULL when `e` is NULL or out of memory.
 * Thread-safe. */
AL_API char *al_error_json(const al_error *e);

/* Frees memory the library returned through a `char **` out-parameter. NULL is harmless. */
AL_API void al_free(void *p);
AL_API const char *al_version(void);

/* ---------------------------------------------------------------------------------------
 * Host configuration
 * ------------------------------------------------------------------------------------- */

/* Per-instance limits. A zero field means "use the host default". */
typedef struct al_limits {
  size_t memory_bytes;   /* QuickJS heap per instance; default 32 MiB */
  size_t stack_bytes;    /* JS stack per instance; default 1 MiB */
  uint32_t load_ms;      /* default 1000 */
  uint32_t render_ms;    /* default 100 */
  uint32_t event_ms;     /* default 100 */
  size_t state_bytes;    /* local state the host keeps for it, as JSON text (a write past
                            it is refused as STATE_LIMIT); default: memory_bytes */
} al_limits;

/* UI tree budgets applied when validating every render result. */
typedef struct al_budgets {
  uint32_t max_depth;    /* default 64 */
  uint32_t max_nodes;    /* default 10000 */
  size_t max_bytes;      /* serialized size, default 1 MiB */
} al_budgets;

/* Optional allocator for the instances' QuickJS heaps, Lua-style: free when nsize == 0
 * (return NULL), otherwise realloc (ptr may be NULL). `osize` is the size of the old block
 * or 0. Must be thread-safe if several hosts share it. The memory limit is enforced by
 * Airlock on top of it. Heaps in this process only (thread and inline isolation): a worker
 * process allocates for itself. */
typedef void *(*al_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);

/* Hooks: asked when the capability chain says a plugin's call needs the user's approval
 * (policy default "ask", or mode "interactive"). Return AL_APPROVE_ALLOW or
 * AL_APPROVE_DENY. Runs on a host thread (a hostcall thread, or the worker's for calls
 * answered at once: pi.on, pi.registerTool), never twice at once for one host, while the
 * plugin's call waits; it must not call back into the host. A plugin call awaiting the
 * answer is parked (its worker serves other instances) and its deadline is paused, for up
 * to the permission class (3600 s). NULL in al_config (and no `ask`): every such call is
 * denied (headless). */
enum { AL_APPROVE_DENY = 0, AL_APPROVE_ALLOW = 1 };
typedef int (*al_approve_fn)(void *user, const char *plugin_id, const char *action,
                             const char *resource);
/* The same question without blocking, for front ends with an event loop (the workbench):
 * the host calls `ask` (from a host thread, possibly several at once) and the front end
 * answers later, exactly once, from any thread, with al_approval_answer(q, ALLOW|DENY),
 * which also releases `q`. It may answer inside `ask` (a remembered answer). An answer
 * after the plugin's call stopped waiting is accepted and ignored. Takes precedence over
 * `approve` when both are set. */
typedef struct al_approval al_approval;
typedef void (*al_ask_fn)(void *user, al_approval *q, const char *plugin_id, const char *action,
                          const char *resource);
AL_API void al_approval_answer(al_approval *q, int answer);
/* A question that wants text: a pi extension's ctx.ui.select, ctx.ui.input and
 * ctx.ui.editor reach `ask` (never `approve`) with action "ui.select", "ui.input" or
 * "ui.editor" and, as `resource`, a JSON object's text: {"title", "options": [...]} (at
 * most 32 strings), {"title", "placeholder"?}, {"title", "prefill"?}. Answer it with
 * al_approval_answer_text(q, text): the text is copied (at most AL_APPROVAL_TEXT_MAX
 * bytes of UTF-8; longer counts as dismissed); NULL means the person dismissed it (the
 * extension gets undefined), as does al_approval_answer(q, ...), either way. A select's
 * text must be one of its options, or it counts as dismissed. Same threads and release
 * as al_approval_answer; on a yes/no question a text is ALLOW and NULL is DENY. */
#define AL_APPROVAL_TEXT_MAX 65536
AL_API void al_approval_answer_text(al_approval *q, const char *text);
/* Receives pi.logger output, tagged with the plugin id; level is "debug", "info", "warn"
 * or "error". Same threads as al_approve_fn; may run concurrently from several workers.
 * NULL in al_config: lines on stderr. */
typedef void (*al_log_fn)(void *user, const char *plugin_id, const char *level,
                          const char *message);

/* Where plugin code runs. */
typedef enum al_isolation {
  AL_ISOLATION_THREAD = 0, /* a pool of worker threads; each runtime owned by one thread */
  AL_ISOLATION_INLINE = 1, /* the calling thread, inside each call (no threads at all) */
  AL_ISOLATION_PROCESS = 2 /* sandboxed airlock-worker processes: the boundary that holds
                              against engine memory-safety bugs; crashes are contained */
} al_isolation;

typedef struct al_config {
  al_limits limits;
  al_budgets budgets;
  uint32_t timeline_capacity;  /* newest entries kept; default 200 */
  uint32_t telemetry_capacity; /* newest per-call records kept; default 1000 */
  al_alloc_fn alloc;           /* NULL: the C library's allocator */
  void *alloc_ud;
  al_isolation isolation;      /* default AL_ISOLATION_PROCESS: plugin code may become
                                  native code (an engine bug), and only a process holds
                                  it; THREAD and INLINE are explicit choices for trusted
                                  code, where such a bug takes the host down */
  unsigned workers;            /* worker count; 0: one per online CPU. With process
                                  isolation, the processes started at once: plugins of
                                  different trust never share one, so more start as
                                  packages need them (docs/security.md) */
  unsigned max_workers;        /* AL_ISOLATION_PROCESS: the most worker processes; a load
                                  needing one more answers BUSY; 0: 64 */
  unsigned queue_capacity;     /* calls queued per worker before BUSY; default 256 */
  uint32_t watchdog_grace_ms;  /* hard deadline = call timeout + this; default 50 */
  const char *worker_path;     /* AL_ISOLATION_PROCESS: the airlock-worker executable;
                                  NULL: $AIRLOCK_WORKER, else beside this executable */
  /* Hooks and capabilities (hooks-and-security.md); all optional. */
  const char *home;            /* host database directory (pi.kv, installed packages);
                                  NULL: none, pi.kv is denied */
  const char *policy_json;     /* capability policy (sec. 4); NULL: mode all, default deny */
  uint32_t audit_capacity;     /* newest audit records kept; default 1000 */
  const char *audit_path;      /* also append JSON Lines here; NULL: memory only */
  al_approve_fn approve;       /* NULL: calls needing approval are denied */
  void *approve_user;
  al_ask_fn ask;               /* non-blocking questions; NULL: use approve */
  void *ask_user;
  al_log_fn log;               /* NULL: stderr */
  void *log_user;
} al_config;

/* Fills `cfg` with the defaults above. */
AL_API void al_config_init(al_config *cfg);

typedef struct al_host al_host;

/* Creates a host. `cfg` may be NULL for defaults; it is copied. On success *out owns a
 * host the caller frees with al_host_free(). */
AL_API int al_host_new(const al_config *cfg, al_host **out, al_error *err);
/* Disposes every instance and frees the host. NULL is harmless. */
AL_API void al_host_free(al_host *h);

/* ---------------------------------------------------------------------------------------
 * Instances
 * ------------------------------------------------------------------------------------- */

#define AL_INSTANCE_ID_MAX 96 /* including the NUL */

typedef struct al_load_opts {
  const char *instance_id;   /* NULL: generate "<packageId>@<8 chars>" */
  const char *grants_json;   /* {readShared:[], writeShared:[], systemCommands:[]}; NULL = none */
  const al_limits *limits;   /* NULL: host defaults; zero fields fall back too */
  const char *source_name;   /* file name used in engine messages; NULL = "<plugin>" */
  const char *manifest_json; /* the package's manifest (airlock.json): its capabilities,
                                shared grants (used when grants_json is NULL), limits and
                                settings apply, and preflight runs on the code first (a
                                blocking finding refuses the load: PREFLIGHT_BLOCKED).
                                NULL: no capabilities beyond what the policy allows */
  char **preflight_out;      /* with a manifest: receives preflight's report as JSON text
                                ({blocked, findings}; al_free) when preflight ran, also
                                when it refused the load; untouched otherwise. NULL: not
                                wanted. `airlock check` shows it without a second scan */
  const char *profile;       /* "pi": the code is a pi extension (an ES module whose default
                                export is `function (pi)`, given pi's ExtensionAPI; see
                                docs/pi-extensions.md); NULL: Airlock's own contract */
} al_load_opts;

/* Loads plugin `code` (`len` bytes, need not be NUL-terminated) as a new instance of
 * `package_id`, seeds its local state from initialState and records its grants. On success
 * the instance id is written to `id_out` (capacity `id_cap`, AL_INSTANCE_ID_MAX suffices).
 * `opts` may be NULL. A failed load leaves no instance behind. */
AL_API int al_load(al_host *h, const char *package_id, const char *code, size_t len,
                   const al_load_opts *opts, char *id_out, size_t id_cap, al_error *err);

/* Hot reload: evaluates new `code` for an existing instance in a fresh VM on the
 * instance's own worker, under the limits it was loaded with. On success the new VM
 * replaces the old one in place: the instance keeps its id, local state (initialState is
 * not re-applied) and grants, its record takes the new title, description and widgets,
 * its status becomes "loaded", and subscribers hear cause "reload" naming it. On failure
 * (PLUGIN_LOAD_ERROR with err->line when the engine reported one, VM_TIMEOUT, ...) the
 * old code keeps running untouched. Calls made before al_reload() returns see the old
 * code, later ones the new. Of `opts` only source_name is used; NULL is fine. */
AL_API int al_reload(al_host *h, const char *instance_id, const char *code, size_t len,
                     const al_load_opts *opts, al_error *err);

/* Disposes an instance: its VM, state, grants and shared-domain contributions. */
AL_API int al_unload(al_host *h, const char *instance_id, al_error *err);

/* The instance's record {instanceId, packageId, declaredId?, title, description?,
 * initialState?, widgets[], status, error?} as JSON. Free with al_free(). */
AL_API int al_plugin_info(al_host *h, const char *instance_id, char **json_out, al_error *err);

/* Renders one widget with the host's current state and projection and validates the
 * tree. On success *tree_out is the tree as JSON. A failed render sets the instance's
 * status to "error" with the message; a later successful one sets it back to "loaded". */
AL_API int al_render(al_host *h, const char *instance_id, const char *widget_id,
                     char **tree_out, al_error *err);

/* Runs a handler with `args_json` (NULL: no args), validates the intents it dispatched
 * and applies them through the store. On success *result_out (may be NULL if not wanted)
 * is {intents:[...], actions:[{dispatchId, timestamp, scope, actionType, instanceId,
 * domain?, outcome, reason}]}. If the handler fails, nothing is applied. */
AL_API int al_event(al_host *h, const char *instance_id, const char *widget_id,
                    const char *handler, const char *args_json, char **result_out,
                    al_error *err);

/* Diagnostics for testing a host's failure handling, never needed in normal use. `what`:
 *   "crash"  the worker running the instance dies with SIGSEGV while serving it, as an
 *            engine memory-safety bug would (process isolation; other isolations answer
 *            AL_EINVALID_ARGUMENT, since a crash there would take the host down);
 *   "stall"  the worker blocks for `arg` ms without polling any deadline, as a builtin
 *            that never checks the interrupt handler would.
 * Returns the call's result: PLUGIN_CRASHED for "crash", VM_TIMEOUT for a "stall" past
 * the instance's event timeout plus the watchdog grace. */
AL_API int al_debug(al_host *h, const char *instance_id, const char *what, unsigned arg,
                    al_error *err);

/* {ready, workers, lanes, workerEvents:{starts, crashes, watchdogKills},
 *  instances:[{instanceId, packageId, status, memoryBytes, worker}]}
 * lanes: how many worker processes running now speak over shared memory rather than
 * their socket (process isolation; 0 with AIRLOCK_LANE=socket or where memfd is missing). */
AL_API int al_health(al_host *h, char **json_out, al_error *err);

/* Instance ids in load order, as a JSON array. */
AL_API int al_instances(al_host *h, char **json_out, al_error *err);

/* ---------------------------------------------------------------------------------------
 * Asynchronous calls: a host event loop never blocks on a plugin
 *
 * al_render_async / al_event_async queue the call and return at once (0, or BUSY when the
 * instance's queue of queue_capacity calls, or its worker's, is full). When the call is
 * answered, its callback runs on the host thread from inside al_host_dispatch(), after
 * validation and, for events, after the intents were applied (so change callbacks have
 * run too). `json` is the tree, or the result al_event would return; both borrowed for
 * the callback. Renders and events of one instance run one at a time, in the order they
 * were made, and each reads the host state (local state, globalState) when it starts,
 * after every earlier call's intents were applied: fifty queued clicks of a handler doing
 * `dispatchPluginAction("state/merge", {clicks: pluginState.clicks + 1})` end at fifty.
 * A synchronous al_render / al_event on an instance with such calls queued first lets
 * them finish, running their callbacks as al_host_dispatch() would.
 * ------------------------------------------------------------------------------------- */

typedef void (*al_result_fn)(void *user, int rc, const char *json, const al_error *err);

AL_API int al_render_async(al_host *h, const char *instance_id, const char *widget_id,
                           al_result_fn cb, void *user);
AL_API int al_event_async(al_host *h, const char *instance_id, const char *widget_id,
                          const char *handler, const char *args_json, al_result_fn cb, void *user);
/* al_load / al_reload without waiting for the plugin's top-level code, which may run up
 * to its load deadline. Arguments are checked at once (an error is returned, with `err`
 * filled, and the callback never runs); on 0 the id is already chosen (al_load_async
 * writes it to id_out, which may be NULL) and the callback receives the instance's record
 * (as al_plugin_info) or the error. Until then the instance does not exist for other
 * calls, but its id is reserved. A reload completes in order with the instance's other
 * calls. `err` may be NULL. */
AL_API int al_load_async(al_host *h, const char *package_id, const char *code, size_t len,
                         const al_load_opts *opts, char *id_out, size_t id_cap,
                         al_result_fn cb, void *user, al_error *err);
AL_API int al_reload_async(al_host *h, const char *instance_id, const char *code, size_t len,
                           const al_load_opts *opts, al_result_fn cb, void *user, al_error *err);
/* al_unload without waiting for the instance's worker: the instance is gone from the host
 * at once (later calls answer INSTANCE_NOT_FOUND, subscribers are notified), and its VM is
 * freed when the worker reaches the dispose, behind any call still running there. `cb`
 * (may be NULL) then runs from al_host_dispatch() with rc 0 and json NULL. */
AL_API int al_unload_async(al_host *h, const char *instance_id, al_result_fn cb, void *user,
                           al_error *err);
/* A descriptor that is readable while answered async calls wait for al_host_dispatch(),
 * for poll/epoll loops; -1 with AL_ISOLATION_INLINE (answers are ready at once). */
AL_API int al_host_fd(const al_host *h);
/* Runs the callbacks of answered async calls. Waits up to timeout_ms for the first one
 * (0: do not wait, -1: until one arrives). Returns how many callbacks ran. */
AL_API int al_host_dispatch(al_host *h, int timeout_ms);
/* Async calls still waiting for an answer. */
AL_API size_t al_host_pending(const al_host *h);

/* ---------------------------------------------------------------------------------------
 * Host-owned state
 * ------------------------------------------------------------------------------------- */

/* The instance's local state ({} when it has none yet). */
AL_API int al_state_get(al_host *h, const char *instance_id, char **json_out, al_error *err);
/* Replaces the instance's local state. Not traced as a plugin dispatch; notifies
 * subscribers that the instance's inputs changed. */
AL_API int al_state_set(al_host *h, const char *instance_id, const char *json, al_error *err);
/* The exact globalState the instance sees: {self, shared:{read-granted domains}}. */
AL_API int al_global_state(al_host *h, const char *instance_id, char **json_out, al_error *err);
/* A shared domain's public projection. */
AL_API int al_shared_get(al_host *h, const char *domain, char **json_out, al_error *err);
/* Names of the registered shared domains, as a JSON array. */
AL_API int al_shared_domains(al_host *h, char **json_out, al_error *err);

/* The instance's grants {readShared, writeShared, systemCommands}. */
AL_API int al_grants_get(al_host *h, const char *instance_id, char **json_out, al_error *err);
/* Replaces the instance's grants. The change is recorded in the timeline (scope "host",
 * actionType "grants/set", source `source`: "host" or "workbench") and takes effect on
 * the next call. */
AL_API int al_grants_set(al_host *h, const char *instance_id, const char *grants_json,
                         const char *source, al_error *err);

/* The grants an instance of `package_id` gets at load when al_load_opts.grants_json and
 * manifest_json are NULL: those of the manifest registered for it with
 * al_package_register, else none. */
AL_API int al_package_grants(al_host *h, const char *package_id, char **json_out, al_error *err);
/* Registers a package's manifest (airlock.json text, validated as al_load_opts.manifest_json
 * is; unknown fields are ignored) so that instances of its `id` loaded with neither
 * grants_json nor manifest_json get its shared grants {readShared: shared.read,
 * writeShared: shared.write}. Only the grants are kept; a later registration of the same
 * id replaces them. For front ends that ship example plugins with manifests beside them
 * (the workbench). Errors: INVALID_ARGUMENT (NULL, or a manifest that does not validate). */
AL_API int al_package_register(al_host *h, const char *manifest_json, al_error *err);

/* trace {count, lastDispatchId, lastTimestamp, lastScope, lastActionType, lastOutcome,
 * lastReason}. */
AL_API int al_trace(al_host *h, char **json_out, al_error *err);
/* The timeline, oldest first: [{dispatchId, timestamp, scope, actionType, instanceId,
 * domain, outcome, reason, source, payload?, payloadTruncated?}]. `payload` is the
 * intent's payload (for grants/set, the new grants), absent when it had none; when its
 * JSON text is over 4 KiB it is replaced by the first 4 KiB of that text, as a string,
 * and payloadTruncated is true. */
AL_API int al_timeline(al_host *h, char **json_out, al_error *err);
/* Incremental reads for front ends that poll the timeline (the workbench pushes it after
 * every step): only the entries recorded after the one numbered `after_seq`. Entries are
 * numbered from 1 in the order recorded, across the host's life (the trace's `count` is
 * the newest number); *last_seq (may be NULL) receives the newest number, to pass back
 * next time (0 at first: everything kept). The entries are al_timeline's, oldest first;
 * those pushed out of the timeline's capacity are gone, so fewer than
 * (*last_seq - after_seq) come back when the caller fell that far behind. An after_seq at
 * or past the newest gives []. */
AL_API int al_timeline_since(al_host *h, uint64_t after_seq, char **json_out, uint64_t *last_seq,
                             al_error *err);
/* Per-call telemetry, oldest first: [{instanceId, op, start, elapsedUs, outcome,
 * interrupted, memoryBytes, unchanged?}]. `unchanged` (renders only) is true when the
 * worker found the tree identical to the one the host already held for that widget and
 * the host answered with its copy (nothing sent or validated again). */
AL_API int al_telemetry(al_host *h, char **json_out, al_error *err);
/* What a dashboard polls instead of al_telemetry: the same window summed up, without a
 * record turned into JSON. {calls, p50Us, p99Us, timeouts, crashes, instances: {id: {calls,
 * p50Us, p99Us, timeouts, crashes}}}: calls counted, elapsedUs percentiles by nearest rank
 * (0 with no call), outcomes VM_TIMEOUT and PLUGIN_CRASHED counted; `instances` has a key
 * for each instance id with a record in the window (unloaded ones too). */
AL_API int al_telemetry_summary(al_host *h, char **json_out, al_error *err);

/* ---------------------------------------------------------------------------------------
 * Change notification
 * ------------------------------------------------------------------------------------- */

/* What changed after one host operation. `instance_ids` names exactly the instances whose
 * render inputs (own local state, or a shared domain they may read) changed; the host
 * re-renders nothing by itself. Arrays are borrowed for the callback's duration. */
typedef struct al_change {
  const char *cause;              /* "event", "state", "grants", "load", "reload",
                                     "unload", "status" */
  const char *origin_instance_id; /* instance whose call caused it, or NULL */
  const char *const *instance_ids;
  size_t instance_count;
  const char *const *domains;     /* shared domains whose state changed */
  size_t domain_count;
} al_change;

typedef void (*al_change_fn)(void *user, const al_change *change);

/* Registers a change callback; returns a positive subscription id or a negative error.
 * `finalizer` (may be NULL) is called with `user` when the subscription ends
 * (al_unsubscribe or al_host_free). */
AL_API int al_subscribe(al_host *h, al_change_fn fn, void *user, void (*finalizer)(void *user));
AL_API int al_unsubscribe(al_host *h, int subscription_id);

/* ---------------------------------------------------------------------------------------
 * Reducers and shared domains registered from C
 * ------------------------------------------------------------------------------------- */

enum { AL_REDUCE_APPLIED = 0, AL_REDUCE_UNSUPPORTED = 1 };

/* A package reducer: for instances of `package_id`, turns (state, action, payload) into the
 * next state. Returns AL_REDUCE_APPLIED with *next_json set (allocated with malloc(); the
 * host frees it), AL_REDUCE_UNSUPPORTED when it does not handle `action_type` (the store
 * falls through to the plugin's own reducers), or a negative AL_E* code. `payload_json`
 * is "null" when absent. */
typedef int (*al_reducer_fn)(void *user, const char *action_type, const char *state_json,
                             const char *payload_json, char **next_json);

AL_API int al_register_reducer(al_host *h, const char *package_id, al_reducer_fn fn,
                               void *user, al_error *err);

/* A shared domain. `reduce` applies `action_type` written by `writer_instance_id` to the
 * domain's state (JSON, "null" initially), like al_reducer_fn. `project` (may be NULL:
 * the state itself) turns state into the public projection plugins and hosts see.
 * `on_unload` (may be NULL) lets the domain drop an instance's contribution.
 *
 * A derived domain (`derive` != 0) has no state of its own and is read-only for plugins
 * (reduce and on_unload must be NULL, project must be set): each time its projection is
 * needed the host builds a view of what the flags name and passes it to `project` as
 * state_json:
 *   AL_DOMAIN_DERIVE_INSTANCES  {instances: [the instances' records as al_plugin_info
 *                               gives them, in load order]}; the domain changes (its
 *                               readers re-render) on every load, reload, unload and
 *                               status change
 *   AL_DOMAIN_DERIVE_TRACE      {trace: al_trace's object}; changes on every dispatch
 * (both: one object with both keys). So a projection such as a plugin registry or
 * dispatch metrics can never disagree with the host. `project` runs on the host thread,
 * inside whichever call needs the projection, and must not call back into the host. */
enum { AL_DOMAIN_DERIVE_INSTANCES = 1, AL_DOMAIN_DERIVE_TRACE = 2 };
typedef struct al_domain_def {
  const char *name;
  const char *initial_state_json;  /* NULL: null */
  int (*reduce)(void *user, const char *writer_instance_id, const char *action_type,
                const char *state_json, const char *payload_json, char **next_json);
  int (*project)(void *user, const char *state_json, char **projection_json);
  int (*on_unload)(void *user, const char *instance_id, const char *state_json,
                   char **next_json);
  void *user;
  unsigned derive; /* AL_DOMAIN_DERIVE_* flags; 0: a domain with its own state */
} al_domain_def;

AL_API int al_register_domain(al_host *h, const al_domain_def *def, al_error *err);

/* ---------------------------------------------------------------------------------------
 * Hooks: events plugins subscribe to with pi.on(), tools they register, packages
 *
 * A host declares events (the agent profile of hooks-and-security.md sec. 3 is built in)
 * and emits them; every subscribed handler runs (concurrently across plugins, in
 * registration order within one) and the results are aggregated. Plugins reach the host
 * only through hostcalls (pi.kv, pi.http, pi.fs, ...), each decided by the capability
 * chain and recorded in the audit trail. The kill switches AIRLOCK_DISABLE_PLUGINS,
 * AIRLOCK_SKIP_PLUGINS, AIRLOCK_FORCE_DENY and AIRLOCK_PLUGIN_MODE are read once, by
 * al_host_new().
 * ------------------------------------------------------------------------------------- */

enum {
  AL_HOOK_MAY_BLOCK = 1,  /* a handler may block ({action:"block"} / {block}) */
  AL_HOOK_MAY_MODIFY = 2, /* a handler may replace payload fields (see modifies_json) */
  AL_HOOK_PERMISSION = 4  /* handlers decide: {decision: allow|deny|ask}; deny wins */
};

typedef struct al_hook_def {
  const char *name;
  uint32_t timeout_ms;       /* per handler; 0: 5000 (the "actionable" class) */
  unsigned flags;            /* AL_HOOK_* */
  const char *modifies_json; /* {"resultField": "payloadField"}: a handler returning
                                resultField replaces payload[payloadField]; a payload field
                                written "+name" instead appends the value to an array
                                `name` in the aggregate. NULL: none */
} al_hook_def;

/* Declares an event (or replaces the declaration of one with the same name). Plugins
 * loaded later see it in pi.on's list. */
AL_API int al_hook_register(al_host *h, const al_hook_def *def, al_error *err);

/* 1 when a loaded handler is subscribed to `event`, else 0. Reads the subscription
 * snapshot only: costs a hash probe and a bit test. */
AL_API int al_hook_subscribed(const al_host *h, const char *event);

/* Emits `event` with `payload_json` (an object; NULL: {}). Runs every subscribed handler
 * and aggregates: *result_json (may be NULL if not wanted) is
 *   {event, action: continue|block|allow|deny|ask, reason?, payload (after modifications),
 *    results: [{instanceId, pluginId, action, reason?, output?, elapsedUs}]}
 * in registration order. A handler that throws, times out or crashes yields its own
 * {action: "error"} result; the emit still succeeds. With no subscriber (or
 * AIRLOCK_SKIP_PLUGINS) no worker is touched, and when result_json is NULL nothing is
 * parsed or allocated either. Errors: INVALID_ARGUMENT (unknown event, bad payload),
 * PLUGINS_DISABLED. */
AL_API int al_emit(al_host *h, const char *event, const char *payload_json, char **result_json,
                   al_error *err);

/* ---- pi extensions (docs/pi-extensions.md) ---------------------------------------------
 * Loading a pi extension (al_load_package on a .ts/.js/.mjs file or a pi package, or
 * al_load_opts.profile "pi") declares pi's events (tool_call, input, session_start, ...).
 * al_emit of one of them runs pi's semantics across the pi extensions in load order
 * (sequential; each handler sees the previous one's changes; a short-circuit result ends
 * the chain) and *result_json is
 *   {event, action: continue|block|cancel|transform|handled, reason?, payload (the event
 *    after every handler), result? (what pi's runner returns), intents: [{type, ...}],
 *    errors: [{extension, message}]}
 * A tool_call handler that throws, times out or crashes blocks (fail closed). al_tool_call
 * of a pi tool runs its execute() and answers {content, details, isError?, updates,
 * intents}; al_tools lists pi tools with the others. Like the rest of the host API, these
 * are called from one thread at a time. */

/* The context pi calls get (ctx.cwd, ctx.sessionManager's entries, ctx.model, flag values
 * for pi.getFlag, ...): a JSON object {cwd?, hasUI? (a person answers ctx.ui.confirm and
 * select through al_config.ask / approve), entries?, model?, flags?: {name: value},
 * sessionName?, systemPrompt?, activeTools?, thinkingLevel?}; replaces the previous one.
 * NULL or "{}": none (cwd then is the host's). */
AL_API int al_pi_context(al_host *h, const char *ctx_json, al_error *err);

/* Runs pi command `name` (registered with pi.registerCommand) with its argument text;
 * *result_json (may be NULL; free with al_free()) is {command, intents, errors}. Errors: INVALID_ARGUMENT (no
 * such command), PLUGINS_DISABLED, and the call's own (VM_TIMEOUT, PLUGIN_CRASHED, ...). */
AL_API int al_command_call(al_host *h, const char *name, const char *args, char **result_json,
                           al_error *err);

/* What each loaded pi extension registered, as the host holds it (checked when its worker
 * reported it): [{instanceId, pluginId, tools: [{name, description, parameters}],
 * commands: [{name, description}], flags: [{name, type, default}], shortcuts, events,
 * messageRenderers}]. Free with al_free(). */
AL_API int al_pi_extensions(al_host *h, char **json_out, al_error *err);

/* The declared events [{name, timeoutMs, mayBlock, mayModify, permission}]. */
AL_API int al_hooks(al_host *h, char **json_out, al_error *err);

/* The registered tools [{name, pluginId, instanceId, description, parameters}]. */
AL_API int al_tools(al_host *h, char **json_out, al_error *err);
/* Calls a registered tool's handler with `args_json` (NULL: {}); *result_json is what it
 * returned (null for undefined). Errors: INVALID_ARGUMENT (no such tool),
 * PLUGINS_DISABLED, and the handler's own (PLUGIN_ERROR, VM_TIMEOUT...). */
AL_API int al_tool_call(al_host *h, const char *name, const char *args_json, char **result_json,
                        al_error *err);

/* The newest `n` audit records (0: all kept), newest first: [{timestamp, plugin_id, action,
 * resource, decision, reason}]. */
AL_API int al_audit(al_host *h, size_t n, char **json_out, al_error *err);
/* Incremental reads of the same records, like al_timeline_since: those kept after the one
 * numbered `after_seq` (records are numbered from 1 as they are kept, across the host's
 * life; a repeated denial counted instead of kept has no number), newest first, at most
 * `n` (0: every one still kept). *last_seq (may be NULL) receives the newest number, to
 * pass back next time (0 at first). Records pushed out of audit_capacity are gone. The
 * text is the kept records' own, spliced: nothing is parsed to build it. Thread: host
 * thread, like al_audit. */
AL_API int al_audit_since(al_host *h, uint64_t after_seq, size_t n, char **json_out,
                          uint64_t *last_seq, al_error *err);

/* The kill switches in effect {disable, skip, forceDeny, mode}. */
AL_API int al_switches(al_host *h, char **json_out, al_error *err);

/* Loads an installed package: `id_or_dir` is a package id recorded in the host database
 * (al_config.home) or a package directory (airlock.json or package.json#airlock). Reads
 * the entry file and loads it with the manifest as al_load_opts.manifest_json (the other
 * opts fields apply; opts may be NULL). A disabled package is refused (INVALID_ARGUMENT). */
AL_API int al_load_package(al_host *h, const char *id_or_dir, const al_load_opts *opts,
                           char *id_out, size_t id_cap, al_error *err);

#ifdef __cplusplus
}
#endif
#endif /* AIRLOCK_H */
