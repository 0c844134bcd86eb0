/*
 * test_audit.c: the audit checkpoint key and schedule (server/audit.c)
 * and the audit queries of the store (store/store_audit.c), on a
 * scratch database and key directory.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "../../ca/secret.h"
#include "../../server/audit.h"
#include "../../server/log.h"
#include "../../server/rc.h"
#include "../../store/store.h"
#include "check.h"

static char dir[] = "/tmp/svidca-audit-XXXXXX";
static char keys[512];

/* One record appended per call of the write callback. */
struct rec_arg {
	const char	*actor;
	const char	*action;
	const char	*subject;
	const char	*serial;
	const char	*entry_id;
	time_t		 at;
};

static enum rc
on_append(struct store_tx *tx, void *arg)
{
	const struct rec_arg *r = arg;
	struct store_audit rec;

	memset(&rec, 0, sizeof(rec));
	rec.at = r->at;
	rec.actor = r->actor;
	rec.action = r->action;
	rec.subject = r->subject;
	rec.outcome = "ok";
	rec.serial = r->serial;
	rec.entry_id = r->entry_id;
	return store_audit_append(tx, &rec, NULL);
}

static void
append(struct store *st, const char *actor, const char *action,
    const char *subject, const char *serial, const char *entry_id,
    time_t at)
{
	struct rec_arg r = { actor, action, subject, serial, entry_id, at };

	CHECK(store_write(st, on_append, &r) == RC_OK, "appended a record");
}

/* The signed message: domain, seq big-endian, hash. */
static void
test_message(void)
{
	unsigned char hash[AUDIT_HASH_LEN], msg[AUDIT_MSG_LEN];
	static const unsigned char seq_be[8] = { 0, 0, 0, 0, 0, 1, 2, 3 };
	size_t d = strlen(AUDIT_DOMAIN);

	memset(hash, 0xab, sizeof(hash));
	audit_message(0x010203, hash, msg);
	CHECK(AUDIT_MSG_LEN == 26 + 8 + 32, "message is 66 bytes");
	CHECK(memcmp(msg, "svidca audit checkpoint v1", d) == 0,
	    "message opens with the domain string");
	CHECK(memcmp(msg + d, seq_be, 8) == 0, "seq is 8 bytes big-endian");
	CHECK(memcmp(msg + d + 8, hash, sizeof(hash)) == 0,
	    "message ends with the hash");
}

static void
test_list(struct store *st)
{
	struct store_audit_filter f;
	struct store_audit_row *v = NULL;
	size_t n = 0;
	bool more = false;

	append(st, "uid:0", "entry.create", "e1", NULL, "e1", 1000);
	append(st, "spiffe://t.test/agent/a", "svid.x509",
	    "spiffe://t.test/web", "0a1b", "e1", 2000);
	append(st, "uid:0", "agent.ban", "spiffe://t.test/agent/a", NULL,
	    NULL, 3000);

	memset(&f, 0, sizeof(f));
	CHECK(store_audit_list(st, &f, 0, 2, &v, &n, &more) == RC_OK &&
	    n == 2 && more && v[0].seq == 1 && v[1].seq == 2,
	    "a page of two with more after it");
	CHECK(n == 2 && strcmp(v[0].action, "entry.create") == 0 &&
	    strcmp(v[0].serial, "") == 0 && v[0].at == 1000,
	    "rows carry the stored fields, empty for none");
	CHECK(n == 2 && memcmp(v[1].prev_hash, v[0].hash, 32) == 0,
	    "rows carry the chain links");
	store_audit_rows_free(v, n);

	CHECK(store_audit_list(st, &f, 2, 2, &v, &n, &more) == RC_OK &&
	    n == 1 && !more && v[0].seq == 3, "the last page");
	store_audit_rows_free(v, n);

	f.serial = "0a1b";
	CHECK(store_audit_list(st, &f, 0, 10, &v, &n, &more) == RC_OK &&
	    n == 1 && strcmp(v[0].entry_id, "e1") == 0, "by serial");
	store_audit_rows_free(v, n);

	memset(&f, 0, sizeof(f));
	f.agent = "spiffe://t.test/agent/a";
	CHECK(store_audit_list(st, &f, 0, 10, &v, &n, &more) == RC_OK &&
	    n == 2 && v[0].seq == 2 && v[1].seq == 3,
	    "by agent: as actor or as subject");
	store_audit_rows_free(v, n);

	memset(&f, 0, sizeof(f));
	f.since = 2000;
	f.until = 3000;
	CHECK(store_audit_list(st, &f, 0, 10, &v, &n, &more) == RC_OK &&
	    n == 1 && v[0].seq == 2, "since is inclusive, until exclusive");
	store_audit_rows_free(v, n);

	memset(&f, 0, sizeof(f));
	f.actor = "nobody";
	CHECK(store_audit_list(st, &f, 0, 10, &v, &n, &more) == RC_OK &&
	    n == 0 && v == NULL, "no match gives an empty list");
	CHECK(store_audit_list(st, &f, 0, 0, &v, &n, &more) == RC_INTERNAL,
	    "page size 0 is refused");
}

