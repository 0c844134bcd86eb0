/*
 * cli.c: the client side of the admin API for CLI commands (see cli.h):
 * requests over the local admin socket, or over HTTPS with an admin
 * X.509-SVID, the server checked against a trust bundle we were given.
 */
#include "cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "../ca/spiffeid.h"
#include "bounds.h"

#define CLI_TIMEOUT	60L	/* seconds for one request */
#define CLI_SERVER_PATH	"/svidca/server"	/* the server's SVID path */

/* A reply being received. */
struct cli_buf {
	char	*data;		/* malloc'd, NUL-terminated */
	size_t	 len;		/* bytes in data */
	size_t	 cap;		/* bytes allocated */
	bool	 too_large;	/* the reply passed CLI_RESP_MAX */
};

/*
 * How the CLI judges an HTTPS server (PROBES.md 5): its chain must end
 * at one of the bundle's roots, and its leaf must carry exactly one URI
 * SAN, the server ID of the roots' trust domain.  No host name check:
 * a SPIFFE server is known by its ID, not by a DNS name.
 */
struct cli_tls {
	X509_STORE	*roots;			/* bundle's roots, owned */
	char		 want[SPIFFEID_MAX + 1]; /* expected server ID */
	char		 got[SPIFFEID_MAX + 1];	/* ID it presented, or "" */
};

/* Where one exchange goes. */
struct cli_via {
	const char	*socket;	/* Unix socket path, or NULL */
	const char	*base;		/* URL before the path, no final / */
	const char	*cert;		/* HTTPS: client chain, PEM, or NULL */
	const char	*key;		/* HTTPS: its private key (PEM) */
	struct cli_tls	*tls;		/* HTTPS: server check, or NULL */
	const char	*where;		/* socket or server, for messages */
};

/* SSL_CTX slot holding the struct cli_tls of a handshake; -1 unset. */
static int cli_tls_idx = -1;

/* libcurl hands over a piece of the reply. */
static size_t
on_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct cli_buf *b = arg;
	size_t n = size * nmemb, cap;
	char *p;

	if (n > CLI_RESP_MAX - b->len) {
		b->too_large = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? 4096 : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (p == NULL)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/*
 * The URI SANs of x: how many there are, and the first one copied into
 * out[len] (NUL-terminated; "" when none, or when it holds a NUL byte or
 * does not fit).
 */
static int
uri_sans(X509 *x, char *out, size_t len)
{
	GENERAL_NAMES *names;
	const GENERAL_NAME *gn;
	const unsigned char *p;
	int i, n = 0, l;

	out[0] = '\0';
	names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		gn = sk_GENERAL_NAME_value(names, i);
		if (gn->type != GEN_URI)
			continue;
		if (n++ != 0)
			continue;
		p = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
		l = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
		if (l < 0 || (size_t)l >= len || memchr(p, '\0', (size_t)l) !=
		    NULL)
			continue;
		memcpy(out, p, (size_t)l);
		out[l] = '\0';
	}
	GENERAL_NAMES_free(names);
	ERR_clear_error();
	return n;
}

/*
 * OpenSSL's verdict on one certificate of the server's chain.  Once the
 * chain verified to our roots, the leaf (depth 0) must name the server
 * ID we expect, as its only URI SAN.
 */
