/*
 * entry.h: the rules a registration entry meets before it is stored.
 * One function judges a whole struct store_entry for the server's trust
 * domain; the REST handlers and anything else that creates or changes
 * entries call it, so the rules live in exactly one place.  It knows
 * nothing of JSON, HTTP or SQL, and nothing of the configuration file:
 * the limits come in a struct entry_limits.
 *
 * Each refusal is RC_BAD_REQUEST (RC_TOO_LARGE for a list over its
 * ceiling) with why->field the JSON path of the offending member
 * ("spiffe_id", "selectors[2].value") and why->rule one of the rules
 * below, or the checklist number or RFC section that the SPIFFE ID and
 * trust domain parser (spiffeid.h) or the DNS name check applied.
 *
 *   ENTRY-01  spiffe_id and parent_id are in the server's trust domain
 *   ENTRY-02  spiffe_id and parent_id are present
 *   ENTRY-03  one selector at least, ENTRY_SELECTORS_MAX at most
 *   ENTRY-04  selector type: 1..ENTRY_SELECTOR_TYPE_MAX bytes, no ':'
 *   ENTRY-05  selector value: 1..ENTRY_SELECTOR_VALUE_MAX bytes
 *   ENTRY-06  no selector twice in one entry
 *   ENTRY-07  TTLs: 0 (the default) up to the configured maximum
 *   ENTRY-08  DNS names: ENTRY_DNS_NAMES_MAX at most, none twice
 *   ENTRY-09  federates_with: ENTRY_FEDERATES_MAX at most, none twice,
 *             never the server's own trust domain
 *   ENTRY-10  an entry ID given by a caller: 1..STORE_ENTRY_ID_MAX bytes
 *             of A-Z a-z 0-9 . _ -, and not "count" or "batch-delete"
 *             (routes of their own under /v1/entries)
 *   ENTRY-11  expires_at is 0 (never) or a time after the epoch
 *   ENTRY-12  hint: at most ENTRY_HINT_MAX bytes
 *   ENTRY-13  the shape of the input: known members, right types (used
 *             by the JSON codec, api/entry_json.c)
 *   X5-18     spiffe_id has a path: an SVID's ID is never the trust
 *             domain's own (checklist X5-18)
 *   RFC 1123 2.1  each DNS name, see entry_dns_name_is_valid()
 */
#ifndef SVIDCA_ENTRY_H
#define SVIDCA_ENTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "../server/bounds.h"
#include "../server/rc.h"
#include "../store/store.h"

#define ENTRY_FIELD_MAX		128	/* bytes of a field path we build */

#define ENTRY_RULE_TD		"ENTRY-01"
#define ENTRY_RULE_REQUIRED	"ENTRY-02"
#define ENTRY_RULE_SELECTORS	"ENTRY-03"
#define ENTRY_RULE_SEL_TYPE	"ENTRY-04"
#define ENTRY_RULE_SEL_VALUE	"ENTRY-05"
#define ENTRY_RULE_SEL_DUP	"ENTRY-06"
#define ENTRY_RULE_TTL		"ENTRY-07"
#define ENTRY_RULE_DNS		"ENTRY-08"
#define ENTRY_RULE_FEDERATES	"ENTRY-09"
#define ENTRY_RULE_ID		"ENTRY-10"
#define ENTRY_RULE_EXPIRES	"ENTRY-11"
#define ENTRY_RULE_HINT		"ENTRY-12"
#define ENTRY_RULE_SHAPE	"ENTRY-13"
#define ENTRY_RULE_PATH		"X5-18"
#define ENTRY_RULE_DNS_NAME	"RFC 1123 2.1"

/* What the rules depend on, from the configuration. */
struct entry_limits {
	const char	*trust_domain;		/* ours, bare name, borrowed */
	long		 x509_svid_ttl_max;	/* seconds, > 0 */
	long		 jwt_svid_ttl_max;	/* seconds, > 0 */
};

/*
 * Judge e against every rule above.  An empty e->id is fine (the store
 * makes one); revision_number, created_at and created_by are the
 * store's and not looked at.  RC_OK, or RC_BAD_REQUEST / RC_TOO_LARGE
 * with why filled; why->field may point at per-thread storage (see
 * entry_field_fmt).  Reads e only; thread-safe.
 */
enum rc		 entry_check(const struct store_entry *e,
		    const struct entry_limits *lim, struct rc_why *why)
		    MUST_CHECK;

/*
 * Check an entry ID given by a caller, id[0..len) (ENTRY-10).  RC_OK or
 * RC_BAD_REQUEST with why naming field.
 */
enum rc		 entry_id_check(const char *id, size_t len, const char *field,
		    struct rc_why *why) MUST_CHECK;

/*
 * Is name[0..len) a host name as RFC 1123 section 2.1 has it: 1..253
 * bytes, dot-separated labels of 1..63 letters, digits and hyphens, no
 * label starting or ending with a hyphen?  A leftmost label of "*" alone
 * is allowed (a wildcard, RFC 6125 section 6.4.3); a trailing dot is not.
 */
bool		 entry_dns_name_is_valid(const char *name, size_t len);

/*
 * A field path built from fmt ("selectors[%zu].value"), for why->field,
 * in per-thread storage: valid until the same thread calls this again,
 * which is long enough for a handler to answer from the thread that
 * validated.  Cut at ENTRY_FIELD_MAX - 1 bytes.  Never NULL.
 */
const char	*entry_field_fmt(const char *fmt, ...) PRINTF_LIKE(1, 2);

/*
 * Move the members of src into dst, dst's old ones into src (a swap), so
 * that a change can be applied member by member and the replaced values
 * freed with src.  which is a set of ENTRY_M_ bits.
 */
enum entry_member {
	ENTRY_M_ID = 1u << 0,
	ENTRY_M_SPIFFE_ID = 1u << 1,
	ENTRY_M_PARENT_ID = 1u << 2,
	ENTRY_M_SELECTORS = 1u << 3,
	ENTRY_M_X509_TTL = 1u << 4,
	ENTRY_M_JWT_TTL = 1u << 5,
	ENTRY_M_DNS_NAMES = 1u << 6,
	ENTRY_M_FEDERATES = 1u << 7,
	ENTRY_M_ADMIN = 1u << 8,
	ENTRY_M_DOWNSTREAM = 1u << 9,
	ENTRY_M_EXPIRES_AT = 1u << 10,
	ENTRY_M_HINT = 1u << 11,
	ENTRY_M_STORE_SVID = 1u << 12,
};
void		 entry_swap_members(struct store_entry *dst,
		    struct store_entry *src, unsigned which);

#endif
