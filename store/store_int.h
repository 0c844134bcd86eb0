/*
 * store_int.h: what the files of the SQLite store share and
 * nobody else may see: the connection, store and transaction structs,
 * the statement cache, the failure helpers, and the selector-set
 * encoding used by entries and agents.  store.c owns connections,
 * transactions and the schema; store_entries.c the registration
 * entries; store_agents.c attested agents and join tokens;
 * store_audit.c audit queries and checkpoints.
 */
#ifndef SVIDCA_STORE_INT_H
#define SVIDCA_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

#define STORE_HASH_LEN		32	/* bytes of an audit chain hash */

/*
 * One cache slot per statement that runs more than once.  The SQL sits
 * beside the code that runs it (a struct store_sql in each file); the
 * slot numbers are kept here so that no two files can claim one.
 */
enum store_stmt {
	/* store.c */
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
	STMT_PING,
	/* store_entries.c */
	STMT_ENTRY_EXISTS,
	STMT_ENTRY_DUP,
	STMT_ENTRY_INSERT,
	STMT_ENTRY_SEL_INSERT,
	STMT_ENTRY_DNS_INSERT,
	STMT_ENTRY_FED_INSERT,
	STMT_ENTRY_GET,
	STMT_ENTRY_HEAD,
	STMT_ENTRY_UPDATE,
	STMT_ENTRY_SEL_DELETE,
	STMT_ENTRY_DNS_DELETE,
	STMT_ENTRY_FED_DELETE,
	STMT_ENTRY_DELETE,
	STMT_ENTRY_PRUNE,
	STMT_ENTRY_BY_PARENT,
	STMT_ENTRY_ALIASES,
	STMT_ENTRY_FLAGS,
	/* store_agents.c */
	STMT_AGENT_GET,
	STMT_AGENT_STATE,
	STMT_AGENT_INSERT,
	STMT_AGENT_REPLACE,
	STMT_AGENT_SEL_INSERT,
	STMT_AGENT_SEL_DELETE,
	STMT_AGENT_NEW_SERIAL,
	STMT_AGENT_PROMOTE,
	STMT_AGENT_BAN,
	STMT_AGENT_DELETE,
	STMT_AGENT_PURGE,
	STMT_TOKEN_PUT,
	STMT_TOKEN_FIND,
	STMT_TOKEN_MARK,
	STMT_TOKEN_PRUNE,
	STMT_COUNT
};

/* A statement the cache prepares once per connection. */
struct store_sql {
	enum store_stmt	 slot;		/* its cache slot */
	const char	*name;		/* for log lines */
	const char	*sql;		/* one statement */
};

/* One SQLite connection and the statements prepared on it. */
struct store_conn {
	sqlite3			*db;			/* owned */
	sqlite3_stmt		*stmt[STMT_COUNT];	/* owned, lazy */
	const struct store_sql	*def[STMT_COUNT];	/* what each holds */
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
	_Atomic uint64_t	 generation;	/* see store_generation() */
};

struct store_tx {
	struct store		*st;		/* owner, wlock held */
	struct store_conn	*conn;		/* the writer */
	int64_t			 head_seq;	/* audit head inside the tx */
	unsigned char		 head_hash[STORE_HASH_LEN];
	bool			 failed;	/* a SQLite call failed */
	bool			 touched;	/* entries, agents or tokens
						 * changed: raise generation */
};

/* ---- store.c: failures, statements, columns ----------------------- */

enum rc		 store_fail_db(sqlite3 *db, const char *what);
enum rc		 store_fail_tx(struct store_tx *tx, const char *what);

enum rc		 store_stmt_get(struct store_conn *c,
		    const struct store_sql *def, sqlite3_stmt **out)
		    MUST_CHECK;
enum rc		 store_tx_stmt(struct store_tx *tx,
		    const struct store_sql *def, sqlite3_stmt **out)
		    MUST_CHECK;
void		 store_stmt_put(sqlite3_stmt *s);

/*
 * Run a cached write statement of tx binding ?1 = text a and ?2 =
 * integer v, or only ?1 = v when a is NULL; *changes (if not NULL) gets
 * the rows it changed.  A failure poisons tx.
 */
enum rc		 store_tx_run(struct store_tx *tx,
		    const struct store_sql *def, const char *a, int64_t v,
		    int64_t *changes) MUST_CHECK;

int		 store_bind_str(sqlite3_stmt *s, int i, const char *v);
int		 store_bind_name(sqlite3_stmt *s, const char *name,
		    const char *v);
int		 store_bind_name_int(sqlite3_stmt *s, const char *name,
		    int64_t v);
bool		 store_col_copy(sqlite3_stmt *s, int i, char *buf,
		    size_t len);
enum rc		 store_col_dup(sqlite3_stmt *s, int i, char **out)
		    MUST_CHECK;

enum rc		 store_reader_get(struct store *st, struct store_conn **out)
		    MUST_CHECK;

/* ---- store.c: selector sets ---------------------------------------- */

int		 store_selector_cmp(const void *a, const void *b);
void		 store_selectors_sort(struct store_selector *v, size_t *n);
void		 store_selectors_free(struct store_selector *v, size_t n);
enum rc		 store_selectors_check(const struct store_selector *v,
		    size_t n) MUST_CHECK;
enum rc		 store_selectors_encode(const struct store_selector *v,
		    size_t n, char **out) MUST_CHECK;
enum rc		 store_selectors_decode(const char *text,
		    struct store_selector **out, size_t *n) MUST_CHECK;

/* ---- store.c: dynamic SQL for lists -------------------------------- */

#define STORE_SQL_MAX	4096	/* bytes of one list query we build */

/* A query assembled from our own fixed fragments, never from input. */
struct store_sqlbuf {
	char	 text[STORE_SQL_MAX];	/* NUL-terminated */
	size_t	 len;			/* bytes used, NUL excluded */
	bool	 overflow;		/* a fragment did not fit */
};

void		 store_sql_add(struct store_sqlbuf *b, const char *frag);

#endif
