/*
 * cli_entry.c: "svidca entry create|update|delete|show|list|count", the
 * registration entry commands.  Each builds one REST request (or, for a
 * listing, one per page) for the /v1/entries routes, sends it to the
 * target of the target flags (cli.h) and prints the answer: readable
 * tables by default, the server's JSON with -o json.  The server judges
 * every value; this file checks only the syntax of the flags.
 *
 * Exit codes: CLI_EXIT_OK; CLI_EXIT_REFUSED when the server refused the
 * request or any item of a batch (the reasons printed on stderr);
 * CLI_EXIT_USAGE for bad flags or an unreadable --data file;
 * CLI_EXIT_UNREACHABLE when no server answered.
 */
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "bounds.h"

#define QUERY_MAX	(64 * 1024)	/* bytes of a path with its query */

enum {
	OPT_ID = 1,
	OPT_SPIFFE_ID,
	OPT_PARENT_ID,
	OPT_SELECTOR,
	OPT_X509_TTL,
	OPT_JWT_TTL,
	OPT_DNS_NAME,
	OPT_FEDERATES,
	OPT_ADMIN,
	OPT_DOWNSTREAM,
	OPT_STORE_SVID,
	OPT_HINT,
	OPT_EXPIRES_AT,
	OPT_DATA,
	OPT_MATCH,
	OPT_FED_MATCH,
	OPT_PAGE_SIZE,
	OPT_COUNT_			/* keep last: bits below fit 32 */
};

#define BIT(o)		(1u << (o))

/* The flags that set an entry's members (create and update). */
#define FIELD_FLAGS	(BIT(OPT_SPIFFE_ID) | BIT(OPT_PARENT_ID) |	\
			    BIT(OPT_SELECTOR) | BIT(OPT_X509_TTL) |	\
			    BIT(OPT_JWT_TTL) | BIT(OPT_DNS_NAME) |	\
			    BIT(OPT_FEDERATES) | BIT(OPT_ADMIN) |	\
			    BIT(OPT_DOWNSTREAM) | BIT(OPT_STORE_SVID) |	\
			    BIT(OPT_HINT) | BIT(OPT_EXPIRES_AT))
/* The flags that filter a listing or a count. */
#define FILTER_FLAGS	(BIT(OPT_SPIFFE_ID) | BIT(OPT_PARENT_ID) |	\
			    BIT(OPT_SELECTOR) | BIT(OPT_MATCH) |	\
			    BIT(OPT_FEDERATES) | BIT(OPT_FED_MATCH) |	\
			    BIT(OPT_HINT) | BIT(OPT_DOWNSTREAM))

