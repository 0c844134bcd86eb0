/*
 * cli.c: CLI commands that talk to a running server over its admin
 * socket (see cli.h).
 */
#include "cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "bounds.h"

#define CLI_TIMEOUT	60L	/* seconds for one request */

/* A reply being received. */
struct cli_buf {
	char	*data;		/* malloc'd, NUL-terminated */
	size_t	 len;		/* bytes in data */
	size_t	 cap;		/* bytes allocated */
	bool	 too_large;	/* the reply passed CLI_RESP_MAX */
};

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
 * One request on the admin socket; see cli.h for the outcomes.  The
 * host in the URL only fills the Host header: the socket decides where
 * the request goes.
 */
enum rc
cli_request(const char *socket_path, const char *method, const char *path,
    const char *body, long *status, char **resp)
{
	struct cli_buf buf = { NULL, 0, 0, false };
	struct curl_slist *hdrs = NULL, *h;
	CURL *c = NULL;
	CURLcode cc;
	char *url = NULL;
	size_t n;
	enum rc rc = RC_NOMEM;

	*status = 0;
	*resp = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return RC_INTERNAL;
	n = strlen("http://localhost") + strlen(path) + 1;
	url = malloc(n);
	if (url == NULL)
		goto out;
	(void)snprintf(url, n, "http://localhost%s", path);

	c = curl_easy_init();
	if (c == NULL)
		goto out;
	if (curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, CLI_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf) != CURLE_OK)
		goto out;
	if (body != NULL) {
		h = curl_slist_append(hdrs, "Content-Type: application/json");
		if (h == NULL)
			goto out;
		hdrs = h;
		if (curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) !=
		    CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body)) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK)
			goto out;
	}
	if (strcmp(method, body == NULL ? "GET" : "POST") != 0 &&
	    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK)
		goto out;

	cc = curl_easy_perform(c);
	if (buf.too_large) {
		rc = RC_TOO_LARGE;
		goto out;
	}
	if (cc == CURLE_WRITE_ERROR)
		goto out;
	if (cc != CURLE_OK) {
		fprintf(stderr, "svidca: cannot reach the server on %s: %s\n",
		    socket_path, curl_easy_strerror(cc));
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

/* Print the server's refusal (a problem document, RFC 9457). */
static void
print_problem(long status, const char *text)
{
	json_t *o;
	const char *title = NULL, *detail = NULL;

	o = json_loads(text, 0, NULL);
	if (json_is_object(o)) {
		title = json_string_value(json_object_get(o, "title"));
		detail = json_string_value(json_object_get(o, "detail"));
	}
	fprintf(stderr, "svidca: the server refused (%ld %s)%s%s\n", status,
	    title == NULL ? "error" : title, detail == NULL ? "" : ": ",
	    detail == NULL ? "" : detail);
	json_decref(o);
}

/* One x5c entry (standard base64 of DER) to stdout as PEM. */
static bool
print_x5c(const char *b64)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = strlen(b64), der_len = 0;
	X509 *x = NULL;
	bool ok = false;

	der = malloc(len / 4 * 3 + 3);
	if (der == NULL)
		goto out;
	if (sodium_base642bin(der, len / 4 * 3 + 3, b64, len, NULL,
	    &der_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	p = der;
	x = d2i_X509(NULL, &p, (long)der_len);
	if (x == NULL || p != der + der_len)
		goto out;
	ok = PEM_write_X509(stdout, x) == 1;
out:
	X509_free(x);
	free(der);
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
