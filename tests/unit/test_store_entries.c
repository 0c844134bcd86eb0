/*
 * test_store_entries.c: registration entries, attested agents and join
 * tokens in the SQLite store, on scratch databases under /tmp.
 *
 * Expected answers of the filters are written out by hand from the
 * fixture below, never computed by code that could share a mistake
 * with the store.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "../../server/bounds.h"
#include "../../server/log.h"
#include "../../server/rc.h"
#include "../../store/store.h"
#include "check.h"

#define SERVER_ID	"spiffe://a.test/spire/server"
#define RACERS		8

static char dir[] = "/tmp/svidca-entries-XXXXXX";

/* dir/name into buf. */
static const char *
path_in(char *buf, size_t len, const char *name)
{
	int w;

	w = snprintf(buf, len, "%s/%s", dir, name);
	if (w < 0 || (size_t)w >= len)
		abort();
	return buf;
}

static char *
xstrdup(const char *s)
{
	char *p;

	p = strdup(s);
	if (p == NULL)
		abort();
	return p;
}

/* Run one query returning one integer on a separate handle; -1 if none. */
static long long
peek_int(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

/* Split the space-separated words of s into a new array. */
static char **
split_words(const char *s, size_t *n)
{
	char **v = NULL;
	const char *p, *end;
	size_t cnt = 0;

	*n = 0;
	if (s == NULL || s[0] == '\0')
		return NULL;
	for (p = s; *p != '\0'; p = end) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		v = realloc(v, (cnt + 1) * sizeof(*v));
		if (v == NULL)
			abort();
		v[cnt] = strndup(p, (size_t)(end - p));
		if (v[cnt] == NULL)
			abort();
		cnt++;
	}
	*n = cnt;
	return v;
}

/* "type:value type:value" into a new selector array. */
static struct store_selector *
make_selectors(const char *s, size_t *n)
{
	struct store_selector *v = NULL;
	char **w;
	char *colon;
	size_t i, k;

	w = split_words(s, &k);
	if (k > 0) {
		v = calloc(k, sizeof(*v));
		if (v == NULL)
			abort();
	}
	for (i = 0; i < k; i++) {
		colon = strchr(w[i], ':');
		if (colon == NULL)
			abort();
		v[i].type = strndup(w[i], (size_t)(colon - w[i]));
		v[i].value = xstrdup(colon + 1);
		free(w[i]);
	}
	free(w);
	*n = k;
	return v;
}

static void
free_selectors(struct store_selector *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].type);
		free(v[i].value);
	}
	free(v);
}

static void
free_words(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A fresh entry (store_entry_clear it) with the few fields most tests use. */
static void
set_entry(struct store_entry *e, const char *id, const char *spiffe_id,
    const char *parent_id, const char *selectors)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->spiffe_id = xstrdup(spiffe_id);
	e->parent_id = xstrdup(parent_id);
	e->selectors = make_selectors(selectors, &e->n_selectors);
}

/* Are the two entries equal in every field? */
static int
same_entry(const struct store_entry *x, const struct store_entry *y)
{
	size_t i;

	if (strcmp(x->id, y->id) != 0 ||
	    strcmp(x->spiffe_id, y->spiffe_id) != 0 ||
	    strcmp(x->parent_id, y->parent_id) != 0 ||
	    x->n_selectors != y->n_selectors ||
	    x->x509_svid_ttl != y->x509_svid_ttl ||
	    x->jwt_svid_ttl != y->jwt_svid_ttl ||
	    x->n_dns_names != y->n_dns_names ||
	    x->n_federates_with != y->n_federates_with ||
	    x->admin != y->admin || x->downstream != y->downstream ||
	    x->store_svid != y->store_svid ||
	    x->expires_at != y->expires_at ||
	    (x->hint == NULL) != (y->hint == NULL) ||
	    (x->hint != NULL && strcmp(x->hint, y->hint) != 0) ||
	    x->revision_number != y->revision_number ||
	    x->created_at != y->created_at ||
	    (x->created_by == NULL) != (y->created_by == NULL) ||
	    (x->created_by != NULL &&
	    strcmp(x->created_by, y->created_by) != 0))
		return 0;
	for (i = 0; i < x->n_selectors; i++)
		if (strcmp(x->selectors[i].type, y->selectors[i].type) != 0 ||
		    strcmp(x->selectors[i].value, y->selectors[i].value) != 0)
			return 0;
	for (i = 0; i < x->n_dns_names; i++)
		if (strcmp(x->dns_names[i], y->dns_names[i]) != 0)
			return 0;
	for (i = 0; i < x->n_federates_with; i++)
		if (strcmp(x->federates_with[i], y->federates_with[i]) != 0)
			return 0;
	return 1;
}

/* The selectors of e as "type:value type:value". */
static const char *
selectors_str(const struct store_entry *e, char *buf, size_t len)
{
	size_t i, used = 0;
	int w;

	buf[0] = '\0';
	for (i = 0; i < e->n_selectors; i++) {
		w = snprintf(buf + used, len - used, "%s%s:%s",
		    i == 0 ? "" : " ", e->selectors[i].type,
		    e->selectors[i].value);
		if (w < 0 || (size_t)w >= len - used)
			abort();
		used += (size_t)w;
	}
	return buf;
}

/* The IDs of v[0..n) joined with ','. */
static const char *
ids_str(const struct store_entry *v, size_t n, char *buf, size_t len)
{
	size_t i, used = 0;
	int w;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		w = snprintf(buf + used, len - used, "%s%s", i == 0 ? "" : ",",
		    v[i].id);
		if (w < 0 || (size_t)w >= len - used)
			abort();
		used += (size_t)w;
	}
	return buf;
}

/* ---- write callbacks ---------------------------------------------------- */

/* What one callback does to one entry; results come back in it. */
struct entry_op {
	struct store_entry	*e;
	const char		*id;		/* delete, get_tx */
	int64_t			 if_revision;	/* update */
	struct rc_why		 why;
	enum rc			 rc;		/* of the store call */
};

static enum rc
on_create(struct store_tx *tx, void *arg)
{
	struct entry_op *op = arg;

	op->rc = store_entry_create(tx, op->e, &op->why);
	return op->rc;
}

static enum rc
on_update(struct store_tx *tx, void *arg)
{
	struct entry_op *op = arg;

	op->rc = store_entry_update(tx, op->e, op->if_revision, &op->why);
	return op->rc;
}

static enum rc
on_delete(struct store_tx *tx, void *arg)
{
	struct entry_op *op = arg;

	op->rc = store_entry_delete(tx, op->id);
	return op->rc;
}

/* Create, then fail: nothing may commit. */
static enum rc
on_create_then_fail(struct store_tx *tx, void *arg)
{
	struct entry_op *op = arg;

	op->rc = store_entry_create(tx, op->e, &op->why);
	return op->rc == RC_OK ? RC_CONFLICT : RC_INTERNAL;
}

static enum rc
on_meta(struct store_tx *tx, void *arg)
{
	(void)arg;
	return store_meta_set(tx, "note", "x");
}

/* Many entries in one transaction; a refused one does not stop it. */
struct batch {
	struct store_entry	*v;
	size_t			 n;
	enum rc			 rc[16];	/* each create's, first 16 */
	struct rc_why		 why[16];
};

static enum rc
on_batch(struct store_tx *tx, void *arg)
{
	struct batch *b = arg;
	struct rc_why why;
	enum rc rc;
	size_t i;

	for (i = 0; i < b->n; i++) {
		rc = store_entry_create(tx, &b->v[i], &why);
		if (i < 16) {
			b->rc[i] = rc;
			b->why[i] = why;
		}
		if (rc != RC_OK && rc != RC_CONFLICT)
			return rc;
	}
	return RC_OK;
}

/* Write e in a transaction of its own; the store's answer. */
static enum rc
create_one(struct store *st, struct store_entry *e, struct rc_why *why)
{
	struct entry_op op;
	enum rc rc;

	memset(&op, 0, sizeof(op));
	op.e = e;
	rc = store_write(st, on_create, &op);
	if (why != NULL)
		*why = op.why;
	return rc;
}

static struct store *
open_db(const char *name)
{
	struct store *st = NULL;
	struct rc_why why;
	char db[PATH_MAX];

	path_in(db, sizeof(db), name);
	if (store_open(db, &st, &why) != RC_OK) {
		printf("Bail out! cannot open %s\n", db);
		exit(1);
	}
	return st;
}

/* Is id a lower-case version 4 UUID (RFC 9562 5.4)? */
static int
is_uuid4(const char *id)
{
	size_t i;

	if (strlen(id) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (id[i] != '-')
				return 0;
		} else if (strchr("0123456789abcdef", id[i]) == NULL) {
			return 0;
		}
	}
	return id[14] == '4' && strchr("89ab", id[19]) != NULL;
}

/* ---- entries: create, get, update, delete ------------------------------- */

