/*
 * key.c: the key types we make and accept, their generation, and the
 * public forms other modules publish (SPKI DER, JWK members).
 */
#include "key.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "../server/log.h"

#define KEY_RSA_E	65537UL	/* the only public exponent we make or take */
#define KEY_EC_MAX	66	/* bytes of a P-521 coordinate */
#define KEY_RSA_MAX	(16384 / 8)	/* bytes of the largest n we encode */

static const struct {
	enum key_type	 type;
	const char	*name;		/* configuration spelling */
	int		 nid;		/* curve, or NID_undef for RSA */
	int		 bits;		/* RSA modulus size, 0 for EC */
	const char	*alg;		/* JOSE algorithm, RFC 7518 3.1 */
} key_types[] = {
	{ KEY_EC_P256,	"ec-p256",  NID_X9_62_prime256v1, 0,	"ES256" },
	{ KEY_EC_P384,	"ec-p384",  NID_secp384r1,	  0,	"ES384" },
	{ KEY_RSA_2048,	"rsa-2048", NID_undef,		  2048,	"RS256" },
	{ KEY_RSA_3072,	"rsa-3072", NID_undef,		  3072,	"RS256" },
	{ KEY_RSA_4096,	"rsa-4096", NID_undef,		  4096,	"RS256" },
};

#define KEY_NTYPES	(sizeof(key_types) / sizeof(key_types[0]))

/* The curves whose keys we can publish as JWKs (RFC 7518 6.2.1.1). */
static const struct {
	int		 nid;
	const char	*crv;		/* JWK "crv" */
	size_t		 width;		/* bytes of one coordinate */
} key_curves[] = {
	{ NID_X9_62_prime256v1,	"P-256", 32 },
	{ NID_secp384r1,	"P-384", 48 },
	{ NID_secp521r1,	"P-521", 66 },
};

#define KEY_NCURVES	(sizeof(key_curves) / sizeof(key_curves[0]))

/* Map a configuration name to its type; RC_BAD_REQUEST if unknown. */
enum rc
key_type_parse(const char *name, enum key_type *out)
{
	size_t i;

	if (name == NULL)
		return RC_BAD_REQUEST;
	for (i = 0; i < KEY_NTYPES; i++) {
		if (strcmp(name, key_types[i].name) == 0) {
			*out = key_types[i].type;
			return RC_OK;
		}
	}
	return RC_BAD_REQUEST;
}

/* The configuration name of a type; "unknown" for a bad value. */
const char *
key_type_str(enum key_type type)
{
	size_t i;

	for (i = 0; i < KEY_NTYPES; i++)
		if (key_types[i].type == type)
			return key_types[i].name;
	return "unknown";
}

/* A fresh RSA key of bits with e = 65537 stated, not left to defaults. */
static EVP_PKEY *
generate_rsa(int bits)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	OSSL_PARAM params[3];
	size_t nbits = (size_t)bits;
	unsigned long e = KEY_RSA_E;

	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (ctx == NULL)
		goto out;
	if (EVP_PKEY_keygen_init(ctx) <= 0)
		goto out;
	params[0] = OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS,
	    &nbits);
	params[1] = OSSL_PARAM_construct_ulong(OSSL_PKEY_PARAM_RSA_E, &e);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_CTX_set_params(ctx, params) <= 0)
		goto out;
	if (EVP_PKEY_generate(ctx, &key) <= 0) {
		EVP_PKEY_free(key);
		key = NULL;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/*
 * A fresh private key of type from OpenSSL's default random source;
 * caller EVP_PKEY_free()s it.  NULL on failure, logged.
 */
EVP_PKEY *
key_generate(enum key_type type)
{
	EVP_PKEY *key = NULL;
	char ossl[256];
	size_t i;

	for (i = 0; i < KEY_NTYPES; i++)
		if (key_types[i].type == type)
			break;
	if (i == KEY_NTYPES) {
		log_error("key", "cannot generate key: unknown type %d",
		    (int)type);
		return NULL;
	}

	if (key_types[i].nid != NID_undef)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
		    OBJ_nid2sn(key_types[i].nid));
	else
		key = generate_rsa(key_types[i].bits);
	if (key == NULL)
		log_error("key", "cannot generate %s key ossl=\"%s\"",
		    key_types[i].name, log_ossl(ossl, sizeof(ossl)));
	return key;
}

/* The NID of an EC key's named curve, NID_undef if it has none. */
static int
get_curve_nid(const EVP_PKEY *key)
{
	char name[80];
	size_t len = 0;
	int nid;

	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
	    name, sizeof(name), &len) != 1)
		return NID_undef;
	nid = OBJ_txt2nid(name);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(name);
	return nid;
}

/* Is key an RSA key with public exponent 65537? */
static bool
is_rsa_f4(const EVP_PKEY *key)
{
	BIGNUM *e = NULL;
	bool ok;

	if (!EVP_PKEY_is_a(key, "RSA"))
		return false;
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		return false;
	ok = BN_is_word(e, KEY_RSA_E) == 1;
	BN_free(e);
	return ok;
}

/* Which of our types key is, or RC_BAD_REQUEST (see key.h). */
enum rc
key_get_type(const EVP_PKEY *key, enum key_type *out)
{
	int nid = NID_undef;
	int bits = 0;
	size_t i;

	if (key == NULL)
		return RC_BAD_REQUEST;
	if (EVP_PKEY_is_a(key, "EC")) {
		nid = get_curve_nid(key);
		if (nid == NID_undef)
			return RC_BAD_REQUEST;
	} else if (is_rsa_f4(key)) {
		bits = EVP_PKEY_get_bits(key);
	} else {
		return RC_BAD_REQUEST;
	}

	for (i = 0; i < KEY_NTYPES; i++) {
		if (key_types[i].nid == nid && key_types[i].bits == bits) {
			*out = key_types[i].type;
			return RC_OK;
		}
	}
	return RC_BAD_REQUEST;
}

