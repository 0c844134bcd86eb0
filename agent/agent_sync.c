/*
 * agent_sync.c: the agent's authorized entries and their files (see
 * agent_sync.h and, for the routes, docs/openapi.yaml: GET
 * /v1/agent/entries, GET /v1/agent/bundles, POST /v1/agent/x509-svids).
 */
#include "agent_sync.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "../ca/spiffeid.h"
#include "../server/bounds.h"
#include "../server/log.h"
#include "agent_files.h"
#include "agent_svid.h"

#define SYNC_ENTRIES_PATH	"/v1/agent/entries"
#define SYNC_BUNDLES_PATH	"/v1/agent/bundles"
#define SYNC_MINT_PATH		"/v1/agent/x509-svids"
#define SYNC_FILE_MAX		(64 * 1024 * 1024)	/* entries.json */
#define SYNC_RETRY_MAX		300	/* seconds between retries of an item */
#define SYNC_REMOVE_DEPTH	3	/* S/<id>/federated/<td>.pem */
#define SYNC_NAME_MAX		(SPIFFEID_TD_MAX + 8)	/* "<td>.pem" */

/* One authorized entry and the SVID we hold for it. */
struct sync_entry {
	char		*id;		/* owned; a safe path component */
	char		*spiffe_id;	/* owned */
	char		*hint;		/* owned; "" when none */
	json_t		*federates_with; /* owned array of names, may be NULL */
	long long	 revision;	/* revision_number at the last sync */
	long long	 minted_rev;	/* revision its SVID was made at; -1 */
	struct agent_svid *svid;	/* owned, key dropped; NULL: none */
	time_t		 expires_at;	/* entry's own expiry; 0 never */
	time_t		 remint_at;	/* when the SVID is due again */
	time_t		 retry_at;	/* no mint attempt before this */
	unsigned	 fails;		/* mint failures in a row */
	uint64_t	 bundle_gen;	/* bundles written at; 0 never */
	bool		 on_disk;	/* its directory may exist */
	bool		 kept;		/* scratch: still authorized */
};

struct agent_sync {
	char		 dir[PATH_MAX_SVIDCA];	/* the SVID directory */
	char		 td[SPIFFEID_TD_MAX + 1];	/* own trust domain */
	long		 window;	/* seconds: early joiners of a batch */
	struct agent_trust *trust;	/* owned; own roots */
	char		*own_pem;	/* owned; trust as PEM */
	json_t		*federated;	/* owned; name -> PEM string */
	json_t		*tainted;	/* owned; array of x509 key IDs */
	uint64_t	 bundle_gen;	/* rises when own or federated change */
	struct sync_entry *v;		/* owned; sorted by id */
	size_t		 n;		/* entries in v */
	char		 etag[AGENT_CLIENT_ETAG_MAX + 1];	/* last ETag */
	bool		 dirty;		/* entries.json is stale */
	bool		 synced;	/* one sync answered 200 */
};

static void
entry_clear(struct sync_entry *e)
{
	free(e->id);
	free(e->spiffe_id);
	free(e->hint);
	json_decref(e->federates_with);
	agent_svid_free(e->svid);
	memset(e, 0, sizeof(*e));
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct sync_entry *)a)->id,
	    ((const struct sync_entry *)b)->id);
}

/* The entry with id in the sorted array v[0..n), or NULL. */
static struct sync_entry *
find_entry(struct sync_entry *v, size_t n, const char *id)
{
	struct sync_entry key;

	if (n == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.id = (char *)id;
	return bsearch(&key, v, n, sizeof(*v), cmp_entry);
}

/* Roots to PEM for the bundle files; false on failure. */
static bool
take_trust(struct agent_sync *s, struct agent_trust *trust)
{
	char *pem;

	pem = agent_trust_to_pem(trust);
	if (pem == NULL) {
		agent_trust_free(trust);
		return false;
	}
	agent_trust_free(s->trust);
	free(s->own_pem);
	s->trust = trust;
	s->own_pem = pem;
	s->bundle_gen++;
	return true;
}

/* New state for dir; see agent_sync.h. */
struct agent_sync *
agent_sync_new(const char *dir, const char *td, long window,
    struct agent_trust *trust)
{
	struct agent_sync *s;
	int n1, n2;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		agent_trust_free(trust);
		return NULL;
	}
	n1 = snprintf(s->dir, sizeof(s->dir), "%s", dir);
	n2 = snprintf(s->td, sizeof(s->td), "%s", td);
	s->window = window;
	s->federated = json_object();
	s->tainted = json_array();
	if (n1 < 0 || (size_t)n1 >= sizeof(s->dir) || n2 < 0 ||
	    (size_t)n2 >= sizeof(s->td) || s->federated == NULL ||
	    s->tainted == NULL) {
		agent_trust_free(trust);
		agent_sync_free(s);
		return NULL;
	}
	if (!take_trust(s, trust)) {	/* it freed trust */
		agent_sync_free(s);
		return NULL;
	}
	return s;
}

