/*
 * cert.c: build and sign X.509 certificates: the self-signed root of a
 * trust domain and X.509-SVID leaves (DESIGN.md leaf profile, conformance
 * checklist X5-* and IO-*).
 *
 * The root is made rarely and goes through the ordinary X509 API.  Leaves
 * are the hot path (20,000 a second is the goal), and OpenSSL 3.0's X509
 * object is slow there: setting a public key re-encodes it through the
 * provider encoders (about 170 us, NOTES.md) and X509_sign_ctx() copies a
 * context and queries the algorithm identifier on every call.  So a leaf's
 * TBSCertificate is described with OpenSSL's ASN.1 template macros below,
 * its constant parts (issuer name, algorithm identifier, basicConstraints,
 * keyUsage, extKeyUsage, AKI) are made once per signer, the requester's
 * SubjectPublicKeyInfo is carried as the DER bytes csr_parse() produced,
 * and the TBS is hashed and signed with a reused EVP_PKEY_CTX.  OpenSSL
 * does every byte of the encoding; the tests read the result back with
 * d2i_X509() and `openssl verify -x509_strict`.
 */
#include "cert.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "../server/bounds.h"
#include "../server/log.h"

#define CERT_SIG_MAX	1024	/* bytes of one signature (RSA-8192) */
#define CERT_POOL_MAX	64	/* idle signing contexts kept per signer */
#define CERT_NAME_MAX	64	/* ub-common-name, ub-organization-name */
#define CERT_SKI_LEN	20	/* SHA-1, RFC 5280 4.2.1.2 method (1) */
#define CERT_X509_V3	2	/* version field value of a v3 cert */

/* SubjectPublicKeyInfo as two plain fields; see csr.c for why. */
struct cert_spki {
	X509_ALGOR		*alg;	/* key algorithm and parameters */
	ASN1_BIT_STRING		*key;	/* subjectPublicKey */
};

ASN1_SEQUENCE(cert_spki) = {
	ASN1_SIMPLE(struct cert_spki, alg, X509_ALGOR),
	ASN1_SIMPLE(struct cert_spki, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END_name(struct cert_spki, cert_spki)

/* Validity ::= SEQUENCE { notBefore Time, notAfter Time } */
struct cert_validity {
	ASN1_TIME		*not_before;
	ASN1_TIME		*not_after;
};

ASN1_SEQUENCE(cert_validity) = {
	ASN1_SIMPLE(struct cert_validity, not_before, ASN1_TIME),
	ASN1_SIMPLE(struct cert_validity, not_after, ASN1_TIME),
} static_ASN1_SEQUENCE_END_name(struct cert_validity, cert_validity)

/*
 * AttributeTypeAndValue with a UTF8String value (RFC 5280 4.1.2.4:
 * "CAs MUST use the UTF8String encoding" for new names), the one form of
 * name attribute a leaf carries.  X509_NAME would do, but builds and
 * canonicalises a cache of its own on encode, about 4 us a leaf.
 */
struct cert_atv {
	ASN1_OBJECT		*type;
	ASN1_UTF8STRING		*value;
};

ASN1_SEQUENCE(cert_atv) = {
	ASN1_SIMPLE(struct cert_atv, type, ASN1_OBJECT),
	ASN1_SIMPLE(struct cert_atv, value, ASN1_UTF8STRING),
} static_ASN1_SEQUENCE_END_name(struct cert_atv, cert_atv)

/* RelativeDistinguishedName ::= SET SIZE (1..MAX) OF ... */
ASN1_ITEM_TEMPLATE(cert_rdn) =
	ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SET_OF, 0, cert_rdn, cert_atv)
static_ASN1_ITEM_TEMPLATE_END(cert_rdn)

/* Name ::= SEQUENCE OF RelativeDistinguishedName */
ASN1_ITEM_TEMPLATE(cert_name) =
	ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, cert_name, cert_rdn)
static_ASN1_ITEM_TEMPLATE_END(cert_name)

/*
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension, each Extension
 * already DER.  OpenSSL's encoder walks a nested value once per level
 * above it, so six X509_EXTENSIONs three levels down cost more to encode
 * than they are worth; as ANY they are copied.
 */
ASN1_ITEM_TEMPLATE(cert_exts) =
	ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, cert_exts, ASN1_ANY)
static_ASN1_ITEM_TEMPLATE_END(cert_exts)

/*
 * TBSCertificate (RFC 5280 section 4.1) as we emit it: always v3, never
 * the unique identifiers.  issuer and subjectPublicKeyInfo are ANY so
 * that DER made elsewhere goes in unchanged.
 */
struct cert_tbs {
	ASN1_INTEGER		*version;	/* [0] EXPLICIT, 2 = v3 */
	ASN1_INTEGER		*serial;	/* positive, CERT_SERIAL_LEN */
	X509_ALGOR		*sig_alg;	/* same as the outer one */
	ASN1_TYPE		*issuer;	/* Name, the CA's subject DER */
	struct cert_validity	*validity;
	OPENSSL_STACK		*subject;	/* cert_name: O=, CN= */
	ASN1_TYPE		*spki;		/* SubjectPublicKeyInfo DER */
	STACK_OF(ASN1_TYPE)	*exts;		/* [3] EXPLICIT, DER each */
};

