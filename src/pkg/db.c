/*
 * db.c: the host database (db.h) on SQLite.
 *
 * One connection per pkg_db behind a mutex: SQLite's serialized mode would do the same
 * locking, but a mutex of ours also makes multi-statement operations (the kv quota check
 * and the write it guards) atomic with respect to other threads without nesting
 * transactions. journal_mode=WAL lets readers in other processes proceed during a write;
 * synchronous=FULL fsyncs the WAL at every commit, which is what makes "kv.set returned"
 * mean "on disk" (NORMAL could lose the last commits on power loss). Every statement is
 * prepared per call: the traffic is small and this keeps the object trivially reentrant.
 */
#define _GNU_SOURCE
#include "pkg/db.h"
#include "pkg/paths.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

struct pkg_db {
  sqlite3 *conn;
  pthread_mutex_t mu;
  char *home;
};

static const char db_schema[] =
    "CREATE TABLE IF NOT EXISTS packages ("
    "  id TEXT PRIMARY KEY, version TEXT NOT NULL, dir TEXT NOT NULL,"
    "  enabled INTEGER NOT NULL DEFAULT 1, installed_at INTEGER NOT NULL, manifest TEXT NOT NULL,"
    "  name TEXT, verification TEXT, pi TEXT);"
    "CREATE TABLE IF NOT EXISTS kv ("
    "  plugin TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (plugin, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS settings ("
    "  plugin TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (plugin, key)) WITHOUT ROWID;"
    "PRAGMA user_version = 4;";

/* Version 2 records the package's name (package.json "name", else its id), so that an
 * install can tell the same package's next version from another package declaring the
 * same id. Rows from version 1 keep NULL: their name is unknown, which install treats as
 * "another package" (asks for --replace) rather than guess. */
static const char db_migrate_2[] = "ALTER TABLE packages ADD COLUMN name TEXT; PRAGMA user_version = 2;";

/* Version 3 records what the install verified (integrity, registry and publisher
 * signatures: signature.h), as JSON. Older rows keep NULL: nothing was recorded, which
 * `plugin info` says rather than pretend a check happened. */
static const char db_migrate_3[] = "ALTER TABLE packages ADD COLUMN verification TEXT; PRAGMA user_version = 3;";

/* Version 4 records a pi package (docs/packages.md "pi packages"): {profile: "pi", wants,
 * granted}, the capabilities its code asks for and those the user granted, which are
 * what its extensions load with. NULL is an Airlock package, whose manifest says what it
 * may do. The grant lives here and nowhere else: a pi package has no manifest to carry
 * it (and the manifest has no exec capability), and the manifest column keeps only its
 * identity {id, version}. */
static const char db_migrate_4[] = "ALTER TABLE packages ADD COLUMN pi TEXT; PRAGMA user_version = 4;";

/* The schema version recorded in the file; -1 when it cannot be read. Reading it first
 * keeps an open of an up-to-date database free of writes: setting user_version is a write
 * transaction with two fsyncs, which every `airlock emit` (a hook run per tool call) would
 * otherwise pay, with a checkpoint at close on top. */
