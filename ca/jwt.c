/*
 * jwt.c: JWT-SVID minting with cjose (checklist JW-*), and the public JWK
 * of a JWT authority.
 *
 * The signer's algorithm comes from its key and nothing else: cjose does
 * not tie "alg" to a key's curve (PROBES.md 4), so a signer never takes
 * an algorithm from a caller.
 *
 * Threads: cjose's JWK reference count is not atomic, so a signer's JWK
 * is made once, never retained or released while shared, and only read
 * by cjose_jws_sign(), which several threads may call at once.
 */
#include "jwt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <sodium.h>

#include "../server/bounds.h"
#include "../server/log.h"
#include "key.h"

#define JWT_KID_RAW	24	/* random bytes in a kid */
#define JWT_BIN_MAX	(16384 / 8)	/* bytes of the largest key part */

struct jwt_signer {
	EVP_PKEY	*key;	/* private key, one reference held */
	cjose_jwk_t	*jwk;	/* the same key for cjose, owned, read-only */
	const char	*alg;	/* static: ES256, ES384 or RS256 */
	char		*kid;	/* owned, NUL-terminated */
};

/* One big-number part of a key, in sodium_malloc memory. */
struct jwt_part {
	const char	*param;	/* OSSL_PKEY_PARAM_* name */
	uint8_t		*bin;	/* big-endian bytes, sodium_malloc */
	size_t		 len;	/* bytes in bin */
};

/*
 * Fetch key's parameter part->param into part->bin, width bytes wide
 * (0: its natural length).  The BIGNUM copy is cleared before it is freed
 * because most parts are private.
 */
static bool
get_part(const EVP_PKEY *key, struct jwt_part *part, size_t width)
{
	BIGNUM *bn = NULL;
	bool ok = false;
	int n;

	if (EVP_PKEY_get_bn_param(key, part->param, &bn) != 1)
		goto out;
	if (width == 0)
		width = (size_t)BN_num_bytes(bn);
	if (width == 0 || width > JWT_BIN_MAX)
		goto out;
	part->bin = sodium_malloc(width);
	if (part->bin == NULL)
		goto out;
	n = BN_bn2binpad(bn, part->bin, (int)width);
	if (n < 0 || (size_t)n != width)
		goto out;
	part->len = width;

	ok = true;
out:
	BN_clear_free(bn);
	return ok;
}

static void
free_parts(struct jwt_part *parts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		sodium_free(parts[i].bin);	/* wipes */
		parts[i].bin = NULL;
	}
}

/* A private cjose JWK of an EC P-256 or P-384 key. */
static cjose_jwk_t *
make_ec_jwk(const EVP_PKEY *key, enum key_type type, cjose_err *err)
{
	struct jwt_part parts[] = {
		{ OSSL_PKEY_PARAM_EC_PUB_X, NULL, 0 },
		{ OSSL_PKEY_PARAM_EC_PUB_Y, NULL, 0 },
		{ OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0 },
	};
	cjose_jwk_ec_keyspec spec;
	cjose_jwk_t *jwk = NULL;
	size_t width;
	size_t i;

	memset(&spec, 0, sizeof(spec));
	spec.crv = type == KEY_EC_P256 ? CJOSE_JWK_EC_P_256 :
	    CJOSE_JWK_EC_P_384;
	width = type == KEY_EC_P256 ? 32 : 48;
	for (i = 0; i < 3; i++)
		if (!get_part(key, &parts[i], width))
			goto out;
	spec.x = parts[0].bin;
	spec.xlen = parts[0].len;
	spec.y = parts[1].bin;
	spec.ylen = parts[1].len;
	spec.d = parts[2].bin;
	spec.dlen = parts[2].len;

	/*
	 * XXX(cjose-wipe): cjose frees its own BIGNUM copy of d without
	 * clearing it, so the scalar may linger in freed heap until reused;
	 * it happens once per JWT authority, in a process that holds the key
	 * anyway.  Fix: build the JWK from an EVP_PKEY once cjose can.
	 */
	jwk = cjose_jwk_create_EC_spec(&spec, err);
out:
	free_parts(parts, 3);
	return jwk;
}