ASN1_SEQUENCE(cert_tbs) = {
	ASN1_EXP(struct cert_tbs, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(struct cert_tbs, serial, ASN1_INTEGER),
	ASN1_SIMPLE(struct cert_tbs, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(struct cert_tbs, issuer, ASN1_ANY),
	ASN1_SIMPLE(struct cert_tbs, validity, cert_validity),
	ASN1_SIMPLE(struct cert_tbs, subject, cert_name),
	ASN1_SIMPLE(struct cert_tbs, spki, ASN1_ANY),
	ASN1_EXP(struct cert_tbs, exts, cert_exts, 3),
} static_ASN1_SEQUENCE_END_name(struct cert_tbs, cert_tbs)

/* Certificate (RFC 5280 section 4.1), the TBS already encoded. */
struct cert_signed {
	ASN1_TYPE		*tbs;		/* TBSCertificate DER */
	X509_ALGOR		*sig_alg;	/* signatureAlgorithm */
	ASN1_BIT_STRING		*sig;		/* signatureValue */
};

ASN1_SEQUENCE(cert_signed) = {
	ASN1_SIMPLE(struct cert_signed, tbs, ASN1_ANY),
	ASN1_SIMPLE(struct cert_signed, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(struct cert_signed, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END_name(struct cert_signed, cert_signed)

/* The kind of key a leaf certifies, which decides its keyUsage. */
enum cert_kind {
	CERT_KIND_EC,
	CERT_KIND_RSA,
};

struct cert_signer {
	X509		*ca;		/* issuer certificate, up-ref'd */
	EVP_PKEY	*key;		/* its private key, up-ref'd */
	EVP_MD		*md;		/* digest for signatures, owned */
	time_t		 not_after;	/* the CA's notAfter, Unix s */
	char		 td[SPIFFEID_TD_MAX + 1];	/* CA's trust domain */
	size_t		 td_len;	/* 0 if the CA names none */
	ASN1_INTEGER	*version;	/* 2 (v3), owned */
	ASN1_TYPE	*issuer;	/* CA subject DER verbatim, owned */
	X509_ALGOR	*sig_alg;	/* signature algorithm, owned */
	/* Extensions every leaf carries, as DER; all owned. */
	ASN1_TYPE	*bc;		/* CA:FALSE, critical */
	ASN1_TYPE	*ku_ec;		/* digitalSignature+keyAgreement */
	ASN1_TYPE	*ku_rsa;	/* digitalSignature+keyEncipherment */
	ASN1_TYPE	*eku;		/* serverAuth+clientAuth */
	ASN1_TYPE	*aki;		/* keyIdentifier = CA SKI */

	pthread_mutex_t	 lock;		/* guards pool and n_pool */
	EVP_PKEY_CTX	*pool[CERT_POOL_MAX];	/* idle sign contexts */
	size_t		 n_pool;		/* entries in pool */
};

/* Digests for key identifiers and fingerprints: fetched once, kept. */
static EVP_MD		*cert_sha1;
static EVP_MD		*cert_sha256;
static pthread_once_t	 cert_once = PTHREAD_ONCE_INIT;

static void
init_once(void)
{
	char buf[256];

	cert_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	cert_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	if (cert_sha1 == NULL || cert_sha256 == NULL)
		log_error("cert", "cannot fetch SHA-1 and SHA-256 ossl=%s",
		    log_ossl(buf, sizeof(buf)));
}

static const EVP_MD *
get_sha1(void)
{
	if (pthread_once(&cert_once, init_once) != 0)
		return NULL;
	return cert_sha1;
}

static const EVP_MD *
get_sha256(void)
{
	if (pthread_once(&cert_once, init_once) != 0)
		return NULL;
	return cert_sha256;
}

/* Log the OpenSSL error queue for a failed step and return RC_CRYPTO. */
static enum rc
fail_crypto(const char *what)
{
	char buf[512];

	log_error("cert", "%s failed ossl=%s", what,
	    log_ossl(buf, sizeof(buf)));
	return RC_CRYPTO;
}

/*
 * Fill serial with CERT_SERIAL_LEN random bytes making a positive INTEGER
 * of exactly that length (IO-12: positive, from a CSPRNG, <= 20 octets):
 * top bit clear, first byte non-zero, so 7 + 8 * 15 = 127 bits are random.
 * Write its lowercase hex into hex (2 * CERT_SERIAL_LEN + 1 bytes).
 */
static enum rc
make_serial(ASN1_INTEGER *serial, char *hex)
{
	unsigned char b[CERT_SERIAL_LEN];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return fail_crypto("RAND_bytes");
	b[0] &= 0x7f;
	if (b[0] == 0)
		b[0] = 0x01;
	if (ASN1_STRING_set(serial, b, sizeof(b)) != 1)
		return RC_NOMEM;
	serial->type = V_ASN1_INTEGER;
	if (hex != NULL)
		sodium_bin2hex(hex, 2 * CERT_SERIAL_LEN + 1, b, sizeof(b));
	return RC_OK;
}

/* An ANY holding a copy of der, which must be one DER TLV (SEQUENCE). */
static ASN1_TYPE *
wrap_der(const unsigned char *der, size_t len)
{
	ASN1_TYPE *t;
	ASN1_STRING *s;

	if (len > INT32_MAX)
		return NULL;
	s = ASN1_STRING_type_new(V_ASN1_SEQUENCE);
	if (s == NULL || ASN1_STRING_set(s, der, (int)len) != 1) {
		ASN1_STRING_free(s);
		return NULL;
	}
	t = ASN1_TYPE_new();
	if (t == NULL) {
		ASN1_STRING_free(s);
		return NULL;
	}
	ASN1_TYPE_set(t, V_ASN1_SEQUENCE, s);
	return t;
}

/* An ANY holding the DER of ex, which is freed; NULL on failure. */
static ASN1_TYPE *
ext_der(X509_EXTENSION *ex)
{
	ASN1_TYPE *t = NULL;
	ASN1_STRING *str = NULL;
	unsigned char *der = NULL;
	int n;

	if (ex == NULL)
		return NULL;
	n = i2d_X509_EXTENSION(ex, &der);
	X509_EXTENSION_free(ex);
	str = ASN1_STRING_type_new(V_ASN1_SEQUENCE);
	t = ASN1_TYPE_new();
	if (n <= 0 || str == NULL || t == NULL) {
		OPENSSL_free(der);
		ASN1_STRING_free(str);
		ASN1_TYPE_free(t);
		return NULL;
	}
	ASN1_STRING_set0(str, der, n);
	ASN1_TYPE_set(t, V_ASN1_SEQUENCE, str);
	return t;
}

/* basicConstraints, critical (RFC 5280 4.2.1.9); CA:FALSE is "30 00". */
static X509_EXTENSION *
make_bc(bool ca)
{
	BASIC_CONSTRAINTS *bc;
	X509_EXTENSION *ex;

	bc = BASIC_CONSTRAINTS_new();
	if (bc == NULL)
		return NULL;
	/* A false cA is left out of the DER, never written as FALSE. */
	bc->ca = ca ? 0xff : 0;
	ex = X509V3_EXT_i2d(NID_basic_constraints, 1, bc);
	BASIC_CONSTRAINTS_free(bc);
	return ex;
}

/* keyUsage, critical (X5-12), with the named bits (KU_* bit numbers). */
static X509_EXTENSION *
make_ku(const int *bits, size_t n)
{
	ASN1_BIT_STRING *ku;
	X509_EXTENSION *ex = NULL;
	size_t i;

	ku = ASN1_BIT_STRING_new();
	if (ku == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (ASN1_BIT_STRING_set_bit(ku, bits[i], 1) != 1)
			goto out;
	ex = X509V3_EXT_i2d(NID_key_usage, 1, ku);
 out:
	ASN1_BIT_STRING_free(ku);
	return ex;
}

/* extKeyUsage serverAuth + clientAuth, not critical (X5-15, IO-08). */
static X509_EXTENSION *
make_eku(void)
{
	EXTENDED_KEY_USAGE *eku;
	X509_EXTENSION *ex = NULL;

	eku = sk_ASN1_OBJECT_new_null();
	if (eku == NULL)
		return NULL;
	if (sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) <= 0 ||
	    sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)) <= 0)
		goto out;
	ex = X509V3_EXT_i2d(NID_ext_key_usage, 0, eku);
 out:
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return ex;
}

/* subjectKeyIdentifier or AKI keyIdentifier from 20 bytes of SHA-1. */
static X509_EXTENSION *
make_keyid(int nid, const unsigned char *id, size_t len)
{
	ASN1_OCTET_STRING *os;
	AUTHORITY_KEYID *aki = NULL;
	X509_EXTENSION *ex = NULL;

	os = ASN1_OCTET_STRING_new();
	if (os == NULL || ASN1_OCTET_STRING_set(os, id, (int)len) != 1)
		goto out;
	if (nid == NID_subject_key_identifier) {
		ex = X509V3_EXT_i2d(nid, 0, os);
		goto out;
	}
	aki = AUTHORITY_KEYID_new();
	if (aki == NULL)
		goto out;
	aki->keyid = os;
	os = NULL;
	ex = X509V3_EXT_i2d(NID_authority_key_identifier, 0, aki);
 out:
	AUTHORITY_KEYID_free(aki);
	ASN1_OCTET_STRING_free(os);
	return ex;
}

/* Push one IA5String name (URI or DNS) onto gens. */
static bool
push_name(GENERAL_NAMES *gens, int type, const char *s, size_t len)
{
	GENERAL_NAME *gen;
	ASN1_IA5STRING *ia5;

	ia5 = ASN1_IA5STRING_new();
	if (ia5 == NULL || len > INT32_MAX ||
	    ASN1_STRING_set(ia5, s, (int)len) != 1) {
		ASN1_IA5STRING_free(ia5);
		return false;
	}
	gen = GENERAL_NAME_new();
	if (gen == NULL) {
		ASN1_IA5STRING_free(ia5);
		return false;
	}
	GENERAL_NAME_set0_value(gen, type, ia5);
	if (sk_GENERAL_NAME_push(gens, gen) <= 0) {
		GENERAL_NAME_free(gen);
		return false;
	}
	return true;
}

/*
 * subjectAltName: the one URI first (X5-01), then the DNS names in order.
 * Critical only when the subject is empty (RFC 5280 4.2.1.6, X5-05).
 */
static X509_EXTENSION *
make_san(const char *uri, size_t uri_len, const char *const *dns,
    size_t n_dns, bool critical)
{
	GENERAL_NAMES *gens;
	X509_EXTENSION *ex = NULL;
	size_t i;

	gens = sk_GENERAL_NAME_new_reserve(NULL, (int)(n_dns + 1));
	if (gens == NULL)
		return NULL;
	if (!push_name(gens, GEN_URI, uri, uri_len))
		goto out;
	for (i = 0; i < n_dns; i++)
		if (!push_name(gens, GEN_DNS, dns[i], strlen(dns[i])))
			goto out;
	ex = X509V3_EXT_i2d(NID_subject_alt_name, critical ? 1 : 0, gens);
 out:
	GENERAL_NAMES_free(gens);
	return ex;
}

/* SHA-1 of the subjectPublicKey bits: RFC 5280 4.2.1.2 method (1). */
static bool
hash_keyid(const ASN1_BIT_STRING *key, unsigned char *out)
{
	const EVP_MD *sha1 = get_sha1();
	unsigned int n = 0;

	if (sha1 == NULL)
		return false;
	if (EVP_Digest(ASN1_STRING_get0_data(key),
	    (size_t)ASN1_STRING_length(key), out, &n, sha1, NULL) != 1 ||
	    n != CERT_SKI_LEN)
		return false;
	return true;
}

/*
 * Append O=org (when set) and CN=cn (when set and short enough) to name
 * as UTF8Strings (RFC 5280 4.1.2.6).  The string table enforces the
 * upper bounds of RFC 5280 appendix A.
 */
static bool
add_name(X509_NAME *name, int nid, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return true;
	return X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
	    (const unsigned char *)s, -1, -1, 0) == 1;
}

/* A leaf's subject while it is encoded; the values are borrowed. */
struct leaf_name {
	ASN1_UTF8STRING		 str[2];	/* O and CN values */
	struct cert_atv		 atv[2];	/* type and value */
	OPENSSL_STACK		*rdn[2];	/* one attribute per RDN */
	OPENSSL_STACK		*name;		/* the RDNs in order */
};

/*
 * Fill n with O=org and CN=cn, each when set and each in an RDN of its
 * own.  The strings are only read by the encoder, so they point into org
 * and cn, which must outlive n.  Free with free_leaf_name() in any case.
 */
static bool
make_leaf_name(struct leaf_name *n, const char *org, const char *cn)
{
	static const int nids[2] = { NID_organizationName, NID_commonName };
	const char *v[2] = { org, cn };
	size_t i, k = 0;

	memset(n, 0, sizeof(*n));
	n->name = OPENSSL_sk_new_reserve(NULL, 2);
	if (n->name == NULL)
		return false;
	for (i = 0; i < 2; i++) {
		if (v[i] == NULL || v[i][0] == '\0')
			continue;
		n->str[k].type = V_ASN1_UTF8STRING;
		n->str[k].length = (int)strlen(v[i]);
		n->str[k].data = (unsigned char *)v[i];
		n->atv[k].type = OBJ_nid2obj(nids[i]);
		n->atv[k].value = &n->str[k];
		n->rdn[k] = OPENSSL_sk_new_reserve(NULL, 1);
		if (n->rdn[k] == NULL ||
		    OPENSSL_sk_push(n->rdn[k], &n->atv[k]) <= 0 ||
		    OPENSSL_sk_push(n->name, n->rdn[k]) <= 0)
			return false;
		k++;
	}
	return true;
}

static void
free_leaf_name(struct leaf_name *n)
{
	OPENSSL_sk_free(n->rdn[0]);
	OPENSSL_sk_free(n->rdn[1]);
	OPENSSL_sk_free(n->name);
}

/* Is s[0..len) well-formed UTF-8 (as OpenSSL's decoder reads it)? */
static bool
is_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long c;
	int n;

	while (len > 0) {
		n = UTF8_getc(p, (int)len, &c);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Is c allowed inside a DNS label (RFC 1123 2.1, letters digits hyphen)? */
static bool
is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/*
 * Check one DNS name: RFC 1123 2.1 host name syntax (labels of 1..63
 * letters, digits and hyphens, no hyphen first or last, at most 253
 * bytes, last label not all digits, no trailing dot).  One wildcard is
 * allowed, as a whole leftmost "*" label followed by at least two labels
 * (RFC 6125 6.4.3 and 7.2): "*.example.org" but never "*.org".
 */
static enum rc
check_dns(const char *s, size_t i, struct rc_why *why)
{
	size_t len, pos, label, labels = 0, start;
	bool digits;

	len = strnlen(s, CERT_DNS_NAME_MAX + 1);
	if (len == 0 || len > CERT_DNS_NAME_MAX)
		return rc_why_set(why, RC_BAD_REQUEST, "dns_names",
		    "RFC 1035 2.3.4", "dns_names[%zu] must be 1 to %d bytes",
		    i, CERT_DNS_NAME_MAX);
	start = 0;
	if (len >= 2 && s[0] == '*' && s[1] == '.')
		start = 2;
	pos = start;
	while (pos <= len) {
		label = 0;
		digits = true;
		while (pos + label < len && s[pos + label] != '.') {
			char c = s[pos + label];

			if (!is_ldh(c))
				return rc_why_set(why, RC_BAD_REQUEST,
				    "dns_names", "RFC 1123 2.1",
				    "dns_names[%zu] has a character other than "
				    "a letter, digit, hyphen or dot", i);
			if (!isdigit((unsigned char)c))
				digits = false;
			label++;
		}
		if (label == 0 || label > 63 || s[pos] == '-' ||
		    s[pos + label - 1] == '-')
			return rc_why_set(why, RC_BAD_REQUEST, "dns_names",
			    "RFC 1123 2.1", "dns_names[%zu] has an empty, "
			    "over-long or hyphen-edged label", i);
		labels++;
		pos += label + 1;
		if (pos > len && digits)
			return rc_why_set(why, RC_BAD_REQUEST, "dns_names",
			    "RFC 1123 2.1", "dns_names[%zu]: the last label "
			    "must not be all digits (an IP is not a DNS name)",
			    i);
	}
	if (start != 0 && labels < 2)
		return rc_why_set(why, RC_BAD_REQUEST, "dns_names",
		    "RFC 6125 7.2", "dns_names[%zu]: a wildcard must be the "
		    "whole leftmost label of a name with two more labels", i);
	return RC_OK;
}

enum rc
cert_check_leaf(const struct cert_leaf *leaf, struct rc_why *why)
{
	const struct spiffeid *id;
	size_t i;
	enum rc rc;

	if (leaf == NULL)
		return RC_INTERNAL;
	id = leaf->id;
	/* X5-04: a leaf's SPIFFE ID "MUST NOT" be the trust domain alone. */
	if (id == NULL || id->len > SPIFFEID_MAX ||
	    id->len <= SPIFFEID_SCHEME_LEN + id->td_len ||
	    id->str[SPIFFEID_SCHEME_LEN + id->td_len] != '/')
		return rc_why_set(why, RC_BAD_REQUEST, "spiffe_id", "X5-04",
		    "an X.509-SVID leaf needs a SPIFFE ID with a path");
	if (leaf->n_dns > CERT_DNS_MAX)
		return rc_why_set(why, RC_BAD_REQUEST, "dns_names",
		    "CERT_DNS_MAX", "at most %d DNS names on one SVID",
		    CERT_DNS_MAX);
	if (leaf->n_dns > 0 && leaf->dns == NULL)
		return rc_why_set(why, RC_BAD_REQUEST, "dns_names",
		    "CERT_DNS_MAX", "DNS names counted but not given");
	for (i = 0; i < leaf->n_dns; i++) {
		if (leaf->dns[i] == NULL)
			return rc_why_set(why, RC_BAD_REQUEST, "dns_names",
			    "RFC 1123 2.1", "dns_names[%zu] is null", i);
		rc = check_dns(leaf->dns[i], i, why);
		if (rc != RC_OK)
			return rc;
	}
	if (leaf->org != NULL && (strlen(leaf->org) > CERT_NAME_MAX ||
	    !is_utf8(leaf->org, strlen(leaf->org))))
		return rc_why_set(why, RC_BAD_REQUEST, "org",
		    "RFC 5280 A.1", "organisation name must be UTF-8 of at "
		    "most %d bytes", CERT_NAME_MAX);
	if (leaf->ttl <= 0)
		return rc_why_set(why, RC_BAD_REQUEST, "ttl", "DESIGN.md TTLs",
		    "ttl must be positive");
	return RC_OK;
}

/*
 * A fresh signing context for the signer's key with its digest; RSA keys
 * sign with PKCS#1 v1.5, the padding OpenSSL defaults to.
 */
static EVP_PKEY_CTX *
new_sign_ctx(struct cert_signer *s)
{
	EVP_PKEY_CTX *ctx;

	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, s->key, NULL);
	if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, s->md) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Take an idle signing context from the pool or make one. */
static EVP_PKEY_CTX *
take_sign_ctx(struct cert_signer *s)
{
	EVP_PKEY_CTX *ctx = NULL;

	if (pthread_mutex_lock(&s->lock) != 0)
		return NULL;
	if (s->n_pool > 0)
		ctx = s->pool[--s->n_pool];
	(void)pthread_mutex_unlock(&s->lock);
	if (ctx == NULL)
		ctx = new_sign_ctx(s);
	return ctx;
}

/* Give a context back to the pool (or free it when the pool is full). */
static void
give_sign_ctx(struct cert_signer *s, EVP_PKEY_CTX *ctx)
{
	if (ctx == NULL)
		return;
	if (pthread_mutex_lock(&s->lock) == 0) {
		if (s->n_pool < CERT_POOL_MAX) {
			s->pool[s->n_pool++] = ctx;
			ctx = NULL;
		}
		(void)pthread_mutex_unlock(&s->lock);
	}
	EVP_PKEY_CTX_free(ctx);
}

/*
 * Hash tbs, sign it with the signer's key and wrap it into a Certificate:
 * *der (OPENSSL_malloc'd) on success.  tbs is consumed in every case.
 */
static enum rc
sign_tbs(struct cert_signer *s, unsigned char *tbs, int tbs_len,
    unsigned char **der, size_t *der_len)
{
	struct cert_signed cert = { NULL, s->sig_alg, NULL };
	unsigned char dgst[EVP_MAX_MD_SIZE], sig[CERT_SIG_MAX];
	unsigned int dlen;
	size_t sig_len = sizeof(sig);
	EVP_PKEY_CTX *ctx = NULL;
	ASN1_STRING *tbs_str;
	int n;
	enum rc rc = RC_NOMEM;

	tbs_str = ASN1_STRING_type_new(V_ASN1_SEQUENCE);
	cert.tbs = ASN1_TYPE_new();
	cert.sig = ASN1_BIT_STRING_new();
	if (tbs_str == NULL || cert.tbs == NULL || cert.sig == NULL)
		goto out;
	ASN1_STRING_set0(tbs_str, tbs, tbs_len);
	tbs = NULL;
	ASN1_TYPE_set(cert.tbs, V_ASN1_SEQUENCE, tbs_str);
	tbs_str = NULL;

	if (EVP_Digest(cert.tbs->value.sequence->data,
	    (size_t)cert.tbs->value.sequence->length, dgst, &dlen, s->md,
	    NULL) != 1) {
		rc = fail_crypto("digest of TBSCertificate");
		goto out;
	}
	ctx = take_sign_ctx(s);
	if (ctx == NULL || EVP_PKEY_sign(ctx, sig, &sig_len, dgst, dlen) != 1) {
		/* A context that failed goes, not back to the pool. */
		EVP_PKEY_CTX_free(ctx);
		ctx = NULL;
		rc = fail_crypto("sign");
		goto out;
	}

	/* The signature is whole bytes: say so, or OpenSSL counts zeros. */
	if (ASN1_BIT_STRING_set(cert.sig, sig, (int)sig_len) != 1)
		goto out;
	cert.sig->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	cert.sig->flags |= ASN1_STRING_FLAG_BITS_LEFT;

	*der = NULL;
	n = ASN1_item_i2d((ASN1_VALUE *)&cert, der,
	    ASN1_ITEM_rptr(cert_signed));
	if (n <= 0) {
		rc = fail_crypto("encode certificate");
		goto out;
	}
	*der_len = (size_t)n;
	rc = RC_OK;
 out:
	give_sign_ctx(s, ctx);
	OPENSSL_free(tbs);
	ASN1_STRING_free(tbs_str);
	ASN1_TYPE_free(cert.tbs);
	ASN1_BIT_STRING_free(cert.sig);
	return rc;
}

/*
 * Issue a leaf for the SubjectPublicKeyInfo spki[0..len) under s.  Shared
 * by cert_issue() and cert_issue_for_key(); see there for the outputs.
 */
static enum rc
issue_spki(struct cert_signer *s, const unsigned char *spki, size_t len,
    const struct cert_leaf *leaf, unsigned char **der, size_t *der_len,
    char *serial_hex, time_t *not_after)
{
	struct cert_spki *key = NULL;
	struct cert_validity validity = { NULL, NULL };
	struct cert_tbs tbs;
	struct leaf_name name;
	ASN1_TYPE *ski = NULL, *san = NULL;
	unsigned char keyid[CERT_SKI_LEN], *tbs_der = NULL;
	const unsigned char *p = spki;
	const char *cn;
	enum cert_kind kind;
	time_t end;
	int nid, n;
	enum rc rc;

	memset(&tbs, 0, sizeof(tbs));
	memset(&name, 0, sizeof(name));
	*der = NULL;
	*der_len = 0;

	rc = cert_check_leaf(leaf, NULL);
	if (rc != RC_OK)
		goto out;

	/*
	 * X5-07: a signing certificate's ID "SHOULD be in the trust domain
	 * of the leaves it issues"; we never sign one outside it.
	 */
	if (s->td_len > 0 && (leaf->id->td_len != s->td_len ||
	    memcmp(leaf->id->str + SPIFFEID_SCHEME_LEN, s->td, s->td_len) !=
	    0)) {
		rc = RC_DENIED;
		goto out;
	}

	/*
	 * notAfter never past the issuer's (IO-09).  An expired authority
	 * is the rotation's fault, reported once by the caller, not here.
	 */
	if (leaf->now >= s->not_after) {
		rc = RC_UNAVAILABLE;
		goto out;
	}
	end = leaf->ttl > s->not_after - leaf->now ? s->not_after :
	    leaf->now + leaf->ttl;

	/* The key: which kind, and its identifier. */
	rc = RC_INTERNAL;
	key = (struct cert_spki *)ASN1_item_d2i(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(cert_spki));
	if (key == NULL || p != spki + len) {
		ERR_clear_error();
		log_error("cert", "public key to certify is not an SPKI");
		goto out;
	}
	nid = OBJ_obj2nid(key->alg->algorithm);
	if (nid == NID_X9_62_id_ecPublicKey)
		kind = CERT_KIND_EC;
	else if (nid == NID_rsaEncryption)
		kind = CERT_KIND_RSA;
	else {
		log_error("cert", "cannot certify a %s key", OBJ_nid2sn(nid));
		goto out;
	}

	rc = RC_NOMEM;
	tbs.version = s->version;
	tbs.serial = ASN1_INTEGER_new();
	tbs.sig_alg = s->sig_alg;
	tbs.issuer = s->issuer;
	tbs.validity = &validity;
	tbs.spki = wrap_der(spki, len);
	tbs.exts = sk_ASN1_TYPE_new_reserve(NULL, 6);
	if (tbs.serial == NULL || tbs.spki == NULL || tbs.exts == NULL)
		goto out;
	rc = make_serial(tbs.serial, serial_hex);
	if (rc != RC_OK)
		goto out;

	/* notBefore set back for clock skew (IO-09); UTCTime until 2050. */
	rc = RC_CRYPTO;
	validity.not_before = ASN1_TIME_set(NULL, leaf->now - CERT_BACKDATE);
	validity.not_after = ASN1_TIME_set(NULL, end);
	if (validity.not_before == NULL || validity.not_after == NULL)
		goto out;

	/* Subject O=<org>, CN=<first DNS name> if it fits ub-common-name. */
	cn = NULL;
	if (leaf->n_dns > 0 && strlen(leaf->dns[0]) <= CERT_NAME_MAX)
		cn = leaf->dns[0];
	if (!make_leaf_name(&name, leaf->org, cn))
		goto out;
	tbs.subject = name.name;

	/* Extensions: the shared ones, then this key's and this ID's. */
	if (!hash_keyid(key->key, keyid))
		goto out;
	ski = ext_der(make_keyid(NID_subject_key_identifier, keyid,
	    sizeof(keyid)));
	san = ext_der(make_san(leaf->id->str, leaf->id->len, leaf->dns,
	    leaf->n_dns, OPENSSL_sk_num(name.name) == 0));
	if (ski == NULL || san == NULL)
		goto out;
	(void)sk_ASN1_TYPE_push(tbs.exts, s->bc);
	(void)sk_ASN1_TYPE_push(tbs.exts, kind == CERT_KIND_EC ? s->ku_ec :
	    s->ku_rsa);
	(void)sk_ASN1_TYPE_push(tbs.exts, s->eku);
	(void)sk_ASN1_TYPE_push(tbs.exts, ski);
	(void)sk_ASN1_TYPE_push(tbs.exts, s->aki);
	(void)sk_ASN1_TYPE_push(tbs.exts, san);

	n = ASN1_item_i2d((ASN1_VALUE *)&tbs, &tbs_der,
	    ASN1_ITEM_rptr(cert_tbs));
	if (n <= 0) {
		rc = fail_crypto("encode TBSCertificate");
		goto out;
	}
	rc = sign_tbs(s, tbs_der, n, der, der_len);
	tbs_der = NULL;
	if (rc != RC_OK)
		goto out;

	if (not_after != NULL)
		*not_after = end;
	rc = RC_OK;
 out:
	/* Only what this call made: the rest belongs to the signer. */
	sk_ASN1_TYPE_free(tbs.exts);
	ASN1_TYPE_free(san);
	ASN1_TYPE_free(ski);
	ASN1_TYPE_free(tbs.spki);
	free_leaf_name(&name);
	ASN1_TIME_free(validity.not_after);
	ASN1_TIME_free(validity.not_before);
	ASN1_INTEGER_free(tbs.serial);
	ASN1_item_free((ASN1_VALUE *)key, ASN1_ITEM_rptr(cert_spki));
	if (rc != RC_OK)
		ERR_clear_error();
	return rc;
}

enum rc
cert_issue(struct cert_signer *s, const struct csr *csr,
    const struct cert_leaf *leaf, unsigned char **der, size_t *der_len,
    char *serial_hex, time_t *not_after)
{
	if (s == NULL || csr == NULL || csr->spki == NULL || leaf == NULL)
		return RC_INTERNAL;
	return issue_spki(s, csr->spki, csr->spki_len, leaf, der, der_len,
	    serial_hex, not_after);
}

enum rc
cert_issue_for_key(struct cert_signer *s, EVP_PKEY *pub,
    const struct cert_leaf *leaf, unsigned char **der, size_t *der_len,
    char *serial_hex, time_t *not_after)
{
	unsigned char *spki = NULL;
	int n;
	enum rc rc;

	if (s == NULL || pub == NULL || leaf == NULL)
		return RC_INTERNAL;
	n = i2d_PUBKEY(pub, &spki);
	if (n <= 0)
		return fail_crypto("i2d_PUBKEY");
	rc = issue_spki(s, spki, (size_t)n, leaf, der, der_len, serial_hex,
	    not_after);
	OPENSSL_free(spki);
	return rc;
}

/*
 * The digest a key signs with: SHA-256 for P-256 and RSA, SHA-384 for
 * P-384 (RFC 5480 4: digest strength to match the curve).  NULL for any
 * other key.
 */
static EVP_MD *
fetch_digest(EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "RSA"))
		return EVP_MD_fetch(NULL, "SHA2-256", NULL);
	if (!EVP_PKEY_is_a(key, "EC"))
		return NULL;
	switch (EVP_PKEY_get_bits(key)) {
	case 256:
		return EVP_MD_fetch(NULL, "SHA2-256", NULL);
	case 384:
		return EVP_MD_fetch(NULL, "SHA2-384", NULL);
	default:
		return NULL;
	}
}

