/*
 * attest.h: the node attestors.  A node proves what it is with evidence;
 * an attestor checks the evidence and answers with the agent's SPIFFE ID
 * and its node selectors, or refuses with the reason.  Three attestors
 * sit behind one interface:
 *
 *   join_token  a single-use secret from POST /v1/join-tokens.  Here it
 *               is only hashed: the handler consumes the hash in the
 *               store, which knows the token's ID, so the agent ID is
 *               finished there (attest_join_token_finish).
 *   x509pop     a certificate chain to an operator-configured CA, and
 *               proof that the node holds the leaf's key: a challenge
 *               round (attest_evidence answers a challenge, the node
 *               signs it, attest_answer checks the signature).
 *   jwt         a JWT from an operator-configured issuer, checked
 *               against its JWKS with the algorithm pinned to the key,
 *               then iss, aud, exp, nbf, iat and a replay cache.
 *
 * Nothing here knows HTTP or SQL.  struct attest holds the configured
 * attestors and their state (x509pop sessions, JWKS caches, the JWT
 * replay cache); every call on it is thread-safe.
 */
#ifndef SVIDCA_ATTEST_H
#define SVIDCA_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "../server/conf.h"
#include "../server/rc.h"
#include "../store/store.h"
#include "spiffeid.h"

#define ATTEST_TOKEN_RAW	32	/* random bytes of a join token */
#define ATTEST_TOKEN_LEN	43	/* chars of its base64url text */
#define ATTEST_TOKEN_ID_RAW	16	/* random bytes of a token ID */
#define ATTEST_TOKEN_ID_LEN	32	/* chars of its hex text */
#define ATTEST_HASH_LEN		STORE_TOKEN_HASH_LEN	/* BLAKE2b-256 */
#define ATTEST_CHALLENGE_LEN	32	/* random bytes a node signs */
#define ATTEST_SESSION_LEN	32	/* chars of an x509pop session ID */
#define ATTEST_SESSION_TTL	60	/* seconds to answer a challenge */
#define ATTEST_JWT_LEEWAY	30	/* s of clock skew, nbf and iat */

/*
 * What an x509pop node signs: these bytes, one zero byte, then the 32
 * challenge bytes (docs/openapi.yaml, AttestChallengeResponse).
 */
#define ATTEST_X509POP_CONTEXT	"svidca x509pop challenge v1"

enum attest_type {
	ATTEST_JOIN_TOKEN = 0,
	ATTEST_X509POP,
	ATTEST_JWT,
};

struct attest;
struct json_t;

/* Ceilings of the in-memory state; attest_new(NULL) takes bounds.h's. */
struct attest_limits {
	size_t	 sessions_max;	/* x509pop challenges open at once */
	size_t	 replay_max;	/* JWTs remembered at once */
	long	 session_ttl;	/* seconds a challenge may be answered */
};

/* What an attestation proved.  Cleared by attest_result_clear(). */
struct attest_result {
	enum attest_type	 type;
	bool			 has_id;	/* false for a join token until
						 * attest_join_token_finish */
	struct spiffeid		 agent_id;	/* when has_id */
	struct store_selector	*selectors;	/* owned, node selectors */
	size_t			 n_selectors;
	unsigned char		 token_hash[ATTEST_HASH_LEN]; /* join_token */
	unsigned char		*csr;		/* x509pop: the CSR DER sent
						 * with the evidence, owned */
	size_t			 csr_len;	/* bytes in csr */
};

/* The 202 answer of an x509pop first step. */
struct attest_challenge {
	char		 session[ATTEST_SESSION_LEN + 1]; /* base64url */
	unsigned char	 nonce[ATTEST_CHALLENGE_LEN];	/* to be signed */
	time_t		 expires_at;			/* Unix seconds */
};

/* "join_token", "x509pop" or "jwt". */
const char	*attest_type_str(enum attest_type);

/* The type named s; false for any other text. */
bool		 attest_type_parse(const char *s, enum attest_type *out);

/*
 * Is s[0..len) one SPIFFE ID path segment: [A-Za-z0-9._-]+ and neither
 * "." nor ".." (SPIFFE-ID 2.2, checklist ID-10, ID-12)?
 */
bool		 attest_is_segment(const char *s, size_t len);

