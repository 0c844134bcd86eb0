/*
 * test_cert.c: roots and X.509-SVID leaves made by cert.c, read back with
 * OpenSSL and checked against every rule of DESIGN.md's leaf profile
 * (conformance checklist X5-*, IO-*), the openssl binary's strict chain
 * check for both TLS purposes, the leaf validators with their exact
 * codes, use from several threads, and a timing of CSR to SVID printed
 * as a TAP comment.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "../../ca/cert.h"
#include "../../ca/csr.h"
#include "../../ca/spiffeid.h"
#include "../../server/bounds.h"
#include "check.h"

#define TD		"example.org"
#define ORG		"svidca test"
#define ROOT_LIFE	(24 * 3600)
#define TTL		3600
#define THREADS		4
#define THREAD_ROUNDS	100
#define BENCH_N		20000
#define SERIAL_HEX	(2 * CERT_SERIAL_LEN + 1)

static char	 tmpdir[64];
static time_t	 now;

/* Contents of $SVIDCA_TESTDATA/csr/<name> (caller frees); NULL if none. */
static unsigned char *
load(const char *name, size_t *len)
{
	const char *dir = getenv("SVIDCA_TESTDATA");
	char path[1024];
	unsigned char *buf = NULL;
	FILE *f;
	long n;

	*len = 0;
	if (dir == NULL)
		dir = "tests/data";
	if (snprintf(path, sizeof(path), "%s/csr/%s", dir, name) >=
	    (int)sizeof(path))
		return NULL;
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf != NULL)
			*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static struct csr *
load_csr(const char *name, X509_REQ **req)
{
	unsigned char *der;
	const unsigned char *p;
	size_t len;
	struct csr *c = NULL;
	struct rc_why why;

	der = load(name, &len);
	if (der == NULL)
		return NULL;
	if (csr_parse(der, len, &c, &why) != RC_OK)
		c = NULL;
	if (req != NULL) {
		p = der;
		*req = d2i_X509_REQ(NULL, &p, (long)len);
	}
	free(der);
	return c;
}

/* A SPIFFE ID filled by hand: td_len bytes of trust domain after "//". */
static void
make_id(struct spiffeid *id, const char *s)
{
	const char *slash;

	memset(id, 0, sizeof(*id));
	snprintf(id->str, sizeof(id->str), "%s", s);
	id->len = strlen(id->str);
	slash = strchr(id->str + SPIFFEID_SCHEME_LEN, '/');
	id->td_len = slash == NULL ? id->len - SPIFFEID_SCHEME_LEN :
	    (size_t)(slash - id->str) - SPIFFEID_SCHEME_LEN;
}

static X509 *
parse_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	x = d2i_X509(NULL, &p, (long)len);
	if (x != NULL && p != der + len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Does ext nid exist with this criticality and exactly these DER bytes? */
static bool
ext_is(X509 *x, int nid, int critical, const char *hex)
{
	X509_EXTENSION *ex;
	ASN1_OCTET_STRING *v;
	unsigned char *want;
	long wlen;
	bool same;
	int i;

	i = X509_get_ext_by_NID(x, nid, -1);
	if (i < 0 || X509_get_ext_by_NID(x, nid, i) >= 0)
		return false;
	ex = X509_get_ext(x, i);
	if (X509_EXTENSION_get_critical(ex) != critical)
		return false;
	if (hex == NULL)
		return true;
	v = X509_EXTENSION_get_data(ex);
	want = OPENSSL_hexstr2buf(hex, &wlen);
	same = want != NULL && ASN1_STRING_length(v) == wlen &&
	    memcmp(ASN1_STRING_get0_data(v), want, (size_t)wlen) == 0;
	OPENSSL_free(want);
	return same;
}

/* The value of the only entry nid in name, or NULL; type in *type. */
static const char *
name_value(const X509_NAME *name, int nid, int *type)
{
	const X509_NAME_ENTRY *e;
	const ASN1_STRING *s;
	int i;

	i = X509_NAME_get_index_by_NID(name, nid, -1);
	if (i < 0 || X509_NAME_get_index_by_NID(name, nid, i) >= 0)
		return NULL;
	e = X509_NAME_get_entry(name, i);
	s = X509_NAME_ENTRY_get_data(e);
	if (type != NULL)
		*type = ASN1_STRING_type(s);
	return (const char *)ASN1_STRING_get0_data(s);
}

/* Is the serial positive, of exactly CERT_SERIAL_LEN octets, = hex? */
static bool
serial_ok(X509 *x, const char *hex)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	BIGNUM *bn;
	char *h;
	bool ok;

	if (ASN1_STRING_type(sn) != V_ASN1_INTEGER ||
	    ASN1_STRING_length(sn) != CERT_SERIAL_LEN)
		return false;
	bn = ASN1_INTEGER_to_BN(sn, NULL);
	h = bn == NULL ? NULL : BN_bn2hex(bn);
	ok = h != NULL && !BN_is_zero(bn) && !BN_is_negative(bn) &&
	    BN_num_bits(bn) >= 64 && (hex == NULL ||
	    OPENSSL_strcasecmp(h, hex) == 0);
	OPENSSL_free(h);
	BN_free(bn);
	return ok;
}

/* SHA-1 of the certificate's key bits: the RFC 5280 method (1) SKI. */
static bool
ski_ok(X509 *x)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (ski == NULL || X509_pubkey_digest(x, EVP_sha1(), md, &n) != 1)
		return false;
	return ASN1_STRING_length(ski) == (int)n &&
	    memcmp(ASN1_STRING_get0_data(ski), md, n) == 0;
}

/* The SAN as one string "URI:a,DNS:b,..."; its criticality in *crit. */
static void
san_str(X509 *x, char *out, size_t len, int *crit)
{
	GENERAL_NAMES *gens;
	size_t n = 0;
	int i;

	out[0] = '\0';
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, crit, NULL);
	if (gens == NULL)
		return;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *s;
		const char *kind;
		int w;

		if (g->type == GEN_URI) {
			kind = "URI";
			s = g->d.uniformResourceIdentifier;
		} else if (g->type == GEN_DNS) {
			kind = "DNS";
			s = g->d.dNSName;
		} else {
			kind = "OTHER";
			s = NULL;
		}
		w = snprintf(out + n, len - n, "%s%s:%.*s", i == 0 ? "" : ",",
		    kind, s == NULL ? 0 : ASN1_STRING_length(s),
		    s == NULL ? "" : (const char *)ASN1_STRING_get0_data(s));
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	GENERAL_NAMES_free(gens);
}

