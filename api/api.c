/*
 * api.c: what the HTTP layer asks of the server (roles, local admins,
 * readiness, the trust store of the moment), and the handler for routes
 * not built yet.
 */
#include "api.h"

#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509_vfy.h>

#include "../ca/spiffeid.h"
#include "../server/log.h"

/*
 * Roles of a peer whose chain verified: admin when its ID is one of
 * conf->admin_ids, compared in parsed form.  Returns 0 for none.
 */
unsigned
api_peer_roles(struct api *api, const struct spiffeid *id)
{
	struct spiffeid admin;
	struct rc_why why;
	const char *s;
	size_t i;

	for (i = 0; i < api->conf->n_admin_ids; i++) {
		s = api->conf->admin_ids[i];
		if (s == NULL || spiffeid_parse(s, strlen(s), &admin,
		    "admin_ids", &why) != RC_OK)
			continue;
		if (spiffeid_is_equal(&admin, id))
			return HTTP_ROLE_ADMIN;
	}
	/*
	 * XXX(agent-roles): attested agents and downstream entries hold
	 * no role yet, so the agent and downstream routes refuse every
	 * caller; acceptable while those routes answer 501 anyway.  Fix:
	 * look the ID up among current agents and downstream entries in
	 * the store and grant HTTP_ROLE_AGENT or HTTP_ROLE_DOWNSTREAM.
	 */
	return 0;
}

/*
 * May local uid use the admin socket?  Root, the server's own uid and
 * the uids listed in admin_uids may.
 */
bool
api_uid_is_admin(struct api *api, uid_t uid)
{
	size_t i;

	if (uid == 0 || uid == api->server_uid)
		return true;
	for (i = 0; i < api->conf->n_admin_uids; i++)
		if (api->conf->admin_uids[i] == uid)
			return true;
	return false;
}

/*
 * Ready when the CA can sign now.
 * XXX(ready-store): the store is not asked whether it answers, so a
 * broken database shows only as failing requests; acceptable while
 * SQLite lives in the same process and fails loudly.  Fix: a cheap
 * store ping (one prepared SELECT) here.
 */
bool
api_is_ready(struct api *api)
{
	if (api->ca == NULL)
		return false;
	return ca_can_sign(api->ca, time(NULL));
}

/*
 * The current view's trust store, up-ref'd (caller frees), and its
 * generation; NULL before the CA has a view.
 */
X509_STORE *
api_trust_get(struct api *api, uint64_t *generation)
{
	struct ca_view *v;
	X509_STORE *s = NULL;

	*generation = 0;
	if (api->ca == NULL)
		return NULL;
	v = ca_view_get(api->ca);
	if (v == NULL)
		return NULL;
	if (v->trust != NULL && X509_STORE_up_ref(v->trust) == 1)
		s = v->trust;
	*generation = v->generation;
	ca_view_put(api->ca, v);
	return s;
}

const struct http_hooks api_hooks = {
	.peer_roles = api_peer_roles,
	.uid_ok = api_uid_is_admin,
	.ready = api_is_ready,
	.trust_get = api_trust_get,
};

/*
 * A route of the table whose handler is not built yet: 501 with a
 * problem document.  Never fails.
 */
enum rc
api_not_implemented(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	char detail[256];
	json_t *o;

	(void)api;
	(void)why;
	(void)snprintf(detail, sizeof(detail), "%s %s is not implemented yet",
	    req->method, req->path);
	o = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank",
	    "title", "not implemented", "status", 501, "detail", detail);
	http_resp_json(resp, 501, o == NULL ? NULL : json_dumps(o,
	    JSON_COMPACT));
	resp->content_type = "application/problem+json";
	json_decref(o);
	return RC_OK;
}
