/*
 * log.h: one line per event on standard error,
 *   <UTC time> <level> <module>: <message> [k=v ...]
 * Thread-safe; a line is written with one write(2).
 */
#ifndef SVIDCA_LOG_H
#define SVIDCA_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "rc.h"

enum log_level {
	LOG_LVL_DEBUG = 0,
	LOG_LVL_INFO,
	LOG_LVL_WARN,
	LOG_LVL_ERROR,
	LOG_LVL_FATAL,
};

/* Set the lowest level that is written (default info). */
void		 log_set_level(enum log_level);
enum log_level	 log_get_level(void);

/* Parse "debug", "info", "warn", "error"; false if unknown. */
bool		 log_level_parse(const char *, enum log_level *);
const char	*log_level_str(enum log_level);

/* Write one line at a level for a module ("ca", "store", "http" ...). */
void		 log_msg(enum log_level, const char *module, const char *fmt,
		    ...) PRINTF_LIKE(3, 4);

void		 log_debug(const char *module, const char *fmt, ...)
		    PRINTF_LIKE(2, 3);
void		 log_info(const char *module, const char *fmt, ...)
		    PRINTF_LIKE(2, 3);
void		 log_warn(const char *module, const char *fmt, ...)
		    PRINTF_LIKE(2, 3);
void		 log_error(const char *module, const char *fmt, ...)
		    PRINTF_LIKE(2, 3);
/* Log and exit(1): start-up only, never on a request path. */
void		 log_fatal(const char *module, const char *fmt, ...)
		    PRINTF_LIKE(2, 3) __attribute__((noreturn));

/*
 * Drain the OpenSSL error queue into one short string for an "ossl="
 * field; returns buf.
 */
const char	*log_ossl(char *buf, size_t len);

#endif
