/*
 * api.c: what the HTTP layer asks of the server (roles, local admins,
 * readiness, the trust store of the moment, the audit records of
 * refused callers), and the handler for routes not built yet.
 */
#include "api.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

#define API_REFUSAL_CALLERS	1024	/* callers whose refusals we count */
#define API_REFUSAL_PER_MIN	10	/* records per caller and minute */
#define API_REFUSAL_TEXT_MAX	256	/* bytes of subject, field, rule */

/* Agent serial changes (promotion) happen one at a time. */
static pthread_mutex_t api_serial_lock = PTHREAD_MUTEX_INITIALIZER;

/* One caller's refusals in its latest minute. */
struct refusal_slot {
	bool		 used;
	int64_t		 minute;	/* Unix minute of the count */
	unsigned	 count;		/* refusals seen in that minute */
	char		 actor[sizeof(((struct http_req *)0)->actor)];
};

/*
 * Refusals per caller and minute.  A worker thread holds the lock only
 * to count, never while writing a record.
 */
static pthread_mutex_t api_refusal_lock = PTHREAD_MUTEX_INITIALIZER;
static struct refusal_slot api_refusals[API_REFUSAL_CALLERS];

/* A "refused.dropped" record owed, copied out from under the lock. */
struct refusal_dropped {
	bool		 owed;
	int64_t		 minute;	/* Unix minute of the drops */
	unsigned	 count;		/* refusals not recorded */
	char		 actor[sizeof(((struct http_req *)0)->actor)];
};

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

/*
 * Copy s into dst (cap bytes) for an audit record: anything but
 * printable ASCII becomes '?', so the text stays valid UTF-8 and one
 * line however it was cut.
 */
static const char *
copy_clean(char *dst, size_t cap, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i + 1 < cap && s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		dst[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	dst[i] = '\0';
	return dst;
}

/* store_write() callback: append the one record arg. */
static enum rc
on_refusal(struct store_tx *tx, void *arg)
{
	return store_audit_append(tx, arg, NULL);
}

/* Append rec in a transaction of its own; a failure is only logged. */
static void
refusal_append(struct api *api, const struct store_audit *rec)
{
	enum rc rc;

	rc = store_write(api->store, on_refusal, (void *)rec);
	if (rc != RC_OK)
		log_error(API_MOD, "cannot record a refusal actor=%s "
		    "action=%s code=\"%s\"", rec->actor, rec->action,
		    rc_str(rc));
}

/*
 * The "refused.dropped" record of d: how many refusals of its actor in
 * its minute got no record of their own.
 */
static void
refusal_append_dropped(struct api *api, const struct refusal_dropped *d)
{
	struct store_audit rec;
	char *text = NULL;
	json_t *o;

	o = json_pack("{s:I, s:I}", "dropped", (json_int_t)d->count,
	    "minute", (json_int_t)(d->minute * 60));
	if (o != NULL)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL) {
		log_error(API_MOD, "cannot record dropped refusals actor=%s "
		    "dropped=%u: out of memory", d->actor, d->count);
		return;
	}
	memset(&rec, 0, sizeof(rec));
	rec.actor = d->actor;
	rec.action = "refused.dropped";
	rec.subject = d->actor;
	rec.outcome = "dropped";
	rec.detail = text;
	refusal_append(api, &rec);
	free(text);
}

/*
 * The slot of actor, under api_refusal_lock.  A caller not in the table
 * takes a free slot, else the one whose minute is oldest; drops it still
 * owed go to *d.
 */
static struct refusal_slot *
refusal_slot_get(const char *actor, struct refusal_dropped *d)
{
	struct refusal_slot *s, *oldest = NULL;
	size_t i;

	for (i = 0; i < API_REFUSAL_CALLERS; i++) {
		s = &api_refusals[i];
		if (s->used && strcmp(s->actor, actor) == 0)
			return s;
		if (oldest == NULL || (oldest->used &&
		    (!s->used || s->minute < oldest->minute)))
			oldest = s;
	}
	s = oldest;
	if (s->used && s->count > API_REFUSAL_PER_MIN) {
		d->owed = true;
		d->minute = s->minute;
		d->count = s->count - API_REFUSAL_PER_MIN;
		(void)snprintf(d->actor, sizeof(d->actor), "%s", s->actor);
	}
	memset(s, 0, sizeof(*s));
	s->used = true;
	(void)snprintf(s->actor, sizeof(s->actor), "%s", actor);
	return s;
}

/*
 * Count a refusal of actor in minute, under api_refusal_lock.  True when
 * it gets a record of its own: the first API_REFUSAL_PER_MIN of the
 * minute.  Drops owed for an earlier minute go to *d (or *evicted for
 * another caller whose slot was taken).
 */
