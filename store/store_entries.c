/*
 * store_entries.c: registration entries in the SQLite store.
 *
 * An entry is one row of entries plus its rows in entry_selectors,
 * entry_dns and entry_federates.  One statement reads all of it: the
 * selector set comes from the row's selector_key (the canonical text
 * that the uniqueness check also uses), the DNS names and federated
 * trust domains come as JSON arrays that SQLite builds in subqueries,
 * and jansson parses both.
 *
 * Set filters (selectors, federates_with) never scan entries.  The
 * filter's values go to SQLite as one JSON array; json_each() drives
 * lookups in the child table's value index, the hits are grouped by
 * entry, and the group's count decides the match:
 *
 *   any       at least one hit
 *   superset  hits = size of the filter (the entry holds all of it)
 *   subset    hits = size of the entry's set (all of it is in the filter)
 *   exact     both
 *
 * so an entry with an empty set never matches a set filter.  A page
 * after a token also pushes "entry_id > token" into those lookups, so
 * later pages start where the index says, not at the first candidate.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "../server/bounds.h"
#include "../server/log.h"
#include "store_int.h"

#define ENTRY_RULE	"DESIGN.md Store"	/* cited in refusals */

/* ---- statements --------------------------------------------------------- */

/* The columns read_entry() takes, in this order, from entries e. */
#define ENTRY_COLS							\
	"SELECT e.id, e.spiffe_id, e.parent_id, e.selector_key,"	\
	" e.x509_svid_ttl, e.jwt_svid_ttl, e.admin, e.downstream,"	\
	" e.store_svid, e.expires_at, e.hint, e.revision_number,"	\
	" e.created_at, e.created_by,"					\
	" (SELECT json_group_array(json_array(d.pos, d.name))"		\
	"  FROM entry_dns d WHERE d.entry_id = e.id),"			\
	" (SELECT json_group_array(f.trust_domain)"			\
	"  FROM entry_federates f WHERE f.entry_id = e.id)"		\
	" FROM entries e"

enum entry_col {
	COL_ID = 0,
	COL_SPIFFE_ID,
	COL_PARENT_ID,
	COL_SELECTOR_KEY,
	COL_X509_TTL,
	COL_JWT_TTL,
	COL_ADMIN,
	COL_DOWNSTREAM,
	COL_STORE_SVID,
	COL_EXPIRES_AT,
	COL_HINT,
	COL_REVISION,
	COL_CREATED_AT,
	COL_CREATED_BY,
	COL_DNS,
	COL_FEDERATES,
};

/*
 * Entries among the hits of the selector array :sel whose every
 * selector is in it (the subset test, see the top of this file).
 */
#define SEL_HITS							\
	"SELECT s.entry_id FROM json_each(:sel) j"			\
	" JOIN entry_selectors s"					\
	" ON s.type = json_extract(j.value, '$[0]')"			\
	" AND s.value = json_extract(j.value, '$[1]')"
#define SEL_ALL_IN							\
	"count(*) = (SELECT count(*) FROM entry_selectors x"		\
	" WHERE x.entry_id = s.entry_id)"
#define FED_HITS							\
	"SELECT f.entry_id FROM json_each(:fed) j"			\
	" JOIN entry_federates f ON f.trust_domain = j.value"
#define FED_ALL_IN							\
	"count(*) = (SELECT count(*) FROM entry_federates x"		\
	" WHERE x.entry_id = f.entry_id)"

static const struct store_sql sql_exists = { STMT_ENTRY_EXISTS,
    "entry_exists", "SELECT 1 FROM entries WHERE id = ?1" };

/* Served by the unique index entries_unique. */
static const struct store_sql sql_dup = { STMT_ENTRY_DUP, "entry_dup",
    "SELECT id FROM entries WHERE spiffe_id = ?1 AND parent_id = ?2"
    " AND selector_key = ?3 AND id != ?4" };

static const struct store_sql sql_insert = { STMT_ENTRY_INSERT,
    "entry_insert",
    "INSERT INTO entries (id, spiffe_id, parent_id, selector_key,"
    " x509_svid_ttl, jwt_svid_ttl, admin, downstream, store_svid,"
    " expires_at, hint, revision_number, created_at, created_by)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
    " ?14)" };

static const struct store_sql sql_sel_insert = { STMT_ENTRY_SEL_INSERT,
    "entry_selector_insert",
    "INSERT INTO entry_selectors (entry_id, type, value)"
    " VALUES (?1, ?2, ?3)" };

static const struct store_sql sql_dns_insert = { STMT_ENTRY_DNS_INSERT,
    "entry_dns_insert",
    "INSERT INTO entry_dns (entry_id, pos, name) VALUES (?1, ?2, ?3)" };

static const struct store_sql sql_fed_insert = { STMT_ENTRY_FED_INSERT,
    "entry_federates_insert",
    "INSERT INTO entry_federates (entry_id, trust_domain)"
    " VALUES (?1, ?2)" };

static const struct store_sql sql_get = { STMT_ENTRY_GET, "entry_get",
    ENTRY_COLS " WHERE e.id = ?1" };

static const struct store_sql sql_head = { STMT_ENTRY_HEAD, "entry_head",
    "SELECT revision_number, created_at, created_by FROM entries"
    " WHERE id = ?1" };

static const struct store_sql sql_update = { STMT_ENTRY_UPDATE,
    "entry_update",
    "UPDATE entries SET spiffe_id = ?2, parent_id = ?3,"
    " selector_key = ?4, x509_svid_ttl = ?5, jwt_svid_ttl = ?6,"
    " admin = ?7, downstream = ?8, store_svid = ?9, expires_at = ?10,"
    " hint = ?11, revision_number = ?12 WHERE id = ?1" };

static const struct store_sql sql_sel_delete = { STMT_ENTRY_SEL_DELETE,
    "entry_selectors_delete",
    "DELETE FROM entry_selectors WHERE entry_id = ?1" };

static const struct store_sql sql_dns_delete = { STMT_ENTRY_DNS_DELETE,
    "entry_dns_delete", "DELETE FROM entry_dns WHERE entry_id = ?1" };

