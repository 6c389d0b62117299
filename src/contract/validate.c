/*
 * validate.c: UINode, intent, metadata and grant validation.
 *
 * The tree walk builds the violation path in one fixed buffer, appending a segment on the
 * way down and truncating it on the way back, so a valid tree costs no allocation. Rules
 * are checked in the order the contract lists them because the first violation is the one
 * reported, and plugins and tests match its exact text.
 */
#include <stdio.h>
#include <string.h>

#include "validate.h"

typedef struct ui_walk {
  const al_budgets *budgets;
  uint32_t nodes;
  char path[256];
  size_t len;
  al_error *err;
} ui_walk;

/* Appends ".props.<key>" or ".children[<i>]"; returns the previous length to restore.
 * A path that no longer fits is cut with "..." rather than overflowing. */
static size_t walk_push(ui_walk *w, const char *key, size_t index) {
  size_t old = w->len, room = sizeof w->path - w->len;
  int n = key ? snprintf(w->path + w->len, room, ".props.%s", key)
              : snprintf(w->path + w->len, room, ".children[%zu]", index);
  if (n < 0 || (size_t)n >= room) {
    w->len = sizeof w->path - 4;
    memcpy(w->path + w->len, "...", 4);
  } else {
    w->len += (size_t)n;
  }
  return old;
}

static void walk_pop(ui_walk *w, size_t old) {
  w->len = old;
  w->path[old] = '\0';
}

/* Fails with "<path><suffix>" as both message and path. */
static int walk_fail(ui_walk *w, const char *suffix) {
  return err_set(w->err, AL_ECONTRACT, w->path, "%s%s", w->path, suffix);
}

static int check_event_ref(ui_walk *w, const json_t *props, const char *key) {
  const json_t *ref = json_object_get(props, key);
  if (!ref) return 0;
  size_t old = walk_push(w, key, 0);
  int rc = 0;
  if (!json_is_object(ref)) {
    rc = walk_fail(w, " must be an object");
  } else {
    const json_t *h = json_object_get(ref, "handler");
    if (!json_is_string(h) || json_string_length(h) == 0)
      rc = walk_fail(w, ".handler must be a non-empty string");
  }
  walk_pop(w, old);
  return rc;
}

static bool is_string_array(const json_t *a) {
  if (!json_is_array(a)) return false;
  size_t i;
  const json_t *v;
  json_array_foreach(a, i, v) if (!json_is_string(v)) return false;
  return true;
}

static bool is_rows(const json_t *a) {
  if (!json_is_array(a)) return false;
  size_t i;
  const json_t *v;
  json_array_foreach(a, i, v) if (!json_is_array(v)) return false;
  return true;
}

static int walk_node(ui_walk *w, const json_t *node, uint32_t depth);

static int walk_children(ui_walk *w, const json_t *node, uint32_t depth) {
  const json_t *children = json_object_get(node, "children");
  if (!children) return 0;
  if (!json_is_array(children)) return walk_fail(w, ".children must be an array");
  size_t i;
  const json_t *child;
  json_array_foreach(children, i, child) {
    size_t old = walk_push(w, NULL, i);
    int rc = walk_node(w, child, depth + 1);
    if (rc) return rc;
    walk_pop(w, old);
  }
  return 0;
}

/* The node kinds of the contract (plugin-contract.md, UINode) and what each must carry:
 * the one list on the host side (the VM's is its `ui` builders, the page's its renderer;
 * the CLI's text view needs none: a node with a children array is a container). */
typedef enum { UI_CHILDREN, UI_TEXT, UI_PROP_STRING, UI_PROP_NUMBER, UI_TABLE } ui_shape;
typedef struct ui_kind {
  const char *kind;
  ui_shape shape;
  const char *prop; /* UI_PROP_*: the required prop */
} ui_kind;
static const ui_kind ui_kinds[] = {
    {"panel", UI_CHILDREN, NULL},        {"row", UI_CHILDREN, NULL},
    {"column", UI_CHILDREN, NULL},       {"text", UI_TEXT, NULL},
    {"badge", UI_TEXT, NULL},            {"button", UI_PROP_STRING, "label"},
    {"input", UI_PROP_STRING, "value"},  {"counter", UI_PROP_NUMBER, "value"},
    {"table", UI_TABLE, NULL},
};

static int walk_node(ui_walk *w, const json_t *node, uint32_t depth) {
  char msg[96];
  if (depth > w->budgets->max_depth) {
    snprintf(msg, sizeof msg, " exceeds the maximum tree depth of %u", w->budgets->max_depth);
    return walk_fail(w, msg);
  }
  if (++w->nodes > w->budgets->max_nodes) {
    snprintf(msg, sizeof msg, " exceeds the budget of %u nodes", w->budgets->max_nodes);
    return walk_fail(w, msg);
  }
  if (!json_is_object(node)) return walk_fail(w, " must be an object");
  const json_t *kind_v = json_object_get(node, "kind");
  if (!json_is_string(kind_v)) return walk_fail(w, ".kind must be a string");
  const char *kind = json_string_value(kind_v);
  const json_t *props = json_object_get(node, "props");
  int rc = 0;

  const ui_kind *k = NULL;
  for (size_t i = 0; i < sizeof ui_kinds / sizeof *ui_kinds && !k; i++)
    if (!strcmp(kind, ui_kinds[i].kind)) k = &ui_kinds[i];
  if (!k) {
    /* The kind is plugin-controlled text: cap what is quoted back. */
    snprintf(msg, sizeof msg, ".kind '%.60s' is not supported", kind);
    rc = walk_fail(w, msg);
  } else if (k->shape == UI_CHILDREN) {
    rc = walk_children(w, node, depth);
  } else if (k->shape == UI_TEXT) {
    if (!json_is_string(json_object_get(node, "text"))) rc = walk_fail(w, ".text must be a string");
  } else if (k->shape == UI_PROP_STRING || k->shape == UI_PROP_NUMBER) {
    const json_t *v = json_object_get(props, k->prop);
    if (k->shape == UI_PROP_STRING ? !json_is_string(v) : !json_is_number(v)) {
      snprintf(msg, sizeof msg, ".props.%s must be a %s", k->prop, k->shape == UI_PROP_STRING ? "string" : "number");
      rc = walk_fail(w, msg);
    }
  } else { /* UI_TABLE */
    if (!json_is_object(props)) rc = walk_fail(w, ".props must be an object");
    else if (!is_string_array(json_object_get(props, "headers")))
      rc = walk_fail(w, ".props.headers must be a string[]");
    else if (!is_rows(json_object_get(props, "rows")))
      rc = walk_fail(w, ".props.rows must be an array of rows");
  }
  if (rc) return rc;

  if (json_is_object(props)) {
    static const char *const refs[] = {"onClick", "onChange", "onIncrement", "onDecrement"};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
      if ((rc = check_event_ref(w, props, refs[i]))) return rc;
  }
  return 0;
}

