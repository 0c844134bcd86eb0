/*
 * api_entries.c: the /v1/entries routes (admin, local): list and count
 * with filters, one entry by ID, batch create, replace (PUT), change
 * (PATCH), delete and batch delete.  JSON goes through entry_json.c, the
 * rules through ca/entry.c, the rows through the store; every change is
 * written in one transaction with its audit record.
 */
#include "api.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>

#include "../ca/entry.h"
#include "../ca/spiffeid.h"
#include "../server/log.h"
#include "entry_json.h"

#define ENTRIES_MOD		"entries"
#define PAGE_TOKEN_MAX		512	/* bytes, docs/openapi.yaml */
#define FILTER_HINT_MAX		ENTRY_HINT_MAX
#define FILTER_LIST_MAX		64	/* selectors or trust domains */
#define RULE_JSON		"RFC 8259"
#define RULE_IF_MATCH		"RFC 9110 13.1.1"
#define RULE_QUERY		"docs/openapi.yaml listEntries"
#define RULE_MEDIA		"RFC 9110 15.5.16"

/* ------------------------------------------------------------------ */
/* Shared steps                                                         */

static void
limits_of(const struct api *api, struct entry_limits *lim)
{
	lim->trust_domain = api->conf->trust_domain;
	lim->x509_svid_ttl_max = api->conf->x509_svid_ttl_max;
	lim->jwt_svid_ttl_max = api->conf->jwt_svid_ttl_max;
}

