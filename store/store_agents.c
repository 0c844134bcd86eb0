/*
 * store_agents.c: attested agents and join tokens in the SQLite store.
 *
 * An agent is one row of agents plus its node selectors in
 * agent_selectors; one statement reads both, the selectors as a JSON
 * array built by SQLite.  A banned agent stays (so that it cannot
 * attest again) until an operator deletes it; purge removes only agents
 * that are not banned.
 *
 * A join token is known by its hash alone.  Using one is a read and a
 * conditional update inside the caller's write transaction; since every
 * write holds the store's single writer, two attempts on one token are
 * serialised and only the first finds it unused.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "../server/bounds.h"
#include "../server/log.h"
#include "store_int.h"

#define TOKEN_RULE	"DESIGN.md Store"	/* cited in refusals */

/* ---- statements --------------------------------------------------------- */

/* The columns read_agent() takes, in this order, from agents a. */
#define AGENT_COLS							\
	"SELECT a.spiffe_id, a.attestation_type, a.serial,"		\
	" a.new_serial, a.expires_at, a.banned, a.created_at,"		\
	" a.updated_at,"						\
	" (SELECT json_group_array(json_array(s.type, s.value))"	\
	"  FROM agent_selectors s WHERE s.agent_spiffe_id = a.spiffe_id)" \
	" FROM agents a"

static const struct store_sql sql_get = { STMT_AGENT_GET, "agent_get",
    AGENT_COLS " WHERE a.spiffe_id = ?1" };

static const struct store_sql sql_state = { STMT_AGENT_STATE,
    "agent_state", "SELECT banned FROM agents WHERE spiffe_id = ?1" };

/*
 * Insert and replace bind the same eight parameters; replace keeps the
 * stored created_at, so it leaves ?7 out.
 */
static const struct store_sql sql_insert = { STMT_AGENT_INSERT,
    "agent_insert",
    "INSERT INTO agents (spiffe_id, attestation_type, serial, new_serial,"
    " expires_at, banned, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" };

static const struct store_sql sql_replace = { STMT_AGENT_REPLACE,
    "agent_replace",
    "UPDATE agents SET attestation_type = ?2, serial = ?3,"
    " new_serial = ?4, expires_at = ?5, banned = ?6, updated_at = ?8"
    " WHERE spiffe_id = ?1" };

static const struct store_sql sql_sel_insert = { STMT_AGENT_SEL_INSERT,
    "agent_selector_insert",
    "INSERT OR IGNORE INTO agent_selectors (agent_spiffe_id, type, value)"
    " VALUES (?1, ?2, ?3)" };

static const struct store_sql sql_sel_delete = { STMT_AGENT_SEL_DELETE,
    "agent_selectors_delete",
    "DELETE FROM agent_selectors WHERE agent_spiffe_id = ?1" };

static const struct store_sql sql_new_serial = { STMT_AGENT_NEW_SERIAL,
    "agent_new_serial",
    "UPDATE agents SET new_serial = ?2, expires_at = ?3, updated_at = ?4"
    " WHERE spiffe_id = ?1" };

static const struct store_sql sql_promote = { STMT_AGENT_PROMOTE,
    "agent_promote",
    "UPDATE agents SET serial = new_serial, new_serial = '',"
    " updated_at = ?2 WHERE spiffe_id = ?1 AND new_serial != ''" };

static const struct store_sql sql_ban = { STMT_AGENT_BAN, "agent_ban",
    "UPDATE agents SET banned = 1, updated_at = ?2 WHERE spiffe_id = ?1" };

/* Selectors go with it (ON DELETE CASCADE). */
static const struct store_sql sql_delete = { STMT_AGENT_DELETE,
    "agent_delete", "DELETE FROM agents WHERE spiffe_id = ?1" };

/* A range of the index agents_expires_at. */
static const struct store_sql sql_purge = { STMT_AGENT_PURGE,
    "agent_purge",
    "DELETE FROM agents WHERE expires_at < ?1 AND banned = 0" };

