/*
 * agent_svid.h: an X.509-SVID the agent holds (leaf, intermediates and
 * private key), the CSR that asks for one, and its two files: the
 * certificates as PEM (leaf first) and the key as PKCS#8 PEM, mode 0600.
 *
 * The pair is saved so that a crash never leaves a key beside a
 * certificate it does not match: the certificates are first written
 * under a pending name, then the key is replaced, then the pending file
 * is renamed into place; a load that finds the pending file matching the
 * key finishes the job.
 */
#ifndef SVIDCA_AGENT_SVID_H
#define SVIDCA_AGENT_SVID_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../server/bounds.h"
#include "../server/rc.h"

#define AGENT_SVID_CHAIN_MAX	8	/* certificates in one SVID chain */
#define AGENT_SVID_FILE_MAX	(256 * 1024)	/* bytes of a PEM file */
#define AGENT_SVID_SERIAL_MAX	64	/* bytes of a serial in hex + NUL */
#define AGENT_SVID_KEYID_MAX	65	/* bytes of a key ID in hex + NUL */
#define AGENT_SVID_PENDING	".pending"	/* suffix of the pending file */

struct agent_svid {
	X509		*leaf;			/* owned */
	STACK_OF(X509)	*chain;			/* owned; intermediates */
	EVP_PKEY	*key;			/* owned private key */
	char		 id[SPIFFEID_MAX + 1];	/* the leaf's one URI SAN */
	char		 serial[AGENT_SVID_SERIAL_MAX];	/* lowercase hex */
	char		 issuer_kid[AGENT_SVID_KEYID_MAX]; /* AKI hex or "" */
	time_t		 not_before;		/* Unix seconds */
	time_t		 not_after;		/* Unix seconds */
	time_t		 start;			/* later of not_before and
						 * receipt; see below */
};

/*
 * start is where the SVID's useful life begins, the base for "half of its
 * life": the issuer backdates notBefore (10 s for svidca), which would
 * pull the half-way point of a short-lived SVID close to its receipt.
 * An SVID read from disk has start = not_before, which only makes it due
 * a little early.
 */

/* A fresh P-256 key; NULL on failure (logged). */
EVP_PKEY	*agent_svid_new_key(void);

/*
 * A PKCS#10 request for key as standard base64 of DER (malloc'd, caller
 * frees).  The subject is empty: the server takes only the key.  NULL on
 * failure (logged).
 */
char		*agent_svid_make_csr(EVP_PKEY *key);

/*
 * Build an SVID from a JSON array of base64 DER certificates (leaf
 * first, at most AGENT_SVID_CHAIN_MAX) and the key it was issued for.
 * Checks that the leaf has exactly one URI SAN that is a SPIFFE ID and
 * that its public key is key's.  Takes a reference to key.  NULL with
 * why filled on a fault; caller frees with agent_svid_free().
 */
struct agent_svid *agent_svid_from_json(const json_t *chain, EVP_PKEY *key,
		    struct rc_why *why);

/*
 * Load dir/cert_name and dir/key_name, finishing an interrupted save (see
 * above).  RC_NOT_FOUND when either file is missing; RC_BAD_REQUEST
 * (logged at warn) when they do not parse or do not match.  Caller frees
 * *out.
 */
enum rc		 agent_svid_load(const char *dir, const char *cert_name,
		    const char *key_name, struct agent_svid **out) MUST_CHECK;

/* Save the pair crash-safely (see above).  RC_IO or RC_NOMEM. */
enum rc		 agent_svid_save(const struct agent_svid *, const char *dir,
		    const char *cert_name, const char *key_name) MUST_CHECK;

/* The leaf then the chain as PEM, malloc'd; NULL on failure. */
char		*agent_svid_get1_pem(const struct agent_svid *);

/* Is now within [not_before, not_after)? */
bool		 agent_svid_is_current(const struct agent_svid *, time_t now);

/* Free an SVID (NULL is fine); the key goes with it. */
void		 agent_svid_free(struct agent_svid *);

#endif