static void
test_round_trip(void)
{
	struct store *st = open_db("round.db");
	struct store_entry e, got, upd;
	struct entry_op op;
	struct rc_why why;
	char db[PATH_MAX], sql[256], buf[256];
	time_t t0, t1;
	size_t i;

	path_in(db, sizeof(db), "round.db");
	set_entry(&e, "", "spiffe://a.test/web", "spiffe://a.test/agent/1",
	    "unix:uid:1000 k8s:ns:prod unix:gid:50 k8s:ns:prod");
	e.x509_svid_ttl = 3600;
	e.jwt_svid_ttl = 300;
	e.dns_names = split_words("web.a.test z.a.test api.a.test",
	    &e.n_dns_names);
	e.federates_with = split_words("zeta.test b.test zeta.test",
	    &e.n_federates_with);
	e.admin = true;
	e.downstream = true;
	e.store_svid = true;
	e.expires_at = 1900000000;
	e.hint = xstrdup("web-hint");
	e.created_by = xstrdup("uid:1000");

	t0 = time(NULL);
	CHECK(create_one(st, &e, &why) == RC_OK, "create an entry with "
	    "every field");
	t1 = time(NULL);
	CHECK(is_uuid4(e.id), "an empty id becomes a version 4 UUID");
	CHECK(e.revision_number == 1, "create sets revision 1");
	CHECK(e.created_at >= t0 && e.created_at <= t1,
	    "create sets created_at to now");
	CHECK(strcmp(selectors_str(&e, buf, sizeof(buf)), "k8s:ns:prod "
	    "unix:gid:50 unix:uid:1000") == 0,
	    "selectors are sorted and deduplicated in e");
	CHECK(e.n_federates_with == 2 &&
	    strcmp(e.federates_with[0], "b.test") == 0 &&
	    strcmp(e.federates_with[1], "zeta.test") == 0,
	    "federates_with is sorted and deduplicated in e");

	CHECK(store_entry_get(st, e.id, &got) == RC_OK, "get it back");
	CHECK(same_entry(&e, &got), "every field round-trips");
	CHECK(got.n_dns_names == 3 &&
	    strcmp(got.dns_names[0], "web.a.test") == 0 &&
	    strcmp(got.dns_names[1], "z.a.test") == 0 &&
	    strcmp(got.dns_names[2], "api.a.test") == 0,
	    "DNS names keep the order given");
	CHECK(got.x509_svid_ttl == 3600 && got.jwt_svid_ttl == 300 &&
	    got.admin && got.downstream && got.store_svid &&
	    got.expires_at == 1900000000 &&
	    strcmp(got.hint, "web-hint") == 0 &&
	    strcmp(got.created_by, "uid:1000") == 0,
	    "scalar fields are as created");
	store_entry_clear(&got);

	/* Update every field; created_at and created_by stay. */
	set_entry(&upd, e.id, "spiffe://a.test/web2",
	    "spiffe://a.test/agent/2", "docker:label:x");
	upd.x509_svid_ttl = 60;
	upd.jwt_svid_ttl = 30;
	upd.dns_names = split_words("only.a.test", &upd.n_dns_names);
	upd.admin = false;
	upd.downstream = false;
	upd.store_svid = false;
	upd.expires_at = 0;
	upd.hint = NULL;
	upd.created_by = xstrdup("someone else");
	memset(&op, 0, sizeof(op));
	op.e = &upd;
	op.if_revision = 1;
	CHECK(store_write(st, on_update, &op) == RC_OK,
	    "update with the current revision");
	CHECK(upd.revision_number == 2, "update sets revision 2");
	CHECK(upd.created_at == e.created_at &&
	    strcmp(upd.created_by, "uid:1000") == 0,
	    "update fills the stored created_at and created_by");
	CHECK(store_entry_get(st, e.id, &got) == RC_OK &&
	    same_entry(&upd, &got), "updated entry round-trips");
	CHECK(got.n_federates_with == 0 && got.federates_with == NULL &&
	    got.hint == NULL && got.n_dns_names == 1,
	    "update replaced the sets and cleared the hint");
	store_entry_clear(&got);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM entry_selectors "
	    "WHERE entry_id = '%s'", e.id);
	CHECK(peek_int(db, sql) == 1, "old selector rows are gone");

	/* Delete. */
	memset(&op, 0, sizeof(op));
	op.id = e.id;
	CHECK(store_write(st, on_delete, &op) == RC_OK, "delete");
	CHECK(store_entry_get(st, e.id, &got) == RC_NOT_FOUND,
	    "deleted entry is RC_NOT_FOUND");
	CHECK(store_write(st, on_delete, &op) == RC_NOT_FOUND,
	    "second delete is RC_NOT_FOUND");
	for (i = 0; i < 3; i++) {
		static const char *const tables[] = { "entry_selectors",
		    "entry_dns", "entry_federates" };

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s",
		    tables[i]);
		CHECK(peek_int(db, sql) == 0, "delete cascades to child rows");
	}
	CHECK(store_entry_get(st, "no-such-id", &got) == RC_NOT_FOUND,
	    "unknown ID is RC_NOT_FOUND");

	store_entry_clear(&upd);
	store_entry_clear(&e);
	store_entry_clear(NULL);
	store_close(st);
}

static void
test_ids(void)
{
	struct store *st = open_db("ids.db");
	struct store_entry a, b, c;
	struct rc_why why;

	set_entry(&a, "", "spiffe://a.test/x", "spiffe://a.test/p", "t:1");
	set_entry(&b, "", "spiffe://a.test/y", "spiffe://a.test/p", "t:1");
	CHECK(create_one(st, &a, &why) == RC_OK &&
	    create_one(st, &b, &why) == RC_OK, "two entries with made IDs");
	CHECK(is_uuid4(a.id) && is_uuid4(b.id) && strcmp(a.id, b.id) != 0,
	    "made IDs are distinct UUIDs");

	set_entry(&c, "my-entry.1", "spiffe://a.test/z", "spiffe://a.test/p",
	    "t:1");
	CHECK(create_one(st, &c, &why) == RC_OK &&
	    strcmp(c.id, "my-entry.1") == 0, "a given ID is used as is");
	store_entry_clear(&c);

	set_entry(&c, "my-entry.1", "spiffe://a.test/other",
	    "spiffe://a.test/p", "t:2");
	CHECK(create_one(st, &c, &why) == RC_CONFLICT,
	    "a reused ID is RC_CONFLICT");
	CHECK(why.code == RC_CONFLICT && strcmp(why.field, "id") == 0 &&
	    strcmp(why.detail, "entry ID my-entry.1 is already taken") == 0,
	    "reused ID: field and detail");
	store_entry_clear(&c);

	/* A refused create with a made ID leaves e->id empty again. */
	set_entry(&c, "", "spiffe://a.test/x", "spiffe://a.test/p", "t:1");
	CHECK(create_one(st, &c, &why) == RC_CONFLICT && c.id[0] == '\0',
	    "refused create gives the made ID back");
	store_entry_clear(&c);

	store_entry_clear(&a);
	store_entry_clear(&b);
	store_close(st);
}

