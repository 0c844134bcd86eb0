/*
 * agent_attest.h: node attestation from the agent's side.  It builds the
 * evidence for POST /v1/agent/attest (a join token, a node certificate
 * whose key answers a challenge, or a JWT read from a file), sends it
 * with a CSR for a fresh key, and returns the agent SVID and the bundle.
 */
#ifndef SVIDCA_AGENT_ATTEST_H
#define SVIDCA_AGENT_ATTEST_H

#include <stdbool.h>

#include <jansson.h>

#include "../server/rc.h"
#include "agent_client.h"
#include "agent_svid.h"

/* What an x509pop node signs, before a zero byte and the challenge. */
#define AGENT_ATTEST_CONTEXT	"svidca x509pop challenge v1"

enum agent_attest_type {
	AGENT_ATTEST_JOIN_TOKEN,
	AGENT_ATTEST_X509POP,
	AGENT_ATTEST_JWT,
};

/* Where the evidence comes from; strings are borrowed. */
struct agent_evidence {
	enum agent_attest_type	 type;
	const char		*join_token;	/* JOIN_TOKEN: the token */
	const char		*x509pop_cert;	/* X509POP: PEM chain file */
	const char		*x509pop_key;	/* X509POP: its key file */
	const char		*jwt_file;	/* JWT: file with the token */
};

/* The outcome of one attestation. */
struct agent_attest_result {
	struct agent_svid	*svid;		/* owned: the agent SVID */
	json_t			*bundle;	/* owned: the SPIFFE bundle */
	long			 retry_after;	/* seconds asked by a 429 */
	bool			 refused;	/* the server said no (4xx) */
};

/* "join_token", "x509pop" or "jwt". */
const char	*agent_attest_type_str(enum agent_attest_type);

/*
 * Attest with ev over cl (anonymous: cl must present no identity).  A
 * fresh P-256 key is made for the SVID.  Evidence files are read anew
 * on each call, so a refreshed JWT is picked up.  RC_OK with res->svid
 * and res->bundle set; otherwise res->refused tells a refusal by the
 * server (401, 403, 429 ...; logged at warn with its detail, and
 * res->retry_after set for a 429) from a failure to get an answer.
 * Clear res with agent_attest_result_clear() in every case.
 */
enum rc		 agent_attest(struct agent_client *cl,
		    const struct agent_evidence *ev,
		    struct agent_attest_result *res) MUST_CHECK;

/* Free what res holds and zero it; safe on a zeroed res. */
void		 agent_attest_result_clear(struct agent_attest_result *);

#endif
