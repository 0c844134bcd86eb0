/*
 * rc.h: the error codes every action returns, grouped by whose fault it
 * is, with their text and the HTTP status each maps to.  A validator that
 * rejects client input also fills a struct rc_why naming the field and the
 * rule, which the API hands back as an RFC 9457 problem document.
 */
#ifndef SVIDCA_RC_H
#define SVIDCA_RC_H

#include <stdarg.h>
#include <stdbool.h>

#define MUST_CHECK	__attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

enum rc {
	RC_OK = 0,
	/* the client's faults (4xx) */
	RC_BAD_REQUEST,		/* malformed or invalid input: 400 */
	RC_BAD_CSR,		/* CSR unparsable, bad signature or key: 400 */
	RC_UNAUTHENTICATED,	/* no or bad credentials: 401 */
	RC_DENIED,		/* authenticated but not allowed: 403 */
	RC_NOT_FOUND,		/* no such object or route: 404 */
	RC_METHOD,		/* route exists, method does not: 405 */
	RC_CONFLICT,		/* duplicate or state clash: 409 */
	RC_PRECONDITION,	/* stale If-Match: 412 */
	RC_TOO_LARGE,		/* body or list over its ceiling: 413 */
	RC_UNSUPPORTED,		/* content type not accepted: 415 */
	RC_RATE_LIMITED,	/* too many requests: 429 */
	/* our faults (5xx) */
	RC_NOMEM,		/* allocation failed: 500 */
	RC_CRYPTO,		/* OpenSSL, libsodium or cjose failed: 500 */
	RC_DB,			/* SQLite failed: 500 */
	RC_IO,			/* file or socket failed: 500 */
	RC_INTERNAL,		/* a broken invariant: 500 */
	RC_UNAVAILABLE,		/* cannot serve now (no signer): 503 */
	RC_COUNT
};

#define RC_DETAIL_MAX	512

/*
 * Why a client's input was refused: the code, the offending field (a JSON
 * path or flag name, static), the rule (spec section or checklist number,
 * static) and a human sentence.
 */
struct rc_why {
	enum rc		 code;			/* what the caller gets */
	const char	*field;			/* static, may be NULL */
	const char	*rule;			/* static, may be NULL */
	char		 detail[RC_DETAIL_MAX];	/* NUL-terminated sentence */
};

/* Short lower-case text of a code ("bad request"); never NULL. */
const char	*rc_str(enum rc);

/* HTTP status of a code (RC_OK is 200). */
int		 rc_http(enum rc);

/* Is the code the client's fault (4xx)? */
bool		 rc_is_client(enum rc);

/*
 * Fill why (if not NULL) and return code, so a validator can write
 * "return rc_why_set(why, RC_BAD_REQUEST, "spiffe_id", "ID-05", ...)".
 * field and rule must be static strings.
 */
enum rc		 rc_why_set(struct rc_why *why, enum rc code,
		    const char *field, const char *rule, const char *fmt, ...)
		    PRINTF_LIKE(5, 6);

/* Clear why to "no reason" (RC_OK, empty strings). */
void		 rc_why_clear(struct rc_why *why);

#endif
