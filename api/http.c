/*
 * http.c: the three libmicrohttpd daemons (HTTPS API, local admin socket,
 * health), the server certificate handed to GnuTLS at each handshake,
 * peer authentication with OpenSSL against the trust store of the
 * moment, and dispatch through the route table with default deny.
 *
 * Threads: MHD runs every callback here in its worker threads.  A
 * connection belongs to one worker for its whole life, so the verdict
 * cached in its socket context needs no lock; the server credentials
 * are shared and guarded by cred_lock plus a reference count.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "../server/bounds.h"
#include "../server/log.h"
#include "../server/metrics.h"

#define HTTP_MOD		"http"

/*
 * MHD keeps headers and its I/O buffers in one pool per connection:
 * twice the header ceiling leaves room for the read buffer to hold all
 * of them and still answer.
 */
#define HTTP_CONN_MEMORY	((size_t)HTTP_HEADER_MAX * 2 + 16 * 1024)

/* TLS 1.2 is the oldest version we speak. */
#define HTTP_TLS_PRIORITIES	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

#define HTTP_ALLOW_MAX		64	/* bytes of an Allow header */
#define HTTP_LOG_PATH_MAX	256	/* bytes of a path in a log line */
#define HTTP_GROUP_BUF_MAX	(1024 * 1024)	/* getgrnam_r buffer */

#define HTTP_RULE_AUTHZ		"authz.default-deny"

/* Connections to the health listener: a supervisor on loopback. */
#define HTTP_HEALTH_CONN_MAX	64

enum http_kind {
	HTTP_KIND_TLS = 0,	/* HTTPS API */
	HTTP_KIND_LOCAL,	/* admin socket, plain HTTP */
	HTTP_KIND_HEALTH,	/* /live, /ready */
};

struct http_listener {
	struct http		*http;		/* back pointer */
	enum http_kind		 kind;
	struct MHD_Daemon	*daemon;	/* owned; NULL when off */
};

/* The server's chain and key as DER, shared by reference count. */
struct http_cred {
	atomic_uint	 refs;			/* holders; freed at 0 */
	size_t		 n;			/* certificates, leaf first */
	unsigned char	*der[HTTP_PEER_CHAIN_MAX]; /* malloc'd each */
	size_t		 len[HTTP_PEER_CHAIN_MAX];
	unsigned char	*key;			/* PKCS#8 DER, sodium_malloc */
	size_t		 key_len;
};

/*
 * What one connection proved about its caller.  The TLS peer's chain
 * cannot change within the session, so the verdict holds for every
 * keep-alive request until the trust store changes or the leaf expires.
 */
struct http_conn {
	struct http_listener	*listener;	/* borrowed */
	bool		 checked;	/* the verdict below is computed */
	bool		 no_chain;	/* TLS peer sent no certificate */
	bool		 warned;	/* refusal already logged */
	uint64_t	 generation;	/* trust generation of the verdict */
	time_t		 not_after;	/* leaf expiry, re-check after */
	bool		 has_id;	/* verified SVID */
	bool		 has_uid;	/* SO_PEERCRED worked (local) */
	uid_t		 uid;
	unsigned	 roles;		/* enum http_role bits held */
	char		 addr[INET6_ADDRSTRLEN];	/* peer address */
	char		 serial[64];	/* leaf serial, lowercase hex */
	struct spiffeid	 id;		/* when has_id */
};

/* Per-request state, freed by on_completed on every path. */
struct http_rctx {
	struct http_req		 req;
	uint64_t		 num;		/* request number, for logs */
	const struct http_route	*route;		/* NULL: refused */
	struct rc_why		 why;		/* refusal when route NULL */
	char			 allow[HTTP_ALLOW_MAX];	/* for 405 */
	char			*paths;		/* path twice, 2nd split */
	char			*body;		/* malloc'd, NUL-ended */
	size_t			 len;		/* bytes in body */
	size_t			 cap;		/* bytes allocated */
	bool			 too_large;	/* over max_body: drop */
	bool			 nomem;		/* body growth failed */
	const char		*peer;		/* for logs, borrowed */
	enum metrics_listener	 listener;	/* for the metrics */
	double			 start;		/* metrics_now() at arrival */
};

struct http {
	struct api		*api;		/* borrowed */
	const struct http_route	*routes;	/* borrowed table */
	struct http_hooks	 hooks;
	size_t			 max_body;	/* bytes */
	struct http_listener	 tls;
	struct http_listener	 local;
	struct http_listener	 health;
	char			*socket_path;	/* bound by us, owned */
	pthread_mutex_t		 cred_lock;	/* guards cred */
	struct http_cred	*cred;		/* current, NULL until set */
	atomic_uint_fast64_t	 next_num;	/* request counter */
};

static const char health_marker;	/* con_cls of health requests */

/*
 * Copy s into dst (cap bytes) for a log line: control bytes, non-ASCII
 * and quotes become '?', and so do spaces unless spaces is true.  What
 * a client sent can then neither forge a line nor a field.
 */
static const char *
clean_text(char *dst, size_t cap, const char *s, bool spaces)
{
	size_t i;

	for (i = 0; i + 1 < cap && s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch == ' ' && spaces) || (ch > 0x20 && ch < 0x7f &&
		    ch != '"'))
			dst[i] = (char)ch;
		else
			dst[i] = '?';
	}
	dst[i] = '\0';
	return dst;
}

/* Text of role bits, "admin, local", into buf. */
static const char *
roles_text(unsigned roles, char *buf, size_t cap)
{
	static const struct {
		unsigned	 bit;
		const char	*name;
	} names[] = {
		{ HTTP_ROLE_ANON, "anonymous" },
		{ HTTP_ROLE_AGENT, "agent" },
		{ HTTP_ROLE_DOWNSTREAM, "downstream" },
		{ HTTP_ROLE_ADMIN, "admin" },
		{ HTTP_ROLE_LOCAL, "local" },
	};
	size_t i, off = 0;
	int w;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((roles & names[i].bit) == 0)
			continue;
		w = snprintf(buf + off, cap - off, "%s%s",
		    off == 0 ? "" : ", ", names[i].name);
		if (w < 0 || (size_t)w >= cap - off)
			break;
		off += (size_t)w;
	}
	if (off == 0)
		(void)snprintf(buf, cap, "none");
	return buf;
}

/* ------------------------------------------------------------------ */
/* Server credentials                                                  */

static void
cred_free(struct http_cred *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		free(c->der[i]);
	if (c->key != NULL)
		sodium_free(c->key);
	free(c);
}

static void
cred_put(struct http_cred *c)
{
	if (c == NULL)
		return;
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		cred_free(c);
}

/* The current credentials with a reference taken, or NULL. */
static struct http_cred *
cred_get(struct http *h)
{
	struct http_cred *c;

	pthread_mutex_lock(&h->cred_lock);
	c = h->cred;
	if (c != NULL)
		atomic_fetch_add(&c->refs, 1);
	pthread_mutex_unlock(&h->cred_lock);
	return c;
}

/*
 * Import c into fresh GnuTLS objects.  They are gnutls_malloc'd so that
 * GnuTLS frees them itself (GNUTLS_CERT_RETR_DEINIT_ALL): no handshake
 * ever holds a pointer into c, which may then be freed at any time.
 */
