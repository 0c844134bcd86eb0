/*
 * cli_mint.c: "svidca x509 mint", "svidca jwt mint" and "svidca
 * datastore backup".  The mint commands send POST /v1/svids/x509 and
 * /v1/svids/jwt to the target of the target flags (cli.h) and print
 * what comes back; the backup copies the data dir's database with
 * SQLite's online backup, safe while a server runs.
 *
 * Exit codes: CLI_EXIT_OK; CLI_EXIT_REFUSED when the server refused
 * (its problem detail printed) or a result could not be written;
 * CLI_EXIT_USAGE for bad flags or unreadable input files;
 * CLI_EXIT_UNREACHABLE when no server answered.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "../ca/cert.h"
#include "../ca/key.h"
#include "../store/store.h"
#include "bounds.h"

#define MINT_DB_NAME	"svidca.db"	/* the database in the data dir */

enum {
	OPT_SPIFFE_ID = 1,
	OPT_DNS_NAME,
	OPT_AUDIENCE,
	OPT_TTL,
	OPT_CSR,
	OPT_KEY_OUT,
	OPT_OUT,
};

static const struct option x509_opts[] = {
	{ "spiffe-id", required_argument, NULL, OPT_SPIFFE_ID },
	{ "dns-name", required_argument, NULL, OPT_DNS_NAME },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "csr", required_argument, NULL, OPT_CSR },
	{ "key-out", required_argument, NULL, OPT_KEY_OUT },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	CLI_TARGET_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static const struct option jwt_opts[] = {
	{ "spiffe-id", required_argument, NULL, OPT_SPIFFE_ID },
	{ "audience", required_argument, NULL, OPT_AUDIENCE },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	CLI_TARGET_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static const struct option backup_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	CLI_TARGET_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* The flags of one mint command. */
struct mint_opts {
	struct cli_target target;	/* where to send it */
	const char	*spiffe_id;	/* --spiffe-id */
	const char	**names;	/* --dns-name or --audience, in order;
					 * argc slots, malloc'd */
	size_t		 n_names;
	long long	 ttl;		/* --ttl, seconds */
	bool		 has_ttl;	/* --ttl given */
	const char	*csr;		/* --csr FILE */
	const char	*key_out;	/* --key-out FILE */
	const char	*out;		/* --out FILE */
	bool		 json;		/* -o json */
};

static const char x509_usage[] =
    "usage: svidca x509 mint --spiffe-id ID [--dns-name NAME]... "
    "[--ttl SECONDS]\n"
    "           (--csr FILE | --key-out FILE) [-o pem|json] [--out FILE]\n"
    "           [--socket PATH | --data-dir DIR |\n"
    "            --server https://HOST:PORT --cert FILE --key FILE\n"
    "            --trust-bundle FILE]\n";

static const char jwt_usage[] =
    "usage: svidca jwt mint --spiffe-id ID --audience AUD [--audience "
    "AUD]...\n"
    "           [--ttl SECONDS] [-o text|json]\n"
    "           [--socket PATH | --data-dir DIR |\n"
    "            --server https://HOST:PORT --cert FILE --key FILE\n"
    "            --trust-bundle FILE]\n";

static const char backup_usage[] =
    "usage: svidca datastore backup FILE [--data-dir DIR]\n";

/* A decimal integer of seconds, the whole of s; false if it is not. */
static bool
parse_seconds(const char *s, long long *out)
{
	char *end = NULL;
	long long v;

	if (s[0] == '\0')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == NULL || *end != '\0')
		return false;
	*out = v;
	return true;
}

/*
 * Read the flags of "<word> mint" into o.  Returns -1 to go on, or the
 * exit code to return at once (help, usage fault).  names gets argc
 * slots; the caller frees o->names.
 */