static const struct option entry_opts[] = {
	{ "id", required_argument, NULL, OPT_ID },
	{ "spiffe-id", required_argument, NULL, OPT_SPIFFE_ID },
	{ "parent-id", required_argument, NULL, OPT_PARENT_ID },
	{ "selector", required_argument, NULL, OPT_SELECTOR },
	{ "x509-svid-ttl", required_argument, NULL, OPT_X509_TTL },
	{ "jwt-svid-ttl", required_argument, NULL, OPT_JWT_TTL },
	{ "dns-name", required_argument, NULL, OPT_DNS_NAME },
	{ "federates-with", required_argument, NULL, OPT_FEDERATES },
	{ "admin", optional_argument, NULL, OPT_ADMIN },
	{ "downstream", optional_argument, NULL, OPT_DOWNSTREAM },
	{ "store-svid", optional_argument, NULL, OPT_STORE_SVID },
	{ "hint", required_argument, NULL, OPT_HINT },
	{ "expires-at", required_argument, NULL, OPT_EXPIRES_AT },
	{ "data", required_argument, NULL, OPT_DATA },
	{ "match", required_argument, NULL, OPT_MATCH },
	{ "selectors-match", required_argument, NULL, OPT_MATCH },
	{ "federates-with-match", required_argument, NULL, OPT_FED_MATCH },
	{ "page-size", required_argument, NULL, OPT_PAGE_SIZE },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	CLI_TARGET_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* The flags of one entry command. */
struct entry_args {
	struct cli_target target;	/* where to send it */
	unsigned	 given;		/* BIT(OPT_) of each flag seen */
	const char	*spiffe_id;	/* --spiffe-id */
	const char	*parent_id;	/* --parent-id */
	const char	*hint;		/* --hint */
	const char	*data;		/* --data FILE */
	const char	*match;		/* --match */
	const char	*fed_match;	/* --federates-with-match */
	const char	**ids;		/* --id, in order (argc slots) */
	size_t		 n_ids;
	const char	**selectors;	/* --selector type:value */
	size_t		 n_selectors;
	const char	**dns;		/* --dns-name */
	size_t		 n_dns;
	const char	**feds;		/* --federates-with */
	size_t		 n_feds;
	long long	 x509_ttl;	/* --x509-svid-ttl, seconds */
	long long	 jwt_ttl;	/* --jwt-svid-ttl, seconds */
	long long	 expires_at;	/* --expires-at, Unix seconds */
	long long	 page_size;	/* --page-size, 0 = server default */
	bool		 admin;		/* --admin[=true|false] */
	bool		 downstream;	/* --downstream[=true|false] */
	bool		 store_svid;	/* --store-svid[=true|false] */
	bool		 json;		/* -o json */
};

static const char entry_usage[] =
    "usage: svidca entry create (--data FILE | --spiffe-id ID --parent-id ID\n"
    "           --selector TYPE:VALUE... [--id ID] [FIELD FLAGS])\n"
    "       svidca entry update --id ID [FIELD FLAGS]\n"
    "       svidca entry delete --id ID [--id ID]...\n"
    "       svidca entry show (--id ID | [FILTERS])\n"
    "       svidca entry list [FILTERS] [--page-size N]\n"
    "       svidca entry count [FILTERS]\n"
    "  field flags: --spiffe-id ID --parent-id ID --selector TYPE:VALUE...\n"
    "       --x509-svid-ttl S --jwt-svid-ttl S --dns-name NAME...\n"
    "       --federates-with TD... --admin[=BOOL] --downstream[=BOOL]\n"
    "       --store-svid[=BOOL] --hint TEXT --expires-at UNIX-SECONDS\n"
    "  filters: --spiffe-id ID --parent-id ID --selector TYPE:VALUE...\n"
    "       --match exact|subset|superset|any --federates-with TD...\n"
    "       --federates-with-match MODE --hint TEXT --downstream[=BOOL]\n"
    "  every command: [-o table|json] [--socket PATH | --data-dir DIR |\n"
    "       --server https://HOST:PORT --cert FILE --key FILE "
    "--trust-bundle FILE]\n";

/* ------------------------------------------------------------------ */
/* Flags                                                                */

/* A decimal integer, the whole of s; false if it is not one. */
static bool
parse_integer(const char *s, long long *out)
{
	char *end = NULL;
	long long v;

	if (s == NULL || s[0] == '\0')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == NULL || *end != '\0')
		return false;
	*out = v;
	return true;
}

/* An optional boolean flag value: absent or "true" is true. */
static bool
parse_bool(const char *s, bool *out)
{
	if (s == NULL || strcmp(s, "true") == 0) {
		*out = true;
		return true;
	}
	if (strcmp(s, "false") == 0) {
		*out = false;
		return true;
	}
	return false;
}

static bool
is_match_mode(const char *s)
{
	return strcmp(s, "exact") == 0 || strcmp(s, "subset") == 0 ||
	    strcmp(s, "superset") == 0 || strcmp(s, "any") == 0;
}

