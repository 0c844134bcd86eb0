/*
 * api.c: what the HTTP layer asks of the server (roles, local admins,
 * readiness, the trust store of the moment), and the handler for routes
 * not built yet.
 */
#include "api.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509_vfy.h>

#include "../ca/spiffeid.h"
#include "../server/log.h"
#include "../server/metrics.h"

#define API_MOD		"api"
/* Odd 64-bit constant (2^64 / golden ratio) spreading the view's gen. */
#define API_GEN_MIX	0x9e3779b97f4a7c15ULL
#define API_AGENT_PREFIX "/svidca/agent/"	/* path of every agent ID */

/* Agent serial changes (promotion) happen one at a time. */
static pthread_mutex_t api_serial_lock = PTHREAD_MUTEX_INITIALIZER;

/* Is id one of conf->admin_ids, compared in parsed form? */
static bool
is_admin_id(const struct api *api, const struct spiffeid *id)
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
			return true;
	}
	return false;
}

/* store_write() callback: promote the pending serial, with its record. */
static enum rc
on_promote(struct store_tx *tx, void *arg)
{
	const struct store_audit *rec = arg;
	enum rc rc;

	rc = store_agent_promote_serial(tx, rec->subject);
	if (rc != RC_OK)
		return rc;
	return store_audit_append(tx, rec, NULL);
}

/*
 * The agent id presents the serial that its renewal handed out: make it
 * current, so the serial it replaces is refused from now on (openapi.yaml,
 * POST /v1/agent/renew).  Under api_serial_lock the agent is read again
 * first, so two connections using the new SVID at once promote it once.
 * True when serial is the agent's current serial afterwards.
 */
static bool
promote_serial(struct api *api, const char *id, const char *serial)
{
	struct store_agent a;
	struct store_audit rec;
	bool current = false;
	enum rc rc = RC_INTERNAL;

	memset(&a, 0, sizeof(a));
	pthread_mutex_lock(&api_serial_lock);
	rc = store_agent_get(api->store, id, &a);
	if (rc != RC_OK || a.banned)
		goto out;
	if (strcmp(a.serial, serial) == 0) {
		current = true;
		goto out;
	}
	if (strcmp(a.new_serial, serial) != 0)
		goto out;

	memset(&rec, 0, sizeof(rec));
	rec.actor = id;
	rec.action = "agent.promote";
	rec.subject = id;
	rec.outcome = "ok";
	rec.serial = serial;
	rc = store_write(api->store, on_promote, &rec);
	if (rc != RC_OK) {
		log_error(API_MOD, "cannot promote the renewed agent svid "
		    "id=%s serial=%s code=\"%s\"", id, serial, rc_str(rc));
		goto out;
	}
	log_info(API_MOD, "renewed agent svid in use, previous one refused "
	    "id=%s serial=%s", id, serial);
	current = true;
out:
	pthread_mutex_unlock(&api_serial_lock);
	store_agent_clear(&a);
	return current;
}

/*
 * Does the peer hold a current agent SVID: a stored agent, not banned,
 * whose current serial, or pending one (then promoted), it presents?
 * Every attestor names its agents under API_AGENT_PREFIX, so no other
 * ID is looked up.
 */
static bool
is_current_agent(struct api *api, const struct spiffeid *id,
    const char *serial)
{
	struct store_agent a;
	bool current = false;
	enum rc rc = RC_INTERNAL;

	if (serial == NULL || serial[0] == '\0' ||
	    strncmp(spiffeid_get0_path(id), API_AGENT_PREFIX,
	    strlen(API_AGENT_PREFIX)) != 0)
		return false;
	memset(&a, 0, sizeof(a));
	rc = store_agent_get(api->store, id->str, &a);
	if (rc != RC_OK) {
		if (rc != RC_NOT_FOUND)
			log_error(API_MOD, "cannot read the agent id=%s "
			    "code=\"%s\"", id->str, rc_str(rc));
		goto out;
	}
	if (a.banned)
		goto out;
	if (strcmp(a.serial, serial) == 0)
		current = true;
	else if (a.new_serial[0] != '\0' && strcmp(a.new_serial, serial) == 0)
		current = promote_serial(api, id->str, serial);
out:
	store_agent_clear(&a);
	return current;
}

/*
 * Roles of a peer whose chain verified, presenting a leaf with this
 * serial (lowercase hex): admin when its ID is in conf->admin_ids or is
 * the SPIFFE ID of an entry marked admin; downstream for an entry marked
 * downstream; agent for a current agent SVID (see is_current_agent).
 * Returns 0 for none.  http.c caches the answer per connection until
 * the generation of api_trust_get() changes, which every store change
 * does, so a ban or an eviction reaches open connections at once.
 */
