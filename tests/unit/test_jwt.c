/*
 * test_jwt.c: JWT-SVID minting (jwt.c, checklist JW-*).  Every token is
 * taken apart with libsodium and jansson and its signature checked twice,
 * by OpenSSL directly and by cjose against our public JWK; every refusal
 * expects its exact code, field and rule.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "check.h"
#include "../../ca/jwt.h"
#include "../../ca/key.h"
#include "../../server/bounds.h"

#define SUB	"spiffe://example.org/workload"
#define IAT	((time_t)1700000000)
#define EXP	(IAT + 300)

struct token {
	char		*h;	/* header part, base64url */
	char		*p;	/* payload part */
	char		*s;	/* signature part */
	char		*signed_part;	/* "h.p" */
	json_t		*header;
	json_t		*claims;
	unsigned char	*sig;
	size_t		 siglen;
};

/* base64url without padding to bytes (malloc'd); NULL if invalid. */
static unsigned char *
b64url_dec(const char *text, size_t *len)
{
	size_t max = strlen(text) * 3 / 4 + 1;
	unsigned char *bin;
	const char *end = NULL;

	bin = malloc(max);
	if (bin == NULL)
		return NULL;
	if (sodium_base642bin(bin, max, text, strlen(text), NULL, len, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    *end != '\0') {
		free(bin);
		return NULL;
	}
	return bin;
}

static char *
b64url_enc(const void *bin, size_t len)
{
	size_t tlen = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *text = malloc(tlen);

	if (text != NULL)
		(void)sodium_bin2base64(text, tlen, bin, len,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return text;
}

static json_t *
decode_json(const char *part)
{
	unsigned char *bin;
	json_t *j;
	size_t len;

	bin = b64url_dec(part, &len);
	if (bin == NULL)
		return NULL;
	j = json_loadb((const char *)bin, len, JSON_REJECT_DUPLICATES, NULL);
	free(bin);
	return j;
}

static bool
is_b64url(const char *s)
{
	if (*s == '\0')
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == strlen(s);
}

/* Split a compact JWS into its parts and decode them; false if not 3. */
static bool
token_split(const char *text, struct token *t)
{
	const char *d1, *d2;

	memset(t, 0, sizeof(*t));
	d1 = strchr(text, '.');
	d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
	if (d2 == NULL || strchr(d2 + 1, '.') != NULL)
		return false;
	t->h = strndup(text, (size_t)(d1 - text));
	t->p = strndup(d1 + 1, (size_t)(d2 - d1 - 1));
	t->s = strdup(d2 + 1);
	t->signed_part = strndup(text, (size_t)(d2 - text));
	if (t->h == NULL || t->p == NULL || t->s == NULL ||
	    t->signed_part == NULL)
		return false;
	t->header = decode_json(t->h);
	t->claims = decode_json(t->p);
	t->sig = b64url_dec(t->s, &t->siglen);
	return true;
}

static void
token_free(struct token *t)
{
	free(t->h);
	free(t->p);
	free(t->s);
	free(t->signed_part);
	json_decref(t->header);
	json_decref(t->claims);
	free(t->sig);
}

/*
 * Verify sig over data with pub, by OpenSSL alone.  ECDSA: the JWS raw
 * r||s (RFC 7518 3.4) becomes a DER ECDSA-Sig-Value first.
 */
static bool
ossl_verify(EVP_PKEY *pub, const EVP_MD *md, const char *data,
    const unsigned char *sig, size_t siglen)
{
	unsigned char *der = NULL;
	const unsigned char *vsig = sig;
	size_t vlen = siglen;
	EVP_MD_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r, *s;
	bool ok = false;
	int n;

	if (EVP_PKEY_is_a(pub, "EC")) {
		if (siglen % 2 != 0)
			return false;
		r = BN_bin2bn(sig, (int)(siglen / 2), NULL);
		s = BN_bin2bn(sig + siglen / 2, (int)(siglen / 2), NULL);
		es = ECDSA_SIG_new();
		if (r == NULL || s == NULL || es == NULL ||
		    ECDSA_SIG_set0(es, r, s) != 1) {
			BN_free(r);
			BN_free(s);
			goto out;
		}
		n = i2d_ECDSA_SIG(es, &der);
		if (n <= 0)
			goto out;
		vsig = der;
		vlen = (size_t)n;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, md, NULL, pub) != 1)
		goto out;
	ok = EVP_DigestVerify(ctx, vsig, vlen, (const unsigned char *)data,
	    strlen(data)) == 1;
out:
	EVP_MD_CTX_free(ctx);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	return ok;
}

/* Verify a compact token with cjose against a public JWK text. */
static bool
cjose_verify(const char *token, const char *jwk_text)
{
	cjose_jwk_t *jwk = NULL;
	cjose_jws_t *jws = NULL;
	cjose_err err;
	bool ok = false;

	jwk = cjose_jwk_import(jwk_text, strlen(jwk_text), &err);
	jws = cjose_jws_import(token, strlen(token), &err);
	if (jwk != NULL && jws != NULL)
		ok = cjose_jws_verify(jws, jwk, &err);
	cjose_jws_release(jws);
	if (jwk != NULL)
		(void)cjose_jwk_release(jwk);
	return ok;
}

/* Check a public JWK text member by member (BN-09, BN-12, BN-17). */
static void
check_public_jwk(const char *text, EVP_PKEY *key, const char *kid,
    const char *crv, size_t width)
{
	unsigned char pub[256], nbin[1024];
	unsigned char *x = NULL, *y = NULL, *n = NULL, *e = NULL;
	size_t xl = 0, yl = 0, nl = 0, el = 0, publen = 0;
	BIGNUM *bn = NULL;
	json_t *j;
	int bl;

	j = text != NULL ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) :
	    NULL;
	CHECK(j != NULL && json_is_object(j), "public jwk is a JSON object");
	if (j == NULL)
		return;
	CHECK(strcmp(json_string_value(json_object_get(j, "use")) ?
	    json_string_value(json_object_get(j, "use")) : "",
	    "jwt-svid") == 0, "jwk use is jwt-svid");
	CHECK(json_string_value(json_object_get(j, "kid")) != NULL &&
	    strcmp(json_string_value(json_object_get(j, "kid")), kid) == 0,
	    "jwk kid is the signer's");
	CHECK(json_object_get(j, "d") == NULL, "no private member d");

	if (crv != NULL) {
		CHECK(json_object_size(j) == 6, "EC jwk has exactly 6 members");
		CHECK(strcmp(json_string_value(json_object_get(j, "kty")),
		    "EC") == 0, "kty EC");
		CHECK(strcmp(json_string_value(json_object_get(j, "crv")),
		    crv) == 0, "crv names the curve");
		x = b64url_dec(json_string_value(json_object_get(j, "x")),
		    &xl);
		y = b64url_dec(json_string_value(json_object_get(j, "y")),
		    &yl);
		CHECK(x != NULL && y != NULL && xl == width && yl == width,
		    "x and y are base64url at full curve width");
		CHECK(EVP_PKEY_get_octet_string_param(key,
		    OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &publen) == 1 &&
		    publen == 1 + 2 * width && pub[0] == 0x04,
		    "key's uncompressed point");
		CHECK(x != NULL && y != NULL && xl == width &&
		    memcmp(pub + 1, x, width) == 0 &&
		    memcmp(pub + 1 + width, y, width) == 0,
		    "x and y equal the key's point");
	} else {
		CHECK(json_object_size(j) == 5,
		    "RSA jwk has exactly 5 members");
		CHECK(strcmp(json_string_value(json_object_get(j, "kty")),
		    "RSA") == 0, "kty RSA");
		n = b64url_dec(json_string_value(json_object_get(j, "n")),
		    &nl);
		e = b64url_dec(json_string_value(json_object_get(j, "e")),
		    &el);
		(void)EVP_PKEY_get_bn_param(key, "n", &bn);
		bl = bn != NULL ? BN_bn2bin(bn, nbin) : 0;
		CHECK(n != NULL && nl == (size_t)bl && n[0] != 0 &&
		    memcmp(n, nbin, nl) == 0,
		    "n equals the modulus, no leading zero");
		CHECK(e != NULL && el == 3 && e[0] == 1 && e[1] == 0 &&
		    e[2] == 1, "e is 65537 (AQAB)");
		BN_free(bn);
	}
	free(x);
	free(y);
	free(n);
	free(e);
	json_decref(j);
}