static void
test_duplicates(void)
{
	struct store *st = open_db("dup.db");
	struct store_entry a, b, got;
	struct entry_op op;
	struct batch bt;
	struct rc_why why;
	char detail[RC_DETAIL_MAX];
	size_t i;

	set_entry(&a, "dup-a", "spiffe://a.test/w", "spiffe://a.test/p",
	    "unix:uid:1 unix:gid:2 k8s:ns:n");
	CHECK(create_one(st, &a, &why) == RC_OK, "create dup-a");

	set_entry(&b, "", "spiffe://a.test/w", "spiffe://a.test/p",
	    "k8s:ns:n unix:uid:1 unix:gid:2 unix:uid:1");
	CHECK(create_one(st, &b, &why) == RC_CONFLICT,
	    "same ID pair and selectors in another order is RC_CONFLICT");
	CHECK(why.code == RC_CONFLICT && strcmp(why.field, "selectors") == 0 &&
	    strcmp(why.rule, "DESIGN.md Store") == 0 &&
	    strcmp(why.detail, "entry dup-a already has this spiffe_id, "
	    "parent_id and selector set") == 0,
	    "duplicate names the existing entry");
	store_entry_clear(&b);

	set_entry(&b, "dup-sub", "spiffe://a.test/w", "spiffe://a.test/p",
	    "unix:uid:1 unix:gid:2");
	CHECK(create_one(st, &b, &why) == RC_OK,
	    "a subset of the selectors is another entry");
	store_entry_clear(&b);
	set_entry(&b, "dup-sup", "spiffe://a.test/w", "spiffe://a.test/p",
	    "unix:uid:1 unix:gid:2 k8s:ns:n k8s:sa:s");
	CHECK(create_one(st, &b, &why) == RC_OK,
	    "a superset of the selectors is another entry");
	store_entry_clear(&b);
	set_entry(&b, "dup-par", "spiffe://a.test/w", "spiffe://a.test/q",
	    "unix:uid:1 unix:gid:2 k8s:ns:n");
	CHECK(create_one(st, &b, &why) == RC_OK,
	    "the same selectors under another parent is another entry");

	/* Stale revision: refused, nothing changed. */
	free(b.spiffe_id);
	b.spiffe_id = xstrdup("spiffe://a.test/changed");
	memset(&op, 0, sizeof(op));
	op.e = &b;
	op.if_revision = 7;
	CHECK(store_write(st, on_update, &op) == RC_PRECONDITION,
	    "update with a stale revision is RC_PRECONDITION");
	CHECK(strcmp(op.why.field, "revision_number") == 0 &&
	    strcmp(op.why.detail, "entry dup-par is at revision 1, not 7") ==
	    0, "stale revision: field and detail");
	CHECK(store_entry_get(st, "dup-par", &got) == RC_OK &&
	    got.revision_number == 1 &&
	    strcmp(got.spiffe_id, "spiffe://a.test/w") == 0,
	    "stale update changed nothing");
	store_entry_clear(&got);

	/* An update that would duplicate dup-a: refused, nothing changed. */
	free(b.parent_id);
	b.parent_id = xstrdup("spiffe://a.test/p");
	free(b.spiffe_id);
	b.spiffe_id = xstrdup("spiffe://a.test/w");
	op.if_revision = 1;
	CHECK(store_write(st, on_update, &op) == RC_CONFLICT,
	    "update making a duplicate is RC_CONFLICT");
	CHECK(strcmp(op.why.detail, "entry dup-a already has this "
	    "spiffe_id, parent_id and selector set") == 0,
	    "update duplicate names the existing entry");
	CHECK(store_entry_get(st, "dup-par", &got) == RC_OK &&
	    got.revision_number == 1 &&
	    strcmp(got.parent_id, "spiffe://a.test/q") == 0,
	    "refused update changed nothing");
	store_entry_clear(&got);

	/* Unconditional update of dup-a onto its own key is fine. */
	op.e = &a;
	op.if_revision = -1;
	a.x509_svid_ttl = 99;
	CHECK(store_write(st, on_update, &op) == RC_OK &&
	    a.revision_number == 2, "update with if_revision -1");
	snprintf(a.id, sizeof(a.id), "no-such");
	op.if_revision = -1;
	CHECK(store_write(st, on_update, &op) == RC_NOT_FOUND &&
	    strcmp(op.why.detail, "no entry has ID no-such") == 0,
	    "update of a missing entry is RC_NOT_FOUND");

	/* A batch: refused items do not poison the transaction. */
	memset(&bt, 0, sizeof(bt));
	bt.n = 3;
	bt.v = calloc(3, sizeof(*bt.v));
	if (bt.v == NULL)
		abort();
	set_entry(&bt.v[0], "batch-1", "spiffe://a.test/b1",
	    "spiffe://a.test/p", "t:1");
	set_entry(&bt.v[1], "batch-2", "spiffe://a.test/w",
	    "spiffe://a.test/p", "unix:gid:2 k8s:ns:n unix:uid:1");
	set_entry(&bt.v[2], "batch-3", "spiffe://a.test/b1",
	    "spiffe://a.test/p", "t:1");
	CHECK(store_write(st, on_batch, &bt) == RC_OK, "batch commits");
	CHECK(bt.rc[0] == RC_OK && bt.rc[1] == RC_CONFLICT &&
	    bt.rc[2] == RC_CONFLICT, "batch: one created, two refused");
	snprintf(detail, sizeof(detail), "entry batch-1 already has this "
	    "spiffe_id, parent_id and selector set");
	CHECK(strcmp(bt.why[2].detail, detail) == 0,
	    "a duplicate of an entry made earlier in the same transaction");
	CHECK(store_entry_get(st, "batch-1", &got) == RC_OK,
	    "batch's good entry committed");
	store_entry_clear(&got);
	CHECK(store_entry_get(st, "batch-2", &got) == RC_NOT_FOUND,
	    "batch's refused entry is absent");
	for (i = 0; i < bt.n; i++)
		store_entry_clear(&bt.v[i]);
	free(bt.v);

	store_entry_clear(&a);
	store_entry_clear(&b);
	store_close(st);
}

/* Run SQL on a separate handle; SQLite's code. */
static int
poke(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	int err;

	err = sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL);
	if (err == SQLITE_OK) {
		sqlite3_busy_timeout(h, 5000);
		err = sqlite3_exec(h, sql, NULL, NULL, NULL);
	}
	sqlite3_close(h);
	return err;
}

static void
test_refusals(void)
{
	struct store *st = open_db("refuse.db");
	struct store_entry e, got;
	struct rc_why why;
	char db[PATH_MAX];

	path_in(db, sizeof(db), "refuse.db");
	set_entry(&e, "r1", "spiffe://a.test/r", "P", "unix:uid:\xff");
	CHECK(create_one(st, &e, &why) == RC_BAD_REQUEST &&
	    why.code == RC_BAD_REQUEST && strcmp(why.field, "selectors") == 0 &&
	    strcmp(why.rule, "RFC 8259 8.1") == 0 &&
	    strcmp(why.detail, "a selector is not valid UTF-8") == 0,
	    "a selector that is not UTF-8 is RC_BAD_REQUEST");
	store_entry_clear(&e);

	set_entry(&e, "r1", "spiffe://a.test/r", "P", "unix:uid:1");
	free(e.spiffe_id);
	e.spiffe_id = NULL;
	CHECK(create_one(st, &e, &why) == RC_INTERNAL,
	    "an entry without a SPIFFE ID is RC_INTERNAL");
	store_entry_clear(&e);
	set_entry(&e, "r1", "spiffe://a.test/r", "P", "unix:uid:1");
	e.selectors[0].type[0] = '\0';
	CHECK(create_one(st, &e, &why) == RC_INTERNAL,
	    "an empty selector type is RC_INTERNAL");
	store_entry_clear(&e);
	set_entry(&e, "r1", "spiffe://a.test/r", "P", "unix:uid:1");
	e.n_dns_names = 2;
	e.dns_names = calloc(2, sizeof(*e.dns_names));
	if (e.dns_names == NULL)
		abort();
	e.dns_names[0] = xstrdup("a.test");
	CHECK(create_one(st, &e, &why) == RC_INTERNAL,
	    "a NULL DNS name is RC_INTERNAL");
	CHECK(store_entry_get(st, "r1", &got) == RC_NOT_FOUND,
	    "refused entries were not stored");

	/* A row that does not read back is RC_DB, never half an entry. */
	e.n_dns_names = 1;
	CHECK(create_one(st, &e, &why) == RC_OK, "create r1");
	store_entry_clear(&e);
	CHECK(poke(db, "UPDATE entries SET selector_key = '[[\"t\"]]'") ==
	    SQLITE_OK, "planted a malformed selector key");
	CHECK(store_entry_get(st, "r1", &got) == RC_DB &&
	    got.spiffe_id == NULL && got.selectors == NULL,
	    "a malformed stored selector set is RC_DB, out cleared");
	CHECK(poke(db, "UPDATE entries SET selector_key = '[[\"t\",\"1\"]]';"
	    "UPDATE entry_dns SET pos = 3") == SQLITE_OK,
	    "planted a DNS name out of place");
	CHECK(store_entry_get(st, "r1", &got) == RC_DB &&
	    got.dns_names == NULL, "a DNS position gap is RC_DB");
	store_close(st);
}

/* ---- lists -------------------------------------------------------------- */

static void
test_pages(void)
{
	struct store *st = open_db("pages.db");
	struct store_entry *v = NULL;
	struct batch bt;
	char token[STORE_ENTRY_ID_MAX + 1], last[STORE_ENTRY_ID_MAX + 1];
	char name[64];
	int seen[100], pages = 0, order_ok = 1, dup = 0, k;
	size_t i, n;
	int64_t count;

	memset(&bt, 0, sizeof(bt));
	bt.n = 100;
	bt.v = calloc(bt.n, sizeof(*bt.v));
	if (bt.v == NULL)
		abort();
	for (i = 0; i < bt.n; i++) {
		snprintf(name, sizeof(name), "spiffe://a.test/w/%zu", i);
		set_entry(&bt.v[i], "", name, "spiffe://a.test/p", "t:1");
	}
	CHECK(store_write(st, on_batch, &bt) == RC_OK,
	    "100 entries in one transaction");
	for (i = 0; i < bt.n; i++)
		store_entry_clear(&bt.v[i]);
	free(bt.v);

	memset(seen, 0, sizeof(seen));
	token[0] = '\0';
	last[0] = '\0';
	do {
		if (store_entry_list(st, NULL, token, 7, &v, &n, token) !=
		    RC_OK) {
			CHECK(0, "list a page");
			break;
		}
		pages++;
		for (i = 0; i < n; i++) {
			if (strcmp(v[i].id, last) <= 0)
				order_ok = 0;
			snprintf(last, sizeof(last), "%s", v[i].id);
			k = (int)strtol(strrchr(v[i].spiffe_id, '/') + 1, NULL,
			    10);
			if (k < 0 || k >= 100 || seen[k]++ != 0)
				dup = 1;
		}
		if (token[0] != '\0' && (n != 7 ||
		    strcmp(token, v[n - 1].id) != 0))
			order_ok = 0;
		store_entries_free(v, n);
	} while (token[0] != '\0' && pages < 100);
	CHECK(pages == 15, "100 entries in pages of 7 take 15 pages");
	CHECK(order_ok, "pages ascend by ID, the token is the last ID");
	CHECK(!dup, "no entry is listed twice");
	for (k = 0; k < 100; k++)
		if (seen[k] != 1)
			dup = 1;
	CHECK(!dup, "every entry is listed exactly once");

	/* A page size that divides the count ends with an empty token. */
	token[0] = '\0';
	pages = 0;
	do {
		if (store_entry_list(st, NULL, token, 10, &v, &n, token) !=
		    RC_OK || n != 10)
			order_ok = 0;
		store_entries_free(v, n);
		pages++;
	} while (token[0] != '\0' && pages < 100);
	CHECK(order_ok && pages == 10,
	    "pages of 10 over 100: 10 full pages, no empty eleventh");

	CHECK(store_entry_list(st, NULL, NULL, 0, &v, &n, token) ==
	    RC_INTERNAL, "page size 0 is RC_INTERNAL");
	CHECK(store_entry_list(st, NULL, NULL, PAGE_SIZE_MAX + 1, &v, &n,
	    token) == RC_INTERNAL, "page size over the ceiling is RC_INTERNAL");
	CHECK(store_entry_count(st, NULL, &count) == RC_OK && count == 100,
	    "count with no filter is 100");
	store_close(st);
}

