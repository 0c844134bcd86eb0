/*
 * agent.c: the reference agent's command words, "svidca agent run" and
 * "svidca agent healthcheck" (see agent.h and docs/agent.md).
 *
 * The run loop is one thread and one procedure: get an agent SVID (the
 * saved one while it is good, else attest), renew it at about half of
 * its life, sync the authorized entries every interval, mint SVIDs as
 * they fall due, and sleep until the next of those.  Any failure backs
 * off exponentially with jitter and leaves the files as they are, so
 * workloads keep what they have through a server restart.  SIGTERM and
 * SIGINT are blocked and waited for, so a stop never lands in the middle
 * of a file replacement.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/x509v3.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "../ca/spiffeid.h"
#include "../server/bounds.h"
#include "../server/log.h"
#include "agent_attest.h"
#include "agent_client.h"
#include "agent_files.h"
#include "agent_svid.h"
#include "agent_sync.h"
#include "agent_trust.h"

#define AGENT_EXIT_OK		0
#define AGENT_EXIT_FAIL		1
#define AGENT_EXIT_USAGE	2

#define AGENT_SVID_FILE		"agent.pem"	/* in the data dir */
#define AGENT_KEY_FILE		"agent.key"
#define AGENT_BUNDLE_FILE	"bundle.json"
#define AGENT_LOCK_FILE		"agent.lock"
#define AGENT_RENEW_PATH	"/v1/agent/renew"

#define AGENT_INTERVAL_DEFAULT	5L	/* seconds between syncs */
#define AGENT_INTERVAL_MAX	3600L
#define AGENT_BACKOFF_MAX	60L	/* seconds between retries, at most */
#define AGENT_REFUSALS_MAX	3	/* refusals before attesting again */

struct agent_opts {
	const char		*server;	/* HOST:PORT */
	const char		*trust_bundle;	/* bootstrap roots file */
	const char		*trust_domain;	/* or from the roots */
	const char		*data_dir;	/* D */
	const char		*svid_dir;	/* S */
	const char		*log_level;
	long			 interval;	/* seconds between syncs */
	struct agent_evidence	 ev;		/* how to attest */
	int			 n_ev;		/* attestation flags given */
};

struct agent {
	struct agent_opts	 o;
	char			 td[SPIFFEID_TD_MAX + 1];
	struct agent_client	*cl;		/* owned */
	struct agent_sync	*sync;		/* owned */
	struct agent_svid	*svid;		/* owned; NULL: not attested */
	time_t			 renew_at;	/* when to renew svid */
	time_t			 next_sync;	/* when to sync next */
	time_t			 wait_until;	/* no request before this */
	long			 backoff;	/* seconds; 0 after a success */
	int			 refusals;	/* refusals in a row */
};

static sigset_t agent_sigs;		/* the signals that stop the agent */

enum {
	OPT_SERVER = 1, OPT_TRUST, OPT_TD, OPT_JOIN, OPT_POP_CERT,
	OPT_POP_KEY, OPT_JWT, OPT_DATA, OPT_SVID, OPT_INTERVAL, OPT_LOG,
	OPT_HELP,
};

static const struct option agent_longopts[] = {
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "trust-bundle", required_argument, NULL, OPT_TRUST },
	{ "trust-domain", required_argument, NULL, OPT_TD },
	{ "join-token", required_argument, NULL, OPT_JOIN },
	{ "x509pop-cert", required_argument, NULL, OPT_POP_CERT },
	{ "x509pop-key", required_argument, NULL, OPT_POP_KEY },
	{ "jwt-file", required_argument, NULL, OPT_JWT },
	{ "data-dir", required_argument, NULL, OPT_DATA },
	{ "svid-dir", required_argument, NULL, OPT_SVID },
	{ "sync-interval", required_argument, NULL, OPT_INTERVAL },
	{ "log-level", required_argument, NULL, OPT_LOG },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: svidca agent run --server HOST:PORT --trust-bundle FILE\n"
	    "           (--join-token TOKEN |\n"
	    "            --x509pop-cert FILE --x509pop-key FILE |\n"
	    "            --jwt-file FILE)\n"
	    "           --data-dir DIR --svid-dir DIR\n"
	    "           [--sync-interval SECONDS] [--trust-domain TD]\n"
	    "           [--log-level debug|info|warn|error]\n"
	    "       svidca agent healthcheck --data-dir DIR\n"
	    "           [--trust-bundle FILE]\n");
}

