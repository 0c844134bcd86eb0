/*
 * spiffeid.c: parse, check and compare SPIFFE IDs and trust domain names
 * (SPIFFE-ID sections 2 to 2.4; conformance checklist ID-01..ID-15).
 *
 * The grammar is small enough to walk byte by byte, and a byte walk is
 * the only way to honour explicit lengths: a NUL inside the input is an
 * ordinary bad byte, never the end.  No URI library is used on purpose:
 * general URI parsers accept percent-encoding, userinfo, ports and IPv6
 * literals, each of which SPIFFE-ID forbids.
 *
 * Order of the checks: length, scheme, trust domain, path, and upper case
 * last.  Upper case is reported only for an input that would be valid in
 * lower case, so the lowercase form named in the reason is always a
 * usable SPIFFE ID.
 */
#include "spiffeid.h"

#include <stdio.h>
#include <string.h>

/* Above this many bytes the lowercase form is not quoted whole. */
#define SPIFFEID_QUOTE_MAX	400

/* Is c one of the trust domain characters a-z 0-9 . - _ ? */
static bool
is_td_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '-' || c == '_';
}

/* Is c one of the path segment characters A-Z a-z 0-9 . - _ ? */
static bool
is_path_char(unsigned char c)
{
	return is_td_char(c) || (c >= 'A' && c <= 'Z');
}

static bool
is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

/* ASCII-only lower case: the locale must not change what we accept. */
static char
to_lower(unsigned char c)
{
	if (is_upper(c))
		return (char)(c - 'A' + 'a');
	return (char)c;
}

/*
 * Does s[0..len) begin with "spiffe://" in any case?  Set *upper when the
 * scheme holds upper case.
 */
static bool
has_scheme(const char *s, size_t len, bool *upper)
{
	size_t	 i;

	*upper = false;
	if (len < SPIFFEID_SCHEME_LEN)
		return false;
	for (i = 0; i < SPIFFEID_SCHEME_LEN; i++) {
		unsigned char c = (unsigned char)s[i];

		if (to_lower(c) != SPIFFEID_SCHEME[i])
			return false;
		if (is_upper(c))
			*upper = true;
	}
	return true;
}

/* Describe one byte for a message: "'$'" or "byte 0x01". */
static void
describe_byte(unsigned char c, char *buf, size_t len)
{
	if (c > 0x20 && c < 0x7f)
		(void)snprintf(buf, len, "'%c'", c);
	else
		(void)snprintf(buf, len, "byte 0x%02X", c);
}

/*
 * Check the bytes of a trust domain name td[0..len), at offset off in the
 * caller's input (for messages).  Set *upper when an A-Z byte is seen;
 * upper case is the caller's to report, after every other fault.
 */
static enum rc
check_td_bytes(const char *td, size_t len, size_t off, bool *upper,
    const char *field, struct rc_why *why)
{
	char	 what[16];
	size_t	 i;

	*upper = false;

	/*
	 * SPIFFE-ID 2: a valid SPIFFE ID must "include a non-zero trust
	 * domain name".
	 */
	if (len == 0)
		return rc_why_set(why, RC_BAD_REQUEST, field, "ID-02",
		    "trust domain is empty (SPIFFE-ID 2.1)");

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)td[i];

		if (is_td_char(c))
			continue;
		if (is_upper(c)) {
			*upper = true;
			continue;
		}
		if (c == '%')
			return rc_why_set(why, RC_BAD_REQUEST, field, "ID-07",
			    "percent-encoding is not allowed in the trust "
			    "domain (offset %zu, SPIFFE-ID 2.1)", off + i);
		/*
		 * SPIFFE-ID 2.1: "The userinfo and port parts of the
		 * authority component MUST NOT be set, and the : delimiter
		 * MUST NOT be present."
		 */
		if (c == '@' || c == ':')
			return rc_why_set(why, RC_BAD_REQUEST, field, "ID-04",
			    "userinfo and port are not allowed: '%c' at "
			    "offset %zu (SPIFFE-ID 2.1)", c, off + i);
		/*
		 * SPIFFE-ID 2: a SPIFFE ID "MUST NOT include a query or
		 * fragment component".
		 */
		if (c == '?' || c == '#')
			return rc_why_set(why, RC_BAD_REQUEST, field, "ID-03",
			    "query and fragment are not allowed: '%c' at "
			    "offset %zu (SPIFFE-ID 2)", c, off + i);
		if (c == '[' || c == ']')
			return rc_why_set(why, RC_BAD_REQUEST, field, "ID-08",
			    "IPv6 literals are not allowed as a trust domain: "
			    "'%c' at offset %zu (SPIFFE-ID 2.1)", c, off + i);
		describe_byte(c, what, sizeof(what));
		return rc_why_set(why, RC_BAD_REQUEST, field, "ID-06",
		    "%s at offset %zu is not allowed in a trust domain, only "
		    "a-z 0-9 . - _ (SPIFFE-ID 2.1)", what, off + i);
	}

	/* SPIFFE-ID 2.3: "a maximum length of a trust domain name is 255". */
	if (len > SPIFFEID_TD_MAX)
		return rc_why_set(why, RC_BAD_REQUEST, field, "ID-15",
		    "trust domain is %zu bytes, over the limit of %d "
		    "(SPIFFE-ID 2.3)", len, SPIFFEID_TD_MAX);

	return RC_OK;
}