/* A private cjose JWK of an RSA key, with its CRT parts. */
static cjose_jwk_t *
make_rsa_jwk(const EVP_PKEY *key, cjose_err *err)
{
	struct jwt_part parts[] = {
		{ OSSL_PKEY_PARAM_RSA_N, NULL, 0 },
		{ OSSL_PKEY_PARAM_RSA_E, NULL, 0 },
		{ OSSL_PKEY_PARAM_RSA_D, NULL, 0 },
		{ OSSL_PKEY_PARAM_RSA_FACTOR1, NULL, 0 },
		{ OSSL_PKEY_PARAM_RSA_FACTOR2, NULL, 0 },
		{ OSSL_PKEY_PARAM_RSA_EXPONENT1, NULL, 0 },
		{ OSSL_PKEY_PARAM_RSA_EXPONENT2, NULL, 0 },
		{ OSSL_PKEY_PARAM_RSA_COEFFICIENT1, NULL, 0 },
	};
	cjose_jwk_rsa_keyspec spec;
	cjose_jwk_t *jwk = NULL;
	size_t i;

	for (i = 0; i < 8; i++)
		if (!get_part(key, &parts[i], 0))
			goto out;
	memset(&spec, 0, sizeof(spec));
	spec.n = parts[0].bin;
	spec.nlen = parts[0].len;
	spec.e = parts[1].bin;
	spec.elen = parts[1].len;
	spec.d = parts[2].bin;
	spec.dlen = parts[2].len;
	spec.p = parts[3].bin;
	spec.plen = parts[3].len;
	spec.q = parts[4].bin;
	spec.qlen = parts[4].len;
	spec.dp = parts[5].bin;
	spec.dplen = parts[5].len;
	spec.dq = parts[6].bin;
	spec.dqlen = parts[6].len;
	spec.qi = parts[7].bin;
	spec.qilen = parts[7].len;

	jwk = cjose_jwk_create_RSA_spec(&spec, err);
out:
	free_parts(parts, 8);
	return jwk;
}

/*
 * A signer for key under kid: holds its own reference to key and a
 * private cjose JWK built from it once.  NULL (logged) for a key that is
 * not one of ours or a missing kid.  Free with jwt_signer_free().
 */
struct jwt_signer *
jwt_signer_new(EVP_PKEY *key, const char *kid)
{
	struct jwt_signer *s = NULL;
	enum key_type type;
	cjose_err err;

	memset(&err, 0, sizeof(err));
	if (key == NULL || kid == NULL || kid[0] == '\0') {
		log_error("jwt", "cannot make signer: no key or no kid");
		return NULL;
	}
	/* The key's parts pass through sodium_malloc, which needs this. */
	if (sodium_init() < 0) {
		log_error("jwt", "cannot make signer: libsodium unusable");
		return NULL;
	}
	if (key_get_type(key, &type) != RC_OK) {
		log_error("jwt", "cannot make signer: unsupported key %s",
		    EVP_PKEY_get0_type_name(key));
		return NULL;
	}

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto fail;
	s->alg = key_jws_alg(key);
	s->kid = strdup(kid);
	if (s->alg == NULL || s->kid == NULL)
		goto fail;
	if (type == KEY_EC_P256 || type == KEY_EC_P384)
		s->jwk = make_ec_jwk(key, type, &err);
	else
		s->jwk = make_rsa_jwk(key, &err);
	if (s->jwk == NULL)
		goto fail;
	if (!cjose_jwk_set_kid(s->jwk, kid, strlen(kid), &err))
		goto fail;
	if (EVP_PKEY_up_ref(key) != 1)
		goto fail;
	s->key = key;
	return s;

fail:
	log_error("jwt", "cannot make signer kid=%s cjose=\"%s\"", kid,
	    err.message != NULL ? err.message : "none");
	jwt_signer_free(s);
	return NULL;
}