/* A decimal in [min, max] from s into *out; false when it is not one. */
static bool
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Read the command line into o; AGENT_EXIT_OK or a usage fault. */
static int
parse_opts(int argc, char **argv, struct agent_opts *o, bool run)
{
	int opt;

	memset(o, 0, sizeof(*o));
	o->interval = AGENT_INTERVAL_DEFAULT;
	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "", agent_longopts, NULL)) !=
	    -1) {
		switch (opt) {
		case OPT_SERVER:
			o->server = optarg;
			break;
		case OPT_TRUST:
			o->trust_bundle = optarg;
			break;
		case OPT_TD:
			o->trust_domain = optarg;
			break;
		case OPT_JOIN:
			o->ev.type = AGENT_ATTEST_JOIN_TOKEN;
			o->ev.join_token = optarg;
			o->n_ev++;
			break;
		case OPT_POP_CERT:
			o->ev.type = AGENT_ATTEST_X509POP;
			o->ev.x509pop_cert = optarg;
			break;
		case OPT_POP_KEY:
			o->ev.type = AGENT_ATTEST_X509POP;
			o->ev.x509pop_key = optarg;
			break;
		case OPT_JWT:
			o->ev.type = AGENT_ATTEST_JWT;
			o->ev.jwt_file = optarg;
			o->n_ev++;
			break;
		case OPT_DATA:
			o->data_dir = optarg;
			break;
		case OPT_SVID:
			o->svid_dir = optarg;
			break;
		case OPT_INTERVAL:
			if (!parse_long(optarg, 1, AGENT_INTERVAL_MAX,
			    &o->interval)) {
				fprintf(stderr, "svidca: --sync-interval: seconds from 1 to %ld, not %s\n",
				    AGENT_INTERVAL_MAX, optarg);
				return AGENT_EXIT_USAGE;
			}
			break;
		case OPT_LOG:
			o->log_level = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(AGENT_EXIT_OK);
		default:
			usage(stderr);
			return AGENT_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "svidca: unexpected argument: %s\n",
		    argv[optind]);
		return AGENT_EXIT_USAGE;
	}
	if (o->data_dir == NULL) {
		fprintf(stderr, "svidca: --data-dir is required\n");
		return AGENT_EXIT_USAGE;
	}
	if (!run)
		return AGENT_EXIT_OK;

	if (o->ev.x509pop_cert != NULL || o->ev.x509pop_key != NULL) {
		if (o->ev.x509pop_cert == NULL || o->ev.x509pop_key == NULL) {
			fprintf(stderr, "svidca: --x509pop-cert and --x509pop-key go together\n");
			return AGENT_EXIT_USAGE;
		}
		o->n_ev++;
	}
	if (o->n_ev != 1) {
		fprintf(stderr, "svidca: give exactly one of --join-token, --x509pop-cert/--x509pop-key, --jwt-file\n");
		return AGENT_EXIT_USAGE;
	}
	if (o->server == NULL || o->svid_dir == NULL) {
		fprintf(stderr, "svidca: --server and --svid-dir are required\n");
		return AGENT_EXIT_USAGE;
	}
	return AGENT_EXIT_OK;
}

/* ---- signals and time ----------------------------------------------- */

/* Has a stop signal arrived (it waits, blocked, until we look)? */
static bool
is_stopping(void)
{
	sigset_t pending;
	int i;
	static const int sigs[] = { SIGTERM, SIGINT };

	if (sigpending(&pending) != 0)
		return false;
	for (i = 0; i < (int)(sizeof(sigs) / sizeof(sigs[0])); i++)
		if (sigismember(&pending, sigs[i]) == 1)
			return true;
	return false;
}

/*
 * Sleep until the wall clock reaches t, or a stop signal comes.  Returns
 * true when the agent must stop.
 */