static int
on_verify(int ok, X509_STORE_CTX *xs)
{
	struct cli_tls *tls;
	SSL *ssl;
	X509 *leaf;

	if (ok != 1 || X509_STORE_CTX_get_error_depth(xs) != 0)
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	tls = ssl == NULL ? NULL : SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
	    cli_tls_idx);
	leaf = X509_STORE_CTX_get_current_cert(xs);
	if (tls == NULL || leaf == NULL) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
		return 0;
	}
	if (uri_sans(leaf, tls->got, sizeof(tls->got)) != 1 ||
	    strcmp(tls->got, tls->want) != 0) {
		X509_STORE_CTX_set_error(xs,
		    X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

/*
 * libcurl built the TLS context: trust only the bundle's roots (the
 * store replaces curl's, system CAs included) and check the leaf's ID.
 */
static CURLcode
on_ssl_ctx(CURL *c, void *sslctx, void *arg)
{
	SSL_CTX *ctx = sslctx;
	struct cli_tls *tls = arg;

	(void)c;
	if (X509_STORE_up_ref(tls->roots) != 1)
		return CURLE_SSL_CERTPROBLEM;
	SSL_CTX_set_cert_store(ctx, tls->roots);
	if (SSL_CTX_set_ex_data(ctx, cli_tls_idx, tls) != 1)
		return CURLE_SSL_CERTPROBLEM;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_verify);
	return CURLE_OK;
}

/* Set what an HTTPS exchange needs on c; false if curl refused one. */
static bool
set_https(CURL *c, const struct cli_via *via)
{
	/*
	 * No session cache and no connection reuse: a resumed session
	 * skips on_verify (PROBES.md 5).
	 */
	return curl_easy_setopt(c, CURLOPT_SSLCERT, via->cert) == CURLE_OK &&
	    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK &&
	    curl_easy_setopt(c, CURLOPT_SSLKEY, via->key) == CURLE_OK &&
	    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM") == CURLE_OK &&
	    curl_easy_setopt(c, CURLOPT_CAINFO, NULL) == CURLE_OK &&
	    curl_easy_setopt(c, CURLOPT_CAPATH, NULL) == CURLE_OK &&
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK &&
	    curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L) ==
	    CURLE_OK &&
	    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L) == CURLE_OK &&
	    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) ==
	    CURLE_OK &&
	    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, via->tls) == CURLE_OK;
}

/* Set the request line and body on c; false if curl refused one. */
static bool
set_request(CURL *c, const char *url, const char *method, const char *body,
    struct curl_slist **hdrs)
{
	struct curl_slist *h;

	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, CLI_TIMEOUT) != CURLE_OK)
		return false;
	if (body != NULL) {
		h = curl_slist_append(*hdrs, "Content-Type: application/json");
		if (h == NULL)
			return false;
		*hdrs = h;
		if (curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs) !=
		    CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body)) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK)
			return false;
	}
	if (strcmp(method, body == NULL ? "GET" : "POST") != 0 &&
	    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK)
		return false;
	return true;
}

/* Say why the exchange with via failed; cc is curl's code. */
static void
print_unreachable(const struct cli_via *via, CURLcode cc)
{
	if (via->tls != NULL && via->tls->got[0] != '\0' &&
	    strcmp(via->tls->got, via->tls->want) != 0) {
		fprintf(stderr, "svidca: %s presented %s, not %s: not our "
		    "server\n", via->where, via->tls->got, via->tls->want);
		return;
	}
	fprintf(stderr, "svidca: cannot reach the server on %s: %s\n",
	    via->where, curl_easy_strerror(cc));
}

/*
 * One exchange through via; outcomes as cli_request (cli.h), and
 * RC_BAD_REQUEST when curl cannot use the client certificate or key.
 */
static enum rc
exchange(const struct cli_via *via, const char *method, const char *path,
    const char *body, long *status, char **resp)
{
	struct cli_buf buf = { NULL, 0, 0, false };
	struct curl_slist *hdrs = NULL;
	CURL *c = NULL;
	CURLcode cc;
	char *url = NULL;
	size_t n;
	enum rc rc = RC_NOMEM;

	*status = 0;
	*resp = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return RC_INTERNAL;
	n = strlen(via->base) + strlen(path) + 1;
	url = malloc(n);
	if (url == NULL)
		goto out;
	(void)snprintf(url, n, "%s%s", via->base, path);

	c = curl_easy_init();
	if (c == NULL)
		goto out;
	if (!set_request(c, url, method, body, &hdrs) ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf) != CURLE_OK)
		goto out;
	if (via->socket != NULL && curl_easy_setopt(c,
	    CURLOPT_UNIX_SOCKET_PATH, via->socket) != CURLE_OK)
		goto out;
	if (via->tls != NULL && !set_https(c, via))
		goto out;

	cc = curl_easy_perform(c);
	if (buf.too_large) {
		rc = RC_TOO_LARGE;
		goto out;
	}
	if (cc == CURLE_WRITE_ERROR)
		goto out;
	if (cc == CURLE_SSL_CERTPROBLEM) {
		fprintf(stderr, "svidca: cannot use --cert %s with --key %s: "
		    "%s\n", via->cert, via->key, curl_easy_strerror(cc));
		rc = RC_BAD_REQUEST;
		goto out;
	}
	if (cc != CURLE_OK) {
		print_unreachable(via, cc);
		rc = RC_IO;
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status) !=
	    CURLE_OK) {
		rc = RC_IO;
		goto out;
	}
	if (buf.data == NULL) {
		buf.data = strdup("");
		if (buf.data == NULL)
			goto out;
	}

	*resp = buf.data;
	buf.data = NULL;
	rc = RC_OK;
