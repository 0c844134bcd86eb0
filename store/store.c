/*
 * store.c: the SQLite datastore behind store.h.
 *
 * One database file in WAL mode.  Writes go through one connection
 * guarded by a mutex, each inside BEGIN IMMEDIATE, so SQLite never has
 * two writers of ours to arbitrate and no caller sees "database is
 * locked".  Reads use a connection private to the calling thread (made
 * on first use, closed when the thread exits or the store closes), so
 * they run concurrently with the writer and with each other.  Statements
 * used more than once are prepared once per connection and kept.
 *
 * This file holds the connections, transactions, schema, authorities,
 * audit and backup; registration entries are in store_entries.c, agents
 * and join tokens in store_agents.c, and what the three share is in
 * store_int.h.
 *
 * Schema: numbered migrations in store_migrations[]; PRAGMA user_version
 * holds how many have been applied.  A later change appends a script and
 * raises STORE_SCHEMA_VERSION; a script is never edited once released.
 *
 * Audit hash chain.  This encoding is normative: an offline verifier
 * recomputes it from the rows alone, so it must never change for records
 * already written.
 *
 *   hash[n]  = BLAKE2b-256(prev[n] || enc(n))
 *              (libsodium crypto_generichash, no key, 32-byte output)
 *   prev[n]  = hash[n - 1]; for the first record (seq 1), 32 zero bytes
 *   enc(n)   = i64(seq) || i64(at)
 *              || str(actor) || str(action) || str(subject)
 *              || str(outcome) || str(serial) || str(entry_id)
 *              || str(detail)
 *   i64(v)   = v as 8 bytes, big-endian, two's complement
 *   str(s)   = u64(byte length of s) || the bytes of s, no terminator;
 *              a NULL field is the empty string (length 0)
 *   u64(v)   = v as 8 bytes, big-endian
 *
 * The values hashed are exactly the values stored in the row: at is the
 * resolved Unix time, strings are the stored TEXT bytes.  Each row keeps
 * prev_hash and hash (32-byte BLOBs) so a reader can check any record
 * against its neighbour without replaying the whole chain.
 */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "../server/bounds.h"
#include "../server/log.h"
#include "../server/metrics.h"
#include "store_int.h"

#define STORE_BUSY_MS		5000	/* ms to wait on another process */
#define STORE_TD_NAME		"trust_domain"	/* meta row of the TD */

/* ---- schema ----------------------------------------------------------- */

/*
 * Migration n (1-based) is store_migrations[n - 1].  Each runs inside the
 * transaction that also raises user_version, so a crash leaves either the
 * old schema or the new one.  Enum-like columns hold text, so the file
 * reads plainly in the sqlite3 shell and a renumbered C enum cannot
 * silently change what a row means.
 */
static const char *const store_migrations[] = {
	/* 1: named values, authorities, the audit chain */
	"CREATE TABLE meta ("
	"  name		TEXT PRIMARY KEY NOT NULL,"
	"  value	TEXT NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE authorities ("
	"  id		INTEGER PRIMARY KEY,"
	"  kind		TEXT NOT NULL CHECK (kind IN ('x509', 'jwt')),"
	"  state	TEXT NOT NULL"
	"		CHECK (state IN ('prepared', 'active', 'old')),"
	"  not_before	INTEGER NOT NULL,"
	"  not_after	INTEGER NOT NULL,"
	"  created_at	INTEGER NOT NULL,"
	"  activated_at	INTEGER NOT NULL DEFAULT 0,"
	"  signed_until	INTEGER NOT NULL DEFAULT 0,"
	"  tainted	INTEGER NOT NULL DEFAULT 0 CHECK (tainted IN (0, 1)),"
	"  key_ref	TEXT NOT NULL,"
	"  kid		TEXT NOT NULL,"
	"  der		BLOB NOT NULL"
	");"
	"CREATE TABLE audit ("
	"  seq		INTEGER PRIMARY KEY CHECK (seq > 0),"
	"  at		INTEGER NOT NULL,"
	"  actor	TEXT NOT NULL,"
	"  action	TEXT NOT NULL,"
	"  subject	TEXT NOT NULL,"
	"  outcome	TEXT NOT NULL,"
	"  serial	TEXT NOT NULL,"
	"  entry_id	TEXT NOT NULL,"
	"  detail	TEXT NOT NULL,"
	"  prev_hash	BLOB NOT NULL CHECK (length(prev_hash) = 32),"
	"  hash		BLOB NOT NULL CHECK (length(hash) = 32)"
	");"
	"CREATE INDEX audit_serial ON audit (serial);"
	"CREATE INDEX audit_entry_id ON audit (entry_id);"
	"CREATE INDEX audit_actor ON audit (actor);"
	"CREATE INDEX audit_action ON audit (action);"
	"CREATE INDEX audit_at ON audit (at);"
	/* The chain is append-only; refuse edits even from our own code. */
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN"
	"  SELECT RAISE(ABORT, 'audit records are append-only');"
	"END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN"
	"  SELECT RAISE(ABORT, 'audit records are append-only');"
	"END;",
	/*
	 * 2: registration entries, attested agents, join tokens.  Child
	 * tables are WITHOUT ROWID with the parent's key first, so their
	 * primary key is the index that a per-entry read or a cascade
	 * needs, and each secondary index carries the parent key: the
	 * (type, value) index alone says which entries hold a selector.
	 * The indexes on entries end in id, so that a filtered page walks
	 * one of them in ID order and stops at the page's end.
	 * selector_key is the canonical text of the sorted selector set
	 * (store_selectors_encode); the unique index on it is what makes
	 * two entries with the same ID pair and selectors impossible.
	 */
	"CREATE TABLE entries ("
	"  id		TEXT PRIMARY KEY NOT NULL"
	"		CHECK (length(id) BETWEEN 1 AND 64),"
	"  spiffe_id	TEXT NOT NULL,"
	"  parent_id	TEXT NOT NULL,"
	"  selector_key	TEXT NOT NULL,"
	"  x509_svid_ttl	INTEGER NOT NULL DEFAULT 0,"
	"  jwt_svid_ttl	INTEGER NOT NULL DEFAULT 0,"
	"  admin	INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),"
	"  downstream	INTEGER NOT NULL DEFAULT 0"
	"		CHECK (downstream IN (0, 1)),"
	"  store_svid	INTEGER NOT NULL DEFAULT 0"
	"		CHECK (store_svid IN (0, 1)),"
	"  expires_at	INTEGER NOT NULL DEFAULT 0,"
	"  hint		TEXT,"
	"  revision_number INTEGER NOT NULL CHECK (revision_number > 0),"
	"  created_at	INTEGER NOT NULL,"
	"  created_by	TEXT"
	");"
	"CREATE UNIQUE INDEX entries_unique"
	"  ON entries (spiffe_id, parent_id, selector_key);"
	"CREATE INDEX entries_parent_id ON entries (parent_id, id);"
	"CREATE INDEX entries_spiffe_id ON entries (spiffe_id, id);"
	"CREATE INDEX entries_hint ON entries (hint, id);"
	"CREATE INDEX entries_expires_at ON entries (expires_at);"
	/* Few entries are admin or downstream: index only those. */
	"CREATE INDEX entries_admin ON entries (id) WHERE admin = 1;"
	"CREATE INDEX entries_downstream ON entries (id) WHERE downstream = 1;"
	"CREATE TABLE entry_selectors ("
	"  entry_id	TEXT NOT NULL"
	"		REFERENCES entries (id) ON DELETE CASCADE,"
	"  type		TEXT NOT NULL,"
	"  value	TEXT NOT NULL,"
	"  PRIMARY KEY (entry_id, type, value)"
	") WITHOUT ROWID;"
	"CREATE INDEX entry_selectors_type_value"
	"  ON entry_selectors (type, value);"
	"CREATE TABLE entry_dns ("
	"  entry_id	TEXT NOT NULL"
	"		REFERENCES entries (id) ON DELETE CASCADE,"
	"  pos		INTEGER NOT NULL CHECK (pos >= 0),"
	"  name		TEXT NOT NULL,"
	"  PRIMARY KEY (entry_id, pos)"
	") WITHOUT ROWID;"
	"CREATE TABLE entry_federates ("
	"  entry_id	TEXT NOT NULL"
	"		REFERENCES entries (id) ON DELETE CASCADE,"
	"  trust_domain	TEXT NOT NULL,"
	"  PRIMARY KEY (entry_id, trust_domain)"
	") WITHOUT ROWID;"
	"CREATE INDEX entry_federates_trust_domain"
	"  ON entry_federates (trust_domain);"
	"CREATE TABLE agents ("
	"  spiffe_id	TEXT PRIMARY KEY NOT NULL,"
	"  attestation_type TEXT NOT NULL,"
	"  serial	TEXT NOT NULL,"
	"  new_serial	TEXT NOT NULL DEFAULT '',"
	"  expires_at	INTEGER NOT NULL,"
	"  banned	INTEGER NOT NULL DEFAULT 0 CHECK (banned IN (0, 1)),"
	"  created_at	INTEGER NOT NULL,"
	"  updated_at	INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX agents_attestation_type ON agents (attestation_type);"
	"CREATE INDEX agents_expires_at ON agents (expires_at);"
	"CREATE INDEX agents_banned ON agents (spiffe_id) WHERE banned = 1;"
	"CREATE TABLE agent_selectors ("
	"  agent_spiffe_id TEXT NOT NULL"
	"		REFERENCES agents (spiffe_id) ON DELETE CASCADE,"
	"  type		TEXT NOT NULL,"
	"  value	TEXT NOT NULL,"
	"  PRIMARY KEY (agent_spiffe_id, type, value)"
	") WITHOUT ROWID;"
	/* A token is known by its hash only; used_at is NULL until used. */
	"CREATE TABLE join_tokens ("
	"  hash		BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),"
	"  token_id	TEXT NOT NULL UNIQUE,"
	"  expires_at	INTEGER NOT NULL,"
	"  used_at	INTEGER"
	") WITHOUT ROWID;"
	"CREATE INDEX join_tokens_expires_at ON join_tokens (expires_at);",
	/*
	 * 3: signed checkpoints of the audit chain.  sig is the Ed25519
	 * signature over "svidca audit checkpoint v1" || i64(seq) || hash
	 * (see store_audit.c); the public key is kept in meta in plain so
	 * that reading it needs no KEK.  Append-only, like the chain.
	 */
	"CREATE TABLE audit_checkpoints ("
	"  seq		INTEGER PRIMARY KEY CHECK (seq > 0),"
	"  at		INTEGER NOT NULL,"
	"  hash		BLOB NOT NULL CHECK (length(hash) = 32),"
	"  sig		BLOB NOT NULL CHECK (length(sig) = 64)"
	");"
	"CREATE TRIGGER audit_checkpoints_no_update"
	"  BEFORE UPDATE ON audit_checkpoints BEGIN"
	"  SELECT RAISE(ABORT, 'audit checkpoints are append-only');"
	"END;"
	"CREATE TRIGGER audit_checkpoints_no_delete"
	"  BEFORE DELETE ON audit_checkpoints BEGIN"
	"  SELECT RAISE(ABORT, 'audit checkpoints are append-only');"
	"END;",
};

