/*
 * test_conf.c: the configuration: defaults, a full good file, the sample
 * deploy/svidca.conf.example, each kind of refusal with its file, line
 * and key, the derived paths and checks of conf_finish, and
 * conf_split_addr.  Files are in tests/data/conf/.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../../ca/cert.h"
#include "../../ca/key.h"
#include "../../server/conf.h"
#include "check.h"

static char	 datadir[1024];		/* $SVIDCA_TESTDATA */

/* Path of a file under tests/data/conf. */
static const char *
conf_path(const char *name, char *buf, size_t len)
{
	(void)snprintf(buf, len, "%s/conf/%s", datadir, name);
	return buf;
}

/* Load tests/data/conf/<name> over the defaults into c. */
static enum rc
load(const char *name, struct conf *c, struct rc_why *why)
{
	char path[PATH_MAX_SVIDCA];

	conf_defaults(c);
	rc_why_clear(why);
	return conf_load_file(c, conf_path(name, path, sizeof(path)), why);
}

/*
 * Load a file that must be refused: RC_BAD_REQUEST, detail beginning
 * "PATH:LINE: KEY: " and holding reason, why->field and why->rule as
 * given (field NULL: any; rule NULL: none).
 */
static void
expect_refused(const char *name, unsigned line, const char *key,
    const char *reason, const char *field, const char *rule)
{
	struct conf	 c;
	struct rc_why	 why;
	char		 path[PATH_MAX_SVIDCA];
	char		 prefix[PATH_MAX_SVIDCA + 128], what[256];
	enum rc		 rc;
	bool		 ok;

	rc = load(name, &c, &why);
	conf_path(name, path, sizeof(path));
	(void)snprintf(prefix, sizeof(prefix), "%s:%u: %s: ", path, line, key);
	ok = rc == RC_BAD_REQUEST && why.code == RC_BAD_REQUEST &&
	    strncmp(why.detail, prefix, strlen(prefix)) == 0 &&
	    strstr(why.detail, reason) != NULL;
	if (field != NULL)
		ok = ok && why.field != NULL && strcmp(why.field, field) == 0;
	if (rule == NULL)
		ok = ok && why.rule == NULL;
	else
		ok = ok && why.rule != NULL && strcmp(why.rule, rule) == 0;
	(void)snprintf(what, sizeof(what), "%s refused at line %u, key %s: %s",
	    name, line, key, reason);
	CHECK(ok, what);
	if (!ok)
		printf("# rc=%d rule=%s detail=%s\n", rc,
		    why.rule != NULL ? why.rule : "-", why.detail);
	conf_clear(&c);
}

/* Load a file that parses, then expect conf_finish to refuse it. */
static void
expect_finish_refused(const char *name, const char *prefix,
    const char *reason, const char *field)
{
	struct conf	 c;
	struct rc_why	 why;
	char		 what[256];
	enum rc		 rc;
	bool		 ok;

	rc = load(name, &c, &why);
	(void)snprintf(what, sizeof(what), "%s loads", name);
	CHECK(rc == RC_OK, what);
	rc = conf_finish(&c, &why);
	ok = rc == RC_BAD_REQUEST && why.code == RC_BAD_REQUEST &&
	    strncmp(why.detail, prefix, strlen(prefix)) == 0 &&
	    strstr(why.detail, reason) != NULL && why.field != NULL &&
	    strcmp(why.field, field) == 0;
	(void)snprintf(what, sizeof(what), "%s refused by conf_finish: %s",
	    name, reason);
	CHECK(ok, what);
	if (!ok)
		printf("# rc=%d detail=%s\n", rc, why.detail);
	conf_clear(&c);
}

/* Run conf_finish on c and expect a refusal "<prefix>...reason...". */
static void
expect_finish(struct conf *c, const char *prefix, const char *reason,
    const char *what)
{
	struct rc_why	 why;
	enum rc		 rc;
	bool		 ok;

	rc_why_clear(&why);
	rc = conf_finish(c, &why);
	ok = rc == RC_BAD_REQUEST &&
	    strncmp(why.detail, prefix, strlen(prefix)) == 0 &&
	    strstr(why.detail, reason) != NULL;
	CHECK(ok, what);
	if (!ok)
		printf("# rc=%d detail=%s\n", rc, why.detail);
}