/* A second token with the same hash or ID changes nothing. */
static const struct store_sql sql_token_put = { STMT_TOKEN_PUT,
    "token_put",
    "INSERT INTO join_tokens (hash, token_id, expires_at)"
    " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING" };

static const struct store_sql sql_token_find = { STMT_TOKEN_FIND,
    "token_find",
    "SELECT token_id, expires_at, used_at FROM join_tokens"
    " WHERE hash = ?1" };

static const struct store_sql sql_token_mark = { STMT_TOKEN_MARK,
    "token_mark",
    "UPDATE join_tokens SET used_at = ?2 WHERE hash = ?1"
    " AND used_at IS NULL" };

static const struct store_sql sql_token_prune = { STMT_TOKEN_PRUNE,
    "token_prune", "DELETE FROM join_tokens WHERE expires_at < ?1" };

/* ---- helpers ------------------------------------------------------------ */

/* Free what a owns and zero it.  NULL is fine. */
void
store_agent_clear(struct store_agent *a)
{
	if (a == NULL)
		return;
	free(a->spiffe_id);
	store_selectors_free(a->selectors, a->n_selectors);
	memset(a, 0, sizeof(*a));
}

/* Free n agents from a list call and the array; NULL is fine. */
void
store_agents_free(struct store_agent *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		store_agent_clear(&v[i]);
	free(v);
}

/*
 * Fill a (zeroed first, strings owned) from the current row of a
 * statement made from AGENT_COLS; on failure a is cleared.  RC_DB for a
 * row that does not read back, RC_NOMEM.
 */
static enum rc
read_agent(sqlite3_stmt *s, struct store_agent *a)
{
	enum rc rc = RC_DB;

	memset(a, 0, sizeof(*a));
	rc = store_col_dup(s, 0, &a->spiffe_id);
	if (rc != RC_OK)
		goto out;
	rc = RC_DB;
	if (a->spiffe_id == NULL ||
	    !store_col_copy(s, 1, a->attestation_type,
	    sizeof(a->attestation_type)) ||
	    !store_col_copy(s, 2, a->serial, sizeof(a->serial)) ||
	    !store_col_copy(s, 3, a->new_serial, sizeof(a->new_serial))) {
		log_error("store", "agent row does not fit its record");
		goto out;
	}
	a->expires_at = (time_t)sqlite3_column_int64(s, 4);
	a->banned = sqlite3_column_int(s, 5) != 0;
	a->created_at = (time_t)sqlite3_column_int64(s, 6);
	a->updated_at = (time_t)sqlite3_column_int64(s, 7);
	rc = store_selectors_decode((const char *)sqlite3_column_text(s, 8),
	    &a->selectors, &a->n_selectors);
	if (rc != RC_OK)
		goto out;
	store_selectors_sort(a->selectors, &a->n_selectors);
	rc = RC_OK;
out:
	if (rc != RC_OK)
		store_agent_clear(a);
	return rc;
}

/*
 * One agent by SPIFFE ID from the committed state into *out (caller
 * clears).  RC_NOT_FOUND if none; RC_DB, RC_NOMEM.
 */
enum rc
store_agent_get(struct store *st, const char *spiffe_id,
    struct store_agent *out)
{
	struct store_conn *c;
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;
	int err;

