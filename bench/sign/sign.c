/*
 * sign.c: how fast a running svidca mints X.509-SVIDs through the agent
 * API (POST /v1/agent/x509-svids), next to what the machine's ECDSA P-256
 * speed allows.
 *
 *	bench_sign --server HOST:PORT --socket ADMIN_SOCKET
 *	    [--server-pid PID] [--threads T] [--conns C] [--batch B]
 *	    [--csrs N] [--entries E] [--seconds D] [--sample S] [--no-speed]
 *
 * Set-up, not measured: a join token over the admin socket, E entries
 * parented to that agent, the attestation, N P-256 keys and their CSRs,
 * and the request bodies (B items each, entries and CSRs in turn).  Then
 * T threads share C kept-alive mTLS connections presenting the agent SVID
 * (thread t uses connections t, t+T, ... in turn; requests in flight =
 * T) and send batches for D seconds.  One SVID in S is checked: its
 * signature against the roots (X509_verify) and its key against the CSR's.
 *
 * Printed: SVIDs/s, errors, the server's CPU per SVID (utime + stime of
 * /proc/PID/stat around the run), the client's own CPU per SVID, and the
 * limit implied by "openssl speed -multi 2 -seconds 3 ecdsap256" measured
 * first, while the server idles: each SVID costs one verify (the CSR)
 * and one sign, so the limit is 1 / (1/signs + 1/verifies) per second.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "../../agent/agent_client.h"
#include "../../agent/agent_svid.h"
#include "../../agent/agent_trust.h"
#include "../../ca/spiffeid.h"
#include "../../server/log.h"
#include "bench_admin.h"

#define SIGN_THREADS_MAX	64
#define SIGN_CONNS_MAX		256
#define SIGN_PATH		"/v1/agent/x509-svids"
#define SIGN_TARGET_RATE	20000	/* SVIDs/s on 2 cores (issue 4) */
#define SIGN_TARGET_CPU		100	/* us of server CPU per SVID */
#define SIGN_SPEED_CMD \
    "openssl speed -multi 2 -seconds 3 ecdsap256 2>/dev/null"

struct opts {
	const char	*server;	/* HOST:PORT */
	const char	*sock;		/* admin socket */
	long		 pid;		/* server pid; 0: unknown */
	int		 threads;
	int		 conns;
	int		 batch;		/* items per request */
	int		 csrs;		/* CSRs made beforehand */
	int		 entries;	/* entries of the agent */
	int		 seconds;
	int		 sample;	/* check one SVID in this many */
	bool		 speed;		/* run openssl speed first */
};

/* What the threads share. */
struct run {
	struct opts		*o;
	struct agent_client	*conns[SIGN_CONNS_MAX];
	char			**bodies;	/* request bodies, prepared */
	size_t			 n_bodies;
	int			*body_csr;	/* each body's first CSR */
	EVP_PKEY		**keys;		/* the CSRs' keys */
	const struct agent_trust *roots;
	double			 deadline;	/* monotonic seconds */
};

