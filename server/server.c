/*
 * server.c: the lws context, the one vhost, and the callback that serves HTTP, the
 * WebSocket and the host's completion descriptor (see server.h).
 *
 * Connections of both kinds share one per-session struct (srv_conn). HTTP bodies are
 * written in 16 KiB chunks, one per writeable callback. WebSocket messages in are
 * reassembled from fragments up to SESS_MAX_MESSAGE; out, each connection has a push
 * queue written one message per writeable callback, with lws_write() handed the whole
 * message (lws buffers what the socket does not take, and holds further writeable
 * callbacks until it has drained). A connection whose queue passes SRV_MAX_QUEUED bytes
 * is not reading: it is closed rather than allowed to grow the server.
 *
 * The host's log and approve callbacks run on worker threads; the session gives them
 * srv_wake(), which only calls lws_cancel_service() (the one lws call that is safe from
 * another thread), and the EVENT_WAIT_CANCELLED callback it causes runs sess_dispatch()
 * on the service thread, which pushes what they left.
 *
 * The token never goes on a command line. Another local user can read any process's argv
 * (/proc/PID/cmdline), and xdg-open passes its URL on to the browser's argv, where it
 * stays for the browser's life. So the opener gets `/?code=C` instead: C is a second
 * random value that is good for one page load within SRV_CODE_TTL_SEC. That load is
 * answered with index.html carrying the token in a <meta> (web/js/conn.js moves it to the
 * tab's sessionStorage and drops `?code=` from the address with history.replaceState), so
 * the token is in no URL the browser keeps or sends again, and the page then opens
 * `/ws?token=T` exactly as with the printed URL: the WebSocket check is unchanged. A
 * cookie would have been simpler for the page, but browsers send a 127.0.0.1 cookie to
 * every port there, i.e. to other users' servers; sessionStorage is this origin's (port
 * included) and this tab's. The code is still readable in argv while it lives: a local
 * user quick enough to load it first gets the token, but the person's browser then gets
 * the 403 saying the code was used, so the theft is not silent, and a code read later (the
 * browser keeps its argv for hours) is worth nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "assets.h"
#include "push.h"
#include "server.h"
#include "session.h"

#define SRV_CHUNK 16384
#define SRV_MAX_QUEUED ((size_t)256 << 20)
/* How long the opener's code is good for: xdg-open, a browser starting cold, and slack. */
#define SRV_CODE_TTL_SEC 60
#define SRV_STR_(x) #x
#define SRV_STR(x) SRV_STR_(x)

extern char **environ;

typedef struct srv_conn {
  struct srv_conn *prev, *next; /* WebSocket connections only */
  struct srv *srv;
  struct lws *wsi;
  uint64_t id;
  bool is_ws;
  push_queue out;
  char *rx;
  size_t rx_len, rx_cap;
  asset_body body; /* HTTP */
  size_t sent;
  int status;
} srv_conn;

typedef struct srv {
  srv_config cfg;
  struct lws_context *ctx;
  struct lws_vhost *vh;
  sess *sess;
  srv_conn *conns;
  uint64_t next_id;
  char token[33];
  /* The opener's one-time code: good while code_live and before code_expires
   * (CLOCK_MONOTONIC seconds); spent by the first page load presenting it. */
  char code[33];
  bool code_live;
  time_t code_expires;
  char host_port[80], local_port[80];
  lws_sorted_usec_list_t tick;
  /* srv_wake()'s view of ctx: set once the context exists, cleared before it is destroyed
   * (workers outlive it until sess_free()), under wake_mu. */
  pthread_mutex_t wake_mu;
  struct lws_context *wake_ctx;
  pid_t opener; /* xdg-open, reaped by the tick */
} srv;

static volatile sig_atomic_t srv_stop;
static struct lws_context *srv_ctx; /* for the signal handler */

static void on_signal(int sig) {
  (void)sig;
  srv_stop = 1;
  if (srv_ctx) lws_cancel_service(srv_ctx);
}

/* ---- checks --------------------------------------------------------------------------- */

static bool ct_equal(const char *a, size_t alen, const char *b, size_t blen) {
  unsigned char d = alen != blen;
  size_t n = alen < blen ? alen : blen;
  for (size_t i = 0; i < n; i++) d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0;
}