	memset(out, 0, sizeof(*out));
	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		return rc;
	rc = store_stmt_get(c, &sql_get, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (store_bind_str(s, 1, spiffe_id) != SQLITE_OK) {
		(void)store_fail_db(c->db, "agent_get bind");
		goto out;
	}
	err = sqlite3_step(s);
	if (err == SQLITE_DONE) {
		rc = RC_NOT_FOUND;
		goto out;
	}
	if (err != SQLITE_ROW) {
		(void)store_fail_db(c->db, "agent_get");
		goto out;
	}
	rc = read_agent(s, out);
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Is there an agent spiffe_id (*exists), and is it banned (*banned)?
 * Seen from inside tx.
 */
static enum rc
agent_state(struct store_tx *tx, const char *spiffe_id, bool *exists,
    bool *banned)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;
	int err;

	*exists = false;
	*banned = false;
	rc = store_tx_stmt(tx, &sql_state, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (store_bind_str(s, 1, spiffe_id) != SQLITE_OK) {
		(void)store_fail_tx(tx, "agent_state bind");
		goto out;
	}
	err = sqlite3_step(s);
	if (err == SQLITE_ROW) {
		*exists = true;
		*banned = sqlite3_column_int(s, 0) != 0;
	} else if (err != SQLITE_DONE) {
		(void)store_fail_tx(tx, "agent_state");
		goto out;
	}
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * The agent must exist (RC_NOT_FOUND) and not be banned (RC_DENIED):
 * the check before a change that only a live agent may get.
 */
static enum rc
require_live(struct store_tx *tx, const char *spiffe_id)
{
	bool exists, banned;
	enum rc rc = RC_DB;

	rc = agent_state(tx, spiffe_id, &exists, &banned);
	if (rc != RC_OK)
		return rc;
	if (!exists)
		return RC_NOT_FOUND;
	if (banned)
		return RC_DENIED;
	return RC_OK;
}

/* ---- agents: writes ----------------------------------------------------- */

/* Is a a record the store can keep?  Logs what is wrong. */
static bool
is_agent_ok(const struct store_agent *a)
{
	if (a->spiffe_id == NULL || a->spiffe_id[0] == '\0' ||
	    memchr(a->attestation_type, '\0',
	    sizeof(a->attestation_type)) == NULL ||
	    a->attestation_type[0] == '\0' ||
	    memchr(a->serial, '\0', sizeof(a->serial)) == NULL ||
	    memchr(a->new_serial, '\0', sizeof(a->new_serial)) == NULL ||
	    store_selectors_check(a->selectors, a->n_selectors) != RC_OK) {
		log_error("store", "refusing a malformed agent record");
		return false;
	}
	return true;
}

/*
 * Replace the stored selectors of a (replacing: drop the old ones
 * first) with a's, repeats ignored.
 */
static enum rc
write_selectors(struct store_tx *tx, const struct store_agent *a,
    bool replacing)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;
	size_t i;

	if (replacing) {
		rc = store_tx_stmt(tx, &sql_sel_delete, &s);
		if (rc != RC_OK)
			return rc;
		rc = RC_DB;
		if (store_bind_str(s, 1, a->spiffe_id) != SQLITE_OK ||
		    sqlite3_step(s) != SQLITE_DONE) {
			(void)store_fail_tx(tx, "agent_selectors_delete");
			goto out;
		}
		store_stmt_put(s);
		s = NULL;
	}
	rc = store_tx_stmt(tx, &sql_sel_insert, &s);
	if (rc != RC_OK)
		return rc;
	for (i = 0; i < a->n_selectors; i++) {
		rc = RC_DB;
		if (store_bind_str(s, 1, a->spiffe_id) != SQLITE_OK ||
		    store_bind_str(s, 2, a->selectors[i].type) != SQLITE_OK ||
		    store_bind_str(s, 3, a->selectors[i].value) !=
		    SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
			(void)store_fail_tx(tx, "agent_selector_insert");
			goto out;
		}
		store_stmt_put(s);
	}
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Insert a, or replace the agent with its SPIFFE ID, inside tx (see
 * store.h).  A new agent's created_at is a->created_at, or now when 0;
 * a replaced one keeps its own.  updated_at is now either way.  A
 * banned agent is left as it is: RC_DENIED.  RC_INTERNAL for a record
 * with no SPIFFE ID or attestation type, or an empty selector.
 */
enum rc
store_agent_put(struct store_tx *tx, const struct store_agent *a)
{
	sqlite3_stmt *s = NULL;
	bool exists, banned;
	time_t now;
	enum rc rc = RC_INTERNAL;

	if (!is_agent_ok(a))
		return RC_INTERNAL;
	rc = agent_state(tx, a->spiffe_id, &exists, &banned);
	if (rc != RC_OK)
		return rc;
	if (banned)
		return RC_DENIED;

	now = time(NULL);
	rc = store_tx_stmt(tx, exists ? &sql_replace : &sql_insert, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (store_bind_str(s, 1, a->spiffe_id) != SQLITE_OK ||
	    store_bind_str(s, 2, a->attestation_type) != SQLITE_OK ||
	    store_bind_str(s, 3, a->serial) != SQLITE_OK ||
	    store_bind_str(s, 4, a->new_serial) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 5, (sqlite3_int64)a->expires_at) !=
	    SQLITE_OK ||
	    sqlite3_bind_int(s, 6, a->banned ? 1 : 0) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 7, (sqlite3_int64)(a->created_at != 0 ?
	    a->created_at : now)) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 8, (sqlite3_int64)now) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, exists ? "agent_replace" :
		    "agent_insert");
		goto out;
	}
	rc = write_selectors(tx, a, exists);
	if (rc != RC_OK)
		goto out;
	tx->touched = true;
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Record a renewal inside tx: new_serial becomes the pending serial and
 * expires_at that of the new SVID (so purge keeps the agent while it
 * holds a valid one).  RC_NOT_FOUND, RC_DENIED (banned), RC_INTERNAL
 * for an empty or over-long serial.
 */
enum rc
store_agent_set_new_serial(struct store_tx *tx, const char *spiffe_id,
    const char *new_serial, time_t expires_at)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_INTERNAL;

