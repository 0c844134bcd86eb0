/*
 * agent_svid.c: SVIDs the agent holds, their CSRs and their files (see
 * agent_svid.h).
 */
#include "agent_svid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "../ca/cert.h"
#include "../ca/key.h"
#include "../ca/spiffeid.h"
#include "../server/log.h"
#include "agent_files.h"

#define SVID_FIELD	"svid"
#define SVID_DER_MAX	(16 * 1024)	/* bytes of one certificate */
#define SVID_NAME_MAX	256		/* bytes of a file name we build */

/* A fresh P-256 key; see agent_svid.h. */
EVP_PKEY *
agent_svid_new_key(void)
{
	return key_generate(KEY_EC_P256);
}

/* A CSR for key, base64 of DER; see agent_svid.h. */
char *
agent_svid_make_csr(EVP_PKEY *key)
{
	X509_REQ *req = NULL;
	unsigned char *der = NULL;
	char ossl[256], *b64 = NULL;
	size_t b64_len;
	int n;

	req = X509_REQ_new();
	if (req == NULL || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		log_error("agent", "cannot make a CSR ossl=\"%s\"",
		    log_ossl(ossl, sizeof(ossl)));
		goto out;
	}
	n = i2d_X509_REQ(req, &der);
	if (n <= 0) {
		log_error("agent", "cannot encode a CSR ossl=\"%s\"",
		    log_ossl(ossl, sizeof(ossl)));
		goto out;
	}
	b64_len = sodium_base64_ENCODED_LEN((size_t)n,
	    sodium_base64_VARIANT_ORIGINAL);
	b64 = malloc(b64_len);
	if (b64 == NULL)
		goto out;
	sodium_bin2base64(b64, b64_len, der, (size_t)n,
	    sodium_base64_VARIANT_ORIGINAL);
out:
	OPENSSL_free(der);
	X509_REQ_free(req);
	return b64;
}

void
agent_svid_free(struct agent_svid *s)
{
	if (s == NULL)
		return;
	X509_free(s->leaf);
	sk_X509_pop_free(s->chain, X509_free);
	EVP_PKEY_free(s->key);
	free(s);
}

/* Lowercase hex of bytes into out (2 * len + 1 bytes). */
static void
to_hex(const unsigned char *p, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

/* The one URI SAN of x, as a checked SPIFFE ID, into id. */
static enum rc
get_uri_id(X509 *x, char *id, struct rc_why *why)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	struct spiffeid sid;
	const ASN1_IA5STRING *uri = NULL;
	int i, n_uri = 0;
	enum rc rc = RC_BAD_REQUEST;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_URI)
			continue;
		uri = g->d.uniformResourceIdentifier;
		n_uri++;
	}

	/* X509-SVID 2: "An X.509 SVID MUST contain exactly one URI SAN". */
	if (n_uri != 1) {
		rc_why_set(why, RC_BAD_REQUEST, SVID_FIELD, "X509-SVID 2",
		    "the leaf has %d URI SANs, not exactly one", n_uri);
		goto out;
	}
	if (spiffeid_parse((const char *)ASN1_STRING_get0_data(uri),
	    (size_t)ASN1_STRING_length(uri), &sid, SVID_FIELD, why) !=
	    RC_OK)
		goto out;
	memcpy(id, sid.str, sid.len + 1);

	rc = RC_OK;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

/*
 * An SVID from a leaf, its intermediates and its key: all three are
 * taken (freed on failure too).
 */
static struct agent_svid *
svid_take(X509 *leaf, STACK_OF(X509) *chain, EVP_PKEY *key,
    struct rc_why *why)
{
	struct agent_svid *s = NULL;
	const ASN1_OCTET_STRING *aki;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	size_t i;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
		goto fail;
	}
	s->leaf = leaf;
	leaf = NULL;
	s->chain = chain;
	chain = NULL;
	s->key = key;
	key = NULL;

	if (get_uri_id(s->leaf, s->id, why) != RC_OK)
		goto fail;
	if (X509_check_private_key(s->leaf, s->key) != 1) {
		ERR_clear_error();
		rc_why_set(why, RC_BAD_REQUEST, SVID_FIELD, NULL,
		    "the leaf's public key is not the one asked for");
		goto fail;
	}
	s->not_before = cert_not_before(s->leaf);
	s->not_after = cert_not_after(s->leaf);
	s->start = s->not_before;
	if (s->not_before == 0 || s->not_after <= s->not_before) {
		rc_why_set(why, RC_BAD_REQUEST, SVID_FIELD, NULL,
		    "the leaf's validity is unreadable");
		goto fail;
	}

	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(s->leaf), NULL);
	hex = bn == NULL ? NULL : BN_bn2hex(bn);
	if (hex == NULL || strlen(hex) >= sizeof(s->serial)) {
		rc_why_set(why, RC_BAD_REQUEST, SVID_FIELD, NULL,
		    "the leaf's serial is unreadable");
		goto fail;
	}
	for (i = 0; hex[i] != '\0'; i++)
		s->serial[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ?
		    hex[i] - 'A' + 'a' : hex[i]);
	s->serial[i] = '\0';

	aki = X509_get0_authority_key_id(s->leaf);
	if (aki != NULL && (size_t)ASN1_STRING_length(aki) * 2 <
	    sizeof(s->issuer_kid))
		to_hex(ASN1_STRING_get0_data(aki),
		    (size_t)ASN1_STRING_length(aki), s->issuer_kid);

	OPENSSL_free(hex);
	BN_free(bn);
	return s;
