/*
 * cli_agent.c: "svidca agent list|show|count|ban|evict|purge", the
 * operator's view of attested agents.  Each command sends one of the
 * /v1/agents routes to the target of the target flags (cli.h) and
 * prints the answer as a table or, with -o json, as the server's JSON.
 * ("agent run" and "agent healthcheck" are the reference agent's, in
 * agent/.)
 *
 * Exit codes: CLI_EXIT_OK; CLI_EXIT_REFUSED when the server refused
 * (its problem detail printed) or "show" found no such agent;
 * CLI_EXIT_USAGE for bad flags; CLI_EXIT_UNREACHABLE when no server
 * answered.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "bounds.h"

#define AGENT_CLI_PATH_MAX	(3 * SPIFFEID_MAX + 512)	/* a URL path */
#define AGENT_CLI_PAGES_MAX	10000	/* pages "list" follows at most */

enum {
	OPT_SPIFFE_ID = 1,
	OPT_TYPE,
	OPT_BANNED,
	OPT_EXPIRED_FOR,
};

static const struct option agent_opts[] = {
	{ "spiffe-id", required_argument, NULL, OPT_SPIFFE_ID },
	{ "attestation-type", required_argument, NULL, OPT_TYPE },
	{ "banned", required_argument, NULL, OPT_BANNED },
	{ "expired-for", required_argument, NULL, OPT_EXPIRED_FOR },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	CLI_TARGET_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static const char agent_usage[] =
    "usage: svidca agent list [--spiffe-id ID] [--attestation-type T] "
    "[--banned true|false]\n"
    "       svidca agent count [--attestation-type T] "
    "[--banned true|false]\n"
    "       svidca agent show --spiffe-id ID\n"
    "       svidca agent ban --spiffe-id ID\n"
    "       svidca agent evict --spiffe-id ID\n"
    "       svidca agent purge --expired-for DURATION   "
    "(seconds, or with s, m, h, d)\n"
    "    each takes [-o table|json] and\n"
    "    [--socket PATH | --data-dir DIR |\n"
    "     --server https://HOST:PORT --cert FILE --key FILE "
    "--trust-bundle FILE]\n";

/* The flags of one agent command. */
struct agent_cli {
	struct cli_target target;	/* where to send it */
	const char	*word;		/* list, show, count, ... */
	const char	*spiffe_id;	/* --spiffe-id */
	const char	*type;		/* --attestation-type */
	const char	*banned;	/* --banned true|false */
	long long	 expired_for;	/* --expired-for, seconds */
	bool		 has_expired_for;
	bool		 json;		/* -o json */
};

/*
 * A duration: whole seconds, or a number with s, m, h or d.  false when
 * s is anything else, negative or past 100 years.
 */
static bool
parse_duration(const char *s, long long *out)
{
	char *end = NULL;
	long long v, unit = 1;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == NULL)
		return false;
	if (strcmp(end, "d") == 0)
		unit = 86400;
	else if (strcmp(end, "h") == 0)
		unit = 3600;
	else if (strcmp(end, "m") == 0)
		unit = 60;
	else if (strcmp(end, "s") != 0 && *end != '\0')
		return false;
	if (v > 100LL * 366 * 86400 / unit)
		return false;
	*out = v * unit;
	return true;
}

/*
 * Read argv (argv[0] the command word) into a.  Returns -1 to go on, or
 * the exit code to return at once (help, usage fault).
 */
static int
parse_agent_cli(int argc, char **argv, struct agent_cli *a)
{
	int opt;

	memset(a, 0, sizeof(*a));
	a->word = argv[0];
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", agent_opts, NULL))
	    != -1) {
		if (cli_target_take(&a->target, opt, optarg))
			continue;
		switch (opt) {
		case OPT_SPIFFE_ID:
			a->spiffe_id = optarg;
			break;
		case OPT_TYPE:
			a->type = optarg;
			break;
		case OPT_BANNED:
			if (strcmp(optarg, "true") != 0 &&
			    strcmp(optarg, "false") != 0) {
				fprintf(stderr, "svidca: --banned takes true "
				    "or false, not %s\n", optarg);
				return CLI_EXIT_USAGE;
			}
			a->banned = optarg;
			break;
		case OPT_EXPIRED_FOR:
			if (!parse_duration(optarg, &a->expired_for)) {
				fprintf(stderr, "svidca: --expired-for takes "
				    "a duration such as 3600, 12h or 30d, "
				    "not %s\n", optarg);
				return CLI_EXIT_USAGE;
			}
			a->has_expired_for = true;
			break;
		case 'o':
			if (strcmp(optarg, "json") != 0 &&
			    strcmp(optarg, "table") != 0) {
				fprintf(stderr, "svidca: -o takes table or "
				    "json, not %s\n", optarg);
				return CLI_EXIT_USAGE;
			}
			a->json = strcmp(optarg, "json") == 0;
			break;
		case 'h':
			fputs(agent_usage, stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "svidca: bad or incomplete option "
			    "%s\n", argv[optind - 1]);
			fputs(agent_usage, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "svidca: unexpected argument %s\n",
		    argv[optind]);
		return CLI_EXIT_USAGE;
	}
	return -1;
}

