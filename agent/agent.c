/* agent/agent.c: being written */
#include "agent.h"
int agent_main(int argc, char **argv) { (void)argc; (void)argv; return 2; }
