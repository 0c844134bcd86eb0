/*
 * test_csr.c: csr_parse() and csr_parse_pem() on the fixtures made by
 * tests/data/csr/make.sh: every accepted key kind, every rejection rule
 * with its exact code, single-bit corruption of a good request, and use
 * from several threads at once.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../../ca/csr.h"
#include "../../server/bounds.h"
#include "check.h"

#define THREADS		4
#define THREAD_ROUNDS	200

/* Contents of $SVIDCA_TESTDATA/csr/<name> (caller frees); NULL if none. */
static unsigned char *
load(const char *name, size_t *len)
{
	const char *dir = getenv("SVIDCA_TESTDATA");
	char path[1024];
	unsigned char *buf = NULL;
	FILE *f;
	long n;

	*len = 0;
	if (dir == NULL)
		dir = "tests/data";
	if (snprintf(path, sizeof(path), "%s/csr/%s", dir, name) >=
	    (int)sizeof(path))
		return NULL;
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf != NULL) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* The SPKI of a request as OpenSSL's own (slow) path encodes it. */
static bool
spki_matches_openssl(const unsigned char *der, size_t len,
    const struct csr *c)
{
	const unsigned char *p = der;
	unsigned char *spki = NULL;
	X509_REQ *req;
	bool same = false;
	int n;

	req = d2i_X509_REQ(NULL, &p, (long)len);
	if (req == NULL)
		return false;
	n = i2d_PUBKEY(X509_REQ_get0_pubkey(req), &spki);
	if (n > 0 && (size_t)n == c->spki_len &&
	    memcmp(spki, c->spki, c->spki_len) == 0)
		same = true;
	OPENSSL_free(spki);
	X509_REQ_free(req);
	return same;
}

static void
test_good(const char *name, enum csr_key key, int bits)
{
	unsigned char *der, *pem;
	size_t dlen, plen;
	struct csr *c = NULL, *cp = NULL;
	struct rc_why why;
	char file[128], what[256];
	enum rc rc;

	snprintf(file, sizeof(file), "%s.der", name);
	der = load(file, &dlen);
	snprintf(what, sizeof(what), "%s: fixture present", file);
	CHECK(der != NULL, what);
	if (der == NULL)
		return;

	rc_why_clear(&why);
	rc = csr_parse(der, dlen, &c, &why);
	snprintf(what, sizeof(what), "%s: accepted (%s)", name,
	    why.rule == NULL ? "ok" : why.rule);
	CHECK(rc == RC_OK && c != NULL, what);
	if (c != NULL) {
		snprintf(what, sizeof(what), "%s: key kind and %d bits", name,
		    bits);
		CHECK(c->key == key && c->bits == bits, what);
		snprintf(what, sizeof(what), "%s: SPKI equals OpenSSL's", name);
		CHECK(spki_matches_openssl(der, dlen, c), what);
	}

	snprintf(file, sizeof(file), "%s.pem", name);
	pem = load(file, &plen);
	rc = csr_parse_pem((const char *)pem, plen, &cp, &why);
	snprintf(what, sizeof(what), "%s: PEM accepted, same SPKI", name);
	CHECK(rc == RC_OK && cp != NULL && c != NULL &&
	    cp->spki_len == c->spki_len &&
	    memcmp(cp->spki, c->spki, c->spki_len) == 0, what);

	csr_free(cp);
	csr_free(c);
	free(pem);
	free(der);
}

/* Parse bytes and expect RC_BAD_CSR with rule, field "csr", no output. */
static void
expect_bad(const char *what, const unsigned char *der, size_t len,
    bool is_pem, const char *rule)
{
	struct csr *c = (struct csr *)&c;	/* must be set to NULL */
	struct rc_why why;
	char msg[512];
	enum rc rc;

	rc_why_clear(&why);
	if (is_pem)
		rc = csr_parse_pem((const char *)der, len, &c, &why);
	else
		rc = csr_parse(der, len, &c, &why);
	snprintf(msg, sizeof(msg), "%s: RC_BAD_CSR, rule \"%s\" (got %d, "
	    "\"%s\")", what, rule, (int)rc, why.rule == NULL ? "" : why.rule);
	CHECK(rc == RC_BAD_CSR && why.code == RC_BAD_CSR &&
	    why.rule != NULL && strcmp(why.rule, rule) == 0 &&
	    why.field != NULL && strcmp(why.field, "csr") == 0 &&
	    why.detail[0] != '\0', msg);
	snprintf(msg, sizeof(msg), "%s: no request returned", what);
	CHECK(c == NULL, msg);
	CHECK(ERR_peek_error() == 0, "OpenSSL error queue left empty");
	if (rc == RC_OK)
		csr_free(c);
}

