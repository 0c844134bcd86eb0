/*
 * entry.c: the rules of a registration entry (see entry.h for the list).
 *
 * The checks run in the order of the entry's members, so a caller fixing
 * an entry meets its faults from the top down.  SPIFFE IDs and trust
 * domain names go through spiffeid.c, the one parser, and keep its rule
 * numbers; only membership of our trust domain and the need for a path
 * are judged here.
 */
#include "entry.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spiffeid.h"

#define DNS_LABEL_MAX	63	/* bytes of a label, RFC 1035 2.3.4 */

static __thread char entry_field_buf[ENTRY_FIELD_MAX];

/* See entry.h. */
const char *
entry_field_fmt(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(entry_field_buf, sizeof(entry_field_buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		entry_field_buf[0] = '\0';
	return entry_field_buf;
}

/*
 * Check an entry ID (ENTRY-10).  The ID goes into URL paths and log lines
 * as it is, so only characters that need no escaping anywhere are taken.
 */
enum rc
entry_id_check(const char *id, size_t len, const char *field,
    struct rc_why *why)
{
	unsigned char c;
	size_t i;

	if (len == 0)
		return rc_why_set(why, RC_BAD_REQUEST, field, ENTRY_RULE_ID,
		    "an entry ID is 1 to %d characters; this one is empty",
		    STORE_ENTRY_ID_MAX);
	if (len > STORE_ENTRY_ID_MAX)
		return rc_why_set(why, RC_BAD_REQUEST, field, ENTRY_RULE_ID,
		    "an entry ID is at most %d characters; this one has %zu",
		    STORE_ENTRY_ID_MAX, len);
	for (i = 0; i < len; i++) {
		c = (unsigned char)id[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-')
			continue;
		return rc_why_set(why, RC_BAD_REQUEST, field, ENTRY_RULE_ID,
		    "byte 0x%02x at offset %zu is not allowed in an entry ID, "
		    "only A-Z a-z 0-9 . _ -", c, i);
	}
	/*
	 * IDs become URL path segments and, on agents, directory names: a
	 * leading dot would give ".", ".." or a hidden file.
	 */
	if (id[0] == '.')
		return rc_why_set(why, RC_BAD_REQUEST, field, ENTRY_RULE_ID,
		    "an entry ID must not start with \".\" (it names a path "
		    "segment and an agent's directory)");
	/*
	 * /v1/entries/count and /v1/entries/batch-delete are routes of
	 * their own, so an entry by either name could never be reached.
	 */
	if ((len == 5 && memcmp(id, "count", 5) == 0) ||
	    (len == 12 && memcmp(id, "batch-delete", 12) == 0))
		return rc_why_set(why, RC_BAD_REQUEST, field, ENTRY_RULE_ID,
		    "\"%.*s\" names a route under /v1/entries, not an entry",
		    (int)len, id);
	return RC_OK;
}

/* Is c a letter, digit or hyphen (RFC 1123 2.1, RFC 952 <hname>)? */
static bool
is_ldh(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/* See entry.h. */
bool
entry_dns_name_is_valid(const char *name, size_t len)
{
	size_t i, start, label;

	if (len == 0 || len > CERT_DNS_NAME_MAX)
		return false;
	start = 0;
	/* RFC 6125 6.4.3: a wildcard only as the whole leftmost label. */
	if (len > 2 && name[0] == '*' && name[1] == '.')
		start = 2;
	label = 0;
	for (i = start; i <= len; i++) {
		if (i == len || name[i] == '.') {
			/*
			 * RFC 1123 2.1 lets a label begin with a digit; RFC
			 * 952 still forbids a hyphen at either end, and an
			 * empty label (or a trailing dot) names nothing a
			 * certificate may carry.
			 */
			if (label == 0 || label > DNS_LABEL_MAX)
				return false;
			if (name[i - label] == '-' || name[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_ldh((unsigned char)name[i]))
			return false;
		label++;
	}
	return true;
}

/*
 * spiffe_id or parent_id: valid through the one parser, in our trust
 * domain, and for spiffe_id with a path.
 */
static enum rc
check_id(const char *s, const char *field, bool need_path,
    const struct entry_limits *lim, struct rc_why *why)
{
	struct spiffeid id;
	char td[SPIFFEID_TD_MAX + 1];
	enum rc rc = RC_BAD_REQUEST;

	if (s == NULL) {
		rc = rc_why_set(why, RC_BAD_REQUEST, field,
		    ENTRY_RULE_REQUIRED, "an entry needs a %s", field);
		goto out;
	}
	rc = spiffeid_parse(s, strlen(s), &id, field, why);
	if (rc != RC_OK)
		goto out;
	if (!spiffeid_is_in_td(&id, lim->trust_domain)) {
		spiffeid_get_td(&id, td);
		rc = rc_why_set(why, RC_BAD_REQUEST, field, ENTRY_RULE_TD,
		    "trust domain \"%s\" is not this server's (\"%s\")", td,
		    lim->trust_domain);
		goto out;
	}
	/*
	 * X509-SVID 5.2 (checklist X5-18): a leaf SVID's ID has a path; the
	 * bare trust domain ID names the signing authority alone.
	 */
	if (need_path && !spiffeid_has_path(&id)) {
		rc = rc_why_set(why, RC_BAD_REQUEST, field, ENTRY_RULE_PATH,
		    "%s needs a path: the trust domain's own ID is never a "
		    "workload's (X509-SVID 5.2)", field);
		goto out;
	}

	rc = RC_OK;
out:
	return rc;
}

/* One selector: type and value present, bounded; type without ':'. */
static enum rc
check_selector(const struct store_selector *s, size_t i, struct rc_why *why)
{
	size_t tlen, vlen;

	tlen = s->type == NULL ? 0 : strlen(s->type);
	vlen = s->value == NULL ? 0 : strlen(s->value);
	if (tlen == 0)
		return rc_why_set(why, RC_BAD_REQUEST,
		    entry_field_fmt("selectors[%zu].type", i),
		    ENTRY_RULE_SEL_TYPE, "a selector needs a type");
	if (tlen > ENTRY_SELECTOR_TYPE_MAX)
		return rc_why_set(why, RC_BAD_REQUEST,
		    entry_field_fmt("selectors[%zu].type", i),
		    ENTRY_RULE_SEL_TYPE, "a selector type is at most %d "
		    "bytes; this one has %zu", ENTRY_SELECTOR_TYPE_MAX, tlen);
	/* "type:value" is how filters and the CLI write a selector. */
	if (strchr(s->type, ':') != NULL)
		return rc_why_set(why, RC_BAD_REQUEST,
		    entry_field_fmt("selectors[%zu].type", i),
		    ENTRY_RULE_SEL_TYPE, "a selector type holds no ':'");
	if (vlen == 0)
		return rc_why_set(why, RC_BAD_REQUEST,
		    entry_field_fmt("selectors[%zu].value", i),
		    ENTRY_RULE_SEL_VALUE, "a selector needs a value");
	if (vlen > ENTRY_SELECTOR_VALUE_MAX)
		return rc_why_set(why, RC_BAD_REQUEST,
		    entry_field_fmt("selectors[%zu].value", i),
		    ENTRY_RULE_SEL_VALUE, "a selector value is at most %d "
		    "bytes; this one has %zu", ENTRY_SELECTOR_VALUE_MAX, vlen);
	return RC_OK;
}

/* Selectors: how many, each, and no pair twice (ENTRY-03..06). */
static enum rc
check_selectors(const struct store_entry *e, struct rc_why *why)
{
	const struct store_selector *a, *b;
	enum rc rc;
	size_t i, j;

	if (e->n_selectors == 0 || e->selectors == NULL)
		return rc_why_set(why, RC_BAD_REQUEST, "selectors",
		    ENTRY_RULE_SELECTORS, "an entry needs at least one "
		    "selector");
	if (e->n_selectors > ENTRY_SELECTORS_MAX)
		return rc_why_set(why, RC_TOO_LARGE, "selectors",
		    ENTRY_RULE_SELECTORS, "an entry has at most %d selectors; "
		    "this one has %zu", ENTRY_SELECTORS_MAX, e->n_selectors);
	for (i = 0; i < e->n_selectors; i++) {
		rc = check_selector(&e->selectors[i], i, why);
		if (rc != RC_OK)
			return rc;
	}
	/* At most 64 selectors, so the pairwise walk stays small. */
	for (i = 1; i < e->n_selectors; i++) {
		a = &e->selectors[i];
		for (j = 0; j < i; j++) {
			b = &e->selectors[j];
			if (strcmp(a->type, b->type) != 0 ||
			    strcmp(a->value, b->value) != 0)
				continue;
			return rc_why_set(why, RC_BAD_REQUEST,
			    entry_field_fmt("selectors[%zu]", i),
			    ENTRY_RULE_SEL_DUP, "selector repeats "
			    "selectors[%zu]", j);
		}
	}
	return RC_OK;
}

/* A TTL: 0 for the default, else 1..max seconds (ENTRY-07). */
static enum rc
check_ttl(long ttl, long max, const char *field, struct rc_why *why)
{
	if (ttl < 0)
		return rc_why_set(why, RC_BAD_REQUEST, field, ENTRY_RULE_TTL,
		    "a TTL is 0 (the default) or a number of seconds; %ld is "
		    "negative", ttl);
	if (ttl > max)
		return rc_why_set(why, RC_BAD_REQUEST, field, ENTRY_RULE_TTL,
		    "%ld seconds is above the server's maximum of %ld", ttl,
		    max);
	return RC_OK;
}

/* DNS names: how many, each valid, none twice (ENTRY-08, RFC 1123). */
static enum rc
check_dns_names(const struct store_entry *e, struct rc_why *why)
{
	const char *n;
	size_t i, j;

	if (e->n_dns_names > ENTRY_DNS_NAMES_MAX)
		return rc_why_set(why, RC_TOO_LARGE, "dns_names",
		    ENTRY_RULE_DNS, "an entry has at most %d DNS names; this "
		    "one has %zu", ENTRY_DNS_NAMES_MAX, e->n_dns_names);
	for (i = 0; i < e->n_dns_names; i++) {
		n = e->dns_names[i];
		if (n == NULL || !entry_dns_name_is_valid(n, strlen(n)))
			return rc_why_set(why, RC_BAD_REQUEST,
			    entry_field_fmt("dns_names[%zu]", i),
			    ENTRY_RULE_DNS_NAME, "not a host name: labels of "
			    "1 to 63 letters, digits and inner hyphens, 253 "
			    "bytes at most (RFC 1123 2.1)");
		/* DNS names compare without case (RFC 4343). */
		for (j = 0; j < i; j++)
			if (strcasecmp(n, e->dns_names[j]) == 0)
				return rc_why_set(why, RC_BAD_REQUEST,
				    entry_field_fmt("dns_names[%zu]", i),
				    ENTRY_RULE_DNS, "DNS name repeats "
				    "dns_names[%zu]", j);
	}
	return RC_OK;
}

/* Trust domains to federate with: valid, not ours, none twice. */
static enum rc
check_federates(const struct store_entry *e, const struct entry_limits *lim,
    struct rc_why *why)
{
	char td[SPIFFEID_TD_MAX + 1];
	const char *s, *field;
	enum rc rc;
	size_t i, j;

	if (e->n_federates_with > ENTRY_FEDERATES_MAX)
		return rc_why_set(why, RC_TOO_LARGE, "federates_with",
		    ENTRY_RULE_FEDERATES, "an entry federates with at most %d "
		    "trust domains; this one names %zu", ENTRY_FEDERATES_MAX,
		    e->n_federates_with);
	for (i = 0; i < e->n_federates_with; i++) {
		s = e->federates_with[i] == NULL ? "" : e->federates_with[i];
		field = entry_field_fmt("federates_with[%zu]", i);
		rc = spiffeid_td_parse(s, strlen(s), td, field, why);
		if (rc != RC_OK)
			return rc;
		if (strcmp(td, lim->trust_domain) == 0)
			return rc_why_set(why, RC_BAD_REQUEST, field,
			    ENTRY_RULE_FEDERATES, "\"%s\" is this server's own "
			    "trust domain; federation is with others", td);
		for (j = 0; j < i; j++) {
			if (e->federates_with[j] == NULL ||
			    strcmp(s, e->federates_with[j]) != 0)
				continue;
			return rc_why_set(why, RC_BAD_REQUEST, field,
			    ENTRY_RULE_FEDERATES, "trust domain repeats "
			    "federates_with[%zu]", j);
		}
	}
	return RC_OK;
}

/* See entry.h. */
enum rc
entry_check(const struct store_entry *e, const struct entry_limits *lim,
    struct rc_why *why)
{
	size_t len;
	enum rc rc = RC_BAD_REQUEST;

	len = strnlen(e->id, sizeof(e->id));
	if (len == sizeof(e->id)) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "id", ENTRY_RULE_ID,
		    "entry ID is not terminated");
		goto out;
	}
	if (len > 0) {
		rc = entry_id_check(e->id, len, "id", why);
		if (rc != RC_OK)
			goto out;
	}

	rc = check_id(e->spiffe_id, "spiffe_id", true, lim, why);
	if (rc != RC_OK)
		goto out;
	rc = check_id(e->parent_id, "parent_id", false, lim, why);
	if (rc != RC_OK)
		goto out;

	rc = check_selectors(e, why);
	if (rc != RC_OK)
		goto out;

	rc = check_ttl(e->x509_svid_ttl, lim->x509_svid_ttl_max,
	    "x509_svid_ttl", why);
	if (rc != RC_OK)
		goto out;
	rc = check_ttl(e->jwt_svid_ttl, lim->jwt_svid_ttl_max,
	    "jwt_svid_ttl", why);
	if (rc != RC_OK)
		goto out;

	rc = check_dns_names(e, why);
	if (rc != RC_OK)
		goto out;
	rc = check_federates(e, lim, why);
	if (rc != RC_OK)
		goto out;

	if (e->expires_at < 0) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "expires_at",
		    ENTRY_RULE_EXPIRES, "expires_at is 0 (never) or Unix "
		    "seconds; %lld is negative", (long long)e->expires_at);
		goto out;
	}
	len = e->hint == NULL ? 0 : strlen(e->hint);
	if (len > ENTRY_HINT_MAX) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "hint", ENTRY_RULE_HINT,
		    "a hint is at most %d bytes; this one has %zu",
		    ENTRY_HINT_MAX, len);
		goto out;
	}

	rc = RC_OK;
out:
	return rc;
}

