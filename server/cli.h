/*
 * cli.h: the client side of the local admin socket, for the CLI
 * commands that talk to a running server ("svidca bundle show", ...).
 * Requests go over HTTP on the Unix-domain socket with libcurl; the
 * server knows the caller by its uid (SO_PEERCRED).
 *
 * Exit codes of every command: CLI_EXIT_OK, CLI_EXIT_REFUSED (the server
 * answered with an error; its problem detail is printed), CLI_EXIT_USAGE,
 * CLI_EXIT_UNREACHABLE (no server answering on the socket).
 */
#ifndef SVIDCA_CLI_H
#define SVIDCA_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "rc.h"

#define CLI_EXIT_OK		0
#define CLI_EXIT_REFUSED	1
#define CLI_EXIT_USAGE		2
#define CLI_EXIT_UNREACHABLE	3

#define CLI_RESP_MAX		(64 * 1024 * 1024)	/* bytes of a reply */
#define CLI_DATA_DIR_DEFAULT	"./data"
#define CLI_SOCKET_NAME		"admin.sock"	/* in the data dir */

/*
 * Send one request over the admin socket at socket_path: method, path
 * (with any query), body (JSON text, or NULL for none).  On RC_OK the
 * server answered: *status is the HTTP status and *resp its body,
 * NUL-terminated, malloc'd (caller frees; "" when empty).  RC_IO when no
 * server answers on the socket or the exchange broke (curl's reason is
 * printed on stderr), RC_TOO_LARGE for a reply over CLI_RESP_MAX,
 * RC_NOMEM.  For the CLI's one thread: it calls curl_global_init().
 */
enum rc		 cli_request(const char *socket_path, const char *method,
		    const char *path, const char *body, long *status,
		    char **resp) MUST_CHECK;

/*
 * "svidca bundle show [--socket PATH] [--data-dir DIR]
 * [--format pem|spiffe]": print the trust domain's bundle as served by
 * GET /v1/bundle, as PEM certificates (default) or as the SPIFFE bundle
 * JSON.  argv[0] is the command word ("show"), options follow.  Returns
 * one of the CLI_EXIT_ codes.
 */
int		 cli_bundle_show(int argc, char **argv);


/*
 * Where a command sends its requests: the admin socket (default
 * <data-dir>/admin.sock), or an HTTPS server with an admin SVID.  Every
 * admin command takes the flags of CLI_TARGET_LONGOPTS.
 */
struct cli_target {
	const char	*socket;	/* --socket PATH */
	const char	*data_dir;	/* --data-dir DIR (socket default) */
	const char	*server;	/* --server https://HOST:PORT */
	const char	*cert;		/* --cert FILE: admin SVID chain, PEM */
	const char	*key;		/* --key FILE: its key, PEM */
	const char	*trust_bundle;	/* --trust-bundle FILE: PEM or SPIFFE */
};

enum {
	CLI_OPT_SOCKET = 1000,
	CLI_OPT_DATA_DIR,
	CLI_OPT_SERVER,
	CLI_OPT_CERT,
	CLI_OPT_KEY,
	CLI_OPT_TRUST_BUNDLE,
};

#define CLI_TARGET_LONGOPTS						\
	{ "socket", required_argument, NULL, CLI_OPT_SOCKET },		\
	{ "data-dir", required_argument, NULL, CLI_OPT_DATA_DIR },	\
	{ "server", required_argument, NULL, CLI_OPT_SERVER },		\
	{ "cert", required_argument, NULL, CLI_OPT_CERT },		\
	{ "key", required_argument, NULL, CLI_OPT_KEY },		\
	{ "trust-bundle", required_argument, NULL, CLI_OPT_TRUST_BUNDLE }

/* If opt is one of the target's options, record arg and return true. */
bool		 cli_target_take(struct cli_target *, int opt,
		    const char *arg);

/*
 * Send one request to the target (socket or HTTPS, as cli_request).
 * RC_BAD_REQUEST (message printed) for an incomplete HTTPS target.
 */
enum rc		 cli_send(const struct cli_target *, const char *method,
		    const char *path, const char *body, long *status,
		    char **resp) MUST_CHECK;

/*
 * The exit code for an answer: CLI_EXIT_OK for 2xx; otherwise print the
 * problem detail (or the status) on stderr and return CLI_EXIT_REFUSED.
 */
int		 cli_exit_for(long status, const char *resp);

/* Commands; argv[0] is the subcommand word.  Return CLI_EXIT_ codes. */
int		 cli_entry(int argc, char **argv);	/* cli_entry.c */
int		 cli_x509(int argc, char **argv);	/* cli_mint.c */
int		 cli_jwt(int argc, char **argv);	/* cli_mint.c */
int		 cli_datastore(int argc, char **argv);	/* cli_mint.c */
int		 cli_token(int argc, char **argv);	/* cli_token.c */
int		 cli_agent(int argc, char **argv);	/* cli_agent.c */
int		 cli_audit(int argc, char **argv);	/* cli_audit.c */
int		 cli_log(int argc, char **argv);	/* cli_ops.c */

/*
 * "svidca healthcheck [--health-listen HOST:PORT]" (cli_ops.c): 0 when
 * GET /ready on the health listener answers 200, 1 otherwise, 2 on a
 * usage error.  argv[0] is "healthcheck".
 */
int		 cli_healthcheck(int argc, char **argv);

#endif