/* One flag into a; false (reason printed) for a bad value. */
static bool
take_flag(struct entry_args *a, int opt, const char *arg)
{
	bool ok = true;

	switch (opt) {
	case OPT_ID:
		a->ids[a->n_ids++] = arg;
		break;
	case OPT_SPIFFE_ID:
		a->spiffe_id = arg;
		break;
	case OPT_PARENT_ID:
		a->parent_id = arg;
		break;
	case OPT_SELECTOR:
		ok = strchr(arg, ':') != NULL && arg[0] != ':';
		a->selectors[a->n_selectors++] = arg;
		break;
	case OPT_X509_TTL:
		ok = parse_integer(arg, &a->x509_ttl);
		break;
	case OPT_JWT_TTL:
		ok = parse_integer(arg, &a->jwt_ttl);
		break;
	case OPT_DNS_NAME:
		a->dns[a->n_dns++] = arg;
		break;
	case OPT_FEDERATES:
		a->feds[a->n_feds++] = arg;
		break;
	case OPT_ADMIN:
		ok = parse_bool(arg, &a->admin);
		break;
	case OPT_DOWNSTREAM:
		ok = parse_bool(arg, &a->downstream);
		break;
	case OPT_STORE_SVID:
		ok = parse_bool(arg, &a->store_svid);
		break;
	case OPT_HINT:
		a->hint = arg;
		break;
	case OPT_EXPIRES_AT:
		ok = parse_integer(arg, &a->expires_at);
		break;
	case OPT_DATA:
		a->data = arg;
		break;
	case OPT_MATCH:
		ok = is_match_mode(arg);
		a->match = arg;
		break;
	case OPT_FED_MATCH:
		ok = is_match_mode(arg);
		a->fed_match = arg;
		break;
	case OPT_PAGE_SIZE:
		ok = parse_integer(arg, &a->page_size) && a->page_size >= 1 &&
		    a->page_size <= PAGE_SIZE_MAX;
		break;
	default:
		ok = false;
		break;
	}
	a->given |= BIT(opt);
	return ok;
}

/*
 * Read the flags after the command word into a.  Returns -1 to go on, or
 * the exit code to return at once.  Only the flags in allowed (BIT(OPT_)
 * bits; the target flags, -o and -h always) are accepted.  The caller
 * frees the lists with args_clear().
 */
static int
parse_args(int argc, char **argv, unsigned allowed, struct entry_args *a)
{
	size_t slots = (size_t)argc + 1;
	int opt;

	memset(a, 0, sizeof(*a));
	a->ids = calloc(slots, sizeof(*a->ids));
	a->selectors = calloc(slots, sizeof(*a->selectors));
	a->dns = calloc(slots, sizeof(*a->dns));
	a->feds = calloc(slots, sizeof(*a->feds));
	if (a->ids == NULL || a->selectors == NULL || a->dns == NULL ||
	    a->feds == NULL) {
		fprintf(stderr, "svidca: out of memory\n");
		return CLI_EXIT_REFUSED;
	}
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", entry_opts, NULL)) !=
	    -1) {
		if (cli_target_take(&a->target, opt, optarg))
			continue;
		if (opt == 'h') {
			fputs(entry_usage, stdout);
			return CLI_EXIT_OK;
		}
		if (opt == 'o' && (strcmp(optarg, "json") == 0 ||
		    strcmp(optarg, "table") == 0)) {
			a->json = strcmp(optarg, "json") == 0;
			continue;
		}
		if (opt > 0 && opt < OPT_COUNT_ && (allowed & BIT(opt)) != 0 &&
		    take_flag(a, opt, optarg))
			continue;
		fprintf(stderr, "svidca: entry %s: bad, incomplete or "
		    "misplaced option %s\n", argv[0], argv[optind - 1]);
		fputs(entry_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if (optind != argc) {
		fprintf(stderr, "svidca: entry %s: unexpected argument %s\n",
		    argv[0], argv[optind]);
		return CLI_EXIT_USAGE;
	}
	return -1;
}

static void
args_clear(struct entry_args *a)
{
	free(a->ids);
	free(a->selectors);
	free(a->dns);
	free(a->feds);
}

/* ------------------------------------------------------------------ */
/* Requests                                                             */

/* The exit code for a cli_send() that got no answer. */
static int
exit_for_send(enum rc rc)
{
	if (rc == RC_BAD_REQUEST)
		return CLI_EXIT_USAGE;
	if (rc != RC_IO)
		fprintf(stderr, "svidca: request failed: %s\n", rc_str(rc));
	return CLI_EXIT_UNREACHABLE;
}

/*
 * Send one request and parse a 2xx answer's JSON into *out (NULL for an
 * empty body).  Returns an exit code; a refusal is printed.
 */
static int
send_json(const struct entry_args *a, const char *method, const char *path,
    const char *body, json_t **out)
{
	json_error_t err;
	char *resp = NULL;
	long status = 0;
	enum rc rc;
	int ret;

	*out = NULL;
	rc = cli_send(&a->target, method, path, body, &status, &resp);
	if (rc != RC_OK)
		return exit_for_send(rc);
	ret = cli_exit_for(status, resp);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (resp[0] == '\0')
		goto out;
	*out = json_loads(resp, 0, &err);
	if (*out == NULL) {
		fprintf(stderr, "svidca: the server's answer is not JSON: "
		    "%s\n", err.text);
		ret = CLI_EXIT_REFUSED;
	}
out:
	free(resp);
	return ret;
}

/* A growing path-with-query, at most QUERY_MAX bytes. */
struct query {
	char	 buf[QUERY_MAX];
	size_t	 len;
	bool	 overflow;
	CURL	*curl;		/* for curl_easy_escape */
};

static void
query_add_raw(struct query *q, const char *s)
{
	size_t n = strlen(s);

	if (q->overflow || n >= sizeof(q->buf) - q->len) {
		q->overflow = true;
		return;
	}
	memcpy(q->buf + q->len, s, n + 1);
	q->len += n;
}

/* Append "?name=value" or "&name=value", the value percent-encoded. */
static void
query_add(struct query *q, const char *name, const char *value)
{
	char *esc;

	esc = q->curl == NULL ? NULL : curl_easy_escape(q->curl, value, 0);
	if (esc == NULL) {
		q->overflow = true;
		return;
	}
	query_add_raw(q, strchr(q->buf, '?') == NULL ? "?" : "&");
	query_add_raw(q, name);
	query_add_raw(q, "=");
	query_add_raw(q, esc);
	curl_free(esc);
}

/* Start q at path and add the filter flags of a. */
static bool
query_filters(struct query *q, const char *path, const struct entry_args *a)
{
	size_t i;

	memset(q, 0, sizeof(*q));
	q->curl = curl_easy_init();
	query_add_raw(q, path);
	if (a->spiffe_id != NULL)
		query_add(q, "spiffe_id", a->spiffe_id);
	if (a->parent_id != NULL)
		query_add(q, "parent_id", a->parent_id);
	for (i = 0; i < a->n_selectors; i++)
		query_add(q, "selectors", a->selectors[i]);
	if (a->match != NULL)
		query_add(q, "selectors_match", a->match);
	for (i = 0; i < a->n_feds; i++)
		query_add(q, "federates_with", a->feds[i]);
	if (a->fed_match != NULL)
		query_add(q, "federates_with_match", a->fed_match);
	if (a->hint != NULL)
		query_add(q, "hint", a->hint);
	if ((a->given & BIT(OPT_DOWNSTREAM)) != 0)
		query_add(q, "downstream", a->downstream ? "true" : "false");
	if (q->overflow)
		fprintf(stderr, "svidca: the filters make a request over %d "
		    "bytes\n", QUERY_MAX);
	return !q->overflow;
}

static void
query_clear(struct query *q)
{
	curl_easy_cleanup(q->curl);
	q->curl = NULL;
}

/* ------------------------------------------------------------------ */
/* Printing                                                             */

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s == NULL ? "" : s;
}

