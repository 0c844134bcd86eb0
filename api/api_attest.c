/*
 * api_attest.c: POST /v1/agent/attest (anonymous) and POST
 * /v1/join-tokens (admin, local), as docs/openapi.yaml spells them.
 *
 * Attestation: the evidence goes to ca/attest.c, which says who the node
 * is.  Then one store transaction does the rest, so that it happens
 * whole or not at all: a join token is consumed (store_token_use, so of
 * concurrent uses exactly one gets through), the agent SVID is signed,
 * the agent record is written (refused for a banned ID) and the audit
 * record appended.  Failed attestations are anonymous, so they go to the
 * log only, one warn line each.
 *
 * Each source address has a token bucket of attest_burst attestations,
 * refilled at attest_rate a second; past it the answer is 429 with
 * Retry-After.  The answer to an x509pop challenge is not charged: it
 * needs a session, and sessions are only had through a charged request.
 *
 * XXX(attest-state): the attestors and the buckets live in this file's
 * static state, built at the first attestation, because struct api has
 * no member for them; fine for one server per process.  Fix: an attest
 * member in struct api, made and freed by server.c with the other
 * parts.
 */
#include "api.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "../ca/attest.h"
#include "../ca/cert.h"
#include "../ca/csr.h"
#include "../ca/spiffeid.h"
#include "../server/bounds.h"
#include "../server/log.h"
#include "../server/metrics.h"

#define ATT_MOD			"attest"
#define ATT_CT			"application/json"
#define ATT_RULE_BODY		"openapi: additionalProperties false"
#define ATT_RULE_RATE		"attest_rate"
#define ATT_SIG_MAX		1024	/* bytes of an x509pop signature */
#define ATT_TOKEN_TTL		600	/* s, join token default */
#define ATT_TOKEN_TTL_MAX	(365L * 86400)	/* s, join token at most */
#define ATT_RESERVED_PATH	"/svidca/"	/* the server's own IDs */

static const char *const attest_members[] = {
	"attestation_type", "evidence", "csr", NULL,
};
static const char *const answer_members[] = {
	"session", "signature", NULL,
};
static const char *const token_members[] = {
	"ttl", "spiffe_id", NULL,
};

/* One source address's bucket. */
struct att_bucket {
	char	 addr[64];	/* "" when the slot is free */
	double	 tokens;	/* attestations it may start now */
	double	 at;		/* monotonic seconds of tokens */
};

/* See XXX(attest-state) above. */
static struct {
	pthread_mutex_t		 lock;		/* guards what follows */
	struct attest		*attest;	/* built once, kept */
	struct att_bucket	 buckets[ATTEST_PEERS_MAX];
} att = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* What the attestation transaction needs and gives back. */
struct att_tx {
	struct api		*api;
	const char		*addr;		/* source address */
	struct attest_result	*res;
	const struct csr	*csr;
	struct cert_signer	*signer;	/* view's active authority */
	time_t			 now;
	unsigned char		*der;		/* leaf, OPENSSL_free */
	size_t			 der_len;
	char			 serial[STORE_SERIAL_MAX + 1];
	time_t			 not_after;
	struct rc_why		 why;		/* client fault inside */
};

/* What the join-token transaction needs. */
struct token_tx {
	const unsigned char	*hash;		/* ATTEST_HASH_LEN */
	const char		*token_id;
	const char		*agent_id;
	const char		*actor;
	time_t			 expires_at;
	struct store_entry	*entry;		/* NULL: no entry */
	struct rc_why		 why;
};

/* s with bytes unfit for a log line replaced by '?', into buf. */
static const char *
clean(const char *s, char *buf, size_t cap)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < cap; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
		    s[i] == '"' || s[i] == '\\') ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* The body must be declared JSON (RFC 9110 8.3). */
