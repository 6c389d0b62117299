/*
 * wants.h: pi packages at install time: which files make one (the pi rule, shared with
 * the host's loader) and what its code asks to do (its "wants"), read off its sources
 * with preflight's tokenizer (pf_lex.h) before any of it runs.
 *
 * The wants are what `airlock plugin install` shows the user before the package is
 * enabled ("wants: exec git *, fs_write $CWD/<all>, network api.example.com"), in exactly
 * the form the capability chain matches (hooks/capability.h), so that granting one as
 * shown is a grant of what the code asked for and nothing else ($CWD/<all> stands for
 * "$CWD/" followed by two stars, which a C comment cannot spell):
 *
 *   code                                          want
 *   pi.exec("git", [...])                         exec  git *
 *   execSync("ls -l") / exec("ls -l")             exec  sh -c 'ls -l'   (the runtime runs sh -c CMD)
 *   execFile("git", [...]) / execFileSync /
 *     spawnSync / spawn                           exec  git *
 *   createBashTool(...) and its kin               exec  bash -c *       (broad)
 *   readFileSync("a.txt") and the other reads     fs_read  $CWD/a.txt   (absolute paths kept)
 *   writeFileSync / writeFile / appendFile*       fs_write the path
 *   fetch("https://api.example.com/v1")           network  api.example.com
 *   process.env.NAME / process.env["NAME"]        env_vars NAME
 *
 * A non-literal argument gives the widest pattern of its kind, flagged `broad`: exec `*`
 * (pi.exec, execFile...) or `sh -c *` (execSync: a shell, so any command), fs `$CWD/` + `**` (written $CWD/<all> below),
 * network `*`, env_vars `*`. Node's child_process and fs names count only in a file that
 * names the module (an import or a require of "child_process" / "fs" / "fs/promises",
 * with or without "node:"), so a RegExp's `re.exec(s)` or a local `readFile` helper in a
 * file that never touches fs is not a want; pi.exec is pi's own and always counts. A want
 * is derived from a direct call; a command built elsewhere and passed in a variable is
 * the non-literal case.
 *
 * Bounded: the token walk is linear and keeps no stack; a package's tree is walked with
 * an explicit stack to PKG_WANTS_MAX_DEPTH levels, at most PKG_WANTS_MAX_FILES files of
 * at most PKG_WANTS_MAX_FILE bytes each, and at most PKG_WANTS_MAX wants are kept (the
 * rest are counted as dropped, never silently granted).
 *
 * Threading: pure functions over their arguments and the files named.
 */
#ifndef AL_PKG_WANTS_H
#define AL_PKG_WANTS_H

#include "common.h"

#define PKG_WANTS_MAX 256
#define PKG_WANTS_MAX_FILES 2000u
#define PKG_WANTS_MAX_DEPTH 16
#define PKG_WANTS_MAX_FILE ((size_t)4 << 20)

/* The capabilities a pi grant may name (the pi runtime's hostcalls check these). */
bool pkg_wants_cap_known(const char *cap);

/* Adds the wants of one source file (`src`, `len` bytes; `file` its name for the
 * locations) to `wants`, an array of {cap, pattern, broad, file, line, column}, keeping
 * the first occurrence of each (cap, pattern) and the order found. *dropped (may be
 * NULL) counts wants over PKG_WANTS_MAX. 0 or AL_ENO_MEMORY (wants then holds what was
 * added before). Borrowed arguments. */
int pkg_wants_scan(const char *file, const char *src, size_t len, json_t *wants, size_t *dropped,
                   al_error *err);

/* The wants of every .ts/.js/.mjs/.cjs/.mts/.cts/.tsx/.jsx file under `dir` (.d.ts,
 * node_modules and dot-folders left out), files in name order: *out (new reference) =
 * {wants: [...], files: N, dropped: N}. With `preflight` non-NULL each file is also
 * scanned by preflight's pi profile (preflight.h): *preflight = {blocked, findings},
 * each finding with its "file" and its message prefixed "FILE: ". Links are not
 * followed. 0, AL_ENO_MEMORY, or AL_EIO naming a file that could not be read. */
int pkg_wants_dir(const char *dir, json_t **out, json_t **preflight, al_error *err);

/* Whether `dir` is a pi package for install: no airlock.json, no "airlock" object in its
 * package.json, and at least one extension entry (pkg_pi_entries). 1 yes, 0 no, or a
 * negated AL_E* code with err filled: -AL_ENO_MEMORY, -AL_EINVALID_ARGUMENT (a
 * package.json that is not JSON, named with its line), so that neither is mistaken for
 * "not a pi package". On 1, what it read is handed over when asked for (either may be
 * NULL): *pkgjson the package.json (NULL when there is none), *entries the entries (new
 * references); on anything else both are NULL. */
int pkg_pi_package(const char *dir, json_t **pkgjson, json_t **entries, al_error *err);

/* `dir`'s package.json: *out (new reference) the parsed object, or NULL when there is
 * none; AL_ENO_MEMORY, or AL_EINVALID_ARGUMENT naming the file and line of a JSON error.
 * The one reader the pi rule's callers use, so running out of memory is never read as a
 * package without a package.json. */
int pkg_pi_package_json(const char *dir, json_t **out, al_error *err);

/* The pi rule (docs/pi-extensions.md): a pi package's extension entries, relative to
 * `dir`, in load order: its package.json (`pkgjson`, may be NULL) `pi.extensions`
 * list, else every module in its extensions/ folder (and extensions/<name>/index.*),
 * else its index.ts / index.js / index.mjs. *out (new reference) a non-empty array of
 * strings; AL_EPLUGIN_LOAD when there is none, AL_ENO_MEMORY. The host's loader and the
 * installer both use this one rule. */
int pkg_pi_entries(const char *dir, const json_t *pkgjson, json_t **out, al_error *err);

/* Whether `name` is a module file of a pi extension (.ts, .js, .mjs). */
bool pkg_pi_module_file(const char *name);

/* The text of a wants list for people: "exec git *, fs_write $CWD/<all>" (malloc; NULL when
 * out of memory; "" for none). */
char *pkg_wants_text(const json_t *wants);

#endif
