/*
 * server.c: start-up, the scheduler (authority rotation, the server's own
 * SVID) and shutdown.  The steps of start-up are ordered so that a refusal
 * (another trust domain, a wrong KEK, a damaged key file) happens before
 * anything is written.
 */
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/x509v3.h>

#include "../api/api.h"
#include "../api/http.h"
#include "../ca/ca.h"
#include "../ca/cert.h"
#include "../ca/key.h"
#include "../ca/secret.h"
#include "../ca/spiffeid.h"
#include "../store/store.h"
#include "audit.h"
#include "log.h"

#define SERVER_AUTH_MAX		(2 * CA_AUTH_MAX)
#define SERVER_PLAN_ROUNDS	8	/* rotation steps taken per tick */
#define SERVER_SVID_PATH	"/svidca/server"
#define SERVER_SEQ_META		"bundle_sequence"
#define SERVER_PRUNE_EVERY	60	/* seconds between housekeeping runs */

struct server {
	const struct conf	*conf;
	struct store		*store;
	struct secret_kek	*kek;
	struct ca		*ca;
	struct audit		*audit;		/* checkpoint signer */
	struct http		*http;
	struct api		 api;
	struct ca_auth		*auths[SERVER_AUTH_MAX]; /* refs held */
	size_t			 n_auths;
	uint64_t		 sequence;	/* bundle spiffe_sequence */
	char			 keys_dir[PATH_MAX_SVIDCA];
	char			 db_path[PATH_MAX_SVIDCA];
	int64_t			 svid_signer;	/* authority of our SVID */
	time_t			 svid_nb;	/* our SVID's notBefore */
	time_t			 svid_na;	/* our SVID's notAfter */
	time_t			 pruned_at;	/* last housekeeping run */
};

static const char *const kind_names[] = { "x509", "jwt" };

/* mkdir -p for the data dir, mode 0700 for what we create. */
static enum rc
make_dirs(const char *path, struct rc_why *why)
{
	char buf[PATH_MAX_SVIDCA];
	struct stat st;
	size_t i, len;

	len = strlen(path);
	if (len == 0 || len >= sizeof(buf))
		return rc_why_set(why, RC_IO, "data_dir", NULL,
		    "data dir path is empty or too long");
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return rc_why_set(why, RC_IO, "data_dir", NULL,
			    "cannot create %s: %s", buf, strerror(errno));
		if (i < len)
			buf[i] = '/';
	}
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return rc_why_set(why, RC_IO, "data_dir", NULL,
		    "data dir %s is not a directory", path);
	if (access(path, W_OK | X_OK) != 0)
		return rc_why_set(why, RC_IO, "data_dir", NULL,
		    "data dir %s is not writable: %s", path, strerror(errno));
	return RC_OK;
}

static enum rc
join_path(char *out, size_t len, const char *dir, const char *name)
{
	int n;

	n = snprintf(out, len, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= len)
		return RC_IO;
	return RC_OK;
}

/* The records of our authorities, for ca_plan (der left out). */
static size_t
server_records(const struct server *s, struct store_authority *out)
{
	size_t i;

	for (i = 0; i < s->n_auths; i++) {
		out[i] = s->auths[i]->rec;
		out[i].der = NULL;
	}
	return s->n_auths;
}

static struct ca_auth *
server_find(struct server *s, int64_t id)
{
	size_t i;

	for (i = 0; i < s->n_auths; i++)
		if (s->auths[i]->rec.id == id)
			return s->auths[i];
	return NULL;
}

/* ---- carrying out one rotation step, each in one transaction ------- */

struct step_ctx {
	struct server		*s;
	enum store_auth_kind	 kind;
	enum ca_step		 step;
	struct store_authority	*rec;		/* new authority (create) */
	struct ca_auth		*target;	/* activate / retire */
	struct ca_auth		*active;	/* activate: the one retiring */
	time_t			 now;
	uint64_t		 new_seq;
};

