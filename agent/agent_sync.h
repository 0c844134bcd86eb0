/*
 * agent_sync.h: the entries an agent serves, kept as files under its SVID
 * directory S:
 *
 *	S/<entry-id>/svid.pem		the X.509-SVID, leaf then chain
 *	S/<entry-id>/key.pem		its private key, PKCS#8, mode 0600
 *	S/<entry-id>/bundle.pem		every current root of the trust domain
 *	S/<entry-id>/federated/<td>.pem	roots of each trust domain the entry
 *					federates with, when the server has them
 *	S/entries.json			entry ID -> SPIFFE ID, hint, revision
 *
 * A sync asks the server for the authorized entries (with If-None-Match,
 * so an unchanged set costs a 304) and for the bundles, removes the
 * directories of entries no longer authorized, and mints SVIDs for every
 * entry that has none, changed, is signed by a tainted authority, or is
 * near half of its life, all due ones in one batch.  Files are replaced
 * atomically; a failed round leaves every file as it was.
 *
 * Single-threaded: one agent loop owns the state.
 */
#ifndef SVIDCA_AGENT_SYNC_H
#define SVIDCA_AGENT_SYNC_H

#include <stdbool.h>
#include <time.h>

#include "../server/bounds.h"
#include "../server/rc.h"
#include "agent_client.h"
#include "agent_trust.h"

/* CSRs in one x509-svids call: the server takes at most this many. */
#define AGENT_SYNC_BATCH_MAX	AGENT_BATCH_MAX
#define AGENT_SYNC_ENTRIES_MAX	200000	/* entries one agent serves */
#define AGENT_SYNC_FILE		"entries.json"
#define AGENT_SYNC_SVID		"svid.pem"
#define AGENT_SYNC_KEY		"key.pem"
#define AGENT_SYNC_BUNDLE	"bundle.pem"
#define AGENT_SYNC_FEDERATED	"federated"

struct agent_sync;

/* What a round learnt that the agent loop must act on. */
struct agent_sync_news {
	bool	 trust_changed;	/* own roots differ: see get0_trust */
	char	*bundle_json;	/* own bundle as served, malloc'd, or NULL */
};

/*
 * State for the SVID directory dir (which must exist) in trust domain td,
 * re-minting each SVID ahead of half of its life by up to window seconds
 * so that nearly-due ones join one batch.  trust (taken) is the roots
 * until the server sends its bundle.  NULL on failure.
 */
struct agent_sync *agent_sync_new(const char *dir, const char *td,
		    long window, struct agent_trust *trust);
/* Free the state (NULL is fine); the files stay. */
void		 agent_sync_free(struct agent_sync *);

/*
 * Pick up what an earlier run left: the entries of S/entries.json and
 * those of their SVIDs that are still current and verify against the
 * roots.  Until the first sync they are served as they are.  A missing
 * or unreadable entries.json is no error (logged at warn when unreadable).
 */
void		 agent_sync_restore(struct agent_sync *, time_t now);

/*
 * One round as described above.  RC_OK when the entries and bundles were
 * fetched (minting failures of single items are logged and retried
 * later, not returned); RC_DENIED / RC_UNAUTHENTICATED when the server
 * refused the agent; RC_IO, RC_UNAVAILABLE ... when no usable answer
 * came.  news is filled whatever the outcome, since the bundles may have
 * changed before a later step failed: act on it and free
 * news->bundle_json in every case.
 */
enum rc		 agent_sync_run(struct agent_sync *, struct agent_client *,
		    time_t now, struct agent_sync_news *news) MUST_CHECK;

/*
 * Mint whatever is due at now without syncing first (between rounds).
 * Same outcomes as agent_sync_run().
 */
enum rc		 agent_sync_mint(struct agent_sync *, struct agent_client *,
		    time_t now) MUST_CHECK;

/* When the next SVID is due; 0 when nothing is held or due. */
time_t		 agent_sync_next_due(const struct agent_sync *);

/* The roots of the own trust domain as last known (borrowed). */
const struct agent_trust *agent_sync_get0_trust(const struct agent_sync *);

/* Replace the roots (taken), as from an attestation answer. */
void		 agent_sync_set_trust(struct agent_sync *,
		    struct agent_trust *trust);

/* Is an X.509 authority with this key ID (lowercase hex) tainted? */
bool		 agent_sync_is_tainted(const struct agent_sync *,
		    const char *kid);

/* Number of entries held (authorized at the last sync). */
size_t		 agent_sync_count(const struct agent_sync *);

#endif