/* Host is ours and Origin, if any, is the page's own. Every request passes here. */
static bool headers_ok(srv *s, struct lws *wsi) {
  char host[128], origin[160];
  if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0) return false;
  if (strcmp(host, s->host_port) && strcmp(host, s->local_port)) return false;
  int n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
  if (n == 0) return true;
  if (n >= (int)sizeof origin || lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) < 0)
    return false;
  return !strncmp(origin, "http://", 7) && !strcmp(origin + 7, host);
}

static bool token_ok(srv *s, struct lws *wsi) {
  char frag[128];
  for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++)
    if (!strncmp(frag, "token=", 6))
      return ct_equal(frag + 6, strlen(frag + 6), s->token, strlen(s->token));
  return false;
}

static time_t mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

/* The request's `code=` argument, or false if it has none (then it is a plain request). */
static bool code_arg(struct lws *wsi, char *out, size_t cap) {
  char frag[128];
  for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++)
    if (!strncmp(frag, "code=", 5)) {
      snprintf(out, cap, "%s", frag + 5);
      return true;
    }
  return false;
}

/* Forgets the code, so nothing can present it again. */
static void code_spend(srv *s) {
  s->code_live = false;
  explicit_bzero(s->code, sizeof s->code);
}

/* Whether `code` is the live one. Checked, and spent by code_spend(), on the service
 * thread only, so no second request can pass between the two. */
static bool code_ok(srv *s, const char *code) {
  if (!s->code_live) return false;
  if (mono_now() >= s->code_expires) {
    code_spend(s);
    return false;
  }
  return ct_equal(code, strlen(code), s->code, strlen(s->code));
}

/* ---- HTTP ----------------------------------------------------------------------------- */

static int send_headers(struct lws *wsi, int status, const char *mime, size_t len) {
  unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
  static const struct {
    const char *name, *value;
  } extra[] = {
      {"content-security-policy:", "default-src 'self'"},
      {"x-content-type-options:", "nosniff"},
      {"cache-control:", "no-store"},
      {"referrer-policy:", "no-referrer"},
  };
  if (lws_add_http_common_headers(wsi, (unsigned)status, mime, len, &p, end)) return -1;
  for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)extra[i].name,
                                    (const unsigned char *)extra[i].value,
                                    (int)strlen(extra[i].value), &p, end))
      return -1;
  return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

static const char forbidden_body[] = "403 forbidden: wrong Host, Origin or token\n";
static const char code_refused_body[] =
    "403 forbidden: this sign-in code was already used or has expired (it opens one page, "
    "within " SRV_STR(SRV_CODE_TTL_SEC) " s of the start; a restarted server has a new one).\n"
    "Open the URL airlock serve printed on its terminal (the line \"airlock serve: http://...\") "
    "instead.\n";
static const char notfound_body[] = "404 not found\n";
static const char internal_body[] = "500 internal error: could not give the page its token\n";

/* index.html with `<meta name="airlock-token" content="T">` just before </head>, where
 * web/js/conn.js looks for it; b becomes an owned copy. -1 (b unchanged) when the page
 * has no </head> (a broken AIRLOCK_WEB_DIR) or memory ran out. */
static int page_with_token(asset_body *b, const char *token) {
  static const char head_end[] = "</head>";
  const unsigned char *at = memmem(b->data, b->len, head_end, sizeof head_end - 1);
  if (!at) return -1;
  char meta[96];
  size_t m = (size_t)snprintf(meta, sizeof meta, "<meta name=\"airlock-token\" content=\"%s\">\n", token);
  size_t pre = (size_t)(at - b->data);
  unsigned char *nb = malloc(b->len + m);
  if (!nb) return -1;
  memcpy(nb, b->data, pre);
  memcpy(nb + pre, meta, m);
  memcpy(nb + pre + m, at, b->len - pre);
  free(b->owned);
  b->owned = nb;
  b->data = nb;
  b->len += m;
  return 0;
}