static void
test_bad_file(const char *file, const char *rule)
{
	unsigned char *buf;
	size_t len;
	char what[128];
	size_t n = strlen(file);

	buf = load(file, &len);
	snprintf(what, sizeof(what), "%s: fixture present", file);
	CHECK(buf != NULL, what);
	if (buf == NULL)
		return;
	expect_bad(file, buf, len, n > 4 && strcmp(file + n - 4, ".pem") == 0,
	    rule);
	free(buf);
}

static void
test_limits(void)
{
	unsigned char *big, *der;
	char *pem;
	size_t len;
	int n;

	big = calloc(1, 4 * CSR_DER_MAX);
	if (big == NULL)
		return;
	expect_bad("DER one byte over CSR_DER_MAX", big, CSR_DER_MAX + 1, false,
	    "csr: over size limit");
	expect_bad("PEM far over the limit", big, 4 * CSR_DER_MAX, true,
	    "csr: over size limit");
	expect_bad("empty DER", big, 0, false, "csr: not a PKCS#10 request");
	expect_bad("NULL DER", NULL, 0, false, "csr: not a PKCS#10 request");
	expect_bad("empty PEM", big, 0, true, "csr: not a PKCS#10 request");
	free(big);

	pem = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
	expect_bad("PEM of another type", (const unsigned char *)pem,
	    strlen(pem), true, "csr: not a PKCS#10 request");
	pem = "just some text";
	expect_bad("text without PEM", (const unsigned char *)pem,
	    strlen(pem), true, "csr: not a PKCS#10 request");

	/* An encrypted PEM must fail, not prompt for a password. */
	pem = "-----BEGIN CERTIFICATE REQUEST-----\n"
	    "Proc-Type: 4,ENCRYPTED\n"
	    "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n"
	    "MAA=\n-----END CERTIFICATE REQUEST-----\n";
	expect_bad("encrypted PEM", (const unsigned char *)pem, strlen(pem),
	    true, "csr: not a PKCS#10 request");

	/* Garbage inside good armour. */
	pem = "-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n"
	    "-----END CERTIFICATE REQUEST-----\n";
	expect_bad("PEM of a non-request", (const unsigned char *)pem,
	    strlen(pem), true, "csr: not a PKCS#10 request");

	/* Each form handed to the other parser. */
	der = load("good-p256.der", &len);
	if (der != NULL)
		expect_bad("DER given as PEM", der, len, true,
		    "csr: not a PKCS#10 request");
	free(der);
	der = load("good-p256.pem", &len);
	if (der != NULL)
		expect_bad("PEM given as DER", der, len, false,
		    "csr: not a PKCS#10 request");
	free(der);

	/* The old label is still a request. */
	der = load("good-p256.pem", &len);
	if (der != NULL) {
		char *old;
		size_t olen = len + 16;
		struct csr *c = NULL;
		struct rc_why why;
		enum rc rc;
		const char *body = strchr((char *)der, '\n');

		old = malloc(olen);
		n = snprintf(old, olen, "%s%.*s",
		    "-----BEGIN NEW CERTIFICATE REQUEST-----",
		    (int)(strstr((char *)der, "-----END") - body), body);
		n += snprintf(old + n, olen - (size_t)n,
		    "-----END NEW CERTIFICATE REQUEST-----\n");
		rc = csr_parse_pem(old, (size_t)n, &c, &why);
		CHECK(rc == RC_OK && c != NULL,
		    "PEM with the NEW CERTIFICATE REQUEST label accepted");
		csr_free(c);
		free(old);
		free(der);
	}
}

/*
 * Every single-bit change to a good request must be refused: the
 * signature covers the info, and the rest is structure or signature.
 */
static void
test_bit_flips(void)
{
	unsigned char *der;
	size_t len, i;
	int bit, refused = 0, total = 0, wrong_rc = 0;
	struct csr *c;
	struct rc_why why;
	char what[128];

	der = load("good-p256.der", &len);
	if (der == NULL)
		return;
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			der[i] ^= (unsigned char)(1u << bit);
			c = NULL;
			rc_why_clear(&why);
			if (csr_parse(der, len, &c, &why) == RC_BAD_CSR &&
			    c == NULL && why.rule != NULL)
				refused++;
			else if (c == NULL)
				wrong_rc++;
			csr_free(c);
			der[i] ^= (unsigned char)(1u << bit);
			total++;
		}
	}
	ERR_clear_error();
	snprintf(what, sizeof(what), "all %d single-bit changes refused with "
	    "RC_BAD_CSR (%d refused, %d other codes)", total, refused,
	    wrong_rc);
	CHECK(refused == total, what);
	free(der);
}