static void
test_one(enum key_type type, const char *alg, const char *crv,
    size_t width, const EVP_MD *md, size_t siglen)
{
	const char *aud1[] = { "spiffe://example.org/reports" };
	const char *aud2[] = { "reports", "billing" };
	char kid[33], *token = NULL, *pubjwk = NULL, *forged = NULL;
	char *claims2 = NULL, *p2 = NULL;
	struct jwt_signer *s = NULL;
	struct rc_why why;
	struct token t;
	EVP_PKEY *key;
	json_t *aud;
	size_t len;

	key = key_generate(type);
	CHECK(key != NULL, "generate key");
	if (key == NULL)
		return;
	jwt_new_kid(kid);
	s = jwt_signer_new(key, kid);
	CHECK(s != NULL, "jwt_signer_new");
	pubjwk = jwt_public_jwk(key, kid);
	check_public_jwk(pubjwk, key, kid, crv, width);

	/* One audience. */
	rc_why_clear(&why);
	CHECK(jwt_mint(s, SUB, aud1, 1, IAT, EXP, &token, &why) == RC_OK &&
	    token != NULL, "mint with one audience");
	if (token == NULL)
		goto out;
	CHECK(token_split(token, &t), "token has three parts (JW-01)");
	CHECK(t.h != NULL && t.p != NULL && t.s != NULL && is_b64url(t.h) &&
	    is_b64url(t.p) && is_b64url(t.s),
	    "parts are base64url without padding (JW-01)");

	CHECK(t.header != NULL && json_object_size(t.header) == 3,
	    "header has exactly alg, kid, typ (JW-02)");
	CHECK(t.header != NULL && strcmp(json_string_value(
	    json_object_get(t.header, "alg")), alg) == 0,
	    "header alg pinned to the key (JW-03)");
	CHECK(t.header != NULL && strcmp(json_string_value(
	    json_object_get(t.header, "kid")), kid) == 0,
	    "header kid (JW-04)");
	CHECK(t.header != NULL && strcmp(json_string_value(
	    json_object_get(t.header, "typ")), "JWT") == 0,
	    "header typ JWT (JW-05)");

	CHECK(t.claims != NULL && json_object_size(t.claims) == 4,
	    "claims are exactly sub, aud, exp, iat");
	CHECK(t.claims != NULL && strcmp(json_string_value(
	    json_object_get(t.claims, "sub")), SUB) == 0, "sub (JW-06)");
	aud = t.claims != NULL ? json_object_get(t.claims, "aud") : NULL;
	CHECK(json_is_array(aud) && json_array_size(aud) == 1 &&
	    strcmp(json_string_value(json_array_get(aud, 0)), aud1[0]) == 0,
	    "aud is an array of the one audience (JW-07)");
	CHECK(t.claims != NULL && json_is_integer(json_object_get(t.claims,
	    "exp")) && json_integer_value(json_object_get(t.claims, "exp")) ==
	    (json_int_t)EXP, "exp integer (JW-08)");
	CHECK(t.claims != NULL && json_is_integer(json_object_get(t.claims,
	    "iat")) && json_integer_value(json_object_get(t.claims, "iat")) ==
	    (json_int_t)IAT, "iat integer");

	CHECK(t.sig != NULL && t.siglen == siglen,
	    "signature has the algorithm's exact length");
	CHECK(t.sig != NULL && ossl_verify(key, md, t.signed_part, t.sig,
	    t.siglen), "OpenSSL verifies the signature over h.p (JW-09)");
	CHECK(cjose_verify(token, pubjwk),
	    "cjose verifies with the public jwk");

	/* A changed payload under the old signature fails. */
	claims2 = json_dumps(t.claims, JSON_COMPACT);
	if (claims2 != NULL && strstr(claims2, "workload") != NULL)
		memcpy(strstr(claims2, "workload"), "workhorse", 8);
	p2 = claims2 != NULL ? b64url_enc(claims2, strlen(claims2)) : NULL;
	len = (p2 != NULL ? strlen(p2) : 0) + strlen(t.h) + strlen(t.s) + 3;
	forged = malloc(len);
	if (forged != NULL && p2 != NULL) {
		(void)snprintf(forged, len, "%s.%s", t.h, p2);
		CHECK(!ossl_verify(key, md, forged, t.sig, t.siglen),
		    "OpenSSL refuses a tampered payload");
		(void)snprintf(forged, len, "%s.%s.%s", t.h, p2, t.s);
		CHECK(!cjose_verify(forged, pubjwk),
		    "cjose refuses a tampered payload");
	}
	if (t.sig != NULL) {
		t.sig[t.siglen / 2] ^= 0x01;
		CHECK(!ossl_verify(key, md, t.signed_part, t.sig, t.siglen),
		    "OpenSSL refuses a tampered signature");
	}
	free(forged);
	free(p2);
	free(claims2);
	token_free(&t);
	free(token);
	token = NULL;

	/* Two audiences keep their order. */
	CHECK(jwt_mint(s, SUB, aud2, 2, IAT, EXP, &token, &why) == RC_OK &&
	    token != NULL, "mint with two audiences");
	if (token != NULL && token_split(token, &t)) {
		aud = t.claims != NULL ? json_object_get(t.claims, "aud") :
		    NULL;
		CHECK(json_is_array(aud) && json_array_size(aud) == 2 &&
		    strcmp(json_string_value(json_array_get(aud, 0)),
		    "reports") == 0 && strcmp(json_string_value(
		    json_array_get(aud, 1)), "billing") == 0,
		    "aud holds both audiences in order");
		CHECK(cjose_verify(token, pubjwk), "cjose verifies it");
		token_free(&t);
	}
	free(token);
out:
	free(pubjwk);
	jwt_signer_free(s);
	EVP_PKEY_free(key);
}

