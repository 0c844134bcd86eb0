/*
 * http.h: the libmicrohttpd daemons (HTTPS API, local admin socket,
 * health), TLS with a live-swappable server certificate, peer
 * authentication, and dispatch through the route table (routes.c) with a
 * role per route.  Default deny: a request no route admits is refused,
 * 401 when the caller presented no identity, 403 otherwise.
 *
 * Handlers run in MHD's worker threads.  A handler gets a parsed request
 * and fills a response; it never touches MHD itself.
 */
#ifndef SVIDCA_HTTP_H
#define SVIDCA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include "../ca/spiffeid.h"
#include "../server/rc.h"

struct api;			/* the handlers' shared context (api.h) */
struct http;

/* Roles a caller may hold; a route admits a set of them. */
enum http_role {
	HTTP_ROLE_ANON = 1 << 0,	/* anybody, even without identity */
	HTTP_ROLE_AGENT = 1 << 1,	/* a current agent SVID */
	HTTP_ROLE_DOWNSTREAM = 1 << 2,	/* SVID of a downstream entry */
	HTTP_ROLE_ADMIN = 1 << 3,	/* an admin SVID */
	HTTP_ROLE_LOCAL = 1 << 4,	/* permitted uid on the admin socket */
};

#define HTTP_PARAMS_MAX	4	/* {name} captures in one route */
#define HTTP_ETAG_MAX	80

struct http_req {
	const char	*method;	/* "GET", ... borrowed */
	const char	*path;		/* URL path without query, borrowed */
	void		*conn;		/* struct MHD_Connection *, for queries */
	const char	*body;		/* request body (NUL-terminated) */
	size_t		 body_len;
	unsigned	 roles;		/* roles the caller holds */
	bool		 has_peer_id;	/* a verified SVID was presented */
	struct spiffeid	 peer_id;	/* its SPIFFE ID */
	char		 peer_serial[64]; /* its serial, lowercase hex */
	bool		 is_local;	/* came over the admin socket */
	uid_t		 peer_uid;	/* SO_PEERCRED uid when is_local */
	char		 peer_addr[64];	/* source IP address as text; "uid:N"
					 * on the admin socket */
	const char	*params[HTTP_PARAMS_MAX]; /* route captures */
	char		 actor[SPIFFEID_MAX + 16]; /* "spiffe://.." or "uid:N" */
};

struct http_resp {
	int		 status;	/* HTTP status, default 200 */
	char		*body;		/* malloc'd, owned; may be NULL */
	size_t		 body_len;
	const char	*content_type;	/* static; default application/json */
	char		 etag[HTTP_ETAG_MAX];	/* sent when non-empty */
	const char	*retry_after;	/* static, sent when not NULL */
};

/*
 * A handler: read req, fill resp, return RC_OK; or return an error code
 * with why filled for a client fault, and the dispatcher answers with a
 * problem document (RFC 9457) built from it.
 */
typedef enum rc (*http_handler)(struct api *, struct http_req *,
    struct http_resp *, struct rc_why *);

struct http_route {
	const char	*method;	/* "GET", "POST", ... */
	const char	*pattern;	/* "/v1/entries/{id}" */
	unsigned	 roles;		/* enum http_role bits admitted */
	http_handler	 fn;
};

/* The route table (routes.c), ended by a zeroed row. */
extern const struct http_route http_routes[];

/* Query parameter of req, or NULL. */
const char	*http_query(const struct http_req *, const char *name);
/* Request header of req, or NULL. */
const char	*http_header(const struct http_req *, const char *name);

/* Set resp to a JSON body (takes ownership of text, malloc'd). */
void		 http_resp_json(struct http_resp *, int status, char *text);

/*
 * What the daemons ask of the rest of the server.  Kept as callbacks so
 * http.c can be tested on its own with a route table of its test.
 */
struct http_hooks {
	/*
	 * Roles held by a peer whose chain verified, by its SPIFFE ID and
	 * the serial of its leaf (lowercase hex, as in http_req).
	 */
	unsigned	(*peer_roles)(struct api *, const struct spiffeid *,
			    const char *serial);
	/* May this local uid use the admin socket? */
	bool		(*uid_ok)(struct api *, uid_t);
	/* Is the server ready (/ready)? */
	bool		(*ready)(struct api *);
	/*
	 * The Prometheus text for GET /metrics, malloc'd (http.c frees
	 * it), its length in *len; NULL when it cannot be built.
	 */
	char		*(*metrics)(struct api *, size_t *len);
	/*
	 * The current trust store for peer chains, up-ref'd (the caller
	 * X509_STORE_free()s it), and a generation number that changes
	 * whenever the store's contents do.
	 */
	X509_STORE	*(*trust_get)(struct api *, uint64_t *generation);
	/*
	 * A caller with an identity (req->actor not empty) got a 4xx on
	 * a route closed to anonymous callers: refused by the route's
	 * roles (403) or by its handler.  status and why are what it was
	 * answered.  May be NULL.
	 */
	void		(*refused)(struct api *, const struct http_req *,
			    int status, const struct rc_why *);
};

struct http_opts {
	const char	*listen;	/* host:port of the HTTPS API */
	const char	*health_listen;	/* host:port: /live /ready /metrics */
	const char	*admin_socket;	/* path of the local socket */
	const char	*socket_group;	/* group of the socket, "" none */
	unsigned	 threads;	/* worker threads, 0 = cores */
	size_t		 max_body;	/* bytes */
	const struct http_route *routes; /* table, ended by a zeroed row */
	struct http_hooks hooks;
};

/*
 * Start every daemon.  Binding failures (port in use, path too long for
 * sun_path) return RC_IO with why naming the address.  The server
 * certificate must be set (http_set_server_svid) before the first TLS
 * handshake; until then handshakes fail.
 */
enum rc		 http_start(struct api *, const struct http_opts *,
		    struct http **out, struct rc_why *why) MUST_CHECK;
void		 http_stop(struct http *);

/*
 * Install the server's certificate chain (DER, leaf first) and private
 * key; used from the next handshake on.  Copies what it needs.
 */
enum rc		 http_set_server_svid(struct http *,
		    const unsigned char *const *ders, const size_t *lens,
		    size_t n, EVP_PKEY *key) MUST_CHECK;

#endif
