/*
 * tabs.c: the editor tabs' persistence (see tabs.h). Writes go to a temporary file in the
 * same directory that is fsynced and renamed over the old one, so a crash mid-write leaves
 * either the old tabs or the new, never half of either.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tabs.h"

#define TABS_FILE "workbench-tabs.json"

const char *tabs_default_home(char *buf, size_t cap) {
  const char *v = getenv("AIRLOCK_HOME");
  int n = -1;
  if (v && *v) n = snprintf(buf, cap, "%s", v);
  else if ((v = getenv("XDG_DATA_HOME")) && *v) n = snprintf(buf, cap, "%s/airlock", v);
  else if ((v = getenv("HOME")) && *v) n = snprintf(buf, cap, "%s/.local/share/airlock", v);
  return n > 0 && (size_t)n < cap ? buf : NULL;
}

int tabs_ensure_home(const char *home) {
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s", home) >= sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  /* mkdir -p: each prefix in turn; EEXIST is fine. */
  for (char *p = path + 1;; p++) {
    if (*p == '/' || !*p) {
      char c = *p;
      *p = 0;
      if (mkdir(path, 0700) && errno != EEXIST) return -1;
      *p = c;
      if (!c) return 0;
    }
  }
}

json_t *tabs_load(const char *home, const char **why) {
  if (why) *why = NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s/" TABS_FILE, home);
  json_error_t je;
  json_t *doc = json_load_file(path, 0, &je);
  json_t *tabs = json_object_get(doc, "tabs");
  if (json_is_array(tabs)) {
    json_incref(tabs);
    json_decref(doc);
    return tabs;
  }
  json_decref(doc);
  if (access(path, F_OK) == 0) {
    char bad[4200];
    snprintf(bad, sizeof bad, "%s.bad", path);
    rename(path, bad);
    if (why) *why = "the saved tabs did not parse; kept as " TABS_FILE ".bad";
  }
  return json_array();
}

int tabs_save(const char *home, const json_t *tabs) {
  char path[4096], tmp[4200];
  snprintf(path, sizeof path, "%s/" TABS_FILE, home);
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  json_t *doc = json_pack("{s:O}", "tabs", (json_t *)tabs);
  char *text = doc ? json_dumps(doc, JSON_INDENT(1)) : NULL;
  json_decref(doc);
  if (!text) {
    errno = ENOMEM;
    return -1;
  }
  int rc = -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    size_t n = strlen(text), off = 0;
    while (off < n) {
      ssize_t w = write(fd, text + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      off += (size_t)w;
    }
    if (off == n && fsync(fd) == 0) rc = 0;
    if (close(fd)) rc = -1;
    if (rc == 0) rc = rename(tmp, path);
    if (rc) unlink(tmp);
  }
  free(text);
  return rc;
}
