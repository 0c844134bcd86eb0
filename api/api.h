/*
 * api.h: the context every handler shares, and the handlers themselves,
 * one file per REST resource (api_*.c).  Handlers translate JSON to calls
 * and back; they hold no business rules of their own.
 */
#ifndef SVIDCA_API_H
#define SVIDCA_API_H

#include <stdbool.h>

#include "../ca/ca.h"
#include "../server/conf.h"
#include "../store/store.h"
#include "http.h"

struct api {
	const struct conf	*conf;	/* borrowed, lives as long as api */
	struct store		*store;	/* borrowed */
	struct ca		*ca;	/* borrowed */
	uid_t			 server_uid;	/* our own uid */
};

/*
 * Roles of a verified peer SVID (admin when its ID is in admin_ids).
 * Called by http.c after the chain verified against the bundle.
 */
unsigned	 api_peer_roles(struct api *, const struct spiffeid *id);

/* Is a local uid allowed on the admin socket (root, ours, configured)? */
bool		 api_uid_is_admin(struct api *, uid_t uid);

/* Is the CA able to sign and the store answering (/ready)? */
bool		 api_is_ready(struct api *);

/* The trust store of the current CA view, up-ref'd, and its generation. */
X509_STORE	*api_trust_get(struct api *, uint64_t *generation);

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

#endif