static void
test_defaults(void)
{
	struct conf c;

	conf_defaults(&c);
	CHECK(c.trust_domain[0] == '\0', "default: no trust domain");
	CHECK(strcmp(c.data_dir, "./data") == 0, "default data_dir");
	CHECK(c.kek_file[0] == '\0', "default kek_file derived later");
	CHECK(strcmp(c.listen, "0.0.0.0:8081") == 0, "default listen");
	CHECK(strcmp(c.health_listen, "127.0.0.1:8080") == 0,
	    "default health_listen");
	CHECK(c.admin_socket[0] == '\0', "default admin_socket derived later");
	CHECK(c.admin_socket_group[0] == '\0', "default admin_socket_group");
	CHECK(c.n_admin_uids == 0 && c.n_admin_ids == 0, "default no admins");
	CHECK(strcmp(c.organization, "SPIFFE") == 0, "default organization");
	CHECK(strcmp(c.log_level, "info") == 0, "default log_level");
	CHECK(strcmp(c.ca_key_type, "ec-p256") == 0, "default ca_key_type");
	CHECK(strcmp(c.jwt_key_type, "ec-p256") == 0, "default jwt_key_type");
	CHECK(c.ca_ttl == 86400, "default ca_ttl 24h");
	CHECK(c.x509_svid_ttl == 3600, "default x509_svid_ttl 1h");
	CHECK(c.x509_svid_ttl_max == 86400, "default x509_svid_ttl_max 24h");
	CHECK(c.jwt_svid_ttl == 300, "default jwt_svid_ttl 5m");
	CHECK(c.jwt_svid_ttl_max == 86400, "default jwt_svid_ttl_max 24h");
	CHECK(c.agent_svid_ttl == 3600, "default agent_svid_ttl 1h");
	CHECK(c.agent_svid_ttl_max == 86400, "default agent_svid_ttl_max 24h");
	CHECK(c.refresh_hint == 300, "default refresh_hint");
	CHECK(c.max_body == HTTP_BODY_MAX, "default max_body");
	CHECK(c.threads == 0, "default threads");
	CHECK(c.join_token_enabled && c.n_x509pop_ca_files == 0 &&
	    c.n_jwt_issuers == 0, "default attestors: join_token only");
	CHECK(c.attest_rate == 1 && c.attest_burst == 1,
	    "default attest_rate 1, attest_burst 1");
	conf_clear(&c);
}

static void
test_good(void)
{
	struct conf	 c;
	struct rc_why	 why;
	enum rc		 rc;

	rc = load("good.conf", &c, &why);
	CHECK(rc == RC_OK, "good.conf loads");
	if (rc != RC_OK)
		printf("# %s\n", why.detail);
	CHECK(strcmp(c.trust_domain, "prod.example.com") == 0,
	    "good: trust_domain");
	CHECK(strcmp(c.organization, "Example Corp") == 0,
	    "good: organization");
	CHECK(strcmp(c.data_dir, "/var/lib/svidca/") == 0, "good: data_dir");
	CHECK(strcmp(c.kek_file, "/etc/svidca/kek") == 0, "good: kek_file");
	CHECK(strcmp(c.listen, "[::]:9443") == 0, "good: listen");
	CHECK(strcmp(c.health_listen, "localhost:9090") == 0,
	    "good: health_listen");
	CHECK(strcmp(c.admin_socket, "/run/svidca/admin.sock") == 0,
	    "good: admin_socket");
	CHECK(strcmp(c.admin_socket_group, "svidca-admin") == 0,
	    "good: admin_socket_group");
	CHECK(c.n_admin_uids == 3 && c.admin_uids[0] == 0 &&
	    c.admin_uids[1] == 1000 && c.admin_uids[2] == 3000000000U,
	    "good: admin_uids, one above 2^31");
	CHECK(c.n_admin_ids == 2 && strcmp(c.admin_ids[0],
	    "spiffe://prod.example.com/admin/alice") == 0 &&
	    strcmp(c.admin_ids[1], "spiffe://other.example/ops/Bob") == 0,
	    "good: admin_ids");
	CHECK(strcmp(c.ca_key_type, "ec-p384") == 0, "good: ca_key_type");
	CHECK(strcmp(c.jwt_key_type, "rsa-3072") == 0, "good: jwt_key_type");
	CHECK(c.ca_ttl == 172800 && c.x509_svid_ttl == 1800 &&
	    c.x509_svid_ttl_max == 43200 && c.jwt_svid_ttl == 120 &&
	    c.jwt_svid_ttl_max == 600 && c.agent_svid_ttl == 7200 &&
	    c.agent_svid_ttl_max == 14400, "good: TTLs");
	CHECK(c.refresh_hint == 60 && c.max_body == 1048576 &&
	    c.threads == 8, "good: refresh_hint, max_body, threads");
	CHECK(strcmp(c.log_level, "debug") == 0, "good: log_level");

	rc = conf_finish(&c, &why);
	CHECK(rc == RC_OK, "good.conf passes conf_finish");
	if (rc != RC_OK)
		printf("# %s\n", why.detail);
	CHECK(strcmp(c.kek_file, "/etc/svidca/kek") == 0 &&
	    strcmp(c.admin_socket, "/run/svidca/admin.sock") == 0,
	    "good: explicit paths kept");

	/* A second load replaces the lists (and leaks nothing). */
	rc = conf_load_file(&c, "/dev/null", &why);
	CHECK(rc == RC_BAD_REQUEST && strstr(why.detail,
	    "not a regular file") != NULL, "/dev/null refused");
	{
		char path[PATH_MAX_SVIDCA];

		rc = conf_load_file(&c, conf_path("good.conf", path,
		    sizeof(path)), &why);
		CHECK(rc == RC_OK && c.n_admin_ids == 2 &&
		    c.n_admin_uids == 3, "loading again replaces the lists");
		rc = conf_load_file(&c, conf_path("uids_bad.conf", path,
		    sizeof(path)), &why);
		CHECK(rc == RC_BAD_REQUEST && c.n_admin_uids == 3,
		    "a refused list leaves the old one");
	}
	conf_clear(&c);
	CHECK(c.n_admin_ids == 0 && c.admin_ids[0] == NULL,
	    "conf_clear frees admin_ids");
}