/*
 * The fixture for filters.  Selectors a = unix:uid:1, b = unix:gid:2,
 * c = k8s:ns:x, d = k8s:sa:y.
 */
static const struct {
	const char	*id;
	const char	*spiffe_id;
	const char	*parent_id;
	const char	*selectors;
	const char	*federates;
	const char	*hint;
	bool		 admin;
	bool		 downstream;
} fixture[] = {
	{ "e01", "S1", "P1", "unix:uid:1", "td1", NULL, false, false },
	{ "e02", "S2", "P1", "unix:uid:1 unix:gid:2", "td1 td2", NULL,
	    false, false },
	{ "e03", "S3", "P1", "unix:uid:1 unix:gid:2 k8s:ns:x", "td2", NULL,
	    false, false },
	{ "e04", "S1", "P2", "unix:gid:2", "", NULL, false, false },
	{ "e05", "S4", "P2", "k8s:ns:x k8s:sa:y", "td1 td2 td3", NULL, true,
	    false },
	{ "e06", "S5", "P2", "unix:uid:1 k8s:ns:x", "", NULL, false, true },
	{ "e07", "S1", "P3", "k8s:sa:y", "", "h1", false, false },
	{ "e08", "S6", "P3", "unix:uid:1 unix:gid:2 k8s:ns:x k8s:sa:y",
	    "td3", "h1", true, true },
	{ "e09", "S7", "P1", "unix:gid:2 k8s:ns:x", "", "h2", false, false },
	{ "e10", "S8", "P3", "unix:uid:1 k8s:sa:y", "", NULL, false, false },
};

static void
load_fixture(struct store *st)
{
	struct store_entry e;
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(fixture) / sizeof(fixture[0]); i++) {
		set_entry(&e, fixture[i].id, fixture[i].spiffe_id,
		    fixture[i].parent_id, fixture[i].selectors);
		e.federates_with = split_words(fixture[i].federates,
		    &e.n_federates_with);
		e.hint = fixture[i].hint == NULL ? NULL :
		    xstrdup(fixture[i].hint);
		e.admin = fixture[i].admin;
		e.downstream = fixture[i].downstream;
		if (create_one(st, &e, NULL) != RC_OK)
			ok = 0;
		store_entry_clear(&e);
	}
	CHECK(ok, "filter fixture of 10 entries created");
}

static struct store_entry_filter
no_filter(void)
{
	struct store_entry_filter f;

	memset(&f, 0, sizeof(f));
	f.downstream = -1;
	f.admin = -1;
	return f;
}

/*
 * Every entry matching f as "id,id", read in pages of page_size; "ERR"
 * on a failure or when the count disagrees with the list.
 */
static const char *
filtered(struct store *st, const struct store_entry_filter *f,
    size_t page_size, char *buf, size_t len)
{
	struct store_entry *v;
	char token[STORE_ENTRY_ID_MAX + 1], part[1024];
	size_t n, used = 0, total = 0;
	int64_t count;
	int w;

	buf[0] = '\0';
	token[0] = '\0';
	do {
		if (store_entry_list(st, f, token, page_size, &v, &n,
		    token) != RC_OK)
			return "ERR";
		ids_str(v, n, part, sizeof(part));
		store_entries_free(v, n);
		if (n > 0) {
			w = snprintf(buf + used, len - used, "%s%s",
			    used == 0 ? "" : ",", part);
			if (w < 0 || (size_t)w >= len - used)
				return "ERR";
			used += (size_t)w;
		}
		total += n;
	} while (token[0] != '\0');
	if (store_entry_count(st, f, &count) != RC_OK ||
	    count != (int64_t)total)
		return "ERR";
	return buf;
}

struct set_case {
	const char		*set;		/* selectors or trust domains */
	enum store_match	 match;
	const char		*want;		/* IDs, hand-computed */
};

static void
test_filters(void)
{
	static const struct set_case sel_cases[] = {
		{ "unix:uid:1 unix:gid:2", STORE_MATCH_EXACT, "e02" },
		{ "unix:uid:1 unix:gid:2", STORE_MATCH_SUBSET,
		    "e01,e02,e04" },
		{ "unix:uid:1 unix:gid:2", STORE_MATCH_SUPERSET,
		    "e02,e03,e08" },
		{ "unix:uid:1 unix:gid:2", STORE_MATCH_ANY,
		    "e01,e02,e03,e04,e06,e08,e09,e10" },
		{ "unix:gid:2 unix:uid:1 unix:gid:2", STORE_MATCH_SUPERSET,
		    "e02,e03,e08" },
		{ "k8s:ns:x", STORE_MATCH_EXACT, "" },
		{ "k8s:ns:x", STORE_MATCH_SUBSET, "" },
		{ "k8s:ns:x", STORE_MATCH_SUPERSET, "e03,e05,e06,e08,e09" },
		{ "k8s:ns:x", STORE_MATCH_ANY, "e03,e05,e06,e08,e09" },
		{ "unix:uid:1 unix:gid:2 k8s:ns:x k8s:sa:y",
		    STORE_MATCH_SUBSET,
		    "e01,e02,e03,e04,e05,e06,e07,e08,e09,e10" },
		{ "unix:uid:1 unix:gid:2 k8s:ns:x k8s:sa:y",
		    STORE_MATCH_EXACT, "e08" },
		{ "k8s:sa:y unix:uid:1", STORE_MATCH_SUBSET, "e01,e07,e10" },
		{ "nothing:here", STORE_MATCH_ANY, "" },
	};
	static const struct set_case fed_cases[] = {
		{ "td1 td2", STORE_MATCH_EXACT, "e02" },
		{ "td1 td2", STORE_MATCH_SUBSET, "e01,e02,e03" },
		{ "td1 td2", STORE_MATCH_SUPERSET, "e02,e05" },
		{ "td1 td2", STORE_MATCH_ANY, "e01,e02,e03,e05" },
		{ "td3", STORE_MATCH_EXACT, "e08" },
		{ "td3 td3", STORE_MATCH_SUPERSET, "e05,e08" },
	};
	struct store *st = open_db("filters.db");
	struct store_entry_filter f;
	struct store_selector *sel;
	char **fed, buf[1024], what[160];
	size_t i, n;
	int64_t count;

	load_fixture(st);

	for (i = 0; i < sizeof(sel_cases) / sizeof(sel_cases[0]); i++) {
		f = no_filter();
		sel = make_selectors(sel_cases[i].set, &n);
		f.selectors = sel;
		f.n_selectors = n;
		f.selectors_match = sel_cases[i].match;
		snprintf(what, sizeof(what), "selectors %d of {%s}: %s",
		    (int)sel_cases[i].match, sel_cases[i].set,
		    sel_cases[i].want);
		CHECK(strcmp(filtered(st, &f, 500, buf, sizeof(buf)),
		    sel_cases[i].want) == 0, what);
		snprintf(what, sizeof(what), "selectors %d of {%s} in pages "
		    "of 2", (int)sel_cases[i].match, sel_cases[i].set);
		CHECK(strcmp(filtered(st, &f, 2, buf, sizeof(buf)),
		    sel_cases[i].want) == 0, what);
		free_selectors(sel, n);
	}

	for (i = 0; i < sizeof(fed_cases) / sizeof(fed_cases[0]); i++) {
		f = no_filter();
		fed = split_words(fed_cases[i].set, &n);
		f.federates_with = (const char *const *)fed;
		f.n_federates_with = n;
		f.federates_with_match = fed_cases[i].match;
		snprintf(what, sizeof(what), "federates_with %d of {%s}: %s",
		    (int)fed_cases[i].match, fed_cases[i].set,
		    fed_cases[i].want);
		CHECK(strcmp(filtered(st, &f, 3, buf, sizeof(buf)),
		    fed_cases[i].want) == 0, what);
		free_words(fed, n);
	}

	f = no_filter();
	f.spiffe_id = "S1";
	CHECK(strcmp(filtered(st, &f, 2, buf, sizeof(buf)),
	    "e01,e04,e07") == 0, "spiffe_id filter");
	f = no_filter();
	f.parent_id = "P2";
	CHECK(strcmp(filtered(st, &f, 2, buf, sizeof(buf)),
	    "e04,e05,e06") == 0, "parent_id filter");
	f = no_filter();
	f.hint = "h1";
	CHECK(strcmp(filtered(st, &f, 1, buf, sizeof(buf)), "e07,e08") == 0,
	    "hint filter");
	f = no_filter();
	f.admin = 1;
	CHECK(strcmp(filtered(st, &f, 1, buf, sizeof(buf)), "e05,e08") == 0,
	    "admin = 1 filter");
	f.admin = 0;
	CHECK(strcmp(filtered(st, &f, 3, buf, sizeof(buf)),
	    "e01,e02,e03,e04,e06,e07,e09,e10") == 0, "admin = 0 filter");
	f = no_filter();
	f.downstream = 1;
	CHECK(strcmp(filtered(st, &f, 5, buf, sizeof(buf)), "e06,e08") == 0,
	    "downstream = 1 filter");
	f.admin = 1;
	CHECK(strcmp(filtered(st, &f, 5, buf, sizeof(buf)), "e08") == 0,
	    "downstream and admin together");

	/* Filters combine. */
	f = no_filter();
	f.parent_id = "P1";
	sel = make_selectors("unix:uid:1", &n);
	f.selectors = sel;
	f.n_selectors = n;
	f.selectors_match = STORE_MATCH_ANY;
	CHECK(strcmp(filtered(st, &f, 2, buf, sizeof(buf)),
	    "e01,e02,e03") == 0, "parent_id with selectors any");
	free_selectors(sel, n);
	f = no_filter();
	f.parent_id = "P3";
	fed = split_words("td3", &n);
	f.federates_with = (const char *const *)fed;
	f.n_federates_with = n;
	f.federates_with_match = STORE_MATCH_ANY;
	CHECK(strcmp(filtered(st, &f, 2, buf, sizeof(buf)), "e08") == 0,
	    "parent_id with federates_with any");
	sel = make_selectors("k8s:sa:y", &n);
	f.selectors = sel;
	f.n_selectors = n;
	f.selectors_match = STORE_MATCH_SUPERSET;
	f.hint = "h1";
	f.admin = 1;
	CHECK(strcmp(filtered(st, &f, 2, buf, sizeof(buf)), "e08") == 0,
	    "parent, federates, selectors, hint and admin together");
	free_selectors(sel, 1);
	free_words(fed, 1);

	f = no_filter();
	f.spiffe_id = "nobody";
	CHECK(strcmp(filtered(st, &f, 2, buf, sizeof(buf)), "") == 0,
	    "a filter matching nothing lists nothing");
	CHECK(store_entry_count(st, NULL, &count) == RC_OK && count == 10,
	    "count of all is 10");

	f = no_filter();
	f.admin = 2;
	CHECK(store_entry_count(st, &f, &count) == RC_INTERNAL,
	    "admin = 2 is RC_INTERNAL");
	f = no_filter();
	f.selectors_match = (enum store_match)9;
	CHECK(store_entry_count(st, &f, &count) == RC_INTERNAL,
	    "an unknown match mode is RC_INTERNAL");
	store_close(st);
}

