/*
 * test_entry.c: the rules of a registration entry (ca/entry.c) and its
 * JSON codec (api/entry_json.c).  Every refusal is checked for its exact
 * code, field and rule; every ID of the shared SPIFFE ID vectors is run
 * through an entry, as spiffe_id and as parent_id.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../api/entry_json.h"
#include "../../ca/entry.h"
#include "../../ca/spiffeid.h"
#include "check.h"

#define TD	"example.org"

static const struct entry_limits lim = { TD, 86400, 3600 };

/* A good entry, built fresh for each case (static storage only). */
static char *good_dns[] = { "web.example.org", "*.web.example.org" };
static char *good_fed[] = { "partner.test", "other.test" };

struct fixture {
	struct store_entry	 e;
	struct store_selector	 sel[ENTRY_SELECTORS_MAX + 2];
	char			*dns[ENTRY_DNS_NAMES_MAX + 2];
	char			*fed[ENTRY_FEDERATES_MAX + 2];
};

static void
fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->sel[0].type = "unix";
	f->sel[0].value = "uid:1000";
	f->sel[1].type = "unix";
	f->sel[1].value = "gid:1000";
	f->dns[0] = good_dns[0];
	f->dns[1] = good_dns[1];
	f->fed[0] = good_fed[0];
	f->fed[1] = good_fed[1];
	f->e.spiffe_id = "spiffe://" TD "/web";
	f->e.parent_id = "spiffe://" TD "/svidca/agent/join_token/abc";
	f->e.selectors = f->sel;
	f->e.n_selectors = 2;
	f->e.x509_svid_ttl = 3600;
	f->e.jwt_svid_ttl = 300;
	f->e.dns_names = f->dns;
	f->e.n_dns_names = 2;
	f->e.federates_with = f->fed;
	f->e.n_federates_with = 2;
	f->e.expires_at = 0;
	f->e.hint = "web";
}

