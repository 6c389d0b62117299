/*
 * server.h: `airlock serve`'s HTTP + WebSocket server (libwebsockets).
 *
 * One lws service thread is also the host thread: it serves the page's static files,
 * carries the protocol's JSON messages to and from the session (session.h), and wakes on
 * the host's completion descriptor, which lws polls alongside the sockets (adopted as a
 * raw file), to run answered calls' callbacks. No other thread calls lws or the host.
 *
 * Security, all checked before anything else happens: the listener binds loopback unless
 * told otherwise; `Host` must be the bound host:port (or localhost:port) and `Origin`,
 * when sent, `http://` + that Host; the WebSocket upgrade must carry the per-run random
 * token (compared in constant time). The token is printed on the terminal but never put
 * on a command line: the browser opener gets `/?code=C`, a one-time code (one page load,
 * within 60 s) whose page carries the token in a <meta>; a spent, expired or unknown code
 * is refused with a 403 that says so (server.c). Every response carries
 * `Content-Security-Policy: default-src 'self'`, `X-Content-Type-Options: nosniff` and
 * `Cache-Control: no-store`. Refusals are 403s.
 */
#ifndef AL_SERVER_SERVER_H
#define AL_SERVER_SERVER_H

#include <stdbool.h>

#include "airlock.h"

typedef struct srv_config {
  const char *host;       /* address to bind, default "127.0.0.1" */
  int port;               /* 0: a free port */
  bool allow_remote;      /* permit a non-loopback host (prints a warning) */
  bool open_browser;      /* run xdg-open on the URL when a display exists */
  const char *home;       /* tabs and the host database (pi.kv) live here; NULL: neither */
  const char *policy_json; /* capability policy JSON (docs/security.md); NULL: default deny */
  const char *web_dir;    /* serve web/ from this directory (development); NULL: embedded */
  al_isolation isolation;
  unsigned workers;
} srv_config;

/* Serves until SIGINT or SIGTERM. Prints "airlock serve: http://HOST:PORT/?token=T" on
 * stdout (flushed) once listening, then, with open_browser and a display, runs xdg-open (or
 * $AIRLOCK_OPENER) on "http://HOST:PORT/?code=C". Returns the process exit status. */
int srv_run(const srv_config *cfg);

#endif