/*
 * Check the path p[0..len) at offset off: empty, or '/'-led segments of
 * A-Z a-z 0-9 . - _ that are neither empty nor "." nor "..".
 */
static enum rc
check_path_bytes(const char *p, size_t len, size_t off, const char *field,
    struct rc_why *why)
{
	char	 what[16];
	size_t	 i, seg;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '/') {
			seg = i + 1;
			/* SPIFFE-ID 2.2: no trailing '/', even alone. */
			if (seg == len)
				return rc_why_set(why, RC_BAD_REQUEST, field,
				    "ID-11", "trailing '/' is not allowed "
				    "(SPIFFE-ID 2.2)");
			if (p[seg] == '/')
				return rc_why_set(why, RC_BAD_REQUEST, field,
				    "ID-10", "empty path segment at offset "
				    "%zu (SPIFFE-ID 2.2)", off + seg);
			/*
			 * SPIFFE-ID 2.2: "." and ".." segments would make
			 * two spellings of one path (RFC 3986 5.2.4).
			 */
			if (p[seg] == '.' && (seg + 1 == len ||
			    p[seg + 1] == '/' || (p[seg + 1] == '.' &&
			    (seg + 2 == len || p[seg + 2] == '/'))))
				return rc_why_set(why, RC_BAD_REQUEST, field,
				    "ID-10", "'.' and '..' path segments are "
				    "not allowed (offset %zu, SPIFFE-ID 2.2)",
				    off + seg);
			continue;
		}
		if (is_path_char(c))
			continue;
		if (c == '%')
			return rc_why_set(why, RC_BAD_REQUEST, field, "ID-09",
			    "percent-encoding is not allowed in the path "
			    "(offset %zu, SPIFFE-ID 2.2)", off + i);
		if (c == '?' || c == '#')
			return rc_why_set(why, RC_BAD_REQUEST, field, "ID-03",
			    "query and fragment are not allowed: '%c' at "
			    "offset %zu (SPIFFE-ID 2)", c, off + i);
		describe_byte(c, what, sizeof(what));
		return rc_why_set(why, RC_BAD_REQUEST, field, "ID-12",
		    "%s at offset %zu is not allowed in a path, only "
		    "A-Z a-z 0-9 . - _ (SPIFFE-ID 2.2)", what, off + i);
	}
	return RC_OK;
}

/*
 * Refuse s[0..len) that is valid but for upper case in its scheme or
 * trust domain, naming the lowercase form (ID-13, our policy; ID-05).
 * td_len is the length of the trust domain at s + SPIFFEID_SCHEME_LEN.
 */
static enum rc
refuse_upper_id(const char *s, size_t len, size_t td_len, bool upper_td,
    const char *field, struct rc_why *why)
{
	char		 low[SPIFFEID_MAX + 1];
	const char	*what, *rule;
	size_t		 i, head;

	head = SPIFFEID_SCHEME_LEN + td_len;
	for (i = 0; i < head; i++)
		low[i] = to_lower((unsigned char)s[i]);
	memcpy(low + head, s + head, len - head);
	low[len] = '\0';

	what = upper_td ? "trust domain" : "scheme";
	rule = upper_td ? "ID-05" : "ID-13";
	if (len <= SPIFFEID_QUOTE_MAX)
		return rc_why_set(why, RC_BAD_REQUEST, field, rule,
		    "%s must be lowercase: use \"%s\" (SPIFFE-ID 2.1, 2.4)",
		    what, low);
	low[head] = '\0';
	return rc_why_set(why, RC_BAD_REQUEST, field, rule,
	    "%s must be lowercase: use \"%s\" followed by the same path "
	    "(SPIFFE-ID 2.1, 2.4)", what, low);
}