static bool
write_pem(const char *path, const unsigned char *der, size_t len)
{
	char *pem;
	FILE *f;
	bool ok;

	pem = cert_der_to_pem(der, len);
	if (pem == NULL)
		return false;
	f = fopen(path, "w");
	ok = f != NULL && fputs(pem, f) >= 0;
	if (f != NULL && fclose(f) != 0)
		ok = false;
	free(pem);
	return ok;
}

/* Run `openssl verify -x509_strict -purpose p`; true if it says OK. */
static bool
openssl_verify(const char *root, const char *leaf, const char *purpose)
{
	char cmd[512], line[512];
	FILE *p;
	bool ok = false;

	snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict -purpose %s "
	    "-CAfile %s %s 2>&1", purpose, root, leaf);
	p = popen(cmd, "r");
	if (p == NULL)
		return false;
	while (fgets(line, sizeof(line), p) != NULL) {
		if (strstr(line, ": OK") != NULL)
			ok = true;
		else
			printf("# openssl: %s", line);
	}
	if (pclose(p) != 0)
		ok = false;
	return ok;
}

/* Chain check in this process, strict, for one purpose. */
static bool
store_verify(X509 *root, X509 *leaf, int purpose)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = false;

	if (st != NULL && ctx != NULL && X509_STORE_add_cert(st, root) == 1 &&
	    X509_STORE_CTX_init(ctx, st, leaf, NULL) == 1 &&
	    X509_STORE_CTX_set_purpose(ctx, purpose) == 1) {
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
		ok = X509_verify_cert(ctx) == 1;
		if (!ok)
			printf("# verify: %s\n", X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(ctx)));
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

static void
test_root(EVP_PKEY *key, int sig_nid, const char *what)
{
	X509 *root;
	BASIC_CONSTRAINTS *bc;
	const char *v;
	char san[1024], msg[256];
	int crit = -1, type = 0;

	root = cert_make_root(key, TD, ORG, now - 60, now + ROOT_LIFE);
	snprintf(msg, sizeof(msg), "%s root: made", what);
	CHECK(root != NULL, msg);
	if (root == NULL)
		return;

	CHECK(X509_get_version(root) == X509_VERSION_3, "root: version 3");
	CHECK(serial_ok(root, NULL), "root: serial positive, 16 octets");
	CHECK(X509_NAME_entry_count(X509_get_subject_name(root)) > 0,
	    "root: subject not empty (IO-13)");
	CHECK(X509_NAME_cmp(X509_get_subject_name(root),
	    X509_get_issuer_name(root)) == 0, "root: issuer = subject");
	v = name_value(X509_get_subject_name(root), NID_organizationName,
	    &type);
	CHECK(v != NULL && strcmp(v, ORG) == 0 && type == V_ASN1_UTF8STRING,
	    "root: O=<org> as UTF8String");
	v = name_value(X509_get_subject_name(root), NID_commonName, NULL);
	CHECK(v != NULL && strcmp(v, TD) == 0, "root: CN=<td>");
	v = name_value(X509_get_subject_name(root), NID_serialNumber, NULL);
	CHECK(v != NULL && serial_ok(root, v),
	    "root: serialNumber attribute = serial (unique name)");
	CHECK(cert_not_before(root) == now - 60 &&
	    cert_not_after(root) == now + ROOT_LIFE, "root: validity as asked");

	CHECK(ext_is(root, NID_basic_constraints, 1, "30030101ff"),
	    "root: basicConstraints critical, exactly CA:TRUE (X5-06)");
	bc = X509_get_ext_d2i(root, NID_basic_constraints, NULL, NULL);
	CHECK(bc != NULL && bc->ca != 0 && bc->pathlen == NULL,
	    "root: CA:TRUE without pathLen");
	BASIC_CONSTRAINTS_free(bc);
	CHECK(ext_is(root, NID_key_usage, 1, "03020106"),
	    "root: keyUsage critical keyCertSign+cRLSign, minimal DER");
	CHECK(X509_get_key_usage(root) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN),
	    "root: keyUsage bits exactly keyCertSign, cRLSign (X5-13)");
	CHECK(ski_ok(root), "root: SKI = SHA-1 of the key bits");
	CHECK(X509_get_ext_by_NID(root, NID_ext_key_usage, -1) < 0,
	    "root: no EKU (X5-16)");
	san_str(root, san, sizeof(san), &crit);
	CHECK(strcmp(san, "URI:spiffe://" TD) == 0 && crit == 0,
	    "root: one URI SAN spiffe://<td>, not critical (X5-07)");
	CHECK(X509_get_extension_flags(root) & EXFLAG_CA, "root: is a CA");
	CHECK(X509_check_ca(root) == 1, "root: X509_check_ca");
	CHECK(X509_verify(root, key) == 1, "root: self-signature verifies");
	snprintf(msg, sizeof(msg), "%s root: signature algorithm %s", what,
	    OBJ_nid2sn(sig_nid));
	CHECK(X509_get_signature_nid(root) == sig_nid, msg);
	CHECK(store_verify(root, root, X509_PURPOSE_ANY),
	    "root: verifies as its own anchor, strict");
	X509_free(root);
}

/* What one issued leaf must look like. */
struct want {
	const char	*id;		/* the URI SAN */
	const char	*san;		/* whole SAN as san_str() prints it */
	const char	*cn;		/* CN or NULL for none */
	const char	*org;		/* O or NULL for none */
	int		 ku;		/* exact KU bits */
	const char	*ku_der;	/* KU extension value in hex */
	time_t		 not_after;	/* expected notAfter */
	int		 sig_nid;	/* signature algorithm */
	bool		 san_critical;
};

