/*
 * test_store.c: the SQLite store on a scratch database under /tmp.
 *
 * The audit chain is checked by recomputing every hash here from the
 * rows alone, with the encoding written out again (not shared with
 * store.c), so a change to either side shows up as a mismatch.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "../../server/log.h"
#include "../../server/rc.h"
#include "../../store/store.h"
#include "check.h"

#define HASH_LEN	32
#define WRITERS		4
#define WRITES_EACH	200
#define READERS		2

static char dir[] = "/tmp/svidca-store-XXXXXX";

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

/* Run one SQL query returning one text value on a separate handle. */
static int
peek_text(const char *db, const char *sql, char *out, size_t len)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	int ok = 0;

	out[0] = '\0';
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(s) != SQLITE_ROW)
		goto out;
	snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
	ok = 1;
out:
	sqlite3_finalize(s);
	sqlite3_close(h);
	return ok;
}

/*
 * Run SQL statements on a separate handle (creating the file if need be);
 * SQLite's extended result code.
 */
static int
poke(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	int err;

	err = sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL);
	if (err == SQLITE_OK) {
		sqlite3_extended_result_codes(h, 1);
		sqlite3_busy_timeout(h, 5000);
		err = sqlite3_exec(h, sql, NULL, NULL, NULL);
	}
	sqlite3_close(h);
	return err;
}

/* ---- independent chain verifier -------------------------------------- */

static size_t
put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	return 8;
}

/*
 * Recompute the chain of db from its rows.  Returns the number of rows
 * whose seq, prev_hash or hash is wrong (0 is good); *rows gets the row
 * count and last (if not NULL) the head hash.
 */
static int
verify_chain(const char *db, int64_t *rows, unsigned char *last)
{
	unsigned char prev[HASH_LEN], want[HASH_LEN];
	unsigned char *buf = NULL;
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	int64_t expect = 1;
	int bad = 0, i;

	*rows = 0;
	memset(prev, 0, sizeof(prev));
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, "SELECT seq, at, actor, action, subject,"
	    " outcome, serial, entry_id, detail, prev_hash, hash FROM audit"
	    " ORDER BY seq", -1, &s, NULL) != SQLITE_OK) {
		bad = -1;
		goto out;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		size_t n = 0, cap = HASH_LEN + 16;

		for (i = 2; i <= 8; i++)
			cap += 8 + (size_t)sqlite3_column_bytes(s, i);
		free(buf);
		buf = malloc(cap);
		if (buf == NULL)
			abort();
		memcpy(buf, prev, HASH_LEN);
		n = HASH_LEN;
		n += put_be64(buf + n, (uint64_t)sqlite3_column_int64(s, 0));
		n += put_be64(buf + n, (uint64_t)sqlite3_column_int64(s, 1));
		for (i = 2; i <= 8; i++) {
			size_t l = (size_t)sqlite3_column_bytes(s, i);

			n += put_be64(buf + n, l);
			memcpy(buf + n, sqlite3_column_text(s, i), l);
			n += l;
		}
		crypto_generichash(want, HASH_LEN, buf, n, NULL, 0);

		if (sqlite3_column_int64(s, 0) != expect ||
		    sqlite3_column_bytes(s, 9) != HASH_LEN ||
		    memcmp(sqlite3_column_blob(s, 9), prev, HASH_LEN) != 0 ||
		    sqlite3_column_bytes(s, 10) != HASH_LEN ||
		    memcmp(sqlite3_column_blob(s, 10), want, HASH_LEN) != 0)
			bad++;
		memcpy(prev, want, HASH_LEN);
		expect++;
		(*rows)++;
	}
	if (last != NULL)
		memcpy(last, prev, HASH_LEN);
out:
	free(buf);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return bad;
}

/* Is head_hex the hex of hash? */
static int
same_hex(const char *head_hex, const unsigned char *hash)
{
	char hex[HASH_LEN * 2 + 1];

	sodium_bin2hex(hex, sizeof(hex), hash, HASH_LEN);
	return strcmp(hex, head_hex) == 0;
}

/* ---- write callbacks ---------------------------------------------------- */

struct audit_batch {
	int		 n;		/* records to append */
	int		 base;		/* numbering of the first */
	int64_t		 last_seq;	/* out: seq of the last one */
};

