/*
 * cli_audit.c: "svidca audit pubkey|verify|show|trace".
 *
 *   pubkey  print the checkpoint public key (base64) kept in plain in
 *           the database, so that the operator can store it elsewhere.
 *   verify  offline, on the database file opened read-only: recompute
 *           every link of the chain (encoding at the top of
 *           store/store.c), check the sequence is contiguous, and check
 *           every checkpoint's hash against the chain and its signature
 *           against the public key given with --pubkey.
 *   show    GET /v1/audit with filters, every page, as lines or JSON.
 *   trace   for one serial: the svid.x509 record (SPIFFE ID, entry,
 *           agent, time) and the entry.create record of its entry (the
 *           admin identity that made it, time).
 *
 * Exit codes: CLI_EXIT_OK; CLI_EXIT_REFUSED for a broken chain (verify)
 * or a refusal by the server; CLI_EXIT_USAGE for bad flags;
 * CLI_EXIT_UNREACHABLE when the database or the server cannot be read.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "../store/store.h"
#include "audit.h"
#include "bounds.h"

#define AUDIT_DB_NAME		"svidca.db"	/* in the data dir */
#define AUDIT_PK_TEXT_MAX	1024	/* bytes of a --pubkey file */
#define AUDIT_QUERY_MAX		(16 * 1024)	/* bytes of path and query */
#define AUDIT_PAGES_MAX		100000	/* pages show follows at most */
#define AUDIT_CKPT_MAX		(16 * 1024 * 1024) /* checkpoints read */
#define AUDIT_HELP_SHOWN	(-1)	/* parse_args printed the help */

enum {
	OPT_PUBKEY = 1,
	OPT_FROM,
	OPT_ACTOR,
	OPT_SPIFFE_ID,
	OPT_SERIAL,
	OPT_ENTRY,
	OPT_AGENT,
	OPT_ACTION,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_PAGE_SIZE,
};

static const struct option audit_opts[] = {
	{ "pubkey", required_argument, NULL, OPT_PUBKEY },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "actor", required_argument, NULL, OPT_ACTOR },
	{ "spiffe-id", required_argument, NULL, OPT_SPIFFE_ID },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "entry", required_argument, NULL, OPT_ENTRY },
	{ "agent", required_argument, NULL, OPT_AGENT },
	{ "action", required_argument, NULL, OPT_ACTION },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "until", required_argument, NULL, OPT_UNTIL },
	{ "page-size", required_argument, NULL, OPT_PAGE_SIZE },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	CLI_TARGET_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* Everything the four commands take from the command line. */
struct audit_args {
	struct cli_target	 target;
	const char		*pubkey;	/* --pubkey FILE or base64 */
	int64_t			 from;		/* --from SEQ, 1 default */
	const char		*filter[8];	/* query values, see names */
	const char		*page_size;	/* --page-size N */
	bool			 json;		/* -o json */
};

/* Query names of audit_args.filter, in OPT_ACTOR .. OPT_UNTIL order. */
static const char *const filter_names[8] = {
	"actor", "spiffe_id", "serial", "entry_id", "agent_id", "action",
	"since", "until",
};

/* The state of one verify run. */
struct verify {
	sqlite3		*db;			/* read-only */
	unsigned char	 pk[AUDIT_PK_LEN];	/* the key to trust */
	int64_t		*ck_seq;		/* checkpoints, by seq */
	unsigned char	(*ck_hash)[AUDIT_HASH_LEN];
	unsigned char	(*ck_sig)[AUDIT_SIG_LEN];
	size_t		 n_ck;
	size_t		 next_ck;		/* first not yet checked */
	int64_t		 good_ck;		/* last good checkpoint */
	int64_t		 bad_seq;		/* first bad, 0 none */
	char		 fault[256];		/* what is wrong there */
};