unsigned
api_peer_roles(struct api *api, const struct spiffeid *id,
    const char *serial)
{
	unsigned roles = 0;
	bool admin = false, downstream = false;
	enum rc rc = RC_INTERNAL;

	if (is_admin_id(api, id))
		roles |= HTTP_ROLE_ADMIN;
	if (api->store == NULL)
		return roles;

	rc = store_entry_flags_for(api->store, id->str, &admin, &downstream);
	if (rc != RC_OK && rc != RC_NOT_FOUND)
		log_error(API_MOD, "cannot read entry flags id=%s code=\"%s\"",
		    id->str, rc_str(rc));
	else if (rc == RC_OK) {
		if (admin)
			roles |= HTTP_ROLE_ADMIN;
		if (downstream)
			roles |= HTTP_ROLE_DOWNSTREAM;
	}
	if (is_current_agent(api, id, serial))
		roles |= HTTP_ROLE_AGENT;
	return roles;
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
 * Ready when the CA can sign now, the store answers a query and the
 * audit chain can be written (store_ping).
 */
bool
api_is_ready(struct api *api)
{
	if (api->ca == NULL || api->store == NULL || !api->serving)
		return false;
	if (!ca_can_sign(api->ca, time(NULL)))
		return false;
	return store_ping(api->store) == RC_OK;
}

static const char *
auth_state_str(enum store_auth_state s)
{
	switch (s) {
	case STORE_AUTH_PREPARED:
		return "prepared";
	case STORE_AUTH_ACTIVE:
		return "active";
	case STORE_AUTH_OLD:
		return "old";
	}
	return "unknown";
}

/* Append one authority's row to g, which has room. */
static void
gauge_add_authority(struct metrics_gauges *g, const char *kind,
    const struct store_authority *rec)
{
	struct metrics_authority *m = &g->auth[g->n_auth++];

	m->id = rec->id;
	m->kind = kind;
	m->state = auth_state_str(rec->state);
	m->not_after = rec->not_after;
}

/* Copy the authorities' expiry times of the current view into g. */
static void
gauges_add_authorities(struct api *api, struct metrics_gauges *g)
{
	struct ca_view *v;
	size_t i;

	if (api->ca == NULL)
		return;
	v = ca_view_get(api->ca);
	if (v == NULL)
		return;
	for (i = 0; i < v->n_x509 && g->n_auth < METRICS_AUTH_MAX; i++)
		gauge_add_authority(g, "x509", &v->x509[i]->rec);
	for (i = 0; i < v->n_jwt && g->n_auth < METRICS_AUTH_MAX; i++)
		gauge_add_authority(g, "jwt", &v->jwt[i]->rec);
	ca_view_put(api->ca, v);
}

/*
 * The scrape for GET /metrics: the counters of metrics.c plus gauges
 * read now from the store and the CA view.  A gauge whose query fails
 * is left out of this scrape rather than failing it.  Caller frees.
 */
static char *
api_metrics(struct api *api, size_t *len)
{
	struct store_agent_filter af = { NULL, NULL, 0 };
	struct metrics_gauges g;
	char head[65];		/* 64 hex digits and a NUL */

	memset(&g, 0, sizeof(g));
	if (api->store != NULL) {
		af.banned = 0;
		if (store_agent_count(api->store, &af, &g.agents_active) ==
		    RC_OK) {
			af.banned = 1;
			g.has_agents = store_agent_count(api->store, &af,
			    &g.agents_banned) == RC_OK;
		}
		g.has_entries = store_entry_count(api->store, NULL,
		    &g.entries) == RC_OK;
		g.has_audit = store_audit_head(api->store, &g.audit_records,
		    head) == RC_OK;
	}
	gauges_add_authorities(api, &g);
	return metrics_render(&g, len);
}

/*
 * The current view's trust store, up-ref'd (caller frees), and a
 * generation that changes with the view and with every store change, so
 * that the roles cached on open connections are worked out again after
 * a rotation, a ban, an eviction, a renewal or an entry change.  The
 * store's generation (a large number rising by one a change) is XORed
 * with the view's times API_GEN_MIX: a change of either alone always
 * changes the result, and a change of both could cancel out only if the
 * store's moved by a pseudo-random 64-bit amount.  NULL before the CA
 * has a view.
 *
 * XXX(roles-generation): http.c keeps one generation per connection, so
 * any store change (a renewal, a new entry) makes every open connection
 * verify its peer chain again at its next request, not only its roles;
 * acceptable while a chain check costs about as much as one SVID and
 * agents make a request every few seconds.  Fix: give the hook two
 * generations, the view's for the chain verdict and the store's for
 * the roles, and have http.c redo only what changed.
 */
X509_STORE *
api_trust_get(struct api *api, uint64_t *generation)
{
	struct ca_view *v;
	X509_STORE *s = NULL;
	uint64_t sg;

	*generation = 0;
	if (api->ca == NULL)
		return NULL;
	v = ca_view_get(api->ca);
	if (v == NULL)
		return NULL;
	if (v->trust != NULL && X509_STORE_up_ref(v->trust) == 1)
		s = v->trust;
	sg = api->store == NULL ? 0 : store_generation(api->store);
	*generation = (v->generation * API_GEN_MIX) ^ sg;
	ca_view_put(api->ca, v);
	return s;
}

const struct http_hooks api_hooks = {
	.peer_roles = api_peer_roles,
	.uid_ok = api_uid_is_admin,
	.ready = api_is_ready,
	.metrics = api_metrics,
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
