/*
 * test_attest.c: the node attestors (attest.c).  Certificates, keys,
 * JWKS files and JWTs are made here with OpenSSL, jansson and
 * libsodium; each attestor is run to an acceptance and to every refusal,
 * each expecting its exact code and reason.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "check.h"
#include "../../ca/attest.h"
#include "../../ca/cert.h"
#include "../../ca/key.h"
#include "../../server/conf.h"

#define TD		"example.org"
#define ISS		"https://issuer.example.net"
#define AUD		"svidca"

static char	 tmp[] = "/tmp/test_attest.XXXXXX";
static time_t	 now;
static long	 serial_next = 1;

/* ---- helpers: files, base64, certificates ---------------------------- */

static const char *
tmp_path(const char *name, char *buf, size_t len)
{
	(void)snprintf(buf, len, "%s/%s", tmp, name);
	return buf;
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void
write_pem(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		PEM_write_X509(f, x);
		fclose(f);
	}
}

static char *
b64(const unsigned char *bin, size_t len, int variant)
{
	size_t	 n = sodium_base64_ENCODED_LEN(len, variant);
	char	*s = malloc(n);

	if (s != NULL)
		sodium_bin2base64(s, n, bin, len, variant);
	return s;
}

static char *
b64_cert(X509 *x)
{
	unsigned char	*der = NULL;
	int		 n = i2d_X509(x, &der);
	char		*s;

	s = b64(der, (size_t)n, sodium_base64_VARIANT_ORIGINAL);

	OPENSSL_free(der);
	return s;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 v3;
	X509_EXTENSION	*e;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (e != NULL) {
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
}

/*
 * A certificate for key, signed by issuer (NULL: self-signed with key),
 * valid from nb to na: a CA, or a node leaf with two DNS names.
 */
static X509 *
make_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, const char *cn,
    time_t nb, time_t na, bool ca)
{
	X509 *x = X509_new();

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial_next++);
	ASN1_TIME_set(X509_getm_notBefore(x), nb);
	ASN1_TIME_set(X509_getm_notAfter(x), na);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer != NULL ?
	    issuer : x));
	X509_set_pubkey(x, key);
	add_ext(x, issuer != NULL ? issuer : x, NID_subject_key_identifier,
	    "hash");
	if (issuer != NULL)
		add_ext(x, issuer, NID_authority_key_identifier,
		    "keyid:always");
	if (ca) {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
		add_ext(x, issuer, NID_ext_key_usage, "clientAuth");
		add_ext(x, issuer, NID_subject_alt_name,
		    "DNS:node-1.example.net,DNS:n1.example.net");
	}
	X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256());
	return x;
}

/* Print why when a check failed, to tell what happened. */
static void
expect(enum rc rc, const struct rc_why *why, enum rc want, const char *reason,
    const char *what)
{
	bool ok = rc == want && (reason == NULL ||
	    strstr(why->detail, reason) != NULL);

	CHECK(ok, what);
	if (!ok)
		printf("# rc=%d (%s) detail=%s\n", rc, rc_str(rc),
		    why->detail);
}

static bool
has_selector(const struct attest_result *r, const char *type,
    const char *value)
{
	size_t i;

	for (i = 0; i < r->n_selectors; i++)
		if (strcmp(r->selectors[i].type, type) == 0 &&
		    strcmp(r->selectors[i].value, value) == 0)
			return true;
	return false;
}

/* ---- the configuration under test ------------------------------------ */

struct fixture {
	EVP_PKEY	*ca_key, *other_key, *node_key, *rsa_node_key;
	X509		*ca, *other, *inter;
	EVP_PKEY	*inter_key;
	EVP_PKEY	*jwt_p256, *jwt_p384, *jwt_rsa;
	char		 ca_file[512], jwks_file[512];
};

static void
base_conf(struct conf *c, const struct fixture *f)
{
	struct conf_jwt_issuer *iss;

	conf_defaults(c);
	(void)snprintf(c->trust_domain, sizeof(c->trust_domain), TD);
	(void)snprintf(c->x509pop_ca_files[0], CONF_STR_MAX, "%s",
	    f->ca_file);
	c->n_x509pop_ca_files = 1;
	iss = &c->jwt_issuers[0];
	(void)snprintf(iss->name, sizeof(iss->name), "corp");
	(void)snprintf(iss->issuer, sizeof(iss->issuer), ISS);
	(void)snprintf(iss->audience, sizeof(iss->audience), AUD);
	(void)snprintf(iss->jwks_file, sizeof(iss->jwks_file), "%s",
	    f->jwks_file);
	(void)snprintf(iss->node_claim, sizeof(iss->node_claim), "sub");
	(void)snprintf(iss->selector_claims[0], CONF_NAME_MAX, "zone");
	(void)snprintf(iss->selector_claims[1], CONF_NAME_MAX, "groups");
	iss->n_selector_claims = 2;
	iss->jwks_refresh = 300;
	iss->max_token_age = 600;
	c->n_jwt_issuers = 1;
}

static void
add_jwk(json_t *keys, EVP_PKEY *k, const char *kid, const char *use)
{
	json_t *o = json_object();

	if (key_encode_jwk(k, o) != RC_OK)
		printf("# key_encode_jwk failed\n");
	json_object_set_new(o, "kid", json_string(kid));
	if (use != NULL)
		json_object_set_new(o, "use", json_string(use));
	json_array_append_new(keys, o);
}

