/*
 * check.h: a small TAP producer for the unit tests.  Each CHECK prints
 * one "ok N - what" or "not ok N - what" line; check_done() prints the
 * plan and returns the exit status.
 */
#ifndef SVIDCA_CHECK_H
#define SVIDCA_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_n;
static int check_failed;

static inline void
check_report(int ok, const char *file, int line, const char *what)
{
	check_n++;
	if (ok) {
		printf("ok %d - %s\n", check_n, what);
		return;
	}
	check_failed++;
	printf("not ok %d - %s (%s:%d)\n", check_n, what, file, line);
	fflush(stdout);
}

#define CHECK(cond, what) check_report((cond) ? 1 : 0, __FILE__, __LINE__, (what))

static inline int
check_done(void)
{
	printf("1..%d\n", check_n);
	return check_failed == 0 ? 0 : 1;
}

/* Path of a file under $SVIDCA_SHARED (caller frees). */
static inline char *
check_shared_path(const char *rel)
{
	const char *dir = getenv("SVIDCA_SHARED");
	char *p;
	size_t n;

	if (dir == NULL)
		dir = "../shared";
	n = strlen(dir) + strlen(rel) + 2;
	p = malloc(n);
	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, rel);
	return p;
}

#endif