static enum rc
on_append(struct store_tx *tx, void *arg)
{
	struct audit_batch *b = arg;
	struct store_audit r;
	char subject[64], serial[32];
	enum rc rc;
	int i;

	for (i = 0; i < b->n; i++) {
		int k = b->base + i;

		snprintf(subject, sizeof(subject),
		    "spiffe://a.test/workload/%d", k);
		snprintf(serial, sizeof(serial), "%08x", (unsigned)k * 7919u);
		memset(&r, 0, sizeof(r));
		r.at = k % 3 == 0 ? 0 : 1700000000 + k;
		r.actor = k % 2 == 0 ? "server" : "uid:1000";
		r.action = "svid.x509";
		r.subject = subject;
		r.outcome = k % 5 == 0 ? "denied" : "ok";
		r.serial = k % 4 == 0 ? NULL : serial;
		r.entry_id = k % 6 == 0 ? "entry-1" : NULL;
		r.detail = k % 7 == 0 ? "{\"note\":\"caf\xc3\xa9\"}" : NULL;
		rc = store_audit_append(tx, &r, &b->last_seq);
		if (rc != RC_OK)
			return rc;
	}
	return RC_OK;
}

/* Append, change meta and insert an authority, then fail. */
static enum rc
on_fail_late(struct store_tx *tx, void *arg)
{
	struct store_authority a;
	struct audit_batch b = { 3, 9000, 0 };
	enum rc rc;

	(void)arg;
	rc = on_append(tx, &b);
	if (rc != RC_OK)
		return RC_INTERNAL;
	if (store_meta_set(tx, "rolled", "back") != RC_OK)
		return RC_INTERNAL;
	memset(&a, 0, sizeof(a));
	a.der = (unsigned char *)"x";
	a.der_len = 1;
	if (store_authority_insert(tx, &a) != RC_OK)
		return RC_INTERNAL;
	return RC_CONFLICT;
}

/* A database failure that the callback swallows. */
static enum rc
on_ignore_failure(struct store_tx *tx, void *arg)
{
	struct audit_batch b = { 1, 7000, 0 };
	enum rc *seen = arg;

	if (on_append(tx, &b) != RC_OK)
		return RC_INTERNAL;
	*seen = store_meta_set(tx, "boom", "x");
	return RC_OK;
}

static enum rc
on_meta_set(struct store_tx *tx, void *arg)
{
	const char **kv = arg;

	return store_meta_set(tx, kv[0], kv[1]);
}

struct reentry {
	struct store	*st;
	enum rc		 inner;
};

static enum rc
on_noop(struct store_tx *tx, void *arg)
{
	(void)tx;
	(void)arg;
	return RC_OK;
}

static enum rc
on_reenter(struct store_tx *tx, void *arg)
{
	struct reentry *r = arg;

	(void)tx;
	r->inner = store_write(r->st, on_noop, NULL);
	return RC_OK;
}

struct auth_op {
	struct store_authority	*a;
	int64_t			 id;
};

static enum rc
on_auth_insert(struct store_tx *tx, void *arg)
{
	struct auth_op *op = arg;

	return store_authority_insert(tx, op->a);
}

static enum rc
on_auth_update(struct store_tx *tx, void *arg)
{
	struct auth_op *op = arg;

	return store_authority_update(tx, op->a);
}