static bool
is_str(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Judge f's entry and compare code, field and rule with the expected. */
static void
expect(struct fixture *f, enum rc code, const char *field, const char *rule,
    const char *what)
{
	struct rc_why why;
	enum rc rc;
	bool ok;

	rc_why_clear(&why);
	rc = entry_check(&f->e, &lim, &why);
	if (code == RC_OK)
		ok = rc == RC_OK;
	else
		ok = rc == code && why.code == code &&
		    is_str(why.field, field) && is_str(why.rule, rule) &&
		    why.detail[0] != '\0';
	CHECK(ok, what);
	if (!ok)
		printf("# got rc=%d field=%s rule=%s detail=%s\n", rc,
		    why.field ? why.field : "-", why.rule ? why.rule : "-",
		    why.detail);
}

/* A string of n copies of c, static storage reused per call site. */
static char *
fill(char *buf, size_t n, char c)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void
test_good(void)
{
	struct fixture f;

	fixture_init(&f);
	expect(&f, RC_OK, NULL, NULL, "a full entry passes");

	fixture_init(&f);
	f.e.dns_names = NULL;
	f.e.n_dns_names = 0;
	f.e.federates_with = NULL;
	f.e.n_federates_with = 0;
	f.e.hint = NULL;
	f.e.x509_svid_ttl = 0;
	f.e.jwt_svid_ttl = 0;
	f.e.n_selectors = 1;
	expect(&f, RC_OK, NULL, NULL, "a minimal entry passes");

	fixture_init(&f);
	f.e.parent_id = "spiffe://" TD;
	expect(&f, RC_OK, NULL, NULL, "parent_id may be the trust domain ID");

	fixture_init(&f);
	f.e.x509_svid_ttl = lim.x509_svid_ttl_max;
	f.e.jwt_svid_ttl = lim.jwt_svid_ttl_max;
	expect(&f, RC_OK, NULL, NULL, "TTLs at the maximum pass");

	fixture_init(&f);
	f.e.expires_at = 1767225600;
	expect(&f, RC_OK, NULL, NULL, "expires_at in the future passes");
}

static void
test_ids(void)
{
	struct fixture f;
	char buf[STORE_ENTRY_ID_MAX + 2];

	fixture_init(&f);
	(void)snprintf(f.e.id, sizeof(f.e.id), "%s", "web-01_a.B");
	expect(&f, RC_OK, NULL, NULL, "caller's ID of A-Za-z0-9._- passes");

	fixture_init(&f);
	memcpy(f.e.id, fill(buf, STORE_ENTRY_ID_MAX, 'a'),
	    STORE_ENTRY_ID_MAX + 1);
	expect(&f, RC_OK, NULL, NULL, "64-byte ID passes");

	fixture_init(&f);
	(void)snprintf(f.e.id, sizeof(f.e.id), "%s", "a/b");
	expect(&f, RC_BAD_REQUEST, "id", "ENTRY-10", "ID with '/' refused");

	fixture_init(&f);
	(void)snprintf(f.e.id, sizeof(f.e.id), "%s", "a b");
	expect(&f, RC_BAD_REQUEST, "id", "ENTRY-10", "ID with space refused");

	fixture_init(&f);
	memset(f.e.id, 'a', sizeof(f.e.id));
	expect(&f, RC_BAD_REQUEST, "id", "ENTRY-10",
	    "unterminated ID refused");

	CHECK(entry_id_check("x", 1, "id", NULL) == RC_OK, "ID 'x' passes");
	CHECK(entry_id_check("", 0, "id", NULL) == RC_BAD_REQUEST,
	    "empty ID refused by entry_id_check");
	fill(buf, STORE_ENTRY_ID_MAX + 1, 'a');
	CHECK(entry_id_check(buf, STORE_ENTRY_ID_MAX + 1, "id", NULL) ==
	    RC_BAD_REQUEST, "65-byte ID refused");
	CHECK(entry_id_check("a\0b", 3, "id", NULL) == RC_BAD_REQUEST,
	    "ID with NUL refused");
	CHECK(entry_id_check("caf\xc3\xa9", 5, "id", NULL) == RC_BAD_REQUEST,
	    "ID with UTF-8 refused");
	CHECK(entry_id_check("count", 5, "id", NULL) == RC_BAD_REQUEST &&
	    entry_id_check("batch-delete", 12, "id", NULL) ==
	    RC_BAD_REQUEST, "route names refused as IDs");
	CHECK(entry_id_check("counts", 6, "id", NULL) == RC_OK &&
	    entry_id_check("coun", 4, "id", NULL) == RC_OK,
	    "names near the route names pass");
	fixture_init(&f);
	(void)snprintf(f.e.id, sizeof(f.e.id), "%s", "count");
	expect(&f, RC_BAD_REQUEST, "id", "ENTRY-10", "ID \"count\" refused");
	CHECK(entry_id_check(".", 1, "id", NULL) == RC_BAD_REQUEST &&
	    entry_id_check("..", 2, "id", NULL) == RC_BAD_REQUEST &&
	    entry_id_check(".hidden", 7, "id", NULL) == RC_BAD_REQUEST,
	    "IDs with a leading dot refused");
	CHECK(entry_id_check("a.b", 3, "id", NULL) == RC_OK &&
	    entry_id_check("a.", 2, "id", NULL) == RC_OK,
	    "dots after the first byte pass");
	fixture_init(&f);
	(void)snprintf(f.e.id, sizeof(f.e.id), "%s", "..");
	expect(&f, RC_BAD_REQUEST, "id", "ENTRY-10", "ID \"..\" refused");
}

static void
test_spiffe_ids(void)
{
	struct fixture f;

	fixture_init(&f);
	f.e.spiffe_id = NULL;
	expect(&f, RC_BAD_REQUEST, "spiffe_id", "ENTRY-02",
	    "missing spiffe_id refused");

	fixture_init(&f);
	f.e.parent_id = NULL;
	expect(&f, RC_BAD_REQUEST, "parent_id", "ENTRY-02",
	    "missing parent_id refused");

	fixture_init(&f);
	f.e.spiffe_id = "spiffe://partner.test/web";
	expect(&f, RC_BAD_REQUEST, "spiffe_id", "ENTRY-01",
	    "foreign spiffe_id refused");

	fixture_init(&f);
	f.e.parent_id = "spiffe://partner.test/agent";
	expect(&f, RC_BAD_REQUEST, "parent_id", "ENTRY-01",
	    "foreign parent_id refused");

	fixture_init(&f);
	f.e.spiffe_id = "spiffe://example.org.evil/web";
	expect(&f, RC_BAD_REQUEST, "spiffe_id", "ENTRY-01",
	    "trust domain with our name as prefix refused");

	fixture_init(&f);
	f.e.spiffe_id = "spiffe://" TD;
	expect(&f, RC_BAD_REQUEST, "spiffe_id", "X5-18",
	    "spiffe_id without a path refused");

	fixture_init(&f);
	f.e.spiffe_id = "spiffe://" TD "/web/";
	expect(&f, RC_BAD_REQUEST, "spiffe_id", "ID-11",
	    "spiffe_id with trailing slash refused under ID-11");

	fixture_init(&f);
	f.e.parent_id = "spiffe://EXAMPLE.org/agent";
	expect(&f, RC_BAD_REQUEST, "parent_id", "ID-05",
	    "upper-case parent_id refused under ID-05");
}

static void
test_selectors(void)
{
	struct fixture f;
	char buf[ENTRY_SELECTOR_VALUE_MAX + 2];
	size_t i;

	fixture_init(&f);
	f.e.n_selectors = 0;
	expect(&f, RC_BAD_REQUEST, "selectors", "ENTRY-03",
	    "no selector refused");

	fixture_init(&f);
	for (i = 0; i < ENTRY_SELECTORS_MAX + 1; i++) {
		f.sel[i].type = "t";
		f.sel[i].value = "v";
	}
	f.e.n_selectors = ENTRY_SELECTORS_MAX + 1;
	expect(&f, RC_TOO_LARGE, "selectors", "ENTRY-03",
	    "65 selectors refused as too large");

	fixture_init(&f);
	f.sel[1].type = "";
	expect(&f, RC_BAD_REQUEST, "selectors[1].type", "ENTRY-04",
	    "empty selector type refused");

	fixture_init(&f);
	f.sel[1].type = NULL;
	expect(&f, RC_BAD_REQUEST, "selectors[1].type", "ENTRY-04",
	    "missing selector type refused");

	fixture_init(&f);
	f.sel[0].type = fill(buf, ENTRY_SELECTOR_TYPE_MAX + 1, 't');
	expect(&f, RC_BAD_REQUEST, "selectors[0].type", "ENTRY-04",
	    "65-byte selector type refused");

	fixture_init(&f);
	f.sel[0].type = fill(buf, ENTRY_SELECTOR_TYPE_MAX, 't');
	expect(&f, RC_OK, NULL, NULL, "64-byte selector type passes");

	fixture_init(&f);
	f.sel[0].type = "unix:uid";
	expect(&f, RC_BAD_REQUEST, "selectors[0].type", "ENTRY-04",
	    "selector type with ':' refused");

	fixture_init(&f);
	f.sel[1].value = "";
	expect(&f, RC_BAD_REQUEST, "selectors[1].value", "ENTRY-05",
	    "empty selector value refused");

	fixture_init(&f);
	f.sel[0].value = NULL;
	expect(&f, RC_BAD_REQUEST, "selectors[0].value", "ENTRY-05",
	    "missing selector value refused");

	fixture_init(&f);
	f.sel[1].value = fill(buf, ENTRY_SELECTOR_VALUE_MAX + 1, 'v');
	expect(&f, RC_BAD_REQUEST, "selectors[1].value", "ENTRY-05",
	    "1025-byte selector value refused");

	fixture_init(&f);
	f.sel[1].value = fill(buf, ENTRY_SELECTOR_VALUE_MAX, 'v');
	expect(&f, RC_OK, NULL, NULL, "1024-byte selector value passes");

	fixture_init(&f);
	f.sel[2].type = "unix";
	f.sel[2].value = "uid:1000";
	f.e.n_selectors = 3;
	expect(&f, RC_BAD_REQUEST, "selectors[2]", "ENTRY-06",
	    "duplicate selector refused");

	fixture_init(&f);
	f.sel[1].type = "docker";
	f.sel[1].value = "uid:1000";
	expect(&f, RC_OK, NULL, NULL, "same value under two types passes");
}

static void
test_ttls(void)
{
	struct fixture f;

	fixture_init(&f);
	f.e.x509_svid_ttl = -1;
	expect(&f, RC_BAD_REQUEST, "x509_svid_ttl", "ENTRY-07",
	    "negative x509_svid_ttl refused");

	fixture_init(&f);
	f.e.x509_svid_ttl = lim.x509_svid_ttl_max + 1;
	expect(&f, RC_BAD_REQUEST, "x509_svid_ttl", "ENTRY-07",
	    "x509_svid_ttl above the maximum refused");

	fixture_init(&f);
	f.e.jwt_svid_ttl = -5;
	expect(&f, RC_BAD_REQUEST, "jwt_svid_ttl", "ENTRY-07",
	    "negative jwt_svid_ttl refused");

	fixture_init(&f);
	f.e.jwt_svid_ttl = 1L << 40;
	expect(&f, RC_BAD_REQUEST, "jwt_svid_ttl", "ENTRY-07",
	    "huge jwt_svid_ttl refused");
}

/* A label of 63 bytes (the most, RFC 1035 2.3.4) and one of 64. */
#define L16	"aaaaaaaaaaaaaaaa"
static const char label63[] = L16 L16 L16 "aaaaaaaaaaaaaaa.org";
static const char label64[] = L16 L16 L16 L16 ".org";

static void
test_dns(void)
{
	static const char *good[] = {
		"a", "web", "web.example.org", "1.example.org", "x-1.y",
		"123", "*.example.org", "A.Example.ORG", label63,
	};
	static const char *bad[] = {
		"", ".", "a.", ".a", "a..b", "-a.org", "a-.org", "a_b.org",
		"a b", "a.org.", "*", "*.", "a.*.org", "**.org", "*a.org",
		"caf\xc3\xa9.org", "a:80", "a/b", "[::1]", label64,
	};
	struct fixture f;
	char buf[CERT_DNS_NAME_MAX + 2], what[96];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		(void)snprintf(what, sizeof(what), "DNS name \"%s\" passes",
		    good[i]);
		CHECK(entry_dns_name_is_valid(good[i], strlen(good[i])), what);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(what, sizeof(what), "DNS name \"%s\" refused",
		    bad[i]);
		CHECK(!entry_dns_name_is_valid(bad[i], strlen(bad[i])), what);
		fixture_init(&f);
		f.dns[1] = (char *)bad[i];
		expect(&f, RC_BAD_REQUEST, "dns_names[1]", "RFC 1123 2.1",
		    what);
	}

	/* 253 bytes: labels of 63 + 63 + 63 + 61 and dots. */
	memset(buf, 'a', 253);
	buf[63] = buf[127] = buf[191] = '.';
	buf[253] = '\0';
	CHECK(entry_dns_name_is_valid(buf, 253), "253-byte DNS name passes");
	buf[253] = 'a';
	buf[254] = '\0';
	CHECK(!entry_dns_name_is_valid(buf, 254), "254-byte DNS name refused");

	fixture_init(&f);
	for (i = 0; i < ENTRY_DNS_NAMES_MAX + 1; i++)
		f.dns[i] = good_dns[0];
	f.e.n_dns_names = ENTRY_DNS_NAMES_MAX + 1;
	expect(&f, RC_TOO_LARGE, "dns_names", "ENTRY-08",
	    "65 DNS names refused as too large");

	fixture_init(&f);
	f.dns[1] = "WEB.example.org";
	expect(&f, RC_BAD_REQUEST, "dns_names[1]", "ENTRY-08",
	    "DNS name repeated in another case refused");
}