void
agent_sync_free(struct agent_sync *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		entry_clear(&s->v[i]);
	free(s->v);
	agent_trust_free(s->trust);
	free(s->own_pem);
	json_decref(s->federated);
	json_decref(s->tainted);
	free(s);
}

const struct agent_trust *
agent_sync_get0_trust(const struct agent_sync *s)
{
	return s->trust;
}

size_t
agent_sync_count(const struct agent_sync *s)
{
	return s->n;
}

/* Is an X.509 authority with this key ID tainted? */
bool
agent_sync_is_tainted(const struct agent_sync *s, const char *kid)
{
	json_t *v;
	size_t i;

	if (kid == NULL || kid[0] == '\0')
		return false;
	json_array_foreach(s->tainted, i, v)
		if (strcmp(json_string_value(v), kid) == 0)
			return true;
	return false;
}

/*
 * When an SVID is due again: ahead of half of its life by a random
 * share of up to a tenth of it, so that agents started together spread
 * their requests.
 */
static time_t
due_time(const struct agent_svid *svid)
{
	time_t life = svid->not_after - svid->start;
	uint32_t jitter = 0;

	if (life / 10 > 0)
		jitter = randombytes_uniform((uint32_t)(life / 10 > UINT32_MAX -
		    1 ? UINT32_MAX - 1 : life / 10) + 1);
	return svid->start + life / 2 - (time_t)jitter;
}

/* Does the entry need an SVID at now? */
static bool
is_due(const struct agent_sync *s, const struct sync_entry *e, time_t now)
{
	if (e->retry_at > now)
		return false;
	if (e->svid == NULL || e->minted_rev != e->revision)
		return true;
	if (agent_sync_is_tainted(s, e->svid->issuer_kid))
		return true;
	return e->remint_at <= now;
}

/* When the next SVID is due; see agent_sync.h. */
time_t
agent_sync_next_due(const struct agent_sync *s)
{
	const struct sync_entry *e;
	time_t t, best = 0;
	size_t i;

	if (!s->synced)
		return 0;
	for (i = 0; i < s->n; i++) {
		e = &s->v[i];
		if (e->svid == NULL || e->minted_rev != e->revision ||
		    agent_sync_is_tainted(s, e->svid->issuer_kid))
			t = 1;
		else
			t = e->remint_at;
		if (e->retry_at > t)
			t = e->retry_at;
		if (t < 1)
			t = 1;
		if (best == 0 || t < best)
			best = t;
	}
	return best;
}

/* ---- files ---------------------------------------------------------- */

/* Is name "<td>.pem" for a td that e federates with and we have? */
static bool
is_wanted_fed(const struct agent_sync *s, const struct sync_entry *e,
    const char *name)
{
	json_t *v;
	size_t i, len;
	const char *td;

	len = strlen(name);
	json_array_foreach(e->federates_with, i, v) {
		td = json_string_value(v);
		if (strlen(td) + 4 == len && strncmp(name, td, len - 4) == 0 &&
		    strcmp(name + len - 4, ".pem") == 0 &&
		    json_object_get(s->federated, td) != NULL)
			return true;
	}
	return false;
}

/* Remove files of federated/ that e no longer gets. */
static enum rc
prune_federated(const struct agent_sync *s, const struct sync_entry *e,
    const char *fdir)
{
	struct dirent *de;
	DIR *d;
	enum rc rc = RC_OK;

	d = opendir(fdir);
	if (d == NULL)
		return errno == ENOENT ? RC_OK : RC_IO;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    is_wanted_fed(s, e, de->d_name))
			continue;
		if (agent_files_remove_tree(fdir, de->d_name, 0) != RC_OK)
			rc = RC_IO;
	}
	(void)closedir(d);
	return rc;
}

