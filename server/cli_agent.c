/* server/cli_agent.c: being written */
#include "cli.h"
int cli_agent(int argc, char **argv) { (void)argc; (void)argv; return CLI_EXIT_USAGE; }