static bool
sleep_until(time_t t)
{
	struct timespec ts;
	time_t now;
	int sig;

	now = time(NULL);
	if (t <= now)
		return is_stopping();
	ts.tv_sec = t - now;
	ts.tv_nsec = 0;
	sig = sigtimedwait(&agent_sigs, NULL, &ts);
	if (sig == SIGTERM || sig == SIGINT) {
		log_info("agent", "stop signal received sig=%d", sig);
		return true;
	}
	return false;
}

/* Back off after a failure: [b/2, b] seconds, b doubling to a cap. */
static void
back_off(struct agent *a, time_t now, long at_least)
{
	long wait;

	a->backoff = a->backoff == 0 ? 1 : a->backoff * 2;
	if (a->backoff > AGENT_BACKOFF_MAX)
		a->backoff = AGENT_BACKOFF_MAX;
	wait = a->backoff / 2 + (long)randombytes_uniform(
	    (uint32_t)(a->backoff - a->backoff / 2) + 1);
	if (wait < 1)
		wait = 1;
	if (wait < at_least)
		wait = at_least;
	a->wait_until = now + wait;
	log_debug("agent", "backing off seconds=%ld", wait);
}

/* When to renew svid: half of its life, less up to a tenth at random. */
static time_t
renew_time(const struct agent_svid *svid)
{
	time_t life = svid->not_after - svid->start;
	uint32_t jitter = 0;

	if (life / 10 > 0 && life / 10 < (time_t)UINT32_MAX)
		jitter = randombytes_uniform((uint32_t)(life / 10) + 1);
	return svid->start + life / 2 - (time_t)jitter;
}

/* ---- the agent's own SVID ------------------------------------------- */

/* Save the bundle as served, for the next start. */
static void
save_bundle(const struct agent *a, const char *json)
{
	if (json == NULL)
		return;
	if (agent_files_write(a->o.data_dir, AGENT_BUNDLE_FILE, json,
	    strlen(json), 0644) != RC_OK)
		log_warn("agent",
		    "cannot save the bundle; the next start uses the older roots");
}

/* The client trusts the sync's current roots, from the next request on. */
static enum rc
use_trust(struct agent *a)
{
	X509_STORE *st;

	st = agent_trust_get1_store(agent_sync_get0_trust(a->sync));
	if (st == NULL)
		return RC_NOMEM;
	agent_client_set_roots(a->cl, st);
	return RC_OK;
}

/* Save svid, present it from now on, and schedule its renewal. */
static enum rc
take_svid(struct agent *a, struct agent_svid *svid)
{
	enum rc rc;

	rc = agent_svid_save(svid, a->o.data_dir, AGENT_SVID_FILE,
	    AGENT_KEY_FILE);
	if (rc != RC_OK) {
		agent_svid_free(svid);
		return rc;
	}
	rc = agent_client_set_identity(a->cl, svid->leaf, svid->chain,
	    svid->key);
	if (rc != RC_OK) {
		agent_svid_free(svid);
		return rc;
	}
	agent_svid_free(a->svid);
	a->svid = svid;
	a->renew_at = renew_time(svid);
	a->refusals = 0;
	return RC_OK;
}

/*
 * Attest.  RC_OK with a new SVID in place; *fatal when retrying cannot
 * help (a join token is single use: once refused it stays refused).
 */