static enum rc
on_auth_delete(struct store_tx *tx, void *arg)
{
	struct auth_op *op = arg;

	return store_authority_delete(tx, op->id);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_open(void)
{
	struct store *st = NULL;
	struct rc_why why;
	struct stat sb;
	char db[PATH_MAX], buf[256];

	path_in(db, sizeof(db), "open.db");
	CHECK(store_open(db, &st, &why) == RC_OK, "open creates a database");
	CHECK(st != NULL, "open hands back a store");
	CHECK(stat(db, &sb) == 0, "database file exists");
	CHECK((sb.st_mode & 0777) == 0600, "database file is mode 0600");

	CHECK(peek_text(db, "PRAGMA journal_mode", buf, sizeof(buf)) &&
	    strcmp(buf, "wal") == 0, "journal mode is wal");
	CHECK(peek_text(db, "PRAGMA user_version", buf, sizeof(buf)) &&
	    strcmp(buf, "3") == 0, "user_version is 3");
	CHECK(peek_text(db, "SELECT group_concat(name, ',') FROM (SELECT name"
	    " FROM sqlite_master WHERE type = 'table' ORDER BY name)", buf,
	    sizeof(buf)) && strcmp(buf, "agent_selectors,agents,audit,"
	    "audit_checkpoints,authorities,entries,entry_dns,entry_federates,"
	    "entry_selectors,join_tokens,meta") == 0,
	    "migrations 1 to 3 made every table");
	CHECK(peek_text(db, "SELECT count(*) FROM sqlite_master WHERE type ="
	    " 'index' AND tbl_name = 'audit' AND name LIKE 'audit_%'", buf,
	    sizeof(buf)) && strcmp(buf, "5") == 0,
	    "audit has its five indexes");
	CHECK(poke(db, "INSERT INTO authorities (kind, state, not_before,"
	    " not_after, created_at, key_ref, kid, der) VALUES ('rsa',"
	    " 'active', 0, 0, 0, '', '', x'00')") == SQLITE_CONSTRAINT_CHECK,
	    "schema refuses an unknown authority kind");
	CHECK(poke(db, "INSERT INTO authorities (kind, state, not_before,"
	    " not_after, created_at, key_ref, kid, der) VALUES ('x509',"
	    " 'revoked', 0, 0, 0, '', '', x'00')") == SQLITE_CONSTRAINT_CHECK,
	    "schema refuses an unknown authority state");
	store_close(st);

	/* Reopening applies nothing twice. */
	st = NULL;
	CHECK(store_open(db, &st, &why) == RC_OK, "reopen succeeds");
	CHECK(peek_text(db, "PRAGMA user_version", buf, sizeof(buf)) &&
	    strcmp(buf, "3") == 0, "user_version still 3 after reopen");
	store_close(st);
	store_close(NULL);
}

static void
test_too_new(void)
{
	struct store *st = (struct store *)&st;
	struct rc_why why;
	char db[PATH_MAX], buf[64];

	path_in(db, sizeof(db), "new.db");
	CHECK(poke(db, "CREATE TABLE t (x); PRAGMA user_version = 99;") ==
	    SQLITE_OK, "made a database with user_version 99");
	CHECK(store_open(db, &st, &why) == RC_CONFLICT,
	    "a newer schema is refused with RC_CONFLICT");
	CHECK(st == NULL, "no store handed back");
	CHECK(why.code == RC_CONFLICT, "why carries RC_CONFLICT");
	CHECK(why.rule != NULL && strcmp(why.rule, "DESIGN.md Store") == 0,
	    "why names the rule");
	CHECK(why.field != NULL && strcmp(why.field, "data_dir") == 0,
	    "why names the field");
	CHECK(strcmp(why.detail, "database schema version 99 is newer than "
	    "version 3, the newest this server knows") == 0,
	    "detail names both versions");
	CHECK(peek_text(db, "PRAGMA user_version", buf, sizeof(buf)) &&
	    strcmp(buf, "99") == 0, "refused database keeps its version");
	CHECK(peek_text(db, "PRAGMA journal_mode", buf, sizeof(buf)) &&
	    strcmp(buf, "delete") == 0, "refused database keeps its journal");

	path_in(db, sizeof(db), "no/such/dir/x.db");
	st = (struct store *)&st;
	CHECK(store_open(db, &st, &why) == RC_IO,
	    "a path in a missing directory is RC_IO");
	CHECK(st == NULL, "no store handed back on RC_IO");
}

/*
 * A file left at schema version 1 gains the tables of version 2.  The
 * version 1 file is made by the store itself and stripped back, so the
 * test does not carry a second copy of migration 1.
 */
static void
test_upgrade(void)
{
	struct store *st = NULL;
	struct rc_why why;
	char db[PATH_MAX], buf[64];
	bool found;

	path_in(db, sizeof(db), "v1.db");
	if (store_open(db, &st, &why) != RC_OK ||
	    store_check_td(st, "a.test", &why) != RC_OK) {
		CHECK(0, "open v1.db");
		store_close(st);
		return;
	}
	store_close(st);
	st = NULL;
	CHECK(poke(db, "DROP TABLE entry_selectors; DROP TABLE entry_dns;"
	    " DROP TABLE entry_federates; DROP TABLE entries;"
	    " DROP TABLE agent_selectors; DROP TABLE agents;"
	    " DROP TABLE join_tokens; DROP TABLE audit_checkpoints;"
	    " PRAGMA user_version = 1;") ==
	    SQLITE_OK, "stripped a database back to schema version 1");
	CHECK(peek_text(db, "SELECT count(*) FROM sqlite_master WHERE name"
	    " IN ('entries', 'agents', 'join_tokens')", buf, sizeof(buf)) &&
	    strcmp(buf, "0") == 0, "version 1 has no entries table");
	CHECK(store_open(db, &st, &why) == RC_OK, "open upgrades it");
	CHECK(peek_text(db, "PRAGMA user_version", buf, sizeof(buf)) &&
	    strcmp(buf, "3") == 0, "upgraded to user_version 3");
	CHECK(peek_text(db, "SELECT count(*) FROM sqlite_master WHERE name"
	    " IN ('entries', 'agents', 'join_tokens')", buf, sizeof(buf)) &&
	    strcmp(buf, "3") == 0, "migration 2 added its tables");
	CHECK(store_meta_get(st, "trust_domain", buf, sizeof(buf), &found) ==
	    RC_OK && found && strcmp(buf, "a.test") == 0,
	    "rows of version 1 survive the upgrade");
	store_close(st);
}

static void
test_td(void)
{
	struct store *st = NULL;
	struct rc_why why;
	char db[PATH_MAX], val[300], big[400];
	bool found;

	path_in(db, sizeof(db), "td.db");
	if (store_open(db, &st, &why) != RC_OK) {
		CHECK(0, "open td.db");
		return;
	}
	CHECK(store_meta_get(st, "trust_domain", val, sizeof(val), &found) ==
	    RC_OK && !found, "no trust domain before the first check");
	CHECK(store_check_td(st, "a.test", &why) == RC_OK,
	    "first trust domain is recorded");
	CHECK(store_meta_get(st, "trust_domain", val, sizeof(val), &found) ==
	    RC_OK && found && strcmp(val, "a.test") == 0,
	    "trust domain is in meta");
	CHECK(store_check_td(st, "a.test", &why) == RC_OK,
	    "same trust domain is accepted");
	CHECK(store_check_td(st, "b.test", &why) == RC_CONFLICT,
	    "another trust domain is RC_CONFLICT");
	CHECK(why.code == RC_CONFLICT && why.field != NULL &&
	    strcmp(why.field, "trust_domain") == 0 && why.rule != NULL &&
	    strcmp(why.rule, "DESIGN.md The rules of the trust domain") == 0,
	    "td conflict names field and rule");
	CHECK(strcmp(why.detail, "data dir belongs to trust domain "
	    "\"a.test\", not \"b.test\"") == 0, "td conflict detail is exact");
	CHECK(store_meta_get(st, "trust_domain", val, sizeof(val), &found) ==
	    RC_OK && found && strcmp(val, "a.test") == 0,
	    "refused td left the record alone");

	CHECK(store_check_td(st, "", &why) == RC_BAD_REQUEST &&
	    strcmp(why.rule, "SPIFFE-ID 2.1") == 0 &&
	    strcmp(why.detail, "trust domain is empty") == 0,
	    "empty td is RC_BAD_REQUEST");
	memset(big, 'a', sizeof(big));
	big[256] = '\0';
	CHECK(store_check_td(st, big, &why) == RC_BAD_REQUEST &&
	    strcmp(why.rule, "SPIFFE-ID 2.3") == 0 &&
	    strcmp(why.field, "trust_domain") == 0,
	    "256-byte td is RC_BAD_REQUEST");
	store_close(st);

	/* The binding survives a restart. */
	st = NULL;
	if (store_open(db, &st, &why) != RC_OK) {
		CHECK(0, "reopen td.db");
		return;
	}
	CHECK(store_check_td(st, "b.test", &why) == RC_CONFLICT,
	    "td binding survives reopen");
	CHECK(store_check_td(st, "a.test", &why) == RC_OK,
	    "recorded td accepted after reopen");
	store_close(st);
}

static void
test_meta(void)
{
	struct store *st = NULL;
	struct rc_why why;
	const char *kv[2];
	char db[PATH_MAX], val[16], tiny[2];
	bool found;

	path_in(db, sizeof(db), "meta.db");
	if (store_open(db, &st, &why) != RC_OK) {
		CHECK(0, "open meta.db");
		return;
	}
	kv[0] = "bundle_sequence";
	kv[1] = "7";
	CHECK(store_write(st, on_meta_set, kv) == RC_OK, "meta set");
	CHECK(store_meta_get(st, "bundle_sequence", val, sizeof(val),
	    &found) == RC_OK && found && strcmp(val, "7") == 0, "meta get");
	kv[1] = "12";
	CHECK(store_write(st, on_meta_set, kv) == RC_OK, "meta overwrite");
	CHECK(store_meta_get(st, "bundle_sequence", val, sizeof(val),
	    &found) == RC_OK && found && strcmp(val, "12") == 0,
	    "meta get sees the overwrite");
	CHECK(store_meta_get(st, "bundle_sequence", tiny, sizeof(tiny),
	    &found) == RC_INTERNAL && !found && tiny[0] == '\0',
	    "value larger than the buffer is RC_INTERNAL, never cut");
	CHECK(store_meta_get(st, "nothing", val, sizeof(val), &found) ==
	    RC_OK && !found && val[0] == '\0', "absent name: found false");
	store_close(st);
}

static void
fill_auth(struct store_authority *a, int k, unsigned char *der, size_t n)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	a->id = -1;
	a->kind = k % 2 == 0 ? STORE_AUTH_X509 : STORE_AUTH_JWT;
	a->state = STORE_AUTH_PREPARED;
	a->not_before = 1700000000 + k;
	a->not_after = 1700086400 + k;
	a->created_at = 1699999990 + k;
	a->activated_at = 0;
	a->signed_until = 0;
	a->tainted = false;
	snprintf(a->key_ref, sizeof(a->key_ref), "key-%d.sealed", k);
	snprintf(a->kid, sizeof(a->kid), "kid%dabcdef", k);
	for (i = 0; i < n; i++)
		der[i] = (unsigned char)(i * 31 + (size_t)k);
	der[0] = 0x00;	/* an embedded zero must survive */
	a->der = der;
	a->der_len = n;
}

