/*
 * jwt.h: JWT-SVID minting with cjose (JW-* in the checklist).  Header
 * alg/kid/typ "JWT"; claims sub, aud (one or more, never empty), exp, iat.
 * ECDSA signatures are raw r||s padded to full width (cjose does this).
 * The algorithm is pinned to the key: ES256 for P-256, ES384 for P-384,
 * RS256 for RSA.
 */
#ifndef SVIDCA_JWT_H
#define SVIDCA_JWT_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "../server/rc.h"

struct jwt_signer;

/* A signer for key (up-ref'd) under kid.  NULL on failure. */
struct jwt_signer *jwt_signer_new(EVP_PKEY *key, const char *kid);
void		 jwt_signer_free(struct jwt_signer *);

/*
 * Mint a JWT-SVID.  aud has n_aud >= 1 non-empty strings.  *token is a
 * malloc'd compact JWS the caller frees.  RC_BAD_REQUEST (why filled)
 * for an empty audience.
 */
enum rc		 jwt_mint(const struct jwt_signer *, const char *sub,
		    const char *const *aud, size_t n_aud, time_t iat,
		    time_t exp, char **token, struct rc_why *why) MUST_CHECK;

/*
 * The public JWK of key as a JSON object text ("kty","crv","x","y" or
 * "kty","n","e", plus "kid" and "use":"jwt-svid"); malloc'd.
 */
char		*jwt_public_jwk(EVP_PKEY *key, const char *kid);

/* A fresh random kid (32 chars of base64url) into out (33 bytes). */
void		 jwt_new_kid(char *out);

#endif
