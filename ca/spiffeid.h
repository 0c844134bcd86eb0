/*
 * spiffeid.h: the one place SPIFFE IDs and trust domain names are parsed,
 * checked and compared, to the letter of the SPIFFE-ID standard
 * (conformance checklist ID-01..ID-19).  Every input path uses it.
 *
 * Inputs carry explicit lengths: a NUL byte inside is invalid, never an
 * end.  Upper case in the scheme or trust domain is refused, and the
 * reason names the lowercase form (ID-13, the project's policy).
 */
#ifndef SVIDCA_SPIFFEID_H
#define SVIDCA_SPIFFEID_H

#include <stdbool.h>
#include <stddef.h>

#include "../server/bounds.h"
#include "../server/rc.h"

#define SPIFFEID_SCHEME		"spiffe://"
#define SPIFFEID_SCHEME_LEN	9

/* A parsed, valid SPIFFE ID: value semantics, no heap. */
struct spiffeid {
	char	 str[SPIFFEID_MAX + 1];	/* whole ID, NUL-terminated */
	size_t	 len;			/* bytes in str, <= SPIFFEID_MAX */
	size_t	 td_len;		/* bytes of the trust domain at str+9 */
};

/*
 * Parse and check s[0..len).  On success fill *out and return RC_OK; on
 * failure return RC_BAD_REQUEST with why naming the rule (ID-nn) and, for
 * upper case, the lowercase form.  field goes into why->field (static).
 */
enum rc		 spiffeid_parse(const char *s, size_t len, struct spiffeid *out,
		    const char *field, struct rc_why *why) MUST_CHECK;

/*
 * Check a bare trust domain name s[0..len) (ID-02, ID-05..ID-08, ID-15).
 * "spiffe://td" is not a bare name and is refused.  On success copy it,
 * NUL-terminated, into out (SPIFFEID_TD_MAX + 1 bytes).
 */
enum rc		 spiffeid_td_parse(const char *s, size_t len, char *out,
		    const char *field, struct rc_why *why) MUST_CHECK;

/* Build the ID spiffe://<td><path>; path is "" or starts with '/'. */
enum rc		 spiffeid_from_parts(const char *td, const char *path,
		    struct spiffeid *out, struct rc_why *why) MUST_CHECK;

/* The trust domain, copied NUL-terminated into out (256 bytes). */
void		 spiffeid_get_td(const struct spiffeid *, char *out);

/* The path ("" for a trust-domain ID), borrowed from id. */
const char	*spiffeid_get0_path(const struct spiffeid *);

bool		 spiffeid_has_path(const struct spiffeid *);

/* Is the ID's trust domain exactly td? */
bool		 spiffeid_is_in_td(const struct spiffeid *, const char *td);

/* Do the two IDs compare equal (ID-13: they are canonical, so bytes)? */
bool		 spiffeid_is_equal(const struct spiffeid *,
		    const struct spiffeid *);

#endif
