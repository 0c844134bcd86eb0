/*
 * mint.c: how fast CSRs become X.509-SVIDs through csr_parse() and
 * cert_issue(), next to the machine's own limit measured in the same run:
 * one raw ECDSA P-256 verify plus one sign with OpenSSL's EVP API, which
 * is the crypto every SVID costs.  The ratio of the two is the figure to
 * watch; absolute rates move with the machine.
 *
 *	mint [-t threads] [-s seconds]
 *
 * The two phases alternate in half-second slices on the given threads
 * (default 2) for the given seconds each (default 3), so that a noisy
 * neighbour slows both alike; then it prints SVIDs/s (or verify+sign
 * pairs/s), the CPU microseconds each cost, and the ratio.  Needs nothing
 * on disk: the key, root and request are made at start.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../ca/cert.h"
#include "../ca/csr.h"
#include "../ca/spiffeid.h"

#define MINT_THREADS_MAX	64
#define MINT_TD			"bench.example"
#define MINT_SLICE_MS		500	/* one phase's turn */

/* What every thread of a phase shares. */
struct run {
	struct cert_signer	*signer;	/* the CA, for issuance */
	EVP_PKEY		*ca_key;	/* the CA key, for raw signs */
	EVP_PKEY		*req_key;	/* the requester's, raw verify */
	unsigned char		*csr;		/* DER request */
	size_t			 csr_len;
	atomic_bool		 stop;		/* set by main to end a phase */
	bool			 raw;		/* raw crypto, not issuance */
};

struct worker {
	pthread_t		 th;
	struct run		*run;
	unsigned long		 done;		/* operations completed */
	unsigned long		 failed;	/* operations that failed */
};

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A DER P-256 request signed by key, made the ordinary (slow) way. */
static unsigned char *
make_csr(EVP_PKEY *key, size_t *len)
{
	X509_REQ *req;
	unsigned char *der = NULL;
	int n = 0;

	req = X509_REQ_new();
	if (req != NULL && X509_REQ_set_pubkey(req, key) == 1 &&
	    X509_REQ_sign(req, key, EVP_sha256()) > 0)
		n = i2d_X509_REQ(req, &der);
	X509_REQ_free(req);
	*len = n > 0 ? (size_t)n : 0;
	return n > 0 ? der : NULL;
}

/* One verify (the CSR's) and one sign (the SVID's), as EVP does them. */
static void
run_raw(struct worker *w)
{
	unsigned char dgst[32] = { 1 }, sig[128];
	size_t sig_len;
	EVP_PKEY_CTX *sctx, *vctx, *rctx;

	/* The request's signature, made once with the request's key. */
	sctx = EVP_PKEY_CTX_new_from_pkey(NULL, w->run->ca_key, NULL);
	vctx = EVP_PKEY_CTX_new_from_pkey(NULL, w->run->req_key, NULL);
	rctx = EVP_PKEY_CTX_new_from_pkey(NULL, w->run->req_key, NULL);
	sig_len = sizeof(sig);
	if (sctx == NULL || vctx == NULL || rctx == NULL ||
	    EVP_PKEY_sign_init(sctx) != 1 ||
	    EVP_PKEY_verify_init(vctx) != 1 ||
	    EVP_PKEY_sign_init(rctx) != 1 ||
	    EVP_PKEY_sign(rctx, sig, &sig_len, dgst, sizeof(dgst)) != 1) {
		w->failed++;
		goto out;
	}
	while (!atomic_load_explicit(&w->run->stop, memory_order_relaxed)) {
		size_t n = sizeof(sig);
		unsigned char out[128];

		if (EVP_PKEY_verify(vctx, sig, sig_len, dgst,
		    sizeof(dgst)) != 1 ||
		    EVP_PKEY_sign(sctx, out, &n, dgst, sizeof(dgst)) != 1)
			w->failed++;
		w->done++;
	}
 out:
	EVP_PKEY_CTX_free(rctx);
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_CTX_free(sctx);
}

/* CSR in, SVID out, as an API handler would do it. */
static void
run_mint(struct worker *w)
{
	static const char *const dns[] = { "web.bench.example" };
	struct cert_leaf leaf;
	struct spiffeid id;
	struct rc_why why;
	struct csr *c;
	unsigned char *der;
	size_t len;
	char serial[2 * CERT_SERIAL_LEN + 1];
	time_t na;

	memset(&id, 0, sizeof(id));
	snprintf(id.str, sizeof(id.str), "spiffe://%s/workload", MINT_TD);
	id.len = strlen(id.str);
	id.td_len = strlen(MINT_TD);
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &id;
	leaf.dns = dns;
	leaf.n_dns = 1;
	leaf.org = "svidca bench";
	leaf.ttl = 3600;
	while (!atomic_load_explicit(&w->run->stop, memory_order_relaxed)) {
		leaf.now = time(NULL);
		if (csr_parse(w->run->csr, w->run->csr_len, &c, &why) !=
		    RC_OK) {
			w->failed++;
			continue;
		}
		if (cert_issue(w->run->signer, c, &leaf, &der, &len, serial,
		    &na) == RC_OK) {
			OPENSSL_free(der);
			w->done++;
		} else
			w->failed++;
		csr_free(c);
	}
}

