/*
 * api_agent.c: the agent API (a current agent SVID over mTLS) and agent
 * administration (admin, local), per docs/openapi.yaml:
 *
 *   POST /v1/agent/renew        CSR in, new agent SVID out
 *   GET  /v1/agent/entries      authorized entries, revision and ETag
 *   POST /v1/agent/x509-svids   batch of {entry_id, csr}
 *   POST /v1/agent/jwt-svids    {entry_id, audience}
 *   GET  /v1/agent/bundles      own (and later federated) bundles
 *   GET  /v1/agents, /count     list and count, with filters
 *   POST /v1/agents/ban, /evict, /purge
 *
 * An agent route runs only for a caller http.c found to hold the agent
 * role (api_peer_roles), which is worked out again after every store
 * change.  What the agent may have comes from authz.c's cached set, so
 * a request reads the agent and its entries from the store only when
 * something changed.  A batch takes one CA view, issues every SVID, and
 * commits all their audit records in one store_write before any of them
 * is handed out.
 */
#include "api.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "../ca/cert.h"
#include "../ca/csr.h"
#include "../ca/jwt.h"
#include "../ca/spiffeid.h"
#include "../server/bounds.h"
#include "../server/log.h"
#include "../server/metrics.h"
#include "authz.h"
#include "entry_json.h"

#define AGENT_MOD		"api"
#define AGENT_RULE_BODY		"openapi: additionalProperties false"
#define AGENT_RULE_AUTHZ	"DESIGN.md Authorization: default deny"
#define AGENT_SERVER_PATH	"/svidca/server"	/* as server.c */
#define AGENT_CSR_B64_MAX	(4 * ((CSR_DER_MAX + 2) / 3))
#define AGENT_SERIAL_MAX	(2 * CERT_SERIAL_LEN + 8)
#define AGENT_REVISION_LEN	16	/* bytes hashed into a revision */
#define AGENT_TOKEN_MAX		512	/* bytes of a page_token taken */
#define AGENT_TYPE_MAX		32	/* bytes of an attestation type */
#define AGENT_EXPIRED_FOR_MAX	(100LL * 366 * 86400)	/* seconds */

/* The authorization cache, made on first use and kept for the process. */
static _Atomic(struct authz *) agent_authz;

/* One item of an X.509-SVID batch, from request to result. */
struct svid_item {
	const char		*entry_id;	/* borrowed from the body */
	const char		*csr;		/* base64, borrowed */
	size_t			 csr_len;	/* its bytes */
	const struct store_entry *entry;	/* borrowed from the set */
	int			 status;	/* HTTP status of the item */
	const char		*msg;		/* its message, static */
	unsigned char		*der;		/* leaf, OPENSSL_free */
	size_t			 der_len;
	char			 serial[AGENT_SERIAL_MAX];
	time_t			 not_after;
	char			*detail;	/* audit detail, free() */
};

/* A batch being answered. */
struct svid_batch {
	const struct http_req	*req;		/* borrowed */
	struct svid_item	*items;		/* n of them, owned */
	size_t			 n;
	size_t			 issued;	/* items with status 200 */
};

/* ---- shared helpers ------------------------------------------------- */

/*
 * The cache of authorized sets for api's store, made on first use (two
 * threads racing both make one; the loser frees its own).  NULL when
 * out of memory.
 */
static struct authz *
get_authz(struct api *api)
{
	struct authz *az, *fresh;
	struct spiffeid sid;
	struct rc_why why;

	az = atomic_load(&agent_authz);
	if (az != NULL)
		return az;
	if (spiffeid_from_parts(api->conf->trust_domain, AGENT_SERVER_PATH,
	    &sid, &why) != RC_OK)
		return NULL;
	fresh = authz_new(api->store, sid.str, 0);
	if (fresh == NULL)
		return NULL;
	if (!atomic_compare_exchange_strong(&agent_authz, &az, fresh)) {
		authz_free(fresh);
		return az;
	}
	return fresh;
}

/*
 * The caller must hold the agent role with a verified SVID; the route
 * table admits nobody else, and this says so again where it matters.
 */
static enum rc
check_agent(const struct http_req *req, struct rc_why *why)
{
	if ((req->roles & HTTP_ROLE_AGENT) == 0 || !req->has_peer_id)
		return rc_why_set(why, RC_DENIED, NULL, AGENT_RULE_AUTHZ,
		    "a current agent SVID is required");
	return RC_OK;
}

/* A JSON string member of o that must be present: *s and *len. */
static enum rc
get_string(const json_t *o, const char *name, const char **s, size_t *len,
    struct rc_why *why)
{
	const json_t *v;

	v = json_object_get(o, name);
	if (v == NULL || !json_is_string(v))
		return rc_why_set(why, RC_BAD_REQUEST, name, "openapi",
		    "%s must be a string", name);
	*s = json_string_value(v);
	*len = json_string_length(v);
	if (*len == 0 || memchr(*s, '\0', *len) != NULL)
		return rc_why_set(why, RC_BAD_REQUEST, name, "openapi",
		    "%s must be a non-empty string without NUL", name);
	return RC_OK;
}

/*
 * Decode a base64 CSR (RFC 4648 section 4, padded) and parse it.
 * RC_BAD_CSR with why on any fault; *out is the caller's to free.
 */
static enum rc
parse_csr_b64(const char *b64, size_t len, unsigned char *buf,
    struct csr **out, struct rc_why *why)
{
	const char *end = NULL;
	size_t n = 0;

