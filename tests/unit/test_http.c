/*
 * test_http.c: the HTTP layer on its own, with a route table and hooks
 * of this test.  A small PKI is made here with OpenSSL (two roots for
 * the server, one foreign root, client SVIDs good and bad); libcurl is
 * the client over 127.0.0.1 and over the admin socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "../../api/http.h"
#include "../../server/bounds.h"
#include "../../server/cli.h"
#include "check.h"

#define MAX_BODY	1024	/* the test daemon's body ceiling */
#define REPLY_MAX	16384

/* ------------------------------------------------------------------ */
/* A small PKI                                                         */

struct ident {
	EVP_PKEY	*key;
	X509		*cert;
	char		*cert_pem;	/* malloc'd */
	char		*key_pem;	/* malloc'd */
};

static void
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e;

	e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	if (e == NULL || X509_add_ext(x, e, -1) != 1) {
		fprintf(stderr, "cannot add extension %d %s\n", nid, value);
		abort();
	}
	X509_EXTENSION_free(e);
}

static char *
pem_of(int (*wr)(BIO *, const void *), const void *obj)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (b == NULL || wr(b, obj) != 1)
		abort();
	n = BIO_get_mem_data(b, &data);
	out = malloc((size_t)n + 1);
	if (out == NULL)
		abort();
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
	return out;
}

static int
wr_cert(BIO *b, const void *x)
{
	return PEM_write_bio_X509(b, (X509 *)(uintptr_t)x);
}

static int
wr_key(BIO *b, const void *k)
{
	return PEM_write_bio_PrivateKey(b, (EVP_PKEY *)(uintptr_t)k, NULL,
	    NULL, 0, NULL, NULL);
}

enum kind {
	LEAF,		/* an X.509-SVID */
	CA,		/* a signing certificate */
	CA_TLS,		/* a CA that may also sign in TLS (X5-18 bait) */
};

/*
 * A certificate for a fresh P-256 key: a root when issuer is NULL, else
 * signed by issuer.  san is an OpenSSL subjectAltName value or NULL.
 */
static void
ident_make(struct ident *id, const char *cn, const char *san,
    const struct ident *issuer, enum kind kind, long serial)
{
	static const char *const ku[] = {
		[LEAF] = "critical,digitalSignature",
		[CA] = "critical,keyCertSign,cRLSign",
		[CA_TLS] = "critical,digitalSignature,keyCertSign",
	};
	X509V3_CTX ctx;
	X509_NAME *name;
	X509 *x;

	id->key = EVP_EC_gen("P-256");
	x = X509_new();
	if (id->key == NULL || x == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, id->key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"svidca test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer == NULL ? name :
	    X509_get_subject_name(issuer->cert));

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer == NULL ? x : issuer->cert, x, NULL,
	    NULL, 0);
	add_ext(x, &ctx, NID_basic_constraints,
	    kind != LEAF ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, &ctx, NID_key_usage, ku[kind]);
	if (kind == LEAF)
		add_ext(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
	add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(x, &ctx, NID_authority_key_identifier,
		    "keyid:always");
	if (san != NULL)
		add_ext(x, &ctx, NID_subject_alt_name, san);
	if (X509_sign(x, issuer == NULL ? id->key : issuer->key,
	    EVP_sha256()) <= 0)
		abort();
	id->cert = x;
	id->cert_pem = pem_of(wr_cert, x);
	id->key_pem = pem_of(wr_key, id->key);
}

static void
ident_free(struct ident *id)
{
	X509_free(id->cert);
	EVP_PKEY_free(id->key);
	free(id->cert_pem);
	free(id->key_pem);
}

static struct ident root_a, root_b, root_f;	/* server A, B; foreign */
static struct ident srv_a, srv_b;
static struct ident cl_admin, cl_user, cl_foreign, cl_two_uri, cl_ca;

/* ------------------------------------------------------------------ */
/* Hooks and routes of the test                                        */

static pthread_mutex_t trust_lock = PTHREAD_MUTEX_INITIALIZER;
static X509_STORE *trust_store;		/* guarded by trust_lock */
static uint64_t trust_gen = 1;		/* guarded by trust_lock */
static atomic_int roles_calls;
static atomic_bool uid_allowed;
static atomic_bool is_ready;

static X509_STORE *
store_of(const struct ident *root)
{
	X509_STORE *s = X509_STORE_new();

	if (s == NULL || X509_STORE_add_cert(s, root->cert) != 1)
		abort();
	return s;
}

/* Replace the trust store, as a bundle rotation would. */
static void
trust_set(X509_STORE *s)
{
	pthread_mutex_lock(&trust_lock);
	X509_STORE_free(trust_store);
	trust_store = s;
	trust_gen++;
	pthread_mutex_unlock(&trust_lock);
}

static X509_STORE *
on_trust_get(struct api *api, uint64_t *gen)
{
	X509_STORE *s;

	(void)api;
	pthread_mutex_lock(&trust_lock);
	s = trust_store;
	if (s != NULL)
		X509_STORE_up_ref(s);
	*gen = trust_gen;
	pthread_mutex_unlock(&trust_lock);
	return s;
}

static unsigned
on_peer_roles(struct api *api, const struct spiffeid *id,
    const char *serial)
{
	(void)api;
	(void)serial;
	atomic_fetch_add(&roles_calls, 1);
	if (strcmp(id->str, "spiffe://example.org/admin") == 0)
		return HTTP_ROLE_ADMIN;
	return 0;
}

static bool
on_uid_ok(struct api *api, uid_t uid)
{
	(void)api;
	return uid == getuid() && atomic_load(&uid_allowed);
}

