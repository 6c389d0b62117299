/* textui.h: draws a validated UINode tree as indented text for the terminal. */
#ifndef AL_CLI_TEXTUI_H
#define AL_CLI_TEXTUI_H

#include <jansson.h>
#include <stdio.h>

/* Buttons as [label], inputs as [value____], counters as [-] n [+], badges as (text),
 * tables as aligned columns; containers indent their children by two spaces, and a row
 * of simple nodes is drawn on one line. */
void textui_draw(FILE *out, const json_t *tree, int indent);

/* The depth-first flattening the conformance format calls `texts`. New reference. */
json_t *textui_texts(const json_t *tree);

#endif
