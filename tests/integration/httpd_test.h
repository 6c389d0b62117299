/*
 * httpd_test.h: a tiny HTTP/1.1 server for tests, on 127.0.0.1 and a port the kernel
 * picks (bind to port 0). It answers canned responses by exact request path (query
 * ignored) and remembers the last request, so a test can check both what its client sent
 * and how the client handled the answer. One request per connection (it always answers
 * "Connection: close"); unknown paths get 404. Each connection is served by its own
 * thread, so a delayed or held response never holds up another request: a test of
 * concurrent hostcalls (or the 100-request benchmark) sees the latency it asked for, once.
 *
 * Not a general server: no chunked request bodies, no keep-alive, no TLS. Never listens
 * on anything but loopback.
 *
 * Threading: the functions may be called from the test thread while the server's threads
 * run; a mutex guards routes, connections and the recorded request.
 */
#ifndef AL_HTTPD_TEST_H
#define AL_HTTPD_TEST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct httpd_test httpd_test;

/* Starts the server. 0 on success, -1 on failure (errno set). */
int httpd_test_start(httpd_test **out);
/* Stops the thread (interrupting a delayed response) and frees everything. NULL ok. */
void httpd_test_stop(httpd_test *s);
int httpd_test_port(const httpd_test *s);

/* Serves `status` with `headers` ("Name: value\r\n" lines, may be NULL) and body_len
 * bytes of `body` (copied; NULL with body_len > 0: that many 'x' bytes) for `path`, after
 * `delay_ms` (cut short when the client hangs up). A later route for the same path replaces it.
 * delay_ms HTTPD_TEST_HOLD: the response waits until httpd_test_release() (or the client
 * hangs up, or the server stops), so a test decides when an answer arrives by what it
 * observed, not by the clock. */
#define HTTPD_TEST_HOLD 0xFFFFFFFFu
void httpd_test_route(httpd_test *s, const char *path, int status, const char *headers,
                      const char *body, size_t body_len, unsigned delay_ms);
/* Lets every held response go, those waiting now and any later one (one-shot: held routes
 * answer at once from then on). */
void httpd_test_release(httpd_test *s);

/* The last request seen: method, path (with query), raw header block and body, each
 * copied into a malloc()ed string the caller frees (any out may be NULL). False when no
 * request was seen yet. */
bool httpd_test_last(httpd_test *s, char **method, char **path, char **headers, char **body);
/* Requests received so far (counted on arrival, before they are answered). */
unsigned httpd_test_count(httpd_test *s);

#endif
