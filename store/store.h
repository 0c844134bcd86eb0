/*
 * store.h: the datastore interface.  The SQLite implementation (store.c)
 * keeps one database file in WAL mode, applies numbered migrations at
 * open, and serialises every write through one path so no caller ever
 * sees "database is locked".  Nothing here knows HTTP.
 *
 * Writes: store_write() runs a callback inside one IMMEDIATE transaction
 * on the single writer connection and commits when it returns RC_OK, else
 * rolls back.  Every change and its audit record go through the same
 * callback, so they commit together or not at all.  Reads may run from
 * any thread concurrently (each thread gets its own read connection).
 *
 * The interface is narrow so that another backend (PostgreSQL) can
 * implement it later without touching api/.
 */
#ifndef SVIDCA_STORE_H
#define SVIDCA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../server/rc.h"

#define STORE_SCHEMA_VERSION	1	/* migrations this binary knows */
#define STORE_KEY_REF_MAX	64	/* bytes of a sealed key file name */
#define STORE_KID_MAX		64	/* bytes of a JWT kid */
#define STORE_AUTHORITIES_MAX	256	/* rows store_authorities_load takes */

struct store;
struct store_tx;		/* a write transaction in progress */

/*
 * Open (creating if needed, mode 0600) the database at path, set WAL,
 * apply the migrations.  A schema newer than STORE_SCHEMA_VERSION is
 * refused and left untouched (RC_CONFLICT, why says both versions).
 * Other failures: RC_IO (cannot create the file), RC_DB, RC_NOMEM,
 * RC_CRYPTO, logged, why left clear.  Caller closes.
 */
enum rc		 store_open(const char *path, struct store **out,
		    struct rc_why *why) MUST_CHECK;

/*
 * Close every connection and free; NULL is fine.  No other thread may be
 * inside a store call, or exiting after one, while it runs.
 */
void		 store_close(struct store *);

/*
 * Bind the database to a trust domain: record td on first use; refuse
 * (RC_CONFLICT, why names both) when another one is recorded, and an
 * empty or over-long td (RC_BAD_REQUEST).
 */
enum rc		 store_check_td(struct store *, const char *td,
		    struct rc_why *why) MUST_CHECK;

/*
 * Run fn(tx, arg) in one write transaction.  Commit if it returns RC_OK,
 * roll back otherwise, and return what fn returned (or RC_DB if the
 * commit failed, or if a store call inside fn hit a SQLite failure that
 * fn ignored).  Writes from all threads queue on one lock; keep fn short
 * and free of I/O other than the store's.  Not reentrant: fn must not
 * call store_write() (it would get RC_INTERNAL).  Reads made inside fn
 * through struct store calls see the committed state, not fn's changes.
 */
typedef enum rc (*store_write_fn)(struct store_tx *, void *arg);
enum rc		 store_write(struct store *, store_write_fn fn, void *arg)
		    MUST_CHECK;

/* ---- authorities -------------------------------------------------- */

enum store_auth_kind { STORE_AUTH_X509 = 0, STORE_AUTH_JWT = 1 };
enum store_auth_state {
	STORE_AUTH_PREPARED = 0,
	STORE_AUTH_ACTIVE = 1,
	STORE_AUTH_OLD = 2,
};

struct store_authority {
	int64_t			 id;		/* row id, set by insert */
	enum store_auth_kind	 kind;
	enum store_auth_state	 state;
	time_t			 not_before;	/* Unix seconds */
	time_t			 not_after;	/* Unix seconds */
	time_t			 created_at;
	time_t			 activated_at;	/* 0 while prepared */
	time_t			 signed_until;	/* latest notAfter it signed */
	bool			 tainted;
	char			 key_ref[STORE_KEY_REF_MAX]; /* sealed file name */
	char			 kid[STORE_KID_MAX];	/* JWT kid or SKI hex */
	unsigned char		*der;		/* cert (x509) or SPKI (jwt) */
	size_t			 der_len;
};

/*
 * All authorities, oldest first; *out (NULL when *n is 0) is freed by
 * store_authorities_free.  RC_DB for an unreadable row or more than
 * STORE_AUTHORITIES_MAX rows.
 */
enum rc		 store_authorities_load(struct store *,
		    struct store_authority **out, size_t *n) MUST_CHECK;
void		 store_authorities_free(struct store_authority *, size_t n);

/*
 * Insert a (its id is set) inside tx.  RC_INTERNAL if kind or state is
 * unknown or key_ref or kid is not NUL-terminated.
 */
enum rc		 store_authority_insert(struct store_tx *,
		    struct store_authority *a) MUST_CHECK;

/*
 * Write a's state, activated_at, signed_until and tainted inside tx.
 * RC_NOT_FOUND if no authority has a->id.
 */
enum rc		 store_authority_update(struct store_tx *,
		    const struct store_authority *a) MUST_CHECK;

/* Delete the authority with this id inside tx; RC_NOT_FOUND if none. */
enum rc		 store_authority_delete(struct store_tx *, int64_t id)
		    MUST_CHECK;

/* ---- small named values (bundle sequence and the like) ------------ */

/*
 * Read name's committed value into value[len].  RC_OK with *found false
 * (value "") if absent; RC_INTERNAL if it does not fit (never cut).
 * store_meta_set inserts or replaces inside tx.
 */
enum rc		 store_meta_get(struct store *, const char *name,
		    char *value, size_t len, bool *found) MUST_CHECK;
enum rc		 store_meta_set(struct store_tx *, const char *name,
		    const char *value) MUST_CHECK;

/* ---- audit -------------------------------------------------------- */

/*
 * One audit record.  Strings are borrowed; NULL stores as empty.  detail
 * is a JSON object text.  The store adds the sequence number, the time
 * if at is 0, and the hash chain: hash = BLAKE2b-256 over the previous
 * record's hash and this record's canonical encoding.
 */
struct store_audit {
	time_t		 at;		/* Unix seconds, 0 = now */
	const char	*actor;		/* SPIFFE ID, "uid:N" or "server" */
	const char	*action;	/* "authority.create", "svid.x509" ... */
	const char	*subject;	/* what it was done to */
	const char	*outcome;	/* "ok", "denied", ... */
	const char	*serial;	/* certificate serial hex, may be NULL */
	const char	*entry_id;	/* registration entry, may be NULL */
	const char	*detail;	/* JSON object text, may be NULL */
};

/* Append rec inside tx; *seq (if not NULL) gets its sequence number. */
enum rc		 store_audit_append(struct store_tx *,
		    const struct store_audit *rec, int64_t *seq) MUST_CHECK;

/*
 * Committed records in the chain (*count, which is also the head's
 * sequence) and the head's hash as 64 hex digits and a NUL (65 bytes);
 * with no record, 0 and 64 zeros, the value the first record chains to.
 */
enum rc		 store_audit_head(struct store *, int64_t *count,
		    char *head_hex) MUST_CHECK;

#endif
