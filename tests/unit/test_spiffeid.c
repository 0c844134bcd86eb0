/*
 * test_spiffeid.c: every case of the shared SPIFFE ID vectors
 * (conformance/spiffeid-vectors.json), then the rule number of each kind
 * of rejection, building IDs from parts, and comparisons.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../ca/spiffeid.h"
#include "check.h"

#define NAME_MAX_SHOWN	60

/* A printable, shortened copy of s[0..len) for test names. */
static void
show(const char *s, size_t len, char *buf, size_t blen)
{
	size_t	 i, o = 0;

	for (i = 0; i < len && o + 8 < blen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == NAME_MAX_SHOWN) {
			o += (size_t)snprintf(buf + o, blen - o, "...(%zu)",
			    len);
			break;
		}
		if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, blen - o, "\\x%02x", c);
	}
	buf[o] = '\0';
}

/* Record one check whose name is "<what> <shown input>". */
static void
check_case(bool ok, const char *what, const char *s, size_t len)
{
	char	 shown[128], name[192];

	show(s, len, shown, sizeof(shown));
	(void)snprintf(name, sizeof(name), "%s \"%s\"", what, shown);
	CHECK(ok, name);
}

/* Is the why a well-formed refusal: code, field, an ID-nn rule, text? */
static bool
is_refusal(enum rc rc, const struct rc_why *why, const char *field)
{
	return rc == RC_BAD_REQUEST && why->code == RC_BAD_REQUEST &&
	    why->field == field && why->rule != NULL &&
	    strncmp(why->rule, "ID-", 3) == 0 && why->detail[0] != '\0';
}

static void
run_valid_ids(const json_t *list)
{
	struct spiffeid	 id;
	struct rc_why	 why;
	const json_t	*v;
	size_t		 i, len;
	const char	*s;
	enum rc		 rc;

	json_array_foreach(list, i, v) {
		s = json_string_value(v);
		len = json_string_length(v);
		rc_why_clear(&why);
		rc = spiffeid_parse(s, len, &id, "id", &why);
		check_case(rc == RC_OK && id.len == len &&
		    memcmp(id.str, s, len) == 0 && id.str[len] == '\0',
		    "valid id accepted", s, len);
	}
}

static void
run_invalid_ids(const json_t *list)
{
	struct spiffeid	 id;
	struct rc_why	 why;
	const json_t	*v;
	size_t		 i, len;
	const char	*s;
	enum rc		 rc;

	json_array_foreach(list, i, v) {
		const json_t *j = json_object_get(v, "id");

		s = json_string_value(j);
		len = json_string_length(j);
		rc_why_clear(&why);
		rc = spiffeid_parse(s, len, &id, "id", &why);
		check_case(is_refusal(rc, &why, "id") && id.len == 0 &&
		    id.str[0] == '\0', "invalid id refused", s, len);
	}
}

static void
run_valid_tds(const json_t *list)
{
	char		 td[SPIFFEID_TD_MAX + 1];
	struct rc_why	 why;
	const json_t	*v;
	size_t		 i, len;
	const char	*s;
	enum rc		 rc;

	json_array_foreach(list, i, v) {
		s = json_string_value(v);
		len = json_string_length(v);
		rc = spiffeid_td_parse(s, len, td, "td", &why);
		check_case(rc == RC_OK && strlen(td) == len &&
		    memcmp(td, s, len) == 0, "valid td accepted", s, len);
	}
}

static void
run_invalid_tds(const json_t *list)
{
	char		 td[SPIFFEID_TD_MAX + 1];
	struct rc_why	 why;
	const json_t	*v;
	size_t		 i, len;
	const char	*s;
	enum rc		 rc;

	json_array_foreach(list, i, v) {
		const json_t *j = json_object_get(v, "td");

		s = json_string_value(j);
		len = json_string_length(j);
		rc_why_clear(&why);
		memset(td, 'x', sizeof(td));
		rc = spiffeid_td_parse(s, len, td, "td", &why);
		check_case(is_refusal(rc, &why, "td") && td[0] == '\0',
		    "invalid td refused", s, len);
	}
}

/*
 * Upper case: refused, rule ID-05 when the trust domain has it, ID-13
 * when only the scheme does; the detail names the lowercase form, which
 * itself parses.
 */
