/*
 * csr.c: accept and verify PKCS#10 certification requests (RFC 2986).
 *
 * OpenSSL 3.0 decodes a SubjectPublicKeyInfo through its provider decoder
 * chain, which costs about 95 us a key (NOTES.md), more than the signature
 * check itself.  So the request is decoded with our own ASN.1 templates,
 * written with OpenSSL's template macros, in which the public key stays a
 * plain { AlgorithmIdentifier, BIT STRING } pair.  The proof of possession
 * is checked from the raw key: an EC point goes into a per-thread EC_KEY
 * for ECDSA_verify(); an RSA key, rare, goes through EVP_PKEY_fromdata()
 * and EVP_DigestVerify().
 */
#include "csr.h"

/*
 * The EC_KEY calls are deprecated in OpenSSL 3.0 but are the only route
 * to a verify without the provider decoders; OPENSSL_API_COMPAT allows
 * them, this silences the per-call warnings.  It must come before the
 * first OpenSSL header.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "../server/bounds.h"
#include "../server/log.h"

#define CSR_FIELD	"csr"
#define CSR_RSA_MIN	2048		/* bits, DESIGN.md leaf profile */
#define CSR_RSA_MAX	4096		/* bits, DESIGN.md leaf profile */
#define CSR_RSA_E	65537UL		/* the one public exponent taken */

#define R_NOT_CSR	"csr: not a PKCS#10 request"
#define R_BAD_SIG	"csr: signature does not verify"
#define R_RSA_SMALL	"csr: RSA key below 2048 bits"
#define R_RSA_LARGE	"csr: RSA key above 4096 bits"
#define R_RSA_E		"csr: RSA exponent must be 65537"
#define R_CURVE		"csr: unsupported curve"
#define R_KEY_TYPE	"csr: unsupported key type"
#define R_SIZE		"csr: over size limit"

/*
 * SubjectPublicKeyInfo ::= SEQUENCE {
 *	algorithm		AlgorithmIdentifier,
 *	subjectPublicKey	BIT STRING }
 * Not X509_PUBKEY: its decoder builds an EVP_PKEY, which is the slow part.
 */
struct csr_spki {
	X509_ALGOR		*alg;	/* key algorithm and parameters */
	ASN1_BIT_STRING		*key;	/* EC point or RSAPublicKey DER */
};

/*
 * CertificationRequestInfo (RFC 2986 section 4.1).  The encoding is kept
 * as received: the signature covers those bytes, not our re-encoding.
 */
struct csr_info {
	ASN1_INTEGER		*version;	/* must be 0 (v1) */
	ASN1_TYPE		*subject;	/* Name, kept opaque, ignored */
	struct csr_spki		*spki;		/* the requester's key */
	STACK_OF(ASN1_TYPE)	*attrs;		/* parsed, then ignored */
	ASN1_ENCODING		 enc;		/* DER as received */
};

/* CertificationRequest (RFC 2986 section 4.2). */
struct csr_req {
	struct csr_info		*info;
	X509_ALGOR		*sig_alg;	/* signatureAlgorithm */
	ASN1_BIT_STRING		*sig;		/* signature */
};