static void
test_federates(void)
{
	struct fixture f;
	size_t i;

	fixture_init(&f);
	f.fed[1] = TD;
	expect(&f, RC_BAD_REQUEST, "federates_with[1]", "ENTRY-09",
	    "federating with our own trust domain refused");

	fixture_init(&f);
	f.fed[1] = "partner.test";
	expect(&f, RC_BAD_REQUEST, "federates_with[1]", "ENTRY-09",
	    "repeated trust domain refused");

	fixture_init(&f);
	f.fed[0] = "Partner.test";
	expect(&f, RC_BAD_REQUEST, "federates_with[0]", "ID-05",
	    "upper-case trust domain refused under ID-05");

	fixture_init(&f);
	f.fed[0] = "spiffe://partner.test";
	expect(&f, RC_BAD_REQUEST, "federates_with[0]", "ID-06",
	    "a SPIFFE ID where a bare name belongs refused (ID-06)");

	fixture_init(&f);
	f.fed[0] = "";
	expect(&f, RC_BAD_REQUEST, "federates_with[0]", "ID-02",
	    "empty trust domain refused under ID-02");

	fixture_init(&f);
	for (i = 0; i < ENTRY_FEDERATES_MAX + 1; i++)
		f.fed[i] = good_fed[0];
	f.e.n_federates_with = ENTRY_FEDERATES_MAX + 1;
	expect(&f, RC_TOO_LARGE, "federates_with", "ENTRY-09",
	    "65 trust domains refused as too large");
}