/* The sample file: loads, says the defaults truly, names every key. */
static void
test_example(void)
{
	static const char *const keys[] = {
		"trust_domain", "data_dir", "kek_file", "listen",
		"health_listen", "admin_socket", "admin_socket_group",
		"admin_uids", "admin_ids", "organization", "log_level",
		"ca_key_type", "jwt_key_type", "ca_ttl", "x509_svid_ttl",
		"x509_svid_ttl_max", "jwt_svid_ttl", "jwt_svid_ttl_max",
		"agent_svid_ttl", "agent_svid_ttl_max", "refresh_hint",
		"max_body", "threads", "node_attestors", "attest_rate",
		"attest_burst",
	};
	struct conf	 c, d;
	struct rc_why	 why;
	char		 path[PATH_MAX_SVIDCA], pat[64], what[128];
	char		*text = NULL;
	FILE		*f;
	long		 n = 0;
	size_t		 i;
	enum rc		 rc;

	(void)snprintf(path, sizeof(path),
	    "%s/../../deploy/svidca.conf.example", datadir);
	conf_defaults(&c);
	rc = conf_load_file(&c, path, &why);
	CHECK(rc == RC_OK, "deploy/svidca.conf.example loads");
	if (rc != RC_OK)
		printf("# %s\n", why.detail);

	conf_defaults(&d);
	(void)snprintf(d.trust_domain, sizeof(d.trust_domain), "example.org");
	CHECK(memcmp(&c, &d, sizeof(c)) == 0,
	    "example: every value set is the default");

	rc = conf_finish(&c, &why);
	CHECK(rc == RC_OK && strcmp(c.kek_file, "./data.kek") == 0 &&
	    strcmp(c.admin_socket, "./data/admin.sock") == 0,
	    "example passes conf_finish, derived paths as documented");
	conf_clear(&c);
	conf_clear(&d);

	f = fopen(path, "r");
	if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		text = calloc(1, (size_t)n + 1);
		if (text != NULL && fread(text, 1, (size_t)n, f) != (size_t)n) {
			free(text);
			text = NULL;
		}
	}
	if (f != NULL)
		fclose(f);
	CHECK(text != NULL, "example readable");
	for (i = 0; text != NULL && i < sizeof(keys) / sizeof(keys[0]); i++) {
		bool found;

		(void)snprintf(pat, sizeof(pat), "\n%s = ", keys[i]);
		found = strstr(text, pat) != NULL;
		(void)snprintf(pat, sizeof(pat), "\n# %s = ", keys[i]);
		found = found || strstr(text, pat) != NULL;
		(void)snprintf(what, sizeof(what), "example documents %s",
		    keys[i]);
		CHECK(found, what);
	}
	free(text);
}

static void
test_empty(void)
{
	struct conf	 c, d;
	struct rc_why	 why;
	enum rc		 rc;

	rc = load("empty.conf", &c, &why);
	conf_defaults(&d);
	CHECK(rc == RC_OK && memcmp(&c, &d, sizeof(c)) == 0,
	    "empty file leaves the defaults");
	rc = conf_finish(&c, &why);
	CHECK(rc == RC_BAD_REQUEST && strcmp(why.detail,
	    "trust_domain: must be set") == 0 && why.field != NULL &&
	    strcmp(why.field, "trust_domain") == 0,
	    "finish without trust_domain refused");
}