out:
	free(buf.data);
	free(url);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	return rc;
}

/*
 * One request on the admin socket; see cli.h for the outcomes.  The
 * host in the URL only fills the Host header: the socket decides where
 * the request goes.
 */
enum rc
cli_request(const char *socket_path, const char *method, const char *path,
    const char *body, long *status, char **resp)
{
	struct cli_via via;

	memset(&via, 0, sizeof(via));
	via.socket = socket_path;
	via.base = "http://localhost";
	via.where = socket_path;
	return exchange(&via, method, path, body, status, resp);
}

/*
 * Record a target flag; see cli.h.  A later flag of the same name wins,
 * as with getopt's other options.
 */
bool
cli_target_take(struct cli_target *t, int opt, const char *arg)
{
	switch (opt) {
	case CLI_OPT_SOCKET:
		t->socket = arg;
		return true;
	case CLI_OPT_DATA_DIR:
		t->data_dir = arg;
		return true;
	case CLI_OPT_SERVER:
		t->server = arg;
		return true;
	case CLI_OPT_CERT:
		t->cert = arg;
		return true;
	case CLI_OPT_KEY:
		t->key = arg;
		return true;
	case CLI_OPT_TRUST_BUNDLE:
		t->trust_bundle = arg;
		return true;
	default:
		return false;
	}
}

/*
 * The whole of a file into a fresh NUL-terminated buffer (*out, caller
 * frees; *len its bytes).  false, with the reason printed, when it
 * cannot be read or passes CLI_FILE_MAX.
 */
static bool
read_file(const char *path, const char *flag, char **out, size_t *len)
{
	struct stat st;
	FILE *f;
	char *buf = NULL;
	size_t n = 0;
	bool ok = false;

	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "svidca: %s %s: %s\n", flag, path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CLI_FILE_MAX) {
		fprintf(stderr, "svidca: %s %s: not a regular file of at "
		    "most %d bytes\n", flag, path, CLI_FILE_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto out;
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f) != 0) {
		fprintf(stderr, "svidca: %s %s: read error\n", flag, path);
		goto out;
	}
	buf[n] = '\0';

	*out = buf;
	*len = n;
	buf = NULL;
	ok = true;
out:
	free(buf);
	if (f != NULL)
		(void)fclose(f);
	return ok;
}

/* A certificate from standard base64 of DER (an x5c entry); NULL if bad. */
static X509 *
x509_from_b64(const char *b64)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = strlen(b64), der_len = 0;
	X509 *x = NULL;

	der = malloc(len / 4 * 3 + 3);
	if (der == NULL)
		goto out;
	if (sodium_base642bin(der, len / 4 * 3 + 3, b64, len, NULL,
	    &der_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	p = der;
	x = d2i_X509(NULL, &p, (long)der_len);
	if (x != NULL && p != der + der_len) {
		X509_free(x);
		x = NULL;
	}
out:
	ERR_clear_error();
	free(der);
	return x;
}

/*
 * Add one root to tls: into the store, and its trust domain (from its
 * URI SAN) must agree with those before it; the server ID is derived
 * from the first.  false with the reason printed otherwise.  x is
 * borrowed.
 */
static bool
add_root(struct cli_tls *tls, X509 *x, const char *path)
{
	struct spiffeid id;
	struct rc_why why;
	char uri[SPIFFEID_MAX + 1], td[SPIFFEID_TD_MAX + 1];
	int w;

	if (uri_sans(x, uri, sizeof(uri)) != 1 || spiffeid_parse(uri,
	    strlen(uri), &id, "trust_bundle", &why) != RC_OK) {
		fprintf(stderr, "svidca: --trust-bundle %s: a root without "
		    "one SPIFFE ID as URI SAN\n", path);
		return false;
	}
	spiffeid_get_td(&id, td);
	if (tls->want[0] == '\0') {
		w = snprintf(tls->want, sizeof(tls->want), "%s%s%s",
		    SPIFFEID_SCHEME, td, CLI_SERVER_PATH);
		if (w < 0 || (size_t)w >= sizeof(tls->want))
			return false;
	} else if (strncmp(tls->want + SPIFFEID_SCHEME_LEN, td,
	    strlen(td)) != 0 || strcmp(tls->want + SPIFFEID_SCHEME_LEN +
	    strlen(td), CLI_SERVER_PATH) != 0) {
		fprintf(stderr, "svidca: --trust-bundle %s: roots of more "
		    "than one trust domain\n", path);
		return false;
	}
	if (X509_STORE_add_cert(tls->roots, x) != 1) {
		ERR_clear_error();
		fprintf(stderr, "svidca: --trust-bundle %s: cannot use a "
		    "root\n", path);
		return false;
	}
	return true;
}

/*
 * The roots of a SPIFFE bundle (SPIFFE Trust Domain and Bundle 4.2.1:
 * keys with use x509-svid, certificate in x5c).  A key we cannot read
 * is skipped, as a bundle consumer does; the count added goes to *n.
 */
static bool
add_bundle_roots(struct cli_tls *tls, const char *text, size_t len,
    const char *path, int *n)
{
	json_t *doc, *keys, *key, *x5c;
	const char *use, *b64;
	X509 *x;
	size_t i;
	bool ok = false;

	*n = 0;
	doc = json_loadb(text, len, 0, NULL);
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		fprintf(stderr, "svidca: --trust-bundle %s: not a SPIFFE "
		    "bundle (no keys array)\n", path);
		goto out;
	}
	json_array_foreach(keys, i, key) {
		use = json_string_value(json_object_get(key, "use"));
		x5c = json_object_get(key, "x5c");
		if (use == NULL || strcmp(use, "x509-svid") != 0 ||
		    json_array_size(x5c) != 1)
			continue;
		b64 = json_string_value(json_array_get(x5c, 0));
		x = b64 == NULL ? NULL : x509_from_b64(b64);
		if (x == NULL)
			continue;
		ok = add_root(tls, x, path);
		X509_free(x);
		if (!ok)
			goto out;
		(*n)++;
	}
	ok = true;
out:
	json_decref(doc);
	return ok;
}

