/*
 * agent_client.c: the agent's HTTPS client (see agent_client.h).
 *
 * libcurl builds a fresh SSL_CTX for every new connection and then hands
 * it to CURLOPT_SSL_CTX_FUNCTION, where we swap in our roots, our
 * verification callback and our certificate.  The callback sees no user
 * pointer, so the client rides along as ex_data on the SSL_CTX.
 */
#include "agent_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../ca/spiffeid.h"
#include "../server/log.h"

#define CLIENT_CONNECT_TIMEOUT	5L	/* seconds to connect */
#define CLIENT_TIMEOUT		120L	/* seconds for one exchange */
#define CLIENT_URL_MAX		2048	/* bytes of a URL */
#define CLIENT_HEADER_MAX	512	/* bytes of a header we send */
#define CLIENT_WHY_MAX		256	/* bytes of a verification reason */
#define CLIENT_RETRY_MAX	3600L	/* seconds of Retry-After we accept */

struct agent_client {
	CURL		*curl;		/* owned; remade on a policy change */
	char		 base[CLIENT_URL_MAX];	/* "https://HOST:PORT" */
	char		 server_id[SPIFFEID_MAX + 1];	/* expected URI SAN */
	X509_STORE	*roots;		/* owned reference */
	X509		*leaf;		/* owned reference; NULL: anonymous */
	STACK_OF(X509)	*chain;		/* owned; intermediates */
	EVP_PKEY	*key;		/* owned reference */
	bool		 (*should_stop)(void);	/* may be NULL */
	unsigned long	 connects;	/* TLS handshakes begun */
	char		 why[CLIENT_WHY_MAX];	/* last verification fault */
	char		 err[CURL_ERROR_SIZE];	/* curl's last reason */
};

/* A reply being received. */
struct client_buf {
	struct agent_client_reply	*reply;
	size_t				 cap;	/* bytes allocated */
	bool				 too_large;
};

static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static int client_idx = -1;		/* SSL_CTX ex_data slot */
static bool client_curl_ok;

static void
init_once(void)
{
	client_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	client_curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/* Once per process, before threads; see agent_client.h. */
enum rc
agent_client_global_init(void)
{
	(void)pthread_once(&client_once, init_once);
	return client_idx >= 0 && client_curl_ok ? RC_OK : RC_INTERNAL;
}

/*
 * Does x carry exactly one URI SAN, equal to want?  SPIFFE X509-SVID 2
 * allows one; the server's must name its own ID.
 */
static bool
has_only_uri(X509 *x, const char *want)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	const ASN1_IA5STRING *uri = NULL;
	size_t len;
	int i, n = 0;
	bool ok = false;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_URI) {
			uri = g->d.uniformResourceIdentifier;
			n++;
		}
	}
	len = strlen(want);
	if (n == 1 && (size_t)ASN1_STRING_length(uri) == len &&
	    memcmp(ASN1_STRING_get0_data(uri), want, len) == 0)
		ok = true;
	GENERAL_NAMES_free(gens);
	return ok;
}

/*
 * OpenSSL's verdict on each certificate of the server's chain.  The
 * chain itself is OpenSSL's to judge, against our roots only; at the
 * leaf we add the SPIFFE ID check that replaces the host name check.
 */
