/*
 * agent_trust.h: the X.509 roots the agent trusts for one trust domain,
 * read from PEM certificates or from a SPIFFE bundle (JSON: the keys with
 * use "x509-svid", SPIFFE Trust Domain and Bundle 4.2.1), and turned
 * into what the agent needs: an X509_STORE for TLS and chain checks, and
 * PEM text for the files it writes.
 */
#ifndef SVIDCA_AGENT_TRUST_H
#define SVIDCA_AGENT_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "../server/bounds.h"
#include "../server/rc.h"

#define AGENT_TRUST_ROOTS_MAX	64	/* roots in one bundle */
#define AGENT_TRUST_FILE_MAX	(1024 * 1024)	/* bytes of a bundle file */

struct agent_trust {
	X509	*roots[AGENT_TRUST_ROOTS_MAX];	/* owned */
	size_t	 n_roots;
	char	 td[SPIFFEID_TD_MAX + 1];	/* a root's URI SAN's, or "" */
};

/*
 * Parse text[0..len): a SPIFFE bundle when its first non-blank byte is
 * '{', else one or more PEM certificates.  A bundle key that cannot be
 * used (other use, unreadable x5c) is skipped, as SPIFFE Trust Domain and
 * Bundle 4.2 asks; a bundle with no usable root is refused.  NULL with
 * why filled (RC_BAD_REQUEST) on a fault; caller frees with
 * agent_trust_free().
 */
struct agent_trust *agent_trust_parse(const char *text, size_t len,
		    struct rc_why *why);

/* The same for a SPIFFE bundle already parsed (borrowed). */
struct agent_trust *agent_trust_from_json(const json_t *bundle,
		    struct rc_why *why);

/* Read and parse a file (at most AGENT_TRUST_FILE_MAX bytes). */
struct agent_trust *agent_trust_load(const char *path, struct rc_why *why);

/* Free the roots (NULL is fine). */
void		 agent_trust_free(struct agent_trust *);

/* A new X509_STORE holding the roots; NULL on failure.  Caller frees. */
X509_STORE	*agent_trust_get1_store(const struct agent_trust *);

/* The roots as concatenated PEM, malloc'd; NULL on failure. */
char		*agent_trust_to_pem(const struct agent_trust *);

/* Do a and b hold the same roots in the same order? */
bool		 agent_trust_is_equal(const struct agent_trust *a,
		    const struct agent_trust *b);

/*
 * Does chain (leaf first, borrowed) verify against the roots at now for
 * purpose (X509_PURPOSE_SSL_CLIENT ...)?  Used on SVIDs read from disk.
 */
bool		 agent_trust_is_verified(const struct agent_trust *,
		    X509 *leaf, STACK_OF(X509) *chain, int purpose);

#endif