/*
 * Build the attestors c configures (node_attestors): read the x509pop
 * CA files and the JWKS files now, so that a bad file is refused at
 * start; JWKS URLs are fetched at first use.  lim may be NULL for the
 * ceilings of bounds.h.  RC_BAD_REQUEST with why ("node_attestors...:
 * reason") for a file that cannot be used, RC_NOMEM, RC_CRYPTO.  Caller
 * frees *out with attest_free().  c is copied; it need not outlive *out.
 */
enum rc		 attest_new(const struct conf *c,
		    const struct attest_limits *lim, struct attest **out,
		    struct rc_why *why) MUST_CHECK;

void		 attest_free(struct attest *);

/* The same checks as attest_new, for conf_finish; nothing is kept. */
enum rc		 attest_check_conf(const struct conf *c, struct rc_why *why)
		    MUST_CHECK;

/* Is this attestor configured? */
bool		 attest_is_enabled(const struct attest *, enum attest_type);

/*
 * Check evidence (the JSON object "evidence" of POST /v1/agent/attest)
 * for attestor type at now.  The outcomes:
 *   RC_OK, *challenged false: out holds the result (for join_token only
 *     token_hash; the caller consumes it and finishes the ID);
 *   RC_OK, *challenged true (x509pop): ch holds the challenge, and the
 *     evidence and a copy of csr[0..csr_len) wait in a session until
 *     attest_answer() or ch->expires_at;
 *   RC_BAD_REQUEST: malformed evidence, or an attestor not configured;
 *   RC_UNAUTHENTICATED: evidence that does not prove anything (why says
 *     which rule, for the logs and the 401);
 *   RC_UNAVAILABLE: a ceiling was reached (open sessions, replay cache)
 *     or an issuer's JWKS could not be had; retry later;
 *   RC_NOMEM, RC_CRYPTO, RC_IO: our faults, logged.
 * out is cleared first; the caller clears it after.
 */
enum rc		 attest_evidence(struct attest *, enum attest_type type,
		    const struct json_t *evidence, const unsigned char *csr,
		    size_t csr_len, time_t now, struct attest_result *out,
		    struct attest_challenge *ch, bool *challenged,
		    struct rc_why *why) MUST_CHECK;

/*
 * Finish an x509pop challenge: session from the 202 answer and the
 * node's signature over ATTEST_X509POP_CONTEXT, 0, challenge.  The
 * session ends here whatever the outcome.  RC_OK with out filled (its
 * csr is the one sent with the evidence); RC_UNAUTHENTICATED for an
 * unknown or expired session or a signature that does not verify.
 */
enum rc		 attest_answer(struct attest *, const char *session,
		    const unsigned char *sig, size_t sig_len, time_t now,
		    struct attest_result *out, struct rc_why *why) MUST_CHECK;

/* Free what r owns and zero it; NULL is fine. */
void		 attest_result_clear(struct attest_result *r);

/*
 * Give a join-token result its ID, spiffe://<td>/svidca/agent/
 * join_token/<token_id>, and its node selector join_token:id:<token_id>,
 * once the store has told which token the hash was.  RC_BAD_REQUEST if
 * token_id is not a path segment, RC_NOMEM.
 */
enum rc		 attest_join_token_finish(const char *td,
		    const char *token_id, struct attest_result *r,
		    struct rc_why *why) MUST_CHECK;

/* The agent ID of a join token (as attest_join_token_finish). */
enum rc		 attest_join_token_id(const char *td, const char *token_id,
		    struct spiffeid *out, struct rc_why *why) MUST_CHECK;

/*
 * A fresh join token: ATTEST_TOKEN_RAW random bytes as base64url into
 * token (ATTEST_TOKEN_LEN + 1 bytes), a random token ID as hex into
 * token_id (ATTEST_TOKEN_ID_LEN + 1 bytes), and the token's hash.  The
 * caller wipes token once it has been shown.
 */
void		 attest_token_new(char *token, char *token_id,
		    unsigned char hash[ATTEST_HASH_LEN]);

/* The hash under which a join token is stored: BLAKE2b-256 of its text. */
void		 attest_token_hash(const char *token, size_t len,
		    unsigned char hash[ATTEST_HASH_LEN]);

#endif
