/*
 * api_audit.c: GET /v1/audit, a filtered page of the audit chain in
 * chain order (docs/openapi.yaml listAudit).  Every query parameter is
 * checked; an unknown or malformed one is refused with 400, because a
 * misspelt filter would otherwise widen the answer to the whole chain.
 */
#include "api.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>

#include "../ca/spiffeid.h"
#include "../server/bounds.h"
#include "../server/log.h"

#define RULE_AUDIT		"docs/openapi.yaml listAudit"
#define AUDIT_ACTOR_MAX		2064	/* bytes, listAudit actor */
#define AUDIT_ACTION_MAX	64	/* bytes, listAudit action */
#define AUDIT_SERIAL_MAX	40	/* hex digits, SerialHex */
#define AUDIT_ENTRY_ID_MAX	64	/* bytes, EntryIdValue */
#define AUDIT_TOKEN_MAX		512	/* bytes, PageTokenValue */
#define AUDIT_TOKEN_PREFIX	"audit:"	/* then the next seq */

/* The query of one request; strings borrowed from libmicrohttpd. */
struct audit_query {
	struct store_audit_filter f;
	struct spiffeid	 spiffe_id;	/* parsed spiffe_id */
	struct spiffeid	 agent_id;	/* parsed agent_id */
	size_t		 page_size;	/* 1..PAGE_SIZE_MAX */
	int64_t		 after;		/* records with seq > after */
	enum rc		 rc;		/* first fault */
	struct rc_why	*why;
};

/* A decimal number from 0 to max, the whole of s. */
static bool
parse_uint(const char *s, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > max)
		return false;
	*out = v;
	return true;
}

/* Is s 1..max bytes of printable ASCII? */
static bool
is_printable(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return i > 0;
}