static void
test_refusals(void)
{
	struct conf	 c;
	struct rc_why	 why;
	char		 path[PATH_MAX_SVIDCA], want[PATH_MAX_SVIDCA + 64];
	enum rc		 rc;

	expect_refused("unknown_key.conf", 4, "trust_domian", "unknown key",
	    NULL, NULL);
	expect_refused("group.conf", 2, "federation", "unknown key", NULL,
	    NULL);
	expect_refused("wrong_type.conf", 3, "ca_ttl",
	    "expected an integer, got a string", "ca_ttl", NULL);
	expect_refused("float.conf", 2, "x509_svid_ttl",
	    "expected an integer, got a float", "x509_svid_ttl", NULL);
	expect_refused("string_as_int.conf", 1, "trust_domain",
	    "expected a string, got an integer", "trust_domain", NULL);
	expect_refused("uids_scalar.conf", 1, "admin_uids",
	    "expected a list of uids, got an integer", "admin_uids", NULL);
	expect_refused("uids_bad.conf", 1, "admin_uids",
	    "entry 2: uid -1 is out of range, use 0 to 4294967294",
	    "admin_uids", NULL);
	expect_refused("uids_type.conf", 1, "admin_uids",
	    "entry 2: expected an integer uid", "admin_uids", NULL);
	expect_refused("bad_ttl.conf", 2, "jwt_svid_ttl",
	    "0 is out of range, use 1 to 315360000", "jwt_svid_ttl", NULL);
	expect_refused("negative_ttl.conf", 2, "agent_svid_ttl",
	    "-3600 is out of range", "agent_svid_ttl", NULL);
	expect_refused("huge_ttl.conf", 2, "ca_ttl",
	    "315360001 is out of range", "ca_ttl", NULL);
	expect_refused("bad_td.conf", 3, "trust_domain",
	    "trust domain must be lowercase: use \"example.org\"",
	    "trust_domain", "ID-05");
	expect_refused("td_as_id.conf", 1, "trust_domain",
	    "bare trust domain name", "trust_domain", "ID-06");
	expect_refused("bad_admin_id.conf", 2, "admin_ids",
	    "entry 2: trailing '/'", "admin_ids", "ID-11");
	expect_refused("admin_id_no_path.conf", 1, "admin_ids",
	    "entry 1: \"spiffe://example.org\" has no path", "admin_ids",
	    "X5-04");
	expect_refused("too_many_ids.conf", 1, "admin_ids",
	    "66 entries, over the limit of 64", "admin_ids", NULL);
	expect_refused("too_long.conf", 2, "organization",
	    "value is 137 bytes, over the limit of 127", "organization",
	    NULL);
	expect_refused("control_org.conf", 1, "organization",
	    "byte 0x0A at offset 4 is not printable ASCII", "organization",
	    NULL);
	expect_refused("bad_listen.conf", 2, "listen",
	    "\"0.0.0.0:99999\" is not host:port", "listen", NULL);
	expect_refused("bad_key_type.conf", 2, "ca_key_type",
	    "unknown key type \"ec-p521\"", "ca_key_type", NULL);
	expect_refused("bad_log_level.conf", 1, "log_level",
	    "unknown log level \"verbose\"", "log_level", NULL);
	expect_refused("empty_data_dir.conf", 1, "data_dir", "must be set",
	    "data_dir", NULL);

	/* Syntax errors: libconfig's reason with the file and line. */
	rc = load("syntax.conf", &c, &why);
	(void)snprintf(want, sizeof(want), "%s:3: syntax error",
	    conf_path("syntax.conf", path, sizeof(path)));
	CHECK(rc == RC_BAD_REQUEST && strcmp(why.detail, want) == 0,
	    "syntax error refused with file and line 3");
	if (rc != RC_BAD_REQUEST || strcmp(why.detail, want) != 0)
		printf("# %s\n", why.detail);
	conf_clear(&c);

	rc = load("duplicate.conf", &c, &why);
	(void)snprintf(want, sizeof(want), "%s:3: duplicate setting name",
	    conf_path("duplicate.conf", path, sizeof(path)));
	CHECK(rc == RC_BAD_REQUEST && strcmp(why.detail, want) == 0,
	    "duplicate key refused with file and line 3");
	conf_clear(&c);

	rc = load("no-such-file.conf", &c, &why);
	CHECK(rc == RC_IO && why.code == RC_IO &&
	    strstr(why.detail, "no-such-file.conf: cannot open") != NULL,
	    "missing file: RC_IO naming the file");

	conf_defaults(&c);
	rc = conf_load_file(&c, datadir, &why);
	CHECK(rc == RC_BAD_REQUEST && strstr(why.detail,
	    "not a regular file") != NULL, "a directory is refused");
}