static bool
on_ready(struct api *api)
{
	(void)api;
	return atomic_load(&is_ready);
}

static enum rc
h_anon(struct api *api, struct http_req *req, struct http_resp *resp,
    struct rc_why *why)
{
	(void)api;
	(void)req;
	(void)why;
	http_resp_json(resp, 200, strdup("{\"anon\":true}"));
	return RC_OK;
}

static enum rc
h_whoami(struct api *api, struct http_req *req, struct http_resp *resp,
    struct rc_why *why)
{
	json_t *o;

	(void)api;
	(void)why;
	o = json_pack("{s:s, s:s, s:b, s:b, s:i}", "actor", req->actor,
	    "serial", req->peer_serial, "local", req->is_local,
	    "has_id", req->has_peer_id, "roles", (int)req->roles);
	http_resp_json(resp, 200, json_dumps(o, JSON_COMPACT));
	json_decref(o);
	snprintf(resp->etag, sizeof(resp->etag), "\"7\"");
	return RC_OK;
}

static enum rc
h_echo(struct api *api, struct http_req *req, struct http_resp *resp,
    struct rc_why *why)
{
	json_t *o;

	(void)api;
	(void)why;
	o = json_pack("{s:s, s:i, s:b}", "id",
	    req->params[0] == NULL ? "" : req->params[0],
	    "len", (int)req->body_len,
	    "nul_ended", req->body[req->body_len] == '\0');
	http_resp_json(resp, 201, json_dumps(o, JSON_COMPACT));
	json_decref(o);
	return RC_OK;
}

static enum rc
h_two(struct api *api, struct http_req *req, struct http_resp *resp,
    struct rc_why *why)
{
	json_t *o;

	(void)api;
	(void)why;
	o = json_pack("{s:s, s:s, s:s}", "x", req->params[0], "y",
	    req->params[1], "q", http_query(req, "q") == NULL ? "" :
	    http_query(req, "q"));
	http_resp_json(resp, 200, json_dumps(o, JSON_COMPACT));
	json_decref(o);
	return RC_OK;
}

static enum rc
h_fail(struct api *api, struct http_req *req, struct http_resp *resp,
    struct rc_why *why)
{
	(void)api;
	(void)req;
	http_resp_json(resp, 200, strdup("{\"leaked\":true}"));
	return rc_why_set(why, RC_DB, NULL, NULL, "secret table is locked");
}

static enum rc
h_busy(struct api *api, struct http_req *req, struct http_resp *resp,
    struct rc_why *why)
{
	(void)api;
	(void)req;
	(void)resp;
	return rc_why_set(why, RC_UNAVAILABLE, NULL, NULL,
	    "no active X.509 authority");
}

static enum rc
h_bad(struct api *api, struct http_req *req, struct http_resp *resp,
    struct rc_why *why)
{
	(void)api;
	(void)req;
	(void)resp;
	return rc_why_set(why, RC_BAD_REQUEST, "spiffe_id", "ID-05",
	    "upper case in the trust domain");
}

static atomic_bool bundle_refused;

/* A SPIFFE bundle holding root A, and a JWT key the PEM output skips. */
static enum rc
h_bundle(struct api *api, struct http_req *req, struct http_resp *resp,
    struct rc_why *why)
{
	unsigned char *der = NULL;
	char b64[4096];
	json_t *o;
	int n;

	(void)api;
	(void)req;
	if (atomic_load(&bundle_refused))
		return rc_why_set(why, RC_DENIED, NULL, NULL,
		    "bundle withheld for the test");
	n = i2d_X509(root_a.cert, &der);
	sodium_bin2base64(b64, sizeof(b64), der, (size_t)n,
	    sodium_base64_VARIANT_ORIGINAL);
	OPENSSL_free(der);
	o = json_pack("{s:[{s:s, s:s, s:[s]}, {s:s, s:s, s:s}], s:i}",
	    "keys", "use", "x509-svid", "kty", "EC", "x5c", b64,
	    "use", "jwt-svid", "kty", "EC", "kid", "k1",
	    "spiffe_sequence", 1);
	http_resp_json(resp, 200, json_dumps(o, JSON_COMPACT));
	json_decref(o);
	return RC_OK;
}

#define ADMIN	(HTTP_ROLE_ADMIN | HTTP_ROLE_LOCAL)

static const struct http_route test_routes[] = {
	{ "GET",	"/anon",		HTTP_ROLE_ANON,	h_anon },
	{ "POST",	"/anon/echo/{id}",	HTTP_ROLE_ANON,	h_echo },
	{ "GET",	"/admin",		ADMIN,		h_whoami },
	{ "DELETE",	"/admin",		ADMIN,		h_whoami },
	{ "POST",	"/admin/echo/{id}",	ADMIN,		h_echo },
	{ "GET",	"/a/{x}/b/{y}",		HTTP_ROLE_ANON,	h_two },
	{ "GET",	"/agent",		HTTP_ROLE_AGENT, h_anon },
	{ "GET",	"/fail",		HTTP_ROLE_ANON,	h_fail },
	{ "GET",	"/busy",		HTTP_ROLE_ANON,	h_busy },
	{ "GET",	"/bad",			HTTP_ROLE_ANON,	h_bad },
	{ "GET",	"/v1/bundle",		HTTP_ROLE_ANON,	h_bundle },
	{ NULL, NULL, 0, NULL },
};

/* ------------------------------------------------------------------ */
/* Client side                                                         */

