/*
 * api_svids.c: POST /v1/svids/x509 and POST /v1/svids/jwt, minting for
 * any ID of our trust domain by an administrator (an admin SVID over
 * HTTPS, or a permitted uid on the admin socket).  The bodies follow
 * MintX509Request and MintJwtRequest of docs/openapi.yaml: unknown
 * members, wrong types and out-of-range values are refused with a
 * problem document naming the field and the rule.
 *
 * Each SVID is issued under the current view's active authority and
 * handed out only after its audit record committed.
 */
#include "api.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <sodium.h>

#include "../ca/cert.h"
#include "../ca/csr.h"
#include "../ca/jwt.h"
#include "../ca/spiffeid.h"
#include "../server/bounds.h"
#include "../server/log.h"
#include "../server/metrics.h"

#define SVIDS_MOD	"api"
#define SVIDS_RULE_TTL	"DESIGN.md TTLs"
#define SVIDS_SERIAL_MAX (2 * CERT_SERIAL_LEN + 8)	/* hex + NUL */
/* Base64 characters of the largest CSR we take (CSR_DER_MAX bytes). */
#define SVIDS_CSR_B64_MAX (4 * ((CSR_DER_MAX + 2) / 3))

/* Members each body may hold (additionalProperties: false). */
static const char *const x509_members[] = {
	"spiffe_id", "csr", "dns_names", "ttl", NULL,
};
static const char *const jwt_members[] = {
	"spiffe_id", "audience", "ttl", NULL,
};

/* A validated POST /v1/svids/x509 request. */
struct x509_ask {
	json_t		*body;			/* the request, owned */
	struct spiffeid	 id;			/* the SVID's ID */
	struct csr	*csr;			/* owned */
	const char	*dns[CERT_DNS_MAX];	/* borrowed from body */
	size_t		 n_dns;			/* <= CERT_DNS_MAX */
	long		 ttl;			/* seconds, > 0 */
};

/* A validated POST /v1/svids/jwt request. */
struct jwt_ask {
	json_t		*body;			/* the request, owned */
	struct spiffeid	 id;			/* the token's sub */
	const char	*aud[JWT_AUD_MAX];	/* borrowed from body */
	size_t		 n_aud;			/* 1..JWT_AUD_MAX */
	long		 ttl;			/* seconds, > 0 */
};

/*
 * The spiffe_id member: a valid ID (the one parser), in td, with a path.
 * rule_td and rule_path name the rules applied for the kind of SVID.
 */
static enum rc
take_id(json_t *body, const char *td, const char *rule_td,
    const char *rule_path, struct spiffeid *id, struct rc_why *why)
{
	json_t *v;
	char got[SPIFFEID_TD_MAX + 1];
	enum rc rc = RC_INTERNAL;

	v = json_object_get(body, "spiffe_id");
	if (!json_is_string(v))
		return rc_why_set(why, RC_BAD_REQUEST, "spiffe_id",
		    "openapi: required", "spiffe_id is required and must be "
		    "a string");
	rc = spiffeid_parse(json_string_value(v), json_string_length(v), id,
	    "spiffe_id", why);
	if (rc != RC_OK)
		return rc;
	if (!spiffeid_is_in_td(id, td)) {
		spiffeid_get_td(id, got);
		return rc_why_set(why, RC_BAD_REQUEST, "spiffe_id", rule_td,
		    "trust domain %s is not ours; only spiffe://%s/... may "
		    "be minted", got, td);
	}
	if (!spiffeid_has_path(id))
		return rc_why_set(why, RC_BAD_REQUEST, "spiffe_id", rule_path,
		    "an SVID's SPIFFE ID needs a path below the trust domain");
	return RC_OK;
}

/*
 * The ttl member: absent or 0 means def; negative or above max is
 * refused (DESIGN.md, TTLs).
 */
