/*
 * authz.h: which registration entries an attested agent may obtain SVIDs
 * for (DESIGN.md, "Authorization: default deny").  An agent is
 * authorized for the entries whose parent_id is its own SPIFFE ID, or
 * the SPIFFE ID of a node-alias entry (parent_id the server's own ID,
 * every selector among the agent's node selectors), and for every
 * descendant of those.  The walk is breadth-first and keeps a visited
 * set of SPIFFE IDs, so a parent cycle ends it.  Expired entries are
 * never in the set and their subtrees are not walked; alias entries
 * themselves are never in it.
 *
 * The set is computed from indexed store lookups (by parent, by alias
 * selectors), never from a scan of all entries, and kept in a bounded
 * cache keyed on store_generation(): while nothing changed and no entry
 * in it expired, asking again costs one hash lookup.  Sets are shared
 * by reference, so a request may keep using its set while a writer
 * invalidates the cache.
 */
#ifndef SVIDCA_AUTHZ_H
#define SVIDCA_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../server/rc.h"
#include "../store/store.h"

#define AUTHZ_SLOTS_DEFAULT	4096	/* agents whose sets are cached */
#define AUTHZ_WAYS		4	/* slots compared per lookup */
#define AUTHZ_ENTRIES_MAX	100000	/* entries in one agent's set */
#define AUTHZ_DIGEST_LEN	16	/* bytes of a set's content digest */

struct authz;
struct authz_set;

/*
 * A cache over store (borrowed; it must outlive the cache) for a trust
 * domain whose server has the SPIFFE ID server_id (copied), holding the
 * sets of at most slots agents (rounded up to a power of two, at least
 * AUTHZ_WAYS; 0 means AUTHZ_SLOTS_DEFAULT).  NULL when out of memory.
 * Thread-safe: every call below may run from any thread.
 */
struct authz	*authz_new(struct store *store, const char *server_id,
		    size_t slots);

/* Drop the cache and its references to sets; NULL is fine. */
void		 authz_free(struct authz *);

/*
 * The authorized set of the agent agent_id at now, with a reference
 * the caller drops with authz_set_put().  Served from the cache while
 * the store generation is unchanged and no entry of the set expired;
 * otherwise computed and cached.  RC_NOT_FOUND when no such agent is
 * stored, RC_DENIED when it is banned, RC_TOO_LARGE when the set would
 * pass AUTHZ_ENTRIES_MAX (logged), RC_DB or RC_NOMEM on our faults.
 */
enum rc		 authz_get(struct authz *, const char *agent_id, time_t now,
		    struct authz_set **out) MUST_CHECK;

/* Drop a reference taken by authz_get(); NULL is fine. */
void		 authz_set_put(struct authz_set *);

/*
 * The entry with ID entry_id in set, borrowed for as long as the caller
 * holds its reference; NULL when the set has no such entry.
 */
const struct store_entry *authz_set_find(const struct authz_set *,
		    const char *entry_id);

/* The set's entries in breadth-first order (borrowed) and their count. */
const struct store_entry *authz_set_get0_entries(const struct authz_set *,
		    size_t *n);

/*
 * A digest (AUTHZ_DIGEST_LEN bytes, borrowed) of the agent ID and every
 * field of every entry in the set, in order: it changes whenever the
 * set or an entry in it does, and only then.
 */
const unsigned char *authz_set_get0_digest(const struct authz_set *);

/*
 * Is entry_id in the agent's set at now?  *allowed is false for an
 * entry outside it, unknown or expired.  Errors as authz_get().
 */
enum rc		 authz_entry_allowed(struct authz *, const char *agent_id,
		    const char *entry_id, time_t now, bool *allowed)
		    MUST_CHECK;

#endif