static int db_user_version(sqlite3 *conn) {
  sqlite3_stmt *st = NULL;
  int v = -1;
  if (sqlite3_prepare_v2(conn, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

static int db_fail(pkg_db *db, al_error *err, const char *what) {
  return err_set(err, AL_EIO, NULL, "database: %s: %s", what, db && db->conn ? sqlite3_errmsg(db->conn) : "not open");
}

int pkg_db_open(const char *home, pkg_db **out, al_error *err) {
  *out = NULL;
  if (!home || !home[0]) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "database: no home directory given");
  char path[PATH_MAX];
  int rc = pkg_mkdirs(home, 0700, err);
  if (rc) return rc;
  snprintf(path, sizeof path, "%s/packages", home);
  if ((rc = pkg_mkdirs(path, 0700, err))) return rc;
  pkg_db *db = calloc(1, sizeof *db);
  if (!db || !(db->home = strdup(home))) {
    free(db);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  pthread_mutex_init(&db->mu, NULL);
  snprintf(path, sizeof path, "%s/airlock.db", home);
  if (sqlite3_open_v2(path, &db->conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
    rc = err_set(err, AL_EIO, NULL, "database: cannot open %s: %s", path,
                 db->conn ? sqlite3_errmsg(db->conn) : "out of memory");
    goto fail;
  }
  sqlite3_busy_timeout(db->conn, 5000);
  /* Keep the -wal and -shm files when the last connection closes: otherwise every
   * process that opens the database (each `airlock emit`) creates both and deletes them
   * again, two inode allocations and frees on the file system for nothing. */
  int persist = 1;
  sqlite3_file_control(db->conn, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  char *msg = NULL;
  int uv = 0;
  if (sqlite3_exec(db->conn, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", NULL, NULL, &msg) != SQLITE_OK ||
      ((uv = db_user_version(db->conn)) < 1 && sqlite3_exec(db->conn, db_schema, NULL, NULL, &msg) != SQLITE_OK) ||
      (uv == 1 && sqlite3_exec(db->conn, db_migrate_2, NULL, NULL, &msg) != SQLITE_OK) ||
      (uv >= 1 && uv < 3 && sqlite3_exec(db->conn, db_migrate_3, NULL, NULL, &msg) != SQLITE_OK) ||
      (uv >= 1 && uv < 4 && sqlite3_exec(db->conn, db_migrate_4, NULL, NULL, &msg) != SQLITE_OK)) {
    rc = err_set(err, AL_EIO, NULL, "database: %s: %s", path, msg ? msg : "setup failed");
    sqlite3_free(msg);
    goto fail;
  }
  chmod(path, 0600);
  *out = db;
  return 0;
fail:
  pkg_db_close(db);
  return rc;
}

void pkg_db_close(pkg_db *db) {
  if (!db) return;
  sqlite3_close(db->conn);
  pthread_mutex_destroy(&db->mu);
  free(db->home);
  free(db);
}

const char *pkg_db_home(const pkg_db *db) { return db ? db->home : NULL; }

/* Prepares `sql`, or fills err. Called with the mutex held. */
static sqlite3_stmt *db_prep(pkg_db *db, const char *sql, al_error *err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db->conn, sql, -1, &st, NULL) != SQLITE_OK) {
    db_fail(db, err, "prepare");
    return NULL;
  }
  return st;
}

static void db_text(sqlite3_stmt *st, int i, const char *s) { sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT); }

static int db_args(const char *plugin, const char *key, al_error *err) {
  if (!plugin || !plugin[0]) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "kv: no plugin id");
  if (key && (!key[0] || strlen(key) > PKG_KV_KEY_MAX))
    return err_set(err, AL_EINVALID_ARGUMENT, NULL, "kv: a key is 1 to %d bytes", PKG_KV_KEY_MAX);
  return 0;
}

int pkg_db_package_put(pkg_db *db, const pkg_manifest *m, const char *name, const char *dir,
                       const json_t *verification, bool enabled, bool fresh, al_error *err) {
  return pkg_db_package_put_pi(db, m, name, dir, verification, NULL, enabled, fresh, err);
}

int pkg_db_package_put_pi(pkg_db *db, const pkg_manifest *m, const char *name, const char *dir,
                          const json_t *verification, const json_t *pi, bool enabled, bool fresh, al_error *err) {
  if (!db || !m || !dir) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "package_put: missing argument");
  char *manifest = json_text(m->json);
  char *verif = verification ? json_dumps(verification, JSON_COMPACT) : NULL;
  char *pitext = pi ? json_dumps(pi, JSON_COMPACT) : NULL;
  if (!manifest || (verification && !verif) || (pi && !pitext)) {
    free(manifest);
    free(verif);
    free(pitext);
    return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  }
  int rc = 0;
  pthread_mutex_lock(&db->mu);
  /* One transaction: a takeover that recorded the new package but kept the old one's
   * secrets (or dropped them and then failed to record) is what `fresh` exists to stop. */
  if (sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) rc = db_fail(db, err, "begin");
  for (int i = 0; fresh && !rc && i < 2; i++) {
    sqlite3_stmt *st = db_prep(db, i ? "DELETE FROM settings WHERE plugin = ?" : "DELETE FROM kv WHERE plugin = ?", err);
    if (!st) rc = AL_EIO;
    else {
      db_text(st, 1, m->id);
      if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(db, err, "dropping the replaced package's data");
    }
    sqlite3_finalize(st);
  }
  sqlite3_stmt *st = rc ? NULL
                        : db_prep(db, "INSERT OR REPLACE INTO packages (id, version, dir, enabled, installed_at, manifest, name, "
                                      "verification, pi) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", err);
  if (!rc && !st) rc = AL_EIO;
  else if (!rc) {
    db_text(st, 1, m->id);
    db_text(st, 2, m->version);
    db_text(st, 3, dir);
    sqlite3_bind_int(st, 4, enabled);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)clock_wall_ms());
    db_text(st, 6, manifest);
    db_text(st, 7, name ? name : m->id);
    if (verif) db_text(st, 8, verif);
    else sqlite3_bind_null(st, 8);
    if (pitext) db_text(st, 9, pitext);
    else sqlite3_bind_null(st, 9);
    if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(db, err, "recording the package");
  }
  sqlite3_finalize(st);
  if (!rc && sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) rc = db_fail(db, err, "commit");
  if (rc) sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
  pthread_mutex_unlock(&db->mu);
  free(manifest);
  free(verif);
  free(pitext);
  return rc;
}

