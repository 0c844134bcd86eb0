/*
 * ca.h: the trust domain's authorities in memory, and the rules that
 * rotate them.  ca/ knows nothing of HTTP or SQL: server/ loads the
 * authorities from the store, asks ca_plan() what is due, carries it out
 * (new key, seal, store, audit) and installs the result with ca_install().
 *
 * Request threads take a reference to the current view (ca_view_get) and
 * drop it when done (ca_view_put).  A view never changes; rotation builds
 * a new one and swaps it in, so a request sees one consistent set of
 * signers and roots from start to end.
 *
 * Rotation (DESIGN.md): each kind moves prepared -> active -> old on its
 * own.  The next authority is prepared at 1/2 of the active one's life
 * and activated at 5/6.  A prepared authority is in the bundle from the
 * moment it exists; an old one stays until everything it signed expired.
 */
#ifndef SVIDCA_CA_H
#define SVIDCA_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "../server/rc.h"
#include "../store/store.h"
#include "cert.h"
#include "jwt.h"

#define CA_AUTH_MAX	16	/* authorities of one kind kept at once */

/*
 * One authority with its live key material, shared by reference between
 * views.  Request threads read only the key, certificate, signers, kid
 * and validity; rec.state, rec.activated_at and rec.tainted belong to the
 * scheduler thread, which alone changes them.
 */
struct ca_auth {
	int			 refs;	/* atomic; ca_auth_free drops one */
	struct store_authority	 rec;	/* as stored; der owned by rec */
	EVP_PKEY		*key;	/* private key, owned */
	X509			*cert;	/* x509 kind: certificate, owned */
	struct cert_signer	*x509;	/* x509 kind: signer, owned */
	struct jwt_signer	*jwt;	/* jwt kind: signer, owned */
};

/* An immutable snapshot of the authorities; see ca_view_get(). */
struct ca_view {
	struct ca_auth	*x509[CA_AUTH_MAX];	/* every x509 authority */
	size_t		 n_x509;
	struct ca_auth	*jwt[CA_AUTH_MAX];	/* every jwt authority */
	size_t		 n_jwt;
	struct ca_auth	*x509_active;	/* signs X.509-SVIDs; may be NULL */
	struct ca_auth	*jwt_active;	/* signs JWT-SVIDs; may be NULL */
	X509_STORE	*trust;		/* roots of our own trust domain */
	char		*bundle_json;	/* SPIFFE bundle text */
	char		*bundle_pem;	/* roots as PEM */
	uint64_t	 sequence;	/* bundle spiffe_sequence */
	uint64_t	 generation;	/* rises with every install */
};

struct ca;

/* What ca_plan() says is due for one kind of authority. */
enum ca_step {
	CA_STEP_NONE = 0,
	CA_STEP_CREATE,		/* no active authority: make one, active */
	CA_STEP_PREPARE,	/* active past 1/2 of life, none prepared */
	CA_STEP_ACTIVATE,	/* active past 5/6 of life: promote prepared */
	CA_STEP_RETIRE,		/* an old one's signatures all expired */
};

struct ca_plan_item {
	enum ca_step	 step;
	int64_t		 id;	/* authority concerned (ACTIVATE, RETIRE) */
};

/*
 * Decide the next step for kind among auths[0..n) at now.  Pure: reads
 * only its arguments.  Returns the first step due, CA_STEP_NONE if none.
 */
struct ca_plan_item ca_plan(enum store_auth_kind kind,
		    const struct store_authority *auths, size_t n, time_t now);

/* A CA for td whose leaves carry O=org; empty until ca_install(). */
struct ca	*ca_new(const char *td, const char *org, long refresh_hint);
void		 ca_free(struct ca *);

/*
 * Publish a new view of auths[0..n): the view takes a reference to each
 * (the caller keeps its own).  The active authority of each kind is the
 * one whose rec.state is active.  sequence is the bundle's
 * spiffe_sequence to publish.
 */
enum rc		 ca_install(struct ca *, struct ca_auth **auths, size_t n,
		    uint64_t sequence) MUST_CHECK;

/* Current view with a reference taken; never NULL after an install. */
struct ca_view	*ca_view_get(struct ca *);
void		 ca_view_put(struct ca *, struct ca_view *);

/* Can the CA sign both kinds now (for /ready)? */
bool		 ca_can_sign(struct ca *, time_t now);

/*
 * A live authority from its record (moved in: rec->der now belongs to
 * the result and rec->der is set to NULL) and its private key (up-ref'd):
 * parses the certificate (x509) and builds the signer.  NULL on failure,
 * logged; rec is then left as it was.
 */
struct ca_auth	*ca_auth_new(struct store_authority *rec, EVP_PKEY *key);

/* Take one more reference. */
struct ca_auth	*ca_auth_up(struct ca_auth *);

/* Drop one reference; the last frees the authority.  NULL is fine. */
void		 ca_auth_free(struct ca_auth *);

/* The trust domain and organisation given to ca_new(); borrowed. */
const char	*ca_get0_td(const struct ca *);
const char	*ca_get0_org(const struct ca *);

#endif
