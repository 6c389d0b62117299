/*
 * preflight.h: the scan that runs on a plugin's source before it is evaluated
 * (hooks-and-security.md sec. 5). A real tokenizer decides what is code: comments,
 * string literals, template literal text (but not the code inside `${}`, at any depth)
 * and regular-expression literals are not, and whether `/` starts a regex or divides is
 * decided by the previous significant token, as the ECMAScript grammar does. Findings are
 * then matched on tokens, so `retrieval(` never matches `eval(` and a pattern in a
 * comment never counts, while a destructive string passed to any call does.
 *
 * Pure and thread-safe.
 */
#ifndef AL_PKG_PREFLIGHT_H
#define AL_PKG_PREFLIGHT_H

#include "common.h"
#include "pkg/manifest.h"

/* Scans `src` (`len` bytes). *report (new reference, on success) is
 *   {blocked: bool, findings: [{rule, severity: "warn"|"block", line, column, message,
 *                               remediation, allowed?: true}]}
 * in source order; line and column are 1-based (column counts bytes). A blocking finding
 * whose pattern is listed in the manifest's preflight.allow is reported with
 * `allowed: true` and does not block. `manifest` may be NULL (no capabilities, nothing
 * allowed). Returns 0 (also when blocked: the caller decides), or AL_ENO_MEMORY. An
 * unterminated string/comment/template is not an error: the scan reports it as a warn
 * finding and the engine will reject the code anyway. */
int pkg_preflight(const char *src, size_t len, const pkg_manifest *manifest, json_t **report,
                  al_error *err);

/* The same scan under a plugin profile. NULL is Airlock's own contract (pkg_preflight,
 * the spec's rule: a destructive string passed to any call blocks). "pi": a pi extension,
 * which has Node's modules and a command runner of its own, so
 *   - a destructive string blocks only as an argument of a command sink: pi.exec, exec,
 *     execSync, execFile, execFileSync, spawn, spawnSync, anything called on
 *     child_process, or a command-running tagged template ($`...`, sh`...`); looking
 *     through array literals, so pi.exec("sh", ["-c", "rm -rf /"]) blocks. Anywhere else
 *     (`cmd.includes("rm -rf")` in a guard) it is a warn finding;
 *   - require, process, child_process, fetch and pi.* are no findings (they exist);
 *   - preflight.allow does not apply (a pi extension has no manifest).
 * A command built in a variable and passed later is not followed (no data flow); the
 * exec capability still decides on the command line when it runs. Other profiles:
 * AL_EINVALID_ARGUMENT. */
int pkg_preflight_profile(const char *src, size_t len, const pkg_manifest *manifest, const char *profile,
                          json_t **report, al_error *err);

/* For a report with blocked: true, fills err with AL_EPREFLIGHT_BLOCKED and the message
 * "preflight blocked the plugin: <rule> at L:C; ..." and returns that code; returns 0 for
 * a report that does not block. */
int pkg_preflight_error(const json_t *report, al_error *err);

#endif