static void
test_misc(void)
{
	struct fixture f;
	char buf[ENTRY_HINT_MAX + 2];

	fixture_init(&f);
	f.e.expires_at = -1;
	expect(&f, RC_BAD_REQUEST, "expires_at", "ENTRY-11",
	    "negative expires_at refused");

	fixture_init(&f);
	f.e.hint = fill(buf, ENTRY_HINT_MAX + 1, 'h');
	expect(&f, RC_BAD_REQUEST, "hint", "ENTRY-12",
	    "1025-byte hint refused");

	fixture_init(&f);
	f.e.hint = fill(buf, ENTRY_HINT_MAX, 'h');
	expect(&f, RC_OK, NULL, NULL, "1024-byte hint passes");
}

/* ---- the shared SPIFFE ID vectors ----------------------------------- */

/* Run s[0..len) as spiffe_id and parent_id through JSON and the rules. */
static void
run_id_as_entry(const char *s, size_t len, const char *member,
    enum rc want, const char *want_rule, const char *what)
{
	struct store_entry e;
	struct rc_why why;
	json_t *o;
	enum rc rc;
	bool ok;

	memset(&e, 0, sizeof(e));
	rc_why_clear(&why);
	o = json_pack("{s:s, s:s, s:[{s:s, s:s}]}",
	    "spiffe_id", "spiffe://" TD "/web",
	    "parent_id", "spiffe://" TD "/agent",
	    "selectors", "type", "unix", "value", "uid:0");
	if (o == NULL || json_object_set_new(o, member, json_stringn(s, len))
	    != 0) {
		CHECK(false, "build vector JSON");
		json_decref(o);
		return;
	}
	rc = api_entry_from_json(o, false, &e, NULL, &why);
	if (rc == RC_OK)
		rc = entry_check(&e, &lim, &why);
	if (want == RC_OK)
		ok = rc == RC_OK;
	else if (want_rule != NULL)
		ok = rc == want && is_str(why.field, member) &&
		    is_str(why.rule, want_rule);
	else
		ok = rc == want && is_str(why.field, member) &&
		    why.rule != NULL && strncmp(why.rule, "ID-", 3) == 0;
	CHECK(ok, what);
	if (!ok)
		printf("# %s=%.*s: rc=%d field=%s rule=%s %s\n", member,
		    (int)(len > 80 ? 80 : len), s, rc,
		    why.field ? why.field : "-", why.rule ? why.rule : "-",
		    why.detail);
	store_entry_clear(&e);
	json_decref(o);
}

