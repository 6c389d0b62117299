/*
 * http.h: the host side of pi.http: one blocking HTTP(S) request through libcurl.
 *
 * The capability chain has already allowed the URL's host when this runs; this file
 * makes sure the request cannot go anywhere else or cost more than it was allowed:
 *   - the URL is parsed by hk_url_parse() and by libcurl, and refused if they disagree on
 *     scheme, host or port; only http and https, in the URL and in curl's protocol list;
 *   - redirects are never followed: a 3xx comes back to the plugin as it is (with its
 *     location header), and a second request to that target passes the chain again;
 *   - no proxy from the environment, no cookies, no netrc, no credentials from userinfo;
 *   - the response is capped (the transfer is aborted past max_response_bytes), the whole
 *     exchange has a deadline, and the body must be UTF-8 text (the plugin gets a string);
 *   - request header names and values are checked (no CR/LF, token names), and the ones
 *     that route or frame the request (Host, Content-Length, Transfer-Encoding,
 *     Connection, Proxy-*, ...) cannot be set by the plugin.
 * DNS is resolved by the system: a permitted name that resolves to a private address is
 * reached (see docs/security.md).
 *
 * Threading: any thread; each call uses its own curl handle. curl_global_init runs once
 * under pthread_once.
 */
#ifndef AL_HK_HTTP_H
#define AL_HK_HTTP_H

#include "common.h"

#define HK_HTTP_DEFAULT_MAX_RESPONSE ((size_t)1 << 20)

/* method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD". body (may be NULL, then
 * body_len ignored) is sent as is. headers: object {name: string} or NULL.
 * timeout_ms 0: 30000. max_response_bytes 0: HK_HTTP_DEFAULT_MAX_RESPONSE.
 * On success *resp = {status, headers: {lowercase name: value, repeated ones joined with
 * ", "}, body: string} (new reference). Errors: AL_EINVALID_ARGUMENT (method, URL,
 * headers), AL_ETIMEOUT (deadline), AL_EIO (connection, TLS, response too large, body not
 * UTF-8), each with a message naming the URL's host. */
int hk_http_request(const char *method, const char *url, const char *body, size_t body_len,
                    const json_t *headers, uint32_t timeout_ms, size_t max_response_bytes,
                    json_t **resp, al_error *err);

#endif
