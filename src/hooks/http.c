/*
 * http.c: pi.http on libcurl (http.h).
 *
 * The request is built on a CURLU handle that curl parsed itself, after checking that
 * curl's reading of scheme, host and port equals hk_url_parse()'s: the capability chain
 * decided on our reading, so a URL the two parse differently is refused rather than sent
 * to whichever host curl picked. Userinfo is removed from the handle, so credentials in
 * a URL never reach the wire.
 *
 * Everything that could make curl go further than the one request is switched off
 * explicitly, because curl's defaults come from the environment (proxies, netrc) or grow
 * with versions (protocols): no redirects, http/https only (also for redirects, should
 * that ever be turned on), no proxy, no netrc, no cookie engine, no signals (the call may
 * run on any thread). The body is collected by a write callback that aborts the transfer
 * past the cap, so a huge or endless response costs at most the cap.
 *
 * libcurl is opened with dlopen() on the first request, not linked: with its TLS, GSSAPI
 * and LDAP dependencies it is about forty libraries whose loading and constructors cost
 * some 7 ms at every process start, which every `airlock` command (a hook run for each of
 * an agent's tool calls above all) would pay whether or not a plugin ever calls pi.http.
 * The calls below go through the table `lc`, filled once under pthread_once; a system
 * without libcurl.so.4 answers pi.http with an error and runs everything else.
 *
 * Addresses: the chain approved a host NAME, not what DNS says it is, so the name is
 * resolved here, each address judged (netaddr.h), and curl told to use exactly those
 * (CURLOPT_RESOLVE). CURLOPT_RESOLVE alone would trust that curl's cache key matches ours
 * (case, trailing dot), so the open-socket callback checks the address curl is about to
 * connect to against the same list and refuses anything else: the address checked is the
 * address connected to, whatever curl resolved.
 */
#include "hooks/http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#define CURL_DISABLE_TYPECHECK /* the calls go through function pointers (lc below) */
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hooks/match.h"
#include "hooks/netaddr.h"

#define DEFAULT_TIMEOUT_MS 30000
#define HEADERS_MAX ((size_t)64 << 10)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

/* The libcurl functions used here, resolved from libcurl.so.4 by curl_init. */
static struct {
  CURLcode (*global_init)(long);
  struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
  void (*slist_free_all)(struct curl_slist *);
  CURLU *(*url)(void);
  CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
  CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
  void (*url_cleanup)(CURLU *);
  void (*free)(void *);
  CURL *(*easy_init)(void);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_perform)(CURL *);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  const char *(*easy_strerror)(CURLcode);
  void (*easy_cleanup)(CURL *);
} lc;

/* dlsym into a function pointer the POSIX way (ISO C has no void* -> function cast). */
#define LC_SYM(lib, field, name) (*(void **)(&lc.field) = dlsym(lib, name)) != NULL

static void curl_init(void) {
  void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return; /* curl_init_rc stays CURLE_FAILED_INIT */
  if (!(LC_SYM(lib, global_init, "curl_global_init") && LC_SYM(lib, slist_append, "curl_slist_append") &&
        LC_SYM(lib, slist_free_all, "curl_slist_free_all") && LC_SYM(lib, url, "curl_url") &&
        LC_SYM(lib, url_set, "curl_url_set") && LC_SYM(lib, url_get, "curl_url_get") &&
        LC_SYM(lib, url_cleanup, "curl_url_cleanup") && LC_SYM(lib, free, "curl_free") &&
        LC_SYM(lib, easy_init, "curl_easy_init") && LC_SYM(lib, easy_setopt, "curl_easy_setopt") &&
        LC_SYM(lib, easy_perform, "curl_easy_perform") && LC_SYM(lib, easy_getinfo, "curl_easy_getinfo") &&
        LC_SYM(lib, easy_strerror, "curl_easy_strerror") && LC_SYM(lib, easy_cleanup, "curl_easy_cleanup")))
    return; /* an unusable libcurl: left loaded, never called */
  curl_init_rc = lc.global_init(CURL_GLOBAL_DEFAULT);
}

/* The rest of the file calls curl by its own names (curl.h's function-like wrappers of
 * the two variadic calls give way first). */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_slist_append lc.slist_append
#define curl_slist_free_all lc.slist_free_all
#define curl_url lc.url
#define curl_url_set lc.url_set
#define curl_url_get lc.url_get
#define curl_url_cleanup lc.url_cleanup
#define curl_free lc.free
#define curl_easy_init lc.easy_init
#define curl_easy_setopt lc.easy_setopt
#define curl_easy_perform lc.easy_perform
#define curl_easy_getinfo lc.easy_getinfo
#define curl_easy_strerror lc.easy_strerror
#define curl_easy_cleanup lc.easy_cleanup