static void
fixture_make(struct fixture *f)
{
	json_t	*doc, *keys;
	char	*text;

	memset(f, 0, sizeof(*f));
	f->ca_key = key_generate(KEY_EC_P256);
	f->other_key = key_generate(KEY_EC_P256);
	f->inter_key = key_generate(KEY_EC_P256);
	f->node_key = key_generate(KEY_EC_P256);
	f->rsa_node_key = key_generate(KEY_RSA_2048);
	f->ca = make_cert(NULL, NULL, f->ca_key, "Node CA", now - 3600,
	    now + 86400, true);
	f->other = make_cert(NULL, NULL, f->other_key, "Other CA", now - 3600,
	    now + 86400, true);
	f->inter = make_cert(f->ca, f->ca_key, f->inter_key, "Node Sub CA",
	    now - 3600, now + 86400, true);
	tmp_path("ca.pem", f->ca_file, sizeof(f->ca_file));
	write_pem(f->ca_file, f->ca);

	f->jwt_p256 = key_generate(KEY_EC_P256);
	f->jwt_p384 = key_generate(KEY_EC_P384);
	f->jwt_rsa = key_generate(KEY_RSA_2048);
	doc = json_object();
	keys = json_array();
	add_jwk(keys, f->jwt_p256, "k1", "sig");
	add_jwk(keys, f->jwt_p384, "k384", NULL);
	add_jwk(keys, f->jwt_rsa, "r1", "sig");
	json_object_set_new(doc, "keys", keys);
	text = json_dumps(doc, 0);
	tmp_path("jwks.json", f->jwks_file, sizeof(f->jwks_file));
	write_text(f->jwks_file, text);
	free(text);
	json_decref(doc);
}

static void
fixture_free(struct fixture *f)
{
	EVP_PKEY_free(f->ca_key);
	EVP_PKEY_free(f->other_key);
	EVP_PKEY_free(f->inter_key);
	EVP_PKEY_free(f->node_key);
	EVP_PKEY_free(f->rsa_node_key);
	EVP_PKEY_free(f->jwt_p256);
	EVP_PKEY_free(f->jwt_p384);
	EVP_PKEY_free(f->jwt_rsa);
	X509_free(f->ca);
	X509_free(f->other);
	X509_free(f->inter);
}

/* ---- small pure functions --------------------------------------------- */

static void
test_segments(void)
{
	static const char *const good[] = { "a", "node-1", "N.1_x", "...",
	    ".a", "a..b" };
	static const char *const bad[] = { "", ".", "..", "a/b", "a:b",
	    "a b", "a%41", "\xc3\xa9" };
	enum attest_type t;
	size_t i;
	char what[64];

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		(void)snprintf(what, sizeof(what), "segment \"%s\" accepted",
		    good[i]);
		CHECK(attest_is_segment(good[i], strlen(good[i])), what);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(what, sizeof(what), "segment \"%s\" refused",
		    bad[i]);
		CHECK(!attest_is_segment(bad[i], strlen(bad[i])), what);
	}
	CHECK(!attest_is_segment("a\0b", 3), "segment with a NUL refused");
	CHECK(attest_type_parse("x509pop", &t) && t == ATTEST_X509POP &&
	    strcmp(attest_type_str(t), "x509pop") == 0, "type x509pop");
	CHECK(attest_type_parse("join_token", &t) && t == ATTEST_JOIN_TOKEN,
	    "type join_token");
	CHECK(attest_type_parse("jwt", &t) && t == ATTEST_JWT, "type jwt");
	CHECK(!attest_type_parse("JWT", &t) && !attest_type_parse("tpm", &t),
	    "unknown types refused");
}

/* ---- join_token -------------------------------------------------------- */

static void
test_join_token(struct attest *a, struct attest *off)
{
	struct attest_challenge	 ch;
	struct attest_result	 r;
	struct rc_why		 why;
	unsigned char		 hash[ATTEST_HASH_LEN], want[ATTEST_HASH_LEN];
	char			 token[ATTEST_TOKEN_LEN + 1];
	char			 id[ATTEST_TOKEN_ID_LEN + 1], id2[sizeof(id)];
	json_t			*ev;
	bool			 chal;
	size_t			 i;
	enum rc			 rc;

	memset(&r, 0, sizeof(r));
	attest_token_new(token, id, hash);
	CHECK(strlen(token) == ATTEST_TOKEN_LEN && strlen(id) ==
	    ATTEST_TOKEN_ID_LEN, "token and token ID lengths");
	for (i = 0; i < ATTEST_TOKEN_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			break;
	CHECK(i == ATTEST_TOKEN_ID_LEN, "token ID is lowercase hex");
	crypto_generichash(want, sizeof(want), (const unsigned char *)token,
	    strlen(token), NULL, 0);
	CHECK(memcmp(hash, want, sizeof(want)) == 0,
	    "token hash is BLAKE2b-256 of its text");
	attest_token_new(token, id2, hash);
	CHECK(strcmp(id, id2) != 0, "two token IDs differ");

	ev = json_pack("{s:s}", "token", token);
	rc_why_clear(&why);
	rc = attest_evidence(a, ATTEST_JOIN_TOKEN, ev, NULL, 0, now, &r, &ch,
	    &chal, &why);
	CHECK(rc == RC_OK && !chal && !r.has_id && memcmp(r.token_hash, hash,
	    sizeof(hash)) == 0, "join token evidence gives its hash");
	rc = attest_join_token_finish(TD, id2, &r, &why);
	{
		char want_id[128];

		(void)snprintf(want_id, sizeof(want_id),
		    "spiffe://" TD "/svidca/agent/join_token/%s", id2);
		CHECK(rc == RC_OK && r.has_id && strcmp(r.agent_id.str,
		    want_id) == 0, "join token agent ID");
	}
	{
		char sel[64];

		(void)snprintf(sel, sizeof(sel), "id:%s", id2);
		CHECK(r.n_selectors == 1 && has_selector(&r, "join_token",
		    sel), "join token selector join_token:id:<token_id>");
	}
	attest_result_clear(&r);
	json_decref(ev);

	ev = json_pack("{}");
	rc = attest_evidence(a, ATTEST_JOIN_TOKEN, ev, NULL, 0, now, &r, &ch,
	    &chal, &why);
	expect(rc, &why, RC_BAD_REQUEST, "evidence.token: required",
	    "join token: missing token refused");
	json_decref(ev);
	ev = json_pack("{s:s, s:i}", "token", "x", "extra", 1);
	rc = attest_evidence(a, ATTEST_JOIN_TOKEN, ev, NULL, 0, now, &r, &ch,
	    &chal, &why);
	expect(rc, &why, RC_BAD_REQUEST, "unknown member \"extra\"",
	    "join token: unknown member refused");
	json_decref(ev);
	ev = json_pack("{s:s}", "token", "");
	rc = attest_evidence(a, ATTEST_JOIN_TOKEN, ev, NULL, 0, now, &r, &ch,
	    &chal, &why);
	expect(rc, &why, RC_BAD_REQUEST, "1 to 256 bytes",
	    "join token: empty token refused");
	rc = attest_evidence(off, ATTEST_JOIN_TOKEN, ev, NULL, 0, now, &r,
	    &ch, &chal, &why);
	expect(rc, &why, RC_BAD_REQUEST, "attestor join_token is not enabled",
	    "join token: disabled attestor refused");
	json_decref(ev);
	rc = attest_join_token_finish(TD, "a/b", &r, &why);
	expect(rc, &why, RC_BAD_REQUEST, "not one SPIFFE ID path segment",
	    "join token: token ID not a segment refused");
	attest_result_clear(&r);
}

/* ---- x509pop ----------------------------------------------------------- */

/* Sign the challenge as a node does. */
static unsigned char *
pop_sign(EVP_PKEY *key, const unsigned char *nonce, size_t *len)
{
	unsigned char	 msg[sizeof(ATTEST_X509POP_CONTEXT) +
			    ATTEST_CHALLENGE_LEN];
	unsigned char	*sig = NULL;
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	EVP_PKEY_CTX	*pctx = NULL;

	memcpy(msg, ATTEST_X509POP_CONTEXT, sizeof(ATTEST_X509POP_CONTEXT));
	memcpy(msg + sizeof(ATTEST_X509POP_CONTEXT), nonce,
	    ATTEST_CHALLENGE_LEN);
	*len = 0;
	if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1)
		goto out;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
	if (EVP_DigestSign(md, NULL, len, msg, sizeof(msg)) != 1)
		goto out;
	sig = malloc(*len);
	if (EVP_DigestSign(md, sig, len, msg, sizeof(msg)) != 1) {
		free(sig);
		sig = NULL;
	}
out:
	EVP_MD_CTX_free(md);
	return sig;
}