static int
same_auth(const struct store_authority *x, const struct store_authority *y)
{
	return x->id == y->id && x->kind == y->kind && x->state == y->state &&
	    x->not_before == y->not_before && x->not_after == y->not_after &&
	    x->created_at == y->created_at &&
	    x->activated_at == y->activated_at &&
	    x->signed_until == y->signed_until && x->tainted == y->tainted &&
	    strcmp(x->key_ref, y->key_ref) == 0 &&
	    strcmp(x->kid, y->kid) == 0 && x->der_len == y->der_len &&
	    memcmp(x->der, y->der, x->der_len) == 0;
}

static void
test_authorities(void)
{
	struct store *st = NULL;
	struct store_authority a, b, *v = NULL;
	struct auth_op op;
	struct rc_why why;
	unsigned char der_a[700], der_b[91];
	char db[PATH_MAX];
	size_t n = 99;

	path_in(db, sizeof(db), "auth.db");
	if (store_open(db, &st, &why) != RC_OK) {
		CHECK(0, "open auth.db");
		return;
	}
	CHECK(store_authorities_load(st, &v, &n) == RC_OK && n == 0 &&
	    v == NULL, "empty table loads as nothing");

	fill_auth(&a, 0, der_a, sizeof(der_a));
	fill_auth(&b, 1, der_b, sizeof(der_b));
	op.a = &a;
	CHECK(store_write(st, on_auth_insert, &op) == RC_OK, "insert x509");
	op.a = &b;
	CHECK(store_write(st, on_auth_insert, &op) == RC_OK, "insert jwt");
	CHECK(a.id > 0 && b.id > a.id, "insert sets increasing ids");

	CHECK(store_authorities_load(st, &v, &n) == RC_OK && n == 2,
	    "load two authorities");
	if (n == 2) {
		CHECK(same_auth(&v[0], &a), "first row round-trips");
		CHECK(same_auth(&v[1], &b), "second row round-trips");
	}
	store_authorities_free(v, n);

	/* update writes exactly state, activated_at, signed_until, tainted */
	a.state = STORE_AUTH_ACTIVE;
	a.activated_at = 1700000500;
	a.signed_until = 1700003600;
	a.tainted = true;
	op.a = &a;
	CHECK(store_write(st, on_auth_update, &op) == RC_OK, "update");
	b.state = STORE_AUTH_OLD;
	b.not_after = 1;	/* not an updatable field */
	op.a = &b;
	CHECK(store_write(st, on_auth_update, &op) == RC_OK, "update jwt");
	b.not_after = 1700086401;
	CHECK(store_authorities_load(st, &v, &n) == RC_OK && n == 2,
	    "load after update");
	if (n == 2) {
		CHECK(same_auth(&v[0], &a), "update stored every field");
		CHECK(same_auth(&v[1], &b),
		    "update left not_after and the DER alone");
	}
	store_authorities_free(v, n);

	op.a = &a;
	a.id = 9999;
	CHECK(store_write(st, on_auth_update, &op) == RC_NOT_FOUND,
	    "update of a missing id is RC_NOT_FOUND");
	op.id = 9999;
	CHECK(store_write(st, on_auth_delete, &op) == RC_NOT_FOUND,
	    "delete of a missing id is RC_NOT_FOUND");

	op.id = b.id - 1;
	CHECK(store_write(st, on_auth_delete, &op) == RC_OK, "delete");
	CHECK(store_authorities_load(st, &v, &n) == RC_OK && n == 1 &&
	    v[0].id == b.id, "deleted row is gone, the other stays");
	store_authorities_free(v, n);

	/* caller bugs */
	fill_auth(&a, 2, der_a, sizeof(der_a));
	a.kind = (enum store_auth_kind)7;
	op.a = &a;
	CHECK(store_write(st, on_auth_insert, &op) == RC_INTERNAL,
	    "unknown kind is RC_INTERNAL");
	fill_auth(&a, 2, der_a, sizeof(der_a));
	memset(a.kid, 'k', sizeof(a.kid));
	CHECK(store_write(st, on_auth_insert, &op) == RC_INTERNAL,
	    "unterminated kid is RC_INTERNAL");
	fill_auth(&a, 2, der_a, sizeof(der_a));
	a.state = (enum store_auth_state)-1;
	CHECK(store_write(st, on_auth_update, &op) == RC_INTERNAL,
	    "unknown state in update is RC_INTERNAL");
	store_close(st);

	/* reopen keeps the row */
	st = NULL;
	if (store_open(db, &st, &why) != RC_OK) {
		CHECK(0, "reopen auth.db");
		return;
	}
	CHECK(store_authorities_load(st, &v, &n) == RC_OK && n == 1 &&
	    same_auth(&v[0], &b), "authority survives reopen");
	store_authorities_free(v, n);

	/* a row a newer writer could have left is refused, not guessed */
	CHECK(poke(db, "PRAGMA ignore_check_constraints = ON;"
	    "UPDATE authorities SET kind = 'ssh'") == SQLITE_OK,
	    "planted a row with an unknown kind");
	v = (struct store_authority *)&v;
	CHECK(store_authorities_load(st, &v, &n) == RC_DB && v == NULL &&
	    n == 0, "unknown kind in a row is RC_DB");
	store_close(st);
}