static int
on_verify(int ok, X509_STORE_CTX *xs)
{
	struct agent_client *cl;
	SSL *ssl;
	int err;

	ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl == NULL)
		return 0;
	cl = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), client_idx);
	if (cl == NULL)
		return 0;
	if (ok != 1) {
		err = X509_STORE_CTX_get_error(xs);
		(void)snprintf(cl->why, sizeof(cl->why), "depth %d: %s",
		    X509_STORE_CTX_get_error_depth(xs),
		    X509_verify_cert_error_string(err));
		return 0;
	}
	if (X509_STORE_CTX_get_error_depth(xs) != 0)
		return 1;
	if (!has_only_uri(X509_STORE_CTX_get_current_cert(xs),
	    cl->server_id)) {
		(void)snprintf(cl->why, sizeof(cl->why), "the server's SVID is not %s",
		    cl->server_id);
		X509_STORE_CTX_set_error(xs,
		    X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

/* curl made the SSL_CTX of a new connection: install our policy. */
static CURLcode
on_ssl_ctx(CURL *curl, void *sslctx, void *arg)
{
	struct agent_client *cl = arg;
	SSL_CTX *ctx = sslctx;
	int i;

	(void)curl;
	cl->connects++;
	cl->why[0] = '\0';
	if (SSL_CTX_set_ex_data(ctx, client_idx, cl) != 1 ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return CURLE_SSL_CERTPROBLEM;
	/* Replace, not add to, curl's store: only our roots count. */
	SSL_CTX_set1_cert_store(ctx, cl->roots);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_verify);
	if (cl->leaf == NULL)
		return CURLE_OK;
	if (SSL_CTX_use_certificate(ctx, cl->leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, cl->key) != 1)
		return CURLE_SSL_CERTPROBLEM;
	for (i = 0; i < sk_X509_num(cl->chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(cl->chain,
		    i)) != 1)
			return CURLE_SSL_CERTPROBLEM;
	return CURLE_OK;
}

/* libcurl hands over a piece of the body. */
static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct client_buf *b = arg;
	struct agent_client_reply *r = b->reply;
	size_t n = size * nmemb, cap;
	char *p;

	if (n > AGENT_CLIENT_REPLY_MAX - r->len) {
		b->too_large = true;
		return 0;
	}
	if (r->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? 4096 : b->cap;
		while (cap < r->len + n + 1)
			cap *= 2;
		p = realloc(r->body, cap);
		if (p == NULL)
			return 0;
		r->body = p;
		b->cap = cap;
	}
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* Copy a header's value (after "name:") without blanks at either end. */
static void
take_value(const char *v, size_t len, char *out, size_t size)
{
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' ||
	    v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len >= size)
		len = 0;	/* too long to be ours: keep nothing */
	memcpy(out, v, len);
	out[len] = '\0';
}

/* libcurl hands over one header line; keep ETag and Retry-After. */
static size_t
on_header(char *line, size_t size, size_t nmemb, void *arg)
{
	struct client_buf *b = arg;
	struct agent_client_reply *r = b->reply;
	size_t n = size * nmemb;
	char val[32], *end;
	long secs;

	if (n > 5 && strncasecmp(line, "ETag:", 5) == 0) {
		take_value(line + 5, n - 5, r->etag, sizeof(r->etag));
	} else if (n > 12 && strncasecmp(line, "Retry-After:", 12) == 0) {
		take_value(line + 12, n - 12, val, sizeof(val));
		secs = strtol(val, &end, 10);
		if (end != val && *end == '\0' && secs > 0 &&
		    secs <= CLIENT_RETRY_MAX)
			r->retry_after = secs;
	}
	return n;
}

/* Abandon a transfer when the owner is stopping. */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct agent_client *cl = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return cl->should_stop != NULL && cl->should_stop() ? 1 : 0;
}

/* A fresh easy handle with every option that never changes. */
static CURL *
make_handle(struct agent_client *cl)
{
	CURL *c;

	c = curl_easy_init();
	if (c == NULL)
		return NULL;
	if (curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cl->err) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_1_1) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	    CLIENT_CONNECT_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, CLIENT_TIMEOUT) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, cl) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXCONNECTS, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFODATA, cl) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK) {
		curl_easy_cleanup(c);
		return NULL;
	}
	return c;
}

/*
 * Drop the connection: a new handle has an empty connection cache, so
 * the next request performs a full handshake under the new policy.
 */
static void
drop_connection(struct agent_client *cl)
{
	curl_easy_cleanup(cl->curl);
	cl->curl = NULL;
}