/* Evidence of certs[0..n) (leaf first). */
static json_t *
chain_evidence(X509 **certs, size_t n)
{
	json_t	*chain = json_array();
	size_t	 i;

	for (i = 0; i < n; i++) {
		char *s = b64_cert(certs[i]);

		json_array_append_new(chain, json_string(s));
		free(s);
	}
	return json_pack("{s:o}", "chain", chain);
}

/* Run the first step with chain; returns its rc. */
static enum rc
pop_begin(struct attest *a, X509 **certs, size_t n, time_t at,
    struct attest_challenge *ch, struct rc_why *why)
{
	static const unsigned char csr[] = "CSR-BYTES";
	struct attest_result	 r;
	json_t			*ev = chain_evidence(certs, n);
	bool			 chal = false;
	enum rc			 rc;

	memset(&r, 0, sizeof(r));
	rc_why_clear(why);
	rc = attest_evidence(a, ATTEST_X509POP, ev, csr, sizeof(csr), at, &r,
	    ch, &chal, why);
	if (rc == RC_OK && !chal)
		rc = RC_INTERNAL;
	attest_result_clear(&r);
	json_decref(ev);
	return rc;
}

static enum rc
pop_finish(struct attest *a, EVP_PKEY *key, const struct attest_challenge *ch,
    time_t at, struct attest_result *r, struct rc_why *why)
{
	unsigned char	*sig;
	size_t		 len = 0;
	enum rc		 rc;

	sig = pop_sign(key, ch->nonce, &len);
	rc_why_clear(why);
	rc = attest_answer(a, ch->session, sig, len, at, r, why);
	free(sig);
	return rc;
}

