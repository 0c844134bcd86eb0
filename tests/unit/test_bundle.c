/*
 * test_bundle.c: SPIFFE bundle assembly (bundle.c, checklist BN-*).  The
 * roots are self-signed CA certificates made here with OpenSSL; the JSON
 * is parsed back with jansson and every member of every key checked
 * against the certificate or key it came from.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "check.h"
#include "../../ca/bundle.h"
#include "../../ca/key.h"

#define NROOT	3
#define NJWT	3

static bool
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	bool ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return false;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* A self-signed SPIFFE CA certificate for key (X509-SVID 4.1, 4.3). */
static X509 *
make_root(EVP_PKEY *key, long serial)
{
	X509_NAME *name;
	X509 *x;

	x = X509_new();
	if (x == NULL)
		return NULL;
	name = X509_get_subject_name(x);
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"SPIFFE", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    !add_ext(x, NID_basic_constraints, "critical,CA:TRUE") ||
	    !add_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(x, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, NID_subject_alt_name, "URI:spiffe://example.org") ||
	    X509_sign(x, key, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Decode base64 of the given sodium variant (malloc'd); NULL if bad. */
static unsigned char *
b64_dec(const char *text, int variant, size_t *len)
{
	size_t max = strlen(text) * 3 / 4 + 3;
	const char *end = NULL;
	unsigned char *bin;

	bin = malloc(max);
	if (bin == NULL)
		return NULL;
	if (sodium_base642bin(bin, max, text, strlen(text), NULL, len, &end,
	    variant) != 0 || *end != '\0') {
		free(bin);
		return NULL;
	}
	return bin;
}

static const char *
str_member(json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL ? s : "";
}

/* BN-09: only the members the bundle and SVID specs define. */
static bool
has_only_allowed(json_t *jwk)
{
	static const char *allowed[] = {
		"kty", "use", "kid", "x5c", "n", "e", "crv", "x", "y",
	};
	const char *name;
	json_t *v;
	size_t i;

	json_object_foreach(jwk, name, v) {
		for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			if (strcmp(name, allowed[i]) == 0)
				break;
		if (i == sizeof(allowed) / sizeof(allowed[0]))
			return false;
	}
	return true;
}

/*
 * BN-17: the JWK's key members equal key, byte for byte: EC x and y at
 * full width against the uncompressed point, RSA n without a leading
 * zero against the modulus, e against the exponent.
 */
static bool
is_same_key(json_t *jwk, EVP_PKEY *key)
{
	unsigned char pt[200], nb[1024], eb[16];
	unsigned char *x = NULL, *y = NULL, *n = NULL, *e = NULL;
	size_t xl = 0, yl = 0, nl = 0, el = 0, ptl = 0, w;
	const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	BIGNUM *bn = NULL, *be = NULL;
	bool ok = false;
	int nbl, ebl;

	if (strcmp(str_member(jwk, "kty"), "EC") == 0) {
		if (EVP_PKEY_get_octet_string_param(key,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptl) != 1 ||
		    ptl < 3 || pt[0] != 0x04)
			return false;
		w = (ptl - 1) / 2;
		if (strcmp(str_member(jwk, "crv"),
		    w == 32 ? "P-256" : w == 48 ? "P-384" : "?") != 0)
			return false;
		x = b64_dec(str_member(jwk, "x"), v, &xl);
		y = b64_dec(str_member(jwk, "y"), v, &yl);
		ok = x != NULL && y != NULL && xl == w && yl == w &&
		    memcmp(pt + 1, x, w) == 0 && memcmp(pt + 1 + w, y, w) == 0;
	} else if (strcmp(str_member(jwk, "kty"), "RSA") == 0) {
		if (EVP_PKEY_get_bn_param(key, "n", &bn) != 1 ||
		    EVP_PKEY_get_bn_param(key, "e", &be) != 1)
			goto out;
		nbl = BN_bn2bin(bn, nb);
		ebl = BN_bn2bin(be, eb);
		n = b64_dec(str_member(jwk, "n"), v, &nl);
		e = b64_dec(str_member(jwk, "e"), v, &el);
		ok = n != NULL && e != NULL && nl == (size_t)nbl &&
		    n[0] != 0 && memcmp(n, nb, nl) == 0 &&
		    el == (size_t)ebl && memcmp(e, eb, el) == 0;
	}
out:
	BN_free(bn);
	BN_free(be);
	free(x);
	free(y);
	free(n);
	free(e);
	return ok;
}

static void
check_x509_key(json_t *jwk, X509 *root)
{
	unsigned char *der = NULL, *bin = NULL;
	const unsigned char *p;
	const char *b64;
	json_t *x5c;
	X509 *back = NULL;
	size_t len = 0;
	int n;

	CHECK(strcmp(str_member(jwk, "use"), "x509-svid") == 0,
	    "x509 key: use x509-svid (BN-08)");
	CHECK(json_object_get(jwk, "kid") == NULL, "x509 key: no kid (BN-10)");
	CHECK(has_only_allowed(jwk), "x509 key: no extra member (BN-09)");
	CHECK(json_object_size(jwk) ==
	    (strcmp(str_member(jwk, "kty"), "EC") == 0 ? 6U : 5U),
	    "x509 key: use, kty, key members, x5c and nothing else");
	x5c = json_object_get(jwk, "x5c");
	CHECK(json_is_array(x5c) && json_array_size(x5c) == 1,
	    "x509 key: x5c holds exactly one certificate (BN-10, IO-02)");
	b64 = json_string_value(json_array_get(x5c, 0));
	CHECK(b64 != NULL && strlen(b64) % 4 == 0 &&
	    strpbrk(b64, "-_") == NULL,
	    "x5c is standard base64 with padding (BN-17)");
	if (b64 != NULL)
		bin = b64_dec(b64, sodium_base64_VARIANT_ORIGINAL, &len);
	n = i2d_X509(root, &der);
	CHECK(bin != NULL && n > 0 && len == (size_t)n &&
	    memcmp(bin, der, len) == 0, "x5c[0] decodes to the root's DER");
	p = bin;
	if (bin != NULL)
		back = d2i_X509(NULL, &p, (long)len);
	CHECK(back != NULL && X509_cmp(back, root) == 0,
	    "x5c[0] parses as the root");
	CHECK(is_same_key(jwk, X509_get0_pubkey(root)),
	    "x509 key members equal the certificate's key (BN-17)");
	X509_free(back);
	OPENSSL_free(der);
	free(bin);
}

static void
check_jwt_key(json_t *jwk, EVP_PKEY *key, const char *kid)
{
	CHECK(strcmp(str_member(jwk, "use"), "jwt-svid") == 0,
	    "jwt key: use jwt-svid (BN-08)");
	CHECK(strcmp(str_member(jwk, "kid"), kid) == 0,
	    "jwt key: its kid (BN-12)");
	CHECK(json_object_get(jwk, "x5c") == NULL, "jwt key: no x5c");
	CHECK(has_only_allowed(jwk), "jwt key: no extra member (BN-09)");
	CHECK(json_object_size(jwk) ==
	    (strcmp(str_member(jwk, "kty"), "EC") == 0 ? 6U : 5U),
	    "jwt key: use, kty, key members, kid and nothing else");
	CHECK(is_same_key(jwk, key), "jwt key members equal the key");
}

static void
test_json(X509 **roots, EVP_PKEY **jkeys, const char **kids)
{
	struct bundle_input in;
	json_t *doc, *keys;
	char *text;
	size_t i;

	memset(&in, 0, sizeof(in));
	in.roots = roots;
	in.n_roots = NROOT;
	in.jwt_keys = jkeys;
	in.jwt_kids = kids;
	in.n_jwt = NJWT;
	in.sequence = 42;
	in.refresh_hint = 300;

	text = bundle_to_json(&in);
	CHECK(text != NULL, "bundle_to_json");
	if (text == NULL)
		return;
	doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	CHECK(json_is_object(doc), "bundle is one JSON object (BN-01)");
	CHECK(json_object_size(doc) == 3,
	    "top level is keys, spiffe_sequence, spiffe_refresh_hint");
	CHECK(json_is_integer(json_object_get(doc, "spiffe_sequence")) &&
	    json_integer_value(json_object_get(doc, "spiffe_sequence")) == 42,
	    "spiffe_sequence (BN-03)");
	CHECK(json_is_integer(json_object_get(doc, "spiffe_refresh_hint")) &&
	    json_integer_value(json_object_get(doc, "spiffe_refresh_hint")) ==
	    300, "spiffe_refresh_hint (BN-04)");
	CHECK(strstr(text, "\"spiffe_sequence\":42,") != NULL &&
	    strstr(text, "\"spiffe_refresh_hint\":300}") != NULL,
	    "plain JSON integers (IO-05)");

	keys = json_object_get(doc, "keys");
	CHECK(json_is_array(keys) && json_array_size(keys) == NROOT + NJWT,
	    "one key per root and per JWT key (BN-05)");
	for (i = 0; json_is_array(keys) && i < NROOT; i++)
		check_x509_key(json_array_get(keys, i), roots[i]);
	for (i = 0; json_is_array(keys) && i < NJWT; i++)
		check_jwt_key(json_array_get(keys, NROOT + i), jkeys[i],
		    kids[i]);
	json_decref(doc);
	free(text);
}

static void
test_refusals(X509 **roots, EVP_PKEY **jkeys)
{
	const char *dup[] = { "kid-a", "kid-b", "kid-a" };
	const char *empty[] = { "kid-a", "", "kid-c" };
	const char *null[] = { "kid-a", NULL, "kid-c" };
	const char *ok[] = { "kid-a", "kid-b", "kid-c" };
	X509 *holey[] = { roots[0], NULL };
	EVP_PKEY *ed[1];
	struct bundle_input in;
	char *text;

	memset(&in, 0, sizeof(in));
	in.sequence = 1;
	in.refresh_hint = 300;

	/* No key at all is a valid bundle: every key revoked (BN-05). */
	text = bundle_to_json(&in);
	CHECK(text != NULL && strcmp(text, "{\"keys\":[],\"spiffe_sequence\""
	    ":1,\"spiffe_refresh_hint\":300}") == 0,
	    "empty bundle is exactly keys [] with the two members");
	free(text);
	text = bundle_to_pem(&in);
	CHECK(text != NULL && text[0] == '\0', "empty bundle: empty PEM");
	free(text);

	in.jwt_keys = jkeys;
	in.n_jwt = NJWT;
	in.jwt_kids = dup;
	CHECK(bundle_to_json(&in) == NULL, "duplicate kid refused (BN-12)");
	in.jwt_kids = empty;
	CHECK(bundle_to_json(&in) == NULL, "empty kid refused (BN-12)");
	in.jwt_kids = null;
	CHECK(bundle_to_json(&in) == NULL, "missing kid refused (IO-04)");
	in.jwt_kids = NULL;
	CHECK(bundle_to_json(&in) == NULL, "no kid array refused");
	in.jwt_kids = ok;

	in.refresh_hint = 0;
	CHECK(bundle_to_json(&in) == NULL, "refresh hint 0 refused (BN-04)");
	in.refresh_hint = -5;
	CHECK(bundle_to_json(&in) == NULL, "negative refresh hint refused");
	in.refresh_hint = 300;

	in.sequence = (uint64_t)INT64_MAX + 1;
	CHECK(bundle_to_json(&in) == NULL,
	    "sequence above 2^63-1 refused (IO-05)");
	in.sequence = (uint64_t)INT64_MAX;
	text = bundle_to_json(&in);
	CHECK(text != NULL && strstr(text,
	    "\"spiffe_sequence\":9223372036854775807,") != NULL,
	    "sequence 2^63-1 written as a plain integer");
	free(text);
	in.sequence = 1;

	in.roots = holey;
	in.n_roots = 2;
	CHECK(bundle_to_json(&in) == NULL, "NULL root refused");
	CHECK(bundle_to_pem(&in) == NULL, "NULL root refused in PEM");
	in.roots = NULL;
	CHECK(bundle_to_json(&in) == NULL, "no root array refused");
	in.n_roots = 0;

	ed[0] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	in.jwt_keys = ed;
	in.n_jwt = 1;
	CHECK(ed[0] != NULL && bundle_to_json(&in) == NULL,
	    "Ed25519 JWT key refused (JW-03)");
	EVP_PKEY_free(ed[0]);

	CHECK(bundle_to_json(NULL) == NULL, "NULL input refused");
	CHECK(bundle_to_pem(NULL) == NULL, "NULL input refused in PEM");
}

static void
test_pem(X509 **roots)
{
	struct bundle_input in;
	X509 *x;
	char *text;
	BIO *bio;
	size_t i;

	memset(&in, 0, sizeof(in));
	in.roots = roots;
	in.n_roots = NROOT;
	in.refresh_hint = 300;
	text = bundle_to_pem(&in);
	CHECK(text != NULL && strncmp(text, "-----BEGIN CERTIFICATE-----\n",
	    28) == 0, "bundle_to_pem starts with a certificate");
	if (text == NULL)
		return;
	bio = BIO_new_mem_buf(text, -1);
	for (i = 0; i < NROOT; i++) {
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		CHECK(x != NULL && X509_cmp(x, roots[i]) == 0,
		    "PEM certificate equals the root, in order");
		X509_free(x);
	}
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	CHECK(x == NULL, "PEM holds exactly the roots");
	X509_free(x);
	BIO_free(bio);
	free(text);
}

int
main(void)
{
	static const enum key_type rtypes[NROOT] = {
		KEY_EC_P256, KEY_EC_P384, KEY_RSA_2048,
	};
	static const enum key_type jtypes[NJWT] = {
		KEY_EC_P256, KEY_RSA_2048, KEY_EC_P384,
	};
	const char *kids[NJWT] = {
		"Y2FzdGxlLXJvY2s", "cml2ZXItc3RvbmU", "aGlsbC1tb3Nz",
	};
	EVP_PKEY *rkeys[NROOT] = { NULL }, *jkeys[NJWT] = { NULL };
	X509 *roots[NROOT] = { NULL };
	bool ready = true;
	size_t i;

	for (i = 0; i < NROOT; i++) {
		rkeys[i] = key_generate(rtypes[i]);
		roots[i] = rkeys[i] != NULL ? make_root(rkeys[i],
		    (long)i + 1) : NULL;
		ready = ready && roots[i] != NULL;
	}
	for (i = 0; i < NJWT; i++) {
		jkeys[i] = key_generate(jtypes[i]);
		ready = ready && jkeys[i] != NULL;
	}
	CHECK(ready, "roots and JWT keys made");
	if (ready) {
		test_json(roots, jkeys, kids);
		test_refusals(roots, jkeys);
		test_pem(roots);
	}
	for (i = 0; i < NROOT; i++) {
		X509_free(roots[i]);
		EVP_PKEY_free(rkeys[i]);
	}
	for (i = 0; i < NJWT; i++)
		EVP_PKEY_free(jkeys[i]);
	return check_done();
}
