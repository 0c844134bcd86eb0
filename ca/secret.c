/*
 * secret.c: private keys at rest, sealed with XChaCha20-Poly1305 under a
 * key-encryption key (KEK) kept outside the data dir, and the small
 * helpers (random bytes, constant-time compare) others need.
 *
 * The threat: someone who reads the data dir (a backup, a copied volume)
 * must learn nothing of the CA keys without the KEK, and must not be able
 * to swap one sealed key for another unnoticed.  Every plaintext byte of
 * a key lives in sodium_malloc memory, which is wiped when freed.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "../server/bounds.h"
#include "../server/log.h"

#define SECRET_KEK_LEN	crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define SECRET_NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SECRET_TAG_LEN	crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SECRET_MAGIC	"SVIDCAK1"
#define SECRET_MAGIC_LEN 8
#define SECRET_HEAD_LEN	(SECRET_MAGIC_LEN + SECRET_NONCE_LEN)

/* Permission bits a sealed key may carry: owner read and write at most. */
#define SECRET_FILE_MODE 0600

struct secret_kek {
	unsigned char	*key;	/* SECRET_KEK_LEN bytes, sodium_malloc,
				   read-only once loaded */
};

/*
 * Initialise libsodium; safe to call again and from several threads.
 * The other calls here call it too, since sodium_malloc needs it.
 */
enum rc
secret_init(void)
{
	if (sodium_init() < 0) {
		log_error("secret", "cannot initialise libsodium");
		return RC_CRYPTO;
	}
	return RC_OK;
}