/* Is the request's body declared as JSON (parameters allowed)? */
static bool
is_json_body(const struct http_req *req)
{
	static const char want[] = "application/json";
	const char *ct;
	size_t n = sizeof(want) - 1;

	ct = http_header(req, "Content-Type");
	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/*
 * The request's body as a JSON object (*out, caller decrefs).  415 when
 * it is not declared JSON, 400 naming "body" and RFC 8259 when it does
 * not parse; a member named twice is refused, so no reader of the body
 * can pick another value than the one we checked.
 */
static enum rc
body_parse(const struct http_req *req, json_t **out, struct rc_why *why)
{
	json_error_t err;
	json_t *o;

	*out = NULL;
	if (!is_json_body(req))
		return rc_why_set(why, RC_UNSUPPORTED, "Content-Type",
		    RULE_MEDIA, "send the body as application/json");
	if (req->body == NULL || req->body_len == 0)
		return rc_why_set(why, RC_BAD_REQUEST, "body", RULE_JSON,
		    "the body is empty; a JSON object is needed");
	o = json_loadb(req->body, req->body_len,
	    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	if (o == NULL)
		return rc_why_set(why, RC_BAD_REQUEST, "body", RULE_JSON,
		    "not JSON: %s (line %d, column %d)", err.text, err.line,
		    err.column);
	if (!json_is_object(o)) {
		json_decref(o);
		return rc_why_set(why, RC_BAD_REQUEST, "body",
		    ENTRY_RULE_SHAPE, "the body must be a JSON object");
	}
	*out = o;
	return RC_OK;
}

/* Answer status with o as JSON (o is only read). */
static enum rc
reply_json(struct http_resp *resp, int status, const json_t *o,
    struct rc_why *why)
{
	char *text;

	text = o == NULL ? NULL : json_dumps(o, JSON_COMPACT);
	if (text == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	http_resp_json(resp, status, text);
	return RC_OK;
}

/* The ETag of an entry: its revision in quotes (docs/openapi.yaml). */
static void
set_etag(struct http_resp *resp, int64_t revision)
{
	(void)snprintf(resp->etag, sizeof(resp->etag), "\"%lld\"",
	    (long long)revision);
}

/*
 * If-Match: absent or "*" gives -1 (no condition); "\"N\"" gives N.
 * Anything else is refused rather than ignored, so a client that meant
 * a condition never gets an unconditional write.
 */
static enum rc
if_match_parse(const struct http_req *req, int64_t *rev, struct rc_why *why)
{
	const char *h;
	char *end;
	long long x;
	size_t len;

	*rev = -1;
	h = http_header(req, "If-Match");
	if (h == NULL || strcmp(h, "*") == 0)
		return RC_OK;
	len = strlen(h);
	if (len < 3 || len > 21 || h[0] != '"' || h[len - 1] != '"' ||
	    h[1] < '0' || h[1] > '9')
		goto bad;
	errno = 0;
	x = strtoll(h + 1, &end, 10);
	if (errno != 0 || end != h + len - 1 || x < 0)
		goto bad;
	*rev = x;
	return RC_OK;
bad:
	return rc_why_set(why, RC_BAD_REQUEST, "If-Match", RULE_IF_MATCH,
	    "If-Match takes the entry's revision in quotes, such as \"2\"");
}

/* The {id} of the path, or 404: an ID that breaks ENTRY-10 names none. */
static enum rc
path_id(const struct http_req *req, const char **id, struct rc_why *why)
{
	const char *s = req->params[0];

	*id = NULL;
	if (s == NULL || entry_id_check(s, strlen(s), "id", NULL) != RC_OK)
		return rc_why_set(why, RC_NOT_FOUND, "id", NULL,
		    "no entry with such an id");
	*id = s;
	return RC_OK;
}

static enum rc
not_found(const char *id, struct rc_why *why)
{
	return rc_why_set(why, RC_NOT_FOUND, "id", NULL, "no entry with id %s",
	    id);
}

/*
 * Append the audit record of one change inside tx: detail is
 * {"before": ..., "after": ...} with whichever of the two exists.
 */
static enum rc
audit_change(struct store_tx *tx, const char *actor, const char *action,
    const char *id, json_t *before, json_t *after)
{
	struct store_audit rec;
	json_t *d;
	char *text = NULL;
	enum rc rc = RC_NOMEM;

	d = json_object();
	if (d == NULL)
		goto out;
	if (before != NULL && json_object_set(d, "before", before) != 0)
		goto out;
	if (after != NULL && json_object_set(d, "after", after) != 0)
		goto out;
	text = json_dumps(d, JSON_COMPACT);
	if (text == NULL)
		goto out;

	memset(&rec, 0, sizeof(rec));
	rec.actor = actor;
	rec.action = action;
	rec.subject = id;
	rec.outcome = "ok";
	rec.entry_id = id;
	rec.detail = text;
	rc = store_audit_append(tx, &rec, NULL);
out:
	free(text);
	json_decref(d);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Filters                                                              */

/*
 * Query parameters of a list or count.  Strings the filter points at are
 * either borrowed from libmicrohttpd for the request, or owned here.
 */
struct filter_args {
	struct store_entry_filter f;
	bool		 paged;			/* list (page_*) or count */
	struct spiffeid	 spiffe_id;
	struct spiffeid	 parent_id;
	struct store_selector sel[FILTER_LIST_MAX]; /* type owned */
	size_t		 n_sel;
	char		 tds[FILTER_LIST_MAX][SPIFFEID_TD_MAX + 1];
	const char	*td_ptrs[FILTER_LIST_MAX];
	size_t		 n_tds;
	size_t		 page_size;		/* 1..PAGE_SIZE_MAX */
	char		 token[STORE_ENTRY_ID_MAX + 1]; /* store's token */
	enum rc		 rc;			/* first fault */
	struct rc_why	*why;
};

static void
filter_args_clear(struct filter_args *a)
{
	size_t i;

	for (i = 0; i < a->n_sel; i++)
		free(a->sel[i].type);
	a->n_sel = 0;
}

static bool
match_parse(const char *s, enum store_match *m)
{
	if (s == NULL)
		return false;
	if (strcmp(s, "exact") == 0)
		*m = STORE_MATCH_EXACT;
	else if (strcmp(s, "subset") == 0)
		*m = STORE_MATCH_SUBSET;
	else if (strcmp(s, "superset") == 0)
		*m = STORE_MATCH_SUPERSET;
	else if (strcmp(s, "any") == 0)
		*m = STORE_MATCH_ANY;
	else
		return false;
	return true;
}

/* "type:value", split at the first colon into a selector. */
static enum rc
filter_selector(struct filter_args *a, const char *s)
{
	const char *colon;
	char *copy;

	if (a->n_sel == FILTER_LIST_MAX)
		return rc_why_set(a->why, RC_BAD_REQUEST, "selectors",
		    RULE_QUERY, "at most %d selectors in a filter",
		    FILTER_LIST_MAX);
	colon = strchr(s, ':');
	if (colon == NULL || colon == s || colon[1] == '\0')
		return rc_why_set(a->why, RC_BAD_REQUEST, "selectors",
		    RULE_QUERY, "a selector filter is type:value");
	copy = strdup(s);
	if (copy == NULL)
		return rc_why_set(a->why, RC_NOMEM, NULL, NULL,
		    "out of memory");
	copy[colon - s] = '\0';
	a->sel[a->n_sel].type = copy;
	a->sel[a->n_sel].value = copy + (colon - s) + 1;
	a->n_sel++;
	return RC_OK;
}

static enum rc
filter_td(struct filter_args *a, const char *s)
{
	const char *bare;
	size_t len = strlen(s);
	enum rc rc;

	if (a->n_tds == FILTER_LIST_MAX)
		return rc_why_set(a->why, RC_BAD_REQUEST, "federates_with",
		    RULE_QUERY, "at most %d trust domains in a filter",
		    FILTER_LIST_MAX);
	bare = api_entry_td_bare(s, &len);
	rc = spiffeid_td_parse(bare, len, a->tds[a->n_tds], "federates_with",
	    a->why);
	if (rc != RC_OK)
		return rc;
	a->td_ptrs[a->n_tds] = a->tds[a->n_tds];
	a->n_tds++;
	return RC_OK;
}

/* page_size: 1..PAGE_SIZE_MAX in plain decimal. */
static enum rc
filter_page_size(struct filter_args *a, const char *s)
{
	size_t i, n = 0;

	for (i = 0; s[i] != '\0' && i < 5; i++) {
		if (s[i] < '0' || s[i] > '9')
			break;
		n = n * 10 + (size_t)(s[i] - '0');
	}
	if (i == 0 || s[i] != '\0' || n < 1 || n > PAGE_SIZE_MAX)
		return rc_why_set(a->why, RC_BAD_REQUEST, "page_size",
		    RULE_QUERY, "page_size is a number from 1 to %d",
		    PAGE_SIZE_MAX);
	a->page_size = n;
	return RC_OK;
}

/* page_token: the URL-safe base64 of the store's token (opaque). */
static enum rc
filter_page_token(struct filter_args *a, const char *s)
{
	size_t len = strlen(s), n = 0;

	if (len == 0)
		return RC_OK;
	if (len > PAGE_TOKEN_MAX ||
	    sodium_base642bin((unsigned char *)a->token,
	    sizeof(a->token) - 1, s, len, NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    memchr(a->token, '\0', n) != NULL) {
		a->token[0] = '\0';
		return rc_why_set(a->why, RC_BAD_REQUEST, "page_token",
		    RULE_QUERY, "page_token is not one this server gave");
	}
	a->token[n] = '\0';
	return RC_OK;
}

static enum rc
filter_id(struct filter_args *a, const char *key, const char *s,
    struct spiffeid *id, const char **slot)
{
	enum rc rc;

	if (*slot != NULL)
		return rc_why_set(a->why, RC_BAD_REQUEST, key, RULE_QUERY,
		    "%s is given twice", key);
	rc = spiffeid_parse(s, strlen(s), id, key, a->why);
	if (rc != RC_OK)
		return rc;
	*slot = id->str;
	return RC_OK;
}

/* One query argument into the filter. */
static enum rc
filter_take(struct filter_args *a, const char *key, const char *value)
{
	const char *v = value == NULL ? "" : value;

	if (strcmp(key, "spiffe_id") == 0)
		return filter_id(a, "spiffe_id", v, &a->spiffe_id,
		    &a->f.spiffe_id);
	if (strcmp(key, "parent_id") == 0)
		return filter_id(a, "parent_id", v, &a->parent_id,
		    &a->f.parent_id);
	if (strcmp(key, "selectors") == 0)
		return filter_selector(a, v);
	if (strcmp(key, "federates_with") == 0)
		return filter_td(a, v);
	if (strcmp(key, "selectors_match") == 0) {
		if (!match_parse(v, &a->f.selectors_match))
			return rc_why_set(a->why, RC_BAD_REQUEST,
			    "selectors_match", RULE_QUERY, "selectors_match "
			    "is exact, subset, superset or any");
		return RC_OK;
	}
	if (strcmp(key, "federates_with_match") == 0) {
		if (!match_parse(v, &a->f.federates_with_match))
			return rc_why_set(a->why, RC_BAD_REQUEST,
			    "federates_with_match", RULE_QUERY,
			    "federates_with_match is exact, subset, superset "
			    "or any");
		return RC_OK;
	}
	if (strcmp(key, "hint") == 0) {
		if (strlen(v) > FILTER_HINT_MAX)
			return rc_why_set(a->why, RC_BAD_REQUEST, "hint",
			    ENTRY_RULE_HINT, "a hint is at most %d bytes",
			    FILTER_HINT_MAX);
		a->f.hint = v;
		return RC_OK;
	}
	if (strcmp(key, "downstream") == 0) {
		if (strcmp(v, "true") == 0)
			a->f.downstream = 1;
		else if (strcmp(v, "false") == 0)
			a->f.downstream = 0;
		else
			return rc_why_set(a->why, RC_BAD_REQUEST, "downstream",
			    RULE_QUERY, "downstream is true or false");
		return RC_OK;
	}
	if (a->paged && strcmp(key, "page_size") == 0)
		return filter_page_size(a, v);
	if (a->paged && strcmp(key, "page_token") == 0)
		return filter_page_token(a, v);
	/* A misspelt filter must not widen a listing to everything. */
	return rc_why_set(a->why, RC_BAD_REQUEST, "query", RULE_QUERY,
	    "unknown query parameter \"%.64s\"", key);
}

static enum MHD_Result
on_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct filter_args *a = cls;

	(void)kind;
	if (a->rc != RC_OK)
		return MHD_NO;
	a->rc = filter_take(a, key, value);
	return a->rc == RC_OK ? MHD_YES : MHD_NO;
}

/*
 * Read the filters (and, for a list, the page) from req's query.  The
 * caller clears a with filter_args_clear on every outcome.
 */
static enum rc
filter_parse(const struct http_req *req, bool paged, struct filter_args *a,
    struct rc_why *why)
{
	memset(a, 0, sizeof(*a));
	a->paged = paged;
	a->why = why;
	a->page_size = PAGE_SIZE_DEFAULT;
	a->f.selectors_match = STORE_MATCH_SUPERSET;
	a->f.federates_with_match = STORE_MATCH_SUPERSET;
	a->f.downstream = -1;
	a->f.admin = -1;
	a->rc = RC_OK;

	/*
	 * XXX(query-repeat): http.h offers the first value of a query
	 * parameter only, and selectors and federates_with repeat, so this
	 * walks libmicrohttpd's argument list itself; acceptable because
	 * the walk is read-only and confined to this function.  Fix: an
	 * http_query_each() in http.c, and this file without microhttpd.h.
	 */
	if (req->conn != NULL)
		(void)MHD_get_connection_values(req->conn,
		    MHD_GET_ARGUMENT_KIND, on_query_arg, a);
	if (a->rc != RC_OK)
		return a->rc;

	a->f.selectors = a->n_sel > 0 ? a->sel : NULL;
	a->f.n_selectors = a->n_sel;
	a->f.federates_with = a->n_tds > 0 ? a->td_ptrs : NULL;
	a->f.n_federates_with = a->n_tds;
	return RC_OK;
}

/* ------------------------------------------------------------------ */
/* Reading                                                              */

/*
 * GET /v1/entries: a page of the entries matching the filters, in ID
 * order; next_page_token only when more remain.
 */
enum rc
api_entries_list(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct filter_args a;
	struct store_entry *v = NULL;
	char next[STORE_ENTRY_ID_MAX + 1];
	char token[PAGE_TOKEN_MAX + 1];
	json_t *o = NULL, *list;
	size_t n = 0, i;
	enum rc rc;

	rc = filter_parse(req, true, &a, why);
	if (rc != RC_OK)
		goto out;

	next[0] = '\0';
	rc = store_entry_list(api->store, &a.f, a.token, a.page_size, &v, &n,
	    next);
	if (rc != RC_OK) {
		rc_why_set(why, rc, NULL, NULL, "listing entries failed");
		goto out;
	}

	rc = rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	o = json_object();
	list = json_array();
	if (o == NULL || list == NULL ||
	    json_object_set_new(o, "entries", list) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (json_array_append_new(list, api_entry_to_json(&v[i])) != 0)
			goto out;
	if (next[0] != '\0') {
		sodium_bin2base64(token, sizeof(token),
		    (const unsigned char *)next, strlen(next),
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		if (json_object_set_new(o, "next_page_token",
		    json_string(token)) != 0)
			goto out;
	}

	rc = reply_json(resp, 200, o, why);
out:
	json_decref(o);
	store_entries_free(v, n);
	filter_args_clear(&a);
	return rc;
}

/* GET /v1/entries/count: how many entries match the filters. */
enum rc
api_entries_count(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct filter_args a;
	int64_t count = 0;
	json_t *o = NULL;
	enum rc rc;

	rc = filter_parse(req, false, &a, why);
	if (rc != RC_OK)
		goto out;

	rc = store_entry_count(api->store, &a.f, &count);
	if (rc != RC_OK) {
		rc_why_set(why, rc, NULL, NULL, "counting entries failed");
		goto out;
	}

	o = json_pack("{s:I}", "count", (json_int_t)count);
	rc = reply_json(resp, 200, o, why);
out:
	json_decref(o);
	filter_args_clear(&a);
	return rc;
}

/* GET /v1/entries/{id}: the entry, its revision as the ETag. */
enum rc
api_entry_get(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct store_entry e;
	const char *id;
	json_t *o = NULL;
	enum rc rc;

	memset(&e, 0, sizeof(e));
	rc = path_id(req, &id, why);
	if (rc != RC_OK)
		goto out;

	rc = store_entry_get(api->store, id, &e);
	if (rc == RC_NOT_FOUND) {
		not_found(id, why);
		goto out;
	}
	if (rc != RC_OK) {
		rc_why_set(why, rc, NULL, NULL, "reading entry failed");
		goto out;
	}

	o = api_entry_to_json(&e);
	rc = reply_json(resp, 200, o, why);
	if (rc == RC_OK)
		set_etag(resp, e.revision_number);
out:
	json_decref(o);
	store_entry_clear(&e);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Batch create                                                         */

struct create_item {
	struct store_entry	 e;
	int			 status;	/* HTTP status of the item */
	char			*msg;		/* why, when not 200; owned */
	json_t			*entry;		/* stored entry (200) */
	bool			 given_id;	/* the caller named the ID */
};

struct create_job {
	const char		*actor;		/* borrowed */
	struct create_item	*items;
	size_t			 n;
	size_t			 created;
};

/*
 * Record an item's refusal: its status, and a message naming the field
 * and the rule ("spiffe_id: ... (rule ID-05)").
 */
static enum rc
item_refuse(int *status, char **msg, enum rc code, const struct rc_why *w)
{
	char buf[RC_DETAIL_MAX];
	int n;

	*status = rc_http(code);
	n = snprintf(buf, sizeof(buf), "%s%s%s%s%s%s",
	    w->field == NULL ? "" : w->field, w->field == NULL ? "" : ": ",
	    w->detail[0] == '\0' ? rc_str(code) : w->detail,
	    w->rule == NULL ? "" : " (rule ", w->rule == NULL ? "" : w->rule,
	    w->rule == NULL ? "" : ")");
	if (n < 0)
		buf[0] = '\0';
	free(*msg);
	*msg = strdup(buf);
	return *msg == NULL ? RC_NOMEM : RC_OK;
}

/*
 * Item i of the batch list refused with status and msg (NULL for none):
 * its audit record, as for a refused request (api_refused).
 */
static void
refused_item(struct api *api, const struct http_req *req, int status,
    const char *list, size_t i, const char *msg)
{
	struct rc_why w;
	char field[32];

	rc_why_clear(&w);
	(void)snprintf(field, sizeof(field), "%s[%zu]", list, i);
	w.field = field;
	(void)snprintf(w.detail, sizeof(w.detail), "%s",
	    msg == NULL ? "" : msg);
	api_refused(api, req, status, &w);
}

/* Decode and judge one item of a batch; a refusal lands in the item. */
static enum rc
create_item_prepare(struct create_item *it, const json_t *v,
    const struct entry_limits *lim, const char *actor)
{
	struct rc_why w;
	enum rc rc;

	rc_why_clear(&w);
	rc = api_entry_from_json(v, false, &it->e, NULL, &w);
	if (rc == RC_OK)
		rc = entry_check(&it->e, lim, &w);
	if (rc == RC_NOMEM)
		return rc;
	if (rc != RC_OK)
		return item_refuse(&it->status, &it->msg, rc, &w);
	it->given_id = it->e.id[0] != '\0';
	it->e.created_by = strdup(actor);
	if (it->e.created_by == NULL)
		return RC_NOMEM;
	it->status = 200;
	return RC_OK;
}

/*
 * The batch's writes, in one transaction: each good item and its audit
 * record.  An item the store refuses (a duplicate, a taken ID) is marked
 * and the rest go on; any other failure rolls the whole batch back.
 */
static enum rc
on_create(struct store_tx *tx, void *arg)
{
	struct create_job *job = arg;
	struct create_item *it;
	struct rc_why w;
	size_t i;
	enum rc rc = RC_OK;

	job->created = 0;
	for (i = 0; i < job->n; i++) {
		it = &job->items[i];
		if (it->status != 200)
			continue;
		rc_why_clear(&w);
		rc = store_entry_create(tx, &it->e, &w);
		if (rc_is_client(rc)) {
			rc = item_refuse(&it->status, &it->msg, rc, &w);
			if (rc != RC_OK)
				return rc;
			continue;
		}
		if (rc != RC_OK)
			return rc;
		it->entry = api_entry_to_json(&it->e);
		if (it->entry == NULL)
			return RC_NOMEM;
		rc = audit_change(tx, job->actor, "entry.create", it->e.id,
		    NULL, it->entry);
		if (rc != RC_OK)
			return rc;
		job->created++;
	}
	return RC_OK;
}

/*
 * The entry an item clashed with, after the commit: the one holding its
 * ID, else the one with its spiffe_id, parent_id and selector set.
 * NULL when neither is found (it was deleted meanwhile).
 */
static json_t *
create_conflict_entry(struct api *api, const struct create_item *it)
{
	struct store_entry_filter f;
	struct store_entry got, *v = NULL;
	char next[STORE_ENTRY_ID_MAX + 1];
	json_t *o = NULL;
	size_t n = 0;

	memset(&got, 0, sizeof(got));
	if (it->given_id &&
	    store_entry_get(api->store, it->e.id, &got) == RC_OK) {
		o = api_entry_to_json(&got);
		store_entry_clear(&got);
		return o;
	}
	memset(&f, 0, sizeof(f));
	f.spiffe_id = it->e.spiffe_id;
	f.parent_id = it->e.parent_id;
	f.selectors = it->e.selectors;
	f.n_selectors = it->e.n_selectors;
	f.selectors_match = STORE_MATCH_EXACT;
	f.federates_with_match = STORE_MATCH_SUPERSET;
	f.downstream = -1;
	f.admin = -1;
	if (store_entry_list(api->store, &f, NULL, 1, &v, &n, next) ==
	    RC_OK && n > 0)
		o = api_entry_to_json(&v[0]);
	store_entries_free(v, n);
	return o;
}

/* The results document of a batch create, in request order. */
static json_t *
create_results(struct api *api, struct create_job *job)
{
	struct create_item *it;
	json_t *o, *list, *r, *e;
	size_t i;

	o = json_object();
	list = json_array();
	if (o == NULL || list == NULL ||
	    json_object_set_new(o, "results", list) != 0) {
		json_decref(o);
		return NULL;
	}
	for (i = 0; i < job->n; i++) {
		it = &job->items[i];
		r = json_pack("{s:{s:i, s:s}}", "status", "code", it->status,
		    "message", it->status == 200 ? "ok" : it->msg == NULL ?
		    "" : it->msg);
		if (r == NULL || json_array_append_new(list, r) != 0)
			goto fail;
		e = it->status == 200 ? json_incref(it->entry) :
		    it->status == 409 ? create_conflict_entry(api, it) : NULL;
		if (e != NULL && json_object_set_new(r, "entry", e) != 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static void
create_job_clear(struct create_job *job)
{
	size_t i;

	for (i = 0; job->items != NULL && i < job->n; i++) {
		store_entry_clear(&job->items[i].e);
		free(job->items[i].msg);
		json_decref(job->items[i].entry);
	}
	free(job->items);
	job->items = NULL;
}

/*
 * POST /v1/entries: {"entries": [...]}, SPIRE's export shape (its
 * next_page_token is taken and ignored).  One result per item, in order;
 * the good items are stored even when others are refused.
 */
enum rc
api_entries_create(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct create_job job;
	struct entry_limits lim;
	json_t *body = NULL, *list, *v, *out = NULL;
	const char *key;
	size_t i;
	enum rc rc;

	memset(&job, 0, sizeof(job));
	job.actor = req->actor;
	limits_of(api, &lim);

	rc = body_parse(req, &body, why);
	if (rc != RC_OK)
		goto out;
	rc = RC_BAD_REQUEST;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "entries") == 0)
			continue;
		if (strcmp(key, "next_page_token") == 0 && json_is_string(v))
			continue;
		rc_why_set(why, rc, entry_field_fmt("%s", key),
		    ENTRY_RULE_SHAPE, "unknown member \"%.64s\"; a batch is "
		    "{\"entries\": [...]}", key);
		goto out;
	}
	list = json_object_get(body, "entries");
	if (!json_is_array(list) || json_array_size(list) == 0) {
		rc_why_set(why, rc, "entries", ENTRY_RULE_SHAPE,
		    "entries must be an array of one entry or more");
		goto out;
	}
	if (json_array_size(list) > ENTRY_BATCH_MAX) {
		rc = rc_why_set(why, RC_TOO_LARGE, "entries", ENTRY_RULE_SHAPE,
		    "a batch holds at most %d entries; this one has %zu",
		    ENTRY_BATCH_MAX, json_array_size(list));
		goto out;
	}

	/* Judge every item before the transaction, outside the lock. */
	job.n = json_array_size(list);
	job.items = calloc(job.n, sizeof(*job.items));
	if (job.items == NULL) {
		rc = rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	for (i = 0; i < job.n; i++) {
		rc = create_item_prepare(&job.items[i],
		    json_array_get(list, i), &lim, job.actor);
		if (rc != RC_OK) {
			rc_why_set(why, rc, NULL, NULL, "out of memory");
			goto out;
		}
	}

	/* Store the good ones, each with its audit record. */
	rc = store_write(api->store, on_create, &job);
	if (rc != RC_OK) {
		rc_why_set(why, rc, NULL, NULL, "storing entries failed");
		goto out;
	}
	for (i = 0; i < job.n; i++)
		if (job.items[i].status != 200)
			refused_item(api, req, job.items[i].status, "entries",
			    i, job.items[i].msg);
	if (job.created > 0)
		log_info(ENTRIES_MOD, "entries created count=%zu refused=%zu "
		    "actor=%s", job.created, job.n - job.created, job.actor);

	out = create_results(api, &job);
	rc = reply_json(resp, 200, out, why);
out:
	json_decref(out);
	json_decref(body);
	create_job_clear(&job);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Replace, change, delete                                              */

struct change_job {
	const char		*actor;		/* borrowed */
	const char		*id;		/* path ID, borrowed */
	int64_t			 if_rev;	/* -1: unconditional */
	struct store_entry	*e;		/* PUT: the entry; PATCH: the
						 * members to change */
	unsigned		 present;	/* PATCH: ENTRY_M_ bits */
	struct entry_limits	 lim;
	struct store_entry	 now;		/* the entry as stored after */
	struct rc_why		*why;
};

/* Read the stored entry into *cur inside tx, with its JSON. */
static enum rc
change_load(struct store_tx *tx, struct change_job *job,
    struct store_entry *cur, json_t **before)
{
	enum rc rc;

	rc = store_entry_get_tx(tx, job->id, cur);
	if (rc == RC_NOT_FOUND)
		return not_found(job->id, job->why);
	if (rc != RC_OK)
		return rc;
	/* Check the revision before judging the change: a stale one
	 * would be refused anyway, and says more. */
	if (job->if_rev >= 0 && cur->revision_number != job->if_rev)
		return rc_why_set(job->why, RC_PRECONDITION, "If-Match", NULL,
		    "entry is at revision %lld, If-Match named %lld",
		    (long long)cur->revision_number, (long long)job->if_rev);
	*before = api_entry_to_json(cur);
	return *before == NULL ? RC_NOMEM : RC_OK;
}

/* Write the changed entry e and its audit record inside tx. */
static enum rc
change_store(struct store_tx *tx, struct change_job *job,
    struct store_entry *e, json_t *before)
{
	json_t *after = NULL;
	enum rc rc;

	rc = store_entry_update(tx, e, job->if_rev, job->why);
	if (rc != RC_OK)
		return rc;
	after = api_entry_to_json(e);
	if (after == NULL)
		return RC_NOMEM;
	rc = audit_change(tx, job->actor, "entry.update", e->id, before,
	    after);
	json_decref(after);
	return rc;
}

/* PUT inside one transaction: the new entry replaces the stored one. */
static enum rc
on_put(struct store_tx *tx, void *arg)
{
	struct change_job *job = arg;
	struct store_entry cur;
	json_t *before = NULL;
	enum rc rc;

	memset(&cur, 0, sizeof(cur));
	rc = change_load(tx, job, &cur, &before);
	if (rc != RC_OK)
		goto out;
	rc = change_store(tx, job, job->e, before);
out:
	json_decref(before);
	store_entry_clear(&cur);
	return rc;
}

/*
 * PATCH inside one transaction: the named members replace the stored
 * ones, then the whole entry is judged again, as a PUT would be.
 */
static enum rc
on_patch(struct store_tx *tx, void *arg)
{
	struct change_job *job = arg;
	struct store_entry cur;
	json_t *before = NULL;
	enum rc rc;

	memset(&cur, 0, sizeof(cur));
	rc = change_load(tx, job, &cur, &before);
	if (rc != RC_OK)
		goto out;
	entry_swap_members(&cur, job->e, job->present);
	rc = entry_check(&cur, &job->lim, job->why);
	if (rc != RC_OK)
		goto out;
	rc = change_store(tx, job, &cur, before);
	if (rc != RC_OK)
		goto out;
	/* Hand the stored form back to the handler to answer with. */
	store_entry_clear(&job->now);
	job->now = cur;
	memset(&cur, 0, sizeof(cur));
out:
	json_decref(before);
	store_entry_clear(&cur);
	return rc;
}

/* Answer a change with the entry as stored and its new ETag. */
static enum rc
change_reply(struct http_resp *resp, const struct store_entry *e,
    struct rc_why *why)
{
	json_t *o;
	enum rc rc;

	o = api_entry_to_json(e);
	rc = reply_json(resp, 200, o, why);
	json_decref(o);
	if (rc == RC_OK)
		set_etag(resp, e->revision_number);
	return rc;
}

/*
 * Common start of PUT and PATCH: path ID, If-Match, body decoded into e.
 */
static enum rc
change_begin(struct api *api, struct http_req *req, bool patch,
    struct change_job *job, struct store_entry *e, struct rc_why *why)
{
	json_t *body = NULL;
	enum rc rc;

	memset(job, 0, sizeof(*job));
	job->actor = req->actor;
	job->e = e;
	job->why = why;
	limits_of(api, &job->lim);

	rc = path_id(req, &job->id, why);
	if (rc != RC_OK)
		goto out;
	rc = if_match_parse(req, &job->if_rev, why);
	if (rc != RC_OK)
		goto out;
	rc = body_parse(req, &body, why);
	if (rc != RC_OK)
		goto out;
	rc = api_entry_from_json(body, patch, e, &job->present, why);
out:
	json_decref(body);
	return rc;
}

static void
change_log(const struct change_job *job, const char *what)
{
	log_info(ENTRIES_MOD, "entry %s entry=%s actor=%s", what, job->id,
	    job->actor);
}

/*
 * PUT /v1/entries/{id}: replace the entry (absent members take their
 * defaults).  An id in the body must be the path's.  412 when If-Match
 * is stale.
 */
enum rc
api_entry_put(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct change_job job;
	struct store_entry e;
	enum rc rc;

	memset(&e, 0, sizeof(e));
	rc = change_begin(api, req, false, &job, &e, why);
	if (rc != RC_OK)
		goto out;
	if ((job.present & ENTRY_M_ID) != 0 && strcmp(e.id, job.id) != 0) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "id", ENTRY_RULE_SHAPE,
		    "the body's id (%s) is not the path's (%s)", e.id, job.id);
		goto out;
	}
	(void)snprintf(e.id, sizeof(e.id), "%s", job.id);
	rc = entry_check(&e, &job.lim, why);
	if (rc != RC_OK)
		goto out;

	rc = store_write(api->store, on_put, &job);
	if (rc != RC_OK)
		goto out;
	change_log(&job, "replaced");
	rc = change_reply(resp, &e, why);
out:
	store_entry_clear(&e);
	return rc;
}

/*
 * PATCH /v1/entries/{id}: change the members named; a list given
 * replaces the whole list.  412 when If-Match is stale.
 */
enum rc
api_entry_patch(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct change_job job;
	struct store_entry e;
	enum rc rc;

	memset(&e, 0, sizeof(e));
	rc = change_begin(api, req, true, &job, &e, why);
	if (rc != RC_OK)
		goto out;

	rc = store_write(api->store, on_patch, &job);
	if (rc != RC_OK)
		goto out;
	change_log(&job, "changed");
	rc = change_reply(resp, &job.now, why);
out:
	store_entry_clear(&job.now);
	store_entry_clear(&e);
	return rc;
}

struct delete_job {
	const char	*actor;		/* borrowed */
	const char	**ids;		/* borrowed */
	int		*status;	/* per ID */
	size_t		 n;
	size_t		 deleted;
	struct rc_why	*why;		/* for a single delete */
};

/*
 * Delete each ID whose status is still 200, with its audit record; an
 * unknown one becomes 404 and the rest go on.
 */
static enum rc
on_delete(struct store_tx *tx, void *arg)
{
	struct delete_job *job = arg;
	struct store_entry cur;
	json_t *before;
	size_t i;
	enum rc rc = RC_OK;

	job->deleted = 0;
	for (i = 0; i < job->n; i++) {
		if (job->status[i] != 200)
			continue;
		memset(&cur, 0, sizeof(cur));
		rc = store_entry_get_tx(tx, job->ids[i], &cur);
		if (rc == RC_NOT_FOUND) {
			job->status[i] = 404;
			continue;
		}
		if (rc != RC_OK)
			return rc;
		before = api_entry_to_json(&cur);
		store_entry_clear(&cur);
		if (before == NULL)
			return RC_NOMEM;
		rc = store_entry_delete(tx, job->ids[i]);
		if (rc == RC_OK)
			rc = audit_change(tx, job->actor, "entry.delete",
			    job->ids[i], before, NULL);
		json_decref(before);
		if (rc != RC_OK)
			return rc;
		job->deleted++;
	}
	return RC_OK;
}

/* DELETE /v1/entries/{id}: 204, or 404. */
enum rc
api_entry_delete(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct delete_job job;
	const char *id;
	int status = 200;
	enum rc rc;

	rc = path_id(req, &id, why);
	if (rc != RC_OK)
		return rc;
	memset(&job, 0, sizeof(job));
	job.actor = req->actor;
	job.ids = &id;
	job.status = &status;
	job.n = 1;

	rc = store_write(api->store, on_delete, &job);
	if (rc != RC_OK)
		return rc_why_set(why, rc, NULL, NULL, "deleting entry failed");
	if (status == 404)
		return not_found(id, why);
	log_info(ENTRIES_MOD, "entry deleted entry=%s actor=%s", id,
	    req->actor);
	http_resp_json(resp, 204, NULL);
	resp->content_type = NULL;
	return RC_OK;
}

/*
 * POST /v1/entries/batch-delete: {"ids": [...]}; one result per ID, in
 * order: 200, 404 for an unknown one, 400 for one that cannot be an ID.
 */
enum rc
api_entries_batch_delete(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct delete_job job;
	json_t *body = NULL, *list, *v, *out = NULL, *results, *r;
	const char *key, *msg;
	size_t i, len;
	enum rc rc;

	memset(&job, 0, sizeof(job));
	job.actor = req->actor;

	rc = body_parse(req, &body, why);
	if (rc != RC_OK)
		goto out;
	rc = RC_BAD_REQUEST;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "ids") == 0)
			continue;
		rc_why_set(why, rc, entry_field_fmt("%s", key),
		    ENTRY_RULE_SHAPE, "unknown member \"%.64s\"; a batch "
		    "delete is {\"ids\": [...]}", key);
		goto out;
	}
	list = json_object_get(body, "ids");
	if (!json_is_array(list) || json_array_size(list) == 0) {
		rc_why_set(why, rc, "ids", ENTRY_RULE_SHAPE,
		    "ids must be an array of one entry ID or more");
		goto out;
	}
	job.n = json_array_size(list);
	if (job.n > ENTRY_BATCH_MAX) {
		rc = rc_why_set(why, RC_TOO_LARGE, "ids", ENTRY_RULE_SHAPE,
		    "a batch holds at most %d IDs; this one has %zu",
		    ENTRY_BATCH_MAX, job.n);
		goto out;
	}
	job.ids = calloc(job.n, sizeof(*job.ids));
	job.status = calloc(job.n, sizeof(*job.status));
	if (job.ids == NULL || job.status == NULL) {
		rc = rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	for (i = 0; i < job.n; i++) {
		v = json_array_get(list, i);
		if (!json_is_string(v)) {
			rc_why_set(why, rc, entry_field_fmt("ids[%zu]", i),
			    ENTRY_RULE_SHAPE, "an entry ID is a string");
			goto out;
		}
		job.ids[i] = json_string_value(v);
		len = json_string_length(v);
		job.status[i] = entry_id_check(job.ids[i], len, "id", NULL) ==
		    RC_OK ? 200 : 400;
	}

	rc = store_write(api->store, on_delete, &job);
	if (rc != RC_OK) {
		rc_why_set(why, rc, NULL, NULL, "deleting entries failed");
		goto out;
	}
	if (job.deleted > 0)
		log_info(ENTRIES_MOD, "entries deleted count=%zu actor=%s",
		    job.deleted, job.actor);
	for (i = 0; i < job.n; i++)
		if (job.status[i] != 200)
			refused_item(api, req, job.status[i], "ids", i,
			    job.status[i] == 404 ? "no such entry" :
			    "not an entry ID");

	rc = rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	out = json_object();
	results = json_array();
	if (out == NULL || results == NULL ||
	    json_object_set_new(out, "results", results) != 0)
		goto out;
	for (i = 0; i < job.n; i++) {
		msg = job.status[i] == 200 ? "ok" : job.status[i] == 404 ?
		    "no such entry" : "not an entry ID: 1 to 64 characters of "
		    "A-Z a-z 0-9 . _ - (rule " ENTRY_RULE_ID ")";
		r = json_pack("{s:{s:i, s:s}, s:s%}", "status", "code",
		    job.status[i], "message", msg, "id", job.ids[i],
		    json_string_length(json_array_get(list, i)));
		if (r == NULL || json_array_append_new(results, r) != 0)
			goto out;
	}
	rc = reply_json(resp, 200, out, why);
out:
	json_decref(out);
	json_decref(body);
	free(job.ids);
	free(job.status);
	return rc;
}