/* Is s a serial as the store keeps it: 1..40 lowercase hex digits? */
static bool
is_serial(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= AUDIT_SERIAL_MAX || !((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i > 0;
}

/* page_token: URL-safe base64 of "audit:<next seq>". */
static enum rc
take_token(struct audit_query *q, const char *s)
{
	char text[64];
	size_t len = strlen(s), n = 0, plen = strlen(AUDIT_TOKEN_PREFIX);
	int64_t next = 0;

	if (len == 0)
		return RC_OK;
	if (len > AUDIT_TOKEN_MAX || sodium_base642bin((unsigned char *)text,
	    sizeof(text) - 1, s, len, NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		goto bad;
	text[n] = '\0';
	if (n <= plen || memcmp(text, AUDIT_TOKEN_PREFIX, plen) != 0 ||
	    !parse_uint(text + plen, INT64_MAX, &next) || next < 1)
		goto bad;
	q->after = next - 1;
	return RC_OK;
bad:
	return rc_why_set(q->why, RC_BAD_REQUEST, "page_token", RULE_AUDIT,
	    "page_token is not one this server gave");
}

/* spiffe_id and agent_id: a SPIFFE ID (SPIFFE-ID section 2). */
static enum rc
take_id(struct audit_query *q, const char *key, const char *v,
    struct spiffeid *id, const char **slot)
{
	enum rc rc;

	if (*slot != NULL)
		return rc_why_set(q->why, RC_BAD_REQUEST, key, RULE_AUDIT,
		    "%s is given twice", key);
	rc = spiffeid_parse(v, strlen(v), id, key, q->why);
	if (rc != RC_OK)
		return rc;
	*slot = id->str;
	return RC_OK;
}

/* One string filter, given once, printable, at most max bytes. */
static enum rc
take_str(struct audit_query *q, const char *key, const char *v,
    size_t max, const char **slot)
{
	if (*slot != NULL)
		return rc_why_set(q->why, RC_BAD_REQUEST, key, RULE_AUDIT,
		    "%s is given twice", key);
	if (!is_printable(v, max))
		return rc_why_set(q->why, RC_BAD_REQUEST, key, RULE_AUDIT,
		    "%s is 1 to %zu printable characters", key, max);
	*slot = v;
	return RC_OK;
}

/* since and until: Unix seconds (UnixTime). */
static enum rc
take_time(struct audit_query *q, const char *key, const char *v,
    time_t *slot)
{
	int64_t t = 0;

	if (!parse_uint(v, INT64_MAX, &t))
		return rc_why_set(q->why, RC_BAD_REQUEST, key, RULE_AUDIT,
		    "%s is Unix seconds, a number from 0", key);
	*slot = (time_t)t;
	return RC_OK;
}

/* One query argument into q. */
static enum rc
take_arg(struct audit_query *q, const char *key, const char *value)
{
	const char *v = value == NULL ? "" : value;
	int64_t n = 0;

	if (strcmp(key, "actor") == 0)
		return take_str(q, key, v, AUDIT_ACTOR_MAX, &q->f.actor);
	if (strcmp(key, "action") == 0)
		return take_str(q, key, v, AUDIT_ACTION_MAX, &q->f.action);
	if (strcmp(key, "entry_id") == 0)
		return take_str(q, key, v, AUDIT_ENTRY_ID_MAX,
		    &q->f.entry_id);
	if (strcmp(key, "serial") == 0) {
		if (!is_serial(v))
			return rc_why_set(q->why, RC_BAD_REQUEST, "serial",
			    RULE_AUDIT, "serial is 1 to %d lowercase hex "
			    "digits", AUDIT_SERIAL_MAX);
		return take_str(q, key, v, AUDIT_SERIAL_MAX, &q->f.serial);
	}
	if (strcmp(key, "spiffe_id") == 0)
		return take_id(q, key, v, &q->spiffe_id, &q->f.subject);
	if (strcmp(key, "agent_id") == 0)
		return take_id(q, key, v, &q->agent_id, &q->f.agent);
	if (strcmp(key, "since") == 0)
		return take_time(q, key, v, &q->f.since);
	if (strcmp(key, "until") == 0)
		return take_time(q, key, v, &q->f.until);
	if (strcmp(key, "page_size") == 0) {
		if (!parse_uint(v, PAGE_SIZE_MAX, &n) || n < 1)
			return rc_why_set(q->why, RC_BAD_REQUEST, "page_size",
			    RULE_AUDIT, "page_size is a number from 1 to %d",
			    PAGE_SIZE_MAX);
		q->page_size = (size_t)n;
		return RC_OK;
	}
	if (strcmp(key, "page_token") == 0)
		return take_token(q, v);
	return rc_why_set(q->why, RC_BAD_REQUEST, "query", RULE_AUDIT,
	    "unknown query parameter \"%.64s\"", key);
}

static enum MHD_Result
on_audit_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct audit_query *q = cls;

	(void)kind;
	if (q->rc != RC_OK)
		return MHD_NO;
	q->rc = take_arg(q, key, value);
	return q->rc == RC_OK ? MHD_YES : MHD_NO;
}

/* One record as the AuditRecord schema; NULL when out of memory. */
static json_t *
row_to_json(const struct store_audit_row *r)
{
	char prev[2 * sizeof(r->prev_hash) + 1], hash[2 * sizeof(r->hash) + 1];
	json_t *o;

	sodium_bin2hex(prev, sizeof(prev), r->prev_hash, sizeof(r->prev_hash));
	sodium_bin2hex(hash, sizeof(hash), r->hash, sizeof(r->hash));
	o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "seq", (json_int_t)r->seq, "recorded_at", (json_int_t)r->at,
	    "actor", r->actor, "action", r->action, "subject", r->subject,
	    "outcome", r->outcome, "prev_hash", prev, "hash", hash);
	if (o == NULL)
		return NULL;
	/* Absent, not empty, when the record has none (AuditRecord). */
	if ((r->serial[0] != '\0' && json_object_set_new(o, "serial",
	    json_string(r->serial)) != 0) ||
	    (r->entry_id[0] != '\0' && json_object_set_new(o, "entry_id",
	    json_string(r->entry_id)) != 0) ||
	    (r->detail[0] != '\0' && json_object_set_new(o, "detail",
	    json_string(r->detail)) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * GET /v1/audit: records matching the filters, in chain order, one page;
 * next_page_token only when more remain.  400 for a bad filter.
 */
enum rc
api_audit_list(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct audit_query q;
	struct store_audit_row *v = NULL;
	char next[64], token[128];
	json_t *o = NULL, *list;
	char *text = NULL;
	size_t n = 0, i;
	bool more = false;
	enum rc rc;

	memset(&q, 0, sizeof(q));
	q.page_size = PAGE_SIZE_DEFAULT;
	q.why = why;
	q.rc = RC_OK;
	/*
	 * XXX(query-repeat): http.h gives the first value of a name only,
	 * and a filter given twice must be refused rather than half read,
	 * so this walks libmicrohttpd's argument list; acceptable because
	 * the walk only reads.  Fix: http_query_each() in http.c.
	 */
	if (req->conn != NULL)
		(void)MHD_get_connection_values(req->conn,
		    MHD_GET_ARGUMENT_KIND, on_audit_arg, &q);
	rc = q.rc;
	if (rc != RC_OK)
		goto out;

	rc = store_audit_list(api->store, &q.f, q.after, q.page_size, &v, &n,
	    &more);
	if (rc != RC_OK) {
		rc_why_set(why, rc, NULL, NULL, "reading the audit chain "
		    "failed");
		goto out;
	}

	rc = rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	o = json_object();
	list = json_array();
	if (o == NULL || list == NULL ||
	    json_object_set_new(o, "records", list) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (json_array_append_new(list, row_to_json(&v[i])) != 0)
			goto out;
	if (more && n > 0) {
		(void)snprintf(next, sizeof(next), "%s%lld",
		    AUDIT_TOKEN_PREFIX, (long long)(v[n - 1].seq + 1));
		sodium_bin2base64(token, sizeof(token),
		    (const unsigned char *)next, strlen(next),
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		if (json_object_set_new(o, "next_page_token",
		    json_string(token)) != 0)
			goto out;
	}
	text = json_dumps(o, JSON_COMPACT);
	if (text == NULL)
		goto out;
	http_resp_json(resp, 200, text);
	text = NULL;
	rc = RC_OK;
out:
	free(text);
	json_decref(o);
	store_audit_rows_free(v, n);
	return rc;
}