_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) ==
    STORE_SCHEMA_VERSION, "one migration script per schema version");

/* ---- statements --------------------------------------------------------- */

static const struct store_sql stmt_table[] = {
	[STMT_BEGIN] = { STMT_BEGIN, "begin", "BEGIN IMMEDIATE" },
	[STMT_COMMIT] = { STMT_COMMIT, "commit", "COMMIT" },
	[STMT_ROLLBACK] = { STMT_ROLLBACK, "rollback", "ROLLBACK" },
	[STMT_META_GET] = { STMT_META_GET, "meta_get",
	    "SELECT value FROM meta WHERE name = ?1" },
	[STMT_META_SET] = { STMT_META_SET, "meta_set",
	    "INSERT INTO meta (name, value) VALUES (?1, ?2)"
	    " ON CONFLICT (name) DO UPDATE SET value = excluded.value" },
	[STMT_AUTH_LOAD] = { STMT_AUTH_LOAD, "authorities_load",
	    "SELECT id, kind, state, not_before, not_after, created_at,"
	    " activated_at, signed_until, tainted, key_ref, kid, der"
	    " FROM authorities ORDER BY id" },
	[STMT_AUTH_INSERT] = { STMT_AUTH_INSERT, "authority_insert",
	    "INSERT INTO authorities (kind, state, not_before, not_after,"
	    " created_at, activated_at, signed_until, tainted, key_ref, kid,"
	    " der) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)" },
	[STMT_AUTH_UPDATE] = { STMT_AUTH_UPDATE, "authority_update",
	    "UPDATE authorities SET state = ?2, activated_at = ?3,"
	    " signed_until = ?4, tainted = ?5 WHERE id = ?1" },
	[STMT_AUTH_DELETE] = { STMT_AUTH_DELETE, "authority_delete",
	    "DELETE FROM authorities WHERE id = ?1" },
	[STMT_AUDIT_INSERT] = { STMT_AUDIT_INSERT, "audit_insert",
	    "INSERT INTO audit (seq, at, actor, action, subject, outcome,"
	    " serial, entry_id, detail, prev_hash, hash)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)" },
	[STMT_AUDIT_LAST] = { STMT_AUDIT_LAST, "audit_last",
	    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1" },
	[STMT_AUDIT_HEAD] = { STMT_AUDIT_HEAD, "audit_head",
	    "SELECT (SELECT count(*) FROM audit), hash FROM audit"
	    " ORDER BY seq DESC LIMIT 1" },
	[STMT_PING] = { STMT_PING, "ping",
	    "SELECT seq FROM audit ORDER BY seq DESC LIMIT 1" },
};

_Static_assert(sizeof(stmt_table) / sizeof(stmt_table[0]) ==
    STMT_PING + 1, "store.c's statements fill the first slots");

/* Outcome of a td check, carried through store_write(). */
struct td_check {
	const char	*td;		/* the configured trust domain */
	struct rc_why	*why;		/* filled on a refusal, may be NULL */
};

/* ---- helpers ------------------------------------------------------------ */

/* Log SQLite's own words for a failed call on db; returns RC_DB. */
enum rc
store_fail_db(sqlite3 *db, const char *what)
{
	log_error("store", "%s failed db=\"%s (%d)\"", what,
	    sqlite3_errmsg(db), sqlite3_extended_errcode(db));
	return RC_DB;
}

/* As store_fail_db, and mark the transaction so that it cannot commit. */
enum rc
store_fail_tx(struct store_tx *tx, const char *what)
{
	tx->failed = true;
	return store_fail_db(tx->conn->db, what);
}

/*
 * The statement def on c, prepared on first use and kept in its slot.
 * Returns RC_OK, or RC_DB (logged).  The statement stays owned by c;
 * give it back with store_stmt_put() before c is used for it again.
 */
enum rc
store_stmt_get(struct store_conn *c, const struct store_sql *def,
    sqlite3_stmt **out)
{
	int err;

	*out = NULL;
	assert(def->slot < STMT_COUNT);
	if (c->stmt[def->slot] == NULL) {
		err = sqlite3_prepare_v3(c->db, def->sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &c->stmt[def->slot], NULL);
		if (err != SQLITE_OK) {
			log_error("store", "cannot prepare statement %s "
			    "db=\"%s (%d)\"", def->name,
			    sqlite3_errmsg(c->db), err);
			return RC_DB;
		}
		c->def[def->slot] = def;
	}
	/* Two definitions sharing a slot would run each other's SQL. */
	assert(c->def[def->slot] == def);
	*out = c->stmt[def->slot];
	return RC_OK;
}

/* store_stmt_get on the writer of tx; a failure also poisons tx. */
enum rc
store_tx_stmt(struct store_tx *tx, const struct store_sql *def,
    sqlite3_stmt **out)
{
	enum rc rc = RC_DB;

	rc = store_stmt_get(tx->conn, def, out);
	if (rc != RC_OK)
		tx->failed = true;
	return rc;
}

/* See store_int.h. */
enum rc
store_tx_run(struct store_tx *tx, const struct store_sql *def,
    const char *a, int64_t v, int64_t *changes)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;

	rc = store_tx_stmt(tx, def, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if ((a != NULL && store_bind_str(s, 1, a) != SQLITE_OK) ||
	    sqlite3_bind_int64(s, a != NULL ? 2 : 1, (sqlite3_int64)v) !=
	    SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, def->name);
		goto out;
	}
	if (changes != NULL)
		*changes = sqlite3_changes(tx->conn->db);
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/* One of this file's statements on c (see store_stmt_get). */
static enum rc
core_stmt(struct store_conn *c, enum store_stmt id, sqlite3_stmt **out)
{
	return store_stmt_get(c, &stmt_table[id], out);
}

/*
 * Make s ready for its next use and drop any read snapshot it holds;
 * NULL is fine.
 */
void
store_stmt_put(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
}

/* Run a statement that returns no row (BEGIN, COMMIT, ROLLBACK). */
static enum rc
run_simple(struct store_conn *c, enum store_stmt id)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;

	rc = core_stmt(c, id, &s);
	if (rc != RC_OK)
		return rc;
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = store_fail_db(c->db, stmt_table[id].name);
		goto out;
	}
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Bind parameter i of s to v as text, NULL as "", borrowed until the
 * statement is reset.  SQLite's code.
 */