/* node_attestors and the attestation rate: a full file, each refusal. */
static void
test_attestors(void)
{
	const struct conf_jwt_issuer	*k, *j;
	struct conf			 c;
	struct rc_why			 why;
	enum rc				 rc;

	rc = load("attestors.conf", &c, &why);
	CHECK(rc == RC_OK, "attestors.conf loads");
	if (rc != RC_OK)
		printf("# %s\n", why.detail);
	CHECK(!c.join_token_enabled, "attestors: join_token disabled");
	CHECK(c.n_x509pop_ca_files == 2 && strcmp(c.x509pop_ca_files[0],
	    "/etc/svidca/node-ca.pem") == 0 && strcmp(c.x509pop_ca_files[1],
	    "/etc/svidca/node-ca2.pem") == 0, "attestors: x509pop ca_files");
	k = &c.jwt_issuers[0];
	j = &c.jwt_issuers[1];
	CHECK(c.n_jwt_issuers == 2 && strcmp(k->name, "k8s-prod") == 0 &&
	    strcmp(k->issuer, "https://kubernetes.default.svc") == 0 &&
	    strcmp(k->audience, "svidca") == 0 && k->jwks_file[0] == '\0' &&
	    strcmp(k->jwks_url, "https://k8s.example.net/openid/v1/jwks") ==
	    0 && strcmp(k->jwks_ca_file, "/etc/svidca/k8s-ca.pem") == 0 &&
	    k->jwks_refresh == 600 && strcmp(k->node_claim, "node_name") ==
	    0 && k->n_selector_claims == 2 && strcmp(k->selector_claims[0],
	    "zone") == 0 && strcmp(k->selector_claims[1], "cluster") == 0 &&
	    k->max_token_age == 900, "attestors: first jwt issuer");
	CHECK(strcmp(j->name, "corp") == 0 && strcmp(j->jwks_file,
	    "/etc/svidca/corp-jwks.json") == 0 && j->jwks_url[0] == '\0' &&
	    strcmp(j->node_claim, "sub") == 0 && j->n_selector_claims == 0 &&
	    j->jwks_refresh == 300 && j->max_token_age == 3600,
	    "attestors: second issuer with the defaults");
	CHECK(c.attest_rate == 5 && c.attest_burst == 20,
	    "attestors: attest_rate and attest_burst");
	conf_clear(&c);

	expect_refused("na_unknown.conf", 3, "node_attestors.tpm",
	    "unknown key", NULL, NULL);
	expect_refused("na_not_group.conf", 2, "node_attestors",
	    "expected a group { ... }, got an integer", NULL, NULL);
	expect_refused("na_bool.conf", 3, "node_attestors.join_token.enabled",
	    "expected true or false, got an integer", "enabled", NULL);
	expect_refused("na_x509pop_empty.conf", 3, "node_attestors.x509pop",
	    "ca_files: list at least one CA file", "ca_files", NULL);
	expect_refused("na_jwt_group.conf", 3, "node_attestors.jwt",
	    "expected a list of issuer groups", NULL, NULL);
	expect_refused("na_no_claim.conf", 4, "node_attestors.jwt.1",
	    "node_claim: must be set", "node_claim", NULL);
	expect_refused("na_two_sources.conf", 3, "node_attestors.jwt.1",
	    "set exactly one of jwks_file and jwks_url", "jwks_file", NULL);
	expect_refused("na_bad_name.conf", 4, "node_attestors.jwt.1.name",
	    "\"a/b\" is not one SPIFFE ID path segment", "name", "ID-12");
	expect_refused("na_http_url.conf", 5, "node_attestors.jwt.1.jwks_url",
	    "is not an https:// URL", "jwks_url", NULL);
	expect_refused("na_dup_name.conf", 6, "node_attestors.jwt.2",
	    "name: \"corp\" is already the name of issuer 1", "name", NULL);
	expect_refused("na_claim_colon.conf", 5,
	    "node_attestors.jwt.1.selector_claims", "entry 1: expected claim "
	    "names", "selector_claims", NULL);
	expect_refused("na_age.conf", 5, "node_attestors.jwt.1.max_token_age",
	    "0 is out of range, use 1 to 86400", "max_token_age", NULL);
	expect_refused("na_rate.conf", 2, "attest_rate",
	    "0 is out of range, use 1 to 1000000", "attest_rate", NULL);
}

/* A file over CONF_FILE_MAX is refused before libconfig reads it. */
static void
test_too_big(const char *tmp)
{
	struct conf	 c;
	struct rc_why	 why;
	char		 path[PATH_MAX_SVIDCA], line[80];
	FILE		*f;
	long		 i;
	enum rc		 rc;

	(void)snprintf(path, sizeof(path), "%s/big.conf", tmp);
	f = fopen(path, "w");
	CHECK(f != NULL, "big file created");
	if (f == NULL)
		return;
	memset(line, '#', sizeof(line) - 1);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	for (i = 0; i <= CONF_FILE_MAX / 78; i++)
		fputs(line, f);
	fclose(f);

	conf_defaults(&c);
	rc = conf_load_file(&c, path, &why);
	CHECK(rc == RC_BAD_REQUEST && strstr(why.detail,
	    "over the limit of 1048576") != NULL, "file over 1 MiB refused");
	(void)unlink(path);
}