static void
test_checkpoints(struct store *st, struct secret_kek *kek)
{
	struct audit *a = NULL, *b = NULL;
	struct rc_why why;
	unsigned char pk[32], hash[32], sig[64], msg[AUDIT_MSG_LEN];
	char b64[128], pub[128], path[1024], hex[65];
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	struct stat sb;
	int64_t last = -1, count = 0;
	size_t len = 0;
	bool found = false;

	rc_why_clear(&why);
	CHECK(audit_open(st, kek, keys, 3, 60, &a, &why) == RC_OK,
	    "open makes a checkpoint key");
	(void)snprintf(path, sizeof(path), "%s/%s", keys, AUDIT_KEY_FILE);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	    "the sealed key file is mode 0600");
	CHECK(store_meta_get(st, STORE_AUDIT_PUBKEY_META, b64, sizeof(b64),
	    &found) == RC_OK && found, "the public key is in meta");
	CHECK(sodium_base642bin(pk, sizeof(pk), b64, strlen(b64), NULL, &len,
	    NULL, sodium_base64_VARIANT_ORIGINAL) == 0 && len == 32,
	    "the public key is 32 bytes of base64");
	(void)snprintf(pub, sizeof(pub), "%s", b64);

	/* Three records exist; every_records is 3: due now. */
	CHECK(audit_tick(a, time(NULL)) == RC_OK, "a tick succeeds");
	CHECK(store_audit_checkpoint_last(st, &last) == RC_OK && last == 3,
	    "the tick signed the head at seq 3");
	CHECK(audit_tick(a, time(NULL) + 3600) == RC_OK &&
	    store_audit_checkpoint_last(st, &last) == RC_OK && last == 3,
	    "no new checkpoint while the chain did not grow");

	/* One more record: not due by count, due by time. */
	append(st, "uid:0", "entry.delete", "e1", NULL, "e1", 4000);
	CHECK(audit_tick(a, time(NULL)) == RC_OK &&
	    store_audit_checkpoint_last(st, &last) == RC_OK && last == 3,
	    "one record is not enough before the interval");
	CHECK(audit_tick(a, time(NULL) + 61) == RC_OK &&
	    store_audit_checkpoint_last(st, &last) == RC_OK && last == 4,
	    "after the interval the grown chain is signed");

	/* The stored signature verifies over the documented message. */
	CHECK(store_audit_head(st, &count, hex) == RC_OK && count == 4,
	    "head is seq 4");
	(void)snprintf(path, sizeof(path), "%s/a.db", dir);
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, "SELECT hash, sig FROM"
	    " audit_checkpoints WHERE seq = 4", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) ==
	    32 && sqlite3_column_bytes(s, 1) == 64, "read checkpoint 4");
	if (s != NULL && sqlite3_column_bytes(s, 1) == 64) {
		memcpy(hash, sqlite3_column_blob(s, 0), 32);
		memcpy(sig, sqlite3_column_blob(s, 1), 64);
		sodium_bin2hex(b64, sizeof(b64), hash, 32);
		CHECK(strcmp(b64, hex) == 0, "checkpoint hash is the head's");
		audit_message(4, hash, msg);
		CHECK(crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) ==
		    0, "signature verifies with the published key");
		msg[sizeof(msg) - 1] ^= 1;
		CHECK(crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) !=
		    0, "and not over another hash");
	}
	sqlite3_finalize(s);
	sqlite3_close(db);

	/* A flush signs a grown chain at once, and only a grown one. */
	append(st, "uid:0", "entry.create", "e2", NULL, "e2", 5000);
	CHECK(audit_flush(a) == RC_OK &&
	    store_audit_checkpoint_last(st, &last) == RC_OK && last == 5,
	    "flush signs the head at once");
	CHECK(audit_flush(a) == RC_OK &&
	    store_audit_checkpoint_last(st, &last) == RC_OK && last == 5,
	    "a second flush has nothing to sign");

	/* Reopening loads the same key and the last checkpoint. */
	CHECK(audit_open(st, kek, keys, 3, 60, &b, &why) == RC_OK,
	    "reopen loads the key");
	CHECK(store_meta_get(st, STORE_AUDIT_PUBKEY_META, path, sizeof(path),
	    &found) == RC_OK && found && strcmp(path, pub) == 0,
	    "meta holds the same public key after reopening");
	audit_free(b);
	audit_free(a);
	audit_free(NULL);
}

static enum rc
on_dup(struct store_tx *tx, void *arg)
{
	static const unsigned char h[32], sig[64];

	(void)arg;
	return store_audit_checkpoint_add(tx, 5, 0, h, sig);
}

int
main(void)
{
	struct secret_kek *kek = NULL;
	struct store *st = NULL;
	struct rc_why why;
	char path[512];
	bool created = false;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL) {
		printf("Bail out! cannot set up: %s\n", strerror(errno));
		return 1;
	}
	log_set_level(LOG_LVL_ERROR);
	(void)snprintf(keys, sizeof(keys), "%s/keys", dir);
	(void)mkdir(keys, 0700);
	(void)snprintf(path, sizeof(path), "%s/a.db", dir);
	rc_why_clear(&why);
	if (secret_init() != RC_OK || store_open(path, &st, &why) != RC_OK) {
		printf("Bail out! cannot open the store\n");
		return 1;
	}
	(void)snprintf(path, sizeof(path), "%s/kek", dir);
	if (secret_kek_load(path, true, &created, &kek, &why) != RC_OK) {
		printf("Bail out! cannot make a KEK\n");
		return 1;
	}

	test_message();
	test_list(st);
	test_checkpoints(st, kek);
	CHECK(store_write(st, on_dup, NULL) == RC_CONFLICT,
	    "a second checkpoint at one seq is a conflict");

	secret_kek_free(kek);
	store_close(st);
	return check_done();
}
