/* server/cli_entry.c: being written */
#include "cli.h"
int cli_entry(int argc, char **argv) { (void)argc; (void)argv; return CLI_EXIT_USAGE; }