static int
cred_import(const struct http_cred *c, gnutls_pcert_st **out,
    gnutls_privkey_t *key_out)
{
	gnutls_pcert_st *pc = NULL;
	gnutls_privkey_t key = NULL;
	gnutls_datum_t d;
	size_t i, done = 0;
	int ret = -1;

	pc = gnutls_malloc(sizeof(*pc) * c->n);
	if (pc == NULL)
		goto out;
	memset(pc, 0, sizeof(*pc) * c->n);
	for (done = 0; done < c->n; done++) {
		d.data = c->der[done];
		d.size = (unsigned)c->len[done];
		if (gnutls_pcert_import_x509_raw(&pc[done], &d,
		    GNUTLS_X509_FMT_DER, 0) < 0)
			goto out;
	}

	if (gnutls_privkey_init(&key) < 0)
		goto out;
	d.data = c->key;
	d.size = (unsigned)c->key_len;
	if (gnutls_privkey_import_x509_raw(key, &d, GNUTLS_X509_FMT_DER,
	    NULL, 0) < 0)
		goto out;

	*out = pc;
	pc = NULL;
	*key_out = key;
	key = NULL;
	ret = 0;
out:
	if (key != NULL)
		gnutls_privkey_deinit(key);
	if (pc != NULL) {
		for (i = 0; i < done; i++)
			gnutls_pcert_deinit(&pc[i]);
		gnutls_free(pc);
	}
	return ret;
}

/*
 * GnuTLS asks for the server certificate, once per full handshake.  MHD
 * set the session's pointer to its connection, whose socket context
 * (made at NOTIFY_STARTED, before the handshake) leads back to us.
 */
static int
on_cert_retrieve(gnutls_session_t s, const struct gnutls_cert_retr_st *info,
    gnutls_pcert_st **certs, unsigned int *ncerts,
    gnutls_ocsp_data_st **ocsp, unsigned int *nocsp,
    gnutls_privkey_t *key, unsigned int *flags)
{
	struct MHD_Connection *mc;
	const union MHD_ConnectionInfo *ci;
	struct http_conn *c;
	struct http_cred *cred;
	int ret;

	(void)info;
	mc = gnutls_session_get_ptr(s);
	if (mc == NULL)
		return -1;
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci == NULL || ci->socket_context == NULL)
		return -1;
	c = ci->socket_context;
	cred = cred_get(c->listener->http);
	if (cred == NULL) {
		log_debug(HTTP_MOD, "handshake refused, no server "
		    "certificate installed peer=%s", c->addr);
		return -1;
	}

	ret = cred_import(cred, certs, key);
	if (ret == 0) {
		*ncerts = (unsigned)cred->n;
		*ocsp = NULL;
		*nocsp = 0;
		*flags = GNUTLS_CERT_RETR_DEINIT_ALL;
	} else
		log_error(HTTP_MOD, "cannot import the server certificate "
		    "peer=%s", c->addr);
	cred_put(cred);
	return ret;
}

/* Serialise key as unencrypted PKCS#8 DER into sodium memory. */
static enum rc
key_to_pkcs8(EVP_PKEY *key, unsigned char **out, size_t *out_len)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *buf = NULL, *p;
	int len;
	enum rc rc = RC_CRYPTO;

	p8 = EVP_PKEY2PKCS8(key);
	if (p8 == NULL)
		goto out;
	len = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
	if (len <= 0)
		goto out;
	buf = sodium_malloc((size_t)len);
	if (buf == NULL) {
		rc = RC_NOMEM;
		goto out;
	}
	p = buf;
	if (i2d_PKCS8_PRIV_KEY_INFO(p8, &p) != len)
		goto out;

	*out = buf;
	buf = NULL;
	*out_len = (size_t)len;
	rc = RC_OK;
out:
	if (buf != NULL)
		sodium_free(buf);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return rc;
}

/* Does the leaf ders[0] belong to key? */
static bool
cred_is_matching(const unsigned char *der, size_t len, EVP_PKEY *key)
{
	const unsigned char *p = der;
	X509 *leaf;
	bool ok;

	leaf = d2i_X509(NULL, &p, (long)len);
	if (leaf == NULL)
		return false;
	ok = p == der + len && X509_check_private_key(leaf, key) == 1;
	X509_free(leaf);
	return ok;
}

/*
 * Install the server chain ders[0..n) (DER, leaf first, at most
 * HTTP_PEER_CHAIN_MAX) and its key, from the next handshake on.  The
 * leaf must belong to key and GnuTLS must accept the lot, else
 * RC_CRYPTO and the old credentials stay; RC_INTERNAL for bad arguments,
 * RC_NOMEM.  Copies everything; the key as PKCS#8 DER in sodium memory.
 * Any thread; the previous credentials go when their last user lets go.
 */
enum rc
http_set_server_svid(struct http *h, const unsigned char *const *ders,
    const size_t *lens, size_t n, EVP_PKEY *key)
{
	struct http_cred *c = NULL, *old;
	gnutls_pcert_st *pc = NULL;
	gnutls_privkey_t pk = NULL;
	char ossl[256];
	size_t i;
	enum rc rc = RC_INTERNAL;

	if (h == NULL || ders == NULL || lens == NULL || key == NULL ||
	    n == 0 || n > HTTP_PEER_CHAIN_MAX)
		goto out;
	for (i = 0; i < n; i++)
		if (ders[i] == NULL || lens[i] == 0 || lens[i] > UINT_MAX)
			goto out;
	if (sodium_init() < 0)
		goto out;

	/* A leaf that is not the key's would fail every handshake. */
	if (!cred_is_matching(ders[0], lens[0], key)) {
		log_error(HTTP_MOD, "server certificate does not parse or "
		    "does not match its key ossl=%s",
		    log_ossl(ossl, sizeof(ossl)));
		rc = RC_CRYPTO;
		goto out;
	}

	rc = RC_NOMEM;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto out;
	atomic_init(&c->refs, 1);
	for (i = 0; i < n; i++) {
		c->der[i] = malloc(lens[i]);
		if (c->der[i] == NULL)
			goto out;
		memcpy(c->der[i], ders[i], lens[i]);
		c->len[i] = lens[i];
		c->n++;
	}
	rc = key_to_pkcs8(key, &c->key, &c->key_len);
	if (rc != RC_OK)
		goto out;

	/* Import once now, so a bad chain fails here, not in handshakes. */
	if (cred_import(c, &pc, &pk) != 0) {
		log_error(HTTP_MOD, "server certificate chain or key not "
		    "accepted by gnutls");
		rc = RC_CRYPTO;
		goto out;
	}
	for (i = 0; i < c->n; i++)
		gnutls_pcert_deinit(&pc[i]);
	gnutls_free(pc);
	gnutls_privkey_deinit(pk);

	pthread_mutex_lock(&h->cred_lock);
	old = h->cred;
	h->cred = c;
	pthread_mutex_unlock(&h->cred_lock);
	c = NULL;
	cred_put(old);

	rc = RC_OK;
out:
	cred_free(c);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Peer authentication                                                 */

/* The leaf's one URI SAN, parsed (X5-01, X5-02). */
static enum rc
leaf_get_id(X509 *leaf, struct spiffeid *id, struct rc_why *why)
{
	GENERAL_NAMES *sans;
	const GENERAL_NAME *gn, *uri = NULL;
	int i, n_uri = 0;
	enum rc rc = RC_UNAUTHENTICATED;

	sans = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	if (sans == NULL)
		return rc_why_set(why, RC_UNAUTHENTICATED, "client_certificate",
		    "X5-01", "leaf has no subjectAltName");
	for (i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		gn = sk_GENERAL_NAME_value(sans, i);
		if (gn->type != GEN_URI)
			continue;
		n_uri++;
		uri = gn;
	}
	if (n_uri != 1) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "client_certificate",
		    n_uri == 0 ? "X5-01" : "X5-02", "leaf carries %d URI "
		    "SANs, an X.509-SVID has exactly one (X509-SVID 2)", n_uri);
		goto out;
	}
	rc = spiffeid_parse((const char *)ASN1_STRING_get0_data(
	    uri->d.uniformResourceIdentifier),
	    (size_t)ASN1_STRING_length(uri->d.uniformResourceIdentifier),
	    id, "client_certificate", why);
	if (rc != RC_OK) {
		rc = RC_UNAUTHENTICATED;
		goto out;
	}
	if (!spiffeid_has_path(id)) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "client_certificate",
		    "X5-04", "leaf SPIFFE ID has no path (X509-SVID 3.1)");
		goto out;
	}
	rc = RC_OK;
