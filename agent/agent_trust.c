/*
 * agent_trust.c: trust roots from PEM or a SPIFFE bundle (see
 * agent_trust.h).
 */
#include "agent_trust.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "../ca/spiffeid.h"
#include "../server/log.h"
#include "agent_files.h"

#define TRUST_FIELD	"trust-bundle"
#define TRUST_X5C_MAX	(16 * 1024)	/* bytes of one root's base64 */

static struct agent_trust *
trust_new(void)
{
	return calloc(1, sizeof(struct agent_trust));
}

void
agent_trust_free(struct agent_trust *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n_roots; i++)
		X509_free(t->roots[i]);
	free(t);
}

/*
 * If x carries a URI SAN spiffe://<td> naming a trust domain, copy the
 * name into td (SPIFFEID_TD_MAX + 1 bytes) and return true.
 */
static bool
get_root_td(X509 *x, char *td)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	ASN1_IA5STRING *uri;
	struct rc_why why;
	const char *s;
	int i, len;
	bool found = false;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		return false;
	for (i = 0; i < sk_GENERAL_NAME_num(gens) && !found; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_URI)
			continue;
		uri = g->d.uniformResourceIdentifier;
		s = (const char *)ASN1_STRING_get0_data(uri);
		len = ASN1_STRING_length(uri);
		if (len <= SPIFFEID_SCHEME_LEN ||
		    strncmp(s, SPIFFEID_SCHEME, SPIFFEID_SCHEME_LEN) != 0)
			continue;
		if (spiffeid_td_parse(s + SPIFFEID_SCHEME_LEN,
		    (size_t)len - SPIFFEID_SCHEME_LEN, td, TRUST_FIELD,
		    &why) == RC_OK)
			found = true;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

/* Take x into t (ownership moves); false when t is full. */
static bool
add_root(struct agent_trust *t, X509 *x)
{
	if (t->n_roots == AGENT_TRUST_ROOTS_MAX)
		return false;
	t->roots[t->n_roots++] = x;
	if (t->td[0] == '\0')
		(void)get_root_td(x, t->td);
	return true;
}

/* One x5c value (standard base64 of DER) as a certificate, or NULL. */
static X509 *
decode_x5c(const char *b64)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len, cap, der_len = 0;
	X509 *x = NULL;

	len = strlen(b64);
	if (len == 0 || len > TRUST_X5C_MAX)
		return NULL;
	cap = len / 4 * 3 + 3;
	der = malloc(cap);
	if (der == NULL)
		return NULL;
	if (sodium_base642bin(der, cap, b64, len, NULL, &der_len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	p = der;
	x = d2i_X509(NULL, &p, (long)der_len);
	if (x != NULL && p != der + der_len) {
		X509_free(x);
		x = NULL;
	}
out:
	free(der);
	return x;
}

/* The roots of a SPIFFE bundle; see agent_trust.h. */
struct agent_trust *
agent_trust_from_json(const json_t *bundle, struct rc_why *why)
{
	struct agent_trust *t = NULL;
	json_t *keys, *key, *x5c;
	const char *use;
	X509 *x;
	size_t i;

	keys = json_object_get(bundle, "keys");
	if (!json_is_array(keys)) {
		rc_why_set(why, RC_BAD_REQUEST, TRUST_FIELD,
		    "SPIFFE Trust Domain and Bundle 4.1",
		    "a SPIFFE bundle needs a \"keys\" array");
		return NULL;
	}
	t = trust_new();
	if (t == NULL) {
		rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
		return NULL;
	}

	/* SPIFFE Trust Domain and Bundle 4.2: skip a key we cannot use. */
	json_array_foreach(keys, i, key) {
		use = json_string_value(json_object_get(key, "use"));
		if (use == NULL || strcmp(use, "x509-svid") != 0)
			continue;
		x5c = json_object_get(key, "x5c");
		if (!json_is_array(x5c) || json_array_size(x5c) != 1 ||
		    !json_is_string(json_array_get(x5c, 0)))
			continue;
		x = decode_x5c(json_string_value(json_array_get(x5c, 0)));
		if (x == NULL)
			continue;
		if (!add_root(t, x)) {
			X509_free(x);
			break;
		}
	}
	if (t->n_roots == 0) {
		rc_why_set(why, RC_BAD_REQUEST, TRUST_FIELD,
		    "SPIFFE Trust Domain and Bundle 4.2.1",
		    "the bundle holds no usable X.509 authority");
		agent_trust_free(t);
		return NULL;
	}
	return t;
}

/* Every CERTIFICATE block of PEM text. */
static struct agent_trust *
parse_pem(const char *text, size_t len, struct rc_why *why)
{
	struct agent_trust *t = NULL;
	BIO *bio = NULL;
	X509 *x;

	t = trust_new();
	bio = BIO_new_mem_buf(text, (int)len);
	if (t == NULL || bio == NULL) {
		rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
		goto fail;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!add_root(t, x)) {
			X509_free(x);
			rc_why_set(why, RC_BAD_REQUEST, TRUST_FIELD, NULL,
			    "more than %d certificates",
			    AGENT_TRUST_ROOTS_MAX);
			goto fail;
		}
	}
	ERR_clear_error();	/* the end of input is an error to PEM */
	if (t->n_roots == 0) {
		rc_why_set(why, RC_BAD_REQUEST, TRUST_FIELD, NULL,
		    "no PEM certificate and no SPIFFE bundle found");
		goto fail;
	}
	BIO_free(bio);
	return t;
fail:
	BIO_free(bio);
	agent_trust_free(t);
	return NULL;
}