/*
 * Check a leaf against the profile.  pub is the key it must carry, root
 * and root_key its issuer.  Writes PEMs for the openssl binary when
 * run_openssl is set.
 */
static void
check_leaf(const char *what, const unsigned char *der, size_t len,
    const char *serial_hex, time_t not_after, X509 *root, EVP_PKEY *root_key,
    EVP_PKEY *pub, const unsigned char *spki, size_t spki_len,
    const struct want *w, bool run_openssl)
{
	X509 *x;
	BASIC_CONSTRAINTS *bc;
	EXTENDED_KEY_USAGE *eku;
	unsigned char *a = NULL, *b = NULL;
	const ASN1_OCTET_STRING *aki;
	const char *v;
	char san[16384], msg[512], rpath[128], lpath[128];
	int crit = -1, na, nb, type = 0;

#define LCHECK(cond, text) do {						\
	snprintf(msg, sizeof(msg), "%s: %s", what, text);		\
	CHECK(cond, msg);						\
} while (0)

	x = parse_der(der, len);
	LCHECK(x != NULL, "DER parses, nothing after it");
	if (x == NULL)
		return;
	LCHECK(X509_get_version(x) == X509_VERSION_3, "version 3");
	LCHECK(serial_ok(x, serial_hex),
	    "serial positive, >= 64 bits, 16 octets, = serial_hex (IO-12)");

	/* Issuer: the root's subject, byte for byte. */
	na = i2d_X509_NAME(X509_get_issuer_name(x), &a);
	nb = i2d_X509_NAME(X509_get_subject_name(root), &b);
	LCHECK(na > 0 && na == nb && memcmp(a, b, (size_t)na) == 0,
	    "issuer DER = root subject DER");
	OPENSSL_free(a);
	OPENSSL_free(b);
	a = NULL;
	b = NULL;

	/* Subject O= and CN= as UTF8String, nothing else. */
	v = name_value(X509_get_subject_name(x), NID_organizationName, &type);
	LCHECK(w->org == NULL ? v == NULL : (v != NULL &&
	    strcmp(v, w->org) == 0 && type == V_ASN1_UTF8STRING),
	    "subject O=<org>");
	v = name_value(X509_get_subject_name(x), NID_commonName, &type);
	LCHECK(w->cn == NULL ? v == NULL : (v != NULL &&
	    strcmp(v, w->cn) == 0 && type == V_ASN1_UTF8STRING),
	    "subject CN=<first DNS name>");
	LCHECK(X509_NAME_entry_count(X509_get_subject_name(x)) ==
	    (w->org != NULL) + (w->cn != NULL), "subject has nothing else");

	/* Validity: backdated 10 s, capped at the issuer. */
	LCHECK(cert_not_before(x) == now - CERT_BACKDATE,
	    "notBefore = now - 10 (IO-09)");
	LCHECK(cert_not_after(x) == w->not_after && not_after == w->not_after,
	    "notAfter as expected and reported");
	LCHECK(cert_not_after(x) <= cert_not_after(root),
	    "notAfter not past the root's (IO-09)");
	LCHECK(ASN1_STRING_type(X509_get0_notBefore(x)) == V_ASN1_UTCTIME &&
	    ASN1_STRING_type(X509_get0_notAfter(x)) == V_ASN1_UTCTIME,
	    "times are UTCTime before 2050");

	/* The key: the requester's SPKI, unchanged. */
	na = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &a);
	LCHECK(na > 0 && (size_t)na == spki_len &&
	    memcmp(a, spki, spki_len) == 0, "SPKI = the request's bytes");
	OPENSSL_free(a);
	a = NULL;
	if (pub != NULL)
		LCHECK(EVP_PKEY_eq(X509_get0_pubkey(x), pub) == 1,
		    "public key = the request's key");

	/* Extensions. */
	LCHECK(X509_get_ext_count(x) == 6, "exactly 6 extensions");
	LCHECK(ext_is(x, NID_basic_constraints, 1, "3000"),
	    "basicConstraints critical, empty SEQUENCE (X5-10)");
	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	LCHECK(bc != NULL && bc->ca == 0 && bc->pathlen == NULL,
	    "CA:FALSE, no pathLen");
	BASIC_CONSTRAINTS_free(bc);
	LCHECK(ext_is(x, NID_key_usage, 1, w->ku_der),
	    "keyUsage critical, minimal DER (X5-12)");
	LCHECK(X509_get_key_usage(x) == (uint32_t)w->ku,
	    "keyUsage bits for the key type (X5-14, IO-11)");
	LCHECK(ext_is(x, NID_ext_key_usage, 0, NULL), "EKU not critical");
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	LCHECK(eku != NULL && sk_ASN1_OBJECT_num(eku) == 2 &&
	    OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == NID_server_auth &&
	    OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 1)) == NID_client_auth,
	    "EKU exactly serverAuth, clientAuth (X5-15)");
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	LCHECK(ext_is(x, NID_subject_key_identifier, 0, NULL) && ski_ok(x),
	    "SKI = SHA-1 of the leaf key bits");
	aki = X509_get0_authority_key_id(x);
	LCHECK(ext_is(x, NID_authority_key_identifier, 0, NULL) &&
	    aki != NULL && ASN1_OCTET_STRING_cmp(aki,
	    X509_get0_subject_key_id(root)) == 0 &&
	    X509_get0_authority_issuer(x) == NULL &&
	    X509_get0_authority_serial(x) == NULL,
	    "AKI = keyIdentifier only, = root SKI (IO-10)");
	san_str(x, san, sizeof(san), &crit);
	LCHECK(strcmp(san, w->san) == 0, "SAN: one URI = the ID, then DNS "
	    "names in order (X5-01)");
	if (strcmp(san, w->san) != 0)
		printf("# got  %s\n# want %s\n", san, w->san);
	LCHECK(crit == (w->san_critical ? 1 : 0),
	    "SAN critical exactly when the subject is empty (X5-05)");
	LCHECK(!(X509_get_extension_flags(x) & EXFLAG_CA) &&
	    X509_check_ca(x) == 0, "not a CA");

	/* Signature and chain. */
	LCHECK(X509_get_signature_nid(x) == w->sig_nid,
	    "signature algorithm of the signer");
	LCHECK(X509_verify(x, root_key) == 1, "signature verifies with the "
	    "root key");
	LCHECK(store_verify(root, x, X509_PURPOSE_SSL_CLIENT),
	    "strict chain check, purpose sslclient");
	LCHECK(store_verify(root, x, X509_PURPOSE_SSL_SERVER),
	    "strict chain check, purpose sslserver");
	if (run_openssl) {
		unsigned char *rder = NULL;
		size_t rlen = 0;

		snprintf(rpath, sizeof(rpath), "%s/root.pem", tmpdir);
		snprintf(lpath, sizeof(lpath), "%s/leaf.pem", tmpdir);
		LCHECK(cert_get1_der(root, &rder, &rlen) == RC_OK &&
		    write_pem(rpath, rder, rlen) && write_pem(lpath, der, len),
		    "PEMs written");
		OPENSSL_free(rder);
		LCHECK(openssl_verify(rpath, lpath, "sslclient"),
		    "openssl verify -x509_strict -purpose sslclient: OK");
		LCHECK(openssl_verify(rpath, lpath, "sslserver"),
		    "openssl verify -x509_strict -purpose sslserver: OK");
	}
	X509_free(x);