static void
test_finish_files(void)
{
	expect_finish_refused("max_below_default.conf",
	    "x509_svid_ttl: 7200 is above x509_svid_ttl_max 3600", "",
	    "x509_svid_ttl");
	expect_finish_refused("kek_inside.conf", "kek_file: ",
	    "\"/nonexistent-svidca-test/data/kek\" is inside data_dir "
	    "\"/nonexistent-svidca-test/data\"", "kek_file");
	expect_finish_refused("long_socket.conf", "admin_socket: ",
	    "is 113 bytes, over the limit of 107 for a Unix socket path",
	    "admin_socket");
}

/* Fill c with defaults and a trust domain. */
static void
base(struct conf *c)
{
	conf_defaults(c);
	(void)snprintf(c->trust_domain, sizeof(c->trust_domain),
	    "example.org");
}

static void
test_finish(void)
{
	struct conf	 c;
	struct rc_why	 why;
	enum rc		 rc;
	size_t		 n;

	base(&c);
	rc = conf_finish(&c, &why);
	CHECK(rc == RC_OK && strcmp(c.kek_file, "./data.kek") == 0 &&
	    strcmp(c.admin_socket, "./data/admin.sock") == 0,
	    "finish derives kek_file and admin_socket");

	base(&c);
	(void)snprintf(c.data_dir, sizeof(c.data_dir), "/srv/svidca///");
	rc = conf_finish(&c, &why);
	CHECK(rc == RC_OK && strcmp(c.kek_file, "/srv/svidca.kek") == 0 &&
	    strcmp(c.admin_socket, "/srv/svidca/admin.sock") == 0,
	    "derived paths drop data_dir's trailing slashes");

	base(&c);
	(void)snprintf(c.data_dir, sizeof(c.data_dir), "/");
	expect_finish(&c, "kek_file: ", "is inside data_dir \"/\"",
	    "data_dir / holds every kek");

	base(&c);
	(void)snprintf(c.data_dir, sizeof(c.data_dir), "/srv/d");
	(void)snprintf(c.kek_file, sizeof(c.kek_file), "/srv/d");
	expect_finish(&c, "kek_file: ", "is inside data_dir",
	    "kek_file equal to data_dir refused");

	base(&c);
	(void)snprintf(c.data_dir, sizeof(c.data_dir), "/srv/d");
	(void)snprintf(c.kek_file, sizeof(c.kek_file), "/srv/d2/kek");
	rc = conf_finish(&c, &why);
	CHECK(rc == RC_OK, "kek in a sibling sharing a name prefix is fine");

	base(&c);
	(void)snprintf(c.data_dir, sizeof(c.data_dir), "data");
	(void)snprintf(c.kek_file, sizeof(c.kek_file), "./x/../data/./k");
	expect_finish(&c, "kek_file: ", "is inside data_dir",
	    "relative kek with .. resolved into data_dir refused");

	/* Values set by flags meet the same checks as the file's. */
	base(&c);
	c.trust_domain[0] = 'E';
	expect_finish(&c, "trust_domain: ", "trust domain must be lowercase",
	    "finish: upper-case trust domain");
	rc = conf_finish(&c, &why);
	CHECK(why.rule != NULL && strcmp(why.rule, "ID-05") == 0,
	    "finish: trust domain refusal carries its rule");

	base(&c);
	c.ca_ttl = 0;
	expect_finish(&c, "ca_ttl: ", "0 is out of range", "finish: ca_ttl 0");

	base(&c);
	c.threads = 5000;
	expect_finish(&c, "threads: ", "5000 is out of range",
	    "finish: threads too many");

	base(&c);
	c.max_body = 10;
	expect_finish(&c, "max_body: ", "10 is out of range",
	    "finish: max_body too small");

	base(&c);
	c.jwt_svid_ttl = 900;
	c.jwt_svid_ttl_max = 600;
	expect_finish(&c, "jwt_svid_ttl: ", "900 is above jwt_svid_ttl_max",
	    "finish: jwt ttl over max");

	base(&c);
	c.agent_svid_ttl_max = 60;
	expect_finish(&c, "agent_svid_ttl: ", "3600 is above agent_svid_ttl",
	    "finish: agent ttl over max");

	base(&c);
	(void)snprintf(c.listen, sizeof(c.listen), "8081");
	expect_finish(&c, "listen: ", "is not host:port", "finish: listen");

	base(&c);
	(void)snprintf(c.health_listen, sizeof(c.health_listen), ":8080");
	expect_finish(&c, "health_listen: ", "is not host:port",
	    "finish: health_listen without host");

	base(&c);
	(void)snprintf(c.log_level, sizeof(c.log_level), "loud");
	expect_finish(&c, "log_level: ", "unknown log level",
	    "finish: log level");

	base(&c);
	(void)snprintf(c.jwt_key_type, sizeof(c.jwt_key_type), "hs256");
	expect_finish(&c, "jwt_key_type: ", "unknown key type",
	    "finish: jwt key type");

	base(&c);
	c.data_dir[0] = '\0';
	expect_finish(&c, "data_dir: ", "must be set", "finish: no data_dir");

	base(&c);
	c.admin_ids[0] = strdup("spiffe://example.org/admin?x");
	c.n_admin_ids = c.admin_ids[0] != NULL ? 1 : 0;
	expect_finish(&c, "admin_ids: ", "query and fragment",
	    "finish: bad admin id");
	conf_clear(&c);

	/* sun_path holds 108 bytes with the NUL: 107 fit, 108 do not. */
	base(&c);
	n = 107;
	c.admin_socket[0] = '/';
	memset(c.admin_socket + 1, 's', n - 1);
	c.admin_socket[n] = '\0';
	rc = conf_finish(&c, &why);
	CHECK(rc == RC_OK, "admin socket path of 107 bytes accepted");
	c.admin_socket[n] = 's';
	c.admin_socket[n + 1] = '\0';
	expect_finish(&c, "admin_socket: ", "is 108 bytes, over the limit of "
	    "107", "admin socket path of 108 bytes refused");

	/* The derived socket path is checked too. */
	base(&c);
	c.data_dir[0] = '/';
	memset(c.data_dir + 1, 'd', 120);
	c.data_dir[121] = '\0';
	expect_finish(&c, "admin_socket: ", "over the limit of 107",
	    "derived admin socket path too long refused");
}

