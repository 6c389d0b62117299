/*
 * match.c: URL and host-pattern parsing, path canonicalisation and path-pattern matching.
 *
 * The URL parser is deliberately narrower than WHATWG's or libcurl's: it accepts the
 * URLs plugins legitimately build and refuses every form on which parsers are known to
 * disagree, so the host it reports is the host a client connects to. Numeric hosts must
 * be plain dotted-quad (inet_pton's grammar: no octal, no hex, no fewer parts), IPv6
 * literals are compared as 16-byte addresses.
 *
 * Path canonicalisation asks the kernel (realpath) about the deepest ancestor that exists
 * and only applies "." and ".." by hand to the components below it, which do not exist and
 * so cannot be symlinks. If the remainder contained "..", the result is canonicalised once
 * more, because popping a missing component may land on an existing one that is a symlink
 * ("/a/missing/../link").
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "hooks/match.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define URL_MAX 8192

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* ---------------------------------------------------------------------------------------
 * Hosts
 * ------------------------------------------------------------------------------------- */

/* Parses "digits" (1-65535, at most 5 digits) of length n. -1 when invalid. */
static int parse_port(const char *s, size_t n) {
  if (n == 0 || n > 5) return -1;
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return (v >= 1 && v <= 65535) ? v : -1;
}

/* True when the last label is all digits or starts with 0x: WHATWG and inet_aton would
 * read such a host as an IPv4 number, so only the unambiguous dotted quad is accepted. */
static bool looks_numeric(const char *host) {
  const char *last = strrchr(host, '.');
  last = last ? last + 1 : host;
  if (last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) return true;
  if (!*last) return false;
  for (const char *p = last; *p; p++)
    if (!is_digit(*p)) return false;
  return true;
}

/* Validates and normalises a host name or IPv4/IPv6 literal (n bytes at s; an IPv6
 * literal without brackets when v6 is set) into out. `what` names the input in messages
 * ("url" or "pattern"). */
static int norm_host(const char *s, size_t n, bool v6, char *out, size_t cap, const char *what,
                     al_error *err) {
  char buf[HK_HOST_MAX];
  if (n == 0) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s: the host is empty", what);
  if (n >= sizeof buf)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s: the host is longer than %d bytes", what,
                   HK_HOST_MAX - 1);
  for (size_t i = 0; i < n; i++) buf[i] = lower(s[i]);
  buf[n] = '\0';
  if (v6) {
    unsigned char a[16];
    if (inet_pton(AF_INET6, buf, a) != 1)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s: '[%s]' is not an IPv6 address", what,
                     buf);
    if (!inet_ntop(AF_INET6, a, buf, sizeof buf))
      return err_set(err, AL_EINTERNAL, NULL, "%s: inet_ntop failed", what);
  } else {
    if (n > 1 && buf[n - 1] == '.') buf[--n] = '\0'; /* "evil.com." is "evil.com" */
    for (size_t i = 0; i < n; i++) {
      char c = buf[i];
      if (c == '%')
        return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                       "%s: percent-encoding in the host '%s' is not accepted", what, buf);
      if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '.'))
        return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                       "%s: the host '%s' contains a character that is not a letter, digit, "
                       "'-', '_' or '.'",
                       what, buf);
      if (c == '.' && (i == 0 || buf[i - 1] == '.' || i == n - 1))
        return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s: the host '%s' has an empty label",
                       what, buf);
    }
    if (n > 253)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s: the host is longer than 253 bytes",
                     what);
    if (looks_numeric(buf)) {
      unsigned char a[4];
      if (inet_pton(AF_INET, buf, a) != 1)
        return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                       "%s: numeric host '%s' is not a dotted-quad IPv4 address", what, buf);
    }
  }
  size_t len = strlen(buf);
  if (len >= cap)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "%s: the host does not fit the buffer", what);
  memcpy(out, buf, len + 1);
  return 0;
}

