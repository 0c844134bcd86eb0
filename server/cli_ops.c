/*
 * cli_ops.c: operating a running server.
 *   svidca log level [LEVEL] [target flags of cli.h]
 *	GET or PUT /v1/log-level; prints the level in force.
 *   svidca healthcheck [--health-listen HOST:PORT] [--timeout SECONDS]
 *	GET /ready on the health listener; exit 0 when it answers 200,
 *	1 otherwise (not ready, nothing listening, timeout), 2 on usage.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#define OPS_HEALTH_DEFAULT	"127.0.0.1:8080"	/* conf default */
#define OPS_TIMEOUT_DEFAULT	5L	/* seconds */
#define OPS_TIMEOUT_LIMIT	3600L	/* seconds */
#define OPS_URL_MAX		512	/* bytes of the /ready URL */

enum {
	OPT_HEALTH = 1,
	OPT_TIMEOUT,
};

static const struct option log_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	CLI_TARGET_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static const struct option health_opts[] = {
	{ "health-listen", required_argument, NULL, OPT_HEALTH },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
log_usage(FILE *f)
{
	fprintf(f, "usage: svidca log level [debug|info|warn|error]\n"
	    "    [--socket PATH | --data-dir DIR | --server https://HOST:PORT "
	    "--cert FILE --key FILE --trust-bundle FILE]\n"
	    "  without a level, print the level in force\n");
}

static void
health_usage(FILE *f)
{
	fprintf(f, "usage: svidca healthcheck [--health-listen HOST:PORT] "
	    "[--timeout SECONDS]\n"
	    "  exit 0 when GET /ready answers 200, 1 otherwise "
	    "(default %s)\n", OPS_HEALTH_DEFAULT);
}

/*
 * "svidca log level [LEVEL]": argv[0] is "level".  Returns a CLI_EXIT_
 * code (cli.h); the level in force is printed on success.
 */
int
cli_log(int argc, char **argv)
{
	struct cli_target	 target;
	const char		*level = NULL, *now;
	json_t			*o = NULL;
	char			*body = NULL, *resp = NULL;
	long			 status = 0;
	int			 opt, ret = CLI_EXIT_USAGE;
	enum rc			 rc;

	memset(&target, 0, sizeof(target));
	if (argc < 1 || strcmp(argv[0], "level") != 0) {
		log_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "h", log_opts, NULL)) != -1) {
		if (cli_target_take(&target, opt, optarg))
			continue;
		if (opt == 'h') {
			log_usage(stdout);
			return CLI_EXIT_OK;
		}
		log_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (optind < argc)
		level = argv[optind++];
	if (optind != argc) {
		fprintf(stderr, "svidca: log level: unexpected argument %s\n",
		    argv[optind]);
		return CLI_EXIT_USAGE;
	}

	/* The server checks the level; its refusal names the field. */
	if (level != NULL) {
		o = json_pack("{s:s}", "level", level);
		body = o == NULL ? NULL : json_dumps(o, JSON_COMPACT);
		if (body == NULL) {
			fprintf(stderr, "svidca: out of memory\n");
			ret = CLI_EXIT_UNREACHABLE;
			goto out;
		}
	}
	rc = cli_send(&target, level == NULL ? "GET" : "PUT",
	    "/v1/log-level", body, &status, &resp);
	if (rc == RC_BAD_REQUEST)
		goto out;
	if (rc != RC_OK) {
		ret = CLI_EXIT_UNREACHABLE;
		goto out;
	}
	ret = cli_exit_for(status, resp);
	if (ret != CLI_EXIT_OK)
		goto out;

	json_decref(o);
	o = json_loads(resp, 0, NULL);
	now = json_string_value(json_object_get(o, "level"));
	if (now == NULL) {
		fprintf(stderr, "svidca: the server's answer has no level\n");
		ret = CLI_EXIT_REFUSED;
		goto out;
	}
	printf("%s\n", now);
	ret = CLI_EXIT_OK;
out:
	json_decref(o);
	free(body);
	free(resp);
	return ret;
}

/* Drop the body of /ready: only the status matters. */
static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/*
 * GET url with a timeout in seconds; true when it answered 200.  The
 * reason of a failed exchange is printed on stderr.
 */
static bool
ready_is_ok(const char *url, long timeout)
{
	CURL *c;
	CURLcode cc;
	long status = 0;
	bool ok = false;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return false;
	c = curl_easy_init();
	if (c == NULL)
		goto out_global;
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK)
		goto out;
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		fprintf(stderr, "svidca: healthcheck: %s: %s\n", url,
		    curl_easy_strerror(cc));
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) !=
	    CURLE_OK)
		goto out;
	if (status != 200) {
		fprintf(stderr, "svidca: healthcheck: %s answered %ld\n", url,
		    status);
		goto out;
	}
	ok = true;
out:
	curl_easy_cleanup(c);
out_global:
	curl_global_cleanup();
	return ok;
}

/*
 * "svidca healthcheck": argv[0] is "healthcheck".  0 when the server's
 * GET /ready answers 200, 1 when it does not or cannot be reached,
 * CLI_EXIT_USAGE (2) for bad flags.
 */
int
cli_healthcheck(int argc, char **argv)
{
	const char *addr = OPS_HEALTH_DEFAULT;
	char url[OPS_URL_MAX], *end;
	long timeout = OPS_TIMEOUT_DEFAULT;
	int opt, n;

	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "h", health_opts, NULL)) !=
	    -1) {
		switch (opt) {
		case OPT_HEALTH:
			addr = optarg;
			break;
		case OPT_TIMEOUT:
			errno = 0;
			timeout = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    timeout < 1 || timeout > OPS_TIMEOUT_LIMIT) {
				fprintf(stderr, "svidca: healthcheck: "
				    "--timeout takes seconds from 1 to %ld, "
				    "not %s\n", OPS_TIMEOUT_LIMIT, optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'h':
			health_usage(stdout);
			return CLI_EXIT_OK;
		default:
			health_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "svidca: healthcheck: unexpected argument "
		    "%s\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (addr[0] == '\0' || strpbrk(addr, "/?#@ ") != NULL) {
		fprintf(stderr, "svidca: healthcheck: --health-listen takes "
		    "HOST:PORT, not %s\n", addr);
		return CLI_EXIT_USAGE;
	}
	n = snprintf(url, sizeof(url), "http://%s/ready", addr);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		fprintf(stderr, "svidca: healthcheck: --health-listen is "
		    "too long\n");
		return CLI_EXIT_USAGE;
	}
	return ready_is_ok(url, timeout) ? 0 : 1;
}
