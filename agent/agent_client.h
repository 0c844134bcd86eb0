/*
 * agent_client.h: the agent's HTTPS client for svidca's API, on libcurl
 * with OpenSSL.  The server is authenticated by its X.509-SVID alone:
 * the chain must verify against the trust domain's roots (curl's own CA
 * store is replaced) and the leaf's one URI SAN must be
 * spiffe://<td>/svidca/server; the host name is not checked, so an
 * address works as well as a name.  The client presents its own SVID
 * when it has one.
 *
 * One client keeps one connection alive across requests.  TLS session
 * resumption is off, and a new connection is forced after the roots or
 * the identity change, because a reused connection or a resumed session
 * would skip the check above (PROBES.md section 5).
 *
 * A client is used by one thread at a time; distinct clients may run in
 * parallel threads after agent_client_global_init().
 */
#ifndef SVIDCA_AGENT_CLIENT_H
#define SVIDCA_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "../server/bounds.h"
#include "../server/rc.h"

#define AGENT_CLIENT_REPLY_MAX	(64 * 1024 * 1024)	/* bytes of a reply */
#define AGENT_CLIENT_ETAG_MAX	128	/* bytes of an ETag we keep */
#define AGENT_CLIENT_SERVER_PATH "/svidca/server"	/* server SVID path */

struct agent_client;

/* What the server answered to one request. */
struct agent_client_reply {
	long	 status;			/* HTTP status */
	char	*body;				/* malloc'd, NUL-terminated */
	size_t	 len;				/* bytes in body */
	char	 etag[AGENT_CLIENT_ETAG_MAX + 1]; /* ETag header, "" if none */
	long	 retry_after;			/* seconds; 0 if none */
};

/* curl_global_init() once per process, before any thread starts. */
enum rc		 agent_client_global_init(void) MUST_CHECK;

/*
 * A client for https://<server> (server is HOST:PORT) that expects the
 * server's SVID spiffe://<td>/svidca/server and trusts roots (taken:
 * the client owns it from here, also on failure).  NULL on failure
 * (logged).
 */
struct agent_client *agent_client_new(const char *server, const char *td,
		    X509_STORE *roots);
/* Close the connection and free the client (NULL is fine). */
void		 agent_client_free(struct agent_client *);

/*
 * Replace the trusted roots (taken, as above); the next request opens a
 * new connection.
 */
void		 agent_client_set_roots(struct agent_client *,
		    X509_STORE *roots);

/*
 * Present leaf, the intermediates in chain (may be NULL) and key from
 * the next connection on; leaf NULL presents nothing.  All three are
 * up-ref'd; the caller keeps its own references.
 */
enum rc		 agent_client_set_identity(struct agent_client *, X509 *leaf,
		    STACK_OF(X509) *chain, EVP_PKEY *key) MUST_CHECK;

/*
 * A function the client calls during a transfer; when it returns true
 * the transfer is abandoned (RC_IO).  For a prompt stop on a signal.
 */
void		 agent_client_set_abort(struct agent_client *,
		    bool (*should_stop)(void));

/*
 * Send method path (path starts with '/'), with body as JSON when not
 * NULL, and If-None-Match: if_none_match when not NULL.  RC_OK when an
 * answer came, whatever its status: *out holds it (free with
 * agent_client_reply_clear()).  RC_IO when no answer came (cannot
 * connect, server not verified, timeout, aborted; logged at warn with
 * curl's reason), RC_TOO_LARGE over AGENT_CLIENT_REPLY_MAX, RC_NOMEM.
 */
enum rc		 agent_client_request(struct agent_client *,
		    const char *method, const char *path, const char *body,
		    const char *if_none_match,
		    struct agent_client_reply *out) MUST_CHECK;

/* Free a reply's body and zero it; safe on a zeroed reply. */
void		 agent_client_reply_clear(struct agent_client_reply *);

/*
 * The problem document's detail of a reply (RFC 9457), or its title, or
 * "" when it has neither; the text is copied into buf (len bytes).
 */
const char	*agent_client_reply_detail(const struct agent_client_reply *,
		    char *buf, size_t len);

/*
 * The rc for an HTTP status that is not a success: RC_BAD_REQUEST (400),
 * RC_UNAUTHENTICATED (401), RC_DENIED (403), RC_NOT_FOUND (404),
 * RC_RATE_LIMITED (429), RC_UNAVAILABLE (5xx), RC_INTERNAL otherwise.
 */
enum rc		 agent_client_status_rc(long status);

/* Count of TLS handshakes this client made (connections opened). */
unsigned long	 agent_client_get_connects(const struct agent_client *);

#endif
