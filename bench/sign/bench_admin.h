/*
 * bench_admin.h: what the benchmarks under bench/ need from a running
 * server before they measure anything: a join token and entries made
 * over the admin socket (the caller must be a permitted local uid), the
 * bundle, and an attested agent SVID.  Start-up helpers: they print
 * their faults on stderr and are not meant for a request path.
 */
#ifndef SVIDCA_BENCH_ADMIN_H
#define SVIDCA_BENCH_ADMIN_H

#include <stddef.h>

#include <jansson.h>

#include "../../agent/agent_svid.h"
#include "../../agent/agent_trust.h"
#include "../../server/bounds.h"
#include "../../server/rc.h"

#define BENCH_ADMIN_BATCH	5000	/* entries per POST /v1/entries */
#define BENCH_ADMIN_TOKEN_MAX	256	/* bytes of a join token */

/*
 * POST /v1/join-tokens on the socket at sock: the token and the agent ID
 * it will attest as, NUL-terminated into the buffers.
 */
enum rc		 bench_admin_token(const char *sock,
		    char token[BENCH_ADMIN_TOKEN_MAX + 1],
		    char agent_id[SPIFFEID_MAX + 1]) MUST_CHECK;

/*
 * Create n entries, built by make(i, arg) (a new JSON entry object each,
 * taken), with POST /v1/entries in batches of BENCH_ADMIN_BATCH.  Every
 * item must answer 200.  When ids is not NULL, (*ids)[i] is the ID of
 * entry i (malloc'd array of malloc'd strings; free with
 * bench_admin_free_ids()).  Prints progress every million.
 */
enum rc		 bench_admin_create(const char *sock, size_t n,
		    json_t *(*make)(size_t i, void *arg), void *arg,
		    char ***ids) MUST_CHECK;

/* Free what bench_admin_create() put in *ids (NULL is fine). */
void		 bench_admin_free_ids(char **ids, size_t n);

/* GET /v1/bundle on the socket, as roots. */
struct agent_trust *bench_admin_bundle(const char *sock);

/*
 * Attest over HTTPS at server (HOST:PORT) with a join token, trusting
 * roots; the agent SVID on success (caller frees), NULL otherwise.
 */
struct agent_svid *bench_admin_attest(const char *server,
		    const struct agent_trust *roots, const char *token);

/* A JSON request body for POST on the socket; the reply's JSON or NULL. */
json_t		*bench_admin_call(const char *sock, const char *method,
		    const char *path, json_t *body, long want);

#endif