static void
test_x509pop(struct attest *a, struct fixture *f)
{
	static const unsigned char csr[] = "CSR-BYTES";
	struct attest_challenge	 ch, ch2;
	struct attest_result	 r;
	struct rc_why		 why;
	X509			*leaf, *bad, *old, *rsa_leaf, *sub_leaf;
	X509			*certs[2];
	unsigned char		*der = NULL, *sig;
	char			 want[256], hex[65], sel[128];
	size_t			 len;
	int			 n;
	enum rc			 rc;

	memset(&r, 0, sizeof(r));
	leaf = make_cert(f->ca, f->ca_key, f->node_key, "node-1", now - 60,
	    now + 3600, false);

	/* Accepted: challenge, signature, ID and selectors. */
	rc = pop_begin(a, &leaf, 1, now, &ch, &why);
	expect(rc, &why, RC_OK, NULL, "x509pop: first step gives a challenge");
	CHECK(strlen(ch.session) == ATTEST_SESSION_LEN &&
	    ch.expires_at == now + ATTEST_SESSION_TTL,
	    "x509pop: session ID and expiry");
	rc = pop_finish(a, f->node_key, &ch, now + 1, &r, &why);
	expect(rc, &why, RC_OK, NULL, "x509pop: signed challenge accepted");
	n = i2d_X509(leaf, &der);
	cert_sha256_hex(der, (size_t)n, hex);
	OPENSSL_free(der);
	der = NULL;
	(void)snprintf(want, sizeof(want),
	    "spiffe://" TD "/svidca/agent/x509pop/%s", hex);
	CHECK(r.has_id && strcmp(r.agent_id.str, want) == 0,
	    "x509pop: agent ID is .../x509pop/<SHA-256 of the leaf DER>");
	n = i2d_X509(f->ca, &der);
	cert_sha256_hex(der, (size_t)n, hex);
	OPENSSL_free(der);
	der = NULL;
	(void)snprintf(sel, sizeof(sel), "ca:sha256:%s", hex);
	CHECK(r.n_selectors == 4 &&
	    has_selector(&r, "x509pop", "subject:cn:node-1") &&
	    has_selector(&r, "x509pop", "san:dns:node-1.example.net") &&
	    has_selector(&r, "x509pop", "san:dns:n1.example.net") &&
	    has_selector(&r, "x509pop", sel), "x509pop: selectors");
	CHECK(r.type == ATTEST_X509POP && r.csr_len == sizeof(csr) &&
	    memcmp(r.csr, csr, sizeof(csr)) == 0,
	    "x509pop: the CSR of the first step comes back");
	attest_result_clear(&r);

	/* A session is single use. */
	rc = pop_finish(a, f->node_key, &ch, now + 2, &r, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "unknown session",
	    "x509pop: a session answers once");
	rc = attest_answer(a, "nope", (const unsigned char *)"x", 1, now, &r,
	    &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "unknown session",
	    "x509pop: unknown session refused");

	/* Bad signature over the nonce: another key, another nonce. */
	rc = pop_begin(a, &leaf, 1, now, &ch, &why);
	rc = pop_finish(a, f->other_key, &ch, now, &r, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "signature over the challenge "
	    "does not verify", "x509pop: signature by another key refused");
	rc = pop_begin(a, &leaf, 1, now, &ch, &why);
	ch2 = ch;
	ch2.nonce[0] ^= 1;
	sig = pop_sign(f->node_key, ch2.nonce, &len);
	rc = attest_answer(a, ch.session, sig, len, now, &r, &why);
	free(sig);
	expect(rc, &why, RC_UNAUTHENTICATED, "does not verify",
	    "x509pop: signature over another nonce refused");
	rc = pop_begin(a, &leaf, 1, now, &ch, &why);
	rc = attest_answer(a, ch.session, (const unsigned char *)"garbage", 7,
	    now, &r, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "does not verify",
	    "x509pop: malformed signature refused");

	/* The challenge expires. */
	rc = pop_begin(a, &leaf, 1, now, &ch, &why);
	rc = pop_finish(a, f->node_key, &ch, now + ATTEST_SESSION_TTL, &r,
	    &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "challenge expired",
	    "x509pop: expired challenge refused");

	/* Wrong CA. */
	bad = make_cert(f->other, f->other_key, f->node_key, "node-1",
	    now - 60, now + 3600, false);
	rc = pop_begin(a, &bad, 1, now, &ch, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "does not verify against the "
	    "configured CAs: unable to get local issuer certificate",
	    "x509pop: leaf of another CA refused");
	CHECK(why.rule != NULL && strcmp(why.rule, "RFC 5280 6.1") == 0,
	    "x509pop: chain refusal names RFC 5280 6.1");

	/* Expired leaf. */
	old = make_cert(f->ca, f->ca_key, f->node_key, "node-1", now - 7200,
	    now - 3600, false);
	rc = pop_begin(a, &old, 1, now, &ch, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "certificate has expired",
	    "x509pop: expired leaf refused");

	/* The CA itself as the node's certificate. */
	rc = pop_begin(a, &f->ca, 1, now, &ch, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "itself a configured CA",
	    "x509pop: a configured CA as the node certificate refused");

	/* A CA certificate below the configured one as the "leaf". */
	rc = pop_begin(a, &f->inter, 1, now, &ch, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "is a CA certificate",
	    "x509pop: a CA certificate as the node certificate refused");

	/* Through an intermediate: the ca selector names it. */
	sub_leaf = make_cert(f->inter, f->inter_key, f->node_key, "node-2",
	    now - 60, now + 3600, false);
	certs[0] = sub_leaf;
	certs[1] = f->inter;
	rc = pop_begin(a, certs, 2, now, &ch, &why);
	rc = rc == RC_OK ? pop_finish(a, f->node_key, &ch, now, &r, &why) : rc;
	n = i2d_X509(f->inter, &der);
	cert_sha256_hex(der, (size_t)n, hex);
	OPENSSL_free(der);
	der = NULL;
	(void)snprintf(sel, sizeof(sel), "ca:sha256:%s", hex);
	expect(rc, &why, RC_OK, NULL, "x509pop: chain through an "
	    "intermediate accepted");
	CHECK(has_selector(&r, "x509pop", sel) &&
	    has_selector(&r, "x509pop", "subject:cn:node-2"),
	    "x509pop: ca selector names the issuing intermediate");
	attest_result_clear(&r);
	rc = pop_begin(a, &sub_leaf, 1, now, &ch, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "unable to get local issuer",
	    "x509pop: chain missing its intermediate refused");

	/* An RSA node key signs with RSA-PSS. */
	rsa_leaf = make_cert(f->ca, f->ca_key, f->rsa_node_key, "node-rsa",
	    now - 60, now + 3600, false);
	rc = pop_begin(a, &rsa_leaf, 1, now, &ch, &why);
	rc = rc == RC_OK ? pop_finish(a, f->rsa_node_key, &ch, now, &r, &why) :
	    rc;
	expect(rc, &why, RC_OK, NULL, "x509pop: RSA-PSS answer accepted");
	attest_result_clear(&r);

	/* Malformed evidence. */
	{
		json_t	*ev;
		bool	 chal;

		ev = json_pack("{s:s}", "chain", "abc");
		rc = attest_evidence(a, ATTEST_X509POP, ev, csr, sizeof(csr),
		    now, &r, &ch, &chal, &why);
		expect(rc, &why, RC_BAD_REQUEST, "an array of 1 to 8",
		    "x509pop: chain not an array refused");
		json_decref(ev);
		ev = json_pack("{s:[s]}", "chain", "!!notbase64!!");
		rc = attest_evidence(a, ATTEST_X509POP, ev, csr, sizeof(csr),
		    now, &r, &ch, &chal, &why);
		expect(rc, &why, RC_BAD_REQUEST, "evidence.chain[0]: not "
		    "base64", "x509pop: bad base64 refused");
		json_decref(ev);
		ev = json_pack("{s:[s]}", "chain", "AAAA");
		rc = attest_evidence(a, ATTEST_X509POP, ev, csr, sizeof(csr),
		    now, &r, &ch, &chal, &why);
		expect(rc, &why, RC_BAD_REQUEST, "not one DER certificate",
		    "x509pop: not a certificate refused");
		json_decref(ev);
		ev = json_pack("{s:[], s:i}", "chain", "x", 1);
		rc = attest_evidence(a, ATTEST_X509POP, ev, csr, sizeof(csr),
		    now, &r, &ch, &chal, &why);
		expect(rc, &why, RC_BAD_REQUEST, "unknown member \"x\"",
		    "x509pop: unknown member refused");
		json_decref(ev);
	}

	X509_free(leaf);
	X509_free(bad);
	X509_free(old);
	X509_free(rsa_leaf);
	X509_free(sub_leaf);
}

