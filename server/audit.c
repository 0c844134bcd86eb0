/*
 * audit.c: the checkpoint key and the checkpoint schedule (audit.h).
 */
#include "audit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "bounds.h"
#include "log.h"

struct audit {
	struct store	*store;		/* borrowed */
	unsigned char	*sk;		/* sodium_malloc, Ed25519 secret */
	unsigned char	 pk[AUDIT_PK_LEN];
	long		 every_records;	/* >= 1 */
	long		 every_seconds;	/* >= 1 */
	int64_t		 last_seq;	/* newest checkpoint, 0 none */
	time_t		 last_at;	/* when it was made (or opened) */
};

/* A checkpoint on its way into the store. */
struct ckpt {
	int64_t		 seq;
	time_t		 at;
	unsigned char	 hash[AUDIT_HASH_LEN];
	unsigned char	 sig[AUDIT_SIG_LEN];
	const char	*pk_b64;	/* meta value, or NULL */
};

void
audit_message(int64_t seq, const unsigned char *hash, unsigned char *msg)
{
	size_t d = sizeof(AUDIT_DOMAIN) - 1;
	uint64_t u = (uint64_t)seq;
	int i;

	memcpy(msg, AUDIT_DOMAIN, d);
	for (i = 0; i < 8; i++)
		msg[d + (size_t)i] = (unsigned char)(u >> (56 - 8 * i));
	memcpy(msg + d + 8, hash, AUDIT_HASH_LEN);
}

/* store_write() callback: publish the public key in meta. */
static enum rc
on_put_pubkey(struct store_tx *tx, void *arg)
{
	return store_meta_set(tx, STORE_AUDIT_PUBKEY_META, arg);
}

/* store_write() callback: append one checkpoint. */
static enum rc
on_put_checkpoint(struct store_tx *tx, void *arg)
{
	struct ckpt *c = arg;

	return store_audit_checkpoint_add(tx, c->seq, c->at, c->hash, c->sig);
}

/* Make a fresh key pair in a and seal its seed to path. */
static enum rc
make_key(struct audit *a, const struct secret_kek *kek, const char *path,
    struct rc_why *why)
{
	unsigned char seed[crypto_sign_SEEDBYTES];
	EVP_PKEY *key = NULL;
	enum rc rc = RC_CRYPTO;

	secret_random(seed, sizeof(seed));
	if (crypto_sign_seed_keypair(a->pk, a->sk, seed) != 0)
		goto out;
	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    sizeof(seed));
	if (key == NULL)
		goto out;
	rc = secret_seal_key(kek, key, AUDIT_KEY_FILE, path);
	if (rc != RC_OK) {
		rc_why_set(why, rc, NULL, NULL, "cannot seal %s", path);
		goto out;
	}
	log_info("audit", "created checkpoint key %s", path);
	rc = RC_OK;
out:
	sodium_memzero(seed, sizeof(seed));
	EVP_PKEY_free(key);
	return rc;
}

/* Open the sealed seed at path into a. */
static enum rc
load_key(struct audit *a, const struct secret_kek *kek, const char *path,
    struct rc_why *why)
{
	unsigned char seed[crypto_sign_SEEDBYTES];
	size_t len = sizeof(seed);
	EVP_PKEY *key = NULL;
	enum rc rc = RC_CRYPTO;

	rc = secret_unseal_key(kek, AUDIT_KEY_FILE, path, &key, why);
	if (rc != RC_OK)
		return rc;
	rc = RC_CRYPTO;
	if (EVP_PKEY_get_raw_private_key(key, seed, &len) != 1 ||
	    len != sizeof(seed) ||
	    crypto_sign_seed_keypair(a->pk, a->sk, seed) != 0) {
		rc_why_set(why, rc, NULL, NULL, "%s is not an Ed25519 key",
		    path);
		goto out;
	}
	rc = RC_OK;
out:
	sodium_memzero(seed, sizeof(seed));
	EVP_PKEY_free(key);
	return rc;
}