struct worker {
	pthread_t	 th;
	struct run	*run;
	int		 idx;		/* thread number */
	unsigned long	 svids;		/* items answered 200 */
	unsigned long	 item_errors;	/* items answered otherwise */
	unsigned long	 req_errors;	/* requests without a 200 */
	unsigned long	 checked;	/* sampled and good */
	unsigned long	 bad;		/* sampled and bad */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime + stime of a process, in seconds; -1 when unreadable. */
static double
proc_cpu(long pid)
{
	char path[64], buf[4096], *p;
	unsigned long ut = 0, st = 0;
	size_t n;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name (field 2) may hold spaces: fields count from its ')'. */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Our own CPU (all threads), in seconds. */
static double
self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * "openssl speed -multi 2 ... ecdsap256": the summed sign and verify
 * rates of both processes, from the line naming nistp256.
 */
static bool
openssl_speed(double *sign, double *verify)
{
	char line[512], *p;
	double a, b, s, v;
	bool found = false;
	FILE *f;

	f = popen(SIGN_SPEED_CMD, "r");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		p = strstr(line, "(nistp256)");
		if (p == NULL)
			continue;
		if (sscanf(p + strlen("(nistp256)"), "%lfs %lfs %lf %lf", &a,
		    &b, &s, &v) == 4) {
			*sign = s;
			*verify = v;
			found = true;
		}
	}
	pclose(f);
	return found;
}

/* Check one SVID of a result against the roots and the CSR's key. */
static bool
check_svid(struct run *r, json_t *res, EVP_PKEY *key)
{
	const struct agent_trust *t = r->roots;
	struct agent_svid *svid;
	struct rc_why why;
	size_t i;
	bool ok = false;

	/* agent_svid_from_json checks the key and the one URI SAN. */
	svid = agent_svid_from_json(json_object_get(res, "svid"), key, &why);
	if (svid == NULL)
		return false;
	for (i = 0; i < t->n_roots && !ok; i++)
		ok = X509_verify(svid->leaf, X509_get0_pubkey(t->roots[i])) ==
		    1;
	ERR_clear_error();
	agent_svid_free(svid);
	return ok;
}

/* Count and sample the results of one answer to body b. */
static void
take_answer(struct worker *w, const struct agent_client_reply *rep,
    size_t b)
{
	struct run *r = w->run;
	json_t *doc, *res, *v;
	size_t i;
	int csr;

	doc = json_loadb(rep->body, rep->len, 0, NULL);
	res = json_object_get(doc, "results");
	if (json_array_size(res) != (size_t)r->o->batch) {
		w->req_errors++;
		json_decref(doc);
		return;
	}
	json_array_foreach(res, i, v) {
		if (json_integer_value(json_object_get(json_object_get(v,
		    "status"), "code")) != 200) {
			w->item_errors++;
			continue;
		}
		w->svids++;
		if (w->svids % (unsigned long)r->o->sample != 0)
			continue;
		csr = (r->body_csr[b] + (int)i) % r->o->csrs;
		if (check_svid(r, v, r->keys[csr]))
			w->checked++;
		else
			w->bad++;
	}
	json_decref(doc);
}

static void *
on_worker(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	struct agent_client_reply rep;
	size_t b = (size_t)w->idx, turn = 0;
	int c, n_mine;

	n_mine = (r->o->conns - w->idx + r->o->threads - 1) / r->o->threads;
	while (now_s() < r->deadline) {
		c = w->idx + (int)(turn++ % (size_t)n_mine) * r->o->threads;
		b = (b + (size_t)r->o->threads) % r->n_bodies;
		if (agent_client_request(r->conns[c], "POST", SIGN_PATH,
		    r->bodies[b], NULL, &rep) != RC_OK) {
			w->req_errors++;
			continue;
		}
		if (rep.status != 200) {
			if (w->req_errors++ == 0)
				fprintf(stderr, "bench: thread %d: status %ld: %.300s\n",
				    w->idx, rep.status, rep.body);
		} else {
			take_answer(w, &rep, b);
		}
		agent_client_reply_clear(&rep);
	}
	return NULL;
}

/* An entry of the agent: spiffe://<td>/bench/sign/<i>. */
static json_t *
make_entry(size_t i, void *arg)
{
	const char *agent_id = arg;
	char sid[SPIFFEID_MAX + 1], sel[32];
	size_t td_end;

	/* The agent's ID is spiffe://<td>/...: reuse its trust domain. */
	td_end = strcspn(agent_id + SPIFFEID_SCHEME_LEN, "/") +
	    SPIFFEID_SCHEME_LEN;
	snprintf(sid, sizeof(sid), "%.*s/bench/sign/%zu", (int)td_end,
	    agent_id, i);
	snprintf(sel, sizeof(sel), "uid:%zu", 10000 + i);
	return json_pack("{s:s,s:s,s:[{s:s,s:s}],s:i}", "spiffe_id", sid,
	    "parent_id", agent_id, "selectors", "type", "unix", "value", sel,
	    "x509_svid_ttl", 3600);
}

/* The CSRs and the request bodies, before the clock starts. */
static bool
prepare(struct run *r, char **ids)
{
	struct opts *o = r->o;
	char **csrs;
	json_t *params, *req;
	size_t b;
	int i, k;
	bool ok = false;

	csrs = calloc((size_t)o->csrs, sizeof(*csrs));
	r->keys = calloc((size_t)o->csrs, sizeof(*r->keys));
	if (csrs == NULL || r->keys == NULL)
		goto out;
	for (i = 0; i < o->csrs; i++) {
		r->keys[i] = agent_svid_new_key();
		csrs[i] = r->keys[i] == NULL ? NULL :
		    agent_svid_make_csr(r->keys[i]);
		if (csrs[i] == NULL)
			goto out;
	}
	r->n_bodies = (size_t)(o->csrs / o->batch);
	if (r->n_bodies < (size_t)o->threads)
		r->n_bodies = (size_t)o->threads;
	r->bodies = calloc(r->n_bodies, sizeof(*r->bodies));
	r->body_csr = calloc(r->n_bodies, sizeof(*r->body_csr));
	if (r->bodies == NULL || r->body_csr == NULL)
		goto out;
	for (b = 0, k = 0; b < r->n_bodies; b++) {
		params = json_array();
		r->body_csr[b] = k % o->csrs;
		for (i = 0; i < o->batch; i++, k++)
			json_array_append_new(params, json_pack("{s:s,s:s}",
			    "entry_id", ids[k % o->entries], "csr",
			    csrs[k % o->csrs]));
		req = json_pack("{s:o}", "params", params);
		r->bodies[b] = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		if (r->bodies[b] == NULL)
			goto out;
	}
	ok = true;
out:
	for (i = 0; csrs != NULL && i < o->csrs; i++)
		free(csrs[i]);
	free(csrs);
	return ok;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bench_sign --server HOST:PORT --socket PATH [--server-pid PID]\n"
	    "    [--threads T] [--conns C] [--batch B] [--csrs N] [--entries E]\n"
	    "    [--seconds D] [--sample S] [--no-speed]\n");
}