/* The exit code for a cli_send() that did not get an answer. */
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
 * Append "name=<value percent-encoded>" to the query in path (len
 * bytes), with '?' or '&' before it.  false if it does not fit.
 */
static bool
add_query(CURL *c, char *path, size_t len, const char *name,
    const char *value)
{
	size_t used = strlen(path);
	char *enc;
	int w;

	if (value == NULL)
		return true;
	enc = curl_easy_escape(c, value, 0);
	if (enc == NULL)
		return false;
	w = snprintf(path + used, len - used, "%c%s=%s",
	    strchr(path, '?') == NULL ? '?' : '&', name, enc);
	curl_free(enc);
	return w >= 0 && (size_t)w < len - used;
}

/* base plus the filters of a into path; false if it does not fit. */
static bool
filter_path(const struct agent_cli *a, const char *base,
    const char *token, char *path, size_t len)
{
	CURL *c;
	bool ok;

	if ((size_t)snprintf(path, len, "%s", base) >= len)
		return false;
	c = curl_easy_init();
	if (c == NULL)
		return false;
	ok = add_query(c, path, len, "spiffe_id", a->spiffe_id) &&
	    add_query(c, path, len, "attestation_type", a->type) &&
	    add_query(c, path, len, "banned", a->banned) &&
	    add_query(c, path, len, "page_token", token);
	curl_easy_cleanup(c);
	return ok;
}

/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" into buf, "-" for 0. */
static const char *
utc_text(json_int_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, len, "-");
	return buf;
}

/* A string member of o, or "-". */
static const char *
str_or_dash(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s == NULL ? "-" : s;
}

/* One agent as a table row. */
static void
print_row(const json_t *ag)
{
	char when[32];

	printf("%-64s %-12s %-32s %-20s %s\n", str_or_dash(ag, "spiffe_id"),
	    str_or_dash(ag, "attestation_type"),
	    str_or_dash(ag, "x509svid_serial_number"),
	    utc_text(json_integer_value(json_object_get(ag,
	    "x509svid_expires_at")), when, sizeof(when)),
	    json_is_true(json_object_get(ag, "banned")) ? "yes" : "no");
}

/* One agent in full, a field a line. */
static void
print_agent(const json_t *ag)
{
	const json_t *sel, *s;
	char when[32];
	size_t i;

	printf("SPIFFE ID        %s\n", str_or_dash(ag, "spiffe_id"));
	printf("Attestation type %s\n", str_or_dash(ag, "attestation_type"));
	printf("Serial           %s\n",
	    str_or_dash(ag, "x509svid_serial_number"));
	printf("Expires at       %s\n", utc_text(json_integer_value(
	    json_object_get(ag, "x509svid_expires_at")), when, sizeof(when)));
	printf("Banned           %s\n",
	    json_is_true(json_object_get(ag, "banned")) ? "yes" : "no");
	printf("Can re-attest    %s\n",
	    json_is_true(json_object_get(ag, "can_reattest")) ? "yes" : "no");
	printf("Attested at      %s\n", utc_text(json_integer_value(
	    json_object_get(ag, "created_at")), when, sizeof(when)));
	sel = json_object_get(ag, "selectors");
	json_array_foreach(sel, i, s)
		printf("Selector         %s:%s\n", str_or_dash(s, "type"),
		    str_or_dash(s, "value"));
}

