/*
 * airlock_pkg.h: installed packages and the operator's tools, for front ends.
 *
 * airlock.h runs plugins; this header manages what is installed for them and answers the
 * questions an operator asks of a machine. It is what the `airlock` command and the
 * workbench are built on, so that they need nothing from the library's sources: the host
 * database of a home directory (install, list, info, enable, disable, remove, settings),
 * a package directory's manifest and its preflight, the doctor's checks, the home's audit
 * trail, the environment's kill switches, the sandbox layers this machine gives a worker,
 * and terminal escaping for text a plugin wrote.
 *
 * Conventions are airlock.h's: functions return 0 or a negative AL_E* code and fill the
 * optional `al_error *err`; `char **` outputs are JSON text freed with al_free(), set to
 * NULL on failure; every typed result names the function that frees it, and freeing
 * NULL is harmless.
 *
 * Records are typed structs (a list entry, an install's options, a doctor's check, the
 * sandbox layers); what is a JSON document already (a manifest, an install's report, a
 * preflight report, the audit trail, a package's settings) crosses as JSON text, as it is
 * stored and printed.
 *
 * Home directory
 *   A home holds airlock.db (the host database, SQLite in WAL mode) and packages/<id>/ (the
 *   installed files); al_config.home names the same directory to a host, which then loads
 *   these packages (al_load_package) and keeps pi.kv data there. Several processes may use
 *   one home at once; writes are serialised by SQLite's locking.
 *
 * Threading
 *   An al_pkg_db may be used from several threads at once (one connection, guarded by a
 *   mutex), except al_pkg_install: one install at a time per home. Functions that read
 *   the environment (al_pkg_settings with AL_PKG_SETTINGS_RESOLVED, al_switches_env) must
 *   not run while another thread calls setenv(). The rest are pure or touch only their
 *   arguments and the files named.
 */
#ifndef AIRLOCK_PKG_H
#define AIRLOCK_PKG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "airlock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------
 * The host database of a home directory
 * ------------------------------------------------------------------------------------- */

typedef struct al_pkg_db al_pkg_db;

/* Opens the database of `home` (a directory, created 0700 with missing parents if absent).
 * On success *out is closed with al_pkg_close(). AL_EIO naming the path and the reason. */
AL_API int al_pkg_open(const char *home, al_pkg_db **out, al_error *err);
/* NULL harmless. */
AL_API void al_pkg_close(al_pkg_db *db);

/* One installed package, as the database records it. Every string is owned by the
 * record (freed with it) and NUL-terminated. */
typedef struct al_pkg_record {
  char *id;                /* the manifest id: what plugins, settings and kv data are keyed by */
  char *version;
  char *dir;               /* where its files are (normally <home>/packages/<id>) */
  char *name;              /* package.json "name" (else the id); NULL for a package
                              recorded before names were kept */
  int enabled;             /* 0 or 1: a disabled package is not loaded */
  int64_t installed_at_ms; /* wall clock, ms since the epoch */
  char *manifest_json;     /* the whole validated manifest recorded at install; "null"
                              when the stored text no longer parses */
  char *verification_json; /* what the install verified {integrity, registry, publisher,
                              required} (docs/packages.md "Signatures"); NULL for a package
                              recorded before verifications were kept */
  char *pi_json;           /* a pi package: {profile: "pi", wants: [{cap, pattern, broad,
                              file, line, column}], granted: {cap: [patterns]}}; NULL for
                              an Airlock package */
} al_pkg_record;

/* Every installed package, by id: *out (NULL when none) holds *count records, freed with
 * al_pkg_records_free(*out, *count). */
AL_API int al_pkg_list(al_pkg_db *db, al_pkg_record **out, size_t *count, al_error *err);
/* The package `id`: *out freed with al_pkg_record_free(). Unknown id: AL_EINVALID_ARGUMENT
 * "no package 'x' is installed". */
AL_API int al_pkg_get(al_pkg_db *db, const char *id, al_pkg_record **out, al_error *err);
/* NULL harmless. */
AL_API void al_pkg_record_free(al_pkg_record *rec);
AL_API void al_pkg_records_free(al_pkg_record *recs, size_t count);