/* The AlgorithmIdentifier of key signing with md (RFC 5758, RFC 4055). */
static X509_ALGOR *
make_sig_alg(EVP_PKEY *key, const EVP_MD *md)
{
	X509_ALGOR *alg;
	bool sha384 = EVP_MD_is_a(md, "SHA2-384");
	int nid;

	alg = X509_ALGOR_new();
	if (alg == NULL)
		return NULL;
	if (EVP_PKEY_is_a(key, "EC")) {
		/* RFC 5758 3.2: parameters "MUST be absent" for ECDSA. */
		nid = sha384 ? NID_ecdsa_with_SHA384 : NID_ecdsa_with_SHA256;
		if (X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_UNDEF,
		    NULL) == 1)
			return alg;
	} else {
		/* RFC 4055 5: parameters NULL for PKCS#1 v1.5. */
		nid = sha384 ? NID_sha384WithRSAEncryption :
		    NID_sha256WithRSAEncryption;
		if (X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_NULL,
		    NULL) == 1)
			return alg;
	}
	X509_ALGOR_free(alg);
	return NULL;
}

/*
 * The trust domain of the CA's SPIFFE ID (its URI SAN spiffe://<td>) into
 * s->td; none (td_len 0) when it carries no such URI.
 */
static void
get_ca_td(X509 *ca, struct cert_signer *s)
{
	GENERAL_NAMES *gens;
	const ASN1_IA5STRING *uri;
	const char *p, *slash;
	size_t len, n;
	int i;

	s->td_len = 0;
	gens = X509_get_ext_d2i(ca, NID_subject_alt_name, NULL, NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_URI)
			continue;
		uri = g->d.uniformResourceIdentifier;
		p = (const char *)ASN1_STRING_get0_data(uri);
		len = (size_t)ASN1_STRING_length(uri);
		if (len <= SPIFFEID_SCHEME_LEN ||
		    memcmp(p, SPIFFEID_SCHEME, SPIFFEID_SCHEME_LEN) != 0)
			continue;
		p += SPIFFEID_SCHEME_LEN;
		len -= SPIFFEID_SCHEME_LEN;
		slash = memchr(p, '/', len);
		n = slash == NULL ? len : (size_t)(slash - p);
		if (n == 0 || n > SPIFFEID_TD_MAX)
			continue;
		memcpy(s->td, p, n);
		s->td[n] = '\0';
		s->td_len = n;
		break;
	}
	GENERAL_NAMES_free(gens);
}