	*out = NULL;
	if (len > AGENT_CSR_B64_MAX)
		return rc_why_set(why, RC_BAD_CSR, "csr",
		    "csr: over size limit", "csr is over %d bytes of DER",
		    CSR_DER_MAX);
	if (sodium_base642bin(buf, CSR_DER_MAX, b64, len, NULL, &n, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != b64 + len)
		return rc_why_set(why, RC_BAD_CSR, "csr",
		    "csr: not standard base64 (RFC 4648 4)",
		    "csr is not standard base64 with padding");
	return csr_parse(buf, n, out, why);
}

/* DER as standard base64 into a new JSON string; NULL on failure. */
static json_t *
der_to_json(const unsigned char *der, size_t len)
{
	json_t *s;
	char *b64;
	size_t n;

	n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	b64 = malloc(n);
	if (b64 == NULL)
		return NULL;
	(void)sodium_bin2base64(b64, n, der, len,
	    sodium_base64_VARIANT_ORIGINAL);
	s = json_stringn(b64, n - 1);
	free(b64);
	return s;
}

/*
 * The SVID chain: the leaf, then the signing authority's certificate
 * when it is not self-issued (an intermediate under an upstream CA); a
 * root never goes in, as a verifier must already hold it.
 */
static json_t *
chain_to_json(const unsigned char *der, size_t len, X509 *ca_cert)
{
	unsigned char *ca_der = NULL;
	json_t *a, *s;
	int n;

	a = json_array();
	s = der_to_json(der, len);
	if (a == NULL || s == NULL || json_array_append_new(a, s) != 0)
		goto fail;
	if (ca_cert == NULL || X509_check_issued(ca_cert, ca_cert) ==
	    X509_V_OK)
		return a;
	n = i2d_X509(ca_cert, &ca_der);
	if (n <= 0)
		goto fail;
	s = der_to_json(ca_der, (size_t)n);
	OPENSSL_free(ca_der);
	if (s == NULL || json_array_append_new(a, s) != 0)
		goto fail;
	return a;
fail:
	json_decref(a);
	return NULL;
}

/*
 * Set resp to o as compact JSON with status, taking o (NULL is an
 * allocation that failed upstream): RC_NOMEM if there is no text.
 */
static enum rc
reply_json(struct http_resp *resp, int status, json_t *o)
{
	char *text;

	text = o == NULL ? NULL : json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return RC_NOMEM;
	http_resp_json(resp, status, text);
	return RC_OK;
}

/* Lowercase hex SHA-256 of the CSR's public key (for the audit). */
static void
key_sha256(const struct csr *csr, char *out)
{
	unsigned char h[crypto_hash_sha256_BYTES];

	(void)crypto_hash_sha256(h, csr->spki, csr->spki_len);
	(void)sodium_bin2hex(out, 2 * sizeof(h) + 1, h, sizeof(h));
}

/*
 * The X.509 signer of the view, or RC_UNAVAILABLE (why filled) when
 * there is no active authority.
 */
static enum rc
view_x509(const struct ca_view *v, struct cert_signer **signer,
    X509 **cert, struct rc_why *why)
{
	if (v == NULL || v->x509_active == NULL ||
	    v->x509_active->x509 == NULL)
		return rc_why_set(why, RC_UNAVAILABLE, NULL, NULL,
		    "no active X.509 authority");
	*signer = v->x509_active->x509;
	*cert = v->x509_active->cert;
	return RC_OK;
}

/* The TTL of an SVID: the entry's, else the default, at most the max. */
static long
pick_ttl(long entry_ttl, long def, long max)
{
	long ttl = entry_ttl > 0 ? entry_ttl : def;

	return ttl > max ? max : ttl;
}

/* store_write() callback: append the one audit record in arg. */
static enum rc
on_audit(struct store_tx *tx, void *arg)
{
	return store_audit_append(tx, arg, NULL);
}

/* ---- POST /v1/agent/renew -------------------------------------------- */

/* What the renewal transaction writes. */
struct renew_tx {
	const char		*id;		/* the agent */
	const char		*serial;	/* the new SVID's */
	time_t			 not_after;
	struct store_audit	 rec;
};

/* store_write() callback: record the pending serial and its audit. */
static enum rc
on_renew(struct store_tx *tx, void *arg)
{
	struct renew_tx *r = arg;
	enum rc rc;

	rc = store_agent_set_new_serial(tx, r->id, r->serial, r->not_after);
	if (rc != RC_OK)
		return rc;
	return store_audit_append(tx, &r->rec, NULL);
}

/*
 * A new agent SVID for the caller's own ID, TTL agent_svid_ttl.  Its
 * serial becomes the agent's pending one; the SVID the caller presents
 * stays good until the new one is first used (api_peer_roles).  400 for
 * a bad body or CSR, 403 for an agent evicted meanwhile, 503 without an
 * active authority.
 */
enum rc
api_agent_renew(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	static const char *const members[] = { "csr", NULL };
	unsigned char buf[CSR_DER_MAX];
	char serial[AGENT_SERIAL_MAX], sha[65];
	struct ca_view *v = NULL;
	struct cert_signer *signer = NULL;
	struct cert_leaf leaf;
	struct renew_tx tx;
	struct csr *csr = NULL;
	json_t *body = NULL, *o = NULL, *detail = NULL;
	unsigned char *der = NULL;
	char *detail_text = NULL;
	const char *b64;
	size_t b64_len, der_len = 0;
	time_t now, not_after = 0;
	X509 *ca_cert = NULL;
	enum rc rc = RC_INTERNAL;

	rc = check_agent(req, why);
	if (rc != RC_OK)
		goto out;
	rc = api_body_object(req, members, &body, why);
	if (rc != RC_OK)
		goto out;
	rc = get_string(body, "csr", &b64, &b64_len, why);
	if (rc != RC_OK)
		goto out;
	rc = parse_csr_b64(b64, b64_len, buf, &csr, why);
	if (rc != RC_OK)
		goto out;

	/* Sign under the active authority of one view. */
	v = ca_view_get(api->ca);
	rc = view_x509(v, &signer, &ca_cert, why);
	if (rc != RC_OK)
		goto out;
	now = time(NULL);
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &req->peer_id;
	leaf.org = ca_get0_org(api->ca);
	leaf.now = now;
	leaf.ttl = api->conf->agent_svid_ttl;
	rc = cert_issue(signer, csr, &leaf, &der, &der_len, serial,
	    &not_after);
	if (rc != RC_OK)
		goto out;

	/* The pending serial and the audit record, in one transaction. */
	key_sha256(csr, sha);
	detail = json_pack("{s:I, s:s, s:s}", "not_after",
	    (json_int_t)not_after, "previous_serial", req->peer_serial,
	    "key_sha256", sha);
	detail_text = detail == NULL ? NULL : json_dumps(detail,
	    JSON_COMPACT);
	if (detail_text == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	memset(&tx, 0, sizeof(tx));
	tx.id = req->peer_id.str;
	tx.serial = serial;
	tx.not_after = not_after;
	tx.rec.actor = req->peer_id.str;
	tx.rec.action = "agent.renew";
	tx.rec.subject = req->peer_id.str;
	tx.rec.outcome = "ok";
	tx.rec.serial = serial;
	tx.rec.detail = detail_text;
	rc = store_write(api->store, on_renew, &tx);
	if (rc == RC_NOT_FOUND) {
		rc = rc_why_set(why, RC_DENIED, NULL, AGENT_RULE_AUTHZ,
		    "the agent is no longer attested");
		goto out;
	}
	if (rc != RC_OK)
		goto out;
	log_info(AGENT_MOD, "agent svid renewed id=%s serial=%s "
	    "not_after=%lld", req->peer_id.str, serial, (long long)not_after);
	metrics_svid_issued(METRICS_SVID_X509_AGENT, 1);

	o = json_pack("{s:s, s:o, s:I}", "spiffe_id", req->peer_id.str,
	    "svid", chain_to_json(der, der_len, ca_cert),
	    "expires_at", (json_int_t)not_after);
	rc = reply_json(resp, 200, o);
	o = NULL;
	if (rc != RC_OK)
		goto out;
	rc = RC_OK;
out:
	if (v != NULL)
		ca_view_put(api->ca, v);
	json_decref(o);
	json_decref(detail);
	json_decref(body);
	free(detail_text);
	OPENSSL_free(der);
	csr_free(csr);
	return rc;
}

/* ---- GET /v1/agent/entries ------------------------------------------ */

/*
 * The agent's set from the cache.  An agent evicted or banned since its
 * connection's roles were settled is refused (403).
 */
static enum rc
agent_set(struct api *api, const struct http_req *req, time_t now,
    struct authz_set **set, struct rc_why *why)
{
	struct authz *az;
	enum rc rc;

	*set = NULL;
	az = get_authz(api);
	if (az == NULL)
		return RC_NOMEM;
	rc = authz_get(az, req->peer_id.str, now, set);
	if (rc == RC_NOT_FOUND || rc == RC_DENIED)
		return rc_why_set(why, RC_DENIED, NULL, AGENT_RULE_AUTHZ,
		    "the agent is banned or no longer attested");
	if (rc == RC_TOO_LARGE)
		return rc_why_set(why, RC_INTERNAL, NULL, NULL,
		    "authorized entries over the limit");
	return rc;
}

/*
 * The revision of a sync answer: a hash (libsodium BLAKE2b) of the set's
 * digest, which covers the agent ID and every field of every entry, and
 * of the CA view generation; lowercase hex into out (2 *
 * AGENT_REVISION_LEN + 1 bytes).  It changes when the set or an entry
 * in it changes or the CA rotates, and stays put across changes that do
 * not touch this agent.
 */
static void
make_revision(const struct authz_set *set, uint64_t view_gen, char *out)
{
	crypto_generichash_state st;
	unsigned char h[AGENT_REVISION_LEN];

	(void)crypto_generichash_init(&st, NULL, 0, sizeof(h));
	(void)crypto_generichash_update(&st, authz_set_get0_digest(set),
	    AUTHZ_DIGEST_LEN);
	(void)crypto_generichash_update(&st, (const unsigned char *)&view_gen,
	    sizeof(view_gen));
	(void)crypto_generichash_final(&st, h, sizeof(h));
	(void)sodium_bin2hex(out, 2 * sizeof(h) + 1, h, sizeof(h));
}

/*
 * Does the If-None-Match value inm name etag?  RFC 9110 13.1.2: "*" or
 * a list of entity tags, compared weakly (a W/ prefix is ignored).  A
 * malformed list matches nothing, so the caller gets the full answer.
 */
static bool
etag_matches(const char *inm, const char *etag)
{
	const char *p = inm, *q;
	size_t n = strlen(etag);

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return false;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p != '"')
			return false;
		q = strchr(p + 1, '"');
		if (q == NULL)
			return false;
		if ((size_t)(q - p + 1) == n && memcmp(p, etag, n) == 0)
			return true;
		p = q + 1;
	}
}