/* Write bundle.pem and federated/ for e in edir. */
static enum rc
write_bundles(struct agent_sync *s, struct sync_entry *e, const char *edir)
{
	char fdir[PATH_MAX_SVIDCA], name[SYNC_NAME_MAX + 1];
	const char *td, *pem;
	json_t *v;
	size_t i, n_fed = 0;
	int w;
	enum rc rc;

	rc = agent_files_write(edir, AGENT_SYNC_BUNDLE, s->own_pem,
	    strlen(s->own_pem), 0644);
	if (rc != RC_OK)
		return rc;
	if (!agent_files_join(fdir, sizeof(fdir), edir, AGENT_SYNC_FEDERATED))
		return RC_TOO_LARGE;

	json_array_foreach(e->federates_with, i, v) {
		td = json_string_value(v);
		pem = json_string_value(json_object_get(s->federated, td));
		if (pem == NULL)
			continue;
		if (n_fed++ == 0) {
			rc = agent_files_mkdir(fdir, 0755);
			if (rc != RC_OK)
				return rc;
		}
		w = snprintf(name, sizeof(name), "%s.pem", td);
		if (w < 0 || (size_t)w >= sizeof(name))
			return RC_INTERNAL;
		rc = agent_files_write(fdir, name, pem, strlen(pem), 0644);
		if (rc != RC_OK)
			return rc;
	}
	if (n_fed == 0)
		rc = agent_files_remove_tree(edir, AGENT_SYNC_FEDERATED, 1);
	else
		rc = prune_federated(s, e, fdir);
	if (rc != RC_OK)
		return rc;

	e->bundle_gen = s->bundle_gen;
	return RC_OK;
}

/*
 * Write every file of e for its new svid (which keeps its key).
 *
 * XXX(agent-pair): svid.pem and key.pem are replaced by two renames, so a
 * workload reading between them sees the new certificate beside the old
 * key.  Readers that retry on a mismatch, and the renames following each
 * other within microseconds, keep this rare.  Fix: write each generation
 * into its own directory and switch a symbolic link to it.
 */
static enum rc
write_entry(struct agent_sync *s, struct sync_entry *e,
    const struct agent_svid *svid)
{
	char edir[PATH_MAX_SVIDCA];
	enum rc rc;

	if (!agent_files_join(edir, sizeof(edir), s->dir, e->id))
		return RC_TOO_LARGE;
	rc = agent_files_mkdir(edir, 0755);
	if (rc != RC_OK)
		return rc;
	e->on_disk = true;
	rc = agent_svid_save(svid, edir, AGENT_SYNC_SVID, AGENT_SYNC_KEY);
	if (rc != RC_OK)
		return rc;
	return write_bundles(s, e, edir);
}

/* Bring the bundle files of every held SVID up to date. */
static void
refresh_bundles(struct agent_sync *s)
{
	char edir[PATH_MAX_SVIDCA];
	struct sync_entry *e;
	size_t i;

	for (i = 0; i < s->n; i++) {
		e = &s->v[i];
		if (e->svid == NULL || e->bundle_gen == s->bundle_gen)
			continue;
		if (!agent_files_join(edir, sizeof(edir), s->dir, e->id) ||
		    write_bundles(s, e, edir) != RC_OK)
			log_warn("agent",
			    "cannot update bundle files entry=%s", e->id);
	}
}

/* Rewrite S/entries.json when it is stale. */
static void
save_index(struct agent_sync *s)
{
	json_t *doc = NULL, *map, *o;
	struct sync_entry *e;
	char *text = NULL;
	size_t i;

	if (!s->dirty)
		return;
	map = json_object();
	doc = json_pack("{s:o}", "entries", map);
	if (doc == NULL)
		goto out;
	for (i = 0; i < s->n; i++) {
		e = &s->v[i];
		if (e->svid == NULL)
			continue;
		o = json_pack("{s:s,s:s,s:I,s:I}", "spiffe_id", e->spiffe_id,
		    "hint", e->hint, "revision_number",
		    (json_int_t)e->minted_rev, "svid_expires_at",
		    (json_int_t)e->svid->not_after);
		if (o == NULL || json_object_set_new(map, e->id, o) != 0)
			goto out;
	}
	text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (text == NULL)
		goto out;
	if (agent_files_write(s->dir, AGENT_SYNC_FILE, text, strlen(text),
	    0644) == RC_OK)
		s->dirty = false;
out:
	if (s->dirty)
		log_warn("agent", "cannot write path=%s/%s", s->dir,
		    AGENT_SYNC_FILE);
	free(text);
	json_decref(doc);
}