static void
run_upper_ids(const json_t *list)
{
	struct spiffeid	 id;
	struct rc_why	 why;
	const json_t	*v;
	size_t		 i, k, len;
	const char	*s, *low, *rule;
	char		 quoted[SPIFFEID_MAX + 3];
	enum rc		 rc;
	bool		 upper_td;

	json_array_foreach(list, i, v) {
		const json_t *j = json_object_get(v, "id");

		s = json_string_value(j);
		len = json_string_length(j);
		low = json_string_value(json_object_get(v, "lowercase_form"));

		upper_td = false;
		for (k = SPIFFEID_SCHEME_LEN; k < len && s[k] != '/'; k++)
			if (s[k] >= 'A' && s[k] <= 'Z')
				upper_td = true;
		rule = upper_td ? "ID-05" : "ID-13";

		rc_why_clear(&why);
		rc = spiffeid_parse(s, len, &id, "id", &why);
		(void)snprintf(quoted, sizeof(quoted), "\"%s\"", low);
		check_case(rc == RC_BAD_REQUEST && why.rule != NULL &&
		    strcmp(why.rule, rule) == 0 &&
		    strstr(why.detail, quoted) != NULL &&
		    strstr(why.detail, "must be lowercase") != NULL,
		    "upper-case id refused naming its lowercase form", s, len);

		rc = spiffeid_parse(low, strlen(low), &id, "id", &why);
		check_case(rc == RC_OK, "lowercase form accepted", low,
		    strlen(low));
	}
}

static void
run_upper_tds(const json_t *list)
{
	char		 td[SPIFFEID_TD_MAX + 1];
	char		 quoted[SPIFFEID_TD_MAX + 3];
	struct rc_why	 why;
	const json_t	*v;
	size_t		 i, len;
	const char	*s, *low;
	enum rc		 rc;

	json_array_foreach(list, i, v) {
		const json_t *j = json_object_get(v, "td");

		s = json_string_value(j);
		len = json_string_length(j);
		low = json_string_value(json_object_get(v, "lowercase_form"));
		rc_why_clear(&why);
		rc = spiffeid_td_parse(s, len, td, "td", &why);
		(void)snprintf(quoted, sizeof(quoted), "\"%s\"", low);
		check_case(rc == RC_BAD_REQUEST && why.rule != NULL &&
		    strcmp(why.rule, "ID-05") == 0 &&
		    strstr(why.detail, quoted) != NULL,
		    "upper-case td refused naming its lowercase form", s, len);
	}
}

static void
run_no_path(const json_t *list)
{
	struct spiffeid	 id;
	struct rc_why	 why;
	const json_t	*v;
	size_t		 i, len;
	const char	*s;
	enum rc		 rc;

	json_array_foreach(list, i, v) {
		s = json_string_value(v);
		len = json_string_length(v);
		rc = spiffeid_parse(s, len, &id, "id", &why);
		check_case(rc == RC_OK && !spiffeid_has_path(&id) &&
		    strcmp(spiffeid_get0_path(&id), "") == 0 &&
		    id.td_len == len - SPIFFEID_SCHEME_LEN,
		    "trust-domain id accepted, has no path", s, len);
	}
}

/*
 * Length cases: "accept" must parse; the 2049-byte ID is one we refuse
 * (the vectors let a parser choose; ID-14) and the 256-byte trust domain
 * is over the stated maximum (ID-15).
 */
static void
run_lengths(const json_t *list)
{
	struct spiffeid	 id;
	char		 td[SPIFFEID_TD_MAX + 1];
	struct rc_why	 why;
	const json_t	*v, *j;
	size_t		 i, len;
	const char	*s, *kind, *expect;
	enum rc		 rc;
	bool		 accept, is_id;

	json_array_foreach(list, i, v) {
		j = json_object_get(v, "value");
		s = json_string_value(j);
		len = json_string_length(j);
		kind = json_string_value(json_object_get(v, "kind"));
		expect = json_string_value(json_object_get(v, "expect"));
		is_id = strcmp(kind, "spiffe_id") == 0;
		accept = strcmp(expect, "accept") == 0;

		check_case(len == (size_t)json_integer_value(
		    json_object_get(v, "length")), "vector length", s, len);

		rc_why_clear(&why);
		if (is_id)
			rc = spiffeid_parse(s, len, &id, "id", &why);
		else
			rc = spiffeid_td_parse(s, len, td, "td", &why);
		if (accept)
			check_case(rc == RC_OK, "length accepted", s, len);
		else
			check_case(rc == RC_BAD_REQUEST && why.rule != NULL &&
			    strcmp(why.rule, is_id ? "ID-14" : "ID-15") == 0,
			    "over-long refused", s, len);
	}
}