struct reply {
	CURLcode	 cc;
	long		 status;
	char		 body[REPLY_MAX];
	size_t		 len;
	char		 ctype[128];
	char		 allow[128];
	char		 etag[64];
	char		 connection[64];
	long		 nconn;		/* new connections made */
	json_t		*json;		/* parsed body, or NULL */
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n, room = sizeof(r->body) - 1 - r->len;

	if (len > room)
		len = room;
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return size * n;
}

static void
header_take(const char *line, size_t len, const char *name, char *dst,
    size_t cap)
{
	size_t nlen = strlen(name), vlen;

	if (len <= nlen + 1 || strncasecmp(line, name, nlen) != 0 ||
	    line[nlen] != ':')
		return;
	line += nlen + 1;
	len -= nlen + 1;
	while (len > 0 && *line == ' ') {
		line++;
		len--;
	}
	vlen = len;
	while (vlen > 0 && (line[vlen - 1] == '\r' || line[vlen - 1] == '\n'))
		vlen--;
	if (vlen >= cap)
		vlen = cap - 1;
	memcpy(dst, line, vlen);
	dst[vlen] = '\0';
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;

	header_take(p, size * n, "Allow", r->allow, sizeof(r->allow));
	header_take(p, size * n, "ETag", r->etag, sizeof(r->etag));
	header_take(p, size * n, "Connection", r->connection,
	    sizeof(r->connection));
	return size * n;
}

/*
 * A client handle: over TLS trusting ca (PEM) and presenting id when
 * not NULL, or over the unix socket at sock.
 */
static CURL *
client_new(const char *ca, const struct ident *id, const char *sock)
{
	struct curl_blob blob;
	CURL *c = curl_easy_init();

	if (c == NULL)
		abort();
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (sock != NULL)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	if (ca != NULL) {
		blob.data = (void *)(uintptr_t)ca;
		blob.len = strlen(ca);
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		/* The server SVID has a URI SAN only: no host name. */
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (id != NULL) {
		blob.data = id->cert_pem;
		blob.len = strlen(id->cert_pem);
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &blob);
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		blob.data = id->key_pem;
		blob.len = strlen(id->key_pem);
		curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &blob);
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	return c;
}

static void
reply_clear(struct reply *r)
{
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

static void
perform(CURL *c, const char *url, struct reply *r)
{
	reply_clear(r);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	r->cc = curl_easy_perform(c);
	if (r->cc == CURLE_OK) {
		char *ct = NULL;

		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->nconn);
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
		if (ct != NULL)
			snprintf(r->ctype, sizeof(r->ctype), "%s", ct);
		r->json = json_loads(r->body, 0, NULL);
	}
}

/* One GET on a fresh handle. */
static void
get_once(const char *ca, const struct ident *id, const char *sock,
    const char *url, struct reply *r)
{
	CURL *c = client_new(ca, id, sock);

	perform(c, url, r);
	curl_easy_cleanup(c);
}

static const char *
jstr(const struct reply *r, const char *key)
{
	const char *s = json_string_value(json_object_get(r->json, key));

	return s == NULL ? "" : s;
}