int hk_url_parse_ex(const char *url, char *host, size_t cap, int *port, bool *https,
                    al_error *err) {
  if (!url || !host || !port)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "url: missing (NULL)");
  size_t len = strlen(url);
  if (len > URL_MAX)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "url: longer than %d bytes", URL_MAX);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)url[i];
    if (c == '\\')
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "url: contains a backslash");
    if (c <= 0x20 || c == 0x7f)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                     "url: contains whitespace or a control character");
  }
  const char *sep = strstr(url, "://");
  size_t slen = sep ? (size_t)(sep - url) : 0;
  bool scheme_ok = sep && slen > 0;
  for (size_t i = 0; scheme_ok && i < slen; i++)
    if (!(is_alpha(url[i]) || (i > 0 && (is_digit(url[i]) || strchr("+-.", url[i])))))
      scheme_ok = false;
  if (!scheme_ok)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "url: '%.200s' does not start with http:// or https://", url);
  bool tls;
  if (slen == 4 && strncasecmp(url, "http", 4) == 0)
    tls = false;
  else if (slen == 5 && strncasecmp(url, "https", 5) == 0)
    tls = true;
  else
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "url: scheme '%.*s' is not http or https",
                   (int)(slen > 32 ? 32 : slen), url);

  const char *auth = sep + 3;
  size_t alen = strcspn(auth, "/?#");
  const char *at = NULL;
  for (size_t i = 0; i < alen; i++) {
    if (auth[i] != '@') continue;
    if (at)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "url: more than one '@' in the authority");
    at = auth + i;
  }
  const char *hp = at ? at + 1 : auth; /* userinfo dropped */
  size_t hlen = (size_t)(auth + alen - hp);
  if (hlen == 0) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "url: no host");

  const char *h = hp, *portstr = NULL;
  size_t hn, pn = 0;
  bool v6 = false;
  if (hp[0] == '[') {
    const char *close = memchr(hp, ']', hlen);
    if (!close) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "url: unclosed '[' in the host");
    h = hp + 1;
    hn = (size_t)(close - h);
    v6 = true;
    const char *rest = close + 1;
    size_t rn = (size_t)(hp + hlen - rest);
    if (rn > 0) {
      if (rest[0] != ':')
        return err_set(err, AL_EINVALID_ARGUMENT, NULL, "url: text after the IPv6 address");
      portstr = rest + 1;
      pn = rn - 1;
    }
  } else {
    const char *colon = memchr(hp, ':', hlen);
    hn = colon ? (size_t)(colon - hp) : hlen;
    if (colon) {
      portstr = colon + 1;
      pn = (size_t)(hp + hlen - portstr);
      if (memchr(portstr, ':', pn))
        return err_set(err, AL_EINVALID_ARGUMENT, NULL, "url: more than one ':' in the host");
    }
  }
  int p = tls ? 443 : 80;
  if (portstr && pn > 0) {
    p = parse_port(portstr, pn);
    if (p < 0)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "url: port '%.*s' is not 1-65535",
                     (int)(pn > 16 ? 16 : pn), portstr);
  }
  int rc = norm_host(h, hn, v6, host, cap, "url", err);
  if (rc) return rc;
  *port = p;
  if (https) *https = tls;
  return 0;
}

int hk_url_parse(const char *url, char *host, size_t cap, int *port, al_error *err) {
  return hk_url_parse_ex(url, host, cap, port, NULL, err);
}

/* A parsed host pattern. */
typedef struct host_pat {
  int scheme;    /* -1 any, 0 http, 1 https */
  int port;      /* 0 any */
  bool any;      /* "*" */
  bool sub_only; /* "*.example.com" */
  char host[HK_HOST_MAX];
} host_pat;

static bool pat_parse(const char *pattern, host_pat *hp) {
  memset(hp, 0, sizeof *hp);
  hp->scheme = -1;
  if (!pattern || !*pattern || strlen(pattern) > URL_MAX) return false;
  const char *s = pattern;
  if (strncasecmp(s, "http://", 7) == 0) {
    hp->scheme = 0;
    s += 7;
  } else if (strncasecmp(s, "https://", 8) == 0) {
    hp->scheme = 1;
    s += 8;
  } else if (strstr(s, "://")) {
    return false;
  }
  size_t n = strcspn(s, "/");
  if (s[n] == '/' && s[n + 1] != '\0') return false; /* a path in a host pattern */
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] <= 0x20 || s[i] == '\\' || s[i] == '@' || s[i] == 0x7f) return false;
  if (n == 1 && s[0] == '*') {
    hp->any = true;
    return true;
  }
  if (n > 2 && s[0] == '*' && s[1] == '.') {
    hp->sub_only = true;
    s += 2;
    n -= 2;
  }
  const char *h = s, *portstr = NULL;
  size_t hn, pn = 0;
  bool v6 = false;
  if (s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close || hp->sub_only) return false;
    h = s + 1;
    hn = (size_t)(close - h);
    v6 = true;
    size_t rn = n - (size_t)(close + 1 - s);
    if (rn > 0) {
      if (close[1] != ':') return false;
      portstr = close + 2;
      pn = rn - 1;
    }
  } else {
    const char *colon = memchr(s, ':', n);
    hn = colon ? (size_t)(colon - s) : n;
    if (colon) {
      portstr = colon + 1;
      pn = n - hn - 1;
    }
  }
  if (portstr) {
    hp->port = parse_port(portstr, pn);
    if (hp->port < 0) return false;
  }
  if (norm_host(h, hn, v6, hp->host, sizeof hp->host, "pattern", NULL)) return false;
  if (hp->sub_only && (strchr(hp->host, ':') || looks_numeric(hp->host))) return false;
  return true;
}

