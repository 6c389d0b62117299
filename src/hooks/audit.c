/*
 * audit.c: the audit ring buffer and its JSON Lines file.
 *
 * Each record is serialised once, when it is made: the ring keeps that line (so memory
 * is capacity lines, each bounded by the field cut), the file gets the same bytes plus a
 * newline in one write() on an O_APPEND descriptor, and hk_audit_recent parses lines back
 * only when someone asks. The mutex covers the ring only; the file write runs outside it
 * so a slow disk delays the caller that recorded, never every other caller.
 *
 * Plugin-supplied strings (a resource is often a URL or path the plugin chose) are cut to
 * a bound and any invalid UTF-8 is replaced with U+FFFD, so a record always serialises
 * and a plugin cannot make the trail unreadable. The userinfo of a network resource is
 * replaced by "***", so credentials in a URL never reach the file.
 *
 * Repeated identical denials are collapsed (a plugin with no capabilities once wrote
 * 61 MiB to the file in one emit by asking for the same thing in a loop): a denial equal
 * in every field to one recorded less than HK_AUDIT_QUIET_NS ago is counted, not written,
 * and when that window ends (noticed at the next record or read, or at hk_audit_free) one
 * more record says how many there were: the same fields, the reason followed by
 * " (and N more identical denials within 10 s)". A few slots are kept; a new denial that
 * finds them full closes the oldest window early. Decisions that allowed something are
 * never collapsed: each is something that happened.
 *
 * Reading back takes the newest n lines by reading the file from its end in growing
 * chunks, so `airlock plugin audit --recent 20` does not read a year of history.
 */
#define _GNU_SOURCE /* gmtime_r, O_CLOEXEC on old libcs */
#include "contract/utf8.h"
#include "hooks/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FIELD_MAX 4096
#define READ_ALL_MAX ((off_t)256 << 20)

#define QUIET_SLOTS 16
#define HK_AUDIT_QUIET_NS (10ull * 1000000000ull)

/* One denial whose repeats are being counted. */
typedef struct quiet_slot {
  json_t *rec;       /* its fields, without timestamp; NULL: slot free */
  uint64_t key;      /* al_hash64 of the fields, to find it */
  uint64_t since_ns; /* when it was written */
  uint64_t repeats;  /* identical denials since, not written */
} quiet_slot;

struct hk_audit {
  pthread_mutex_t mu;
  char **ring;  /* capacity slots of malloc()ed lines, NULL when empty */
  size_t cap, head, count; /* head: next slot to write */
  uint64_t kept;           /* lines ever put in the ring: the newest one's number */
  uint64_t recorded, collapsed, file_errors;
  quiet_slot quiet[QUIET_SLOTS];
  int fd; /* -1: no file */
};

int hk_audit_new(size_t capacity, const char *jsonl_path, hk_audit **out, al_error *err) {
  if (!out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "audit: out is NULL");
  *out = NULL;
  hk_audit *a = calloc(1, sizeof *a);
  if (!a) return err_set(err, AL_ENO_MEMORY, NULL, "audit: out of memory");
  a->cap = capacity ? capacity : HK_AUDIT_DEFAULT_CAPACITY;
  a->fd = -1;
  a->ring = calloc(a->cap, sizeof *a->ring);
  if (!a->ring) {
    free(a);
    return err_set(err, AL_ENO_MEMORY, NULL, "audit: out of memory for %zu records", capacity);
  }
  if (jsonl_path) {
    a->fd = open(jsonl_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (a->fd < 0) {
      int e = errno;
      free(a->ring);
      free(a);
      return err_set(err, AL_EIO, NULL, "audit: cannot open '%.300s' for appending: %s",
                     jsonl_path, strerror(e));
    }
  }
  pthread_mutex_init(&a->mu, NULL);
  *out = a;
  return 0;
}

static void quiet_flush(hk_audit *a, uint64_t now, bool all);

void hk_audit_free(hk_audit *a) {
  if (!a) return;
  quiet_flush(a, 0, true); /* the counts still open are written before the file closes */
  for (size_t i = 0; i < a->cap; i++) free(a->ring[i]);
  free(a->ring);
  if (a->fd >= 0) close(a->fd);
  pthread_mutex_destroy(&a->mu);
  free(a);
}

void hk_audit_timestamp(char *buf, size_t cap) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, cap, "%s.%06ldZ", base, ts.tv_nsec / 1000);
}

/* A JSON string of s cut at FIELD_MAX bytes on a character boundary, invalid bytes
 * replaced by U+FFFD. */
static json_t *field(const char *s) {
  return s ? utf8_json(s, strlen(s), FIELD_MAX) : json_string("");
}

