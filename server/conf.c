/*
 * conf.c: the server's configuration: embedded defaults, the libconfig
 * file, then the checks of the whole.
 *
 * Every key lives in one table (conf_keys) with its field in struct conf,
 * a loader for its libconfig type and, where needed, a check of its value.
 * The file loader and conf_finish both walk that table, so a value set by
 * a command-line flag meets the same checks as one read from the file.
 * A nested group (federation, node_attestors ...) is one more row, marked
 * nested, whose loader checks the setting is a group and walks its
 * members with a table of its own through load_group(), prefix "name.".
 */
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libconfig.h>

#include "../ca/attest.h"
#include "../ca/spiffeid.h"
#include "log.h"

/* Ranges of the numeric keys; deploy/svidca.conf.example repeats them. */
#define CONF_TTL_LIMIT		(10L * 365 * 86400)	/* s, any TTL */
#define CONF_BODY_MIN		1024L			/* bytes */
#define CONF_BODY_LIMIT		(1024L * 1024 * 1024)	/* bytes */
#define CONF_THREADS_LIMIT	1024L			/* threads */
#define CONF_CHECKPOINT_LIMIT	1000000000L		/* audit records */
#define CONF_UID_LIMIT		4294967294LL	/* (uid_t)-1 is "none" */
#define CONF_RATE_LIMIT		1000000L		/* attestations */
#define CONF_JWKS_REFRESH_LIMIT	86400L			/* s */
#define CONF_TOKEN_AGE_LIMIT	86400L			/* s */

struct conf_key;

/*
 * Read one setting into its field; on a fault the reason in why, without
 * the "FILE:LINE: key: " that load_group() puts before it.
 */
typedef enum rc	(*conf_load_fn)(struct conf *, const struct conf_key *,
		    const config_setting_t *, const char *path,
		    struct rc_why *);

/* Check the field's current value in a conf; reason (no prefix) in why. */
typedef enum rc	(*conf_check_fn)(const struct conf *,
		    const struct conf_key *, struct rc_why *);

/*
 * One key.  A row marked nested is a group: its loader checks the type
 * and runs load_group() on the members, which already writes
 * "FILE:LINE: key: " into why, so its fault is passed up unchanged.
 */
struct conf_key {
	const char	*name;		/* key in the file, static */
	conf_load_fn	 load;		/* reads the setting */
	conf_check_fn	 check;		/* checks the value, or NULL */
	size_t		 off;		/* offsetof the field */
	size_t		 size;		/* bytes of a string field */
	long		 min, max;	/* range of a number */
	bool		 is_unsigned;	/* number is unsigned, not long */
	bool		 empty_ok;	/* may a string be ""? */
	bool		 nested;	/* a group, see above */
};

static const char *const conf_key_types[] = {
	"ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096",
};

/* The field of key k inside c. */
static void *
field_of(struct conf *c, const struct conf_key *k)
{
	return (char *)c + k->off;
}

static const void *
field_of_const(const struct conf *c, const struct conf_key *k)
{
	return (const char *)c + k->off;
}

/* --- checks of one value, shared by the loader and conf_finish --- */

/* A string field: set unless it may be empty. */
static enum rc
check_set(const struct conf *c, const struct conf_key *k, struct rc_why *why)
{
	const char *v = field_of_const(c, k);

	if (v[0] == '\0' && !k->empty_ok)
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "must be set");
	return RC_OK;
}

/* trust_domain: required, and a valid bare name (SPIFFE-ID 2.1, 2.3). */
static enum rc
check_td(const struct conf *c, const struct conf_key *k, struct rc_why *why)
{
	char	 td[SPIFFEID_TD_MAX + 1];
	enum rc	 rc;

	rc = check_set(c, k, why);
	if (rc != RC_OK)
		return rc;
	return spiffeid_td_parse(c->trust_domain, strlen(c->trust_domain), td,
	    k->name, why);
}

static enum rc
check_key_type(const struct conf *c, const struct conf_key *k,
    struct rc_why *why)
{
	const char	*v = field_of_const(c, k);
	size_t		 i;

	for (i = 0; i < sizeof(conf_key_types) / sizeof(conf_key_types[0]);
	    i++)
		if (strcmp(v, conf_key_types[i]) == 0)
			return RC_OK;
	return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
	    "unknown key type \"%s\": use ec-p256, ec-p384, rsa-2048, "
	    "rsa-3072 or rsa-4096", v);
}

static enum rc
check_log_level(const struct conf *c, const struct conf_key *k,
    struct rc_why *why)
{
	enum log_level	 lvl;

	if (!log_level_parse(c->log_level, &lvl))
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "unknown log level \"%s\": use debug, info, warn or error",
		    c->log_level);
	return RC_OK;
}

static enum rc
check_addr(const struct conf *c, const struct conf_key *k,
    struct rc_why *why)
{
	const char *v = field_of_const(c, k);

	if (!conf_split_addr(v, NULL, 0, NULL))
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "\"%s\" is not host:port with a port from 1 to 65535 "
		    "(IPv6 in brackets: [::1]:8081)", v);
	return RC_OK;
}

/*
 * Text that goes into certificates or names a group: printable ASCII
 * only, so a stray control byte cannot reach a subject or a log line.
 */
static enum rc
check_printable(const struct conf *c, const struct conf_key *k,
    struct rc_why *why)
{
	const unsigned char	*v = field_of_const(c, k);
	size_t			 i;
	enum rc			 rc;

	rc = check_set(c, k, why);
	if (rc != RC_OK)
		return rc;
	for (i = 0; v[i] != '\0'; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
			    "byte 0x%02X at offset %zu is not printable ASCII",
			    v[i], i);
	return RC_OK;
}

static enum rc
check_range(const struct conf *c, const struct conf_key *k,
    struct rc_why *why)
{
	long v;

	if (k->is_unsigned)
		v = (long)*(const unsigned *)field_of_const(c, k);
	else
		v = *(const long *)field_of_const(c, k);
	if (v < k->min || v > k->max)
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "%ld is out of range, use %ld to %ld", v, k->min, k->max);
	return RC_OK;
}

