/*
 * test_secret.c: key generation (key.c) and sealed keys at rest
 * (secret.c): round trips, the file format, and every refusal with its
 * exact code, on files in a scratch directory under /tmp.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "../../ca/key.h"
#include "../../ca/secret.h"

#define LABEL		"x509-authority:3"
#define DAMAGED_DETAIL	": cannot open sealed key: wrong key-encryption " \
			"key or damaged file"

static char scratch[64];

static void
path_in(char *buf, size_t len, const char *name)
{
	int n;

	n = snprintf(buf, len, "%s/%s", scratch, name);
	if (n < 0 || (size_t)n >= len)
		abort();
}

/* Whole file into a malloc'd buffer; NULL if unreadable. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	struct stat st;
	FILE *f;

	*len = 0;
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) != 0)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto out;
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
		goto out;
	}
	*len = (size_t)st.st_size;
out:
	fclose(f);
	return buf;
}

/* Write buf to path with mode (replacing it). */
static bool
spill(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd;
	bool ok;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd == -1)
		return false;
	ok = write(fd, buf, len) == (ssize_t)len;
	ok = fchmod(fd, mode) == 0 && ok;
	close(fd);
	return ok;
}

/* SHA-256 of a file into md (32 bytes); false if unreadable. */
static bool
hash_file(const char *path, unsigned char *md)
{
	unsigned char *buf;
	unsigned int mdlen = 0;
	size_t len;
	bool ok;

	buf = slurp(path, &len);
	if (buf == NULL)
		return false;
	ok = EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) == 1 &&
	    mdlen == 32;
	free(buf);
	return ok;
}

static mode_t
file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

/* Does key hold a private key matching pub?  Sign with one, verify. */
static bool
is_private_pair(EVP_PKEY *priv, EVP_PKEY *pub)
{
	static const unsigned char msg[] = "proof of possession";
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx;
	bool ok = false;

	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return false;
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, priv) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg)) != 1)
		goto out;
	EVP_MD_CTX_free(ctx);
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return false;
	if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) != 1)
		goto out;
	ok = EVP_DigestVerify(ctx, sig, siglen, msg, sizeof(msg)) == 1;
out:
	EVP_MD_CTX_free(ctx);
	return ok;
}