static int
parse_mint(int argc, char **argv, const struct option *opts,
    const char *usage, struct mint_opts *o)
{
	int opt;

	memset(o, 0, sizeof(*o));
	o->names = calloc((size_t)argc + 1, sizeof(*o->names));
	if (o->names == NULL)
		return CLI_EXIT_REFUSED;
	if (argc < 1 || strcmp(argv[0], "mint") != 0) {
		fputs(usage, stderr);
		return CLI_EXIT_USAGE;
	}
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (cli_target_take(&o->target, opt, optarg))
			continue;
		switch (opt) {
		case OPT_SPIFFE_ID:
			o->spiffe_id = optarg;
			break;
		case OPT_DNS_NAME:
		case OPT_AUDIENCE:
			o->names[o->n_names++] = optarg;
			break;
		case OPT_TTL:
			if (!parse_seconds(optarg, &o->ttl)) {
				fprintf(stderr, "svidca: --ttl takes whole "
				    "seconds, not %s\n", optarg);
				return CLI_EXIT_USAGE;
			}
			o->has_ttl = true;
			break;
		case OPT_CSR:
			o->csr = optarg;
			break;
		case OPT_KEY_OUT:
			o->key_out = optarg;
			break;
		case OPT_OUT:
			o->out = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "json") != 0 &&
			    strcmp(optarg, "pem") != 0 &&
			    strcmp(optarg, "text") != 0) {
				fprintf(stderr, "svidca: -o takes json, pem "
				    "or text, not %s\n", optarg);
				return CLI_EXIT_USAGE;
			}
			o->json = strcmp(optarg, "json") == 0;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "svidca: bad or incomplete option "
			    "%s\n", argv[optind - 1]);
			fputs(usage, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "svidca: unexpected argument %s\n",
		    argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (o->spiffe_id == NULL) {
		fprintf(stderr, "svidca: --spiffe-id is required\n");
		fputs(usage, stderr);
		return CLI_EXIT_USAGE;
	}
	return -1;
}

/* The exit code for a cli_send() that did not get an answer. */
static int
exit_for_send(enum rc rc)
{
	if (rc == RC_BAD_REQUEST)
		return CLI_EXIT_USAGE;
	if (rc != RC_IO)
		fprintf(stderr, "svidca: request failed: %s\n", rc_str(rc));
	return CLI_EXIT_UNREACHABLE;
}

/*
 * The DER of the CSR in path (PEM "CERTIFICATE REQUEST" or DER) into *der
 * (OPENSSL_free) and *len.  false with the reason printed.  The server
 * checks the request; here it only has to be one.
 */
static bool
read_csr(const char *path, unsigned char **der, size_t *len)
{
	struct stat st;
	X509_REQ *req = NULL;
	BIO *b = NULL;
	int n;
	bool ok = false;

	*der = NULL;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > CLI_FILE_MAX) {
		fprintf(stderr, "svidca: --csr %s: not a readable file of at "
		    "most %d bytes\n", path, CLI_FILE_MAX);
		goto out;
	}
	b = BIO_new_file(path, "rb");
	if (b == NULL) {
		fprintf(stderr, "svidca: --csr %s: %s\n", path,
		    strerror(errno));
		goto out;
	}
	req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	if (req == NULL && BIO_reset(b) == 0)
		req = d2i_X509_REQ_bio(b, NULL);
	if (req == NULL) {
		fprintf(stderr, "svidca: --csr %s: not a PKCS#10 request in "
		    "PEM or DER\n", path);
		goto out;
	}
	n = i2d_X509_REQ(req, der);
	if (n <= 0)
		goto out;
	*len = (size_t)n;
	ok = true;
out:
	ERR_clear_error();
	X509_REQ_free(req);
	BIO_free(b);
	return ok;
}

/*
 * A CSR for key (an empty subject: the server takes only the key) into
 * *der (OPENSSL_free) and *len.
 */
static bool
make_csr(EVP_PKEY *key, unsigned char **der, size_t *len)
{
	X509_REQ *req;
	int n = 0;

	*der = NULL;
	req = X509_REQ_new();
	if (req == NULL || X509_REQ_set_version(req, X509_REQ_VERSION_1) !=
	    1 || X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    (n = i2d_X509_REQ(req, der)) <= 0) {
		fprintf(stderr, "svidca: cannot make a CSR\n");
		ERR_clear_error();
		X509_REQ_free(req);
		return false;
	}
	X509_REQ_free(req);
	*len = (size_t)n;
	return true;
}

/*
 * Write key as PKCS#8 PEM to path, mode 0600 (also when the file was
 * there before: it is truncated, never followed as a link).
 */