static void
test_audit_chain(void)
{
	struct store *st = NULL;
	struct audit_batch b;
	struct rc_why why;
	unsigned char last[HASH_LEN];
	char db[PATH_MAX], hex[65], hex2[65];
	int64_t count, rows;
	struct store_authority *v = NULL;
	size_t n = 0;
	enum rc seen = RC_OK;
	bool found = true;
	int i, ok = 1;

	path_in(db, sizeof(db), "audit.db");
	if (store_open(db, &st, &why) != RC_OK) {
		CHECK(0, "open audit.db");
		return;
	}
	CHECK(store_audit_head(st, &count, hex) == RC_OK && count == 0 &&
	    strcmp(hex, "00000000000000000000000000000000"
	    "00000000000000000000000000000000") == 0,
	    "empty chain: count 0, zero head");

	/* 100 records: one alone, then batches of 9 and 10 */
	b.n = 1;
	b.base = 0;
	ok = store_write(st, on_append, &b) == RC_OK && b.last_seq == 1;
	for (i = 1; i < 100; i += b.n) {
		b.base = i;
		b.n = i < 10 ? 9 : 10;
		if (store_write(st, on_append, &b) != RC_OK ||
		    b.last_seq != i + b.n)
			ok = 0;
	}
	CHECK(ok, "100 appends, each seq as expected");
	CHECK(verify_chain(db, &rows, last) == 0 && rows == 100,
	    "every stored hash and prev_hash recomputes");
	CHECK(store_audit_head(st, &count, hex) == RC_OK && count == 100 &&
	    same_hex(hex, last), "head is count 100 and the last hash");
	CHECK(poke(db, "UPDATE audit SET outcome = 'ok' WHERE seq = 5") ==
	    SQLITE_CONSTRAINT_TRIGGER, "audit rows cannot be updated");
	CHECK(poke(db, "DELETE FROM audit WHERE seq = 100") ==
	    SQLITE_CONSTRAINT_TRIGGER, "audit rows cannot be deleted");

	/* a callback failing after it appended rolls everything back */
	CHECK(store_write(st, on_fail_late, NULL) == RC_CONFLICT,
	    "failing callback's code comes back");
	CHECK(store_audit_head(st, &count, hex2) == RC_OK && count == 100 &&
	    strcmp(hex, hex2) == 0, "rolled back: head unchanged");
	CHECK(store_meta_get(st, "rolled", hex2, sizeof(hex2), &found) ==
	    RC_OK && !found, "rolled back: meta not stored");
	CHECK(store_authorities_load(st, &v, &n) == RC_OK && n == 0,
	    "rolled back: authority not stored");
	store_authorities_free(v, n);
	b.n = 1;
	b.base = 100;
	CHECK(store_write(st, on_append, &b) == RC_OK && b.last_seq == 101,
	    "next append after a rollback takes seq 101");
	CHECK(verify_chain(db, &rows, last) == 0 && rows == 101,
	    "chain valid after the rollback");

	/* a swallowed database failure cannot commit */
	CHECK(poke(db, "CREATE TRIGGER meta_boom BEFORE INSERT ON meta"
	    " WHEN NEW.name = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END;")
	    == SQLITE_OK, "planted a failing trigger");
	CHECK(store_write(st, on_ignore_failure, &seen) == RC_DB,
	    "ignored failure makes the write RC_DB");
	CHECK(seen == RC_DB, "the failing call itself was RC_DB");
	CHECK(store_audit_head(st, &count, hex2) == RC_OK && count == 101,
	    "nothing of the poisoned transaction committed");
	b.base = 101;
	CHECK(store_write(st, on_append, &b) == RC_OK && b.last_seq == 102,
	    "writer usable after a poisoned transaction");
	store_close(st);

	/* the head is reloaded at open */
	st = NULL;
	if (store_open(db, &st, &why) != RC_OK) {
		CHECK(0, "reopen audit.db");
		return;
	}
	b.base = 102;
	CHECK(store_write(st, on_append, &b) == RC_OK && b.last_seq == 103,
	    "append after reopen continues at 103");
	CHECK(verify_chain(db, &rows, last) == 0 && rows == 103,
	    "chain valid across reopen");
	store_close(st);
}

