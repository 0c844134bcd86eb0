/*
 * server.h: the server process: open the data dir, unseal the keys, keep
 * the authorities rotating, keep the server's own SVID fresh, and serve
 * the API until SIGTERM or SIGINT.
 */
#ifndef SVIDCA_SERVER_H
#define SVIDCA_SERVER_H

#include "conf.h"

/*
 * Run the server with a finished configuration (conf_finish passed).
 * Returns the process exit status: 0 after a clean stop, 1 when start-up
 * failed (the reason was logged as one line).
 */
int		 server_run(const struct conf *c);

#endif