static void
run_td_from_id(const json_t *list)
{
	struct spiffeid	 id;
	char		 td[SPIFFEID_TD_MAX + 1];
	struct rc_why	 why;
	const json_t	*v, *j, *want;
	size_t		 i, len;
	const char	*s;
	enum rc		 rc;

	json_array_foreach(list, i, v) {
		j = json_object_get(v, "input");
		s = json_string_value(j);
		len = json_string_length(j);
		want = json_object_get(v, "trust_domain");
		rc = spiffeid_parse(s, len, &id, "id", &why);
		if (json_is_null(want)) {
			check_case(rc == RC_BAD_REQUEST,
			    "no trust domain from invalid id", s, len);
			continue;
		}
		memset(td, 'x', sizeof(td));
		if (rc == RC_OK)
			spiffeid_get_td(&id, td);
		check_case(rc == RC_OK &&
		    strcmp(td, json_string_value(want)) == 0 &&
		    spiffeid_is_in_td(&id, json_string_value(want)),
		    "trust domain from id", s, len);
	}
}

static void
run_vectors(void)
{
	json_t		*root = NULL;
	json_error_t	 err;
	char		*path;

	path = check_shared_path("conformance/spiffeid-vectors.json");
	if (path != NULL)
		root = json_load_file(path, JSON_ALLOW_NUL, &err);
	CHECK(root != NULL, "vectors load");
	if (root == NULL) {
		fprintf(stderr, "# %s: %s\n", path ? path : "?", err.text);
		free(path);
		return;
	}

	CHECK(json_array_size(json_object_get(root, "valid_ids")) > 0,
	    "vectors have valid_ids");
	CHECK(json_array_size(json_object_get(root, "invalid_ids")) > 0,
	    "vectors have invalid_ids");
	run_valid_ids(json_object_get(root, "valid_ids"));
	run_invalid_ids(json_object_get(root, "invalid_ids"));
	run_valid_tds(json_object_get(root, "valid_trust_domains"));
	run_invalid_tds(json_object_get(root, "invalid_trust_domains"));
	run_upper_ids(json_object_get(root, "uppercase_ids"));
	run_upper_tds(json_object_get(root, "uppercase_trust_domains"));
	run_no_path(json_object_get(root, "valid_ids_not_for_leaf_svid"));
	run_lengths(json_object_get(root, "length_cases"));
	run_td_from_id(json_object_get(root, "trust_domain_from_id"));

	json_decref(root);
	free(path);
}

/* Parse s[0..len) and expect a refusal under exactly rule. */
static void
expect_id_rule(const char *s, size_t len, const char *rule)
{
	struct spiffeid	 id;
	struct rc_why	 why;
	enum rc		 rc;
	char		 what[64];

	rc_why_clear(&why);
	rc = spiffeid_parse(s, len, &id, "spiffe_id", &why);
	(void)snprintf(what, sizeof(what), "refused under %s:", rule);
	check_case(is_refusal(rc, &why, "spiffe_id") &&
	    strcmp(why.rule, rule) == 0, what, s, len);
	if (rc != RC_OK && why.rule != NULL && strcmp(why.rule, rule) != 0)
		printf("# got %s: %s\n", why.rule, why.detail);
}

static void
expect_td_rule(const char *s, size_t len, const char *rule)
{
	char		 td[SPIFFEID_TD_MAX + 1];
	struct rc_why	 why;
	enum rc		 rc;
	char		 what[64];

	rc_why_clear(&why);
	rc = spiffeid_td_parse(s, len, td, "trust_domain", &why);
	(void)snprintf(what, sizeof(what), "td refused under %s:", rule);
	check_case(is_refusal(rc, &why, "trust_domain") &&
	    strcmp(why.rule, rule) == 0, what, s, len);
	if (rc != RC_OK && why.rule != NULL && strcmp(why.rule, rule) != 0)
		printf("# got %s: %s\n", why.rule, why.detail);
}