/* With room for two sessions, a third waits. */
static void
test_x509pop_full(struct fixture *f)
{
	struct attest_limits	 lim = { 2, 2, 5 };
	struct attest_challenge	 ch;
	struct attest_result	 r;
	struct attest		*a = NULL;
	struct conf		 c;
	struct rc_why		 why;
	X509			*leaf;
	enum rc			 rc;

	memset(&r, 0, sizeof(r));
	base_conf(&c, f);
	rc = attest_new(&c, &lim, &a, &why);
	CHECK(rc == RC_OK, "attestors with 2 sessions");
	leaf = make_cert(f->ca, f->ca_key, f->node_key, "node-1", now - 60,
	    now + 3600, false);
	rc = pop_begin(a, &leaf, 1, now, &ch, &why);
	rc = rc == RC_OK ? pop_begin(a, &leaf, 1, now, &ch, &why) : rc;
	expect(rc, &why, RC_OK, NULL, "x509pop: two sessions open");
	rc = pop_begin(a, &leaf, 1, now, &ch, &why);
	expect(rc, &why, RC_UNAVAILABLE, "2 x509pop challenges are open",
	    "x509pop: third session refused while two are live");
	rc = pop_begin(a, &leaf, 1, now + 5, &ch, &why);
	expect(rc, &why, RC_OK, NULL,
	    "x509pop: expired sessions make room again");
	rc = pop_finish(a, f->node_key, &ch, now + 6, &r, &why);
	expect(rc, &why, RC_OK, NULL, "x509pop: short session answered");
	attest_result_clear(&r);
	X509_free(leaf);
	attest_free(a);
}

/* ---- jwt ---------------------------------------------------------------- */

/* A compact JWS of header and claims, signed as alg says. */
static char *
make_jwt(const char *header, const char *claims, EVP_PKEY *key,
    const char *alg, const unsigned char *secret, size_t secret_len)
{
	char		*h, *p, *s = NULL, *input, *out;
	unsigned char	*der = NULL, raw[512], mac[EVP_MAX_MD_SIZE];
	const unsigned char *dp;
	size_t		 n, der_len = 0, raw_len = 0, half;
	unsigned int	 mac_len = 0;
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	ECDSA_SIG	*es;
	const EVP_MD	*dg = EVP_sha256();

	h = b64((const unsigned char *)header, strlen(header),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	p = b64((const unsigned char *)claims, strlen(claims),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n = strlen(h) + strlen(p) + 2;
	input = malloc(n);
	(void)snprintf(input, n, "%s.%s", h, p);

	if (strcmp(alg, "ES384") == 0)
		dg = EVP_sha384();
	if (strcmp(alg, "HS256") == 0) {
		HMAC(EVP_sha256(), secret, (int)secret_len,
		    (const unsigned char *)input, strlen(input), mac,
		    &mac_len);
		memcpy(raw, mac, mac_len);
		raw_len = mac_len;
	} else if (strcmp(alg, "none") != 0) {
		EVP_DigestSignInit(md, NULL, dg, NULL, key);
		EVP_DigestSign(md, NULL, &der_len, (unsigned char *)input,
		    strlen(input));
		der = malloc(der_len);
		EVP_DigestSign(md, der, &der_len, (unsigned char *)input,
		    strlen(input));
		if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
			/* JWS wants r || s at the curve's width (RFC 7518). */
			half = EVP_PKEY_get_bits(key) > 256 ? 48 : 32;
			dp = der;
			es = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
			BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)half);
			BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half,
			    (int)half);
			raw_len = 2 * half;
			ECDSA_SIG_free(es);
		} else {
			memcpy(raw, der, der_len);
			raw_len = der_len;
		}
	}
	s = raw_len == 0 ? strdup("") : b64(raw, raw_len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n = strlen(input) + strlen(s) + 2;
	out = malloc(n);
	(void)snprintf(out, n, "%s.%s", input, s);
	free(h);
	free(p);
	free(s);
	free(input);
	free(der);
	EVP_MD_CTX_free(md);
	return out;
}

/* Claims with iss, sub, aud, exp, iat offsets and an extra text. */
static char *
claims(const char *iss, const char *sub, const char *aud, long exp,
    long iat, const char *extra)
{
	char buf[2048];

	(void)snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"sub\":\"%s\","
	    "\"aud\":%s,\"exp\":%lld,\"iat\":%lld%s%s}", iss, sub, aud,
	    (long long)(now + exp), (long long)(now + iat),
	    extra[0] != '\0' ? "," : "", extra);
	return strdup(buf);
}

/* Run the jwt attestor on token at now. */
static enum rc
jwt_run(struct attest *a, const char *token, struct attest_result *r,
    struct rc_why *why)
{
	struct attest_challenge	 ch;
	json_t			*ev = json_pack("{s:s}", "token", token);
	bool			 chal = false;
	enum rc			 rc;

	rc_why_clear(why);
	rc = attest_evidence(a, ATTEST_JWT, ev, NULL, 0, now, r, &ch, &chal,
	    why);
	json_decref(ev);
	return rc;
}

/* Sign claims c with kid k1 (P-256, ES256) and run it; frees c. */
static enum rc
jwt_try(struct attest *a, struct fixture *f, char *c, struct rc_why *why)
{
	struct attest_result	 r;
	char			*tok;
	enum rc			 rc;

	memset(&r, 0, sizeof(r));
	tok = make_jwt("{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", c,
	    f->jwt_p256, "ES256", NULL, 0);
	rc = jwt_run(a, tok, &r, why);
	attest_result_clear(&r);
	free(tok);
	free(c);
	return rc;
}