/* ---- the agent sync queries ------------------------------------------- */

static void
test_sync(void)
{
	static const struct {
		const char	*id;
		const char	*parent;
		const char	*selectors;
	} rows[] = {
		{ "a1", SERVER_ID, "join_token:t1" },
		{ "a2", SERVER_ID, "psat:cluster:c1 psat:ns:n1" },
		{ "a3", SERVER_ID, "psat:cluster:c1" },
		{ "a4", SERVER_ID, "psat:cluster:c2" },
		{ "a5", "spiffe://a.test/other", "psat:cluster:c1" },
		{ "b2", "spiffe://a.test/agent/x", "unix:uid:2" },
		{ "b1", "spiffe://a.test/agent/x", "unix:uid:1" },
		{ "b3", "spiffe://a.test/agent/x", "unix:uid:3" },
		{ "c1", "spiffe://a.test/agent/y", "unix:uid:1" },
	};
	struct store *st = open_db("sync.db");
	struct store_entry e, *v = NULL;
	struct store_selector *sel;
	char buf[256], name[64];
	size_t i, n = 0, k;
	int ok = 1;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "spiffe://a.test/%s", rows[i].id);
		set_entry(&e, rows[i].id, name, rows[i].parent,
		    rows[i].selectors);
		if (create_one(st, &e, NULL) != RC_OK)
			ok = 0;
		store_entry_clear(&e);
	}
	CHECK(ok, "sync fixture created");

	CHECK(store_entries_by_parent(st, "spiffe://a.test/agent/x", &v,
	    &n) == RC_OK && strcmp(ids_str(v, n, buf, sizeof(buf)),
	    "b1,b2,b3") == 0, "by_parent: the parent's entries in ID order");
	CHECK(store_entries_by_parent(st, "spiffe://a.test/agent/y", &v,
	    &n) == RC_OK && strcmp(ids_str(v, n, buf, sizeof(buf)),
	    "b1,b2,b3,c1") == 0, "by_parent appends to what is there");
	CHECK(n == 4 && strcmp(v[0].spiffe_id, "spiffe://a.test/b1") == 0 &&
	    v[0].n_selectors == 1 &&
	    strcmp(v[0].selectors[0].value, "uid:1") == 0,
	    "by_parent reads whole entries");
	CHECK(store_entries_by_parent(st, "spiffe://a.test/none", &v, &n) ==
	    RC_OK && n == 4, "by_parent of an unknown parent adds nothing");
	store_entries_free(v, n);
	v = NULL;
	n = 0;

	sel = make_selectors("psat:node:n psat:ns:n1 psat:cluster:c1 "
	    "psat:ns:n1", &k);
	CHECK(store_entries_aliases(st, SERVER_ID, sel, k, &v, &n) ==
	    RC_OK && strcmp(ids_str(v, n, buf, sizeof(buf)), "a2,a3") == 0,
	    "aliases: entries whose every selector the agent has");
	free_selectors(sel, k);
	sel = make_selectors("join_token:t1", &k);
	CHECK(store_entries_aliases(st, SERVER_ID, sel, k, &v, &n) ==
	    RC_OK && strcmp(ids_str(v, n, buf, sizeof(buf)),
	    "a2,a3,a1") == 0, "aliases append: the join token alias");
	free_selectors(sel, k);
	sel = make_selectors("psat:ns:n1", &k);
	CHECK(store_entries_aliases(st, SERVER_ID, sel, k, &v, &n) ==
	    RC_OK && n == 3, "an alias needs all its selectors");
	CHECK(store_entries_aliases(st, SERVER_ID, sel, 0, &v, &n) ==
	    RC_OK && n == 3, "no agent selectors, no aliases");
	free_selectors(sel, k);
	sel = make_selectors("psat:cluster:c1", &k);
	CHECK(store_entries_aliases(st, "spiffe://a.test/other", sel, k, &v,
	    &n) == RC_OK && n == 4 && strcmp(v[3].id, "a5") == 0,
	    "aliases look only under the given server ID");
	free_selectors(sel, k);
	store_entries_free(v, n);
	store_close(st);
}

static void
test_flags(void)
{
	struct store *st = open_db("flags.db");
	struct store_entry e;
	bool admin, down;

	set_entry(&e, "f1", "spiffe://a.test/admin", "P", "t:1");
	e.admin = true;
	(void)create_one(st, &e, NULL);
	store_entry_clear(&e);
	set_entry(&e, "f2", "spiffe://a.test/admin", "P", "t:2");
	e.downstream = true;
	e.expires_at = time(NULL) + 3600;
	(void)create_one(st, &e, NULL);
	store_entry_clear(&e);
	set_entry(&e, "f3", "spiffe://a.test/old", "P", "t:1");
	e.admin = true;
	e.downstream = true;
	e.expires_at = time(NULL) - 1;
	(void)create_one(st, &e, NULL);
	store_entry_clear(&e);

	CHECK(store_entry_flags_for(st, "spiffe://a.test/admin", &admin,
	    &down) == RC_OK && admin && down,
	    "flags gather admin and downstream over the ID's entries");
	CHECK(store_entry_flags_for(st, "spiffe://a.test/old", &admin,
	    &down) == RC_OK && !admin && !down,
	    "an expired entry grants nothing");
	CHECK(store_entry_flags_for(st, "spiffe://a.test/none", &admin,
	    &down) == RC_OK && !admin && !down, "no entry, no flags");
	store_close(st);
}

static void
test_generation(void)
{
	struct store *st = open_db("gen.db"), *other;
	struct store_entry e;
	struct entry_op op;
	uint64_t g0, g1, g2;

	g0 = store_generation(st);
	set_entry(&e, "g1", "spiffe://a.test/g", "P", "t:1");
	CHECK(create_one(st, &e, NULL) == RC_OK, "create for generation");
	g1 = store_generation(st);
	CHECK(g1 > g0, "a committed create raises the generation");
	store_entry_clear(&e);

	set_entry(&e, "g2", "spiffe://a.test/g2", "P", "t:1");
	memset(&op, 0, sizeof(op));
	op.e = &e;
	CHECK(store_write(st, on_create_then_fail, &op) == RC_CONFLICT &&
	    op.rc == RC_OK, "a create that is rolled back");
	CHECK(store_generation(st) == g1,
	    "a rollback leaves the generation alone");
	store_entry_clear(&e);
	CHECK(store_entry_get(st, "g2", &e) == RC_NOT_FOUND,
	    "the rolled-back entry is absent");
	CHECK(store_write(st, on_meta, NULL) == RC_OK &&
	    store_generation(st) == g1,
	    "a write to other tables leaves the generation alone");
	memset(&op, 0, sizeof(op));
	op.id = "g1";
	CHECK(store_write(st, on_delete, &op) == RC_OK &&
	    store_generation(st) > g1, "a delete raises it");
	g2 = store_generation(st);
	store_close(st);

	st = open_db("gen.db");
	CHECK(store_generation(st) > g2,
	    "a reopened store starts at a value never handed out");

	/* A second store on the file stands in for another process. */
	other = open_db("gen.db");
	g0 = store_generation(st);
	set_entry(&e, "g3", "spiffe://a.test/g3", "P", "t:1");
	CHECK(create_one(other, &e, NULL) == RC_OK,
	    "another writer creates an entry");
	store_entry_clear(&e);
	CHECK(store_write(st, on_meta, NULL) == RC_OK &&
	    store_generation(st) > g0,
	    "our next write notices the other writer and raises it");
	store_close(other);
	store_close(st);
}

