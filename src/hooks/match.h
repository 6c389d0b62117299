/*
 * match.h: the resource half of the capability chain: does a host pattern cover a URL,
 * does a path pattern cover a path.
 *
 * Both sides are normalised before they are compared, because every bypass of this kind
 * of check is a disagreement between the string the checker looked at and the thing the
 * operating system or the HTTP client acts on.
 *
 * URLs: only http and https. The parser refuses what two parsers could read differently
 * instead of guessing: backslashes, whitespace and control characters anywhere, more than
 * one '@' in the authority, percent-encoding or non-ASCII in the host, empty labels,
 * numeric hosts that are not plain dotted-quad IPv4 (2130706433, 0x7f.1, 0177.0.0.1),
 * ports outside 1-65535. The host is lowercased and one trailing dot dropped; userinfo,
 * path, query and fragment are ignored. hk_http_request() parses with libcurl as well and
 * refuses a URL on which the two disagree.
 *
 * Host patterns: "example.com" (that host and every subdomain, never "notexample.com" or
 * "example.com.attacker.net"), "*.example.com" (subdomains only), "*" (any host),
 * "example.com:8443" (that port only; without a port any port), "http://example.com" or
 * "https://..." (that scheme only), and IP literals "10.0.0.1", "[::1]", "[::1]:8080",
 * which match only the same address (IPv6 compared as addresses, so "[0:0::1]" is
 * "[::1]"); an IP literal never matches by suffix.
 *
 * Paths: hk_path_canon() makes a canonical absolute path (symlinks and ".." resolved
 * through the deepest existing ancestor, the rest normalised) so that a file that does
 * not exist yet can be checked before it is written. Patterns may start with $PLUGIN_DATA,
 * $HOME or $CWD; after expansion they are canonicalised the same way. A pattern whose
 * last segment is "**" covers the directory before it and everything under it, compared
 * by whole segments (the subtree of /data never covers /database); any other pattern
 * covers exactly one path. Anything under /proc, /sys or /dev is covered only by a
 * pattern naming exactly that path, never by a subtree pattern (the subtree of "/" does
 * not reach /proc/self/mem).
 *
 * Threading: every function is reentrant; none keeps state.
 */
#ifndef AL_HK_MATCH_H
#define AL_HK_MATCH_H

#include "common.h"

/* Longest host name we accept (DNS: 253) plus room for an IPv6 literal; with the NUL. */
#define HK_HOST_MAX 256

/* Parses an http(s) URL. On success copies the normalised host (lowercase, no trailing
 * dot, IPv6 without brackets) into host (capacity cap; HK_HOST_MAX suffices) and stores
 * the effective port (explicit, else 80/443) in *port. `https` (may be NULL) receives
 * whether the scheme is https. Errors: AL_EINVALID_ARGUMENT with a message naming what was
 * wrong ("url: scheme 'ftp' is not http or https"). err may be NULL. */
int hk_url_parse(const char *url, char *host, size_t cap, int *port, al_error *err);
int hk_url_parse_ex(const char *url, char *host, size_t cap, int *port, bool *https,
                    al_error *err);

/* True when `pattern` (syntax above) covers `url`. A URL or pattern that does not parse
 * matches nothing. Both borrowed; NULL matches nothing. */
bool hk_host_match(const char *pattern, const char *url);

/* Whether a host pattern / path pattern is well formed (what policy and manifest
 * validation use to name a bad entry instead of letting it silently match nothing). */
bool hk_host_pattern_valid(const char *pattern);
bool hk_path_pattern_valid(const char *pattern);

/* Where $PLUGIN_DATA, $HOME and $CWD point (each may be NULL: a pattern or path using an
 * unset variable matches nothing / is refused). Borrowed; must outlive the call. */
typedef struct hk_path_vars {
  const char *plugin_data, *home, *cwd;
} hk_path_vars;

/* Canonical absolute form of `path`: the realpath of its deepest existing ancestor plus
 * the remaining segments with "." and ".." applied (a ".." after a missing component
 * cannot climb back through a symlink, because nothing past the ancestor exists).
 * A relative path is taken relative to the process's working directory. *out is
 * malloc()ed, free with free(). Errors: AL_EINVALID_ARGUMENT (empty, NUL-free but longer
 * than PATH_MAX, a component that exists but is not a directory), AL_EIO (realpath). */
int hk_path_canon(const char *path, char **out, al_error *err);

/* Resolves a path as a plugin wrote it: a leading $PLUGIN_DATA / $HOME / $CWD is
 * expanded, a relative path is joined to vars->cwd (refused when cwd is NULL), then
 * hk_path_canon(). This is what the host calls before hk_decide() and the hk_fs_*
 * operations, which all expect the canonical form. *out malloc()ed. */
int hk_path_resolve(const char *path, const hk_path_vars *vars, char **out, al_error *err);

/* True when `pattern` covers `canon` (a path from hk_path_canon / hk_path_resolve).
 * vars may be NULL (no variables). */
bool hk_path_match(const char *pattern, const char *canon, const hk_path_vars *vars);

#endif