/* The record of the current row (id, version, dir, enabled, installed_at, manifest, name,
 * verification, pi); "pi" only for a pi package. */
static json_t *db_package_row(sqlite3_stmt *st) {
  const char *mtext = (const char *)sqlite3_column_text(st, 5);
  json_t *manifest = mtext ? json_loads(mtext, 0, NULL) : NULL;
  const char *name = (const char *)sqlite3_column_text(st, 6);
  const char *vtext = (const char *)sqlite3_column_text(st, 7);
  json_t *verif = vtext ? json_loads(vtext, 0, NULL) : NULL;
  const char *ptext = (const char *)sqlite3_column_text(st, 8);
  json_t *pi = ptext ? json_loads(ptext, 0, NULL) : NULL;
  if (ptext && !pi) pi = json_pack("{s:s,s:[],s:{}}", "profile", "pi", "wants", "granted"); /* unreadable: nothing granted */
  json_t *row = json_pack("{s:s,s:s,s:s,s:b,s:I,s:o,s:o,s:o}", "id", (const char *)sqlite3_column_text(st, 0),
                   "version", (const char *)sqlite3_column_text(st, 1), "dir", (const char *)sqlite3_column_text(st, 2),
                   "enabled", sqlite3_column_int(st, 3) != 0, "installedAt", (json_int_t)sqlite3_column_int64(st, 4),
                   "manifest", manifest ? manifest : json_null(), "name",
                   name ? json_string(name) : json_null(), "verification", verif ? verif : json_null());
  if (row && pi && json_object_set_new(row, "pi", pi)) {
    json_decref(row);
    return NULL;
  }
  if (!row) json_decref(pi);
  return row;
}

int pkg_db_package_get(pkg_db *db, const char *id, json_t **out, al_error *err) {
  *out = NULL;
  if (!db || !id) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "package_get: missing argument");
  int rc = 0;
  pthread_mutex_lock(&db->mu);
  sqlite3_stmt *st = db_prep(db, "SELECT id, version, dir, enabled, installed_at, manifest, name, verification, pi FROM packages WHERE id = ?", err);
  if (!st) rc = AL_EIO;
  else {
    db_text(st, 1, id);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
      *out = db_package_row(st);
      if (!*out) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    } else if (s == SQLITE_DONE) {
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "no package '%.200s' is installed", id);
    } else {
      rc = db_fail(db, err, "reading the package");
    }
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->mu);
  return rc;
}