/* Print o as indented JSON on stdout. */
static int
print_json(const json_t *o)
{
	if (json_dumpf(o, stdout, JSON_INDENT(2)) != 0)
		return CLI_EXIT_REFUSED;
	fputc('\n', stdout);
	return CLI_EXIT_OK;
}

/*
 * GET every page of /v1/agents with a's filters into *all (an array,
 * caller decrefs).  Returns -1 when done, else the exit code.
 */
static int
fetch_agents(const struct agent_cli *a, json_t **all)
{
	char path[AGENT_CLI_PATH_MAX], *resp = NULL, *token = NULL;
	json_t *o = NULL, *list;
	const char *next;
	long status = 0;
	int ret = CLI_EXIT_REFUSED, pages;
	enum rc rc;

	*all = json_array();
	if (*all == NULL)
		return CLI_EXIT_REFUSED;
	for (pages = 0; pages < AGENT_CLI_PAGES_MAX; pages++) {
		if (!filter_path(a, "/v1/agents", token, path,
		    sizeof(path))) {
			fprintf(stderr, "svidca: the filters are too long\n");
			ret = CLI_EXIT_USAGE;
			goto out;
		}
		rc = cli_send(&a->target, "GET", path, NULL, &status, &resp);
		if (rc != RC_OK) {
			ret = exit_for_send(rc);
			goto out;
		}
		ret = cli_exit_for(status, resp);
		if (ret != CLI_EXIT_OK)
			goto out;
		o = json_loads(resp, 0, NULL);
		list = json_object_get(o, "agents");
		if (!json_is_array(list) || json_array_extend(*all, list)
		    != 0) {
			fprintf(stderr, "svidca: the server's answer is not "
			    "an agent list\n");
			ret = CLI_EXIT_REFUSED;
			goto out;
		}
		next = json_string_value(json_object_get(o, "next_page_token"));
		free(token);
		token = next == NULL ? NULL : strdup(next);
		json_decref(o);
		o = NULL;
		free(resp);
		resp = NULL;
		if (token == NULL) {
			ret = -1;
			goto out;
		}
	}
	fprintf(stderr, "svidca: more than %d pages of agents\n",
	    AGENT_CLI_PAGES_MAX);
	ret = CLI_EXIT_REFUSED;
out:
	json_decref(o);
	free(resp);
	free(token);
	return ret;
}

/* "list": every agent matching the filters. */
static int
agent_list(const struct agent_cli *a)
{
	json_t *all = NULL, *o = NULL, *ag;
	size_t i;
	int ret;

	ret = fetch_agents(a, &all);
	if (ret != -1)
		goto out;
	if (a->json) {
		o = json_pack("{s:O}", "agents", all);
		ret = o == NULL ? CLI_EXIT_REFUSED : print_json(o);
		goto out;
	}
	printf("%-64s %-12s %-32s %-20s %s\n", "SPIFFE ID", "TYPE", "SERIAL",
	    "EXPIRES", "BANNED");
	json_array_foreach(all, i, ag)
		print_row(ag);
	ret = CLI_EXIT_OK;
out:
	json_decref(o);
	json_decref(all);
	return ret;
}

/* "show": the one agent with --spiffe-id. */
static int
agent_show(const struct agent_cli *a)
{
	json_t *all = NULL, *ag;
	int ret;

	ret = fetch_agents(a, &all);
	if (ret != -1)
		goto out;
	ag = json_array_get(all, 0);
	if (ag == NULL) {
		fprintf(stderr, "svidca: no agent has the SPIFFE ID %s\n",
		    a->spiffe_id);
		ret = CLI_EXIT_REFUSED;
		goto out;
	}
	if (a->json)
		ret = print_json(ag);
	else {
		print_agent(ag);
		ret = CLI_EXIT_OK;
	}
out:
	json_decref(all);
	return ret;
}

/*
 * Send method path body and load the JSON answer into *out (NULL for an
 * empty one).  Returns -1 on a 2xx answer, else the exit code.
 */
static int
send_json(const struct agent_cli *a, const char *method, const char *path,
    const char *body, json_t **out)
{
	char *resp = NULL;
	long status = 0;
	int ret;
	enum rc rc;

	*out = NULL;
	rc = cli_send(&a->target, method, path, body, &status, &resp);
	if (rc != RC_OK)
		return exit_for_send(rc);
	ret = cli_exit_for(status, resp);
	if (ret == CLI_EXIT_OK) {
		ret = -1;
		if (resp[0] != '\0')
			*out = json_loads(resp, 0, NULL);
		if (resp[0] != '\0' && *out == NULL) {
			fprintf(stderr, "svidca: the server's answer is not "
			    "JSON\n");
			ret = CLI_EXIT_REFUSED;
		}
	}
	free(resp);
	return ret;
}