ASN1_SEQUENCE(csr_spki) = {
	ASN1_SIMPLE(struct csr_spki, alg, X509_ALGOR),
	ASN1_SIMPLE(struct csr_spki, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END_name(struct csr_spki, csr_spki)

static const ASN1_AUX csr_info_aux = {
	NULL, ASN1_AFLG_ENCODING, 0, 0, NULL,
	offsetof(struct csr_info, enc), NULL
};

/*
 * The subject is ignored, so it is taken as ANY and only checked to be a
 * SEQUENCE: decoding it as an X509_NAME costs about 2 us for nothing.
 * attributes is [0] IMPLICIT and not OPTIONAL in RFC 2986, but some
 * requesters leave out an empty set; OpenSSL accepts that too.
 */
ASN1_SEQUENCE(csr_info) = {
	ASN1_SIMPLE(struct csr_info, version, ASN1_INTEGER),
	ASN1_SIMPLE(struct csr_info, subject, ASN1_ANY),
	ASN1_SIMPLE(struct csr_info, spki, csr_spki),
	ASN1_IMP_SET_OF_OPT(struct csr_info, attrs, ASN1_ANY, 0),
} static_ASN1_SEQUENCE_END_ref(struct csr_info, csr_info)

ASN1_SEQUENCE(csr_req) = {
	ASN1_SIMPLE(struct csr_req, info, csr_info),
	ASN1_SIMPLE(struct csr_req, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(struct csr_req, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END_name(struct csr_req, csr_req)

/* Per-thread verify state: one EC_KEY per curve, its point replaced. */
struct csr_tls {
	EC_KEY		*p256;		/* group prime256v1, owned */
	EC_KEY		*p384;		/* group secp384r1, owned */
};

/* Digests fetched once for the whole process, never freed. */
static EVP_MD		*csr_sha256;
static EVP_MD		*csr_sha384;
static EVP_MD		*csr_sha512;
static bool		 csr_init_ok;
static pthread_once_t	 csr_once = PTHREAD_ONCE_INIT;
static pthread_key_t	 csr_tls_key;
static __thread struct csr_tls *csr_tls;

static void
on_thread_exit(void *arg)
{
	struct csr_tls *t = arg;

	EC_KEY_free(t->p256);
	EC_KEY_free(t->p384);
	free(t);
}

static void
init_once(void)
{
	char buf[256];

	if (pthread_key_create(&csr_tls_key, on_thread_exit) != 0) {
		log_error("csr", "pthread_key_create failed");
		return;
	}
	csr_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	csr_sha384 = EVP_MD_fetch(NULL, "SHA2-384", NULL);
	csr_sha512 = EVP_MD_fetch(NULL, "SHA2-512", NULL);
	if (csr_sha256 == NULL || csr_sha384 == NULL || csr_sha512 == NULL) {
		log_error("csr", "cannot fetch SHA-2 digests ossl=%s",
		    log_ossl(buf, sizeof(buf)));
		return;
	}
	csr_init_ok = true;
}

/*
 * This thread's EC_KEYs, made on first use; NULL if that failed (logged).
 * Freed by on_thread_exit() when the thread ends.
 */
static struct csr_tls *
get_tls(void)
{
	struct csr_tls *t;
	char buf[256];

	if (csr_tls != NULL)
		return csr_tls;
	if (pthread_once(&csr_once, init_once) != 0 || !csr_init_ok)
		return NULL;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->p256 = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
	t->p384 = EC_KEY_new_by_curve_name(NID_secp384r1);
	if (t->p256 == NULL || t->p384 == NULL ||
	    pthread_setspecific(csr_tls_key, t) != 0) {
		log_error("csr", "cannot prepare EC keys ossl=%s",
		    log_ossl(buf, sizeof(buf)));
		on_thread_exit(t);
		return NULL;
	}
	csr_tls = t;
	return t;
}

/* Is the BIT STRING made of whole bytes (no unused bits)? */
static bool
is_whole_bytes(const ASN1_BIT_STRING *bs)
{
	if ((bs->flags & ASN1_STRING_FLAG_BITS_LEFT) == 0)
		return true;
	return (bs->flags & 0x07) == 0;
}

/*
 * Check an EC key: namedCurve P-256 or P-384 (RFC 5480 section 2.1.1),
 * uncompressed point.  Sets out->key, out->bits and *eckey (borrowed from
 * this thread's cache, holding the point until the next call).
 */
static enum rc
check_ec(const struct csr_spki *spki, struct csr_tls *t, struct csr *out,
    EC_KEY **eckey, struct rc_why *why)
{
	const ASN1_OBJECT *pobj;
	const void *pval;
	const unsigned char *pt;
	EC_KEY *k;
	int ptype, nid, n;
	size_t want;

	X509_ALGOR_get0(NULL, &ptype, &pval, spki->alg);
	if (ptype != V_ASN1_OBJECT)
		return rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_CURVE,
		    "EC parameters must name a curve (RFC 5480 2.1.1)");
	pobj = pval;
	nid = OBJ_obj2nid(pobj);
	if (nid == NID_X9_62_prime256v1) {
		k = t->p256;
		out->key = CSR_KEY_EC_P256;
		out->bits = 256;
		want = 65;
	} else if (nid == NID_secp384r1) {
		k = t->p384;
		out->key = CSR_KEY_EC_P384;
		out->bits = 384;
		want = 97;
	} else
		return rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_CURVE,
		    "curve %s is not accepted; use P-256 or P-384",
		    nid == NID_undef ? "(unknown)" : OBJ_nid2sn(nid));

	/*
	 * RFC 5480 section 2.2: "The uncompressed form MUST be supported";
	 * the key is copied into the SVID as sent, so take only that form.
	 */
	pt = ASN1_STRING_get0_data(spki->key);
	n = ASN1_STRING_length(spki->key);
	if (!is_whole_bytes(spki->key) || n < 0 || (size_t)n != want ||
	    pt[0] != POINT_CONVERSION_UNCOMPRESSED)
		return rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_KEY_TYPE,
		    "EC public key must be an uncompressed point "
		    "(RFC 5480 2.2)");
	if (EC_KEY_oct2key(k, pt, (size_t)n, NULL) != 1) {
		ERR_clear_error();
		return rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_KEY_TYPE,
		    "EC public key is not a point on %s", OBJ_nid2sn(nid));
	}
	*eckey = k;
	return RC_OK;
}

/*
 * Check an RSA key: NULL parameters (RFC 3279 section 2.3.1), modulus of
 * 2048..4096 bits, odd, e = 65537.  On success *pkey is a new EVP_PKEY
 * holding it (caller frees).
 */
static enum rc
check_rsa(const struct csr_spki *spki, struct csr *out, EVP_PKEY **pkey,
    struct rc_why *why)
{
	const unsigned char *p, *end;
	const BIGNUM *n = NULL, *e = NULL;
	RSA *rsa = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *kctx = NULL;
	char buf[256];
	enum rc rc = RC_BAD_CSR;
	int ptype, bits;

	/* RFC 3279 2.3.1: "the parameters component ... MUST be ... NULL". */
	X509_ALGOR_get0(NULL, &ptype, NULL, spki->alg);
	if (ptype != V_ASN1_NULL) {
		rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_KEY_TYPE,
		    "rsaEncryption parameters must be NULL (RFC 3279 2.3.1)");
		goto out;
	}

	p = ASN1_STRING_get0_data(spki->key);
	end = p + ASN1_STRING_length(spki->key);
	if (is_whole_bytes(spki->key))
		rsa = d2i_RSAPublicKey(NULL, &p, (long)(end - p));
	if (rsa == NULL || p != end) {
		ERR_clear_error();
		rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_NOT_CSR,
		    "RSA public key is not an RSAPublicKey (RFC 3279 2.3.1)");
		goto out;
	}
	RSA_get0_key(rsa, &n, &e, NULL);
	bits = BN_num_bits(n);
	if (bits < CSR_RSA_MIN) {
		rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_RSA_SMALL,
		    "RSA key has %d bits; at least %d are required", bits,
		    CSR_RSA_MIN);
		goto out;
	}
	if (bits > CSR_RSA_MAX) {
		rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_RSA_LARGE,
		    "RSA key has %d bits; at most %d are accepted", bits,
		    CSR_RSA_MAX);
		goto out;
	}
	if (!BN_is_word(e, CSR_RSA_E)) {
		rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_RSA_E,
		    "RSA public exponent must be 65537");
		goto out;
	}
	if (!BN_is_odd(n)) {
		rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_KEY_TYPE,
		    "RSA modulus is even");
		goto out;
	}

	/* Our fault from here: the key is fine, building it failed. */
	rc = RC_CRYPTO;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
		goto out_log;
	params = OSSL_PARAM_BLD_to_param(bld);
	kctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (params == NULL || kctx == NULL ||
	    EVP_PKEY_fromdata_init(kctx) != 1 ||
	    EVP_PKEY_fromdata(kctx, pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out_log;

	out->key = CSR_KEY_RSA;
	out->bits = bits;
	rc = RC_OK;
	goto out;
 out_log:
	log_error("csr", "cannot build RSA key ossl=%s",
	    log_ossl(buf, sizeof(buf)));
 out:
	EVP_PKEY_CTX_free(kctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	RSA_free(rsa);
	return rc;
}

/*
 * Which digest signs the request, for a key of kind key.  The accepted
 * algorithms are ecdsa-with-SHA256/384 (RFC 5758 3.2, parameters absent)
 * and sha256/384/512WithRSAEncryption (RFC 4055 5, parameters NULL or,
 * as many encoders write them, absent).
 */
static enum rc
pick_digest(const X509_ALGOR *alg, enum csr_key key, const EVP_MD **md,
    struct rc_why *why)
{
	const ASN1_OBJECT *obj;
	int ptype, nid;
	bool ec = key != CSR_KEY_RSA;

	X509_ALGOR_get0(&obj, &ptype, NULL, alg);
	nid = OBJ_obj2nid(obj);
	*md = NULL;
	if (ec && ptype == V_ASN1_UNDEF) {
		if (nid == NID_ecdsa_with_SHA256)
			*md = csr_sha256;
		else if (nid == NID_ecdsa_with_SHA384)
			*md = csr_sha384;
	} else if (!ec && (ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF)) {
		if (nid == NID_sha256WithRSAEncryption)
			*md = csr_sha256;
		else if (nid == NID_sha384WithRSAEncryption)
			*md = csr_sha384;
		else if (nid == NID_sha512WithRSAEncryption)
			*md = csr_sha512;
	}
	if (*md == NULL)
		return rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_BAD_SIG,
		    "signature algorithm %s is not accepted for this key",
		    nid == NID_undef ? "(unknown)" : OBJ_nid2sn(nid));
	return RC_OK;
}

/* Verify an ECDSA signature over tbs with eckey. */
static enum rc
verify_ec(const struct csr_req *req, const EVP_MD *md, EC_KEY *eckey,
    struct rc_why *why)
{
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen;
	char buf[256];
	int ok;

	if (EVP_Digest(req->info->enc.enc, (size_t)req->info->enc.len, dgst,
	    &dlen, md, NULL) != 1) {
		log_error("csr", "digest failed ossl=%s",
		    log_ossl(buf, sizeof(buf)));
		return RC_CRYPTO;
	}

	/* ECDSA_verify() also refuses a signature that is not strict DER. */
	ok = 0;
	if (is_whole_bytes(req->sig))
		ok = ECDSA_verify(0, dgst, (int)dlen,
		    ASN1_STRING_get0_data(req->sig),
		    ASN1_STRING_length(req->sig), eckey);
	if (ok != 1) {
		ERR_clear_error();
		return rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_BAD_SIG,
		    "ECDSA signature does not verify with the request's key "
		    "(RFC 2986 3)");
	}
	return RC_OK;
}