static void
audit_usage(FILE *f)
{
	fprintf(f, "usage: svidca audit pubkey [--data-dir DIR]\n"
	    "       svidca audit verify [--data-dir DIR] [--pubkey FILE|BASE64]"
	    " [--from SEQ]\n"
	    "       svidca audit show [--actor ID] [--spiffe-id ID] "
	    "[--serial HEX] [--entry ID]\n"
	    "           [--agent ID] [--action NAME] [--since UNIX] "
	    "[--until UNIX] [--page-size N]\n"
	    "           [-o table|json] [target flags]\n"
	    "       svidca audit trace --serial HEX [-o table|json] "
	    "[target flags]\n"
	    "  target flags: --socket PATH | --data-dir DIR | "
	    "--server https://HOST:PORT --cert FILE --key FILE "
	    "--trust-bundle FILE\n");
}

/* A decimal number from 1 to INT64_MAX, the whole of s. */
static bool
parse_seq(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1)
		return false;
	*out = v;
	return true;
}

/*
 * Parse argv into a: CLI_EXIT_OK, AUDIT_HELP_SHOWN, or the exit code to
 * return now.
 */
static int
parse_args(int argc, char **argv, struct audit_args *a)
{
	const char *fmt = "table";
	int opt;

	memset(a, 0, sizeof(*a));
	a->from = 1;
	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "o:h", audit_opts, NULL)) !=
	    -1) {
		if (cli_target_take(&a->target, opt, optarg))
			continue;
		if (opt >= OPT_ACTOR && opt <= OPT_UNTIL) {
			a->filter[opt - OPT_ACTOR] = optarg;
			continue;
		}
		switch (opt) {
		case OPT_PUBKEY:
			a->pubkey = optarg;
			break;
		case OPT_FROM:
			if (!parse_seq(optarg, &a->from)) {
				fprintf(stderr, "svidca: audit: --from takes "
				    "a sequence number from 1, not %s\n",
				    optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_PAGE_SIZE:
			a->page_size = optarg;
			break;
		case 'o':
			fmt = optarg;
			break;
		case 'h':
			audit_usage(stdout);
			return AUDIT_HELP_SHOWN;
		default:
			audit_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "svidca: audit: unexpected argument %s\n",
		    argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(fmt, "table") != 0 && strcmp(fmt, "json") != 0) {
		fprintf(stderr, "svidca: audit: -o is table or json, not "
		    "%s\n", fmt);
		return CLI_EXIT_USAGE;
	}
	a->json = strcmp(fmt, "json") == 0;
	return CLI_EXIT_OK;
}

/* ---- the database, read-only ---------------------------------------- */

/* Open <data-dir>/svidca.db read-only; CLI_EXIT_ codes. */
static int
open_db(const struct audit_args *a, sqlite3 **db)
{
	char path[PATH_MAX_SVIDCA];
	struct stat sb;
	int n;

	*db = NULL;
	n = snprintf(path, sizeof(path), "%s/%s", a->target.data_dir ==
	    NULL ? CLI_DATA_DIR_DEFAULT : a->target.data_dir, AUDIT_DB_NAME);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "svidca: audit: data dir path too long\n");
		return CLI_EXIT_USAGE;
	}
	/* SQLite would make an empty database where none is. */
	if (stat(path, &sb) != 0) {
		fprintf(stderr, "svidca: audit: cannot read %s: %s\n", path,
		    strerror(errno));
		return CLI_EXIT_UNREACHABLE;
	}
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "svidca: audit: cannot open %s: %s\n", path,
		    *db == NULL ? "out of memory" : sqlite3_errmsg(*db));
		sqlite3_close(*db);
		*db = NULL;
		return CLI_EXIT_UNREACHABLE;
	}
	(void)sqlite3_busy_timeout(*db, 5000);
	return CLI_EXIT_OK;
}