typedef struct xfer {
  char *body;
  size_t len, cap, max;
  bool too_large;
  json_t *headers; /* lowercase name -> value */
  size_t header_bytes;
} xfer;

static size_t on_body(char *data, size_t size, size_t nmemb, void *user) {
  xfer *x = user;
  size_t n = size * nmemb;
  if (x->len + n > x->max) {
    x->too_large = true;
    return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
  }
  if (x->len + n + 1 > x->cap) {
    size_t ncap = x->cap ? x->cap : 4096;
    while (ncap < x->len + n + 1) ncap *= 2;
    if (ncap > x->max + 1) ncap = x->max + 1;
    char *nb = realloc(x->body, ncap);
    if (!nb) return 0;
    x->body = nb;
    x->cap = ncap;
  }
  memcpy(x->body + x->len, data, n);
  x->len += n;
  return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user) {
  xfer *x = user;
  size_t n = size * nmemb;
  x->header_bytes += n;
  if (x->header_bytes > HEADERS_MAX) {
    x->too_large = true;
    return 0;
  }
  if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) { /* a new response (after 100 Continue) */
    json_object_clear(x->headers);
    return n;
  }
  const char *colon = memchr(data, ':', n);
  if (!colon || colon == data) return n;
  char name[256];
  size_t nn = (size_t)(colon - data);
  if (nn >= sizeof name) return n;
  for (size_t i = 0; i < nn; i++) {
    char c = data[i];
    name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  name[nn] = '\0';
  const char *v = colon + 1, *end = data + n;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
    end--;
  json_t *val = json_stringn(v, (size_t)(end - v));
  if (!val) return n; /* not UTF-8: left out */
  json_t *prev = json_object_get(x->headers, name);
  if (json_is_string(prev)) { /* repeated header: joined, as RFC 9110 allows */
    size_t pl = json_string_length(prev), vl = json_string_length(val);
    char *joined = malloc(pl + vl + 3);
    if (joined) {
      memcpy(joined, json_string_value(prev), pl);
      memcpy(joined + pl, ", ", 2);
      memcpy(joined + pl + 2, json_string_value(val), vl);
      json_object_set_new(x->headers, name, json_stringn(joined, pl + vl + 2));
      free(joined);
    }
    json_decref(val);
  } else {
    json_object_set_new(x->headers, name, val);
  }
  return n;
}

static bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Headers that decide where and how the request is framed or routed: overriding Host
 * would reach another site behind the same address than the one the chain approved, and
 * the framing ones would let a plugin smuggle a second request. curl sets them. */
static bool forbidden_header(const char *name) {
  static const char *const names[] = {"host", "content-length", "transfer-encoding",
                                      "connection", "upgrade", "te", "trailer", "expect",
                                      "keep-alive"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcasecmp(name, names[i]) == 0) return true;
  return strncasecmp(name, "proxy-", 6) == 0;
}

/* Builds the request header list; refuses names that are not tokens and values with
 * CR, LF or NUL (header injection). */
static int build_headers(const json_t *headers, struct curl_slist **out, al_error *err) {
  *out = NULL;
  if (!headers || json_is_null(headers)) goto expect;
  if (!json_is_object(headers))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "http: headers must be an object");
  const char *name;
  json_t *v;
  json_object_foreach((json_t *)headers, name, v) {
    if (!*name || strlen(name) > 200)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "http: header name '%.60s' is invalid", name);
    for (const char *p = name; *p; p++)
      if (!token_char(*p))
        return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                       "http: header name '%.60s' contains an invalid character", name);
    if (forbidden_header(name))
      return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                     "http: header '%.60s' is set by the client and may not be overridden",
                     name);
    const char *val = json_string_value(v);
    if (!val)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "http: header '%.60s' must be a string",
                     name);
    size_t vl = json_string_length(v);
    if (vl > 8192 || strlen(val) != vl || strpbrk(val, "\r\n"))
      return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                     "http: header '%.60s' has a value with CR, LF or NUL, or over 8192 bytes",
                     name);
    size_t ln = strlen(name) + vl + 3;
    char *line = malloc(ln);
    if (!line) return err_set(err, AL_ENO_MEMORY, NULL, "http: out of memory");
    /* "Name;" is curl's spelling of an empty value; "Name:" would remove the header */
    if (vl) snprintf(line, ln, "%s: %s", name, val);
    else snprintf(line, ln, "%s;", name);
    struct curl_slist *l = curl_slist_append(*out, line);
    free(line);
    if (!l) return err_set(err, AL_ENO_MEMORY, NULL, "http: out of memory");
    *out = l;
  }