/* Signature requirements (a mask; 0: none required). */
enum {
  AL_PKG_SIGREQ_REGISTRY = 1u,  /* npm's registry signature must verify */
  AL_PKG_SIGREQ_PUBLISHER = 2u, /* a publisher's ssh-keygen signature must verify */
  AL_PKG_SIGREQ_ANY = 4u        /* at least one of the two must */
};
/* Adds the requirement `text` ("none", "registry", "publisher" or "any") to *mask.
 * Anything else: AL_EINVALID_ARGUMENT, the message naming `from` (the flag or variable
 * the text came from; borrowed, may be NULL). */
AL_API int al_pkg_sigreq_parse(const char *text, const char *from, unsigned *mask,
                               al_error *err);

/* What an install may do and must check. Zero-initialise for "nothing allowed, nothing
 * required". Strings are borrowed for the call. */
typedef struct al_pkg_install_opts {
  int replace;         /* another package holds the id: take it (its settings and kv data
                          are dropped, never inherited) */
  int allow_downgrade; /* the same package at a higher version is installed: install this
                          lower one (its settings and kv data are kept) */
  unsigned require_signature; /* AL_PKG_SIGREQ_* mask; not met: the install is refused */
  /* A publisher signature over the tarball (ssh-keygen -Y sign -n airlock-package) and the
   * allowed signers file it is checked against, both or neither; signer_identity (NULL:
   * the one the file names) the principal. A signature given must verify. */
  const char *signature, *signers, *signer_identity;
  /* npm's registry keys (<registry>/-/npm/v1/keys), needed only when the registry offers
   * a signature: read from this file when set, else (fetch_registry_keys nonzero) fetched
   * over HTTPS through pi.http's client (public addresses only, no redirects, 1 MiB,
   * 30 s), else there are none and the registry signature is "failed: no-keys". */
  const char *registry_keys_file;
  int fetch_registry_keys;
  /* pi packages (no Airlock manifest; docs/packages.md "pi packages"): the capabilities
   * their code asks for (wants) are derived at install, and what is granted of them is
   * decided here: pi_ask, when set, is asked per want (cap, pattern, broad: the pattern
   * is the widest of its kind because the code's argument is not a literal) and returns
   * 1 to grant the pattern in out (out_cap bytes, holding the want's pattern on entry, so
   * the callee may narrow it), 0 to deny, negative to cancel the install; else
   * pi_grant_all nonzero grants every want, zero none. Then every pi_allow entry
   * ("CAP=PATTERN", pi_nallow of them) is granted too. The report says what was granted. */
  int (*pi_ask)(void *user, const char *cap, const char *pattern, int broad, char *out, size_t out_cap);
  void *pi_ask_user;
  int pi_grant_all;
  const char *const *pi_allow;
  size_t pi_nallow;
} al_pkg_install_opts;

/* Installs `what`: a package directory, a .tgz/.tar.gz/.tar file, or an npm package spec
 * (`name`, `@scope/name`, `name@version`, each optionally prefixed "npm:", fetched with
 * `npm pack`). The manifest is validated, engines.airlock checked and preflight run on the
 * entry before anything is moved into place; a refusal leaves nothing behind. `opts` may
 * be NULL. On success the package is recorded, enabled, and *report_json (may be NULL if
 * not wanted) is {id, name, version, dir, source, preflight, warnings[], verification},
 * plus replaced: {name, version} when another package's record was replaced and
 * downgradedFrom when a higher version was; a pi package's adds profile: "pi", entries,
 * wants and granted (its preflight is the pi profile's, over every source file). Errors: AL_EINVALID_ARGUMENT (a bad manifest,
 * a takeover or downgrade not allowed, a signature requirement not met: "Refused ..."),
 * AL_EPREFLIGHT_BLOCKED, AL_EPLUGIN_LOAD (engines.airlock), AL_EIO. One install at a time
 * per home. */
AL_API int al_pkg_install(al_pkg_db *db, const char *what, const al_pkg_install_opts *opts,
                          char **report_json, al_error *err);

/* Grants (revoke zero) or revokes one capability pattern of the installed pi package
 * `id` (cap: exec, fs_read, fs_write, network, env_vars); its extensions load with the
 * new grant from their next load on. *granted_json (may be NULL) = the grant after the
 * change ({cap: [patterns]}; al_free). Errors: AL_EINVALID_ARGUMENT (unknown id, an
 * Airlock package, an invalid pattern, a revoke of what is not granted). */
AL_API int al_pkg_pi_grant(al_pkg_db *db, const char *id, const char *cap, const char *pattern, int revoke,
                           char **granted_json, al_error *err);

