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

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "../server/bounds.h"
#include "../server/log.h"

#define STORE_HASH_LEN		32	/* bytes of an audit chain hash */
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
};

_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) ==
    STORE_SCHEMA_VERSION, "one migration script per schema version");

/* ---- statements --------------------------------------------------------- */

enum stmt_id {
	STMT_BEGIN = 0,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_META_GET,
	STMT_META_SET,
	STMT_AUTH_LOAD,
	STMT_AUTH_INSERT,
	STMT_AUTH_UPDATE,
	STMT_AUTH_DELETE,
	STMT_AUDIT_INSERT,
	STMT_AUDIT_LAST,
	STMT_AUDIT_HEAD,
	STMT_COUNT
};

static const struct {
	const char	*name;		/* for log lines */
	const char	*sql;
} stmt_table[STMT_COUNT] = {
	[STMT_BEGIN] = { "begin", "BEGIN IMMEDIATE" },
	[STMT_COMMIT] = { "commit", "COMMIT" },
	[STMT_ROLLBACK] = { "rollback", "ROLLBACK" },
	[STMT_META_GET] = { "meta_get",
	    "SELECT value FROM meta WHERE name = ?1" },
	[STMT_META_SET] = { "meta_set",
	    "INSERT INTO meta (name, value) VALUES (?1, ?2)"
	    " ON CONFLICT (name) DO UPDATE SET value = excluded.value" },
	[STMT_AUTH_LOAD] = { "authorities_load",
	    "SELECT id, kind, state, not_before, not_after, created_at,"
	    " activated_at, signed_until, tainted, key_ref, kid, der"
	    " FROM authorities ORDER BY id" },
	[STMT_AUTH_INSERT] = { "authority_insert",
	    "INSERT INTO authorities (kind, state, not_before, not_after,"
	    " created_at, activated_at, signed_until, tainted, key_ref, kid,"
	    " der) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)" },
	[STMT_AUTH_UPDATE] = { "authority_update",
	    "UPDATE authorities SET state = ?2, activated_at = ?3,"
	    " signed_until = ?4, tainted = ?5 WHERE id = ?1" },
	[STMT_AUTH_DELETE] = { "authority_delete",
	    "DELETE FROM authorities WHERE id = ?1" },
	[STMT_AUDIT_INSERT] = { "audit_insert",
	    "INSERT INTO audit (seq, at, actor, action, subject, outcome,"
	    " serial, entry_id, detail, prev_hash, hash)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)" },
	[STMT_AUDIT_LAST] = { "audit_last",
	    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1" },
	[STMT_AUDIT_HEAD] = { "audit_head",
	    "SELECT (SELECT count(*) FROM audit), hash FROM audit"
	    " ORDER BY seq DESC LIMIT 1" },
};

/* ---- types -------------------------------------------------------------- */

/* One SQLite connection and the statements prepared on it. */
struct store_conn {
	sqlite3			*db;			/* owned */
	sqlite3_stmt		*stmt[STMT_COUNT];	/* owned, lazy */
	struct store		*st;			/* readers: owner */
	struct store_conn	*next;			/* readers: list link */
};

struct store {
	char			*path;		/* database file, owned */
	pthread_mutex_t		 wlock;		/* the single writer */
	struct store_conn	*writer;	/* guarded by wlock */
	bool			 head_valid;	/* head_* match the file */
	int64_t			 head_seq;	/* last committed seq, 0 none */
	unsigned char		 head_hash[STORE_HASH_LEN]; /* its hash */
	unsigned int		 data_version;	/* file version at head_* */
	bool			 key_made;	/* rkey exists */
	pthread_key_t		 rkey;		/* thread -> its reader */
	pthread_mutex_t		 rlock;		/* guards readers */
	struct store_conn	*readers;	/* every open reader */
};

struct store_tx {
	struct store		*st;		/* owner, wlock held */
	struct store_conn	*conn;		/* the writer */
	int64_t			 head_seq;	/* audit head inside the tx */
	unsigned char		 head_hash[STORE_HASH_LEN];
	bool			 failed;	/* a SQLite call failed */
};

/* Outcome of a td check, carried through store_write(). */
struct td_check {
	const char	*td;		/* the configured trust domain */
	struct rc_why	*why;		/* filled on a refusal, may be NULL */
};

/* ---- helpers ------------------------------------------------------------ */

/* Log SQLite's own words for a failed call on db; returns RC_DB. */
static enum rc
fail_db(sqlite3 *db, const char *what)
{
	log_error("store", "%s failed db=\"%s (%d)\"", what,
	    sqlite3_errmsg(db), sqlite3_extended_errcode(db));
	return RC_DB;
}

/* As fail_db, and mark the transaction so that it cannot commit. */
static enum rc
fail_tx(struct store_tx *tx, const char *what)
{
	tx->failed = true;
	return fail_db(tx->conn->db, what);
}

/*
 * The cached statement id on c, prepared on first use.  Returns RC_OK, or
 * RC_DB (logged).  The statement stays owned by c.
 */
static enum rc
get_stmt(struct store_conn *c, enum stmt_id id, sqlite3_stmt **out)
{
	int err;

	*out = NULL;
	if (c->stmt[id] == NULL) {
		err = sqlite3_prepare_v3(c->db, stmt_table[id].sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &c->stmt[id], NULL);
		if (err != SQLITE_OK) {
			log_error("store", "cannot prepare statement %s "
			    "db=\"%s (%d)\"", stmt_table[id].name,
			    sqlite3_errmsg(c->db), err);
			return RC_DB;
		}
	}
	*out = c->stmt[id];
	return RC_OK;
}

/* Make s ready for its next use and drop any read snapshot it holds. */
static void
put_stmt(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
}

/* Run a statement that returns no row (BEGIN, COMMIT, ROLLBACK). */
static enum rc
run_simple(struct store_conn *c, enum stmt_id id)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;

	rc = get_stmt(c, id, &s);
	if (rc != RC_OK)
		return rc;
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = fail_db(c->db, stmt_table[id].name);
		goto out;
	}
	rc = RC_OK;
