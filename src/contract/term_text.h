/*
 * term_text.h: text from plugins made safe to print on a terminal.
 *
 * Plugin-supplied strings (logger lines, kv keys, error messages, UI labels, manifest
 * titles) reach the operator's terminal through the CLI and the library's default logger.
 * A terminal interprets bytes: ESC [ 2 J clears the screen, OSC sequences retitle the
 * window or (in some terminals) write the clipboard, CR rewrites the current line, and
 * bidirectional overrides reorder what is shown, so a plugin could make its output say
 * something else or hide an audit line. Everything printed on a plugin's behalf goes
 * through the one function below, which shows those characters instead of sending them.
 *
 * Escapes, always visible as text: C0 controls except TAB (and LF when kept) as \xNN
 * (ESC is \x1b), DEL as \x7f, C1 controls (U+0080..U+009F), the bidirectional controls
 * and marks (U+202A..U+202E, U+2066..U+2069, U+061C, U+200E, U+200F), the line and
 * paragraph separators and the invisible format characters (U+200B, U+2028, U+2029,
 * U+2060..U+2064, U+206A..U+206F, U+FEFF) as \uNNNN, and each byte that is not valid
 * UTF-8 as \xNN. All else, other UTF-8 included (U+200C/U+200D joiners among it: scripts
 * and emoji need them), passes unchanged.
 * A backslash passes too: the result is for a person to read, not to be decoded back, and
 * a plugin that writes "\x1b" itself only shows what an escaped ESC looks like.
 *
 * Only for text a person reads. Machine output (JSON for agents and scripts, the audit
 * trail) stays byte-exact; its readers decode it themselves.
 *
 * No state: any thread (tt_fputs serialises with other writers as its FILE does).
 */
#ifndef AL_TERM_TEXT_H
#define AL_TERM_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The escaped copy of s (NULL: ""), malloc'd, free() it; NULL only when out of memory.
 * keep_newlines: LF passes (multi-line messages); otherwise it is \x0a too (one record
 * per line, as for a log line whose reader splits on newlines). */
char *tt_escape(const char *s, bool keep_newlines);

/* Writes s escaped as above to out (borrowed; NULL: nothing); the same rules without an
 * allocation, passing text written a run at a time. */
void tt_fputs(const char *s, bool keep_newlines, FILE *out);

#endif
