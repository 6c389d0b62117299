/* util.h: small helpers the subcommands share. */
#ifndef AL_CLI_UTIL_H
#define AL_CLI_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "airlock.h"

/* Reads a whole file; NULL with errno set on failure. Free with free(). */
char *cli_read_file(const char *path, size_t *len);
/* Prints "error: CODE: message" (plus the path when the message lacks it) to stderr. */
void cli_print_error(const al_error *err);
/* Writes the shortest decimal that reads back as `d` (like JavaScript's String(d)). */
void cli_format_number(double d, char *buf, size_t cap);
/* Takes ownership of text returned by the library and parses it. */
json_t *cli_take_json(char *text);
/* The library's JSON form of an error (al_error_json) as a new object the caller may add
 * to; an empty object when out of memory. */
json_t *cli_error_json(const al_error *e);
/* Parses an --isolation value (thread, inline, process) into *out; prints the error and
 * returns -1 when it is unknown. */
int cli_isolation(const char *name, al_isolation *out);
/* The file name without directories and without a trailing ".js". malloc()ed. */
char *cli_basename_noext(const char *path);

/* Plugin-controlled text escaped for a terminal (al_term_escape, airlock_pkg.h: controls, bidi
 * overrides and invalid UTF-8 shown, not sent), for printing several in one statement:
 *   cli_esc e = {0};
 *   printf("%s  (%s)\n", cli_e(&e, title), cli_e(&e, id));
 *   cli_esc_free(&e);
 * Each result is owned by `e` until cli_esc_free. NULL text reads as ""; past
 * CLI_ESC_MAX results, or out of memory, the result is "?" (never the raw text). Human
 * output only: JSON printed for programs stays byte-exact. One thread per cli_esc. */
#define CLI_ESC_MAX 8
typedef struct cli_esc {
  char *s[CLI_ESC_MAX];
  size_t n;
} cli_esc;
const char *cli_e(cli_esc *e, const char *text);
void cli_esc_free(cli_esc *e);

#endif