static const struct store_sql sql_fed_delete = { STMT_ENTRY_FED_DELETE,
    "entry_federates_delete",
    "DELETE FROM entry_federates WHERE entry_id = ?1" };

/* Child rows go with it (ON DELETE CASCADE). */
/* A range of the index entries_expires_at; 0 means "never expires". */
static const struct store_sql sql_prune = { STMT_ENTRY_PRUNE,
    "entry_prune",
    "DELETE FROM entries WHERE expires_at > 0 AND expires_at < ?1" };

static const struct store_sql sql_delete = { STMT_ENTRY_DELETE,
    "entry_delete", "DELETE FROM entries WHERE id = ?1" };

/* One range of the index entries_parent_id (parent_id, id). */
static const struct store_sql sql_by_parent = { STMT_ENTRY_BY_PARENT,
    "entries_by_parent", ENTRY_COLS " WHERE e.parent_id = :parent"
    " ORDER BY e.id" };

static const struct store_sql sql_aliases = { STMT_ENTRY_ALIASES,
    "entries_aliases", ENTRY_COLS " WHERE e.parent_id = :parent"
    " AND e.id IN (" SEL_HITS " GROUP BY s.entry_id HAVING "
    SEL_ALL_IN ") ORDER BY e.id" };

static const struct store_sql sql_flags = { STMT_ENTRY_FLAGS,
    "entry_flags",
    "SELECT coalesce(max(admin), 0), coalesce(max(downstream), 0)"
    " FROM entries WHERE spiffe_id = ?1"
    " AND (expires_at = 0 OR expires_at > ?2)" };

/* ---- freeing ------------------------------------------------------------ */