/* Verify an RSA PKCS#1 v1.5 signature over tbs with pkey. */
static enum rc
verify_rsa(const struct csr_req *req, const EVP_MD *md, EVP_PKEY *pkey,
    struct rc_why *why)
{
	EVP_MD_CTX *mctx;
	char buf[256];
	enum rc rc = RC_CRYPTO;
	int ok;

	mctx = EVP_MD_CTX_new();
	if (mctx == NULL ||
	    EVP_DigestVerifyInit_ex(mctx, NULL, EVP_MD_get0_name(md), NULL,
	    NULL, pkey, NULL) != 1) {
		log_error("csr", "cannot start RSA verify ossl=%s",
		    log_ossl(buf, sizeof(buf)));
		goto out;
	}
	ok = 0;
	if (is_whole_bytes(req->sig))
		ok = EVP_DigestVerify(mctx, ASN1_STRING_get0_data(req->sig),
		    (size_t)ASN1_STRING_length(req->sig), req->info->enc.enc,
		    (size_t)req->info->enc.len);
	if (ok != 1) {
		ERR_clear_error();
		rc = rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_BAD_SIG,
		    "RSA signature does not verify with the request's key "
		    "(RFC 2986 3)");
		goto out;
	}
	rc = RC_OK;
 out:
	EVP_MD_CTX_free(mctx);
	return rc;
}

