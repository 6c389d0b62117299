/*
 * tabs.h: the editor tabs, kept under the workbench's home directory so no edit is lost
 * across a server restart. One JSON file, `<home>/workbench-tabs.json`, holding
 * {"tabs": [...]}, replaced atomically (write a temporary file, fsync, rename).
 *
 * Threading: none; called from the host thread.
 */
#ifndef AL_SERVER_TABS_H
#define AL_SERVER_TABS_H

#include <jansson.h>

/* The default home: $AIRLOCK_HOME, else $XDG_DATA_HOME/airlock, else
 * ~/.local/share/airlock. Writes into buf (capacity cap); returns buf, or NULL when no
 * home can be named. */
const char *tabs_default_home(char *buf, size_t cap);
/* Creates `home` (and its parents) if missing. Returns 0 or -1 with errno. */
int tabs_ensure_home(const char *home);
/* The saved tabs array (new reference; an empty array when there is no file yet). A file
 * that does not parse is renamed aside to workbench-tabs.json.bad, never overwritten
 * silently; the error text goes to *why (static or NULL). */
json_t *tabs_load(const char *home, const char **why);
/* Replaces the saved tabs with `tabs` (an array). Returns 0 or -1 with errno. */
int tabs_save(const char *home, const json_t *tabs);

#endif