int
store_bind_str(sqlite3_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(s, i, v == NULL ? "" : v, -1, SQLITE_STATIC);
}

/*
 * Bind the named parameter (":name") of s to v, as store_bind_str, or
 * to an integer.  A statement without that parameter is left alone and
 * SQLITE_OK comes back, so one list query binds only the filters it was
 * built with.
 */
int
store_bind_name(sqlite3_stmt *s, const char *name, const char *v)
{
	int i;

	i = sqlite3_bind_parameter_index(s, name);
	if (i == 0)
		return SQLITE_OK;
	return store_bind_str(s, i, v);
}

/* store_bind_name for an integer value. */
int
store_bind_name_int(sqlite3_stmt *s, const char *name, int64_t v)
{
	int i;

	i = sqlite3_bind_parameter_index(s, name);
	if (i == 0)
		return SQLITE_OK;
	return sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

/*
 * Copy column i of s into buf[len] as a string; false if it does not fit
 * (buf is then unspecified, never cut silently).
 */
bool
store_col_copy(sqlite3_stmt *s, int i, char *buf, size_t len)
{
	const unsigned char *t;
	int n;

	t = sqlite3_column_text(s, i);
	n = sqlite3_column_bytes(s, i);
	if (len == 0 || n < 0 || (size_t)n >= len)
		return false;
	if (n > 0)
		memcpy(buf, t, (size_t)n);
	buf[n] = '\0';
	return true;
}

/*
 * Column i of s as a malloc'd string in *out (caller frees), NULL when
 * the column is NULL.  RC_OK or RC_NOMEM.
 */
enum rc
store_col_dup(sqlite3_stmt *s, int i, char **out)
{
	const unsigned char *t;
	int n;

	*out = NULL;
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return RC_OK;
	t = sqlite3_column_text(s, i);
	n = sqlite3_column_bytes(s, i);
	if (t == NULL || n < 0)
		return RC_NOMEM;
	*out = malloc((size_t)n + 1);
	if (*out == NULL)
		return RC_NOMEM;
	memcpy(*out, t, (size_t)n);
	(*out)[n] = '\0';
	return RC_OK;
}

/*
 * Append the fixed fragment frag to b.  A fragment that does not fit
 * sets b->overflow (checked once before preparing) and is dropped whole.
 */
void
store_sql_add(struct store_sqlbuf *b, const char *frag)
{
	size_t n;

	n = strlen(frag);
	if (b->overflow || n >= sizeof(b->text) - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->text + b->len, frag, n + 1);
	b->len += n;
}

/* ---- selector sets ------------------------------------------------------ */

/*
 * Order two struct store_selector by type, then value, bytewise; a
 * qsort() comparator.
 */
int
store_selector_cmp(const void *a, const void *b)
{
	const struct store_selector *x = a, *y = b;
	int c;

	c = strcmp(x->type, y->type);
	if (c != 0)
		return c;
	return strcmp(x->value, y->value);
}

/*
 * Sort v[0..*n) and drop repeats, freeing their strings; *n becomes the
 * number kept.  Every string must be set (store_selectors_check).
 */
void
store_selectors_sort(struct store_selector *v, size_t *n)
{
	size_t i, k;

	if (*n < 2)
		return;
	qsort(v, *n, sizeof(*v), store_selector_cmp);
	for (i = 1, k = 1; i < *n; i++) {
		if (store_selector_cmp(&v[k - 1], &v[i]) == 0) {
			free(v[i].type);
			free(v[i].value);
			continue;
		}
		v[k++] = v[i];
	}
	*n = k;
}

/* Free n selectors and the array; NULL is fine. */
void
store_selectors_free(struct store_selector *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].type);
		free(v[i].value);
	}
	free(v);
}

/*
 * Is v[0..n) a set the store can keep: an array when n > 0, every type
 * and value a non-empty string?  RC_OK, or RC_INTERNAL (logged), since
 * the API layer refuses such input long before.
 */
enum rc
store_selectors_check(const struct store_selector *v, size_t n)
{
	size_t i;

	if (n > 0 && v == NULL) {
		log_error("store", "refusing %zu selectors without an array",
		    n);
		return RC_INTERNAL;
	}
	for (i = 0; i < n; i++) {
		if (v[i].type == NULL || v[i].type[0] == '\0' ||
		    v[i].value == NULL || v[i].value[0] == '\0') {
			log_error("store", "refusing an empty selector at %zu",
			    i);
			return RC_INTERNAL;
		}
	}
	return RC_OK;
}

/*
 * A JSON string for s in *out.  RC_BAD_REQUEST when s is not UTF-8 (the
 * same string taken unchecked proves memory was not the problem), else
 * RC_NOMEM.
 */
static enum rc
make_json_string(const char *s, json_t **out)
{
	json_t *probe;

	*out = json_string(s);
	if (*out != NULL)
		return RC_OK;
	probe = json_stringn_nocheck(s, strlen(s));
	if (probe == NULL)
		return RC_NOMEM;
	json_decref(probe);
	return RC_BAD_REQUEST;
}

/*
 * The canonical text of v[0..n) in *out (malloc'd, caller frees): a
 * compact JSON array of [type, value] pairs in the order given, which
 * for a sorted set is the set's one spelling.  It is the selector_key
 * column and the selector parameter of the set queries.  RC_OK,
 * RC_BAD_REQUEST (a string is not UTF-8), RC_NOMEM.
 */
enum rc
store_selectors_encode(const struct store_selector *v, size_t n,
    char **out)
{
	json_t *arr = NULL, *pair = NULL, *t = NULL, *val = NULL;
	enum rc rc = RC_NOMEM;
	size_t i;

	*out = NULL;
	arr = json_array();
	if (arr == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		rc = make_json_string(v[i].type, &t);
		if (rc != RC_OK)
			goto out;
		rc = make_json_string(v[i].value, &val);
		if (rc != RC_OK)
			goto out;
		rc = RC_NOMEM;
		pair = json_array();
		if (pair == NULL || json_array_append_new(pair, t) != 0)
			goto out;
		t = NULL;
		if (json_array_append_new(pair, val) != 0)
			goto out;
		val = NULL;
		if (json_array_append_new(arr, pair) != 0)
			goto out;
		pair = NULL;
	}
	*out = json_dumps(arr, JSON_COMPACT);
	if (*out == NULL)
		goto out;
	rc = RC_OK;
out:
	json_decref(val);
	json_decref(t);
	json_decref(pair);
	json_decref(arr);
	return rc;
}