/*
 * An admin's SPIFFE ID: valid (SPIFFE-ID), and with a path, because an
 * admin authenticates with a leaf X.509-SVID and a leaf's ID always has
 * one (X509-SVID 3.1, checklist X5-04); a bare trust domain ID here could
 * never match anyone.
 */
static enum rc
check_admin_id(const char *s, struct spiffeid *id, struct rc_why *why)
{
	enum rc rc;

	rc = spiffeid_parse(s, strlen(s), id, "admin_ids", why);
	if (rc != RC_OK)
		return rc;
	if (!spiffeid_has_path(id))
		return rc_why_set(why, RC_BAD_REQUEST, "admin_ids", "X5-04",
		    "\"%s\" has no path, so no X.509-SVID can carry it "
		    "(X509-SVID 3.1)", s);
	return RC_OK;
}

static enum rc
check_admin_ids(const struct conf *c, const struct conf_key *k,
    struct rc_why *why)
{
	struct spiffeid	 id;
	enum rc		 rc;
	size_t		 i;

	(void)k;
	for (i = 0; i < c->n_admin_ids; i++) {
		rc = check_admin_id(c->admin_ids[i], &id, why);
		if (rc != RC_OK)
			return rc;
	}
	return RC_OK;
}

/* --- loaders: libconfig setting to struct field --- */

static const char *
type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "an unknown type";
	}
}

static enum rc
load_str(struct conf *c, const struct conf_key *k, const config_setting_t *s,
    const char *path, struct rc_why *why)
{
	const char	*v;
	size_t		 len;

	(void)path;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "expected a string, got %s",
		    type_name(config_setting_type(s)));
	v = config_setting_get_string(s);
	len = strlen(v);
	if (len >= k->size)
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "value is %zu bytes, over the limit of %zu", len,
		    k->size - 1);
	memcpy(field_of(c, k), v, len + 1);
	return RC_OK;
}

/* Is s an integer setting?  Its value in *v. */
static bool
get_int(const config_setting_t *s, long long *v)
{
	int type = config_setting_type(s);

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
		return false;
	*v = config_setting_get_int64(s);
	return true;
}

/*
 * XXX(conf-int): libconfig 1.5 keeps an integer written without the L
 * suffix in 32 bits and silently wraps a larger one (5000000000 reads as
 * 705032704).  Every range below fits in 31 bits, so only a value far off
 * can alias into range.  Fix: refuse such literals once libconfig reports
 * them (1.7 promotes them to 64 bits), or scan the literal ourselves.
 */
static enum rc
load_num(struct conf *c, const struct conf_key *k, const config_setting_t *s,
    const char *path, struct rc_why *why)
{
	long long v;

	(void)path;
	if (!get_int(s, &v))
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "expected an integer, got %s",
		    type_name(config_setting_type(s)));
	if (v < k->min || v > k->max)
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "%lld is out of range, use %ld to %ld", v, k->min, k->max);
	if (k->is_unsigned)
		*(unsigned *)field_of(c, k) = (unsigned)v;
	else
		*(long *)field_of(c, k) = (long)v;
	return RC_OK;
}

/* An array or list of at most CONF_ADMIN_MAX elements. */
static enum rc
check_list(const struct conf_key *k, const config_setting_t *s,
    const char *what, struct rc_why *why)
{
	int type = config_setting_type(s);

	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "expected a list of %s, got %s", what, type_name(type));
	if (config_setting_length(s) > CONF_ADMIN_MAX)
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "%d entries, over the limit of %d",
		    config_setting_length(s), CONF_ADMIN_MAX);
	return RC_OK;
}

/*
 * Prefix the reason in why with "entry N: " (1-based).  The line stays
 * the key's: libconfig 1.5 records an element's line only after reading
 * the token behind it, one line late for the last of a multi-line list.
 */
static enum rc
refuse_entry(struct rc_why *why, unsigned i)
{
	char reason[RC_DETAIL_MAX];

	(void)snprintf(reason, sizeof(reason), "%s", why->detail);
	return rc_why_set(why, why->code, why->field, why->rule,
	    "entry %u: %s", i + 1, reason);
}

static enum rc
load_uids(struct conf *c, const struct conf_key *k, const config_setting_t *s,
    const char *path, struct rc_why *why)
{
	uid_t		 uids[CONF_ADMIN_MAX];
	long long	 v;
	unsigned	 i, n;
	enum rc		 rc;

	(void)path;
	rc = check_list(k, s, "uids", why);
	if (rc != RC_OK)
		return rc;
	n = (unsigned)config_setting_length(s);
	for (i = 0; i < n; i++) {
		if (!get_int(config_setting_get_elem(s, i), &v)) {
			(void)rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
			    "expected an integer uid");
			return refuse_entry(why, i);
		}
		if (v < 0 || v > CONF_UID_LIMIT) {
			(void)rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
			    "uid %lld is out of range, use 0 to %lld", v,
			    CONF_UID_LIMIT);
			return refuse_entry(why, i);
		}
		uids[i] = (uid_t)v;
	}
	memcpy(c->admin_uids, uids, n * sizeof(uids[0]));
	c->n_admin_uids = n;
	return RC_OK;
}

static enum rc
load_ids(struct conf *c, const struct conf_key *k, const config_setting_t *s,
    const char *path, struct rc_why *why)
{
	char		*ids[CONF_ADMIN_MAX] = { NULL };
	struct spiffeid	 id;
	const char	*v;
	unsigned	 i, n;
	enum rc		 rc = RC_BAD_REQUEST;

	(void)path;
	rc = check_list(k, s, "SPIFFE IDs", why);
	if (rc != RC_OK)
		goto out;
	n = (unsigned)config_setting_length(s);
	for (i = 0; i < n; i++) {
		v = config_setting_get_string(config_setting_get_elem(s, i));
		if (v == NULL) {
			(void)rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
			    "expected a SPIFFE ID string");
			rc = refuse_entry(why, i);
			goto out;
		}
		rc = check_admin_id(v, &id, why);
		if (rc != RC_OK) {
			rc = refuse_entry(why, i);
			goto out;
		}
		ids[i] = strdup(id.str);
		if (ids[i] == NULL) {
			rc = rc_why_set(why, RC_NOMEM, k->name, NULL,
			    "out of memory");
			goto out;
		}
	}

	/* The file's list replaces what c held. */
	for (i = 0; i < c->n_admin_ids; i++) {
		free(c->admin_ids[i]);
		c->admin_ids[i] = NULL;
	}
	memcpy(c->admin_ids, ids, n * sizeof(ids[0]));
	c->n_admin_ids = n;
	memset(ids, 0, sizeof(ids));
	rc = RC_OK;