	if (new_serial == NULL || new_serial[0] == '\0' ||
	    strlen(new_serial) > STORE_SERIAL_MAX) {
		log_error("store", "refusing a malformed agent serial");
		return RC_INTERNAL;
	}
	rc = require_live(tx, spiffe_id);
	if (rc != RC_OK)
		return rc;
	rc = store_tx_stmt(tx, &sql_new_serial, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (store_bind_str(s, 1, spiffe_id) != SQLITE_OK ||
	    store_bind_str(s, 2, new_serial) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, (sqlite3_int64)expires_at) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL)) !=
	    SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, "agent_new_serial");
		goto out;
	}
	tx->touched = true;
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * The pending serial was used: make it current and clear it, inside tx.
 * With no pending serial this changes nothing and answers RC_OK, so two
 * requests racing on the first use of a new SVID both succeed.
 * RC_NOT_FOUND, RC_DENIED (banned).
 */
enum rc
store_agent_promote_serial(struct store_tx *tx, const char *spiffe_id)
{
	int64_t changed = 0;
	enum rc rc = RC_DB;

	rc = require_live(tx, spiffe_id);
	if (rc != RC_OK)
		return rc;
	rc = store_tx_run(tx, &sql_promote, spiffe_id, (int64_t)time(NULL),
	    &changed);
	if (rc != RC_OK)
		return rc;
	if (changed > 0)
		tx->touched = true;
	return RC_OK;
}

/* Ban the agent inside tx (it stays, refused); RC_NOT_FOUND if none. */
enum rc
store_agent_ban(struct store_tx *tx, const char *spiffe_id)
{
	int64_t changed = 0;
	enum rc rc = RC_DB;

	rc = store_tx_run(tx, &sql_ban, spiffe_id, (int64_t)time(NULL),
	    &changed);
	if (rc != RC_OK)
		return rc;
	if (changed == 0)
		return RC_NOT_FOUND;
	tx->touched = true;
	return RC_OK;
}

/*
 * Delete (evict) the agent and its selectors inside tx; it may attest
 * again.  RC_NOT_FOUND if none.
 */
enum rc
store_agent_delete(struct store_tx *tx, const char *spiffe_id)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;

	rc = store_tx_stmt(tx, &sql_delete, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (store_bind_str(s, 1, spiffe_id) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, "agent_delete");
		goto out;
	}
	if (sqlite3_changes(tx->conn->db) == 0) {
		rc = RC_NOT_FOUND;
		goto out;
	}
	tx->touched = true;
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Delete, inside tx, the agents not banned whose SVID expired before
 * cutoff; *deleted (if not NULL) gets how many.
 */
