/*
 * validate.h: the host side of the boundary. Everything read back from a VM (UI trees,
 * dispatch intents, load metadata) and every grant set handed in by a host is checked
 * here before anything acts on it, with the exact messages of the plugin contract.
 * All functions are pure: they read a borrowed json_t and fill `err` on the first
 * violation.
 */
#ifndef AL_VALIDATE_H
#define AL_VALIDATE_H

#include "common.h"

/* Checks a rendered UINode tree against the contract (spec sec. 3) and the depth and node
 * budgets. The byte budget is checked by the caller on the serialized text. Returns 0 or
 * AL_ECONTRACT with err->path naming the node. */
int ui_validate_tree(const json_t *tree, const al_budgets *budgets, al_error *err);

/* Checks the intents an event returned (spec sec. 4). Returns 0 or AL_ECONTRACT. */
/* Intents one call may dispatch, and their total size as JSON text: past either the whole
 * event fails (CONTRACT_VIOLATION) before anything is applied. 40,000 intents in one
 * 100 ms event once took the host 2 s to apply. */
#define UI_MAX_INTENTS 1000
#define UI_MAX_INTENTS_BYTES ((size_t)1 << 20)
int ui_validate_intents(const json_t *intents, al_error *err);

/* Checks load metadata {declaredId?, title, description?, initialState?, widgets[]} read
 * back from a VM. Returns 0 or AL_ECONTRACT. */
int ui_validate_metadata(const json_t *meta, al_error *err);

/* Checks a grants object {readShared?, writeShared?, systemCommands?: string[]}; unknown
 * keys are refused. Returns 0 or AL_EINVALID_ARGUMENT. */
int ui_validate_grants(const json_t *grants, al_error *err);

#endif