#define RULE(s, r)	expect_id_rule((s), sizeof(s) - 1, (r))
#define TD_RULE(s, r)	expect_td_rule((s), sizeof(s) - 1, (r))

static void
test_rules(void)
{
	static char	 big[SPIFFEID_MAX + 2];
	static char	 bigtd[SPIFFEID_TD_MAX + 2];
	struct spiffeid	 id;
	struct rc_why	 why;
	enum rc		 rc;

	RULE("", "ID-01");
	RULE("http://example.org/a", "ID-01");
	RULE("spiffe:/example.org/a", "ID-01");
	RULE("spiffe:", "ID-01");
	RULE("xspiffe://example.org/a", "ID-01");
	RULE("spiffe://", "ID-02");
	RULE("spiffe:///a", "ID-02");
	RULE("Spiffe://", "ID-02");
	RULE("spiffe://example.org?x=1", "ID-03");
	RULE("spiffe://example.org/a?", "ID-03");
	RULE("spiffe://example.org/a#frag", "ID-03");
	RULE("spiffe://user@example.org/a", "ID-04");
	RULE("spiffe://example.org:8080/a", "ID-04");
	RULE("spiffe://example.org:/a", "ID-04");
	RULE("spiffe://exa$mple.org/a", "ID-06");
	RULE("spiffe://ex~ample.org/a", "ID-06");
	RULE("spiffe://exa\0mple.org/a", "ID-06");
	RULE("spiffe://example.org\0/a", "ID-06");
	RULE("spiffe://example%2eorg/a", "ID-07");
	RULE("spiffe://[::1]/a", "ID-08");
	RULE("spiffe://example.org/foo%2Fbar", "ID-09");
	RULE("spiffe://example.org//a", "ID-10");
	RULE("spiffe://example.org/a//b", "ID-10");
	RULE("spiffe://example.org/./a", "ID-10");
	RULE("spiffe://example.org/a/..", "ID-10");
	RULE("spiffe://example.org/..", "ID-10");
	RULE("spiffe://example.org/", "ID-11");
	RULE("spiffe://example.org/a/", "ID-11");
	RULE("spiffe://example.org/a~b", "ID-12");
	RULE("spiffe://example.org/a\0", "ID-12");
	RULE("spiffe://example.org/a\0b", "ID-12");
	RULE("spiffe://example.org/a b", "ID-12");
	RULE("SPIFFE://example.org/a", "ID-13");
	RULE("spiffe://Example.org/a", "ID-05");
	RULE("SPIFFE://EXAMPLE.ORG/a/", "ID-11");
	RULE("spiffe://EXAMPLE.ORG/a%20", "ID-09");

	/* "Segments that merely contain dots are fine" (ID-10). */
	rc = spiffeid_parse("spiffe://a/.x/..y/...", 21, &id, NULL, &why);
	CHECK(rc == RC_OK, "dotted segments that are not . or .. accepted");

	/* The explicit length rules, not a NUL: a prefix is a valid ID. */
	rc = spiffeid_parse("spiffe://example.org/a/b", 22, &id, NULL, &why);
	CHECK(rc == RC_OK && strcmp(id.str, "spiffe://example.org/a") == 0,
	    "length, not NUL, ends the input");

	/* The detail of the upper-case example in the brief. */
	rc = spiffeid_parse("SPIFFE://EXAMPLE.ORG/MyService", 30, &id, "id",
	    &why);
	CHECK(rc == RC_BAD_REQUEST && strstr(why.detail, "trust domain must "
	    "be lowercase: use \"spiffe://example.org/MyService\"") != NULL,
	    "upper-case detail names the lowercase form");
	rc = spiffeid_parse("SPIFFE://example.org/MyService", 30, &id, "id",
	    &why);
	CHECK(rc == RC_BAD_REQUEST && strstr(why.detail, "scheme must "
	    "be lowercase: use \"spiffe://example.org/MyService\"") != NULL,
	    "upper-case scheme detail names the lowercase form");

	/* ID-14: 2048 bytes accepted, 2049 refused. */
	memcpy(big, "spiffe://example.org/", 21);
	memset(big + 21, 'a', sizeof(big) - 21);
	rc = spiffeid_parse(big, SPIFFEID_MAX, &id, NULL, &why);
	CHECK(rc == RC_OK && id.len == SPIFFEID_MAX && id.str[2048] == '\0',
	    "2048-byte id accepted");
	expect_id_rule(big, SPIFFEID_MAX + 1, "ID-14");

	/* An upper-case ID too long to quote names the trust domain. */
	memcpy(big, "spiffe://Example.org/", 21);
	rc = spiffeid_parse(big, 1000, &id, "id", &why);
	CHECK(rc == RC_BAD_REQUEST && strcmp(why.rule, "ID-05") == 0 &&
	    strstr(why.detail, "\"spiffe://example.org\" followed by the "
	    "same path") != NULL, "long upper-case id: detail names the td");

	/* ID-15 inside an ID: 255 bytes of trust domain fit, 256 do not. */
	memcpy(big, "spiffe://", 9);
	memset(big + 9, 'a', 256);
	memcpy(big + 9 + 256, "/x", 2);
	expect_id_rule(big, 9 + 256 + 2, "ID-15");
	memmove(big + 9 + 255, big + 9 + 256, 2);
	rc = spiffeid_parse(big, 9 + 255 + 2, &id, NULL, &why);
	CHECK(rc == RC_OK && id.td_len == 255, "255-byte td in an id");

	TD_RULE("", "ID-02");
	TD_RULE("spiffe://example.org", "ID-06");
	TD_RULE("SPIFFE://example.org", "ID-06");
	TD_RULE("example.org/a", "ID-06");
	TD_RULE("exa\0mple.org", "ID-06");
	TD_RULE("example.org\0", "ID-06");
	TD_RULE("example.org:443", "ID-04");
	TD_RULE("user@example.org", "ID-04");
	TD_RULE("example.org?q", "ID-03");
	TD_RULE("%41", "ID-07");
	TD_RULE("[::1]", "ID-08");
	TD_RULE("Example.org", "ID-05");
	memset(bigtd, 'a', sizeof(bigtd));
	expect_td_rule(bigtd, SPIFFEID_TD_MAX + 1, "ID-15");

	rc = spiffeid_td_parse("spiffe://example.org", 20, bigtd, "td", &why);
	CHECK(rc == RC_BAD_REQUEST && strstr(why.detail, "bare") != NULL,
	    "an ID given as a td: detail says a bare name is wanted");
	rc = spiffeid_td_parse("EXAMPLE.org", 11, bigtd, "td", &why);
	CHECK(rc == RC_BAD_REQUEST && strstr(why.detail, "trust domain must "
	    "be lowercase: use \"example.org\"") != NULL,
	    "upper-case td detail names the lowercase form");

	/* A NULL why is allowed: the rc alone still tells. */
	rc = spiffeid_parse("spiffe://", 9, &id, NULL, NULL);
	CHECK(rc == RC_BAD_REQUEST, "NULL why: refusal still returned");
}