#undef LCHECK
}

/* One authority with its signer. */
struct authority {
	EVP_PKEY		*key;
	X509			*root;
	struct cert_signer	*signer;
	int			 sig_nid;
};

static bool
authority_make(struct authority *a, EVP_PKEY *key, int sig_nid)
{
	memset(a, 0, sizeof(*a));
	a->key = key;
	a->sig_nid = sig_nid;
	a->root = cert_make_root(key, TD, ORG, now - 60, now + ROOT_LIFE);
	if (a->root != NULL)
		a->signer = cert_signer_new(a->root, key);
	return a->signer != NULL;
}

static void
authority_free(struct authority *a)
{
	cert_signer_free(a->signer);
	X509_free(a->root);
	EVP_PKEY_free(a->key);
}

/* Issue for a fixture CSR and check the result. */
static void
test_leaf_csr(struct authority *a, const char *file, bool ec, bool openssl)
{
	static const char *const dns[] = { "web.example.org",
	    "*.svc.example.org", "Localhost" };
	struct cert_leaf leaf;
	struct spiffeid id;
	struct want w;
	struct csr *c;
	X509_REQ *req = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	char serial[SERIAL_HEX], what[256];
	time_t na = 0;
	enum rc rc;

	c = load_csr(file, &req);
	snprintf(what, sizeof(what), "%s: request parsed", file);
	CHECK(c != NULL && req != NULL, what);
	if (c == NULL || req == NULL) {
		csr_free(c);
		X509_REQ_free(req);
		return;
	}
	make_id(&id, "spiffe://" TD "/ns/prod/sa/web");
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &id;
	leaf.dns = dns;
	leaf.n_dns = 3;
	leaf.org = ORG;
	leaf.now = now;
	leaf.ttl = TTL;
	rc = cert_issue(a->signer, c, &leaf, &der, &len, serial, &na);
	snprintf(what, sizeof(what), "%s under %s: issued", file,
	    OBJ_nid2sn(a->sig_nid));
	CHECK(rc == RC_OK && der != NULL, what);
	if (rc == RC_OK) {
		memset(&w, 0, sizeof(w));
		w.id = id.str;
		w.san = "URI:spiffe://" TD "/ns/prod/sa/web,"
		    "DNS:web.example.org,DNS:*.svc.example.org,DNS:Localhost";
		w.cn = "web.example.org";
		w.org = ORG;
		w.ku = ec ? KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT :
		    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
		w.ku_der = ec ? "03020388" : "030205a0";
		w.not_after = now + TTL;
		w.sig_nid = a->sig_nid;
		check_leaf(what, der, len, serial, na, a->root, a->key,
		    X509_REQ_get0_pubkey(req), c->spki, c->spki_len, &w,
		    openssl);
	}
	OPENSSL_free(der);
	X509_REQ_free(req);
	csr_free(c);
}

/* Variations of subject, SAN and lifetime on one P-256 request. */
static void
test_leaf_shapes(struct authority *a)
{
	static const char long_dns[] = "a-name-longer-than-sixty-four-bytes."
	    "which-cannot-be-a-common-name.example.org";
	const char *dns1[] = { long_dns, "b.example.org" };
	struct cert_leaf leaf;
	struct spiffeid id;
	struct want w;
	struct csr *c;
	unsigned char *der = NULL;
	size_t len;
	char serial[SERIAL_HEX];
	time_t na;
	enum rc rc;

	c = load_csr("good-p256.der", NULL);
	if (c == NULL)
		return;
	make_id(&id, "spiffe://" TD "/db");
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &id;
	leaf.now = now;
	memset(&w, 0, sizeof(w));
	w.ku = KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT;
	w.ku_der = "03020388";
	w.sig_nid = a->sig_nid;

	/* No DNS name, no organisation: empty subject, critical SAN. */
	leaf.ttl = 60;
	rc = cert_issue(a->signer, c, &leaf, &der, &len, serial, &na);
	CHECK(rc == RC_OK, "empty subject: issued");
	w.san = "URI:spiffe://" TD "/db";
	w.not_after = now + 60;
	w.san_critical = true;
	if (rc == RC_OK)
		check_leaf("empty subject", der, len, serial, na, a->root,
		    a->key, NULL, c->spki, c->spki_len, &w, true);
	OPENSSL_free(der);
	der = NULL;

	/* Organisation only; a TTL past the root's end is capped. */
	leaf.org = ORG;
	leaf.ttl = 10 * ROOT_LIFE;
	rc = cert_issue(a->signer, c, &leaf, &der, &len, serial, &na);
	CHECK(rc == RC_OK, "O only, long TTL: issued");
	w.org = ORG;
	w.san_critical = false;
	w.not_after = cert_not_after(a->root);
	if (rc == RC_OK)
		check_leaf("O only, TTL capped at the root", der, len, serial,
		    na, a->root, a->key, NULL, c->spki, c->spki_len, &w, false);
	OPENSSL_free(der);
	der = NULL;

	/* A first DNS name too long for a CN: no CN, name kept in SAN. */
	leaf.dns = dns1;
	leaf.n_dns = 2;
	leaf.ttl = TTL;
	rc = cert_issue(a->signer, c, &leaf, &der, &len, serial, &na);
	CHECK(rc == RC_OK, "long first DNS name: issued");
	w.not_after = now + TTL;
	w.san = "URI:spiffe://" TD "/db,DNS:a-name-longer-than-sixty-four-"
	    "bytes.which-cannot-be-a-common-name.example.org,DNS:b.example.org";
	if (rc == RC_OK)
		check_leaf("long first DNS name", der, len, serial, na,
		    a->root, a->key, NULL, c->spki, c->spki_len, &w, false);
	OPENSSL_free(der);
	csr_free(c);
}