static enum rc
take_ttl(json_t *body, long def, long max, long *ttl, struct rc_why *why)
{
	json_t *v;
	json_int_t n;

	*ttl = def;
	v = json_object_get(body, "ttl");
	if (v == NULL)
		return RC_OK;
	if (!json_is_integer(v))
		return rc_why_set(why, RC_BAD_REQUEST, "ttl", "openapi: Ttl",
		    "ttl must be an integer number of seconds");
	n = json_integer_value(v);
	if (n < 0)
		return rc_why_set(why, RC_BAD_REQUEST, "ttl", SVIDS_RULE_TTL,
		    "ttl must not be negative");
	if (n > (json_int_t)max)
		return rc_why_set(why, RC_BAD_REQUEST, "ttl", SVIDS_RULE_TTL,
		    "ttl %lld is above the maximum of %ld seconds",
		    (long long)n, max);
	if (n > 0)
		*ttl = (long)n;
	return RC_OK;
}

/*
 * The csr member: standard base64 with padding (RFC 4648 4) of a DER
 * PKCS#10 request, checked by csr_parse().  *csr is the caller's.
 */
static enum rc
take_csr(json_t *body, struct csr **csr, struct rc_why *why)
{
	unsigned char *der = NULL;
	const char *b64, *end = NULL;
	size_t len, der_len = 0;
	json_t *v;
	enum rc rc = RC_BAD_REQUEST;

	*csr = NULL;
	v = json_object_get(body, "csr");
	if (!json_is_string(v)) {
		rc_why_set(why, rc, "csr", "openapi: required",
		    "csr is required and must be a base64 string");
		goto out;
	}
	b64 = json_string_value(v);
	len = json_string_length(v);
	if (len > SVIDS_CSR_B64_MAX) {
		rc = rc_why_set(why, RC_BAD_CSR, "csr", "csr: over size limit",
		    "csr is larger than %d bytes of DER", CSR_DER_MAX);
		goto out;
	}
	der = malloc(CSR_DER_MAX);
	if (der == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	if (len == 0 || sodium_base642bin(der, CSR_DER_MAX, b64, len, NULL,
	    &der_len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + len) {
		rc_why_set(why, rc, "csr", "RFC 4648 4",
		    "csr must be standard base64 (with padding) of DER");
		goto out;
	}
	rc = csr_parse(der, der_len, csr, why);
out:
	free(der);
	return rc;
}

/*
 * An optional array of strings named name into v[0..*n), at most max of
 * them, each borrowed from body.  Checking their contents is the
 * caller's affair.
 */
static enum rc
take_strings(json_t *body, const char *name, size_t max, const char **v,
    size_t *n, struct rc_why *why)
{
	json_t *a, *s;
	size_t i;

	*n = 0;
	a = json_object_get(body, name);
	if (a == NULL)
		return RC_OK;
	if (!json_is_array(a))
		return rc_why_set(why, RC_BAD_REQUEST, name, "openapi: array",
		    "%s must be an array of strings", name);
	if (json_array_size(a) > max)
		return rc_why_set(why, RC_BAD_REQUEST, name,
		    "openapi: maxItems", "%s holds %zu items; at most %zu "
		    "are allowed", name, json_array_size(a), max);
	json_array_foreach(a, i, s) {
		if (!json_is_string(s))
			return rc_why_set(why, RC_BAD_REQUEST, name,
			    "openapi: array", "%s[%zu] must be a string", name,
			    i);
		v[i] = json_string_value(s);
	}
	*n = json_array_size(a);
	return RC_OK;
}

/* Read and check a mint-x509 body into ask (see MintX509Request). */
static enum rc
read_x509_ask(struct api *api, const struct http_req *req,
    struct x509_ask *ask, struct rc_why *why)
{
	const struct conf *c = api->conf;
	struct cert_leaf leaf;
	enum rc rc = RC_INTERNAL;

	rc = api_body_object(req, x509_members, &ask->body, why);
	if (rc != RC_OK)
		return rc;
	/* X5-07: only our trust domain is signed; X5-04: leaves have paths. */
	rc = take_id(ask->body, c->trust_domain, "X5-07", "X5-04", &ask->id,
	    why);
	if (rc != RC_OK)
		return rc;
	rc = take_strings(ask->body, "dns_names", CERT_DNS_MAX, ask->dns,
	    &ask->n_dns, why);
	if (rc != RC_OK)
		return rc;
	rc = take_ttl(ask->body, c->x509_svid_ttl, c->x509_svid_ttl_max,
	    &ask->ttl, why);
	if (rc != RC_OK)
		return rc;
	rc = take_csr(ask->body, &ask->csr, why);
	if (rc != RC_OK)
		return rc;

	/* The leaf profile's own checks (DNS syntax), with a reason. */
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &ask->id;
	leaf.dns = ask->dns;
	leaf.n_dns = ask->n_dns;
	leaf.org = c->organization;
	leaf.ttl = ask->ttl;
	return cert_check_leaf(&leaf, why);
}

/* Read and check a mint-jwt body into ask (see MintJwtRequest). */
static enum rc
read_jwt_ask(struct api *api, const struct http_req *req,
    struct jwt_ask *ask, struct rc_why *why)
{
	const struct conf *c = api->conf;
	size_t i;
	enum rc rc = RC_INTERNAL;

	rc = api_body_object(req, jwt_members, &ask->body, why);
	if (rc != RC_OK)
		return rc;
	/* JW-06: sub is a workload's ID, in our trust domain, with a path. */
	rc = take_id(ask->body, c->trust_domain, "JW-06", "JW-06", &ask->id,
	    why);
	if (rc != RC_OK)
		return rc;
	if (json_object_get(ask->body, "audience") == NULL)
		return rc_why_set(why, RC_BAD_REQUEST, "audience", "JW-07",
		    "JWT-SVID 3.2: audience is required");
	rc = take_strings(ask->body, "audience", JWT_AUD_MAX, ask->aud,
	    &ask->n_aud, why);
	if (rc != RC_OK)
		return rc;
	/* JWT-SVID 3.2: aud "MUST" hold at least one value. */
	if (ask->n_aud == 0)
		return rc_why_set(why, RC_BAD_REQUEST, "audience", "JW-07",
		    "JWT-SVID 3.2: audience must hold at least one value");
	for (i = 0; i < ask->n_aud; i++) {
		if (ask->aud[i][0] == '\0')
			return rc_why_set(why, RC_BAD_REQUEST, "audience",
			    "JW-07", "audience[%zu] is empty", i);
		if (strlen(ask->aud[i]) > JWT_AUD_LEN_MAX)
			return rc_why_set(why, RC_BAD_REQUEST, "audience",
			    "openapi: Audience", "audience[%zu] is longer "
			    "than %d bytes", i, JWT_AUD_LEN_MAX);
	}
	return take_ttl(ask->body, c->jwt_svid_ttl, c->jwt_svid_ttl_max,
	    &ask->ttl, why);
}

/* store_write() callback: append the one audit record in arg. */
static enum rc
on_audit_write(struct store_tx *tx, void *arg)
{
	return store_audit_append(tx, arg, NULL);
}

/*
 * Commit one audit record for a minted SVID: actor from the request,
 * outcome ok, detail the JSON object d (not consumed).
 */
static enum rc
write_audit(struct api *api, const struct http_req *req,
    const char *action, const char *subject, const char *serial,
    time_t now, json_t *d)
{
	struct store_audit rec;
	char *detail = NULL;
	enum rc rc = RC_NOMEM;

	detail = json_dumps(d, JSON_COMPACT);
	if (detail == NULL)
		goto out;
	memset(&rec, 0, sizeof(rec));
	rec.at = now;
	rec.actor = req->actor;
	rec.action = action;
	rec.subject = subject;
	rec.outcome = "ok";
	rec.serial = serial;
	rec.detail = detail;
	rc = store_write(api->store, on_audit_write, &rec);
	if (rc != RC_OK)
		log_error(SVIDS_MOD, "cannot record %s id=%s serial=%s",
		    action, subject, serial == NULL ? "-" : serial);
out:
	free(detail);
	return rc;
}

/* {"svid": [base64 DER leaf], "expires_at": N} as text (caller frees). */
static char *
encode_x509_reply(const unsigned char *der, size_t der_len, time_t na)
{
	json_t *o = NULL;
	char *b64 = NULL, *text = NULL;
	size_t n;

	n = sodium_base64_ENCODED_LEN(der_len, sodium_base64_VARIANT_ORIGINAL);
	b64 = malloc(n);
	if (b64 == NULL)
		goto out;
	(void)sodium_bin2base64(b64, n, der, der_len,
	    sodium_base64_VARIANT_ORIGINAL);
	/*
	 * The chain is the leaf alone: our X.509 authorities are roots,
	 * which belong in the bundle, never in a presented chain.
	 */
	o = json_pack("{s:[s], s:I}", "svid", b64, "expires_at",
	    (json_int_t)na);
	if (o == NULL)
		goto out;
	text = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	free(b64);
	return text;
}

/*
 * Log a refused mint once (warn: an administrator's input was refused).
 * Its audit record comes from the dispatcher (api_refused).
 */
static void
log_refused(const char *what, const struct http_req *req,
    const struct rc_why *why)
{
	log_warn(SVIDS_MOD, "%s mint refused actor=%s field=%s rule=\"%s\"",
	    what, req->actor, why->field == NULL ? "-" : why->field,
	    why->rule == NULL ? "-" : why->rule);
}

/*
 * POST /v1/svids/x509: an X.509-SVID for spiffe_id from csr, under the
 * active X.509 authority, audited as svid.x509.admin.  400 for a bad
 * body (field and rule named), 415 when it is not JSON, 503 without an
 * active authority.  The answer is MintX509Result.
 */
enum rc
api_svids_x509(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct x509_ask ask;
	struct cert_leaf leaf;
	struct ca_view *v = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	char serial[SVIDS_SERIAL_MAX], spki_hash[65], *text = NULL;
	json_t *detail = NULL;
	time_t now, na = 0;
	enum rc rc = RC_INTERNAL;

	memset(&ask, 0, sizeof(ask));
	rc = read_x509_ask(api, req, &ask, why);
	if (rc != RC_OK) {
		if (rc_is_client(rc))
			log_refused("x509-svid", req, why);
		goto out;
	}

	/* One view from issuance to the audit record. */
	v = api->ca == NULL ? NULL : ca_view_get(api->ca);
	if (v == NULL || v->x509_active == NULL ||
	    v->x509_active->x509 == NULL) {
		rc = rc_why_set(why, RC_UNAVAILABLE, NULL, NULL,
		    "no active X.509 authority");
		goto out;
	}

	now = time(NULL);
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &ask.id;
	leaf.dns = ask.dns;
	leaf.n_dns = ask.n_dns;
	leaf.org = api->conf->organization;
	leaf.now = now;
	leaf.ttl = ask.ttl;
	rc = cert_issue(v->x509_active->x509, ask.csr, &leaf, &der, &der_len,
	    serial, &na);
	if (rc == RC_UNAVAILABLE) {
		rc_why_set(why, rc, NULL, NULL,
		    "the active X.509 authority has expired");
		goto out;
	}
	if (rc != RC_OK) {
		rc_why_set(why, rc, NULL, NULL, "cannot issue x509-svid");
		goto out;
	}

	/* Audit first: an SVID nobody recorded is never handed out. */
	cert_sha256_hex(ask.csr->spki, ask.csr->spki_len, spki_hash);
	detail = json_pack("{s:I, s:s, s:s}", "not_after", (json_int_t)na,
	    "spki_sha256", spki_hash, "authority", v->x509_active->rec.kid);
	if (detail == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	rc = write_audit(api, req, "svid.x509.admin", ask.id.str, serial, now,
	    detail);
	if (rc != RC_OK)
		goto out;

	text = encode_x509_reply(der, der_len, na);
	if (text == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	http_resp_json(resp, 200, text);
	text = NULL;
	log_info(SVIDS_MOD, "x509-svid minted for an admin id=%s serial=%s "
	    "not_after=%lld actor=%s spki_sha256=%s", ask.id.str, serial,
	    (long long)na, req->actor, spki_hash);
	metrics_svid_issued(METRICS_SVID_X509_ADMIN, 1);
	rc = RC_OK;
out:
	if (v != NULL)
		ca_view_put(api->ca, v);
	json_decref(detail);
	OPENSSL_free(der);
	csr_free(ask.csr);
	json_decref(ask.body);
	return rc;
}

/* {"token": T, "expires_at": N} as text (caller frees). */
static char *
encode_jwt_reply(const char *token, time_t exp)
{
	json_t *o;
	char *text;

	o = json_pack("{s:s, s:I}", "token", token, "expires_at",
	    (json_int_t)exp);
	if (o == NULL)
		return NULL;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* The audit detail of a JWT-SVID: aud, exp and kid, never the token. */
static json_t *
jwt_detail(const struct jwt_ask *ask, time_t exp, const char *kid)
{
	json_t *d, *aud;
	size_t i;

	d = json_pack("{s:[], s:I, s:s}", "aud", "exp", (json_int_t)exp,
	    "kid", kid);
	if (d == NULL)
		return NULL;
	aud = json_object_get(d, "aud");
	for (i = 0; i < ask->n_aud; i++) {
		if (json_array_append_new(aud, json_string(ask->aud[i])) !=
		    0) {
			json_decref(d);
			return NULL;
		}
	}
	return d;
}

/*
 * POST /v1/svids/jwt: a JWT-SVID for spiffe_id and audience under the
 * active JWT authority, exp never past that authority's notAfter,
 * audited as svid.jwt.admin.  Refusals as api_svids_x509.  The answer is
 * MintJwtResult.
 */
enum rc
api_svids_jwt(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct jwt_ask ask;
	struct ca_view *v = NULL;
	struct ca_auth *a;
	char *token = NULL, *text = NULL;
	json_t *detail = NULL;
	time_t now, exp;
	enum rc rc = RC_INTERNAL;

	memset(&ask, 0, sizeof(ask));
	rc = read_jwt_ask(api, req, &ask, why);
	if (rc != RC_OK) {
		if (rc_is_client(rc))
			log_refused("jwt-svid", req, why);
		goto out;
	}

	v = api->ca == NULL ? NULL : ca_view_get(api->ca);
	if (v == NULL || v->jwt_active == NULL ||
	    v->jwt_active->jwt == NULL) {
		rc = rc_why_set(why, RC_UNAVAILABLE, NULL, NULL,
		    "no active JWT authority");
		goto out;
	}
	a = v->jwt_active;

	/*
	 * A token never outlives the key that signed it: once that key
	 * expires it may leave the bundle, and its tokens with it.
	 */
	now = time(NULL);
	if (now >= a->rec.not_after) {
		rc = rc_why_set(why, RC_UNAVAILABLE, NULL, NULL,
		    "the active JWT authority has expired");
		goto out;
	}
	exp = ask.ttl > a->rec.not_after - now ? a->rec.not_after :
	    now + ask.ttl;
	rc = jwt_mint(a->jwt, ask.id.str, ask.aud, ask.n_aud, now, exp,
	    &token, why);
	if (rc != RC_OK)
		goto out;

	detail = jwt_detail(&ask, exp, a->rec.kid);
	if (detail == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	rc = write_audit(api, req, "svid.jwt.admin", ask.id.str, NULL, now,
	    detail);
	if (rc != RC_OK)
		goto out;

	text = encode_jwt_reply(token, exp);
	if (text == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	http_resp_json(resp, 200, text);
	text = NULL;
	log_info(SVIDS_MOD, "jwt-svid minted for an admin id=%s exp=%lld "
	    "kid=%s actor=%s", ask.id.str, (long long)exp, a->rec.kid,
	    req->actor);
	metrics_svid_issued(METRICS_SVID_JWT, 1);
	rc = RC_OK;
out:
	if (v != NULL)
		ca_view_put(api->ca, v);
	json_decref(detail);
	if (token != NULL) {
		sodium_memzero(token, strlen(token));
		free(token);
	}
	json_decref(ask.body);
	return rc;
}
