/*
 * idcheck.c: run svidca's own SPIFFE ID and trust domain parser on the
 * inputs that tests/interop/test_interop.py also gives go-spiffe, so the
 * two verdicts can be compared line by line.
 *
 * Standard input: one line per case, "id HEX" or "td HEX", the input as
 * hex (a case may hold a NUL byte or a newline; the parser gets the
 * explicit length).  Standard output: one line per case, "accept" or
 * "reject RULE: DETAIL".  Exit 0 unless the input itself is malformed.
 *
 * The interop suite compiles this file against the project's static
 * library (libsvidca_core.a); it is not part of the meson build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ca/spiffeid.h"

#define IDCHECK_LINE_MAX	(2 * 8192 + 16)	/* hex of the longest case */

/* Value of one hex digit, or -1. */
static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode the hex string h (len characters) into out (at least len / 2
 * bytes).  Return the number of bytes, or -1 on a bad digit or odd length.
 */
static long
decode_hex(const char *h, size_t len, char *out)
{
	size_t i;
	int hi, lo;

	if (len % 2 != 0)
		return -1;
	for (i = 0; i < len; i += 2) {
		hi = hex_digit(h[i]);
		lo = hex_digit(h[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (char)(hi << 4 | lo);
	}
	return (long)(len / 2);
}

/* Print the verdict of one case. */
static void
print_verdict(enum rc rc, const struct rc_why *why)
{
	if (rc == RC_OK) {
		puts("accept");
		return;
	}
	printf("reject %s: %s\n", why->rule != NULL ? why->rule : "-",
	    why->detail);
}

int
main(void)
{
	static char line[IDCHECK_LINE_MAX], buf[IDCHECK_LINE_MAX / 2];
	static char td[SPIFFEID_TD_MAX + 1];
	struct spiffeid id;
	struct rc_why why;
	size_t len;
	long n;
	enum rc rc;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		len = strcspn(line, "\r\n");
		if (line[len] == '\0' && !feof(stdin)) {
			fprintf(stderr, "idcheck: line too long\n");
			return 2;
		}
		line[len] = '\0';
		if (len < 3 || line[2] != ' ') {
			fprintf(stderr, "idcheck: want \"id HEX\" or "
			    "\"td HEX\"\n");
			return 2;
		}
		n = decode_hex(line + 3, len - 3, buf);
		if (n < 0) {
			fprintf(stderr, "idcheck: bad hex\n");
			return 2;
		}

		rc_why_clear(&why);
		if (strncmp(line, "id", 2) == 0)
			rc = spiffeid_parse(buf, (size_t)n, &id, "id", &why);
		else if (strncmp(line, "td", 2) == 0)
			rc = spiffeid_td_parse(buf, (size_t)n, td, "td",
			    &why);
		else {
			fprintf(stderr, "idcheck: unknown kind\n");
			return 2;
		}
		print_verdict(rc, &why);
	}
	return ferror(stdin) ? 2 : 0;
}