/*
 * The CA's key identifier: its SKI extension, or for a CA without one
 * the SHA-1 of its key bits, which is what the SKI would have held.
 */
static bool
get_ca_keyid(X509 *ca, unsigned char *out, size_t *len)
{
	const ASN1_OCTET_STRING *ski;
	const EVP_MD *sha1 = get_sha1();
	unsigned int n = 0;

	ski = X509_get0_subject_key_id(ca);
	if (ski != NULL && ASN1_STRING_length(ski) > 0 &&
	    ASN1_STRING_length(ski) <= EVP_MAX_MD_SIZE) {
		*len = (size_t)ASN1_STRING_length(ski);
		memcpy(out, ASN1_STRING_get0_data(ski), *len);
		return true;
	}
	if (sha1 == NULL || X509_pubkey_digest(ca, sha1, out, &n) != 1)
		return false;
	*len = n;
	return true;
}

struct cert_signer *
cert_signer_new(X509 *ca, EVP_PKEY *key)
{
	static const int ku_ec[] = { 0, 4 };	/* RFC 8813 3 */
	static const int ku_rsa[] = { 0, 2 };	/* RFC 3279 2.3.1 */
	struct cert_signer *s;
	unsigned char *name = NULL, keyid[EVP_MAX_MD_SIZE];
	size_t keyid_len;
	int n, size;

	if (ca == NULL || key == NULL)
		return NULL;
	if (X509_check_private_key(ca, key) != 1) {
		fail_crypto("signer: CA certificate and key match check");
		return NULL;
	}
	/* X5-06: whatever signs SVIDs is CA:TRUE with keyCertSign. */
	if (X509_check_ca(ca) != 1) {
		log_error("cert", "signer: certificate is not a CA");
		ERR_clear_error();
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return NULL;
	}
	if (X509_up_ref(ca) != 1 || EVP_PKEY_up_ref(key) != 1)
		goto fail;
	s->ca = ca;
	s->key = key;
	s->not_after = cert_not_after(ca);
	get_ca_td(ca, s);
	/* Only EC P-256, P-384 and RSA up to 8192 bits sign. */
	size = EVP_PKEY_get_size(key);
	s->md = fetch_digest(key);
	if (s->md == NULL || size <= 0 || size > CERT_SIG_MAX)
		goto fail;

	/* Issuer: the CA's subject bytes as they are (RFC 5280 7.1). */
	n = i2d_X509_NAME(X509_get_subject_name(ca), &name);
	if (n <= 0)
		goto fail;
	s->issuer = wrap_der(name, (size_t)n);
	OPENSSL_free(name);

	s->version = ASN1_INTEGER_new();
	s->sig_alg = make_sig_alg(key, s->md);
	s->bc = ext_der(make_bc(false));
	s->ku_ec = ext_der(make_ku(ku_ec, 2));
	s->ku_rsa = ext_der(make_ku(ku_rsa, 2));
	s->eku = ext_der(make_eku());
	if (get_ca_keyid(ca, keyid, &keyid_len))
		s->aki = ext_der(make_keyid(NID_authority_key_identifier,
		    keyid, keyid_len));
	if (s->issuer == NULL || s->version == NULL ||
	    ASN1_INTEGER_set(s->version, CERT_X509_V3) != 1 ||
	    s->sig_alg == NULL || s->bc == NULL || s->ku_ec == NULL ||
	    s->ku_rsa == NULL || s->eku == NULL || s->aki == NULL)
		goto fail;
	return s;
 fail:
	fail_crypto("signer: prepare (key must be EC P-256, P-384 or RSA)");
	cert_signer_free(s);
	return NULL;
}

