/*
 * entry_json.c: registration entries to and from the API's JSON (see
 * entry_json.h).  Only the shape is judged here: a member we do not know
 * is refused, never dropped, so a misspelt field cannot pass unnoticed.
 */
#include "entry_json.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../ca/spiffeid.h"
#include "api.h"

#define INT64_DIGITS_MAX	19	/* decimal digits of INT64_MAX */

/* How a member is read. */
enum member_kind {
	MK_ID,			/* entry ID string */
	MK_SPIFFE_ID,		/* string or {trust_domain, path} */
	MK_SELECTORS,		/* array of {type, value} */
	MK_TTL,			/* integer */
	MK_STRINGS,		/* array of strings */
	MK_TDS,			/* array of trust domain names */
	MK_BOOL,		/* true or false */
	MK_INT64,		/* integer or decimal string */
	MK_STRING,		/* string */
};

struct member {
	const char	*name;		/* JSON member name */
	unsigned	 bit;		/* ENTRY_M_ bit, 0 when ignored */
	enum member_kind kind;
};

/* EntryInput's members (docs/openapi.yaml); bit 0: read, then ignored. */
static const struct member members[] = {
	{ "id",			ENTRY_M_ID,		MK_ID },
	{ "spiffe_id",		ENTRY_M_SPIFFE_ID,	MK_SPIFFE_ID },
	{ "parent_id",		ENTRY_M_PARENT_ID,	MK_SPIFFE_ID },
	{ "selectors",		ENTRY_M_SELECTORS,	MK_SELECTORS },
	{ "x509_svid_ttl",	ENTRY_M_X509_TTL,	MK_TTL },
	{ "jwt_svid_ttl",	ENTRY_M_JWT_TTL,	MK_TTL },
	{ "dns_names",		ENTRY_M_DNS_NAMES,	MK_STRINGS },
	{ "federates_with",	ENTRY_M_FEDERATES,	MK_TDS },
	{ "admin",		ENTRY_M_ADMIN,		MK_BOOL },
	{ "downstream",		ENTRY_M_DOWNSTREAM,	MK_BOOL },
	{ "expires_at",		ENTRY_M_EXPIRES_AT,	MK_INT64 },
	{ "hint",		ENTRY_M_HINT,		MK_STRING },
	{ "store_svid",		ENTRY_M_STORE_SVID,	MK_BOOL },
	{ "revision_number",	0,			MK_INT64 },
	{ "created_at",		0,			MK_INT64 },
	{ "created_by",		0,			MK_STRING },
};

#define N_MEMBERS	(sizeof(members) / sizeof(members[0]))

static enum rc
wrong_type(const char *field, const char *want, struct rc_why *why)
{
	return rc_why_set(why, RC_BAD_REQUEST, field, ENTRY_RULE_SHAPE,
	    "%s must be %s", field, want);
}

/*
 * The string in v, borrowed, with its length.  A NUL inside is refused:
 * our C strings would end there and the rest would be dropped unseen.
 */
static enum rc
take_string(const json_t *v, const char *field, const char **s,
    size_t *len, struct rc_why *why)
{
	if (!json_is_string(v))
		return wrong_type(field, "a string", why);
	*s = json_string_value(v);
	*len = json_string_length(v);
	if (memchr(*s, '\0', *len) != NULL)
		return rc_why_set(why, RC_BAD_REQUEST, field,
		    ENTRY_RULE_SHAPE, "%s holds a NUL byte", field);
	return RC_OK;
}

/* A copy of the string in v into *out (NULL on failure). */
static enum rc
dup_string(const json_t *v, const char *field, char **out,
    struct rc_why *why)
{
	const char *s = NULL;
	size_t len = 0;
	enum rc rc;

	*out = NULL;
	rc = take_string(v, field, &s, &len, why);
	if (rc != RC_OK)
		return rc;
	*out = strndup(s, len);
	if (*out == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	return RC_OK;
}

/*
 * A SPIFFE ID string holding a NUL: the parser, given the whole length,
 * refuses it under its own rule (ID-06 in the trust domain, ID-12 in the
 * path), which is the answer a caller should see.
 */
static enum rc
refuse_nul_id(const char *s, size_t len, const char *field,
    struct rc_why *why)
{
	struct spiffeid id;