static void
rm_scratch(void)
{
	char path[256];
	struct dirent *de;
	DIR *d;

	d = opendir(scratch);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		path_in(path, sizeof(path), de->d_name);
		(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(scratch);
}

static void
test_key_types(EVP_PKEY **keys)
{
	static const struct {
		enum key_type	 type;
		const char	*name;
		const char	*alg;
		int		 bits;
	} want[] = {
		{ KEY_EC_P256, "ec-p256", "ES256", 256 },
		{ KEY_EC_P384, "ec-p384", "ES384", 384 },
		{ KEY_RSA_2048, "rsa-2048", "RS256", 2048 },
		{ KEY_RSA_3072, "rsa-3072", "RS256", 3072 },
		{ KEY_RSA_4096, "rsa-4096", "RS256", 4096 },
	};
	const unsigned char *p;
	unsigned char *der;
	enum key_type t;
	EVP_PKEY *back;
	BIGNUM *e;
	size_t len;
	size_t i;

	for (i = 0; i < 5; i++) {
		CHECK(key_type_parse(want[i].name, &t) == RC_OK &&
		    t == want[i].type, "key_type_parse names a type");
		CHECK(strcmp(key_type_str(want[i].type), want[i].name) == 0,
		    "key_type_str round trip");

		keys[i] = key_generate(want[i].type);
		CHECK(keys[i] != NULL, "key_generate makes a key");
		if (keys[i] == NULL)
			continue;
		CHECK(EVP_PKEY_get_bits(keys[i]) == want[i].bits,
		    "generated key has the type's size");
		CHECK(key_get_type(keys[i], &t) == RC_OK &&
		    t == want[i].type, "key_get_type recognises it");
		CHECK(key_jws_alg(keys[i]) != NULL &&
		    strcmp(key_jws_alg(keys[i]), want[i].alg) == 0,
		    "key_jws_alg pins the algorithm to the key");
		if (want[i].alg[0] == 'R') {
			e = NULL;
			CHECK(EVP_PKEY_get_bn_param(keys[i], "e", &e) == 1 &&
			    BN_is_word(e, 65537), "RSA public exponent 65537");
			BN_free(e);
		}

		der = NULL;
		CHECK(key_get1_spki(keys[i], &der, &len) == RC_OK &&
		    der != NULL && len > 0, "key_get1_spki encodes");
		p = der;
		back = der != NULL ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;
		CHECK(back != NULL && p == der + len &&
		    EVP_PKEY_eq(back, keys[i]) == 1,
		    "SPKI DER parses back to the same public key");
		EVP_PKEY_free(back);
		OPENSSL_free(der);
	}

	CHECK(key_type_parse("ec-p521", &t) == RC_BAD_REQUEST,
	    "unknown key type refused");
	CHECK(key_type_parse("EC-P256", &t) == RC_BAD_REQUEST,
	    "key type names are case-sensitive");
	CHECK(key_type_parse(NULL, &t) == RC_BAD_REQUEST,
	    "NULL key type refused");
	CHECK(strcmp(key_type_str((enum key_type)99), "unknown") == 0,
	    "key_type_str of a bad value");
	CHECK(key_generate((enum key_type)99) == NULL,
	    "key_generate refuses a bad type");

	/* Keys we do not make are not ours: other curve, other e. */
	back = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	CHECK(back != NULL && key_get_type(back, &t) == RC_BAD_REQUEST &&
	    key_jws_alg(back) == NULL, "P-521 key is not one of ours");
	EVP_PKEY_free(back);
	back = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CHECK(back != NULL && key_get_type(back, &t) == RC_BAD_REQUEST &&
	    key_jws_alg(back) == NULL, "Ed25519 key is not one of ours");
	EVP_PKEY_free(back);
}

static void
test_kek(void)
{
	char path[256], other[256];
	struct secret_kek *kek = NULL;
	struct rc_why why;
	unsigned char buf[64];
	unsigned char md1[32], md2[32];
	bool created = true;
	size_t len;
	unsigned char *a;

	path_in(path, sizeof(path), "kek");

	/* A missing KEK without create is an I/O fault naming the path. */
	rc_why_clear(&why);
	CHECK(secret_kek_load(path, false, &created, &kek, &why) == RC_IO &&
	    kek == NULL && !created, "missing KEK without create: RC_IO");
	CHECK(why.code == RC_IO && strstr(why.detail, path) != NULL,
	    "why names the missing KEK");

	/* Created fresh: 0600, 32 bytes, *created set. */
	CHECK(secret_kek_load(path, true, &created, &kek, &why) == RC_OK &&
	    kek != NULL && created, "KEK created");
	CHECK(file_mode(path) == 0600, "new KEK has mode 0600");
	a = slurp(path, &len);
	CHECK(a != NULL && len == 32, "new KEK is 32 bytes");
	free(a);
	secret_kek_free(kek);
	kek = NULL;

	/* Loaded again, with create: not created anew, same bytes. */
	CHECK(hash_file(path, md1), "hash KEK");
	CHECK(secret_kek_load(path, true, &created, &kek, &why) == RC_OK &&
	    kek != NULL && !created, "existing KEK loaded, not replaced");
	CHECK(hash_file(path, md2) && memcmp(md1, md2, 32) == 0,
	    "loading leaves the KEK file as it was");
	secret_kek_free(kek);
	kek = NULL;

	/* Group or other bits: refused. */
	CHECK(chmod(path, 0644) == 0, "chmod KEK 0644");
	rc_why_clear(&why);
	CHECK(secret_kek_load(path, true, &created, &kek, &why) == RC_IO &&
	    kek == NULL, "KEK with mode 0644 refused");
	CHECK(why.code == RC_IO && strstr(why.detail, path) != NULL &&
	    strstr(why.detail, "mode 0644") != NULL &&
	    strcmp(why.field, "kek_file") == 0,
	    "why names the KEK, its mode and the field");
	CHECK(chmod(path, 0640) == 0, "chmod KEK 0640");
	CHECK(secret_kek_load(path, false, NULL, &kek, &why) == RC_IO &&
	    kek == NULL, "KEK with mode 0640 refused");
	CHECK(chmod(path, 0400) == 0, "chmod KEK 0400");
	CHECK(secret_kek_load(path, false, NULL, &kek, &why) == RC_OK &&
	    kek != NULL, "KEK with mode 0400 accepted");
	secret_kek_free(kek);
	kek = NULL;

	/* Wrong sizes: refused, naming the size. */
	path_in(other, sizeof(other), "kek-short");
	memset(buf, 7, sizeof(buf));
	CHECK(spill(other, buf, 31, 0600), "write 31-byte KEK");
	rc_why_clear(&why);
	CHECK(secret_kek_load(other, true, &created, &kek, &why) == RC_IO &&
	    kek == NULL && !created, "31-byte KEK refused");
	CHECK(strstr(why.detail, other) != NULL &&
	    strstr(why.detail, "31 bytes") != NULL,
	    "why names the KEK and its size");
	CHECK(spill(other, buf, 33, 0600), "write 33-byte KEK");
	CHECK(secret_kek_load(other, false, NULL, &kek, &why) == RC_IO &&
	    kek == NULL, "33-byte KEK refused");
	CHECK(spill(other, buf, 0, 0600), "write empty KEK");
	CHECK(secret_kek_load(other, true, NULL, &kek, &why) == RC_IO &&
	    kek == NULL, "empty KEK refused, not replaced");
	a = slurp(other, &len);
	CHECK(a != NULL && len == 0, "empty KEK left as it was");
	free(a);

	/* A directory is not a KEK. */
	CHECK(secret_kek_load(scratch, false, NULL, &kek, &why) == RC_IO &&
	    kek == NULL, "directory as KEK refused");

	secret_kek_free(NULL);
}

/* The file bytes must give nothing away about the key. */
static void
check_opaque(const char *path, EVP_PKEY *key)
{
	PKCS8_PRIV_KEY_INFO *p8;
	unsigned char secret[1024];
	const unsigned char *p;
	BIGNUM *d;
	unsigned char *file, *der = NULL;
	EVP_PKEY *k;
	size_t len;
	BIO *bio;
	int n;

	file = slurp(path, &len);
	CHECK(file != NULL && len > 48 && memcmp(file, "SVIDCAK1", 8) == 0,
	    "sealed file starts with the magic");
	if (file == NULL)
		return;

	p = file;
	k = d2i_AutoPrivateKey(NULL, &p, (long)len);
	CHECK(k == NULL, "sealed file is not DER of a private key");
	EVP_PKEY_free(k);
	bio = BIO_new_mem_buf(file, (int)len);
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	CHECK(k == NULL, "sealed file is not PEM of a private key");
	EVP_PKEY_free(k);
	BIO_free(bio);
	ERR_clear_error();

	p8 = EVP_PKEY2PKCS8(key);
	n = p8 != NULL ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
	CHECK(n > 0 && len == 8 + 24 + (size_t)n + 16,
	    "sealed size = magic + nonce + PKCS#8 + tag");
	CHECK(n > 0 && memmem(file, len, der, (size_t)n) == NULL,
	    "sealed file does not hold the PKCS#8 DER");
	OPENSSL_free(der);

	/* Nor the secret number itself (EC scalar, RSA exponent d). */
	d = NULL;
	(void)EVP_PKEY_get_bn_param(key, EVP_PKEY_is_a(key, "EC") ?
	    "priv" : "d", &d);
	n = d != NULL ? BN_bn2bin(d, secret) : 0;
	CHECK(n >= 16 && memmem(file, len, secret, (size_t)n) == NULL,
	    "sealed file does not hold the private number");
	OPENSSL_cleanse(secret, sizeof(secret));
	BN_clear_free(d);
	PKCS8_PRIV_KEY_INFO_free(p8);
	free(file);
}

static void
test_seal(EVP_PKEY **keys)
{
	static const size_t offsets[] = { 0, 7, 8, 31, 32, 60 };
	char path[256], bad[256], tmp[300], kek2path[256];
	struct secret_kek *kek = NULL, *kek2 = NULL, *kek3 = NULL;
	unsigned char md1[32], md2[32];
	struct rc_why why;
	unsigned char *file;
	EVP_PKEY *out;
	char want[512];
	size_t len, i;

	path_in(kek2path, sizeof(kek2path), "kek2");
	CHECK(secret_kek_load(kek2path, true, NULL, &kek, &why) == RC_OK,
	    "KEK for sealing");
	path_in(bad, sizeof(bad), "kek3");
	CHECK(secret_kek_load(bad, true, NULL, &kek2, &why) == RC_OK,
	    "another KEK");

	for (i = 0; i < 5; i++) {
		char name[32];

		if (keys[i] == NULL)
			continue;
		(void)snprintf(name, sizeof(name), "key-%zu.sealed", i);
		path_in(path, sizeof(path), name);
		CHECK(secret_seal_key(kek, keys[i], LABEL, path) == RC_OK,
		    "seal key");
		CHECK(file_mode(path) == 0600, "sealed file has mode 0600");
		(void)snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		CHECK(access(tmp, F_OK) != 0, "no temporary file left");
		check_opaque(path, keys[i]);

		CHECK(hash_file(path, md1), "hash sealed file");
		out = NULL;
		rc_why_clear(&why);
		CHECK(secret_unseal_key(kek, LABEL, path, &out, &why) ==
		    RC_OK && out != NULL, "unseal key");
		CHECK(out != NULL && EVP_PKEY_eq(out, keys[i]) == 1,
		    "unsealed key has the same public key");
		CHECK(out != NULL && is_private_pair(out, keys[i]),
		    "unsealed key signs for the original");
		EVP_PKEY_free(out);
		CHECK(hash_file(path, md2) && memcmp(md1, md2, 32) == 0,
		    "unsealing leaves the file unchanged");
	}

	/* From here on, the P-256 key's file. */
	path_in(path, sizeof(path), "key-0.sealed");
	(void)snprintf(want, sizeof(want), "%s%s", path, DAMAGED_DETAIL);

	/* A second load of the same KEK file opens what the first sealed. */
	CHECK(secret_kek_load(kek2path, false, NULL, &kek3, &why) == RC_OK,
	    "reload KEK");
	out = NULL;
	CHECK(secret_unseal_key(kek3, LABEL, path, &out, &why) == RC_OK &&
	    out != NULL && EVP_PKEY_eq(out, keys[0]) == 1,
	    "KEK loaded again is the same key");
	EVP_PKEY_free(out);
	secret_kek_free(kek3);

	/* Wrong KEK. */
	out = NULL;
	rc_why_clear(&why);
	CHECK(secret_unseal_key(kek2, LABEL, path, &out, &why) ==
	    RC_CRYPTO && out == NULL, "wrong KEK: RC_CRYPTO");
	CHECK(why.code == RC_CRYPTO && strcmp(why.detail, want) == 0,
	    "wrong KEK: exact detail");

	/* Wrong label: the key was sealed for another purpose. */
	rc_why_clear(&why);
	CHECK(secret_unseal_key(kek, "x509-authority:4", path, &out, &why) ==
	    RC_CRYPTO && out == NULL && strcmp(why.detail, want) == 0,
	    "wrong label: RC_CRYPTO");
	CHECK(secret_unseal_key(kek, "", path, &out, &why) == RC_CRYPTO &&
	    out == NULL, "empty label: RC_CRYPTO");

	/* One flipped byte anywhere: RC_CRYPTO, file untouched. */
	file = slurp(path, &len);
	CHECK(file != NULL, "read sealed file");
	path_in(bad, sizeof(bad), "damaged.sealed");
	(void)snprintf(want, sizeof(want), "%s%s", bad, DAMAGED_DETAIL);
	for (i = 0; file != NULL && i < sizeof(offsets) / sizeof(offsets[0]) +
	    2; i++) {
		size_t off;

		if (i < sizeof(offsets) / sizeof(offsets[0]))
			off = offsets[i];
		else if (i == sizeof(offsets) / sizeof(offsets[0]))
			off = len - 16;	/* first tag byte */
		else
			off = len - 1;	/* last tag byte */
		file[off] ^= 0x01;
		CHECK(spill(bad, file, len, 0600), "write damaged copy");
		file[off] ^= 0x01;
		CHECK(hash_file(bad, md1), "hash damaged copy");
		out = NULL;
		rc_why_clear(&why);
		CHECK(secret_unseal_key(kek, LABEL, bad, &out, &why) ==
		    RC_CRYPTO && out == NULL && strcmp(why.detail, want) == 0,
		    "flipped byte: RC_CRYPTO with exact detail");
		CHECK(hash_file(bad, md2) && memcmp(md1, md2, 32) == 0,
		    "flipped byte: file unchanged");
	}

	/* Short, empty, grown files. */
	if (file != NULL) {
		CHECK(spill(bad, file, 48, 0600), "write 48-byte file");
		CHECK(secret_unseal_key(kek, LABEL, bad, &out, &why) ==
		    RC_CRYPTO && strcmp(why.detail, want) == 0,
		    "file without ciphertext: RC_CRYPTO");
		CHECK(spill(bad, file, len - 1, 0600), "write truncated file");
		CHECK(secret_unseal_key(kek, LABEL, bad, &out, &why) ==
		    RC_CRYPTO && strcmp(why.detail, want) == 0,
		    "truncated file: RC_CRYPTO");
		CHECK(spill(bad, file, 0, 0600), "write empty file");
		CHECK(secret_unseal_key(kek, LABEL, bad, &out, &why) ==
		    RC_CRYPTO && strcmp(why.detail, want) == 0,
		    "empty file: RC_CRYPTO");
		file[len] = 0;
		CHECK(spill(bad, file, len + 1, 0600), "write grown file");
		CHECK(secret_unseal_key(kek, LABEL, bad, &out, &why) ==
		    RC_CRYPTO && strcmp(why.detail, want) == 0,
		    "file with a byte appended: RC_CRYPTO");
	}

	/* Modes wider than 0600: RC_IO naming file and mode. */
	CHECK(chmod(path, 0644) == 0, "chmod sealed 0644");
	rc_why_clear(&why);
	CHECK(secret_unseal_key(kek, LABEL, path, &out, &why) == RC_IO &&
	    out == NULL, "sealed file with mode 0644: RC_IO");
	CHECK(why.code == RC_IO && strstr(why.detail, path) != NULL &&
	    strstr(why.detail, "0644") != NULL, "why names file and mode");
	CHECK(chmod(path, 0700) == 0, "chmod sealed 0700");
	CHECK(secret_unseal_key(kek, LABEL, path, &out, &why) == RC_IO &&
	    out == NULL, "sealed file with mode 0700: RC_IO");
	CHECK(chmod(path, 0400) == 0, "chmod sealed 0400");
	CHECK(secret_unseal_key(kek, LABEL, path, &out, &why) == RC_OK &&
	    out != NULL, "sealed file with mode 0400 opens");
	EVP_PKEY_free(out);
	out = NULL;
	CHECK(chmod(path, 0600) == 0, "chmod sealed 0600");

	/* Missing file. */
	path_in(bad, sizeof(bad), "nothing-here.sealed");
	rc_why_clear(&why);
	CHECK(secret_unseal_key(kek, LABEL, bad, &out, &why) == RC_IO &&
	    out == NULL && strstr(why.detail, bad) != NULL,
	    "missing sealed file: RC_IO naming it");

	/* Sealing over an existing file is refused; the file stays. */
	CHECK(hash_file(path, md1), "hash before reseal");
	CHECK(secret_seal_key(kek, keys[1], LABEL, path) == RC_CONFLICT,
	    "seal over an existing file: RC_CONFLICT");
	CHECK(hash_file(path, md2) && memcmp(md1, md2, 32) == 0,
	    "existing sealed file unchanged");
	out = NULL;
	CHECK(secret_unseal_key(kek, LABEL, path, &out, &why) == RC_OK &&
	    out != NULL && EVP_PKEY_eq(out, keys[0]) == 1,
	    "existing sealed file still holds the first key");
	EVP_PKEY_free(out);

	/* A stale temporary file from a crash does not block a seal. */
	path_in(path, sizeof(path), "fresh.sealed");
	path_in(tmp, sizeof(tmp), "fresh.sealed.tmp");
	CHECK(spill(tmp, "junk", 4, 0644), "leave a stale temporary file");
	CHECK(secret_seal_key(kek, keys[0], LABEL, path) == RC_OK,
	    "seal despite a stale temporary file");
	CHECK(access(tmp, F_OK) != 0 && file_mode(path) == 0600,
	    "stale temporary gone, sealed file 0600");

	/* Two seals of one key differ: a fresh nonce each time. */
	path_in(bad, sizeof(bad), "fresh2.sealed");
	CHECK(secret_seal_key(kek, keys[0], LABEL, bad) == RC_OK,
	    "seal the same key again");
	CHECK(hash_file(path, md1) && hash_file(bad, md2) &&
	    memcmp(md1, md2, 32) != 0, "two seals of one key differ");

	free(file);
	secret_kek_free(kek);
	secret_kek_free(kek2);
}

static void
test_helpers(void)
{
	unsigned char a[32], b[32], zero[32];

	memset(zero, 0, sizeof(zero));
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	secret_random(a, sizeof(a));
	secret_random(b, sizeof(b));
	CHECK(!secret_is_equal(a, zero, sizeof(a)), "random bytes not zero");
	CHECK(!secret_is_equal(a, b, sizeof(a)), "two draws differ");
	memcpy(b, a, sizeof(a));
	CHECK(secret_is_equal(a, b, sizeof(a)), "equal buffers compare equal");
	b[31] ^= 0x80;
	CHECK(!secret_is_equal(a, b, sizeof(a)), "last bit differs");
	CHECK(secret_is_equal(a, b, 31), "compare only len bytes");
}

int
main(void)
{
	EVP_PKEY *keys[5] = { NULL };
	size_t i;

	(void)umask(022);
	CHECK(secret_init() == RC_OK, "secret_init");
	(void)snprintf(scratch, sizeof(scratch), "/tmp/svidca-secret-XXXXXX");
	if (mkdtemp(scratch) == NULL) {
		CHECK(0, "mkdtemp");
		return check_done();
	}

	test_key_types(keys);
	test_kek();
	test_seal(keys);
	test_helpers();

	for (i = 0; i < 5; i++)
		EVP_PKEY_free(keys[i]);
	rm_scratch();
	CHECK(access(scratch, F_OK) != 0, "scratch directory removed");
	return check_done();
}