/* Remove the directory of an entry we lost. */
static void
remove_entry(struct agent_sync *s, struct sync_entry *e)
{
	if (!e->on_disk)
		return;
	if (agent_files_remove_tree(s->dir, e->id, SYNC_REMOVE_DEPTH) ==
	    RC_OK)
		log_info("agent",
		    "entry no longer authorized, files removed id=%s entry=%s",
		    e->spiffe_id, e->id);
}

/* ---- restore -------------------------------------------------------- */

/* One entry of entries.json back into s (appended, unsorted). */
static bool
restore_one(struct agent_sync *s, const char *id, json_t *o, time_t now)
{
	char edir[PATH_MAX_SVIDCA];
	struct sync_entry *e;
	struct agent_svid *svid = NULL;
	const char *sid, *hint;

	sid = json_string_value(json_object_get(o, "spiffe_id"));
	hint = json_string_value(json_object_get(o, "hint"));
	if (!agent_files_is_safe_name(id) || sid == NULL ||
	    !agent_files_join(edir, sizeof(edir), s->dir, id))
		return true;	/* not ours to touch */
	e = &s->v[s->n];
	e->id = strdup(id);
	e->spiffe_id = strdup(sid);
	e->hint = strdup(hint == NULL ? "" : hint);
	if (e->id == NULL || e->spiffe_id == NULL || e->hint == NULL) {
		entry_clear(e);
		return false;
	}
	e->revision = json_integer_value(json_object_get(o,
	    "revision_number"));
	e->minted_rev = -1;
	e->on_disk = true;
	s->n++;

	if (agent_svid_load(edir, AGENT_SYNC_SVID, AGENT_SYNC_KEY, &svid) !=
	    RC_OK)
		return true;
	if (!agent_svid_is_current(svid, now) ||
	    strcmp(svid->id, e->spiffe_id) != 0 ||
	    !agent_trust_is_verified(s->trust, svid->leaf, svid->chain,
	    X509_PURPOSE_SSL_CLIENT)) {
		agent_svid_free(svid);
		return true;
	}
	EVP_PKEY_free(svid->key);
	svid->key = NULL;
	e->svid = svid;
	e->minted_rev = e->revision;
	e->remint_at = due_time(svid);
	return true;
}

/* Pick up an earlier run's files; see agent_sync.h. */
void
agent_sync_restore(struct agent_sync *s, time_t now)
{
	char path[PATH_MAX_SVIDCA], *text = NULL;
	json_t *doc = NULL, *map, *o;
	const char *id;
	size_t len, n, held = 0, i;
	enum rc rc;

	if (!agent_files_join(path, sizeof(path), s->dir, AGENT_SYNC_FILE))
		return;
	rc = agent_files_read(path, SYNC_FILE_MAX, &text, &len);
	if (rc != RC_OK) {
		if (rc != RC_NOT_FOUND)
			log_warn("agent", "cannot read path=%s", path);
		return;
	}
	doc = json_loadb(text, len, 0, NULL);
	map = json_object_get(doc, "entries");
	n = json_object_size(map);
	if (!json_is_object(map) || n > AGENT_SYNC_ENTRIES_MAX || s->n != 0) {
		log_warn("agent", "unusable file, ignored path=%s", path);
		goto out;
	}
	s->v = calloc(n == 0 ? 1 : n, sizeof(*s->v));
	if (s->v == NULL)
		goto out;
	json_object_foreach(map, id, o)
		if (!restore_one(s, id, o, now))
			break;
	qsort(s->v, s->n, sizeof(*s->v), cmp_entry);
	for (i = 0; i < s->n; i++)
		if (s->v[i].svid != NULL)
			held++;
	log_info("agent",
	    "restored entries from an earlier run entries=%zu current=%zu",
	    s->n, held);
out:
	json_decref(doc);
	free(text);
}

/* ---- entries -------------------------------------------------------- */

/* The federates_with names that are valid trust domains, or NULL. */
static json_t *
take_federates(json_t *arr)
{
	char td[SPIFFEID_TD_MAX + 1];
	struct rc_why why;
	json_t *out, *v;
	const char *name;
	size_t i;

	if (json_array_size(arr) == 0)
		return NULL;
	out = json_array();
	if (out == NULL)
		return NULL;
	json_array_foreach(arr, i, v) {
		name = json_string_value(v);
		if (name == NULL)
			continue;
		if (strncmp(name, SPIFFEID_SCHEME, SPIFFEID_SCHEME_LEN) == 0)
			name += SPIFFEID_SCHEME_LEN;
		if (spiffeid_td_parse(name, strlen(name), td,
		    "federates_with", &why) != RC_OK)
			continue;
		(void)json_array_append_new(out, json_string(td));
	}
	return out;
}