static void
test_jwt(struct attest *a, struct fixture *f)
{
	static const char h_k1[] = "{\"alg\":\"ES256\",\"kid\":\"k1\","
	    "\"typ\":\"JWT\"}";
	struct attest_result	 r;
	struct rc_why		 why;
	char			*c, *tok, *tok2, *pem = NULL, *dot;
	BIO			*bio;
	long			 pem_len;
	enum rc			 rc;

	memset(&r, 0, sizeof(r));

	/* Accepted, with its ID and selectors. */
	c = claims(ISS, "node-1", "\"" AUD "\"", 300, -10,
	    "\"zone\":\"eu-1\",\"groups\":[\"a\",\"b\",{\"x\":1}],"
	    "\"jti\":\"1\"");
	tok = make_jwt(h_k1, c, f->jwt_p256, "ES256", NULL, 0);
	free(c);
	rc = jwt_run(a, tok, &r, &why);
	expect(rc, &why, RC_OK, NULL, "jwt: ES256 token accepted");
	CHECK(r.has_id && strcmp(r.agent_id.str,
	    "spiffe://" TD "/svidca/agent/jwt/corp/node-1") == 0,
	    "jwt: agent ID .../jwt/<issuer name>/<node claim>");
	CHECK(r.n_selectors == 4 && has_selector(&r, "jwt", "iss:corp") &&
	    has_selector(&r, "jwt", "claim:zone:eu-1") &&
	    has_selector(&r, "jwt", "claim:groups:a") &&
	    has_selector(&r, "jwt", "claim:groups:b"),
	    "jwt: selectors iss and each configured claim value");
	attest_result_clear(&r);

	/* The same token again is a replay. */
	rc = jwt_run(a, tok, &r, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "token already used",
	    "jwt: replay refused");
	free(tok);

	/* aud as an array that holds ours. */
	rc = jwt_try(a, f, claims(ISS, "node-2", "[\"x\",\"" AUD "\"]", 300,
	    -10, ""), &why);
	expect(rc, &why, RC_OK, NULL, "jwt: aud array holding ours accepted");

	/* Each claim refused. */
	rc = jwt_try(a, f, claims("https://evil.example", "node-1",
	    "\"" AUD "\"", 300, -10, ""), &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "iss \"https://evil.example\" "
	    "is not a configured issuer", "jwt: wrong iss refused");
	rc = jwt_try(a, f, claims(ISS, "node-1", "\"other\"", 300, -10, ""),
	    &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "aud does not name this server",
	    "jwt: wrong aud refused");
	rc = jwt_try(a, f, claims(ISS, "node-1", "[]", 300, -10, ""), &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "aud does not name this server",
	    "jwt: empty aud refused");
	rc = jwt_try(a, f, claims(ISS, "node-1", "\"" AUD "\"", -1, -100, ""),
	    &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "the token expired at",
	    "jwt: expired token refused");
	CHECK(why.rule != NULL && strcmp(why.rule, "RFC 7519 4.1.4") == 0,
	    "jwt: expiry refusal names RFC 7519 4.1.4");
	{
		char extra[64];

		(void)snprintf(extra, sizeof(extra), "\"nbf\":%lld",
		    (long long)(now + 300));
		rc = jwt_try(a, f, claims(ISS, "node-1", "\"" AUD "\"", 600,
		    -10, extra), &why);
		expect(rc, &why, RC_UNAUTHENTICATED, "not valid before",
		    "jwt: nbf in the future refused");
		(void)snprintf(extra, sizeof(extra), "\"nbf\":%lld,"
		    "\"jti\":\"nbf-ok\"", (long long)(now + 20));
		rc = jwt_try(a, f, claims(ISS, "node-3", "\"" AUD "\"", 600,
		    -10, extra), &why);
		expect(rc, &why, RC_OK, NULL,
		    "jwt: nbf within the leeway accepted");
	}
	rc = jwt_try(a, f, claims(ISS, "node-1", "\"" AUD "\"", 300, -601,
	    ""), &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "over max_token_age 600",
	    "jwt: token older than max_token_age refused");
	rc = jwt_try(a, f, claims(ISS, "node-1", "\"" AUD "\"", 300, 120, ""),
	    &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "issued in the future",
	    "jwt: iat in the future refused");
	c = strdup("{\"iss\":\"" ISS "\",\"sub\":\"node-1\",\"aud\":\"" AUD
	    "\",\"exp\":9999999999}");
	rc = jwt_try(a, f, c, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "iat is missing",
	    "jwt: token without iat refused");

	/* The node claim must be one path segment. */
	rc = jwt_try(a, f, claims(ISS, "system:serviceaccount:ns:agent",
	    "\"" AUD "\"", 300, -10, ""), &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "node claim \"sub\" is "
	    "\"system:serviceaccount:ns:agent\", not one SPIFFE ID path "
	    "segment", "jwt: node claim with ':' refused");
	rc = jwt_try(a, f, claims(ISS, "..", "\"" AUD "\"", 300, -10, ""),
	    &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "not one SPIFFE ID path segment",
	    "jwt: node claim \"..\" refused");
	rc = jwt_try(a, f, claims(ISS, "", "\"" AUD "\"", 300, -10, ""),
	    &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "not one SPIFFE ID path segment",
	    "jwt: empty node claim refused");

	/* Bad signature: the payload of one token under another's. */
	c = claims(ISS, "node-1", "\"" AUD "\"", 300, -10, "\"jti\":\"sig\"");
	tok = make_jwt(h_k1, c, f->jwt_p256, "ES256", NULL, 0);
	free(c);
	c = claims(ISS, "node-9", "\"" AUD "\"", 300, -10, "\"jti\":\"sig\"");
	tok2 = make_jwt(h_k1, c, f->jwt_p256, "ES256", NULL, 0);
	free(c);
	dot = strrchr(tok, '.');
	{
		size_t	 hl = (size_t)(strrchr(tok2, '.') - tok2);
		char	*mix = malloc(hl + strlen(dot) + 1);

		memcpy(mix, tok2, hl);
		memcpy(mix + hl, dot, strlen(dot) + 1);
		rc = jwt_run(a, mix, &r, &why);
		expect(rc, &why, RC_UNAUTHENTICATED, "the signature does not "
		    "verify", "jwt: bad signature refused");
		free(mix);
	}
	free(tok);
	free(tok2);

	/* Algorithm confusion. */
	c = claims(ISS, "node-1", "\"" AUD "\"", 300, -10, "\"jti\":\"a1\"");
	tok = make_jwt("{\"alg\":\"ES256\",\"kid\":\"k384\"}", c, f->jwt_p384,
	    "ES384", NULL, 0);
	rc = jwt_run(a, tok, &r, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "alg ES256 does not match the "
	    "issuer's key, which signs with ES384 only",
	    "jwt: ES256 header over a P-384 key refused");
	CHECK(why.rule != NULL && strcmp(why.rule, "RFC 8725 3.1") == 0,
	    "jwt: alg refusal names RFC 8725 3.1");
	free(tok);
	tok = make_jwt("{\"alg\":\"ES384\",\"kid\":\"k384\"}", c, f->jwt_p384,
	    "ES384", NULL, 0);
	rc = jwt_run(a, tok, &r, &why);
	expect(rc, &why, RC_OK, NULL,
	    "jwt: ES384 with the P-384 key accepted");
	attest_result_clear(&r);
	free(tok);
	free(c);

	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, f->jwt_p256);
	pem_len = BIO_get_mem_data(bio, &pem);
	c = claims(ISS, "node-1", "\"" AUD "\"", 300, -10, "\"jti\":\"hs\"");
	tok = make_jwt("{\"alg\":\"HS256\",\"kid\":\"k1\"}", c, NULL, "HS256",
	    (const unsigned char *)pem, (size_t)pem_len);
	rc = jwt_run(a, tok, &r, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "alg HS256 does not match",
	    "jwt: HS256 keyed with the public key refused");
	free(tok);
	BIO_free(bio);
	tok = make_jwt("{\"alg\":\"none\",\"kid\":\"k1\"}", c, NULL, "none",
	    NULL, 0);
	rc = jwt_run(a, tok, &r, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "alg none is refused",
	    "jwt: alg none refused");
	free(tok);
	tok = make_jwt("{\"alg\":\"RS256\",\"kid\":\"r1\"}", c, f->jwt_rsa,
	    "RS256", NULL, 0);
	rc = jwt_run(a, tok, &r, &why);
	expect(rc, &why, RC_OK, NULL, "jwt: RS256 with the RSA key accepted");
	attest_result_clear(&r);
	free(tok);
	free(c);

	/* Header faults. */
	c = claims(ISS, "node-1", "\"" AUD "\"", 300, -10, "\"jti\":\"h\"");
	tok = make_jwt("{\"alg\":\"ES256\",\"kid\":\"nope\"}", c, f->jwt_p256,
	    "ES256", NULL, 0);
	rc = jwt_run(a, tok, &r, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "no usable key with this kid",
	    "jwt: unknown kid refused");
	free(tok);
	tok = make_jwt("{\"alg\":\"ES256\"}", c, f->jwt_p256, "ES256", NULL,
	    0);
	rc = jwt_run(a, tok, &r, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "has no kid and issuer corp has "
	    "more than one key", "jwt: no kid among several keys refused");
	free(tok);
	tok = make_jwt("{\"alg\":\"ES256\",\"kid\":\"k1\",\"crit\":[\"x\"],"
	    "\"x\":1}", c, f->jwt_p256, "ES256", NULL, 0);
	rc = jwt_run(a, tok, &r, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "crit header parameters",
	    "jwt: crit header refused");
	free(tok);
	free(c);
	rc = jwt_run(a, "a.b", &r, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "not a compact JWS",
	    "jwt: not a JWS refused");
	{
		struct attest_challenge	 ch;
		json_t			*ev = json_pack("{s:i}", "token", 5);
		bool			 chal;

		rc = attest_evidence(a, ATTEST_JWT, ev, NULL, 0, now, &r, &ch,
		    &chal, &why);
		expect(rc, &why, RC_BAD_REQUEST, "evidence.token: a compact "
		    "JWS", "jwt: token not a string refused");
		json_decref(ev);
	}
}