out:
	for (i = 0; i < CONF_ADMIN_MAX; i++)
		free(ids[i]);
	return rc;
}

/* --- node_attestors --- */

/*
 * The nested groups below load their members through load_group() and
 * refuse through refuse_at(), both defined with the file reader below.
 */
static enum rc	 load_group(struct conf *c, const struct conf_key *keys,
		    size_t n, const config_setting_t *group, const char *path,
		    const char *prefix, struct rc_why *why);
static enum rc	 refuse_at(struct rc_why *why, const char *file,
		    unsigned line, const char *prefix, const char *key,
		    const char *field, const char *rule, const char *fmt, ...)
		    PRINTF_LIKE(8, 9);

/* Where setting s sits: its file (or path) and line. */
static const char *
setting_file(const config_setting_t *s, const char *path)
{
	const char *f = config_setting_source_file(s);

	return f != NULL ? f : path;
}

/*
 * The name of an issuer, or a claim whose value becomes part of an agent
 * ID: one SPIFFE ID path segment (SPIFFE-ID 2.2, checklist ID-10, ID-12).
 */
static enum rc
check_segment(const struct conf *c, const struct conf_key *k,
    struct rc_why *why)
{
	const char *v = field_of_const(c, k);

	if (!attest_is_segment(v, strlen(v)))
		return rc_why_set(why, RC_BAD_REQUEST, k->name, "ID-12",
		    "\"%s\" is not one SPIFFE ID path segment: use "
		    "A-Z a-z 0-9 . - _, not \".\" or \"..\" (SPIFFE-ID 2.2)",
		    v);
	return RC_OK;
}

/*
 * A claim name: printable, and without ':' because it goes into the
 * selector value "claim:<name>:<value>", where a colon would make two
 * claims read alike.
 */
static bool
is_claim_name(const char *v)
{
	size_t i;

	if (v[0] == '\0')
		return false;
	for (i = 0; v[i] != '\0'; i++)
		if (v[i] < 0x21 || v[i] > 0x7e || v[i] == ':')
			return false;
	return true;
}

static enum rc
check_claim(const struct conf *c, const struct conf_key *k,
    struct rc_why *why)
{
	const char *v = field_of_const(c, k);

	if (!is_claim_name(v))
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "\"%s\" is not a claim name: printable ASCII without "
		    "spaces or ':'", v);
	return RC_OK;
}

/* jwks_url: empty, or an https URL (the keys must come over TLS). */
static enum rc
check_https_url(const struct conf *c, const struct conf_key *k,
    struct rc_why *why)
{
	const char	*v = field_of_const(c, k);
	size_t		 i;

	if (v[0] == '\0')
		return RC_OK;
	if (strncmp(v, "https://", 8) != 0 || v[8] == '\0')
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "\"%s\" is not an https:// URL", v);
	for (i = 0; v[i] != '\0'; i++)
		if (v[i] < 0x21 || v[i] > 0x7e)
			return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
			    "byte 0x%02X at offset %zu does not belong in a "
			    "URL", (unsigned char)v[i], i);
	return RC_OK;
}

static enum rc
load_bool(struct conf *c, const struct conf_key *k, const config_setting_t *s,
    const char *path, struct rc_why *why)
{
	(void)path;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "expected true or false, got %s",
		    type_name(config_setting_type(s)));
	*(bool *)field_of(c, k) = config_setting_get_bool(s) != 0;
	return RC_OK;
}

/*
 * A list of at most max strings, each non-empty and shorter than width,
 * into the array at dst (max rows of width bytes); *n gets the count.
 * check, when not NULL, refuses a string.  The file's list replaces the
 * old one only when every element is good.
 */
static enum rc
load_strings(const struct conf_key *k, const config_setting_t *s, char *dst,
    size_t max, size_t width, size_t *n, bool (*check)(const char *),
    const char *what, struct rc_why *why)
{
	const char	*v;
	unsigned	 i, len;
	int		 type = config_setting_type(s);

	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "expected a list of %s, got %s", what, type_name(type));
	if ((size_t)config_setting_length(s) > max)
		return rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "%d entries, over the limit of %zu",
		    config_setting_length(s), max);
	len = (unsigned)config_setting_length(s);
	for (i = 0; i < len; i++) {
		v = config_setting_get_string(config_setting_get_elem(s, i));
		if (v == NULL || v[0] == '\0' || strlen(v) >= width ||
		    (check != NULL && !check(v))) {
			(void)rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
			    "expected %s, %s", what, v == NULL ?
			    "got another type" : v[0] == '\0' ?
			    "got an empty string" : strlen(v) >= width ?
			    "got one too long" : "got one that is not");
			return refuse_entry(why, i);
		}
	}
	for (i = 0; i < len; i++) {
		v = config_setting_get_string(config_setting_get_elem(s, i));
		memcpy(dst + (size_t)i * width, v, strlen(v) + 1);
	}
	*n = len;
	return RC_OK;
}

static enum rc
load_ca_files(struct conf *c, const struct conf_key *k,
    const config_setting_t *s, const char *path, struct rc_why *why)
{
	(void)path;
	return load_strings(k, s, &c->x509pop_ca_files[0][0],
	    CONF_CA_FILES_MAX, CONF_STR_MAX, &c->n_x509pop_ca_files, NULL,
	    "file names", why);
}

/* The issuer whose selector_claims the field of k is. */
static struct conf_jwt_issuer *
issuer_of(struct conf *c, const struct conf_key *k)
{
	return (struct conf_jwt_issuer *)(void *)((char *)field_of(c, k) -
	    offsetof(struct conf_jwt_issuer, selector_claims));
}