/*
 * Fill e from one entry of the sync answer.  false (and e cleared) for
 * an entry we cannot serve, which is logged and skipped.
 */
static bool
parse_entry(json_t *o, struct sync_entry *e, time_t now)
{
	const char *id, *sid, *hint;
	json_t *rev;

	memset(e, 0, sizeof(*e));
	id = json_string_value(json_object_get(o, "id"));
	sid = json_string_value(json_object_get(o, "spiffe_id"));
	hint = json_string_value(json_object_get(o, "hint"));
	rev = json_object_get(o, "revision_number");
	if (id == NULL || sid == NULL || !json_is_integer(rev)) {
		log_warn("agent",
		    "sync entry lacks id, spiffe_id or revision_number, skipped");
		return false;
	}
	/* The ID names a directory: nothing that could leave S. */
	if (!agent_files_is_safe_name(id)) {
		log_warn("agent",
		    "sync entry ID unusable as a directory name, skipped id=%s",
		    sid);
		return false;
	}
	e->expires_at = (time_t)json_integer_value(json_object_get(o,
	    "expires_at"));
	if (e->expires_at != 0 && e->expires_at <= now)
		return false;
	e->id = strdup(id);
	e->spiffe_id = strdup(sid);
	e->hint = strdup(hint == NULL ? "" : hint);
	e->federates_with = take_federates(json_object_get(o,
	    "federates_with"));
	e->revision = json_integer_value(rev);
	e->minted_rev = -1;
	if (e->id == NULL || e->spiffe_id == NULL || e->hint == NULL) {
		entry_clear(e);
		return false;
	}
	return true;
}

/* Carry what we hold for old over to the freshly parsed e. */
static void
carry_over(struct sync_entry *e, struct sync_entry *old)
{
	bool same_fed;

	same_fed = json_equal(e->federates_with, old->federates_with) ||
	    (e->federates_with == NULL && old->federates_with == NULL);
	e->svid = old->svid;
	old->svid = NULL;
	e->minted_rev = old->minted_rev;
	e->remint_at = old->remint_at;
	e->retry_at = old->retry_at;
	e->fails = old->fails;
	e->bundle_gen = same_fed ? old->bundle_gen : 0;
	e->on_disk = old->on_disk;
	old->kept = true;
}

/* Replace the entry set with the sync answer doc. */
static enum rc
apply_entries(struct agent_sync *s, json_t *doc, time_t now)
{
	struct sync_entry *nv = NULL, *old, *gone;
	json_t *arr, *o;
	size_t i, n = 0, k, n_gone;

	arr = json_object_get(doc, "entries");
	if (!json_is_array(arr) ||
	    json_array_size(arr) > AGENT_SYNC_ENTRIES_MAX) {
		log_warn("agent", "sync answer without a usable entries array");
		return RC_BAD_REQUEST;
	}
	nv = calloc(json_array_size(arr) + 1, sizeof(*nv));
	if (nv == NULL)
		return RC_NOMEM;
	json_array_foreach(arr, i, o)
		if (parse_entry(o, &nv[n], now))
			n++;
	qsort(nv, n, sizeof(*nv), cmp_entry);

	/* A duplicate ID is the server's fault; keep the first. */
	for (i = 1, k = n == 0 ? 0 : 1; i < n; i++) {
		if (strcmp(nv[i].id, nv[k - 1].id) == 0) {
			entry_clear(&nv[i]);
			continue;
		}
		if (k != i) {
			nv[k] = nv[i];
			memset(&nv[i], 0, sizeof(nv[i]));
		}
		k++;
	}
	n = k;

	for (i = 0; i < s->n; i++)
		s->v[i].kept = false;
	for (i = 0; i < n; i++) {
		old = find_entry(s->v, s->n, nv[i].id);
		if (old != NULL)
			carry_over(&nv[i], old);
	}

	/*
	 * The index drops lost entries before their directories go, so a
	 * reader of entries.json never looks for a directory that is gone.
	 */
	gone = s->v;
	n_gone = s->n;
	s->v = nv;
	s->n = n;
	s->dirty = true;
	save_index(s);
	for (i = 0; i < n_gone; i++) {
		if (!gone[i].kept)
			remove_entry(s, &gone[i]);
		entry_clear(&gone[i]);
	}
	free(gone);
	return RC_OK;
}