out:
	GENERAL_NAMES_free(sans);
	return rc;
}

/*
 * Leaf rules beyond RFC 5280 (X509-SVID 4.1, 4.3 and 5.2; X5-14, X5-18):
 * a leaf is no CA and never has keyCertSign or cRLSign.  A CA that
 * could pass as a client would let a signing key act as a workload.
 */
static enum rc
leaf_check_usage(X509 *leaf, struct rc_why *why)
{
	if (X509_check_ca(leaf) != 0)
		return rc_why_set(why, RC_UNAUTHENTICATED,
		    "client_certificate", "X5-18",
		    "leaf is a CA certificate (X509-SVID 5.2)");
	if ((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) != 0 &&
	    (X509_get_key_usage(leaf) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) != 0)
		return rc_why_set(why, RC_UNAUTHENTICATED,
		    "client_certificate", "X5-14",
		    "leaf has keyCertSign or cRLSign (X509-SVID 4.3)");
	return RC_OK;
}

/* Serial of x as lowercase hex into buf. */
static void
leaf_serial(X509 *x, char *buf, size_t cap)
{
	BIGNUM *bn;
	char *hex = NULL, *p;

	buf[0] = '\0';
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	if (bn != NULL)
		hex = BN_bn2hex(bn);
	if (hex != NULL && strlen(hex) < cap) {
		for (p = hex; *p != '\0'; p++)
			*buf++ = (*p >= 'A' && *p <= 'F') ?
			    (char)(*p - 'A' + 'a') : *p;
		*buf = '\0';
	}
	OPENSSL_free(hex);
	BN_free(bn);
}

/*
 * Verify the peer chain peers[0..n) (DER, leaf first, as GnuTLS hands it)
 * against store, and fill c's identity.  Everything after the leaf is
 * untrusted: OpenSSL clients may even send our root, which only counts
 * when it is in the store.  On refusal return RC_UNAUTHENTICATED with why.
 */
static enum rc
verify_chain(X509_STORE *store, const gnutls_datum_t *peers, unsigned n,
    struct http_conn *c, struct rc_why *why)
{
	STACK_OF(X509) *rest = NULL;
	X509_STORE_CTX *vc = NULL;
	X509 *leaf = NULL, *x;
	const unsigned char *p;
	int days, secs, err;
	unsigned i;
	enum rc rc = RC_UNAUTHENTICATED;

	if (n > HTTP_PEER_CHAIN_MAX) {
		rc_why_set(why, rc, "client_certificate", NULL,
		    "chain of %u certificates, at most %d accepted", n,
		    HTTP_PEER_CHAIN_MAX);
		goto out;
	}
	rest = sk_X509_new_null();
	if (rest == NULL)
		goto out_nomem;
	for (i = 0; i < n; i++) {
		p = peers[i].data;
		x = d2i_X509(NULL, &p, (long)peers[i].size);
		if (x == NULL || p != peers[i].data + peers[i].size) {
			X509_free(x);
			rc_why_set(why, rc, "client_certificate", NULL,
			    "certificate %u of the chain does not parse", i);
			goto out;
		}
		if (i == 0)
			leaf = x;
		else if (sk_X509_push(rest, x) == 0) {
			X509_free(x);
			goto out_nomem;
		}
	}

	/* X509-SVID 5.1: plain RFC 5280 path validation (X5-17). */
	vc = X509_STORE_CTX_new();
	if (vc == NULL || X509_STORE_CTX_init(vc, store, leaf, rest) != 1)
		goto out_nomem;
	X509_STORE_CTX_set_purpose(vc, X509_PURPOSE_SSL_CLIENT);
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(vc),
	    X509_V_FLAG_X509_STRICT);
	if (X509_verify_cert(vc) != 1) {
		err = X509_STORE_CTX_get_error(vc);
		rc_why_set(why, rc, "client_certificate", "X5-17",
		    "chain does not verify against the trust bundle: %s",
		    X509_verify_cert_error_string(err));
		goto out;
	}

	if (leaf_check_usage(leaf, why) != RC_OK)
		goto out;
	if (leaf_get_id(leaf, &c->id, why) != RC_OK)
		goto out;
	leaf_serial(leaf, c->serial, sizeof(c->serial));
	c->not_after = time(NULL);
	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(leaf)) == 1)
		c->not_after += (time_t)days * 86400 + secs;
	c->has_id = true;
	rc = RC_OK;
	goto out;

out_nomem:
	rc_why_set(why, rc, "client_certificate", NULL,
	    "out of memory while verifying the chain");
out:
	ERR_clear_error();
	X509_STORE_CTX_free(vc);
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	return rc;
}

/*
 * Settle who the TLS peer is, reusing the connection's verdict while the
 * trust generation is unchanged and the leaf unexpired.  A chain that
 * fails leaves the caller anonymous; the reason is logged once.
 */
static void
identify_tls(struct http *h, struct MHD_Connection *mc, struct http_conn *c)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *peers;
	X509_STORE *store;
	struct rc_why why;
	char text[RC_DETAIL_MAX];
	uint64_t gen = 0;
	unsigned n = 0;

	if (c->no_chain)
		return;
	store = h->hooks.trust_get == NULL ? NULL :
	    h->hooks.trust_get(h->api, &gen);
	if (c->checked && gen == c->generation &&
	    (!c->has_id || time(NULL) < c->not_after)) {
		X509_STORE_free(store);
		return;
	}

	c->checked = true;
	c->generation = gen;
	c->has_id = false;
	c->roles = 0;
	c->serial[0] = '\0';

	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	peers = ci == NULL || ci->tls_session == NULL ? NULL :
	    gnutls_certificate_get_peers(ci->tls_session, &n);
	if (peers == NULL || n == 0) {
		c->no_chain = true;
		X509_STORE_free(store);
		return;
	}

	rc_why_clear(&why);
	if (store == NULL)
		rc_why_set(&why, RC_UNAUTHENTICATED, "client_certificate",
		    NULL, "no trust bundle to verify against");
	else if (verify_chain(store, peers, n, c, &why) == RC_OK) {
		c->roles = h->hooks.peer_roles == NULL ? 0 :
		    h->hooks.peer_roles(h->api, &c->id, c->serial);
		X509_STORE_free(store);
		return;
	}
	X509_STORE_free(store);

	if (!c->warned) {
		c->warned = true;
		log_warn(HTTP_MOD, "client certificate refused, caller is "
		    "anonymous peer=%s rule=%s reason=\"%s\"", c->addr,
		    why.rule == NULL ? "-" : why.rule,
		    clean_text(text, sizeof(text), why.detail, true));
	}
}