/* A URL's userinfo replaced by "***" (scheme, "://", "***@host..."), or NULL if none:
 * credentials a plugin put in a URL must not end up in a log file. */
static char *redact_userinfo(const char *url) {
  const char *sep = url ? strstr(url, "://") : NULL;
  if (!sep) return NULL;
  const char *auth = sep + 3;
  size_t alen = strcspn(auth, "/?#");
  const char *at = NULL;
  for (size_t i = 0; i < alen; i++)
    if (auth[i] == '@') at = auth + i;
  if (!at) return NULL;
  size_t head = (size_t)(auth - url), tail = strlen(at);
  char *out = malloc(head + 3 + tail + 1);
  if (!out) return NULL;
  memcpy(out, url, head);
  memcpy(out + head, "***", 3);
  memcpy(out + head + 3, at, tail + 1);
  return out;
}

/* Stamps `rec` (owned) with the time, keeps its line in the ring and appends it to the
 * file. Called without the lock. */
static void emit(hk_audit *a, json_t *rec) {
  char ts[40];
  hk_audit_timestamp(ts, sizeof ts);
  json_object_set_new(rec, "timestamp", json_string(ts));
  char *line = json_text(rec);
  json_decref(rec);
  if (!line) return;
  size_t len = strlen(line);
  char *copy = NULL;
  if (a->fd >= 0) {
    copy = malloc(len + 2);
    if (copy) {
      memcpy(copy, line, len);
      copy[len] = '\n';
    }
  }
  pthread_mutex_lock(&a->mu);
  free(a->ring[a->head]);
  a->ring[a->head] = line;
  a->head = (a->head + 1) % a->cap;
  if (a->count < a->cap) a->count++;
  a->kept++;
  pthread_mutex_unlock(&a->mu);
  if (a->fd >= 0) {
    /* One write per line: O_APPEND makes it atomic against other appenders. */
    bool ok = copy && write(a->fd, copy, len + 1) == (ssize_t)(len + 1);
    free(copy);
    if (!ok) {
      pthread_mutex_lock(&a->mu);
      a->file_errors++;
      pthread_mutex_unlock(&a->mu);
    }
  }
}

/* Closes slot q (under the lock): the record saying how many repeats there were, or NULL
 * when there were none. The slot is free afterwards. */
static json_t *quiet_close(quiet_slot *q) {
  json_t *sum = NULL;
  if (q->repeats && (sum = json_copy_checked(q->rec))) {
    char *reason = NULL;
    if (asprintf(&reason, "%s (and %llu more identical denials within %llu s)",
                 json_string_value(json_object_get(q->rec, "reason")), (unsigned long long)q->repeats,
                 (unsigned long long)(HK_AUDIT_QUIET_NS / 1000000000ull)) < 0)
      reason = NULL;
    json_object_set_new(sum, "reason", reason ? json_string(reason) : json_string("(repeated)"));
    free(reason);
  }
  json_decref(q->rec);
  memset(q, 0, sizeof *q);
  return sum;
}

/* Under the lock: closes the windows that ended by `now` (all: every open one), their
 * summaries into due[] (room for QUIET_SLOTS); returns how many. */
static size_t quiet_expire(hk_audit *a, uint64_t now, bool all, json_t **due) {
  size_t n = 0;
  for (size_t i = 0; i < QUIET_SLOTS; i++) {
    quiet_slot *q = &a->quiet[i];
    if (!q->rec || (!all && now - q->since_ns < HK_AUDIT_QUIET_NS)) continue;
    json_t *sum = quiet_close(q);
    if (sum) due[n++] = sum;
  }
  return n;
}

/* Writes the summaries of the windows that ended by `now` (all: every open one). */
static void quiet_flush(hk_audit *a, uint64_t now, bool all) {
  json_t *due[QUIET_SLOTS];
  pthread_mutex_lock(&a->mu);
  size_t n = quiet_expire(a, now, all, due);
  pthread_mutex_unlock(&a->mu);
  for (size_t i = 0; i < n; i++) emit(a, due[i]);
}

/* Under the lock: true when `rec` repeats an open denial (counted, not to be written);
 * otherwise opens a slot for it, closing the oldest into *evicted if none is free. */