/* GET the entries, unless unchanged since the last ETag. */
static enum rc
fetch_entries(struct agent_sync *s, struct agent_client *cl, time_t now)
{
	struct agent_client_reply r;
	json_t *doc = NULL;
	char detail[256];
	enum rc rc;

	rc = agent_client_request(cl, "GET", SYNC_ENTRIES_PATH, NULL,
	    s->synced ? s->etag : NULL, &r);
	if (rc != RC_OK)
		return rc;
	if (r.status == 304)
		goto ok;
	if (r.status != 200) {
		rc = agent_client_status_rc(r.status);
		log_warn("agent", "sync refused status=%ld reason=\"%s\"",
		    r.status, agent_client_reply_detail(&r, detail,
		    sizeof(detail)));
		goto out;
	}
	doc = json_loadb(r.body, r.len, 0, NULL);
	rc = apply_entries(s, doc, now);
	if (rc != RC_OK)
		goto out;
	(void)snprintf(s->etag, sizeof(s->etag), "%s", r.etag);
	if (!s->synced)
		log_info("agent", "first sync done entries=%zu", s->n);
	s->synced = true;
ok:
	rc = RC_OK;
out:
	json_decref(doc);
	agent_client_reply_clear(&r);
	return rc;
}

/* ---- bundles -------------------------------------------------------- */

/* Take the own bundle of the answer; sets news on a change. */
static void
take_own_bundle(struct agent_sync *s, json_t *own,
    struct agent_sync_news *news)
{
	struct agent_trust *t;
	struct rc_why why;
	struct sync_entry *e;
	size_t i;

	t = agent_trust_from_json(own, &why);
	if (t == NULL) {
		log_warn("agent",
		    "own bundle unusable, kept the old one reason=\"%s\"",
		    why.detail);
		return;
	}
	if (agent_trust_is_equal(t, s->trust)) {
		agent_trust_free(t);
		return;
	}
	if (!take_trust(s, t))
		return;
	news->trust_changed = true;
	news->bundle_json = json_dumps(own, JSON_COMPACT);
	log_info("agent", "trust bundle changed roots=%zu",
	    s->trust->n_roots);

	/* An SVID whose chain no longer verifies is replaced at once. */
	for (i = 0; i < s->n; i++) {
		e = &s->v[i];
		if (e->svid != NULL && !agent_trust_is_verified(s->trust,
		    e->svid->leaf, e->svid->chain, X509_PURPOSE_SSL_CLIENT))
			e->minted_rev = -1;
	}
}

/* The federated bundles of the answer as name -> PEM. */
static json_t *
take_federated(struct agent_sync *s, json_t *bundles)
{
	char td[SPIFFEID_TD_MAX + 1];
	struct agent_trust *t;
	struct rc_why why;
	const char *name;
	json_t *out, *b;
	char *pem;

	out = json_object();
	if (out == NULL)
		return NULL;
	json_object_foreach(bundles, name, b) {
		if (strcmp(name, s->td) == 0 ||
		    spiffeid_td_parse(name, strlen(name), td, "bundles",
		    &why) != RC_OK)
			continue;
		t = agent_trust_from_json(b, &why);
		if (t == NULL)
			continue;	/* JWT keys only, or unusable */
		pem = agent_trust_to_pem(t);
		agent_trust_free(t);
		if (pem == NULL)
			continue;
		(void)json_object_set_new(out, td, json_string(pem));
		free(pem);
	}
	return out;
}

/* GET the bundles and take what changed. */
static enum rc
fetch_bundles(struct agent_sync *s, struct agent_client *cl,
    struct agent_sync_news *news)
{
	struct agent_client_reply r;
	json_t *doc = NULL, *bundles, *own, *fed, *tainted, *v;
	const char *kind, *kid, *td;
	char detail[256];
	size_t i;
	enum rc rc;

	rc = agent_client_request(cl, "GET", SYNC_BUNDLES_PATH, NULL, NULL,
	    &r);
	if (rc != RC_OK)
		return rc;
	if (r.status != 200) {
		rc = agent_client_status_rc(r.status);
		log_warn("agent",
		    "bundle fetch refused status=%ld reason=\"%s\"", r.status,
		    agent_client_reply_detail(&r,
		    detail, sizeof(detail)));
		goto out;
	}
	rc = RC_BAD_REQUEST;
	doc = json_loadb(r.body, r.len, 0, NULL);
	bundles = json_object_get(doc, "bundles");
	td = json_string_value(json_object_get(doc, "trust_domain"));
	own = json_object_get(bundles, s->td);
	if (td == NULL || strcmp(td, s->td) != 0 || !json_is_object(own)) {
		log_warn("agent",
		    "bundles answer lacks our trust domain td=%s", s->td);
		goto out;
	}
	take_own_bundle(s, own, news);