/* The kek check resolves symlinks in the part of the path that exists. */
static void
test_symlink(const char *tmp)
{
	struct conf	 c;
	struct rc_why	 why;
	char		 real[256], link[256];
	enum rc		 rc;

	(void)snprintf(real, sizeof(real), "%s/real", tmp);
	(void)snprintf(link, sizeof(link), "%s/link", tmp);
	CHECK(mkdir(real, 0700) == 0 && symlink("real", link) == 0,
	    "symlink fixture");

	base(&c);
	(void)snprintf(c.data_dir, sizeof(c.data_dir), "%s/data", link);
	(void)snprintf(c.kek_file, sizeof(c.kek_file), "%s/data/kek", real);
	expect_finish(&c, "kek_file: ", "is inside data_dir",
	    "kek inside data_dir through a symlink refused");

	base(&c);
	(void)snprintf(c.data_dir, sizeof(c.data_dir), "%s/data", real);
	(void)snprintf(c.kek_file, sizeof(c.kek_file), "%s/data/k", link);
	expect_finish(&c, "kek_file: ", "is inside data_dir",
	    "kek through a symlink into data_dir refused");

	base(&c);
	(void)snprintf(c.data_dir, sizeof(c.data_dir), "%s/data", link);
	rc = conf_finish(&c, &why);
	CHECK(rc == RC_OK, "default kek beside a symlinked data_dir is fine");

	(void)unlink(link);
	(void)rmdir(real);
}