int pkg_db_package_list(pkg_db *db, json_t **out, al_error *err) {
  *out = NULL;
  if (!db) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "package_list: no database");
  int rc = 0;
  json_t *list = json_array();
  pthread_mutex_lock(&db->mu);
  sqlite3_stmt *st = db_prep(db, "SELECT id, version, dir, enabled, installed_at, manifest, name, verification, pi FROM packages ORDER BY id", err);
  if (!st) rc = AL_EIO;
  else {
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) json_array_append_new(list, db_package_row(st));
    if (s != SQLITE_DONE) rc = db_fail(db, err, "listing packages");
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->mu);
  if (rc) json_decref(list);
  else *out = list;
  return rc;
}

/* Runs a one-row UPDATE/DELETE on packages; "no package" when it touched nothing. */
static int db_package_change(pkg_db *db, const char *sql, const char *id, int value, al_error *err) {
  if (!db || !id) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "missing argument");
  int rc = 0;
  pthread_mutex_lock(&db->mu);
  sqlite3_stmt *st = db_prep(db, sql, err);
  if (!st) rc = AL_EIO;
  else {
    db_text(st, 1, id);
    if (value >= 0) sqlite3_bind_int(st, 2, value);
    if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(db, err, "updating the package");
    else if (sqlite3_changes(db->conn) == 0) rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "no package '%.200s' is installed", id);
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->mu);
  return rc;
}

int pkg_db_package_pi_set(pkg_db *db, const char *id, const json_t *pi, al_error *err) {
  if (!db || !id || !json_is_object(pi)) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "package_pi_set: missing argument");
  char *text = json_dumps(pi, JSON_COMPACT);
  if (!text) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  int rc = 0;
  pthread_mutex_lock(&db->mu);
  sqlite3_stmt *st = db_prep(db, "UPDATE packages SET pi = ?2 WHERE id = ?1 AND pi IS NOT NULL", err);
  if (!st) rc = AL_EIO;
  else {
    db_text(st, 1, id);
    db_text(st, 2, text);
    if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(db, err, "updating the package's grants");
    else if (sqlite3_changes(db->conn) == 0)
      rc = err_set(err, AL_EINVALID_ARGUMENT, NULL, "no pi package '%.200s' is installed", id);
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->mu);
  free(text);
  return rc;
}

int pkg_db_package_enable(pkg_db *db, const char *id, bool enabled, al_error *err) {
  return db_package_change(db, "UPDATE packages SET enabled = ?2 WHERE id = ?1", id, enabled, err);
}

int pkg_db_package_remove(pkg_db *db, const char *id, al_error *err) {
  int rc = db_package_change(db, "DELETE FROM packages WHERE id = ?1", id, -1, err);
  if (rc) return rc;
  pthread_mutex_lock(&db->mu);
  for (int i = 0; i < 2 && !rc; i++) {
    sqlite3_stmt *st = db_prep(db, i ? "DELETE FROM settings WHERE plugin = ?" : "DELETE FROM kv WHERE plugin = ?", err);
    if (!st) rc = AL_EIO;
    else {
      db_text(st, 1, id);
      if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(db, err, "removing the package's data");
    }
    sqlite3_finalize(st);
  }
  pthread_mutex_unlock(&db->mu);
  return rc;
}

int pkg_db_kv_get(pkg_db *db, const char *plugin, const char *key, char **json_out, al_error *err) {
  *json_out = NULL;
  int rc = db ? db_args(plugin, key, err) : err_set(err, AL_EINVALID_ARGUMENT, NULL, "kv: no database");
  if (rc) return rc;
  pthread_mutex_lock(&db->mu);
  sqlite3_stmt *st = db_prep(db, "SELECT value FROM kv WHERE plugin = ? AND key = ?", err);
  if (!st) rc = AL_EIO;
  else {
    db_text(st, 1, plugin);
    db_text(st, 2, key);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
      *json_out = strdup((const char *)sqlite3_column_text(st, 0));
      if (!*json_out) rc = err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
    } else if (s != SQLITE_DONE) {
      rc = db_fail(db, err, "kv get");
    }
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->mu);
  return rc;
}

