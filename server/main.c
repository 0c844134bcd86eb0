/*
 * main.c: the svidca command: "server run", "server validate", and the
 * client commands that talk to a running server (cli.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../agent/agent.h"
#include "cli.h"
#include "conf.h"
#include "log.h"
#include "server.h"

#define SVIDCA_VERSION	"0.1.0"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: svidca server run [--config FILE] [--trust-domain TD]\n"
	    "           [--data-dir DIR] [--kek-file FILE] [--listen HOST:PORT]\n"
	    "           [--health-listen HOST:PORT] [--admin-socket PATH]\n"
	    "       svidca server validate --config FILE [flags as above]\n"
	    "       svidca bundle show [--socket PATH] [--data-dir DIR]\n"
	    "           [--format pem|spiffe]\n"
	    "       svidca entry create|update|delete|show|list|count ...\n"
	    "       svidca x509 mint | jwt mint | token generate ...\n"
	    "       svidca agent run|healthcheck|list|show|count|ban|evict|purge\n"
	    "       svidca datastore backup FILE\n"
	    "       svidca log level [LEVEL] | healthcheck [--health-listen "
	    "HOST:PORT]\n"
	    "       svidca audit pubkey|verify|show|trace ...\n"
	    "       svidca version\n");
}

enum {
	OPT_TD = 1, OPT_DATA, OPT_KEK, OPT_LISTEN, OPT_HEALTH, OPT_CONFIG,
	OPT_SOCKET, OPT_LOGLEVEL,
};

static const struct option server_opts[] = {
	{ "trust-domain", required_argument, NULL, OPT_TD },
	{ "data-dir", required_argument, NULL, OPT_DATA },
	{ "kek-file", required_argument, NULL, OPT_KEK },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "health-listen", required_argument, NULL, OPT_HEALTH },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "admin-socket", required_argument, NULL, OPT_SOCKET },
	{ "log-level", required_argument, NULL, OPT_LOGLEVEL },
	{ NULL, 0, NULL, 0 },
};

/* Copy a flag's value into a fixed field, refusing one too long. */
static bool
set_field(char *dst, size_t len, const char *flag, const char *val)
{
	int n;

	n = snprintf(dst, len, "%s", val);
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "svidca: --%s: value longer than %zu bytes\n",
		    flag, len - 1);
		return false;
	}
	return true;
}

/*
 * Build the configuration: defaults, then the config file, then flags
 * (which win), then the checks of conf_finish.  Exit status 2 on a usage
 * fault, 1 on a bad configuration; 0 and a filled c on success.
 */
static int
server_conf(int argc, char **argv, struct conf *c)
{
	struct rc_why why;
	const char *config = NULL;
	char *vals[OPT_LOGLEVEL + 1] = { NULL };
	int opt;

	conf_defaults(c);
	rc_why_clear(&why);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", server_opts, NULL)) != -1) {
		if (opt <= 0 || opt > OPT_LOGLEVEL) {
			usage(stderr);
			return 2;
		}
		vals[opt] = optarg;
	}
	if (optind != argc) {
		fprintf(stderr, "svidca: unexpected argument: %s\n",
		    argv[optind]);
		return 2;
	}
	config = vals[OPT_CONFIG];
	if (config != NULL && conf_load_file(c, config, &why) != RC_OK) {
		fprintf(stderr, "svidca: %s\n", why.detail);
		return 1;
	}
	if ((vals[OPT_TD] != NULL && !set_field(c->trust_domain,
	    sizeof(c->trust_domain), "trust-domain", vals[OPT_TD])) ||
	    (vals[OPT_DATA] != NULL && !set_field(c->data_dir,
	    sizeof(c->data_dir), "data-dir", vals[OPT_DATA])) ||
	    (vals[OPT_KEK] != NULL && !set_field(c->kek_file,
	    sizeof(c->kek_file), "kek-file", vals[OPT_KEK])) ||
	    (vals[OPT_LISTEN] != NULL && !set_field(c->listen,
	    sizeof(c->listen), "listen", vals[OPT_LISTEN])) ||
	    (vals[OPT_HEALTH] != NULL && !set_field(c->health_listen,
	    sizeof(c->health_listen), "health-listen", vals[OPT_HEALTH])) ||
	    (vals[OPT_SOCKET] != NULL && !set_field(c->admin_socket,
	    sizeof(c->admin_socket), "admin-socket", vals[OPT_SOCKET])) ||
	    (vals[OPT_LOGLEVEL] != NULL && !set_field(c->log_level,
	    sizeof(c->log_level), "log-level", vals[OPT_LOGLEVEL])))
		return 2;
	if (conf_finish(c, &why) != RC_OK) {
		fprintf(stderr, "svidca: %s%s%s\n",
		    why.field != NULL ? why.field : "",
		    why.field != NULL ? ": " : "", why.detail);
		return 1;
	}
	return 0;
}

static int
cmd_server(int argc, char **argv)
{
	struct conf c;
	int status;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	status = server_conf(argc - 1, argv + 1, &c);
	if (status != 0) {
		conf_clear(&c);
		return status;
	}
	if (strcmp(argv[1], "run") == 0) {
		status = server_run(&c);
	} else if (strcmp(argv[1], "validate") == 0) {
		printf("configuration is valid (trust domain %s, data dir "
		    "%s)\n", c.trust_domain, c.data_dir);
		status = 0;
	} else {
		usage(stderr);
		status = 2;
	}
	conf_clear(&c);
	return status;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "server") == 0)
		return cmd_server(argc - 1, argv + 1);
	if (strcmp(argv[1], "healthcheck") == 0)
		return cli_healthcheck(argc - 1, argv + 1);
	if (strcmp(argv[1], "bundle") == 0 && argc >= 3 &&
	    strcmp(argv[2], "show") == 0)
		return cli_bundle_show(argc - 2, argv + 2);
	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "entry") == 0)
		return cli_entry(argc - 2, argv + 2);
	if (strcmp(argv[1], "x509") == 0)
		return cli_x509(argc - 2, argv + 2);
	if (strcmp(argv[1], "jwt") == 0)
		return cli_jwt(argc - 2, argv + 2);
	if (strcmp(argv[1], "datastore") == 0)
		return cli_datastore(argc - 2, argv + 2);
	if (strcmp(argv[1], "audit") == 0)
		return cli_audit(argc - 2, argv + 2);
	if (strcmp(argv[1], "token") == 0)
		return cli_token(argc - 2, argv + 2);
	if (strcmp(argv[1], "log") == 0)
		return cli_log(argc - 2, argv + 2);
	if (strcmp(argv[1], "agent") == 0) {
		if (strcmp(argv[2], "run") == 0 ||
		    strcmp(argv[2], "healthcheck") == 0)
			return agent_main(argc - 2, argv + 2);
		return cli_agent(argc - 2, argv + 2);
	}
	if (strcmp(argv[1], "version") == 0) {
		printf("svidca %s\n", SVIDCA_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
