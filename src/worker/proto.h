/*
 * proto.h: the runtime boundary's vocabulary, named once.
 *
 * Operations a worker executes (exec.h says what each takes and answers). `call` ops run
 * plugin code that may park (they take an instance's turn and may wait on a timer or a
 * hostcall); the others are bookkeeping the worker answers at once. The host spells them
 * in requests as the string, the worker dispatches on the enum.
 *
 * Frames between a host driver and a worker process (worker_process.h), beside requests
 * (an op plus "ticket") and responses ({ok|error, stats, ticket}):
 *   worker -> host  {hostcall: {id, ticket, instanceId, method, args, timeoutMs, sync?}}
 *                   (instanceId: the instance its VM acts for; the host checks it against
 *                   its record of the call `ticket` names)
 *                   {slice: ticket}   plugin code of that request runs now (0: nothing)
 *                   {wake: ms}        send a tick in ms (-1: never mind)
 *   host -> worker  {hostreply: {id, ok|error, sync?}}
 *                   {hold: {id, ms}}  hostcall id waits for a person: pause its deadline
 *                   {tick: true}      the wake-up asked for
 *
 * Requests and responses stay jansson values inside the process (the thread and inline
 * back ends hand them over without encoding); only a worker process's frames are text.
 */
#ifndef AL_WORKER_PROTO_H
#define AL_WORKER_PROTO_H

#include <string.h>

/* X(ENUM, "name", is_call) */
#define WK_OPS(X)                \
  X(LOAD, "load", 0)             \
  X(RENDER, "render", 1)         \
  X(EVENT, "event", 1)           \
  X(REDUCE, "reduce", 1)         \
  X(HOOK, "hook", 1)             \
  X(TOOL, "tool", 1)             \
  X(DISPOSE, "dispose", 0)       \
  X(SWAP, "swap", 0)             \
  X(HEALTH, "health", 0)         \
  X(STALL, "stall", 0)           \
  X(CRASH, "crash", 0)

typedef enum wk_op {
  WK_OP_NONE = 0, /* not an op (missing or unknown) */
#define WK_OP_ENUM(e, name, call) WK_OP_##e,
  WK_OPS(WK_OP_ENUM)
#undef WK_OP_ENUM
} wk_op;

/* The op `name` spells; WK_OP_NONE for NULL or an unknown name. */
static inline wk_op wk_op_parse(const char *name) {
  if (!name) return WK_OP_NONE;
#define WK_OP_CMP(e, n, call) if (!strcmp(name, n)) return WK_OP_##e;
  WK_OPS(WK_OP_CMP)
#undef WK_OP_CMP
  return WK_OP_NONE;
}

/* Whether `op` runs plugin code that may park. */
static inline int wk_op_is_call(wk_op op) {
  switch (op) {
#define WK_OP_CALL(e, n, call) case WK_OP_##e: return call;
    WK_OPS(WK_OP_CALL)
#undef WK_OP_CALL
  default: return 0;
  }
}

#endif
