/*
 * store_audit.c: reading the audit chain back (filtered pages for
 * GET /v1/audit) and the table of signed checkpoints.  Appending records
 * and the chain's encoding live in store.c; the checkpoint signature is
 * made by server/audit.c over
 *
 *   "svidca audit checkpoint v1" || i64(seq) || hash[seq]
 *
 * (i64 as in store.c), and checked offline by "svidca audit verify".
 * Both queries here run rarely, so their statements are prepared per
 * call rather than cached.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../server/bounds.h"
#include "../server/log.h"
#include "store_int.h"

#define AUDIT_COLUMNS							\
	"SELECT seq, at, actor, action, subject, outcome, serial,"	\
	" entry_id, detail, prev_hash, hash FROM audit WHERE seq > :after"

void
store_audit_rows_free(struct store_audit_row *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].actor);
		free(v[i].action);
		free(v[i].subject);
		free(v[i].outcome);
		free(v[i].serial);
		free(v[i].entry_id);
		free(v[i].detail);
	}
	free(v);
}

/* Copy the current row of s into r; RC_DB for a damaged hash column. */
static enum rc
read_row(sqlite3_stmt *s, struct store_audit_row *r)
{
	char **dst[] = { &r->actor, &r->action, &r->subject, &r->outcome,
	    &r->serial, &r->entry_id, &r->detail };
	size_t i;

	r->seq = sqlite3_column_int64(s, 0);
	r->at = (time_t)sqlite3_column_int64(s, 1);
	for (i = 0; i < sizeof(dst) / sizeof(dst[0]); i++) {
		if (store_col_dup(s, (int)i + 2, dst[i]) != RC_OK)
			return RC_NOMEM;
		if (*dst[i] == NULL) {
			*dst[i] = strdup("");
			if (*dst[i] == NULL)
				return RC_NOMEM;
		}
	}
	if (sqlite3_column_bytes(s, 9) != STORE_HASH_LEN ||
	    sqlite3_column_bytes(s, 10) != STORE_HASH_LEN) {
		log_error("store", "audit record %lld has a damaged hash",
		    (long long)r->seq);
		return RC_DB;
	}
	memcpy(r->prev_hash, sqlite3_column_blob(s, 9), STORE_HASH_LEN);
	memcpy(r->hash, sqlite3_column_blob(s, 10), STORE_HASH_LEN);
	return RC_OK;
}

/* The list query for f, from fixed fragments only. */
static void
build_list_sql(const struct store_audit_filter *f, struct store_sqlbuf *b)
{
	memset(b, 0, sizeof(*b));
	store_sql_add(b, AUDIT_COLUMNS);
	if (f->actor != NULL)
		store_sql_add(b, " AND actor = :actor");
	if (f->subject != NULL)
		store_sql_add(b, " AND subject = :subject");
	if (f->serial != NULL)
		store_sql_add(b, " AND serial = :serial");
	if (f->entry_id != NULL)
		store_sql_add(b, " AND entry_id = :entry_id");
	if (f->agent != NULL)
		store_sql_add(b, " AND (actor = :agent OR subject = :agent)");
	if (f->action != NULL)
		store_sql_add(b, " AND action = :action");
	if (f->since != 0)
		store_sql_add(b, " AND at >= :since");
	if (f->until != 0)
		store_sql_add(b, " AND at < :until");
	store_sql_add(b, " ORDER BY seq LIMIT :limit");
}