static bool
refusal_count(const char *actor, int64_t minute, struct refusal_dropped *d,
    struct refusal_dropped *evicted)
{
	struct refusal_slot *s;

	s = refusal_slot_get(actor, evicted);
	if (s->minute != minute) {
		if (s->count > API_REFUSAL_PER_MIN) {
			d->owed = true;
			d->minute = s->minute;
			d->count = s->count - API_REFUSAL_PER_MIN;
			(void)snprintf(d->actor, sizeof(d->actor), "%s",
			    s->actor);
		}
		s->minute = minute;
		s->count = 0;
	}
	if (s->count < UINT_MAX)
		s->count++;
	return s->count <= API_REFUSAL_PER_MIN;
}

/*
 * A caller with an identity was refused (status 4xx, why).  The first
 * API_REFUSAL_PER_MIN refusals of a caller in a minute each get a
 * "refused" record: actor, "<METHOD> <path>" as subject, the status as
 * outcome, and {status, field, rule, detail}.  The rest are counted, and
 * their number goes into a "refused.dropped" record when the caller's
 * next minute begins, its slot is taken, or api_refused_flush() runs.
 * Anonymous callers (no actor) are never recorded.  Any thread; a
 * failed write is logged, never passed on.
 */
void
api_refused(struct api *api, const struct http_req *req, int status,
    const struct rc_why *why)
{
	struct refusal_dropped d, evicted;
	struct store_audit rec;
	char subject[API_REFUSAL_TEXT_MAX], field[API_REFUSAL_TEXT_MAX];
	char rule[API_REFUSAL_TEXT_MAX], detail[RC_DETAIL_MAX];
	char outcome[16], *text = NULL;
	json_t *o = NULL;
	bool record;

	if (api == NULL || api->store == NULL || req == NULL ||
	    req->actor[0] == '\0')
		return;
	memset(&d, 0, sizeof(d));
	memset(&evicted, 0, sizeof(evicted));
	pthread_mutex_lock(&api_refusal_lock);
	record = refusal_count(req->actor, (int64_t)(time(NULL) / 60), &d,
	    &evicted);
	pthread_mutex_unlock(&api_refusal_lock);

	if (evicted.owed)
		refusal_append_dropped(api, &evicted);
	if (d.owed)
		refusal_append_dropped(api, &d);
	if (!record)
		return;

	(void)snprintf(detail, sizeof(detail), "%s %s", req->method,
	    req->path);
	copy_clean(subject, sizeof(subject), detail);
	(void)snprintf(outcome, sizeof(outcome), "%d", status);
	o = json_pack("{s:i, s:s?, s:s?, s:s}", "status", status,
	    "field", why == NULL || why->field == NULL ? NULL :
	    copy_clean(field, sizeof(field), why->field),
	    "rule", why == NULL || why->rule == NULL ? NULL :
	    copy_clean(rule, sizeof(rule), why->rule),
	    "detail", copy_clean(detail, sizeof(detail),
	    why == NULL ? "" : why->detail));
	if (o != NULL)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL) {
		log_error(API_MOD, "cannot record a refusal actor=%s: out of "
		    "memory", req->actor);
		return;
	}
	memset(&rec, 0, sizeof(rec));
	rec.actor = req->actor;
	rec.action = "refused";
	rec.subject = subject;
	rec.outcome = outcome;
	rec.detail = text;
	refusal_append(api, &rec);
	free(text);
}

/*
 * Write the "refused.dropped" records owed for minutes before now's, or
 * for every minute, the current one included, when all is true (at
 * shutdown).  Each slot is copied out under the lock and written after.
 */
void
api_refused_flush(struct api *api, time_t now, bool all)
{
	struct refusal_dropped d;
	struct refusal_slot *s;
	int64_t minute = (int64_t)(now / 60);
	size_t i;

	if (api == NULL || api->store == NULL)
		return;
	for (i = 0; i < API_REFUSAL_CALLERS; i++) {
		memset(&d, 0, sizeof(d));
		pthread_mutex_lock(&api_refusal_lock);
		s = &api_refusals[i];
		if (s->used && s->count > API_REFUSAL_PER_MIN &&
		    (all || s->minute < minute)) {
			d.owed = true;
			d.minute = s->minute;
			d.count = s->count - API_REFUSAL_PER_MIN;
			(void)snprintf(d.actor, sizeof(d.actor), "%s",
			    s->actor);
			s->count = API_REFUSAL_PER_MIN;
		}
		pthread_mutex_unlock(&api_refusal_lock);
		if (d.owed)
			refusal_append_dropped(api, &d);
	}
}

const struct http_hooks api_hooks = {
	.peer_roles = api_peer_roles,
	.uid_ok = api_uid_is_admin,
	.ready = api_is_ready,
	.metrics = api_metrics,
	.trust_get = api_trust_get,
	.refused = api_refused,
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