static long long
jint(const struct reply *r, const char *key)
{
	json_t *v = json_object_get(r->json, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static bool
is_problem(const struct reply *r, long status, const char *title)
{
	return r->cc == CURLE_OK && r->status == status &&
	    strcmp(r->ctype, "application/problem+json") == 0 &&
	    jint(r, "status") == status && strcmp(jstr(r, "title"),
	    title) == 0 && strcmp(jstr(r, "type"), "about:blank") == 0;
}

/* A local TCP port nobody listens on, as far as one can tell. */
static unsigned short
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned short port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		abort();
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static enum rc
install(struct http *h, const struct ident *leaf, const struct ident *root)
{
	unsigned char *der[2] = { NULL, NULL };
	const unsigned char *cder[2];
	size_t lens[2];
	int n;
	enum rc rc;

	n = i2d_X509(leaf->cert, &der[0]);
	lens[0] = (size_t)n;
	n = i2d_X509(root->cert, &der[1]);
	lens[1] = (size_t)n;
	cder[0] = der[0];
	cder[1] = der[1];
	rc = http_set_server_svid(h, cder, lens, 2, leaf->key);
	OPENSSL_free(der[0]);
	OPENSSL_free(der[1]);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The checks                                                          */

static char base[64], hbase[64], dir[64], sock_path[128];

static void
url_of(char *buf, size_t cap, const char *b, const char *path)
{
	snprintf(buf, cap, "%s%s", b, path);
}

static void
test_before_svid(struct http *h)
{
	struct reply r = { 0 };
	char url[128];

	(void)h;
	url_of(url, sizeof(url), base, "/anon");
	get_once(root_a.cert_pem, NULL, NULL, url, &r);
	CHECK(r.cc != CURLE_OK, "no server certificate yet: handshake fails");
	reply_clear(&r);
}

static void
test_anonymous(void)
{
	struct reply r = { 0 };
	char url[128];

	url_of(url, sizeof(url), base, "/anon");
	get_once(root_a.cert_pem, NULL, NULL, url, &r);
	CHECK(r.cc == CURLE_OK && r.status == 200, "anonymous route: 200");
	CHECK(strcmp(r.body, "{\"anon\":true}") == 0,
	    "anonymous route: handler's body");
	CHECK(strcmp(r.ctype, "application/json") == 0,
	    "anonymous route: application/json");

	url_of(url, sizeof(url), base, "/admin");
	get_once(root_a.cert_pem, NULL, NULL, url, &r);
	CHECK(is_problem(&r, 401, "unauthenticated"),
	    "admin route without certificate: 401 problem");
	CHECK(strcmp(jstr(&r, "field"), "client_certificate") == 0,
	    "401 names the field");
	CHECK(strcmp(jstr(&r, "rule"), "authz.default-deny") == 0,
	    "401 names the rule");
	CHECK(strstr(jstr(&r, "detail"), "admin, local") != NULL,
	    "401 detail names the roles admitted");

	url_of(url, sizeof(url), base, "/agent");
	get_once(root_a.cert_pem, NULL, NULL, url, &r);
	CHECK(is_problem(&r, 401, "unauthenticated"),
	    "agent route without certificate: 401");

	url_of(url, sizeof(url), base, "/nope");
	get_once(root_a.cert_pem, NULL, NULL, url, &r);
	CHECK(is_problem(&r, 404, "not found"), "unknown path: 404 problem");
	CHECK(strcmp(jstr(&r, "field"), "path") == 0, "404 names the path");

	url_of(url, sizeof(url), base, "/anon/extra");
	get_once(root_a.cert_pem, NULL, NULL, url, &r);
	CHECK(is_problem(&r, 404, "not found"), "longer path: 404");

	url_of(url, sizeof(url), base, "/a/one/b/two?q=x%20y");
	get_once(root_a.cert_pem, NULL, NULL, url, &r);
	CHECK(r.status == 200 && strcmp(jstr(&r, "x"), "one") == 0 &&
	    strcmp(jstr(&r, "y"), "two") == 0, "two captures in order");
	CHECK(strcmp(jstr(&r, "q"), "x y") == 0, "http_query decodes");

	url_of(url, sizeof(url), base, "/a//b/two");
	get_once(root_a.cert_pem, NULL, NULL, url, &r);
	CHECK(r.status == 404, "empty capture does not match");

	url_of(url, sizeof(url), base, "/fail");
	get_once(root_a.cert_pem, NULL, NULL, url, &r);
	CHECK(is_problem(&r, 500, "database failure"),
	    "handler 5xx: 500 problem");
	CHECK(strcmp(jstr(&r, "detail"), "internal error") == 0 &&
	    strstr(r.body, "secret") == NULL && strstr(r.body, "leaked") ==
	    NULL, "handler 5xx: generic detail, nothing of the inside");

	url_of(url, sizeof(url), base, "/busy");
	get_once(root_a.cert_pem, NULL, NULL, url, &r);
	CHECK(is_problem(&r, 503, "service unavailable") &&
	    strcmp(jstr(&r, "detail"), "no active X.509 authority") == 0,
	    "handler 503: the state is told, so a client can retry");

	url_of(url, sizeof(url), base, "/bad");
	get_once(root_a.cert_pem, NULL, NULL, url, &r);
	CHECK(is_problem(&r, 400, "bad request") &&
	    strcmp(jstr(&r, "field"), "spiffe_id") == 0 &&
	    strcmp(jstr(&r, "rule"), "ID-05") == 0 &&
	    strcmp(jstr(&r, "detail"), "upper case in the trust domain") == 0,
	    "handler 4xx: problem with field, rule, detail");
	reply_clear(&r);
}

static void
test_method(void)
{
	struct reply r = { 0 };
	char url[128];
	CURL *c;

	url_of(url, sizeof(url), base, "/anon");
	c = client_new(root_a.cert_pem, NULL, NULL);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
	perform(c, url, &r);
	CHECK(is_problem(&r, 405, "method not allowed"), "wrong method: 405");
	CHECK(strcmp(r.allow, "GET") == 0, "405 carries Allow: GET");
	curl_easy_cleanup(c);

	url_of(url, sizeof(url), base, "/admin");
	c = client_new(root_a.cert_pem, NULL, NULL);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
	perform(c, url, &r);
	CHECK(r.status == 405 && strcmp(r.allow, "GET, DELETE") == 0,
	    "405 lists every method of the path");
	curl_easy_cleanup(c);
	reply_clear(&r);
}

static void
test_certificates(void)
{
	struct reply r = { 0 };
	char url[128], serial[64];
	CURL *c;
	int before;

	url_of(url, sizeof(url), base, "/admin");
	before = atomic_load(&roles_calls);
	c = client_new(root_a.cert_pem, &cl_admin, NULL);
	perform(c, url, &r);
	CHECK(r.cc == CURLE_OK && r.status == 200,
	    "admin SVID on admin route: 200");
	CHECK(strcmp(jstr(&r, "actor"), "spiffe://example.org/admin") == 0,
	    "actor is the SPIFFE ID");
	snprintf(serial, sizeof(serial), "%x", 0x1234abcd);
	CHECK(strcmp(jstr(&r, "serial"), serial) == 0,
	    "peer serial in lowercase hex");
	CHECK(json_is_true(json_object_get(r.json, "has_id")) &&
	    json_is_false(json_object_get(r.json, "local")),
	    "has_peer_id, not local");
	CHECK(jint(&r, "roles") == (HTTP_ROLE_ADMIN | HTTP_ROLE_ANON),
	    "roles: admin plus anonymous");
	CHECK(strcmp(r.etag, "\"7\"") == 0, "handler's ETag is sent");

	/* keep-alive: the second request rides the same connection */
	perform(c, url, &r);
	CHECK(r.status == 200 && r.nconn == 0,
	    "keep-alive: second request reuses the connection");
	CHECK(atomic_load(&roles_calls) - before == 1,
	    "verdict cached: chain verified once per connection");

	/* a body on the same connection, then a GET again */
	url_of(url, sizeof(url), base, "/admin/echo/e1");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"a\":1}");
	perform(c, url, &r);
	CHECK(r.status == 201 && jint(&r, "len") == 7 &&
	    strcmp(jstr(&r, "id"), "e1") == 0 &&
	    json_is_true(json_object_get(r.json, "nul_ended")),
	    "POST body reaches the handler, NUL-ended");
	CHECK(r.nconn == 0, "keep-alive after a POST with a body");
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	url_of(url, sizeof(url), base, "/nope");
	perform(c, url, &r);
	CHECK(r.status == 404 && r.nconn == 0, "keep-alive after a 404");
	url_of(url, sizeof(url), base, "/admin");
	perform(c, url, &r);
	CHECK(r.status == 200 && r.nconn == 0, "keep-alive after it again");

	/* the bundle changes: the open connection is judged again */
	trust_set(store_of(&root_f));
	perform(c, url, &r);
	CHECK(is_problem(&r, 401, "unauthenticated") && r.nconn == 0,
	    "trust generation changed: same connection re-verified, 401");
	trust_set(store_of(&root_a));
	perform(c, url, &r);
	CHECK(r.status == 200, "root back in the bundle: 200 again");
	curl_easy_cleanup(c);

	get_once(root_a.cert_pem, &cl_foreign, NULL, url, &r);
	CHECK(is_problem(&r, 401, "unauthenticated"),
	    "SVID from a foreign CA: anonymous, 401");

	get_once(root_a.cert_pem, &cl_user, NULL, url, &r);
	CHECK(is_problem(&r, 403, "permission denied"),
	    "valid non-admin SVID: 403");
	CHECK(strcmp(jstr(&r, "field"), "client_certificate") == 0 &&
	    strcmp(jstr(&r, "rule"), "authz.default-deny") == 0 &&
	    strstr(jstr(&r, "detail"), "spiffe://example.org/user") != NULL,
	    "403 names field, rule and the caller");

	get_once(root_a.cert_pem, &cl_two_uri, NULL, url, &r);
	CHECK(is_problem(&r, 401, "unauthenticated"),
	    "leaf with two URI SANs: anonymous, 401 (X5-02)");

	get_once(root_a.cert_pem, &cl_ca, NULL, url, &r);
	CHECK(is_problem(&r, 401, "unauthenticated"),
	    "CA certificate as client: anonymous, 401 (X5-18)");

	url_of(url, sizeof(url), base, "/anon");
	get_once(root_a.cert_pem, &cl_foreign, NULL, url, &r);
	CHECK(r.status == 200, "foreign SVID still reaches anonymous routes");

	/* TLS 1.2 is still spoken */
	c = client_new(root_a.cert_pem, &cl_admin, NULL);
	curl_easy_setopt(c, CURLOPT_SSLVERSION,
	    (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
	url_of(url, sizeof(url), base, "/admin");
	perform(c, url, &r);
	CHECK(r.cc == CURLE_OK && r.status == 200,
	    "TLS 1.2 with an admin SVID: 200");
	curl_easy_cleanup(c);
	reply_clear(&r);
}

/* Pieces of a chunked upload: total bytes of 'x'. */
static size_t upload_left;

static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	size_t len = size * n;

	(void)arg;
	if (len > upload_left)
		len = upload_left;
	if (len > 300)
		len = 300;
	memset(buf, 'x', len);
	upload_left -= len;
	return len;
}

static void
test_body_limits(void)
{
	struct reply r = { 0 };
	struct curl_slist *hdrs = NULL;
	char url[128], *big, *hdr;
	CURL *c;

	big = malloc(4 * MAX_BODY + 1);
	memset(big, 'a', 4 * MAX_BODY);
	big[4 * MAX_BODY] = '\0';

	url_of(url, sizeof(url), base, "/anon/echo/b1");
	c = client_new(root_a.cert_pem, NULL, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, big);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)MAX_BODY);
	perform(c, url, &r);
	CHECK(r.status == 201 && jint(&r, "len") == MAX_BODY,
	    "body of exactly max_body accepted");
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)MAX_BODY + 1);
	perform(c, url, &r);
	CHECK(is_problem(&r, 413, "content too large"),
	    "Content-Length over max_body: 413 problem");
	CHECK(strcmp(jstr(&r, "field"), "body") == 0, "413 names the body");
	curl_easy_cleanup(c);

	/* chunked: no length declared, the ceiling trips while reading */
	c = client_new(root_a.cert_pem, NULL, NULL);
	hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	upload_left = 3 * MAX_BODY;
	perform(c, url, &r);
	CHECK(is_problem(&r, 413, "content too large"),
	    "chunked body over max_body: 413");
	upload_left = 700;
	perform(c, url, &r);
	CHECK(r.status == 201 && jint(&r, "len") == 700,
	    "chunked body under max_body: accepted");
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	hdrs = NULL;

	/* headers up to HTTP_HEADER_MAX fit the connection's memory */
	hdr = malloc(12 * 1024 + 16);
	snprintf(hdr, 16, "X-Big: ");
	memset(hdr + 7, 'h', 12 * 1024);
	hdr[7 + 12 * 1024] = '\0';
	hdrs = curl_slist_append(NULL, hdr);
	url_of(url, sizeof(url), base, "/anon");
	c = client_new(root_a.cert_pem, NULL, NULL);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	perform(c, url, &r);
	CHECK(r.status == 200, "12 KiB header accepted");
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	free(hdr);
	free(big);
	reply_clear(&r);
}

