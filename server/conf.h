/*
 * conf.h: the server's configuration: embedded defaults, then the config
 * file (libconfig), then command-line flags.  Every key is documented in
 * deploy/svidca.conf.example.  Unknown keys and bad values are refused
 * naming the key and the line.
 */
#ifndef SVIDCA_CONF_H
#define SVIDCA_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bounds.h"
#include "rc.h"

#define CONF_ADMIN_MAX		64	/* admin_ids / admin_uids entries */
#define CONF_STR_MAX		PATH_MAX_SVIDCA
#define CONF_CA_FILES_MAX	16	/* x509pop ca_files */
#define CONF_JWT_ISSUERS_MAX	8	/* issuers of the jwt attestor */
#define CONF_JWT_CLAIMS_MAX	16	/* selector_claims of one issuer */
#define CONF_NAME_MAX		64	/* bytes of a short name, with NUL */
#define CONF_URL_MAX		1024	/* bytes of an issuer or a URL */

/*
 * One issuer trusted by the jwt node attestor (node_attestors.jwt).  An
 * agent it vouches for gets spiffe://<td>/svidca/agent/jwt/<name>/<value
 * of node_claim>.
 */
struct conf_jwt_issuer {
	char	 name[CONF_NAME_MAX];		/* ID segment, required */
	char	 issuer[CONF_URL_MAX];		/* "iss" to match, required */
	char	 audience[CONF_URL_MAX];	/* in "aud", required */
	char	 jwks_file[CONF_STR_MAX];	/* JWKS file, or ... */
	char	 jwks_url[CONF_URL_MAX];	/* ... JWKS at an https URL */
	char	 jwks_ca_file[CONF_STR_MAX];	/* roots for jwks_url; "" the
						 * system's */
	long	 jwks_refresh;			/* s between reloads, 300 */
	char	 node_claim[CONF_NAME_MAX];	/* claim naming the node,
						 * required */
	char	 selector_claims[CONF_JWT_CLAIMS_MAX][CONF_NAME_MAX];
	size_t	 n_selector_claims;		/* claims made selectors */
	long	 max_token_age;			/* seconds since "iat", 3600 */
};

struct conf {
	char	 trust_domain[SPIFFEID_TD_MAX + 1];	/* required */
	char	 data_dir[CONF_STR_MAX];	/* default "./data" */
	char	 kek_file[CONF_STR_MAX];	/* default <data_dir>.kek */
	char	 listen[256];			/* host:port, 0.0.0.0:8081 */
	char	 health_listen[256];		/* host:port, 127.0.0.1:8080 */
	char	 admin_socket[CONF_STR_MAX];	/* default <data_dir>/admin.sock */
	char	 admin_socket_group[64];	/* group owning the socket, "" */
	uid_t	 admin_uids[CONF_ADMIN_MAX];	/* extra local admin uids */
	size_t	 n_admin_uids;
	char	*admin_ids[CONF_ADMIN_MAX];	/* admin SPIFFE IDs, owned */
	size_t	 n_admin_ids;
	char	 organization[128];		/* subject O=, "SPIFFE" */
	char	 log_level[16];			/* "info" */

	char	 ca_key_type[16];		/* "ec-p256" */
	char	 jwt_key_type[16];		/* "ec-p256" */
	long	 ca_ttl;			/* seconds, 24h */
	long	 x509_svid_ttl;			/* default, 1h */
	long	 x509_svid_ttl_max;		/* maximum, 24h */
	long	 jwt_svid_ttl;			/* default, 5m */
	long	 jwt_svid_ttl_max;		/* maximum, 24h */
	long	 agent_svid_ttl;		/* default, 1h */
	long	 agent_svid_ttl_max;		/* maximum, 24h */
	long	 refresh_hint;			/* bundle refresh hint, 300 s */
	long	 max_body;			/* bytes, HTTP_BODY_MAX */
	unsigned threads;			/* HTTP worker threads, 0=cores */
	long	 audit_checkpoint_records;	/* sign the audit head every
						 * N records, 1000 */
	long	 audit_checkpoint_interval;	/* or every T s, 60 */
	long	 prune_after;			/* s past expiry, 86400 */

	/* node_attestors: which evidence POST /v1/agent/attest accepts */
	bool	 join_token_enabled;		/* join_token.enabled, true */
	char	 x509pop_ca_files[CONF_CA_FILES_MAX][CONF_STR_MAX];
	size_t	 n_x509pop_ca_files;		/* 0: x509pop is off */
	struct conf_jwt_issuer jwt_issuers[CONF_JWT_ISSUERS_MAX];
	size_t	 n_jwt_issuers;			/* 0: jwt is off */
	long	 attest_rate;			/* attestations a second per
						 * source address, 1 */
	long	 attest_burst;			/* of them at once, 1 */
};

/* Fill c with the embedded defaults (trust_domain empty). */
void		 conf_defaults(struct conf *c);

/*
 * Read a libconfig file into c, over what it holds.  On a fault return
 * RC_BAD_REQUEST with why->detail "FILE:LINE: key: reason".
 */
enum rc		 conf_load_file(struct conf *c, const char *path,
		    struct rc_why *why) MUST_CHECK;

/*
 * Fill derived defaults (kek_file, admin_socket from data_dir) and check
 * the whole: trust domain valid, TTLs positive and below their maxima,
 * key types known, listen addresses well formed, kek not inside data dir.
 */
enum rc		 conf_finish(struct conf *c, struct rc_why *why) MUST_CHECK;

/* Free what c owns (admin_ids). */
void		 conf_clear(struct conf *c);

/* Split "host:port" into host (len bytes) and port; false if malformed. */
bool		 conf_split_addr(const char *addr, char *host, size_t len,
		    unsigned short *port);

#endif