static bool
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "server", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "server-pid", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "conns", required_argument, NULL, 'c' },
		{ "batch", required_argument, NULL, 'b' },
		{ "csrs", required_argument, NULL, 'n' },
		{ "entries", required_argument, NULL, 'e' },
		{ "seconds", required_argument, NULL, 'd' },
		{ "sample", required_argument, NULL, 'm' },
		{ "no-speed", no_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int ch;

	memset(o, 0, sizeof(*o));
	o->threads = 4;
	o->conns = 4;
	o->batch = 50;
	o->csrs = 2000;
	o->entries = 100;
	o->seconds = 10;
	o->sample = 100;
	o->speed = true;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 's' || ch == 'S' || ch == 'x') {
			if (ch == 's')
				o->server = optarg;
			else if (ch == 'S')
				o->sock = optarg;
			else
				o->speed = false;
			continue;
		}
		if (ch == '?')
			return false;
		v = strtol(optarg, &end, 10);
		if (end == optarg || *end != '\0' || v < 1 || v > 10000000)
			return false;
		if (ch == 'p')
			o->pid = v;
		else if (ch == 't')
			o->threads = (int)v;
		else if (ch == 'c')
			o->conns = (int)v;
		else if (ch == 'b')
			o->batch = (int)v;
		else if (ch == 'n')
			o->csrs = (int)v;
		else if (ch == 'e')
			o->entries = (int)v;
		else if (ch == 'd')
			o->seconds = (int)v;
		else if (ch == 'm')
			o->sample = (int)v;
	}
	if (o->threads > SIGN_THREADS_MAX || o->conns > SIGN_CONNS_MAX)
		return false;
	if (o->conns < o->threads)
		o->conns = o->threads;
	return o->server != NULL && o->sock != NULL && optind == argc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct run r;
	struct worker w[SIGN_THREADS_MAX];
	struct agent_trust *roots = NULL;
	struct agent_svid *svid = NULL;
	char token[BENCH_ADMIN_TOKEN_MAX + 1], agent_id[SPIFFEID_MAX + 1];
	char **ids = NULL;
	double sp_sign = 0, sp_verify = 0, wall, srv0, srv1, cli0, cli1;
	double limit = 0, rate;
	unsigned long svids = 0, item_err = 0, req_err = 0, checked = 0;
	unsigned long bad = 0;
	int i, status = 1;

	memset(&r, 0, sizeof(r));
	memset(w, 0, sizeof(w));
	if (!parse_opts(argc, argv, &o)) {
		usage();
		return 2;
	}
	r.o = &o;
	if (sodium_init() < 0 || agent_client_global_init() != RC_OK)
		return 1;
	log_set_level(LOG_LVL_ERROR);

	/* The machine's raw speed, while the server idles. */
	if (o.speed && !openssl_speed(&sp_sign, &sp_verify))
		fprintf(stderr, "bench: openssl speed gave no ecdsap256 line\n");
	if (sp_sign > 0 && sp_verify > 0)
		limit = 1.0 / (1.0 / sp_sign + 1.0 / sp_verify);

	/* Set-up: token, entries, bundle, attestation, connections. */
	if (bench_admin_token(o.sock, token, agent_id) != RC_OK ||
	    bench_admin_create(o.sock, (size_t)o.entries, make_entry,
	    agent_id, &ids) != RC_OK)
		goto out;
	roots = bench_admin_bundle(o.sock);
	if (roots == NULL)
		goto out;
	r.roots = roots;
	svid = bench_admin_attest(o.server, roots, token);
	if (svid == NULL)
		goto out;
	for (i = 0; i < o.conns; i++) {
		r.conns[i] = agent_client_new(o.server, roots->td,
		    agent_trust_get1_store(roots));
		if (r.conns[i] == NULL ||
		    agent_client_set_identity(r.conns[i], svid->leaf,
		    svid->chain, svid->key) != RC_OK)
			goto out;
	}
	fprintf(stderr, "bench: preparing %d CSRs\n", o.csrs);
	if (!prepare(&r, ids))
		goto out;

	/* The run. */
	srv0 = proc_cpu(o.pid);
	cli0 = self_cpu();
	wall = now_s();
	r.deadline = wall + o.seconds;
	for (i = 0; i < o.threads; i++) {
		w[i].run = &r;
		w[i].idx = i;
		if (pthread_create(&w[i].th, NULL, on_worker, &w[i]) != 0)
			goto out;
	}
	for (i = 0; i < o.threads; i++) {
		pthread_join(w[i].th, NULL);
		svids += w[i].svids;
		item_err += w[i].item_errors;
		req_err += w[i].req_errors;
		checked += w[i].checked;
		bad += w[i].bad;
	}
	wall = now_s() - wall;
	cli1 = self_cpu();
	srv1 = proc_cpu(o.pid);

	rate = (double)svids / wall;
	printf("bench/sign: %d threads, %d connections, batch %d, %d CSRs, %d entries, %.1f s\n",
	    o.threads, o.conns, o.batch, o.csrs,
	    o.entries, wall);
	printf("  svids/s                 %10.0f   (target >= %d)\n", rate,
	    SIGN_TARGET_RATE);
	printf("  errors                  %10lu items, %lu requests\n",
	    item_err, req_err);
	printf("  sample verified         %10lu good, %lu bad (1 in %d)\n",
	    checked, bad, o.sample);
	if (srv0 >= 0 && srv1 >= 0 && svids > 0)
		printf("  server cpu per svid     %10.1f us (target <= %d us)\n",
		    (srv1 - srv0) / (double)svids * 1e6,
		    SIGN_TARGET_CPU);
	else
		printf("  server cpu per svid            n/a (no --server-pid)\n");
	if (svids > 0)
		printf("  client cpu per svid     %10.1f us\n",
		    (cli1 - cli0) / (double)svids * 1e6);
	if (limit > 0) {
		printf("  openssl speed -multi 2  %10.0f sign/s, %.0f verify/s\n",
		    sp_sign, sp_verify);
		printf("  limit (1 verify+1 sign) %10.0f svids/s, %.1f us cpu/svid on 2 cores; measured = %.0f%% of it\n",
		    limit,
		    2.0 / limit * 1e6, rate / limit * 100.0);
	}
	status = bad == 0 && svids > 0 ? 0 : 1;
out:
	for (i = 0; i < o.conns && i < SIGN_CONNS_MAX; i++)
		agent_client_free(r.conns[i]);
	for (i = 0; r.bodies != NULL && (size_t)i < r.n_bodies; i++)
		free(r.bodies[i]);
	free(r.bodies);
	free(r.body_csr);
	for (i = 0; r.keys != NULL && i < o.csrs; i++)
		EVP_PKEY_free(r.keys[i]);
	free(r.keys);
	bench_admin_free_ids(ids, (size_t)o.entries);
	agent_svid_free(svid);
	agent_trust_free(roots);
	return status;
}