static enum rc
load_claims(struct conf *c, const struct conf_key *k,
    const config_setting_t *s, const char *path, struct rc_why *why)
{
	struct conf_jwt_issuer *iss = issuer_of(c, k);

	(void)path;
	return load_strings(k, s, &iss->selector_claims[0][0],
	    CONF_JWT_CLAIMS_MAX, CONF_NAME_MAX, &iss->n_selector_claims,
	    is_claim_name, "claim names (printable, no ':')", why);
}

#define ISTR(f, chk, empty)						\
	{ #f, load_str, (chk), offsetof(struct conf_jwt_issuer, f),	\
	    sizeof(((struct conf_jwt_issuer *)NULL)->f), 0, 0, false,	\
	    (empty), false }
#define INUM(f, lo, hi)							\
	{ #f, load_num, check_range, offsetof(struct conf_jwt_issuer, f), \
	    sizeof(((struct conf_jwt_issuer *)NULL)->f), (lo), (hi), false, \
	    false, false }

/*
 * The keys of one issuer of node_attestors.jwt.  Offsets are within
 * struct conf_jwt_issuer; load_jwt() moves them onto the issuer it
 * loads, so the loaders and checks above work unchanged.
 */
static const struct conf_key conf_jwt_keys[] = {
	ISTR(name, check_segment, false),
	ISTR(issuer, check_printable, false),
	ISTR(audience, check_printable, false),
	ISTR(jwks_file, check_set, false),
	ISTR(jwks_url, check_https_url, false),
	ISTR(jwks_ca_file, check_set, false),
	INUM(jwks_refresh, 1, CONF_JWKS_REFRESH_LIMIT),
	ISTR(node_claim, check_claim, false),
	{ "selector_claims", load_claims, NULL,
	    offsetof(struct conf_jwt_issuer, selector_claims), 0, 0, 0,
	    false, false, false },
	INUM(max_token_age, 1, CONF_TOKEN_AGE_LIMIT),
};

#undef ISTR
#undef INUM

#define CONF_JWT_NKEYS	(sizeof(conf_jwt_keys) / sizeof(conf_jwt_keys[0]))

static void
jwt_issuer_defaults(struct conf_jwt_issuer *iss)
{
	memset(iss, 0, sizeof(*iss));
	iss->jwks_refresh = 300;
	iss->max_token_age = 3600;
}

/*
 * What one issuer needs besides good values: a name, an issuer, an
 * audience and a node claim, and its keys from exactly one place.  The
 * node claim is required because the agent's ID is made of its value: an
 * issuer without one could not tell two nodes apart.  Names and issuers
 * are unique among issuers[0..i].  The reason (no prefix) goes to why.
 */
static enum rc
check_issuer(const struct conf *c, size_t i, struct rc_why *why)
{
	const struct conf_jwt_issuer	*iss = &c->jwt_issuers[i];
	size_t				 j;

	if (iss->name[0] == '\0')
		return rc_why_set(why, RC_BAD_REQUEST, "name", NULL,
		    "name: must be set: it goes into the agent IDs "
		    "(.../svidca/agent/jwt/<name>/...)");
	if (iss->issuer[0] == '\0')
		return rc_why_set(why, RC_BAD_REQUEST, "issuer", NULL,
		    "issuer: must be set to the \"iss\" of its tokens");
	if (iss->audience[0] == '\0')
		return rc_why_set(why, RC_BAD_REQUEST, "audience", NULL,
		    "audience: must be set to the \"aud\" naming this server");
	if (iss->node_claim[0] == '\0')
		return rc_why_set(why, RC_BAD_REQUEST, "node_claim", NULL,
		    "node_claim: must be set to the claim whose value names "
		    "the node (a path segment unique per node)");
	if ((iss->jwks_file[0] == '\0') == (iss->jwks_url[0] == '\0'))
		return rc_why_set(why, RC_BAD_REQUEST, "jwks_file", NULL,
		    "set exactly one of jwks_file and jwks_url");
	if (iss->jwks_ca_file[0] != '\0' && iss->jwks_url[0] == '\0')
		return rc_why_set(why, RC_BAD_REQUEST, "jwks_ca_file", NULL,
		    "jwks_ca_file: only goes with jwks_url");
	for (j = 0; j < i; j++) {
		if (strcmp(c->jwt_issuers[j].name, iss->name) == 0)
			return rc_why_set(why, RC_BAD_REQUEST, "name", NULL,
			    "name: \"%s\" is already the name of issuer %zu",
			    iss->name, j + 1);
		if (strcmp(c->jwt_issuers[j].issuer, iss->issuer) == 0)
			return rc_why_set(why, RC_BAD_REQUEST, "issuer", NULL,
			    "issuer: \"%s\" is already issuer %zu",
			    iss->issuer, j + 1);
	}
	return RC_OK;
}

/* Refuse setting s: "FILE:LINE: <prefix><key>: <reason in why>". */
static enum rc
refuse_setting(struct rc_why *why, const config_setting_t *s,
    const char *path, const char *prefix, const char *key)
{
	char		 reason[RC_DETAIL_MAX];
	const char	*field = why->field, *rule = why->rule;

	(void)snprintf(reason, sizeof(reason), "%s", why->detail);
	return refuse_at(why, setting_file(s, path),
	    config_setting_source_line(s), prefix, key, field, rule, "%s",
	    reason);
}

/*
 * node_attestors.jwt: a list of groups, one per issuer.  The list
 * replaces the issuers c held.
 */