/* A replay cache of two refuses a third live token, yet knows replays. */
static void
test_jwt_full(struct fixture *f)
{
	struct attest_limits	 lim = { 2, 2, 60 };
	struct attest_result	 r;
	struct attest		*a = NULL;
	struct conf		 c;
	struct rc_why		 why;
	char			*t1, *t2, *t3, *cl;
	enum rc			 rc;

	memset(&r, 0, sizeof(r));
	base_conf(&c, f);
	rc = attest_new(&c, &lim, &a, &why);
	CHECK(rc == RC_OK, "attestors with a replay cache of 2");
	cl = claims(ISS, "n1", "\"" AUD "\"", 300, -10, "\"jti\":\"1\"");
	t1 = make_jwt("{\"alg\":\"ES256\",\"kid\":\"k1\"}", cl, f->jwt_p256,
	    "ES256", NULL, 0);
	free(cl);
	cl = claims(ISS, "n2", "\"" AUD "\"", 300, -10, "\"jti\":\"2\"");
	t2 = make_jwt("{\"alg\":\"ES256\",\"kid\":\"k1\"}", cl, f->jwt_p256,
	    "ES256", NULL, 0);
	free(cl);
	cl = claims(ISS, "n3", "\"" AUD "\"", 300, -10, "\"jti\":\"3\"");
	t3 = make_jwt("{\"alg\":\"ES256\",\"kid\":\"k1\"}", cl, f->jwt_p256,
	    "ES256", NULL, 0);
	free(cl);
	rc = jwt_run(a, t1, &r, &why);
	attest_result_clear(&r);
	rc = rc == RC_OK ? jwt_run(a, t2, &r, &why) : rc;
	attest_result_clear(&r);
	expect(rc, &why, RC_OK, NULL, "jwt: two tokens fill the cache");
	rc = jwt_run(a, t3, &r, &why);
	expect(rc, &why, RC_UNAVAILABLE, "replay cache holds 2 live tokens",
	    "jwt: full replay cache refuses a new token (503)");
	rc = jwt_run(a, t1, &r, &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "token already used",
	    "jwt: full replay cache still refuses a replay");
	free(t1);
	free(t2);
	free(t3);
	attest_free(a);
}

/*
 * Keys rotate: a kid not in the cached JWKS makes the file be read
 * again, at most once per ATTEST_JWKS_RETRY seconds.
 */
