/* server/cli_token.c: being written */
#include "cli.h"
int cli_token(int argc, char **argv) { (void)argc; (void)argv; return CLI_EXIT_USAGE; }