bool hk_host_pattern_valid(const char *pattern) {
  host_pat hp;
  return pat_parse(pattern, &hp);
}

/* 4 or 16 when s is an IPv4 / IPv6 literal (bytes into a), else 0. */
static int ip_bytes(const char *s, unsigned char a[16]) {
  if (strchr(s, ':')) return inet_pton(AF_INET6, s, a) == 1 ? 16 : 0;
  return inet_pton(AF_INET, s, a) == 1 ? 4 : 0;
}

bool hk_host_match(const char *pattern, const char *url) {
  host_pat hp;
  char host[HK_HOST_MAX];
  int port;
  bool tls;
  if (!pat_parse(pattern, &hp)) return false;
  if (hk_url_parse_ex(url, host, sizeof host, &port, &tls, NULL)) return false;
  if (hp.scheme >= 0 && hp.scheme != (int)tls) return false;
  if (hp.port && hp.port != port) return false;
  if (hp.any) return true;
  unsigned char pa[16], ua[16];
  int pk = ip_bytes(hp.host, pa), uk = ip_bytes(host, ua);
  if (pk || uk) return pk == uk && memcmp(pa, ua, (size_t)pk) == 0; /* literals: exact only */
  size_t hl = strlen(host), pl = strlen(hp.host);
  if (!hp.sub_only && hl == pl && memcmp(host, hp.host, hl) == 0) return true;
  return hl > pl + 1 && host[hl - pl - 1] == '.' && memcmp(host + hl - pl, hp.host, pl) == 0;
}

/* ---------------------------------------------------------------------------------------
 * Paths
 * ------------------------------------------------------------------------------------- */

/* Appends segment (n bytes) to the absolute path in buf (len *blen, cap PATH_MAX),
 * applying "." and "..". False when it would not fit. */
static bool seg_push(char *buf, size_t *blen, const char *seg, size_t n) {
  if (n == 0 || (n == 1 && seg[0] == '.')) return true;
  if (n == 2 && seg[0] == '.' && seg[1] == '.') {
    while (*blen > 1 && buf[*blen - 1] != '/') (*blen)--;
    if (*blen > 1) (*blen)--; /* drop the slash unless it is the root */
    buf[*blen] = '\0';
    return true;
  }
  size_t need = *blen + (*blen > 1 ? 1 : 0) + n;
  if (need >= PATH_MAX) return false;
  if (*blen > 1) buf[(*blen)++] = '/';
  memcpy(buf + *blen, seg, n);
  *blen += n;
  buf[*blen] = '\0';
  return true;
}

/* One pass: realpath of the deepest existing prefix of abs + the rest by hand.
 * *dotdot is set when the rest contained "..". */
static int canon_pass(const char *abs, char *out, bool *dotdot, al_error *err) {
  size_t n = strlen(abs);
  char *prefix = malloc(n + 1);
  if (!prefix) return err_set(err, AL_ENO_MEMORY, NULL, "path: out of memory");
  memcpy(prefix, abs, n + 1);
  size_t cut = n; /* abs[cut..] is the part not yet resolved */
  char real[PATH_MAX];
  int rc = 0;
  *dotdot = false;
  for (;;) {
    prefix[cut] = '\0';
    const char *ask = cut == 0 ? "/" : prefix;
    if (realpath(ask, real)) break;
    if (errno != ENOENT) {
      rc = err_set(err, errno == ENOTDIR ? AL_EINVALID_ARGUMENT : AL_EIO, NULL,
                   "path: cannot resolve '%.300s': %s", ask, strerror(errno));
      goto done;
    }
    if (cut == 0) {
      rc = err_set(err, AL_EIO, NULL, "path: cannot resolve '/'");
      goto done;
    }
    while (cut > 0 && abs[cut - 1] == '/') cut--; /* trailing slashes of this prefix */
    while (cut > 0 && abs[cut - 1] != '/') cut--; /* its last component */
  }
  size_t blen = strlen(real);
  memcpy(out, real, blen + 1);
  for (const char *s = abs + cut; *s;) {
    while (*s == '/') s++;
    size_t sn = strcspn(s, "/");
    if (sn == 2 && s[0] == '.' && s[1] == '.') *dotdot = true;
    if (!seg_push(out, &blen, s, sn)) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "path: longer than %d bytes", PATH_MAX - 1);
      goto done;
    }
    s += sn;
  }
done:
  free(prefix);
  return rc;
}

