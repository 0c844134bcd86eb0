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

#define STORE_SCHEMA_VERSION	3	/* migrations this binary knows */
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

/*
 * Does the store answer and can it be written?  One prepared SELECT on
 * the calling thread's read connection, then a check that the database
 * file and its directory are writable.  RC_OK, RC_DB or RC_IO.  Cheap
 * enough for every /ready probe; any thread.
 */
enum rc		 store_ping(struct store *) MUST_CHECK;

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

/* ---- audit queries and checkpoints (store_audit.c) ------------------ */

#define STORE_CHECKPOINT_SIG_LEN 64	/* bytes of an Ed25519 signature */
#define STORE_AUDIT_PUBKEY_META	"audit_checkpoint_pubkey" /* meta name */

/* One stored audit record as read back; strings owned ("" if empty). */
struct store_audit_row {
	int64_t		 seq;			/* from 1 */
	time_t		 at;			/* Unix seconds */
	char		*actor;
	char		*action;
	char		*subject;
	char		*outcome;
	char		*serial;
	char		*entry_id;
	char		*detail;
	unsigned char	 prev_hash[32];		/* previous record's hash */
	unsigned char	 hash[32];		/* this record's hash */
};

/* A filter for store_audit_list; NULL / 0 members do not filter. */
struct store_audit_filter {
	const char	*actor;		/* exact */
	const char	*subject;	/* exact */
	const char	*serial;	/* exact */
	const char	*entry_id;	/* exact */
	const char	*agent;		/* actor or subject equals it */
	const char	*action;	/* exact */
	time_t		 since;		/* at >= since, 0 = any */
	time_t		 until;		/* at < until, 0 = any */
};

/* Free an array of n rows from store_audit_list; NULL is fine. */
void		 store_audit_rows_free(struct store_audit_row *v, size_t n);

/*
 * Records matching f with seq > after, in chain order, at most page_size
 * (1..PAGE_SIZE_MAX).  *more is set when another matching record follows
 * the page.  *out (NULL when *n is 0) is freed by store_audit_rows_free.
 * RC_INTERNAL for a page_size out of range, RC_DB, RC_NOMEM.
 */
enum rc		 store_audit_list(struct store *,
		    const struct store_audit_filter *f, int64_t after,
		    size_t page_size, struct store_audit_row **out, size_t *n,
		    bool *more) MUST_CHECK;

/*
 * Append a signed checkpoint of the chain at seq (hash is that record's
 * hash, sig the 64-byte signature) inside tx.  RC_CONFLICT if one for
 * seq exists.
 */
enum rc		 store_audit_checkpoint_add(struct store_tx *, int64_t seq,
		    time_t at, const unsigned char *hash,
		    const unsigned char *sig) MUST_CHECK;

/* The sequence number of the newest checkpoint in *seq, 0 if none. */
enum rc		 store_audit_checkpoint_last(struct store *, int64_t *seq)
		    MUST_CHECK;

/*
 * Copy the database at db_path to dest (which must not exist) with
 * SQLite's online backup, consistent even while a server writes to it.
 * dest is made mode 0600.  RC_CONFLICT if dest exists, RC_IO if db_path
 * cannot be opened or dest made, RC_DB if the copy fails (dest is then
 * removed); why says which.
 */
enum rc		 store_backup(const char *db_path, const char *dest,
		    struct rc_why *why) MUST_CHECK;

/* ---- registration entries ------------------------------------------ */

#define STORE_ENTRY_ID_MAX	64	/* bytes of an entry ID, NUL excluded */

struct store_selector {
	char	*type;			/* owned, non-empty */
	char	*value;			/* owned, non-empty */
};

/*
 * A registration entry.  Every pointer member is owned by the struct and
 * freed by store_entry_clear(); arrays may be NULL when their count is 0.
 * Selectors are kept sorted (type, then value) and without duplicates by
 * the store, so two entries' selector sets compare as arrays.
 */
struct store_entry {
	char			 id[STORE_ENTRY_ID_MAX + 1];
	char			*spiffe_id;
	char			*parent_id;
	struct store_selector	*selectors;
	size_t			 n_selectors;
	long			 x509_svid_ttl;	/* seconds, 0 = default */
	long			 jwt_svid_ttl;	/* seconds, 0 = default */
	char			**dns_names;	/* in order given */
	size_t			 n_dns_names;
	char			**federates_with; /* trust domain names */
	size_t			 n_federates_with;
	bool			 admin;
	bool			 downstream;
	bool			 store_svid;
	time_t			 expires_at;	/* Unix seconds, 0 = never */
	char			*hint;		/* may be NULL */
	int64_t			 revision_number; /* set by the store */
	time_t			 created_at;	/* set by the store */
	char			*created_by;	/* actor that created it */
};

/* Free what e owns and zero it.  NULL is fine. */
void		 store_entry_clear(struct store_entry *e);

/* Free an array of n entries returned by a list call. */
void		 store_entries_free(struct store_entry *v, size_t n);