/* Sum of key and value bytes for `plugin`, with the mutex held; -1 on error. */
static int64_t db_usage_locked(pkg_db *db, const char *plugin, al_error *err) {
  sqlite3_stmt *st = db_prep(db, "SELECT COALESCE(SUM(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))), 0) "
                                 "FROM kv WHERE plugin = ?", err);
  if (!st) return -1;
  db_text(st, 1, plugin);
  int64_t n = -1;
  if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  else db_fail(db, err, "kv usage");
  sqlite3_finalize(st);
  return n;
}

int pkg_db_kv_usage(pkg_db *db, const char *plugin, size_t *bytes, al_error *err) {
  *bytes = 0;
  int rc = db ? db_args(plugin, NULL, err) : err_set(err, AL_EINVALID_ARGUMENT, NULL, "kv: no database");
  if (rc) return rc;
  pthread_mutex_lock(&db->mu);
  int64_t n = db_usage_locked(db, plugin, err);
  pthread_mutex_unlock(&db->mu);
  if (n < 0) return AL_EIO;
  *bytes = (size_t)n;
  return 0;
}

int pkg_db_kv_set(pkg_db *db, const char *plugin, const char *key, const char *json, size_t quota_bytes, al_error *err) {
  int rc = db ? db_args(plugin, key, err) : err_set(err, AL_EINVALID_ARGUMENT, NULL, "kv: no database");
  if (rc) return rc;
  json_t *parsed = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
  if (!parsed) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "kv: the value for '%.100s' is not JSON", key);
  json_decref(parsed);
  if (!quota_bytes) quota_bytes = PKG_KV_QUOTA_DEFAULT;
  size_t add = strlen(key) + strlen(json);
  pthread_mutex_lock(&db->mu);
  sqlite3_stmt *st = NULL;
  if (sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    rc = db_fail(db, err, "kv set: begin");
    goto out;
  }
  int64_t used = db_usage_locked(db, plugin, err);
  if (used < 0) {
    rc = AL_EIO;
    goto rollback;
  }
  /* what the key holds now does not count against its replacement */
  st = db_prep(db, "SELECT length(CAST(key AS BLOB)) + length(CAST(value AS BLOB)) FROM kv WHERE plugin = ? AND key = ?", err);
  if (!st) {
    rc = AL_EIO;
    goto rollback;
  }
  db_text(st, 1, plugin);
  db_text(st, 2, key);
  if (sqlite3_step(st) == SQLITE_ROW) used -= sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  st = NULL;
  if ((uint64_t)used + add > quota_bytes) {
    rc = err_set(err, AL_ECAPABILITY_DENIED, NULL, "kv quota of %zu bytes exceeded", quota_bytes);
    goto rollback;
  }
  st = db_prep(db, "INSERT OR REPLACE INTO kv (plugin, key, value) VALUES (?, ?, ?)", err);
  if (!st) {
    rc = AL_EIO;
    goto rollback;
  }
  db_text(st, 1, plugin);
  db_text(st, 2, key);
  db_text(st, 3, json);
  if (sqlite3_step(st) != SQLITE_DONE) {
    rc = db_fail(db, err, "kv set");
    goto rollback;
  }
  if (sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    rc = db_fail(db, err, "kv set: commit");
    goto rollback;
  }
  goto out;
rollback:
  sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
out:
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->mu);
  return rc;
}

int pkg_db_kv_delete(pkg_db *db, const char *plugin, const char *key, bool *existed, al_error *err) {
  if (existed) *existed = false;
  int rc = db ? db_args(plugin, key, err) : err_set(err, AL_EINVALID_ARGUMENT, NULL, "kv: no database");
  if (rc) return rc;
  pthread_mutex_lock(&db->mu);
  sqlite3_stmt *st = db_prep(db, "DELETE FROM kv WHERE plugin = ? AND key = ?", err);
  if (!st) rc = AL_EIO;
  else {
    db_text(st, 1, plugin);
    db_text(st, 2, key);
    if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(db, err, "kv delete");
    else if (existed) *existed = sqlite3_changes(db->conn) > 0;
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->mu);
  return rc;
}

