/* server/cli_mint.c: being written */
#include "cli.h"
int cli_x509(int argc, char **argv) { (void)argc; (void)argv; return CLI_EXIT_USAGE; }
int cli_jwt(int argc, char **argv) { (void)argc; (void)argv; return CLI_EXIT_USAGE; }
int cli_datastore(int argc, char **argv) { (void)argc; (void)argv; return CLI_EXIT_USAGE; }