static long long
jint(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* Unix seconds as RFC 3339 UTC into buf; "never" for 0. */
static const char *
format_time(long long t, const char *zero, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0)
		return zero;
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, len, "%lld", t);
	return buf;
}

static void
print_ttl(const char *label, long long ttl)
{
	if (ttl == 0)
		printf("%-16s: default\n", label);
	else
		printf("%-16s: %lld s\n", label, ttl);
}

/* One entry as a two-column table, every member on its line. */
static void
print_entry_block(const json_t *e)
{
	const json_t *v;
	char when[64];
	size_t i;

	printf("%-16s: %s\n", "Entry ID", jstr(e, "id"));
	printf("%-16s: %s\n", "SPIFFE ID", jstr(e, "spiffe_id"));
	printf("%-16s: %s\n", "Parent ID", jstr(e, "parent_id"));
	printf("%-16s: %lld\n", "Revision", jint(e, "revision_number"));
	print_ttl("X509-SVID TTL", jint(e, "x509_svid_ttl"));
	print_ttl("JWT-SVID TTL", jint(e, "jwt_svid_ttl"));
	json_array_foreach(json_object_get(e, "selectors"), i, v)
		printf("%-16s: %s:%s\n", "Selector", jstr(v, "type"),
		    jstr(v, "value"));
	json_array_foreach(json_object_get(e, "dns_names"), i, v)
		printf("%-16s: %s\n", "DNS name", json_string_value(v));
	json_array_foreach(json_object_get(e, "federates_with"), i, v)
		printf("%-16s: %s\n", "Federates with", json_string_value(v));
	printf("%-16s: %s\n", "Admin",
	    json_is_true(json_object_get(e, "admin")) ? "true" : "false");
	printf("%-16s: %s\n", "Downstream",
	    json_is_true(json_object_get(e, "downstream")) ? "true" :
	    "false");
	printf("%-16s: %s\n", "Store SVID",
	    json_is_true(json_object_get(e, "store_svid")) ? "true" :
	    "false");
	printf("%-16s: %s\n", "Expires at", format_time(jint(e, "expires_at"),
	    "never", when, sizeof(when)));
	if (jstr(e, "hint")[0] != '\0')
		printf("%-16s: %s\n", "Hint", jstr(e, "hint"));
	printf("%-16s: %s by %s\n", "Created", format_time(jint(e,
	    "created_at"), "-", when, sizeof(when)),
	    jstr(e, "created_by")[0] == '\0' ? "-" : jstr(e, "created_by"));
}

