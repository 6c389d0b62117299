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
 *   - the host name is resolved here (getaddrinfo) and every address is checked
 *     (netaddr.h): loopback, private, link-local, CGNAT, unspecified, metadata and other
 *     non-public addresses are refused unless the URL names that address literally and
 *     the caller says the plugin's grant names it (HK_HTTP_LITERAL_GRANTED); curl is then
 *     pinned to the checked addresses (CURLOPT_RESOLVE) and its socket callback refuses
 *     to connect anywhere else, so a second DNS answer cannot change the destination.
 *     getaddrinfo itself does not honour timeout_ms (the system resolver's own limits).
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
 * headers), AL_ECAPABILITY_DENIED (a non-public address, naming it and its class),
 * AL_ETIMEOUT (deadline), AL_EIO (name not resolved, connection, TLS, response too large,
 * body not UTF-8), each with a message naming the URL's host. */
/* flags for hk_http_request */
#define HK_HTTP_LITERAL_GRANTED 1u /* an IP-literal URL host is named by the plugin's grant */

int hk_http_request(const char *method, const char *url, const char *body, size_t body_len,
                    const json_t *headers, uint32_t timeout_ms, size_t max_response_bytes,
                    unsigned flags, json_t **resp, al_error *err);

#endif