static void
free_strings(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Free what e owns and zero it.  NULL is fine. */
void
store_entry_clear(struct store_entry *e)
{
	if (e == NULL)
		return;
	free(e->spiffe_id);
	free(e->parent_id);
	store_selectors_free(e->selectors, e->n_selectors);
	free_strings(e->dns_names, e->n_dns_names);
	free_strings(e->federates_with, e->n_federates_with);
	free(e->hint);
	free(e->created_by);
	memset(e, 0, sizeof(*e));
}

/* Free n entries from a list call and the array; NULL is fine. */
void
store_entries_free(struct store_entry *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		store_entry_clear(&v[i]);
	free(v);
}

/* ---- reading ------------------------------------------------------------ */

/*
 * The DNS names from text, a JSON array of [pos, name] pairs in any
 * order, into e in pos order.  RC_DB (logged) unless the positions are
 * exactly 0..n-1; RC_NOMEM.
 */
static enum rc
read_dns(const char *text, struct store_entry *e)
{
	json_error_t jerr;
	json_t *arr = NULL, *pair, *pos, *name;
	json_int_t p;
	size_t i, len;
	enum rc rc = RC_DB;

	arr = json_loads(text == NULL ? "" : text, 0, &jerr);
	if (arr == NULL || !json_is_array(arr)) {
		log_error("store", "entry DNS names are not a JSON array "
		    "id=%s", e->id);
		goto out;
	}
	len = json_array_size(arr);
	if (len == 0) {
		rc = RC_OK;
		goto out;
	}
	rc = RC_NOMEM;
	e->dns_names = calloc(len, sizeof(*e->dns_names));
	if (e->dns_names == NULL)
		goto out;
	e->n_dns_names = len;
	for (i = 0; i < len; i++) {
		rc = RC_DB;
		pair = json_array_get(arr, i);
		pos = json_array_get(pair, 0);
		name = json_array_get(pair, 1);
		if (!json_is_integer(pos) || !json_is_string(name))
			goto out_bad;
		p = json_integer_value(pos);
		if (p < 0 || (size_t)p >= len || e->dns_names[p] != NULL)
			goto out_bad;
		rc = RC_NOMEM;
		e->dns_names[p] = strdup(json_string_value(name));
		if (e->dns_names[p] == NULL)
			goto out;
	}
	rc = RC_OK;
	goto out;
out_bad:
	log_error("store", "entry DNS name %zu is malformed id=%s", i, e->id);
out:
	json_decref(arr);
	return rc;
}

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The federated trust domains from text, a JSON array of strings, into
 * e, sorted.  RC_DB (logged) if malformed; RC_NOMEM.
 */
static enum rc
read_federates(const char *text, struct store_entry *e)
{
	json_error_t jerr;
	json_t *arr = NULL, *td;
	size_t i, len;
	enum rc rc = RC_DB;

	arr = json_loads(text == NULL ? "" : text, 0, &jerr);
	if (arr == NULL || !json_is_array(arr)) {
		log_error("store", "entry federates_with is not a JSON array "
		    "id=%s", e->id);
		goto out;
	}
	len = json_array_size(arr);
	if (len == 0) {
		rc = RC_OK;
		goto out;
	}
	rc = RC_NOMEM;
	e->federates_with = calloc(len, sizeof(*e->federates_with));
	if (e->federates_with == NULL)
		goto out;
	for (i = 0; i < len; i++) {
		td = json_array_get(arr, i);
		if (!json_is_string(td)) {
			log_error("store", "entry federates_with %zu is not a "
			    "string id=%s", i, e->id);
			rc = RC_DB;
			goto out;
		}
		e->federates_with[i] = strdup(json_string_value(td));
		if (e->federates_with[i] == NULL)
			goto out;
		e->n_federates_with = i + 1;
	}
	qsort(e->federates_with, len, sizeof(*e->federates_with),
	    compare_strings);
	rc = RC_OK;
out:
	json_decref(arr);
	return rc;
}

/*
 * Fill e (zeroed first, every string owned) from the current row of a
 * statement made from ENTRY_COLS.  On failure e is cleared.  RC_DB for
 * a row that does not read back, RC_NOMEM.
 */
static enum rc
read_entry(sqlite3_stmt *s, struct store_entry *e)
{
	enum rc rc = RC_DB;

	memset(e, 0, sizeof(*e));
	if (!store_col_copy(s, COL_ID, e->id, sizeof(e->id))) {
		log_error("store", "entry id is longer than %d bytes",
		    STORE_ENTRY_ID_MAX);
		goto out;
	}
	rc = store_col_dup(s, COL_SPIFFE_ID, &e->spiffe_id);
	if (rc != RC_OK)
		goto out;
	rc = store_col_dup(s, COL_PARENT_ID, &e->parent_id);
	if (rc != RC_OK)
		goto out;
	rc = store_col_dup(s, COL_HINT, &e->hint);
	if (rc != RC_OK)
		goto out;
	rc = store_col_dup(s, COL_CREATED_BY, &e->created_by);
	if (rc != RC_OK)
		goto out;
	rc = RC_DB;
	if (e->spiffe_id == NULL || e->parent_id == NULL) {
		log_error("store", "entry lacks an ID pair id=%s", e->id);
		goto out;
	}
	rc = store_selectors_decode((const char *)sqlite3_column_text(s,
	    COL_SELECTOR_KEY), &e->selectors, &e->n_selectors);
	if (rc != RC_OK)
		goto out;
	rc = read_dns((const char *)sqlite3_column_text(s, COL_DNS), e);
	if (rc != RC_OK)
		goto out;
	rc = read_federates((const char *)sqlite3_column_text(s,
	    COL_FEDERATES), e);
	if (rc != RC_OK)
		goto out;
	e->x509_svid_ttl = (long)sqlite3_column_int64(s, COL_X509_TTL);
	e->jwt_svid_ttl = (long)sqlite3_column_int64(s, COL_JWT_TTL);
	e->admin = sqlite3_column_int(s, COL_ADMIN) != 0;
	e->downstream = sqlite3_column_int(s, COL_DOWNSTREAM) != 0;
	e->store_svid = sqlite3_column_int(s, COL_STORE_SVID) != 0;
	e->expires_at = (time_t)sqlite3_column_int64(s, COL_EXPIRES_AT);
	e->revision_number = sqlite3_column_int64(s, COL_REVISION);
	e->created_at = (time_t)sqlite3_column_int64(s, COL_CREATED_AT);
	rc = RC_OK;
out:
	if (rc != RC_OK)
		store_entry_clear(e);
	return rc;
}

/*
 * Step s to its end (or to limit rows, noting in *more whether another
 * follows), reading each row into a growing array: *out (NULL when *n
 * is 0) for store_entries_free.  db names the connection for the log.
 */
static enum rc
collect(sqlite3 *db, sqlite3_stmt *s, size_t limit,
    struct store_entry **out, size_t *n, bool *more)
{
	struct store_entry *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	enum rc rc = RC_DB;
	int err;

	*out = NULL;
	*n = 0;
	if (more != NULL)
		*more = false;
	for (;;) {
		rc = RC_DB;
		err = sqlite3_step(s);
		if (err == SQLITE_DONE)
			break;
		if (err != SQLITE_ROW) {
			(void)store_fail_db(db, "entry read");
			goto out;
		}
		if (cnt == limit) {
			if (more != NULL)
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
		rc = read_entry(s, &v[cnt]);
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
	store_entries_free(v, cnt);
	return rc;
}

/*
 * Move v[0..k) (taken, array freed) onto the end of *out and *n.  On
 * RC_NOMEM v is freed and *out, *n are as they were.
 */
static enum rc
append_entries(struct store_entry **out, size_t *n, struct store_entry *v,
    size_t k)
{
	struct store_entry *nv;

	if (k == 0) {
		free(v);
		return RC_OK;
	}
	nv = reallocarray(*out, *n + k, sizeof(*nv));
	if (nv == NULL) {
		store_entries_free(v, k);
		return RC_NOMEM;
	}
	memcpy(nv + *n, v, k * sizeof(*v));
	free(v);
	*out = nv;
	*n += k;
	return RC_OK;
}

/* Read entry id through c into *out (caller clears). */
static enum rc
get_entry(struct store_conn *c, const char *id, struct store_entry *out)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;
	int err;

	memset(out, 0, sizeof(*out));
	rc = store_stmt_get(c, &sql_get, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (store_bind_str(s, 1, id) != SQLITE_OK) {
		(void)store_fail_db(c->db, "entry_get bind");
		goto out;
	}
	err = sqlite3_step(s);
	if (err == SQLITE_DONE) {
		rc = RC_NOT_FOUND;
		goto out;
	}
	if (err != SQLITE_ROW) {
		(void)store_fail_db(c->db, "entry_get");
		goto out;
	}
	rc = read_entry(s, out);
out:
	store_stmt_put(s);
	return rc;
}

/*
 * One entry by ID from the committed state into *out (store_entry_clear
 * it).  RC_NOT_FOUND if none; RC_DB, RC_NOMEM.
 */
enum rc
store_entry_get(struct store *st, const char *id, struct store_entry *out)
{
	struct store_conn *c;
	enum rc rc = RC_DB;

	memset(out, 0, sizeof(*out));
	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		return rc;
	return get_entry(c, id, out);
}

/* As store_entry_get, through tx, so it sees what tx has written. */
enum rc
store_entry_get_tx(struct store_tx *tx, const char *id,
    struct store_entry *out)
{
	enum rc rc = RC_DB;

	rc = get_entry(tx->conn, id, out);
	if (rc == RC_DB)
		tx->failed = true;
	return rc;
}

/* ---- writing ------------------------------------------------------------ */

/* Are v[0..n) all strings (v may be NULL only when n is 0)? */
static bool
is_string_array(char *const *v, size_t n)
{
	size_t i;

	if (n > 0 && v == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (v[i] == NULL)
			return false;
	return true;
}

/*
 * Bring e into the stored form: check what a caller bug could leave
 * unset (RC_INTERNAL, logged), sort and deduplicate the selectors and
 * the federated trust domains in place, and make the selector key in
 * *key (caller frees).  RC_BAD_REQUEST (why filled) for a selector that
 * is not UTF-8.
 */
static enum rc
normalize(struct store_entry *e, char **key, struct rc_why *why)
{
	size_t i, k;
	enum rc rc = RC_INTERNAL;

	*key = NULL;
	if (memchr(e->id, '\0', sizeof(e->id)) == NULL ||
	    e->spiffe_id == NULL || e->spiffe_id[0] == '\0' ||
	    e->parent_id == NULL || e->parent_id[0] == '\0' ||
	    !is_string_array(e->dns_names, e->n_dns_names) ||
	    !is_string_array(e->federates_with, e->n_federates_with)) {
		log_error("store", "refusing a malformed entry record");
		return RC_INTERNAL;
	}
	rc = store_selectors_check(e->selectors, e->n_selectors);
	if (rc != RC_OK)
		return rc;

	store_selectors_sort(e->selectors, &e->n_selectors);
	if (e->n_federates_with > 1) {
		qsort(e->federates_with, e->n_federates_with,
		    sizeof(*e->federates_with), compare_strings);
		for (i = 1, k = 1; i < e->n_federates_with; i++) {
			if (strcmp(e->federates_with[k - 1],
			    e->federates_with[i]) == 0) {
				free(e->federates_with[i]);
				continue;
			}
			e->federates_with[k++] = e->federates_with[i];
		}
		e->n_federates_with = k;
	}

	rc = store_selectors_encode(e->selectors, e->n_selectors, key);
	if (rc == RC_BAD_REQUEST)
		return rc_why_set(why, RC_BAD_REQUEST, "selectors",
		    "RFC 8259 8.1", "a selector is not valid UTF-8");
	return rc;
}

/*
 * Refuse (RC_CONFLICT, why names the other entry) when an entry other
 * than self has e's spiffe_id, parent_id and selector key.
 */
static enum rc
check_dup(struct store_tx *tx, const struct store_entry *e,
    const char *key, const char *self, struct rc_why *why)
{
	char other[STORE_ENTRY_ID_MAX + 1];
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;
	int err;

	rc = store_tx_stmt(tx, &sql_dup, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (store_bind_str(s, 1, e->spiffe_id) != SQLITE_OK ||
	    store_bind_str(s, 2, e->parent_id) != SQLITE_OK ||
	    store_bind_str(s, 3, key) != SQLITE_OK ||
	    store_bind_str(s, 4, self) != SQLITE_OK) {
		(void)store_fail_tx(tx, "entry_dup bind");
		goto out;
	}
	err = sqlite3_step(s);
	if (err == SQLITE_ROW) {
		if (!store_col_copy(s, 0, other, sizeof(other))) {
			(void)store_fail_tx(tx, "entry_dup id");
			goto out;
		}
		rc = rc_why_set(why, RC_CONFLICT, "selectors", ENTRY_RULE,
		    "entry %s already has this spiffe_id, parent_id and "
		    "selector set", other);
		goto out;
	}
	if (err != SQLITE_DONE) {
		(void)store_fail_tx(tx, "entry_dup");
		goto out;
	}
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/* Does an entry with this id exist (seen from inside tx)? */
static enum rc
check_exists(struct store_tx *tx, const char *id, bool *exists)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;
	int err;

	*exists = false;
	rc = store_tx_stmt(tx, &sql_exists, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (store_bind_str(s, 1, id) != SQLITE_OK) {
		(void)store_fail_tx(tx, "entry_exists bind");
		goto out;
	}
	err = sqlite3_step(s);
	if (err != SQLITE_ROW && err != SQLITE_DONE) {
		(void)store_fail_tx(tx, "entry_exists");
		goto out;
	}
	*exists = err == SQLITE_ROW;
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Run a cached child-row statement of tx: ?1 is id, then pos (when it
 * is not negative), then a and b (when not NULL), in that order.
 */
static enum rc
run_child(struct store_tx *tx, const struct store_sql *def, const char *id,
    int64_t pos, const char *a, const char *b)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;
	int err = SQLITE_OK;

	rc = store_tx_stmt(tx, def, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	err = store_bind_str(s, 1, id);
	if (err == SQLITE_OK && pos >= 0)
		err = sqlite3_bind_int64(s, 2, pos);
	if (err == SQLITE_OK && a != NULL)
		err = store_bind_str(s, pos >= 0 ? 3 : 2, a);
	if (err == SQLITE_OK && b != NULL)
		err = store_bind_str(s, 3, b);
	if (err != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, def->name);
		goto out;
	}
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/* Insert e's selectors, DNS names and trust domains under e->id. */
static enum rc
insert_children(struct store_tx *tx, const struct store_entry *e)
{
	enum rc rc = RC_DB;
	size_t i;

	for (i = 0; i < e->n_selectors; i++) {
		rc = run_child(tx, &sql_sel_insert, e->id, -1,
		    e->selectors[i].type, e->selectors[i].value);
		if (rc != RC_OK)
			return rc;
	}
	for (i = 0; i < e->n_dns_names; i++) {
		rc = run_child(tx, &sql_dns_insert, e->id, (int64_t)i,
		    e->dns_names[i], NULL);
		if (rc != RC_OK)
			return rc;
	}
	for (i = 0; i < e->n_federates_with; i++) {
		rc = run_child(tx, &sql_fed_insert, e->id, -1,
		    e->federates_with[i], NULL);
		if (rc != RC_OK)
			return rc;
	}
	return RC_OK;
}

/*
 * Bind what insert and update share: ?1 the ID, ?2 to ?11 the columns
 * taken from e.  Returns SQLite's last code; the caller steps s.
 */
static int
bind_row(sqlite3_stmt *s, const struct store_entry *e, const char *key)
{
	int err;

	err = store_bind_str(s, 1, e->id);
	if (err == SQLITE_OK)
		err = store_bind_str(s, 2, e->spiffe_id);
	if (err == SQLITE_OK)
		err = store_bind_str(s, 3, e->parent_id);
	if (err == SQLITE_OK)
		err = store_bind_str(s, 4, key);
	if (err == SQLITE_OK)
		err = sqlite3_bind_int64(s, 5, (sqlite3_int64)e->x509_svid_ttl);
	if (err == SQLITE_OK)
		err = sqlite3_bind_int64(s, 6, (sqlite3_int64)e->jwt_svid_ttl);
	if (err == SQLITE_OK)
		err = sqlite3_bind_int(s, 7, e->admin ? 1 : 0);
	if (err == SQLITE_OK)
		err = sqlite3_bind_int(s, 8, e->downstream ? 1 : 0);
	if (err == SQLITE_OK)
		err = sqlite3_bind_int(s, 9, e->store_svid ? 1 : 0);
	if (err == SQLITE_OK)
		err = sqlite3_bind_int64(s, 10, (sqlite3_int64)e->expires_at);
	if (err == SQLITE_OK)
		err = e->hint == NULL ? sqlite3_bind_null(s, 11) :
		    store_bind_str(s, 11, e->hint);
	return err;
}

/*
 * A random version 4 UUID in lower-case text (RFC 9562 5.4): 122 bits
 * from libsodium, the version and variant bits set, 8-4-4-4-12 digits.
 */
static void
make_uuid(char *out)
{
	static const size_t cut[] = { 8, 12, 16, 20 };
	unsigned char b[16];
	char hex[33];
	size_t i, from = 0, to = 0;

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	(void)sodium_bin2hex(hex, sizeof(hex), b, sizeof(b));
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		memcpy(out + to, hex + from, cut[i] - from);
		to += cut[i] - from;
		out[to++] = '-';
		from = cut[i];
	}
	memcpy(out + to, hex + from, 32 - from);
	out[to + 32 - from] = '\0';
}

/* The body of store_entry_create; e->id is set. */
static enum rc
create_entry(struct store_tx *tx, struct store_entry *e, const char *key,
    struct rc_why *why)
{
	sqlite3_stmt *s = NULL;
	time_t now;
	bool exists;
	enum rc rc = RC_DB;

	rc = check_exists(tx, e->id, &exists);
	if (rc != RC_OK)
		return rc;
	if (exists)
		return rc_why_set(why, RC_CONFLICT, "id", ENTRY_RULE,
		    "entry ID %s is already taken", e->id);
	rc = check_dup(tx, e, key, e->id, why);
	if (rc != RC_OK)
		return rc;

	now = time(NULL);
	rc = store_tx_stmt(tx, &sql_insert, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (bind_row(s, e, key) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 12, 1) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 13, (sqlite3_int64)now) != SQLITE_OK ||
	    (e->created_by == NULL ? sqlite3_bind_null(s, 14) :
	    store_bind_str(s, 14, e->created_by)) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, "entry_insert");
		goto out;
	}
	rc = insert_children(tx, e);
	if (rc != RC_OK)
		goto out;

	e->revision_number = 1;
	e->created_at = now;
	tx->touched = true;
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Create e inside tx (see store.h).  A refusal (RC_CONFLICT for a taken
 * ID or a duplicate, RC_BAD_REQUEST for a selector that is not UTF-8)
 * fills why and changes nothing, so the transaction can go on with
 * other entries; e->id is then as the caller gave it.
 */
enum rc
store_entry_create(struct store_tx *tx, struct store_entry *e,
    struct rc_why *why)
{
	char *key = NULL;
	bool made = false;
	enum rc rc = RC_INTERNAL;

	rc_why_clear(why);
	rc = normalize(e, &key, why);
	if (rc != RC_OK)
		goto out;
	if (e->id[0] == '\0') {
		make_uuid(e->id);
		made = true;
	}
	rc = create_entry(tx, e, key, why);
out:
	if (rc != RC_OK && made)
		e->id[0] = '\0';
	free(key);
	return rc;
}

/*
 * Read the stored revision, created_at and created_by (malloc'd, may be
 * NULL) of id inside tx; RC_NOT_FOUND if there is no such entry.
 */
static enum rc
read_head(struct store_tx *tx, const char *id, int64_t *rev,
    time_t *created_at, char **created_by)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;
	int err;

	*created_by = NULL;
	rc = store_tx_stmt(tx, &sql_head, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (store_bind_str(s, 1, id) != SQLITE_OK) {
		(void)store_fail_tx(tx, "entry_head bind");
		goto out;
	}
	err = sqlite3_step(s);
	if (err == SQLITE_DONE) {
		rc = RC_NOT_FOUND;
		goto out;
	}
	if (err != SQLITE_ROW) {
		(void)store_fail_tx(tx, "entry_head");
		goto out;
	}
	*rev = sqlite3_column_int64(s, 0);
	*created_at = (time_t)sqlite3_column_int64(s, 1);
	rc = store_col_dup(s, 2, created_by);
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Replace entry e->id with e inside tx (see store.h).  Refusals fill
 * why and change nothing: RC_NOT_FOUND, RC_PRECONDITION (stale
 * if_revision), RC_CONFLICT (would duplicate another entry),
 * RC_BAD_REQUEST (a selector that is not UTF-8).
 */
enum rc
store_entry_update(struct store_tx *tx, struct store_entry *e,
    int64_t if_revision, struct rc_why *why)
{
	sqlite3_stmt *s = NULL;
	char *key = NULL, *created_by = NULL;
	time_t created_at = 0;
	int64_t rev = 0;
	enum rc rc = RC_INTERNAL;

	rc_why_clear(why);
	rc = normalize(e, &key, why);
	if (rc != RC_OK)
		goto out;
	rc = read_head(tx, e->id, &rev, &created_at, &created_by);
	if (rc == RC_NOT_FOUND)
		(void)rc_why_set(why, RC_NOT_FOUND, "id", ENTRY_RULE,
		    "no entry has ID %s", e->id);
	if (rc != RC_OK)
		goto out;
	if (if_revision >= 0 && if_revision != rev) {
		rc = rc_why_set(why, RC_PRECONDITION, "revision_number",
		    "RFC 9110 13.1.1", "entry %s is at revision %lld, not "
		    "%lld", e->id, (long long)rev, (long long)if_revision);
		goto out;
	}
	rc = check_dup(tx, e, key, e->id, why);
	if (rc != RC_OK)
		goto out;

	rc = store_tx_stmt(tx, &sql_update, &s);
	if (rc != RC_OK)
		goto out;
	rc = RC_DB;
	if (bind_row(s, e, key) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 12, rev + 1) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, "entry_update");
		goto out;
	}
	/* The sets are written again whole: they are a few rows each. */
	rc = run_child(tx, &sql_sel_delete, e->id, -1, NULL, NULL);
	if (rc == RC_OK)
		rc = run_child(tx, &sql_dns_delete, e->id, -1, NULL, NULL);
	if (rc == RC_OK)
		rc = run_child(tx, &sql_fed_delete, e->id, -1, NULL, NULL);
	if (rc == RC_OK)
		rc = insert_children(tx, e);
	if (rc != RC_OK)
		goto out;

	e->revision_number = rev + 1;
	e->created_at = created_at;
	free(e->created_by);
	e->created_by = created_by;
	created_by = NULL;
	tx->touched = true;
	rc = RC_OK;
out:
	store_stmt_put(s);
	free(created_by);
	free(key);
	return rc;
}

/* Delete entry id and its child rows inside tx; RC_NOT_FOUND if none. */
enum rc
store_entry_delete(struct store_tx *tx, const char *id)
{
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;

	rc = store_tx_stmt(tx, &sql_delete, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (store_bind_str(s, 1, id) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		(void)store_fail_tx(tx, "entry_delete");
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

/* See store.h. */
enum rc
store_entry_prune(struct store_tx *tx, time_t cutoff, int64_t *deleted)
{
	int64_t changed = 0;
	enum rc rc;

	if (deleted != NULL)
		*deleted = 0;
	rc = store_tx_run(tx, &sql_prune, NULL, (int64_t)cutoff, &changed);
	if (rc != RC_OK)
		return rc;
	if (changed > 0)
		tx->touched = true;
	if (deleted != NULL)
		*deleted = changed;
	return RC_OK;
}

/* ---- filters ------------------------------------------------------------ */

/* A filter's sets made ready for binding. */
struct filter_args {
	char	*sel;		/* JSON array of [type, value], owned */
	size_t	 n_sel;		/* distinct selectors in it */
	char	*fed;		/* JSON array of trust domains, owned */
	size_t	 n_fed;		/* distinct trust domains in it */
};

static void
filter_args_free(struct filter_args *a)
{
	free(a->sel);
	free(a->fed);
	memset(a, 0, sizeof(*a));
}

/*
 * The distinct selectors of v[0..n) as their canonical text in *json
 * and their count in *count.  The strings stay borrowed.
 */
static enum rc
encode_selector_set(const struct store_selector *v, size_t n, char **json,
    size_t *count)
{
	struct store_selector *w = NULL;
	size_t i, k = 0;
	enum rc rc = RC_NOMEM;

	*json = NULL;
	*count = 0;
	rc = store_selectors_check(v, n);
	if (rc != RC_OK)
		return rc;
	if (n > 0) {
		w = calloc(n, sizeof(*w));
		if (w == NULL)
			return RC_NOMEM;
		memcpy(w, v, n * sizeof(*v));
		qsort(w, n, sizeof(*w), store_selector_cmp);
		for (i = 1, k = 1; i < n; i++)
			if (store_selector_cmp(&w[k - 1], &w[i]) != 0)
				w[k++] = w[i];
	}
	rc = store_selectors_encode(w, k, json);
	if (rc == RC_OK)
		*count = k;
	free(w);
	return rc;
}

/* The distinct strings of v[0..n) as a JSON array in *json. */
static enum rc
encode_string_set(const char *const *v, size_t n, char **json,
    size_t *count)
{
	json_t *arr = NULL;
	const char **w = NULL;
	size_t i, k = 0;
	enum rc rc = RC_NOMEM;

	*json = NULL;
	*count = 0;
	if (n > 0 && v == NULL)
		return RC_INTERNAL;
	if (n > 0) {
		w = calloc(n, sizeof(*w));
		if (w == NULL)
			return RC_NOMEM;
		for (i = 0; i < n; i++) {
			if (v[i] == NULL) {
				rc = RC_INTERNAL;
				goto out;
			}
			w[i] = v[i];
		}
		qsort(w, n, sizeof(*w), compare_strings);
		for (i = 1, k = 1; i < n; i++)
			if (strcmp(w[k - 1], w[i]) != 0)
				w[k++] = w[i];
	}
	arr = json_array();
	if (arr == NULL)
		goto out;
	for (i = 0; i < k; i++) {
		if (json_array_append_new(arr, json_string(w[i])) != 0) {
			log_error("store", "trust domain filter is not UTF-8");
			rc = RC_INTERNAL;
			goto out;
		}
	}
	*json = json_dumps(arr, JSON_COMPACT);
	if (*json == NULL)
		goto out;
	*count = k;
	rc = RC_OK;
out:
	json_decref(arr);
	free(w);
	return rc;
}

/* Is m one of the four match modes? */
static bool
is_match(enum store_match m)
{
	return m == STORE_MATCH_EXACT || m == STORE_MATCH_SUBSET ||
	    m == STORE_MATCH_SUPERSET || m == STORE_MATCH_ANY;
}

/*
 * Check f (RC_INTERNAL, logged, for what the API layer would never pass)
 * and prepare its sets in *a (filter_args_free).
 */
static enum rc
prepare_filter(const struct store_entry_filter *f, struct filter_args *a)
{
	enum rc rc = RC_INTERNAL;

	memset(a, 0, sizeof(*a));
	if (f == NULL)
		return RC_OK;
	if (!is_match(f->selectors_match) ||
	    !is_match(f->federates_with_match) ||
	    f->downstream < -1 || f->downstream > 1 ||
	    f->admin < -1 || f->admin > 1) {
		log_error("store", "refusing a malformed entry filter");
		return RC_INTERNAL;
	}
	if (f->n_selectors > 0) {
		rc = encode_selector_set(f->selectors, f->n_selectors,
		    &a->sel, &a->n_sel);
		if (rc != RC_OK)
			goto out;
	}
	if (f->n_federates_with > 0) {
		rc = encode_string_set(f->federates_with,
		    f->n_federates_with, &a->fed, &a->n_fed);
		if (rc != RC_OK)
			goto out;
	}
	rc = RC_OK;
out:
	if (rc != RC_OK)
		filter_args_free(a);
	return rc;
}

/* Add cond to b's WHERE clause (the first one opens it). */
static void
add_cond(struct store_sqlbuf *b, int *conds, const char *cond)
{
	store_sql_add(b, *conds == 0 ? " WHERE " : " AND ");
	store_sql_add(b, cond);
	(*conds)++;
}

/*
 * The set condition for one of the two sets: hits from the value index
 * (after the page token when paging), grouped by entry, kept by count.
 *
 * XXX(entry-set-filter): every page reads all the hits after its token,
 * so a filter naming a value that most entries hold (a namespace of
 * 500,000 workloads) costs a walk of those index rows per page;
 * acceptable because such lists are rare admin calls and the walk is
 * over a covering index.  Fix: with one set value and no other filter,
 * stop the grouped scan at the page's end.
 */
static void
add_set_cond(struct store_sqlbuf *b, int *conds, enum store_match m,
    bool sel, bool paging)
{
	add_cond(b, conds, "e.id IN (");
	store_sql_add(b, sel ? SEL_HITS : FED_HITS);
	if (paging)
		store_sql_add(b, sel ? " AND s.entry_id > :after" :
		    " AND f.entry_id > :after");
	store_sql_add(b, sel ? " GROUP BY s.entry_id" :
	    " GROUP BY f.entry_id");
	switch (m) {
	case STORE_MATCH_ANY:
		break;
	case STORE_MATCH_SUPERSET:
		store_sql_add(b, sel ? " HAVING count(*) = :sel_n" :
		    " HAVING count(*) = :fed_n");
		break;
	case STORE_MATCH_SUBSET:
		store_sql_add(b, " HAVING ");
		store_sql_add(b, sel ? SEL_ALL_IN : FED_ALL_IN);
		break;
	case STORE_MATCH_EXACT:
		store_sql_add(b, sel ? " HAVING count(*) = :sel_n AND " :
		    " HAVING count(*) = :fed_n AND ");
		store_sql_add(b, sel ? SEL_ALL_IN : FED_ALL_IN);
		break;
	}
	store_sql_add(b, ")");
}

/*
 * Append f's conditions to b.  Only fixed text goes in; values are
 * bound by name (bind_filter).  admin and downstream are written as
 * literals so that the partial indexes on them apply.
 */
static void
add_filter(struct store_sqlbuf *b, int *conds,
    const struct store_entry_filter *f, bool paging)
{
	if (f == NULL)
		return;
	if (f->spiffe_id != NULL)
		add_cond(b, conds, "e.spiffe_id = :spiffe_id");
	if (f->parent_id != NULL)
		add_cond(b, conds, "e.parent_id = :parent_id");
	if (f->hint != NULL)
		add_cond(b, conds, "e.hint = :hint");
	if (f->downstream != -1)
		add_cond(b, conds, f->downstream == 1 ? "e.downstream = 1" :
		    "e.downstream = 0");
	if (f->admin != -1)
		add_cond(b, conds, f->admin == 1 ? "e.admin = 1" :
		    "e.admin = 0");
	if (f->n_selectors > 0)
		add_set_cond(b, conds, f->selectors_match, true, paging);
	if (f->n_federates_with > 0)
		add_set_cond(b, conds, f->federates_with_match, false,
		    paging);
}

/* Bind f's values to the named parameters s has.  SQLite's code. */
static int
bind_filter(sqlite3_stmt *s, const struct store_entry_filter *f,
    const struct filter_args *a)
{
	int err = SQLITE_OK;

	if (f == NULL)
		return SQLITE_OK;
	err = store_bind_name(s, ":spiffe_id", f->spiffe_id);
	if (err == SQLITE_OK)
		err = store_bind_name(s, ":parent_id", f->parent_id);
	if (err == SQLITE_OK)
		err = store_bind_name(s, ":hint", f->hint);
	if (err == SQLITE_OK)
		err = store_bind_name(s, ":sel", a->sel);
	if (err == SQLITE_OK)
		err = store_bind_name_int(s, ":sel_n", (int64_t)a->n_sel);
	if (err == SQLITE_OK)
		err = store_bind_name(s, ":fed", a->fed);
	if (err == SQLITE_OK)
		err = store_bind_name_int(s, ":fed_n", (int64_t)a->n_fed);
	return err;
}

/* Prepare the text of b on c; a statement for sqlite3_finalize. */
static enum rc
prepare_built(struct store_conn *c, const struct store_sqlbuf *b,
    sqlite3_stmt **s)
{
	*s = NULL;
	if (b->overflow) {
		log_error("store", "list query longer than %d bytes",
		    STORE_SQL_MAX);
		return RC_INTERNAL;
	}
	if (sqlite3_prepare_v2(c->db, b->text, (int)b->len, s, NULL) !=
	    SQLITE_OK)
		return store_fail_db(c->db, "prepare entry list");
	return RC_OK;
}

/* ---- lists -------------------------------------------------------------- */

/*
 * List entries matching f in ID order (see store.h); next_token may be
 * the buffer page_token points to.  RC_INTERNAL for a page_size outside
 * 1..PAGE_SIZE_MAX or a malformed filter.  One query:
 * the filter picks the index (see the top of this file), and with no
 * filter it walks the primary key from the token.
 */
enum rc
store_entry_list(struct store *st, const struct store_entry_filter *f,
    const char *page_token, size_t page_size, struct store_entry **out,
    size_t *n, char *next_token)
{
	struct store_sqlbuf *b = NULL;
	struct filter_args a;
	struct store_conn *c;
	sqlite3_stmt *s = NULL;
	bool paging, more;
	int conds = 0;
	enum rc rc = RC_INTERNAL;

	*out = NULL;
	*n = 0;
	if (page_size == 0 || page_size > PAGE_SIZE_MAX) {
		log_error("store", "entry page size %zu is out of range",
		    page_size);
		next_token[0] = '\0';
		return RC_INTERNAL;
	}
	paging = page_token != NULL && page_token[0] != '\0';
	rc = prepare_filter(f, &a);
	if (rc != RC_OK)
		return rc;

	rc = RC_NOMEM;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		goto out;
	store_sql_add(b, ENTRY_COLS);
	add_filter(b, &conds, f, paging);
	if (paging)
		add_cond(b, &conds, "e.id > :after");
	store_sql_add(b, " ORDER BY e.id LIMIT :limit");

	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		goto out;
	rc = prepare_built(c, b, &s);
	if (rc != RC_OK)
		goto out;
	rc = RC_DB;
	/* One row past the page says whether another page follows. */
	if (bind_filter(s, f, &a) != SQLITE_OK ||
	    store_bind_name(s, ":after", page_token) != SQLITE_OK ||
	    store_bind_name_int(s, ":limit", (int64_t)page_size + 1) !=
	    SQLITE_OK) {
		(void)store_fail_db(c->db, "entry list bind");
		goto out;
	}
	rc = collect(c->db, s, page_size, out, n, &more);
	if (rc != RC_OK)
		goto out;
	/* Written last: next_token may be the very buffer of page_token. */
	if (more)
		memcpy(next_token, (*out)[*n - 1].id,
		    strlen((*out)[*n - 1].id) + 1);
	else
		next_token[0] = '\0';
	rc = RC_OK;
out:
	if (rc != RC_OK)
		next_token[0] = '\0';
	(void)sqlite3_finalize(s);
	filter_args_free(&a);
	free(b);
	return rc;
}

/*
 * Count the entries matching f.  With no filter this is SQLite's count
 * of the smallest index of entries, a walk over every entry: fine for an
 * admin call, and there is no cheaper exact answer.
 */
enum rc
store_entry_count(struct store *st, const struct store_entry_filter *f,
    int64_t *count)
{
	struct store_sqlbuf *b = NULL;
	struct filter_args a;
	struct store_conn *c;
	sqlite3_stmt *s = NULL;
	int conds = 0;
	enum rc rc = RC_INTERNAL;

	*count = 0;
	rc = prepare_filter(f, &a);
	if (rc != RC_OK)
		return rc;
	rc = RC_NOMEM;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		goto out;
	store_sql_add(b, "SELECT count(*) FROM entries e");
	add_filter(b, &conds, f, false);

	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		goto out;
	rc = prepare_built(c, b, &s);
	if (rc != RC_OK)
		goto out;
	rc = RC_DB;
	if (bind_filter(s, f, &a) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		(void)store_fail_db(c->db, "entry count");
		goto out;
	}
	*count = sqlite3_column_int64(s, 0);
	rc = RC_OK;
out:
	(void)sqlite3_finalize(s);
	filter_args_free(&a);
	free(b);
	return rc;
}

/*
 * Run one of the cached sync queries on this thread's reader with
 * :parent (and :sel when sel is not NULL) and append what it finds.
 *
 * XXX(entry-sync-size): the answer grows with the entries under one
 * parent and has no ceiling; acceptable because only an admin creates
 * entries and the agent sync needs every one of them.  Fix: page the
 * sync by entry ID, as the lists are.
 */
static enum rc
run_sync(struct store *st, const struct store_sql *def, const char *parent,
    const char *sel, struct store_entry **out, size_t *n)
{
	struct store_entry *v = NULL;
	struct store_conn *c;
	sqlite3_stmt *s = NULL;
	size_t k = 0;
	enum rc rc = RC_DB;

	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		return rc;
	rc = store_stmt_get(c, def, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (store_bind_name(s, ":parent", parent) != SQLITE_OK ||
	    (sel != NULL && store_bind_name(s, ":sel", sel) != SQLITE_OK)) {
		(void)store_fail_db(c->db, def->name);
		goto out;
	}
	rc = collect(c->db, s, SIZE_MAX, &v, &k, NULL);
	if (rc != RC_OK)
		goto out;
	rc = append_entries(out, n, v, k);
out:
	store_stmt_put(s);
	return rc;
}

/*
 * Append the entries whose parent_id is parent, in ID order, to *out and
 * *n (see store.h).  On failure *out and *n are as they were.
 */
enum rc
store_entries_by_parent(struct store *st, const char *parent,
    struct store_entry **out, size_t *n)
{
	return run_sync(st, &sql_by_parent, parent, NULL, out, n);
}

/*
 * Append the node-alias entries of an agent with selectors sel[0..n_sel)
 * (see store.h): parent_id is server_id and the entry's non-empty set
 * lies within sel.  On failure *out and *n are as they were.
 */
enum rc
store_entries_aliases(struct store *st, const char *server_id,
    const struct store_selector *sel, size_t n_sel,
    struct store_entry **out, size_t *n)
{
	char *json = NULL;
	size_t distinct;
	enum rc rc = RC_INTERNAL;

	if (n_sel == 0)
		return RC_OK;
	rc = encode_selector_set(sel, n_sel, &json, &distinct);
	if (rc == RC_BAD_REQUEST)
		rc = RC_INTERNAL;
	if (rc != RC_OK)
		return rc;
	rc = run_sync(st, &sql_aliases, server_id, json, out, n);
	free(json);
	return rc;
}

/*
 * Is there an unexpired entry for spiffe_id with admin (*admin) or
 * downstream (*downstream) set?  An entry past its expires_at grants
 * nothing.  Read from the committed state.
 */
enum rc
store_entry_flags_for(struct store *st, const char *spiffe_id, bool *admin,
    bool *downstream)
{
	struct store_conn *c;
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;

	*admin = false;
	*downstream = false;
	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		return rc;
	rc = store_stmt_get(c, &sql_flags, &s);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (store_bind_str(s, 1, spiffe_id) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, (sqlite3_int64)time(NULL)) !=
	    SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		(void)store_fail_db(c->db, "entry_flags");
		goto out;
	}
	*admin = sqlite3_column_int(s, 0) != 0;
	*downstream = sqlite3_column_int(s, 1) != 0;
	rc = RC_OK;
out:
	store_stmt_put(s);
	return rc;
}