static enum rc
attest(struct agent *a, time_t now, bool *fatal)
{
	struct agent_attest_result res;
	struct agent_trust *trust = NULL;
	struct rc_why why;
	struct spiffeid sid;
	char *json = NULL;
	enum rc rc;

	*fatal = false;
	rc = agent_client_set_identity(a->cl, NULL, NULL, NULL);
	if (rc != RC_OK)
		return rc;
	rc = agent_attest(a->cl, &a->o.ev, &res);
	if (rc != RC_OK) {
		if (res.refused && rc != RC_RATE_LIMITED &&
		    a->o.ev.type == AGENT_ATTEST_JOIN_TOKEN) {
			log_error("agent",
			    "the join token was refused; start the agent with a new one");
			*fatal = true;
		}
		back_off(a, now, res.retry_after);
		goto out;
	}

	/* The SVID must be ours to use: our trust domain, our roots. */
	rc = RC_BAD_REQUEST;
	trust = agent_trust_from_json(res.bundle, &why);
	if (trust == NULL ||
	    spiffeid_parse(res.svid->id, strlen(res.svid->id), &sid,
	    "spiffe_id", &why) != RC_OK || !spiffeid_is_in_td(&sid, a->td) ||
	    !agent_trust_is_verified(trust, res.svid->leaf, res.svid->chain,
	    X509_PURPOSE_SSL_CLIENT)) {
		log_error("agent",
		    "the attestation answer does not verify against its bundle or is for another trust domain id=%s",
		    res.svid->id);
		back_off(a, now, 0);
		goto out;
	}
	json = json_dumps(res.bundle, JSON_COMPACT);
	save_bundle(a, json);
	agent_sync_set_trust(a->sync, trust);
	trust = NULL;
	rc = use_trust(a);
	if (rc != RC_OK)
		goto out;
	log_info("agent", "attested id=%s serial=%s not_after=%lld type=%s",
	    res.svid->id, res.svid->serial, (long long)res.svid->not_after,
	    agent_attest_type_str(a->o.ev.type));
	rc = take_svid(a, res.svid);
	res.svid = NULL;
	if (rc != RC_OK)
		goto out;

	a->backoff = 0;
	a->next_sync = now;
	rc = RC_OK;
out:
	free(json);
	agent_trust_free(trust);
	agent_attest_result_clear(&res);
	return rc;
}

/* Count a refusal of our SVID; attest anew when it keeps happening. */
static void
note_refusal(struct agent *a, enum rc rc)
{
	if (rc != RC_DENIED && rc != RC_UNAUTHENTICATED) {
		a->refusals = 0;
		return;
	}
	a->refusals++;
	if (a->refusals < AGENT_REFUSALS_MAX ||
	    a->o.ev.type == AGENT_ATTEST_JOIN_TOKEN)
		return;
	log_warn("agent",
	    "the server keeps refusing our SVID, attesting again id=%s",
	    a->svid->id);
	agent_svid_free(a->svid);
	a->svid = NULL;
	a->refusals = 0;
}

/* Renew the agent SVID with a fresh key (POST /v1/agent/renew). */
static enum rc
renew(struct agent *a, time_t now)
{
	struct agent_client_reply r;
	struct agent_svid *svid = NULL;
	struct rc_why why;
	EVP_PKEY *key = NULL;
	json_t *req = NULL, *doc = NULL;
	char *csr = NULL, *body = NULL, detail[256];
	enum rc rc = RC_CRYPTO;

	memset(&r, 0, sizeof(r));
	key = agent_svid_new_key();
	csr = key == NULL ? NULL : agent_svid_make_csr(key);
	if (csr == NULL)
		goto out;
	rc = RC_NOMEM;
	req = json_pack("{s:s}", "csr", csr);
	body = req == NULL ? NULL : json_dumps(req, JSON_COMPACT);
	if (body == NULL)
		goto out;

	rc = agent_client_request(a->cl, "POST", AGENT_RENEW_PATH, body, NULL,
	    &r);
	if (rc != RC_OK)
		goto out;
	if (r.status != 200) {
		rc = agent_client_status_rc(r.status);
		log_warn("agent",
		    "renewal refused id=%s status=%ld reason=\"%s\"",
		    a->svid->id, r.status,
		    agent_client_reply_detail(&r, detail, sizeof(detail)));
		goto out;
	}
	rc = RC_BAD_REQUEST;
	doc = json_loadb(r.body, r.len, 0, NULL);
	svid = agent_svid_from_json(json_object_get(doc, "svid"), key, &why);
	if (svid == NULL || strcmp(svid->id, a->svid->id) != 0 ||
	    !agent_trust_is_verified(agent_sync_get0_trust(a->sync),
	    svid->leaf, svid->chain, X509_PURPOSE_SSL_CLIENT)) {
		log_warn("agent", "renewed SVID unusable id=%s reason=\"%s\"",
		    a->svid->id, svid == NULL ? why.detail :
		    "another ID or does not verify against the bundle");
		goto out;
	}
	log_info("agent",
	    "agent svid renewed id=%s serial=%s not_after=%lld", svid->id,
	    svid->serial,
	    (long long)svid->not_after);
	rc = take_svid(a, svid);
	svid = NULL;
	if (rc != RC_OK)
		goto out;

	rc = RC_OK;
out:
	if (rc != RC_OK) {
		note_refusal(a, rc);
		back_off(a, now, r.retry_after);
	}
	agent_svid_free(svid);
	agent_client_reply_clear(&r);
	json_decref(doc);
	json_decref(req);
	free(body);
	free(csr);
	EVP_PKEY_free(key);
	return rc;
}