/* The request asked for CA:TRUE and other SANs: none of it is used. */
static void
test_csr_extensions_ignored(struct authority *a)
{
	struct cert_leaf leaf;
	struct spiffeid id;
	struct csr *c;
	unsigned char *der = NULL;
	size_t len;
	char serial[SERIAL_HEX], san[1024];
	time_t na;
	X509 *x;
	int crit;

	c = load_csr("good-p256-ca.der", NULL);
	if (c == NULL)
		return;
	make_id(&id, "spiffe://" TD "/web");
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &id;
	leaf.org = ORG;
	leaf.now = now;
	leaf.ttl = TTL;
	CHECK(cert_issue(a->signer, c, &leaf, &der, &len, serial, &na) ==
	    RC_OK, "CA:TRUE request: issued");
	x = der == NULL ? NULL : parse_der(der, len);
	if (x != NULL) {
		san_str(x, san, sizeof(san), &crit);
		CHECK(strcmp(san, "URI:spiffe://" TD "/web") == 0,
		    "CA:TRUE request: requested SANs not copied");
		CHECK(ext_is(x, NID_basic_constraints, 1, "3000") &&
		    X509_check_ca(x) == 0,
		    "CA:TRUE request: leaf is CA:FALSE");
		CHECK(X509_get_key_usage(x) ==
		    (KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT),
		    "CA:TRUE request: requested keyCertSign not copied");
	}
	X509_free(x);
	OPENSSL_free(der);
	csr_free(c);
}

/* A leaf for a key we hold. */
static void
test_for_key(struct authority *a, const char *alg, bool ec)
{
	struct cert_leaf leaf;
	struct spiffeid id;
	struct want w;
	EVP_PKEY *k;
	unsigned char *der = NULL, *spki = NULL;
	size_t len;
	char serial[SERIAL_HEX], what[128];
	time_t na;
	enum rc rc;
	int n;

	k = ec ? EVP_EC_gen(alg) : EVP_RSA_gen(2048);
	if (k == NULL)
		return;
	n = i2d_PUBKEY(k, &spki);
	make_id(&id, "spiffe://" TD "/svidca/server");
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &id;
	leaf.org = ORG;
	leaf.now = now;
	leaf.ttl = TTL;
	rc = cert_issue_for_key(a->signer, k, &leaf, &der, &len, serial, &na);
	snprintf(what, sizeof(what), "for key %s", alg);
	CHECK(rc == RC_OK && n > 0, what);
	memset(&w, 0, sizeof(w));
	w.san = "URI:spiffe://" TD "/svidca/server";
	w.org = ORG;
	w.ku = ec ? KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT :
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
	w.ku_der = ec ? "03020388" : "030205a0";
	w.not_after = now + TTL;
	w.sig_nid = a->sig_nid;
	if (rc == RC_OK && n > 0)
		check_leaf(what, der, len, serial, na, a->root, a->key, k,
		    spki, (size_t)n, &w, false);
	OPENSSL_free(der);
	OPENSSL_free(spki);
	EVP_PKEY_free(k);
}

/* cert_check_leaf() and cert_issue() refusing a leaf. */
static void
expect_leaf_bad(struct authority *a, const struct csr *c,
    const struct cert_leaf *leaf, const char *field, const char *rule,
    const char *what)
{
	struct rc_why why;
	unsigned char *der = (unsigned char *)&der;
	size_t len = 1;
	char serial[SERIAL_HEX], msg[512];
	time_t na;
	enum rc rc;

	rc_why_clear(&why);
	rc = cert_check_leaf(leaf, &why);
	snprintf(msg, sizeof(msg), "%s: RC_BAD_REQUEST %s %s (got %d %s %s)",
	    what, field, rule, (int)rc, why.field == NULL ? "-" : why.field,
	    why.rule == NULL ? "-" : why.rule);
	CHECK(rc == RC_BAD_REQUEST && why.code == RC_BAD_REQUEST &&
	    why.field != NULL && strcmp(why.field, field) == 0 &&
	    why.rule != NULL && strcmp(why.rule, rule) == 0 &&
	    why.detail[0] != '\0', msg);
	rc = cert_issue(a->signer, c, leaf, &der, &len, serial, &na);
	snprintf(msg, sizeof(msg), "%s: cert_issue refuses, no output", what);
	CHECK(rc == RC_BAD_REQUEST && der == NULL && len == 0, msg);
}