/* Enables (enabled nonzero) or disables package `id`. Unknown id: AL_EINVALID_ARGUMENT. */
AL_API int al_pkg_enable(al_pkg_db *db, const char *id, int enabled, al_error *err);

/* Forgets package `id` with its kv data and settings, then deletes its directory when it
 * lies under <home>/packages/ (a package recorded elsewhere keeps its files), and its
 * @scope directory when that is left empty. Unknown id: AL_EINVALID_ARGUMENT. */
AL_API int al_pkg_remove(al_pkg_db *db, const char *id, al_error *err);

/* Settings: the manifest recorded at install is the schema. */
enum {
  AL_PKG_SETTINGS_STORED = 0,  /* the stored overrides of declared settings only */
  AL_PKG_SETTINGS_RESOLVED = 1 /* what the plugin reads with pi.getConfig: the override,
                                  else the environment variable the schema names (read
                                  from this process's environment), else the default */
};
/* Package `id`'s settings as a JSON object {key: value} in the schema's order. A setting
 * marked secret has the value "(secret)" whenever it has one: secrets never leave the
 * library through this call. `which`: AL_PKG_SETTINGS_*. Unknown id:
 * AL_EINVALID_ARGUMENT. */
AL_API int al_pkg_settings(al_pkg_db *db, const char *id, int which, char **json_out,
                           al_error *err);
/* One resolved setting (as above, secret hidden): *json_out is its JSON text, or NULL
 * when it has no value. A key the schema does not declare: AL_EINVALID_ARGUMENT
 * "settings.KEY: no such setting in ID's manifest". */
AL_API int al_pkg_setting_get(al_pkg_db *db, const char *id, const char *key,
                              char **json_out, al_error *err);
/* Stores `value_json` (JSON text) as the override of `key`, after checking it against the
 * schema (type, min/max, values); NULL drops the override. Errors: AL_EINVALID_ARGUMENT
 * naming "settings.KEY" (undeclared, not JSON, not valid for the schema). */
AL_API int al_pkg_setting_set(al_pkg_db *db, const char *id, const char *key,
                              const char *value_json, al_error *err);

/* ---------------------------------------------------------------------------------------
 * A package directory, before it is installed
 * ------------------------------------------------------------------------------------- */

/* A validated manifest. Strings owned by it; freed with al_pkg_manifest_free(). */
typedef struct al_pkg_manifest {
  char *id, *version; /* both validated (the id rule, semver) */
  char *entry;        /* the entry file, relative to the directory; "index.js" by default */
  char *json;         /* the whole manifest: what al_load_opts.manifest_json takes */
} al_pkg_manifest;

enum { AL_PKG_STRICT = 1 }; /* unknown manifest fields are errors, not warnings */

/* Reads dir/airlock.json, else dir/package.json's "airlock" object, validates it (flags:
 * AL_PKG_STRICT or 0) and checks that the entry file exists inside dir. Errors:
 * AL_EINVALID_ARGUMENT with err->path the field ("manifest.settings.port.min"), AL_EIO
 * when neither file can be read. Thread-safe. */
AL_API int al_pkg_manifest_load(const char *dir, unsigned flags, al_pkg_manifest **out,
                                al_error *err);
/* NULL harmless. */
AL_API void al_pkg_manifest_free(al_pkg_manifest *m);

/* Scans plugin source `code` (`len` bytes) as the load does before evaluating it, with the
 * capabilities and preflight.allow of `manifest_json` (NULL: none; otherwise parsed
 * leniently, as al_load does). *report_json is {blocked, findings: [{rule, severity, line,
 * column, message, remediation, allowed?}]} in source order. Returns 0, or
 * AL_EPREFLIGHT_BLOCKED with err saying which findings block, and *report_json set all the
 * same; any other error leaves it NULL. Pure; thread-safe. */
AL_API int al_pkg_preflight(const char *code, size_t len, const char *manifest_json,
                            char **report_json, al_error *err);

/* ---------------------------------------------------------------------------------------
 * Checking a home, and its audit trail
 * ------------------------------------------------------------------------------------- */

