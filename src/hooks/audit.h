/*
 * audit.h: the audit trail (hooks-and-security.md sec. 6): every capability decision,
 * preflight result, kill-switch effect, grant change and crash, as one record
 *   {timestamp, plugin_id, action, resource, decision, reason}
 * with timestamp in RFC 3339 UTC with microseconds ("2026-11-30T11:45:30.123456Z").
 *
 * The newest `capacity` records stay in memory in a ring buffer (so a flood of denials
 * costs bounded memory); when a path is given every record is also appended to that file
 * as one JSON Lines line, written with a single write() on an O_APPEND descriptor so
 * lines from several processes never interleave. A failed file write is counted, never
 * reported to the plugin whose call caused it, and never blocks the decision.
 *
 * Threading: hk_audit_record / hk_audit_recent / hk_audit_stats are thread-safe (one
 * mutex held only to copy into or out of the ring; the file write happens outside it).
 */
#ifndef AL_HK_AUDIT_H
#define AL_HK_AUDIT_H

#include "common.h"

#define HK_AUDIT_DEFAULT_CAPACITY 1000

typedef struct hk_audit hk_audit;

/* capacity 0: HK_AUDIT_DEFAULT_CAPACITY. jsonl_path NULL: memory only; otherwise opened
 * (created 0600) for appending now, so a bad path fails here with AL_EIO naming it.
 * *out freed with hk_audit_free(). */
int hk_audit_new(size_t capacity, const char *jsonl_path, hk_audit **out, al_error *err);
/* NULL harmless. */
void hk_audit_free(hk_audit *a);

/* Records one entry; every string borrowed and copied, NULL stored as "". a NULL: no-op.
 * Strings are cut at 4096 bytes (on a UTF-8 boundary) so one record stays bounded; for
 * action "network" the URL's userinfo is recorded as "***". A denial identical to one
 * recorded in the last 10 s is counted instead, and the count written when that window
 * ends (audit.c). */
void hk_audit_record(hk_audit *a, const char *plugin_id, const char *action,
                     const char *resource, const char *decision, const char *reason);

/* The newest n records (0: all kept), newest first, as a new JSON array (caller
 * json_decref()s; NULL only when out of memory). a NULL: empty array. */
json_t *hk_audit_recent(hk_audit *a, size_t n);

/* The records put in the ring after the one numbered after_seq (numbered from 1 in the
 * order they entered it), newest first, at most n of them (0: no limit beyond the ring),
 * as the text of a JSON array: the ring's lines spliced, nothing parsed (malloc()ed; NULL
 * only when out of memory). *last_seq gets the newest number. a NULL: "[]" and 0. */
char *hk_audit_since(hk_audit *a, uint64_t after_seq, size_t n, uint64_t *last_seq);

/* Records ever recorded (collapsed ones included), the repeated denials among them that
 * were counted instead of written (see audit.c), and file writes that failed. */
typedef struct hk_audit_stats {
  uint64_t recorded, collapsed, file_errors;
} hk_audit_stats;
void hk_audit_stats_get(hk_audit *a, hk_audit_stats *st);

/* Reads a JSON Lines audit file back: the newest n records (0: all), newest first, into
 * *out (new array). Lines that are not audit records (a torn last line after a crash,
 * garbage) are skipped and counted in *skipped (may be NULL). A missing file is an empty
 * array, not an error; other I/O errors are AL_EIO naming the path. */
int hk_audit_read_file(const char *path, size_t n, json_t **out, size_t *skipped, al_error *err);
/* The same on text already in memory (len bytes); what the fuzz target drives. */
int hk_audit_parse(const char *text, size_t len, size_t n, json_t **out, size_t *skipped,
                   al_error *err);

/* RFC 3339 UTC with microseconds for the current time into buf (cap >= 28). */
void hk_audit_timestamp(char *buf, size_t cap);

#endif