static void
test_swap(struct http *h)
{
	struct reply r = { 0 };
	char url[128];
	CURL *kept;

	url_of(url, sizeof(url), base, "/anon");
	get_once(root_b.cert_pem, NULL, NULL, url, &r);
	CHECK(r.cc == CURLE_PEER_FAILED_VERIFICATION ||
	    r.cc == CURLE_SSL_CACERT, "before swap: root B does not verify");

	kept = client_new(root_a.cert_pem, NULL, NULL);
	perform(kept, url, &r);
	CHECK(r.status == 200, "connection open before the swap");

	CHECK(install(h, &srv_b, &root_b) == RC_OK, "swap to server B");
	get_once(root_b.cert_pem, NULL, NULL, url, &r);
	CHECK(r.cc == CURLE_OK && r.status == 200,
	    "after swap: a new connection verifies against root B only");
	get_once(root_a.cert_pem, NULL, NULL, url, &r);
	CHECK(r.cc != CURLE_OK, "after swap: root A no longer verifies");

	perform(kept, url, &r);
	CHECK(r.status == 200 && r.nconn == 0,
	    "connection open before the swap keeps working");
	curl_easy_cleanup(kept);

	CHECK(install(h, &srv_a, &root_a) == RC_OK, "swap back to A");
	get_once(root_a.cert_pem, NULL, NULL, url, &r);
	CHECK(r.status == 200, "after swap back: root A verifies");
	reply_clear(&r);
}