static bool
write_key(EVP_PKEY *key, const char *path)
{
	FILE *f = NULL;
	int fd;
	bool ok = false;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0 || fchmod(fd, 0600) != 0) {
		fprintf(stderr, "svidca: --key-out %s: %s\n", path,
		    strerror(errno));
		goto out;
	}
	f = fdopen(fd, "w");
	if (f == NULL)
		goto out;
	fd = -1;
	ok = PEM_write_PKCS8PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) ==
	    1;
	ERR_clear_error();
out:
	if (f != NULL && fclose(f) != 0)
		ok = false;
	if (fd >= 0)
		(void)close(fd);
	if (!ok)
		fprintf(stderr, "svidca: --key-out %s: cannot write the "
		    "key\n", path);
	return ok;
}

/*
 * The CSR to send, as standard base64 of DER (*b64, caller frees): read
 * from --csr, or made for a fresh P-256 key that is written to
 * --key-out first (*wrote_key then true).  Returns -1 to go on, or an
 * exit code.
 */
static int
csr_b64(const struct mint_opts *o, char **b64, bool *wrote_key)
{
	EVP_PKEY *key = NULL;
	unsigned char *der = NULL;
	size_t len = 0, n;
	int ret = CLI_EXIT_USAGE;

	*b64 = NULL;
	*wrote_key = false;
	if (o->csr != NULL) {
		if (!read_csr(o->csr, &der, &len))
			goto out;
	} else {
		ret = CLI_EXIT_REFUSED;
		key = key_generate(KEY_EC_P256);
		if (key == NULL || !make_csr(key, &der, &len) ||
		    !write_key(key, o->key_out))
			goto out;
		*wrote_key = true;
	}

	ret = CLI_EXIT_REFUSED;
	n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	*b64 = malloc(n);
	if (*b64 == NULL)
		goto out;
	(void)sodium_bin2base64(*b64, n, der, len,
	    sodium_base64_VARIANT_ORIGINAL);
	ret = -1;
out:
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	return ret;
}

/*
 * The request body {"spiffe_id", field: [names...], "csr", "ttl"}: csr
 * and ttl only when given, the names array only when non-empty unless
 * always is set.  Text for the caller to free, or NULL.
 */
static char *
mint_body(const struct mint_opts *o, const char *field, bool always,
    const char *csr)
{
	json_t *body, *a = NULL;
	char *text = NULL;
	size_t i;

	body = json_pack("{s:s}", "spiffe_id", o->spiffe_id);
	if (body == NULL)
		return NULL;
	if (o->n_names > 0 || always) {
		a = json_array();
		if (a == NULL || json_object_set_new(body, field, a) != 0)
			goto out;
		for (i = 0; i < o->n_names; i++)
			if (json_array_append_new(a,
			    json_string(o->names[i])) != 0)
				goto out;
	}
	if (csr != NULL && json_object_set_new(body, "csr",
	    json_string(csr)) != 0)
		goto out;
	if (o->has_ttl && json_object_set_new(body, "ttl",
	    json_integer((json_int_t)o->ttl)) != 0)
		goto out;
	text = json_dumps(body, JSON_COMPACT);
out:
	json_decref(body);
	return text;
}

/*
 * The PEM chain of a MintX509Result's svid array (caller frees) and its
 * expires_at; NULL if the answer is not one.
 */
static char *
reply_chain(const char *resp, json_int_t *expires_at)
{
	json_t *o, *svid, *e;
	unsigned char *der = NULL;
	char *chain = NULL, *pem, *p;
	const char *b64;
	size_t i, len, der_len, have = 0;
	bool ok = false;

	o = json_loads(resp, 0, NULL);
	svid = json_object_get(o, "svid");
	e = json_object_get(o, "expires_at");
	if (!json_is_array(svid) || json_array_size(svid) == 0 ||
	    !json_is_integer(e))
		goto out;
	*expires_at = json_integer_value(e);
	json_array_foreach(svid, i, e) {
		b64 = json_string_value(e);
		if (b64 == NULL)
			goto out;
		len = strlen(b64);
		free(der);
		der = malloc(len / 4 * 3 + 3);
		if (der == NULL || sodium_base642bin(der, len / 4 * 3 + 3, b64,
		    len, NULL, &der_len, NULL,
		    sodium_base64_VARIANT_ORIGINAL) != 0)
			goto out;
		pem = cert_der_to_pem(der, der_len);
		if (pem == NULL)
			goto out;
		p = realloc(chain, have + strlen(pem) + 1);
		if (p == NULL) {
			free(pem);
			goto out;
		}
		chain = p;
		memcpy(chain + have, pem, strlen(pem) + 1);
		have += strlen(pem);
		free(pem);
	}
	ok = true;
out:
	if (!ok) {
		free(chain);
		chain = NULL;
	}
	free(der);
	json_decref(o);
	return chain;
}