static bool quiet_seen(hk_audit *a, json_t *rec, uint64_t key, uint64_t now, json_t **evicted) {
  quiet_slot *free_slot = NULL, *oldest = NULL;
  for (size_t i = 0; i < QUIET_SLOTS; i++) {
    quiet_slot *q = &a->quiet[i];
    if (!q->rec) {
      if (!free_slot) free_slot = q;
      continue;
    }
    if (q->key == key && now - q->since_ns < HK_AUDIT_QUIET_NS && json_equal(q->rec, rec)) {
      q->repeats++;
      return true;
    }
    if (!oldest || q->since_ns < oldest->since_ns) oldest = q;
  }
  quiet_slot *q = free_slot;
  if (!q) {
    *evicted = quiet_close(oldest);
    q = oldest;
  }
  /* A copy of its own: `rec` is stamped and freed by emit() outside the lock while other
   * threads compare against the slot. NULL (out of memory): this one is not collapsed. */
  q->rec = json_deep_copy(rec);
  q->key = key;
  q->since_ns = now;
  return false;
}

void hk_audit_record(hk_audit *a, const char *plugin_id, const char *action,
                     const char *resource, const char *decision, const char *reason) {
  if (!a) return;
  char *redacted = action && strcmp(action, "network") == 0 ? redact_userinfo(resource) : NULL;
  if (redacted) resource = redacted;
  json_t *rec = json_object();
  if (rec) {
    json_object_set_new(rec, "timestamp", json_string("")); /* first in the line; emit() sets it */
    json_object_set_new(rec, "plugin_id", field(plugin_id));
    json_object_set_new(rec, "action", field(action));
    json_object_set_new(rec, "resource", field(resource));
    json_object_set_new(rec, "decision", field(decision));
    json_object_set_new(rec, "reason", field(reason));
  }
  free(redacted);
  if (!rec) return;
  uint64_t now = clock_mono_ns();
  bool repeat = false;
  json_t *due[QUIET_SLOTS + 1], *evicted = NULL;
  pthread_mutex_lock(&a->mu);
  size_t ndue = quiet_expire(a, now, false, due); /* in the same hold as the count below */
  a->recorded++;
  if (decision && !strcmp(decision, "denied")) {
    uint64_t key = AL_HASH64_SEED;
    static const char *const keys[] = {"plugin_id", "action", "resource", "decision", "reason"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
      const json_t *v = json_object_get(rec, keys[i]);
      key = al_hash64(json_string_value(v), json_string_length(v), key) * 31u + i;
    }
    if ((repeat = quiet_seen(a, rec, key, now, &evicted))) a->collapsed++;
  }
  pthread_mutex_unlock(&a->mu);
  if (evicted) due[ndue++] = evicted;
  for (size_t i = 0; i < ndue; i++) emit(a, due[i]);
  if (repeat) json_decref(rec);
  else emit(a, rec);
}

json_t *hk_audit_recent(hk_audit *a, size_t n) {
  json_t *arr = json_array();
  if (!a || !arr) return arr;
  quiet_flush(a, clock_mono_ns(), false);
  pthread_mutex_lock(&a->mu);
  size_t take = (n == 0 || n > a->count) ? a->count : n;
  char **lines = calloc(take ? take : 1, sizeof *lines);
  for (size_t i = 0; lines && i < take; i++) {
    size_t slot = (a->head + a->cap - 1 - i) % a->cap;
    lines[i] = strdup(a->ring[slot]);
  }
  pthread_mutex_unlock(&a->mu);
  if (!lines) {
    json_decref(arr);
    return NULL;
  }
  for (size_t i = 0; i < take; i++) {
    json_t *rec = lines[i] ? json_loads(lines[i], 0, NULL) : NULL;
    if (rec) json_array_append_new(arr, rec);
    free(lines[i]);
  }
  free(lines);
  return arr;
}

char *hk_audit_since(hk_audit *a, uint64_t after_seq, size_t n, uint64_t *last_seq) {
  *last_seq = 0;
  if (!a) return strdup("[]");
  quiet_flush(a, clock_mono_ns(), false);
  pthread_mutex_lock(&a->mu);
  *last_seq = a->kept;
  /* slot of number k (kept - count < k <= kept): head - 1 - (kept - k) */
  uint64_t fresh = a->kept > after_seq ? a->kept - after_seq : 0;
  size_t take = fresh < a->count ? (size_t)fresh : a->count;
  if (n && take > n) take = n;
  size_t len = 3;
  for (size_t i = 0; i < take; i++) len += strlen(a->ring[(a->head + a->cap - 1 - i) % a->cap]) + 1;
  /* The lines are the records' JSON text already: the array is spliced, not rebuilt. */
  char *out = malloc(len), *o = out;
  if (out) {
    *o++ = '[';
    for (size_t i = 0; i < take; i++) {
      const char *line = a->ring[(a->head + a->cap - 1 - i) % a->cap];
      size_t l = strlen(line);
      if (i) *o++ = ',';
      memcpy(o, line, l);
      o += l;
    }
    *o++ = ']';
    *o = '\0';
  }
  pthread_mutex_unlock(&a->mu);
  return out;
}