	if (spiffeid_parse(s, len, &id, field, why) != RC_OK)
		return RC_BAD_REQUEST;
	return rc_why_set(why, RC_BAD_REQUEST, field, ENTRY_RULE_SHAPE,
	    "%s holds a NUL byte", field);
}

/*
 * SPIRE's {trust_domain, path} form of a SPIFFE ID, rebuilt as a string
 * through the one parser (spiffeid_from_parts).
 */
static enum rc
spiffe_id_from_parts(const json_t *o, const char *name, char **out,
    struct rc_why *why)
{
	const json_t *td_v, *path_v, *v;
	const char *key, *td, *path = "";
	struct spiffeid id;
	char *buf = NULL;
	size_t td_len, path_len = 0, n;
	enum rc rc = RC_BAD_REQUEST;

	json_object_foreach((json_t *)o, key, v) {
		if (strcmp(key, "trust_domain") == 0 ||
		    strcmp(key, "path") == 0)
			continue;
		rc = rc_why_set(why, RC_BAD_REQUEST,
		    entry_field_fmt("%s.%s", name, key), ENTRY_RULE_SHAPE,
		    "unknown member of a SPIFFE ID object; only trust_domain "
		    "and path");
		goto out;
	}
	td_v = json_object_get(o, "trust_domain");
	if (td_v == NULL) {
		rc = rc_why_set(why, RC_BAD_REQUEST,
		    entry_field_fmt("%s.trust_domain", name),
		    ENTRY_RULE_SHAPE, "a SPIFFE ID object needs trust_domain");
		goto out;
	}
	if (!json_is_string(td_v)) {
		rc = wrong_type(entry_field_fmt("%s.trust_domain", name),
		    "a string", why);
		goto out;
	}
	td = json_string_value(td_v);
	td_len = json_string_length(td_v);
	path_v = json_object_get(o, "path");
	if (path_v != NULL) {
		if (!json_is_string(path_v)) {
			rc = wrong_type(entry_field_fmt("%s.path", name),
			    "a string", why);
			goto out;
		}
		path = json_string_value(path_v);
		path_len = json_string_length(path_v);
	}

	/* A NUL anywhere: let the parser name the rule, on the whole. */
	if (memchr(td, '\0', td_len) != NULL ||
	    memchr(path, '\0', path_len) != NULL) {
		n = SPIFFEID_SCHEME_LEN + td_len + path_len;
		buf = malloc(n);
		if (buf == NULL) {
			rc = rc_why_set(why, RC_NOMEM, NULL, NULL,
			    "out of memory");
			goto out;
		}
		memcpy(buf, SPIFFEID_SCHEME, SPIFFEID_SCHEME_LEN);
		memcpy(buf + SPIFFEID_SCHEME_LEN, td, td_len);
		memcpy(buf + SPIFFEID_SCHEME_LEN + td_len, path, path_len);
		rc = refuse_nul_id(buf, n, name, why);
		goto out;
	}

	rc = spiffeid_from_parts(td, path, &id, why);
	if (rc != RC_OK) {
		/* The parser names its own parts; say whose they are. */
		if (why != NULL && why->field != NULL &&
		    strcmp(why->field, "trust_domain") == 0)
			why->field = entry_field_fmt("%s.trust_domain", name);
		else if (why != NULL)
			why->field = entry_field_fmt("%s.path", name);
		goto out;
	}
	*out = strdup(id.str);
	if (*out == NULL) {
		rc = rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}

	rc = RC_OK;
out:
	free(buf);
	return rc;
}

/* spiffe_id or parent_id, as a string or in SPIRE's object form. */
static enum rc
decode_spiffe_id(const json_t *v, const char *name, char **out,
    struct rc_why *why)
{
	const char *s;
	size_t len;