enum rc
store_agent_purge(struct store_tx *tx, time_t cutoff, int64_t *deleted)
{
	int64_t changed = 0;
	enum rc rc = RC_DB;

	if (deleted != NULL)
		*deleted = 0;
	rc = store_tx_run(tx, &sql_purge, NULL, (int64_t)cutoff, &changed);
	if (rc != RC_OK)
		return rc;
	if (changed > 0)
		tx->touched = true;
	if (deleted != NULL)
		*deleted = changed;
	return RC_OK;
}

/* ---- agents: lists ------------------------------------------------------ */

/* Add cond to b's WHERE clause (the first one opens it). */
static void
add_cond(struct store_sqlbuf *b, int *conds, const char *cond)
{
	store_sql_add(b, *conds == 0 ? " WHERE " : " AND ");
	store_sql_add(b, cond);
	(*conds)++;
}

/*
 * Append f's conditions to b; banned is a literal so that the partial
 * index agents_banned serves banned = 1.  RC_INTERNAL for a banned
 * value other than -1, 0, 1.
 */
static enum rc
add_agent_filter(struct store_sqlbuf *b, int *conds,
    const struct store_agent_filter *f)
{
	if (f == NULL)
		return RC_OK;
	if (f->banned < -1 || f->banned > 1) {
		log_error("store", "refusing a malformed agent filter");
		return RC_INTERNAL;
	}
	if (f->spiffe_id != NULL)
		add_cond(b, conds, "a.spiffe_id = :spiffe_id");
	if (f->attestation_type != NULL)
		add_cond(b, conds, "a.attestation_type = :type");
	if (f->banned != -1)
		add_cond(b, conds, f->banned == 1 ? "a.banned = 1" :
		    "a.banned = 0");
	return RC_OK;
}

/* Bind f's values to the named parameters s has. */
static int
bind_agent_filter(sqlite3_stmt *s, const struct store_agent_filter *f)
{
	int err;

	if (f == NULL)
		return SQLITE_OK;
	err = store_bind_name(s, ":spiffe_id", f->spiffe_id);
	if (err == SQLITE_OK)
		err = store_bind_name(s, ":type", f->attestation_type);
	return err;
}

/* Prepare the text of b on c; a statement for sqlite3_finalize. */
static enum rc
prepare_built(struct store_conn *c, const struct store_sqlbuf *b,
    sqlite3_stmt **s)
{
	*s = NULL;
	if (b->overflow) {
		log_error("store", "agent query longer than %d bytes",
		    STORE_SQL_MAX);
		return RC_INTERNAL;
	}
	if (sqlite3_prepare_v2(c->db, b->text, (int)b->len, s, NULL) !=
	    SQLITE_OK)
		return store_fail_db(c->db, "prepare agent list");
	return RC_OK;
}

/*
 * Step s, reading up to limit agents into *out (NULL when *n is 0) and
 * noting in *more whether another row follows.
 */
static enum rc
collect_agents(sqlite3 *db, sqlite3_stmt *s, size_t limit,
    struct store_agent **out, size_t *n, bool *more)
{
	struct store_agent *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	enum rc rc = RC_DB;
	int err;

	*out = NULL;
	*n = 0;
	*more = false;
	for (;;) {
		rc = RC_DB;
		err = sqlite3_step(s);
		if (err == SQLITE_DONE)
			break;
		if (err != SQLITE_ROW) {
			(void)store_fail_db(db, "agent read");
			goto out;
		}
		if (cnt == limit) {
			*more = true;
			break;
		}
		if (cnt == cap) {
			rc = RC_NOMEM;
			cap = cap == 0 ? 16 : cap * 2;
			nv = reallocarray(v, cap, sizeof(*v));
			if (nv == NULL)
				goto out;
			v = nv;
		}
		rc = read_agent(s, &v[cnt]);
		if (rc != RC_OK)
			goto out;
		cnt++;
	}

	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
	rc = RC_OK;
out:
	store_agents_free(v, cnt);
	return rc;
}