	fed = take_federated(s, bundles);
	if (fed != NULL && !json_equal(fed, s->federated)) {
		json_decref(s->federated);
		s->federated = fed;
		fed = NULL;
		s->bundle_gen++;
		log_info("agent", "federated bundles changed count=%zu",
		    json_object_size(s->federated));
	}
	json_decref(fed);

	tainted = json_array();
	json_array_foreach(json_object_get(doc, "tainted_authorities"), i,
	    v) {
		kind = json_string_value(json_object_get(v, "kind"));
		kid = json_string_value(json_object_get(v, "authority_id"));
		if (tainted != NULL && kind != NULL && kid != NULL &&
		    strcmp(kind, "x509") == 0)
			(void)json_array_append_new(tainted, json_string(kid));
	}
	if (tainted != NULL) {
		json_decref(s->tainted);
		s->tainted = tainted;
	}

	rc = RC_OK;
out:
	json_decref(doc);
	agent_client_reply_clear(&r);
	return rc;
}

/* ---- minting -------------------------------------------------------- */

/* One item of a batch being minted. */
struct mint_item {
	struct sync_entry	*e;	/* borrowed from s->v */
	EVP_PKEY		*key;	/* owned */
};

/* Push back an entry after a failed attempt. */
static void
defer(struct agent_sync *s, struct sync_entry *e, time_t now)
{
	long wait = s->window > 0 ? s->window : 1;
	unsigned i;

	for (i = 0; i < e->fails && wait < SYNC_RETRY_MAX; i++)
		wait *= 2;
	if (wait > SYNC_RETRY_MAX)
		wait = SYNC_RETRY_MAX;
	e->fails++;
	e->retry_at = now + wait;
}

/* Take one result of the batch for item. */
static void
take_result(struct agent_sync *s, struct mint_item *it, json_t *res,
    time_t now)
{
	struct sync_entry *e = it->e;
	struct agent_svid *svid = NULL;
	struct rc_why why;
	const char *eid, *msg;
	json_int_t code;

	code = json_integer_value(json_object_get(json_object_get(res,
	    "status"), "code"));
	msg = json_string_value(json_object_get(json_object_get(res,
	    "status"), "message"));
	eid = json_string_value(json_object_get(res, "entry_id"));
	if (eid == NULL || strcmp(eid, e->id) != 0) {
		log_warn("agent", "mint result out of order entry=%s", e->id);
		defer(s, e, now);
		return;
	}
	if (code != 200) {
		log_warn("agent",
		    "mint refused id=%s entry=%s status=%lld reason=\"%s\"",
		    e->spiffe_id, e->id, (long long)code,
		    msg == NULL ? "" : msg);
		defer(s, e, now);
		return;
	}
	svid = agent_svid_from_json(json_object_get(res, "svid"), it->key,
	    &why);
	if (svid == NULL) {
		log_warn("agent",
		    "minted SVID unusable id=%s entry=%s reason=\"%s\"",
		    e->spiffe_id, e->id, why.detail);
		defer(s, e, now);
		return;
	}
	if (strcmp(svid->id, e->spiffe_id) != 0 ||
	    !agent_trust_is_verified(s->trust, svid->leaf, svid->chain,
	    X509_PURPOSE_SSL_CLIENT)) {
		log_warn("agent",
		    "minted SVID does not verify against the bundle or names another ID id=%s entry=%s svid=%s",
		    e->spiffe_id, e->id, svid->id);
		agent_svid_free(svid);
		defer(s, e, now);
		return;
	}
	if (write_entry(s, e, svid) != RC_OK) {
		agent_svid_free(svid);
		defer(s, e, now);
		return;
	}
	log_info("agent",
	    "svid written id=%s serial=%s not_after=%lld entry=%s", svid->id,
	    svid->serial, (long long)svid->not_after,
	    e->id);
	EVP_PKEY_free(svid->key);
	svid->key = NULL;
	agent_svid_free(e->svid);
	e->svid = svid;
	e->minted_rev = e->revision;
	e->remint_at = due_time(svid);
	e->retry_at = 0;
	e->fails = 0;
	s->dirty = true;
}