/* The certificates of a PEM file, each a root; count into *n. */
static bool
add_pem_roots(struct cli_tls *tls, const char *text, size_t len,
    const char *path, int *n)
{
	BIO *b;
	X509 *x;
	bool ok = true;

	*n = 0;
	b = BIO_new_mem_buf(text, (int)len);
	if (b == NULL)
		return false;
	while (ok && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		ok = add_root(tls, x, path);
		X509_free(x);
		if (ok)
			(*n)++;
	}
	ERR_clear_error();
	BIO_free(b);
	return ok;
}

/*
 * Load --trust-bundle, PEM certificates or a SPIFFE bundle (JSON), into
 * tls.  false with the reason printed when it holds no usable root.
 */
static bool
load_trust(struct cli_tls *tls, const char *path)
{
	char *text = NULL;
	size_t len = 0, i;
	int n = 0;
	bool ok = false;

	memset(tls, 0, sizeof(*tls));
	if (!read_file(path, "--trust-bundle", &text, &len))
		goto out;
	tls->roots = X509_STORE_new();
	if (tls->roots == NULL)
		goto out;
	for (i = 0; i < len && strchr(" \t\r\n", text[i]) != NULL; i++)
		;
	if (i < len && text[i] == '{')
		ok = add_bundle_roots(tls, text, len, path, &n);
	else
		ok = add_pem_roots(tls, text, len, path, &n);
	if (ok && n == 0) {
		fprintf(stderr, "svidca: --trust-bundle %s: no X.509 root "
		    "in it\n", path);
		ok = false;
	}
out:
	free(text);
	return ok;
}

/*
 * The socket a target names: --socket, else <data-dir>/admin.sock (the
 * data dir defaulting to CLI_DATA_DIR_DEFAULT), into path[len].
 */
static bool
target_socket(const struct cli_target *t, char *path, size_t len)
{
	int w;

	w = snprintf(path, len, "%s", t->socket);
	if (t->socket == NULL)
		w = snprintf(path, len, "%s/%s", t->data_dir == NULL ?
		    CLI_DATA_DIR_DEFAULT : t->data_dir, CLI_SOCKET_NAME);
	if (w < 0 || (size_t)w >= len) {
		fprintf(stderr, "svidca: the admin socket path is too "
		    "long\n");
		return false;
	}
	return true;
}