/* Decode der as a CertificationRequest with nothing after it. */
static enum rc
decode(const unsigned char *der, size_t len, struct csr_req **out,
    struct rc_why *why)
{
	const unsigned char *p = der;
	struct csr_req *req;

	*out = NULL;
	req = (struct csr_req *)ASN1_item_d2i(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(csr_req));
	if (req == NULL || p != der + len) {
		ASN1_item_free((ASN1_VALUE *)req, ASN1_ITEM_rptr(csr_req));
		ERR_clear_error();
		return rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_NOT_CSR,
		    "not one DER CertificationRequest (RFC 2986 4.2)");
	}
	/*
	 * RFC 2986 4.1: version "shall be 0 for this version of the
	 * standard"; the subject, ignored, must still be a Name.
	 */
	if (ASN1_INTEGER_get(req->info->version) != 0 ||
	    req->info->subject->type != V_ASN1_SEQUENCE) {
		ASN1_item_free((ASN1_VALUE *)req, ASN1_ITEM_rptr(csr_req));
		ERR_clear_error();
		return rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_NOT_CSR,
		    "version must be 0 and subject a Name (RFC 2986 4.1)");
	}
	*out = req;
	return RC_OK;
}

enum rc
csr_parse(const unsigned char *der, size_t len, struct csr **out,
    struct rc_why *why)
{
	struct csr_req *req = NULL;
	struct csr *c = NULL;
	struct csr_tls *t;
	EC_KEY *eckey = NULL;
	EVP_PKEY *rsa = NULL;
	const EVP_MD *md;
	unsigned char *spki = NULL;
	int nid, n;
	enum rc rc = RC_BAD_CSR;