static void
test_set_svid_errors(struct http *h)
{
	unsigned char *der = NULL;
	const unsigned char *cder;
	size_t len;
	int n;

	n = i2d_X509(srv_a.cert, &der);
	len = (size_t)n;
	cder = der;
	CHECK(http_set_server_svid(h, &cder, &len, 1, srv_b.key) ==
	    RC_CRYPTO, "server certificate with another key: RC_CRYPTO");
	CHECK(http_set_server_svid(h, &cder, &len, 0, srv_a.key) ==
	    RC_INTERNAL, "empty chain refused");
	len = 10;
	CHECK(http_set_server_svid(h, &cder, &len, 1, srv_a.key) ==
	    RC_CRYPTO, "truncated certificate refused");
	OPENSSL_free(der);
}

static void
test_local(void)
{
	struct reply r = { 0 };
	struct stat st;
	char want[32];

	CHECK(stat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    (st.st_mode & 0777) == 0660, "admin socket exists, mode 0660");

	atomic_store(&uid_allowed, true);
	get_once(NULL, NULL, sock_path, "http://localhost/admin", &r);
	snprintf(want, sizeof(want), "uid:%lu", (unsigned long)getuid());
	CHECK(r.cc == CURLE_OK && r.status == 200,
	    "admin socket, permitted uid: 200");
	CHECK(strcmp(jstr(&r, "actor"), want) == 0, "actor is uid:N");
	CHECK(json_is_true(json_object_get(r.json, "local")) &&
	    jint(&r, "roles") == (HTTP_ROLE_LOCAL | HTTP_ROLE_ANON),
	    "local caller holds the local role");

	atomic_store(&uid_allowed, false);
	get_once(NULL, NULL, sock_path, "http://localhost/admin", &r);
	CHECK(is_problem(&r, 403, "permission denied"),
	    "admin socket, uid not permitted: 403 problem");
	CHECK(strcmp(jstr(&r, "field"), "uid") == 0, "403 names the uid");
	get_once(NULL, NULL, sock_path, "http://localhost/anon", &r);
	CHECK(r.status == 200, "admin socket, anonymous route: 200");
	get_once(NULL, NULL, sock_path, "http://localhost/agent", &r);
	CHECK(is_problem(&r, 403, "permission denied"),
	    "admin socket, agent route: 403");
	reply_clear(&r);
}

static void
test_health(void)
{
	struct reply r = { 0 };
	char url[128];

	url_of(url, sizeof(url), hbase, "/live");
	get_once(NULL, NULL, NULL, url, &r);
	CHECK(r.status == 200 && strcmp(jstr(&r, "status"), "ok") == 0,
	    "/live: 200 ok");
	url_of(url, sizeof(url), hbase, "/ready");
	atomic_store(&is_ready, false);
	get_once(NULL, NULL, NULL, url, &r);
	CHECK(r.status == 503, "/ready before ready: 503");
	atomic_store(&is_ready, true);
	get_once(NULL, NULL, NULL, url, &r);
	CHECK(r.status == 200, "/ready once ready: 200");
	url_of(url, sizeof(url), hbase, "/metricsx");
	get_once(NULL, NULL, NULL, url, &r);
	CHECK(is_problem(&r, 404, "not found"), "health, other path: 404");
	reply_clear(&r);
}

/* Run cli_bundle_show with args, its stdout into out (cap bytes). */
static int
run_cli(char **args, int n, char *out, size_t cap)
{
	char path[128];
	FILE *f;
	size_t len;
	int fd, saved, ret;

	snprintf(path, sizeof(path), "%s/stdout", dir);
	fflush(stdout);
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	saved = dup(1);
	dup2(fd, 1);
	close(fd);
	ret = cli_bundle_show(n, args);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);

	out[0] = '\0';
	f = fopen(path, "r");
	if (f != NULL) {
		len = fread(out, 1, cap - 1, f);
		out[len] = '\0';
		fclose(f);
	}
	unlink(path);
	return ret;
}