/* The selectors of e as "type:value,type:value". */
static void
print_selectors(const json_t *e)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(e, "selectors"), i, v)
		printf("%s%s:%s", i == 0 ? "" : ",", jstr(v, "type"),
		    jstr(v, "value"));
}

/* Column widths of a listing, from its first page. */
struct widths {
	int	 id;
	int	 spiffe_id;
	int	 parent_id;
};

static void
widths_measure(struct widths *w, const json_t *list)
{
	const json_t *e;
	size_t i, n;

	w->id = (int)strlen("ENTRY ID");
	w->spiffe_id = (int)strlen("SPIFFE ID");
	w->parent_id = (int)strlen("PARENT ID");
	json_array_foreach(list, i, e) {
		n = strlen(jstr(e, "id"));
		if (n > (size_t)w->id && n < 256)
			w->id = (int)n;
		n = strlen(jstr(e, "spiffe_id"));
		if (n > (size_t)w->spiffe_id && n < 256)
			w->spiffe_id = (int)n;
		n = strlen(jstr(e, "parent_id"));
		if (n > (size_t)w->parent_id && n < 256)
			w->parent_id = (int)n;
	}
}

static void
print_table_rows(const struct widths *w, const json_t *list)
{
	const json_t *e;
	size_t i;

	json_array_foreach(list, i, e) {
		printf("%-*s  %-*s  %-*s  ", w->id, jstr(e, "id"),
		    w->spiffe_id, jstr(e, "spiffe_id"), w->parent_id,
		    jstr(e, "parent_id"));
		print_selectors(e);
		putchar('\n');
	}
}

/* ------------------------------------------------------------------ */
/* Commands                                                             */

/* Add the field flags of a to the entry object o. */
static bool
entry_add_fields(json_t *o, const struct entry_args *a)
{
	json_t *list;
	const char *colon;
	size_t i;
	int bad = 0;

	if (a->n_ids > 0)
		bad |= json_object_set_new(o, "id", json_string(a->ids[0]));
	if (a->spiffe_id != NULL)
		bad |= json_object_set_new(o, "spiffe_id",
		    json_string(a->spiffe_id));
	if (a->parent_id != NULL)
		bad |= json_object_set_new(o, "parent_id",
		    json_string(a->parent_id));
	if (a->n_selectors > 0) {
		list = json_array();
		bad |= json_object_set_new(o, "selectors", list);
		for (i = 0; i < a->n_selectors; i++) {
			colon = strchr(a->selectors[i], ':');
			bad |= json_array_append_new(list, json_pack(
			    "{s:s%, s:s}", "type", a->selectors[i],
			    (size_t)(colon - a->selectors[i]), "value",
			    colon + 1));
		}
	}
	if ((a->given & BIT(OPT_X509_TTL)) != 0)
		bad |= json_object_set_new(o, "x509_svid_ttl",
		    json_integer(a->x509_ttl));
	if ((a->given & BIT(OPT_JWT_TTL)) != 0)
		bad |= json_object_set_new(o, "jwt_svid_ttl",
		    json_integer(a->jwt_ttl));
	if (a->n_dns > 0) {
		list = json_array();
		bad |= json_object_set_new(o, "dns_names", list);
		for (i = 0; i < a->n_dns; i++)
			bad |= json_array_append_new(list,
			    json_string(a->dns[i]));
	}
	if (a->n_feds > 0) {
		list = json_array();
		bad |= json_object_set_new(o, "federates_with", list);
		for (i = 0; i < a->n_feds; i++)
			bad |= json_array_append_new(list,
			    json_string(a->feds[i]));
	}
	if ((a->given & BIT(OPT_ADMIN)) != 0)
		bad |= json_object_set_new(o, "admin",
		    json_boolean(a->admin));
	if ((a->given & BIT(OPT_DOWNSTREAM)) != 0)
		bad |= json_object_set_new(o, "downstream",
		    json_boolean(a->downstream));
	if ((a->given & BIT(OPT_STORE_SVID)) != 0)
		bad |= json_object_set_new(o, "store_svid",
		    json_boolean(a->store_svid));
	if (a->hint != NULL)
		bad |= json_object_set_new(o, "hint", json_string(a->hint));
	if ((a->given & BIT(OPT_EXPIRES_AT)) != 0)
		bad |= json_object_set_new(o, "expires_at",
		    json_integer(a->expires_at));
	return bad == 0;
}