/* The --server URL without its final slashes, into base[len]. */
static bool
target_base(const char *server, char *base, size_t len)
{
	size_t n = strlen(server);

	while (n > 0 && server[n - 1] == '/')
		n--;
	if (strncmp(server, "https://", 8) != 0 || n <= 8 || n >= len ||
	    strpbrk(server, " \t\r\n?#") != NULL) {
		fprintf(stderr, "svidca: --server must be https://HOST:PORT, "
		    "not %s\n", server);
		return false;
	}
	memcpy(base, server, n);
	base[n] = '\0';
	return true;
}

/*
 * Send one request to the target: over the admin socket, or over HTTPS
 * with the admin SVID, the server checked against the trust bundle.  See
 * cli.h; RC_BAD_REQUEST (reason printed) for an incomplete or unusable
 * HTTPS target.
 */
enum rc
cli_send(const struct cli_target *t, const char *method, const char *path,
    const char *body, long *status, char **resp)
{
	struct cli_via via;
	struct cli_tls tls;
	char sock[PATH_MAX_SVIDCA], base[PATH_MAX_SVIDCA];
	enum rc rc = RC_BAD_REQUEST;

	*status = 0;
	*resp = NULL;
	memset(&tls, 0, sizeof(tls));
	if (t->server == NULL) {
		if (!target_socket(t, sock, sizeof(sock)))
			return RC_BAD_REQUEST;
		return cli_request(sock, method, path, body, status, resp);
	}

	if (t->socket != NULL) {
		fprintf(stderr, "svidca: give --socket or --server, not "
		    "both\n");
		goto out;
	}
	if (t->cert == NULL || t->key == NULL || t->trust_bundle == NULL) {
		fprintf(stderr, "svidca: --server needs --cert, --key and "
		    "--trust-bundle\n");
		goto out;
	}
	if (!target_base(t->server, base, sizeof(base)))
		goto out;
	if (cli_tls_idx < 0)
		cli_tls_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
		    NULL);
	if (cli_tls_idx < 0 || !load_trust(&tls, t->trust_bundle))
		goto out;

	memset(&via, 0, sizeof(via));
	via.base = base;
	via.cert = t->cert;
	via.key = t->key;
	via.tls = &tls;
	via.where = base;
	rc = exchange(&via, method, path, body, status, resp);
out:
	X509_STORE_free(tls.roots);
	return rc;
}

/* Print the server's refusal (a problem document, RFC 9457). */
static void
print_problem(long status, const char *text)
{
	json_t *o;
	const char *title = NULL, *detail = NULL, *field = NULL, *rule = NULL;

	o = json_loads(text, 0, NULL);
	if (json_is_object(o)) {
		title = json_string_value(json_object_get(o, "title"));
		detail = json_string_value(json_object_get(o, "detail"));
		field = json_string_value(json_object_get(o, "field"));
		rule = json_string_value(json_object_get(o, "rule"));
	}
	fprintf(stderr, "svidca: the server refused (%ld %s)%s%s", status,
	    title == NULL ? "error" : title, detail == NULL ? "" : ": ",
	    detail == NULL ? "" : detail);
	if (field != NULL || rule != NULL)
		fprintf(stderr, " [field %s, rule %s]", field == NULL ? "-" :
		    field, rule == NULL ? "-" : rule);
	fputc('\n', stderr);
	json_decref(o);
}

/*
 * CLI_EXIT_OK for a 2xx answer; otherwise the problem document's title,
 * detail, field and rule on stderr, and CLI_EXIT_REFUSED.
 */
int
cli_exit_for(long status, const char *resp)
{
	if (status >= 200 && status <= 299)
		return CLI_EXIT_OK;
	print_problem(status, resp == NULL ? "" : resp);
	return CLI_EXIT_REFUSED;
}

/* One x5c entry (standard base64 of DER) to stdout as PEM. */
static bool
print_x5c(const char *b64)
{
	X509 *x;
	bool ok;

	x = x509_from_b64(b64);
	if (x == NULL)
		return false;
	ok = PEM_write_X509(stdout, x) == 1;
	X509_free(x);
	return ok;
}

/*
 * The X.509 authorities of a SPIFFE bundle (keys with use x509-svid,
 * SPIFFE Trust Domain and Bundle 4.2.1) to stdout as PEM.  Returns the
 * number printed, or -1 if the bundle or one certificate is unreadable.
 */