static void
test_two_writers(void)
{
	struct store *x = NULL, *y = NULL;
	struct audit_batch b = { 2, 0, 0 };
	struct rc_why why;
	char db[PATH_MAX];
	int64_t rows;
	int ok = 1, i;

	/* Two stores on one file stand in for two processes. */
	path_in(db, sizeof(db), "two.db");
	if (store_open(db, &x, &why) != RC_OK ||
	    store_open(db, &y, &why) != RC_OK) {
		CHECK(0, "open two.db twice");
		store_close(x);
		return;
	}
	for (i = 0; i < 10; i++) {
		b.base = i * 2;
		if (store_write(i % 3 == 0 ? y : x, on_append, &b) != RC_OK ||
		    b.last_seq != i * 2 + 2)
			ok = 0;
	}
	CHECK(ok, "interleaved writers see each other's head");
	CHECK(verify_chain(db, &rows, NULL) == 0 && rows == 20,
	    "one valid chain from two writers");
	store_close(y);
	store_close(x);
}

static void
test_reentry(void)
{
	struct store *st = NULL;
	struct reentry r;
	struct rc_why why;
	char db[PATH_MAX];

	path_in(db, sizeof(db), "reenter.db");
	if (store_open(db, &st, &why) != RC_OK) {
		CHECK(0, "open reenter.db");
		return;
	}
	r.st = st;
	r.inner = RC_OK;
	CHECK(store_write(st, on_reenter, &r) == RC_OK && r.inner ==
	    RC_INTERNAL, "store_write inside a write is RC_INTERNAL");
	store_close(st);
}