static int http_request(srv *s, srv_conn *c, struct lws *wsi, const char *uri) {
  c->srv = s;
  c->wsi = wsi;
  int status = 200;
  const char *why = NULL;
  char code[128];
  if (!headers_ok(s, wsi)) {
    status = 403;
    why = forbidden_body;
  } else if (!strcmp(uri, "/") && code_arg(wsi, code, sizeof code)) {
    /* The opener's URL. The page is built before the code is spent, so a failure here
     * leaves the code for a retry; once spent it is never accepted again. */
    if (!code_ok(s, code)) {
      status = 403;
      why = code_refused_body;
    } else if (asset_http(uri, s->cfg.web_dir, &c->body) || page_with_token(&c->body, s->token)) {
      asset_body_free(&c->body);
      status = 500;
      why = internal_body;
    } else {
      code_spend(s);
    }
  } else if (asset_http(uri, s->cfg.web_dir, &c->body)) {
    status = 404;
    why = notfound_body;
  }
  if (why) c->body = (asset_body){(const unsigned char *)why, strlen(why), "text/plain; charset=utf-8", NULL};
  c->status = status;
  c->sent = 0;
  if (send_headers(wsi, status, c->body.mime, c->body.len)) return -1;
  lws_callback_on_writable(wsi);
  return 0;
}

static int http_write(srv_conn *c, struct lws *wsi) {
  unsigned char buf[LWS_PRE + SRV_CHUNK];
  size_t n = c->body.len - c->sent;
  if (n > SRV_CHUNK) n = SRV_CHUNK;
  bool last = c->sent + n == c->body.len;
  memcpy(buf + LWS_PRE, c->body.data + c->sent, n);
  if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
    return -1;
  c->sent += n;
  if (!last) {
    lws_callback_on_writable(wsi);
    return 0;
  }
  asset_body_free(&c->body);
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- WebSocket ------------------------------------------------------------------------ */

static void conn_close_later(srv_conn *c) { lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC); }

/* sess_send_fn: queue for one connection or all, and ask for a writeable callback. */
static void srv_send(void *ud, uint64_t client, const char *text, size_t len) {
  srv *s = ud;
  for (srv_conn *c = s->conns; c; c = c->next) {
    if (client != SESS_BROADCAST && c->id != client) continue;
    if (push_enqueue(&c->out, text, len)) conn_close_later(c);
    else lws_callback_on_writable(c->wsi);
    if (client != SESS_BROADCAST) return;
  }
}

/* sess_wake_fn, from worker threads: a plugin may log while the server shuts down, so the
 * context is only touched under wake_mu while it is known to exist. */
static void srv_wake(void *ud) {
  srv *s = ud;
  pthread_mutex_lock(&s->wake_mu);
  if (s->wake_ctx) lws_cancel_service(s->wake_ctx);
  pthread_mutex_unlock(&s->wake_mu);
}

static void srv_set_wake(srv *s, struct lws_context *ctx) {
  pthread_mutex_lock(&s->wake_mu);
  s->wake_ctx = ctx;
  pthread_mutex_unlock(&s->wake_mu);
}

static int ws_receive(srv *s, srv_conn *c, struct lws *wsi, const char *in, size_t len) {
  if (c->rx_len + len > SESS_MAX_MESSAGE) {
    static const char why[] = "message over 2 MiB";
    lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)why, sizeof why - 1);
    return -1;
  }
  if (c->rx_len + len > c->rx_cap) {
    size_t cap = c->rx_cap ? c->rx_cap : 4096;
    while (cap < c->rx_len + len) cap *= 2;
    char *nb = realloc(c->rx, cap);
    if (!nb) return -1;
    c->rx = nb;
    c->rx_cap = cap;
  }
  memcpy(c->rx + c->rx_len, in, len);
  c->rx_len += len;
  if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi)) return 0;
  size_t n = c->rx_len;
  c->rx_len = 0;
  sess_message(s->sess, c->id, c->rx, n);
  return 0;
}

static int ws_write(srv_conn *c, struct lws *wsi) {
  push_msg *m = push_peek(&c->out);
  if (!m) return 0;
  if (lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len) return -1;
  push_pop(&c->out);
  if (push_peek(&c->out)) lws_callback_on_writable(wsi);
  return 0;
}

static void ws_drop(srv *s, srv_conn *c) {
  if (!c->is_ws) return;
  if (c->prev) c->prev->next = c->next;
  else if (s->conns == c) s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
  c->is_ws = false;
  push_clear(&c->out);
  free(c->rx);
  c->rx = NULL;
}

/* ---- the callback --------------------------------------------------------------------- */