int ui_validate_tree(const json_t *tree, const al_budgets *budgets, al_error *err) {
  ui_walk w = {.budgets = budgets, .err = err};
  memcpy(w.path, "root", 5);
  w.len = 4;
  return walk_node(&w, tree, 1);
}

int ui_validate_intents(const json_t *intents, al_error *err) {
  if (!json_is_array(intents))
    return err_set(err, AL_ECONTRACT, "intents", "Dispatch intents result must be an array");
  if (json_array_size(intents) > UI_MAX_INTENTS)
    return err_set(err, AL_ECONTRACT, "intents", "Dispatch intents: at most %d per call, this one dispatched %zu",
                   UI_MAX_INTENTS, json_array_size(intents));
  size_t bytes = json_dumpb(intents, NULL, 0, JSON_COMPACT);
  if (bytes > UI_MAX_INTENTS_BYTES)
    return err_set(err, AL_ECONTRACT, "intents", "Dispatch intents: at most %zu bytes per call, these are %zu",
                   UI_MAX_INTENTS_BYTES, bytes);
  size_t i;
  const json_t *it;
  json_array_foreach(intents, i, it) {
    char path[48];
    snprintf(path, sizeof path, "intents[%zu]", i);
    if (!json_is_object(it))
      return err_set(err, AL_ECONTRACT, path, "Dispatch intent must be an object");
    const char *scope = json_string_value(json_object_get(it, "scope"));
    bool shared = scope && !strcmp(scope, "shared");
    if (!scope || (!shared && strcmp(scope, "plugin")))
      return err_set(err, AL_ECONTRACT, path, "Dispatch intent scope must be 'plugin' or 'shared'");
    const json_t *at = json_object_get(it, "actionType");
    if (!json_is_string(at) || json_string_length(at) == 0)
      return err_set(err, AL_ECONTRACT, path, "Dispatch intent actionType must be a non-empty string");
    if (shared) {
      const json_t *d = json_object_get(it, "domain");
      if (!json_is_string(d) || json_string_length(d) == 0)
        return err_set(err, AL_ECONTRACT, path,
                       "Shared dispatch intent domain must be a non-empty string");
    }
  }
  return 0;
}

static int meta_optional_string(const json_t *meta, const char *key, al_error *err) {
  const json_t *v = json_object_get(meta, key);
  if (v && !json_is_string(v))
    return err_set(err, AL_ECONTRACT, key, "Plugin metadata %s must be a string", key);
  return 0;
}

int ui_validate_metadata(const json_t *meta, al_error *err) {
  int rc;
  if (!json_is_object(meta))
    return err_set(err, AL_ECONTRACT, "plugin", "Plugin metadata must be an object");
  if (!json_is_string(json_object_get(meta, "title")))
    return err_set(err, AL_ECONTRACT, "title", "Plugin metadata title must be a string");
  if ((rc = meta_optional_string(meta, "declaredId", err))) return rc;
  if ((rc = meta_optional_string(meta, "description", err))) return rc;
  const json_t *widgets = json_object_get(meta, "widgets");
  if (!is_string_array(widgets))
    return err_set(err, AL_ECONTRACT, "widgets", "Plugin metadata widgets must be a string[]");
  size_t i, j;
  const json_t *a, *b;
  json_array_foreach(widgets, i, a) {
    if (json_string_length(a) == 0)
      return err_set(err, AL_ECONTRACT, "widgets", "Plugin widget ids must be non-empty strings");
    json_array_foreach(widgets, j, b) {
      if (j >= i) break;
      if (json_equal(a, b))
        return err_set(err, AL_ECONTRACT, "widgets", "Plugin widget id '%.60s' is repeated",
                       json_string_value(a));
    }
  }
  return 0;
}

int ui_validate_grants(const json_t *grants, al_error *err) {
  if (!json_is_object(grants))
    return err_set(err, AL_EINVALID_ARGUMENT, "grants", "grants must be an object");
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)grants, key, v) {
    if (strcmp(key, "readShared") && strcmp(key, "writeShared") && strcmp(key, "systemCommands"))
      return err_set(err, AL_EINVALID_ARGUMENT, "grants",
                     "grants.%.60s is not a grant (readShared, writeShared, systemCommands)", key);
    if (!is_string_array(v))
      return err_set(err, AL_EINVALID_ARGUMENT, "grants", "grants.%s must be an array of strings",
                     key);
  }
  return 0;
}