/* ---- concurrency -------------------------------------------------------- */

struct peek {
	struct store	*st;
	enum rc		 rc;		/* out: store_audit_head's */
	int64_t		 count;		/* out: what it saw */
};

static void *
run_peek(void *p)
{
	struct peek *k = p;
	char hex[65];

	k->rc = store_audit_head(k->st, &k->count, hex);
	return NULL;
}

/* Append, then read the head from another thread while still open. */
static enum rc
on_append_and_peek(struct store_tx *tx, void *arg)
{
	struct audit_batch b = { 5, 500, 0 };
	struct peek *k = arg;
	pthread_t t;

	if (on_append(tx, &b) != RC_OK)
		return RC_INTERNAL;
	if (pthread_create(&t, NULL, run_peek, k) != 0)
		return RC_INTERNAL;
	pthread_join(t, NULL);
	return RC_OK;
}

static void
test_read_during_write(void)
{
	struct store *st = NULL;
	struct peek k = { NULL, RC_INTERNAL, -1 };
	struct rc_why why;
	char db[PATH_MAX], hex[65];
	int64_t count;

	path_in(db, sizeof(db), "peek.db");
	if (store_open(db, &st, &why) != RC_OK) {
		CHECK(0, "open peek.db");
		return;
	}
	k.st = st;
	CHECK(store_write(st, on_append_and_peek, &k) == RC_OK,
	    "write with a read inside commits");
	CHECK(k.rc == RC_OK, "a read completes while a write is open");
	CHECK(k.count == 0, "that read sees the committed state only");
	CHECK(store_audit_head(st, &count, hex) == RC_OK && count == 5,
	    "after commit the read sees the 5 records");
	store_close(st);
}

struct shared {
	struct store	*st;
	int		 id;
	int		 errors;	/* out: calls that failed */
	int		 decreases;	/* out: count went backwards */
	int		 reads;		/* out: heads read */
	volatile int	*stop;
};