/* Free a signer; NULL is fine.  No thread may still be minting. */
void
jwt_signer_free(struct jwt_signer *s)
{
	if (s == NULL)
		return;
	if (s->jwk != NULL)
		(void)cjose_jwk_release(s->jwk);
	EVP_PKEY_free(s->key);
	free(s->kid);
	free(s);
}

/*
 * Check what goes into the claims.  JWT-SVID 3.2 (JW-07): aud is present
 * with at least one value; an empty string names no one, so it counts as
 * none.  The ceilings come from bounds.h.
 */
static enum rc
check_claims(const char *sub, const char *const *aud, size_t n_aud,
    time_t iat, time_t exp, struct rc_why *why)
{
	size_t i;

	if (sub == NULL || sub[0] == '\0')
		return rc_why_set(why, RC_BAD_REQUEST, "spiffe_id", "JW-06",
		    "JWT-SVID 3.1: sub must be the workload's SPIFFE ID; "
		    "it is empty");
	if (n_aud == 0 || aud == NULL)
		return rc_why_set(why, RC_BAD_REQUEST, "audience", "JW-07",
		    "JWT-SVID 3.2: aud must hold at least one value; none "
		    "given");
	if (n_aud > JWT_AUD_MAX)
		return rc_why_set(why, RC_TOO_LARGE, "audience", NULL,
		    "%zu audiences, at most %d allowed", n_aud, JWT_AUD_MAX);
	for (i = 0; i < n_aud; i++) {
		if (aud[i] == NULL || aud[i][0] == '\0')
			return rc_why_set(why, RC_BAD_REQUEST, "audience",
			    "JW-07", "JWT-SVID 3.2: audience %zu is empty",
			    i);
		if (strlen(aud[i]) > JWT_AUD_LEN_MAX)
			return rc_why_set(why, RC_TOO_LARGE, "audience",
			    NULL, "audience %zu is longer than %d bytes", i,
			    JWT_AUD_LEN_MAX);
	}
	if (exp <= iat)
		return rc_why_set(why, RC_BAD_REQUEST, "ttl", "JW-08",
		    "JWT-SVID 3.3: exp must come after iat");
	return RC_OK;
}

/*
 * The claims {"sub", "aud", "exp", "iat"} as compact JSON (*out, caller
 * free()s).  aud is always an array, even of one: RFC 7519 4.1.3 allows
 * either form, SPIRE emits an array, and one shape is simpler for every
 * consumer (checklist SI-05).
 */
static enum rc
encode_claims(const char *sub, const char *const *aud, size_t n_aud,
    time_t iat, time_t exp, char **out, struct rc_why *why)
{
	enum rc rc = RC_NOMEM;
	json_t *claims = NULL;
	json_t *list = NULL;
	json_t *str;
	size_t i;

	*out = NULL;
	claims = json_object();
	list = json_array();
	if (claims == NULL || list == NULL)
		goto out;

	/* json_string() refuses text that is not UTF-8. */
	str = json_string(sub);
	if (str == NULL) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "spiffe_id", "JW-06",
		    "JWT-SVID 3.1: sub is not valid UTF-8");
		goto out;
	}
	if (json_object_set_new(claims, "sub", str) != 0)
		goto out;
	for (i = 0; i < n_aud; i++) {
		str = json_string(aud[i]);
		if (str == NULL) {
			rc = rc_why_set(why, RC_BAD_REQUEST, "audience",
			    "JW-07", "audience %zu is not valid UTF-8", i);
			goto out;
		}
		if (json_array_append_new(list, str) != 0)
			goto out;
	}
	if (json_object_set_new(claims, "aud", list) != 0) {
		list = NULL;
		goto out;
	}
	list = NULL;
	if (json_object_set_new(claims, "exp",
	    json_integer((json_int_t)exp)) != 0)
		goto out;
	if (json_object_set_new(claims, "iat",
	    json_integer((json_int_t)iat)) != 0)
		goto out;

	*out = json_dumps(claims, JSON_COMPACT);
	if (*out == NULL)
		goto out;

	rc = RC_OK;
out:
	json_decref(list);
	json_decref(claims);
	return rc;
}