/* The uid at the other end of the admin socket (SO_PEERCRED). */
static void
identify_local(struct http *h, struct MHD_Connection *mc,
    struct http_conn *c)
{
	const union MHD_ConnectionInfo *ci;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (c->checked)
		return;
	c->checked = true;
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED,
	    &cred, &len) != 0) {
		log_warn(HTTP_MOD, "cannot read the admin socket caller's "
		    "credentials, caller is anonymous");
		return;
	}
	c->has_uid = true;
	c->uid = cred.uid;
	(void)snprintf(c->addr, sizeof(c->addr), "uid:%lu",
	    (unsigned long)cred.uid);
	if (h->hooks.uid_ok != NULL && h->hooks.uid_ok(h->api, cred.uid))
		c->roles = HTTP_ROLE_LOCAL;
}

/* The peer address as text, for logs. */
static void
conn_addr(struct MHD_Connection *mc, char *buf, size_t cap)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	(void)snprintf(buf, cap, "-");
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return;
	sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		(void)inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    buf, (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		(void)inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    buf, (socklen_t)cap);
	else if (sa->sa_family == AF_UNIX)
		(void)snprintf(buf, cap, "local");
}

/*
 * A connection opened or closed.  On open, make its context and, for
 * TLS, ask for a client certificate without requiring one and without
 * naming CAs (PROBES.md 1): the session exists, its handshake has not
 * begun.  Advertising no CA names keeps clients that filter on them
 * from staying silent.
 */
static void
on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_listener *l = cls;
	const union MHD_ConnectionInfo *ci;
	struct http_conn *c;

	if (toe != MHD_CONNECTION_NOTIFY_STARTED) {
		free(*socket_context);
		*socket_context = NULL;
		return;
	}

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		log_error(HTTP_MOD, "out of memory for a connection");
		return;
	}
	c->listener = l;
	conn_addr(mc, c->addr, sizeof(c->addr));
	*socket_context = c;
	if (l->kind != HTTP_KIND_TLS)
		return;
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci != NULL && ci->tls_session != NULL)
		gnutls_certificate_server_set_request(ci->tls_session,
		    GNUTLS_CERT_REQUEST);
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */

/* A JSON string of s; text that is not UTF-8 goes out cleaned. */
static json_t *
json_text(const char *s)
{
	char buf[RC_DETAIL_MAX];
	json_t *j;

	j = json_string(s);
	if (j != NULL)
		return j;
	return json_string(clean_text(buf, sizeof(buf), s, true));
}

/*
 * An RFC 9457 problem document for code with why's field, rule and
 * detail (detail replaces why's when not NULL).  Returns malloc'd text,
 * or NULL when out of memory.
 */
static char *
problem_encode(enum rc code, const struct rc_why *why, const char *detail)
{
	json_t *o;
	char *text = NULL;

	o = json_pack("{s:s, s:s, s:i}", "type", "about:blank",
	    "title", rc_str(code), "status", rc_http(code));
	if (o == NULL)
		return NULL;
	if (detail == NULL && why != NULL && why->detail[0] != '\0')
		detail = why->detail;
	if (detail != NULL &&
	    json_object_set_new(o, "detail", json_text(detail)) != 0)
		goto out;
	if (why != NULL && why->field != NULL &&
	    json_object_set_new(o, "field", json_text(why->field)) != 0)
		goto out;
	if (why != NULL && why->rule != NULL &&
	    json_object_set_new(o, "rule", json_text(why->rule)) != 0)
		goto out;
	text = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	return text;
}

/*
 * Queue a response.  body is malloc'd and owned here (may be NULL);
 * resp, when not NULL, adds its ETag and Retry-After.
 */