void hk_audit_stats_get(hk_audit *a, hk_audit_stats *st) {
  if (!st) return;
  memset(st, 0, sizeof *st);
  if (!a) return;
  pthread_mutex_lock(&a->mu);
  st->recorded = a->recorded;
  st->collapsed = a->collapsed;
  st->file_errors = a->file_errors;
  pthread_mutex_unlock(&a->mu);
}

static const char *const rec_fields[] = {"timestamp", "plugin_id", "action",
                                         "resource",  "decision",  "reason"};

/* The record on one line (n bytes), keeping exactly the six fields, or NULL. */
static json_t *parse_line(const char *s, size_t n) {
  json_t *v = json_loadb(s, n, 0, NULL);
  json_t *rec = NULL;
  if (!json_is_object(v)) goto done;
  rec = json_object();
  for (size_t i = 0; rec && i < sizeof rec_fields / sizeof rec_fields[0]; i++) {
    json_t *f = json_object_get(v, rec_fields[i]);
    if (!json_is_string(f) || json_object_set(rec, rec_fields[i], f)) {
      json_decref(rec);
      rec = NULL;
    }
  }
done:
  json_decref(v);
  return rec;
}

int hk_audit_parse(const char *text, size_t len, size_t n, json_t **out, size_t *skipped,
                   al_error *err) {
  if (skipped) *skipped = 0;
  if (!out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "audit: out is NULL");
  *out = json_array();
  if (!*out) return err_set(err, AL_ENO_MEMORY, NULL, "audit: out of memory");
  if (!text) return 0;
  /* Walk lines from the end: newest first, stop after n. */
  size_t end = len;
  while (end > 0) {
    size_t start = end;
    while (start > 0 && text[start - 1] != '\n') start--;
    size_t ln = end - start;
    if (ln > 0 && text[start + ln - 1] == '\r') ln--;
    if (ln > 0) {
      json_t *rec = parse_line(text + start, ln);
      if (rec) {
        json_array_append_new(*out, rec);
        if (n && json_array_size(*out) >= n) break;
      } else if (skipped) {
        (*skipped)++;
      }
    }
    end = start > 0 ? start - 1 : 0;
  }
  return 0;
}

/* Reads [off, size) of fd into a malloc()ed buffer. */
static char *read_range(int fd, off_t off, off_t size) {
  size_t want = (size_t)(size - off);
  char *buf = malloc(want ? want : 1);
  if (!buf) return NULL;
  size_t got = 0;
  while (got < want) {
    ssize_t r = pread(fd, buf + got, want - got, off + (off_t)got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  if (got != want) {
    free(buf);
    return NULL;
  }
  return buf;
}

int hk_audit_read_file(const char *path, size_t n, json_t **out, size_t *skipped, al_error *err) {
  if (out) *out = NULL;
  if (skipped) *skipped = 0;
  if (!path || !out) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "audit: path is NULL");
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) return hk_audit_parse(NULL, 0, n, out, skipped, err);
    return err_set(err, AL_EIO, NULL, "audit: cannot open '%.300s': %s", path, strerror(errno));
  }
  struct stat st;
  int rc = 0;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    rc = err_set(err, AL_EIO, NULL, "audit: '%.300s' is not a regular file", path);
    goto done;
  }
  off_t size = st.st_size;
  /* Newest n: start with a tail of ~256 bytes a record and grow until it holds n
   * complete lines or is the whole file. n 0 (all) reads the whole file, bounded. */
  off_t chunk = n ? (off_t)n * 256 + 4096 : size;
  if (!n && size > READ_ALL_MAX) {
    rc = err_set(err, AL_EIO, NULL,
                 "audit: '%.300s' is larger than %lld MiB; ask for the newest N records", path,
                 (long long)(READ_ALL_MAX >> 20));
    goto done;
  }
  for (;;) {
    off_t off = size > chunk ? size - chunk : 0;
    char *buf = read_range(fd, off, size);
    if (!buf) {
      rc = err_set(err, AL_EIO, NULL, "audit: cannot read '%.300s'", path);
      goto done;
    }
    size_t len = (size_t)(size - off), skip = 0;
    if (off > 0) { /* the first line is probably cut: start after it */
      while (skip < len && buf[skip] != '\n') skip++;
      if (skip < len) skip++;
    }
    rc = hk_audit_parse(buf + skip, len - skip, n, out, skipped, err);
    free(buf);
    if (rc || off == 0 || (n && json_array_size(*out) >= n)) break;
    json_decref(*out);
    *out = NULL;
    chunk = chunk > READ_ALL_MAX / 2 ? size : chunk * 4;
  }
done:
  close(fd);
  if (rc && out) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}