/* The stored public key (base64) into buf; false if none or unreadable. */
static bool
read_stored_pubkey(sqlite3 *db, char *buf, size_t len)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *t;
	bool ok = false;
	int n;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name = ?1",
	    -1, &s, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, STORE_AUDIT_PUBKEY_META, -1,
	    SQLITE_STATIC) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
		goto out;
	t = sqlite3_column_text(s, 0);
	n = sqlite3_column_bytes(s, 0);
	if (t == NULL || n <= 0 || (size_t)n >= len)
		goto out;
	memcpy(buf, t, (size_t)n);
	buf[n] = '\0';
	ok = true;
out:
	sqlite3_finalize(s);
	return ok;
}

/* "svidca audit pubkey" */
static int
cmd_pubkey(const struct audit_args *a)
{
	char b64[AUDIT_PK_TEXT_MAX];
	sqlite3 *db = NULL;
	int ret;

	ret = open_db(a, &db);
	if (ret != CLI_EXIT_OK)
		return ret;
	if (!read_stored_pubkey(db, b64, sizeof(b64))) {
		fprintf(stderr, "svidca: audit pubkey: no checkpoint key in "
		    "this database; start the server once to make it\n");
		ret = CLI_EXIT_REFUSED;
		goto out;
	}
	printf("%s\n", b64);
	ret = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
out:
	sqlite3_close(db);
	return ret;
}

/*
 * The key to check checkpoints against: --pubkey names a file holding
 * the base64 text, or is the base64 text itself.
 */
static bool
load_pubkey(const char *arg, unsigned char *pk)
{
	char text[AUDIT_PK_TEXT_MAX];
	const char *src = arg;
	size_t n = 0, got;
	FILE *f;

	f = fopen(arg, "r");
	if (f != NULL) {
		got = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[got] = '\0';
		while (got > 0 && (text[got - 1] == '\n' ||
		    text[got - 1] == '\r' || text[got - 1] == ' '))
			text[--got] = '\0';
		src = text;
	}
	if (sodium_base642bin(pk, AUDIT_PK_LEN, src, strlen(src), NULL, &n,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || n != AUDIT_PK_LEN)
		return false;
	return true;
}

/* Note the first fault; later ones are not reported. */
static void
note_fault(struct verify *v, int64_t seq, const char *what)
{
	if (v->bad_seq != 0)
		return;
	v->bad_seq = seq;
	(void)snprintf(v->fault, sizeof(v->fault), "%s", what);
}

/* Read every checkpoint, by ascending seq, into v. */
static bool
load_checkpoints(struct verify *v)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	bool ok = false;
	int err;

	if (sqlite3_prepare_v2(v->db, "SELECT seq, hash, sig FROM"
	    " audit_checkpoints ORDER BY seq", -1, &s, NULL) != SQLITE_OK) {
		/* A database from before checkpoints has none. */
		ok = true;
		goto out;
	}
	while ((err = sqlite3_step(s)) == SQLITE_ROW) {
		if (v->n_ck == cap) {
			void *p1, *p2, *p3;

			if (cap >= AUDIT_CKPT_MAX)
				goto out;
			cap = cap == 0 ? 64 : cap * 2;
			p1 = realloc(v->ck_seq, cap * sizeof(*v->ck_seq));
			if (p1 != NULL)
				v->ck_seq = p1;
			p2 = realloc(v->ck_hash, cap * sizeof(*v->ck_hash));
			if (p2 != NULL)
				v->ck_hash = p2;
			p3 = realloc(v->ck_sig, cap * sizeof(*v->ck_sig));
			if (p3 != NULL)
				v->ck_sig = p3;
			if (p1 == NULL || p2 == NULL || p3 == NULL)
				goto out;
		}
		v->ck_seq[v->n_ck] = sqlite3_column_int64(s, 0);
		memset(v->ck_hash[v->n_ck], 0, AUDIT_HASH_LEN);
		memset(v->ck_sig[v->n_ck], 0, AUDIT_SIG_LEN);
		/* A damaged column leaves zeros, which never verify. */
		if (sqlite3_column_bytes(s, 1) == AUDIT_HASH_LEN)
			memcpy(v->ck_hash[v->n_ck], sqlite3_column_blob(s, 1),
			    AUDIT_HASH_LEN);
		if (sqlite3_column_bytes(s, 2) == AUDIT_SIG_LEN)
			memcpy(v->ck_sig[v->n_ck], sqlite3_column_blob(s, 2),
			    AUDIT_SIG_LEN);
		v->n_ck++;
	}
	ok = err == SQLITE_DONE;
out:
	sqlite3_finalize(s);
	return ok;
}