void
cert_signer_free(struct cert_signer *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_pool; i++)
		EVP_PKEY_CTX_free(s->pool[i]);
	ASN1_TYPE_free(s->aki);
	ASN1_TYPE_free(s->eku);
	ASN1_TYPE_free(s->ku_rsa);
	ASN1_TYPE_free(s->ku_ec);
	ASN1_TYPE_free(s->bc);
	X509_ALGOR_free(s->sig_alg);
	ASN1_TYPE_free(s->issuer);
	ASN1_INTEGER_free(s->version);
	EVP_MD_free(s->md);
	EVP_PKEY_free(s->key);
	X509_free(s->ca);
	(void)pthread_mutex_destroy(&s->lock);
	free(s);
}

X509 *
cert_signer_get0_cert(const struct cert_signer *s)
{
	return s == NULL ? NULL : s->ca;
}

/* Add ex to x and free it; false if ex is NULL or adding failed. */
static bool
add_ext(X509 *x, X509_EXTENSION *ex)
{
	int ok;

	if (ex == NULL)
		return false;
	ok = X509_add_ext(x, ex, -1);
	X509_EXTENSION_free(ex);
	return ok == 1;
}

/*
 * Root subject: O=<org> when given, CN=<td> when it fits ub-common-name,
 * and serialNumber=<serial hex> so that each authority of a trust domain
 * has its own name (IO-13: never empty).
 */