static void
test_leaf_rules(struct authority *a)
{
	static const struct {
		const char	*name;
		const char	*rule;
	} bad_dns[] = {
		{ "", "RFC 1035 2.3.4" },
		{ "a..b", "RFC 1123 2.1" },
		{ ".a.b", "RFC 1123 2.1" },
		{ "a.b.", "RFC 1123 2.1" },
		{ "-a.b", "RFC 1123 2.1" },
		{ "a-.b", "RFC 1123 2.1" },
		{ "a_b.c", "RFC 1123 2.1" },
		{ "a b.c", "RFC 1123 2.1" },
		{ "caf\xc3\xa9.example", "RFC 1123 2.1" },
		{ "1.2.3.4", "RFC 1123 2.1" },
		{ "example.123", "RFC 1123 2.1" },
		{ "*", "RFC 1123 2.1" },
		{ "*.", "RFC 1123 2.1" },
		{ "*.org", "RFC 6125 7.2" },
		{ "a.*.b", "RFC 1123 2.1" },
		{ "x*.b.c", "RFC 1123 2.1" },
		{ "*.*.b.c", "RFC 1123 2.1" },
		{ "spiffe://example.org/x", "RFC 1123 2.1" },
	};
	static const char *const good_dns[] = {
		"localhost", "*.a.b", "xn--bcher-kva.example", "A.Example.ORG",
		"1a.example", "a.1example", "x-y.z",
	};
	struct cert_leaf leaf, l2;
	struct spiffeid id, td_only;
	struct rc_why why;
	struct csr *c;
	const char *one[1], *many[CERT_DNS_MAX + 1];
	char label64[70], name254[260], name253[260], msg[256];
	unsigned char *der = NULL;
	size_t i, len;
	char serial[SERIAL_HEX];
	time_t na;

	c = load_csr("good-p256.der", NULL);
	if (c == NULL)
		return;
	make_id(&id, "spiffe://" TD "/web");
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &id;
	leaf.org = ORG;
	leaf.now = now;
	leaf.ttl = TTL;
	rc_why_clear(&why);
	CHECK(cert_check_leaf(&leaf, &why) == RC_OK && why.rule == NULL,
	    "plain leaf passes the check");

	/* X5-04: the ID needs a path. */
	make_id(&td_only, "spiffe://" TD);
	l2 = leaf;
	l2.id = &td_only;
	expect_leaf_bad(a, c, &l2, "spiffe_id", "X5-04", "ID without path");
	l2.id = NULL;
	expect_leaf_bad(a, c, &l2, "spiffe_id", "X5-04", "no ID");

	/* DNS names. */
	for (i = 0; i < sizeof(bad_dns) / sizeof(bad_dns[0]); i++) {
		l2 = leaf;
		one[0] = bad_dns[i].name;
		l2.dns = one;
		l2.n_dns = 1;
		snprintf(msg, sizeof(msg), "DNS name \"%s\"", bad_dns[i].name);
		expect_leaf_bad(a, c, &l2, "dns_names", bad_dns[i].rule, msg);
	}
	memset(label64, 'a', 64);
	memcpy(label64 + 64, ".org", 5);
	one[0] = label64;
	l2 = leaf;
	l2.dns = one;
	l2.n_dns = 1;
	expect_leaf_bad(a, c, &l2, "dns_names", "RFC 1123 2.1",
	    "DNS label of 64 bytes");
	label64[1] = '.';	/* now "a.aaa...": 62-byte label, fine */
	CHECK(cert_check_leaf(&l2, NULL) == RC_OK, "DNS label of 62 bytes");

	/* 253 bytes is the longest name: 4 labels of 63 and one of 1. */
	for (i = 0; i < 253; i++)
		name253[i] = (i % 64 == 63) ? '.' : 'b';
	name253[253] = '\0';
	one[0] = name253;
	CHECK(cert_check_leaf(&l2, NULL) == RC_OK, "DNS name of 253 bytes");
	memcpy(name254, name253, 253);
	memcpy(name254 + 253, "b", 2);
	one[0] = name254;
	expect_leaf_bad(a, c, &l2, "dns_names", "RFC 1035 2.3.4",
	    "DNS name of 254 bytes");
	for (i = 0; i < sizeof(good_dns) / sizeof(good_dns[0]); i++) {
		one[0] = good_dns[i];
		snprintf(msg, sizeof(msg), "DNS name \"%s\" accepted",
		    good_dns[i]);
		CHECK(cert_check_leaf(&l2, NULL) == RC_OK, msg);
	}
	l2.dns = NULL;
	expect_leaf_bad(a, c, &l2, "dns_names", "CERT_DNS_MAX",
	    "DNS count without names");
	one[0] = NULL;
	l2.dns = one;
	expect_leaf_bad(a, c, &l2, "dns_names", "RFC 1123 2.1",
	    "NULL DNS name");

	/* At most CERT_DNS_MAX names; exactly that many still issue. */
	for (i = 0; i < CERT_DNS_MAX + 1; i++)
		many[i] = "many.example.org";
	l2.dns = many;
	l2.n_dns = CERT_DNS_MAX + 1;
	expect_leaf_bad(a, c, &l2, "dns_names", "CERT_DNS_MAX",
	    "one DNS name over CERT_DNS_MAX");
	l2.n_dns = CERT_DNS_MAX;
	CHECK(cert_issue(a->signer, c, &l2, &der, &len, serial, &na) == RC_OK,
	    "CERT_DNS_MAX DNS names issue");
	OPENSSL_free(der);
	der = NULL;

	/* Organisation and TTL. */
	l2 = leaf;
	l2.org = "an organisation name that is longer than the sixty-four "
	    "bytes of ub-organization-name";
	expect_leaf_bad(a, c, &l2, "org", "RFC 5280 A.1", "long org");
	l2.org = "bad \xff utf-8";
	expect_leaf_bad(a, c, &l2, "org", "RFC 5280 A.1", "org not UTF-8");
	l2.org = "Soci\xc3\xa9t\xc3\xa9";
	CHECK(cert_check_leaf(&l2, NULL) == RC_OK, "UTF-8 org accepted");
	l2 = leaf;
	l2.ttl = 0;
	expect_leaf_bad(a, c, &l2, "ttl", "DESIGN.md TTLs", "ttl 0");
	l2.ttl = -5;
	expect_leaf_bad(a, c, &l2, "ttl", "DESIGN.md TTLs", "ttl negative");

	/* X5-07: nothing outside the signer's trust domain. */
	l2 = leaf;
	make_id(&td_only, "spiffe://other.org/web");
	l2.id = &td_only;
	CHECK(cert_issue(a->signer, c, &l2, &der, &len, serial, &na) ==
	    RC_DENIED && der == NULL, "ID in another trust domain: RC_DENIED");
	make_id(&td_only, "spiffe://" TD ".evil/web");
	CHECK(cert_issue(a->signer, c, &l2, &der, &len, serial, &na) ==
	    RC_DENIED, "ID in a longer trust domain: RC_DENIED");
	make_id(&td_only, "spiffe://example.or/web");
	CHECK(cert_issue(a->signer, c, &l2, &der, &len, serial, &na) ==
	    RC_DENIED, "ID in a prefix of the trust domain: RC_DENIED");

	/* An authority past its end signs nothing. */
	l2 = leaf;
	l2.now = cert_not_after(a->root);
	CHECK(cert_issue(a->signer, c, &l2, &der, &len, serial, &na) ==
	    RC_UNAVAILABLE && der == NULL, "expired authority: RC_UNAVAILABLE");
	CHECK(cert_issue(NULL, c, &leaf, &der, &len, serial, &na) ==
	    RC_INTERNAL, "no signer: RC_INTERNAL");
	CHECK(cert_issue(a->signer, NULL, &leaf, &der, &len, serial, &na) ==
	    RC_INTERNAL, "no request: RC_INTERNAL");
	CHECK(ERR_peek_error() == 0, "OpenSSL error queue left empty");
	csr_free(c);
}