static enum MHD_Result
send_reply(struct MHD_Connection *mc, int status, const char *ctype,
    char *body, size_t len, const struct http_resp *resp, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (body != NULL)
		r = MHD_create_response_from_buffer(len, body,
		    MHD_RESPMEM_MUST_FREE);
	else
		r = MHD_create_response_from_buffer(0, (void *)"",
		    MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	if (ctype != NULL)
		(void)MHD_add_response_header(r, "Content-Type", ctype);
	if (allow != NULL && allow[0] != '\0')
		(void)MHD_add_response_header(r, "Allow", allow);
	if (resp != NULL && resp->etag[0] != '\0')
		(void)MHD_add_response_header(r, "ETag", resp->etag);
	if (resp != NULL && resp->retry_after != NULL)
		(void)MHD_add_response_header(r, "Retry-After",
		    resp->retry_after);
	ret = MHD_queue_response(mc, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Queue a problem document for code. */
static enum MHD_Result
send_problem(struct MHD_Connection *mc, enum rc code,
    const struct rc_why *why, const char *detail, const char *allow)
{
	static const char oom[] = "{\"type\":\"about:blank\","
	    "\"title\":\"out of memory\",\"status\":500}";
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text;

	text = problem_encode(code, why, detail);
	if (text != NULL)
		return send_reply(mc, rc_http(code), "application/problem+json",
		    text, strlen(text), NULL, allow);

	r = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom,
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	(void)MHD_add_response_header(r, "Content-Type",
	    "application/problem+json");
	ret = MHD_queue_response(mc, 500, r);
	MHD_destroy_response(r);
	return ret;
}

/* Set resp to status and the malloc'd JSON text (taken; may be NULL). */
void
http_resp_json(struct http_resp *resp, int status, char *text)
{
	free(resp->body);
	resp->status = status;
	resp->body = text;
	resp->body_len = text == NULL ? 0 : strlen(text);
	resp->content_type = "application/json";
}

/* Query argument name of req, decoded, borrowed for the request; NULL. */
const char *
http_query(const struct http_req *req, const char *name)
{
	if (req == NULL || req->conn == NULL)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

/* Request header name of req, borrowed for the request; or NULL. */
const char *
http_header(const struct http_req *req, const char *name)
{
	if (req == NULL || req->conn == NULL)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* ------------------------------------------------------------------ */
/* Routing                                                             */

struct http_span {
	size_t	 off;		/* byte offset in the path */
	size_t	 len;		/* bytes */
};

/*
 * Does path match pattern?  A "{name}" matches one non-empty segment;
 * the segments so captured are recorded in caps, in order.
 */
static bool
route_is_match(const char *pat, const char *path,
    struct http_span caps[HTTP_PARAMS_MAX], size_t *ncaps)
{
	const char *start = path, *end;
	size_t n = 0, len;

	while (*pat != '\0' && *path != '\0') {
		if (*pat == '{') {
			end = strchr(pat, '}');
			len = strcspn(path, "/");
			if (end == NULL || len == 0 || n == HTTP_PARAMS_MAX)
				return false;
			caps[n].off = (size_t)(path - start);
			caps[n].len = len;
			n++;
			pat = end + 1;
			path += len;
			continue;
		}
		if (*pat != *path)
			return false;
		pat++;
		path++;
	}
	if (*pat != '\0' || *path != '\0')
		return false;
	*ncaps = n;
	return true;
}

/* Add method to the Allow list unless it is there. */
static void
allow_add(char *allow, const char *method)
{
	size_t off = strlen(allow);
	const char *p;
	int w;

	for (p = strstr(allow, method); p != NULL;
	    p = strstr(p + 1, method)) {
		if ((p == allow || p[-1] == ' ') &&
		    (p[strlen(method)] == ',' || p[strlen(method)] == '\0'))
			return;
	}
	w = snprintf(allow + off, HTTP_ALLOW_MAX - off, "%s%s",
	    off == 0 ? "" : ", ", method);
	if (w < 0 || (size_t)w >= HTTP_ALLOW_MAX - off)
		allow[off] = '\0';
}

/*
 * Find the route for method and path, then apply its roles (default
 * deny).  On success set r->route and the captures; otherwise fill
 * r->why: 404 no route, 405 with r->allow, 401 when the caller holds no
 * identity at all, 403 when it holds one the route does not admit.
 */
static void
route_find(struct http *h, struct http_rctx *r, const struct http_conn *c,
    const char *method, const char *path)
{
	const struct http_route *rt, *found = NULL;
	struct http_span caps[HTTP_PARAMS_MAX];
	char roles[96];
	size_t ncaps = 0, i, plen;
	bool path_known = false;

	for (rt = h->routes; rt != NULL && rt->method != NULL; rt++) {
		if (!route_is_match(rt->pattern, path, caps, &ncaps))
			continue;
		path_known = true;
		if (strcmp(rt->method, method) == 0) {
			found = rt;
			break;
		}
		allow_add(r->allow, rt->method);
	}
	if (found == NULL && path_known) {
		rc_why_set(&r->why, RC_METHOD, "method", NULL,
		    "%s is not allowed on %s; allowed: %s", method, path,
		    r->allow);
		return;
	}
	if (found == NULL) {
		rc_why_set(&r->why, RC_NOT_FOUND, "path", NULL,
		    "no route matches %s", path);
		return;
	}
	r->allow[0] = '\0';

	if ((found->roles & HTTP_ROLE_ANON) == 0 &&
	    (found->roles & r->req.roles) == 0) {
		roles_text(found->roles, roles, sizeof(roles));
		/*
		 * XXX(401-challenge): RFC 9110 15.5.2 says a 401 "MUST send
		 * a WWW-Authenticate header field", and mutual TLS has no
		 * registered scheme, so none is sent; clients act on the
		 * status and the problem document.  Fix: send one once a
		 * scheme for client certificates is registered.
		 */
		if (!c->has_id && !c->has_uid)
			rc_why_set(&r->why, RC_UNAUTHENTICATED,
			    "client_certificate", HTTP_RULE_AUTHZ,
			    "%s %s admits %s callers; present an X.509-SVID "
			    "that verifies against the trust bundle",
			    method, path, roles);
		else
			rc_why_set(&r->why, RC_DENIED,
			    c->has_id ? "client_certificate" : "uid",
			    HTTP_RULE_AUTHZ, "caller %s holds no role that "
			    "%s %s admits (%s)", r->req.actor, method, path,
			    roles);
		return;
	}

	/* Captures: the path's second copy, each segment NUL-ended. */
	plen = strlen(path);
	r->paths = malloc(2 * (plen + 1));
	if (r->paths == NULL) {
		rc_why_set(&r->why, RC_NOMEM, NULL, NULL, "out of memory");
		return;
	}
	memcpy(r->paths, path, plen + 1);
	memcpy(r->paths + plen + 1, path, plen + 1);
	r->req.path = r->paths;
	for (i = 0; i < ncaps; i++) {
		r->req.params[i] = r->paths + plen + 1 + caps[i].off;
		r->paths[plen + 1 + caps[i].off + caps[i].len] = '\0';
	}
	r->route = found;
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */

/*
 * The end of every answered request: count it in the metrics under its
 * route pattern (never the path a client sent) and log it at debug.
 */
static void
log_request(const struct http_rctx *r, int status)
{
	char path[HTTP_LOG_PATH_MAX], method[16];

	metrics_http_record(r->listener, r->route == NULL ? NULL :
	    r->route->pattern, r->req.method, status,
	    metrics_now() - r->start);
	if (log_get_level() > LOG_LVL_DEBUG)
		return;
	log_debug(HTTP_MOD, "request req=%llu peer=%s method=%s path=%s "
	    "status=%d", (unsigned long long)r->num, r->peer,
	    clean_text(method, sizeof(method), r->req.method, false),
	    clean_text(path, sizeof(path), r->req.path, false), status);
}

/*
 * The one line for a request refused before its handler.  An identified
 * caller refused by a route's roles is worth a warning (someone holds a
 * credential and tries what it does not allow); the rest is debug, as
 * strangers can cause it at will.
 */
static void
log_refusal(const struct http_rctx *r, enum rc rc)
{
	char path[HTTP_LOG_PATH_MAX];

	if (rc != RC_DENIED) {
		log_request(r, rc_http(rc));
		return;
	}
	metrics_http_record(r->listener, NULL, r->req.method, rc_http(rc),
	    metrics_now() - r->start);
	log_warn(HTTP_MOD, "request refused req=%llu peer=%s method=%s "
	    "path=%s rule=%s", (unsigned long long)r->num, r->peer,
	    r->req.method, clean_text(path, sizeof(path), r->req.path, false),
	    HTTP_RULE_AUTHZ);
}

/*
 * Hand a refusal to the refused hook when the caller has an identity
 * and rt, the route it asked for, is closed to anonymous callers: those
 * refusals belong in the audit chain, a stranger's only in the log.
 */
static void
notify_refused(struct http *h, const struct http_rctx *r,
    const struct http_route *rt, enum rc rc, const struct rc_why *why)
{
	if (h->hooks.refused == NULL || r->req.actor[0] == '\0' ||
	    (rt != NULL && (rt->roles & HTTP_ROLE_ANON) != 0))
		return;
	h->hooks.refused(h->api, &r->req, rc_http(rc), why);
}

/* Fill the request's caller fields from the connection's verdict. */
static void
req_set_caller(struct http_req *req, const struct http_conn *c, bool local)
{
	req->roles = c->roles | HTTP_ROLE_ANON;
	req->is_local = local;
	(void)snprintf(req->peer_addr, sizeof(req->peer_addr), "%s", c->addr);
	req->has_peer_id = c->has_id;
	if (c->has_id) {
		req->peer_id = c->id;
		(void)snprintf(req->peer_serial, sizeof(req->peer_serial),
		    "%s", c->serial);
		(void)snprintf(req->actor, sizeof(req->actor), "%s",
		    c->id.str);
	} else if (local && c->has_uid) {
		req->peer_uid = c->uid;
		(void)snprintf(req->actor, sizeof(req->actor), "uid:%lu",
		    (unsigned long)c->uid);
	}
}

/* The request's Content-Length, or 0 when absent or unreadable. */
static unsigned long long
req_content_length(struct MHD_Connection *mc)
{
	const char *v;
	char *end;
	unsigned long long n;

	v = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v == NULL)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || v[0] == '-')
		return 0;
	return n;
}

/*
 * First call of a request: headers only.  Identify the caller, find the
 * route, and return MHD_YES without answering: a reply queued now makes
 * MHD 0.9.75 close the connection (PROBES.md 0).  The one exception is
 * a declared body over max_body, answered at once so that the body is
 * never read; the closed connection is then what we want.
 */
static enum MHD_Result
request_start(struct http_listener *l, struct MHD_Connection *mc,
    const char *url, const char *method, void **con_cls)
{
	struct http *h = l->http;
	const union MHD_ConnectionInfo *ci;
	struct http_conn *c;
	struct http_rctx *r;
	unsigned long long clen;

	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	c = ci == NULL ? NULL : ci->socket_context;
	if (c == NULL)
		return MHD_NO;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return MHD_NO;
	*con_cls = r;
	r->num = atomic_fetch_add(&h->next_num, 1) + 1;
	r->start = metrics_now();
	r->listener = l->kind == HTTP_KIND_LOCAL ? METRICS_LISTENER_ADMIN :
	    METRICS_LISTENER_API;
	r->req.method = method;
	r->req.path = url;
	r->req.conn = mc;
	r->req.body = "";

	if (l->kind == HTTP_KIND_TLS)
		identify_tls(h, mc, c);
	else
		identify_local(h, mc, c);
	req_set_caller(&r->req, c, l->kind == HTTP_KIND_LOCAL);
	r->peer = r->req.actor[0] != '\0' ? r->req.actor : c->addr;

	clen = req_content_length(mc);
	if (clen > h->max_body) {
		r->too_large = true;
		rc_why_set(&r->why, RC_TOO_LARGE, "body", NULL,
		    "request body of %llu bytes exceeds the limit of %zu",
		    clen, h->max_body);
		log_request(r, rc_http(RC_TOO_LARGE));
		return send_problem(mc, RC_TOO_LARGE, &r->why, NULL, NULL);
	}

	route_find(h, r, c, method, url);
	if (r->route != NULL && clen > 0) {
		r->body = malloc((size_t)clen + 1);
		if (r->body == NULL)
			r->nomem = true;
		else
			r->cap = (size_t)clen + 1;
	}
	return MHD_YES;
}

/*
 * A piece of the body.  Only a request bound for a handler keeps it;
 * past max_body (a chunked upload declares no length) the rest is
 * dropped and the final call answers 413.
 */
static void
request_take(struct http *h, struct http_rctx *r, const char *data,
    size_t n)
{
	size_t need, cap;
	char *p;

	if (r->route == NULL || r->too_large || r->nomem)
		return;
	if (n > h->max_body - r->len) {
		r->too_large = true;
		free(r->body);
		r->body = NULL;
		r->len = r->cap = 0;
		return;
	}
	need = r->len + n + 1;
	if (need > r->cap) {
		cap = r->cap < 4096 ? 4096 : r->cap;
		while (cap < need)
			cap *= 2;
		if (cap > h->max_body + 1)
			cap = h->max_body + 1;
		p = realloc(r->body, cap);
		if (p == NULL) {
			r->nomem = true;
			return;
		}
		r->body = p;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
}

/* Last call: the body is in; answer. */
static enum MHD_Result
request_finish(struct http *h, struct MHD_Connection *mc,
    struct http_rctx *r)
{
	struct http_resp resp;
	struct rc_why why;
	char text[RC_DETAIL_MAX];
	enum rc rc;
	int status;

	if (r->too_large) {
		rc_why_set(&r->why, RC_TOO_LARGE, "body", NULL,
		    "request body exceeds the limit of %zu bytes",
		    h->max_body);
		log_request(r, rc_http(RC_TOO_LARGE));
		return send_problem(mc, RC_TOO_LARGE, &r->why, NULL, NULL);
	}
	if (r->route == NULL || r->nomem) {
		rc = r->nomem ? RC_NOMEM : r->why.code;
		if (!rc_is_client(rc)) {
			log_error(HTTP_MOD, "request failed req=%llu peer=%s "
			    "reason=\"%s\"", (unsigned long long)r->num,
			    r->peer, r->nomem ? "out of memory" :
			    r->why.detail);
			log_request(r, rc_http(rc));
			return send_problem(mc, rc, NULL, "internal error",
			    NULL);
		}
		log_refusal(r, rc);
		/* RC_DENIED here: the route exists, its roles refused. */
		if (rc == RC_DENIED)
			notify_refused(h, r, NULL, rc, &r->why);
		return send_problem(mc, rc, &r->why, NULL, r->allow);
	}

	if (r->body != NULL) {
		r->req.body = r->body;
		r->req.body_len = r->len;
	}
	memset(&resp, 0, sizeof(resp));
	resp.status = 200;
	resp.content_type = "application/json";
	rc_why_clear(&why);
	rc = r->route->fn(h->api, &r->req, &resp, &why);
	if (rc == RC_OK) {
		status = resp.status == 0 ? 200 : resp.status;
		log_request(r, status);
		return send_reply(mc, status, resp.content_type, resp.body,
		    resp.body_len, &resp, NULL);
	}

	free(resp.body);
	if (rc_is_client(rc)) {
		log_request(r, rc_http(rc));
		notify_refused(h, r, r->route, rc, &why);
		return send_problem(mc, rc, &why, why.detail[0] == '\0' ?
		    rc_str(rc) : NULL, NULL);
	}
	/* Our fault: the client learns nothing of the inside. */
	log_error(HTTP_MOD, "handler failed req=%llu peer=%s method=%s "
	    "code=\"%s\" reason=\"%s\"", (unsigned long long)r->num,
	    r->peer, r->req.method, rc_str(rc),
	    clean_text(text, sizeof(text), why.detail, true));
	log_request(r, rc_http(rc));
	/*
	 * Unavailable is a state, not a secret ("no active authority"):
	 * saying why lets an operator's client wait and retry.
	 */
	if (rc == RC_UNAVAILABLE && why.detail[0] != '\0')
		return send_problem(mc, rc, &why, NULL, NULL);
	return send_problem(mc, rc, NULL, "internal error", NULL);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *mc, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct http_listener *l = cls;
	struct http_rctx *r = *con_cls;

	(void)version;
	if (r == NULL)
		return request_start(l, mc, url, method, con_cls);
	if (*upload_size != 0) {
		request_take(l->http, r, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	return request_finish(l->http, mc, r);
}

/* The request ended (answered, failed or aborted): free its state. */
static void
on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_rctx *r = *con_cls;

	(void)cls;
	(void)mc;
	(void)toe;
	if (r == NULL || (const void *)r == &health_marker)
		return;
	free(r->paths);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

/* GET /metrics: the scrape, text built by the hook, or 503 without. */
static enum MHD_Result
send_metrics(struct http *h, struct MHD_Connection *mc)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct rc_why why;
	char *text = NULL;
	size_t len = 0;

	if (h->hooks.metrics != NULL)
		text = h->hooks.metrics(h->api, &len);
	if (text == NULL) {
		rc_why_set(&why, RC_INTERNAL, NULL, NULL,
		    "metrics are not available");
		return send_problem(mc, RC_INTERNAL, &why, NULL, NULL);
	}
	r = MHD_create_response_from_buffer(len, text,
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	(void)MHD_add_response_header(r, "Content-Type",
	    "text/plain; version=0.0.4");
	ret = MHD_queue_response(mc, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * The health listener: /live, /ready, /metrics; the body of any request
 * dropped.
 */
static enum MHD_Result
on_health(void *cls, struct MHD_Connection *mc, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	static char live[] = "{\"status\":\"ok\"}";
	static char ready[] = "{\"status\":\"ready\"}";
	static char unready[] = "{\"status\":\"not ready\"}";
	struct http_listener *l = cls;
	struct http *h = l->http;
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct rc_why why;
	char *body;
	unsigned status;

	(void)version;
	(void)upload;
	if (*con_cls == NULL) {
		*con_cls = (void *)&health_marker;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0;
		return MHD_YES;
	}

	if (strcmp(method, "GET") == 0 && strcmp(url, "/live") == 0) {
		status = 200;
		body = live;
	} else if (strcmp(method, "GET") == 0 && strcmp(url, "/ready") == 0) {
		if (h->hooks.ready != NULL && h->hooks.ready(h->api)) {
			status = 200;
			body = ready;
		} else {
			status = 503;
			body = unready;
		}
	} else if (strcmp(method, "GET") == 0 &&
	    strcmp(url, "/metrics") == 0) {
		return send_metrics(h, mc);
	} else {
		rc_why_set(&why, RC_NOT_FOUND, "path", NULL,
		    "the health listener serves GET /live, GET /ready and "
		    "GET /metrics");
		return send_problem(mc, RC_NOT_FOUND, &why, NULL, NULL);
	}

	r = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	(void)MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(mc, status, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * MHD's own messages: mostly peers that hung up mid-handshake, which a
 * stranger can cause at will, so they stay at debug level.
 */
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_debug(HTTP_MOD, "mhd: %s", line);
}

/* ------------------------------------------------------------------ */
/* Listening sockets                                                   */

/* Split "host:port" or "[v6]:port" into host and port strings. */
static bool
addr_split(const char *addr, char *host, size_t hcap, char *port,
    size_t pcap)
{
	const char *colon, *h = addr;
	size_t hlen;

	if (addr[0] == '[') {
		colon = strchr(addr, ']');
		if (colon == NULL || colon[1] != ':')
			return false;
		h = addr + 1;
		hlen = (size_t)(colon - h);
		colon++;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL || memchr(addr, ':',
		    (size_t)(colon - addr)) != NULL)
			return false;
		hlen = (size_t)(colon - addr);
	}
	if (hlen == 0 || hlen >= hcap || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= pcap ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	(void)snprintf(port, pcap, "%s", colon + 1);
	return true;
}

/*
 * Bind and listen on a TCP address.  A failure returns RC_IO with
 * "listen ADDR: REASON" in why, field naming the setting.
 */
static enum rc
listen_tcp(const char *addr, const char *field, int *out,
    struct rc_why *why)
{
	struct addrinfo hints, *res = NULL;
	char host[256], port[8];
	int fd = -1, one = 1, err, gai;
	enum rc rc = RC_IO;

	if (!addr_split(addr, host, sizeof(host), port, sizeof(port))) {
		rc_why_set(why, RC_IO, field, NULL,
		    "listen %s: not host:port", addr);
		goto out;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		rc_why_set(why, RC_IO, field, NULL, "listen %s: %s", addr,
		    gai_strerror(gai));
		goto out;
	}

	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC,
	    res->ai_protocol);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		err = errno;
		rc_why_set(why, RC_IO, field, NULL, "listen %s: %s", addr,
		    strerror(err));
		goto out;
	}

	*out = fd;
	fd = -1;
	rc = RC_OK;
out:
	if (fd >= 0)
		close(fd);
	if (res != NULL)
		freeaddrinfo(res);
	return rc;
}

/* The gid of group name into *gid. */
static enum rc
group_lookup(const char *name, gid_t *gid, struct rc_why *why,
    const char *path)
{
	struct group gr, *found = NULL;
	char *buf = NULL, *p;
	size_t cap = 16 * 1024;
	int err;
	enum rc rc = RC_IO;

	for (;;) {
		p = realloc(buf, cap);
		if (p == NULL) {
			rc = rc_why_set(why, RC_NOMEM, "admin_socket_group",
			    NULL, "admin socket %s: out of memory", path);
			goto out;
		}
		buf = p;
		err = getgrnam_r(name, &gr, buf, cap, &found);
		if (err != ERANGE || cap >= HTTP_GROUP_BUF_MAX)
			break;
		cap *= 2;
	}
	if (err != 0 || found == NULL) {
		rc_why_set(why, RC_IO, "admin_socket_group", NULL,
		    "admin socket %s: group %s: %s", path, name,
		    err != 0 ? strerror(err) : "no such group");
		goto out;
	}
	*gid = gr.gr_gid;
	rc = RC_OK;
out:
	free(buf);
	return rc;
}

/*
 * Is a server already answering on the socket file at sa?  A stale file
 * left by a crash refuses the connection; a live one would be stolen if
 * we unlinked it.
 */
static bool
unix_is_live(const struct sockaddr_un *sa)
{
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	return ret == 0;
}

/*
 * Bind the admin socket at path: refuse a path longer than sun_path
 * holds, replace a stale socket file (never another kind of file), mode
 * 0660 before listen() so nobody connects under a looser mode, group
 * when given.  Failures return RC_IO naming the path.
 */
static enum rc
listen_unix(const char *path, const char *group, int *out,
    struct rc_why *why)
{
	struct sockaddr_un sa;
	struct stat st;
	gid_t gid = 0;
	size_t len = strlen(path);
	int fd = -1, err;
	bool bound = false;
	enum rc rc = RC_IO;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (len == 0 || len >= sizeof(sa.sun_path)) {
		rc_why_set(why, RC_IO, "admin_socket", NULL,
		    "admin socket %s: path is %zu bytes, a unix socket path "
		    "holds at most %zu", path, len, sizeof(sa.sun_path) - 1);
		goto out;
	}
	memcpy(sa.sun_path, path, len + 1);

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			rc_why_set(why, RC_IO, "admin_socket", NULL,
			    "admin socket %s: exists and is not a socket",
			    path);
			goto out;
		}
		if (unix_is_live(&sa)) {
			rc_why_set(why, RC_IO, "admin_socket", NULL,
			    "admin socket %s: another server listens on it",
			    path);
			goto out;
		}
		if (unlink(path) != 0) {
			err = errno;
			rc_why_set(why, RC_IO, "admin_socket", NULL,
			    "admin socket %s: %s", path, strerror(err));
			goto out;
		}
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		err = errno;
		rc_why_set(why, RC_IO, "admin_socket", NULL,
		    "admin socket %s: %s", path, strerror(err));
		goto out;
	}
	bound = true;
	if (chmod(path, 0660) != 0) {
		err = errno;
		rc_why_set(why, RC_IO, "admin_socket", NULL,
		    "admin socket %s: chmod: %s", path, strerror(err));
		goto out;
	}
	if (group != NULL && group[0] != '\0') {
		rc = group_lookup(group, &gid, why, path);
		if (rc != RC_OK)
			goto out;
		rc = RC_IO;
		if (chown(path, (uid_t)-1, gid) != 0) {
			err = errno;
			rc_why_set(why, RC_IO, "admin_socket_group", NULL,
			    "admin socket %s: chown to group %s: %s", path,
			    group, strerror(err));
			goto out;
		}
	}
	if (listen(fd, SOMAXCONN) != 0) {
		err = errno;
		rc_why_set(why, RC_IO, "admin_socket", NULL,
		    "admin socket %s: %s", path, strerror(err));
		goto out;
	}

	*out = fd;
	fd = -1;
	rc = RC_OK;
out:
	if (fd >= 0)
		close(fd);
	if (rc != RC_OK && bound)
		(void)unlink(path);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Daemons                                                             */

static unsigned
pool_size(unsigned threads)
{
	long n;

	if (threads != 0)
		return threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (unsigned)n;
}

/*
 * Start one daemon on the bound socket fd, which MHD owns from here on:
 * it closes it at MHD_stop_daemon().
 */
static enum rc
daemon_start(struct http_listener *l, int fd, unsigned threads,
    const char *what, struct rc_why *why)
{
	struct MHD_OptionItem pool[] = {
		{ MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

	/* A pool of one is a plain internal thread (0 draws a warning). */
	if (threads <= 1)
		pool[0].option = MHD_OPTION_END;

	if (l->kind == HTTP_KIND_HEALTH)
		l->daemon = MHD_start_daemon(flags, 0, NULL, NULL,
		    &on_health, l,
		    MHD_OPTION_EXTERNAL_LOGGER, &on_mhd_log, NULL,
		    MHD_OPTION_LISTEN_SOCKET, fd,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_HEALTH_CONN_MAX,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_MEMORY,
		    MHD_OPTION_END);
	else if (l->kind == HTTP_KIND_LOCAL)
		l->daemon = MHD_start_daemon(flags, 0, NULL, NULL,
		    &on_request, l,
		    MHD_OPTION_EXTERNAL_LOGGER, &on_mhd_log, NULL,
		    MHD_OPTION_LISTEN_SOCKET, fd,
		    MHD_OPTION_ARRAY, pool,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_MAX,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_MEMORY,
		    MHD_OPTION_NOTIFY_CONNECTION, &on_connection, l,
		    MHD_OPTION_NOTIFY_COMPLETED, &on_completed, l,
		    MHD_OPTION_END);
	else
		l->daemon = MHD_start_daemon(flags | MHD_USE_TLS, 0,
		    NULL, NULL, &on_request, l,
		    MHD_OPTION_EXTERNAL_LOGGER, &on_mhd_log, NULL,
		    MHD_OPTION_LISTEN_SOCKET, fd,
		    MHD_OPTION_ARRAY, pool,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_MAX,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		    (unsigned)HTTP_CONN_PER_IP_MAX,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_MEMORY,
		    MHD_OPTION_HTTPS_PRIORITIES, HTTP_TLS_PRIORITIES,
		    MHD_OPTION_HTTPS_CERT_CALLBACK2, &on_cert_retrieve,
		    MHD_OPTION_NOTIFY_CONNECTION, &on_connection, l,
		    MHD_OPTION_NOTIFY_COMPLETED, &on_completed, l,
		    MHD_OPTION_END);
	if (l->daemon == NULL) {
		/*
		 * XXX(mhd-fd): MHD 0.9.75 closes a passed listen socket
		 * on some of its failure paths and not on others, so the
		 * fd is left alone here rather than risk closing it twice;
		 * it leaks only when start-up fails, which ends the
		 * process.  Fix: a libmicrohttpd that documents ownership.
		 */
		return rc_why_set(why, RC_IO, NULL, NULL,
		    "cannot start the %s daemon", what);
	}
	return RC_OK;
}

/*
 * Start the daemons opts names (an empty or NULL address leaves that one
 * off): HTTPS API, admin socket, health.  RC_IO with why naming the
 * address or path when a socket cannot be had, RC_NOMEM.  On success
 * *out is the running server, for http_stop(); on failure nothing is
 * left running and *out is NULL.
 */
enum rc
http_start(struct api *api, const struct http_opts *o, struct http **out,
    struct rc_why *why)
{
	struct http *h = NULL;
	int fd;
	enum rc rc = RC_INTERNAL;

	*out = NULL;
	if (o == NULL || o->routes == NULL) {
		rc_why_set(why, rc, NULL, NULL, "no route table");
		goto out;
	}
	if (sodium_init() < 0) {
		rc_why_set(why, rc, NULL, NULL, "libsodium failed to start");
		goto out;
	}
	rc = RC_NOMEM;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		goto out;
	h->api = api;
	h->routes = o->routes;
	h->hooks = o->hooks;
	h->max_body = o->max_body == 0 ? HTTP_BODY_MAX : o->max_body;
	h->tls.http = h->local.http = h->health.http = h;
	h->tls.kind = HTTP_KIND_TLS;
	h->local.kind = HTTP_KIND_LOCAL;
	h->health.kind = HTTP_KIND_HEALTH;
	atomic_init(&h->next_num, 0);
	if (pthread_mutex_init(&h->cred_lock, NULL) != 0) {
		free(h);
		h = NULL;
		goto out;
	}

	/* The HTTPS API: agents, downstream CAs, operators with SVIDs. */
	if (o->listen != NULL && o->listen[0] != '\0') {
		rc = listen_tcp(o->listen, "listen", &fd, why);
		if (rc != RC_OK)
			goto out;
		rc = daemon_start(&h->tls, fd, pool_size(o->threads), "https",
		    why);
		if (rc != RC_OK)
			goto out;
	}

	/* The admin socket: local operators and the CLI. */
	if (o->admin_socket != NULL && o->admin_socket[0] != '\0') {
		rc = listen_unix(o->admin_socket, o->socket_group, &fd, why);
		if (rc != RC_OK)
			goto out;
		rc = RC_NOMEM;
		h->socket_path = strdup(o->admin_socket);
		if (h->socket_path == NULL) {
			close(fd);
			(void)unlink(o->admin_socket);
			goto out;
		}
		rc = daemon_start(&h->local, fd, 1, "admin socket", why);
		if (rc != RC_OK)
			goto out;
	}

	/* Health: /live and /ready for the supervisor. */
	if (o->health_listen != NULL && o->health_listen[0] != '\0') {
		rc = listen_tcp(o->health_listen, "health_listen", &fd, why);
		if (rc != RC_OK)
			goto out;
		rc = daemon_start(&h->health, fd, 1, "health", why);
		if (rc != RC_OK)
			goto out;
	}

	log_info(HTTP_MOD, "listening https=%s admin_socket=%s health=%s",
	    o->listen == NULL || o->listen[0] == '\0' ? "-" : o->listen,
	    h->socket_path == NULL ? "-" : h->socket_path,
	    o->health_listen == NULL || o->health_listen[0] == '\0' ? "-" :
	    o->health_listen);
	*out = h;
	h = NULL;
	rc = RC_OK;
out:
	http_stop(h);
	return rc;
}

/*
 * Stop every daemon (waiting for their threads), remove the admin socket
 * file and free everything.  Accepts NULL.
 */
void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	if (h->tls.daemon != NULL)
		MHD_stop_daemon(h->tls.daemon);
	if (h->local.daemon != NULL)
		MHD_stop_daemon(h->local.daemon);
	if (h->health.daemon != NULL)
		MHD_stop_daemon(h->health.daemon);
	/* MHD closes the listen socket but leaves the file behind. */
	if (h->socket_path != NULL) {
		(void)unlink(h->socket_path);
		free(h->socket_path);
	}
	cred_put(h->cred);
	pthread_mutex_destroy(&h->cred_lock);
	free(h);
}