/* conf_finish reads the attestors' files, and checks each issuer. */
static void
test_attestor_files(const char *tmp)
{
	struct conf_jwt_issuer	*iss;
	struct conf		 c;
	struct rc_why		 why;
	EVP_PKEY		*key;
	X509			*ca;
	FILE			*f;
	char			 ca_path[PATH_MAX_SVIDCA];
	char			 jwks_path[PATH_MAX_SVIDCA];
	time_t			 now = time(NULL);
	enum rc			 rc;

	(void)snprintf(ca_path, sizeof(ca_path), "%s/node-ca.pem", tmp);
	(void)snprintf(jwks_path, sizeof(jwks_path), "%s/jwks.json", tmp);
	key = key_generate(KEY_EC_P256);
	ca = key == NULL ? NULL : cert_make_root(key, "node.test", NULL,
	    now - 60, now + 3600);
	f = fopen(ca_path, "w");
	if (f != NULL && ca != NULL)
		PEM_write_X509(f, ca);
	if (f != NULL)
		fclose(f);
	f = fopen(jwks_path, "w");
	if (f != NULL) {
		fputs("{\"keys\":[]}", f);
		fclose(f);
	}
	X509_free(ca);
	EVP_PKEY_free(key);

	base(&c);
	(void)snprintf(c.x509pop_ca_files[0], CONF_STR_MAX, "%s", ca_path);
	c.n_x509pop_ca_files = 1;
	iss = &c.jwt_issuers[0];
	(void)snprintf(iss->name, sizeof(iss->name), "corp");
	(void)snprintf(iss->issuer, sizeof(iss->issuer), "https://i.example");
	(void)snprintf(iss->audience, sizeof(iss->audience), "svidca");
	(void)snprintf(iss->jwks_file, sizeof(iss->jwks_file), "%s",
	    jwks_path);
	(void)snprintf(iss->node_claim, sizeof(iss->node_claim), "sub");
	iss->jwks_refresh = 300;
	iss->max_token_age = 600;
	c.n_jwt_issuers = 1;
	rc = conf_finish(&c, &why);
	CHECK(rc == RC_OK, "finish: attestors with readable files");
	if (rc != RC_OK)
		printf("# %s\n", why.detail);

	(void)snprintf(c.x509pop_ca_files[0], CONF_STR_MAX, "%s/none.pem",
	    tmp);
	expect_finish(&c, "node_attestors.x509pop.ca_files: ",
	    "none.pem: cannot open", "finish: missing x509pop CA file");
	(void)snprintf(c.x509pop_ca_files[0], CONF_STR_MAX, "%s", jwks_path);
	expect_finish(&c, "node_attestors.x509pop.ca_files: ",
	    "no PEM certificate", "finish: CA file without a certificate");
	(void)snprintf(c.x509pop_ca_files[0], CONF_STR_MAX, "%s", ca_path);

	(void)snprintf(iss->jwks_file, sizeof(iss->jwks_file), "%s", ca_path);
	expect_finish(&c, "node_attestors.jwt.1: jwks_file: ", "not JSON",
	    "finish: JWKS file that is not JSON");
	(void)snprintf(iss->jwks_file, sizeof(iss->jwks_file), "%s",
	    jwks_path);
	iss->node_claim[0] = '\0';
	expect_finish(&c, "node_attestors.jwt.1: node_claim: must be set", "",
	    "finish: issuer without node_claim");
	(void)unlink(ca_path);
	(void)unlink(jwks_path);
}

static void
test_split_addr(void)
{
	static const char *const bad[] = {
		"", "host", ":80", "host:", "host:0", "host:65536",
		"host:123456", "host:8a", "host:+80", "host:-1", "host: 80",
		"[::1]", "[::1]80", "[]:80", "::1:80", "ho st:80",
		"[1.2.3.4]:80", "[::1:80", "host/x:80", "a@b:80",
	};
	char		 host[64], what[64];
	unsigned short	 port;
	size_t		 i;

	CHECK(conf_split_addr("0.0.0.0:8081", host, sizeof(host), &port) &&
	    strcmp(host, "0.0.0.0") == 0 && port == 8081, "split ipv4");
	CHECK(conf_split_addr("[::1]:443", host, sizeof(host), &port) &&
	    strcmp(host, "::1") == 0 && port == 443, "split ipv6");
	CHECK(conf_split_addr("[fe80::1%eth0]:8443", host, sizeof(host),
	    &port) && strcmp(host, "fe80::1%eth0") == 0 && port == 8443,
	    "split ipv6 with zone");
	CHECK(conf_split_addr("localhost:1", host, sizeof(host), &port) &&
	    strcmp(host, "localhost") == 0 && port == 1, "split name, port 1");
	CHECK(conf_split_addr("ca.example.org:65535", host, sizeof(host),
	    &port) && port == 65535, "split port 65535");
	CHECK(conf_split_addr("a:1", NULL, 0, NULL), "split: check only");
	CHECK(!conf_split_addr("localhost:1", host, 9, &port),
	    "split: host larger than buffer refused");
	CHECK(conf_split_addr("localhost:1", host, 10, &port),
	    "split: host that just fits");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(what, sizeof(what), "split refuses \"%s\"",
		    bad[i]);
		CHECK(!conf_split_addr(bad[i], host, sizeof(host), &port),
		    what);
	}
}

int
main(void)
{
	const char	*td = getenv("SVIDCA_TESTDATA");
	char		 tmp[] = "/tmp/test_conf.XXXXXX";

	if (td == NULL)
		td = "../tests/data";
	(void)snprintf(datadir, sizeof(datadir), "%s", td);

	test_defaults();
	test_good();
	test_example();
	test_empty();
	test_refusals();
	test_finish_files();
	test_finish();
	test_attestors();
	test_split_addr();

	CHECK(mkdtemp(tmp) != NULL, "scratch directory");
	test_too_big(tmp);
	test_symlink(tmp);
	test_attestor_files(tmp);
	(void)rmdir(tmp);

	return check_done();
}