/* A client for server; see agent_client.h. */
struct agent_client *
agent_client_new(const char *server, const char *td, X509_STORE *roots)
{
	struct agent_client *cl;
	int n1, n2;

	if (agent_client_global_init() != RC_OK) {
		X509_STORE_free(roots);
		return NULL;
	}
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		X509_STORE_free(roots);
		return NULL;
	}
	cl->roots = roots;
	n1 = snprintf(cl->base, sizeof(cl->base), "https://%s", server);
	n2 = snprintf(cl->server_id, sizeof(cl->server_id), "%s%s%s",
	    SPIFFEID_SCHEME, td, AGENT_CLIENT_SERVER_PATH);
	if (n1 < 0 || (size_t)n1 >= sizeof(cl->base) || n2 < 0 ||
	    (size_t)n2 >= sizeof(cl->server_id)) {
		log_error("agent", "server address or trust domain too long");
		agent_client_free(cl);
		return NULL;
	}
	return cl;
}

void
agent_client_free(struct agent_client *cl)
{
	if (cl == NULL)
		return;
	curl_easy_cleanup(cl->curl);
	X509_STORE_free(cl->roots);
	X509_free(cl->leaf);
	sk_X509_pop_free(cl->chain, X509_free);
	EVP_PKEY_free(cl->key);
	free(cl);
}

/* New roots, new connection; see agent_client.h. */
void
agent_client_set_roots(struct agent_client *cl, X509_STORE *roots)
{
	X509_STORE_free(cl->roots);
	cl->roots = roots;
	drop_connection(cl);
}

/* Present another SVID from the next connection on. */
enum rc
agent_client_set_identity(struct agent_client *cl, X509 *leaf,
    STACK_OF(X509) *chain, EVP_PKEY *key)
{
	STACK_OF(X509) *dup = NULL;

	if (leaf != NULL) {
		dup = chain != NULL ? X509_chain_up_ref(chain) :
		    sk_X509_new_null();
		if (dup == NULL)
			return RC_NOMEM;
		if (X509_up_ref(leaf) != 1 || EVP_PKEY_up_ref(key) != 1) {
			sk_X509_pop_free(dup, X509_free);
			return RC_CRYPTO;
		}
	}
	X509_free(cl->leaf);
	sk_X509_pop_free(cl->chain, X509_free);
	EVP_PKEY_free(cl->key);
	cl->leaf = leaf;
	cl->chain = dup;
	cl->key = leaf != NULL ? key : NULL;
	drop_connection(cl);
	return RC_OK;
}

void
agent_client_set_abort(struct agent_client *cl, bool (*should_stop)(void))
{
	cl->should_stop = should_stop;
}

unsigned long
agent_client_get_connects(const struct agent_client *cl)
{
	return cl->connects;
}