static void
run_vector_ids(json_t *list, const char *key, bool invalid)
{
	struct spiffeid id;
	struct rc_why why;
	const char *s, *rule;
	json_t *v, *j;
	size_t i, len, n = 0, bad = 0;
	enum rc want;
	int before;

	json_array_foreach(list, i, v) {
		j = key == NULL ? v : json_object_get(v, key);
		s = json_string_value(j);
		len = json_string_length(j);
		if (s == NULL)
			continue;
		before = check_failed;
		if (invalid) {
			run_id_as_entry(s, len, "spiffe_id", RC_BAD_REQUEST,
			    NULL, "invalid vector refused as spiffe_id");
			run_id_as_entry(s, len, "parent_id", RC_BAD_REQUEST,
			    NULL, "invalid vector refused as parent_id");
		} else {
			/* Valid: ours with a path passes; else which rule. */
			if (spiffeid_parse(s, len, &id, "x", &why) != RC_OK)
				continue;
			want = RC_OK;
			rule = NULL;
			if (!spiffeid_is_in_td(&id, TD)) {
				want = RC_BAD_REQUEST;
				rule = "ENTRY-01";
			} else if (!spiffeid_has_path(&id)) {
				want = RC_BAD_REQUEST;
				rule = "X5-18";
			}
			run_id_as_entry(s, len, "spiffe_id", want, rule,
			    "valid vector judged as spiffe_id");
			if (rule != NULL && strcmp(rule, "X5-18") == 0) {
				want = RC_OK;
				rule = NULL;
			}
			run_id_as_entry(s, len, "parent_id", want, rule,
			    "valid vector judged as parent_id");
		}
		n++;
		if (check_failed != before)
			bad++;
	}
	printf("# %zu vectors run, %zu failed\n", n, bad);
	CHECK(n > 0, "vectors present");
}

static void
run_vector_tds(json_t *list, bool invalid)
{
	struct fixture f;
	struct rc_why why;
	const char *s;
	json_t *v, *j;
	size_t i;
	enum rc rc;
	bool ok;

	json_array_foreach(list, i, v) {
		j = invalid ? json_object_get(v, "td") : v;
		s = json_string_value(j);
		if (s == NULL || memchr(s, '\0', json_string_length(j)) !=
		    NULL || strcmp(s, TD) == 0)
			continue;
		fixture_init(&f);
		f.fed[0] = (char *)s;
		f.e.n_federates_with = 1;
		rc_why_clear(&why);
		rc = entry_check(&f.e, &lim, &why);
		if (invalid)
			ok = rc == RC_BAD_REQUEST &&
			    is_str(why.field, "federates_with[0]") &&
			    why.rule != NULL &&
			    strncmp(why.rule, "ID-", 3) == 0;
		else
			ok = rc == RC_OK;
		CHECK(ok, invalid ? "invalid vector trust domain refused" :
		    "valid vector trust domain accepted");
		if (!ok)
			printf("# td=%s rc=%d rule=%s\n", s, rc,
			    why.rule ? why.rule : "-");
	}
}

static void
test_vectors(void)
{
	json_error_t err;
	json_t *root = NULL;
	char *path;

	path = check_shared_path("conformance/spiffeid-vectors.json");
	if (path != NULL)
		root = json_load_file(path, JSON_ALLOW_NUL, &err);
	CHECK(root != NULL, "vectors load");
	free(path);
	if (root == NULL)
		return;
	CHECK(json_array_size(json_object_get(root, "invalid_ids")) >= 200,
	    "vectors hold the invalid IDs");
	run_vector_ids(json_object_get(root, "invalid_ids"), "id", true);
	run_vector_ids(json_object_get(root, "uppercase_ids"), "id", true);
	run_vector_ids(json_object_get(root, "valid_ids"), NULL, false);
	run_vector_ids(json_object_get(root, "valid_ids_not_for_leaf_svid"),
	    NULL, false);
	run_vector_tds(json_object_get(root, "invalid_trust_domains"), true);
	run_vector_tds(json_object_get(root, "valid_trust_domains"), false);
	json_decref(root);
}

/* ---- JSON ------------------------------------------------------------ */