static enum rc
check_content_type(const struct http_req *req, struct rc_why *why)
{
	const char	*ct = http_header(req, "Content-Type");
	size_t		 n = strlen(ATT_CT);

	if (ct == NULL || strncasecmp(ct, ATT_CT, n) != 0 ||
	    (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' '))
		return rc_why_set(why, RC_UNSUPPORTED, "Content-Type",
		    "RFC 9110 8.3", "send application/json");
	return RC_OK;
}

/* The body as one JSON object (caller decrefs *out). */
static enum rc
load_body(const struct http_req *req, json_t **out, struct rc_why *why)
{
	json_error_t	 err;
	enum rc		 rc;

	*out = NULL;
	rc = check_content_type(req, why);
	if (rc != RC_OK)
		return rc;
	if (req->body == NULL || req->body_len == 0)
		return rc_why_set(why, RC_BAD_REQUEST, "body", "RFC 8259",
		    "a JSON object is required");
	*out = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES,
	    &err);
	if (*out == NULL)
		return rc_why_set(why, RC_BAD_REQUEST, "body", "RFC 8259",
		    "body is not JSON (line %d, column %d)", err.line,
		    err.column);
	if (!json_is_object(*out))
		return rc_why_set(why, RC_BAD_REQUEST, "body", "RFC 8259",
		    "body must be a JSON object");
	return RC_OK;
}