/* ---- agents ------------------------------------------------------------- */

enum agent_verb { AG_PUT, AG_NEW_SERIAL, AG_PROMOTE, AG_BAN, AG_DELETE,
    AG_PURGE };

struct agent_op {
	enum agent_verb		 verb;
	struct store_agent	*a;		/* put */
	const char		*id;		/* the others */
	const char		*serial;	/* new serial */
	time_t			 t;		/* expiry or cutoff */
	int64_t			 deleted;	/* purge's count */
};

static enum rc
on_agent(struct store_tx *tx, void *arg)
{
	struct agent_op *op = arg;

	switch (op->verb) {
	case AG_PUT:
		return store_agent_put(tx, op->a);
	case AG_NEW_SERIAL:
		return store_agent_set_new_serial(tx, op->id, op->serial,
		    op->t);
	case AG_PROMOTE:
		return store_agent_promote_serial(tx, op->id);
	case AG_BAN:
		return store_agent_ban(tx, op->id);
	case AG_DELETE:
		return store_agent_delete(tx, op->id);
	case AG_PURGE:
		return store_agent_purge(tx, op->t, &op->deleted);
	}
	return RC_INTERNAL;
}

static enum rc
agent_do(struct store *st, enum agent_verb verb, const char *id,
    const char *serial, time_t t)
{
	struct agent_op op;

	memset(&op, 0, sizeof(op));
	op.verb = verb;
	op.id = id;
	op.serial = serial;
	op.t = t;
	return store_write(st, on_agent, &op);
}

/* A fresh agent record (store_agent_clear it). */
static void
set_agent(struct store_agent *a, const char *id, const char *type,
    const char *serial, time_t expires_at, const char *selectors)
{
	memset(a, 0, sizeof(*a));
	a->spiffe_id = xstrdup(id);
	snprintf(a->attestation_type, sizeof(a->attestation_type), "%s",
	    type);
	snprintf(a->serial, sizeof(a->serial), "%s", serial);
	a->expires_at = expires_at;
	a->selectors = make_selectors(selectors, &a->n_selectors);
}

static enum rc
agent_put(struct store *st, struct store_agent *a)
{
	struct agent_op op;

	memset(&op, 0, sizeof(op));
	op.verb = AG_PUT;
	op.a = a;
	return store_write(st, on_agent, &op);
}

static void
test_agents(void)
{
	struct store *st = open_db("agents.db");
	struct store_agent a, got;
	struct agent_op op;
	char db[PATH_MAX], buf[256];
	time_t t0, t1, created;
	uint64_t g;

	path_in(db, sizeof(db), "agents.db");
	set_agent(&a, "spiffe://a.test/agent/1", "join_token", "aa01",
	    1800000000, "join_token:t1 jt:x join_token:t1");
	g = store_generation(st);
	t0 = time(NULL);
	CHECK(agent_put(st, &a) == RC_OK, "put a new agent");
	t1 = time(NULL);
	CHECK(store_generation(st) > g, "an agent put raises the generation");
	CHECK(store_agent_get(st, a.spiffe_id, &got) == RC_OK,
	    "get the agent");
	CHECK(strcmp(got.spiffe_id, "spiffe://a.test/agent/1") == 0 &&
	    strcmp(got.attestation_type, "join_token") == 0 &&
	    strcmp(got.serial, "aa01") == 0 && got.new_serial[0] == '\0' &&
	    got.expires_at == 1800000000 && !got.banned &&
	    got.created_at >= t0 && got.created_at <= t1 &&
	    got.updated_at == got.created_at, "agent fields round-trip");
	CHECK(got.n_selectors == 2 && strcmp(got.selectors[0].type, "join_"
	    "token") == 0 && strcmp(got.selectors[0].value, "t1") == 0 &&
	    strcmp(got.selectors[1].type, "jt") == 0,
	    "agent selectors sorted, repeats dropped");
	created = got.created_at;
	store_agent_clear(&got);
	store_agent_clear(&a);

	/* Re-attestation replaces all but created_at. */
	set_agent(&a, "spiffe://a.test/agent/1", "x509pop", "bb02",
	    1800003600, "x509pop:sn:9");
	a.created_at = 5;
	CHECK(agent_put(st, &a) == RC_OK, "put replaces the agent");
	CHECK(store_agent_get(st, a.spiffe_id, &got) == RC_OK &&
	    strcmp(got.attestation_type, "x509pop") == 0 &&
	    strcmp(got.serial, "bb02") == 0 &&
	    got.expires_at == 1800003600 && got.created_at == created &&
	    got.n_selectors == 1 &&
	    strcmp(got.selectors[0].value, "sn:9") == 0,
	    "replace keeps created_at, replaces the rest");
	store_agent_clear(&got);
	snprintf(buf, sizeof(buf), "SELECT count(*) FROM agent_selectors");
	CHECK(peek_int(db, buf) == 1, "old agent selectors are gone");

	/* Serials. */
	CHECK(agent_do(st, AG_NEW_SERIAL, a.spiffe_id, "cc03", 1800007200) ==
	    RC_OK, "record a renewal");
	CHECK(store_agent_get(st, a.spiffe_id, &got) == RC_OK &&
	    strcmp(got.serial, "bb02") == 0 &&
	    strcmp(got.new_serial, "cc03") == 0 &&
	    got.expires_at == 1800007200,
	    "renewal: old serial current, new one pending");
	store_agent_clear(&got);
	CHECK(agent_do(st, AG_PROMOTE, a.spiffe_id, NULL, 0) == RC_OK,
	    "promote the pending serial");
	CHECK(store_agent_get(st, a.spiffe_id, &got) == RC_OK &&
	    strcmp(got.serial, "cc03") == 0 && got.new_serial[0] == '\0',
	    "promoted: new serial current, none pending");
	store_agent_clear(&got);
	g = store_generation(st);
	CHECK(agent_do(st, AG_PROMOTE, a.spiffe_id, NULL, 0) == RC_OK &&
	    store_generation(st) == g,
	    "promote with nothing pending is a no-op");
	CHECK(agent_do(st, AG_NEW_SERIAL, "spiffe://a.test/none", "dd",
	    1) == RC_NOT_FOUND, "renewal of an unknown agent: RC_NOT_FOUND");
	CHECK(agent_do(st, AG_PROMOTE, "spiffe://a.test/none", NULL, 0) ==
	    RC_NOT_FOUND, "promote of an unknown agent: RC_NOT_FOUND");
	CHECK(agent_do(st, AG_NEW_SERIAL, a.spiffe_id, "", 1) == RC_INTERNAL,
	    "an empty serial is RC_INTERNAL");

	/* Ban. */
	CHECK(agent_do(st, AG_BAN, a.spiffe_id, NULL, 0) == RC_OK, "ban");
	CHECK(store_agent_get(st, a.spiffe_id, &got) == RC_OK && got.banned,
	    "the agent is banned");
	store_agent_clear(&got);
	CHECK(agent_put(st, &a) == RC_DENIED,
	    "put over a banned agent is RC_DENIED");
	CHECK(store_agent_get(st, a.spiffe_id, &got) == RC_OK && got.banned &&
	    strcmp(got.serial, "cc03") == 0,
	    "the refused put changed nothing");
	store_agent_clear(&got);
	CHECK(agent_do(st, AG_NEW_SERIAL, a.spiffe_id, "ee", 1) == RC_DENIED,
	    "renewal of a banned agent is RC_DENIED");
	CHECK(agent_do(st, AG_PROMOTE, a.spiffe_id, NULL, 0) == RC_DENIED,
	    "promote of a banned agent is RC_DENIED");
	CHECK(agent_do(st, AG_BAN, "spiffe://a.test/none", NULL, 0) ==
	    RC_NOT_FOUND, "ban of an unknown agent: RC_NOT_FOUND");

	/* Delete (evict). */
	CHECK(agent_do(st, AG_DELETE, "spiffe://a.test/none", NULL, 0) ==
	    RC_NOT_FOUND, "delete of an unknown agent: RC_NOT_FOUND");
	CHECK(agent_do(st, AG_DELETE, a.spiffe_id, NULL, 0) == RC_OK,
	    "delete the banned agent");
	CHECK(store_agent_get(st, a.spiffe_id, &got) == RC_NOT_FOUND,
	    "deleted agent is gone");
	CHECK(peek_int(db, "SELECT count(*) FROM agent_selectors") == 0,
	    "its selectors went with it");
	CHECK(agent_put(st, &a) == RC_OK, "an evicted agent may attest again");
	store_agent_clear(&a);

	/* A record without an attestation type is a caller bug. */
	set_agent(&a, "spiffe://a.test/agent/2", "", "01", 1, "");
	CHECK(agent_put(st, &a) == RC_INTERNAL,
	    "agent without an attestation type is RC_INTERNAL");
	store_agent_clear(&a);

	/* Purge. */
	set_agent(&a, "spiffe://a.test/p1", "join_token", "1", 100, "");
	(void)agent_put(st, &a);
	store_agent_clear(&a);
	set_agent(&a, "spiffe://a.test/p2", "join_token", "2", 200, "j:2");
	(void)agent_put(st, &a);
	store_agent_clear(&a);
	set_agent(&a, "spiffe://a.test/p3", "join_token", "3", 210, "");
	(void)agent_put(st, &a);
	store_agent_clear(&a);
	(void)agent_do(st, AG_BAN, "spiffe://a.test/p3", NULL, 0);
	set_agent(&a, "spiffe://a.test/p4", "join_token", "4", 250, "");
	(void)agent_put(st, &a);
	store_agent_clear(&a);
	memset(&op, 0, sizeof(op));
	op.verb = AG_PURGE;
	op.t = 250;
	CHECK(store_write(st, on_agent, &op) == RC_OK && op.deleted == 2,
	    "purge before 250 deletes two");
	CHECK(store_agent_get(st, "spiffe://a.test/p1", &got) ==
	    RC_NOT_FOUND && store_agent_get(st, "spiffe://a.test/p2", &got) ==
	    RC_NOT_FOUND, "purge took the expired agents");
	CHECK(store_agent_get(st, "spiffe://a.test/p3", &got) == RC_OK,
	    "purge keeps a banned agent");
	store_agent_clear(&got);
	CHECK(store_agent_get(st, "spiffe://a.test/p4", &got) == RC_OK,
	    "purge keeps an agent expiring at the cutoff");
	store_agent_clear(&got);
	store_close(st);
}