/* Read exactly len bytes; false on error or early end of file. */
static bool
read_full(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Write all of buf; false on error. */
static bool
write_full(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * fsync the directory holding path, so that a new name in it survives a
 * crash (a rename or link is durable only once its directory is).
 */
static bool
sync_parent(const char *path)
{
	char dir[PATH_MAX_SVIDCA];
	const char *slash;
	size_t len;
	int fd;
	bool ok;

	slash = strrchr(path, '/');
	if (slash == NULL) {
		len = 1;
		dir[0] = '.';
	} else if (slash == path) {
		len = 1;
		dir[0] = '/';
	} else {
		len = (size_t)(slash - path);
		if (len >= sizeof(dir))
			return false;
		memcpy(dir, path, len);
	}
	dir[len] = '\0';

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return false;
	ok = fsync(fd) == 0;
	(void)close(fd);
	return ok;
}

/*
 * Create a new KEK at path with O_EXCL, so that two starts racing cannot
 * both make one.  RC_CONFLICT (why untouched) when the file exists.
 */
static enum rc
kek_create(const char *path, unsigned char *key, struct rc_why *why)
{
	enum rc rc = RC_IO;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    SECRET_FILE_MODE);
	if (fd == -1 && errno == EEXIST)
		return RC_CONFLICT;
	if (fd == -1)
		return rc_why_set(why, RC_IO, "kek_file", NULL,
		    "%s: cannot create key-encryption key: %s", path,
		    strerror(errno));

	randombytes_buf(key, SECRET_KEK_LEN);
	if (!write_full(fd, key, SECRET_KEK_LEN) || fsync(fd) != 0) {
		(void)rc_why_set(why, RC_IO, "kek_file", NULL,
		    "%s: cannot write key-encryption key: %s", path,
		    strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		(void)rc_why_set(why, RC_IO, "kek_file", NULL,
		    "%s: cannot write key-encryption key: %s", path,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (!sync_parent(path)) {
		(void)rc_why_set(why, RC_IO, "kek_file", NULL,
		    "%s: cannot sync the directory of the key-encryption "
		    "key: %s", path, strerror(errno));
		goto out;
	}

	rc = RC_OK;
out:
	if (fd != -1)
		(void)close(fd);
	if (rc != RC_OK) {
		/* A half-written KEK would be refused at the next start. */
		(void)unlink(path);
		sodium_memzero(key, SECRET_KEK_LEN);
	}
	return rc;
}

/*
 * Read an existing KEK.  The file is refused when group or others hold
 * any permission on it: a KEK others can read protects nothing, and one
 * others can write lets them choose our keys' key.
 */
static enum rc
kek_read(const char *path, unsigned char *key, struct rc_why *why)
{
	enum rc rc = RC_IO;
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return rc_why_set(why, RC_IO, "kek_file", NULL,
		    "%s: cannot open key-encryption key: %s", path,
		    strerror(errno));

	if (fstat(fd, &st) != 0) {
		(void)rc_why_set(why, RC_IO, "kek_file", NULL,
		    "%s: cannot stat key-encryption key: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)rc_why_set(why, RC_IO, "kek_file", NULL,
		    "%s: key-encryption key is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		(void)rc_why_set(why, RC_IO, "kek_file", NULL,
		    "%s: key-encryption key has mode %04o: group or others "
		    "have access; it must be 0600 or stricter", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size != (off_t)SECRET_KEK_LEN) {
		(void)rc_why_set(why, RC_IO, "kek_file", NULL,
		    "%s: key-encryption key is %lld bytes, expected %u",
		    path, (long long)st.st_size, (unsigned)SECRET_KEK_LEN);
		goto out;
	}
	if (!read_full(fd, key, SECRET_KEK_LEN)) {
		(void)rc_why_set(why, RC_IO, "kek_file", NULL,
		    "%s: cannot read key-encryption key: short read or %s",
		    path, strerror(errno));
		goto out;
	}

	rc = RC_OK;
out:
	(void)close(fd);
	if (rc != RC_OK)
		sodium_memzero(key, SECRET_KEK_LEN);
	return rc;
}

/*
 * Load or make the KEK (see secret.h).  Faults go to why with the path,
 * field "kek_file"; the KEK file is never changed once it exists.
 */
enum rc
secret_kek_load(const char *path, bool create, bool *created,
    struct secret_kek **out, struct rc_why *why)
{
	enum rc rc = RC_CRYPTO;
	struct secret_kek *kek = NULL;
	bool made = false;

	*out = NULL;
	if (created != NULL)
		*created = false;
	if (secret_init() != RC_OK)
		return rc_why_set(why, RC_CRYPTO, NULL, NULL,
		    "cannot initialise libsodium");

	rc = RC_NOMEM;
	kek = calloc(1, sizeof(*kek));
	if (kek == NULL)
		goto out;
	kek->key = sodium_malloc(SECRET_KEK_LEN);
	if (kek->key == NULL)
		goto out;

	/* Try to create first: O_EXCL decides, not a racy stat. */
	if (create) {
		rc = kek_create(path, kek->key, why);
		if (rc != RC_OK && rc != RC_CONFLICT)
			goto out;
		made = rc == RC_OK;
	}
	if (!made) {
		rc = kek_read(path, kek->key, why);
		if (rc != RC_OK)
			goto out;
	}

	rc = RC_CRYPTO;
	if (sodium_mprotect_readonly(kek->key) != 0) {
		(void)rc_why_set(why, RC_CRYPTO, NULL, NULL,
		    "%s: cannot protect key-encryption key memory", path);
		goto out;
	}
	if (created != NULL)
		*created = made;
	*out = kek;
	kek = NULL;

	rc = RC_OK;
out:
	if (rc == RC_NOMEM)
		(void)rc_why_set(why, RC_NOMEM, NULL, NULL,
		    "%s: no memory for key-encryption key", path);
	secret_kek_free(kek);
	return rc;
}

/* Wipe and free a KEK; NULL is fine. */
void
secret_kek_free(struct secret_kek *kek)
{
	if (kek == NULL)
		return;
	sodium_free(kek->key);	/* wipes, read-only or not */
	free(kek);
}

/*
 * The PKCS#8 DER of key's private part into sodium_malloc memory (*der,
 * caller sodium_free()s it).
 */
static enum rc
encode_pkcs8(EVP_PKEY *key, unsigned char **der, size_t *len)
{
	enum rc rc = RC_CRYPTO;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *buf = NULL;
	unsigned char *p;
	int n;

	*der = NULL;
	*len = 0;
	p8 = EVP_PKEY2PKCS8(key);
	if (p8 == NULL)
		goto out;
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
	if (n <= 0 || n > KEY_FILE_MAX)
		goto out;

	rc = RC_NOMEM;
	buf = sodium_malloc((size_t)n);
	if (buf == NULL)
		goto out;

	rc = RC_CRYPTO;
	p = buf;
	if (i2d_PKCS8_PRIV_KEY_INFO(p8, &p) != n)
		goto out;
	*der = buf;
	*len = (size_t)n;
	buf = NULL;

	rc = RC_OK;
out:
	sodium_free(buf);
	PKCS8_PRIV_KEY_INFO_free(p8);	/* clears its key octets */
	return rc;
}

/* Write the sealed bytes to tmp (0600), flushed to disk. */
static enum rc
write_tmp(const char *tmp, const unsigned char *buf, size_t len)
{
	int fd;

	/* A leftover from a crash between link and unlink below. */
	if (unlink(tmp) != 0 && errno != ENOENT) {
		log_error("secret", "cannot remove stale %s: %s", tmp,
		    strerror(errno));
		return RC_IO;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    SECRET_FILE_MODE);
	if (fd == -1) {
		log_error("secret", "cannot create %s: %s", tmp,
		    strerror(errno));
		return RC_IO;
	}
	/* The umask may only narrow the mode; make it exactly 0600. */
	if (fchmod(fd, SECRET_FILE_MODE) != 0 || !write_full(fd, buf, len) ||
	    fsync(fd) != 0) {
		log_error("secret", "cannot write %s: %s", tmp,
		    strerror(errno));
		(void)close(fd);
		(void)unlink(tmp);
		return RC_IO;
	}
	if (close(fd) != 0) {
		log_error("secret", "cannot write %s: %s", tmp,
		    strerror(errno));
		(void)unlink(tmp);
		return RC_IO;
	}
	return RC_OK;
}

/*
 * Seal key under kek for label into path: PKCS#8 DER encrypted with
 * XChaCha20-Poly1305 (label as associated data), written to path.tmp,
 * flushed, then linked into place.  RC_CONFLICT if path exists, RC_IO,
 * RC_CRYPTO or RC_NOMEM otherwise; every fault is logged.
 */
enum rc
secret_seal_key(const struct secret_kek *kek, EVP_PKEY *key,
    const char *label, const char *path)
{
	enum rc rc = RC_INTERNAL;
	unsigned char *der = NULL;
	unsigned char *file = NULL;
	char tmp[PATH_MAX_SVIDCA];
	char ossl[256];
	unsigned long long clen = 0;
	struct stat st;
	size_t dlen = 0;
	size_t flen;
	int n;

	if (kek == NULL || key == NULL || label == NULL || path == NULL)
		goto out;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		rc = RC_IO;
		log_error("secret", "cannot seal key: path too long");
		goto out;
	}

	/* Never replace a sealed key: its authority may still be live. */
	rc = RC_CONFLICT;
	if (lstat(path, &st) == 0) {
		log_error("secret", "cannot seal key: %s exists", path);
		goto out;
	}
	rc = RC_IO;
	if (errno != ENOENT) {
		log_error("secret", "cannot seal key: %s: %s", path,
		    strerror(errno));
		goto out;
	}

	rc = secret_init();
	if (rc != RC_OK)
		goto out;

	rc = encode_pkcs8(key, &der, &dlen);
	if (rc != RC_OK) {
		log_error("secret", "cannot encode private key: %s "
		    "ossl=\"%s\"", rc_str(rc), log_ossl(ossl, sizeof(ossl)));
		goto out;
	}

	/* magic | nonce | ciphertext | tag, as secret.h describes. */
	rc = RC_NOMEM;
	flen = SECRET_HEAD_LEN + dlen + SECRET_TAG_LEN;
	file = malloc(flen);
	if (file == NULL)
		goto out;
	memcpy(file, SECRET_MAGIC, SECRET_MAGIC_LEN);
	randombytes_buf(file + SECRET_MAGIC_LEN, SECRET_NONCE_LEN);

	rc = RC_CRYPTO;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(file + SECRET_HEAD_LEN,
	    &clen, der, dlen, (const unsigned char *)label, strlen(label),
	    NULL, file + SECRET_MAGIC_LEN, kek->key) != 0 ||
	    clen != dlen + SECRET_TAG_LEN) {
		log_error("secret", "cannot seal key for %s", path);
		goto out;
	}

	rc = write_tmp(tmp, file, flen);
	if (rc != RC_OK)
		goto out;

	/*
	 * link() is the rename that refuses to replace: it fails with
	 * EEXIST if path appeared since the check above, and either the
	 * whole new file is there under path or nothing is.
	 */
	if (link(tmp, path) != 0) {
		rc = errno == EEXIST ? RC_CONFLICT : RC_IO;
		log_error("secret", "cannot seal key: link %s: %s", path,
		    strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	(void)unlink(tmp);
	rc = RC_IO;
	if (!sync_parent(path)) {
		log_error("secret", "cannot sync the directory of %s: %s",
		    path, strerror(errno));
		goto out;
	}

	rc = RC_OK;
out:
	free(file);
	sodium_free(der);
	return rc;
}

/* The one answer for every way a sealed file can fail to open. */
static enum rc
set_unseal_fault(struct rc_why *why, const char *path)
{
	return rc_why_set(why, RC_CRYPTO, NULL, NULL,
	    "%s: cannot open sealed key: wrong key-encryption key or "
	    "damaged file", path);
}

/*
 * Read the whole sealed file at path into a fresh malloc'd buffer,
 * refusing a file others may access or one of impossible size.
 */
static enum rc
read_sealed(const char *path, unsigned char **buf, size_t *len,
    struct rc_why *why)
{
	enum rc rc = RC_IO;
	unsigned char *data = NULL;
	struct stat st;
	int fd;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return rc_why_set(why, RC_IO, NULL, NULL,
		    "%s: cannot open sealed key: %s", path, strerror(errno));

	if (fstat(fd, &st) != 0) {
		(void)rc_why_set(why, RC_IO, NULL, NULL,
		    "%s: cannot stat sealed key: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)rc_why_set(why, RC_IO, NULL, NULL,
		    "%s: sealed key is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 07777 & ~SECRET_FILE_MODE) != 0) {
		(void)rc_why_set(why, RC_IO, NULL, NULL,
		    "%s: sealed key has mode %04o, wider than 0600", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size < (off_t)(SECRET_HEAD_LEN + SECRET_TAG_LEN + 1) ||
	    st.st_size > KEY_FILE_MAX) {
		rc = set_unseal_fault(why, path);
		goto out;
	}

	rc = RC_NOMEM;
	data = malloc((size_t)st.st_size);
	if (data == NULL)
		goto out;
	rc = RC_IO;
	if (!read_full(fd, data, (size_t)st.st_size)) {
		(void)rc_why_set(why, RC_IO, NULL, NULL,
		    "%s: cannot read sealed key: short read or %s", path,
		    strerror(errno));
		goto out;
	}
	*buf = data;
	*len = (size_t)st.st_size;
	data = NULL;

	rc = RC_OK;
out:
	free(data);
	(void)close(fd);
	return rc;
}

/*
 * Open path sealed under kek for label into *out (caller frees).  Reads
 * only; never changes the file.  RC_IO (mode, missing, unreadable) or
 * RC_CRYPTO (wrong KEK, label, magic, size or tag) with why naming path.
 */
enum rc
secret_unseal_key(const struct secret_kek *kek, const char *label,
    const char *path, EVP_PKEY **out, struct rc_why *why)
{
	enum rc rc = RC_INTERNAL;
	unsigned char *file = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	unsigned long long dlen = 0;
	EVP_PKEY *key = NULL;
	size_t flen = 0;
	size_t clen;

	*out = NULL;
	if (kek == NULL || label == NULL || path == NULL)
		goto out;
	if (secret_init() != RC_OK) {
		rc = rc_why_set(why, RC_CRYPTO, NULL, NULL,
		    "cannot initialise libsodium");
		goto out;
	}

	rc = read_sealed(path, &file, &flen, why);
	if (rc != RC_OK)
		goto out;
	if (memcmp(file, SECRET_MAGIC, SECRET_MAGIC_LEN) != 0) {
		rc = set_unseal_fault(why, path);
		goto out;
	}

	rc = RC_NOMEM;
	clen = flen - SECRET_HEAD_LEN;
	der = sodium_malloc(clen - SECRET_TAG_LEN);
	if (der == NULL)
		goto out;

	/* The tag covers the label too: a key sealed for another use fails. */
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(der, &dlen, NULL,
	    file + SECRET_HEAD_LEN, clen, (const unsigned char *)label,
	    strlen(label), file + SECRET_MAGIC_LEN, kek->key) != 0) {
		rc = set_unseal_fault(why, path);
		goto out;
	}

	p = der;
	key = d2i_AutoPrivateKey(NULL, &p, (long)dlen);
	if (key == NULL || p != der + dlen) {
		ERR_clear_error();
		rc = rc_why_set(why, RC_CRYPTO, NULL, NULL,
		    "%s: sealed key opened but holds no valid private key",
		    path);
		goto out;
	}
	*out = key;
	key = NULL;

	rc = RC_OK;
out:
	EVP_PKEY_free(key);
	sodium_free(der);	/* wipes the decrypted key */
	free(file);
	return rc;
}

/* len random bytes into buf; cannot fail (libsodium aborts instead). */
void
secret_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

/* Are a and b equal over len bytes?  Time does not depend on where. */
bool
secret_is_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}