expect:; /* no "Expect: 100-continue" round trip on POST */
  struct curl_slist *l = curl_slist_append(*out, "Expect:");
  if (!l) return err_set(err, AL_ENO_MEMORY, NULL, "http: out of memory");
  *out = l;
  return 0;
}

#define PIN_MAX 16 /* addresses kept from one resolution */

typedef struct pinned {
  size_t n;
  struct sockaddr_storage a[PIN_MAX];
} pinned;

/* curl's socket factory: only a connection to a checked address gets a socket. */
static curl_socket_t open_pinned(void *user, curlsocktype purpose, struct curl_sockaddr *ca) {
  const pinned *p = user;
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  for (size_t i = 0; i < p->n; i++)
    if (hk_addr_same((const struct sockaddr *)&p->a[i], &ca->addr))
      return socket(ca->family, ca->socktype, ca->protocol);
  return CURL_SOCKET_BAD;
}

/* Resolves host:port, refuses a non-public address (unless `literal_ok` and the host is
 * an IP literal), fills *p and the CURLOPT_RESOLVE entry "host:port:a1,a2,...". */
static int resolve_checked(const char *host, int port, bool literal_ok, pinned *p,
                           char *entry, size_t cap, al_error *err) {
  unsigned char tmp[16];
  bool literal = inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = literal ? AI_NUMERICHOST : 0;
  char ps[16];
  snprintf(ps, sizeof ps, "%d", port);
  int g = getaddrinfo(host, ps, &hints, &res);
  if (g) return err_set(err, AL_EIO, NULL, "http: cannot resolve '%s': %s", host, gai_strerror(g));
  int rc = 0;
  p->n = 0;
  int off = snprintf(entry, cap, "%s:%d:", host, port);
  for (struct addrinfo *ai = res; ai && !rc; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    char txt[INET6_ADDRSTRLEN] = "?";
    const void *bin = ai->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr
                                               : (const void *)&((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr;
    inet_ntop(ai->ai_family, bin, txt, sizeof txt);
    const char *why = hk_addr_special(ai->ai_addr);
    /* Every address is judged, not just the first: a name answering with one public and
     * one private address would otherwise reach the private one on a retry. */
    if (why && !(literal && literal_ok)) {
      rc = err_set(err, AL_ECAPABILITY_DENIED, NULL,
                   "http: '%s' is %s, a %s address: a grant %s does not reach it (grant the "
                   "address itself to allow it)",
                   host, txt, why, literal ? "that does not name this address" : "of a host name");
      break;
    }
    if (p->n == PIN_MAX) continue;
    bool dup = false;
    for (size_t i = 0; i < p->n; i++) dup |= hk_addr_same((struct sockaddr *)&p->a[i], ai->ai_addr);
    if (dup) continue;
    memcpy(&p->a[p->n++], ai->ai_addr, ai->ai_addrlen);
    if (off > 0 && (size_t)off < cap)
      off += snprintf(entry + off, cap - (size_t)off, ai->ai_family == AF_INET6 ? "%s[%s]" : "%s%s",
                      p->n > 1 ? "," : "", txt);
  }
  freeaddrinfo(res);
  if (!rc && !p->n) rc = err_set(err, AL_EIO, NULL, "http: '%s' has no IPv4 or IPv6 address", host);
  if (!rc && (off < 0 || (size_t)off >= cap)) rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "http: host name too long");
  return rc;
}

/* Compares curl's parse of the URL with ours. */
static int check_curl_parse(CURLU *u, const char *host, int port, bool https, al_error *err) {
  char *scheme = NULL, *chost = NULL, *cport = NULL;
  int rc = 0;
  if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
      curl_url_get(u, CURLUPART_HOST, &chost, 0) ||
      curl_url_get(u, CURLUPART_PORT, &cport, CURLU_DEFAULT_PORT)) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "http: libcurl cannot read the URL");
    goto done;
  }
  char h[HK_HOST_MAX];
  size_t hl = strlen(chost);
  const char *hs = chost;
  if (hl >= 2 && chost[0] == '[' && chost[hl - 1] == ']') hs++, hl -= 2;
  if (hl > 1 && hs[hl - 1] == '.') hl--;
  if (hl >= sizeof h) hl = sizeof h - 1;
  for (size_t i = 0; i < hl; i++)
    h[i] = (hs[i] >= 'A' && hs[i] <= 'Z') ? (char)(hs[i] - 'A' + 'a') : hs[i];
  h[hl] = '\0';
  bool same_host = strcmp(h, host) == 0;
  if (!same_host && strchr(host, ':')) { /* IPv6: compare addresses */
    unsigned char a[16], b[16];
    same_host = inet_pton(AF_INET6, h, a) == 1 && inet_pton(AF_INET6, host, b) == 1 &&
                memcmp(a, b, 16) == 0;
  }
  if (!same_host || atoi(cport) != port || strcasecmp(scheme, https ? "https" : "http") != 0)
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL,
                 "http: the URL is ambiguous (read as host '%s' here and '%.200s' by libcurl)",
                 host, chost);