/*
 * Create e inside tx.  An empty e->id gets a fresh random UUID (written
 * back); a given one that exists gives RC_CONFLICT.  An entry with the
 * same spiffe_id, parent_id and selector set as an existing one gives
 * RC_CONFLICT with why->detail naming the existing entry's ID.  Sets
 * revision_number to 1 and created_at to now.  Selectors and
 * federates_with are sorted and deduplicated in e.  A refusal changes
 * nothing and leaves tx usable, so a batch can go on; on one, e->id is
 * as the caller gave it.
 */
enum rc		 store_entry_create(struct store_tx *, struct store_entry *e,
		    struct rc_why *why) MUST_CHECK;

/* One entry by ID into *out (caller clears); RC_NOT_FOUND if none. */
enum rc		 store_entry_get(struct store *, const char *id,
		    struct store_entry *out) MUST_CHECK;

/* The same inside a write transaction (reads what tx has written). */
enum rc		 store_entry_get_tx(struct store_tx *, const char *id,
		    struct store_entry *out) MUST_CHECK;

/*
 * Replace the stored entry e->id with e inside tx (created_at and
 * created_by are kept from the stored one).  if_revision >= 0 must equal
 * the stored revision_number, else RC_PRECONDITION.  RC_NOT_FOUND if no
 * such entry; RC_CONFLICT as in create when the change would duplicate
 * another entry.  On success e->revision_number is the new revision (old
 * + 1) and created_at/created_by are filled.
 */
enum rc		 store_entry_update(struct store_tx *, struct store_entry *e,
		    int64_t if_revision, struct rc_why *why) MUST_CHECK;

/*
 * Delete, inside tx, the entries that expire (expires_at != 0) before
 * cutoff, with their selectors, DNS names and trust domains; *deleted
 * (if not NULL) gets how many.
 */
enum rc		 store_entry_prune(struct store_tx *, time_t cutoff,
		    int64_t *deleted) MUST_CHECK;

/* Delete entry id inside tx; RC_NOT_FOUND if none. */
enum rc		 store_entry_delete(struct store_tx *, const char *id)
		    MUST_CHECK;

enum store_match {
	STORE_MATCH_EXACT = 0,	/* the same set */
	STORE_MATCH_SUBSET,	/* entry's set is within the filter's */
	STORE_MATCH_SUPERSET,	/* entry's set contains the filter's */
	STORE_MATCH_ANY,	/* the sets share at least one */
};

/* A filter for listing and counting; NULL / 0 members do not filter. */
struct store_entry_filter {
	const char			*spiffe_id;
	const char			*parent_id;
	const struct store_selector	*selectors;
	size_t				 n_selectors;
	enum store_match		 selectors_match;
	const char *const		*federates_with;
	size_t				 n_federates_with;
	enum store_match		 federates_with_match;
	const char			*hint;
	int				 downstream;	/* -1 any, 0, 1 */
	int				 admin;		/* -1 any, 0, 1 */
};

/*
 * List entries matching f, ordered by ID, at most page_size of them
 * (1..PAGE_SIZE_MAX), starting after page_token ("" or NULL for the
 * first page).  next_token (STORE_ENTRY_ID_MAX + 1 bytes) is set to the
 * token of the next page, or "" when no more remain; it may be the
 * buffer page_token points to.  Served by indexes; never a scan of all
 * entries per call when a filter is given.  A set filter (selectors,
 * federates_with) never matches an entry whose set is empty.  *out
 * (NULL when *n is 0) is freed by store_entries_free.  RC_INTERNAL for
 * a page_size out of range or a malformed filter.
 */
enum rc		 store_entry_list(struct store *,
		    const struct store_entry_filter *f, const char *page_token,
		    size_t page_size, struct store_entry **out, size_t *n,
		    char *next_token) MUST_CHECK;

/* Count the entries matching f. */
enum rc		 store_entry_count(struct store *,
		    const struct store_entry_filter *f, int64_t *count)
		    MUST_CHECK;

/*
 * Entries whose parent_id is parent, in ID order, appended to *out and *n
 * (grown with realloc; caller frees with store_entries_free).  Used by
 * the agent sync, so it is one indexed lookup.  On failure *out and *n
 * are unchanged.
 */
enum rc		 store_entries_by_parent(struct store *, const char *parent,
		    struct store_entry **out, size_t *n) MUST_CHECK;

/*
 * Node-alias entries for an agent: parent_id equals server_id and every
 * selector of the entry is among sel[0..n_sel) (the agent's node
 * selectors); an entry with no selector is never an alias.  Appended as
 * in store_entries_by_parent.  On failure *out and *n are unchanged.
 */
enum rc		 store_entries_aliases(struct store *, const char *server_id,
		    const struct store_selector *sel, size_t n_sel,
		    struct store_entry **out, size_t *n) MUST_CHECK;

/*
 * Is there an entry with admin (or downstream) set for this SPIFFE ID?
 * Entries past their expires_at do not count.
 */
enum rc		 store_entry_flags_for(struct store *, const char *spiffe_id,
		    bool *admin, bool *downstream) MUST_CHECK;