/* The whole of a --data file, NUL-terminated (*out, caller frees). */
static bool
read_data(const char *path, char **out)
{
	struct stat st;
	FILE *f;
	char *buf = NULL;
	size_t n;
	bool ok = false;

	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "svidca: --data %s: %s\n", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CLI_FILE_MAX) {
		fprintf(stderr, "svidca: --data %s: not a regular file of at "
		    "most %d bytes\n", path, CLI_FILE_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto out;
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f) != 0) {
		fprintf(stderr, "svidca: --data %s: read error\n", path);
		goto out;
	}
	buf[n] = '\0';

	*out = buf;
	buf = NULL;
	ok = true;
out:
	free(buf);
	if (f != NULL)
		(void)fclose(f);
	return ok;
}

/*
 * Print the results of a batch (create or delete) and count refusals:
 * each refused item on stderr with its position, code and message.
 */
static size_t
print_results(const json_t *doc, bool json, bool create)
{
	const json_t *results, *r, *st, *e;
	size_t i, refused = 0;
	long long code;

	results = json_object_get(doc, "results");
	json_array_foreach(results, i, r) {
		st = json_object_get(r, "status");
		code = jint(st, "code");
		if (code != 200) {
			refused++;
			fprintf(stderr, "svidca: item %zu refused (%lld): %s\n",
			    i, code, jstr(st, "message"));
			continue;
		}
		if (json)
			continue;
		e = json_object_get(r, "entry");
		if (create && json_array_size(results) == 1) {
			print_entry_block(e);
			continue;
		}
		if (create)
			printf("created  %s  %s\n", jstr(e, "id"),
			    jstr(e, "spiffe_id"));
		else
			printf("deleted  %s\n", jstr(r, "id"));
	}
	if (json)
		(void)json_dumpf(doc, stdout, JSON_INDENT(2));
	if (json)
		putchar('\n');
	if (refused > 0)
		fprintf(stderr, "svidca: %zu of %zu refused\n", refused,
		    json_array_size(results));
	return refused;
}

/* "entry create": one entry from the flags, or a batch from --data. */
static int
cmd_create(struct entry_args *a)
{
	json_t *doc = NULL, *o = NULL, *out = NULL;
	char *body = NULL;
	int ret = CLI_EXIT_USAGE;

	if (a->data != NULL) {
		if ((a->given & FIELD_FLAGS) != 0 || a->n_ids > 0) {
			fprintf(stderr, "svidca: entry create: --data takes "
			    "no field flags\n");
			goto out;
		}
		if (!read_data(a->data, &body))
			goto out;
	} else {
		if (a->spiffe_id == NULL || a->parent_id == NULL ||
		    a->n_selectors == 0 || a->n_ids > 1) {
			fprintf(stderr, "svidca: entry create needs "
			    "--spiffe-id, --parent-id and --selector (or "
			    "--data), and at most one --id\n");
			goto out;
		}
		ret = CLI_EXIT_REFUSED;
		o = json_object();
		doc = json_pack("{s:[O]}", "entries", o);
		if (o == NULL || doc == NULL || !entry_add_fields(o, a))
			goto out;
		body = json_dumps(doc, JSON_COMPACT);
		if (body == NULL)
			goto out;
	}

	ret = send_json(a, "POST", "/v1/entries", body, &out);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (print_results(out, a->json, true) > 0)
		ret = CLI_EXIT_REFUSED;
out:
	json_decref(out);
	json_decref(doc);
	json_decref(o);
	free(body);
	return ret;
}

