/*
 * httpd_test.c: the loopback test server (httpd_test.h).
 *
 * One thread polls the listening socket and a stop pipe and hands each accepted
 * connection to a thread of its own, which reads it until the end of its headers plus
 * Content-Length bytes, answers and closes it; finished connection threads are joined by
 * the accept loop as it goes, and the rest at stop. A delayed response waits on the stop
 * pipe, so stopping never hangs behind a timeout test; a held one (HTTPD_TEST_HOLD) waits
 * on the release pipe too, which stays readable once written, so one release lets every
 * held response go.
 */
#define _GNU_SOURCE
#include "integration/httpd_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_ROUTES 32
#define REQ_MAX (1 << 20)

typedef struct conn {
  struct httpd_test *s;
  int fd;
  bool done; /* under s->mu: the thread has finished and may be joined */
  pthread_t th;
  struct conn *next;
} conn;

typedef struct route {
  char *path, *headers, *body;
  size_t body_len;
  int status;
  unsigned delay_ms;
} route;

struct httpd_test {
  int lfd, stop[2], release[2], port;
  pthread_t th;
  pthread_mutex_t mu;
  conn *conns; /* connection threads not joined yet, under mu */
  route routes[MAX_ROUTES];
  size_t nroutes;
  char *last_method, *last_path, *last_headers, *last_body;
  unsigned count;
};

static char *dupn(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* the client went away (a response-cap test): fine */
    p += w;
    n -= (size_t)w;
  }
}

static const char *reason_of(int status) {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 404: return "Not Found";
  case 500: return "Internal Server Error";
  default: return "Status";
  }
}

/* Reads one request; false when the connection or stop ended first. */
static bool read_request(httpd_test *s, int c, char **buf, size_t *hdr_end, size_t *total) {
  size_t cap = 8192, len = 0;
  char *b = malloc(cap);
  if (!b) return false;
  size_t need = 0; /* total bytes once the headers are known */
  for (;;) {
    struct pollfd p[2] = {{c, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
    if (poll(p, 2, 5000) <= 0 || p[1].revents) break;
    if (len + 4096 > cap) {
      if (cap >= REQ_MAX) break;
      char *nb = realloc(b, cap * 2);
      if (!nb) break;
      b = nb, cap *= 2;
    }
    ssize_t r = recv(c, b + len, cap - len - 1, 0);
    if (r <= 0) break;
    len += (size_t)r;
    b[len] = '\0';
    if (!need) {
      char *end = strstr(b, "\r\n\r\n");
      if (!end) continue;
      *hdr_end = (size_t)(end - b) + 4;
      size_t cl = 0;
      char *h = strcasestr(b, "\r\ncontent-length:");
      if (h && h < end) cl = strtoul(h + 17, NULL, 10);
      need = *hdr_end + cl;
    }
    if (need && len >= need) {
      *buf = b;
      *total = need;
      return true;
    }
  }
  free(b);
  return false;
}

static void serve(httpd_test *s, int c) {
  char *req = NULL;
  size_t hdr_end = 0, total = 0;
  if (!read_request(s, c, &req, &hdr_end, &total)) return;
  char *sp1 = strchr(req, ' ');
  char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
  char *eol = strstr(req, "\r\n");
  if (!sp1 || !sp2 || !eol || sp2 > eol) {
    free(req);
    return;
  }
  char *method = dupn(req, (size_t)(sp1 - req));
  char *path = dupn(sp1 + 1, (size_t)(sp2 - sp1 - 1));
  char *headers = dupn(eol + 2, hdr_end - (size_t)(eol + 2 - req));
  char *body = dupn(req + hdr_end, total - hdr_end);
  size_t plen = strcspn(path ? path : "", "?");

  pthread_mutex_lock(&s->mu);
  /* Counted on arrival, before the answer: a client that has its response must see it. */
  s->count++;
  /* The record gets copies: another connection's thread may replace (and free) it while
   * this one still uses its method and path below. */
  free(s->last_method), free(s->last_path), free(s->last_headers), free(s->last_body);
  s->last_method = method ? strdup(method) : NULL, s->last_path = path ? strdup(path) : NULL;
  s->last_headers = headers, s->last_body = body; /* not used below: handed over */
  route r = {NULL, NULL, NULL, 9, 404, 0};
  for (size_t i = 0; path && i < s->nroutes; i++)
    if (strlen(s->routes[i].path) == plen && strncmp(s->routes[i].path, path, plen) == 0) {
      r = s->routes[i];
      r.headers = r.headers ? strdup(r.headers) : NULL;
      r.body = dupn(r.body, r.body_len);
    }
  if (!r.body) r.body = dupn("not found", 9), r.body_len = 9;
  pthread_mutex_unlock(&s->mu);

  bool stopped = false;
  if (r.delay_ms == HTTPD_TEST_HOLD) {
    /* until released; the client hanging up or the server stopping ends it unanswered */
    struct pollfd p[3] = {{s->stop[0], POLLIN, 0}, {c, POLLIN, 0}, {s->release[0], POLLIN, 0}};
    while (poll(p, 3, -1) < 0 && errno == EINTR) {}
    stopped = p[0].revents || p[1].revents || !p[2].revents;
  } else if (r.delay_ms) {
    /* the client hanging up (a timeout test) ends the wait too: readable means EOF here */
    struct pollfd p[2] = {{s->stop[0], POLLIN, 0}, {c, POLLIN, 0}};
    stopped = poll(p, 2, (int)r.delay_ms) > 0;
  }
  if (!stopped && r.body) {
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                     r.status, reason_of(r.status), r.body_len, r.headers ? r.headers : "");
    write_all(c, head, (size_t)n);
    if (strcmp(method ? method : "", "HEAD") != 0) write_all(c, r.body, r.body_len);
  }
  free(r.headers);
  free(r.body);
  free(method);
  free(path);
  free(req);
}

static void finish(httpd_test *s, int c) {
  serve(s, c);
  shutdown(c, SHUT_WR);
  close(c);
}

static void *conn_main(void *arg) {
  conn *k = arg;
  finish(k->s, k->fd);
  pthread_mutex_lock(&k->s->mu);
  k->done = true;
  pthread_mutex_unlock(&k->s->mu);
  return NULL;
}

/* Joins the connection threads that are done (all of them with `all`, after stop). */
static void reap(httpd_test *s, bool all) {
  for (;;) {
    conn *k = NULL;
    pthread_mutex_lock(&s->mu);
    for (conn **pp = &s->conns; *pp; pp = &(*pp)->next)
      if (all || (*pp)->done) {
        k = *pp;
        *pp = k->next;
        break;
      }
    pthread_mutex_unlock(&s->mu);
    if (!k) return;
    pthread_join(k->th, NULL);
    free(k);
  }
}

static void *loop(void *arg) {
  httpd_test *s = arg;
  for (;;) {
    struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break;
    int c = accept(s->lfd, NULL, NULL);
    if (c < 0) continue;
    reap(s, false);
    conn *k = calloc(1, sizeof *k);
    if (!k) {
      finish(s, c);
      continue;
    }
    k->s = s;
    k->fd = c;
    /* linked before the thread starts, so its `done` store always finds it listed */
    pthread_mutex_lock(&s->mu);
    k->next = s->conns;
    s->conns = k;
    pthread_mutex_unlock(&s->mu);
    if (pthread_create(&k->th, NULL, conn_main, k)) {
      pthread_mutex_lock(&s->mu);
      s->conns = k->next; /* nobody else links or unlinks while this thread runs */
      pthread_mutex_unlock(&s->mu);
      free(k);
      finish(s, c); /* no thread to spare: serve it here */
    }
  }
  return NULL;
}

int httpd_test_start(httpd_test **out) {
  *out = NULL;
  httpd_test *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t al = sizeof a;
  /* a backlog for the benchmark's 100 requests arriving at once */
  if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) || listen(s->lfd, 256) ||
      getsockname(s->lfd, (struct sockaddr *)&a, &al) || pipe(s->stop)) {
    if (s->lfd >= 0) close(s->lfd);
    free(s);
    return -1;
  }
  if (pipe(s->release)) {
    close(s->lfd), close(s->stop[0]), close(s->stop[1]);
    free(s);
    return -1;
  }
  s->port = ntohs(a.sin_port);
  pthread_mutex_init(&s->mu, NULL);
  if (pthread_create(&s->th, NULL, loop, s)) {
    close(s->lfd), close(s->stop[0]), close(s->stop[1]), close(s->release[0]), close(s->release[1]);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return -1;
  }
  *out = s;
  return 0;
}

