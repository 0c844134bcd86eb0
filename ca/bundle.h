/*
 * bundle.h: SPIFFE trust bundle assembly (checklist BN-*).  A bundle is a
 * JWKS with spiffe_sequence and spiffe_refresh_hint; X.509 authorities
 * are keys with use "x509-svid" and exactly one x5c; JWT keys have use
 * "jwt-svid" and a kid.  Nothing else goes into a key.
 */
#ifndef SVIDCA_BUNDLE_H
#define SVIDCA_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../server/rc.h"

struct bundle_input {
	X509 *const	*roots;		/* X.509 authorities, borrowed */
	size_t		 n_roots;
	EVP_PKEY *const	*jwt_keys;	/* JWT public keys, borrowed */
	const char *const *jwt_kids;	/* their kids */
	size_t		 n_jwt;
	uint64_t	 sequence;	/* spiffe_sequence */
	long		 refresh_hint;	/* seconds */
};

/* The bundle as compact JSON text, malloc'd; NULL on failure. */
char		*bundle_to_json(const struct bundle_input *);

/* The roots as concatenated PEM certificates, malloc'd. */
char		*bundle_to_pem(const struct bundle_input *);

#endif