static enum rc
load_jwt(struct conf *c, const struct conf_key *k, const config_setting_t *s,
    const char *path, struct rc_why *why)
{
	static const char	 prefix[] = "node_attestors.";
	struct conf_key		 keys[CONF_JWT_NKEYS];
	const config_setting_t	*e;
	char			 name[32], inner[64];
	size_t			 i, j, n, base;
	enum rc			 rc;

	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		(void)rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "expected a list of issuer groups ( { ... }, ... ), got "
		    "%s", type_name(config_setting_type(s)));
		return refuse_setting(why, s, path, prefix, k->name);
	}
	n = (size_t)config_setting_length(s);
	if (n > CONF_JWT_ISSUERS_MAX) {
		(void)rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
		    "%zu issuers, over the limit of %d", n,
		    CONF_JWT_ISSUERS_MAX);
		return refuse_setting(why, s, path, prefix, k->name);
	}

	c->n_jwt_issuers = 0;
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		(void)snprintf(name, sizeof(name), "jwt.%zu", i + 1);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			(void)rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
			    "expected a group { name = ...; ... }, got %s",
			    type_name(config_setting_type(e)));
			return refuse_setting(why, e, path, prefix, name);
		}
		jwt_issuer_defaults(&c->jwt_issuers[i]);
		base = offsetof(struct conf, jwt_issuers) +
		    i * sizeof(struct conf_jwt_issuer);
		memcpy(keys, conf_jwt_keys, sizeof(keys));
		for (j = 0; j < CONF_JWT_NKEYS; j++)
			keys[j].off += base;
		(void)snprintf(inner, sizeof(inner), "%s%s.", prefix, name);
		rc = load_group(c, keys, CONF_JWT_NKEYS, e, path, inner, why);
		if (rc != RC_OK)
			return rc;
		rc = check_issuer(c, i, why);
		if (rc != RC_OK)
			return refuse_setting(why, e, path, prefix, name);
		c->n_jwt_issuers = i + 1;
	}
	return RC_OK;
}

/* Is s a group?  If not, refuse it as "<prefix><key>". */
static enum rc
expect_group(const struct conf_key *k, const config_setting_t *s,
    const char *path, const char *prefix, struct rc_why *why)
{
	if (config_setting_type(s) == CONFIG_TYPE_GROUP)
		return RC_OK;
	(void)rc_why_set(why, RC_BAD_REQUEST, k->name, NULL,
	    "expected a group { ... }, got %s",
	    type_name(config_setting_type(s)));
	return refuse_setting(why, s, path, prefix, k->name);
}

static const struct conf_key conf_join_token_keys[] = {
	{ "enabled", load_bool, NULL, offsetof(struct conf,
	    join_token_enabled), 0, 0, 0, false, false, false },
};

static const struct conf_key conf_x509pop_keys[] = {
	{ "ca_files", load_ca_files, NULL, 0, 0, 0, 0, false, false, false },
};

static enum rc
load_join_token(struct conf *c, const struct conf_key *k,
    const config_setting_t *s, const char *path, struct rc_why *why)
{
	enum rc rc;

	rc = expect_group(k, s, path, "node_attestors.", why);
	if (rc != RC_OK)
		return rc;
	return load_group(c, conf_join_token_keys, 1, s, path,
	    "node_attestors.join_token.", why);
}

/* x509pop: a group with at least one CA file; the list replaces. */
static enum rc
load_x509pop(struct conf *c, const struct conf_key *k,
    const config_setting_t *s, const char *path, struct rc_why *why)
{
	enum rc rc;

	rc = expect_group(k, s, path, "node_attestors.", why);
	if (rc != RC_OK)
		return rc;
	c->n_x509pop_ca_files = 0;
	rc = load_group(c, conf_x509pop_keys, 1, s, path,
	    "node_attestors.x509pop.", why);
	if (rc != RC_OK)
		return rc;
	if (c->n_x509pop_ca_files == 0) {
		(void)rc_why_set(why, RC_BAD_REQUEST, "ca_files", NULL,
		    "ca_files: list at least one CA file, or leave x509pop "
		    "out");
		return refuse_setting(why, s, path, "node_attestors.",
		    k->name);
	}
	return RC_OK;
}

static const struct conf_key conf_attestor_keys[] = {
	{ "join_token", load_join_token, NULL, 0, 0, 0, 0, false, false,
	    true },
	{ "x509pop", load_x509pop, NULL, 0, 0, 0, 0, false, false, true },
	{ "jwt", load_jwt, NULL, 0, 0, 0, 0, false, false, true },
};

static enum rc
load_node_attestors(struct conf *c, const struct conf_key *k,
    const config_setting_t *s, const char *path, struct rc_why *why)
{
	enum rc rc;

	rc = expect_group(k, s, path, "", why);
	if (rc != RC_OK)
		return rc;
	return load_group(c, conf_attestor_keys, sizeof(conf_attestor_keys) /
	    sizeof(conf_attestor_keys[0]), s, path, "node_attestors.", why);
}

#define STR(f, chk, empty)						\
	{ #f, load_str, (chk), offsetof(struct conf, f),		\
	    sizeof(((struct conf *)NULL)->f), 0, 0, false, (empty), false }
#define NUM(f, lo, hi)							\
	{ #f, load_num, check_range, offsetof(struct conf, f),		\
	    sizeof(((struct conf *)NULL)->f), (lo), (hi), false, false, false }
#define UNUM(f, lo, hi)							\
	{ #f, load_num, check_range, offsetof(struct conf, f),		\
	    sizeof(((struct conf *)NULL)->f), (lo), (hi), true, false, false }

/*
 * The keys of the top level, in the order of deploy/svidca.conf.example.
 * kek_file and admin_socket may be "": conf_finish derives them.
 */
static const struct conf_key conf_keys[] = {
	STR(trust_domain, check_td, false),
	STR(data_dir, check_set, false),
	STR(kek_file, NULL, true),
	STR(listen, check_addr, false),
	STR(health_listen, check_addr, false),
	STR(admin_socket, NULL, true),
	STR(admin_socket_group, check_printable, true),
	{ "admin_uids", load_uids, NULL, 0, 0, 0, 0, false, false, false },
	{ "admin_ids", load_ids, check_admin_ids, 0, 0, 0, 0, false, false,
	    false },
	STR(organization, check_printable, false),
	STR(log_level, check_log_level, false),
	STR(ca_key_type, check_key_type, false),
	STR(jwt_key_type, check_key_type, false),
	NUM(ca_ttl, 1, CONF_TTL_LIMIT),
	NUM(x509_svid_ttl, 1, CONF_TTL_LIMIT),
	NUM(x509_svid_ttl_max, 1, CONF_TTL_LIMIT),
	NUM(jwt_svid_ttl, 1, CONF_TTL_LIMIT),
	NUM(jwt_svid_ttl_max, 1, CONF_TTL_LIMIT),
	NUM(agent_svid_ttl, 1, CONF_TTL_LIMIT),
	NUM(agent_svid_ttl_max, 1, CONF_TTL_LIMIT),
	NUM(refresh_hint, 1, CONF_TTL_LIMIT),
	NUM(max_body, CONF_BODY_MIN, CONF_BODY_LIMIT),
	UNUM(threads, 0, CONF_THREADS_LIMIT),
	NUM(audit_checkpoint_records, 1, CONF_CHECKPOINT_LIMIT),
	NUM(audit_checkpoint_interval, 1, CONF_TTL_LIMIT),
	NUM(prune_after, 0, CONF_TTL_LIMIT),
	{ "node_attestors", load_node_attestors, NULL, 0, 0, 0, 0, false,
	    false, true },
	NUM(attest_rate, 1, CONF_RATE_LIMIT),
	NUM(attest_burst, 1, CONF_RATE_LIMIT),
};