/* Decode text; expect code, field and rule (RC_OK: no refusal). */
static void
expect_json(const char *text, bool patch, enum rc code, const char *field,
    const char *rule, const char *what)
{
	struct store_entry e;
	struct rc_why why;
	json_error_t err;
	json_t *o;
	enum rc rc;
	bool ok;

	memset(&e, 0, sizeof(e));
	rc_why_clear(&why);
	o = json_loads(text, JSON_ALLOW_NUL, &err);
	if (o == NULL) {
		printf("# bad test JSON: %s\n", err.text);
		CHECK(false, what);
		return;
	}
	rc = api_entry_from_json(o, patch, &e, NULL, &why);
	if (code == RC_OK)
		ok = rc == RC_OK;
	else
		ok = rc == code && is_str(why.field, field) &&
		    is_str(why.rule, rule);
	CHECK(ok, what);
	if (!ok)
		printf("# got rc=%d field=%s rule=%s detail=%s\n", rc,
		    why.field ? why.field : "-", why.rule ? why.rule : "-",
		    why.detail);
	store_entry_clear(&e);
	json_decref(o);
}

#define BASE	"\"spiffe_id\": \"spiffe://example.org/web\", " \
		"\"parent_id\": \"spiffe://example.org/agent\", " \
		"\"selectors\": [{\"type\": \"unix\", \"value\": \"uid:0\"}]"

static void
test_json_refusals(void)
{
	static const struct {
		const char	*member;
		const char	*value;
	} wrong[] = {
		{ "id", "5" },
		{ "spiffe_id", "5" },
		{ "spiffe_id", "[\"spiffe://example.org/a\"]" },
		{ "parent_id", "null" },
		{ "selectors", "{}" },
		{ "selectors", "\"unix:uid:0\"" },
		{ "x509_svid_ttl", "\"3600\"" },
		{ "x509_svid_ttl", "3600.5" },
		{ "jwt_svid_ttl", "true" },
		{ "dns_names", "\"a.org\"" },
		{ "federates_with", "{}" },
		{ "admin", "1" },
		{ "downstream", "\"true\"" },
		{ "store_svid", "null" },
		{ "expires_at", "1.5" },
		{ "expires_at", "\"-1\"" },
		{ "expires_at", "\"1e3\"" },
		{ "expires_at", "\"\"" },
		{ "expires_at", "\"12345678901234567890\"" },
		{ "expires_at", "\"9999999999999999999\"" },
		{ "hint", "7" },
		{ "revision_number", "true" },
		{ "created_at", "\"x\"" },
		{ "created_by", "1" },
	};
	char text[512], what[128];
	size_t i;

	for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		(void)snprintf(text, sizeof(text), "{" BASE ", \"%s\": %s}",
		    wrong[i].member, wrong[i].value);
		if (strcmp(wrong[i].member, "spiffe_id") == 0 ||
		    strcmp(wrong[i].member, "parent_id") == 0 ||
		    strcmp(wrong[i].member, "selectors") == 0)
			(void)snprintf(text, sizeof(text), "{\"%s\": %s}",
			    wrong[i].member, wrong[i].value);
		(void)snprintf(what, sizeof(what), "wrong type %s: %s refused",
		    wrong[i].member, wrong[i].value);
		expect_json(text, false, RC_BAD_REQUEST, wrong[i].member,
		    "ENTRY-13", what);
	}

	expect_json("{" BASE "}", false, RC_OK, NULL, NULL,
	    "a plain entry decodes");
	expect_json("{" BASE ", \"spife_id\": \"x\"}", false, RC_BAD_REQUEST,
	    "spife_id", "ENTRY-13", "unknown member refused by name");
	expect_json("{" BASE ", \"ttl\": 60}", false, RC_BAD_REQUEST, "ttl",
	    "ENTRY-13", "SPIRE's old ttl member refused by name");
	expect_json("{\"selectors\": [{\"type\": \"a\", \"value\": \"b\"}, 5]}",
	    false, RC_BAD_REQUEST, "selectors[1]", "ENTRY-13",
	    "selector that is not an object refused");
	expect_json("{\"selectors\": [{\"type\": \"a\", \"value\": \"b\", "
	    "\"x\": 1}]}", false, RC_BAD_REQUEST, "selectors[0].x",
	    "ENTRY-13", "unknown selector member refused");
	expect_json("{\"selectors\": [{\"type\": 1, \"value\": \"b\"}]}",
	    false, RC_BAD_REQUEST, "selectors[0].type", "ENTRY-13",
	    "selector type of the wrong type refused");
	expect_json("{\"dns_names\": [\"a.org\", 1]}", false, RC_BAD_REQUEST,
	    "dns_names[1]", "ENTRY-13", "DNS name of the wrong type refused");
	expect_json("{\"federates_with\": [null]}", false, RC_BAD_REQUEST,
	    "federates_with[0]", "ENTRY-13",
	    "trust domain of the wrong type refused");
	expect_json("{" BASE ", \"hint\": \"a\\u0000b\"}", false,
	    RC_BAD_REQUEST, "hint", "ENTRY-13", "hint with NUL refused");
	expect_json("{\"selectors\": [{\"type\": \"a\", \"value\": "
	    "\"b\\u0000c\"}]}", false, RC_BAD_REQUEST, "selectors[0].value",
	    "ENTRY-13", "selector value with NUL refused");
	expect_json("{\"spiffe_id\": \"spiffe://example.org/a\\u0000b\"}",
	    false, RC_BAD_REQUEST, "spiffe_id", "ID-12",
	    "spiffe_id with NUL in the path refused under ID-12");
	expect_json("{\"id\": \"\"}", false, RC_BAD_REQUEST, "id", "ENTRY-10",
	    "empty id refused");
	expect_json("{\"id\": \"a/b\"}", false, RC_BAD_REQUEST, "id",
	    "ENTRY-10", "id with '/' refused");

	/* SPIRE's object form of an ID. */
	expect_json("{\"spiffe_id\": {\"trust_domain\": \"Example.org\", "
	    "\"path\": \"/web\"}}", false, RC_BAD_REQUEST,
	    "spiffe_id.trust_domain", "ID-05",
	    "object ID with upper-case trust domain refused");
	expect_json("{\"parent_id\": {\"trust_domain\": \"example.org\", "
	    "\"path\": \"web\"}}", false, RC_BAD_REQUEST, "parent_id.path",
	    "ID-12", "object ID with a path not starting '/' refused");
	expect_json("{\"parent_id\": {\"trust_domain\": \"example.org\", "
	    "\"path\": \"/a//b\"}}", false, RC_BAD_REQUEST, "parent_id.path",
	    "ID-10", "object ID with an empty segment refused");
	expect_json("{\"spiffe_id\": {\"path\": \"/web\"}}", false,
	    RC_BAD_REQUEST, "spiffe_id.trust_domain", "ENTRY-13",
	    "object ID without trust_domain refused");
	expect_json("{\"spiffe_id\": {\"trust_domain\": \"example.org\", "
	    "\"path\": \"/web\", \"x\": 1}}", false, RC_BAD_REQUEST,
	    "spiffe_id.x", "ENTRY-13", "object ID with unknown member refused");
	expect_json("{\"spiffe_id\": {\"trust_domain\": 1}}", false,
	    RC_BAD_REQUEST, "spiffe_id.trust_domain", "ENTRY-13",
	    "object ID with a number for trust_domain refused");
	expect_json("{\"spiffe_id\": {\"trust_domain\": \"example.org\", "
	    "\"path\": \"/a\\u0000\"}}", false, RC_BAD_REQUEST, "spiffe_id",
	    "ID-12", "object ID with NUL refused under the parser's rule");

	/* PATCH. */
	expect_json("{}", true, RC_BAD_REQUEST, "body", "ENTRY-13",
	    "empty change refused");
	expect_json("{\"id\": \"x\"}", true, RC_BAD_REQUEST, "id", "ENTRY-13",
	    "changing id refused");
	expect_json("{\"revision_number\": 3}", true, RC_BAD_REQUEST,
	    "revision_number", "ENTRY-13", "changing revision refused");
	expect_json("{\"created_by\": \"x\"}", true, RC_BAD_REQUEST,
	    "created_by", "ENTRY-13", "changing created_by refused");
	expect_json("{\"hint\": \"x\"}", true, RC_OK, NULL, NULL,
	    "changing hint decodes");
}