static void
test_helpers(struct authority *a)
{
	static const unsigned char abc[] = "abc";
	unsigned char *der = NULL;
	size_t len = 0;
	char hex[65], *pem;
	struct cert_leaf leaf;
	struct spiffeid id;
	BIO *bio;
	X509 *x = NULL, *late;
	EVP_PKEY *k;
	time_t na;

	cert_sha256_hex(abc, 3, hex);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb4"
	    "10ff61f20015ad") == 0, "cert_sha256_hex: FIPS 180-2 vector");

	CHECK(cert_get1_der(a->root, &der, &len) == RC_OK && len > 0,
	    "cert_get1_der");
	pem = cert_der_to_pem(der, len);
	CHECK(pem != NULL && strncmp(pem, "-----BEGIN CERTIFICATE-----\n",
	    28) == 0 && strstr(pem, "-----END CERTIFICATE-----\n") != NULL,
	    "cert_der_to_pem: armour");
	if (pem != NULL) {
		bio = BIO_new_mem_buf(pem, -1);
		x = bio == NULL ? NULL : PEM_read_bio_X509(bio, NULL, NULL,
		    NULL);
		BIO_free(bio);
	}
	CHECK(x != NULL && X509_cmp(x, a->root) == 0,
	    "cert_der_to_pem: reads back as the same certificate");
	X509_free(x);
	free(pem);
	OPENSSL_free(der);
	CHECK(cert_der_to_pem(NULL, 0) == NULL, "cert_der_to_pem(NULL)");
	CHECK(cert_signer_get0_cert(a->signer) == a->root,
	    "cert_signer_get0_cert");
	CHECK(cert_not_after(NULL) == 0 && cert_not_before(NULL) == 0,
	    "times of NULL are 0");

	/* From 2050 on, GeneralizedTime (RFC 5280 4.1.2.5). */
	k = EVP_EC_gen("P-256");
	late = cert_make_root(k, TD, NULL, now, (time_t)2556144000LL);
	CHECK(late != NULL &&
	    ASN1_STRING_type(X509_get0_notAfter(late)) ==
	    V_ASN1_GENERALIZEDTIME &&
	    ASN1_STRING_type(X509_get0_notBefore(late)) == V_ASN1_UTCTIME &&
	    cert_not_after(late) == (time_t)2556144000LL,
	    "root to 2051: GeneralizedTime notAfter, UTCTime notBefore");
	CHECK(late != NULL && name_value(X509_get_subject_name(late),
	    NID_organizationName, NULL) == NULL,
	    "root without org: no O=");
	X509_free(late);
	CHECK(cert_make_root(k, "", ORG, now, now + 60) == NULL,
	    "root for an empty trust domain: NULL");
	CHECK(cert_make_root(NULL, TD, ORG, now, now + 60) == NULL,
	    "root without key: NULL");
	CHECK(cert_signer_new(a->root, k) == NULL,
	    "signer with a key not the CA's: NULL");
	CHECK(cert_signer_new(NULL, k) == NULL, "signer without CA: NULL");

	/* A leaf cannot sign: its own key and certificate make no signer. */
	make_id(&id, "spiffe://" TD "/not-a-ca");
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &id;
	leaf.now = now;
	leaf.ttl = TTL;
	x = NULL;
	if (cert_issue_for_key(a->signer, k, &leaf, &der, &len, hex, &na) ==
	    RC_OK)
		x = parse_der(der, len);
	OPENSSL_free(der);
	der = NULL;
	CHECK(x != NULL && cert_signer_new(x, k) == NULL,
	    "signer from a leaf (CA:FALSE): NULL");
	X509_free(x);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	late = k == NULL ? NULL : cert_make_root(k, TD, ORG, now, now + 60);
	CHECK(late == NULL, "root for an Ed25519 key: NULL");
	X509_free(late);
	EVP_PKEY_free(k);
	ERR_clear_error();
}

struct job {
	struct authority	*a;
	struct csr		*c;
	char			 serials[THREAD_ROUNDS][SERIAL_HEX];
	int			 failures;
};

static void *
on_thread(void *arg)
{
	struct job *j = arg;
	struct cert_leaf leaf;
	struct spiffeid id;
	unsigned char *der;
	size_t len;
	time_t na;
	X509 *x;
	int i;

	make_id(&id, "spiffe://" TD "/thread");
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &id;
	leaf.org = ORG;
	leaf.now = now;
	leaf.ttl = TTL;
	for (i = 0; i < THREAD_ROUNDS; i++) {
		der = NULL;
		if (cert_issue(j->a->signer, j->c, &leaf, &der, &len,
		    j->serials[i], &na) != RC_OK) {
			j->failures++;
			continue;
		}
		x = parse_der(der, len);
		if (x == NULL || X509_verify(x, j->a->key) != 1)
			j->failures++;
		X509_free(x);
		OPENSSL_free(der);
	}
	return NULL;
}

