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

#endif