/*
 * The one JOSE algorithm key signs with (RFC 7518 3.1): ES256 for P-256,
 * ES384 for P-384, RS256 for our RSA sizes; NULL for any other key.
 * Static text.
 */
const char *
key_jws_alg(const EVP_PKEY *key)
{
	enum key_type type;
	size_t i;

	if (key_get_type(key, &type) != RC_OK)
		return NULL;
	for (i = 0; i < KEY_NTYPES; i++)
		if (key_types[i].type == type)
			return key_types[i].alg;
	return NULL;
}

/* SubjectPublicKeyInfo DER of key; caller OPENSSL_free()s *der. */
enum rc
key_get1_spki(const EVP_PKEY *key, unsigned char **der, size_t *len)
{
	enum rc rc = RC_CRYPTO;
	char ossl[256];
	int n;

	*der = NULL;
	*len = 0;
	n = i2d_PUBKEY(key, der);
	if (n <= 0) {
		log_error("key", "cannot encode public key ossl=\"%s\"",
		    log_ossl(ossl, sizeof(ossl)));
		goto out;
	}
	*len = (size_t)n;

	rc = RC_OK;
out:
	return rc;
}

/*
 * Set member name of obj to the base64url (no padding) text of a BIGNUM
 * parameter of key.  width > 0 pads to that many bytes (RFC 7518
 * 6.2.1.2: "the full coordinate size"); width 0 writes the shortest form
 * (6.3.1.1: n "MUST NOT" be "prefixed with a zero-valued octet").
 */
static enum rc
set_b64_param(json_t *obj, const char *name, const EVP_PKEY *key,
    const char *param, size_t width)
{
	enum rc rc = RC_CRYPTO;
	BIGNUM *bn = NULL;
	unsigned char bin[KEY_RSA_MAX];
	char *text = NULL;
	size_t tlen;
	int n;

	if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
		goto out;
	if (width == 0)
		width = (size_t)BN_num_bytes(bn);
	if (width == 0 || width > sizeof(bin))
		goto out;
	n = BN_bn2binpad(bn, bin, (int)width);
	if (n < 0 || (size_t)n != width)
		goto out;

	tlen = sodium_base64_ENCODED_LEN(width,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	text = malloc(tlen);
	if (text == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	(void)sodium_bin2base64(text, tlen, bin, width,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (json_object_set_new(obj, name, json_string(text)) != 0) {
		rc = RC_NOMEM;
		goto out;
	}

	rc = RC_OK;
out:
	free(text);
	BN_free(bn);
	return rc;
}

/* The EC members of a JWK: "kty", "crv", "x", "y" (RFC 7518 6.2.1). */
static enum rc
encode_ec(const EVP_PKEY *key, json_t *obj)
{
	enum rc rc = RC_BAD_REQUEST;
	size_t i;
	int nid;

	nid = get_curve_nid(key);
	for (i = 0; i < KEY_NCURVES; i++)
		if (key_curves[i].nid == nid)
			break;
	if (i == KEY_NCURVES) {
		log_error("key", "cannot encode jwk: unsupported curve "
		    "nid=%d", nid);
		goto out;
	}

	rc = RC_NOMEM;
	if (json_object_set_new(obj, "kty", json_string("EC")) != 0)
		goto out;
	if (json_object_set_new(obj, "crv",
	    json_string(key_curves[i].crv)) != 0)
		goto out;

	rc = set_b64_param(obj, "x", key, OSSL_PKEY_PARAM_EC_PUB_X,
	    key_curves[i].width);
	if (rc != RC_OK)
		goto out;

	rc = set_b64_param(obj, "y", key, OSSL_PKEY_PARAM_EC_PUB_Y,
	    key_curves[i].width);
	if (rc != RC_OK)
		goto out;

	rc = RC_OK;
out:
	return rc;
}

/* The RSA members of a JWK: "kty", "n", "e" (RFC 7518 6.3.1). */
static enum rc
encode_rsa(const EVP_PKEY *key, json_t *obj)
{
	enum rc rc = RC_NOMEM;

	if (json_object_set_new(obj, "kty", json_string("RSA")) != 0)
		goto out;

	rc = set_b64_param(obj, "n", key, OSSL_PKEY_PARAM_RSA_N, 0);
	if (rc != RC_OK)
		goto out;

	rc = set_b64_param(obj, "e", key, OSSL_PKEY_PARAM_RSA_E, 0);
	if (rc != RC_OK)
		goto out;

	rc = RC_OK;
out:
	return rc;
}

/* Add key's public JWK members to obj (see key.h). */
enum rc
key_encode_jwk(const EVP_PKEY *key, json_t *obj)
{
	enum rc rc = RC_BAD_REQUEST;
	char ossl[256];

	if (key == NULL || obj == NULL)
		return RC_INTERNAL;

	if (EVP_PKEY_is_a(key, "EC"))
		rc = encode_ec(key, obj);
	else if (EVP_PKEY_is_a(key, "RSA"))
		rc = encode_rsa(key, obj);
	else
		log_error("key", "cannot encode jwk: unsupported key type %s",
		    EVP_PKEY_get0_type_name(key));

	if (rc == RC_CRYPTO || rc == RC_NOMEM)
		log_error("key", "cannot encode jwk: %s ossl=\"%s\"",
		    rc_str(rc), log_ossl(ossl, sizeof(ossl)));
	return rc;
}