static int
cmp_serial(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_threads(struct authority *a)
{
	pthread_t th[THREADS];
	struct job *jobs;
	struct csr *c;
	char (*all)[SERIAL_HEX];
	int i, k, started = 0, failures = 0, dups = 0;

	c = load_csr("good-p256.der", NULL);
	jobs = calloc(THREADS, sizeof(*jobs));
	all = calloc(THREADS * THREAD_ROUNDS, sizeof(*all));
	if (c == NULL || jobs == NULL || all == NULL)
		goto out;
	for (i = 0; i < THREADS; i++) {
		jobs[i].a = a;
		jobs[i].c = c;
		if (pthread_create(&th[i], NULL, on_thread, &jobs[i]) == 0)
			started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		failures += jobs[i].failures;
		for (k = 0; k < THREAD_ROUNDS; k++)
			memcpy(all[i * THREAD_ROUNDS + k], jobs[i].serials[k],
			    sizeof(all[0]));
	}
	CHECK(started == THREADS, "threads started");
	CHECK(failures == 0, "threads: every leaf issued and verified");
	qsort(all, (size_t)(started * THREAD_ROUNDS), sizeof(all[0]),
	    cmp_serial);
	for (i = 1; i < started * THREAD_ROUNDS; i++)
		if (strcmp(all[i - 1], all[i]) == 0)
			dups++;
	CHECK(dups == 0, "threads: serials all different");
 out:
	free(all);
	free(jobs);
	csr_free(c);
}

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * CSR in, SVID out, on one thread: the figure the 20k/s goal rests on.
 * One loop parses only, one parses and issues; both are timed whole, so
 * the clock is read four times, not per request.
 */
static void
bench(struct authority *a)
{
	struct cert_leaf leaf;
	struct spiffeid id;
	static const char *const dns[] = { "web.example.org" };
	unsigned char *csr_der, *der;
	size_t csr_len, len;
	struct csr *c;
	struct rc_why why;
	char serial[SERIAL_HEX];
	double t0, t_parse, t_both;
	time_t na;
	int i, n, fails = 0;
	const char *env = getenv("SVIDCA_BENCH_N");

	n = env == NULL ? BENCH_N : (int)strtol(env, NULL, 10);
	csr_der = load("good-p256.der", &csr_len);
	if (csr_der == NULL || n <= 0) {
		free(csr_der);
		return;
	}
	make_id(&id, "spiffe://" TD "/bench");
	memset(&leaf, 0, sizeof(leaf));
	leaf.id = &id;
	leaf.dns = dns;
	leaf.n_dns = 1;
	leaf.org = ORG;
	leaf.now = now;
	leaf.ttl = TTL;

	t0 = cpu_seconds();
	for (i = 0; i < n / 4; i++) {
		if (csr_parse(csr_der, csr_len, &c, &why) != RC_OK)
			fails++;
		csr_free(c);
	}
	t_parse = (cpu_seconds() - t0) / (n / 4);

	t0 = cpu_seconds();
	for (i = 0; i < n; i++) {
		if (csr_parse(csr_der, csr_len, &c, &why) != RC_OK) {
			fails++;
			continue;
		}
		if (cert_issue(a->signer, c, &leaf, &der, &len, serial, &na) !=
		    RC_OK)
			fails++;
		else
			OPENSSL_free(der);
		csr_free(c);
	}
	t_both = (cpu_seconds() - t0) / n;
	CHECK(fails == 0, "benchmark: every request parsed and signed");
	printf("# %d x (csr_parse + cert_issue), P-256 CSR, P-256 CA, one "
	    "thread: %.1f us/SVID CPU, %.0f SVIDs/s per core (csr_parse "
	    "alone %.1f us, so cert_issue about %.1f us)\n", n, t_both * 1e6,
	    1 / t_both, t_parse * 1e6, (t_both - t_parse) * 1e6);
	free(csr_der);
}

int
main(void)
{
	struct authority p256, p384, rsa;
	EVP_PKEY *k;
	bool ok256, ok384, okrsa;

	now = time(NULL);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_cert.XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL, "temporary directory");

	k = EVP_EC_gen("P-256");
	if (k != NULL)
		test_root(k, NID_ecdsa_with_SHA256, "P-256");
	EVP_PKEY_free(k);
	ok256 = authority_make(&p256, EVP_EC_gen("P-256"),
	    NID_ecdsa_with_SHA256);
	ok384 = authority_make(&p384, EVP_EC_gen("P-384"),
	    NID_ecdsa_with_SHA384);
	okrsa = authority_make(&rsa, EVP_RSA_gen(2048),
	    NID_sha256WithRSAEncryption);
	CHECK(ok256 && ok384 && okrsa, "authorities P-256, P-384, RSA made");
	if (ok384)
		test_root(p384.key, NID_ecdsa_with_SHA384, "P-384");
	if (okrsa)
		test_root(rsa.key, NID_sha256WithRSAEncryption, "RSA");

	if (ok256) {
		test_leaf_csr(&p256, "good-p256.der", true, true);
		test_leaf_csr(&p256, "good-p384.der", true, true);
		test_leaf_csr(&p256, "good-rsa2048.der", false, true);
		test_leaf_csr(&p256, "good-rsa4096.der", false, false);
		test_leaf_shapes(&p256);
		test_csr_extensions_ignored(&p256);
		test_for_key(&p256, "P-256", true);
		test_for_key(&p256, "RSA", false);
		test_leaf_rules(&p256);
		test_helpers(&p256);
		test_threads(&p256);
	}
	if (ok384) {
		test_leaf_csr(&p384, "good-p256.der", true, true);
		test_leaf_csr(&p384, "good-rsa3072.der", false, false);
	}
	if (okrsa) {
		test_leaf_csr(&rsa, "good-p256.der", true, true);
		test_leaf_csr(&rsa, "good-rsa2048.der", false, false);
	}
	if (ok256)
		bench(&p256);

	authority_free(&rsa);
	authority_free(&p384);
	authority_free(&p256);
	if (tmpdir[0] != '\0') {
		char path[128];

		snprintf(path, sizeof(path), "%s/root.pem", tmpdir);
		(void)unlink(path);
		snprintf(path, sizeof(path), "%s/leaf.pem", tmpdir);
		(void)unlink(path);
		(void)rmdir(tmpdir);
	}
	return check_done();
}