/*
 * Parse text made by store_selectors_encode (or by SQLite's
 * json_group_array of json_array(type, value)) into *out (NULL when *n
 * is 0; store_selectors_free).  RC_DB, logged, if the text is not such
 * an array of non-empty strings; RC_NOMEM.
 */
enum rc
store_selectors_decode(const char *text, struct store_selector **out,
    size_t *n)
{
	struct store_selector *v = NULL;
	json_error_t jerr;
	json_t *arr = NULL, *pair, *t, *val;
	size_t cnt = 0, i, len;
	enum rc rc = RC_DB;

	*out = NULL;
	*n = 0;
	arr = json_loads(text == NULL ? "" : text, 0, &jerr);
	if (arr == NULL || !json_is_array(arr)) {
		log_error("store", "stored selector set is not a JSON array");
		goto out;
	}
	len = json_array_size(arr);
	if (len > 0) {
		rc = RC_NOMEM;
		v = calloc(len, sizeof(*v));
		if (v == NULL)
			goto out;
	}
	for (i = 0; i < len; i++) {
		rc = RC_DB;
		pair = json_array_get(arr, i);
		t = json_array_get(pair, 0);
		val = json_array_get(pair, 1);
		if (!json_is_array(pair) || json_array_size(pair) != 2 ||
		    !json_is_string(t) || !json_is_string(val) ||
		    json_string_length(t) == 0 ||
		    json_string_length(val) == 0) {
			log_error("store", "stored selector %zu is malformed",
			    i);
			goto out;
		}
		rc = RC_NOMEM;
		v[cnt].type = strdup(json_string_value(t));
		v[cnt].value = strdup(json_string_value(val));
		cnt++;
		if (v[cnt - 1].type == NULL || v[cnt - 1].value == NULL)
			goto out;
	}

	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
	rc = RC_OK;
out:
	store_selectors_free(v, cnt);
	json_decref(arr);
	return rc;
}

static void
hash_u64(crypto_generichash_state *h, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (56 - 8 * i));
	(void)crypto_generichash_update(h, b, sizeof(b));
}

static void
hash_str(crypto_generichash_state *h, const char *s)
{
	size_t n;

	n = s == NULL ? 0 : strlen(s);
	hash_u64(h, (uint64_t)n);
	if (n > 0)
		(void)crypto_generichash_update(h, (const unsigned char *)s, n);
}

/*
 * The chain hash of one record (see the top of this file); out gets 32
 * bytes.  Returns RC_OK or RC_CRYPTO.
 */
static enum rc
hash_record(const unsigned char *prev, int64_t seq, int64_t at,
    const struct store_audit *r, unsigned char *out)
{
	crypto_generichash_state h;

	if (crypto_generichash_init(&h, NULL, 0, STORE_HASH_LEN) != 0)
		return RC_CRYPTO;
	(void)crypto_generichash_update(&h, prev, STORE_HASH_LEN);
	hash_u64(&h, (uint64_t)seq);
	hash_u64(&h, (uint64_t)at);
	hash_str(&h, r->actor);
	hash_str(&h, r->action);
	hash_str(&h, r->subject);
	hash_str(&h, r->outcome);
	hash_str(&h, r->serial);
	hash_str(&h, r->entry_id);
	hash_str(&h, r->detail);
	if (crypto_generichash_final(&h, out, STORE_HASH_LEN) != 0)
		return RC_CRYPTO;
	return RC_OK;
}

static const char *
kind_str(enum store_auth_kind k)
{
	switch (k) {
	case STORE_AUTH_X509:
		return "x509";
	case STORE_AUTH_JWT:
		return "jwt";
	}
	return NULL;
}

static const char *
state_str(enum store_auth_state s)
{
	switch (s) {
	case STORE_AUTH_PREPARED:
		return "prepared";
	case STORE_AUTH_ACTIVE:
		return "active";
	case STORE_AUTH_OLD:
		return "old";
	}
	return NULL;
}

static bool
parse_kind(const unsigned char *t, enum store_auth_kind *k)
{
	if (t == NULL)
		return false;
	if (strcmp((const char *)t, "x509") == 0)
		*k = STORE_AUTH_X509;
	else if (strcmp((const char *)t, "jwt") == 0)
		*k = STORE_AUTH_JWT;
	else
		return false;
	return true;
}

static bool
parse_state(const unsigned char *t, enum store_auth_state *s)
{
	if (t == NULL)
		return false;
	if (strcmp((const char *)t, "prepared") == 0)
		*s = STORE_AUTH_PREPARED;
	else if (strcmp((const char *)t, "active") == 0)
		*s = STORE_AUTH_ACTIVE;
	else if (strcmp((const char *)t, "old") == 0)
		*s = STORE_AUTH_OLD;
	else
		return false;
	return true;
}

/* ---- connections -------------------------------------------------------- */

static void
close_conn(struct store_conn *c)
{
	int i, err;

	if (c == NULL)
		return;
	for (i = 0; i < STMT_COUNT; i++)
		(void)sqlite3_finalize(c->stmt[i]);
	err = sqlite3_close(c->db);
	if (err != SQLITE_OK)
		log_error("store", "close failed db=\"%s (%d)\"",
		    sqlite3_errmsg(c->db), err);
	free(c);
}

/*
 * Open a connection to path and set what every connection needs: a busy
 * timeout (another process may hold the lock briefly), foreign keys,
 * defensive mode, no trust in functions named by the schema.  A writer
 * also gets synchronous=FULL; a reader is made query-only.  Returns
 * RC_OK with *out owned by the caller (close_conn), RC_NOMEM or RC_DB.
 */
static enum rc
open_conn(const char *path, bool writer, struct store_conn **out)
{
	static const char *const common =
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA trusted_schema = OFF;";
	/*
	 * XXX(store-sync): synchronous=FULL syncs the WAL on every commit,
	 * which caps the commit rate at the disk's flush rate; acceptable
	 * because issuance batches many SVIDs into one transaction and an
	 * acknowledged write must survive power loss.  Fix: measure, then
	 * consider group commit across concurrent requests.
	 */
	static const char *const w_only = "PRAGMA synchronous = FULL;"
	    /*
	     * Random entry IDs land all over the indexes of entries; with
	     * SQLite's default 2 MiB cache a batch of creates spends a
	     * third more CPU re-reading pages.  32 MiB, writer only.
	     */
	    "PRAGMA cache_size = -32768;";
	static const char *const r_only = "PRAGMA query_only = ON;";
	struct store_conn *c = NULL;
	enum rc rc = RC_DB;
	int err;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return RC_NOMEM;

	err = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE, NULL);
	if (err != SQLITE_OK) {
		if (c->db == NULL) {
			rc = RC_NOMEM;
			goto out;
		}
		log_error("store", "cannot open database path=%s "
		    "db=\"%s (%d)\"", path, sqlite3_errmsg(c->db), err);
		goto out;
	}
	(void)sqlite3_extended_result_codes(c->db, 1);

	if (sqlite3_busy_timeout(c->db, STORE_BUSY_MS) != SQLITE_OK ||
	    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1,
	    NULL) != SQLITE_OK) {
		(void)store_fail_db(c->db, "connection setup");
		goto out;
	}
	if (sqlite3_exec(c->db, common, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, writer ? w_only : r_only, NULL, NULL,
	    NULL) != SQLITE_OK) {
		(void)store_fail_db(c->db, "connection pragmas");
		goto out;
	}

	*out = c;
	c = NULL;
	rc = RC_OK;
out:
	close_conn(c);
	return rc;
}