static bool
make_root_name(X509_NAME *name, const char *td, const char *org,
    const char *serial_hex)
{
	if (!add_name(name, NID_organizationName, org))
		return false;
	if (strlen(td) <= CERT_NAME_MAX &&
	    !add_name(name, NID_commonName, td))
		return false;
	return X509_NAME_add_entry_by_NID(name, NID_serialNumber, MBSTRING_ASC,
	    (const unsigned char *)serial_hex, -1, -1, 0) == 1;
}

X509 *
cert_make_root(EVP_PKEY *key, const char *td, const char *org,
    time_t not_before, time_t not_after)
{
	static const int ku_ca[] = { 5, 6 };	/* keyCertSign, cRLSign */
	X509 *x = NULL;
	EVP_MD *md = NULL;
	ASN1_BIT_STRING *bits;
	unsigned char keyid[CERT_SKI_LEN];
	char serial_hex[2 * CERT_SERIAL_LEN + 1];
	char uri[SPIFFEID_SCHEME_LEN + SPIFFEID_TD_MAX + 1];
	size_t td_len;
	int n;

	/* td was checked by spiffeid_td_parse() where it was configured. */
	if (key == NULL || td == NULL || not_after <= not_before)
		return NULL;
	td_len = strnlen(td, SPIFFEID_TD_MAX + 1);
	if (td_len == 0 || td_len > SPIFFEID_TD_MAX) {
		log_error("cert", "trust domain name of bad length");
		return NULL;
	}
	n = snprintf(uri, sizeof(uri), "%s%s", SPIFFEID_SCHEME, td);
	if (n < 0 || (size_t)n >= sizeof(uri))
		return NULL;

	md = fetch_digest(key);
	if (md == NULL) {
		log_error("cert", "root key must be EC P-256, P-384 or RSA");
		return NULL;
	}
	x = X509_new();
	if (x == NULL)
		goto fail;
	if (X509_set_version(x, CERT_X509_V3) != 1 ||
	    make_serial(X509_get_serialNumber(x), serial_hex) != RC_OK ||
	    !make_root_name(X509_get_subject_name(x), td, org, serial_hex) ||
	    X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), not_after) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto fail;

	/* X5-06: CA:TRUE critical; no pathLenConstraint on a root. */
	bits = X509_get0_pubkey_bitstr(x);
	if (bits == NULL || !hash_keyid(bits, keyid) ||
	    !add_ext(x, make_bc(true)) ||
	    !add_ext(x, make_ku(ku_ca, 2)) ||
	    !add_ext(x, make_keyid(NID_subject_key_identifier, keyid,
	    sizeof(keyid))) ||
	    !add_ext(x, make_san(uri, (size_t)n, NULL, 0, false)))
		goto fail;

	if (X509_sign(x, key, md) <= 0)
		goto fail;
	EVP_MD_free(md);
	return x;
 fail:
	fail_crypto("cert_make_root");
	EVP_MD_free(md);
	X509_free(x);
	return NULL;
}