static void
test_from_parts(void)
{
	static char	 path[SPIFFEID_MAX + 1];
	struct spiffeid	 id;
	struct rc_why	 why;
	enum rc		 rc;

	rc = spiffeid_from_parts("example.org", "/ns/prod/sa/web", &id, &why);
	CHECK(rc == RC_OK &&
	    strcmp(id.str, "spiffe://example.org/ns/prod/sa/web") == 0 &&
	    id.len == 35 && id.td_len == 11 &&
	    strcmp(spiffeid_get0_path(&id), "/ns/prod/sa/web") == 0 &&
	    spiffeid_has_path(&id), "from_parts: td and path");

	rc = spiffeid_from_parts("example.org", "", &id, &why);
	CHECK(rc == RC_OK && strcmp(id.str, "spiffe://example.org") == 0 &&
	    !spiffeid_has_path(&id), "from_parts: empty path");

	rc = spiffeid_from_parts("example.org", NULL, &id, &why);
	CHECK(rc == RC_OK && strcmp(id.str, "spiffe://example.org") == 0,
	    "from_parts: NULL path");

	rc = spiffeid_from_parts("Example.org", "/a", &id, &why);
	CHECK(rc == RC_BAD_REQUEST && strcmp(why.rule, "ID-05") == 0 &&
	    strcmp(why.field, "trust_domain") == 0 && id.len == 0,
	    "from_parts: upper-case td refused");

	rc = spiffeid_from_parts("", "/a", &id, &why);
	CHECK(rc == RC_BAD_REQUEST && strcmp(why.rule, "ID-02") == 0,
	    "from_parts: empty td refused");

	rc = spiffeid_from_parts(NULL, "/a", &id, &why);
	CHECK(rc == RC_BAD_REQUEST && strcmp(why.rule, "ID-02") == 0,
	    "from_parts: NULL td refused");

	rc = spiffeid_from_parts("example.org", "a", &id, &why);
	CHECK(rc == RC_BAD_REQUEST && strcmp(why.rule, "ID-12") == 0 &&
	    strcmp(why.field, "path") == 0,
	    "from_parts: path without leading '/' refused");

	rc = spiffeid_from_parts("example.org", "/a/", &id, &why);
	CHECK(rc == RC_BAD_REQUEST && strcmp(why.rule, "ID-11") == 0 &&
	    strcmp(why.field, "path") == 0,
	    "from_parts: trailing '/' refused");

	rc = spiffeid_from_parts("example.org", "/a/../b", &id, &why);
	CHECK(rc == RC_BAD_REQUEST && strcmp(why.rule, "ID-10") == 0,
	    "from_parts: dot segment refused");

	path[0] = '/';
	memset(path + 1, 'p', SPIFFEID_MAX - 1);
	path[SPIFFEID_MAX - 9 - 11] = '\0';
	rc = spiffeid_from_parts("example.org", path, &id, &why);
	CHECK(rc == RC_OK && id.len == SPIFFEID_MAX,
	    "from_parts: 2048 bytes in all accepted");
	path[SPIFFEID_MAX - 9 - 11] = 'p';
	path[SPIFFEID_MAX - 9 - 10] = '\0';
	rc = spiffeid_from_parts("example.org", path, &id, &why);
	CHECK(rc == RC_BAD_REQUEST && strcmp(why.rule, "ID-14") == 0,
	    "from_parts: 2049 bytes refused");
}