/* Only the members in allowed (NULL-ended) may be in o. */
static enum rc
check_members(json_t *o, const char *const *allowed, struct rc_why *why)
{
	const char	*name;
	json_t		*v;
	char		 buf[65];
	size_t		 i;

	json_object_foreach(o, name, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(name, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return rc_why_set(why, RC_BAD_REQUEST, "body",
			    ATT_RULE_BODY, "unknown member \"%s\"",
			    clean(name, buf, sizeof(buf)));
	}
	return RC_OK;
}

/* Standard base64 (RFC 4648 4) of at most max bytes; malloc'd *out. */
static bool
b64_decode(const char *s, size_t max, unsigned char **out, size_t *len)
{
	const char	*end = NULL;
	size_t		 n = strlen(s), cap = n / 4 * 3 + 3;

	*out = NULL;
	*len = 0;
	if (n == 0 || n / 4 > max / 3 + 1)
		return false;
	*out = malloc(cap);
	if (*out == NULL)
		return false;
	if (sodium_base642bin(*out, cap, s, n, NULL, len, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + n ||
	    *len == 0 || *len > max) {
		free(*out);
		*out = NULL;
		*len = 0;
		return false;
	}
	return true;
}

/* Standard base64 of bin[0..len) as a new JSON string. */
static json_t *
b64_json(const unsigned char *bin, size_t len)
{
	size_t	 tlen = sodium_base64_ENCODED_LEN(len,
		    sodium_base64_VARIANT_ORIGINAL);
	char	*text;
	json_t	*j;

	text = malloc(tlen);
	if (text == NULL)
		return NULL;
	(void)sodium_bin2base64(text, tlen, bin, len,
	    sodium_base64_VARIANT_ORIGINAL);
	j = json_string(text);
	free(text);
	return j;
}

/* The attestors, built from the configuration at first use. */
static struct attest *
attestors(struct api *api, struct rc_why *why)
{
	struct attest	*a;
	struct rc_why	 inner;

	pthread_mutex_lock(&att.lock);
	if (att.attest == NULL) {
		rc_why_clear(&inner);
		if (attest_new(api->conf, NULL, &att.attest, &inner) != RC_OK)
			(void)rc_why_set(why, RC_UNAVAILABLE, NULL, NULL,
			    "node attestors unusable: %s", inner.detail);
	}
	a = att.attest;
	pthread_mutex_unlock(&att.lock);
	return a;
}

static double
monotonic(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Charge one attestation to addr: true when its bucket had one.  A slot
 * whose bucket has filled up again is as good as free.  With every slot
 * busy, new addresses are refused until one fills up: limits fail
 * closed.
 */
static bool
rate_take(const struct conf *c, const char *addr)
{
	struct att_bucket	*b = NULL, *spare = NULL, *s;
	double			 now = monotonic(), rate, burst, level;
	size_t			 i;
	bool			 ok = false;

	rate = (double)c->attest_rate;
	burst = (double)c->attest_burst;
	pthread_mutex_lock(&att.lock);
	for (i = 0; i < ATTEST_PEERS_MAX; i++) {
		s = &att.buckets[i];
		if (s->addr[0] != '\0' && strcmp(s->addr, addr) == 0) {
			b = s;
			break;
		}
		if (spare == NULL && (s->addr[0] == '\0' ||
		    s->tokens + (now - s->at) * rate >= burst))
			spare = s;
	}
	if (b == NULL && spare != NULL) {
		b = spare;
		(void)snprintf(b->addr, sizeof(b->addr), "%s", addr);
		b->tokens = burst;
		b->at = now;
	}
	if (b != NULL) {
		level = b->tokens + (now - b->at) * rate;
		b->tokens = level < burst ? level : burst;
		b->at = now;
		if (b->tokens >= 1.0) {
			b->tokens -= 1.0;
			ok = true;
		}
	}
	pthread_mutex_unlock(&att.lock);
	return ok;
}

/*
 * 429 with Retry-After.  With attest_rate at least 1 a second, a bucket
 * short of one attestation has it back within a second.
 */
static enum rc
answer_rate_limited(const struct http_req *req, struct http_resp *resp,
    struct rc_why *why)
{
	json_t	*o;
	char	*text;

	o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank",
	    "title", rc_str(RC_RATE_LIMITED), "status",
	    rc_http(RC_RATE_LIMITED), "detail", "too many attestations from "
	    "this address; retry later", "rule", ATT_RULE_RATE);
	text = o == NULL ? NULL : json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	http_resp_json(resp, rc_http(RC_RATE_LIMITED), text);
	resp->content_type = "application/problem+json";
	resp->retry_after = "1";
	log_debug(ATT_MOD, "attestation rate limited peer=%s rule=%s",
	    req->peer_addr, ATT_RULE_RATE);
	return RC_OK;
}

/* The 202 of an x509pop first step. */
static enum rc
answer_challenge(const struct attest_challenge *ch, struct http_resp *resp,
    struct rc_why *why)
{
	json_t	*o, *nonce;
	char	*text = NULL;

	nonce = b64_json(ch->nonce, sizeof(ch->nonce));
	o = nonce == NULL ? NULL : json_pack("{s:s, s:o, s:I}", "session",
	    ch->session, "challenge", nonce, "expires_at",
	    (json_int_t)ch->expires_at);
	if (o != NULL)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	http_resp_json(resp, 202, text);
	return RC_OK;
}

/* The selectors of r as a JSON array of {type, value}. */
static json_t *
selectors_json(const struct store_selector *sel, size_t n)
{
	json_t	*a, *o;
	size_t	 i;

	a = json_array();
	for (i = 0; a != NULL && i < n; i++) {
		o = json_pack("{s:s, s:s}", "type", sel[i].type, "value",
		    sel[i].value);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

/*
 * Inside the write transaction: consume a join token, sign the agent
 * SVID, write the agent and the audit record.  Any failure rolls all of
 * it back (a token is then not used up).
 */
static enum rc
on_attest_tx(struct store_tx *tx, void *arg)
{
	struct att_tx		*t = arg;
	struct store_agent	 agent;
	struct store_audit	 rec;
	struct cert_leaf	 leaf;
	json_t			*detail = NULL, *sel;
	char			 token_id[65], *text = NULL;
	enum rc			 rc;

	if (t->res->type == ATTEST_JOIN_TOKEN) {
		rc = store_token_use(tx, t->res->token_hash, t->now, token_id,
		    &t->why);
		if (rc != RC_OK)
			goto out;
		rc = attest_join_token_finish(ca_get0_td(t->api->ca), token_id,
		    t->res, &t->why);
		if (rc != RC_OK)
			goto out;
	}

	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &t->res->agent_id;
	leaf.org = ca_get0_org(t->api->ca);
	leaf.now = t->now;
	leaf.ttl = t->api->conf->agent_svid_ttl;
	rc = cert_issue(t->signer, t->csr, &leaf, &t->der, &t->der_len,
	    t->serial, &t->not_after);
	if (rc != RC_OK)
		goto out;

	memset(&agent, 0, sizeof(agent));
	agent.spiffe_id = t->res->agent_id.str;
	(void)snprintf(agent.attestation_type,
	    sizeof(agent.attestation_type), "%s",
	    attest_type_str(t->res->type));
	agent.selectors = t->res->selectors;
	agent.n_selectors = t->res->n_selectors;
	(void)snprintf(agent.serial, sizeof(agent.serial), "%s", t->serial);
	agent.expires_at = t->not_after;
	rc = store_agent_put(tx, &agent);
	if (rc == RC_DENIED) {
		rc = rc_why_set(&t->why, RC_DENIED, "evidence", NULL,
		    "agent %s is banned; an operator must evict it before it "
		    "may attest again", t->res->agent_id.str);
		goto out;
	}
	if (rc != RC_OK)
		goto out;

	rc = RC_NOMEM;
	sel = selectors_json(t->res->selectors, t->res->n_selectors);
	if (sel == NULL)
		goto out;
	detail = json_pack("{s:s, s:s, s:o, s:I}", "attestor",
	    attest_type_str(t->res->type), "address", t->addr, "selectors",
	    sel, "not_after", (json_int_t)t->not_after);
	text = detail == NULL ? NULL : json_dumps(detail, JSON_COMPACT |
	    JSON_SORT_KEYS);
	if (text == NULL)
		goto out;
	memset(&rec, 0, sizeof(rec));
	rec.actor = t->res->agent_id.str;
	rec.action = "agent.attest";
	rec.subject = t->res->agent_id.str;
	rec.outcome = "ok";
	rec.serial = t->serial;
	rec.detail = text;
	rc = store_audit_append(tx, &rec, NULL);
out:
	json_decref(detail);
	free(text);
	return rc;
}

/*
 * The 200: the agent SVID chain (leaf, then the issuer when it is not
 * a root, which the bundle carries), its expiry and the bundle.
 */
static enum rc
answer_attested(const struct att_tx *t, const struct ca_view *v,
    struct http_resp *resp, struct rc_why *why)
{
	json_t		*o = NULL, *chain, *bundle;
	X509		*ca = cert_signer_get0_cert(t->signer);
	unsigned char	*der = NULL;
	char		*text = NULL;
	int		 len;
	enum rc		 rc = RC_NOMEM;

	chain = json_array();
	if (chain == NULL || json_array_append_new(chain,
	    b64_json(t->der, t->der_len)) != 0)
		goto out;
	if (X509_self_signed(ca, 0) != 1) {
		len = i2d_X509(ca, &der);
		if (len <= 0 || json_array_append_new(chain, b64_json(der,
		    (size_t)len)) != 0)
			goto out;
	}
	bundle = json_loads(v->bundle_json, 0, NULL);
	if (bundle == NULL)
		goto out;
	o = json_pack("{s:s, s:o, s:I, s:o}", "spiffe_id",
	    t->res->agent_id.str, "svid", chain, "expires_at",
	    (json_int_t)t->not_after, "bundle", bundle);
	chain = NULL;
	if (o == NULL)
		goto out;
	text = json_dumps(o, JSON_COMPACT);
	if (text == NULL)
		goto out;
	http_resp_json(resp, 200, text);
	rc = RC_OK;
out:
	if (rc != RC_OK)
		(void)rc_why_set(why, rc, NULL, NULL, "out of memory");
	OPENSSL_free(der);
	json_decref(chain);
	json_decref(o);
	return rc;
}

/*
 * What the evidence proved, to an agent SVID: sign, store and audit in
 * one transaction under the current view's active authority, then
 * answer.
 */
static enum rc
complete(struct api *api, struct http_req *req, struct attest_result *res,
    const struct csr *csr, time_t now, struct http_resp *resp,
    struct rc_why *why)
{
	struct ca_view	*v;
	struct att_tx	 t;
	char		 buf[RC_DETAIL_MAX];
	enum rc		 rc;

	memset(&t, 0, sizeof(t));
	rc_why_clear(&t.why);
	v = ca_view_get(api->ca);
	if (v == NULL || v->x509_active == NULL || v->bundle_json == NULL) {
		rc = rc_why_set(why, RC_UNAVAILABLE, NULL, NULL,
		    "no active X.509 authority");
		goto out;
	}
	t.api = api;
	t.addr = req->peer_addr;
	t.res = res;
	t.csr = csr;
	t.signer = v->x509_active->x509;
	t.now = now;

	rc = store_write(api->store, on_attest_tx, &t);
	if (rc != RC_OK) {
		if (t.why.detail[0] != '\0' || rc_is_client(rc))
			*why = t.why;
		why->code = rc;
		goto out;
	}
	log_info(ATT_MOD, "agent attested peer=%s id=%s serial=%s "
	    "not_after=%lld attestor=%s", req->peer_addr,
	    clean(res->agent_id.str, buf, sizeof(buf)), t.serial,
	    (long long)t.not_after, attest_type_str(res->type));
	metrics_svid_issued(METRICS_SVID_X509_AGENT, 1);
	metrics_attestation(attest_type_str(res->type), true);

	rc = answer_attested(&t, v, resp, why);
out:
	OPENSSL_free(t.der);
	if (v != NULL)
		ca_view_put(api->ca, v);
	return rc;
}

/* The CSR member: base64 DER, parsed and its signature checked. */
static enum rc
take_csr(const json_t *body, unsigned char **der, size_t *len,
    struct csr **csr, struct rc_why *why)
{
	const char	*s = json_string_value(json_object_get(body, "csr"));
	enum rc		 rc;

	if (s == NULL)
		return rc_why_set(why, RC_BAD_REQUEST, "csr", NULL,
		    "csr: required, base64 of a DER PKCS#10 request");
	if (!b64_decode(s, CSR_DER_MAX, der, len))
		return rc_why_set(why, RC_BAD_CSR, "csr",
		    "csr: over size limit", "csr: not base64 of at most %d "
		    "bytes", CSR_DER_MAX);
	rc = csr_parse(*der, *len, csr, why);
	if (rc != RC_OK && why != NULL)
		why->field = "csr";
	return rc;
}

/*
 * The answer to an x509pop challenge: {session, signature}.  On success
 * res holds the result and *csr the CSR sent with the evidence.
 */
static enum rc
take_answer(struct attest *a, json_t *body, time_t now,
    struct attest_result *res, struct csr **csr, struct rc_why *why)
{
	const char	*session, *sig_b64;
	unsigned char	*sig = NULL;
	size_t		 sig_len = 0;
	enum rc		 rc;

	rc = check_members(body, answer_members, why);
	if (rc != RC_OK)
		goto out;
	session = json_string_value(json_object_get(body, "session"));
	sig_b64 = json_string_value(json_object_get(body, "signature"));
	if (session == NULL || strlen(session) > 128 || sig_b64 == NULL ||
	    !b64_decode(sig_b64, ATT_SIG_MAX, &sig, &sig_len)) {
		rc = rc_why_set(why, RC_BAD_REQUEST, session == NULL ?
		    "session" : "signature", ATT_RULE_BODY, "an answer to a "
		    "challenge is {session, signature}: a session of at most "
		    "128 bytes and base64 of at most %d bytes", ATT_SIG_MAX);
		goto out;
	}
	rc = attest_answer(a, session, sig, sig_len, now, res, why);
	if (rc != RC_OK)
		goto out;
	rc = csr_parse(res->csr, res->csr_len, csr, why);
out:
	free(sig);
	return rc;
}

/*
 * POST /v1/agent/attest.  A body with "session" answers an x509pop
 * challenge; any other is evidence and a CSR.  Answers 200 with the
 * agent SVID, 202 with a challenge, 429 past the rate limit, or a
 * problem document.
 */
enum rc
api_agent_attest(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct attest_challenge	 ch;
	struct attest_result	 res;
	struct attest		*a;
	enum attest_type	 type = ATTEST_JOIN_TOKEN;
	struct csr		*csr = NULL;
	json_t			*body = NULL;
	unsigned char		*der = NULL;
	const char		*tname = "answer";
	char			 buf[RC_DETAIL_MAX];
	size_t			 der_len = 0;
	time_t			 now = time(NULL);
	bool			 challenged = false;
	enum rc			 rc;

	memset(&res, 0, sizeof(res));
	rc = load_body(req, &body, why);
	if (rc != RC_OK)
		goto out;
	a = attestors(api, why);
	if (a == NULL) {
		rc = RC_UNAVAILABLE;
		goto out;
	}

	/* The second step of x509pop. */
	if (json_object_get(body, "session") != NULL) {
		tname = attest_type_str(ATTEST_X509POP);
		rc = take_answer(a, body, now, &res, &csr, why);
		if (rc != RC_OK)
			goto out;
		rc = complete(api, req, &res, csr, now, resp, why);
		goto out;
	}

	/* Evidence: charged to the source address first. */
	if (!rate_take(api->conf, req->peer_addr)) {
		rc = answer_rate_limited(req, resp, why);
		goto out;
	}
	rc = check_members(body, attest_members, why);
	if (rc != RC_OK)
		goto out;
	tname = json_string_value(json_object_get(body, "attestation_type"));
	if (tname == NULL || !attest_type_parse(tname, &type)) {
		tname = "unknown";
		rc = rc_why_set(why, RC_BAD_REQUEST, "attestation_type", NULL,
		    "attestation_type: join_token, x509pop or jwt");
		goto out;
	}
	if (!json_is_object(json_object_get(body, "evidence"))) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "evidence", NULL,
		    "evidence: required, a JSON object");
		goto out;
	}
	/* Before the evidence, so a bad CSR cannot use up a token. */
	rc = take_csr(body, &der, &der_len, &csr, why);
	if (rc != RC_OK)
		goto out;
	rc = attest_evidence(a, type, json_object_get(body, "evidence"), der,
	    der_len, now, &res, &ch, &challenged, why);
	if (rc != RC_OK)
		goto out;
	if (challenged) {
		rc = answer_challenge(&ch, resp, why);
		goto out;
	}
	rc = complete(api, req, &res, csr, now, resp, why);
out:
	if (rc != RC_OK && rc_is_client(rc))
		log_warn(ATT_MOD, "attestation refused peer=%s attestor=%s "
		    "status=%d rule=\"%s\" reason=\"%s\"", req->peer_addr,
		    tname, rc_http(rc), why->rule != NULL ? why->rule : "-",
		    clean(why->detail, buf, sizeof(buf)));
	if (rc != RC_OK)
		metrics_attestation(tname, false);
	attest_result_clear(&res);
	csr_free(csr);
	free(der);
	json_decref(body);
	return rc;
}

/* ---- POST /v1/join-tokens ------------------------------------------- */

/* Inside the write transaction: the token, its entry, the audit. */
static enum rc
on_token_tx(struct store_tx *tx, void *arg)
{
	struct token_tx		*t = arg;
	struct store_audit	 rec;
	json_t			*detail = NULL;
	char			*text = NULL;
	enum rc			 rc;

	rc = store_token_put(tx, t->hash, t->token_id, t->expires_at);
	if (rc != RC_OK)
		goto out;
	if (t->entry != NULL) {
		rc = store_entry_create(tx, t->entry, &t->why);
		if (rc != RC_OK)
			goto out;
	}

	rc = RC_NOMEM;
	detail = json_pack("{s:s, s:I, s:s?}", "token_id", t->token_id,
	    "expires_at", (json_int_t)t->expires_at, "spiffe_id",
	    t->entry != NULL ? t->entry->spiffe_id : NULL);
	text = detail == NULL ? NULL : json_dumps(detail, JSON_COMPACT |
	    JSON_SORT_KEYS);
	if (text == NULL)
		goto out;
	memset(&rec, 0, sizeof(rec));
	rec.actor = t->actor;
	rec.action = "join_token.create";
	rec.subject = t->agent_id;
	rec.outcome = "ok";
	rec.entry_id = t->entry != NULL ? t->entry->id : NULL;
	rec.detail = text;
	rc = store_audit_append(tx, &rec, NULL);
out:
	json_decref(detail);
	free(text);
	return rc;
}

/*
 * The request's ttl (0 or absent: ATT_TOKEN_TTL) and spiffe_id (an ID
 * with a path in our trust domain, outside the server's own /svidca/
 * namespace, where an entry could stand for another agent).
 */
static enum rc
take_token_request(struct api *api, json_t *body, long *ttl,
    struct spiffeid *id, bool *has_id, struct rc_why *why)
{
	const json_t	*v;
	const char	*s, *path;
	json_int_t	 n = 0;
	enum rc		 rc;

	*has_id = false;
	rc = check_members(body, token_members, why);
	if (rc != RC_OK)
		return rc;
	v = json_object_get(body, "ttl");
	if (v != NULL && !json_is_integer(v))
		return rc_why_set(why, RC_BAD_REQUEST, "ttl", NULL,
		    "ttl: an integer number of seconds");
	if (v != NULL)
		n = json_integer_value(v);
	if (n < 0 || n > ATT_TOKEN_TTL_MAX)
		return rc_why_set(why, RC_BAD_REQUEST, "ttl", NULL,
		    "ttl: %lld is out of range, use 0 (for %d) to %ld",
		    (long long)n, ATT_TOKEN_TTL, ATT_TOKEN_TTL_MAX);
	*ttl = n == 0 ? ATT_TOKEN_TTL : (long)n;

	v = json_object_get(body, "spiffe_id");
	if (v == NULL)
		return RC_OK;
	s = json_string_value(v);
	if (s == NULL)
		return rc_why_set(why, RC_BAD_REQUEST, "spiffe_id", NULL,
		    "spiffe_id: a SPIFFE ID string");
	rc = spiffeid_parse(s, json_string_length(v), id, "spiffe_id", why);
	if (rc != RC_OK)
		return rc;
	if (!spiffeid_is_in_td(id, ca_get0_td(api->ca)) ||
	    !spiffeid_has_path(id))
		return rc_why_set(why, RC_BAD_REQUEST, "spiffe_id", NULL,
		    "spiffe_id: must have a path and be in trust domain %s",
		    ca_get0_td(api->ca));
	path = spiffeid_get0_path(id);
	if (strncmp(path, ATT_RESERVED_PATH, strlen(ATT_RESERVED_PATH)) == 0 ||
	    strcmp(path, "/svidca") == 0)
		return rc_why_set(why, RC_BAD_REQUEST, "spiffe_id", NULL,
		    "spiffe_id: the path /svidca is reserved for the "
		    "server's own IDs");
	*has_id = true;
	return RC_OK;
}

/* The entry that lets the agent of token_id act for id (SPIRE's way). */
static enum rc
make_token_entry(const struct spiffeid *id, const char *agent_id,
    const char *token_id, const char *actor, struct store_entry *e,
    struct rc_why *why)
{
	char value[ATTEST_TOKEN_ID_LEN + 8];

	memset(e, 0, sizeof(*e));
	(void)snprintf(value, sizeof(value), "id:%s", token_id);
	e->spiffe_id = strdup(id->str);
	e->parent_id = strdup(agent_id);
	e->created_by = strdup(actor);
	e->selectors = calloc(1, sizeof(*e->selectors));
	if (e->selectors != NULL) {
		e->n_selectors = 1;
		e->selectors[0].type = strdup("join_token");
		e->selectors[0].value = strdup(value);
	}
	if (e->spiffe_id == NULL || e->parent_id == NULL ||
	    e->created_by == NULL || e->selectors == NULL ||
	    e->selectors[0].type == NULL || e->selectors[0].value == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	return RC_OK;
}

/*
 * POST /v1/join-tokens {ttl?, spiffe_id?}: 201 with {token, token_id,
 * agent_id, expires_at} (and entry_id with spiffe_id).  The token is
 * shown here once; the store keeps its hash.
 */
enum rc
api_join_tokens_create(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct store_entry	 entry;
	struct token_tx		 t;
	struct spiffeid		 id, agent;
	unsigned char		 hash[ATTEST_HASH_LEN];
	char			 token[ATTEST_TOKEN_LEN + 1];
	char			 token_id[ATTEST_TOKEN_ID_LEN + 1];
	json_t			*body = NULL, *o = NULL;
	char			*text = NULL;
	long			 ttl = ATT_TOKEN_TTL;
	bool			 has_id = false;
	enum rc			 rc;

	memset(&entry, 0, sizeof(entry));
	memset(&t, 0, sizeof(t));
	rc = load_body(req, &body, why);
	if (rc != RC_OK)
		goto out;
	rc = take_token_request(api, body, &ttl, &id, &has_id, why);
	if (rc != RC_OK)
		goto out;

	attest_token_new(token, token_id, hash);
	rc = attest_join_token_id(ca_get0_td(api->ca), token_id, &agent, why);
	if (rc != RC_OK)
		goto out;
	if (has_id) {
		rc = make_token_entry(&id, agent.str, token_id, req->actor,
		    &entry, why);
		if (rc != RC_OK)
			goto out;
		t.entry = &entry;
	}

	t.hash = hash;
	t.token_id = token_id;
	t.agent_id = agent.str;
	t.actor = req->actor[0] != '\0' ? req->actor : "unknown";
	t.expires_at = time(NULL) + ttl;
	rc_why_clear(&t.why);
	rc = store_write(api->store, on_token_tx, &t);
	if (rc != RC_OK) {
		if (rc_is_client(rc))
			*why = t.why;
		why->code = rc;
		goto out;
	}
	log_info(ATT_MOD, "join token created actor=%s id=%s token_id=%s "
	    "expires_at=%lld", t.actor, agent.str, token_id,
	    (long long)t.expires_at);

	rc = RC_NOMEM;
	o = json_pack("{s:s, s:s, s:s, s:I}", "token", token, "token_id",
	    token_id, "agent_id", agent.str, "expires_at",
	    (json_int_t)t.expires_at);
	if (o == NULL || (has_id && json_object_set_new(o, "entry_id",
	    json_string(entry.id)) != 0))
		goto out;
	text = json_dumps(o, JSON_COMPACT);
	if (text == NULL)
		goto out;
	http_resp_json(resp, 201, text);
	rc = RC_OK;
out:
	if (rc == RC_NOMEM)
		(void)rc_why_set(why, rc, NULL, NULL, "out of memory");
	sodium_memzero(token, sizeof(token));
	json_decref(o);
	json_decref(body);
	store_entry_clear(&entry);
	return rc;
}