/* "entry update": PATCH the members the flags name. */
static int
cmd_update(struct entry_args *a)
{
	json_t *o = NULL, *out = NULL;
	char *body = NULL, path[128];
	int ret = CLI_EXIT_USAGE;

	if (a->n_ids != 1 || (a->given & FIELD_FLAGS) == 0) {
		fprintf(stderr, "svidca: entry update needs one --id and at "
		    "least one field flag\n");
		goto out;
	}
	if (strlen(a->ids[0]) > 64 || strchr(a->ids[0], '/') != NULL) {
		fprintf(stderr, "svidca: entry update: %s is not an entry "
		    "ID\n", a->ids[0]);
		goto out;
	}
	(void)snprintf(path, sizeof(path), "/v1/entries/%s", a->ids[0]);
	a->n_ids = 0;	/* the ID goes in the path, not the body */
	ret = CLI_EXIT_REFUSED;
	o = json_object();
	if (o == NULL || !entry_add_fields(o, a))
		goto out;
	body = json_dumps(o, JSON_COMPACT);
	if (body == NULL)
		goto out;

	ret = send_json(a, "PATCH", path, body, &out);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (a->json) {
		(void)json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
	} else
		print_entry_block(out);
out:
	json_decref(out);
	json_decref(o);
	free(body);
	return ret;
}

/* "entry delete": one batch delete of every --id. */
static int
cmd_delete(struct entry_args *a)
{
	json_t *doc = NULL, *ids, *out = NULL;
	char *body = NULL;
	size_t i;
	int ret = CLI_EXIT_USAGE;

	if (a->n_ids == 0) {
		fprintf(stderr, "svidca: entry delete needs --id\n");
		goto out;
	}
	ret = CLI_EXIT_REFUSED;
	ids = json_array();
	doc = json_pack("{s:o}", "ids", ids);
	if (ids == NULL || doc == NULL)
		goto out;
	for (i = 0; i < a->n_ids; i++)
		if (json_array_append_new(ids, json_string(a->ids[i])) != 0)
			goto out;
	body = json_dumps(doc, JSON_COMPACT);
	if (body == NULL)
		goto out;

	ret = send_json(a, "POST", "/v1/entries/batch-delete", body, &out);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (print_results(out, a->json, false) > 0)
		ret = CLI_EXIT_REFUSED;
out:
	json_decref(out);
	json_decref(doc);
	free(body);
	return ret;
}

/* "entry show --id ID": one entry, in full. */
static int
cmd_show_one(struct entry_args *a)
{
	json_t *out = NULL;
	char path[128];
	int ret;

	if (strlen(a->ids[0]) > 64 || strchr(a->ids[0], '/') != NULL ||
	    strchr(a->ids[0], '?') != NULL) {
		fprintf(stderr, "svidca: entry show: %s is not an entry ID\n",
		    a->ids[0]);
		return CLI_EXIT_USAGE;
	}
	(void)snprintf(path, sizeof(path), "/v1/entries/%s", a->ids[0]);
	ret = send_json(a, "GET", path, NULL, &out);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (a->json) {
		(void)json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
	} else
		print_entry_block(out);
out:
	json_decref(out);
	return ret;
}

/*
 * "entry list" (and "entry show" with filters): every page, in ID order.
 * The table's widths come from the first page; -o json streams one
 * {"entries": [...]} document without holding every page.
 */