/* "count": how many agents match the filters. */
static int
agent_count(const struct agent_cli *a)
{
	char path[AGENT_CLI_PATH_MAX];
	json_t *o = NULL;
	int ret;

	if (!filter_path(a, "/v1/agents/count", NULL, path, sizeof(path))) {
		fprintf(stderr, "svidca: the filters are too long\n");
		return CLI_EXIT_USAGE;
	}
	ret = send_json(a, "GET", path, NULL, &o);
	if (ret != -1)
		goto out;
	if (a->json)
		ret = print_json(o);
	else {
		printf("%lld\n", (long long)json_integer_value(
		    json_object_get(o, "count")));
		ret = CLI_EXIT_OK;
	}
out:
	json_decref(o);
	return ret;
}

/* "ban" or "evict": POST {spiffe_id} to path. */
static int
agent_change(const struct agent_cli *a, const char *path, const char *done)
{
	json_t *req, *o = NULL;
	char *body = NULL;
	int ret = CLI_EXIT_REFUSED;

	req = json_pack("{s:s}", "spiffe_id", a->spiffe_id);
	body = req == NULL ? NULL : json_dumps(req, JSON_COMPACT);
	if (body == NULL)
		goto out;
	ret = send_json(a, "POST", path, body, &o);
	if (ret != -1)
		goto out;
	if (a->json && o != NULL)
		ret = print_json(o);
	else if (a->json)
		ret = print_json(req);
	else {
		printf("%s %s\n", done, a->spiffe_id);
		ret = CLI_EXIT_OK;
	}
out:
	json_decref(req);
	json_decref(o);
	free(body);
	return ret;
}

/* "purge": evict agents whose SVID expired more than D ago. */
static int
agent_purge(const struct agent_cli *a)
{
	json_t *req, *o = NULL;
	char *body = NULL;
	int ret = CLI_EXIT_REFUSED;

	req = json_pack("{s:I}", "expired_for", (json_int_t)a->expired_for);
	body = req == NULL ? NULL : json_dumps(req, JSON_COMPACT);
	if (body == NULL)
		goto out;
	ret = send_json(a, "POST", "/v1/agents/purge", body, &o);
	if (ret != -1)
		goto out;
	if (a->json)
		ret = print_json(o);
	else {
		printf("purged %lld agents\n", (long long)json_integer_value(
		    json_object_get(o, "purged")));
		ret = CLI_EXIT_OK;
	}
out:
	json_decref(req);
	json_decref(o);
	free(body);
	return ret;
}

/*
 * "svidca agent <word> ...": argv[0] is the word.  See the usage text
 * for the flags of each and the file comment for the exit codes.
 */
int
cli_agent(int argc, char **argv)
{
	struct agent_cli a;
	int ret;

	if (argc < 1) {
		fputs(agent_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	ret = parse_agent_cli(argc, argv, &a);
	if (ret != -1)
		return ret;

	if (strcmp(a.word, "list") == 0)
		return agent_list(&a);
	if (strcmp(a.word, "count") == 0)
		return agent_count(&a);
	if (strcmp(a.word, "purge") == 0) {
		if (!a.has_expired_for) {
			fprintf(stderr, "svidca: purge needs --expired-for\n");
			return CLI_EXIT_USAGE;
		}
		return agent_purge(&a);
	}
	if (strcmp(a.word, "show") != 0 && strcmp(a.word, "ban") != 0 &&
	    strcmp(a.word, "evict") != 0) {
		fprintf(stderr, "svidca: unknown agent command %s\n", a.word);
		fputs(agent_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if (a.spiffe_id == NULL) {
		fprintf(stderr, "svidca: %s needs --spiffe-id\n", a.word);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(a.word, "show") == 0)
		return agent_show(&a);
	if (strcmp(a.word, "ban") == 0)
		return agent_change(&a, "/v1/agents/ban", "banned");
	return agent_change(&a, "/v1/agents/evict", "evicted");
}