/* Write text to path (or stdout when NULL); false with a reason. */
static bool
emit(const char *path, const char *text)
{
	FILE *f = stdout;
	bool ok;

	if (path != NULL) {
		f = fopen(path, "w");
		if (f == NULL) {
			fprintf(stderr, "svidca: --out %s: %s\n", path,
			    strerror(errno));
			return false;
		}
	}
	ok = fputs(text, f) >= 0;
	if (f != stdout)
		ok = fclose(f) == 0 && ok;
	else
		ok = fflush(f) == 0 && ok;
	if (!ok)
		fprintf(stderr, "svidca: cannot write the result\n");
	return ok;
}

/* Print an x509 answer as a PEM chain or as {"svid", "expires_at"}. */
static int
print_x509(const struct mint_opts *o, const char *resp)
{
	json_t *doc = NULL;
	json_int_t exp = 0;
	char *chain, *dumped = NULL, *text = NULL;
	size_t n;
	int ret = CLI_EXIT_REFUSED;

	chain = reply_chain(resp, &exp);
	if (chain == NULL) {
		fprintf(stderr, "svidca: the server's answer holds no "
		    "SVID\n");
		goto out;
	}
	if (o->json) {
		doc = json_pack("{s:s, s:I}", "svid", chain, "expires_at",
		    exp);
		dumped = doc == NULL ? NULL : json_dumps(doc, JSON_INDENT(2));
		if (dumped == NULL)
			goto out;
		n = strlen(dumped) + 2;
		text = malloc(n);
		if (text == NULL)
			goto out;
		(void)snprintf(text, n, "%s\n", dumped);
	}
	if (!emit(o->out, o->json ? text : chain))
		goto out;
	ret = CLI_EXIT_OK;
out:
	free(text);
	free(dumped);
	json_decref(doc);
	free(chain);
	return ret;
}

/*
 * "svidca x509 mint": see the usage text.  Without --csr a P-256 key is
 * made here and written to --key-out (0600) before the request; it is
 * removed again when no SVID comes back for it.
 */
int
cli_x509(int argc, char **argv)
{
	struct mint_opts o;
	char *csr = NULL, *body = NULL, *resp = NULL;
	long status = 0;
	bool wrote_key = false;
	int ret;
	enum rc rc = RC_INTERNAL;

	ret = parse_mint(argc, argv, x509_opts, x509_usage, &o);
	if (ret >= 0)
		goto out;
	ret = CLI_EXIT_USAGE;
	if ((o.csr == NULL) == (o.key_out == NULL)) {
		fprintf(stderr, "svidca: give --csr FILE, or --key-out FILE "
		    "for a key made here\n");
		goto out;
	}
	if (sodium_init() < 0) {
		ret = CLI_EXIT_REFUSED;
		goto out;
	}

	ret = csr_b64(&o, &csr, &wrote_key);
	if (ret >= 0)
		goto out;
	ret = CLI_EXIT_REFUSED;
	body = mint_body(&o, "dns_names", false, csr);
	if (body == NULL)
		goto out;

	rc = cli_send(&o.target, "POST", "/v1/svids/x509", body, &status,
	    &resp);
	if (rc != RC_OK) {
		ret = exit_for_send(rc);
		goto out;
	}
	ret = cli_exit_for(status, resp);
	if (ret != CLI_EXIT_OK)
		goto out;
	ret = print_x509(&o, resp);
out:
	if (ret != CLI_EXIT_OK && wrote_key)
		(void)unlink(o.key_out);
	free(resp);
	free(body);
	free(csr);
	free(o.names);
	return ret;
}