/* Thread exit: close the thread's reader (see reader_get). */
static void
on_thread_exit(void *p)
{
	struct store_conn *c = p, **pp;
	struct store *st = c->st;

	(void)pthread_mutex_lock(&st->rlock);
	for (pp = &st->readers; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	(void)pthread_mutex_unlock(&st->rlock);
	close_conn(c);
}

/*
 * The calling thread's read connection, opened on first use.  It stays
 * owned by st and is closed when the thread exits or st closes.  RC_OK,
 * RC_NOMEM or RC_DB.
 */
enum rc
store_reader_get(struct store *st, struct store_conn **out)
{
	struct store_conn *c;
	enum rc rc = RC_DB;

	*out = pthread_getspecific(st->rkey);
	if (*out != NULL)
		return RC_OK;

	rc = open_conn(st->path, false, &c);
	if (rc != RC_OK)
		return rc;
	c->st = st;
	if (pthread_setspecific(st->rkey, c) != 0) {
		log_error("store", "cannot bind a reader to this thread");
		close_conn(c);
		return RC_NOMEM;
	}
	(void)pthread_mutex_lock(&st->rlock);
	c->next = st->readers;
	st->readers = c;
	(void)pthread_mutex_unlock(&st->rlock);
	*out = c;
	return RC_OK;
}

/* ---- schema and open ---------------------------------------------------- */

/* Read PRAGMA user_version through c into *v. */
static enum rc
read_version(struct store_conn *c, int *v)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;

	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK) {
		rc = store_fail_db(c->db, "read schema version");
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = store_fail_db(c->db, "read schema version");
		goto out;
	}
	*v = sqlite3_column_int(s, 0);
	rc = RC_OK;
out:
	(void)sqlite3_finalize(s);
	return rc;
}

/* Refuse a schema this binary does not know (RC_CONFLICT, why filled). */
static enum rc
check_version(int v, struct rc_why *why)
{
	if (v < 0 || v > STORE_SCHEMA_VERSION)
		return rc_why_set(why, RC_CONFLICT, "data_dir",
		    "DESIGN.md Store", "database schema version %d is newer "
		    "than version %d, the newest this server knows", v,
		    STORE_SCHEMA_VERSION);
	return RC_OK;
}

/* Switch the file to WAL and check that SQLite really did. */
static enum rc
set_wal(struct store_conn *c)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	enum rc rc = RC_DB;

	if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &s,
	    NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		rc = store_fail_db(c->db, "set journal mode");
		goto out;
	}
	mode = sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		log_error("store", "journal mode is %s, not wal",
		    mode == NULL ? "unknown" : (const char *)mode);
		goto out;
	}
	rc = RC_OK;
out:
	(void)sqlite3_finalize(s);
	return rc;
}

/*
 * Apply every migration the file lacks, in one transaction with the
 * version bump.  The version is read again under the write lock, since
 * another process may have migrated since we first looked.
 */
static enum rc
migrate(struct store_conn *c, struct rc_why *why)
{
	char sql[64];
	enum rc rc = RC_DB;
	int v, w;

	rc = run_simple(c, STMT_BEGIN);
	if (rc != RC_OK)
		return rc;

	rc = read_version(c, &v);
	if (rc != RC_OK)
		goto out_rollback;
	rc = check_version(v, why);
	if (rc != RC_OK)
		goto out_rollback;

	for (; v < STORE_SCHEMA_VERSION; v++) {
		rc = RC_DB;
		if (sqlite3_exec(c->db, store_migrations[v], NULL, NULL,
		    NULL) != SQLITE_OK) {
			log_error("store", "migration %d failed db=\"%s (%d)\"",
			    v + 1, sqlite3_errmsg(c->db),
			    sqlite3_extended_errcode(c->db));
			goto out_rollback;
		}
		w = snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    v + 1);
		if (w < 0 || (size_t)w >= sizeof(sql)) {
			rc = RC_INTERNAL;
			goto out_rollback;
		}
		if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			(void)store_fail_db(c->db, "set schema version");
			goto out_rollback;
		}
		log_info("store", "schema migrated to version %d", v + 1);
	}

	rc = run_simple(c, STMT_COMMIT);
	if (rc != RC_OK)
		goto out_rollback;
	rc = RC_OK;
	return rc;
out_rollback:
	if (sqlite3_get_autocommit(c->db) == 0)
		(void)run_simple(c, STMT_ROLLBACK);
	return rc;
}

/* SQLite's change counter for the main file, 0 when unknown. */
static unsigned int
data_version(struct store_conn *c)
{
	unsigned int v = 0;

	if (sqlite3_file_control(c->db, "main", SQLITE_FCNTL_DATA_VERSION,
	    &v) != SQLITE_OK)
		return 0;
	return v;
}

/* Read the last audit record's seq and hash through c. */
static enum rc
load_head(struct store_conn *c, int64_t *seq, unsigned char *hash)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;
	int err;

	rc = core_stmt(c, STMT_AUDIT_LAST, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	err = sqlite3_step(s);
	if (err == SQLITE_DONE) {
		*seq = 0;
		memset(hash, 0, STORE_HASH_LEN);
	} else if (err == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 1) != STORE_HASH_LEN) {
			log_error("store", "audit head hash is not 32 bytes");
			goto out;
		}
		*seq = sqlite3_column_int64(s, 0);
		memcpy(hash, sqlite3_column_blob(s, 1), STORE_HASH_LEN);
	} else {
		(void)store_fail_db(c->db, "load audit head");
		goto out;
	}
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Create the file with owner-only permissions before SQLite does, so the
 * database (and the -wal and -shm files SQLite makes with the same mode)
 * is never readable by others, whatever the umask.
 */
static enum rc
create_file(const char *path)
{
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_error("store", "cannot create database path=%s err=\"%m\"",
		    path);
		return RC_IO;
	}
	(void)close(fd);
	return RC_OK;
}

/*
 * The first generation of this process: the wall clock in nanoseconds.
 * A restarted server starts above any value its previous process could
 * have reached (that would take more than one commit a nanosecond), so
 * an ETag handed out before a restart never matches after it.
 */
static uint64_t
generation_start(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (uint64_t)time(NULL) * UINT64_C(1000000000);
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) +
	    (uint64_t)ts.tv_nsec;
}

/*
 * Open path: check the schema version before touching anything, then set
 * WAL, migrate, and remember the audit head.
 */
enum rc
store_open(const char *path, struct store **out, struct rc_why *why)
{
	pthread_mutexattr_t ma;
	struct store *st = NULL;
	enum rc rc = RC_NOMEM;
	int v;

	*out = NULL;
	rc_why_clear(why);
	if (sodium_init() < 0) {
		log_error("store", "libsodium failed to initialise");
		return RC_CRYPTO;
	}

	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return RC_NOMEM;
	st->path = strdup(path);
	if (st->path == NULL) {
		free(st);
		return RC_NOMEM;
	}
	/* An error-checking mutex turns a reentrant store_write into an
	 * error instead of a deadlock. */
	if (pthread_mutexattr_init(&ma) != 0 ||
	    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK) != 0 ||
	    pthread_mutex_init(&st->wlock, &ma) != 0) {
		free(st->path);
		free(st);
		return RC_NOMEM;
	}
	(void)pthread_mutexattr_destroy(&ma);
	if (pthread_mutex_init(&st->rlock, NULL) != 0) {
		(void)pthread_mutex_destroy(&st->wlock);
		free(st->path);
		free(st);
		return RC_NOMEM;
	}
	/* From here store_close() undoes whatever was done. */
	if (pthread_key_create(&st->rkey, on_thread_exit) != 0)
		goto out;
	st->key_made = true;

	rc = create_file(path);
	if (rc != RC_OK)
		goto out;
	rc = open_conn(path, true, &st->writer);
	if (rc != RC_OK)
		goto out;

	/* A newer schema is left exactly as found. */
	rc = read_version(st->writer, &v);
	if (rc != RC_OK)
		goto out;
	rc = check_version(v, why);
	if (rc != RC_OK)
		goto out;

	rc = set_wal(st->writer);
	if (rc != RC_OK)
		goto out;
	rc = migrate(st->writer, why);
	if (rc != RC_OK)
		goto out;
	rc = load_head(st->writer, &st->head_seq, st->head_hash);
	if (rc != RC_OK)
		goto out;
	st->data_version = data_version(st->writer);
	st->head_valid = true;
	atomic_init(&st->generation, generation_start());

	*out = st;
	st = NULL;
	rc = RC_OK;