static int srv_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len) {
  srv *s = lws_context_user(lws_get_context(wsi));
  srv_conn *c = user;
  switch (reason) {
  case LWS_CALLBACK_HTTP:
    return http_request(s, c, wsi, in ? (const char *)in : "/");
  case LWS_CALLBACK_HTTP_WRITEABLE:
    return c && c->body.data ? http_write(c, wsi) : 0;
  case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
  case LWS_CALLBACK_CLOSED_HTTP:
    if (c && !c->is_ws) asset_body_free(&c->body);
    return 0;

  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
    char path[64];
    bool ok = lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) > 0 && !strcmp(path, "/ws") &&
              headers_ok(s, wsi) && token_ok(s, wsi);
    if (ok) return 0;
    /* Refuse with a real 403 (our headers, CSP included) the client can read, then
     * drop the connection. */
    size_t n = sizeof forbidden_body - 1;
    unsigned char buf[LWS_PRE + sizeof forbidden_body];
    memcpy(buf + LWS_PRE, forbidden_body, n);
    if (!send_headers(wsi, 403, "text/plain; charset=utf-8", n))
      lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
    return -1;
  }
  case LWS_CALLBACK_ESTABLISHED:
    memset(c, 0, sizeof *c);
    c->srv = s;
    c->wsi = wsi;
    c->id = ++s->next_id;
    c->is_ws = true;
    push_init(&c->out, LWS_PRE, SRV_MAX_QUEUED);
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    return 0;
  case LWS_CALLBACK_RECEIVE:
    return ws_receive(s, c, wsi, in, len);
  case LWS_CALLBACK_SERVER_WRITEABLE:
    return ws_write(c, wsi);
  case LWS_CALLBACK_CLOSED:
    ws_drop(s, c);
    return 0;

  case LWS_CALLBACK_RAW_RX_FILE: /* the host's completion descriptor is readable */
    sess_dispatch(s->sess);
    return 0;
  case LWS_CALLBACK_RAW_CLOSE_FILE:
    return 0;
  case LWS_CALLBACK_EVENT_WAIT_CANCELLED: /* srv_wake(): a callback left something */
    if (s && s->sess) sess_dispatch(s->sess);
    return 0;
  default:
    return 0;
  }
}