static void
test_refusals(void)
{
	const char *empty[] = { "" };
	const char *second_empty[] = { "reports", "" };
	const char *with_null[] = { "reports", NULL };
	const char *bad_utf8[] = { "rep\xff" };
	const char *ok1[] = { "reports" };
	const char *many[JWT_AUD_MAX + 1];
	char big[JWT_AUD_LEN_MAX + 2];
	const char *long1[] = { big };
	struct jwt_signer *s;
	struct rc_why why;
	char kid[33];
	char *token;
	EVP_PKEY *key;
	size_t i;

	key = key_generate(KEY_EC_P256);
	jwt_new_kid(kid);
	s = jwt_signer_new(key, kid);
	CHECK(s != NULL, "signer for refusals");

	token = (char *)1;
	rc_why_clear(&why);
	CHECK(jwt_mint(s, SUB, ok1, 0, IAT, EXP, &token, &why) ==
	    RC_BAD_REQUEST && token == NULL, "no audience: RC_BAD_REQUEST");
	CHECK(why.code == RC_BAD_REQUEST && why.field != NULL &&
	    strcmp(why.field, "audience") == 0 && why.rule != NULL &&
	    strcmp(why.rule, "JW-07") == 0, "no audience: audience, JW-07");

	rc_why_clear(&why);
	CHECK(jwt_mint(s, SUB, NULL, 1, IAT, EXP, &token, &why) ==
	    RC_BAD_REQUEST && strcmp(why.rule, "JW-07") == 0,
	    "NULL audience list: RC_BAD_REQUEST JW-07");

	rc_why_clear(&why);
	CHECK(jwt_mint(s, SUB, empty, 1, IAT, EXP, &token, &why) ==
	    RC_BAD_REQUEST && token == NULL &&
	    strcmp(why.field, "audience") == 0 &&
	    strcmp(why.rule, "JW-07") == 0,
	    "empty audience string: RC_BAD_REQUEST JW-07");

	rc_why_clear(&why);
	CHECK(jwt_mint(s, SUB, second_empty, 2, IAT, EXP, &token, &why) ==
	    RC_BAD_REQUEST && strcmp(why.rule, "JW-07") == 0 &&
	    strstr(why.detail, "audience 1") != NULL,
	    "second audience empty: refused naming it");

	rc_why_clear(&why);
	CHECK(jwt_mint(s, SUB, with_null, 2, IAT, EXP, &token, &why) ==
	    RC_BAD_REQUEST && strcmp(why.rule, "JW-07") == 0,
	    "NULL audience: RC_BAD_REQUEST JW-07");

	rc_why_clear(&why);
	CHECK(jwt_mint(s, SUB, bad_utf8, 1, IAT, EXP, &token, &why) ==
	    RC_BAD_REQUEST && token == NULL &&
	    strcmp(why.field, "audience") == 0 &&
	    strcmp(why.rule, "JW-07") == 0,
	    "audience not UTF-8: RC_BAD_REQUEST JW-07");

	for (i = 0; i < JWT_AUD_MAX + 1; i++)
		many[i] = "reports";
	rc_why_clear(&why);
	CHECK(jwt_mint(s, SUB, many, JWT_AUD_MAX + 1, IAT, EXP, &token,
	    &why) == RC_TOO_LARGE && token == NULL &&
	    strcmp(why.field, "audience") == 0 && why.rule == NULL,
	    "too many audiences: RC_TOO_LARGE");
	CHECK(jwt_mint(s, SUB, many, JWT_AUD_MAX, IAT, EXP, &token,
	    &why) == RC_OK && token != NULL, "JWT_AUD_MAX audiences pass");
	free(token);
	token = NULL;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rc_why_clear(&why);
	CHECK(jwt_mint(s, SUB, long1, 1, IAT, EXP, &token, &why) ==
	    RC_TOO_LARGE && token == NULL &&
	    strcmp(why.field, "audience") == 0,
	    "audience over JWT_AUD_LEN_MAX: RC_TOO_LARGE");
	big[sizeof(big) - 2] = '\0';
	CHECK(jwt_mint(s, SUB, long1, 1, IAT, EXP, &token, &why) == RC_OK &&
	    token != NULL, "audience of JWT_AUD_LEN_MAX bytes passes");
	free(token);
	token = NULL;

	rc_why_clear(&why);
	CHECK(jwt_mint(s, "", ok1, 1, IAT, EXP, &token, &why) ==
	    RC_BAD_REQUEST && token == NULL &&
	    strcmp(why.field, "spiffe_id") == 0 &&
	    strcmp(why.rule, "JW-06") == 0, "empty sub: RC_BAD_REQUEST JW-06");
	CHECK(jwt_mint(s, NULL, ok1, 1, IAT, EXP, &token, &why) ==
	    RC_BAD_REQUEST && strcmp(why.rule, "JW-06") == 0,
	    "NULL sub: RC_BAD_REQUEST JW-06");

	rc_why_clear(&why);
	CHECK(jwt_mint(s, SUB, ok1, 1, IAT, IAT, &token, &why) ==
	    RC_BAD_REQUEST && token == NULL &&
	    strcmp(why.field, "ttl") == 0 && strcmp(why.rule, "JW-08") == 0,
	    "exp == iat: RC_BAD_REQUEST JW-08");
	CHECK(jwt_mint(s, SUB, ok1, 1, IAT, IAT - 1, &token, &why) ==
	    RC_BAD_REQUEST && strcmp(why.rule, "JW-08") == 0,
	    "exp before iat: RC_BAD_REQUEST JW-08");

	CHECK(jwt_mint(NULL, SUB, ok1, 1, IAT, EXP, &token, &why) ==
	    RC_INTERNAL && token == NULL, "no signer: RC_INTERNAL");

	/* Constructors refuse what they cannot pin. */
	CHECK(jwt_signer_new(NULL, kid) == NULL, "signer without key");
	CHECK(jwt_signer_new(key, "") == NULL, "signer with empty kid");
	CHECK(jwt_signer_new(key, NULL) == NULL, "signer without kid");
	CHECK(jwt_public_jwk(key, "") == NULL, "public jwk without kid");
	CHECK(jwt_public_jwk(NULL, kid) == NULL, "public jwk without key");
	jwt_signer_free(s);
	EVP_PKEY_free(key);

	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	CHECK(key != NULL && jwt_signer_new(key, kid) == NULL,
	    "no signer for a P-521 key (no pinned alg)");
	EVP_PKEY_free(key);
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CHECK(key != NULL && jwt_signer_new(key, kid) == NULL,
	    "no signer for an Ed25519 key (JW-03)");
	CHECK(key != NULL && jwt_public_jwk(key, kid) == NULL,
	    "no jwk for an Ed25519 key");
	EVP_PKEY_free(key);
	jwt_signer_free(NULL);
}