/* Send one batch of items[0..n) and take the results. */
static enum rc
mint_batch(struct agent_sync *s, struct agent_client *cl,
    struct mint_item *items, size_t n, time_t now)
{
	struct agent_client_reply r;
	json_t *req = NULL, *params, *doc = NULL, *results;
	char *csr, *body = NULL, detail[256];
	size_t i;
	enum rc rc = RC_NOMEM;

	memset(&r, 0, sizeof(r));
	params = json_array();
	req = json_pack("{s:o}", "params", params);
	if (req == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		csr = agent_svid_make_csr(items[i].key);
		if (csr == NULL) {
			rc = RC_CRYPTO;
			goto out;
		}
		if (json_array_append_new(params, json_pack("{s:s,s:s}",
		    "entry_id", items[i].e->id, "csr", csr)) != 0) {
			free(csr);
			goto out;
		}
		free(csr);
	}
	body = json_dumps(req, JSON_COMPACT);
	if (body == NULL)
		goto out;

	rc = agent_client_request(cl, "POST", SYNC_MINT_PATH, body, NULL, &r);
	if (rc != RC_OK)
		goto out;
	if (r.status != 200) {
		rc = agent_client_status_rc(r.status);
		log_warn("agent",
		    "mint batch refused status=%ld items=%zu reason=\"%s\"",
		    r.status, n, agent_client_reply_detail(&r,
		    detail, sizeof(detail)));
		goto out;
	}
	doc = json_loadb(r.body, r.len, 0, NULL);
	results = json_object_get(doc, "results");
	if (json_array_size(results) != n) {
		log_warn("agent",
		    "mint batch answer has %zu results for %zu items",
		    json_array_size(results), n);
		rc = RC_BAD_REQUEST;
		goto out;
	}
	for (i = 0; i < n; i++)
		take_result(s, &items[i], json_array_get(results, i), now);

	rc = RC_OK;
out:
	if (rc != RC_OK)
		for (i = 0; i < n; i++)
			if (items[i].e->retry_at <= now)
				defer(s, items[i].e, now);
	json_decref(doc);
	json_decref(req);
	free(body);
	agent_client_reply_clear(&r);
	return rc;
}

/* Mint what is due; see agent_sync.h. */
enum rc
agent_sync_mint(struct agent_sync *s, struct agent_client *cl, time_t now)
{
	struct mint_item *items = NULL;
	size_t i, n = 0, done;
	bool any = false;
	enum rc rc = RC_OK;

	if (!s->synced)
		return RC_OK;
	for (i = 0; i < s->n && !any; i++)
		any = is_due(s, &s->v[i], now);
	if (!any)
		return RC_OK;

	/* Those due within the window join now: one batch, not many. */
	items = calloc(AGENT_SYNC_BATCH_MAX, sizeof(*items));
	if (items == NULL)
		return RC_NOMEM;
	for (i = 0; i < s->n && rc == RC_OK; i++) {
		if (!is_due(s, &s->v[i], now + s->window) ||
		    s->v[i].retry_at > now)
			continue;
		items[n].e = &s->v[i];
		items[n].key = agent_svid_new_key();
		if (items[n].key == NULL) {
			rc = RC_CRYPTO;
			break;
		}
		n++;
		if (n == AGENT_SYNC_BATCH_MAX) {
			rc = mint_batch(s, cl, items, n, now);
			for (done = 0; done < n; done++)
				EVP_PKEY_free(items[done].key);
			n = 0;
		}
	}
	if (n > 0 && rc == RC_OK)
		rc = mint_batch(s, cl, items, n, now);
	for (i = 0; i < n; i++)
		EVP_PKEY_free(items[i].key);
	free(items);
	save_index(s);
	return rc;
}

/* One round; see agent_sync.h. */
enum rc
agent_sync_run(struct agent_sync *s, struct agent_client *cl, time_t now,
    struct agent_sync_news *news)
{
	enum rc rc;

	memset(news, 0, sizeof(*news));
	rc = fetch_bundles(s, cl, news);
	if (rc != RC_OK)
		return rc;
	rc = fetch_entries(s, cl, now);
	if (rc != RC_OK)
		return rc;
	rc = agent_sync_mint(s, cl, now);
	refresh_bundles(s);
	save_index(s);
	return rc;
}

/* Replace the roots; see agent_sync.h. */
void
agent_sync_set_trust(struct agent_sync *s, struct agent_trust *trust)
{
	if (agent_trust_is_equal(trust, s->trust)) {
		agent_trust_free(trust);
		return;
	}
	if (!take_trust(s, trust))
		log_warn("agent", "cannot take the new roots");
}
