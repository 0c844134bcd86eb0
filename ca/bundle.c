/*
 * bundle.c: the SPIFFE trust bundle (checklist BN-*), as JSON for the
 * bundle endpoint and as PEM for the CLI.
 *
 * A bundle is a JWK Set.  Each key holds "use", the RFC 7518 members of
 * its public key and either one "x5c" (X.509 authority) or a "kid" (JWT
 * authority), and nothing else (BN-09): no "alg", no "key_ops", no
 * private member.  Every x509-svid key carries its full public key too,
 * since go-jose refuses a JWK without one (IO-03).
 */
#include "bundle.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "../server/log.h"
#include "key.h"

/* Standard base64 with padding of len bytes, malloc'd (RFC 7517 4.7). */
static char *
encode_b64(const unsigned char *bin, size_t len)
{
	size_t tlen;
	char *text;

	tlen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	text = malloc(tlen);
	if (text == NULL)
		return NULL;
	(void)sodium_bin2base64(text, tlen, bin, len,
	    sodium_base64_VARIANT_ORIGINAL);
	return text;
}

/*
 * The JWK of an X.509 authority.  X509-SVID 6.1 (BN-10): use
 * "x509-svid", no kid, and x5c holding exactly the one CA certificate as
 * standard base64 of its DER; the key members are the certificate's own
 * (BN-17), so the two can never disagree.
 */
static json_t *
make_x509_key(X509 *root)
{
	json_t *result = NULL;
	json_t *jwk = NULL;
	json_t *x5c = NULL;
	unsigned char *der = NULL;
	char *b64 = NULL;
	EVP_PKEY *pub;
	int n;

	jwk = json_object();
	x5c = json_array();
	if (jwk == NULL || x5c == NULL)
		goto out;
	if (json_object_set_new(jwk, "use", json_string("x509-svid")) != 0)
		goto out;
	pub = X509_get0_pubkey(root);
	if (pub == NULL || key_encode_jwk(pub, jwk) != RC_OK)
		goto out;

	n = i2d_X509(root, &der);
	if (n <= 0)
		goto out;
	b64 = encode_b64(der, (size_t)n);
	if (b64 == NULL)
		goto out;
	if (json_array_append_new(x5c, json_string(b64)) != 0)
		goto out;
	if (json_object_set_new(jwk, "x5c", x5c) != 0) {
		x5c = NULL;
		goto out;
	}
	x5c = NULL;

	result = jwk;
	jwk = NULL;
out:
	free(b64);
	OPENSSL_free(der);
	json_decref(x5c);
	json_decref(jwk);
	return result;
}

/*
 * The JWK of a JWT authority.  JWT-SVID 6.1 (JW-13, BN-12): use
 * "jwt-svid" and a kid, the one that JWT-SVIDs it signs carry.
 */
static json_t *
make_jwt_key(const EVP_PKEY *key, const char *kid)
{
	json_t *jwk;

	jwk = json_object();
	if (jwk == NULL)
		return NULL;
	if (json_object_set_new(jwk, "use", json_string("jwt-svid")) != 0 ||
	    key_encode_jwk(key, jwk) != RC_OK ||
	    json_object_set_new(jwk, "kid", json_string(kid)) != 0) {
		json_decref(jwk);
		return NULL;
	}
	return jwk;
}

/*
 * Refuse an input that would make a bundle some consumer rejects whole:
 * a JWT key without a kid (IO-04), two keys with one kid (BN-12), a
 * sequence a signed 64-bit JSON integer cannot carry or a refresh hint
 * that is not a positive number of seconds (BN-04, IO-05).
 */