/* Print a jwt answer as the token alone or as {"token", "expires_at"}. */
static int
print_jwt(const struct mint_opts *o, const char *resp)
{
	json_t *doc, *e;
	const char *token;
	char *text = NULL;
	int ret = CLI_EXIT_REFUSED;

	doc = json_loads(resp, 0, NULL);
	token = json_string_value(json_object_get(doc, "token"));
	e = json_object_get(doc, "expires_at");
	if (token == NULL || !json_is_integer(e)) {
		fprintf(stderr, "svidca: the server's answer holds no "
		    "token\n");
		goto out;
	}
	if (o->json)
		text = json_dumps(doc, JSON_INDENT(2));
	else
		text = strdup(token);
	if (text == NULL || !emit(NULL, text) || !emit(NULL, "\n"))
		goto out;
	ret = CLI_EXIT_OK;
out:
	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	json_decref(doc);
	return ret;
}

/* "svidca jwt mint": see the usage text. */
int
cli_jwt(int argc, char **argv)
{
	struct mint_opts o;
	char *body = NULL, *resp = NULL;
	long status = 0;
	int ret;
	enum rc rc = RC_INTERNAL;

	ret = parse_mint(argc, argv, jwt_opts, jwt_usage, &o);
	if (ret >= 0)
		goto out;
	ret = CLI_EXIT_USAGE;
	if (o.n_names == 0) {
		fprintf(stderr, "svidca: at least one --audience is "
		    "required\n");
		goto out;
	}
	if (sodium_init() < 0) {
		ret = CLI_EXIT_REFUSED;
		goto out;
	}

	ret = CLI_EXIT_REFUSED;
	body = mint_body(&o, "audience", true, NULL);
	if (body == NULL)
		goto out;
	rc = cli_send(&o.target, "POST", "/v1/svids/jwt", body, &status,
	    &resp);
	if (rc != RC_OK) {
		ret = exit_for_send(rc);
		goto out;
	}
	ret = cli_exit_for(status, resp);
	if (ret != CLI_EXIT_OK)
		goto out;
	ret = print_jwt(&o, resp);
out:
	if (resp != NULL) {
		sodium_memzero(resp, strlen(resp));
		free(resp);
	}
	free(body);
	free(o.names);
	return ret;
}

/*
 * "svidca datastore backup FILE [--data-dir DIR]": a consistent copy of
 * <data-dir>/svidca.db in FILE, which must not exist.  Works on the
 * local data dir, with or without a server running; the key-encryption
 * key is not in the copy.
 */
int
cli_datastore(int argc, char **argv)
{
	struct cli_target t;
	struct rc_why why;
	char db[PATH_MAX_SVIDCA];
	int opt, w;

	memset(&t, 0, sizeof(t));
	if (argc < 1 || strcmp(argv[0], "backup") != 0) {
		fputs(backup_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", backup_opts, NULL)) !=
	    -1) {
		if (opt == 'h') {
			fputs(backup_usage, stdout);
			return CLI_EXIT_OK;
		}
		if (!cli_target_take(&t, opt, optarg)) {
			fprintf(stderr, "svidca: bad or incomplete option "
			    "%s\n", argv[optind - 1]);
			fputs(backup_usage, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (t.server != NULL || t.socket != NULL || t.cert != NULL ||
	    t.key != NULL || t.trust_bundle != NULL) {
		fprintf(stderr, "svidca: datastore backup reads the local "
		    "data dir; only --data-dir applies\n");
		return CLI_EXIT_USAGE;
	}
	if (optind + 1 != argc) {
		fputs(backup_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	w = snprintf(db, sizeof(db), "%s/%s", t.data_dir == NULL ?
	    CLI_DATA_DIR_DEFAULT : t.data_dir, MINT_DB_NAME);
	if (w < 0 || (size_t)w >= sizeof(db)) {
		fprintf(stderr, "svidca: --data-dir path too long\n");
		return CLI_EXIT_USAGE;
	}
	if (access(db, R_OK) != 0) {
		fprintf(stderr, "svidca: no readable database at %s: %s\n", db,
		    strerror(errno));
		return CLI_EXIT_USAGE;
	}

	rc_why_clear(&why);
	if (store_backup(db, argv[optind], &why) != RC_OK) {
		fprintf(stderr, "svidca: backup of %s to %s failed%s%s\n", db,
		    argv[optind], why.detail[0] == '\0' ? "" : ": ",
		    why.detail);
		return CLI_EXIT_REFUSED;
	}
	printf("backed up %s to %s\n", db, argv[optind]);
	return CLI_EXIT_OK;
}
