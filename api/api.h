/*
 * api.h: the context every handler shares, and the handlers themselves,
 * one file per REST resource (api_*.c).  Handlers translate JSON to calls
 * and back; they hold no business rules of their own.
 */
#ifndef SVIDCA_API_H
#define SVIDCA_API_H

#include <stdbool.h>
#include <time.h>

#include "../ca/ca.h"
#include "../server/conf.h"
#include "../store/store.h"
#include "http.h"

struct api {
	const struct conf	*conf;	/* borrowed, lives as long as api */
	struct store		*store;	/* borrowed */
	struct ca		*ca;	/* borrowed */
	uid_t			 server_uid;	/* our own uid */
	_Atomic bool		 serving;	/* the listener has its SVID */
};

/*
 * Roles of a verified peer SVID with leaf serial (lowercase hex): admin
 * (admin_ids, or an entry marked admin), downstream (an entry marked
 * downstream), agent (a current agent SVID; presenting the serial of a
 * renewal promotes it).  Called by http.c after the chain verified
 * against the bundle.
 */
unsigned	 api_peer_roles(struct api *, const struct spiffeid *id,
		    const char *serial);

/* Is a local uid allowed on the admin socket (root, ours, configured)? */
bool		 api_uid_is_admin(struct api *, uid_t uid);

/* Is the CA able to sign and the store answering (/ready)? */
bool		 api_is_ready(struct api *);

/* The trust store of the current CA view, up-ref'd, and its generation. */
X509_STORE	*api_trust_get(struct api *, uint64_t *generation);

/*
 * A caller with an identity (req->actor) was answered status (4xx) for
 * why: an audit record "refused", at most API_REFUSAL_PER_MIN (api.c) a
 * caller and minute, the rest counted into a later "refused.dropped"
 * record.  The hook http.c calls; handlers call it too for an item
 * refused inside a 200 batch answer.  Never inside a store_write().
 */
void		 api_refused(struct api *, const struct http_req *req,
		    int status, const struct rc_why *why);

/*
 * Write the "refused.dropped" records owed for minutes before now's, or
 * for every minute when all is true (at shutdown).  Scheduler thread.
 */
void		 api_refused_flush(struct api *, time_t now, bool all);

/* The hooks above, for http_opts. */
extern const struct http_hooks api_hooks;

/* Handlers. */
enum rc		 api_bundle_get(struct api *, struct http_req *,
		    struct http_resp *, struct rc_why *);

/*
 * Placeholder for a route of the table not built yet: answers 501 with
 * a problem document naming method and path.  Never fails.
 */
enum rc		 api_not_implemented(struct api *, struct http_req *,
		    struct http_resp *, struct rc_why *);


/*
 * Handlers, one file per resource.  Each reads req, fills resp and
 * returns RC_OK, or returns an error with why filled (see http.h).
 */
#define API_HANDLER(name) enum rc name(struct api *, struct http_req *, \
    struct http_resp *, struct rc_why *)

/* api_audit.c: the audit chain (admin, local) */
API_HANDLER(api_audit_list);

/*
 * api_body.c: the request body as one JSON object (*out, new reference
 * for the caller) declared as application/json (else RC_UNSUPPORTED),
 * without duplicate members and with members only from allowed
 * (NULL-ended); RC_BAD_REQUEST naming "body" otherwise.
 */
struct json_t;
enum rc		 api_body_object(const struct http_req *req,
		    const char *const *allowed, struct json_t **out,
		    struct rc_why *why);

/* api_entries.c: registration entries (admin, local) */
API_HANDLER(api_entries_list);
API_HANDLER(api_entries_create);
API_HANDLER(api_entries_count);
API_HANDLER(api_entries_batch_delete);
API_HANDLER(api_entry_get);
API_HANDLER(api_entry_put);
API_HANDLER(api_entry_patch);
API_HANDLER(api_entry_delete);

/* api_svids.c: minting for any ID of the trust domain (admin, local) */
API_HANDLER(api_svids_x509);
API_HANDLER(api_svids_jwt);

/* api_attest.c: node attestation (anonymous) and join tokens (admin) */
API_HANDLER(api_agent_attest);
API_HANDLER(api_join_tokens_create);

/* api_agent.c: the agent API (agent) and agent admin (admin, local) */
API_HANDLER(api_agent_renew);
API_HANDLER(api_agent_entries);
API_HANDLER(api_agent_x509_svids);
API_HANDLER(api_agent_jwt_svids);
API_HANDLER(api_agent_bundles);
API_HANDLER(api_agents_list);
API_HANDLER(api_agents_count);
API_HANDLER(api_agents_ban);
API_HANDLER(api_agents_evict);
API_HANDLER(api_agents_purge);

/* api_ops.c: the running server (admin, local) */
API_HANDLER(api_log_level_get);
API_HANDLER(api_log_level_put);

/*
 * entry_json.c: an entry to its JSON object (new reference), and a JSON
 * object to an entry (filling e, which the caller clears), refusing
 * unknown fields and wrong types with why naming the field.  With patch
 * true only the members present are set, and present[] gets which.
 */
struct json_t;
struct json_t	*api_entry_to_json(const struct store_entry *e);

#endif