/* Append a field as u64 length and bytes to the hash state. */
static void
hash_str(crypto_generichash_state *h, sqlite3_stmt *s, int col)
{
	unsigned char len[8];
	const unsigned char *t;
	uint64_t n;
	int i;

	t = sqlite3_column_text(s, col);
	n = t == NULL ? 0 : (uint64_t)sqlite3_column_bytes(s, col);
	for (i = 0; i < 8; i++)
		len[i] = (unsigned char)(n >> (56 - 8 * i));
	crypto_generichash_update(h, len, sizeof(len));
	if (n > 0)
		crypto_generichash_update(h, t, n);
}

/* Append an i64 as 8 bytes big-endian to the hash state. */
static void
hash_i64(crypto_generichash_state *h, int64_t v)
{
	unsigned char b[8];
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(u >> (56 - 8 * i));
	crypto_generichash_update(h, b, sizeof(b));
}

/* The chain hash of the current row of s over prev. */
static void
row_hash(sqlite3_stmt *s, const unsigned char *prev, unsigned char *out)
{
	crypto_generichash_state h;
	int col;

	crypto_generichash_init(&h, NULL, 0, AUDIT_HASH_LEN);
	crypto_generichash_update(&h, prev, AUDIT_HASH_LEN);
	hash_i64(&h, sqlite3_column_int64(s, 0));
	hash_i64(&h, sqlite3_column_int64(s, 1));
	for (col = 2; col <= 8; col++)
		hash_str(&h, s, col);
	crypto_generichash_final(&h, out, AUDIT_HASH_LEN);
}

/* Check the checkpoints at seq (the chain's hash there is hash). */
static void
check_checkpoints(struct verify *v, int64_t seq, const unsigned char *hash)
{
	unsigned char msg[AUDIT_MSG_LEN];
	char what[256];
	bool good;

	while (v->next_ck < v->n_ck && v->ck_seq[v->next_ck] <= seq) {
		size_t i = v->next_ck++;

		if (v->ck_seq[i] < seq)
			continue;	/* before --from, or at a missing seq */
		good = true;
		if (sodium_memcmp(v->ck_hash[i], hash, AUDIT_HASH_LEN) != 0) {
			good = false;
			(void)snprintf(what, sizeof(what), "checkpoint at "
			    "seq %lld signs another hash than the chain's",
			    (long long)seq);
			note_fault(v, seq, what);
		}
		audit_message(v->ck_seq[i], v->ck_hash[i], msg);
		if (crypto_sign_verify_detached(v->ck_sig[i], msg,
		    sizeof(msg), v->pk) != 0) {
			good = false;
			(void)snprintf(what, sizeof(what), "checkpoint at "
			    "seq %lld: signature does not verify with the "
			    "given public key; records after seq %lld (the "
			    "last good checkpoint) are suspect",
			    (long long)seq, (long long)v->good_ck);
			note_fault(v, seq, what);
		}
		if (good && v->bad_seq == 0)
			v->good_ck = seq;
	}
}

/*
 * Walk the chain from --from.  Returns the number of records and the
 * head's hash; faults are noted in v.  false when the table cannot be
 * read at all.
 */