/* One sync round, then whatever the bundles changed. */
static enum rc
sync_round(struct agent *a, time_t now)
{
	struct agent_sync_news news;
	enum rc rc;

	rc = agent_sync_run(a->sync, a->cl, now, &news);
	if (news.trust_changed) {
		save_bundle(a, news.bundle_json);
		if (use_trust(a) != RC_OK)
			log_error("agent", "cannot install the new roots");
	}
	free(news.bundle_json);
	note_refusal(a, rc);
	if (rc != RC_OK) {
		back_off(a, now, 0);
		return rc;
	}
	a->backoff = 0;
	a->next_sync = now + a->o.interval;
	return RC_OK;
}

/* ---- start-up ------------------------------------------------------- */

/*
 * The roots to start with: those the server last sent (D/bundle.json),
 * else the operator's bootstrap file.  NULL (logged) when neither works.
 *
 * XXX(agent-stale-roots): an agent that was stopped for longer than the
 * CA's rotation cycle starts with saved roots that may all be retired,
 * and then cannot verify the server; it backs off and logs the failure
 * but does not fall back to --trust-bundle.  The saved roots follow each
 * rotation while the agent runs, and the default CA lifetime is a day.
 * Fix: after repeated verification failures, retry once with the
 * bootstrap roots.
 */
static struct agent_trust *
load_trust(const char *data_dir, const char *bootstrap)
{
	char path[PATH_MAX_SVIDCA];
	struct agent_trust *t = NULL;
	struct rc_why why;

	if (agent_files_join(path, sizeof(path), data_dir,
	    AGENT_BUNDLE_FILE) && access(path, F_OK) == 0) {
		t = agent_trust_load(path, &why);
		if (t != NULL)
			return t;
		log_warn("agent",
		    "saved bundle unusable path=%s reason=\"%s\"", path,
		    why.detail);
	}
	if (bootstrap == NULL) {
		log_error("agent", "no trust bundle: give --trust-bundle");
		return NULL;
	}
	t = agent_trust_load(bootstrap, &why);
	if (t == NULL)
		log_error("agent",
		    "trust bundle refused path=%s reason=\"%s\"", bootstrap,
		    why.detail);
	return t;
}

/* The saved agent SVID if it is still good, else NULL. */
static struct agent_svid *
load_svid(const char *data_dir, const char *td,
    const struct agent_trust *trust, time_t now)
{
	struct agent_svid *svid = NULL;
	struct spiffeid sid;
	struct rc_why why;

	if (agent_svid_load(data_dir, AGENT_SVID_FILE, AGENT_KEY_FILE,
	    &svid) != RC_OK)
		return NULL;
	if (!agent_svid_is_current(svid, now) ||
	    spiffeid_parse(svid->id, strlen(svid->id), &sid, "spiffe_id",
	    &why) != RC_OK || !spiffeid_is_in_td(&sid, td) ||
	    !agent_trust_is_verified(trust, svid->leaf, svid->chain,
	    X509_PURPOSE_SSL_CLIENT)) {
		log_info("agent", "saved agent svid not usable, attesting "
		    "id=%s not_after=%lld", svid->id,
		    (long long)svid->not_after);
		agent_svid_free(svid);
		return NULL;
	}
	return svid;
}

