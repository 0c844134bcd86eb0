/*
 * audit.h: signed checkpoints of the audit chain.  The server keeps an
 * Ed25519 key pair (made at first start, the secret key sealed under the
 * KEK in <data-dir>/keys/audit-checkpoint, the public key in the store's
 * meta table in plain) and, from its scheduler, signs the chain's head
 * every N records or T seconds when the chain grew.  An operator keeps
 * the public key outside the data dir ("svidca audit pubkey"), so that a
 * rewrite of the chain re-signed with the key in the data dir is caught
 * by "svidca audit verify --pubkey".
 */
#ifndef SVIDCA_AUDIT_H
#define SVIDCA_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../ca/secret.h"
#include "../store/store.h"
#include "rc.h"

#define AUDIT_KEY_FILE		"audit-checkpoint"	/* in keys/ */
#define AUDIT_PK_LEN		32	/* bytes of the Ed25519 public key */
#define AUDIT_SIG_LEN		64	/* bytes of a signature */
#define AUDIT_HASH_LEN		32	/* bytes of a chain hash */
#define AUDIT_DOMAIN		"svidca audit checkpoint v1"
#define AUDIT_MSG_LEN		(sizeof(AUDIT_DOMAIN) - 1 + 8 + AUDIT_HASH_LEN)

struct audit;

/*
 * Open the checkpoint key in keys_dir (sealed under kek), or make, seal
 * and publish one (public key in meta STORE_AUDIT_PUBKEY_META) when none
 * exists.  every_records and every_seconds (both >= 1) set the schedule.
 * RC_CRYPTO or RC_IO with why naming the file, RC_DB, RC_NOMEM.  Caller
 * frees with audit_free().
 */
enum rc		 audit_open(struct store *, const struct secret_kek *,
		    const char *keys_dir, long every_records,
		    long every_seconds, struct audit **out,
		    struct rc_why *why) MUST_CHECK;

/* Wipe the key and free; NULL is fine. */
void		 audit_free(struct audit *);

/*
 * One scheduler step: when the chain grew since the last checkpoint by
 * every_records, or every_seconds passed since it and it grew at all,
 * sign the head, store the checkpoint and log it at info.  RC_OK also
 * when nothing was due; RC_DB or RC_CRYPTO (logged) otherwise.  Call
 * from one thread only.
 */
enum rc		 audit_tick(struct audit *, time_t now) MUST_CHECK;

/*
 * Sign the head now if the chain grew since the last checkpoint, due or
 * not (at shutdown, so that the last records are covered).  As
 * audit_tick otherwise.
 */
enum rc		 audit_flush(struct audit *) MUST_CHECK;

/*
 * The signed message of a checkpoint: AUDIT_DOMAIN || seq as 8 bytes
 * big-endian || hash, written to msg (AUDIT_MSG_LEN bytes).
 */
void		 audit_message(int64_t seq, const unsigned char *hash,
		    unsigned char *msg);

#endif