static void
test_json_many_selectors(void)
{
	struct store_entry e;
	struct rc_why why;
	json_t *o, *a;
	size_t i;
	enum rc rc;

	memset(&e, 0, sizeof(e));
	a = json_array();
	for (i = 0; i < 10000; i++)
		(void)json_array_append_new(a, json_pack("{s:s, s:s}", "type",
		    "unix", "value", "uid:1"));
	o = json_pack("{s:o}", "selectors", a);
	rc_why_clear(&why);
	rc = api_entry_from_json(o, false, &e, NULL, &why);
	CHECK(rc == RC_TOO_LARGE && is_str(why.field, "selectors") &&
	    is_str(why.rule, "ENTRY-03"), "10,000 selectors refused (413)");
	CHECK(e.selectors == NULL && e.n_selectors == 0,
	    "nothing allocated for 10,000 selectors");
	store_entry_clear(&e);
	json_decref(o);

	memset(&e, 0, sizeof(e));
	a = json_array();
	for (i = 0; i < 65; i++)
		(void)json_array_append_new(a, json_string("a.org"));
	o = json_pack("{s:o}", "dns_names", a);
	rc = api_entry_from_json(o, false, &e, NULL, &why);
	CHECK(rc == RC_TOO_LARGE && is_str(why.field, "dns_names"),
	    "65 DNS names refused (413)");
	store_entry_clear(&e);
	json_decref(o);
}