/* All agents matching f in pages of page_size, as "id,id" suffixes. */
static const char *
agents_listed(struct store *st, const struct store_agent_filter *f,
    size_t page_size, char *buf, size_t len)
{
	struct store_agent *v;
	char token[SPIFFEID_MAX + 1];
	size_t n, i, used = 0, total = 0;
	int64_t count;
	int w;

	buf[0] = '\0';
	token[0] = '\0';
	do {
		if (store_agent_list(st, f, token, page_size, &v, &n, token,
		    sizeof(token)) != RC_OK)
			return "ERR";
		for (i = 0; i < n; i++) {
			w = snprintf(buf + used, len - used, "%s%s",
			    used == 0 ? "" : ",",
			    strrchr(v[i].spiffe_id, '/') + 1);
			if (w < 0 || (size_t)w >= len - used)
				abort();
			used += (size_t)w;
		}
		if (token[0] != '\0' && (n != page_size ||
		    strcmp(token, v[n - 1].spiffe_id) != 0))
			used = 0;
		total += n;
		store_agents_free(v, n);
	} while (token[0] != '\0');
	if (store_agent_count(st, f, &count) != RC_OK ||
	    count != (int64_t)total)
		return "ERR";
	return buf;
}

static void
test_agent_lists(void)
{
	struct store *st = open_db("agent_list.db");
	struct store_agent_filter f;
	struct store_agent a, *v;
	char id[64], buf[512], small[8];
	size_t i, n;
	int ok = 1;

	for (i = 0; i < 12; i++) {
		snprintf(id, sizeof(id), "spiffe://a.test/agent/n%02zu", i);
		set_agent(&a, id, i % 3 == 0 ? "x509pop" : "join_token",
		    "01", 2000000000, "s:1");
		if (agent_put(st, &a) != RC_OK)
			ok = 0;
		if (i % 4 == 1 && agent_do(st, AG_BAN, id, NULL, 0) != RC_OK)
			ok = 0;
		store_agent_clear(&a);
	}
	CHECK(ok, "12 agents, three banned");

	CHECK(strcmp(agents_listed(st, NULL, 5, buf, sizeof(buf)),
	    "n00,n01,n02,n03,n04,n05,n06,n07,n08,n09,n10,n11") == 0,
	    "agents in pages of 5: each once, in order");
	memset(&f, 0, sizeof(f));
	f.banned = -1;
	f.attestation_type = "x509pop";
	CHECK(strcmp(agents_listed(st, &f, 2, buf, sizeof(buf)),
	    "n00,n03,n06,n09") == 0, "filter by attestation type");
	f.attestation_type = NULL;
	f.banned = 1;
	CHECK(strcmp(agents_listed(st, &f, 2, buf, sizeof(buf)),
	    "n01,n05,n09") == 0, "filter banned = 1");
	f.banned = 0;
	f.attestation_type = "x509pop";
	CHECK(strcmp(agents_listed(st, &f, 1, buf, sizeof(buf)),
	    "n00,n03,n06") == 0, "filter banned = 0 and attestation type");
	f.banned = -1;
	f.attestation_type = NULL;
	f.spiffe_id = "spiffe://a.test/agent/n07";
	CHECK(strcmp(agents_listed(st, &f, 3, buf, sizeof(buf)), "n07") == 0,
	    "filter by SPIFFE ID");
	f.spiffe_id = NULL;
	f.banned = 3;
	CHECK(store_agent_list(st, &f, NULL, 5, &v, &n, buf, sizeof(buf)) ==
	    RC_INTERNAL, "banned = 3 is RC_INTERNAL");
	CHECK(store_agent_list(st, NULL, NULL, 5, &v, &n, small,
	    sizeof(small)) == RC_INTERNAL && small[0] == '\0' && n == 0 &&
	    v == NULL, "a token buffer too small is RC_INTERNAL, not cut");
	CHECK(store_agent_list(st, NULL, NULL, 0, &v, &n, buf, sizeof(buf)) ==
	    RC_INTERNAL, "agent page size 0 is RC_INTERNAL");
	store_close(st);
}

/* ---- join tokens -------------------------------------------------------- */

struct token_op {
	unsigned char	 hash[STORE_TOKEN_HASH_LEN];
	const char	*token_id;	/* put */
	time_t		 t;		/* expiry, now or cutoff */
	char		 got_id[STORE_TOKEN_ID_MAX + 1];
	struct rc_why	 why;
	int64_t		 deleted;
	bool		 fail_after;	/* use, then roll back */
	struct store	*st;		/* racers */
	enum rc		 rc;		/* racers */
};

static enum rc
on_token_put(struct store_tx *tx, void *arg)
{
	struct token_op *op = arg;

	return store_token_put(tx, op->hash, op->token_id, op->t);
}

static enum rc
on_token_use(struct store_tx *tx, void *arg)
{
	struct token_op *op = arg;
	enum rc rc;

	rc = store_token_use(tx, op->hash, op->t, op->got_id, &op->why);
	if (rc == RC_OK && op->fail_after)
		return RC_INTERNAL;
	return rc;
}

static enum rc
on_token_prune(struct store_tx *tx, void *arg)
{
	struct token_op *op = arg;

	return store_token_prune(tx, op->t, &op->deleted);
}

/* A token op for the hash of the word w. */
static void
token_op(struct token_op *op, const char *w, const char *id, time_t t)
{
	memset(op, 0, sizeof(*op));
	crypto_generichash(op->hash, sizeof(op->hash),
	    (const unsigned char *)w, strlen(w), NULL, 0);
	op->token_id = id;
	op->t = t;
}

static void *
run_racer(void *p)
{
	struct token_op *op = p;

	op->rc = store_write(op->st, on_token_use, op);
	return NULL;
}