/*
 * A number that rises with every committed change to entries, agents or
 * join tokens (kept in memory; it starts at open from the clock, above
 * any value a previous process handed out); the agent sync's ETag and
 * the role cache are keyed on it.  Lock-free, any thread.
 */
uint64_t	 store_generation(struct store *);

/* ---- attested agents ------------------------------------------------ */

#define STORE_SERIAL_MAX	64	/* bytes of a serial in hex */

struct store_agent {
	char			*spiffe_id;	/* owned */
	char			 attestation_type[32]; /* "join_token" ... */
	struct store_selector	*selectors;	/* node selectors, owned */
	size_t			 n_selectors;
	char			 serial[STORE_SERIAL_MAX + 1]; /* current */
	char			 new_serial[STORE_SERIAL_MAX + 1]; /* renewed,
						 * not used yet; "" none */
	time_t			 expires_at;	/* of the current SVID */
	bool			 banned;
	time_t			 created_at;
	time_t			 updated_at;
};

void		 store_agent_clear(struct store_agent *);
void		 store_agents_free(struct store_agent *v, size_t n);

/* One agent by SPIFFE ID (caller clears *out); RC_NOT_FOUND if none. */
enum rc		 store_agent_get(struct store *, const char *spiffe_id,
		    struct store_agent *out) MUST_CHECK;

/*
 * Insert a, or replace the agent with the same SPIFFE ID (re-attestation
 * keeps created_at, replaces selectors, serials and expiry).  A banned
 * agent is never replaced: RC_DENIED.  A new agent's created_at is
 * a->created_at, or now if 0; updated_at is always now.
 */
enum rc		 store_agent_put(struct store_tx *, const struct store_agent *a)
		    MUST_CHECK;

/*
 * Record a renewal: new_serial becomes the agent's pending serial (its
 * current one stays valid until the new one is first used) and
 * expires_at that of the new SVID.  RC_NOT_FOUND, RC_DENIED if banned.
 */
enum rc		 store_agent_set_new_serial(struct store_tx *,
		    const char *spiffe_id, const char *new_serial,
		    time_t expires_at) MUST_CHECK;

/*
 * The pending serial was used: it becomes current, the old one dies.
 * With none pending, RC_OK and no change (a racing second request).
 * RC_NOT_FOUND, RC_DENIED if banned.
 */
enum rc		 store_agent_promote_serial(struct store_tx *,
		    const char *spiffe_id) MUST_CHECK;

/* Ban (banned = 1) or delete (evict) an agent; RC_NOT_FOUND if none. */
enum rc		 store_agent_ban(struct store_tx *, const char *spiffe_id)
		    MUST_CHECK;
enum rc		 store_agent_delete(struct store_tx *, const char *spiffe_id)
		    MUST_CHECK;

/* Delete agents (not banned) whose SVID expired before cutoff. */
enum rc		 store_agent_purge(struct store_tx *, time_t cutoff,
		    int64_t *deleted) MUST_CHECK;

struct store_agent_filter {
	const char	*spiffe_id;		/* exact, or NULL */
	const char	*attestation_type;	/* exact, or NULL */
	int		 banned;		/* -1 any, 0, 1 */
};

/* List and count agents, as store_entry_list (ordered by SPIFFE ID). */
enum rc		 store_agent_list(struct store *,
		    const struct store_agent_filter *f, const char *page_token,
		    size_t page_size, struct store_agent **out, size_t *n,
		    char *next_token, size_t token_len) MUST_CHECK;
enum rc		 store_agent_count(struct store *,
		    const struct store_agent_filter *f, int64_t *count)
		    MUST_CHECK;

/* ---- join tokens ---------------------------------------------------- */

#define STORE_TOKEN_HASH_LEN	32	/* BLAKE2b-256 of the token */
#define STORE_TOKEN_ID_MAX	64	/* bytes of a token ID, NUL excluded */

/*
 * Record a token by its hash; the token itself is never stored.
 * RC_CONFLICT (nothing changed, tx usable) if the hash or token_id is
 * known; RC_BAD_REQUEST for an empty token_id or one longer than
 * STORE_TOKEN_ID_MAX.
 */
enum rc		 store_token_put(struct store_tx *,
		    const unsigned char *hash, const char *token_id,
		    time_t expires_at) MUST_CHECK;

/*
 * Use a token once, inside tx: on success *token_id (65 bytes) gets its
 * ID and the token is marked used in the same transaction, so of any
 * number of concurrent attempts exactly one succeeds.  A token is good
 * while now < expires_at.  RC_UNAUTHENTICATED with why->detail "token
 * already used", "token expired" or "unknown token" otherwise.
 */
enum rc		 store_token_use(struct store_tx *,
		    const unsigned char *hash, time_t now, char *token_id,
		    struct rc_why *why) MUST_CHECK;

/* Delete tokens (used or not) that expired before cutoff. */
enum rc		 store_token_prune(struct store_tx *, time_t cutoff,
		    int64_t *deleted) MUST_CHECK;

#endif