	if (json_is_object(v))
		return spiffe_id_from_parts(v, name, out, why);
	if (!json_is_string(v))
		return wrong_type(name, "a string or a {trust_domain, path} "
		    "object", why);
	s = json_string_value(v);
	len = json_string_length(v);
	if (memchr(s, '\0', len) != NULL)
		return refuse_nul_id(s, len, name, why);
	*out = strndup(s, len);
	if (*out == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	return RC_OK;
}

/* One {type, value} object into sel (whose strings the caller frees). */
static enum rc
decode_selector(const json_t *v, size_t i, struct store_selector *sel,
    struct rc_why *why)
{
	const json_t *m;
	const char *key;
	enum rc rc;

	if (!json_is_object(v))
		return wrong_type(entry_field_fmt("selectors[%zu]", i),
		    "a {type, value} object", why);
	json_object_foreach((json_t *)v, key, m) {
		if (strcmp(key, "type") == 0)
			rc = dup_string(m, entry_field_fmt("selectors[%zu]."
			    "type", i), &sel->type, why);
		else if (strcmp(key, "value") == 0)
			rc = dup_string(m, entry_field_fmt("selectors[%zu]."
			    "value", i), &sel->value, why);
		else
			rc = rc_why_set(why, RC_BAD_REQUEST,
			    entry_field_fmt("selectors[%zu].%s", i, key),
			    ENTRY_RULE_SHAPE, "unknown member of a selector; "
			    "only type and value");
		if (rc != RC_OK)
			return rc;
	}
	return RC_OK;
}

/*
 * The selectors array.  Its length is checked before anything is
 * allocated, so 10,000 selectors cost one comparison.
 */
static enum rc
decode_selectors(const json_t *v, struct store_entry *e, struct rc_why *why)
{
	size_t i, n;
	enum rc rc;

	if (!json_is_array(v))
		return wrong_type("selectors", "an array", why);
	n = json_array_size(v);
	if (n > ENTRY_SELECTORS_MAX)
		return rc_why_set(why, RC_TOO_LARGE, "selectors",
		    ENTRY_RULE_SELECTORS, "an entry has at most %d selectors; "
		    "this one has %zu", ENTRY_SELECTORS_MAX, n);
	if (n == 0)
		return RC_OK;
	e->selectors = calloc(n, sizeof(*e->selectors));
	if (e->selectors == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	e->n_selectors = n;
	for (i = 0; i < n; i++) {
		rc = decode_selector(json_array_get(v, i), i, &e->selectors[i],
		    why);
		if (rc != RC_OK)
			return rc;
	}
	return RC_OK;
}

/* See entry_json.h. */
const char *
api_entry_td_bare(const char *s, size_t *len)
{
	if (*len > SPIFFEID_SCHEME_LEN &&
	    memcmp(s, SPIFFEID_SCHEME, SPIFFEID_SCHEME_LEN) == 0) {
		*len -= SPIFFEID_SCHEME_LEN;
		return s + SPIFFEID_SCHEME_LEN;
	}
	return s;
}

/*
 * An array of strings (dns_names, or federates_with with bare set) into
 * *out and *n, at most max of them.
 */
static enum rc
decode_strings(const json_t *v, const char *name, size_t max, bool bare,
    char ***out, size_t *n, struct rc_why *why)
{
	const char *s, *field;
	size_t i, len, count;
	enum rc rc;

	if (!json_is_array(v))
		return wrong_type(name, "an array of strings", why);
	count = json_array_size(v);
	if (count > max)
		return rc_why_set(why, RC_TOO_LARGE, name, bare ?
		    ENTRY_RULE_FEDERATES : ENTRY_RULE_DNS, "%s holds at most "
		    "%zu names; this one has %zu", name, max, count);
	if (count == 0)
		return RC_OK;
	*out = calloc(count, sizeof(**out));
	if (*out == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	*n = count;
	for (i = 0; i < count; i++) {
		field = entry_field_fmt("%s[%zu]", name, i);
		rc = take_string(json_array_get(v, i), field, &s, &len, why);
		if (rc != RC_OK)
			return rc;
		if (bare)
			s = api_entry_td_bare(s, &len);
		(*out)[i] = strndup(s, len);
		if ((*out)[i] == NULL)
			return rc_why_set(why, RC_NOMEM, NULL, NULL,
			    "out of memory");
	}
	return RC_OK;
}

/*
 * A 64-bit count of seconds: a JSON integer, or the decimal string that
 * SPIRE's export writes for int64 fields ("expires_at": "0").
 */
static enum rc
decode_int64(const json_t *v, const char *name, int64_t *out,
    struct rc_why *why)
{
	const char *s;
	char *end;
	long long x;
	size_t len, i;

	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return RC_OK;
	}
	if (!json_is_string(v))
		return wrong_type(name, "an integer or a decimal string", why);
	s = json_string_value(v);
	len = json_string_length(v);
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			break;
	if (len == 0 || len > INT64_DIGITS_MAX || i != len)
		return wrong_type(name, "an integer or a string of 1 to 19 "
		    "decimal digits", why);
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return rc_why_set(why, RC_BAD_REQUEST, name, ENTRY_RULE_SHAPE,
		    "%s is out of range", name);
	*out = (int64_t)x;
	return RC_OK;
}

/* One member by its kind into e. */
static enum rc
decode_member(const struct member *m, const json_t *v, struct store_entry *e,
    struct rc_why *why)
{
	const char *s;
	size_t len;
	int64_t x = 0;
	char *ignored = NULL;
	enum rc rc = RC_BAD_REQUEST;

	switch (m->kind) {
	case MK_ID:
		rc = take_string(v, m->name, &s, &len, why);
		if (rc == RC_OK)
			rc = entry_id_check(s, len, m->name, why);
		if (rc == RC_OK)
			memcpy(e->id, s, len + 1);
		break;
	case MK_SPIFFE_ID:
		rc = decode_spiffe_id(v, m->name, m->bit == ENTRY_M_SPIFFE_ID ?
		    &e->spiffe_id : &e->parent_id, why);
		break;
	case MK_SELECTORS:
		rc = decode_selectors(v, e, why);
		break;
	case MK_TTL:
		if (!json_is_integer(v)) {
			rc = wrong_type(m->name, "an integer (seconds)", why);
			break;
		}
		if (m->bit == ENTRY_M_X509_TTL)
			e->x509_svid_ttl = (long)json_integer_value(v);
		else
			e->jwt_svid_ttl = (long)json_integer_value(v);
		rc = RC_OK;
		break;
	case MK_STRINGS:
		rc = decode_strings(v, m->name, ENTRY_DNS_NAMES_MAX, false,
		    &e->dns_names, &e->n_dns_names, why);
		break;
	case MK_TDS:
		rc = decode_strings(v, m->name, ENTRY_FEDERATES_MAX, true,
		    &e->federates_with, &e->n_federates_with, why);
		break;
	case MK_BOOL:
		if (!json_is_boolean(v)) {
			rc = wrong_type(m->name, "true or false", why);
			break;
		}
		if (m->bit == ENTRY_M_ADMIN)
			e->admin = json_is_true(v);
		else if (m->bit == ENTRY_M_DOWNSTREAM)
			e->downstream = json_is_true(v);
		else
			e->store_svid = json_is_true(v);
		rc = RC_OK;
		break;
	case MK_INT64:
		rc = decode_int64(v, m->name, &x, why);
		if (rc == RC_OK && m->bit == ENTRY_M_EXPIRES_AT)
			e->expires_at = (time_t)x;
		break;
	case MK_STRING:
		rc = dup_string(v, m->name, m->bit == ENTRY_M_HINT ? &e->hint :
		    &ignored, why);
		free(ignored);
		break;
	}
	return rc;
}

/* See entry_json.h. */
enum rc
api_entry_from_json(const json_t *o, bool patch, struct store_entry *e,
    unsigned *present, struct rc_why *why)
{
	const struct member *m;
	const json_t *v;
	const char *key;
	unsigned seen = 0;
	size_t i;
	enum rc rc = RC_BAD_REQUEST;

	if (present != NULL)
		*present = 0;
	if (!json_is_object(o)) {
		rc = wrong_type("entry", "a JSON object", why);
		goto out;
	}
	if (patch && json_object_size(o) == 0) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "body", ENTRY_RULE_SHAPE,
		    "a change names at least one member");
		goto out;
	}

