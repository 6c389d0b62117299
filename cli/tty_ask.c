/*
 * tty_ask.c: questions on the controlling terminal (tty_ask.h).
 *
 * Everything the plugin chose (its id, the resource, a question's title, options, text
 * shown) is escaped before it reaches the terminal (cli_e): raw, a CR or an escape
 * sequence in it could redraw the question the person answers. A long resource is shown
 * as its head and its tail around a count of what is left out, never cut at the end: a
 * plugin could otherwise pad a path until the part that matters (`.../../../.ssh/id_rsa`)
 * and the question itself fall off the prompt.
 *
 * Every wait is bounded: the plugin's call is parked meanwhile, and an answer after it ran
 * out of time would find the call answered already. A yes/no has CLI_APPROVE_WAIT_MS; a
 * text, which takes typing, CLI_TEXT_WAIT_MS for the whole of it. End of input (Ctrl-D)
 * dismisses a text question; no answer in time says so on the terminal.
 */
#include "tty_ask.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "util.h"

#define CLI_APPROVE_WAIT_MS 30000
#define CLI_TEXT_WAIT_MS 300000
#define TTY_RESOURCE_SHOWN 600

/* One question on the terminal at a time, whichever host thread asks. */
static pthread_mutex_t tty_lock = PTHREAD_MUTEX_INITIALIZER;

/* Back to the start of the UTF-8 character at or before p. */
static const char *char_start(const char *base, const char *p) {
  while (p > base && ((unsigned char)*p & 0xC0) == 0x80) p--;
  return p;
}

static const char *tty_shorten(const char *text, char *buf, size_t cap) {
  size_t n = strlen(text), half = TTY_RESOURCE_SHOWN / 2;
  if (n <= TTY_RESOURCE_SHOWN) return text;
  const char *head_end = char_start(text, text + half), *tail = char_start(text, text + n - half);
  snprintf(buf, cap, "%.*s[... %zu bytes not shown ...]%s", (int)(head_end - text), text,
           (size_t)(tail - head_end), tail);
  return buf;
}