/*
 * List agents matching f in SPIFFE ID order, at most page_size
 * (1..PAGE_SIZE_MAX), after page_token ("" or NULL: from the start).
 * next_token[token_len] gets the last SPIFFE ID of the page when more
 * follow, else ""; it may be the buffer page_token points to.
 * RC_INTERNAL for a bad page size or filter, or a token that does not
 * fit token_len (never cut).  *out for store_agents_free.
 */
enum rc
store_agent_list(struct store *st, const struct store_agent_filter *f,
    const char *page_token, size_t page_size, struct store_agent **out,
    size_t *n, char *next_token, size_t token_len)
{
	struct store_sqlbuf *b = NULL;
	struct store_conn *c;
	sqlite3_stmt *s = NULL;
	const char *last;
	bool paging, more;
	int conds = 0;
	enum rc rc = RC_INTERNAL;

	*out = NULL;
	*n = 0;
	if (token_len == 0)
		return RC_INTERNAL;
	if (page_size == 0 || page_size > PAGE_SIZE_MAX) {
		log_error("store", "agent page size %zu is out of range",
		    page_size);
		goto out;
	}
	paging = page_token != NULL && page_token[0] != '\0';

	rc = RC_NOMEM;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		goto out;
	store_sql_add(b, AGENT_COLS);
	rc = add_agent_filter(b, &conds, f);
	if (rc != RC_OK)
		goto out;
	if (paging)
		add_cond(b, &conds, "a.spiffe_id > :after");
	store_sql_add(b, " ORDER BY a.spiffe_id LIMIT :limit");

	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		goto out;
	rc = prepare_built(c, b, &s);
	if (rc != RC_OK)
		goto out;
	rc = RC_DB;
	if (bind_agent_filter(s, f) != SQLITE_OK ||
	    store_bind_name(s, ":after", page_token) != SQLITE_OK ||
	    store_bind_name_int(s, ":limit", (int64_t)page_size + 1) !=
	    SQLITE_OK) {
		(void)store_fail_db(c->db, "agent list bind");
		goto out;
	}
	rc = collect_agents(c->db, s, page_size, out, n, &more);
	if (rc != RC_OK)
		goto out;

	/* Written last: next_token may be the very buffer of page_token. */
	last = more ? (*out)[*n - 1].spiffe_id : "";
	if (strlen(last) >= token_len) {
		log_error("store", "agent page token does not fit %zu bytes",
		    token_len);
		store_agents_free(*out, *n);
		*out = NULL;
		*n = 0;
		rc = RC_INTERNAL;
		goto out;
	}
	memcpy(next_token, last, strlen(last) + 1);
	rc = RC_OK;
out:
	if (rc != RC_OK)
		next_token[0] = '\0';
	(void)sqlite3_finalize(s);
	free(b);
	return rc;
}

/* Count the agents matching f (see store_agent_list for f). */
enum rc
store_agent_count(struct store *st, const struct store_agent_filter *f,
    int64_t *count)
{
	struct store_sqlbuf *b = NULL;
	struct store_conn *c;
	sqlite3_stmt *s = NULL;
	int conds = 0;
	enum rc rc = RC_NOMEM;

	*count = 0;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		goto out;
	store_sql_add(b, "SELECT count(*) FROM agents a");
	rc = add_agent_filter(b, &conds, f);
	if (rc != RC_OK)
		goto out;
	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		goto out;
	rc = prepare_built(c, b, &s);
	if (rc != RC_OK)
		goto out;
	rc = RC_DB;
	if (bind_agent_filter(s, f) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		(void)store_fail_db(c->db, "agent count");
		goto out;
	}
	*count = sqlite3_column_int64(s, 0);
	rc = RC_OK;
out:
	(void)sqlite3_finalize(s);
	free(b);
	return rc;
}

/* ---- join tokens -------------------------------------------------------- */

/*
 * Record a token by its hash (STORE_TOKEN_HASH_LEN bytes) inside tx.
 * RC_CONFLICT when the hash or token_id is already recorded (nothing
 * changes, the transaction goes on); RC_BAD_REQUEST for an empty
 * token_id or one longer than STORE_TOKEN_ID_MAX.
 */