static void
test_kid(void)
{
	char a[33], b[33];
	unsigned char *raw;
	size_t len = 0;

	memset(a, '!', sizeof(a));
	jwt_new_kid(a);
	jwt_new_kid(b);
	CHECK(strlen(a) == 32 && is_b64url(a), "kid is 32 base64url chars");
	CHECK(strcmp(a, b) != 0, "two kids differ");
	raw = b64url_dec(a, &len);
	CHECK(raw != NULL && len == 24, "kid holds 24 random bytes");
	free(raw);
}

/* The key's only reference is the signer's: it must hold one. */
static void
test_ownership(void)
{
	const char *aud[] = { "reports" };
	struct jwt_signer *s;
	struct rc_why why;
	char kid[33], *pub, *token = NULL;
	EVP_PKEY *key;

	key = key_generate(KEY_EC_P256);
	jwt_new_kid(kid);
	s = jwt_signer_new(key, kid);
	pub = jwt_public_jwk(key, kid);
	EVP_PKEY_free(key);
	CHECK(s != NULL && jwt_mint(s, SUB, aud, 1, IAT, EXP, &token, &why) ==
	    RC_OK && token != NULL, "signer works after caller frees key");
	CHECK(token != NULL && pub != NULL && cjose_verify(token, pub),
	    "and its token verifies");
	free(token);
	free(pub);
	jwt_signer_free(s);
}