/* Hold the data dir's lock for the life of the process. */
static bool
take_lock(const char *data_dir)
{
	char path[PATH_MAX_SVIDCA];
	int fd;

	if (!agent_files_join(path, sizeof(path), data_dir, AGENT_LOCK_FILE))
		return false;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_error("agent", "cannot open path=%s err=\"%s\"", path,
		    strerror(errno));
		return false;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		log_error("agent", "another agent uses this data dir path=%s",
		    data_dir);
		(void)close(fd);
		return false;
	}
	return true;	/* fd stays open: the lock lasts until exit */
}

/* Everything before the loop; AGENT_EXIT_OK when the agent can run. */
static int
start(struct agent *a, time_t now)
{
	struct agent_trust *trust;
	struct spiffeid sid;
	struct rc_why why;
	X509_STORE *st;
	const char *td;

	if (agent_files_mkdir(a->o.data_dir, 0700) != RC_OK ||
	    agent_files_mkdir(a->o.svid_dir, 0755) != RC_OK ||
	    !take_lock(a->o.data_dir))
		return AGENT_EXIT_FAIL;
	trust = load_trust(a->o.data_dir, a->o.trust_bundle);
	if (trust == NULL)
		return AGENT_EXIT_FAIL;

	/* The server's expected ID is spiffe://<td>/svidca/server. */
	td = a->o.trust_domain != NULL ? a->o.trust_domain : trust->td;
	if (td[0] == '\0' || spiffeid_td_parse(td, strlen(td), a->td,
	    "trust-domain", &why) != RC_OK) {
		log_error("agent",
		    "cannot tell the trust domain: no root names one; give --trust-domain");
		agent_trust_free(trust);
		return AGENT_EXIT_FAIL;
	}
	if (spiffeid_from_parts(a->td, AGENT_CLIENT_SERVER_PATH, &sid,
	    &why) != RC_OK) {
		agent_trust_free(trust);
		return AGENT_EXIT_FAIL;
	}

	a->svid = load_svid(a->o.data_dir, a->td, trust, now);
	st = agent_trust_get1_store(trust);
	a->cl = st == NULL ? NULL : agent_client_new(a->o.server, a->td, st);
	a->sync = agent_sync_new(a->o.svid_dir, a->td, a->o.interval, trust);
	if (a->cl == NULL || a->sync == NULL) {
		log_error("agent", "cannot set up the agent");
		return AGENT_EXIT_FAIL;
	}
	agent_client_set_abort(a->cl, is_stopping);
	agent_sync_restore(a->sync, now);
	if (a->svid != NULL) {
		if (agent_client_set_identity(a->cl, a->svid->leaf,
		    a->svid->chain, a->svid->key) != RC_OK)
			return AGENT_EXIT_FAIL;
		a->renew_at = renew_time(a->svid);
		log_info("agent",
		    "using the saved agent svid id=%s serial=%s not_after=%lld",
		    a->svid->id, a->svid->serial,
		    (long long)a->svid->not_after);
	}
	log_info("agent",
	    "agent started server=%s td=%s attestation=%s interval=%ld",
	    a->o.server, a->td,
	    agent_attest_type_str(a->o.ev.type), a->o.interval);
	return AGENT_EXIT_OK;
}

/* ---- the loop ------------------------------------------------------- */

/* Run until a stop signal; returns the exit status. */
static int
run_loop(struct agent *a)
{
	time_t now, next, due;
	bool fatal = false;

	for (;;) {
		now = time(NULL);
		if (a->wait_until > now) {
			if (sleep_until(a->wait_until))
				break;
			continue;
		}
		if (is_stopping())
			break;

		/* No SVID, or one that lapsed while the server was away. */
		if (a->svid == NULL || !agent_svid_is_current(a->svid, now)) {
			if (attest(a, now, &fatal) == RC_OK)
				continue;
			if (fatal)
				return AGENT_EXIT_FAIL;
			if (a->wait_until <= now)
				back_off(a, now, 0);
			continue;
		}

		/* Half of its life, or its authority was tainted. */
		if (now >= a->renew_at || agent_sync_is_tainted(a->sync,
		    a->svid->issuer_kid)) {
			(void)renew(a, now);
			continue;
		}

		if (now >= a->next_sync) {
			(void)sync_round(a, now);
			continue;
		}

		/* SVIDs falling due between syncs. */
		due = agent_sync_next_due(a->sync);
		if (due != 0 && due <= now) {
			if (agent_sync_mint(a->sync, a->cl, now) != RC_OK)
				back_off(a, now, 0);
			continue;
		}

		next = a->next_sync;
		if (a->renew_at < next)
			next = a->renew_at;
		if (due != 0 && due < next)
			next = due;
		if (sleep_until(next))
			break;
	}
	log_info("agent", "agent stopped entries=%zu",
	    agent_sync_count(a->sync));
	return AGENT_EXIT_OK;
}

