/*
 * push.h: one WebSocket connection's outgoing messages, oldest first.
 *
 * Messages are copied into buffers with `pre` bytes of headroom in front (LWS_PRE), so the
 * writer hands them to lws_write() without another copy. The queue is bounded in bytes: a
 * page that stops reading is cut off instead of growing the server without limit.
 *
 * Threading: none; a queue belongs to the thread that services its connection (the lws
 * service thread, which is also the host thread).
 */
#ifndef AL_SERVER_PUSH_H
#define AL_SERVER_PUSH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct push_msg {
  struct push_msg *next;
  size_t len;
  unsigned char *buf; /* pre bytes of headroom, then len bytes of text */
} push_msg;

typedef struct push_queue {
  push_msg *head, *tail;
  size_t count, bytes;
  size_t pre;
  size_t max_bytes; /* 0: unbounded */
} push_queue;

void push_init(push_queue *q, size_t pre, size_t max_bytes);
/* Copies `text` (`len` bytes) to the tail. Returns 0, -1 when out of memory or when it
 * would exceed max_bytes (the caller then drops the connection). */
int push_enqueue(push_queue *q, const char *text, size_t len);
/* The oldest message, or NULL; it stays queued until push_pop(). */
push_msg *push_peek(const push_queue *q);
void push_pop(push_queue *q);
void push_clear(push_queue *q);

#endif