void
agent_client_reply_clear(struct agent_client_reply *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Headers for one request, or NULL. */
static struct curl_slist *
make_headers(const char *body, const char *if_none_match)
{
	struct curl_slist *h = NULL, *t;
	char line[CLIENT_HEADER_MAX];
	int n;

	/* "Expect:" drops curl's 100-continue wait on large bodies. */
	t = curl_slist_append(h, "Expect:");
	if (t == NULL)
		goto fail;
	h = t;
	t = curl_slist_append(h, "Accept: application/json");
	if (t == NULL)
		goto fail;
	h = t;
	if (body != NULL) {
		t = curl_slist_append(h, "Content-Type: application/json");
		if (t == NULL)
			goto fail;
		h = t;
	}
	if (if_none_match != NULL && if_none_match[0] != '\0') {
		n = snprintf(line, sizeof(line), "If-None-Match: %s",
		    if_none_match);
		if (n < 0 || (size_t)n >= sizeof(line))
			goto fail;
		t = curl_slist_append(h, line);
		if (t == NULL)
			goto fail;
		h = t;
	}
	return h;
fail:
	curl_slist_free_all(h);
	return NULL;
}

/* One request; see agent_client.h for the outcomes. */
enum rc
agent_client_request(struct agent_client *cl, const char *method,
    const char *path, const char *body, const char *if_none_match,
    struct agent_client_reply *out)
{
	struct client_buf buf;
	struct curl_slist *hdrs = NULL;
	char url[CLIENT_URL_MAX];
	CURLcode cc;
	int n;
	enum rc rc = RC_NOMEM;

	memset(out, 0, sizeof(*out));
	memset(&buf, 0, sizeof(buf));
	buf.reply = out;
	n = snprintf(url, sizeof(url), "%s%s", cl->base, path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return RC_TOO_LARGE;
	if (cl->curl == NULL) {
		cl->curl = make_handle(cl);
		if (cl->curl == NULL)
			return RC_NOMEM;
	}
	hdrs = make_headers(body, if_none_match);
	if (hdrs == NULL)
		goto out;

	cl->err[0] = '\0';
	if (curl_easy_setopt(cl->curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(cl->curl, CURLOPT_HTTPHEADER, hdrs) !=
	    CURLE_OK ||
	    curl_easy_setopt(cl->curl, CURLOPT_WRITEDATA, &buf) !=
	    CURLE_OK ||
	    curl_easy_setopt(cl->curl, CURLOPT_HEADERDATA, &buf) !=
	    CURLE_OK)
		goto out;
	if (strcmp(method, "POST") == 0) {
		if (curl_easy_setopt(cl->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(body == NULL ? 0 : strlen(body))) !=
		    CURLE_OK ||
		    curl_easy_setopt(cl->curl, CURLOPT_POSTFIELDS,
		    body == NULL ? "" : body) != CURLE_OK)
			goto out;
	} else if (strcmp(method, "GET") == 0) {
		if (curl_easy_setopt(cl->curl, CURLOPT_HTTPGET, 1L) !=
		    CURLE_OK)
			goto out;
	} else {
		rc = RC_INTERNAL;
		goto out;
	}

	cc = curl_easy_perform(cl->curl);
	if (buf.too_large) {
		log_warn("agent", "reply over its size limit path=%s max=%d",
		    path, AGENT_CLIENT_REPLY_MAX);
		rc = RC_TOO_LARGE;
		goto out;
	}
	if (cc != CURLE_OK) {
		log_warn("agent",
		    "no answer from the server url=%s reason=\"%s%s%s\"", url,
		    cl->err[0] != '\0' ? cl->err : curl_easy_strerror(cc),
		    cl->why[0] != '\0' ? ": " : "", cl->why);
		rc = RC_IO;
		/* A broken exchange may leave state we do not want reused. */
		drop_connection(cl);
		goto out;
	}
	if (curl_easy_getinfo(cl->curl, CURLINFO_RESPONSE_CODE,
	    &out->status) != CURLE_OK) {
		rc = RC_IO;
		goto out;
	}
	if (out->body == NULL) {
		out->body = calloc(1, 1);
		if (out->body == NULL)
			goto out;
	}

	rc = RC_OK;
out:
	if (cl->curl != NULL)
		(void)curl_easy_setopt(cl->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (rc != RC_OK)
		agent_client_reply_clear(out);
	return rc;
}

/* The problem detail of a reply; see agent_client.h. */
const char *
agent_client_reply_detail(const struct agent_client_reply *r, char *buf,
    size_t len)
{
	json_t *doc;
	const char *s = NULL;

	buf[0] = '\0';
	if (r->body == NULL || r->len == 0)
		return buf;
	doc = json_loadb(r->body, r->len, 0, NULL);
	if (json_is_object(doc)) {
		s = json_string_value(json_object_get(doc, "detail"));
		if (s == NULL)
			s = json_string_value(json_object_get(doc, "title"));
	}
	if (s != NULL)
		(void)snprintf(buf, len, "%s", s);
	json_decref(doc);
	return buf;
}

/* The rc for a refusal's status; see agent_client.h. */
enum rc
agent_client_status_rc(long status)
{
	switch (status) {
	case 400:
		return RC_BAD_REQUEST;
	case 401:
		return RC_UNAUTHENTICATED;
	case 403:
		return RC_DENIED;
	case 404:
		return RC_NOT_FOUND;
	case 429:
		return RC_RATE_LIMITED;
	default:
		return status >= 500 && status <= 599 ? RC_UNAVAILABLE :
		    RC_INTERNAL;
	}
}
