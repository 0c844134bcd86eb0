/* server/cli.c: being written */

int cli_placeholder_;