enum rc
store_audit_list(struct store *st, const struct store_audit_filter *f,
    int64_t after, size_t page_size, struct store_audit_row **out,
    size_t *n, bool *more)
{
	struct store_audit_row *v = NULL;
	struct store_sqlbuf b;
	struct store_conn *c;
	sqlite3_stmt *s = NULL;
	size_t got = 0;
	enum rc rc = RC_INTERNAL;
	int err;

	*out = NULL;
	*n = 0;
	*more = false;
	if (page_size == 0 || page_size > PAGE_SIZE_MAX)
		return RC_INTERNAL;
	build_list_sql(f, &b);
	if (b.overflow)
		return RC_INTERNAL;
	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		return rc;
	if (sqlite3_prepare_v2(c->db, b.text, -1, &s, NULL) != SQLITE_OK) {
		rc = store_fail_db(c->db, "audit list");
		goto out;
	}
	if (store_bind_name_int(s, ":after", after) != SQLITE_OK ||
	    store_bind_name(s, ":actor", f->actor) != SQLITE_OK ||
	    store_bind_name(s, ":subject", f->subject) != SQLITE_OK ||
	    store_bind_name(s, ":serial", f->serial) != SQLITE_OK ||
	    store_bind_name(s, ":entry_id", f->entry_id) != SQLITE_OK ||
	    store_bind_name(s, ":agent", f->agent) != SQLITE_OK ||
	    store_bind_name(s, ":action", f->action) != SQLITE_OK ||
	    store_bind_name_int(s, ":since", f->since) != SQLITE_OK ||
	    store_bind_name_int(s, ":until", f->until) != SQLITE_OK ||
	    store_bind_name_int(s, ":limit", (int64_t)page_size + 1) !=
	    SQLITE_OK) {
		rc = store_fail_db(c->db, "audit list bind");
		goto out;
	}

	rc = RC_NOMEM;
	v = calloc(page_size, sizeof(*v));
	if (v == NULL)
		goto out;
	while ((err = sqlite3_step(s)) == SQLITE_ROW) {
		if (got == page_size) {
			*more = true;
			break;
		}
		rc = read_row(s, &v[got++]);
		if (rc != RC_OK)
			goto out;
	}
	if (err != SQLITE_ROW && err != SQLITE_DONE) {
		rc = store_fail_db(c->db, "audit list");
		goto out;
	}
	if (got > 0) {
		*out = v;
		*n = got;
		v = NULL;
	}
	rc = RC_OK;
out:
	store_audit_rows_free(v, got);
	sqlite3_finalize(s);
	return rc;
}

enum rc
store_audit_checkpoint_add(struct store_tx *tx, int64_t seq, time_t at,
    const unsigned char *hash, const unsigned char *sig)
{
	sqlite3_stmt *s = NULL;
	sqlite3 *db = tx->conn->db;
	enum rc rc = RC_DB;
	int err;

	if (sqlite3_prepare_v2(db, "INSERT INTO audit_checkpoints (seq, at,"
	    " hash, sig) VALUES (?1, ?2, ?3, ?4)", -1, &s, NULL) !=
	    SQLITE_OK) {
		rc = store_fail_tx(tx, "audit checkpoint insert");
		goto out;
	}
	if (sqlite3_bind_int64(s, 1, seq) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, (sqlite3_int64)at) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 3, hash, STORE_HASH_LEN, SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_bind_blob(s, 4, sig,
	    STORE_CHECKPOINT_SIG_LEN, SQLITE_STATIC) != SQLITE_OK) {
		rc = store_fail_tx(tx, "audit checkpoint bind");
		goto out;
	}
	err = sqlite3_step(s);
	if ((err & 0xff) == SQLITE_CONSTRAINT) {
		rc = RC_CONFLICT;
		goto out;
	}
	if (err != SQLITE_DONE) {
		rc = store_fail_tx(tx, "audit checkpoint insert");
		goto out;
	}
	rc = RC_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

enum rc
store_audit_checkpoint_last(struct store *st, int64_t *seq)
{
	struct store_conn *c;
	sqlite3_stmt *s = NULL;
	enum rc rc = RC_DB;
	int err;

	*seq = 0;
	rc = store_reader_get(st, &c);
	if (rc != RC_OK)
		return rc;
	rc = RC_DB;
	if (sqlite3_prepare_v2(c->db, "SELECT coalesce(max(seq), 0) FROM"
	    " audit_checkpoints", -1, &s, NULL) != SQLITE_OK) {
		rc = store_fail_db(c->db, "audit checkpoint last");
		goto out;
	}
	err = sqlite3_step(s);
	if (err != SQLITE_ROW) {
		rc = store_fail_db(c->db, "audit checkpoint last");
		goto out;
	}
	*seq = sqlite3_column_int64(s, 0);
	rc = RC_OK;
out:
	sqlite3_finalize(s);
	return rc;
}