/*
 * Parse and check s[0..len) as a SPIFFE ID into *out (cleared first).
 * RC_OK, or RC_BAD_REQUEST with why naming the rule; nothing to free.
 */
enum rc
spiffeid_parse(const char *s, size_t len, struct spiffeid *out,
    const char *field, struct rc_why *why)
{
	enum rc	 rc = RC_BAD_REQUEST;
	size_t	 td_len;
	bool	 upper_scheme = false, upper_td = false;

	out->str[0] = '\0';
	out->len = 0;
	out->td_len = 0;

	if (len == 0) {
		rc = rc_why_set(why, RC_BAD_REQUEST, field, "ID-01",
		    "SPIFFE ID is empty (SPIFFE-ID 2)");
		goto out;
	}

	/*
	 * SPIFFE-ID 2.3: implementations "SHOULD NOT generate URIs of
	 * length greater than 2048 bytes".  We never store or sign what we
	 * could not generate, so a longer input is refused here.
	 */
	if (len > SPIFFEID_MAX) {
		rc = rc_why_set(why, RC_BAD_REQUEST, field, "ID-14",
		    "SPIFFE ID is %zu bytes, over the limit of %d "
		    "(SPIFFE-ID 2.3)", len, SPIFFEID_MAX);
		goto out;
	}

	/* SPIFFE-ID 2: "Valid SPIFFE IDs MUST use the spiffe scheme". */
	if (!has_scheme(s, len, &upper_scheme)) {
		rc = rc_why_set(why, RC_BAD_REQUEST, field, "ID-01",
		    "must begin with \"spiffe://\" (SPIFFE-ID 2)");
		goto out;
	}

	/* The trust domain runs to the first '/' or the end. */
	for (td_len = 0; SPIFFEID_SCHEME_LEN + td_len < len; td_len++)
		if (s[SPIFFEID_SCHEME_LEN + td_len] == '/')
			break;
	rc = check_td_bytes(s + SPIFFEID_SCHEME_LEN, td_len,
	    SPIFFEID_SCHEME_LEN, &upper_td, field, why);
	if (rc != RC_OK)
		goto out;

	rc = check_path_bytes(s + SPIFFEID_SCHEME_LEN + td_len,
	    len - SPIFFEID_SCHEME_LEN - td_len, SPIFFEID_SCHEME_LEN + td_len,
	    field, why);
	if (rc != RC_OK)
		goto out;

	/*
	 * SPIFFE-ID 2.1: the trust domain is lowercase.  2.4 lets a reader
	 * compare scheme and host without case, but two spellings of one
	 * ID would split policy, so upper case is refused (ID-13).
	 */
	if (upper_scheme || upper_td) {
		rc = refuse_upper_id(s, len, td_len, upper_td, field, why);
		goto out;
	}

	memcpy(out->str, s, len);
	out->str[len] = '\0';
	out->len = len;
	out->td_len = td_len;
	rc = RC_OK;
out:
	return rc;
}

/*
 * Check s[0..len) as a bare trust domain name and copy it to out
 * (SPIFFEID_TD_MAX + 1 bytes, emptied on failure).  RC_OK or
 * RC_BAD_REQUEST with why.
 */
enum rc
spiffeid_td_parse(const char *s, size_t len, char *out, const char *field,
    struct rc_why *why)
{
	enum rc	 rc = RC_BAD_REQUEST;
	char	 low[SPIFFEID_TD_MAX + 1];
	size_t	 i;
	bool	 upper = false;

	out[0] = '\0';

	/*
	 * A whole ID where a bare name belongs is a common slip; say so
	 * rather than complain about its ':'.
	 */
	if (has_scheme(s, len, &upper)) {
		rc = rc_why_set(why, RC_BAD_REQUEST, field, "ID-06",
		    "expected a bare trust domain name such as "
		    "\"example.org\", not a SPIFFE ID (SPIFFE-ID 2.1)");
		goto out;
	}

