/*
 * key.h: key types we generate and accept, generation, and the public
 * key forms others need (SPKI DER, JWK members).
 */
#ifndef SVIDCA_KEY_H
#define SVIDCA_KEY_H

#include <stddef.h>

#include <openssl/evp.h>

#include "../server/rc.h"

enum key_type {
	KEY_EC_P256 = 0,	/* default */
	KEY_EC_P384,
	KEY_RSA_2048,
	KEY_RSA_3072,
	KEY_RSA_4096,
};

/* "ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096". */
enum rc		 key_type_parse(const char *name, enum key_type *out)
		    MUST_CHECK;
const char	*key_type_str(enum key_type);

/* A fresh private key; NULL on failure (logged). */
EVP_PKEY	*key_generate(enum key_type);

/* JOSE algorithm for signing with this key: ES256, ES384 or RS256. */
const char	*key_jws_alg(const EVP_PKEY *);

/*
 * DER SubjectPublicKeyInfo of key into a fresh buffer (*der, caller
 * OPENSSL_free()s it).
 */
enum rc		 key_get1_spki(const EVP_PKEY *key, unsigned char **der,
		    size_t *len) MUST_CHECK;

/*
 * Which of our key types key is: RC_OK with *out set, or RC_BAD_REQUEST
 * when it is none of them (another curve, an RSA size we do not make, a
 * public exponent other than 65537, another algorithm).
 */
enum rc		 key_get_type(const EVP_PKEY *key, enum key_type *out)
		    MUST_CHECK;

struct json_t;

/*
 * Add the public JWK members of key to the JSON object obj, in this
 * order: "kty", then "crv", "x", "y" (EC P-256, P-384, P-521) or "n",
 * "e" (RSA), as RFC 7518 6.2.1 and 6.3.1 spell them (base64url, no
 * padding; EC coordinates at the curve's full width; n without a leading
 * zero byte).  Never a private member.  RC_BAD_REQUEST for another kind
 * of key, RC_CRYPTO or RC_NOMEM on failure (logged); obj may then hold
 * some of the members.
 */
enum rc		 key_encode_jwk(const EVP_PKEY *key, struct json_t *obj)
		    MUST_CHECK;

#endif
