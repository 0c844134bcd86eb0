/*
 * cli_token.c: "svidca token generate [--ttl SECONDS] [--spiffe-id ID]
 * [-o table|json]" and the target flags of cli.h: POST /v1/join-tokens,
 * then the token printed once.  The server keeps only the token's hash,
 * so what is printed here is the only copy.
 *
 * Exit codes: CLI_EXIT_OK; CLI_EXIT_REFUSED when the server refused (its
 * reason printed on stderr); CLI_EXIT_USAGE for bad flags;
 * CLI_EXIT_UNREACHABLE when no server answered.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#define TOKEN_TTL_LIMIT	2147483647L	/* s, the API's Ttl maximum */

enum {
	OPT_TTL = 1,
	OPT_SPIFFE_ID,
};

static const struct option token_opts[] = {
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "spiffe-id", required_argument, NULL, OPT_SPIFFE_ID },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	CLI_TARGET_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static void
token_usage(FILE *f)
{
	fprintf(f, "usage: svidca token generate [--ttl SECONDS] "
	    "[--spiffe-id ID] [-o table|json]\n"
	    "    [--socket PATH | --data-dir DIR | --server https://HOST:PORT "
	    "--cert FILE --key FILE --trust-bundle FILE]\n"
	    "  --ttl        seconds the token is valid (default 600)\n"
	    "  --spiffe-id  also make an entry with this ID whose parent is "
	    "the token's agent\n");
}

/* A decimal number from 0 to max, the whole of s; false otherwise. */
static bool
parse_num(const char *s, long max, long *out)
{
	char	*end;
	long	 v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > max)
		return false;
	*out = v;
	return true;
}

static int
bad_ttl(const char *arg)
{
	fprintf(stderr, "svidca: token generate: --ttl takes seconds from 0 "
	    "to %ld, not %s\n", TOKEN_TTL_LIMIT, arg);
	return CLI_EXIT_USAGE;
}

/* The answer as lines of "name: value". */
static bool
print_table(const char *text)
{
	json_t		*o;
	const char	*token, *id, *agent, *entry;
	json_int_t	 exp;
	struct tm	 tm;
	time_t		 t;
	char		 when[32] = "?";
	bool		 ok = false;

	o = json_loads(text, 0, NULL);
	token = json_string_value(json_object_get(o, "token"));
	id = json_string_value(json_object_get(o, "token_id"));
	agent = json_string_value(json_object_get(o, "agent_id"));
	entry = json_string_value(json_object_get(o, "entry_id"));
	if (token == NULL || id == NULL || agent == NULL ||
	    !json_is_integer(json_object_get(o, "expires_at")))
		goto out;
	exp = json_integer_value(json_object_get(o, "expires_at"));
	t = (time_t)exp;
	if (gmtime_r(&t, &tm) != NULL)
		(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("Token:      %s\n", token);
	printf("Token ID:   %s\n", id);
	printf("Agent ID:   %s\n", agent);
	printf("Expires at: %s (%lld)\n", when, (long long)exp);
	if (entry != NULL)
		printf("Entry ID:   %s\n", entry);
	ok = true;
out:
	json_decref(o);
	return ok;
}

/*
 * "svidca token generate": argv[0] is "generate".  Returns a CLI_EXIT_
 * code; see cli.h.
 */
int
cli_token(int argc, char **argv)
{
	struct cli_target	 target;
	const char		*spiffe_id = NULL, *fmt = "table";
	json_t			*body = NULL;
	char			*text = NULL, *resp = NULL;
	long			 ttl = 0, status = 0;
	size_t			 len;
	int			 opt, ret = CLI_EXIT_USAGE;
	enum rc			 rc;

	memset(&target, 0, sizeof(target));
	if (argc < 1 || strcmp(argv[0], "generate") != 0) {
		token_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "o:h", token_opts, NULL)) !=
	    -1) {
		if (cli_target_take(&target, opt, optarg))
			continue;
		switch (opt) {
		case OPT_TTL:
			if (!parse_num(optarg, TOKEN_TTL_LIMIT, &ttl))
				return bad_ttl(optarg);
			break;
		case OPT_SPIFFE_ID:
			spiffe_id = optarg;
			break;
		case 'o':
			fmt = optarg;
			break;
		case 'h':
			token_usage(stdout);
			return CLI_EXIT_OK;
		default:
			token_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "svidca: token generate: unexpected argument "
		    "%s\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(fmt, "table") != 0 && strcmp(fmt, "json") != 0) {
		fprintf(stderr, "svidca: token generate: -o is table or json, "
		    "not %s\n", fmt);
		return CLI_EXIT_USAGE;
	}

	body = json_object();
	if (body != NULL && (ttl == 0 || json_object_set_new(body, "ttl",
	    json_integer(ttl)) == 0) && (spiffe_id == NULL ||
	    json_object_set_new(body, "spiffe_id", json_string(spiffe_id)) ==
	    0))
		text = json_dumps(body, JSON_COMPACT);
	if (text == NULL) {
		fprintf(stderr, "svidca: out of memory\n");
		ret = CLI_EXIT_UNREACHABLE;
		goto out;
	}

	rc = cli_send(&target, "POST", "/v1/join-tokens", text, &status,
	    &resp);
	if (rc == RC_BAD_REQUEST)
		goto out;
	if (rc != RC_OK) {
		ret = CLI_EXIT_UNREACHABLE;
		goto out;
	}
	ret = cli_exit_for(status, resp);
	if (ret != CLI_EXIT_OK)
		goto out;

	if (strcmp(fmt, "json") == 0) {
		len = strlen(resp);
		printf("%s%s", resp, len > 0 && resp[len - 1] == '\n' ? "" :
		    "\n");
	} else if (!print_table(resp)) {
		fprintf(stderr, "svidca: the server's answer is not a join "
		    "token\n");
		ret = CLI_EXIT_REFUSED;
		goto out;
	}
	ret = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
out:
	if (resp != NULL)
		sodium_memzero(resp, strlen(resp));
	free(resp);
	free(text);
	json_decref(body);
	return ret;
}