	rc = check_td_bytes(s, len, 0, &upper, field, why);
	if (rc != RC_OK)
		goto out;

	if (upper) {
		for (i = 0; i < len; i++)
			low[i] = to_lower((unsigned char)s[i]);
		low[len] = '\0';
		rc = rc_why_set(why, RC_BAD_REQUEST, field, "ID-05",
		    "trust domain must be lowercase: use \"%s\" "
		    "(SPIFFE-ID 2.1)", low);
		goto out;
	}

	memcpy(out, s, len);
	out[len] = '\0';
	rc = RC_OK;
out:
	return rc;
}

/*
 * Build and check spiffe://<td><path> into *out.  td is a bare name
 * (NULL counts as empty), path is NULL, "" or starts with '/'.  RC_OK or
 * RC_BAD_REQUEST with why (field "trust_domain" or "path").
 */
enum rc
spiffeid_from_parts(const char *td, const char *path, struct spiffeid *out,
    struct rc_why *why)
{
	enum rc	 rc = RC_BAD_REQUEST;
	char	 name[SPIFFEID_TD_MAX + 1];
	char	 buf[SPIFFEID_MAX + 1];
	size_t	 td_len, path_len;

	out->str[0] = '\0';
	out->len = 0;
	out->td_len = 0;

	if (td == NULL)
		td = "";
	if (path == NULL)
		path = "";

	td_len = strlen(td);
	rc = spiffeid_td_parse(td, td_len, name, "trust_domain", why);
	if (rc != RC_OK)
		goto out;

	path_len = strlen(path);
	if (path_len > 0 && path[0] != '/') {
		rc = rc_why_set(why, RC_BAD_REQUEST, "path", "ID-12",
		    "path must be empty or begin with '/' (SPIFFE-ID 2.2)");
		goto out;
	}
	if (SPIFFEID_SCHEME_LEN + td_len + path_len > SPIFFEID_MAX) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "path", "ID-14",
		    "SPIFFE ID would be %zu bytes, over the limit of %d "
		    "(SPIFFE-ID 2.3)", SPIFFEID_SCHEME_LEN + td_len +
		    path_len, SPIFFEID_MAX);
		goto out;
	}

	memcpy(buf, SPIFFEID_SCHEME, SPIFFEID_SCHEME_LEN);
	memcpy(buf + SPIFFEID_SCHEME_LEN, name, td_len);
	memcpy(buf + SPIFFEID_SCHEME_LEN + td_len, path, path_len);
	rc = spiffeid_parse(buf, SPIFFEID_SCHEME_LEN + td_len + path_len, out,
	    "path", why);
	if (rc != RC_OK)
		goto out;

	rc = RC_OK;
out:
	return rc;
}

/* Copy the trust domain of a parsed ID, NUL-terminated, into out[256]. */
void
spiffeid_get_td(const struct spiffeid *id, char *out)
{
	memcpy(out, id->str + SPIFFEID_SCHEME_LEN, id->td_len);
	out[id->td_len] = '\0';
}

/* The path of a parsed ID, "" when it has none; borrowed from id. */
const char *
spiffeid_get0_path(const struct spiffeid *id)
{
	return id->str + SPIFFEID_SCHEME_LEN + id->td_len;
}

/* Has the ID a path (a leaf SVID's ID must, X5-04)? */
bool
spiffeid_has_path(const struct spiffeid *id)
{
	return id->len > SPIFFEID_SCHEME_LEN + id->td_len;
}

/* Is the ID's trust domain byte-equal to td?  false for a NULL td. */
bool
spiffeid_is_in_td(const struct spiffeid *id, const char *td)
{
	if (td == NULL)
		return false;
	if (strlen(td) != id->td_len)
		return false;
	return memcmp(id->str + SPIFFEID_SCHEME_LEN, td, id->td_len) == 0;
}

/*
 * Are two parsed IDs the same?  Parsing leaves only the canonical form
 * (lowercase scheme and host; the path is case-sensitive, SPIFFE-ID
 * 2.4), so comparing bytes is comparing IDs.
 */
bool
spiffeid_is_equal(const struct spiffeid *a, const struct spiffeid *b)
{
	if (a->len != b->len)
		return false;
	return memcmp(a->str, b->str, a->len) == 0;
}