static void
test_jwks_rotation(struct fixture *f)
{
	struct attest_challenge	 ch;
	struct attest_result	 r;
	struct attest		*a = NULL;
	struct conf		 c;
	struct rc_why		 why;
	json_t			*doc, *keys, *ev;
	EVP_PKEY		*fresh = key_generate(KEY_EC_P256);
	char			 path[512], *text, *tok, *cl;
	time_t			 t0;
	bool			 chal;
	enum rc			 rc;

	memset(&r, 0, sizeof(r));
	base_conf(&c, f);
	tmp_path("rotating.json", path, sizeof(path));
	doc = json_object();
	keys = json_array();
	add_jwk(keys, f->jwt_p256, "k1", "sig");
	json_object_set_new(doc, "keys", keys);
	text = json_dumps(doc, 0);
	write_text(path, text);
	free(text);
	(void)snprintf(c.jwt_issuers[0].jwks_file, CONF_STR_MAX, "%s", path);
	rc = attest_new(&c, NULL, &a, &why);
	CHECK(rc == RC_OK, "attestors with a one-key JWKS");

	add_jwk(keys, fresh, "k2", "sig");
	text = json_dumps(doc, 0);
	write_text(path, text);
	free(text);
	cl = claims(ISS, "rot-1", "\"" AUD "\"", 300, -10, "");
	tok = make_jwt("{\"alg\":\"ES256\",\"kid\":\"k2\"}", cl, fresh,
	    "ES256", NULL, 0);
	free(cl);
	ev = json_pack("{s:s}", "token", tok);
	/* The load at attest_new() was at t0 or a second before. */
	t0 = time(NULL);
	rc = attest_evidence(a, ATTEST_JWT, ev, NULL, 0, t0, &r, &ch, &chal,
	    &why);
	expect(rc, &why, RC_UNAUTHENTICATED, "no usable key with this kid",
	    "jwks: a new kid right after a load is not looked for");
	rc = attest_evidence(a, ATTEST_JWT, ev, NULL, 0, t0 + 10, &r, &ch,
	    &chal, &why);
	expect(rc, &why, RC_OK, NULL,
	    "jwks: a new kid later makes the keys load again");
	attest_result_clear(&r);
	json_decref(ev);
	json_decref(doc);
	free(tok);
	EVP_PKEY_free(fresh);
	attest_free(a);
}

/* ---- construction ------------------------------------------------------- */

static void
test_new(struct fixture *f)
{
	struct attest	*a = NULL;
	struct conf	 c;
	struct rc_why	 why;
	char		 path[512];
	X509		*leaf;
	enum rc		 rc;

	base_conf(&c, f);
	(void)snprintf(c.x509pop_ca_files[0], CONF_STR_MAX, "%s",
	    tmp_path("missing.pem", path, sizeof(path)));
	rc = attest_new(&c, NULL, &a, &why);
	expect(rc, &why, RC_BAD_REQUEST, "node_attestors.x509pop.ca_files: ",
	    "missing CA file refused");
	CHECK(a == NULL && strstr(why.detail, "cannot open") != NULL,
	    "missing CA file: reason says cannot open");
	rc = attest_check_conf(&c, &why);
	expect(rc, &why, RC_BAD_REQUEST, "cannot open",
	    "attest_check_conf refuses the same");

	leaf = make_cert(f->ca, f->ca_key, f->node_key, "node-1", now - 60,
	    now + 3600, false);
	write_pem(tmp_path("leaf.pem", path, sizeof(path)), leaf);
	X509_free(leaf);
	(void)snprintf(c.x509pop_ca_files[0], CONF_STR_MAX, "%s", path);
	rc = attest_new(&c, NULL, &a, &why);
	expect(rc, &why, RC_BAD_REQUEST, "is not a CA certificate",
	    "leaf as a CA file refused");

	write_text(tmp_path("empty.pem", path, sizeof(path)), "nothing\n");
	(void)snprintf(c.x509pop_ca_files[0], CONF_STR_MAX, "%s", path);
	rc = attest_new(&c, NULL, &a, &why);
	expect(rc, &why, RC_BAD_REQUEST, "no PEM certificate",
	    "CA file without certificates refused");

	base_conf(&c, f);
	write_text(tmp_path("bad.json", path, sizeof(path)), "{\"k\":1}");
	(void)snprintf(c.jwt_issuers[0].jwks_file, CONF_STR_MAX, "%s", path);
	rc = attest_new(&c, NULL, &a, &why);
	expect(rc, &why, RC_BAD_REQUEST, "node_attestors.jwt.1: jwks_file: "
	    "not a JWK set", "JWKS without keys refused");
	write_text(path, "{\"keys\":");
	rc = attest_new(&c, NULL, &a, &why);
	expect(rc, &why, RC_BAD_REQUEST, "not JSON",
	    "JWKS that is not JSON refused");

	base_conf(&c, f);
	c.n_x509pop_ca_files = 0;
	c.n_jwt_issuers = 0;
	c.join_token_enabled = false;
	rc = attest_new(&c, NULL, &a, &why);
	CHECK(rc == RC_OK && !attest_is_enabled(a, ATTEST_JOIN_TOKEN) &&
	    !attest_is_enabled(a, ATTEST_X509POP) &&
	    !attest_is_enabled(a, ATTEST_JWT), "no attestor configured");
	attest_free(a);
}

int
main(void)
{
	struct fixture	 f;
	struct attest	*a = NULL, *off = NULL;
	struct conf	 c;
	struct rc_why	 why;
	enum rc		 rc;
	char		 cmd[600];

	if (sodium_init() < 0 || mkdtemp(tmp) == NULL) {
		printf("Bail out! no scratch directory\n");
		return 1;
	}
	now = time(NULL);
	fixture_make(&f);

	test_segments();

	base_conf(&c, &f);
	rc = attest_new(&c, NULL, &a, &why);
	CHECK(rc == RC_OK, "attestors from a full configuration");
	if (rc != RC_OK)
		printf("# %s\n", why.detail);
	CHECK(a != NULL && attest_is_enabled(a, ATTEST_JOIN_TOKEN) &&
	    attest_is_enabled(a, ATTEST_X509POP) &&
	    attest_is_enabled(a, ATTEST_JWT), "all three attestors enabled");
	c.join_token_enabled = false;
	rc = attest_new(&c, NULL, &off, &why);
	CHECK(rc == RC_OK, "attestors without join_token");

	if (a != NULL && off != NULL) {
		test_join_token(a, off);
		test_x509pop(a, &f);
		test_x509pop_full(&f);
		test_jwt(a, &f);
		test_jwt_full(&f);
		test_jwks_rotation(&f);
	}
	test_new(&f);

	attest_free(a);
	attest_free(off);
	fixture_free(&f);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmp);
	return check_done();
}
