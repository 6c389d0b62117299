/*
 * approval.c: questions put to a person. A hostcall the capability chain says "needs
 * approval" for asks the host's ask callback (al_config.ask), which shows the question
 * wherever a person is (the workbench, a terminal) and answers it later, from any thread,
 * with al_approval_answer(); the asking hostcall waits on the question, at most its
 * deadline. A host going away denies every question still open (hc_close_questions), so
 * no worker waits for an answer that cannot come.
 *
 * A question may want text instead of yes or no (a pi extension's ctx.ui.select, input,
 * editor: hc_ask_text). The front end answers it with al_approval_answer_text; the text is
 * copied into the question, bounded by AL_APPROVAL_TEXT_MAX, and handed to the asker,
 * which decides what it means (a select's answer must be one of its options). Out of
 * memory copying it, or a text too long, is a dismissed question, never a crash or a
 * partial text.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hooks/hc_impl.h"

/* A question put to the host's ask callback (al_config.ask). Two references: the asking
 * hostcall's and the front end's, which al_approval_answer() gives back; whichever goes
 * last frees it, so a front end may answer after the asker stopped waiting. */
struct al_approval {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int answer, refs;
  bool answered;
  char *text; /* a text answer (malloc), or NULL: none, or dismissed */
  struct al_approval *next, *prev; /* the open questions (hc_services.asks, under its mu) */
};

/* Answers `q` (if not yet) without giving up a reference; `text` (may be NULL) is
 * copied as its text answer, and a copy that fails leaves it an answer without text. */
static void approval_settle(al_approval *q, int answer, const char *text) {
  char *copy = NULL;
  if (text) {
    size_t n = strnlen(text, AL_APPROVAL_TEXT_MAX + 1);
    if (n <= AL_APPROVAL_TEXT_MAX && (copy = malloc(n + 1))) {
      memcpy(copy, text, n);
      copy[n] = '\0';
    }
  }
  pthread_mutex_lock(&q->mu);
  if (!q->answered) {
    q->answered = true;
    q->answer = answer == AL_APPROVE_ALLOW ? AL_APPROVE_ALLOW : AL_APPROVE_DENY;
    q->text = copy;
    copy = NULL;
    pthread_cond_broadcast(&q->cv);
  }
  pthread_mutex_unlock(&q->mu);
  free(copy); /* answered before: this answer is ignored */
}

static void approval_unref(al_approval *q) {
  pthread_mutex_lock(&q->mu);
  bool last = --q->refs == 0;
  pthread_mutex_unlock(&q->mu);
  if (!last) return;
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->cv);
  free(q->text);
  free(q);
}

void al_approval_answer(al_approval *q, int answer) {
  if (!q) return;
  approval_settle(q, answer, NULL);
  approval_unref(q);
}

void al_approval_answer_text(al_approval *q, const char *text) {
  if (!q) return;
  approval_settle(q, text ? AL_APPROVE_ALLOW : AL_APPROVE_DENY, text);
  approval_unref(q);
}

void hc_close_questions(hc_services *s) {
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  s->closing = true;
  for (al_approval *q = s->asks; q; q = q->next) approval_settle(q, AL_APPROVE_DENY, NULL);
  pthread_mutex_unlock(&s->mu);
}

int hc_ask_text(hc_services *s, const hc_rec *r, const char *action, const char *resource, uint32_t ms,
                bool *answered, char **text) {
  *answered = false;
  if (text) *text = NULL;
  al_approval *q = calloc(1, sizeof *q);
  if (!q) return AL_APPROVE_DENY;
  pthread_mutex_init(&q->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&q->cv, &ca);
  pthread_condattr_destroy(&ca);
  q->refs = 2;
  pthread_mutex_lock(&s->mu);
  bool closing = s->closing;
  if (!closing) {
    q->next = s->asks;
    if (s->asks) s->asks->prev = q;
    s->asks = q;
  }
  pthread_mutex_unlock(&s->mu);
  if (closing) { /* the host is going away: nobody is asked any more */
    q->refs = 1;
    approval_unref(q);
    return AL_APPROVE_DENY;
  }
  s->cfg.ask(s->cfg.ask_user, q, r->plugin_id, action, resource);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t abs_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + (uint64_t)ms * 1000000u;
  ts.tv_sec = (time_t)(abs_ns / 1000000000u);
  ts.tv_nsec = (long)(abs_ns % 1000000000u);
  pthread_mutex_lock(&q->mu);
  while (!q->answered && pthread_cond_timedwait(&q->cv, &q->mu, &ts) == 0) {}
  int answer = q->answered ? q->answer : AL_APPROVE_DENY;
  *answered = q->answered;
  if (text && q->answered) { /* the asker takes the text; the front end's reference may outlive this */
    *text = q->text;
    q->text = NULL;
  }
  pthread_mutex_unlock(&q->mu);
  pthread_mutex_lock(&s->mu);
  if (q->prev) q->prev->next = q->next;
  else s->asks = q->next;
  if (q->next) q->next->prev = q->prev;
  pthread_mutex_unlock(&s->mu);
  approval_unref(q);
  return answer;
}

int hc_ask(hc_services *s, const hc_rec *r, const char *action, const char *resource, uint32_t ms, bool *answered) {
  return hc_ask_text(s, r, action, resource, ms, answered, NULL);
}