static const char *
step_action(enum ca_step step)
{
	switch (step) {
	case CA_STEP_CREATE:
		return "authority.create";
	case CA_STEP_PREPARE:
		return "authority.prepare";
	case CA_STEP_ACTIVATE:
		return "authority.activate";
	case CA_STEP_RETIRE:
		return "authority.retire";
	default:
		return "authority.none";
	}
}

static enum rc
on_step_write(struct store_tx *tx, void *arg)
{
	struct step_ctx *c = arg;
	struct store_audit rec;
	struct store_authority upd;
	char subject[STORE_KID_MAX + 16], seq[32], *detail = NULL;
	const struct store_authority *who;
	json_t *obj;
	enum rc rc = RC_DB;

	switch (c->step) {
	case CA_STEP_CREATE:
	case CA_STEP_PREPARE:
		rc = store_authority_insert(tx, c->rec);
		who = c->rec;
		break;
	case CA_STEP_ACTIVATE:
		if (c->active != NULL) {
			upd = c->active->rec;
			upd.state = STORE_AUTH_OLD;
			rc = store_authority_update(tx, &upd);
			if (rc != RC_OK)
				goto out;
		}
		upd = c->target->rec;
		upd.state = STORE_AUTH_ACTIVE;
		upd.activated_at = c->now;
		rc = store_authority_update(tx, &upd);
		who = &c->target->rec;
		break;
	case CA_STEP_RETIRE:
		rc = store_authority_delete(tx, c->target->rec.id);
		who = &c->target->rec;
		break;
	default:
		rc = RC_INTERNAL;
		goto out;
	}
	if (rc != RC_OK)
		goto out;

	if (c->new_seq != c->s->sequence) {
		(void)snprintf(seq, sizeof(seq), "%llu",
		    (unsigned long long)c->new_seq);
		rc = store_meta_set(tx, SERVER_SEQ_META, seq);
		if (rc != RC_OK)
			goto out;
	}

	(void)snprintf(subject, sizeof(subject), "%s:%lld",
	    kind_names[c->kind], (long long)who->id);
	obj = json_pack("{s:s, s:s, s:I, s:I, s:I}",
	    "kind", kind_names[c->kind], "kid", who->kid,
	    "not_before", (json_int_t)who->not_before,
	    "not_after", (json_int_t)who->not_after,
	    "bundle_sequence", (json_int_t)c->new_seq);
	if (obj == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	detail = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	memset(&rec, 0, sizeof(rec));
	rec.at = c->now;
	rec.actor = "server";
	rec.action = step_action(c->step);
	rec.subject = subject;
	rec.outcome = "ok";
	rec.detail = detail;
	rc = store_audit_append(tx, &rec, NULL);
out:
	free(detail);
	return rc;
}

/* The certificate's subject key identifier as lowercase hex into out. */
static void
ski_hex(X509 *cert, char *out, size_t len)
{
	const ASN1_OCTET_STRING *ski;
	size_t k;

	out[0] = '\0';
	ski = X509_get0_subject_key_id(cert);
	if (ski == NULL)
		return;
	for (k = 0; k < (size_t)ASN1_STRING_length(ski) && 2 * k + 2 < len;
	    k++)
		(void)snprintf(out + 2 * k, 3, "%02x",
		    ASN1_STRING_get0_data(ski)[k]);
}

/*
 * Make a new authority of kind: a key, sealed to a file first, then its
 * record (certificate or public key) for the store.
 */
static enum rc
new_authority(struct server *s, enum store_auth_kind kind, bool active,
    time_t now, struct store_authority *rec, EVP_PKEY **keyp)
{
	const struct conf *c = s->conf;
	enum key_type kt;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	unsigned char rnd[8], *der = NULL;
	char path[PATH_MAX_SVIDCA];
	size_t der_len = 0, i;
	enum rc rc = RC_CRYPTO;

	memset(rec, 0, sizeof(*rec));
	rc = key_type_parse(kind == STORE_AUTH_X509 ? c->ca_key_type :
	    c->jwt_key_type, &kt);
	if (rc != RC_OK)
		goto out;
	rc = RC_CRYPTO;
	key = key_generate(kt);
	if (key == NULL)
		goto out;

	secret_random(rnd, sizeof(rnd));
	i = (size_t)snprintf(rec->key_ref, sizeof(rec->key_ref), "%s-",
	    kind_names[kind]);
	for (size_t j = 0; j < sizeof(rnd); j++, i += 2)
		(void)snprintf(rec->key_ref + i, sizeof(rec->key_ref) - i,
		    "%02x", rnd[j]);
	if (join_path(path, sizeof(path), s->keys_dir, rec->key_ref) != RC_OK)
		goto out;
	rc = secret_seal_key(s->kek, key, rec->key_ref, path);
	if (rc != RC_OK) {
		log_error("ca", "cannot seal new %s key to %s",
		    kind_names[kind], path);
		goto out;
	}

	rec->kind = kind;
	rec->state = active ? STORE_AUTH_ACTIVE : STORE_AUTH_PREPARED;
	rec->created_at = now;
	rec->activated_at = active ? now : 0;
	rec->not_before = now;
	rec->not_after = now + c->ca_ttl;
	rc = RC_CRYPTO;
	if (kind == STORE_AUTH_X509) {
		cert = cert_make_root(key, c->trust_domain, c->organization,
		    now - CERT_BACKDATE, now + c->ca_ttl);
		if (cert == NULL)
			goto out;
		rec->not_before = cert_not_before(cert);
		rec->not_after = cert_not_after(cert);
		rc = cert_get1_der(cert, &der, &der_len);
		if (rc != RC_OK)
			goto out;
		ski_hex(cert, rec->kid, sizeof(rec->kid));
	} else {
		jwt_new_kid(rec->kid);
		rc = key_get1_spki(key, &der, &der_len);
		if (rc != RC_OK)
			goto out;
	}
	rec->der = malloc(der_len);
	if (rec->der == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	memcpy(rec->der, der, der_len);
	rec->der_len = der_len;
	*keyp = key;
	key = NULL;
	rc = RC_OK;
out:
	OPENSSL_free(der);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

/* Carry out one step for kind; the caller republishes the view. */
static enum rc
server_step(struct server *s, enum store_auth_kind kind,
    struct ca_plan_item item, time_t now)
{
	struct store_authority rec;
	struct step_ctx c;
	struct ca_auth *a = NULL;
	EVP_PKEY *key = NULL;
	char path[PATH_MAX_SVIDCA];
	size_t i;
	enum rc rc = RC_INTERNAL;

	memset(&rec, 0, sizeof(rec));
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.kind = kind;
	c.step = item.step;
	c.now = now;
	c.new_seq = s->sequence;

	switch (item.step) {
	case CA_STEP_CREATE:
	case CA_STEP_PREPARE:
		if (s->n_auths == SERVER_AUTH_MAX)
			goto out;
		rc = new_authority(s, kind, item.step == CA_STEP_CREATE, now,
		    &rec, &key);
		if (rc != RC_OK)
			goto out;
		c.rec = &rec;
		c.new_seq = s->sequence + 1;
		break;
	case CA_STEP_ACTIVATE:
		c.target = server_find(s, item.id);
		for (i = 0; i < s->n_auths; i++)
			if (s->auths[i]->rec.kind == kind &&
			    s->auths[i]->rec.state == STORE_AUTH_ACTIVE)
				c.active = s->auths[i];
		break;
	case CA_STEP_RETIRE:
		c.target = server_find(s, item.id);
		c.new_seq = s->sequence + 1;
		break;
	default:
		goto out;
	}
	if ((item.step == CA_STEP_ACTIVATE || item.step == CA_STEP_RETIRE) &&
	    c.target == NULL)
		goto out;

	rc = store_write(s->store, on_step_write, &c);
	if (rc != RC_OK) {
		log_error("ca", "cannot record %s of %s authority",
		    step_action(item.step), kind_names[kind]);
		goto out;
	}
	s->sequence = c.new_seq;

	/* Committed: bring memory in line. */
	switch (item.step) {
	case CA_STEP_CREATE:
	case CA_STEP_PREPARE:
		a = ca_auth_new(&rec, key);
		if (a == NULL) {
			rc = RC_CRYPTO;
			goto out;
		}
		s->auths[s->n_auths++] = a;
		log_info("ca", "%s authority %s kid=%s not_after=%lld",
		    item.step == CA_STEP_CREATE ? "created" : "prepared",
		    kind_names[kind], a->rec.kid, (long long)a->rec.not_after);
		break;
	case CA_STEP_ACTIVATE:
		if (c.active != NULL)
			c.active->rec.state = STORE_AUTH_OLD;
		c.target->rec.state = STORE_AUTH_ACTIVE;
		c.target->rec.activated_at = now;
		log_info("ca", "activated authority %s kid=%s not_after=%lld",
		    kind_names[kind], c.target->rec.kid,
		    (long long)c.target->rec.not_after);
		break;
	case CA_STEP_RETIRE:
		for (i = 0; i < s->n_auths; i++)
			if (s->auths[i] == c.target)
				break;
		s->auths[i] = s->auths[--s->n_auths];
		if (join_path(path, sizeof(path), s->keys_dir,
		    c.target->rec.key_ref) == RC_OK && unlink(path) != 0)
			log_warn("ca", "cannot remove retired key %s: %s",
			    path, strerror(errno));
		log_info("ca", "retired authority %s kid=%s",
		    kind_names[kind], c.target->rec.kid);
		ca_auth_free(c.target);
		break;
	default:
		break;
	}
	rc = RC_OK;
out:
	free(rec.der);
	EVP_PKEY_free(key);
	return rc;
}

/* Take every rotation step that is due, then publish the view. */
static enum rc
server_rotate(struct server *s, time_t now, bool force_publish)
{
	struct store_authority recs[SERVER_AUTH_MAX];
	struct ca_plan_item item;
	bool changed = force_publish;
	enum rc rc = RC_OK;
	int kind, round;

	for (kind = STORE_AUTH_X509; kind <= STORE_AUTH_JWT; kind++) {
		for (round = 0; round < SERVER_PLAN_ROUNDS; round++) {
			size_t n = server_records(s, recs);

			item = ca_plan((enum store_auth_kind)kind, recs, n,
			    now);
			if (item.step == CA_STEP_NONE)
				break;
			rc = server_step(s, (enum store_auth_kind)kind, item,
			    now);
			if (rc != RC_OK)
				return rc;
			changed = true;
		}
	}
	if (!changed)
		return RC_OK;
	return ca_install(s->ca, s->auths, s->n_auths, s->sequence);
}

/* ---- the server's own SVID ---------------------------------------- */

static enum rc
on_svid_audit(struct store_tx *tx, void *arg)
{
	return store_audit_append(tx, arg, NULL);
}

/*
 * Renew our listener's SVID at half its life, or at once when the active
 * X.509 authority is not the one that signed it.
 */
static enum rc
server_renew_svid(struct server *s, time_t now)
{
	struct ca_view *v;
	struct ca_auth *act;
	struct spiffeid id;
	struct cert_leaf leaf;
	struct store_audit rec;
	struct rc_why why;
	EVP_PKEY *key = NULL;
	unsigned char *der = NULL;
	const unsigned char *ders[1];
	size_t der_len = 0, lens[1];
	char serial[2 * CERT_SERIAL_LEN + 8], detail[128];
	time_t na = 0;
	enum rc rc = RC_UNAVAILABLE;

	v = ca_view_get(s->ca);
	if (v == NULL || v->x509_active == NULL)
		goto out;
	act = v->x509_active;
	if (act->rec.id == s->svid_signer &&
	    now < s->svid_nb + (s->svid_na - s->svid_nb) / 2) {
		rc = RC_OK;
		goto out;
	}

	rc = spiffeid_from_parts(s->conf->trust_domain, SERVER_SVID_PATH,
	    &id, &why);
	if (rc != RC_OK)
		goto out;
	rc = RC_CRYPTO;
	key = key_generate(KEY_EC_P256);
	if (key == NULL)
		goto out;
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &id;
	leaf.org = s->conf->organization;
	leaf.now = now;
	leaf.ttl = s->conf->x509_svid_ttl;
	rc = cert_issue_for_key(act->x509, key, &leaf, &der, &der_len, serial,
	    &na);
	if (rc != RC_OK)
		goto out;

	(void)snprintf(detail, sizeof(detail),
	    "{\"not_after\":%lld,\"authority\":\"%s\"}", (long long)na,
	    act->rec.kid);
	memset(&rec, 0, sizeof(rec));
	rec.at = now;
	rec.actor = "server";
	rec.action = "svid.x509.server";
	rec.subject = id.str;
	rec.outcome = "ok";
	rec.serial = serial;
	rec.detail = detail;
	rc = store_write(s->store, on_svid_audit, &rec);
	if (rc != RC_OK)
		goto out;

	ders[0] = der;
	lens[0] = der_len;
	rc = http_set_server_svid(s->http, ders, lens, 1, key);
	if (rc != RC_OK)
		goto out;
	s->svid_signer = act->rec.id;
	s->svid_nb = now;
	s->svid_na = na;
	log_info("server", "server svid issued id=%s serial=%s not_after=%lld",
	    id.str, serial, (long long)na);
	rc = RC_OK;
out:
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	ca_view_put(s->ca, v);
	return rc;
}

/* ---- housekeeping --------------------------------------------------- */

struct prune_ctx {
	time_t		 now;
	long		 after;		/* seconds past expiry */
	int64_t		 tokens;	/* deleted, filled by the callback */
	int64_t		 entries;
	int64_t		 agents;
};

static enum rc
on_prune_write(struct store_tx *tx, void *arg)
{
	struct prune_ctx *p = arg;
	struct store_audit rec;
	char detail[160];
	enum rc rc;

	rc = store_token_prune(tx, p->now, &p->tokens);
	if (rc != RC_OK)
		return rc;
	rc = store_entry_prune(tx, p->now - p->after, &p->entries);
	if (rc != RC_OK)
		return rc;
	rc = store_agent_purge(tx, p->now - p->after, &p->agents);
	if (rc != RC_OK)
		return rc;
	if (p->tokens + p->entries + p->agents == 0)
		return RC_OK;

	(void)snprintf(detail, sizeof(detail), "{\"join_tokens\":%lld,"
	    "\"entries\":%lld,\"agents\":%lld,\"expired_before\":%lld}",
	    (long long)p->tokens, (long long)p->entries,
	    (long long)p->agents, (long long)(p->now - p->after));
	memset(&rec, 0, sizeof(rec));
	rec.at = p->now;
	rec.actor = "server";
	rec.action = "prune";
	rec.subject = "expired";
	rec.outcome = "ok";
	rec.detail = detail;
	return store_audit_append(tx, &rec, NULL);
}

/*
 * Once a minute delete what expired: join tokens at once, entries and
 * (not banned) agents prune_after seconds past their expiry.  One
 * transaction with one audit record naming the counts.
 */
static enum rc
server_prune(struct server *s, time_t now)
{
	struct prune_ctx p;
	enum rc rc;

	if (now - s->pruned_at < SERVER_PRUNE_EVERY)
		return RC_OK;
	s->pruned_at = now;
	memset(&p, 0, sizeof(p));
	p.now = now;
	p.after = s->conf->prune_after;
	rc = store_write(s->store, on_prune_write, &p);
	if (rc != RC_OK)
		return rc;
	if (p.tokens + p.entries + p.agents > 0)
		log_info("server", "pruned expired join_tokens=%lld "
		    "entries=%lld agents=%lld", (long long)p.tokens,
		    (long long)p.entries, (long long)p.agents);
	return RC_OK;
}

/* ---- start-up ----------------------------------------------------- */

/* Unseal every stored authority; any failure stops start-up. */
static enum rc
server_load_authorities(struct server *s, struct rc_why *why)
{
	struct store_authority *recs = NULL;
	char path[PATH_MAX_SVIDCA], buf[32];
	EVP_PKEY *key = NULL;
	size_t n = 0, i;
	bool found;
	enum rc rc;

	rc = store_authorities_load(s->store, &recs, &n);
	if (rc != RC_OK) {
		rc_why_set(why, rc, NULL, NULL, "cannot read authorities "
		    "from %s", s->db_path);
		goto out;
	}
	if (n > SERVER_AUTH_MAX) {
		rc = rc_why_set(why, RC_INTERNAL, NULL, NULL,
		    "%zu authorities stored, at most %d supported", n,
		    SERVER_AUTH_MAX);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct ca_auth *a;

		rc = join_path(path, sizeof(path), s->keys_dir,
		    recs[i].key_ref);
		if (rc != RC_OK)
			goto out;
		rc = secret_unseal_key(s->kek, recs[i].key_ref, path, &key,
		    why);
		if (rc != RC_OK)
			goto out;
		a = ca_auth_new(&recs[i], key);
		EVP_PKEY_free(key);
		key = NULL;
		if (a == NULL) {
			rc = rc_why_set(why, RC_CRYPTO, NULL, NULL,
			    "authority %lld in %s is damaged",
			    (long long)recs[i].id, s->db_path);
			goto out;
		}
		s->auths[s->n_auths++] = a;
	}

	rc = store_meta_get(s->store, SERVER_SEQ_META, buf, sizeof(buf),
	    &found);
	if (rc != RC_OK)
		goto out;
	s->sequence = found ? strtoull(buf, NULL, 10) : 0;
	rc = RC_OK;
out:
	store_authorities_free(recs, n);
	return rc;
}

static enum rc
server_open(struct server *s, struct rc_why *why)
{
	const struct conf *c = s->conf;
	struct stat st;
	bool created = false, fresh;
	enum rc rc;

	rc = secret_init();
	if (rc != RC_OK)
		return rc_why_set(why, rc, NULL, NULL, "cannot initialise "
		    "libsodium");
	rc = make_dirs(c->data_dir, why);
	if (rc != RC_OK)
		return rc;
	if (join_path(s->db_path, sizeof(s->db_path), c->data_dir,
	    "svidca.db") != RC_OK || join_path(s->keys_dir,
	    sizeof(s->keys_dir), c->data_dir, "keys") != RC_OK)
		return rc_why_set(why, RC_IO, "data_dir", NULL,
		    "data dir path too long");

	/* A fresh data dir has no database yet. */
	fresh = stat(s->db_path, &st) != 0;
	rc = store_open(s->db_path, &s->store, why);
	if (rc != RC_OK)
		return rc;
	rc = store_check_td(s->store, c->trust_domain, why);
	if (rc != RC_OK)
		return rc;

	/*
	 * XXX(kek): by default the KEK sits beside the data dir on the same
	 * disk, so it guards copies of the data dir but not the host itself;
	 * acceptable as a default that needs no setup.  Fix: keys held in an
	 * HSM through PKCS#11; until then operators point --kek-file at a
	 * systemd credential or another mount.
	 *
	 * The KEK may be created only with a fresh data dir: a missing KEK
	 * beside stored keys means the operator lost it or pointed us at
	 * the wrong file, and a new one would open nothing.
	 */
	rc = secret_kek_load(c->kek_file, fresh, &created, &s->kek, why);
	if (rc != RC_OK)
		return rc;
	if (created)
		log_info("server", "created key-encryption key %s; keep a "
		    "copy outside this machine", c->kek_file);
	if (mkdir(s->keys_dir, 0700) != 0 && errno != EEXIST)
		return rc_why_set(why, RC_IO, "data_dir", NULL,
		    "cannot create %s: %s", s->keys_dir, strerror(errno));

	rc = server_load_authorities(s, why);
	if (rc != RC_OK)
		return rc;
	rc = audit_open(s->store, s->kek, s->keys_dir,
	    c->audit_checkpoint_records, c->audit_checkpoint_interval,
	    &s->audit, why);
	if (rc != RC_OK)
		return rc;

	s->ca = ca_new(c->trust_domain, c->organization, c->refresh_hint);
	if (s->ca == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	rc = server_rotate(s, time(NULL), true);
	if (rc != RC_OK)
		return rc_why_set(why, rc, NULL, NULL,
		    "cannot prepare the authorities: %s", rc_str(rc));
	return RC_OK;
}

static void
server_close(struct server *s)
{
	size_t i;

	http_stop(s->http);
	for (i = 0; i < s->n_auths; i++)
		ca_auth_free(s->auths[i]);
	ca_free(s->ca);
	audit_free(s->audit);
	store_close(s->store);
	secret_kek_free(s->kek);
}

int
server_run(const struct conf *c)
{
	struct server s;
	struct http_opts ho;
	struct rc_why why;
	struct rlimit nocore = { 0, 0 };
	struct timespec tick = { 1, 0 };
	sigset_t sigs;
	enum log_level lvl;
	enum rc rc;
	int sig, status = 1;

	memset(&s, 0, sizeof(s));
	rc_why_clear(&why);
	s.conf = c;
	s.svid_signer = -1;
	if (log_level_parse(c->log_level, &lvl))
		log_set_level(lvl);

	/* Private keys live in this process: no core dumps of it. */
	(void)setrlimit(RLIMIT_CORE, &nocore);

	/* Signals are taken by sigtimedwait below, in this thread only. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = server_open(&s, &why);
	if (rc != RC_OK) {
		log_error("server", "cannot start: %s", why.detail[0] != '\0' ?
		    why.detail : rc_str(rc));
		goto out;
	}

	s.api.conf = c;
	s.api.store = s.store;
	s.api.ca = s.ca;
	s.api.server_uid = getuid();
	memset(&ho, 0, sizeof(ho));
	ho.listen = c->listen;
	ho.health_listen = c->health_listen;
	ho.admin_socket = c->admin_socket;
	ho.socket_group = c->admin_socket_group;
	ho.threads = c->threads;
	ho.max_body = (size_t)c->max_body;
	ho.routes = http_routes;
	ho.hooks = api_hooks;
	rc = http_start(&s.api, &ho, &s.http, &why);
	if (rc != RC_OK) {
		log_error("server", "cannot start: %s", why.detail[0] != '\0' ?
		    why.detail : rc_str(rc));
		goto out;
	}
	rc = server_renew_svid(&s, time(NULL));
	if (rc != RC_OK) {
		log_error("server", "cannot start: no server svid: %s",
		    rc_str(rc));
		goto out;
	}
	/* Ready only once the listener can present its certificate. */
	s.api.serving = true;
	log_info("server", "serving trust domain %s on %s (health %s, "
	    "admin socket %s)", c->trust_domain, c->listen, c->health_listen,
	    c->admin_socket);

	for (;;) {
		time_t now;

		sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig == SIGINT || sig == SIGTERM) {
			log_info("server", "stopping on signal %d", sig);
			/* Drops still counted, before the last checkpoint. */
			api_refused_flush(&s.api, time(NULL), true);
			if (audit_flush(s.audit) != RC_OK)
				log_error("audit", "last checkpoint failed");
			break;
		}
		now = time(NULL);
		if (server_rotate(&s, now, false) != RC_OK)
			log_error("ca", "rotation step failed; will retry");
		if (server_renew_svid(&s, now) != RC_OK)
			log_error("server", "cannot renew server svid; "
			    "will retry");
		api_refused_flush(&s.api, now, false);
		if (audit_tick(s.audit, now) != RC_OK)
			log_error("audit", "checkpoint failed; will retry");
		if (server_prune(&s, now) != RC_OK)
			log_error("server", "housekeeping failed; will retry");
	}
	status = 0;
out:
	server_close(&s);
	return status;
}