struct job {
	unsigned char	*good;
	size_t		 good_len;
	unsigned char	*bad;
	size_t		 bad_len;
	int		 failures;
};

static void *
on_thread(void *arg)
{
	struct job *j = arg;
	struct csr *c;
	struct rc_why why;
	int i;

	for (i = 0; i < THREAD_ROUNDS; i++) {
		c = NULL;
		if (csr_parse(j->good, j->good_len, &c, &why) != RC_OK)
			j->failures++;
		csr_free(c);
		c = NULL;
		if (csr_parse(j->bad, j->bad_len, &c, &why) != RC_BAD_CSR)
			j->failures++;
		csr_free(c);
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t th[THREADS];
	struct job jobs[THREADS];
	const char *good[] = { "good-p256.der", "good-p384.der" };
	int i, started = 0, failures = 0;

	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < THREADS; i++) {
		jobs[i].good = load(good[i % 2], &jobs[i].good_len);
		jobs[i].bad = load("bad-swapped.der", &jobs[i].bad_len);
		if (jobs[i].good == NULL || jobs[i].bad == NULL)
			continue;
		if (pthread_create(&th[i], NULL, on_thread, &jobs[i]) == 0)
			started |= 1 << i;
	}
	for (i = 0; i < THREADS; i++) {
		if (started & (1 << i)) {
			pthread_join(th[i], NULL);
			failures += jobs[i].failures;
		}
		free(jobs[i].good);
		free(jobs[i].bad);
	}
	CHECK(started == (1 << THREADS) - 1, "all threads started");
	CHECK(failures == 0, "threads: every good request accepted, every "
	    "bad one refused");
}

int
main(void)
{
	/* Accepted, with the key kind and size reported. */
	test_good("good-p256", CSR_KEY_EC_P256, 256);
	test_good("good-p384", CSR_KEY_EC_P384, 384);
	test_good("good-p384-sha256", CSR_KEY_EC_P384, 384);
	test_good("good-rsa2048", CSR_KEY_RSA, 2048);
	test_good("good-rsa3072", CSR_KEY_RSA, 3072);
	test_good("good-rsa4096", CSR_KEY_RSA, 4096);
	test_good("good-p256-ca", CSR_KEY_EC_P256, 256);

	/* Refused for the key. */
	test_bad_file("bad-rsa1024.der", "csr: RSA key below 2048 bits");
	test_bad_file("bad-rsa1024.pem", "csr: RSA key below 2048 bits");
	test_bad_file("bad-rsa8192.der", "csr: RSA key above 4096 bits");
	test_bad_file("bad-rsa-e3.der", "csr: RSA exponent must be 65537");
	test_bad_file("bad-rsa-e3.pem", "csr: RSA exponent must be 65537");
	test_bad_file("bad-p521.der", "csr: unsupported curve");
	test_bad_file("bad-secp256k1.der", "csr: unsupported curve");
	test_bad_file("bad-secp256k1.pem", "csr: unsupported curve");
	test_bad_file("bad-ed25519.der", "csr: unsupported key type");
	test_bad_file("bad-ed25519.pem", "csr: unsupported key type");
	test_bad_file("bad-rsapss.der", "csr: unsupported key type");
	test_bad_file("bad-p256-compressed.der", "csr: unsupported key type");

	/* Refused for the signature. */
	test_bad_file("bad-flipped.der", "csr: signature does not verify");
	test_bad_file("bad-flipped.pem", "csr: signature does not verify");
	test_bad_file("bad-swapped.der", "csr: signature does not verify");
	test_bad_file("bad-swapped.pem", "csr: signature does not verify");
	test_bad_file("bad-p256-sha512.der", "csr: signature does not verify");

	/* Refused for the structure. */
	test_bad_file("bad-version.der", "csr: not a PKCS#10 request");
	test_bad_file("bad-trailing.der", "csr: not a PKCS#10 request");
	test_bad_file("bad-truncated.der", "csr: not a PKCS#10 request");
	test_bad_file("bad-garbage.der", "csr: not a PKCS#10 request");

	test_limits();
	test_bit_flips();
	test_threads();
	return check_done();
}