static void *
run_writer(void *p)
{
	struct shared *s = p;
	struct audit_batch b;
	int i;

	for (i = 0; i < WRITES_EACH; i++) {
		b.n = 1;
		b.base = 10000 * s->id + i;
		if (store_write(s->st, on_append, &b) != RC_OK)
			s->errors++;
	}
	return NULL;
}

static void *
run_reader(void *p)
{
	struct shared *s = p;
	char hex[65];
	int64_t count, seen = 0;

	while (!__atomic_load_n(s->stop, __ATOMIC_ACQUIRE)) {
		if (store_audit_head(s->st, &count, hex) != RC_OK) {
			s->errors++;
			continue;
		}
		if (count < seen)
			s->decreases++;
		seen = count;
		s->reads++;
	}
	return NULL;
}

static void
test_concurrency(void)
{
	pthread_t wt[WRITERS], rt[READERS];
	struct shared ws[WRITERS], rs[READERS];
	struct store *st = NULL;
	struct rc_why why;
	volatile int stop = 0;
	unsigned char last[HASH_LEN];
	char db[PATH_MAX], hex[65], logp[PATH_MAX], logbuf[4096];
	int64_t count, rows;
	ssize_t got;
	int i, saved, logfd, werr = 0, rerr = 0, dec = 0, reads = 0;

	path_in(db, sizeof(db), "busy.db");
	if (store_open(db, &st, &why) != RC_OK) {
		CHECK(0, "open busy.db");
		return;
	}
	/* Catch what the store logs while the threads run. */
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	path_in(logp, sizeof(logp), "busy.log");
	logfd = open(logp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (saved == -1 || logfd == -1 || dup2(logfd, STDERR_FILENO) == -1)
		abort();

	for (i = 0; i < READERS; i++) {
		memset(&rs[i], 0, sizeof(rs[i]));
		rs[i].st = st;
		rs[i].stop = &stop;
		if (pthread_create(&rt[i], NULL, run_reader, &rs[i]) != 0)
			abort();
	}
	for (i = 0; i < WRITERS; i++) {
		memset(&ws[i], 0, sizeof(ws[i]));
		ws[i].st = st;
		ws[i].id = i + 1;
		if (pthread_create(&wt[i], NULL, run_writer, &ws[i]) != 0)
			abort();
	}
	for (i = 0; i < WRITERS; i++) {
		pthread_join(wt[i], NULL);
		werr += ws[i].errors;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < READERS; i++) {
		pthread_join(rt[i], NULL);
		rerr += rs[i].errors;
		dec += rs[i].decreases;
		reads += rs[i].reads;
	}
	dup2(saved, STDERR_FILENO);
	close(saved);
	memset(logbuf, 0, sizeof(logbuf));
	got = pread(logfd, logbuf, sizeof(logbuf) - 1, 0);
	close(logfd);
	unlink(logp);
	CHECK(got == 0, "store logged nothing under load");
	CHECK(strstr(logbuf, "database is locked") == NULL,
	    "no \"database is locked\"");
	if (got > 0)
		fprintf(stderr, "%s", logbuf);
	CHECK(werr == 0, "no writer call failed");
	CHECK(rerr == 0, "no reader call failed");
	CHECK(reads > 0, "readers ran");
	CHECK(dec == 0, "readers never saw the count go backwards");
	CHECK(store_audit_head(st, &count, hex) == RC_OK && count ==
	    WRITERS * WRITES_EACH, "final count is 800");
	CHECK(verify_chain(db, &rows, last) == 0 && rows == 800 &&
	    same_hex(hex, last), "chain of 800 is valid, head matches");
	store_close(st);
}

static void
remove_all(void)
{
	static const char *const names[] = {
		"open.db", "new.db", "td.db", "meta.db", "auth.db",
		"audit.db", "two.db", "reenter.db", "peek.db", "busy.db",
		"v1.db",
	};
	char p[PATH_MAX], q[PATH_MAX + 8];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_in(p, sizeof(p), names[i]);
		unlink(p);
		snprintf(q, sizeof(q), "%s-wal", p);
		unlink(q);
		snprintf(q, sizeof(q), "%s-shm", p);
		unlink(q);
	}
	rmdir(dir);
}

int
main(void)
{
	if (sodium_init() < 0 || mkdtemp(dir) == NULL) {
		printf("Bail out! cannot set up: %s\n", strerror(errno));
		return 1;
	}

	test_open();
	test_too_new();
	test_upgrade();
	test_td();
	test_meta();
	test_authorities();
	test_audit_chain();
	test_two_writers();
	test_reentry();
	test_read_during_write();
	test_concurrency();

	remove_all();
	return check_done();
}
