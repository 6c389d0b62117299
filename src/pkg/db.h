/*
 * db.h: the host database: installed packages, their enabled state, per-plugin key-value
 * data (pi.kv) and settings overrides, in one SQLite file (home/airlock.db) in WAL mode
 * with synchronous=FULL, so a write that returned 0 survives a crash of the process or
 * the machine. Package directories live under home/packages/.
 *
 * Threading: every function is thread-safe; one connection is shared and guarded by a
 * mutex (writes are small and serialised anyway). A pkg_db is opened once per host.
 * Other processes may open the same file at the same time (SQLite's locking, with a busy
 * timeout).
 */
#ifndef AL_PKG_DB_H
#define AL_PKG_DB_H

#include "common.h"
#include "pkg/manifest.h"

#define PKG_KV_QUOTA_DEFAULT ((size_t)1 << 20) /* 1 MiB per plugin */
#define PKG_KV_KEY_MAX 1024

typedef struct pkg_db pkg_db;

/* `home`: a directory, created (0700, with missing parents) if absent; the database is
 * home/airlock.db, packages go under home/packages/. On success *out is closed with
 * pkg_db_close(). AL_EIO with the path and reason on failure. */
int pkg_db_open(const char *home, pkg_db **out, al_error *err);
/* NULL harmless. */
void pkg_db_close(pkg_db *db);
/* The home directory given to pkg_db_open (owned by db). */
const char *pkg_db_home(const pkg_db *db);

/* Records (or replaces) package m->id at `dir` with its whole manifest, its package name
 * (`name`: package.json "name"; NULL: m->id) and what the install verified
 * (`verification`: the install report's object of that name, signature.h; NULL: nothing
 * recorded). `fresh`: the kv data and settings stored under m->id are dropped in the same
 * transaction (a package taking over another's id must not inherit them); otherwise they
 * are kept (an upgrade of the same package). */
int pkg_db_package_put(pkg_db *db, const pkg_manifest *m, const char *name, const char *dir,
                       const json_t *verification, bool enabled, bool fresh, al_error *err);
/* The same for a pi package (pi non-NULL): `pi` = {profile: "pi", wants: [...], granted:
 * {cap: [patterns]}} is recorded with it (borrowed), the one record of what its
 * extensions may do. pkg_db_package_put is this with pi NULL (an Airlock package). */
int pkg_db_package_put_pi(pkg_db *db, const pkg_manifest *m, const char *name, const char *dir,
                          const json_t *verification, const json_t *pi, bool enabled, bool fresh, al_error *err);
/* Replaces a pi package's pi record (a grant or revoke). AL_EINVALID_ARGUMENT "no pi
 * package 'x' is installed" for an unknown id or an Airlock package. */
int pkg_db_package_pi_set(pkg_db *db, const char *id, const json_t *pi, al_error *err);
/* *out (new reference) = {id, version, dir, enabled, installedAt (ms), manifest, name,
 * verification, pi (only for a pi package)} (name null for a package recorded before names were kept, verification
 * null for one recorded before verifications were).
 * Unknown id: AL_EINVALID_ARGUMENT "no package 'x' is installed". */
int pkg_db_package_get(pkg_db *db, const char *id, json_t **out, al_error *err);
/* *out = array of the records above, by id. */
int pkg_db_package_list(pkg_db *db, json_t **out, al_error *err);
int pkg_db_package_enable(pkg_db *db, const char *id, bool enabled, al_error *err);
/* Forgets the package and its kv data and settings (the directory is the caller's). */
int pkg_db_package_remove(pkg_db *db, const char *id, al_error *err);

/* *json_out: the stored JSON text, or NULL when the key is absent; free(). */
int pkg_db_kv_get(pkg_db *db, const char *plugin, const char *key, char **json_out, al_error *err);
/* Stores `json` (must parse as JSON: AL_EINVALID_ARGUMENT otherwise) under key (1..1024
 * bytes). When the plugin's total (sum of key + value bytes) would exceed quota_bytes
 * (0: PKG_KV_QUOTA_DEFAULT): AL_ECAPABILITY_DENIED "kv quota of N bytes exceeded", and
 * nothing changes. Durable when it returns 0. */
int pkg_db_kv_set(pkg_db *db, const char *plugin, const char *key, const char *json,
                  size_t quota_bytes, al_error *err);
/* *existed (may be NULL) tells whether the key was there. */
int pkg_db_kv_delete(pkg_db *db, const char *plugin, const char *key, bool *existed, al_error *err);
/* *keys = sorted array of the plugin's keys starting with `prefix` (NULL or "": all). */
int pkg_db_kv_list(pkg_db *db, const char *plugin, const char *prefix, json_t **keys, al_error *err);
/* Bytes the plugin uses (keys + values). */
int pkg_db_kv_usage(pkg_db *db, const char *plugin, size_t *bytes, al_error *err);

/* *settings = {key: value} of stored overrides ({} when none). */
int pkg_db_setting_get(pkg_db *db, const char *plugin, json_t **settings, al_error *err);
/* Stores one override; value NULL deletes it. Validation against the schema is the
 * caller's (pkg_setting_check). */
int pkg_db_setting_set(pkg_db *db, const char *plugin, const char *key, const json_t *value,
                       al_error *err);

/* PRAGMA integrity_check: *ok true when the database is sound; *detail (may be NULL;
 * free()) the first problem otherwise. */
int pkg_db_check(pkg_db *db, bool *ok, char **detail, al_error *err);

#endif