static const struct lws_protocols srv_protocols[] = {
    {"airlock-workbench", srv_callback, sizeof(srv_conn), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- run ------------------------------------------------------------------------------ */

static void on_tick(lws_sorted_usec_list_t *sul) {
  srv *s = lws_container_of(sul, srv, tick);
  if (s->opener > 0 && waitpid(s->opener, NULL, WNOHANG) != 0) s->opener = 0;
  sess_dispatch(s->sess);
  sess_tick(s->sess);
  lws_sul_schedule(s->ctx, 0, &s->tick, on_tick, LWS_US_PER_SEC);
}

static bool is_loopback(const char *host) {
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return !strcmp(host, "localhost");
}

static int make_token(char out[33]) {
  unsigned char r[16];
  size_t got = 0;
  while (got < sizeof r) {
    ssize_t n = getrandom(r + got, sizeof r - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  for (size_t i = 0; i < sizeof r; i++) snprintf(out + 2 * i, 3, "%02x", r[i]);
  return 0;
}

/* Runs xdg-open on `url`, which must hold nothing secret: its argv (and the browser's,
 * which it starts with the same URL) is readable by every local user. The environment is
 * ours unchanged, and the token is not in it.
 *
 * AIRLOCK_OPENER, when set, names the program run instead of xdg-open; tests point it at
 * a script that records its argv. It grants nothing new: whoever sets our environment can
 * already choose the browser through $BROWSER, which xdg-open honours, or our PATH. */
static pid_t open_browser(const char *url) {
  if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) return 0;
  const char *opener = getenv("AIRLOCK_OPENER");
  if (!opener || !*opener) opener = "xdg-open";
  posix_spawn_file_actions_t fa;
  if (posix_spawn_file_actions_init(&fa)) return 0;
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  char *argv[] = {(char *)opener, (char *)url, NULL};
  pid_t pid = 0;
  if (posix_spawnp(&pid, opener, &fa, NULL, argv, environ)) {
    fprintf(stderr, "airlock serve: could not run %s; open the URL yourself\n", opener);
    pid = 0;
  }
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

int srv_run(const srv_config *cfg) {
  srv s = {0};
  s.cfg = *cfg;
  if (!s.cfg.host) s.cfg.host = "127.0.0.1";
  if (!is_loopback(s.cfg.host)) {
    if (!s.cfg.allow_remote) {
      fprintf(stderr, "error: INVALID_ARGUMENT: --host %s is not a loopback address; the workbench "
                      "runs code a person pastes in, so it listens on 127.0.0.1 unless you add "
                      "--allow-remote\n", s.cfg.host);
      return 2;
    }
    fprintf(stderr, "airlock serve: WARNING: listening on %s: anyone who can reach it and learns "
                    "the token can run code here\n", s.cfg.host);
  }
  if (make_token(s.token)) {
    fprintf(stderr, "error: IO_ERROR: getrandom failed: %s\n", strerror(errno));
    return 1;
  }
  pthread_mutex_init(&s.wake_mu, NULL);
  sess_config sc = {.isolation = cfg->isolation, .workers = cfg->workers, .home = cfg->home,
                    .policy_json = cfg->policy_json, .send = srv_send, .send_ud = &s,
                    .wake = srv_wake, .wake_ud = &s};
  al_error err = {0};
  if (sess_new(&sc, &s.sess, &err)) {
    fprintf(stderr, "error: %s: %s\n", al_err_name(err.code), err.message);
    pthread_mutex_destroy(&s.wake_mu);
    return 1;
  }

  lws_set_log_level(LLL_ERR, NULL);
  struct lws_context_creation_info ci;
  memset(&ci, 0, sizeof ci);
  ci.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6;
  ci.user = &s;
  ci.port = CONTEXT_PORT_NO_LISTEN;
  s.ctx = lws_create_context(&ci);
  int status = 1;
  if (!s.ctx) {
    fprintf(stderr, "error: INTERNAL_ERROR: could not create the lws context\n");
    goto done;
  }
  struct lws_context_creation_info vi;
  memset(&vi, 0, sizeof vi);
  vi.port = s.cfg.port;
  vi.iface = s.cfg.host;
  vi.protocols = srv_protocols;
  vi.vhost_name = "airlock";
  vi.options = LWS_SERVER_OPTION_DISABLE_IPV6;
  s.vh = lws_create_vhost(s.ctx, &vi);
  if (!s.vh) {
    fprintf(stderr, "error: IO_ERROR: could not listen on %s:%d (in use, or not an address here)\n",
            s.cfg.host, s.cfg.port);
    goto done;
  }
  int port = lws_get_vhost_listen_port(s.vh);
  snprintf(s.host_port, sizeof s.host_port, "%s:%d", s.cfg.host, port);
  snprintf(s.local_port, sizeof s.local_port, "localhost:%d", port);

  /* lws polls the host's completion descriptor with the sockets; a duplicate, because
   * lws closes what it adopts and the host owns the original. */
  int hfd = sess_host_fd(s.sess);
  if (hfd >= 0) {
    lws_sock_file_fd_type fd = {.filefd = fcntl(hfd, F_DUPFD_CLOEXEC, 3)};
    if (fd.filefd < 0 ||
        !lws_adopt_descriptor_vhost(s.vh, LWS_ADOPT_RAW_FILE_DESC, fd, srv_protocols[0].name, NULL)) {
      fprintf(stderr, "error: INTERNAL_ERROR: could not watch the host's descriptor\n");
      if (fd.filefd >= 0) close(fd.filefd);
      goto done;
    }
  }
  lws_sul_schedule(s.ctx, 0, &s.tick, on_tick, LWS_US_PER_SEC);
  srv_set_wake(&s, s.ctx);

  srv_ctx = s.ctx;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  /* The terminal gets the tokened URL: it is the person's own, and the line is how they
   * (and the tests) reach the page. Only argv is readable by other users, so only what
   * goes there is replaced by a one-time code. */
  char url[256];
  snprintf(url, sizeof url, "http://%s/?token=%s", s.host_port, s.token);
  printf("airlock serve: %s\n", url);
  fflush(stdout);
  if (s.cfg.open_browser) {
    if (make_token(s.code)) {
      fprintf(stderr, "airlock serve: getrandom failed (%s); open the URL yourself\n", strerror(errno));
    } else {
      s.code_live = true;
      s.code_expires = mono_now() + SRV_CODE_TTL_SEC;
      snprintf(url, sizeof url, "http://%s/?code=%s", s.host_port, s.code);
      s.opener = open_browser(url);
      if (s.opener <= 0) code_spend(&s); /* nobody was given it */
    }
  }

  while (!srv_stop)
    if (lws_service(s.ctx, 0) < 0) break;
  status = 0;
done:
  srv_ctx = NULL;
  srv_set_wake(&s, NULL);
  if (s.ctx) lws_context_destroy(s.ctx);
  sess_free(s.sess);
  pthread_mutex_destroy(&s.wake_mu);
  return status;
}
