/*
 * log.c: the logging calls; see log.h for the line format.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#define LOG_LINE_MAX	2048

static _Atomic int log_level = LOG_LVL_INFO;

static const char *const log_names[] = {
	[LOG_LVL_DEBUG] = "debug",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_FATAL] = "fatal",
};

void
log_set_level(enum log_level lvl)
{
	atomic_store(&log_level, (int)lvl);
}

enum log_level
log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level);
}

bool
log_level_parse(const char *s, enum log_level *out)
{
	int i;

	for (i = LOG_LVL_DEBUG; i <= LOG_LVL_ERROR; i++) {
		if (strcasecmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

const char *
log_level_str(enum log_level lvl)
{
	if (lvl < LOG_LVL_DEBUG || lvl > LOG_LVL_FATAL)
		return "unknown";
	return log_names[lvl];
}

static void
log_vmsg(enum log_level lvl, const char *module, const char *fmt,
    va_list ap)
{
	char line[LOG_LINE_MAX];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int w;

	if ((int)lvl < atomic_load(&log_level))
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	w = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s: ",
	    (long)(tv.tv_usec / 1000), log_names[lvl], module);
	if (w < 0)
		return;
	n += (size_t)w;
	if (n < sizeof(line)) {
		w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		if (w < 0)
			return;
		n += (size_t)w;
	}
	/* A line that did not fit is cut, never split. */
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

void
log_msg(enum log_level lvl, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, module, fmt, ap);
	va_end(ap);
}

#define LOG_LEVEL_FN(name, lvl)						\
void									\
name(const char *module, const char *fmt, ...)				\
{									\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	log_vmsg(lvl, module, fmt, ap);					\
	va_end(ap);							\
}

LOG_LEVEL_FN(log_debug, LOG_LVL_DEBUG)
LOG_LEVEL_FN(log_info, LOG_LVL_INFO)
LOG_LEVEL_FN(log_warn, LOG_LVL_WARN)
LOG_LEVEL_FN(log_error, LOG_LVL_ERROR)

void
log_fatal(const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_FATAL, module, fmt, ap);
	va_end(ap);
	exit(1);
}

const char *
log_ossl(char *buf, size_t len)
{
	unsigned long e;
	size_t n = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		char one[256];
		int w;

		ERR_error_string_n(e, one, sizeof(one));
		w = snprintf(buf + n, len - n, "%s%s", n ? ";" : "", one);
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	if (n == 0)
		(void)snprintf(buf, len, "none");
	return buf;
}