/* The set's entries as a JSON array (entry_json.c's form). */
static json_t *
entries_to_json(const struct authz_set *set)
{
	const struct store_entry *e;
	json_t *a, *o;
	size_t n, i;

	e = authz_set_get0_entries(set, &n);
	a = json_array();
	for (i = 0; a != NULL && i < n; i++) {
		o = api_entry_to_json(&e[i]);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

/*
 * The authorized entries with their revision, ETag "<revision>"; 304
 * without a body when If-None-Match names it.  The unchanged answer
 * costs a cache lookup and a hash.
 */
enum rc
api_agent_entries(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	char rev[2 * AGENT_REVISION_LEN + 1];
	struct authz_set *set = NULL;
	struct ca_view *v;
	const char *inm;
	uint64_t view_gen = 0;
	json_t *o = NULL;
	enum rc rc = RC_INTERNAL;

	rc = check_agent(req, why);
	if (rc != RC_OK)
		goto out;
	rc = agent_set(api, req, time(NULL), &set, why);
	if (rc != RC_OK)
		goto out;
	v = ca_view_get(api->ca);
	if (v != NULL) {
		view_gen = v->generation;
		ca_view_put(api->ca, v);
	}
	make_revision(set, view_gen, rev);
	(void)snprintf(resp->etag, sizeof(resp->etag), "\"%s\"", rev);

	inm = http_header(req, "If-None-Match");
	if (inm != NULL && etag_matches(inm, resp->etag)) {
		http_resp_json(resp, 304, NULL);
		resp->content_type = NULL;
		rc = RC_OK;
		goto out;
	}
	o = json_pack("{s:s, s:o}", "revision", rev, "entries",
	    entries_to_json(set));
	rc = reply_json(resp, 200, o);
	o = NULL;
	if (rc != RC_OK)
		goto out;
	rc = RC_OK;
out:
	json_decref(o);
	authz_set_put(set);
	return rc;
}

/* ---- POST /v1/agent/x509-svids --------------------------------------- */

/* Set item's outcome: status and a static message. */
static void
item_refuse(struct svid_item *it, int status, const char *msg)
{
	it->status = status;
	it->msg = msg;
}

/*
 * The params array: 1..AGENT_BATCH_MAX objects of exactly entry_id and
 * csr, both strings.  A shape fault refuses the whole request (400, 413
 * past the bound), naming the item.
 */
static enum rc
parse_batch(const json_t *body, struct svid_batch *b, struct rc_why *why)
{
	const json_t *params, *p;
	const char *name;
	json_t *v;
	size_t i, len;

	params = json_object_get(body, "params");
	if (params == NULL || !json_is_array(params) ||
	    json_array_size(params) == 0)
		return rc_why_set(why, RC_BAD_REQUEST, "params", "openapi",
		    "params must be an array of one item or more");
	if (json_array_size(params) > AGENT_BATCH_MAX)
		return rc_why_set(why, RC_TOO_LARGE, "params", "openapi",
		    "%zu items, at most %d in one batch",
		    json_array_size(params), AGENT_BATCH_MAX);
	b->n = json_array_size(params);
	b->items = calloc(b->n, sizeof(*b->items));
	if (b->items == NULL)
		return RC_NOMEM;
	json_array_foreach(params, i, p) {
		if (!json_is_object(p))
			return rc_why_set(why, RC_BAD_REQUEST, "params",
			    "openapi", "params[%zu] must be an object", i);
		json_object_foreach((json_t *)p, name, v) {
			if (strcmp(name, "entry_id") != 0 &&
			    strcmp(name, "csr") != 0)
				return rc_why_set(why, RC_BAD_REQUEST,
				    "params", AGENT_RULE_BODY, "params[%zu]: "
				    "unknown member \"%.64s\"", i, name);
		}
		if (get_string(p, "entry_id", &b->items[i].entry_id, &len,
		    why) != RC_OK ||
		    get_string(p, "csr", &b->items[i].csr,
		    &b->items[i].csr_len, why) != RC_OK)
			return rc_why_set(why, RC_BAD_REQUEST, "params",
			    "openapi", "params[%zu] needs entry_id and csr, "
			    "both non-empty strings", i);
	}
	return RC_OK;
}

/*
 * An entry outside the agent's set: 404 when no entry has the ID at
 * all, 403 when it exists (or has expired) but is not the agent's.
 */
static enum rc
refuse_entry(struct api *api, const char *entry_id, int *status,
    const char **msg)
{
	struct store_entry e;
	enum rc rc = RC_INTERNAL;

	memset(&e, 0, sizeof(e));
	rc = store_entry_get(api->store, entry_id, &e);
	if (rc == RC_NOT_FOUND) {
		*status = 404;
		*msg = "no entry has this ID";
		rc = RC_OK;
		goto out;
	}
	if (rc != RC_OK)
		goto out;
	*status = 403;
	*msg = "the agent is not authorized for this entry";
	rc = RC_OK;
out:
	store_entry_clear(&e);
	return rc;
}

/*
 * Issue one item under signer, or mark why not.  Only our own faults
 * come back as an error; they fail the whole batch.
 */
static enum rc
issue_item(struct api *api, const struct http_req *req,
    struct authz_set *set, struct cert_signer *signer, time_t now,
    unsigned char *buf, struct svid_item *it)
{
	struct spiffeid id;
	struct cert_leaf leaf;
	struct rc_why why;
	struct csr *csr = NULL;
	const char *msg = NULL;
	json_t *detail = NULL;
	char sha[65];
	enum rc rc = RC_INTERNAL;

	/* Authorized, else unknown (404) or someone else's (403). */
	it->entry = authz_set_find(set, it->entry_id);
	if (it->entry == NULL) {
		rc = refuse_entry(api, it->entry_id, &it->status, &msg);
		if (rc == RC_OK)
			item_refuse(it, it->status, msg);
		goto out;
	}

	rc_why_clear(&why);
	rc = parse_csr_b64(it->csr, it->csr_len, buf, &csr, &why);
	if (rc != RC_OK) {
		item_refuse(it, rc_http(rc), why.rule != NULL ? why.rule :
		    rc_str(rc));
		rc = RC_OK;
		goto out;
	}

	/* ID, DNS names and TTL come from the entry, never the CSR. */
	rc = spiffeid_parse(it->entry->spiffe_id,
	    strlen(it->entry->spiffe_id), &id, "spiffe_id", &why);
	if (rc != RC_OK) {
		item_refuse(it, 500, "the entry's SPIFFE ID does not parse");
		rc = RC_INTERNAL;
		goto out;
	}
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &id;
	leaf.dns = (const char *const *)it->entry->dns_names;
	leaf.n_dns = it->entry->n_dns_names;
	leaf.org = ca_get0_org(api->ca);
	leaf.now = now;
	leaf.ttl = pick_ttl(it->entry->x509_svid_ttl,
	    api->conf->x509_svid_ttl, api->conf->x509_svid_ttl_max);
	rc = cert_issue(signer, csr, &leaf, &it->der, &it->der_len,
	    it->serial, &it->not_after);
	if (rc == RC_BAD_REQUEST || rc == RC_DENIED) {
		item_refuse(it, rc_http(rc), "the entry breaks the SVID "
		    "profile");
		rc = RC_OK;
		goto out;
	}
	if (rc != RC_OK)
		goto out;

	key_sha256(csr, sha);
	detail = json_pack("{s:I, s:s, s:s}", "not_after",
	    (json_int_t)it->not_after, "agent", req->peer_id.str,
	    "key_sha256", sha);
	it->detail = detail == NULL ? NULL : json_dumps(detail,
	    JSON_COMPACT);
	if (it->detail == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	item_refuse(it, 200, "ok");
	rc = RC_OK;
out:
	json_decref(detail);
	csr_free(csr);
	return rc;
}

/* store_write() callback: the audit record of every issued SVID. */
static enum rc
on_batch(struct store_tx *tx, void *arg)
{
	struct svid_batch *b = arg;
	struct store_audit rec;
	struct svid_item *it;
	size_t i;
	enum rc rc = RC_OK;

	for (i = 0; i < b->n && rc == RC_OK; i++) {
		it = &b->items[i];
		if (it->status != 200)
			continue;
		memset(&rec, 0, sizeof(rec));
		rec.actor = b->req->peer_id.str;
		rec.action = "svid.x509";
		rec.subject = it->entry->spiffe_id;
		rec.outcome = "ok";
		rec.serial = it->serial;
		rec.entry_id = it->entry->id;
		rec.detail = it->detail;
		rc = store_audit_append(tx, &rec, NULL);
	}
	return rc;
}

/* One result object of the batch answer. */
static json_t *
item_to_json(const struct svid_item *it, X509 *ca_cert)
{
	json_t *o;

	o = json_pack("{s:{s:i, s:s}, s:s}", "status", "code", it->status,
	    "message", it->msg, "entry_id", it->entry_id);
	if (o == NULL || it->status != 200)
		return o;
	if (json_object_set_new(o, "spiffe_id",
	    json_string(it->entry->spiffe_id)) != 0 ||
	    json_object_set_new(o, "svid", chain_to_json(it->der,
	    it->der_len, ca_cert)) != 0 ||
	    json_object_set_new(o, "expires_at",
	    json_integer((json_int_t)it->not_after)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * The batch's one log line: info when all was issued, else a warning
 * naming the first refused item, since an agent asking for what it may
 * not have is worth a look.
 */
static void
log_batch(const struct svid_batch *b)
{
	const struct svid_item *it = NULL;
	size_t i;

	for (i = 0; i < b->n && it == NULL; i++)
		if (b->items[i].status != 200)
			it = &b->items[i];
	if (it == NULL) {
		log_info(AGENT_MOD, "x509-svids issued id=%s issued=%zu",
		    b->req->peer_id.str, b->issued);
		return;
	}
	log_warn(AGENT_MOD, "x509-svids refused in part id=%s issued=%zu "
	    "refused=%zu entry_id=\"%.64s\" status=%d reason=\"%s\"",
	    b->req->peer_id.str, b->issued, b->n - b->issued, it->entry_id,
	    it->status, it->msg);
}

/*
 * The audit record of an item refused inside the batch's 200 answer
 * (api_refused): its CSR (400) or its entry (403, 404).
 */
static void
refused_item(struct api *api, const struct http_req *req,
    const struct svid_item *it)
{
	struct rc_why w;

	rc_why_clear(&w);
	w.field = it->status == 400 ? "csr" : "entry_id";
	w.rule = it->status == 400 ? NULL : AGENT_RULE_AUTHZ;
	(void)snprintf(w.detail, sizeof(w.detail), "entry_id %.64s: %s",
	    it->entry_id, it->msg);
	api_refused(api, req, it->status, &w);
}

static void
free_batch(struct svid_batch *b)
{
	size_t i;

	for (i = 0; b->items != NULL && i < b->n; i++) {
		OPENSSL_free(b->items[i].der);
		free(b->items[i].detail);
	}
	free(b->items);
}

/*
 * A batch of X.509-SVIDs for entries the agent is authorized for, one
 * result per item in order (200, 400 bad CSR, 403 not authorized, 404
 * unknown entry).  One CA view and one authorized set serve the whole
 * batch; every issued SVID's audit record commits in one transaction
 * before any SVID goes out.  The whole request fails (nothing issued)
 * on a malformed body (400), more than AGENT_BATCH_MAX items (413), no
 * active authority (503) or our own fault.
 */
enum rc
api_agent_x509_svids(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	static const char *const members[] = { "params", NULL };
	unsigned char buf[CSR_DER_MAX];
	struct svid_batch b;
	struct authz_set *set = NULL;
	struct ca_view *v = NULL;
	struct cert_signer *signer = NULL;
	json_t *body = NULL, *results = NULL, *r;
	X509 *ca_cert = NULL;
	time_t now;
	size_t i;
	enum rc rc = RC_INTERNAL;

	memset(&b, 0, sizeof(b));
	b.req = req;
	rc = check_agent(req, why);
	if (rc != RC_OK)
		goto out;
	rc = api_body_object(req, members, &body, why);
	if (rc != RC_OK)
		goto out;
	rc = parse_batch(body, &b, why);
	if (rc != RC_OK)
		goto out;

	now = time(NULL);
	rc = agent_set(api, req, now, &set, why);
	if (rc != RC_OK)
		goto out;
	v = ca_view_get(api->ca);
	rc = view_x509(v, &signer, &ca_cert, why);
	if (rc != RC_OK)
		goto out;
	for (i = 0; i < b.n; i++) {
		rc = issue_item(api, req, set, signer, now, buf, &b.items[i]);
		if (rc != RC_OK)
			goto out;
		if (b.items[i].status == 200)
			b.issued++;
	}

	/* Every audit record commits before any SVID is handed out. */
	if (b.issued > 0) {
		rc = store_write(api->store, on_batch, &b);
		if (rc != RC_OK)
			goto out;
	}
	metrics_svid_issued(METRICS_SVID_X509_WORKLOAD, b.issued);
	log_batch(&b);
	for (i = 0; i < b.n; i++)
		if (b.items[i].status >= 400 && b.items[i].status < 500)
			refused_item(api, req, &b.items[i]);

	results = json_array();
	for (i = 0; results != NULL && i < b.n; i++) {
		r = item_to_json(&b.items[i], ca_cert);
		if (r == NULL || json_array_append_new(results, r) != 0) {
			rc = RC_NOMEM;
			goto out;
		}
	}
	rc = reply_json(resp, 200, json_pack("{s:O}", "results", results));
	if (rc != RC_OK)
		goto out;
	rc = RC_OK;
out:
	if (v != NULL)
		ca_view_put(api->ca, v);
	json_decref(results);
	json_decref(body);
	authz_set_put(set);
	free_batch(&b);
	return rc;
}

/* ---- POST /v1/agent/jwt-svids ---------------------------------------- */

/*
 * The audience member: 1..JWT_AUD_MAX non-empty strings of at most
 * JWT_AUD_LEN_MAX bytes (DESIGN.md: aud is never empty).
 */
static enum rc
parse_audience(const json_t *body, const char **aud, size_t *n,
    struct rc_why *why)
{
	const json_t *a, *s;
	size_t i, len;

	a = json_object_get(body, "audience");
	if (a == NULL || !json_is_array(a) || json_array_size(a) == 0)
		return rc_why_set(why, RC_BAD_REQUEST, "audience", "JW-04",
		    "audience must name one audience or more");
	if (json_array_size(a) > JWT_AUD_MAX)
		return rc_why_set(why, RC_BAD_REQUEST, "audience", "openapi",
		    "at most %d audiences", JWT_AUD_MAX);
	json_array_foreach(a, i, s) {
		len = json_is_string(s) ? json_string_length(s) : 0;
		if (len == 0 || len > JWT_AUD_LEN_MAX ||
		    memchr(json_string_value(s), '\0', len) != NULL)
			return rc_why_set(why, RC_BAD_REQUEST, "audience",
			    "openapi", "audience[%zu] must be a string of "
			    "1 to %d bytes", i, JWT_AUD_LEN_MAX);
		aud[i] = json_string_value(s);
	}
	*n = json_array_size(a);
	return RC_OK;
}

/*
 * A JWT-SVID for an entry the agent is authorized for: sub the entry's
 * SPIFFE ID, TTL the entry's (else the default), capped by the JWT
 * authority.  404 unknown entry, 403 not authorized, 400 bad audience.
 * The audit record holds sub, aud, exp and kid, never the token.
 */
enum rc
api_agent_jwt_svids(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	static const char *const members[] = { "entry_id", "audience",
	    NULL };
	const char *aud[JWT_AUD_MAX], *entry_id, *msg = NULL;
	const struct store_entry *e;
	struct authz_set *set = NULL;
	struct ca_view *v = NULL;
	struct ca_auth *auth;
	struct store_audit rec;
	json_t *body = NULL, *o = NULL, *detail = NULL;
	char *token = NULL, *detail_text = NULL;
	size_t n_aud = 0, len;
	time_t now, exp;
	int status = 0;
	enum rc rc = RC_INTERNAL;

	rc = check_agent(req, why);
	if (rc != RC_OK)
		goto out;
	rc = api_body_object(req, members, &body, why);
	if (rc != RC_OK)
		goto out;
	rc = get_string(body, "entry_id", &entry_id, &len, why);
	if (rc != RC_OK)
		goto out;
	rc = parse_audience(body, aud, &n_aud, why);
	if (rc != RC_OK)
		goto out;

	/* Authorized, else unknown (404) or someone else's (403). */
	now = time(NULL);
	rc = agent_set(api, req, now, &set, why);
	if (rc != RC_OK)
		goto out;
	e = authz_set_find(set, entry_id);
	if (e == NULL) {
		rc = refuse_entry(api, entry_id, &status, &msg);
		if (rc != RC_OK)
			goto out;
		rc = rc_why_set(why, status == 404 ? RC_NOT_FOUND : RC_DENIED,
		    "entry_id", AGENT_RULE_AUTHZ, "%s", msg);
		log_warn(AGENT_MOD, "jwt-svid refused id=%s entry_id=\"%.64s\" "
		    "status=%d", req->peer_id.str, entry_id, status);
		goto out;
	}

	v = ca_view_get(api->ca);
	auth = v == NULL ? NULL : v->jwt_active;
	if (auth == NULL || auth->jwt == NULL) {
		rc = rc_why_set(why, RC_UNAVAILABLE, NULL, NULL,
		    "no active JWT authority");
		goto out;
	}
	exp = now + pick_ttl(e->jwt_svid_ttl, api->conf->jwt_svid_ttl,
	    api->conf->jwt_svid_ttl_max);
	if (exp > auth->rec.not_after)
		exp = auth->rec.not_after;
	rc = jwt_mint(auth->jwt, e->spiffe_id, aud, n_aud, now, exp, &token,
	    why);
	if (rc != RC_OK)
		goto out;

	detail = json_pack("{s:O, s:I, s:s, s:s}", "aud",
	    json_object_get(body, "audience"), "exp", (json_int_t)exp,
	    "kid", auth->rec.kid, "agent", req->peer_id.str);
	detail_text = detail == NULL ? NULL : json_dumps(detail,
	    JSON_COMPACT);
	if (detail_text == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	rec.actor = req->peer_id.str;
	rec.action = "svid.jwt";
	rec.subject = e->spiffe_id;
	rec.outcome = "ok";
	rec.entry_id = e->id;
	rec.detail = detail_text;
	rc = store_write(api->store, on_audit, &rec);
	if (rc != RC_OK)
		goto out;
	metrics_svid_issued(METRICS_SVID_JWT, 1);

	o = json_pack("{s:s, s:s, s:I}", "spiffe_id", e->spiffe_id,
	    "token", token, "expires_at", (json_int_t)exp);
	rc = reply_json(resp, 200, o);
	o = NULL;
	if (rc != RC_OK)
		goto out;
	rc = RC_OK;
out:
	if (v != NULL)
		ca_view_put(api->ca, v);
	if (token != NULL) {
		sodium_memzero(token, strlen(token));
		free(token);
	}
	json_decref(o);
	json_decref(detail);
	json_decref(body);
	free(detail_text);
	authz_set_put(set);
	return rc;
}

/* ---- GET /v1/agent/bundles ------------------------------------------- */

/*
 * Our own bundle keyed by our trust domain, and the taint marks.
 *
 * XXX(agent-federated): only our own bundle is answered, as federation
 * is not built yet; an agent learns no foreign trust domain.  Fix: add
 * each federated trust domain's current bundle once the store keeps
 * them.
 * XXX(agent-taint): tainted_authorities is always empty: the CA view
 * carries no taint state a request thread may read (ca.h leaves
 * rec.tainted to the scheduler), and nothing can taint an authority
 * yet.  Fix: record the tainted authorities' IDs in each ca_view when
 * the taint route lands, and list them here.
 */
enum rc
api_agent_bundles(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct ca_view *v = NULL;
	json_error_t err;
	json_t *own = NULL, *o = NULL;
	enum rc rc = RC_INTERNAL;

	rc = check_agent(req, why);
	if (rc != RC_OK)
		goto out;
	v = ca_view_get(api->ca);
	if (v == NULL || v->bundle_json == NULL) {
		rc = rc_why_set(why, RC_UNAVAILABLE, NULL, NULL,
		    "no bundle published yet");
		goto out;
	}
	own = json_loads(v->bundle_json, 0, &err);
	if (own == NULL) {
		rc = rc_why_set(why, RC_INTERNAL, NULL, NULL,
		    "the published bundle does not parse");
		goto out;
	}
	o = json_pack("{s:s, s:{s:O}, s:[]}", "trust_domain",
	    api->conf->trust_domain, "bundles", api->conf->trust_domain, own,
	    "tainted_authorities");
	rc = reply_json(resp, 200, o);
	o = NULL;
	if (rc != RC_OK)
		goto out;
	rc = RC_OK;
out:
	if (v != NULL)
		ca_view_put(api->ca, v);
	json_decref(o);
	json_decref(own);
	return rc;
}

/* ---- agent administration -------------------------------------------- */

/* An agent as the API answers it (schema Agent). */
static json_t *
agent_to_json(const struct store_agent *a)
{
	json_t *o, *sel, *s;
	size_t i;

	sel = json_array();
	for (i = 0; sel != NULL && i < a->n_selectors; i++) {
		s = json_pack("{s:s, s:s}", "type", a->selectors[i].type,
		    "value", a->selectors[i].value);
		if (s == NULL || json_array_append_new(sel, s) != 0) {
			json_decref(sel);
			sel = NULL;
		}
	}
	o = json_pack("{s:s, s:s, s:o, s:b, s:b, s:I}", "spiffe_id",
	    a->spiffe_id, "attestation_type", a->attestation_type,
	    "selectors", sel, "banned", a->banned, "can_reattest",
	    strcmp(a->attestation_type, "join_token") != 0, "created_at",
	    (json_int_t)a->created_at);
	if (o == NULL)
		return NULL;
	if ((a->serial[0] != '\0' && json_object_set_new(o,
	    "x509svid_serial_number", json_string(a->serial)) != 0) ||
	    (a->expires_at != 0 && json_object_set_new(o,
	    "x509svid_expires_at", json_integer((json_int_t)a->expires_at))
	    != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * The filter of GET /v1/agents and /count from the query: spiffe_id (a
 * valid ID), attestation_type, banned (true or false).  Strings are
 * borrowed from the request.
 */
static enum rc
parse_agent_filter(const struct http_req *req, struct store_agent_filter *f,
    struct spiffeid *id, struct rc_why *why)
{
	const char *s;
	enum rc rc;

	memset(f, 0, sizeof(*f));
	f->banned = -1;
	s = http_query(req, "spiffe_id");
	if (s != NULL) {
		rc = spiffeid_parse(s, strlen(s), id, "spiffe_id", why);
		if (rc != RC_OK)
			return rc;
		f->spiffe_id = id->str;
	}
	s = http_query(req, "attestation_type");
	if (s != NULL) {
		if (s[0] == '\0' || strlen(s) >= AGENT_TYPE_MAX)
			return rc_why_set(why, RC_BAD_REQUEST,
			    "attestation_type", "openapi",
			    "attestation_type must be 1 to %d bytes",
			    AGENT_TYPE_MAX - 1);
		f->attestation_type = s;
	}
	s = http_query(req, "banned");
	if (s != NULL) {
		if (strcmp(s, "true") == 0)
			f->banned = 1;
		else if (strcmp(s, "false") == 0)
			f->banned = 0;
		else
			return rc_why_set(why, RC_BAD_REQUEST, "banned",
			    "openapi", "banned must be true or false");
	}
	return RC_OK;
}

/* page_size from the query: 1..PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT absent. */
static enum rc
parse_page_size(const struct http_req *req, size_t *out,
    struct rc_why *why)
{
	const char *s;
	size_t v = 0;

	*out = PAGE_SIZE_DEFAULT;
	s = http_query(req, "page_size");
	if (s == NULL)
		return RC_OK;
	if (*s == '\0')
		goto bad;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > PAGE_SIZE_MAX)
			goto bad;
		v = 10 * v + (size_t)(*s - '0');
	}
	if (v < 1 || v > PAGE_SIZE_MAX)
		goto bad;
	*out = v;
	return RC_OK;
bad:
	return rc_why_set(why, RC_BAD_REQUEST, "page_size", "openapi",
	    "page_size must be an integer from 1 to %d", PAGE_SIZE_MAX);
}

/* GET /v1/agents: a page of agents matching the filters. */
enum rc
api_agents_list(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	char next[SPIFFEID_MAX + 1];
	struct store_agent_filter f;
	struct store_agent *agents = NULL;
	struct spiffeid id;
	const char *token;
	json_t *o = NULL, *a = NULL, *j;
	size_t n = 0, i, page;
	enum rc rc = RC_INTERNAL;

	rc = parse_agent_filter(req, &f, &id, why);
	if (rc != RC_OK)
		goto out;
	rc = parse_page_size(req, &page, why);
	if (rc != RC_OK)
		goto out;
	token = http_query(req, "page_token");
	if (token != NULL && strlen(token) > AGENT_TOKEN_MAX) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "page_token", "openapi",
		    "page_token is over %d bytes", AGENT_TOKEN_MAX);
		goto out;
	}
	next[0] = '\0';
	rc = store_agent_list(api->store, &f, token, page, &agents, &n, next,
	    sizeof(next));
	if (rc != RC_OK)
		goto out;

	rc = RC_NOMEM;
	a = json_array();
	for (i = 0; a != NULL && i < n; i++) {
		j = agent_to_json(&agents[i]);
		if (j == NULL || json_array_append_new(a, j) != 0)
			goto out;
	}
	o = json_pack("{s:O}", "agents", a);
	if (o == NULL || (next[0] != '\0' && json_object_set_new(o,
	    "next_page_token", json_string(next)) != 0))
		goto out;
	rc = reply_json(resp, 200, o);
	o = NULL;
	if (rc != RC_OK)
		goto out;
	rc = RC_OK;
out:
	json_decref(a);
	json_decref(o);
	store_agents_free(agents, n);
	return rc;
}

/* GET /v1/agents/count: how many agents match the filters. */
enum rc
api_agents_count(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct store_agent_filter f;
	struct spiffeid id;
	int64_t count = 0;
	enum rc rc = RC_INTERNAL;

	rc = parse_agent_filter(req, &f, &id, why);
	if (rc != RC_OK)
		goto out;
	rc = store_agent_count(api->store, &f, &count);
	if (rc != RC_OK)
		goto out;
	rc = reply_json(resp, 200, json_pack("{s:I}", "count",
	    (json_int_t)count));
	if (rc != RC_OK)
		goto out;
	rc = RC_OK;
out:
	return rc;
}

/* What a ban or an eviction writes. */
struct agent_tx {
	enum rc		(*fn)(struct store_tx *, const char *);
	struct store_audit rec;		/* subject: the agent */
};

/* store_write() callback: ban or delete, with the audit record. */
static enum rc
on_agent_change(struct store_tx *tx, void *arg)
{
	struct agent_tx *a = arg;
	enum rc rc;

	rc = a->fn(tx, a->rec.subject);
	if (rc != RC_OK)
		return rc;
	return store_audit_append(tx, &a->rec, NULL);
}

/*
 * The spiffe_id of an AgentRef body, then fn on that agent with an
 * audit record of action, in one transaction.  404 for no such agent.
 */
static enum rc
change_agent(struct api *api, const struct http_req *req,
    enum rc (*fn)(struct store_tx *, const char *), const char *action,
    struct spiffeid *id, struct rc_why *why)
{
	static const char *const members[] = { "spiffe_id", NULL };
	struct agent_tx tx;
	json_t *body = NULL;
	const char *s;
	size_t len;
	enum rc rc = RC_INTERNAL;

	rc = api_body_object(req, members, &body, why);
	if (rc != RC_OK)
		goto out;
	rc = get_string(body, "spiffe_id", &s, &len, why);
	if (rc != RC_OK)
		goto out;
	rc = spiffeid_parse(s, len, id, "spiffe_id", why);
	if (rc != RC_OK)
		goto out;

	memset(&tx, 0, sizeof(tx));
	tx.fn = fn;
	tx.rec.actor = req->actor[0] != '\0' ? req->actor : "unknown";
	tx.rec.action = action;
	tx.rec.subject = id->str;
	tx.rec.outcome = "ok";
	rc = store_write(api->store, on_agent_change, &tx);
	if (rc == RC_NOT_FOUND) {
		rc = rc_why_set(why, RC_NOT_FOUND, "spiffe_id", NULL,
		    "no agent has this SPIFFE ID");
		goto out;
	}
	if (rc != RC_OK)
		goto out;
	log_info(AGENT_MOD, "%s actor=%s id=%s", action, tx.rec.actor,
	    id->str);
	rc = RC_OK;
out:
	json_decref(body);
	return rc;
}

/*
 * POST /v1/agents/ban: the agent is refused from now on, its open
 * connections at their next request; answers the banned agent.
 */
enum rc
api_agents_ban(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct store_agent a;
	struct spiffeid id;
	enum rc rc = RC_INTERNAL;

	memset(&a, 0, sizeof(a));
	rc = change_agent(api, req, store_agent_ban, "agent.ban", &id, why);
	if (rc != RC_OK)
		goto out;
	rc = store_agent_get(api->store, id.str, &a);
	if (rc != RC_OK)
		goto out;
	rc = reply_json(resp, 200, agent_to_json(&a));
	if (rc != RC_OK)
		goto out;
	rc = RC_OK;
out:
	store_agent_clear(&a);
	return rc;
}

/* POST /v1/agents/evict: forget the agent; it may attest again.  204. */
enum rc
api_agents_evict(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct spiffeid id;
	enum rc rc = RC_INTERNAL;

	rc = change_agent(api, req, store_agent_delete, "agent.evict", &id,
	    why);
	if (rc != RC_OK)
		goto out;
	http_resp_json(resp, 204, NULL);
	resp->content_type = NULL;
	rc = RC_OK;
out:
	return rc;
}

/* What a purge writes. */
struct purge_tx {
	time_t		 cutoff;	/* SVIDs expired before it */
	long long	 expired_for;	/* seconds, as asked */
	const char	*actor;
	int64_t		 purged;	/* set by the callback */
};

/* store_write() callback: purge, then the audit record with the count. */
static enum rc
on_purge(struct store_tx *tx, void *arg)
{
	struct purge_tx *p = arg;
	struct store_audit rec;
	json_t *d = NULL;
	char *text = NULL;
	enum rc rc = RC_INTERNAL;

	rc = store_agent_purge(tx, p->cutoff, &p->purged);
	if (rc != RC_OK)
		goto out;
	d = json_pack("{s:I, s:I}", "expired_for", (json_int_t)p->expired_for,
	    "purged", (json_int_t)p->purged);
	text = d == NULL ? NULL : json_dumps(d, JSON_COMPACT);
	if (text == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	rec.actor = p->actor;
	rec.action = "agent.purge";
	rec.subject = "agents";
	rec.outcome = "ok";
	rec.detail = text;
	rc = store_audit_append(tx, &rec, NULL);
	if (rc != RC_OK)
		goto out;
	rc = RC_OK;
out:
	json_decref(d);
	free(text);
	return rc;
}

/*
 * POST /v1/agents/purge {expired_for}: evict every agent (not banned)
 * whose SVID expired more than expired_for seconds ago.
 */
enum rc
api_agents_purge(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	static const char *const members[] = { "expired_for", NULL };
	struct purge_tx p;
	const json_t *v;
	json_t *body = NULL;
	json_int_t secs;
	enum rc rc = RC_INTERNAL;

	rc = api_body_object(req, members, &body, why);
	if (rc != RC_OK)
		goto out;
	v = json_object_get(body, "expired_for");
	secs = v != NULL && json_is_integer(v) ? json_integer_value(v) : -1;
	if (secs < 0 || secs > AGENT_EXPIRED_FOR_MAX) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "expired_for", "openapi",
		    "expired_for must be a number of seconds, 0 or more");
		goto out;
	}

	memset(&p, 0, sizeof(p));
	p.expired_for = (long long)secs;
	p.cutoff = time(NULL) - (time_t)secs;
	p.actor = req->actor[0] != '\0' ? req->actor : "unknown";
	rc = store_write(api->store, on_purge, &p);
	if (rc != RC_OK)
		goto out;
	log_info(AGENT_MOD, "agent.purge actor=%s expired_for=%lld "
	    "purged=%lld", p.actor, p.expired_for, (long long)p.purged);
	rc = reply_json(resp, 200, json_pack("{s:I}", "purged",
	    (json_int_t)p.purged));
	if (rc != RC_OK)
		goto out;
	rc = RC_OK;
out:
	json_decref(body);
	return rc;
}