void httpd_test_stop(httpd_test *s) {
  if (!s) return;
  ssize_t w = write(s->stop[1], "x", 1);
  (void)w;
  pthread_join(s->th, NULL);
  reap(s, true); /* every connection thread sees the stop pipe too */
  close(s->lfd), close(s->stop[0]), close(s->stop[1]), close(s->release[0]), close(s->release[1]);
  for (size_t i = 0; i < s->nroutes; i++)
    free(s->routes[i].path), free(s->routes[i].headers), free(s->routes[i].body);
  free(s->last_method), free(s->last_path), free(s->last_headers), free(s->last_body);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

int httpd_test_port(const httpd_test *s) { return s->port; }

void httpd_test_release(httpd_test *s) {
  ssize_t w = write(s->release[1], "x", 1);
  (void)w;
}

void httpd_test_route(httpd_test *s, const char *path, int status, const char *headers,
                      const char *body, size_t body_len, unsigned delay_ms) {
  route r = {strdup(path), headers ? strdup(headers) : NULL, malloc(body_len + 1), body_len,
             status, delay_ms};
  if (r.body) {
    if (body) memcpy(r.body, body, body_len);
    else memset(r.body, 'x', body_len);
  }
  pthread_mutex_lock(&s->mu);
  size_t i = 0;
  while (i < s->nroutes && strcmp(s->routes[i].path, path) != 0) i++;
  if (i < s->nroutes) {
    free(s->routes[i].path), free(s->routes[i].headers), free(s->routes[i].body);
    s->routes[i] = r;
  } else if (s->nroutes < MAX_ROUTES) {
    s->routes[s->nroutes++] = r;
  } else {
    free(r.path), free(r.headers), free(r.body);
  }
  pthread_mutex_unlock(&s->mu);
}

bool httpd_test_last(httpd_test *s, char **method, char **path, char **headers, char **body) {
  pthread_mutex_lock(&s->mu);
  bool seen = s->last_method != NULL;
  if (method) *method = seen ? strdup(s->last_method) : NULL;
  if (path) *path = seen ? strdup(s->last_path) : NULL;
  if (headers) *headers = seen ? strdup(s->last_headers) : NULL;
  if (body) *body = seen ? strdup(s->last_body) : NULL;
  pthread_mutex_unlock(&s->mu);
  return seen;
}

unsigned httpd_test_count(httpd_test *s) {
  pthread_mutex_lock(&s->mu);
  unsigned n = s->count;
  pthread_mutex_unlock(&s->mu);
  return n;
}