	json_object_foreach((json_t *)o, key, v) {
		m = NULL;
		for (i = 0; i < N_MEMBERS; i++)
			if (strcmp(members[i].name, key) == 0)
				m = &members[i];
		if (m == NULL) {
			rc = rc_why_set(why, RC_BAD_REQUEST,
			    entry_field_fmt("%s", key), ENTRY_RULE_SHAPE,
			    "unknown member \"%s\" of an entry", key);
			goto out;
		}
		/* docs/openapi.yaml EntryPatch: these are the server's. */
		if (patch && (m->bit == 0 || m->bit == ENTRY_M_ID)) {
			rc = rc_why_set(why, RC_BAD_REQUEST, m->name,
			    ENTRY_RULE_SHAPE, "%s cannot be changed", m->name);
			goto out;
		}
		rc = decode_member(m, v, e, why);
		if (rc != RC_OK)
			goto out;
		seen |= m->bit;
	}

	if (present != NULL)
		*present = seen;
	rc = RC_OK;
out:
	return rc;
}

/* An array of the strings v[0..n), NULL ones as "". */
static json_t *
strings_to_json(char *const *v, size_t n)
{
	json_t *a;
	size_t i;

	a = json_array();
	if (a == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (json_array_append_new(a, json_string(v[i] == NULL ? "" :
		    v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
selectors_to_json(const struct store_entry *e)
{
	json_t *a;
	size_t i;

	a = json_array();
	if (a == NULL)
		return NULL;
	for (i = 0; i < e->n_selectors; i++) {
		if (json_array_append_new(a, json_pack("{s:s, s:s}", "type",
		    e->selectors[i].type == NULL ? "" : e->selectors[i].type,
		    "value", e->selectors[i].value == NULL ? "" :
		    e->selectors[i].value)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

#define OR_EMPTY(s)	((s) == NULL ? "" : (s))

/* See entry_json.h. */
json_t *
api_entry_to_json(const struct store_entry *e)
{
	json_t *sel = NULL, *dns = NULL, *fed = NULL, *o = NULL;

	sel = selectors_to_json(e);
	dns = strings_to_json(e->dns_names, e->n_dns_names);
	fed = strings_to_json(e->federates_with, e->n_federates_with);
	if (sel == NULL || dns == NULL || fed == NULL)
		goto out;
	o = json_pack("{s:s, s:s, s:s, s:O, s:I, s:I, s:O, s:O, s:b, s:b, "
	    "s:I, s:s, s:b, s:I, s:I, s:s}",
	    "id", e->id,
	    "spiffe_id", OR_EMPTY(e->spiffe_id),
	    "parent_id", OR_EMPTY(e->parent_id),
	    "selectors", sel,
	    "x509_svid_ttl", (json_int_t)e->x509_svid_ttl,
	    "jwt_svid_ttl", (json_int_t)e->jwt_svid_ttl,
	    "dns_names", dns,
	    "federates_with", fed,
	    "admin", (int)e->admin,
	    "downstream", (int)e->downstream,
	    "expires_at", (json_int_t)e->expires_at,
	    "hint", OR_EMPTY(e->hint),
	    "store_svid", (int)e->store_svid,
	    "revision_number", (json_int_t)e->revision_number,
	    "created_at", (json_int_t)e->created_at,
	    "created_by", OR_EMPTY(e->created_by));
out:
	json_decref(sel);
	json_decref(dns);
	json_decref(fed);
	return o;
}