/* A SPIRE export item decodes, and the answer form has every member. */
static void
test_json_spire_export(void)
{
	static const char *export_item =
	    "{\"id\": \"5d7ff9d3-6e7b-4c59-9d34-5dd1d0b56a0c\","
	    " \"spiffe_id\": {\"trust_domain\": \"example.org\","
	    " \"path\": \"/db\"},"
	    " \"parent_id\": {\"trust_domain\": \"example.org\","
	    " \"path\": \"/spire/agent/join_token/abc\"},"
	    " \"selectors\": [{\"type\": \"unix\", \"value\": \"uid:1001\"}],"
	    " \"x509_svid_ttl\": 3600, \"jwt_svid_ttl\": 300,"
	    " \"federates_with\": [\"spiffe://partner.test\"],"
	    " \"hint\": \"\", \"admin\": false, \"downstream\": true,"
	    " \"expires_at\": \"1767225600\", \"dns_names\": [],"
	    " \"revision_number\": \"4\", \"store_svid\": false,"
	    " \"created_at\": \"1700000000\"}";
	static const char *keys[] = {
		"id", "spiffe_id", "parent_id", "selectors", "x509_svid_ttl",
		"jwt_svid_ttl", "dns_names", "federates_with", "admin",
		"downstream", "expires_at", "hint", "store_svid",
		"revision_number", "created_at", "created_by",
	};
	struct store_entry e;
	struct rc_why why;
	unsigned present = 0;
	json_t *o, *back;
	size_t i;
	enum rc rc;
	bool all;

	memset(&e, 0, sizeof(e));
	o = json_loads(export_item, 0, NULL);
	rc = api_entry_from_json(o, false, &e, &present, &why);
	CHECK(rc == RC_OK, "SPIRE export item decodes");
	CHECK(is_str(e.id, "5d7ff9d3-6e7b-4c59-9d34-5dd1d0b56a0c"),
	    "its id is kept");
	CHECK(is_str(e.spiffe_id, "spiffe://example.org/db"),
	    "object spiffe_id becomes the string form");
	CHECK(is_str(e.parent_id,
	    "spiffe://example.org/spire/agent/join_token/abc"),
	    "object parent_id becomes the string form");
	CHECK(e.n_federates_with == 1 &&
	    is_str(e.federates_with[0], "partner.test"),
	    "federates_with loses its spiffe:// prefix");
	CHECK(e.expires_at == 1767225600, "expires_at from a decimal string");
	CHECK(e.revision_number == 0 && e.created_at == 0,
	    "revision_number and created_at ignored");
	CHECK(e.downstream && !e.admin && !e.store_svid, "booleans read");
	CHECK(e.x509_svid_ttl == 3600 && e.jwt_svid_ttl == 300, "TTLs read");
	CHECK(present == (ENTRY_M_ID | ENTRY_M_SPIFFE_ID | ENTRY_M_PARENT_ID |
	    ENTRY_M_SELECTORS | ENTRY_M_X509_TTL | ENTRY_M_JWT_TTL |
	    ENTRY_M_FEDERATES | ENTRY_M_HINT | ENTRY_M_ADMIN |
	    ENTRY_M_DOWNSTREAM | ENTRY_M_EXPIRES_AT | ENTRY_M_DNS_NAMES |
	    ENTRY_M_STORE_SVID), "present bits name each member read");
	CHECK(entry_check(&e, &lim, &why) == RC_OK,
	    "SPIRE export item passes the rules");

	e.revision_number = 7;
	back = api_entry_to_json(&e);
	all = back != NULL;
	for (i = 0; all && i < sizeof(keys) / sizeof(keys[0]); i++)
		all = json_object_get(back, keys[i]) != NULL;
	CHECK(all && json_object_size(back) == 16,
	    "answer form has exactly the 16 members");
	CHECK(json_is_string(json_object_get(back, "spiffe_id")) &&
	    json_integer_value(json_object_get(back, "expires_at")) ==
	    1767225600 && json_integer_value(json_object_get(back,
	    "revision_number")) == 7 &&
	    is_str(json_string_value(json_object_get(back, "created_by")), ""),
	    "answer form: string IDs, integer times, empty created_by");
	json_decref(back);
	json_decref(o);
	store_entry_clear(&e);
}

static void
test_swap(void)
{
	struct store_entry a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.hint = "old";
	a.x509_svid_ttl = 10;
	a.admin = false;
	a.spiffe_id = "spiffe://example.org/a";
	b.hint = "new";
	b.x509_svid_ttl = 20;
	b.admin = true;
	b.spiffe_id = NULL;
	entry_swap_members(&a, &b, ENTRY_M_HINT | ENTRY_M_ADMIN);
	CHECK(is_str(a.hint, "new") && a.admin && a.x509_svid_ttl == 10 &&
	    is_str(a.spiffe_id, "spiffe://example.org/a"),
	    "swap moves only the members named");
	CHECK(is_str(b.hint, "old") && !b.admin,
	    "swap hands the replaced members back");
}

int
main(void)
{
	test_good();
	test_ids();
	test_spiffe_ids();
	test_selectors();
	test_ttls();
	test_dns();
	test_federates();
	test_misc();
	test_vectors();
	test_json_refusals();
	test_json_many_selectors();
	test_json_spire_export();
	test_swap();
	return check_done();
}