static void tty_say(int fd, const char *text) {
  size_t n = strlen(text);
  while (n) {
    ssize_t w = write(fd, text, n);
    if (w <= 0) return; /* the terminal went away: nothing to tell */
    text += w;
    n -= (size_t)w;
  }
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One line typed before `deadline` (CLOCK_MONOTONIC ms) into buf (cap bytes, without its
 * newline; a longer line is cut at cap - 1 and the rest of it read and dropped): its
 * length, or -1 at end of input, -2 when time ran out. */
static long tty_line(int fd, char *buf, size_t cap, uint64_t deadline) {
  size_t n = 0;
  for (;;) {
    uint64_t t = now_ms();
    struct pollfd p = {fd, POLLIN, 0};
    if (t >= deadline || poll(&p, 1, (int)(deadline - t)) != 1) return -2;
    char c;
    ssize_t r = read(fd, &c, 1);
    if (r <= 0) return n ? (long)n : -1;
    if (c == '\n') break;
    if (n + 1 < cap) buf[n++] = c;
  }
  if (n && buf[n - 1] == '\r') n--;
  buf[n] = '\0';
  return (long)n;
}

/* A yes/no question; the caller holds tty_lock. */
static int tty_approve(void *user, const char *plugin_id, const char *action, const char *resource) {
  (void)user;
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return AL_APPROVE_DENY;
  char q[1024], shown[TTY_RESOURCE_SHOWN + 64], ans[16];
  cli_esc e = {0};
  snprintf(q, sizeof q, "airlock: allow plugin '%s' %s %s? [y/N] ", cli_e(&e, plugin_id), cli_e(&e, action),
           resource && *resource ? tty_shorten(cli_e(&e, resource), shown, sizeof shown) : "(no resource)");
  cli_esc_free(&e);
  tty_say(fd, q);
  long n = tty_line(fd, ans, sizeof ans, now_ms() + CLI_APPROVE_WAIT_MS);
  if (n == -2) tty_say(fd, "(no answer: denied)\n");
  close(fd);
  return n > 0 && (ans[0] == 'y' || ans[0] == 'Y') ? AL_APPROVE_ALLOW : AL_APPROVE_DENY;
}

/* A text question: the answer (malloc) or NULL, dismissed. `what` is the question's
 * object (airlock.h al_approval_answer_text). */
static char *tty_text(int fd, const char *plugin_id, const char *action, const json_t *what) {
  const char *title = json_string_value(json_object_get(what, "title"));
  const json_t *opts = json_object_get(what, "options");
  char shown[TTY_RESOURCE_SHOWN + 64], line[4096];
  uint64_t deadline = now_ms() + CLI_TEXT_WAIT_MS;
  cli_esc e = {0};
  snprintf(line, sizeof line, "airlock: plugin '%s' asks: %s\n", cli_e(&e, plugin_id),
           tty_shorten(cli_e(&e, title ? title : ""), shown, sizeof shown));
  cli_esc_free(&e);
  tty_say(fd, line);
  char *out = NULL;
  long n;
  if (!strcmp(action, "ui.select")) {
    size_t i, count = json_array_size(opts);
    json_t *o;
    json_array_foreach(opts, i, o) {
      snprintf(line, sizeof line, "  %zu) %s\n", i + 1, tty_shorten(cli_e(&e, json_string_value(o)), shown, sizeof shown));
      cli_esc_free(&e);
      tty_say(fd, line);
    }
    snprintf(line, sizeof line, "choose 1-%zu (empty: none) ", count);
    tty_say(fd, line);
    if ((n = tty_line(fd, line, sizeof line, deadline)) > 0) {
      char *end;
      long k = strtol(line, &end, 10);
      if (!*end && k >= 1 && (size_t)k <= count) out = strdup(json_string_value(json_array_get(opts, (size_t)k - 1)));
    }
  } else if (!strcmp(action, "ui.input")) {
    const char *ph = json_string_value(json_object_get(what, "placeholder"));
    snprintf(line, sizeof line, "%s%s%s> ", ph && *ph ? "(" : "", ph && *ph ? cli_e(&e, ph) : "", ph && *ph ? ") " : "");
    cli_esc_free(&e);
    tty_say(fd, line);
    if ((n = tty_line(fd, line, sizeof line, deadline)) >= 0) out = strdup(line);
  } else { /* ui.editor: lines until one holding only ".", which alone keeps the text shown */
    const char *pre = json_string_value(json_object_get(what, "prefill"));
    if (pre && *pre) {
      tty_say(fd, "--- the text now (a line '.' alone keeps it) ---\n");
      for (const char *l = pre; l;) { /* line by line: cli_e shows a newline as \x0a */
        const char *nl = strchr(l, '\n');
        snprintf(line, sizeof line, "%.*s", nl ? (int)(nl - l) : (int)strlen(l), l);
        tty_say(fd, cli_e(&e, line));
        cli_esc_free(&e);
        tty_say(fd, "\n");
        l = nl ? nl + 1 : NULL;
      }
      tty_say(fd, "---\n");
    }
    tty_say(fd, "type the text; end with a line holding only '.' (Ctrl-D dismisses)\n");
    size_t len = 0, cap = 0;
    bool any = false;
    while ((n = tty_line(fd, line, sizeof line, deadline)) >= 0 && strcmp(line, ".")) {
      size_t need = len + (size_t)n + 2;
      if (need > AL_APPROVAL_TEXT_MAX) break;
      if (need > cap) {
        char *g = realloc(out, cap = need * 2);
        if (!g) break;
        out = g;
      }
      if (any) out[len++] = '\n';
      memcpy(out + len, line, (size_t)n);
      len += (size_t)n;
      out[len] = '\0';
      any = true;
    }
    if (n < 0 || (n >= 0 && strcmp(line, "."))) { /* dismissed, out of time, too long, out of memory */
      free(out);
      out = NULL;
    } else if (!any) {
      free(out);
      out = strdup(pre ? pre : "");
    }
  }
  if (n == -2) tty_say(fd, "(no answer in time: dismissed)\n");
  return out;
}

void cli_tty_ask(void *user, al_approval *q, const char *plugin_id, const char *action, const char *resource) {
  bool text = !strcmp(action, "ui.select") || !strcmp(action, "ui.input") || !strcmp(action, "ui.editor");
  pthread_mutex_lock(&tty_lock);
  if (!text) {
    int yes = tty_approve(user, plugin_id, action, resource);
    pthread_mutex_unlock(&tty_lock);
    al_approval_answer(q, yes);
    return;
  }
  char *answer = NULL;
  json_t *what = json_loads(resource ? resource : "", 0, NULL);
  int fd = json_is_object(what) ? open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
  if (fd >= 0) {
    answer = tty_text(fd, plugin_id, action, what);
    close(fd);
  }
  json_decref(what);
  pthread_mutex_unlock(&tty_lock);
  al_approval_answer_text(q, answer);
  free(answer);
}