done:
  curl_free(scheme);
  curl_free(chost);
  curl_free(cport);
  return rc;
}

int hk_http_request(const char *method, const char *url, const char *body, size_t body_len,
                    const json_t *headers, uint32_t timeout_ms, size_t max_response_bytes,
                    unsigned flags, json_t **resp, al_error *err) {
  if (resp) *resp = NULL;
  if (!resp || !method)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "http: method or out is NULL");
  static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
  bool method_ok = false;
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
    if (strcmp(method, methods[i]) == 0) method_ok = true;
  if (!method_ok)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "http: method '%.20s' is not GET, POST, PUT, PATCH, DELETE or HEAD", method);
  char host[HK_HOST_MAX];
  int port;
  bool https;
  int rc = hk_url_parse_ex(url, host, sizeof host, &port, &https, err);
  if (rc) return rc;
  if (!timeout_ms) timeout_ms = DEFAULT_TIMEOUT_MS;
  if (!max_response_bytes) max_response_bytes = HK_HTTP_DEFAULT_MAX_RESPONSE;
  pthread_once(&curl_once, curl_init);
  if (curl_init_rc != CURLE_OK)
    return err_set(err, AL_EINTERNAL, NULL, "http: libcurl (libcurl.so.4) could not be loaded or initialised");

  CURL *c = NULL;
  CURLU *u = NULL;
  struct curl_slist *hl = NULL, *pin = NULL;
  pinned *addrs = NULL;
  char entry[HK_HOST_MAX + 16 + PIN_MAX * (INET6_ADDRSTRLEN + 3)];
  xfer x = {0};
  x.max = max_response_bytes;
  x.headers = json_object();
  char errbuf[CURL_ERROR_SIZE] = "";
  if (!x.headers) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "http: out of memory");
    goto fail;
  }
  if ((rc = build_headers(headers, &hl, err))) goto fail;
  u = curl_url();
  c = curl_easy_init();
  if (!u || !c) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "http: out of memory");
    goto fail;
  }
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
    rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "http: libcurl does not accept the URL");
    goto fail;
  }
  if ((rc = check_curl_parse(u, host, port, https, err))) goto fail;
  if (!(addrs = calloc(1, sizeof *addrs))) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "http: out of memory");
    goto fail;
  }
  if ((rc = resolve_checked(host, port, flags & HK_HTTP_LITERAL_GRANTED, addrs, entry, sizeof entry, err)))
    goto fail;
  if (!(pin = curl_slist_append(NULL, entry))) {
    rc = err_set(err, AL_ENO_MEMORY, NULL, "http: out of memory");
    goto fail;
  }
  curl_url_set(u, CURLUPART_USER, NULL, 0);
  curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
  curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);

  curl_easy_setopt(c, CURLOPT_CURLU, u);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(c, CURLOPT_RESOLVE, pin);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_pinned);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, addrs);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "airlock/" AL_VERSION);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
  if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (strcmp(method, "GET") != 0 || body) {
    if (strcmp(method, "POST") != 0) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    if (strcmp(method, "GET") == 0) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "GET");
  }

  CURLcode cc = curl_easy_perform(c);
  if (cc != CURLE_OK) {
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    if (x.too_large)
      rc = err_set(err, AL_EIO, NULL, "http: the response from '%s' is larger than %zu bytes",
                   host, max_response_bytes);
    else if (cc == CURLE_OPERATION_TIMEDOUT)
      rc = err_set(err, AL_ETIMEOUT, NULL, "http: request to '%s' timed out after %u ms", host,
                   (unsigned)timeout_ms);
    else
      rc = err_set(err, AL_EIO, NULL, "http: request to '%s' failed: %.300s", host, why);
    goto fail;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  json_t *jbody = json_stringn(x.body ? x.body : "", x.len);
  if (!jbody) {
    rc = err_set(err, AL_EIO, NULL, "http: the response body from '%s' is not UTF-8 text", host);
    goto fail;
  }
  *resp = json_pack("{s:I,s:O,s:o}", "status", (json_int_t)status, "headers", x.headers, "body",
                    jbody);
  if (!*resp) rc = err_set(err, AL_ENO_MEMORY, NULL, "http: out of memory");
fail:
  curl_easy_cleanup(c);
  curl_url_cleanup(u);
  curl_slist_free_all(hl);
  curl_slist_free_all(pin);
  free(addrs);
  free(x.body);
  json_decref(x.headers);
  return rc;
}