static void
test_cli(void)
{
	char out[8192], sock_opt[160], missing[160];
	char *pem[] = { "show", "--socket", sock_path };
	char *spiffe[] = { "show", sock_opt, "--format", "spiffe" };
	char *badfmt[] = { "show", "--socket", sock_path, "--format", "der" };
	char *noval[] = { "show", "--socket" };
	char *unknown[] = { "show", "--sock", sock_path };
	char *gone[] = { "show", "--data-dir", missing };
	json_t *j;
	long status = 0;
	char *resp = NULL;

	snprintf(sock_opt, sizeof(sock_opt), "--socket=%s", sock_path);
	snprintf(missing, sizeof(missing), "%s/nothing", dir);

	CHECK(run_cli(pem, 3, out, sizeof(out)) == CLI_EXIT_OK,
	    "cli bundle show: exit 0");
	CHECK(strcmp(out, root_a.cert_pem) == 0,
	    "cli bundle show: the x509-svid key as PEM, nothing else");

	CHECK(run_cli(spiffe, 4, out, sizeof(out)) == CLI_EXIT_OK,
	    "cli bundle show --format spiffe: exit 0");
	j = json_loads(out, 0, NULL);
	CHECK(json_integer_value(json_object_get(j, "spiffe_sequence")) == 1 &&
	    json_array_size(json_object_get(j, "keys")) == 2,
	    "cli bundle show --format spiffe: the JSON as served");
	json_decref(j);

	CHECK(run_cli(badfmt, 5, out, sizeof(out)) == CLI_EXIT_USAGE,
	    "cli: unknown format is a usage error");
	CHECK(run_cli(noval, 2, out, sizeof(out)) == CLI_EXIT_USAGE,
	    "cli: option without value is a usage error");
	CHECK(run_cli(unknown, 3, out, sizeof(out)) == CLI_EXIT_USAGE,
	    "cli: unknown option is a usage error");
	CHECK(run_cli(gone, 3, out, sizeof(out)) == CLI_EXIT_UNREACHABLE,
	    "cli: no server on the socket: exit 3");

	atomic_store(&bundle_refused, true);
	CHECK(run_cli(pem, 3, out, sizeof(out)) == CLI_EXIT_REFUSED &&
	    out[0] == '\0', "cli: server refuses: exit 1, nothing printed");
	atomic_store(&bundle_refused, false);

	CHECK(cli_request(sock_path, "DELETE", "/admin", NULL, &status,
	    &resp) == RC_OK && status == 403 && resp != NULL &&
	    strstr(resp, "permission denied") != NULL,
	    "cli_request: DELETE, problem body returned");
	free(resp);
	resp = NULL;
	CHECK(cli_request(sock_path, "POST", "/anon/echo/c1", "{\"k\":2}",
	    &status, &resp) == RC_OK && status == 201 && resp != NULL &&
	    strstr(resp, "\"len\":7") != NULL, "cli_request: POST body sent");
	free(resp);
	resp = NULL;
	CHECK(cli_request(missing, "GET", "/anon", NULL, &status, &resp) ==
	    RC_IO && resp == NULL, "cli_request: no server: RC_IO");
}

static void
opts_init(struct http_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->socket_group = "";
	o->threads = 2;
	o->max_body = MAX_BODY;
	o->routes = test_routes;
	o->hooks.peer_roles = on_peer_roles;
	o->hooks.uid_ok = on_uid_ok;
	o->hooks.ready = on_ready;
	o->hooks.trust_get = on_trust_get;
}

static void
test_start_errors(const char *listen_addr)
{
	struct http_opts o;
	struct http *h = NULL;
	struct rc_why why;
	char want[128], path[256];
	int fd;
	enum rc rc;

	/* the port the running daemon holds */
	opts_init(&o);
	o.listen = listen_addr;
	rc_why_clear(&why);
	rc = http_start(NULL, &o, &h, &why);
	snprintf(want, sizeof(want), "listen %s: Address already in use",
	    listen_addr);
	CHECK(rc == RC_IO && h == NULL, "port in use: RC_IO");
	CHECK(strcmp(why.detail, want) == 0, "port in use: exact detail");
	CHECK(why.field != NULL && strcmp(why.field, "listen") == 0,
	    "port in use: field names the setting");

	opts_init(&o);
	o.listen = "127.0.0.1";
	rc = http_start(NULL, &o, &h, &why);
	CHECK(rc == RC_IO && strstr(why.detail, "not host:port") != NULL,
	    "listen without port: RC_IO");

	/* a path longer than sun_path holds */
	opts_init(&o);
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	o.admin_socket = path;
	rc_why_clear(&why);
	rc = http_start(NULL, &o, &h, &why);
	CHECK(rc == RC_IO && h == NULL, "socket path too long: RC_IO");
	CHECK(strstr(why.detail, "255 bytes") != NULL &&
	    strstr(why.detail, "107") != NULL,
	    "socket path too long: detail gives length and limit");

	/* a regular file where the socket goes is never removed */
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	opts_init(&o);
	o.admin_socket = path;
	rc = http_start(NULL, &o, &h, &why);
	CHECK(rc == RC_IO && strstr(why.detail, "not a socket") != NULL,
	    "non-socket file at the socket path: RC_IO");
	CHECK(access(path, F_OK) == 0, "the file is left alone");
	unlink(path);

	/* the live admin socket of the running daemon is not stolen */
	opts_init(&o);
	o.admin_socket = sock_path;
	rc = http_start(NULL, &o, &h, &why);
	CHECK(rc == RC_IO && strstr(why.detail, "another server") != NULL,
	    "live socket of another server: RC_IO");

	/* an unknown group */
	snprintf(path, sizeof(path), "%s/g.sock", dir);
	opts_init(&o);
	o.admin_socket = path;
	o.socket_group = "no-such-group-svidca";
	rc = http_start(NULL, &o, &h, &why);
	CHECK(rc == RC_IO && strstr(why.detail, "no-such-group") != NULL,
	    "unknown socket group: RC_IO");
	CHECK(access(path, F_OK) != 0, "failed socket file removed");
}