	*out = NULL;
	if (len > CSR_DER_MAX) {
		rc = rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_SIZE,
		    "request is %zu bytes; at most %d are accepted", len,
		    CSR_DER_MAX);
		goto out;
	}
	if (der == NULL || len == 0) {
		rc = rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_NOT_CSR,
		    "request is empty");
		goto out;
	}
	t = get_tls();
	if (t == NULL) {
		rc = RC_CRYPTO;
		goto out;
	}

	rc = decode(der, len, &req, why);
	if (rc != RC_OK)
		goto out;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		rc = RC_NOMEM;
		goto out;
	}

	/* The key: what it is, and whether policy takes it. */
	nid = OBJ_obj2nid(req->info->spki->alg->algorithm);
	if (nid == NID_X9_62_id_ecPublicKey)
		rc = check_ec(req->info->spki, t, c, &eckey, why);
	else if (nid == NID_rsaEncryption)
		rc = check_rsa(req->info->spki, c, &rsa, why);
	else
		rc = rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_KEY_TYPE,
		    "key type %s is not accepted; use EC P-256, P-384 or RSA",
		    nid == NID_undef ? "(unknown)" : OBJ_nid2sn(nid));
	if (rc != RC_OK)
		goto out;

	/* RFC 2986 3: the signature proves possession of the private key. */
	rc = pick_digest(req->sig_alg, c->key, &md, why);
	if (rc != RC_OK)
		goto out;
	if (eckey != NULL)
		rc = verify_ec(req, md, eckey, why);
	else
		rc = verify_rsa(req, md, rsa, why);
	if (rc != RC_OK)
		goto out;

	/*
	 * Keep the key as DER from the encoder, not the bytes received: a
	 * BER length in the request must not reach the certificate.
	 */
	n = ASN1_item_i2d((ASN1_VALUE *)req->info->spki, &spki,
	    ASN1_ITEM_rptr(csr_spki));
	if (n <= 0) {
		rc = RC_NOMEM;
		goto out;
	}
	c->spki = spki;
	spki = NULL;
	c->spki_len = (size_t)n;

	*out = c;
	c = NULL;
	rc = RC_OK;
 out:
	OPENSSL_free(spki);
	csr_free(c);
	EVP_PKEY_free(rsa);
	ASN1_item_free((ASN1_VALUE *)req, ASN1_ITEM_rptr(csr_req));
	return rc;
}

/* The PEM password prompt must never run on a request's behalf. */
static int
on_pem_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

enum rc
csr_parse_pem(const char *pem, size_t len, struct csr **out,
    struct rc_why *why)
{
	BIO *bio = NULL;
	unsigned char *der = NULL;
	char *name = NULL;
	long dlen = 0;
	enum rc rc = RC_BAD_CSR;

	*out = NULL;
	if (len > CSR_PEM_MAX) {
		rc = rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_SIZE,
		    "PEM request is %zu bytes; at most %d are accepted", len,
		    CSR_PEM_MAX);
		goto out;
	}
	if (pem == NULL || len == 0) {
		rc = rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_NOT_CSR,
		    "request is empty");
		goto out;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	if (PEM_bytes_read_bio(&der, &dlen, &name, PEM_STRING_X509_REQ, bio,
	    on_pem_password, NULL) != 1) {
		ERR_clear_error();
		rc = rc_why_set(why, RC_BAD_CSR, CSR_FIELD, R_NOT_CSR,
		    "no PEM \"CERTIFICATE REQUEST\" block (RFC 7468 7)");
		goto out;
	}
	rc = csr_parse(der, (size_t)dlen, out, why);
 out:
	OPENSSL_free(der);
	OPENSSL_free(name);
	BIO_free(bio);
	return rc;
}

void
csr_free(struct csr *c)
{
	if (c == NULL)
		return;
	OPENSSL_free(c->spki);
	free(c);
}
