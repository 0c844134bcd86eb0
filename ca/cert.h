/*
 * cert.h: build and sign X.509 certificates with OpenSSL: the self-signed
 * root of a trust domain, X.509-SVID leaves from a CSR or a key, and
 * helpers to inspect what we made.  Every rule of DESIGN.md's leaf profile
 * and conformance checklist X5-* / IO-* is enforced here.
 *
 * A signer is made once per authority and shared by all request threads;
 * it keeps the issuer name, AKI and signing context ready so one leaf
 * costs one signature.
 */
#ifndef SVIDCA_CERT_H
#define SVIDCA_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../server/rc.h"
#include "csr.h"
#include "spiffeid.h"

#define CERT_BACKDATE		10	/* seconds notBefore is set back */
#define CERT_SERIAL_LEN		16	/* random serial bytes (>= 64 bits) */

struct cert_signer;

/* What goes into a leaf besides the public key. */
struct cert_leaf {
	const struct spiffeid	 *id;		/* the one URI SAN; must have a path */
	const char *const	 *dns;		/* DNS SANs, may be NULL */
	size_t			  n_dns;	/* count, <= CERT_DNS_MAX */
	const char		 *org;		/* subject O=, may be NULL */
	time_t			  now;		/* notBefore = now - backdate */
	long			  ttl;		/* seconds; capped at issuer's notAfter */
};

/*
 * Self-signed root for spiffe://<td>: CA:TRUE critical, keyUsage
 * keyCertSign+cRLSign critical, SKI, URI SAN spiffe://<td>, subject
 * O=<org> (when org is set), CN=<td> (when it fits 64 bytes) and
 * serialNumber=<serial hex>, so each authority's name is unique.  td must
 * have passed spiffeid_td_parse().  The key signs with SHA-256 (P-256,
 * RSA) or SHA-384 (P-384); other keys are refused.  NULL on failure
 * (logged); caller X509_free()s.
 */
X509		*cert_make_root(EVP_PKEY *key, const char *td, const char *org,
		    time_t not_before, time_t not_after);

/*
 * A signer for ca (borrowed, up-ref'd) and its key (up-ref'd).  NULL on
 * failure.  Thread-safe to use concurrently.
 */
struct cert_signer *cert_signer_new(X509 *ca, EVP_PKEY *key);
void		 cert_signer_free(struct cert_signer *);
X509		*cert_signer_get0_cert(const struct cert_signer *);

/*
 * Check what would go into a leaf against the profile: an ID with a path
 * (X5-04), at most CERT_DNS_MAX DNS names each in RFC 1123 host syntax (a
 * wildcard only as the whole leftmost label of a name with two more
 * labels), org within ub-organization-name, ttl > 0.  RC_BAD_REQUEST with
 * why (field "spiffe_id", "dns_names", "org" or "ttl") on a fault.
 * cert_issue() runs it too, without a why: call it first to get one.
 */
enum rc		 cert_check_leaf(const struct cert_leaf *, struct rc_why *why)
		    MUST_CHECK;

/*
 * Issue an X.509-SVID for csr under signer.  On success *der holds the
 * leaf (caller OPENSSL_free()s), serial_hex the lowercase serial (at least
 * 2*CERT_SERIAL_LEN+1 bytes) and *not_after the expiry.  RC_BAD_REQUEST
 * when cert_check_leaf() fails, RC_DENIED for an ID outside the trust
 * domain of the signer's own URI SAN, RC_UNAVAILABLE once the signer has
 * expired, RC_CRYPTO or RC_NOMEM for our faults.  Thread-safe.
 */
enum rc		 cert_issue(struct cert_signer *, const struct csr *,
		    const struct cert_leaf *, unsigned char **der,
		    size_t *der_len, char *serial_hex, time_t *not_after)
		    MUST_CHECK;

/* The same for a key we hold (the server's own SVID). */
enum rc		 cert_issue_for_key(struct cert_signer *, EVP_PKEY *pub,
		    const struct cert_leaf *, unsigned char **der,
		    size_t *der_len, char *serial_hex, time_t *not_after)
		    MUST_CHECK;

/* notBefore / notAfter of a certificate as Unix seconds; 0 if unreadable. */
time_t		 cert_not_before(const X509 *);
time_t		 cert_not_after(const X509 *);

/* DER of x into a fresh buffer (caller OPENSSL_free()s). */
enum rc		 cert_get1_der(X509 *x, unsigned char **der, size_t *len)
		    MUST_CHECK;

/*
 * PEM text ("CERTIFICATE" block) of a DER certificate as a new
 * NUL-terminated string; caller free()s it.  NULL on failure.
 */
char		*cert_der_to_pem(const unsigned char *der, size_t len);

/* Lowercase hex SHA-256 of DER bytes into out (65 bytes). */
void		 cert_sha256_hex(const unsigned char *der, size_t len,
		    char *out);

#endif