struct thread_arg {
	const struct jwt_signer	*s;
	const char		*pub;
	int			 bad;
};

#define THREAD_MINTS	300

static void *
on_thread(void *p)
{
	struct thread_arg *a = p;
	const char *aud[] = { "reports" };
	struct rc_why why;
	char *token;
	int i;

	for (i = 0; i < THREAD_MINTS; i++) {
		token = NULL;
		if (jwt_mint(a->s, SUB, aud, 1, IAT, EXP, &token, &why) !=
		    RC_OK || !cjose_verify(token, a->pub))
			a->bad++;
		free(token);
	}
	return NULL;
}

/* One signer shared by threads, as request threads share it. */
static void
test_threads(void)
{
	struct thread_arg args[2];
	pthread_t th[2];
	struct jwt_signer *s;
	char kid[33], *pub;
	EVP_PKEY *key;
	int i, started = 0;

	key = key_generate(KEY_EC_P256);
	jwt_new_kid(kid);
	s = jwt_signer_new(key, kid);
	pub = jwt_public_jwk(key, kid);
	for (i = 0; i < 2; i++) {
		args[i].s = s;
		args[i].pub = pub;
		args[i].bad = 0;
		if (pthread_create(&th[i], NULL, on_thread, &args[i]) == 0)
			started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	CHECK(started == 2 && args[0].bad == 0 && args[1].bad == 0,
	    "two threads mint and verify with one signer");
	free(pub);
	jwt_signer_free(s);
	EVP_PKEY_free(key);
}

int
main(void)
{
	/* No secret_init(): the module must set libsodium up itself. */
	test_kid();
	test_one(KEY_EC_P256, "ES256", "P-256", 32, EVP_sha256(), 64);
	test_one(KEY_EC_P384, "ES384", "P-384", 48, EVP_sha384(), 96);
	test_one(KEY_RSA_2048, "RS256", NULL, 0, EVP_sha256(), 256);
	test_refusals();
	test_ownership();
	test_threads();
	return check_done();
}
