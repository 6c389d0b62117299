/*
 * push.c: the per-connection outgoing queue (see push.h). A singly linked list is enough:
 * messages only ever leave from the head, one per writeable callback.
 */
#include <stdlib.h>
#include <string.h>

#include "push.h"

void push_init(push_queue *q, size_t pre, size_t max_bytes) {
  memset(q, 0, sizeof *q);
  q->pre = pre;
  q->max_bytes = max_bytes;
}

int push_enqueue(push_queue *q, const char *text, size_t len) {
  if (q->max_bytes && q->bytes + len > q->max_bytes) return -1;
  push_msg *m = malloc(sizeof *m);
  unsigned char *buf = m ? malloc(q->pre + len + 1) : NULL;
  if (!buf) {
    free(m);
    return -1;
  }
  memcpy(buf + q->pre, text, len);
  buf[q->pre + len] = 0;
  *m = (push_msg){NULL, len, buf};
  if (q->tail) q->tail->next = m;
  else q->head = m;
  q->tail = m;
  q->count++;
  q->bytes += len;
  return 0;
}

push_msg *push_peek(const push_queue *q) { return q->head; }

void push_pop(push_queue *q) {
  push_msg *m = q->head;
  if (!m) return;
  q->head = m->next;
  if (!q->head) q->tail = NULL;
  q->count--;
  q->bytes -= m->len;
  free(m->buf);
  free(m);
}

void push_clear(push_queue *q) {
  while (q->head) push_pop(q);
}