out:
	put_stmt(s);
	return rc;
}

/* Bind s as text, NULL as "", borrowed until the statement is reset. */
static int
bind_str(sqlite3_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(s, i, v == NULL ? "" : v, -1, SQLITE_STATIC);
}

/* Copy column i of s into buf[len] as a string; false if it does not fit. */
static bool
copy_col(sqlite3_stmt *s, int i, char *buf, size_t len)
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
	static const char *const w_only = "PRAGMA synchronous = FULL;";
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
		(void)fail_db(c->db, "connection setup");
		goto out;
	}
	if (sqlite3_exec(c->db, common, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, writer ? w_only : r_only, NULL, NULL,
	    NULL) != SQLITE_OK) {
		(void)fail_db(c->db, "connection pragmas");
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
 * owned by st and is closed when the thread exits or st closes.
 */
static enum rc
reader_get(struct store *st, struct store_conn **out)
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
		rc = fail_db(c->db, "read schema version");
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = fail_db(c->db, "read schema version");
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
		rc = fail_db(c->db, "set journal mode");
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
			(void)fail_db(c->db, "set schema version");
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

	rc = get_stmt(c, STMT_AUDIT_LAST, &s);
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
		(void)fail_db(c->db, "load audit head");
		goto out;
	}
	rc = RC_OK;