/* "svidca agent run ..." */
static int
agent_run(int argc, char **argv)
{
	struct agent a;
	enum log_level lvl;
	int status;

	memset(&a, 0, sizeof(a));
	status = parse_opts(argc, argv, &a.o, true);
	if (status != AGENT_EXIT_OK)
		return status;
	if (a.o.log_level != NULL) {
		if (!log_level_parse(a.o.log_level, &lvl)) {
			fprintf(stderr, "svidca: --log-level: debug, info, warn or error, not %s\n",
			    a.o.log_level);
			return AGENT_EXIT_USAGE;
		}
		log_set_level(lvl);
	}
	if (sodium_init() < 0 || agent_client_global_init() != RC_OK) {
		log_error("agent", "cannot initialise the libraries");
		return AGENT_EXIT_FAIL;
	}

	/* Stop signals wait, blocked, for sigtimedwait() or is_stopping(). */
	(void)signal(SIGPIPE, SIG_IGN);
	(void)sigemptyset(&agent_sigs);
	(void)sigaddset(&agent_sigs, SIGTERM);
	(void)sigaddset(&agent_sigs, SIGINT);
	if (sigprocmask(SIG_BLOCK, &agent_sigs, NULL) != 0)
		return AGENT_EXIT_FAIL;

	status = start(&a, time(NULL));
	if (status == AGENT_EXIT_OK)
		status = run_loop(&a);

	agent_sync_free(a.sync);
	agent_client_free(a.cl);
	agent_svid_free(a.svid);
	return status;
}

/*
 * "svidca agent healthcheck --data-dir D [--trust-bundle F]": 0 when the
 * agent SVID in D is current and verifies against the saved bundle (or
 * F), 1 otherwise, with one line saying which.
 */
static int
agent_healthcheck(int argc, char **argv)
{
	struct agent_opts o;
	struct agent_svid *svid = NULL;
	struct agent_trust *trust = NULL;
	time_t now = time(NULL);
	int status;

	status = parse_opts(argc, argv, &o, false);
	if (status != AGENT_EXIT_OK)
		return status;
	log_set_level(LOG_LVL_ERROR);
	if (agent_svid_load(o.data_dir, AGENT_SVID_FILE, AGENT_KEY_FILE,
	    &svid) != RC_OK) {
		printf("unhealthy: no usable agent SVID in %s\n", o.data_dir);
		return AGENT_EXIT_FAIL;
	}
	status = AGENT_EXIT_FAIL;
	if (!agent_svid_is_current(svid, now)) {
		printf("unhealthy: agent SVID not current id=%s not_after=%lld\n",
		    svid->id, (long long)svid->not_after);
		goto out;
	}
	trust = load_trust(o.data_dir, o.trust_bundle);
	if (trust == NULL || !agent_trust_is_verified(trust, svid->leaf,
	    svid->chain, X509_PURPOSE_SSL_CLIENT)) {
		printf("unhealthy: agent SVID does not verify against the bundle id=%s\n",
		    svid->id);
		goto out;
	}
	printf("healthy: id=%s not_after=%lld\n", svid->id,
	    (long long)svid->not_after);
	status = AGENT_EXIT_OK;
out:
	agent_trust_free(trust);
	agent_svid_free(svid);
	return status;
}

/* "agent run ..." or "agent healthcheck ..."; see agent.h. */
int
agent_main(int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "run") == 0)
		return agent_run(argc, argv);
	if (argc >= 1 && strcmp(argv[0], "healthcheck") == 0)
		return agent_healthcheck(argc, argv);
	usage(stderr);
	return AGENT_EXIT_USAGE;
}