out:
	store_close(st);
	return rc;
}

/*
 * Close every connection and free st.  No other thread may be inside a
 * store call, or exiting after one, while this runs.
 */
void
store_close(struct store *st)
{
	struct store_conn *c;

	if (st == NULL)
		return;
	/* Deleting the key first means no thread exit will close a reader
	 * behind our back. */
	if (st->key_made)
		(void)pthread_key_delete(st->rkey);
	while (st->readers != NULL) {
		c = st->readers;
		st->readers = c->next;
		close_conn(c);
	}
	/* The writer closes last so that it checkpoints the WAL. */
	close_conn(st->writer);
	(void)pthread_mutex_destroy(&st->rlock);
	(void)pthread_mutex_destroy(&st->wlock);
	free(st->path);
	free(st);
}

/* ---- transactions ------------------------------------------------------- */

/*
 * Begin on the writer (wlock held) and start tx from the cached audit
 * head.  The cache is reloaded when SQLite's data version says the file
 * changed since our last commit (another process wrote) or a failure
 * left the cache in doubt.  Were a change ever missed, the audit insert
 * would hit the seq primary key and fail, never fork the chain.
 */
static enum rc
tx_begin(struct store *st, struct store_tx *tx)
{
	enum rc rc = RC_DB;

	memset(tx, 0, sizeof(*tx));
	tx->st = st;
	tx->conn = st->writer;

	rc = run_simple(st->writer, STMT_BEGIN);
	if (rc != RC_OK)
		return rc;

	/*
	 * XXX(store-generation): a change written by another process on
	 * the same file raises the generation only here, at our next
	 * write, so until then an ETag can match data that changed; the
	 * server is the one writer in normal operation and the CLI talks
	 * to it over the admin socket.  Fix: have store_generation()
	 * compare SQLite's data version through a reader.
	 */
	if (st->data_version != 0 &&
	    data_version(st->writer) != st->data_version)
		atomic_fetch_add(&st->generation, 1);
	if (!st->head_valid || st->data_version == 0 ||
	    data_version(st->writer) != st->data_version) {
		rc = load_head(st->writer, &st->head_seq, st->head_hash);
		if (rc != RC_OK) {
			st->head_valid = false;
			(void)run_simple(st->writer, STMT_ROLLBACK);
			return rc;
		}
		st->head_valid = true;
	}
	tx->head_seq = st->head_seq;
	memcpy(tx->head_hash, st->head_hash, STORE_HASH_LEN);
	return RC_OK;
}

/*
 * Roll back tx.  The cached head was never touched, so it stays right,
 * unless a SQLite call failed: an audit insert refused for a duplicate
 * seq means another process appended unseen, so the next write reloads.
 */
static void
tx_rollback(struct store_tx *tx)
{
	struct store *st = tx->st;

	if (tx->failed)
		st->head_valid = false;
	/* SQLite may already have rolled back (disk full, I/O error). */
	if (sqlite3_get_autocommit(tx->conn->db) != 0)
		return;
	if (run_simple(tx->conn, STMT_ROLLBACK) != RC_OK)
		st->head_valid = false;
}

/* Commit tx, and only then publish its audit head to the cache. */
static enum rc
tx_commit(struct store_tx *tx)
{
	struct store *st = tx->st;
	enum rc rc = RC_DB;

	rc = run_simple(tx->conn, STMT_COMMIT);
	if (rc != RC_OK) {
		st->head_valid = false;
		tx_rollback(tx);
		return rc;
	}
	st->head_seq = tx->head_seq;
	memcpy(st->head_hash, tx->head_hash, STORE_HASH_LEN);
	st->data_version = data_version(tx->conn);
	st->head_valid = true;
	/* Raised only now, so a rolled-back change never moves it. */
	if (tx->touched)
		atomic_fetch_add(&st->generation, 1);
	return RC_OK;
}

/*
 * Lock the writer, BEGIN IMMEDIATE, run fn, COMMIT on RC_OK else ROLLBACK.
 * A transaction in which any store call hit a SQLite failure is rolled
 * back and answers RC_DB even if fn ignored that failure, so a half-done
 * change can never commit.
 */
enum rc
store_write(struct store *st, store_write_fn fn, void *arg)
{
	struct store_tx tx;
	enum rc rc = RC_INTERNAL;
	double start;
	int err;

	start = metrics_now();
	err = pthread_mutex_lock(&st->wlock);
	if (err != 0) {
		log_error("store", "cannot take the write lock "
		    "(store_write called from inside a write?) err=%d", err);
		return RC_INTERNAL;
	}

	rc = tx_begin(st, &tx);
	if (rc != RC_OK)
		goto out_unlock;

	rc = fn(&tx, arg);
	if (rc == RC_OK && tx.failed) {
		log_error("store", "write callback ignored a database failure");
		rc = RC_DB;
	}
	if (rc != RC_OK) {
		tx_rollback(&tx);
		goto out_unlock;
	}

	rc = tx_commit(&tx);
	if (rc != RC_OK)
		goto out_unlock;
	rc = RC_OK;
out_unlock:
	(void)pthread_mutex_unlock(&st->wlock);
	metrics_store_write(metrics_now() - start);
	return rc;
}

/*
 * Is the store usable?  One prepared SELECT on the calling thread's
 * read connection (the newest audit record, an index lookup), then the
 * database file and its directory must be writable, since an audit
 * record needs the file and SQLite's WAL beside it.  RC_DB when the
 * query fails, RC_IO when either is not writable.
 */