#undef STR
#undef NUM
#undef UNUM

#define CONF_NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

/* --- the file --- */

/*
 * Refuse at a place in the file: why->detail becomes
 * "FILE:LINE: KEY: <reason>", keeping the code, field and rule of the
 * reason already in why (or code RC_BAD_REQUEST if why had none).
 */
static enum rc
refuse_at(struct rc_why *why, const char *file, unsigned line,
    const char *prefix, const char *key, const char *field,
    const char *rule, const char *fmt, ...) PRINTF_LIKE(8, 9);

static enum rc
refuse_at(struct rc_why *why, const char *file, unsigned line,
    const char *prefix, const char *key, const char *field,
    const char *rule, const char *fmt, ...)
{
	char	 reason[RC_DETAIL_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return rc_why_set(why, RC_BAD_REQUEST, field, rule, "%s:%u: %s%s: %s",
	    file, line, prefix, key, reason);
}

static const struct conf_key *
find_key(const struct conf_key *keys, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/*
 * Load every member of a group (the root or a nested one) through the
 * key table keys[0..n).  prefix ("" or "federation.") goes before the key
 * names in messages.  Unknown keys are refused: a misspelt key silently
 * ignored would leave a default the operator meant to change.
 */
static enum rc
load_group(struct conf *c, const struct conf_key *keys, size_t n,
    const config_setting_t *group, const char *path, const char *prefix,
    struct rc_why *why)
{
	const config_setting_t	*s;
	const struct conf_key	*k;
	struct rc_why		 inner;
	const char		*file, *name;
	unsigned		 line;
	int			 i;
	enum rc			 rc;

	for (i = 0; i < config_setting_length(group); i++) {
		s = config_setting_get_elem(group, (unsigned)i);
		name = config_setting_name(s);
		file = config_setting_source_file(s);
		if (file == NULL)
			file = path;
		line = config_setting_source_line(s);

		k = find_key(keys, n, name);
		if (k == NULL)
			return refuse_at(why, file, line, prefix, name, NULL,
			    NULL, "unknown key");

		rc_why_clear(&inner);
		rc = k->load(c, k, s, path, &inner);
		if (rc != RC_OK && k->nested) {
			if (why != NULL)
				*why = inner;
			return rc;
		}
		if (rc == RC_OK && k->check != NULL)
			rc = k->check(c, k, &inner);
		if (rc == RC_NOMEM)
			return rc_why_set(why, rc, k->name, NULL, "%s",
			    inner.detail);
		if (rc != RC_OK)
			return refuse_at(why, file, line, prefix, k->name,
			    k->name, inner.rule, "%s", inner.detail);
	}
	return RC_OK;
}

/*
 * Read a libconfig file into c, over what it holds (lists replace).  The
 * file must be a regular file of at most CONF_FILE_MAX bytes.  RC_OK;
 * RC_BAD_REQUEST with why->detail "FILE:LINE: key: reason" for a syntax
 * error, unknown key, wrong type or bad value; RC_IO when the file cannot
 * be opened or read; RC_NOMEM.  On failure c may be partly updated but
 * stays consistent (conf_clear frees it).
 */
enum rc
conf_load_file(struct conf *c, const char *path, struct rc_why *why)
{
	config_t	 cfg;
	struct stat	 st;
	FILE		*f = NULL;
	int		 fd;
	enum rc		 rc = RC_BAD_REQUEST;

	config_init(&cfg);

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		rc = rc_why_set(why, RC_IO, NULL, NULL, "%s: cannot open: %s",
		    path, strerror(errno));
		goto out;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		rc = rc_why_set(why, RC_IO, NULL, NULL, "%s: %s", path,
		    strerror(errno));
		(void)close(fd);
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		rc = rc_why_set(why, RC_IO, NULL, NULL, "%s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = rc_why_set(why, RC_BAD_REQUEST, NULL, NULL,
		    "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > CONF_FILE_MAX) {
		rc = rc_why_set(why, RC_BAD_REQUEST, NULL, NULL,
		    "%s: %lld bytes, over the limit of %d", path,
		    (long long)st.st_size, CONF_FILE_MAX);
		goto out;
	}

	/*
	 * An @include'd file is read by libconfig itself and escapes the
	 * size ceiling; the config file is the operator's, so this only
	 * matters for a mistake, which the key checks still catch.
	 */
	if (config_read(&cfg, f) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO) {
			rc = rc_why_set(why, RC_IO, NULL, NULL,
			    "%s: cannot read", path);
			goto out;
		}
		rc = rc_why_set(why, RC_BAD_REQUEST, NULL, NULL, "%s:%d: %s",
		    config_error_file(&cfg) != NULL ? config_error_file(&cfg) :
		    path, config_error_line(&cfg), config_error_text(&cfg));
		goto out;
	}

	rc = load_group(c, conf_keys, CONF_NKEYS, config_root_setting(&cfg),
	    path, "", why);
	if (rc != RC_OK)
		goto out;

	rc = RC_OK;
out:
	if (f != NULL)
		(void)fclose(f);
	config_destroy(&cfg);
	return rc;
}

/* --- the whole --- */

/* Fill c with the embedded defaults; c must hold no admin_ids. */
void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	(void)snprintf(c->data_dir, sizeof(c->data_dir), "./data");
	(void)snprintf(c->listen, sizeof(c->listen), "0.0.0.0:8081");
	(void)snprintf(c->health_listen, sizeof(c->health_listen),
	    "127.0.0.1:8080");
	(void)snprintf(c->organization, sizeof(c->organization), "SPIFFE");
	(void)snprintf(c->log_level, sizeof(c->log_level), "info");
	(void)snprintf(c->ca_key_type, sizeof(c->ca_key_type), "ec-p256");
	(void)snprintf(c->jwt_key_type, sizeof(c->jwt_key_type), "ec-p256");
	c->ca_ttl = 86400;
	c->x509_svid_ttl = 3600;
	c->x509_svid_ttl_max = 86400;
	c->jwt_svid_ttl = 300;
	c->jwt_svid_ttl_max = 86400;
	c->agent_svid_ttl = 3600;
	c->agent_svid_ttl_max = 86400;
	c->refresh_hint = 300;
	c->max_body = HTTP_BODY_MAX;
	c->threads = 0;
	c->audit_checkpoint_records = 1000;
	c->audit_checkpoint_interval = 60;
	c->prune_after = 86400;
	c->join_token_enabled = true;
	c->attest_rate = 1;
	c->attest_burst = 1;
}