/* PEM certificates or a SPIFFE bundle; see agent_trust.h. */
struct agent_trust *
agent_trust_parse(const char *text, size_t len, struct rc_why *why)
{
	struct agent_trust *t;
	json_error_t jerr;
	json_t *doc;
	size_t i = 0;

	if (len > AGENT_TRUST_FILE_MAX || len > INT32_MAX) {
		rc_why_set(why, RC_TOO_LARGE, TRUST_FIELD, NULL,
		    "over %d bytes", AGENT_TRUST_FILE_MAX);
		return NULL;
	}
	while (i < len && (text[i] == ' ' || text[i] == '\t' ||
	    text[i] == '\r' || text[i] == '\n'))
		i++;
	if (i == len || text[i] != '{')
		return parse_pem(text, len, why);

	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		rc_why_set(why, RC_BAD_REQUEST, TRUST_FIELD, "RFC 8259",
		    "not JSON: %s at line %d", jerr.text, jerr.line);
		return NULL;
	}
	t = agent_trust_from_json(doc, why);
	json_decref(doc);
	return t;
}

/* Read a file and parse it; see agent_trust.h. */
struct agent_trust *
agent_trust_load(const char *path, struct rc_why *why)
{
	struct agent_trust *t;
	char *text = NULL;
	size_t len;
	enum rc rc;

	rc = agent_files_read(path, AGENT_TRUST_FILE_MAX, &text, &len);
	if (rc != RC_OK) {
		rc_why_set(why, rc, TRUST_FIELD, NULL, "cannot read %s: %s",
		    path, rc_str(rc));
		return NULL;
	}
	t = agent_trust_parse(text, len, why);
	free(text);
	return t;
}

/* A store with the roots; see agent_trust.h. */
X509_STORE *
agent_trust_get1_store(const struct agent_trust *t)
{
	X509_STORE *st;
	size_t i;

	st = X509_STORE_new();
	if (st == NULL)
		return NULL;
	for (i = 0; i < t->n_roots; i++) {
		if (X509_STORE_add_cert(st, t->roots[i]) != 1) {
			X509_STORE_free(st);
			return NULL;
		}
	}
	return st;
}

/* The roots as PEM; see agent_trust.h. */
char *
agent_trust_to_pem(const struct agent_trust *t)
{
	BIO *bio;
	char *data, *out = NULL;
	long n;
	size_t i;

	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return NULL;
	for (i = 0; i < t->n_roots; i++)
		if (PEM_write_bio_X509(bio, t->roots[i]) != 1)
			goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n < 0)
		goto out;
	out = malloc((size_t)n + 1);
	if (out == NULL)
		goto out;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
out:
	BIO_free(bio);
	return out;
}

/* Same roots, same order? */
bool
agent_trust_is_equal(const struct agent_trust *a, const struct agent_trust *b)
{
	size_t i;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->n_roots != b->n_roots || strcmp(a->td, b->td) != 0)
		return false;
	for (i = 0; i < a->n_roots; i++)
		if (X509_cmp(a->roots[i], b->roots[i]) != 0)
			return false;
	return true;
}

/* Does the chain verify against the roots now? */
bool
agent_trust_is_verified(const struct agent_trust *t, X509 *leaf,
    STACK_OF(X509) *chain, int purpose)
{
	X509_STORE *st;
	X509_STORE_CTX *vc = NULL;
	bool ok = false;

	st = agent_trust_get1_store(t);
	if (st == NULL)
		return false;
	vc = X509_STORE_CTX_new();
	if (vc == NULL || X509_STORE_CTX_init(vc, st, leaf, chain) != 1)
		goto out;
	if (X509_STORE_CTX_set_purpose(vc, purpose) != 1)
		goto out;
	ok = X509_verify_cert(vc) == 1;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(vc);
	X509_STORE_free(st);
	return ok;
}