static int
cmd_list(struct entry_args *a)
{
	struct query q;
	struct widths w;
	json_t *out = NULL, *list, *e;
	const char *next;
	char token[1024], size[32];
	size_t i, total = 0;
	int ret = CLI_EXIT_USAGE;

	token[0] = '\0';
	if (a->n_ids > 0) {
		fprintf(stderr, "svidca: entry list takes no --id\n");
		return CLI_EXIT_USAGE;
	}
	if (a->json)
		fputs("{\"entries\": [", stdout);
	for (;;) {
		if (!query_filters(&q, "/v1/entries", a))
			goto out;
		if (a->page_size > 0) {
			(void)snprintf(size, sizeof(size), "%lld",
			    a->page_size);
			query_add(&q, "page_size", size);
		}
		if (token[0] != '\0')
			query_add(&q, "page_token", token);
		if (q.overflow) {
			query_clear(&q);
			goto out;
		}
		ret = send_json(a, "GET", q.buf, NULL, &out);
		query_clear(&q);
		if (ret != CLI_EXIT_OK)
			goto out;

		list = json_object_get(out, "entries");
		if (a->json) {
			json_array_foreach(list, i, e) {
				fputs(total + i == 0 ? "\n" : ",\n", stdout);
				(void)json_dumpf(e, stdout, JSON_COMPACT);
			}
		} else {
			if (total == 0) {
				widths_measure(&w, list);
				printf("%-*s  %-*s  %-*s  SELECTORS\n", w.id,
				    "ENTRY ID", w.spiffe_id, "SPIFFE ID",
				    w.parent_id, "PARENT ID");
			}
			print_table_rows(&w, list);
		}
		total += json_array_size(list);

		next = json_string_value(json_object_get(out,
		    "next_page_token"));
		if (next == NULL || next[0] == '\0' ||
		    strlen(next) >= sizeof(token))
			break;
		(void)snprintf(token, sizeof(token), "%s", next);
		json_decref(out);
		out = NULL;
	}
	if (a->json)
		fputs("\n]}\n", stdout);
	else
		printf("%zu entr%s\n", total, total == 1 ? "y" : "ies");
	ret = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
out:
	json_decref(out);
	return ret;
}

/* "entry count": the number of entries matching the filters. */
static int
cmd_count(struct entry_args *a)
{
	struct query q;
	json_t *out = NULL;
	int ret = CLI_EXIT_USAGE;

	if (!query_filters(&q, "/v1/entries/count", a)) {
		query_clear(&q);
		return ret;
	}
	ret = send_json(a, "GET", q.buf, NULL, &out);
	query_clear(&q);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (a->json)
		printf("{\"count\": %lld}\n", jint(out, "count"));
	else
		printf("%lld\n", jint(out, "count"));
	ret = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
out:
	json_decref(out);
	return ret;
}

/*
 * "svidca entry WORD [flags]": argv[0] is the command word.  Returns a
 * CLI_EXIT_ code; see the top of this file.
 */
int
cli_entry(int argc, char **argv)
{
	struct entry_args a;
	unsigned allowed;
	const char *word;
	int ret;

	if (argc < 1 || strcmp(argv[0], "-h") == 0 ||
	    strcmp(argv[0], "--help") == 0) {
		fputs(entry_usage, argc < 1 ? stderr : stdout);
		return argc < 1 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	word = argv[0];
	if (strcmp(word, "create") == 0)
		allowed = FIELD_FLAGS | BIT(OPT_ID) | BIT(OPT_DATA);
	else if (strcmp(word, "update") == 0)
		allowed = FIELD_FLAGS | BIT(OPT_ID);
	else if (strcmp(word, "delete") == 0)
		allowed = BIT(OPT_ID);
	else if (strcmp(word, "show") == 0)
		allowed = FILTER_FLAGS | BIT(OPT_ID) | BIT(OPT_PAGE_SIZE);
	else if (strcmp(word, "list") == 0)
		allowed = FILTER_FLAGS | BIT(OPT_PAGE_SIZE);
	else if (strcmp(word, "count") == 0)
		allowed = FILTER_FLAGS;
	else {
		fprintf(stderr, "svidca: entry: unknown command %s\n", word);
		fputs(entry_usage, stderr);
		return CLI_EXIT_USAGE;
	}

	ret = parse_args(argc, argv, allowed, &a);
	if (ret != -1)
		goto out;
	if (strcmp(word, "create") == 0)
		ret = cmd_create(&a);
	else if (strcmp(word, "update") == 0)
		ret = cmd_update(&a);
	else if (strcmp(word, "delete") == 0)
		ret = cmd_delete(&a);
	else if (strcmp(word, "show") == 0 && a.n_ids == 1 &&
	    (a.given & FILTER_FLAGS) == 0)
		ret = cmd_show_one(&a);
	else if (strcmp(word, "show") == 0 || strcmp(word, "list") == 0)
		ret = cmd_list(&a);
	else
		ret = cmd_count(&a);
out:
	args_clear(&a);
	return ret;
}
