/*
 * secret.h: key material at rest.  Private keys on disk are sealed with
 * libsodium's XChaCha20-Poly1305 under a key-encryption key (KEK) read
 * from a file outside the data dir.  Decrypted bytes live in sodium_malloc
 * memory and are wiped after use.
 *
 * Sealed file format (all binary):
 *   magic "SVIDCAK1" (8) | nonce (24) | ciphertext of PKCS#8 DER + tag (16)
 * The associated data binds the file to its purpose (the caller's label,
 * e.g. "x509-authority:3"), so a sealed key cannot be swapped for another.
 */
#ifndef SVIDCA_SECRET_H
#define SVIDCA_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "../server/rc.h"

struct secret_kek;

/* Initialise libsodium; call once at start.  RC_CRYPTO on failure. */
enum rc		 secret_init(void) MUST_CHECK;

/*
 * Load the KEK from path.  When create is true and the file does not
 * exist, make a new random one (mode 0600, O_EXCL) and set *created.
 * A file of the wrong size, or readable by group or others, is refused
 * (RC_IO with why naming the path).  Caller frees with secret_kek_free().
 */
enum rc		 secret_kek_load(const char *path, bool create, bool *created,
		    struct secret_kek **out, struct rc_why *why) MUST_CHECK;
void		 secret_kek_free(struct secret_kek *);

/*
 * Seal key's private part into path (mode 0600), written to a temporary
 * file and renamed, so a crash leaves the old file or the new, never half.
 * Refuses to overwrite an existing file (RC_CONFLICT).
 */
enum rc		 secret_seal_key(const struct secret_kek *, EVP_PKEY *key,
		    const char *label, const char *path) MUST_CHECK;

/*
 * Open a sealed key file.  A wrong KEK, a damaged file, a file with the
 * wrong label or mode wider than 0600 gives RC_CRYPTO or RC_IO with why
 * naming the file.  Caller frees *out with EVP_PKEY_free().
 */
enum rc		 secret_unseal_key(const struct secret_kek *,
		    const char *label, const char *path, EVP_PKEY **out,
		    struct rc_why *why) MUST_CHECK;

/* Random bytes from libsodium. */
void		 secret_random(void *buf, size_t len);

/* Constant-time compare of two equal-length buffers. */
bool		 secret_is_equal(const void *a, const void *b, size_t len);

#endif