static bool
is_input_good(const struct bundle_input *in)
{
	size_t i;
	size_t j;

	if ((in->n_roots > 0 && in->roots == NULL) ||
	    (in->n_jwt > 0 && (in->jwt_keys == NULL ||
	    in->jwt_kids == NULL))) {
		log_error("bundle", "cannot build bundle: missing arrays");
		return false;
	}
	for (i = 0; i < in->n_roots; i++) {
		if (in->roots[i] == NULL) {
			log_error("bundle", "cannot build bundle: root %zu "
			    "missing", i);
			return false;
		}
	}
	for (i = 0; i < in->n_jwt; i++) {
		if (in->jwt_keys[i] == NULL || in->jwt_kids[i] == NULL ||
		    in->jwt_kids[i][0] == '\0') {
			log_error("bundle", "cannot build bundle: jwt key %zu "
			    "has no key or no kid (BN-12)", i);
			return false;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(in->jwt_kids[i], in->jwt_kids[j]) == 0) {
				log_error("bundle", "cannot build bundle: kid "
				    "%s appears twice (BN-12)",
				    in->jwt_kids[i]);
				return false;
			}
		}
	}
	if (in->sequence > (uint64_t)INT64_MAX) {
		log_error("bundle", "cannot build bundle: sequence %llu "
		    "above 2^63-1", (unsigned long long)in->sequence);
		return false;
	}
	if (in->refresh_hint <= 0) {
		log_error("bundle", "cannot build bundle: refresh hint %ld "
		    "not positive (BN-04)", in->refresh_hint);
		return false;
	}
	return true;
}

/*
 * The bundle as compact JSON: {"keys":[x509 roots..., jwt keys...],
 * "spiffe_sequence":N,"spiffe_refresh_hint":S}, keys in input order.
 * Caller free()s.  NULL, logged, for an input some consumer would reject
 * (see is_input_good) or on failure.
 */
char *
bundle_to_json(const struct bundle_input *in)
{
	json_t *doc = NULL;
	json_t *keys = NULL;
	json_t *jwk;
	char *text = NULL;
	bool logged = false;
	size_t i;

	if (in == NULL || !is_input_good(in))
		return NULL;

	doc = json_object();
	keys = json_array();
	if (doc == NULL || keys == NULL)
		goto out;

	for (i = 0; i < in->n_roots; i++) {
		jwk = make_x509_key(in->roots[i]);
		if (jwk == NULL || json_array_append_new(keys, jwk) != 0) {
			log_error("bundle", "cannot encode root %zu", i);
			logged = true;
			goto out;
		}
	}
	for (i = 0; i < in->n_jwt; i++) {
		jwk = make_jwt_key(in->jwt_keys[i], in->jwt_kids[i]);
		if (jwk == NULL || json_array_append_new(keys, jwk) != 0) {
			log_error("bundle", "cannot encode jwt key kid=%s",
			    in->jwt_kids[i]);
			logged = true;
			goto out;
		}
	}

	/* SPIFFE bundle 4.1: keys, then spiffe_sequence and the hint. */
	if (json_object_set_new(doc, "keys", keys) != 0) {
		keys = NULL;
		goto out;
	}
	keys = NULL;
	if (json_object_set_new(doc, "spiffe_sequence",
	    json_integer((json_int_t)in->sequence)) != 0)
		goto out;
	if (json_object_set_new(doc, "spiffe_refresh_hint",
	    json_integer((json_int_t)in->refresh_hint)) != 0)
		goto out;

	text = json_dumps(doc, JSON_COMPACT);
out:
	if (text == NULL && !logged)
		log_error("bundle", "cannot build bundle json: no memory");
	json_decref(keys);
	json_decref(doc);
	return text;
}

/*
 * The roots as PEM certificates one after another, in input order ("" for
 * none); caller free()s.  NULL, logged, on failure.
 */
char *
bundle_to_pem(const struct bundle_input *in)
{
	BIO *bio = NULL;
	char *text = NULL;
	char *data;
	long len;
	size_t i;

	if (in == NULL || (in->n_roots > 0 && in->roots == NULL))
		goto out;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		goto out;
	for (i = 0; i < in->n_roots; i++)
		if (in->roots[i] == NULL ||
		    PEM_write_bio_X509(bio, in->roots[i]) != 1)
			goto out;

	len = BIO_get_mem_data(bio, &data);
	if (len < 0)
		goto out;
	text = malloc((size_t)len + 1);
	if (text == NULL)
		goto out;
	if (len > 0)
		memcpy(text, data, (size_t)len);
	text[len] = '\0';
out:
	if (text == NULL)
		log_error("bundle", "cannot build bundle pem");
	BIO_free(bio);
	return text;
}