out:
	put_stmt(s);
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
	int err;

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
	return rc;
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
	rc = get_stmt(c, STMT_META_GET, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (bind_str(s, 1, name) != SQLITE_OK) {
		(void)fail_db(c->db, "meta_get bind");
		goto out;
	}
	err = sqlite3_step(s);
	if (err == SQLITE_ROW) {
		if (!copy_col(s, 0, value, len)) {
			log_error("store", "meta value does not fit name=%s "
			    "len=%zu", name, len);
			rc = RC_INTERNAL;
			goto out;
		}
		*found = true;
	} else if (err != SQLITE_DONE) {
		(void)fail_db(c->db, "meta_get");
		goto out;
	}
	rc = RC_OK;
out:
	put_stmt(s);
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

	rc = reader_get(st, &c);
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
	rc = get_stmt(tx->conn, STMT_META_SET, &s);
	if (rc != RC_OK) {
		tx->failed = true;
		return rc;
	}
	rc = RC_DB;
	if (bind_str(s, 1, name) != SQLITE_OK ||
	    bind_str(s, 2, value) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		(void)fail_tx(tx, "meta_set");
		goto out;
	}
	rc = RC_OK;
out:
	put_stmt(s);
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
	if (!copy_col(s, 9, a->key_ref, sizeof(a->key_ref)) ||
	    !copy_col(s, 10, a->kid, sizeof(a->kid))) {
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
	rc = reader_get(st, &c);
	if (rc != RC_OK)
		return rc;
	rc = get_stmt(c, STMT_AUTH_LOAD, &s);
	if (rc != RC_OK)
		return rc;

	for (;;) {
		rc = RC_DB;
		err = sqlite3_step(s);
		if (err == SQLITE_DONE)
			break;
		if (err != SQLITE_ROW) {
			(void)fail_db(c->db, "authorities_load");
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
	put_stmt(s);
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
	rc = get_stmt(tx->conn, STMT_AUTH_INSERT, &s);
	if (rc != RC_OK) {
		tx->failed = true;
		return rc;
	}
	rc = RC_DB;
	if (bind_str(s, 1, kind) != SQLITE_OK ||
	    bind_str(s, 2, state) != SQLITE_OK ||
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
	    bind_str(s, 9, a->key_ref) != SQLITE_OK ||
	    bind_str(s, 10, a->kid) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 11, a->der == NULL ? empty : a->der,
	    (int)a->der_len, SQLITE_STATIC) != SQLITE_OK) {
		(void)fail_tx(tx, "authority_insert bind");
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		(void)fail_tx(tx, "authority_insert");
		goto out;
	}
	a->id = sqlite3_last_insert_rowid(tx->conn->db);
	rc = RC_OK;
out:
	put_stmt(s);
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
	rc = get_stmt(tx->conn, STMT_AUTH_UPDATE, &s);
	if (rc != RC_OK) {
		tx->failed = true;
		return rc;
	}
	rc = RC_DB;
	if (sqlite3_bind_int64(s, 1, a->id) != SQLITE_OK ||
	    bind_str(s, 2, state) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, (sqlite3_int64)a->activated_at) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(s, 4, (sqlite3_int64)a->signed_until) !=
	    SQLITE_OK ||
	    sqlite3_bind_int(s, 5, a->tainted ? 1 : 0) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		(void)fail_tx(tx, "authority_update");
		goto out;
	}
	if (sqlite3_changes(tx->conn->db) == 0) {
		rc = RC_NOT_FOUND;
		goto out;
	}
	rc = RC_OK;
out:
	put_stmt(s);
	return rc;
}

/* Delete authority id inside tx; RC_NOT_FOUND if there is none. */
enum rc
store_authority_delete(struct store_tx *tx, int64_t id)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;

	rc = get_stmt(tx->conn, STMT_AUTH_DELETE, &s);
	if (rc != RC_OK) {
		tx->failed = true;
		return rc;
	}
	rc = RC_DB;
	if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		(void)fail_tx(tx, "authority_delete");
		goto out;
	}
	if (sqlite3_changes(tx->conn->db) == 0) {
		rc = RC_NOT_FOUND;
		goto out;
	}
	rc = RC_OK;
out:
	put_stmt(s);
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

	rc = get_stmt(tx->conn, STMT_AUDIT_INSERT, &s);
	if (rc != RC_OK) {
		tx->failed = true;
		return rc;
	}
	rc = RC_DB;
	if (sqlite3_bind_int64(s, 1, n) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, at) != SQLITE_OK ||
	    bind_str(s, 3, rec->actor) != SQLITE_OK ||
	    bind_str(s, 4, rec->action) != SQLITE_OK ||
	    bind_str(s, 5, rec->subject) != SQLITE_OK ||
	    bind_str(s, 6, rec->outcome) != SQLITE_OK ||
	    bind_str(s, 7, rec->serial) != SQLITE_OK ||
	    bind_str(s, 8, rec->entry_id) != SQLITE_OK ||
	    bind_str(s, 9, rec->detail) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 10, tx->head_hash, STORE_HASH_LEN,
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 11, hash, STORE_HASH_LEN,
	    SQLITE_STATIC) != SQLITE_OK) {
		(void)fail_tx(tx, "audit_insert bind");
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		(void)fail_tx(tx, "audit_insert");
		goto out;
	}

	tx->head_seq = n;
	memcpy(tx->head_hash, hash, STORE_HASH_LEN);
	if (seq != NULL)
		*seq = n;
	rc = RC_OK;
out:
	put_stmt(s);
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
	rc = reader_get(st, &c);
	if (rc != RC_OK)
		return rc;
	rc = get_stmt(c, STMT_AUDIT_HEAD, &s);
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
		(void)fail_db(c->db, "audit_head");
		goto out;
	}
	(void)sodium_bin2hex(head_hex, STORE_HASH_LEN * 2 + 1, h,
	    STORE_HASH_LEN);
	rc = RC_OK;
out:
	put_stmt(s);
	return rc;
}