static void
test_ipv6(void)
{
	struct http_opts o;
	struct http *h = NULL;
	struct rc_why why;
	struct reply r = { 0 };
	char addr[64], url[96];
	unsigned short port = free_port();
	enum rc rc;

	snprintf(addr, sizeof(addr), "[::1]:%u", port);
	opts_init(&o);
	o.listen = addr;
	o.threads = 0;
	rc = http_start(NULL, &o, &h, &why);
	if (rc != RC_OK && strstr(why.detail, "not available") != NULL) {
		printf("# no IPv6 loopback here: %s\n", why.detail);
		return;
	}
	CHECK(rc == RC_OK, "listen on [::1], a pool of one per core");
	if (rc != RC_OK)
		return;
	CHECK(install(h, &srv_a, &root_a) == RC_OK, "IPv6: install A");
	snprintf(url, sizeof(url), "https://[::1]:%u/admin", port);
	get_once(root_a.cert_pem, &cl_admin, NULL, url, &r);
	CHECK(r.cc == CURLE_OK && r.status == 200,
	    "IPv6: admin SVID verified, 200");
	http_stop(h);
	reply_clear(&r);
}

static void
test_stale_socket(void)
{
	struct sockaddr_un sa;
	struct http_opts o;
	struct http *h = NULL;
	struct rc_why why;
	struct reply r = { 0 };
	char path[100];
	int fd;
	enum rc rc;

	/* a socket file left by a process that died */
	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	    "stale socket made");
	close(fd);

	opts_init(&o);
	o.admin_socket = path;
	o.socket_group = "root";
	rc = http_start(NULL, &o, &h, &why);
	CHECK(rc == RC_OK, "stale socket file replaced");
	atomic_store(&uid_allowed, true);
	get_once(NULL, NULL, path, "http://localhost/admin", &r);
	CHECK(r.status == 200, "replaced socket answers");
	http_stop(h);
	CHECK(access(path, F_OK) != 0, "http_stop removes the socket file");
	reply_clear(&r);
}

static void
pki_make(void)
{
	ident_make(&root_a, "root A", "URI:spiffe://example.org", NULL, CA,
	    1);
	ident_make(&root_b, "root B", "URI:spiffe://example.org", NULL, CA,
	    2);
	ident_make(&root_f, "root F", "URI:spiffe://example.org", NULL, CA,
	    3);
	ident_make(&srv_a, "server A", "URI:spiffe://example.org/server",
	    &root_a, LEAF, 10);
	ident_make(&srv_b, "server B", "URI:spiffe://example.org/server",
	    &root_b, LEAF, 11);
	ident_make(&cl_admin, "admin", "URI:spiffe://example.org/admin",
	    &root_a, LEAF, 0x1234abcd);
	ident_make(&cl_user, "user", "URI:spiffe://example.org/user",
	    &root_a, LEAF, 21);
	ident_make(&cl_foreign, "admin elsewhere",
	    "URI:spiffe://example.org/admin", &root_f, LEAF, 22);
	ident_make(&cl_two_uri, "two",
	    "URI:spiffe://example.org/admin,URI:spiffe://example.org/x",
	    &root_a, LEAF, 23);
	ident_make(&cl_ca, "ca as client", "URI:spiffe://example.org/admin",
	    &root_a, CA_TLS, 24);
}

static void
pki_free(void)
{
	ident_free(&root_a);
	ident_free(&root_b);
	ident_free(&root_f);
	ident_free(&srv_a);
	ident_free(&srv_b);
	ident_free(&cl_admin);
	ident_free(&cl_user);
	ident_free(&cl_foreign);
	ident_free(&cl_two_uri);
	ident_free(&cl_ca);
}

int
main(void)
{
	struct http_opts o;
	struct http *h = NULL;
	struct rc_why why;
	char listen_addr[64], health_addr[64];
	unsigned short port, hport;
	enum rc rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	pki_make();
	trust_store = store_of(&root_a);
	snprintf(dir, sizeof(dir), "/tmp/svidca-http-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(sock_path, sizeof(sock_path), "%s/admin.sock", dir);

	port = free_port();
	hport = free_port();
	snprintf(listen_addr, sizeof(listen_addr), "127.0.0.1:%u", port);
	snprintf(health_addr, sizeof(health_addr), "127.0.0.1:%u", hport);
	snprintf(base, sizeof(base), "https://127.0.0.1:%u", port);
	snprintf(hbase, sizeof(hbase), "http://127.0.0.1:%u", hport);

	opts_init(&o);
	o.listen = listen_addr;
	o.health_listen = health_addr;
	o.admin_socket = sock_path;
	rc_why_clear(&why);
	rc = http_start(NULL, &o, &h, &why);
	CHECK(rc == RC_OK && h != NULL, "http_start");
	if (rc != RC_OK) {
		printf("# %s\n", why.detail);
		return check_done();
	}

	test_before_svid(h);
	CHECK(install(h, &srv_a, &root_a) == RC_OK, "install server A");
	test_anonymous();
	test_method();
	test_certificates();
	test_body_limits();
	test_swap(h);
	test_set_svid_errors(h);
	test_local();
	test_cli();
	test_health();
	test_start_errors(listen_addr);
	test_ipv6();
	test_stale_socket();

	http_stop(h);
	CHECK(access(sock_path, F_OK) != 0, "socket file gone after stop");
	rmdir(dir);
	X509_STORE_free(trust_store);
	pki_free();
	curl_global_cleanup();
	return check_done();
}