/* Unix seconds of an ASN1_TIME, 0 when it cannot be read. */
static time_t
time_of(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

time_t
cert_not_before(const X509 *x)
{
	return x == NULL ? 0 : time_of(X509_get0_notBefore(x));
}

time_t
cert_not_after(const X509 *x)
{
	return x == NULL ? 0 : time_of(X509_get0_notAfter(x));
}

enum rc
cert_get1_der(X509 *x, unsigned char **der, size_t *len)
{
	int n;

	*der = NULL;
	*len = 0;
	if (x == NULL)
		return RC_INTERNAL;
	n = i2d_X509(x, der);
	if (n <= 0)
		return fail_crypto("i2d_X509");
	*len = (size_t)n;
	return RC_OK;
}

char *
cert_der_to_pem(const unsigned char *der, size_t len)
{
	BIO *bio;
	BUF_MEM *mem = NULL;
	char *pem = NULL;

	if (der == NULL || len == 0 || len > LONG_MAX)
		return NULL;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return NULL;
	if (PEM_write_bio(bio, PEM_STRING_X509, "", der, (long)len) <= 0 ||
	    BIO_get_mem_ptr(bio, &mem) != 1 || mem == NULL) {
		fail_crypto("PEM_write_bio");
		goto out;
	}
	pem = malloc(mem->length + 1);
	if (pem == NULL)
		goto out;
	memcpy(pem, mem->data, mem->length);
	pem[mem->length] = '\0';
 out:
	BIO_free(bio);
	return pem;
}

void
cert_sha256_hex(const unsigned char *der, size_t len, char *out)
{
	const EVP_MD *sha256 = get_sha256();
	unsigned char md[32];
	unsigned int n = 0;

	if (sha256 == NULL ||
	    EVP_Digest(der, len, md, &n, sha256, NULL) != 1 ||
	    n != sizeof(md)) {
		out[0] = '\0';
		ERR_clear_error();
		return;
	}
	sodium_bin2hex(out, 65, md, sizeof(md));
}