enum rc
store_ping(struct store *st)
{
	struct store_conn *c;
	sqlite3_stmt *s = NULL;
	char *dir = NULL, *slash;
	enum rc rc = RC_DB;
	int err;

	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		return rc;
	rc = core_stmt(c, STMT_PING, &s);
	if (rc != RC_OK)
		return rc;

	rc = RC_DB;
	err = sqlite3_step(s);
	if (err != SQLITE_ROW && err != SQLITE_DONE) {
		(void)store_fail_db(c->db, "ping");
		goto out;
	}

	rc = RC_NOMEM;
	dir = strdup(st->path);
	if (dir == NULL)
		goto out;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		(void)snprintf(dir, strlen(dir) + 1, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	rc = RC_IO;
	if (access(st->path, W_OK) != 0 || access(dir, W_OK) != 0) {
		log_warn("store", "database not writable path=%s", st->path);
		goto out;
	}
	rc = RC_OK;
out:
	free(dir);
	store_stmt_put(s);
	return rc;
}

/*
 * The change generation: raised after each commit that touched entries,
 * agents or join tokens, and when a write of ours finds that another
 * process changed the file.  Lock-free; any thread.
 */
uint64_t
store_generation(struct store *st)
{
	return atomic_load(&st->generation);
}

/* ---- meta --------------------------------------------------------------- */

/* Read meta name through c into value[len]; *found says if it exists. */
static enum rc
meta_get(struct store_conn *c, const char *name, char *value, size_t len,
    bool *found)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;
	int err;

	*found = false;
	if (len > 0)
		value[0] = '\0';
	rc = core_stmt(c, STMT_META_GET, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (store_bind_str(s, 1, name) != SQLITE_OK) {
		(void)store_fail_db(c->db, "meta_get bind");
		goto out;
	}
	err = sqlite3_step(s);
	if (err == SQLITE_ROW) {
		if (!store_col_copy(s, 0, value, len)) {
			log_error("store", "meta value does not fit name=%s "
			    "len=%zu", name, len);
			rc = RC_INTERNAL;
			goto out;
		}
		*found = true;
	} else if (err != SQLITE_DONE) {
		(void)store_fail_db(c->db, "meta_get");
		goto out;
	}
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Read a named value from the committed state (a write in progress on
 * another thread, or in a callback on this one, is not seen).  RC_OK with
 * *found false if absent; RC_INTERNAL if it does not fit value[len].
 */
enum rc
store_meta_get(struct store *st, const char *name, char *value, size_t len,
    bool *found)
{
	struct store_conn *c;
	enum rc rc = RC_DB;

	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		return rc;
	return meta_get(c, name, value, len, found);
}

/* Set (insert or replace) a named value inside tx. */
enum rc
store_meta_set(struct store_tx *tx, const char *name, const char *value)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;

	if (name == NULL || value == NULL)
		return RC_INTERNAL;
	rc = core_stmt(tx->conn, STMT_META_SET, &s);
	if (rc != RC_OK) {
		tx->failed = true;
		return rc;
	}
	rc = RC_DB;
	if (store_bind_str(s, 1, name) != SQLITE_OK ||
	    store_bind_str(s, 2, value) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, "meta_set");
		goto out;
	}
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/* Record td in the writer's transaction, or refuse another one. */
static enum rc
on_check_td(struct store_tx *tx, void *arg)
{
	struct td_check *tc = arg;
	char have[SPIFFEID_TD_MAX + 1];
	bool found;
	enum rc rc = RC_DB;

	rc = meta_get(tx->conn, STORE_TD_NAME, have, sizeof(have), &found);
	if (rc != RC_OK) {
		tx->failed = true;
		return rc;
	}
	if (!found)
		return store_meta_set(tx, STORE_TD_NAME, tc->td);
	if (strcmp(have, tc->td) != 0)
		return rc_why_set(tc->why, RC_CONFLICT, "trust_domain",
		    "DESIGN.md The rules of the trust domain",
		    "data dir belongs to trust domain \"%s\", not \"%s\"",
		    have, tc->td);
	return RC_OK;
}

/*
 * Bind the file to td on first use; refuse another td (RC_CONFLICT), an
 * empty or over-long one (RC_BAD_REQUEST); why says which.
 */
enum rc
store_check_td(struct store *st, const char *td, struct rc_why *why)
{
	struct td_check tc;

	rc_why_clear(why);
	if (td == NULL || td[0] == '\0')
		return rc_why_set(why, RC_BAD_REQUEST, "trust_domain",
		    "SPIFFE-ID 2.1", "trust domain is empty");
	if (strlen(td) > SPIFFEID_TD_MAX)
		return rc_why_set(why, RC_BAD_REQUEST, "trust_domain",
		    "SPIFFE-ID 2.3", "trust domain is longer than %d bytes",
		    SPIFFEID_TD_MAX);
	tc.td = td;
	tc.why = why;
	return store_write(st, on_check_td, &tc);
}

/* ---- authorities -------------------------------------------------------- */

/* Fill a from the current row of s (STMT_AUTH_LOAD); der is malloc'd. */
static enum rc
read_authority(sqlite3_stmt *s, struct store_authority *a)
{
	const void *der;
	int n;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	if (!parse_kind(sqlite3_column_text(s, 1), &a->kind) ||
	    !parse_state(sqlite3_column_text(s, 2), &a->state)) {
		log_error("store", "authority has an unknown kind or state "
		    "row=%lld", (long long)a->id);
		return RC_DB;
	}
	a->not_before = (time_t)sqlite3_column_int64(s, 3);
	a->not_after = (time_t)sqlite3_column_int64(s, 4);
	a->created_at = (time_t)sqlite3_column_int64(s, 5);
	a->activated_at = (time_t)sqlite3_column_int64(s, 6);
	a->signed_until = (time_t)sqlite3_column_int64(s, 7);
	a->tainted = sqlite3_column_int(s, 8) != 0;
	if (!store_col_copy(s, 9, a->key_ref, sizeof(a->key_ref)) ||
	    !store_col_copy(s, 10, a->kid, sizeof(a->kid))) {
		log_error("store", "authority key_ref or kid too long row=%lld",
		    (long long)a->id);
		return RC_DB;
	}
	der = sqlite3_column_blob(s, 11);
	n = sqlite3_column_bytes(s, 11);
	if (n > 0) {
		a->der = malloc((size_t)n);
		if (a->der == NULL)
			return RC_NOMEM;
		memcpy(a->der, der, (size_t)n);
		a->der_len = (size_t)n;
	}
	return RC_OK;
}

/*
 * Load every authority, oldest first, from the committed state.  RC_OK
 * with *out (NULL when *n is 0) for store_authorities_free(); RC_DB if a
 * row is unreadable or there are more than STORE_AUTHORITIES_MAX.
 */
enum rc
store_authorities_load(struct store *st, struct store_authority **out,
    size_t *n)
{
	struct store_authority *v = NULL, *nv;
	struct store_conn *c;
	sqlite3_stmt *s = NULL;
	size_t cnt = 0, cap = 0;
	enum rc rc = RC_DB;
	int err;

	*out = NULL;
	*n = 0;
	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		return rc;
	rc = core_stmt(c, STMT_AUTH_LOAD, &s);
	if (rc != RC_OK)
		return rc;

	for (;;) {
		rc = RC_DB;
		err = sqlite3_step(s);
		if (err == SQLITE_DONE)
			break;
		if (err != SQLITE_ROW) {
			(void)store_fail_db(c->db, "authorities_load");
			goto out;
		}
		if (cnt == STORE_AUTHORITIES_MAX) {
			log_error("store", "more than %d authorities",
			    STORE_AUTHORITIES_MAX);
			goto out;
		}
		if (cnt == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			nv = reallocarray(v, cap, sizeof(*v));
			if (nv == NULL) {
				rc = RC_NOMEM;
				goto out;
			}
			v = nv;
		}
		rc = read_authority(s, &v[cnt]);
		if (rc != RC_OK) {
			free(v[cnt].der);
			goto out;
		}
		cnt++;
	}

	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
	rc = RC_OK;
out:
	store_stmt_put(s);
	store_authorities_free(v, cnt);
	return rc;
}

/* Free what store_authorities_load() returned; NULL is fine. */
void
store_authorities_free(struct store_authority *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i].der);
	free(v);
}

/* Is the fixed-size string s[len] NUL-terminated? */
static bool
is_terminated(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

/*
 * Insert a inside tx and set a->id.  RC_INTERNAL if kind or state is out
 * of range or key_ref or kid is not a terminated string (a caller bug).
 */
enum rc
store_authority_insert(struct store_tx *tx, struct store_authority *a)
{
	static const unsigned char empty[1];
	const char *kind, *state;
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;

	kind = kind_str(a->kind);
	state = state_str(a->state);
	if (kind == NULL || state == NULL ||
	    !is_terminated(a->key_ref, sizeof(a->key_ref)) ||
	    !is_terminated(a->kid, sizeof(a->kid)) ||
	    (a->der == NULL && a->der_len != 0) || a->der_len > INT_MAX) {
		log_error("store", "refusing a malformed authority record");
		return RC_INTERNAL;
	}
	rc = core_stmt(tx->conn, STMT_AUTH_INSERT, &s);
	if (rc != RC_OK) {
		tx->failed = true;
		return rc;
	}
	rc = RC_DB;
	if (store_bind_str(s, 1, kind) != SQLITE_OK ||
	    store_bind_str(s, 2, state) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, (sqlite3_int64)a->not_before) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(s, 4, (sqlite3_int64)a->not_after) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(s, 5, (sqlite3_int64)a->created_at) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(s, 6, (sqlite3_int64)a->activated_at) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(s, 7, (sqlite3_int64)a->signed_until) !=
	    SQLITE_OK ||
	    sqlite3_bind_int(s, 8, a->tainted ? 1 : 0) != SQLITE_OK ||
	    store_bind_str(s, 9, a->key_ref) != SQLITE_OK ||
	    store_bind_str(s, 10, a->kid) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 11, a->der == NULL ? empty : a->der,
	    (int)a->der_len, SQLITE_STATIC) != SQLITE_OK) {
		(void)store_fail_tx(tx, "authority_insert bind");
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, "authority_insert");
		goto out;
	}
	a->id = sqlite3_last_insert_rowid(tx->conn->db);
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Write a's state, activated_at, signed_until and tainted inside tx.
 * RC_NOT_FOUND if no authority has a->id; RC_INTERNAL for a bad state.
 */