static bool
walk_chain(struct verify *v, int64_t from, int64_t *count,
    unsigned char *head)
{
	unsigned char prev[AUDIT_HASH_LEN], h[AUDIT_HASH_LEN];
	sqlite3_stmt *s = NULL;
	int64_t expect = from, seq;
	bool first = true, ok = false;
	char what[160];
	int err;

	memset(prev, 0, sizeof(prev));
	*count = 0;
	if (sqlite3_prepare_v2(v->db, "SELECT seq, at, actor, action,"
	    " subject, outcome, serial, entry_id, detail, prev_hash, hash"
	    " FROM audit WHERE seq >= ?1 ORDER BY seq", -1, &s, NULL) !=
	    SQLITE_OK || sqlite3_bind_int64(s, 1, from) != SQLITE_OK) {
		fprintf(stderr, "svidca: audit verify: cannot read the audit "
		    "table: %s\n", sqlite3_errmsg(v->db));
		goto out;
	}
	while ((err = sqlite3_step(s)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(s, 0);
		if (seq != expect) {
			(void)snprintf(what, sizeof(what), "record %lld is "
			    "missing (the next one stored is %lld)",
			    (long long)expect, (long long)seq);
			note_fault(v, expect, what);
		}
		if (sqlite3_column_bytes(s, 9) != AUDIT_HASH_LEN ||
		    sqlite3_column_bytes(s, 10) != AUDIT_HASH_LEN) {
			note_fault(v, seq, "prev_hash or hash is not 32 bytes");
			memset(h, 0, sizeof(h));
		} else {
			/* --from trusts the first record's prev_hash. */
			if (first && from > 1)
				memcpy(prev, sqlite3_column_blob(s, 9),
				    AUDIT_HASH_LEN);
			if (sodium_memcmp(prev, sqlite3_column_blob(s, 9),
			    AUDIT_HASH_LEN) != 0)
				note_fault(v, seq, "prev_hash is not the hash "
				    "of the record before it (removed or "
				    "reordered)");
			row_hash(s, sqlite3_column_blob(s, 9), h);
			if (sodium_memcmp(h, sqlite3_column_blob(s, 10),
			    AUDIT_HASH_LEN) != 0)
				note_fault(v, seq, "hash does not match the "
				    "record's fields (changed)");
		}
		check_checkpoints(v, seq, h);
		memcpy(prev, h, sizeof(prev));
		expect = seq + 1;
		first = false;
		(*count)++;
	}
	if (err != SQLITE_DONE) {
		fprintf(stderr, "svidca: audit verify: cannot read the audit "
		    "table: %s\n", sqlite3_errmsg(v->db));
		goto out;
	}
	/*
	 * XXX(audit-tail): records after the newest checkpoint, and the
	 * removal of checkpoints together with the records they signed,
	 * cannot be told from a chain that simply ended there; acceptable
	 * because checkpoints come every few seconds and each is also in
	 * the server's log.  Fix: --checkpoint SEQ:HASH taken from the log
	 * or a remote witness, required to be present and to match.
	 *
	 * A checkpoint past the head: records were cut off the tail.
	 */
	if (v->next_ck < v->n_ck) {
		(void)snprintf(what, sizeof(what), "a checkpoint signs record "
		    "%lld but the chain ends before it (records removed)",
		    (long long)v->ck_seq[v->next_ck]);
		note_fault(v, expect, what);
	}
	memcpy(head, prev, AUDIT_HASH_LEN);
	ok = true;
out:
	sqlite3_finalize(s);
	return ok;
}

/* "svidca audit verify" */
static int
cmd_verify(const struct audit_args *a)
{
	unsigned char head[AUDIT_HASH_LEN];
	char hex[2 * AUDIT_HASH_LEN + 1], b64[AUDIT_PK_TEXT_MAX];
	struct verify v;
	int64_t count = 0;
	int ret;

	memset(&v, 0, sizeof(v));
	ret = open_db(a, &v.db);
	if (ret != CLI_EXIT_OK)
		return ret;

	ret = CLI_EXIT_USAGE;
	if (a->pubkey != NULL) {
		if (!load_pubkey(a->pubkey, v.pk)) {
			fprintf(stderr, "svidca: audit verify: --pubkey is "
			    "neither a file holding a base64 Ed25519 public "
			    "key nor one itself\n");
			goto out;
		}
	} else {
		/*
		 * XXX(audit-pubkey-local): without --pubkey the key stored
		 * beside the chain is used, which proves nothing against
		 * whoever could rewrite both; acceptable as a convenience
		 * that says so on stderr.  Fix: make --pubkey mandatory
		 * once operators have kept their key.
		 */
		if (!read_stored_pubkey(v.db, b64, sizeof(b64)) ||
		    !load_pubkey(b64, v.pk))
			memset(v.pk, 0, sizeof(v.pk));
		fprintf(stderr, "svidca: audit verify: warning: no --pubkey; "
		    "checking checkpoints against the key in the data dir, "
		    "which does not prove them\n");
	}

	ret = CLI_EXIT_UNREACHABLE;
	if (!load_checkpoints(&v)) {
		fprintf(stderr, "svidca: audit verify: cannot read the "
		    "checkpoints\n");
		goto out;
	}
	if (!walk_chain(&v, a->from, &count, head))
		goto out;
	if (v.bad_seq != 0) {
		printf("broken at seq %lld: %s\n", (long long)v.bad_seq,
		    v.fault);
		ret = CLI_EXIT_REFUSED;
		goto out;
	}
	sodium_bin2hex(hex, sizeof(hex), head, sizeof(head));
	printf("intact: %lld records, head %s, %zu checkpoints\n",
	    (long long)count, hex, v.n_ck);
	ret = CLI_EXIT_OK;
out:
	free(v.ck_seq);
	free(v.ck_hash);
	free(v.ck_sig);
	sqlite3_close(v.db);
	return ret;
}

/* ---- queries through the server ------------------------------------ */

/* Append "name=value" (escaped) to q; false when it does not fit. */
static bool
query_add(CURL *c, char *q, size_t len, const char *name, const char *val)
{
	char *esc;
	size_t used = strlen(q);
	int n;

	if (val == NULL)
		return true;
	esc = curl_easy_escape(c, val, 0);
	if (esc == NULL)
		return false;
	n = snprintf(q + used, len - used, "%s%s=%s",
	    strchr(q, '?') == NULL ? "?" : "&", name, esc);
	curl_free(esc);
	return n >= 0 && (size_t)n < len - used;
}

/*
 * GET /v1/audit with the filters of a, following every page; the
 * records are appended to all.  CLI_EXIT_ codes.
 */
static int
fetch_all(const struct audit_args *a, const char *const *filter,
    json_t *all)
{
	char q[AUDIT_QUERY_MAX];
	char *token = NULL, *resp = NULL;
	json_t *o = NULL;
	CURL *c;
	long status = 0;
	size_t i, pages;
	int ret = CLI_EXIT_UNREACHABLE;
	bool ok;

	c = curl_easy_init();
	if (c == NULL)
		return ret;
	for (pages = 0; pages < AUDIT_PAGES_MAX; pages++) {
		(void)snprintf(q, sizeof(q), "/v1/audit");
		ok = query_add(c, q, sizeof(q), "page_size", a->page_size) &&
		    query_add(c, q, sizeof(q), "page_token", token);
		for (i = 0; i < 8 && ok; i++)
			ok = query_add(c, q, sizeof(q), filter_names[i],
			    filter[i]);
		if (!ok) {
			fprintf(stderr, "svidca: audit: filters too long\n");
			ret = CLI_EXIT_USAGE;
			goto out;
		}
		free(resp);
		resp = NULL;
		if (cli_send(&a->target, "GET", q, NULL, &status, &resp) !=
		    RC_OK)
			goto out;
		ret = cli_exit_for(status, resp);
		if (ret != CLI_EXIT_OK)
			goto out;
		json_decref(o);
		o = json_loads(resp, 0, NULL);
		ret = CLI_EXIT_REFUSED;
		if (!json_is_array(json_object_get(o, "records")) ||
		    json_array_extend(all, json_object_get(o, "records")) !=
		    0) {
			fprintf(stderr, "svidca: audit: the server's answer "
			    "is not a list of records\n");
			goto out;
		}
		free(token);
		token = NULL;
		if (!json_is_string(json_object_get(o, "next_page_token")))
			break;
		token = strdup(json_string_value(json_object_get(o,
		    "next_page_token")));
		if (token == NULL)
			goto out;
	}
	ret = CLI_EXIT_OK;
out:
	json_decref(o);
	free(resp);
	free(token);
	curl_easy_cleanup(c);
	return ret;
}

/* A record's time as RFC 3339 UTC into buf. */
static void
format_time(json_t *r, char *buf, size_t len)
{
	struct tm tm;
	time_t t;

	(void)snprintf(buf, len, "?");
	t = (time_t)json_integer_value(json_object_get(r, "recorded_at"));
	if (gmtime_r(&t, &tm) != NULL)
		(void)strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A string member or "-". */
static const char *
str_or_dash(json_t *r, const char *name)
{
	const char *s = json_string_value(json_object_get(r, name));

	return s == NULL || s[0] == '\0' ? "-" : s;
}

/* "svidca audit show" */
static int
cmd_show(const struct audit_args *a)
{
	char when[32];
	json_t *all, *r, *out = NULL;
	size_t i;
	int ret;

	all = json_array();
	if (all == NULL)
		return CLI_EXIT_UNREACHABLE;
	ret = fetch_all(a, a->filter, all);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (a->json) {
		out = json_pack("{s:O}", "records", all);
		if (out == NULL || json_dumpf(out, stdout, JSON_INDENT(2)) !=
		    0) {
			ret = CLI_EXIT_REFUSED;
			goto out;
		}
		printf("\n");
	} else {
		json_array_foreach(all, i, r) {
			format_time(r, when, sizeof(when));
			printf("%lld %s %s %s subject=%s outcome=%s "
			    "serial=%s entry=%s detail=%s\n",
			    (long long)json_integer_value(json_object_get(r,
			    "seq")), when, str_or_dash(r, "actor"),
			    str_or_dash(r, "action"), str_or_dash(r,
			    "subject"), str_or_dash(r, "outcome"),
			    str_or_dash(r, "serial"), str_or_dash(r,
			    "entry_id"), str_or_dash(r, "detail"));
		}
	}
	ret = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
out:
	json_decref(out);
	json_decref(all);
	return ret;
}

/*
 * "svidca audit trace --serial S": who created the entry behind serial
 * S, which node requested the SVID, and when.
 */
static int
cmd_trace(const struct audit_args *a)
{
	const char *f[8] = { NULL };
	json_t *issued, *created, *svid, *entry = NULL, *out = NULL;
	const char *entry_id;
	char when[32], made[32];
	int ret = CLI_EXIT_UNREACHABLE;

	issued = json_array();
	created = json_array();
	if (issued == NULL || created == NULL)
		goto out;
	if (a->filter[OPT_SERIAL - OPT_ACTOR] == NULL) {
		fprintf(stderr, "svidca: audit trace: --serial is needed\n");
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	f[OPT_SERIAL - OPT_ACTOR] = a->filter[OPT_SERIAL - OPT_ACTOR];
	f[OPT_ACTION - OPT_ACTOR] = "svid.x509";
	ret = fetch_all(a, f, issued);
	if (ret != CLI_EXIT_OK)
		goto out;
	svid = json_array_get(issued, 0);
	if (svid == NULL) {
		fprintf(stderr, "svidca: audit trace: no svid.x509 record "
		    "for serial %s\n", f[OPT_SERIAL - OPT_ACTOR]);
		ret = CLI_EXIT_REFUSED;
		goto out;
	}

	entry_id = json_string_value(json_object_get(svid, "entry_id"));
	if (entry_id != NULL && entry_id[0] != '\0') {
		memset(f, 0, sizeof(f));
		f[OPT_ENTRY - OPT_ACTOR] = entry_id;
		f[OPT_ACTION - OPT_ACTOR] = "entry.create";
		ret = fetch_all(a, f, created);
		if (ret != CLI_EXIT_OK)
			goto out;
		entry = json_array_get(created, 0);
	}

	ret = CLI_EXIT_REFUSED;
	out = json_pack("{s:s, s:s, s:s, s:O, s:s, s:O, s:O?, s:O?, s:O?}",
	    "serial", str_or_dash(svid, "serial"),
	    "spiffe_id", str_or_dash(svid, "subject"),
	    "agent_id", str_or_dash(svid, "actor"),
	    "issued_at", json_object_get(svid, "recorded_at"),
	    "entry_id", entry_id == NULL ? "-" : entry_id,
	    "svid_record", svid,
	    "entry_created_by", entry == NULL ? NULL :
	    json_object_get(entry, "actor"),
	    "entry_created_at", entry == NULL ? NULL :
	    json_object_get(entry, "recorded_at"),
	    "entry_record", entry);
	if (out == NULL) {
		fprintf(stderr, "svidca: audit trace: the server's records "
		    "lack a field\n");
		goto out;
	}
	if (a->json) {
		if (json_dumpf(out, stdout, JSON_INDENT(2)) != 0)
			goto out;
		printf("\n");
	} else {
		format_time(svid, when, sizeof(when));
		printf("serial:           %s\n", str_or_dash(svid, "serial"));
		printf("spiffe id:        %s\n", str_or_dash(svid, "subject"));
		printf("issued at:        %s (seq %lld)\n", when,
		    (long long)json_integer_value(json_object_get(svid,
		    "seq")));
		printf("requested by:     %s\n", str_or_dash(svid, "actor"));
		printf("entry:            %s\n", entry_id == NULL ? "-" :
		    entry_id);
		if (entry != NULL) {
			format_time(entry, made, sizeof(made));
			printf("entry created by: %s\n", str_or_dash(entry,
			    "actor"));
			printf("entry created at: %s (seq %lld)\n", made,
			    (long long)json_integer_value(json_object_get(
			    entry, "seq")));
		} else {
			printf("entry created by: unknown (no entry.create "
			    "record)\n");
		}
	}
	ret = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
out:
	json_decref(out);
	json_decref(issued);
	json_decref(created);
	return ret;
}

/*
 * "svidca audit pubkey|verify|show|trace": argv[0] is the subcommand.
 * Returns a CLI_EXIT_ code; see the top of this file.
 */
int
cli_audit(int argc, char **argv)
{
	struct audit_args a;
	int ret;

	if (argc < 1) {
		audit_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	ret = parse_args(argc, argv, &a);
	if (ret == AUDIT_HELP_SHOWN)
		return CLI_EXIT_OK;
	if (ret != CLI_EXIT_OK)
		return ret;
	if (sodium_init() < 0) {
		fprintf(stderr, "svidca: audit: cannot initialise "
		    "libsodium\n");
		return CLI_EXIT_UNREACHABLE;
	}
	if (strcmp(argv[0], "pubkey") == 0)
		return cmd_pubkey(&a);
	if (strcmp(argv[0], "verify") == 0)
		return cmd_verify(&a);
	if (strcmp(argv[0], "show") == 0)
		return cmd_show(&a);
	if (strcmp(argv[0], "trace") == 0)
		return cmd_trace(&a);
	audit_usage(stderr);
	return CLI_EXIT_USAGE;
}