/* Free the admin_ids c owns; c can be filled again with conf_defaults. */
void
conf_clear(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->n_admin_ids; i++) {
		free(c->admin_ids[i]);
		c->admin_ids[i] = NULL;
	}
	c->n_admin_ids = 0;
}

/*
 * Split "host:port" or "[v6]:port".  The host (brackets removed) goes to
 * host when host is not NULL and it fits in len bytes; port to *port when
 * not NULL.  false for an empty host, a bad character, a port that is not
 * 1..65535 in decimal, or a host that does not fit.
 */
bool
conf_split_addr(const char *addr, char *host, size_t len,
    unsigned short *port)
{
	const char	*h, *p, *colon;
	size_t		 hlen, i;
	unsigned long	 v = 0;
	bool		 v6;

	v6 = addr[0] == '[';
	if (v6) {
		h = addr + 1;
		p = strchr(h, ']');
		if (p == NULL || p[1] != ':')
			return false;
		hlen = (size_t)(p - h);
		colon = p + 1;
	} else {
		h = addr;
		colon = strrchr(addr, ':');
		if (colon == NULL)
			return false;
		hlen = (size_t)(colon - h);
	}
	if (hlen == 0)
		return false;

	for (i = 0; i < hlen; i++) {
		unsigned char ch = (unsigned char)h[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-')
			continue;
		/* IPv6 inside brackets: colons, a zone after '%'. */
		if (v6 && (ch == ':' || ch == '%' || ch == '_'))
			continue;
		if (!v6 && ch == '_')
			continue;
		return false;
	}
	if (v6 && memchr(h, ':', hlen) == NULL)
		return false;

	p = colon + 1;
	if (p[0] == '\0' || strlen(p) > 5)
		return false;
	for (i = 0; p[i] != '\0'; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;

	if (host != NULL) {
		if (hlen >= len)
			return false;
		memcpy(host, h, hlen);
		host[hlen] = '\0';
	}
	if (port != NULL)
		*port = (unsigned short)v;
	return true;
}

/*
 * Collapse "//", "." and ".." in the absolute path p, in place.  Only
 * for parts of a path that do not exist, where no symlink can make ".."
 * mean anything but the parent.
 */
static void
normalise_path(char *p)
{
	char	*in = p, *out = p, *seg;
	size_t	 n;

	while (*in != '\0') {
		while (*in == '/')
			in++;
		seg = in;
		while (*in != '\0' && *in != '/')
			in++;
		n = (size_t)(in - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > p && *--out != '/')
				continue;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
}

/*
 * The absolute, symlink-free form of path, which need not exist: the
 * longest existing prefix goes through realpath(3), the rest is joined
 * and normalised.  RC_OK, RC_BAD_REQUEST (too long) or RC_IO with why.
 */
static enum rc
resolve_path(const char *key, const char *path, char *out, size_t len,
    struct rc_why *why)
{
	char	 abs[2 * PATH_MAX_SVIDCA], cwd[PATH_MAX_SVIDCA];
	char	*real = NULL, *cut;
	size_t	 tail;
	int	 n;
	enum rc	 rc = RC_IO;

	if (path[0] == '/')
		n = snprintf(abs, sizeof(abs), "%s", path);
	else if (getcwd(cwd, sizeof(cwd)) == NULL) {
		rc = rc_why_set(why, RC_IO, key, NULL,
		    "cannot read the working directory: %s", strerror(errno));
		goto out;
	} else
		n = snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
	if (n < 0 || (size_t)n >= sizeof(abs)) {
		rc = rc_why_set(why, RC_BAD_REQUEST, key, NULL,
		    "path too long");
		goto out;
	}

	/* Walk up to the longest prefix that exists. */
	tail = (size_t)n;
	for (;;) {
		char keep = abs[tail];

		abs[tail] = '\0';
		real = realpath(tail == 0 ? "/" : abs, NULL);
		abs[tail] = keep;
		if (real != NULL)
			break;
		if (errno != ENOENT && errno != ENOTDIR) {
			rc = rc_why_set(why, RC_IO, key, NULL,
			    "cannot resolve \"%.*s\": %s", (int)tail, abs,
			    strerror(errno));
			goto out;
		}
		cut = memrchr(abs, '/', tail);
		if (cut == NULL)
			cut = abs;
		tail = (size_t)(cut - abs);
	}

	n = snprintf(out, len, "%s/%s", real, abs + tail);
	if (n < 0 || (size_t)n >= len) {
		rc = rc_why_set(why, RC_BAD_REQUEST, key, NULL,
		    "path too long");
		goto out;
	}
	normalise_path(out);
	rc = RC_OK;
out:
	free(real);
	return rc;
}

/*
 * The key-encryption key must not sit inside the data directory: a copy
 * of the data dir (backup, volume snapshot) would then carry the sealed
 * CA keys together with the key that opens them.
 */
static enum rc
check_kek_outside(const struct conf *c, struct rc_why *why)
{
	char	 dir[2 * PATH_MAX_SVIDCA], kek[2 * PATH_MAX_SVIDCA];
	size_t	 n;
	enum rc	 rc;

	rc = resolve_path("data_dir", c->data_dir, dir, sizeof(dir), why);
	if (rc != RC_OK)
		return rc;
	rc = resolve_path("kek_file", c->kek_file, kek, sizeof(kek), why);
	if (rc != RC_OK)
		return rc;

	n = strlen(dir);
	if (strcmp(dir, "/") == 0 || (strncmp(kek, dir, n) == 0 &&
	    (kek[n] == '\0' || kek[n] == '/')))
		return rc_why_set(why, RC_BAD_REQUEST, "kek_file", NULL,
		    "kek_file: \"%s\" is inside data_dir \"%s\"; keep the key "
		    "that unseals the CA keys out of the directory that holds "
		    "them", kek, dir);
	return RC_OK;
}

/* Derive kek_file and admin_socket from data_dir when they are unset. */
static enum rc
derive_paths(struct conf *c, struct rc_why *why)
{
	size_t	 n;
	int	 r;

	/* data_dir without trailing slashes, but "/" stays "/". */
	n = strlen(c->data_dir);
	while (n > 1 && c->data_dir[n - 1] == '/')
		n--;

	if (c->kek_file[0] == '\0') {
		r = snprintf(c->kek_file, sizeof(c->kek_file), "%.*s.kek",
		    (int)n, c->data_dir);
		if (r < 0 || (size_t)r >= sizeof(c->kek_file))
			return rc_why_set(why, RC_BAD_REQUEST, "kek_file",
			    NULL, "kek_file: derived from data_dir, longer "
			    "than %zu bytes", sizeof(c->kek_file) - 1);
	}
	if (c->admin_socket[0] == '\0') {
		r = snprintf(c->admin_socket, sizeof(c->admin_socket),
		    "%.*s%sadmin.sock", (int)n, c->data_dir,
		    c->data_dir[n - 1] == '/' ? "" : "/");
		if (r < 0 || (size_t)r >= sizeof(c->admin_socket))
			return rc_why_set(why, RC_BAD_REQUEST, "admin_socket",
			    NULL, "admin_socket: derived from data_dir, "
			    "longer than %zu bytes",
			    sizeof(c->admin_socket) - 1);
	}
	return RC_OK;
}

/* A default TTL may not exceed its maximum. */
static enum rc
check_ttl_pair(long ttl, long max, const char *name, const char *max_name,
    struct rc_why *why)
{
	if (ttl > max)
		return rc_why_set(why, RC_BAD_REQUEST, name, NULL,
		    "%s: %ld is above %s %ld", name, ttl, max_name, max);
	return RC_OK;
}

/*
 * node_attestors as a whole, whatever set it: each issuer complete and
 * unique (check_issuer), and every file it names readable and usable
 * (attest_check_conf), so that a bad CA file or JWKS stops the start
 * rather than the first attestation.
 */
static enum rc
check_attestors(const struct conf *c, struct rc_why *why)
{
	struct rc_why	 inner;
	size_t		 i;
	enum rc		 rc;

	for (i = 0; i < c->n_jwt_issuers; i++) {
		rc_why_clear(&inner);
		rc = check_issuer(c, i, &inner);
		if (rc != RC_OK)
			return rc_why_set(why, rc, inner.field, inner.rule,
			    "node_attestors.jwt.%zu: %s", i + 1,
			    inner.detail);
	}
	return attest_check_conf(c, why);
}

/*
 * Fill the derived defaults and check the whole, whatever set it (file
 * or flags): each key's own check, default TTLs within their maxima, the
 * kek outside the data dir, the admin socket path short enough to bind,
 * the node attestors complete and their files usable.  RC_OK;
 * RC_BAD_REQUEST with why->detail "key: reason"; RC_IO when a path
 * cannot be resolved.
 */
enum rc
conf_finish(struct conf *c, struct rc_why *why)
{
	struct sockaddr_un	 sun;
	struct rc_why		 inner;
	const struct conf_key	*k;
	size_t			 i;
	enum rc			 rc = RC_BAD_REQUEST;

	if (c->data_dir[0] == '\0') {
		rc = rc_why_set(why, RC_BAD_REQUEST, "data_dir", NULL,
		    "data_dir: must be set");
		goto out;
	}
	rc = derive_paths(c, why);
	if (rc != RC_OK)
		goto out;

	/* Every key's own check, as when read from the file. */
	for (i = 0; i < CONF_NKEYS; i++) {
		k = &conf_keys[i];
		if (k->check == NULL)
			continue;
		rc_why_clear(&inner);
		rc = k->check(c, k, &inner);
		if (rc != RC_OK) {
			rc = rc_why_set(why, RC_BAD_REQUEST, k->name,
			    inner.rule, "%s: %s", k->name, inner.detail);
			goto out;
		}
	}

	rc = check_ttl_pair(c->x509_svid_ttl, c->x509_svid_ttl_max,
	    "x509_svid_ttl", "x509_svid_ttl_max", why);
	if (rc != RC_OK)
		goto out;
	rc = check_ttl_pair(c->jwt_svid_ttl, c->jwt_svid_ttl_max,
	    "jwt_svid_ttl", "jwt_svid_ttl_max", why);
	if (rc != RC_OK)
		goto out;
	rc = check_ttl_pair(c->agent_svid_ttl, c->agent_svid_ttl_max,
	    "agent_svid_ttl", "agent_svid_ttl_max", why);
	if (rc != RC_OK)
		goto out;

	rc = check_kek_outside(c, why);
	if (rc != RC_OK)
		goto out;

	rc = check_attestors(c, why);
	if (rc != RC_OK)
		goto out;

	/* bind(2) takes the path in sun_path, NUL included. */
	if (strlen(c->admin_socket) >= sizeof(sun.sun_path)) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "admin_socket", NULL,
		    "admin_socket: \"%.200s%s\" is %zu bytes, over the limit "
		    "of %zu for a Unix socket path", c->admin_socket,
		    strlen(c->admin_socket) > 200 ? "..." : "",
		    strlen(c->admin_socket), sizeof(sun.sun_path) - 1);
		goto out;
	}

	rc = RC_OK;
out:
	return rc;
}