fail:
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	agent_svid_free(s);
	return NULL;
}

/* One base64 DER certificate, or NULL. */
static X509 *
decode_cert(const json_t *v)
{
	const char *b64;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len, cap, der_len = 0;
	X509 *x = NULL;

	b64 = json_string_value(v);
	if (b64 == NULL)
		return NULL;
	len = strlen(b64);
	cap = len / 4 * 3 + 3;
	if (len == 0 || cap > SVID_DER_MAX)
		return NULL;
	der = malloc(cap);
	if (der == NULL)
		return NULL;
	if (sodium_base642bin(der, cap, b64, len, NULL, &der_len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0) {
		p = der;
		x = d2i_X509(NULL, &p, (long)der_len);
		if (x != NULL && p != der + der_len) {
			X509_free(x);
			x = NULL;
		}
	}
	free(der);
	return x;
}

/* An SVID from the server's JSON chain; see agent_svid.h. */
struct agent_svid *
agent_svid_from_json(const json_t *chain, EVP_PKEY *key, struct rc_why *why)
{
	struct agent_svid *svid;
	STACK_OF(X509) *rest = NULL;
	time_t now;
	X509 *leaf = NULL, *x;
	size_t i, n;

	n = json_array_size(chain);
	if (!json_is_array(chain) || n == 0 || n > AGENT_SVID_CHAIN_MAX) {
		rc_why_set(why, RC_BAD_REQUEST, SVID_FIELD, NULL,
		    "expected an array of 1 to %d certificates",
		    AGENT_SVID_CHAIN_MAX);
		return NULL;
	}
	rest = sk_X509_new_null();
	if (rest == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		x = decode_cert(json_array_get(chain, i));
		if (x == NULL) {
			rc_why_set(why, RC_BAD_REQUEST, SVID_FIELD,
			    "RFC 4648 4", "certificate %zu is not base64 of one DER certificate", i);
			goto fail;
		}
		if (i == 0) {
			leaf = x;
			continue;
		}
		if (sk_X509_push(rest, x) <= 0) {
			X509_free(x);
			goto nomem;
		}
	}
	if (EVP_PKEY_up_ref(key) != 1)
		goto nomem;
	svid = svid_take(leaf, rest, key, why);
	now = time(NULL);
	if (svid != NULL && now > svid->start && now < svid->not_after)
		svid->start = now;
	return svid;
nomem:
	rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
fail:
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	return NULL;
}

/* Read a PEM file into a BIO; RC_NOT_FOUND when it is absent. */
static enum rc
read_bio(const char *dir, const char *name, BIO **out)
{
	char path[PATH_MAX_SVIDCA], *text = NULL;
	size_t len;
	enum rc rc;

	*out = NULL;
	if (!agent_files_join(path, sizeof(path), dir, name))
		return RC_TOO_LARGE;
	rc = agent_files_read(path, AGENT_SVID_FILE_MAX, &text, &len);
	if (rc != RC_OK)
		return rc;
	*out = BIO_new(BIO_s_secmem());
	if (*out == NULL || BIO_write(*out, text, (int)len) != (int)len) {
		BIO_free(*out);
		*out = NULL;
		rc = RC_NOMEM;
	}
	sodium_memzero(text, len);
	free(text);
	return rc;
}

/* The certificates of a PEM file: leaf and the rest. */
static enum rc
read_certs(const char *dir, const char *name, X509 **leaf,
    STACK_OF(X509) **rest)
{
	BIO *bio = NULL;
	X509 *x;
	enum rc rc;

	*leaf = NULL;
	*rest = NULL;
	rc = read_bio(dir, name, &bio);
	if (rc != RC_OK)
		return rc;
	rc = RC_NOMEM;
	*rest = sk_X509_new_null();
	if (*rest == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (*leaf == NULL) {
			*leaf = x;
			continue;
		}
		if (sk_X509_num(*rest) >= AGENT_SVID_CHAIN_MAX ||
		    sk_X509_push(*rest, x) <= 0) {
			X509_free(x);
			rc = RC_BAD_REQUEST;
			goto out;
		}
	}
	ERR_clear_error();
	rc = *leaf == NULL ? RC_BAD_REQUEST : RC_OK;
out:
	if (rc != RC_OK) {
		X509_free(*leaf);
		*leaf = NULL;
		sk_X509_pop_free(*rest, X509_free);
		*rest = NULL;
	}
	BIO_free(bio);
	return rc;
}

/* The private key of a PEM file. */
static enum rc
read_key(const char *dir, const char *name, EVP_PKEY **key)
{
	BIO *bio = NULL;
	enum rc rc;

	*key = NULL;
	rc = read_bio(dir, name, &bio);
	if (rc != RC_OK)
		return rc;
	*key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	ERR_clear_error();
	BIO_free(bio);
	return *key == NULL ? RC_BAD_REQUEST : RC_OK;
}

/*
 * Finish a save that a crash interrupted: a pending certificate file
 * that matches key goes into place; one that does not is dropped.
 */
static void
finish_pending(const char *dir, const char *cert_name, EVP_PKEY *key)
{
	char pending[SVID_NAME_MAX];
	STACK_OF(X509) *rest = NULL;
	X509 *leaf = NULL;
	int n;

	n = snprintf(pending, sizeof(pending), "%s%s", cert_name,
	    AGENT_SVID_PENDING);
	if (n < 0 || (size_t)n >= sizeof(pending))
		return;
	if (read_certs(dir, pending, &leaf, &rest) == RC_NOT_FOUND)
		return;
	if (leaf != NULL && X509_check_private_key(leaf, key) == 1) {
		if (agent_files_rename(dir, pending, cert_name) == RC_OK)
			log_info("agent",
			    "finished an interrupted save path=%s/%s", dir,
			    cert_name);
	} else if (agent_files_remove_tree(dir, pending, 0) != RC_OK) {
		log_warn("agent",
		    "cannot drop a stale pending file path=%s/%s", dir,
		    pending);
	}
	ERR_clear_error();
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
}

/* Load a saved pair; see agent_svid.h. */
enum rc
agent_svid_load(const char *dir, const char *cert_name, const char *key_name,
    struct agent_svid **out)
{
	struct rc_why why;
	STACK_OF(X509) *rest = NULL;
	X509 *leaf = NULL;
	EVP_PKEY *key = NULL;
	enum rc rc;

	*out = NULL;
	rc = read_key(dir, key_name, &key);
	if (rc == RC_NOT_FOUND)
		return rc;
	if (rc != RC_OK) {
		log_warn("agent", "unreadable key file path=%s/%s", dir,
		    key_name);
		return rc;
	}
	finish_pending(dir, cert_name, key);
	rc = read_certs(dir, cert_name, &leaf, &rest);
	if (rc == RC_NOT_FOUND) {
		EVP_PKEY_free(key);
		return rc;
	}
	if (rc != RC_OK) {
		log_warn("agent", "unreadable certificate file path=%s/%s",
		    dir, cert_name);
		EVP_PKEY_free(key);
		return rc;
	}
	*out = svid_take(leaf, rest, key, &why);
	if (*out == NULL) {
		log_warn("agent", "saved SVID refused path=%s/%s reason=\"%s\"",
		    dir, cert_name, why.detail);
		return why.code == RC_NOMEM ? RC_NOMEM : RC_BAD_REQUEST;
	}
	return RC_OK;
}

/* The certificates as PEM; see agent_svid.h. */
char *
agent_svid_get1_pem(const struct agent_svid *s)
{
	BIO *bio;
	char *data, *out = NULL;
	long n;
	int i;

	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return NULL;
	if (PEM_write_bio_X509(bio, s->leaf) != 1)
		goto out;
	for (i = 0; i < sk_X509_num(s->chain); i++)
		if (PEM_write_bio_X509(bio, sk_X509_value(s->chain, i)) != 1)
			goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0)
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

/* Write the key as PKCS#8 PEM, 0600, from secure memory. */
static enum rc
save_key(EVP_PKEY *key, const char *dir, const char *name)
{
	BIO *bio;
	char *data, ossl[256];
	long n;
	enum rc rc = RC_CRYPTO;

	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL)
		return RC_NOMEM;
	/* OpenSSL 3 writes "PRIVATE KEY", PKCS#8 (RFC 5958), here. */
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) !=
	    1) {
		log_error("agent", "cannot encode a key ossl=\"%s\"",
		    log_ossl(ossl, sizeof(ossl)));
		goto out;
	}
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0)
		goto out;
	rc = agent_files_write(dir, name, data, (size_t)n, 0600);
out:
	BIO_free(bio);
	return rc;
}

/* Save the pair crash-safely; see agent_svid.h. */
enum rc
agent_svid_save(const struct agent_svid *s, const char *dir,
    const char *cert_name, const char *key_name)
{
	char pending[SVID_NAME_MAX], *pem = NULL;
	int n;
	enum rc rc = RC_NOMEM;

	n = snprintf(pending, sizeof(pending), "%s%s", cert_name,
	    AGENT_SVID_PENDING);
	if (n < 0 || (size_t)n >= sizeof(pending))
		return RC_INTERNAL;
	pem = agent_svid_get1_pem(s);
	if (pem == NULL)
		goto out;

	rc = agent_files_write(dir, pending, pem, strlen(pem), 0644);
	if (rc != RC_OK)
		goto out;
	rc = save_key(s->key, dir, key_name);
	if (rc != RC_OK)
		goto out;
	rc = agent_files_rename(dir, pending, cert_name);
	if (rc != RC_OK)
		goto out;

	rc = RC_OK;
out:
	free(pem);
	return rc;
}

/* Is now inside the validity window? */
bool
agent_svid_is_current(const struct agent_svid *s, time_t now)
{
	return now >= s->not_before && now < s->not_after;
}