static void *
on_worker(void *arg)
{
	struct worker *w = arg;

	if (w->run->raw)
		run_raw(w);
	else
		run_mint(w);
	return NULL;
}

/* What a phase added up to over its slices. */
struct tally {
	unsigned long	 done;		/* operations */
	unsigned long	 failed;
	double		 wall;		/* seconds */
	double		 cpu;		/* process CPU seconds */
};

/* Run one slice of a phase on n threads and add it to t. */
static void
run_slice(struct run *r, bool raw, int n, struct tally *t)
{
	struct worker w[MINT_THREADS_MAX];
	struct timespec slice = { 0, MINT_SLICE_MS * 1000000L };
	double wall0, cpu0;
	int i, started = 0;

	memset(w, 0, sizeof(w));
	r->raw = raw;
	atomic_store(&r->stop, false);
	wall0 = clock_s(CLOCK_MONOTONIC);
	cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < n; i++) {
		w[i].run = r;
		if (pthread_create(&w[i].th, NULL, on_worker, &w[i]) != 0)
			break;
		started++;
	}
	nanosleep(&slice, NULL);
	atomic_store(&r->stop, true);
	for (i = 0; i < started; i++) {
		pthread_join(w[i].th, NULL);
		t->done += w[i].done;
		t->failed += w[i].failed;
	}
	t->wall += clock_s(CLOCK_MONOTONIC) - wall0;
	t->cpu += clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
}

static void
print_tally(const char *what, const struct tally *t)
{
	printf("%-32s %9.0f /s  %7.1f us CPU each\n", what,
	    t->wall > 0 ? (double)t->done / t->wall : 0,
	    t->done > 0 ? t->cpu / (double)t->done * 1e6 : 0);
}

int
main(int argc, char **argv)
{
	struct run r;
	struct tally raw, mint;
	X509 *root = NULL;
	double raw_us, mint_us;
	time_t now = time(NULL);
	int ch, i, threads = 2, secs = 3, status = 1;

	while ((ch = getopt(argc, argv, "t:s:")) != -1) {
		switch (ch) {
		case 't':
			threads = (int)strtol(optarg, NULL, 10);
			break;
		case 's':
			secs = (int)strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: mint [-t threads] "
			    "[-s seconds]\n");
			return 2;
		}
	}
	if (threads < 1 || threads > MINT_THREADS_MAX || secs < 1) {
		fprintf(stderr, "mint: 1..%d threads, >= 1 second\n",
		    MINT_THREADS_MAX);
		return 2;
	}

	memset(&r, 0, sizeof(r));
	r.ca_key = EVP_EC_gen("P-256");
	r.req_key = EVP_EC_gen("P-256");
	if (r.ca_key != NULL)
		root = cert_make_root(r.ca_key, MINT_TD, "svidca bench",
		    now - 60, now + 86400);
	if (root != NULL)
		r.signer = cert_signer_new(root, r.ca_key);
	if (r.req_key != NULL)
		r.csr = make_csr(r.req_key, &r.csr_len);
	if (r.signer == NULL || r.csr == NULL) {
		fprintf(stderr, "mint: setup failed\n");
		goto out;
	}

	memset(&raw, 0, sizeof(raw));
	memset(&mint, 0, sizeof(mint));
	for (i = 0; i < secs * 1000 / MINT_SLICE_MS; i++) {
		run_slice(&r, true, threads, &raw);
		run_slice(&r, false, threads, &mint);
	}
	printf("threads %d, %d s a phase, P-256 request, P-256 CA\n",
	    threads, secs);
	print_tally("limit  (EVP verify + sign)", &raw);
	print_tally("svidca (csr_parse + cert_issue)", &mint);
	raw_us = raw.done > 0 ? raw.cpu / (double)raw.done * 1e6 : 0;
	mint_us = mint.done > 0 ? mint.cpu / (double)mint.done * 1e6 : 0;
	printf("svidca costs %.0f%% of the limit's CPU, %.1f us over it\n",
	    raw_us > 0 ? 100 * mint_us / raw_us : 0, mint_us - raw_us);
	if (raw.failed != 0 || mint.failed != 0)
		printf("failures: limit %lu, svidca %lu\n", raw.failed,
		    mint.failed);
	else
		status = 0;
 out:
	OPENSSL_free(r.csr);
	cert_signer_free(r.signer);
	X509_free(root);
	EVP_PKEY_free(r.req_key);
	EVP_PKEY_free(r.ca_key);
	return status;
}