/*
 * The JOSE header: alg from the key, kid, typ "JWT", and nothing else
 * (JWT-SVID 2, JW-02: any other header member is forbidden).
 */
static cjose_header_t *
make_header(const struct jwt_signer *s, cjose_err *err)
{
	cjose_header_t *hdr;

	hdr = cjose_header_new(err);
	if (hdr == NULL)
		return NULL;
	if (!cjose_header_set(hdr, CJOSE_HDR_ALG, s->alg, err) ||
	    !cjose_header_set(hdr, CJOSE_HDR_KID, s->kid, err) ||
	    !cjose_header_set(hdr, "typ", "JWT", err)) {
		cjose_header_release(hdr);
		return NULL;
	}
	return hdr;
}

/*
 * Mint a JWT-SVID (see jwt.h).  Client faults (RC_BAD_REQUEST,
 * RC_TOO_LARGE) fill why and are not logged; RC_CRYPTO and RC_NOMEM are.
 * Safe to call from several threads on one signer.
 */
enum rc
jwt_mint(const struct jwt_signer *s, const char *sub,
    const char *const *aud, size_t n_aud, time_t iat, time_t exp,
    char **token, struct rc_why *why)
{
	enum rc rc = RC_INTERNAL;
	cjose_header_t *hdr = NULL;
	cjose_jws_t *jws = NULL;
	const char *compact = NULL;
	char *payload = NULL;
	cjose_err err;

	memset(&err, 0, sizeof(err));
	*token = NULL;
	if (s == NULL)
		goto out;

	rc = check_claims(sub, aud, n_aud, iat, exp, why);
	if (rc != RC_OK)
		goto out;

	rc = encode_claims(sub, aud, n_aud, iat, exp, &payload, why);
	if (rc != RC_OK)
		goto out;

	rc = RC_CRYPTO;
	hdr = make_header(s, &err);
	if (hdr != NULL)
		jws = cjose_jws_sign(s->jwk, hdr, (const uint8_t *)payload,
		    strlen(payload), &err);
	/* The compact text belongs to jws. */
	if (jws == NULL || !cjose_jws_export(jws, &compact, &err)) {
		log_error("jwt", "cannot sign jwt-svid kid=%s cjose=\"%s\"",
		    s->kid, err.message != NULL ? err.message : "none");
		goto out;
	}

	rc = RC_NOMEM;
	*token = strdup(compact);
	if (*token == NULL)
		goto out;

	rc = RC_OK;
out:
	cjose_jws_release(jws);
	cjose_header_release(hdr);
	free(payload);
	return rc;
}

/*
 * The public JWK text of key for kid (see jwt.h), members in the order
 * use, kty, crv, x, y (or n, e), kid; caller free()s.  NULL, logged, for
 * a key we cannot publish or an empty kid.
 */
char *
jwt_public_jwk(EVP_PKEY *key, const char *kid)
{
	json_t *jwk = NULL;
	char *text = NULL;

	/* JWT-SVID 6.1 (JW-13, BN-12): every jwt-svid key carries a kid. */
	if (key == NULL || kid == NULL || kid[0] == '\0') {
		log_error("jwt", "cannot publish jwk: no key or no kid");
		return NULL;
	}

	jwk = json_object();
	if (jwk == NULL)
		goto out;
	if (json_object_set_new(jwk, "use", json_string("jwt-svid")) != 0)
		goto out;
	if (key_encode_jwk(key, jwk) != RC_OK)
		goto out;
	if (json_object_set_new(jwk, "kid", json_string(kid)) != 0)
		goto out;

	text = json_dumps(jwk, JSON_COMPACT);
out:
	if (text == NULL)
		log_error("jwt", "cannot publish jwk kid=%s", kid);
	json_decref(jwk);
	return text;
}

/* A fresh kid: 24 random bytes, base64url, 32 chars + NUL into out. */
void
jwt_new_kid(char *out)
{
	unsigned char raw[JWT_KID_RAW];

	randombytes_buf(raw, sizeof(raw));
	(void)sodium_bin2base64(out, sodium_base64_ENCODED_LEN(JWT_KID_RAW,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
