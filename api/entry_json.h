/*
 * entry_json.h: registration entries to and from JSON (jansson).  The
 * JSON is the REST API's (docs/openapi.yaml, schemas Entry, EntryInput,
 * EntryPatch), which takes SPIRE's export as it is: SPIFFE IDs as
 * strings or {trust_domain, path} objects, 64-bit numbers as integers or
 * decimal strings, federates_with bare or with "spiffe://".
 *
 * Decoding checks the shape only (known members, right types, no NUL
 * inside a string); the rules of an entry are ca/entry.c's.  A refusal is
 * RC_BAD_REQUEST with why->field the member's JSON path and why->rule
 * ENTRY-13 (or the SPIFFE ID rule for a malformed ID in object form).
 */
#ifndef SVIDCA_ENTRY_JSON_H
#define SVIDCA_ENTRY_JSON_H

#include <stdbool.h>

#include <jansson.h>

#include "../ca/entry.h"
#include "../server/rc.h"
#include "../store/store.h"

/*
 * The entry as the API answers it: every member present, IDs as strings,
 * times and revision as integers.  A new reference, or NULL when out of
 * memory.
 */
json_t		*api_entry_to_json(const struct store_entry *e);

/*
 * Fill e (zeroed by the caller, cleared by the caller on every outcome)
 * from the JSON object o.  Without patch, o is an EntryInput: absent
 * members keep e's zero values, and revision_number, created_at and
 * created_by are read for their type and ignored.  With patch, o is an
 * EntryPatch: at least one member, and none of id, revision_number,
 * created_at or created_by.  *present (if not NULL) gets the ENTRY_M_
 * bits of the members o held.  why->field may point at per-thread
 * storage (entry_field_fmt).
 */
enum rc		 api_entry_from_json(const json_t *o, bool patch,
		    struct store_entry *e, unsigned *present,
		    struct rc_why *why) MUST_CHECK;

/*
 * A trust domain as federates_with takes it, bare or "spiffe://name",
 * reduced to the bare name: a pointer into s, *len adjusted.  The name is
 * not checked here (entry_check does).
 */
const char	*api_entry_td_bare(const char *s, size_t *len);

#endif