static void
test_compare(void)
{
	struct spiffeid	 a, b, c, d, t;
	struct rc_why	 why;
	bool		 ok;

	ok = spiffeid_parse("spiffe://example.org/Service", 28, &a, NULL,
	    &why) == RC_OK;
	ok = ok && spiffeid_parse("spiffe://example.org/Service", 28, &b,
	    NULL, &why) == RC_OK;
	ok = ok && spiffeid_parse("spiffe://example.org/service", 28, &c,
	    NULL, &why) == RC_OK;
	ok = ok && spiffeid_parse("spiffe://example.org/Service2", 29, &d,
	    NULL, &why) == RC_OK;
	ok = ok && spiffeid_parse("spiffe://example.org", 20, &t, NULL,
	    &why) == RC_OK;
	CHECK(ok, "comparison fixtures parse");
	if (!ok)
		return;

	CHECK(spiffeid_is_equal(&a, &b), "equal ids compare equal");
	CHECK(!spiffeid_is_equal(&a, &c), "path compares case-sensitively");
	CHECK(!spiffeid_is_equal(&a, &d), "prefix is not equal");
	CHECK(!spiffeid_is_equal(&d, &a), "longer is not equal");
	CHECK(!spiffeid_is_equal(&a, &t), "id and its td id differ");

	CHECK(spiffeid_is_in_td(&a, "example.org"), "is_in_td: own td");
	CHECK(spiffeid_is_in_td(&t, "example.org"), "is_in_td: td id");
	CHECK(!spiffeid_is_in_td(&a, "example.or"), "is_in_td: prefix");
	CHECK(!spiffeid_is_in_td(&a, "example.org."), "is_in_td: longer");
	CHECK(!spiffeid_is_in_td(&a, "EXAMPLE.ORG"), "is_in_td: case");
	CHECK(!spiffeid_is_in_td(&a, "example.org/Service"),
	    "is_in_td: whole id is not a td");
	CHECK(!spiffeid_is_in_td(&a, ""), "is_in_td: empty");
	CHECK(!spiffeid_is_in_td(&a, NULL), "is_in_td: NULL");
}

int
main(void)
{
	run_vectors();
	test_rules();
	test_from_parts();
	test_compare();
	return check_done();
}
