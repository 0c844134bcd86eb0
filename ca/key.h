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

#endif
