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
/* Parses an --isolation value (thread, inline, process) into *out; prints the error and
 * returns -1 when it is unknown. */
int cli_isolation(const char *name, al_isolation *out);
/* The file name without directories and without a trailing ".js". malloc()ed. */
char *cli_basename_noext(const char *path);

#endif