static void
test_tokens(void)
{
	struct store *st = open_db("tokens.db");
	struct token_op op, race[RACERS];
	pthread_t t[RACERS];
	char long_id[STORE_TOKEN_ID_MAX + 2];
	int i, wins = 0, used = 0;

	token_op(&op, "secret-1", "tok-1", 2000);
	CHECK(store_write(st, on_token_put, &op) == RC_OK, "put a token");
	CHECK(store_write(st, on_token_put, &op) == RC_CONFLICT,
	    "the same hash again is RC_CONFLICT");
	token_op(&op, "secret-other", "tok-1", 2000);
	CHECK(store_write(st, on_token_put, &op) == RC_CONFLICT,
	    "the same token ID again is RC_CONFLICT");
	op.token_id = "";
	CHECK(store_write(st, on_token_put, &op) == RC_BAD_REQUEST,
	    "an empty token ID is RC_BAD_REQUEST");
	memset(long_id, 'k', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	op.token_id = long_id;
	CHECK(store_write(st, on_token_put, &op) == RC_BAD_REQUEST,
	    "a 65-byte token ID is RC_BAD_REQUEST");

	/* A use rolled back leaves the token unused. */
	token_op(&op, "secret-1", NULL, 1999);
	op.fail_after = true;
	CHECK(store_write(st, on_token_use, &op) == RC_INTERNAL,
	    "a use inside a failed transaction");
	op.fail_after = false;
	CHECK(store_write(st, on_token_use, &op) == RC_OK &&
	    strcmp(op.got_id, "tok-1") == 0,
	    "first use succeeds and gives the token ID");
	CHECK(store_write(st, on_token_use, &op) == RC_UNAUTHENTICATED &&
	    op.why.code == RC_UNAUTHENTICATED &&
	    strcmp(op.why.detail, "token already used") == 0 &&
	    strcmp(op.why.field, "join_token") == 0 && op.got_id[0] == '\0',
	    "second use: \"token already used\"");

	token_op(&op, "secret-2", "tok-2", 3000);
	CHECK(store_write(st, on_token_put, &op) == RC_OK,
	    "put a token expiring at 3000");
	op.t = 3000;
	CHECK(store_write(st, on_token_use, &op) == RC_UNAUTHENTICATED &&
	    strcmp(op.why.detail, "token expired") == 0,
	    "use at its expiry: \"token expired\"");
	op.t = 2999;
	CHECK(store_write(st, on_token_use, &op) == RC_OK &&
	    strcmp(op.got_id, "tok-2") == 0, "use a second before expiry");
	token_op(&op, "never-issued", NULL, 1);
	CHECK(store_write(st, on_token_use, &op) == RC_UNAUTHENTICATED &&
	    strcmp(op.why.detail, "unknown token") == 0,
	    "unknown hash: \"unknown token\"");

	/* Eight threads race for one token. */
	token_op(&op, "contested", "tok-race", 9000);
	CHECK(store_write(st, on_token_put, &op) == RC_OK,
	    "put the contested token");
	for (i = 0; i < RACERS; i++) {
		token_op(&race[i], "contested", NULL, 100);
		race[i].st = st;
		if (pthread_create(&t[i], NULL, run_racer, &race[i]) != 0)
			abort();
	}
	for (i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		if (race[i].rc == RC_OK &&
		    strcmp(race[i].got_id, "tok-race") == 0)
			wins++;
		else if (race[i].rc == RC_UNAUTHENTICATED &&
		    strcmp(race[i].why.detail, "token already used") == 0)
			used++;
	}
	CHECK(wins == 1 && used == RACERS - 1,
	    "8 racers on one token: exactly one wins, 7 see it used");

	token_op(&op, "", NULL, 2500);
	CHECK(store_write(st, on_token_prune, &op) == RC_OK &&
	    op.deleted == 1, "prune before 2500 deletes the one at 2000");
	token_op(&op, "secret-1", NULL, 1);
	CHECK(store_write(st, on_token_use, &op) == RC_UNAUTHENTICATED &&
	    strcmp(op.why.detail, "unknown token") == 0,
	    "a pruned token is unknown");
	store_close(st);
}

/* ---- backup ------------------------------------------------------------- */

static void
test_backup(void)
{
	struct store *st = open_db("backup-src.db"), *copy;
	struct store_entry e, *v = NULL, *w = NULL;
	struct rc_why why;
	struct stat sb;
	char src[PATH_MAX], dst[PATH_MAX], tok[STORE_ENTRY_ID_MAX + 1];
	char a[PATH_MAX + 64], b[PATH_MAX + 64];
	size_t i, n = 0, m = 0;
	int ok = 1;

	path_in(src, sizeof(src), "backup-src.db");
	path_in(dst, sizeof(dst), "backup-copy.db");
	for (i = 0; i < 20; i++) {
		snprintf(a, sizeof(a), "spiffe://a.test/b/%zu", i);
		set_entry(&e, "", a, "spiffe://a.test/p", "t:1 u:2");
		e.dns_names = split_words("x.a.test", &e.n_dns_names);
		if (create_one(st, &e, NULL) != RC_OK)
			ok = 0;
		store_entry_clear(&e);
	}
	CHECK(ok, "20 entries to back up");

	/* The server's store stays open: the copy is taken live. */
	CHECK(store_backup(src, dst, &why) == RC_OK, "backup succeeds");
	CHECK(stat(dst, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	    "backup file is mode 0600");
	copy = open_db("backup-copy.db");
	CHECK(store_entry_list(st, NULL, NULL, 100, &v, &n, tok) == RC_OK &&
	    store_entry_list(copy, NULL, NULL, 100, &w, &m, tok) == RC_OK &&
	    n == 20 && m == 20, "the copy opens and lists 20 entries");
	for (i = 0; i < n && i < m; i++)
		if (!same_entry(&v[i], &w[i]))
			ok = 0;
	CHECK(ok, "the copy's entries equal the source's in every field");
	store_entries_free(v, n);
	store_entries_free(w, m);
	store_close(copy);

	CHECK(store_backup(src, dst, &why) == RC_CONFLICT &&
	    why.code == RC_CONFLICT && strcmp(why.field, "dest") == 0,
	    "an existing destination is RC_CONFLICT");
	snprintf(b, sizeof(b), "cannot create backup \"%s\": File exists",
	    dst);
	CHECK(strcmp(why.detail, b) == 0, "conflict detail names the file");
	path_in(a, sizeof(a), "no/such/source.db");
	path_in(b, sizeof(b), "backup-2.db");
	CHECK(store_backup(a, b, &why) == RC_IO && why.code == RC_IO &&
	    strcmp(why.field, "db_path") == 0 && access(b, F_OK) != 0,
	    "a missing source is RC_IO and makes no file");
	store_close(st);
}

/* ---- scale (reported, not asserted) ------------------------------------ */

struct scale_batch {
	size_t	 from;		/* first index */
	size_t	 n;		/* entries in this transaction */
};

static enum rc
on_scale_batch(struct store_tx *tx, void *arg)
{
	struct scale_batch *b = arg;
	struct store_entry e;
	struct rc_why why;
	char id[64], sel[128], parent[64];
	enum rc rc;
	size_t i, k;

	for (i = 0; i < b->n; i++) {
		k = b->from + i;
		snprintf(id, sizeof(id), "spiffe://a.test/w/%zu", k);
		snprintf(parent, sizeof(parent), "spiffe://a.test/agent/%zu",
		    k % 1000);
		snprintf(sel, sizeof(sel), "unix:uid:%zu k8s:ns:%zu "
		    "k8s:sa:%zu", k, k % 100, k % 997);
		set_entry(&e, "", id, parent, sel);
		rc = store_entry_create(tx, &e, &why);
		store_entry_clear(&e);
		if (rc != RC_OK)
			return rc;
	}
	return RC_OK;
}

/* CPU time of this process (user + system) in ms. */
static double
cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0.0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double
since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
test_scale(void)
{
	struct store *st = open_db("scale.db");
	struct store_entry_filter f;
	struct store_selector *sel;
	struct store_entry *v = NULL;
	struct scale_batch b;
	struct timespec t0;
	char tok[STORE_ENTRY_ID_MAX + 1];
	const char *env;
	size_t total = 100000, n, k;
	double ms, cpu;
	int ok = 1;

	env = getenv("SVIDCA_SCALE_ENTRIES");
	if (env != NULL)
		total = (size_t)strtoul(env, NULL, 10);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cpu = cpu_ms();
	for (b.from = 0; b.from < total; b.from += b.n) {
		b.n = total - b.from < 1000 ? total - b.from : 1000;
		if (store_write(st, on_scale_batch, &b) != RC_OK) {
			ok = 0;
			break;
		}
	}
	ms = since(&t0);
	cpu = cpu_ms() - cpu;
	CHECK(ok, "scale: entries inserted in batches of 1000");
	printf("# scale: %zu entries in %.0f ms (%.0f entries/s), %.0f ms of "
	    "CPU\n", total, ms, ms > 0 ? (double)total * 1000.0 / ms : 0.0,
	    cpu);

	f = no_filter();
	sel = make_selectors("k8s:ns:7 k8s:sa:70", &k);
	f.selectors = sel;
	f.n_selectors = k;
	f.selectors_match = STORE_MATCH_SUPERSET;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok = store_entry_list(st, &f, NULL, 100, &v, &n, tok) == RC_OK;
	ms = since(&t0);
	store_entries_free(v, n);
	printf("# scale: superset selector list, %zu rows, %.2f ms\n", n, ms);
	f.selectors_match = STORE_MATCH_ANY;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok = ok && store_entry_list(st, &f, NULL, 100, &v, &n, tok) == RC_OK;
	ms = since(&t0);
	store_entries_free(v, n);
	printf("# scale: any-of-2 selector list page, %zu rows, %.2f ms\n", n,
	    ms);
	free_selectors(sel, k);

	f = no_filter();
	f.parent_id = "spiffe://a.test/agent/7";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok = ok && store_entry_list(st, &f, NULL, 50, &v, &n, tok) == RC_OK;
	ms = since(&t0);
	store_entries_free(v, n);
	printf("# scale: parent_id list page, %zu rows, %.2f ms\n", n, ms);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok = ok && store_entry_list(st, NULL, "8", 500, &v, &n, tok) == RC_OK;
	ms = since(&t0);
	store_entries_free(v, n);
	printf("# scale: unfiltered page of 500 after a token, %.2f ms\n", ms);

	v = NULL;
	n = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok = ok && store_entries_by_parent(st, "spiffe://a.test/agent/9", &v,
	    &n) == RC_OK;
	ms = since(&t0);
	store_entries_free(v, n);
	printf("# scale: by_parent, %zu rows, %.2f ms\n", n, ms);
	CHECK(ok, "scale: the timed queries answered");
	store_close(st);
}

/* ---- main --------------------------------------------------------------- */

/* Remove every file in dir, then dir. */
static void
remove_all(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

int
main(void)
{
	if (sodium_init() < 0 || mkdtemp(dir) == NULL) {
		printf("Bail out! cannot set up: %s\n", strerror(errno));
		return 1;
	}

	test_round_trip();
	test_ids();
	test_duplicates();
	test_refusals();
	test_pages();
	test_filters();
	test_sync();
	test_flags();
	test_generation();
	test_agents();
	test_agent_lists();
	test_tokens();
	test_backup();
	test_scale();

	remove_all();
	return check_done();
}