/* One finding of al_pkg_doctor. Strings owned by the array. */
typedef struct al_pkg_check {
  char *name;   /* "database", "package <id>", "packages", "staging" */
  char *detail; /* what was found, for a person ("ok" when nothing was wrong) */
  int ok;       /* 1 when sound now: nothing was wrong, or it was fixed */
  int fixed;    /* 1 when something was wrong and AL_PKG_DOCTOR_FIX repaired it */
} al_pkg_check;

enum { AL_PKG_DOCTOR_FIX = 1 }; /* remove records whose directory is gone, and staging
                                   directories an interrupted install left */

/* Checks `home`: the database's integrity, each package's directory and that its files
 * are the recorded version, and staging directories left by an interrupted install. A
 * problem is a check with ok 0, not an error (a database that does not open is one):
 * returns 0 with *checks (freed with al_pkg_checks_free(*checks, *count)) set, or
 * AL_ENO_MEMORY. */
AL_API int al_pkg_doctor(const char *home, unsigned flags, al_pkg_check **checks,
                         size_t *count, al_error *err);
AL_API void al_pkg_checks_free(al_pkg_check *checks, size_t count);

/* Appends one record {timestamp, plugin_id, action, resource, decision, reason} to the
 * home's audit trail, <home>/audit.jsonl, the file hosts over this home append to too (one
 * write() per line, so processes never interleave). Any string but `home` may be NULL
 * (""). AL_EIO when the file cannot be opened or written. Thread-safe. */
AL_API int al_pkg_audit_append(const char *home, const char *plugin_id, const char *action,
                               const char *resource, const char *decision, const char *reason,
                               al_error *err);
/* The newest `n` records of <home>/audit.jsonl (0: all), newest first, as a JSON array of
 * the records as written. Lines that are not records (a torn last line, garbage) are
 * skipped and counted in *skipped (may be NULL). A missing file is an empty array. AL_EIO
 * naming the path on other read errors. Thread-safe. */
AL_API int al_pkg_audit_read(const char *home, size_t n, char **json_out, size_t *skipped,
                             al_error *err);

/* ---------------------------------------------------------------------------------------
 * The operator's tools
 * ------------------------------------------------------------------------------------- */

/* The kill switches this process's environment sets, as al_host_new() would read them:
 * {disable, skip, forceDeny, mode: "<mode>"|null, invalidMode?}. An AIRLOCK_PLUGIN_MODE
 * that is not a mode returns AL_EINVALID_ARGUMENT with err saying so and *json_out set all
 * the same (mode is then "none", as a host would take it). */
AL_API int al_switches_env(char **json_out, al_error *err);

/* Which sandbox layers a worker process gets on this machine. */
typedef struct al_sandbox_layers {
  int fds_closed, pdeathsig, no_new_privs, rlimits, netns, userns, mountns, landlock, seccomp;
  char detail[512]; /* what was skipped or missing and why ("landlock: ABI 3; ...") */
} al_sandbox_layers;

/* Measures the layers by sandboxing a probe child (forked; this process is unaffected).
 * *out is filled even on failure; json_out (may be NULL) receives the same as
 * {"fdsClosed":true,...,"seccomp":true,"detail":"..."}. Returns 0, AL_EIO (no fork or
 * pipe), AL_ECRASHED (the child died or a layer failed; out->detail says which), or
 * AL_ENO_MEMORY. Safe from a multi-threaded process. */
AL_API int al_sandbox_report(al_sandbox_layers *out, char **json_out, al_error *err);

/* Where a host with al_config.worker_path NULL looks for airlock-worker: $AIRLOCK_WORKER,
 * else beside the running executable, else the build tree's. Written to buf (cap bytes,
 * always NUL-terminated when cap > 0); returns buf. */
AL_API const char *al_worker_default_path(char *buf, size_t cap);

/* Text a plugin wrote, made safe to print on a terminal: C0 and C1 controls, DEL, bidi
 * overrides, invisible format characters and invalid UTF-8 are shown as \xNN / \uNNNN
 * instead of being sent (TAB passes; LF passes when keep_newlines is nonzero). The same
 * rules the library's own default logger applies. For a person's eyes only: JSON for
 * programs stays byte-exact. No state; any thread. */
/* The escaped copy of s (NULL: ""); free with al_free(); NULL only when out of memory. */
AL_API char *al_term_escape(const char *s, int keep_newlines);
/* Writes s (NULL: nothing) escaped to out without allocating. */
AL_API void al_term_fputs(const char *s, int keep_newlines, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* AIRLOCK_PKG_H */