int pkg_db_kv_list(pkg_db *db, const char *plugin, const char *prefix, json_t **keys, al_error *err) {
  *keys = NULL;
  int rc = db ? db_args(plugin, NULL, err) : err_set(err, AL_EINVALID_ARGUMENT, NULL, "kv: no database");
  if (rc) return rc;
  json_t *list = json_array();
  pthread_mutex_lock(&db->mu);
  /* substr() compares bytes exactly; LIKE/GLOB would give '%', '_' or '*' in a prefix meaning */
  sqlite3_stmt *st = db_prep(db, "SELECT key FROM kv WHERE plugin = ?1 AND substr(key, 1, length(?2)) = ?2 ORDER BY key", err);
  if (!st) rc = AL_EIO;
  else {
    db_text(st, 1, plugin);
    db_text(st, 2, prefix ? prefix : "");
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) json_array_append_new(list, json_string((const char *)sqlite3_column_text(st, 0)));
    if (s != SQLITE_DONE) rc = db_fail(db, err, "kv list");
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->mu);
  if (rc) json_decref(list);
  else *keys = list;
  return rc;
}

int pkg_db_setting_get(pkg_db *db, const char *plugin, json_t **settings, al_error *err) {
  *settings = NULL;
  int rc = db ? db_args(plugin, NULL, err) : err_set(err, AL_EINVALID_ARGUMENT, NULL, "settings: no database");
  if (rc) return rc;
  json_t *obj = json_object();
  pthread_mutex_lock(&db->mu);
  sqlite3_stmt *st = db_prep(db, "SELECT key, value FROM settings WHERE plugin = ? ORDER BY key", err);
  if (!st) rc = AL_EIO;
  else {
    db_text(st, 1, plugin);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
      json_t *v = json_loads((const char *)sqlite3_column_text(st, 1), JSON_DECODE_ANY, NULL);
      if (v) json_object_set_new(obj, (const char *)sqlite3_column_text(st, 0), v);
    }
    if (s != SQLITE_DONE) rc = db_fail(db, err, "reading settings");
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->mu);
  if (rc) json_decref(obj);
  else *settings = obj;
  return rc;
}

int pkg_db_setting_set(pkg_db *db, const char *plugin, const char *key, const json_t *value, al_error *err) {
  int rc = db ? db_args(plugin, key, err) : err_set(err, AL_EINVALID_ARGUMENT, NULL, "settings: no database");
  if (rc) return rc;
  char *text = value ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  if (value && !text) return err_set(err, AL_ENO_MEMORY, NULL, "out of memory");
  pthread_mutex_lock(&db->mu);
  sqlite3_stmt *st = db_prep(db, value ? "INSERT OR REPLACE INTO settings (plugin, key, value) VALUES (?, ?, ?)"
                                       : "DELETE FROM settings WHERE plugin = ? AND key = ?", err);
  if (!st) rc = AL_EIO;
  else {
    db_text(st, 1, plugin);
    db_text(st, 2, key);
    if (text) db_text(st, 3, text);
    if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(db, err, "writing a setting");
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->mu);
  free(text);
  return rc;
}

int pkg_db_check(pkg_db *db, bool *ok, char **detail, al_error *err) {
  *ok = false;
  if (detail) *detail = NULL;
  if (!db) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "check: no database");
  int rc = 0;
  pthread_mutex_lock(&db->mu);
  sqlite3_stmt *st = db_prep(db, "PRAGMA integrity_check", err);
  if (!st) rc = AL_EIO;
  else if (sqlite3_step(st) == SQLITE_ROW) {
    const char *r = (const char *)sqlite3_column_text(st, 0);
    *ok = r && !strcmp(r, "ok");
    if (!*ok && detail) *detail = strdup(r ? r : "unknown");
  } else {
    rc = db_fail(db, err, "integrity check");
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->mu);
  return rc;
}
