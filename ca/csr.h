/*
 * csr.h: accept and verify PKCS#10 certification requests.
 *
 * A CSR gives us only its public key.  Its signature (proof of possession)
 * is checked on every path that takes one; the key must be EC P-256 or
 * P-384, or RSA 2048..4096 bits with e = 65537.  Subject, attributes and
 * requested extensions are ignored, never honoured.
 *
 * The parsed form keeps the SubjectPublicKeyInfo as the DER bytes the
 * requester sent, so issuance can copy them into the certificate without
 * OpenSSL 3.0's slow key decode and re-encode (NOTES.md).
 */
#ifndef SVIDCA_CSR_H
#define SVIDCA_CSR_H

#include <stddef.h>

#include "../server/rc.h"

enum csr_key {
	CSR_KEY_EC_P256,
	CSR_KEY_EC_P384,
	CSR_KEY_RSA,
};

struct csr {
	unsigned char	*spki;		/* owned DER SubjectPublicKeyInfo */
	size_t		 spki_len;	/* bytes in spki */
	enum csr_key	 key;		/* kind of public key */
	int		 bits;		/* key size in bits */
};

/*
 * Parse a DER CSR, check its key against the policy above and verify its
 * signature.  RC_BAD_CSR with why->rule naming the check on any fault:
 *   "csr: not a PKCS#10 request", "csr: signature does not verify",
 *   "csr: RSA key below 2048 bits", "csr: RSA key above 4096 bits",
 *   "csr: RSA exponent must be 65537", "csr: unsupported curve",
 *   "csr: unsupported key type", "csr: over size limit".
 * Caller frees *out with csr_free().
 */
enum rc		 csr_parse(const unsigned char *der, size_t len,
		    struct csr **out, struct rc_why *why) MUST_CHECK;

/* The same for one PEM "CERTIFICATE REQUEST" block. */
enum rc		 csr_parse_pem(const char *pem, size_t len, struct csr **out,
		    struct rc_why *why) MUST_CHECK;

void		 csr_free(struct csr *);

#endif