enum rc
audit_open(struct store *st, const struct secret_kek *kek,
    const char *keys_dir, long every_records, long every_seconds,
    struct audit **out, struct rc_why *why)
{
	char path[PATH_MAX_SVIDCA];
	char b64[sodium_base64_ENCODED_LEN(AUDIT_PK_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];
	struct audit *a = NULL;
	struct stat sb;
	enum rc rc = RC_NOMEM;
	int n;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		goto out;
	a->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (a->sk == NULL)
		goto out;
	a->store = st;
	a->every_records = every_records < 1 ? 1 : every_records;
	a->every_seconds = every_seconds < 1 ? 1 : every_seconds;

	n = snprintf(path, sizeof(path), "%s/%s", keys_dir, AUDIT_KEY_FILE);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		rc = rc_why_set(why, RC_IO, "data_dir", NULL,
		    "data dir path too long");
		goto out;
	}
	if (stat(path, &sb) == 0)
		rc = load_key(a, kek, path, why);
	else if (errno == ENOENT)
		rc = make_key(a, kek, path, why);
	else
		rc = rc_why_set(why, RC_IO, NULL, NULL, "cannot read %s: %s",
		    path, strerror(errno));
	if (rc != RC_OK)
		goto out;

	/* Publish (again) the public key, so "audit pubkey" needs no KEK. */
	sodium_bin2base64(b64, sizeof(b64), a->pk, sizeof(a->pk),
	    sodium_base64_VARIANT_ORIGINAL);
	rc = store_write(st, on_put_pubkey, b64);
	if (rc != RC_OK) {
		rc_why_set(why, rc, NULL, NULL, "cannot store the audit "
		    "checkpoint public key");
		goto out;
	}
	rc = store_audit_checkpoint_last(st, &a->last_seq);
	if (rc != RC_OK) {
		rc_why_set(why, rc, NULL, NULL, "cannot read the audit "
		    "checkpoints");
		goto out;
	}
	a->last_at = time(NULL);
	*out = a;
	a = NULL;
	rc = RC_OK;
out:
	audit_free(a);
	return rc;
}

void
audit_free(struct audit *a)
{
	if (a == NULL)
		return;
	sodium_free(a->sk);
	free(a);
}

enum rc
audit_flush(struct audit *a)
{
	time_t now = time(NULL);

	/* Due by time whatever the schedule: pretend the interval passed. */
	a->last_at = now - a->every_seconds;
	return audit_tick(a, now);
}

enum rc
audit_tick(struct audit *a, time_t now)
{
	unsigned char msg[AUDIT_MSG_LEN];
	char hex[2 * AUDIT_HASH_LEN + 1];
	char sig_b64[sodium_base64_ENCODED_LEN(AUDIT_SIG_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];
	struct ckpt c;
	enum rc rc = RC_DB;

	memset(&c, 0, sizeof(c));
	rc = store_audit_head(a->store, &c.seq, hex);
	if (rc != RC_OK)
		return rc;
	if (c.seq <= a->last_seq)
		return RC_OK;
	if (c.seq - a->last_seq < a->every_records &&
	    now - a->last_at < a->every_seconds)
		return RC_OK;

	rc = RC_CRYPTO;
	if (sodium_hex2bin(c.hash, sizeof(c.hash), hex, strlen(hex), NULL,
	    NULL, NULL) != 0)
		return rc;
	audit_message(c.seq, c.hash, msg);
	if (crypto_sign_detached(c.sig, NULL, msg, sizeof(msg), a->sk) != 0)
		return rc;
	c.at = now;
	rc = store_write(a->store, on_put_checkpoint, &c);
	if (rc != RC_OK) {
		log_error("audit", "cannot store checkpoint seq=%lld",
		    (long long)c.seq);
		return rc;
	}
	a->last_seq = c.seq;
	a->last_at = now;
	sodium_bin2base64(sig_b64, sizeof(sig_b64), c.sig, sizeof(c.sig),
	    sodium_base64_VARIANT_ORIGINAL);
	log_info("audit", "checkpoint signed seq=%lld hash=%s sig=%s",
	    (long long)c.seq, hex, sig_b64);
	return RC_OK;
}