enum rc
store_token_put(struct store_tx *tx, const unsigned char *hash,
    const char *token_id, time_t expires_at)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_BAD_REQUEST;

	if (hash == NULL)
		return RC_INTERNAL;
	if (token_id == NULL || token_id[0] == '\0' ||
	    strlen(token_id) > STORE_TOKEN_ID_MAX)
		return RC_BAD_REQUEST;
	rc = store_tx_stmt(tx, &sql_token_put, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (sqlite3_bind_blob(s, 1, hash, STORE_TOKEN_HASH_LEN,
	    SQLITE_STATIC) != SQLITE_OK ||
	    store_bind_str(s, 2, token_id) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, (sqlite3_int64)expires_at) !=
	    SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, "token_put");
		goto out;
	}
	if (sqlite3_changes(tx->conn->db) == 0) {
		rc = RC_CONFLICT;
		goto out;
	}
	tx->touched = true;
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Use the token with this hash once, inside tx (see store.h).  A token
 * is good while now < expires_at.  Refusals are RC_UNAUTHENTICATED with
 * why->detail "unknown token", "token already used" or "token expired",
 * checked in that order; they change nothing.
 */
enum rc
store_token_use(struct store_tx *tx, const unsigned char *hash, time_t now,
    char *token_id, struct rc_why *why)
{
	char id[STORE_TOKEN_ID_MAX + 1];
	sqlite3_stmt *s = NULL;
	bool used;
	time_t expires_at;
	int64_t changed = 0;
	enum rc rc = RC_DB;
	int err;

	rc_why_clear(why);
	token_id[0] = '\0';
	if (hash == NULL)
		return RC_INTERNAL;
	rc = store_tx_stmt(tx, &sql_token_find, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (sqlite3_bind_blob(s, 1, hash, STORE_TOKEN_HASH_LEN,
	    SQLITE_STATIC) != SQLITE_OK) {
		(void)store_fail_tx(tx, "token_find bind");
		goto out;
	}
	err = sqlite3_step(s);
	if (err == SQLITE_DONE) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "join_token",
		    TOKEN_RULE, "unknown token");
		goto out;
	}
	if (err != SQLITE_ROW || !store_col_copy(s, 0, id, sizeof(id))) {
		(void)store_fail_tx(tx, "token_find");
		goto out;
	}
	expires_at = (time_t)sqlite3_column_int64(s, 1);
	used = sqlite3_column_type(s, 2) != SQLITE_NULL;
	store_stmt_put(s);
	s = NULL;
	if (used) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "join_token",
		    TOKEN_RULE, "token already used");
		goto out;
	}
	if (now >= expires_at) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "join_token",
		    TOKEN_RULE, "token expired");
		goto out;
	}

	rc = store_tx_stmt(tx, &sql_token_mark, &s);
	if (rc != RC_OK)
		goto out;
	rc = RC_DB;
	if (sqlite3_bind_blob(s, 1, hash, STORE_TOKEN_HASH_LEN,
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, (sqlite3_int64)now) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, "token_mark");
		goto out;
	}
	changed = sqlite3_changes(tx->conn->db);
	if (changed != 1) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "join_token",
		    TOKEN_RULE, "token already used");
		goto out;
	}
	memcpy(token_id, id, strlen(id) + 1);
	tx->touched = true;
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Delete, inside tx, the tokens that expired before cutoff, used or
 * not; *deleted (if not NULL) gets how many.
 */
enum rc
store_token_prune(struct store_tx *tx, time_t cutoff, int64_t *deleted)
{
	int64_t changed = 0;
	enum rc rc = RC_DB;

	if (deleted != NULL)
		*deleted = 0;
	rc = store_tx_run(tx, &sql_token_prune, NULL, (int64_t)cutoff,
	    &changed);
	if (rc != RC_OK)
		return rc;
	if (changed > 0)
		tx->touched = true;
	if (deleted != NULL)
		*deleted = changed;
	return RC_OK;
}
