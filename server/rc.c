/*
 * rc.c: text and HTTP status of our error codes.
 */
#include "rc.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char	*text;
	int		 status;
} rc_table[RC_COUNT] = {
	[RC_OK] =		{ "ok", 200 },
	[RC_BAD_REQUEST] =	{ "bad request", 400 },
	[RC_BAD_CSR] =		{ "bad certificate signing request", 400 },
	[RC_UNAUTHENTICATED] =	{ "unauthenticated", 401 },
	[RC_DENIED] =		{ "permission denied", 403 },
	[RC_NOT_FOUND] =	{ "not found", 404 },
	[RC_METHOD] =		{ "method not allowed", 405 },
	[RC_CONFLICT] =		{ "conflict", 409 },
	[RC_PRECONDITION] =	{ "precondition failed", 412 },
	[RC_TOO_LARGE] =	{ "content too large", 413 },
	[RC_UNSUPPORTED] =	{ "unsupported media type", 415 },
	[RC_RATE_LIMITED] =	{ "too many requests", 429 },
	[RC_NOMEM] =		{ "out of memory", 500 },
	[RC_CRYPTO] =		{ "cryptographic failure", 500 },
	[RC_DB] =		{ "database failure", 500 },
	[RC_IO] =		{ "i/o failure", 500 },
	[RC_INTERNAL] =		{ "internal error", 500 },
	[RC_UNAVAILABLE] =	{ "service unavailable", 503 },
};

const char *
rc_str(enum rc rc)
{
	if ((unsigned)rc >= RC_COUNT)
		return "unknown error";
	return rc_table[rc].text;
}

int
rc_http(enum rc rc)
{
	if ((unsigned)rc >= RC_COUNT)
		return 500;
	return rc_table[rc].status;
}

bool
rc_is_client(enum rc rc)
{
	int s = rc_http(rc);

	return s >= 400 && s < 500;
}

enum rc
rc_why_set(struct rc_why *why, enum rc code, const char *field,
    const char *rule, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL)
		return code;
	why->code = code;
	why->field = field;
	why->rule = rule;
	va_start(ap, fmt);
	(void)vsnprintf(why->detail, sizeof(why->detail), fmt, ap);
	va_end(ap);
	return code;
}

void
rc_why_clear(struct rc_why *why)
{
	if (why == NULL)
		return;
	why->code = RC_OK;
	why->field = NULL;
	why->rule = NULL;
	why->detail[0] = '\0';
}