enum rc
store_authority_update(struct store_tx *tx, const struct store_authority *a)
{
	const char *state;
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;

	state = state_str(a->state);
	if (state == NULL) {
		log_error("store", "refusing an unknown authority state");
		return RC_INTERNAL;
	}
	rc = core_stmt(tx->conn, STMT_AUTH_UPDATE, &s);
	if (rc != RC_OK) {
		tx->failed = true;
		return rc;
	}
	rc = RC_DB;
	if (sqlite3_bind_int64(s, 1, a->id) != SQLITE_OK ||
	    store_bind_str(s, 2, state) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, (sqlite3_int64)a->activated_at) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(s, 4, (sqlite3_int64)a->signed_until) !=
	    SQLITE_OK ||
	    sqlite3_bind_int(s, 5, a->tainted ? 1 : 0) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, "authority_update");
		goto out;
	}
	if (sqlite3_changes(tx->conn->db) == 0) {
		rc = RC_NOT_FOUND;
		goto out;
	}
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/* Delete authority id inside tx; RC_NOT_FOUND if there is none. */
enum rc
store_authority_delete(struct store_tx *tx, int64_t id)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;

	rc = core_stmt(tx->conn, STMT_AUTH_DELETE, &s);
	if (rc != RC_OK) {
		tx->failed = true;
		return rc;
	}
	rc = RC_DB;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, "authority_delete");
		goto out;
	}
	if (sqlite3_changes(tx->conn->db) == 0) {
		rc = RC_NOT_FOUND;
		goto out;
	}
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/* ---- audit -------------------------------------------------------------- */

/*
 * Append rec inside tx as seq head + 1, chained to the head's hash (see
 * the top of this file).  The transaction's own head advances; the shared
 * cache follows only when the commit succeeds.
 */
enum rc
store_audit_append(struct store_tx *tx, const struct store_audit *rec,
    int64_t *seq)
{
	unsigned char hash[STORE_HASH_LEN];
	sqlite3_stmt *s = NULL;
	int64_t n, at;
	enum rc rc = RC_DB;

	n = tx->head_seq + 1;
	at = rec->at != 0 ? (int64_t)rec->at : (int64_t)time(NULL);
	rc = hash_record(tx->head_hash, n, at, rec, hash);
	if (rc != RC_OK) {
		log_error("store", "audit hash failed");
		tx->failed = true;
		return rc;
	}

	rc = core_stmt(tx->conn, STMT_AUDIT_INSERT, &s);
	if (rc != RC_OK) {
		tx->failed = true;
		return rc;
	}
	rc = RC_DB;
	if (sqlite3_bind_int64(s, 1, n) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, at) != SQLITE_OK ||
	    store_bind_str(s, 3, rec->actor) != SQLITE_OK ||
	    store_bind_str(s, 4, rec->action) != SQLITE_OK ||
	    store_bind_str(s, 5, rec->subject) != SQLITE_OK ||
	    store_bind_str(s, 6, rec->outcome) != SQLITE_OK ||
	    store_bind_str(s, 7, rec->serial) != SQLITE_OK ||
	    store_bind_str(s, 8, rec->entry_id) != SQLITE_OK ||
	    store_bind_str(s, 9, rec->detail) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 10, tx->head_hash, STORE_HASH_LEN,
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 11, hash, STORE_HASH_LEN,
	    SQLITE_STATIC) != SQLITE_OK) {
		(void)store_fail_tx(tx, "audit_insert bind");
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, "audit_insert");
		goto out;
	}

	tx->head_seq = n;
	memcpy(tx->head_hash, hash, STORE_HASH_LEN);
	if (seq != NULL)
		*seq = n;
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Count the committed audit records and give the head's hash as 64 hex
 * digits plus NUL in head_hex (65 bytes); with no record, count 0 and 64
 * zeros (the value the first record chains onto).  One statement, so
 * count and hash come from the same snapshot.
 */
enum rc
store_audit_head(struct store *st, int64_t *count, char *head_hex)
{
	static const unsigned char zero[STORE_HASH_LEN];
	const unsigned char *h = zero;
	struct store_conn *c;
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;
	int err;

	*count = 0;
	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		return rc;
	rc = core_stmt(c, STMT_AUDIT_HEAD, &s);
	if (rc != RC_OK)
		return rc;

	rc = RC_DB;
	err = sqlite3_step(s);
	if (err == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 1) != STORE_HASH_LEN) {
			log_error("store", "audit head hash is not 32 bytes");
			goto out;
		}
		*count = sqlite3_column_int64(s, 0);
		h = sqlite3_column_blob(s, 1);
	} else if (err != SQLITE_DONE) {
		(void)store_fail_db(c->db, "audit_head");
		goto out;
	}
	(void)sodium_bin2hex(head_hex, STORE_HASH_LEN * 2 + 1, h,
	    STORE_HASH_LEN);
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/* ---- backup ------------------------------------------------------------- */

/*
 * Copy the database at db_path into dest with SQLite's online backup.
 * The source is opened read-only and copied in one step, inside one read
 * transaction, so the copy is a consistent snapshot even while a server
 * writes (WAL lets it go on meanwhile).  dest is created here, mode 0600,
 * and must not exist: RC_CONFLICT.  A source that cannot be opened is
 * RC_IO; a failed copy RC_DB and dest is removed.  why says which.
 */
enum rc
store_backup(const char *db_path, const char *dest, struct rc_why *why)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b = NULL;
	bool made = false;
	enum rc rc = RC_IO;
	int fd, err;

	rc_why_clear(why);
	err = sqlite3_open_v2(db_path, &src, SQLITE_OPEN_READONLY, NULL);
	if (err != SQLITE_OK) {
		rc = src == NULL ? RC_NOMEM : rc_why_set(why, RC_IO,
		    "db_path", "DESIGN.md Store", "cannot open database "
		    "\"%s\": %s", db_path, sqlite3_errmsg(src));
		goto out;
	}

	/* O_EXCL: never write over a file, even one made a moment ago. */
	fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		rc = rc_why_set(why, errno == EEXIST ? RC_CONFLICT : RC_IO,
		    "dest", "DESIGN.md Store", "cannot create backup \"%s\":"
		    " %s", dest, strerror(errno));
		goto out;
	}
	made = true;
	err = fchmod(fd, 0600);
	(void)close(fd);
	if (err != 0) {
		rc = rc_why_set(why, RC_IO, "dest", "DESIGN.md Store",
		    "cannot set mode 0600 on backup \"%s\"", dest);
		goto out;
	}

	rc = RC_DB;
	err = sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE, NULL);
	if (err != SQLITE_OK) {
		if (dst == NULL) {
			rc = RC_NOMEM;
			goto out;
		}
		(void)store_fail_db(dst, "open backup");
		goto out_why;
	}
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (b == NULL) {
		(void)store_fail_db(dst, "backup init");
		goto out_why;
	}
	err = sqlite3_backup_step(b, -1);
	if (err != SQLITE_DONE) {
		log_error("store", "backup step failed db=\"%s (%d)\"",
		    sqlite3_errstr(err), err);
		(void)sqlite3_backup_finish(b);
		goto out_why;
	}
	if (sqlite3_backup_finish(b) != SQLITE_OK) {
		(void)store_fail_db(dst, "backup finish");
		goto out_why;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		(void)store_fail_db(dst, "close backup");
		goto out_why;
	}
	dst = NULL;

	log_info("store", "database copied path=%s dest=%s", db_path, dest);
	made = false;
	rc = RC_OK;
	goto out;
out_why:
	(void)rc_why_set(why, RC_DB, "dest", "DESIGN.md Store",
	    "copying \"%s\" to \"%s\" failed", db_path, dest);
out:
	(void)sqlite3_close(dst);
	(void)sqlite3_close(src);
	if (made)
		(void)unlink(dest);
	return rc;
}