static int
print_bundle_pem(const char *text)
{
	json_t *doc, *keys, *key, *x5c, *cert;
	const char *use;
	size_t i, j;
	int n = -1;

	doc = json_loads(text, 0, NULL);
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys))
		goto out;
	n = 0;
	json_array_foreach(keys, i, key) {
		use = json_string_value(json_object_get(key, "use"));
		if (use == NULL || strcmp(use, "x509-svid") != 0)
			continue;
		x5c = json_object_get(key, "x5c");
		json_array_foreach(x5c, j, cert) {
			if (!json_is_string(cert) ||
			    !print_x5c(json_string_value(cert))) {
				n = -1;
				goto out;
			}
			n++;
		}
	}
out:
	json_decref(doc);
	return n;
}

static void
bundle_show_usage(FILE *f)
{
	fprintf(f, "usage: svidca bundle show [--socket PATH] "
	    "[--data-dir DIR] [--format pem|spiffe]\n");
}

/*
 * Take option name at argv[*i], as "--name VALUE" or "--name=VALUE",
 * into *value.  Returns false when argv[*i] is another option, or sets
 * *bad when the value is missing.
 */
static bool
opt_take(int argc, char **argv, int *i, const char *name,
    const char **value, bool *bad)
{
	size_t len = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, len) != 0)
		return false;
	if (a[len] == '=') {
		*value = a + len + 1;
		return true;
	}
	if (a[len] != '\0')
		return false;
	if (*i + 1 >= argc) {
		*bad = true;
		return false;
	}
	(*i)++;
	*value = argv[*i];
	return true;
}

/*
 * "svidca bundle show": GET /v1/bundle on the admin socket, printed as
 * PEM or as served.  Returns a CLI_EXIT_ code; see cli.h.
 */
int
cli_bundle_show(int argc, char **argv)
{
	const char *sock = NULL, *dir = CLI_DATA_DIR_DEFAULT, *fmt = "pem";
	char path[PATH_MAX_SVIDCA], *resp = NULL;
	long status = 0;
	size_t len;
	bool bad = false;
	int i, w, n, ret = CLI_EXIT_USAGE;
	enum rc rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			bundle_show_usage(stdout);
			return CLI_EXIT_OK;
		}
		if (opt_take(argc, argv, &i, "--socket", &sock, &bad) ||
		    opt_take(argc, argv, &i, "--data-dir", &dir, &bad) ||
		    opt_take(argc, argv, &i, "--format", &fmt, &bad))
			continue;
		bad = true;
		if (bad) {
			fprintf(stderr, "svidca: bundle show: bad argument "
			    "%s\n", argv[i]);
			bundle_show_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (strcmp(fmt, "pem") != 0 && strcmp(fmt, "spiffe") != 0) {
		fprintf(stderr, "svidca: bundle show: --format is pem or "
		    "spiffe, not %s\n", fmt);
		return CLI_EXIT_USAGE;
	}
	if (sock == NULL) {
		w = snprintf(path, sizeof(path), "%s/%s", dir,
		    CLI_SOCKET_NAME);
		if (w < 0 || (size_t)w >= sizeof(path)) {
			fprintf(stderr, "svidca: bundle show: data dir path "
			    "too long\n");
			return CLI_EXIT_USAGE;
		}
		sock = path;
	}
	if (sodium_init() < 0)
		return CLI_EXIT_UNREACHABLE;

	rc = cli_request(sock, "GET", "/v1/bundle", NULL, &status, &resp);
	if (rc != RC_OK) {
		if (rc != RC_IO)
			fprintf(stderr, "svidca: request to %s failed: %s\n",
			    sock, rc_str(rc));
		ret = CLI_EXIT_UNREACHABLE;
		goto out;
	}
	if (status < 200 || status > 299) {
		print_problem(status, resp);
		ret = CLI_EXIT_REFUSED;
		goto out;
	}

	if (strcmp(fmt, "spiffe") == 0) {
		len = strlen(resp);
		printf("%s%s", resp, len > 0 && resp[len - 1] == '\n' ? "" :
		    "\n");
		ret = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
		goto out;
	}
	n = print_bundle_pem(resp);
	if (n < 0) {
		fprintf(stderr, "svidca: the server's bundle is not readable "
		    "as a SPIFFE bundle\n");
		ret = CLI_EXIT_REFUSED;
		goto out;
	}
	if (n == 0) {
		fprintf(stderr, "svidca: the bundle holds no X.509 "
		    "authority\n");
		ret = CLI_EXIT_REFUSED;
		goto out;
	}
	ret = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
out:
	free(resp);
	return ret;
}