#define SWAP(a, b, type) do {						\
	type t_ = (a);							\
	(a) = (b);							\
	(b) = t_;							\
} while (0)

/* See entry.h. */
void
entry_swap_members(struct store_entry *dst, struct store_entry *src,
    unsigned which)
{
	char id[STORE_ENTRY_ID_MAX + 1];

	if ((which & ENTRY_M_ID) != 0) {
		memcpy(id, dst->id, sizeof(id));
		memcpy(dst->id, src->id, sizeof(id));
		memcpy(src->id, id, sizeof(id));
	}
	if ((which & ENTRY_M_SPIFFE_ID) != 0)
		SWAP(dst->spiffe_id, src->spiffe_id, char *);
	if ((which & ENTRY_M_PARENT_ID) != 0)
		SWAP(dst->parent_id, src->parent_id, char *);
	if ((which & ENTRY_M_SELECTORS) != 0) {
		SWAP(dst->selectors, src->selectors, struct store_selector *);
		SWAP(dst->n_selectors, src->n_selectors, size_t);
	}
	if ((which & ENTRY_M_X509_TTL) != 0)
		SWAP(dst->x509_svid_ttl, src->x509_svid_ttl, long);
	if ((which & ENTRY_M_JWT_TTL) != 0)
		SWAP(dst->jwt_svid_ttl, src->jwt_svid_ttl, long);
	if ((which & ENTRY_M_DNS_NAMES) != 0) {
		SWAP(dst->dns_names, src->dns_names, char **);
		SWAP(dst->n_dns_names, src->n_dns_names, size_t);
	}
	if ((which & ENTRY_M_FEDERATES) != 0) {
		SWAP(dst->federates_with, src->federates_with, char **);
		SWAP(dst->n_federates_with, src->n_federates_with, size_t);
	}
	if ((which & ENTRY_M_ADMIN) != 0)
		SWAP(dst->admin, src->admin, bool);
	if ((which & ENTRY_M_DOWNSTREAM) != 0)
		SWAP(dst->downstream, src->downstream, bool);
	if ((which & ENTRY_M_EXPIRES_AT) != 0)
		SWAP(dst->expires_at, src->expires_at, time_t);
	if ((which & ENTRY_M_HINT) != 0)
		SWAP(dst->hint, src->hint, char *);
	if ((which & ENTRY_M_STORE_SVID) != 0)
		SWAP(dst->store_svid, src->store_svid, bool);
}