int hk_path_canon(const char *path, char **out, al_error *err) {
  if (out) *out = NULL;
  if (!path || !out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "path: missing (NULL)");
  if (!*path) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "path: empty");
  size_t n = strlen(path);
  if (n >= PATH_MAX)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "path: longer than %d bytes", PATH_MAX - 1);
  char abs[PATH_MAX * 2];
  if (path[0] == '/') {
    memcpy(abs, path, n + 1);
  } else {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
      return err_set(err, AL_EIO, NULL, "path: no working directory: %s", strerror(errno));
    snprintf(abs, sizeof abs, "%s/%s", cwd, path);
  }
  char a[PATH_MAX], b[PATH_MAX];
  bool dotdot;
  int rc = canon_pass(abs, a, &dotdot, err);
  if (rc) return rc;
  if (dotdot) { /* "/a/missing/../link": the popped result may reach a symlink */
    rc = canon_pass(a, b, &dotdot, err);
    if (rc) return rc;
    memcpy(a, b, strlen(b) + 1);
  }
  *out = strdup(a);
  return *out ? 0 : err_set(err, AL_ENO_MEMORY, NULL, "path: out of memory");
}

/* Expands a leading $PLUGIN_DATA / $HOME / $CWD of s into buf. 1 expanded or nothing to
 * expand, 0 variable unset or unknown, -1 too long. */
static int expand_vars(const char *s, const hk_path_vars *vars, char *buf, size_t cap) {
  static const char *const names[] = {"$PLUGIN_DATA", "$HOME", "$CWD"};
  if (s[0] != '$') {
    if (strlen(s) >= cap) return -1;
    memcpy(buf, s, strlen(s) + 1);
    return 1;
  }
  for (int i = 0; i < 3; i++) {
    size_t nl = strlen(names[i]);
    if (strncmp(s, names[i], nl) != 0 || (s[nl] != '\0' && s[nl] != '/')) continue;
    const char *v = !vars ? NULL : i == 0 ? vars->plugin_data : i == 1 ? vars->home : vars->cwd;
    if (!v || v[0] != '/') return 0;
    int w = snprintf(buf, cap, "%s%s", v, s + nl);
    return (w < 0 || (size_t)w >= cap) ? -1 : 1;
  }
  return 0;
}

int hk_path_resolve(const char *path, const hk_path_vars *vars, char **out, al_error *err) {
  if (out) *out = NULL;
  if (!path || !out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "path: missing (NULL)");
  if (!*path) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "path: empty");
  char buf[PATH_MAX], joined[PATH_MAX];
  int e = expand_vars(path, vars, buf, sizeof buf);
  if (e == 0)
    return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                   "path: '%.200s' uses a variable that is unknown or not set here", path);
  if (e < 0) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "path: too long");
  const char *p = buf;
  if (buf[0] != '/') {
    if (!vars || !vars->cwd || vars->cwd[0] != '/')
      return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                     "path: '%.200s' is relative and no working directory is set", path);
    int w = snprintf(joined, sizeof joined, "%s/%s", vars->cwd, buf);
    if (w < 0 || (size_t)w >= sizeof joined)
      return err_set(err, AL_EINVALID_ARGUMENT, NULL, "path: too long");
    p = joined;
  }
  return hk_path_canon(p, out, err);
}

/* Splits "X/" + "**" into base X and subtree=true. Returns false for a malformed pattern
 * (relative after expansion, "**" anywhere else). */
static bool path_pat_split(const char *pattern, const hk_path_vars *vars, char *base, size_t cap,
                           bool *subtree) {
  if (!pattern || !*pattern) return false;
  if (expand_vars(pattern, vars, base, cap) != 1 || base[0] != '/') return false;
  size_t n = strlen(base);
  *subtree = n >= 3 && strcmp(base + n - 3, "/**") == 0;
  if (*subtree) {
    n -= 3;
    base[n > 0 ? n : 1] = '\0';
    if (n == 0) base[0] = '/';
  }
  return strstr(base, "**") == NULL;
}

bool hk_path_pattern_valid(const char *pattern) {
  static const hk_path_vars fake = {"/plugin-data", "/home", "/cwd"};
  char base[PATH_MAX];
  bool subtree;
  return path_pat_split(pattern, &fake, base, sizeof base, &subtree);
}

/* True when canon is dir itself or below it, by whole segments. */
static bool under(const char *canon, const char *dir) {
  size_t dl = strlen(dir);
  if (dl == 1 && dir[0] == '/') return canon[0] == '/';
  return strncmp(canon, dir, dl) == 0 && (canon[dl] == '\0' || canon[dl] == '/');
}

bool hk_path_match(const char *pattern, const char *canon, const hk_path_vars *vars) {
  if (!canon || canon[0] != '/') return false;
  char base[PATH_MAX];
  bool subtree;
  if (!path_pat_split(pattern, vars, base, sizeof base, &subtree)) return false;
  char *cb = NULL;
  if (hk_path_canon(base, &cb, NULL)) return false;
  bool special = under(canon, "/proc") || under(canon, "/sys") || under(canon, "/dev");
  bool ok;
  if (special || !subtree)
    ok = !subtree && strcmp(cb, canon) == 0;
  else
    ok = under(canon, cb);
  free(cb);
  return ok;
}
