/*
 * attest.c: the node attestors of attest.h.
 *
 * join_token is a hash.  x509pop verifies a chain with OpenSSL against
 * the configured CA files, then keeps a session until the node has
 * signed a fresh challenge with the leaf's key.  jwt reads the token's
 * claims before trusting them only to pick the issuer; the signature is
 * verified by cjose with an algorithm fixed by the key (cjose would take
 * any alg its key type allows, PROBES.md 4), and only then are the
 * claims believed.
 *
 * Locks: struct attest's lock guards the sessions and the replay cache;
 * each issuer's lock guards its JWKS, and is held while the JWKS is
 * reloaded, so a slow issuer stalls only attestations through it.
 */
#include "attest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "../server/bounds.h"
#include "../server/log.h"
#include "cert.h"

#define ATTEST_MOD		"attest"
#define ATTEST_AGENT_PATH	"/svidca/agent/"
#define ATTEST_TOKEN_IN_MAX	256	/* bytes of a join token as evidence */
#define ATTEST_SESSION_RAW	24	/* random bytes of a session ID */
#define ATTEST_JWKS_RETRY	10	/* s between reloads on a miss */
#define ATTEST_JWKS_TIMEOUT	10L	/* s for one JWKS fetch */
#define ATTEST_RSA_MIN		2048	/* bits of a node or issuer RSA key */
#define ATTEST_SHOW_MAX		96	/* bytes of a token value shown */

/* An open x509pop challenge. */
struct attest_session {
	bool			 used;		/* slot holds a session */
	char			 id[ATTEST_SESSION_LEN + 1];
	unsigned char		 nonce[ATTEST_CHALLENGE_LEN];
	time_t			 expires_at;	/* Unix seconds */
	EVP_PKEY		*key;		/* leaf public key, owned */
	struct attest_result	 result;	/* what the chain proved */
};

/* One issuer of the jwt attestor and its cached keys. */
struct attest_issuer {
	struct conf_jwt_issuer	 conf;		/* copy */
	pthread_mutex_t		 lock;		/* guards what follows */
	json_t			*keys;		/* JWKS "keys" array, owned,
						 * NULL before a load */
	time_t			 loaded_at;	/* of keys */
	time_t			 tried_at;	/* last load attempt */
};

/* A remembered JWT: SHA-256 of its text, refused again until until. */
struct attest_seen {
	unsigned char	 hash[32];
	time_t		 until;		/* 0: free slot */
};

struct attest {
	char			 td[SPIFFEID_TD_MAX + 1];
	struct attest_limits	 lim;
	bool			 join_token;	/* join_token enabled */
	X509_STORE		*x509pop;	/* CA files; NULL: off */
	struct attest_issuer	*issuers;	/* n_issuers, owned */
	size_t			 n_issuers;
	pthread_mutex_t		 lock;		/* sessions and seen */
	struct attest_session	*sessions;	/* lim.sessions_max slots */
	struct attest_seen	*seen;		/* open addressing, n_slots */
	size_t			 n_slots;	/* power of two >= 2 * max */
	size_t			 n_seen;	/* slots in use */
	time_t			 swept_at;	/* last sweep of seen */
};

static pthread_once_t	 curl_once = PTHREAD_ONCE_INIT;

static void
on_curl_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		log_error(ATTEST_MOD, "cannot initialise libcurl");
}

/* --- small helpers --- */

/* The attestor's name as in the API; never NULL. */
const char *
attest_type_str(enum attest_type t)
{
	switch (t) {
	case ATTEST_JOIN_TOKEN:
		return "join_token";
	case ATTEST_X509POP:
		return "x509pop";
	case ATTEST_JWT:
		return "jwt";
	}
	return "unknown";
}

/* The attestor named s; false for an unknown name. */
bool
attest_type_parse(const char *s, enum attest_type *out)
{
	if (strcmp(s, "join_token") == 0)
		*out = ATTEST_JOIN_TOKEN;
	else if (strcmp(s, "x509pop") == 0)
		*out = ATTEST_X509POP;
	else if (strcmp(s, "jwt") == 0)
		*out = ATTEST_JWT;
	else
		return false;
	return true;
}

/* One SPIFFE ID path segment (SPIFFE-ID 2.2, ID-10, ID-12)? */
bool
attest_is_segment(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || (len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		    ch == '_')
			continue;
		return false;
	}
	return true;
}

/* Is s[0..len) free of control bytes (so it may reach a log line)? */
static bool
is_printable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return false;
	return memchr(s, '\0', len) == NULL;
}

/*
 * A value from a token or certificate, fit to quote in a reason: itself
 * when short and printable, else a placeholder.  Returns buf.
 */
static const char *
shown(const char *s, char *buf, size_t cap)
{
	size_t len = strlen(s);

	if (!is_printable(s, len) || len >= cap || len > ATTEST_SHOW_MAX)
		(void)snprintf(buf, cap, "(%zu bytes, not shown)", len);
	else
		(void)snprintf(buf, cap, "%s", s);
	return buf;
}

/*
 * Standard base64 with padding (RFC 4648 4) of at most max decoded
 * bytes, into a malloc'd *out.  false when malformed or too large.
 */
static bool
b64_decode(const char *s, size_t len, size_t max, unsigned char **out,
    size_t *out_len)
{
	unsigned char	*buf;
	const char	*end = NULL;
	size_t		 cap = len / 4 * 3 + 3;

	*out = NULL;
	*out_len = 0;
	if (len == 0 || len / 4 > max / 3 + 1)
		return false;
	buf = malloc(cap);
	if (buf == NULL)
		return false;
	if (sodium_base642bin(buf, cap, s, len, NULL, out_len, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + len ||
	    *out_len == 0 || *out_len > max) {
		free(buf);
		*out_len = 0;
		return false;
	}
	*out = buf;
	return true;
}

/*
 * Read the regular file path, at most max bytes, into a malloc'd
 * NUL-terminated *out.  RC_IO or RC_BAD_REQUEST with the reason in why.
 */
static enum rc
read_file(const char *path, size_t max, char **out, size_t *len,
    struct rc_why *why)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd;
	enum rc		 rc = RC_IO;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		rc = rc_why_set(why, RC_IO, NULL, NULL, "%s: cannot open: %s",
		    path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		rc = rc_why_set(why, RC_BAD_REQUEST, NULL, NULL,
		    "%s: not a regular file", path);
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		rc = rc_why_set(why, RC_BAD_REQUEST, NULL, NULL,
		    "%s: %lld bytes, over the limit of %zu", path,
		    (long long)st.st_size, max);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = rc_why_set(why, RC_IO, NULL, NULL,
			    "%s: cannot read", path);
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	rc = RC_OK;
out:
	free(buf);
	if (fd != -1)
		(void)close(fd);
	return rc;
}

/* Append the selector type:value to r; RC_UNAUTHENTICATED past ceilings. */
static enum rc
add_selector(struct attest_result *r, const char *type, struct rc_why *why,
    const char *fmt, ...) PRINTF_LIKE(4, 5);

static enum rc
add_selector(struct attest_result *r, const char *type, struct rc_why *why,
    const char *fmt, ...)
{
	struct store_selector	*v;
	char			 value[ATTEST_SELECTOR_MAX + 1];
	va_list			 ap;
	int			 n;

	va_start(ap, fmt);
	n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(value))
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence", NULL,
		    "a %s selector would exceed %d bytes", type,
		    ATTEST_SELECTOR_MAX);
	if (!is_printable(value, (size_t)n))
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence", NULL,
		    "a %s selector would hold a control character", type);
	if (r->n_selectors >= ATTEST_SELECTORS_MAX)
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence", NULL,
		    "the evidence yields more than %d selectors",
		    ATTEST_SELECTORS_MAX);
	v = realloc(r->selectors, (r->n_selectors + 1) * sizeof(*v));
	if (v == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	r->selectors = v;
	v[r->n_selectors].type = strdup(type);
	v[r->n_selectors].value = strdup(value);
	if (v[r->n_selectors].type == NULL ||
	    v[r->n_selectors].value == NULL) {
		free(v[r->n_selectors].type);
		free(v[r->n_selectors].value);
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	}
	r->n_selectors++;
	return RC_OK;
}

/* r's ID: spiffe://<td>/svidca/agent/<rest>. */
static enum rc
set_agent_id(struct attest_result *r, const char *td, const char *rest,
    struct rc_why *why)
{
	char	 path[SPIFFEID_MAX + 1];
	int	 n;
	enum rc	 rc;

	n = snprintf(path, sizeof(path), "%s%s", ATTEST_AGENT_PATH, rest);
	if (n < 0 || (size_t)n >= sizeof(path))
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence", "ID-14",
		    "the agent ID would exceed %d bytes", SPIFFEID_MAX);
	rc = spiffeid_from_parts(td, path, &r->agent_id, why);
	if (rc != RC_OK)
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence",
		    why != NULL ? why->rule : NULL, "the evidence yields no "
		    "valid agent ID: %s", why != NULL ? why->detail : "");
	r->has_id = true;
	return RC_OK;
}

/* Free what r owns and zero it; NULL is fine. */
void
attest_result_clear(struct attest_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n_selectors; i++) {
		free(r->selectors[i].type);
		free(r->selectors[i].value);
	}
	free(r->selectors);
	free(r->csr);
	sodium_memzero(r, sizeof(*r));
}

/* Allow only the members of evidence named in allowed (NULL-ended). */
static enum rc
check_members(const json_t *evidence, const char *const *allowed,
    struct rc_why *why)
{
	const char	*key;
	json_t		*v;
	size_t		 i;

	if (!json_is_object(evidence))
		return rc_why_set(why, RC_BAD_REQUEST, "evidence", NULL,
		    "evidence must be a JSON object");
	json_object_foreach((json_t *)evidence, key, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return rc_why_set(why, RC_BAD_REQUEST, "evidence",
			    NULL, "evidence: unknown member \"%.64s\"", key);
	}
	return RC_OK;
}

/* --- join_token --- */

/*
 * BLAKE2b-256 (crypto_generichash, unkeyed) of a token's text: the
 * token has 256 random bits, so no key or salt is needed to hide it.
 */
void
attest_token_hash(const char *token, size_t len,
    unsigned char hash[ATTEST_HASH_LEN])
{
	(void)crypto_generichash(hash, ATTEST_HASH_LEN,
	    (const unsigned char *)token, len, NULL, 0);
}

/* A fresh token, its ID and its hash; see attest.h. */
void
attest_token_new(char *token, char *token_id,
    unsigned char hash[ATTEST_HASH_LEN])
{
	unsigned char raw[ATTEST_TOKEN_RAW], id[ATTEST_TOKEN_ID_RAW];

	randombytes_buf(raw, sizeof(raw));
	(void)sodium_bin2base64(token, ATTEST_TOKEN_LEN + 1, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	randombytes_buf(id, sizeof(id));
	(void)sodium_bin2hex(token_id, ATTEST_TOKEN_ID_LEN + 1, id,
	    sizeof(id));
	attest_token_hash(token, strlen(token), hash);
}

/* spiffe://<td>/svidca/agent/join_token/<token_id>, or RC_BAD_REQUEST. */
enum rc
attest_join_token_id(const char *td, const char *token_id,
    struct spiffeid *out, struct rc_why *why)
{
	char	 path[SPIFFEID_MAX + 1];
	int	 n;

	if (!attest_is_segment(token_id, strlen(token_id)))
		return rc_why_set(why, RC_BAD_REQUEST, "token_id", "ID-12",
		    "token ID is not one SPIFFE ID path segment");
	n = snprintf(path, sizeof(path), "%sjoin_token/%s", ATTEST_AGENT_PATH,
	    token_id);
	if (n < 0 || (size_t)n >= sizeof(path))
		return rc_why_set(why, RC_BAD_REQUEST, "token_id", "ID-14",
		    "token ID too long");
	return spiffeid_from_parts(td, path, out, why);
}

/* A join-token result's ID and selector, once the store named it. */
enum rc
attest_join_token_finish(const char *td, const char *token_id,
    struct attest_result *r, struct rc_why *why)
{
	enum rc rc;

	rc = attest_join_token_id(td, token_id, &r->agent_id, why);
	if (rc != RC_OK)
		return rc;
	r->has_id = true;
	return add_selector(r, "join_token", why, "id:%s", token_id);
}

/* Evidence {token}: only hashed; the store knows whether it is good. */
static enum rc
join_token_evidence(const json_t *ev, struct attest_result *out,
    struct rc_why *why)
{
	static const char *const members[] = { "token", NULL };
	const char	*token;
	size_t		 len;
	enum rc		 rc;

	rc = check_members(ev, members, why);
	if (rc != RC_OK)
		return rc;
	token = json_string_value(json_object_get(ev, "token"));
	if (token == NULL)
		return rc_why_set(why, RC_BAD_REQUEST, "evidence.token", NULL,
		    "evidence.token: required, a string");
	len = json_string_length(json_object_get(ev, "token"));
	if (len == 0 || len > ATTEST_TOKEN_IN_MAX)
		return rc_why_set(why, RC_BAD_REQUEST, "evidence.token", NULL,
		    "evidence.token: 1 to %d bytes", ATTEST_TOKEN_IN_MAX);
	attest_token_hash(token, len, out->token_hash);
	out->has_id = false;
	return RC_OK;
}

/* --- the in-memory state: x509pop sessions, seen JWTs --- */

/* Free what slot s holds and mark it free.  Caller holds the lock. */
static void
session_drop(struct attest_session *s)
{
	EVP_PKEY_free(s->key);
	attest_result_clear(&s->result);
	sodium_memzero(s, sizeof(*s));
}

/*
 * Open a session for key and res (both moved in on success) until now +
 * session_ttl; ch gets its ID, nonce and expiry.  RC_UNAVAILABLE when
 * every slot holds a live session.
 */
static enum rc
session_open(struct attest *a, EVP_PKEY *key, struct attest_result *res,
    time_t now, struct attest_challenge *ch, struct rc_why *why)
{
	struct attest_session	*s = NULL;
	unsigned char		 raw[ATTEST_SESSION_RAW];
	size_t			 i;
	enum rc			 rc = RC_UNAVAILABLE;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->lim.sessions_max; i++) {
		if (a->sessions[i].used && a->sessions[i].expires_at <= now)
			session_drop(&a->sessions[i]);
		if (!a->sessions[i].used) {
			s = &a->sessions[i];
			break;
		}
	}
	if (s == NULL) {
		rc = rc_why_set(why, RC_UNAVAILABLE, NULL, NULL,
		    "%zu x509pop challenges are open, the most this server "
		    "holds; retry later", a->lim.sessions_max);
		goto out;
	}

	randombytes_buf(raw, sizeof(raw));
	(void)sodium_bin2base64(s->id, sizeof(s->id), raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	randombytes_buf(s->nonce, sizeof(s->nonce));
	s->expires_at = now + a->lim.session_ttl;
	s->key = key;
	s->result = *res;
	memset(res, 0, sizeof(*res));
	s->used = true;

	memcpy(ch->session, s->id, sizeof(ch->session));
	memcpy(ch->nonce, s->nonce, sizeof(ch->nonce));
	ch->expires_at = s->expires_at;
	rc = RC_OK;
out:
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/*
 * Take session id out of the table (single use, whatever follows) into
 * *out.  RC_UNAUTHENTICATED when unknown or expired.
 */
static enum rc
session_take(struct attest *a, const char *id, time_t now,
    struct attest_session *out, struct rc_why *why)
{
	struct attest_session	*s = NULL;
	size_t			 i, len = strlen(id);
	enum rc			 rc = RC_UNAUTHENTICATED;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&a->lock);
	for (i = 0; len == ATTEST_SESSION_LEN && i < a->lim.sessions_max;
	    i++) {
		if (a->sessions[i].used && sodium_memcmp(a->sessions[i].id, id,
		    ATTEST_SESSION_LEN) == 0) {
			s = &a->sessions[i];
			break;
		}
	}
	if (s == NULL) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "session", NULL,
		    "x509pop: unknown session; send the evidence again");
		goto out;
	}
	*out = *s;
	memset(s, 0, sizeof(*s));
	if (out->expires_at <= now) {
		session_drop(out);
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "session", NULL,
		    "x509pop: the challenge expired; send the evidence again");
		goto out;
	}
	rc = RC_OK;
out:
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* The first slot to probe for a hash (SHA-256 output is uniform). */
static size_t
seen_slot(const struct attest *a, const unsigned char *hash)
{
	uint64_t v;

	memcpy(&v, hash, sizeof(v));
	return (size_t)(v & (a->n_slots - 1));
}

/* Put hash into table (of a->n_slots); the table has room. */
static void
seen_put(struct attest *a, struct attest_seen *table,
    const unsigned char *hash, time_t until)
{
	size_t i = seen_slot(a, hash);

	while (table[i].until != 0)
		i = (i + 1) & (a->n_slots - 1);
	memcpy(table[i].hash, hash, sizeof(table[i].hash));
	table[i].until = until;
}

/*
 * Drop the expired hashes by building the table again; at most once a
 * second, since a table full of live hashes gains nothing from more.
 * Caller holds the lock.
 */
static void
seen_sweep(struct attest *a, time_t now)
{
	struct attest_seen	*fresh;
	size_t			 i, n = 0;

	if (a->swept_at == now)
		return;
	a->swept_at = now;
	fresh = calloc(a->n_slots, sizeof(*fresh));
	if (fresh == NULL)
		return;
	for (i = 0; i < a->n_slots; i++) {
		if (a->seen[i].until == 0 || a->seen[i].until <= now)
			continue;
		seen_put(a, fresh, a->seen[i].hash, a->seen[i].until);
		n++;
	}
	free(a->seen);
	a->seen = fresh;
	a->n_seen = n;
}

/*
 * Remember hash until the given time.  RC_OK when it was not seen;
 * RC_UNAUTHENTICATED when it was (a replay); RC_UNAVAILABLE when the
 * cache is full of live hashes.  A full cache refuses rather than
 * forgets, because forgetting a live hash would let its token be
 * replayed.
 *
 * XXX(jwt-replay-memory): the cache lives in memory, so a restart
 * forgets it and a token seen before can attest once more; its
 * max_token_age bounds the window.  Fix: keep the hashes in the store
 * until they expire, as join tokens are.
 */
static enum rc
seen_add(struct attest *a, const unsigned char *hash, time_t until,
    time_t now, struct rc_why *why)
{
	size_t	 i;
	enum rc	 rc = RC_UNAVAILABLE;

	pthread_mutex_lock(&a->lock);
	for (i = seen_slot(a, hash); a->seen[i].until != 0;
	    i = (i + 1) & (a->n_slots - 1)) {
		if (a->seen[i].until > now && sodium_memcmp(a->seen[i].hash,
		    hash, sizeof(a->seen[i].hash)) == 0) {
			rc = rc_why_set(why, RC_UNAUTHENTICATED,
			    "evidence.token", "RFC 7519 4.1.7",
			    "jwt: token already used; each token attests "
			    "once");
			goto out;
		}
	}
	if (a->n_seen >= a->lim.replay_max)
		seen_sweep(a, now);
	if (a->n_seen >= a->lim.replay_max) {
		rc = rc_why_set(why, RC_UNAVAILABLE, NULL, NULL,
		    "jwt: the replay cache holds %zu live tokens, its "
		    "limit; retry later", a->n_seen);
		goto out;
	}
	seen_put(a, a->seen, hash, until);
	a->n_seen++;
	rc = RC_OK;
out:
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* --- x509pop --- */

/*
 * Read the PEM certificates of one CA file into store.  Each must be a
 * CA certificate: a leaf trusted here would vouch for itself.
 */
static enum rc
load_ca_file(X509_STORE *store, const char *path, struct rc_why *why)
{
	BIO	*bio = NULL;
	X509	*x = NULL;
	char	*text = NULL;
	size_t	 len = 0, n = 0;
	enum rc	 rc;

	rc = read_file(path, CONF_FILE_MAX, &text, &len, why);
	if (rc != RC_OK)
		goto out;
	rc = RC_NOMEM;
	bio = BIO_new_mem_buf(text, (int)len);
	if (bio == NULL)
		goto out;
	for (;;) {
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (x == NULL)
			break;
		if (X509_check_ca(x) == 0) {
			rc = rc_why_set(why, RC_BAD_REQUEST, NULL, NULL,
			    "%s: certificate %zu is not a CA certificate",
			    path, n + 1);
			goto out;
		}
		if (X509_STORE_add_cert(store, x) != 1) {
			rc = rc_why_set(why, RC_BAD_REQUEST, NULL, NULL,
			    "%s: certificate %zu cannot be added (a "
			    "duplicate?)", path, n + 1);
			goto out;
		}
		X509_free(x);
		x = NULL;
		n++;
	}
	ERR_clear_error();
	if (n == 0) {
		rc = rc_why_set(why, RC_BAD_REQUEST, NULL, NULL,
		    "%s: no PEM certificate", path);
		goto out;
	}
	rc = RC_OK;
out:
	ERR_clear_error();
	X509_free(x);
	BIO_free(bio);
	free(text);
	return rc;
}

/* The digest a node key signs the challenge with; NULL if unsupported. */
static const EVP_MD *
node_key_md(EVP_PKEY *key)
{
	char	 group[64];
	size_t	 len = 0;

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
		return EVP_PKEY_get_bits(key) >= ATTEST_RSA_MIN ?
		    EVP_sha256() : NULL;
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &len) != 1)
		return NULL;
	if (strcmp(group, "prime256v1") == 0)
		return EVP_sha256();
	if (strcmp(group, "secp384r1") == 0)
		return EVP_sha384();
	return NULL;
}

/*
 * Decode evidence.chain into certs[0..*n), leaf first.  Each must be
 * one whole DER certificate; der0 keeps the leaf's bytes (for its
 * fingerprint).  RC_BAD_REQUEST on a fault.
 */
static enum rc
decode_chain(const json_t *chain, X509 **certs, size_t *n,
    unsigned char **der0, size_t *der0_len, struct rc_why *why)
{
	const unsigned char	*p;
	unsigned char		*der = NULL;
	const char		*s;
	size_t			 i, len;
	enum rc			 rc = RC_BAD_REQUEST;

	*n = 0;
	if (!json_is_array(chain) || json_array_size(chain) == 0 ||
	    json_array_size(chain) > ATTEST_CHAIN_MAX)
		return rc_why_set(why, RC_BAD_REQUEST, "evidence.chain", NULL,
		    "evidence.chain: an array of 1 to %d base64 DER "
		    "certificates, leaf first", ATTEST_CHAIN_MAX);
	for (i = 0; i < json_array_size(chain); i++) {
		s = json_string_value(json_array_get(chain, i));
		if (s == NULL || !b64_decode(s, strlen(s), ATTEST_CERT_MAX,
		    &der, &len)) {
			rc = rc_why_set(why, RC_BAD_REQUEST, "evidence.chain",
			    NULL, "evidence.chain[%zu]: not base64 of at most "
			    "%d bytes", i, ATTEST_CERT_MAX);
			goto out;
		}
		p = der;
		certs[i] = d2i_X509(NULL, &p, (long)len);
		if (certs[i] == NULL || p != der + len) {
			X509_free(certs[i]);
			certs[i] = NULL;
			ERR_clear_error();
			rc = rc_why_set(why, RC_BAD_REQUEST, "evidence.chain",
			    NULL, "evidence.chain[%zu]: not one DER "
			    "certificate", i);
			goto out;
		}
		*n = i + 1;
		if (i == 0) {
			*der0 = der;
			*der0_len = len;
			der = NULL;
		}
		free(der);
		der = NULL;
	}
	rc = RC_OK;
out:
	free(der);
	return rc;
}

/*
 * Verify certs[0..n) against the configured CAs at now (RFC 5280 6.1,
 * strict), then check the leaf can sign: not a CA, digitalSignature if
 * it has a key usage.  *issuer_hex gets the SHA-256 of the certificate
 * that signed the leaf.
 *
 * XXX(x509pop-revocation): no CRL or OCSP is consulted, so a node
 * certificate its CA revoked still attests until it expires; an
 * operator can ban the agent ID meanwhile.  Fix: a crl_files setting
 * loaded into the store with X509_V_FLAG_CRL_CHECK.
 */
static enum rc
verify_node_chain(struct attest *a, X509 **certs, size_t n, time_t now,
    char *issuer_hex, struct rc_why *why)
{
	X509_STORE_CTX	*ctx = NULL;
	STACK_OF(X509)	*untrusted = NULL, *chain;
	unsigned char	*der = NULL;
	size_t		 i;
	int		 len, err;
	enum rc		 rc = RC_NOMEM;

	ctx = X509_STORE_CTX_new();
	untrusted = sk_X509_new_null();
	if (ctx == NULL || untrusted == NULL)
		goto out;
	for (i = 1; i < n; i++)
		if (sk_X509_push(untrusted, certs[i]) <= 0)
			goto out;
	rc = RC_CRYPTO;
	if (X509_STORE_CTX_init(ctx, a->x509pop, certs[0], untrusted) != 1)
		goto out;
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	X509_VERIFY_PARAM_set_depth(X509_STORE_CTX_get0_param(ctx),
	    ATTEST_CHAIN_MAX);
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "evidence.chain",
		    "RFC 5280 6.1", "x509pop: the chain does not verify "
		    "against the configured CAs: %s",
		    X509_verify_cert_error_string(err));
		goto out;
	}
	chain = X509_STORE_CTX_get0_chain(ctx);
	if (chain == NULL || sk_X509_num(chain) < 2) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "evidence.chain",
		    NULL, "x509pop: the node certificate is itself a "
		    "configured CA");
		goto out;
	}
	if (X509_check_ca(certs[0]) != 0) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "evidence.chain",
		    "RFC 5280 4.2.1.9", "x509pop: the node certificate is a "
		    "CA certificate");
		goto out;
	}
	if ((X509_get_extension_flags(certs[0]) & EXFLAG_KUSAGE) != 0 &&
	    (X509_get_key_usage(certs[0]) & KU_DIGITAL_SIGNATURE) == 0) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "evidence.chain",
		    "RFC 5280 4.2.1.3", "x509pop: the node certificate's key "
		    "usage lacks digitalSignature");
		goto out;
	}

	len = i2d_X509(sk_X509_value(chain, 1), &der);
	if (len <= 0) {
		rc = RC_CRYPTO;
		goto out;
	}
	cert_sha256_hex(der, (size_t)len, issuer_hex);
	rc = RC_OK;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	return rc;
}

/* x509pop:subject:cn:<cn> (the first CN) and x509pop:san:dns:<name>. */
static enum rc
add_name_selectors(X509 *leaf, struct attest_result *r, struct rc_why *why)
{
	GENERAL_NAMES		*sans = NULL;
	const GENERAL_NAME	*gn;
	X509_NAME_ENTRY		*e;
	unsigned char		*utf8 = NULL;
	const unsigned char	*d;
	int			 idx, len, i;
	enum rc			 rc = RC_OK;

	idx = X509_NAME_get_index_by_NID(X509_get_subject_name(leaf),
	    NID_commonName, -1);
	if (idx >= 0) {
		e = X509_NAME_get_entry(X509_get_subject_name(leaf), idx);
		len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
		if (len <= 0 || memchr(utf8, '\0', (size_t)len) != NULL) {
			rc = rc_why_set(why, RC_UNAUTHENTICATED,
			    "evidence.chain", NULL, "x509pop: the subject CN "
			    "is empty, unreadable or holds a NUL byte");
			goto out;
		}
		rc = add_selector(r, "x509pop", why, "subject:cn:%.*s", len,
		    (const char *)utf8);
		if (rc != RC_OK)
			goto out;
	}

	sans = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	for (i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		gn = sk_GENERAL_NAME_value(sans, i);
		if (gn->type != GEN_DNS)
			continue;
		d = ASN1_STRING_get0_data(gn->d.dNSName);
		len = ASN1_STRING_length(gn->d.dNSName);
		if (len <= 0 || memchr(d, '\0', (size_t)len) != NULL) {
			rc = rc_why_set(why, RC_UNAUTHENTICATED,
			    "evidence.chain", NULL, "x509pop: a DNS name of "
			    "the node certificate is empty or holds a NUL");
			goto out;
		}
		rc = add_selector(r, "x509pop", why, "san:dns:%.*s", len,
		    (const char *)d);
		if (rc != RC_OK)
			goto out;
	}
out:
	ERR_clear_error();
	GENERAL_NAMES_free(sans);
	OPENSSL_free(utf8);
	return rc;
}

/*
 * First step of x509pop: verify the chain, work out the agent ID and
 * selectors, and open a session with a fresh challenge.
 */
static enum rc
x509pop_evidence(struct attest *a, const json_t *ev, const unsigned char *csr,
    size_t csr_len, time_t now, struct attest_result *out,
    struct attest_challenge *ch, struct rc_why *why)
{
	static const char *const members[] = { "chain", NULL };
	X509		*certs[ATTEST_CHAIN_MAX] = { NULL };
	EVP_PKEY	*key = NULL;
	unsigned char	*leaf_der = NULL;
	char		 leaf_hex[65], issuer_hex[65], rest[128];
	size_t		 n = 0, leaf_len = 0, i;
	enum rc		 rc;

	rc = check_members(ev, members, why);
	if (rc != RC_OK)
		goto out;
	rc = decode_chain(json_object_get(ev, "chain"), certs, &n, &leaf_der,
	    &leaf_len, why);
	if (rc != RC_OK)
		goto out;
	rc = verify_node_chain(a, certs, n, now, issuer_hex, why);
	if (rc != RC_OK)
		goto out;

	key = X509_get_pubkey(certs[0]);
	if (key == NULL || node_key_md(key) == NULL) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "evidence.chain",
		    NULL, "x509pop: the node key must be EC P-256, EC P-384 "
		    "or RSA of at least %d bits", ATTEST_RSA_MIN);
		goto out;
	}

	/* spiffe://<td>/svidca/agent/x509pop/<SHA-256 of the leaf DER> */
	cert_sha256_hex(leaf_der, leaf_len, leaf_hex);
	(void)snprintf(rest, sizeof(rest), "x509pop/%s", leaf_hex);
	rc = set_agent_id(out, a->td, rest, why);
	if (rc != RC_OK)
		goto out;
	rc = add_name_selectors(certs[0], out, why);
	if (rc != RC_OK)
		goto out;
	rc = add_selector(out, "x509pop", why, "ca:sha256:%s", issuer_hex);
	if (rc != RC_OK)
		goto out;

	out->csr = malloc(csr_len);
	if (out->csr == NULL) {
		rc = rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	memcpy(out->csr, csr, csr_len);
	out->csr_len = csr_len;
	out->type = ATTEST_X509POP;

	rc = session_open(a, key, out, now, ch, why);
	if (rc != RC_OK)
		goto out;
	key = NULL;
	rc = RC_OK;
out:
	EVP_PKEY_free(key);
	free(leaf_der);
	for (i = 0; i < n; i++)
		X509_free(certs[i]);
	return rc;
}

/*
 * Does sig verify under key over ATTEST_X509POP_CONTEXT, 0, nonce?
 * ECDSA DER signatures with the key's digest; RSA-PSS with SHA-256 and
 * any salt length.
 */
static bool
pop_verifies(EVP_PKEY *key, const unsigned char *nonce,
    const unsigned char *sig, size_t sig_len)
{
	unsigned char	 msg[sizeof(ATTEST_X509POP_CONTEXT) +
			    ATTEST_CHALLENGE_LEN];
	EVP_MD_CTX	*md = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	bool		 ok = false;

	/* sizeof counts the context's NUL: that is the zero byte. */
	memcpy(msg, ATTEST_X509POP_CONTEXT, sizeof(ATTEST_X509POP_CONTEXT));
	memcpy(msg + sizeof(ATTEST_X509POP_CONTEXT), nonce,
	    ATTEST_CHALLENGE_LEN);

	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestVerifyInit(md, &pctx, node_key_md(key),
	    NULL, key) != 1)
		goto out;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1))
		goto out;
	ok = EVP_DigestVerify(md, sig, sig_len, msg, sizeof(msg)) == 1;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	return ok;
}

/*
 * Second step of x509pop: take the session (gone whatever follows) and
 * check the signature over its challenge; see attest.h.
 */
enum rc
attest_answer(struct attest *a, const char *session,
    const unsigned char *sig, size_t sig_len, time_t now,
    struct attest_result *out, struct rc_why *why)
{
	struct attest_session	 s;
	enum rc			 rc;

	attest_result_clear(out);
	if (a->x509pop == NULL)
		return rc_why_set(why, RC_BAD_REQUEST, "session", NULL,
		    "x509pop is not enabled on this server");
	rc = session_take(a, session, now, &s, why);
	if (rc != RC_OK)
		return rc;
	if (!pop_verifies(s.key, s.nonce, sig, sig_len)) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "signature", NULL,
		    "x509pop: the signature over the challenge does not "
		    "verify with the node certificate's key");
		goto out;
	}
	*out = s.result;
	memset(&s.result, 0, sizeof(s.result));
	rc = RC_OK;
out:
	session_drop(&s);
	return rc;
}

/* --- jwt: the issuers' keys --- */

/* Parse a JWKS document into its "keys" array (a new reference). */
static enum rc
jwks_parse(const char *text, size_t len, json_t **keys, struct rc_why *why)
{
	json_error_t	 jerr;
	json_t		*doc;
	enum rc		 rc = RC_BAD_REQUEST;

	*keys = NULL;
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		rc = rc_why_set(why, RC_BAD_REQUEST, NULL, NULL,
		    "not JSON: line %d: %s", jerr.line, jerr.text);
		goto out;
	}
	if (!json_is_array(json_object_get(doc, "keys"))) {
		rc = rc_why_set(why, RC_BAD_REQUEST, NULL, "RFC 7517 5",
		    "not a JWK set: no \"keys\" array");
		goto out;
	}
	*keys = json_incref(json_object_get(doc, "keys"));
	rc = RC_OK;
out:
	json_decref(doc);
	return rc;
}

struct fetch_buf {
	char	*data;		/* malloc'd */
	size_t	 len;		/* bytes in data */
	bool	 too_big;	/* over ATTEST_JWKS_MAX */
};

static size_t
on_jwks_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fetch_buf	*b = arg;
	size_t			 n = size * nmemb;
	char			*p;

	if (n > ATTEST_JWKS_MAX - b->len) {
		b->too_big = true;
		return 0;
	}
	p = realloc(b->data, b->len + n + 1);
	if (p == NULL)
		return 0;
	b->data = p;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/*
 * GET the JWKS at c->jwks_url over TLS (verified against jwks_ca_file
 * or the system's roots; no redirects, so the URL stays https).
 */
static enum rc
jwks_fetch(const struct conf_jwt_issuer *c, json_t **keys,
    struct rc_why *why)
{
	struct fetch_buf	 b = { NULL, 0, false };
	CURL			*h;
	CURLcode		 cc;
	long			 status = 0;
	enum rc			 rc = RC_IO;

	(void)pthread_once(&curl_once, on_curl_once);
	h = curl_easy_init();
	if (h == NULL) {
		rc = rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	(void)curl_easy_setopt(h, CURLOPT_URL, c->jwks_url);
	(void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	(void)curl_easy_setopt(h, CURLOPT_TIMEOUT, ATTEST_JWKS_TIMEOUT);
	(void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	(void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	(void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_jwks_data);
	(void)curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (c->jwks_ca_file[0] != '\0')
		(void)curl_easy_setopt(h, CURLOPT_CAINFO, c->jwks_ca_file);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		rc = rc_why_set(why, RC_IO, NULL, NULL, "GET %s: %s",
		    c->jwks_url, b.too_big ? "JWKS over the size limit" :
		    curl_easy_strerror(cc));
		goto out;
	}
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 || b.data == NULL) {
		rc = rc_why_set(why, RC_IO, NULL, NULL, "GET %s: status %ld",
		    c->jwks_url, status);
		goto out;
	}
	rc = jwks_parse(b.data, b.len, keys, why);
	if (rc != RC_OK)
		rc = RC_IO;
out:
	free(b.data);
	if (h != NULL)
		curl_easy_cleanup(h);
	return rc;
}

/* Load an issuer's JWKS from its file or URL; caller holds its lock. */
static enum rc
jwks_load(struct attest_issuer *iss, time_t now, struct rc_why *why)
{
	json_t	*keys = NULL;
	char	*text = NULL;
	size_t	 len = 0;
	enum rc	 rc;

	iss->tried_at = now;
	if (iss->conf.jwks_file[0] != '\0') {
		rc = read_file(iss->conf.jwks_file, ATTEST_JWKS_MAX, &text,
		    &len, why);
		if (rc == RC_OK)
			rc = jwks_parse(text, len, &keys, why);
		free(text);
	} else
		rc = jwks_fetch(&iss->conf, &keys, why);
	if (rc != RC_OK)
		return rc;
	json_decref(iss->keys);
	iss->keys = keys;
	iss->loaded_at = now;
	return RC_OK;
}

/* Reload an issuer's JWKS on the request path: one log line either way. */
static void
jwks_reload(struct attest_issuer *iss, time_t now)
{
	struct rc_why inner;

	rc_why_clear(&inner);
	if (jwks_load(iss, now, &inner) != RC_OK)
		log_warn(ATTEST_MOD, "cannot load jwks issuer=%s reason=\"%s\"",
		    iss->conf.name, inner.detail);
	else
		log_info(ATTEST_MOD, "jwks loaded issuer=%s keys=%zu",
		    iss->conf.name, json_array_size(iss->keys));
}

/* The algorithm a JWK is pinned to (RFC 7518 3.1); NULL if none. */
static const char *
jwk_alg(const json_t *k)
{
	const char *kty, *crv, *use, *alg, *pinned = NULL;

	kty = json_string_value(json_object_get(k, "kty"));
	crv = json_string_value(json_object_get(k, "crv"));
	use = json_string_value(json_object_get(k, "use"));
	alg = json_string_value(json_object_get(k, "alg"));
	if (kty == NULL || (use != NULL && strcmp(use, "sig") != 0))
		return NULL;
	if (strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0)
		pinned = "ES256";
	else if (strcmp(kty, "EC") == 0 && crv != NULL &&
	    strcmp(crv, "P-384") == 0)
		pinned = "ES384";
	else if (strcmp(kty, "RSA") == 0)
		pinned = "RS256";
	if (pinned != NULL && alg != NULL && strcmp(alg, pinned) != 0)
		return NULL;
	return pinned;
}

/* The key for kid among keys (the only one when kid is NULL); borrowed. */
static json_t *
jwks_find(json_t *keys, const char *kid, size_t *n_usable)
{
	json_t		*k, *found = NULL;
	const char	*id;
	size_t		 i;

	*n_usable = 0;
	json_array_foreach(keys, i, k) {
		if (jwk_alg(k) == NULL)
			continue;
		(*n_usable)++;
		id = json_string_value(json_object_get(k, "kid"));
		if (kid == NULL || (id != NULL && strcmp(id, kid) == 0))
			found = k;
	}
	if (kid == NULL && *n_usable != 1)
		return NULL;
	return found;
}

/*
 * A copy of the issuer's key for kid, loading the JWKS when it is
 * missing or older than jwks_refresh, or again when kid is unknown and
 * the last attempt is ATTEST_JWKS_RETRY seconds old (keys rotate).
 *
 * XXX(jwks-lock): a reload runs under the issuer's lock, so a slow
 * jwks_url holds every attestation through that issuer for up to
 * ATTEST_JWKS_TIMEOUT seconds; other issuers and attestors go on.
 * Fix: reload in the background and serve the cached keys meanwhile.
 */
static enum rc
jwks_key(struct attest_issuer *iss, const char *kid, time_t now,
    json_t **out, struct rc_why *why)
{
	json_t		*k;
	size_t		 usable = 0;
	bool		 may_retry;
	enum rc		 rc = RC_UNAVAILABLE;

	*out = NULL;
	pthread_mutex_lock(&iss->lock);
	may_retry = now - iss->tried_at >= ATTEST_JWKS_RETRY;
	if ((iss->keys == NULL || now - iss->loaded_at >=
	    iss->conf.jwks_refresh) && may_retry) {
		jwks_reload(iss, now);
		may_retry = false;
	}
	if (iss->keys == NULL) {
		rc = rc_why_set(why, RC_UNAVAILABLE, NULL, NULL,
		    "jwt: the keys of issuer %s cannot be had now",
		    iss->conf.name);
		goto out;
	}
	k = jwks_find(iss->keys, kid, &usable);
	if (k == NULL && kid != NULL && may_retry) {
		jwks_reload(iss, now);
		k = jwks_find(iss->keys, kid, &usable);
	}
	if (k == NULL) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7515 4.1.4", kid != NULL ? "jwt: no usable key "
		    "with this kid in the keys of issuer %s" : "jwt: the "
		    "token has no kid and issuer %s has more than one key",
		    iss->conf.name);
		goto out;
	}
	*out = json_deep_copy(k);
	if (*out == NULL) {
		rc = rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}
	rc = RC_OK;
out:
	pthread_mutex_unlock(&iss->lock);
	return rc;
}

/* --- jwt: the token --- */

/* A NumericDate claim (RFC 7519 2) as whole seconds. */
static bool
get_time(const json_t *claims, const char *name, long long *out)
{
	const json_t	*v = json_object_get(claims, name);
	double		 d;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (!json_is_real(v))
		return false;
	d = json_real_value(v);
	if (!(d > -9.0e15 && d < 9.0e15))
		return false;
	*out = (long long)d;
	return true;
}

/* Does aud (a string or an array of strings) hold want (RFC 7519 4.1.3)? */
static bool
aud_has(const json_t *aud, const char *want)
{
	const json_t	*v;
	size_t		 i;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), want) ==
		    0)
			return true;
	return false;
}

/*
 * The registered claims, once the signature is good: aud names us, exp
 * is ahead, nbf is behind (with leeway), iat is present, not ahead and
 * at most max_token_age behind.  *until gets the last second the token
 * could be used, how long the replay cache must remember it.
 */
static enum rc
check_claims(const struct attest_issuer *iss, const json_t *claims,
    time_t now, time_t *until, struct rc_why *why)
{
	long long	 exp, nbf, iat;

	if (!aud_has(json_object_get(claims, "aud"), iss->conf.audience))
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7519 4.1.3", "jwt: aud does not name this server "
		    "(\"%s\")", iss->conf.audience);
	if (!get_time(claims, "exp", &exp))
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7519 4.1.4", "jwt: exp is missing");
	if ((long long)now >= exp)
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7519 4.1.4", "jwt: the token expired at %lld", exp);
	if (json_object_get(claims, "nbf") != NULL) {
		if (!get_time(claims, "nbf", &nbf))
			return rc_why_set(why, RC_UNAUTHENTICATED,
			    "evidence.token", "RFC 7519 4.1.5",
			    "jwt: nbf is not a time");
		if (nbf > (long long)now + ATTEST_JWT_LEEWAY)
			return rc_why_set(why, RC_UNAUTHENTICATED,
			    "evidence.token", "RFC 7519 4.1.5",
			    "jwt: the token is not valid before %lld", nbf);
	}
	if (!get_time(claims, "iat", &iat))
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7519 4.1.6", "jwt: iat is missing; it is needed to "
		    "bound the token's age");
	if (iat > (long long)now + ATTEST_JWT_LEEWAY)
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7519 4.1.6", "jwt: the token was issued in the "
		    "future (iat %lld)", iat);
	if ((long long)now - iat > iss->conf.max_token_age)
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7519 4.1.6", "jwt: the token is %lld s old, over "
		    "max_token_age %ld", (long long)now - iat,
		    iss->conf.max_token_age);
	*until = (time_t)(exp < iat + iss->conf.max_token_age + 1 ? exp :
	    iat + iss->conf.max_token_age + 1);
	return RC_OK;
}

/* One value of a selector claim as text; false for objects, null. */
static bool
claim_text(const json_t *v, char *buf, size_t cap, const char **out)
{
	if (json_is_string(v)) {
		*out = json_string_value(v);
		return json_string_length(v) == strlen(*out);
	}
	if (json_is_integer(v))
		(void)snprintf(buf, cap, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else if (json_is_boolean(v))
		(void)snprintf(buf, cap, "%s", json_is_true(v) ? "true" :
		    "false");
	else
		return false;
	*out = buf;
	return true;
}

/* The agent ID and selectors from the verified claims. */
static enum rc
jwt_result(const struct attest *a, const struct attest_issuer *iss,
    const json_t *claims, struct attest_result *out, struct rc_why *why)
{
	const json_t	*v, *e;
	const char	*node, *text, *name;
	char		 rest[SPIFFEID_MAX + 1], num[32], show[128];
	size_t		 i, j;
	int		 n;
	enum rc		 rc;

	v = json_object_get(claims, iss->conf.node_claim);
	node = json_string_value(v);
	if (node == NULL)
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    NULL, "jwt: node claim \"%s\" is missing or not a string",
		    iss->conf.node_claim);
	if (!attest_is_segment(node, json_string_length(v)))
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "ID-12", "jwt: node claim \"%s\" is \"%s\", not one "
		    "SPIFFE ID path segment (A-Z a-z 0-9 . - _, not \".\" or "
		    "\"..\"), so it cannot name the node",
		    iss->conf.node_claim, shown(node, show, sizeof(show)));
	n = snprintf(rest, sizeof(rest), "jwt/%s/%s", iss->conf.name, node);
	if (n < 0 || (size_t)n >= sizeof(rest))
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "ID-14", "jwt: node claim \"%s\" is too long for an "
		    "agent ID", iss->conf.node_claim);
	rc = set_agent_id(out, a->td, rest, why);
	if (rc != RC_OK)
		return rc;

	rc = add_selector(out, "jwt", why, "iss:%s", iss->conf.name);
	for (i = 0; rc == RC_OK && i < iss->conf.n_selector_claims; i++) {
		name = iss->conf.selector_claims[i];
		v = json_object_get(claims, name);
		if (v == NULL)
			continue;
		if (!json_is_array(v)) {
			if (claim_text(v, num, sizeof(num), &text))
				rc = add_selector(out, "jwt", why,
				    "claim:%s:%s", name, text);
			continue;
		}
		json_array_foreach(v, j, e) {
			if (!claim_text(e, num, sizeof(num), &text))
				continue;
			rc = add_selector(out, "jwt", why, "claim:%s:%s",
			    name, text);
			if (rc != RC_OK)
				break;
		}
	}
	return rc;
}

/* The issuer whose "iss" is iss; NULL if none. */
static struct attest_issuer *
find_issuer(struct attest *a, const char *iss)
{
	size_t i;

	for (i = 0; i < a->n_issuers; i++)
		if (strcmp(a->issuers[i].conf.issuer, iss) == 0)
			return &a->issuers[i];
	return NULL;
}

/* The protected header's checks that come before any key is touched. */
static enum rc
check_header(cjose_jws_t *jws, const char **alg, const char **kid,
    struct rc_why *why)
{
	json_t *h = (json_t *)cjose_jws_get_protected(jws);

	*alg = json_string_value(json_object_get(h, "alg"));
	*kid = json_string_value(json_object_get(h, "kid"));
	if (*alg == NULL)
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7515 4.1.1", "jwt: the header has no alg");
	/* RFC 8725 3.1: the "none" algorithm is never acceptable here. */
	if (strcmp(*alg, "none") == 0)
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 8725 3.1", "jwt: alg none is refused");
	/*
	 * RFC 7515 4.1.11: "If any of the listed extension Header
	 * Parameters are not understood and supported by the recipient,
	 * then the JWS is invalid."  We support none.
	 */
	if (json_object_get(h, "crit") != NULL)
		return rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7515 4.1.11", "jwt: crit header parameters are not "
		    "supported");
	return RC_OK;
}

/*
 * Evidence {token}: a JWT of a configured issuer.  The claims are read
 * before verification only to find the issuer by "iss".
 */
static enum rc
jwt_evidence(struct attest *a, const json_t *ev, time_t now,
    struct attest_result *out, struct rc_why *why)
{
	static const char *const members[] = { "token", NULL };
	struct attest_issuer	*iss;
	cjose_jws_t		*jws = NULL;
	cjose_jwk_t		*jwk = NULL;
	cjose_err		 cerr;
	json_t			*claims = NULL, *key = NULL;
	const char		*token, *alg, *kid, *pinned, *iss_s;
	unsigned char		 hash[32];
	uint8_t			*pt = NULL;
	size_t			 len, pt_len = 0;
	time_t			 until = 0;
	char			 show[128];
	enum rc			 rc;

	rc = check_members(ev, members, why);
	if (rc != RC_OK)
		goto out;
	token = json_string_value(json_object_get(ev, "token"));
	len = json_string_length(json_object_get(ev, "token"));
	if (token == NULL || len == 0 || len > ATTEST_JWT_MAX ||
	    strlen(token) != len) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "evidence.token", NULL,
		    "evidence.token: a compact JWS of 1 to %d bytes",
		    ATTEST_JWT_MAX);
		goto out;
	}

	rc = RC_UNAUTHENTICATED;
	jws = cjose_jws_import(token, len, &cerr);
	if (jws == NULL) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7515 7.1", "jwt: not a compact JWS");
		goto out;
	}
	rc = check_header(jws, &alg, &kid, why);
	if (rc != RC_OK)
		goto out;
	if (cjose_jws_get_plaintext(jws, &pt, &pt_len, &cerr))
		claims = json_loadb((const char *)pt, pt_len,
		    JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(claims)) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7519 7.2", "jwt: the claims are not a JSON object");
		goto out;
	}
	iss_s = json_string_value(json_object_get(claims, "iss"));
	iss = iss_s == NULL ? NULL : find_issuer(a, iss_s);
	if (iss == NULL) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7519 4.1.1", "jwt: iss \"%s\" is not a configured "
		    "issuer", iss_s == NULL ? "(none)" : shown(iss_s, show,
		    sizeof(show)));
		goto out;
	}

	/* RFC 8725 3.1: the key decides the algorithm, never the token. */
	rc = jwks_key(iss, kid, now, &key, why);
	if (rc != RC_OK)
		goto out;
	pinned = jwk_alg(key);
	if (pinned == NULL || strcmp(alg, pinned) != 0) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 8725 3.1", "jwt: alg %s does not match the issuer's "
		    "key, which signs with %s only", shown(alg, show,
		    sizeof(show)), pinned == NULL ? "nothing" : pinned);
		goto out;
	}
	jwk = cjose_jwk_import_json((cjose_header_t *)key, &cerr);
	if (jwk == NULL) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7517 4", "jwt: the issuer's key is not usable");
		goto out;
	}
	if (!cjose_jws_verify(jws, jwk, &cerr)) {
		rc = rc_why_set(why, RC_UNAUTHENTICATED, "evidence.token",
		    "RFC 7515 5.2", "jwt: the signature does not verify");
		goto out;
	}

	rc = check_claims(iss, claims, now, &until, why);
	if (rc != RC_OK)
		goto out;
	rc = jwt_result(a, iss, claims, out, why);
	if (rc != RC_OK)
		goto out;

	/* Last, so that a token refused for another reason is not kept. */
	if (EVP_Digest(token, len, hash, NULL, EVP_sha256(), NULL) != 1) {
		rc = RC_CRYPTO;
		goto out;
	}
	rc = seen_add(a, hash, until, now, why);
	if (rc != RC_OK)
		goto out;
	out->type = ATTEST_JWT;
	rc = RC_OK;
out:
	ERR_clear_error();
	if (rc != RC_OK)
		attest_result_clear(out);
	cjose_jwk_release(jwk);
	cjose_jws_release(jws);
	json_decref(key);
	json_decref(claims);
	return rc;
}

/* --- the interface --- */

/* Dispatch evidence to its attestor; outcomes in attest.h. */
enum rc
attest_evidence(struct attest *a, enum attest_type type,
    const json_t *evidence, const unsigned char *csr, size_t csr_len,
    time_t now, struct attest_result *out, struct attest_challenge *ch,
    bool *challenged, struct rc_why *why)
{
	enum rc rc;

	attest_result_clear(out);
	*challenged = false;
	if (!attest_is_enabled(a, type))
		return rc_why_set(why, RC_BAD_REQUEST, "attestation_type",
		    NULL, "attestor %s is not enabled on this server",
		    attest_type_str(type));
	out->type = type;
	switch (type) {
	case ATTEST_JOIN_TOKEN:
		return join_token_evidence(evidence, out, why);
	case ATTEST_X509POP:
		rc = x509pop_evidence(a, evidence, csr, csr_len, now, out, ch,
		    why);
		if (rc == RC_OK)
			*challenged = true;
		attest_result_clear(out);
		return rc;
	case ATTEST_JWT:
		return jwt_evidence(a, evidence, now, out, why);
	}
	return rc_why_set(why, RC_BAD_REQUEST, "attestation_type", NULL,
	    "unknown attestor");
}

/* Is attestor type configured in a? */
bool
attest_is_enabled(const struct attest *a, enum attest_type type)
{
	switch (type) {
	case ATTEST_JOIN_TOKEN:
		return a->join_token;
	case ATTEST_X509POP:
		return a->x509pop != NULL;
	case ATTEST_JWT:
		return a->n_issuers > 0;
	}
	return false;
}

/* Free a with its sessions, caches and keys; NULL is fine. */
void
attest_free(struct attest *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; a->sessions != NULL && i < a->lim.sessions_max; i++)
		if (a->sessions[i].used)
			session_drop(&a->sessions[i]);
	free(a->sessions);
	for (i = 0; i < a->n_issuers; i++) {
		json_decref(a->issuers[i].keys);
		pthread_mutex_destroy(&a->issuers[i].lock);
	}
	free(a->issuers);
	free(a->seen);
	X509_STORE_free(a->x509pop);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* The x509pop trust store from c's CA files. */
static enum rc
new_x509pop(struct attest *a, const struct conf *c, struct rc_why *why)
{
	struct rc_why	 inner;
	size_t		 i;
	enum rc		 rc;

	a->x509pop = X509_STORE_new();
	if (a->x509pop == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	/*
	 * Strict RFC 5280 checks; a configured CA is an anchor even when
	 * it is an intermediate, since the operator named it.
	 */
	(void)X509_STORE_set_flags(a->x509pop, X509_V_FLAG_X509_STRICT |
	    X509_V_FLAG_PARTIAL_CHAIN);
	for (i = 0; i < c->n_x509pop_ca_files; i++) {
		rc_why_clear(&inner);
		rc = load_ca_file(a->x509pop, c->x509pop_ca_files[i], &inner);
		if (rc != RC_OK)
			return rc_why_set(why, rc == RC_IO ? RC_BAD_REQUEST :
			    rc, "node_attestors", NULL,
			    "node_attestors.x509pop.ca_files: %s",
			    inner.detail);
	}
	return RC_OK;
}

/* The jwt issuers of c, with the keys of those that have a file. */
static enum rc
new_issuers(struct attest *a, const struct conf *c, struct rc_why *why)
{
	struct attest_issuer	*iss;
	struct rc_why		 inner;
	size_t			 i;
	enum rc			 rc;

	a->issuers = calloc(c->n_jwt_issuers, sizeof(*a->issuers));
	if (a->issuers == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	for (i = 0; i < c->n_jwt_issuers; i++) {
		iss = &a->issuers[i];
		iss->conf = c->jwt_issuers[i];
		if (pthread_mutex_init(&iss->lock, NULL) != 0)
			return rc_why_set(why, RC_NOMEM, NULL, NULL,
			    "cannot make a lock");
		a->n_issuers = i + 1;
		iss->tried_at = -ATTEST_JWKS_RETRY;
		if (iss->conf.jwks_file[0] == '\0')
			continue;
		rc_why_clear(&inner);
		rc = jwks_load(iss, time(NULL), &inner);
		if (rc != RC_OK)
			return rc_why_set(why, rc == RC_IO ? RC_BAD_REQUEST :
			    rc, "node_attestors", NULL,
			    "node_attestors.jwt.%zu: jwks_file: %s", i + 1,
			    inner.detail);
	}

	/* The replay cache: open addressing, at most half full. */
	a->n_slots = 1;
	while (a->n_slots < 2 * a->lim.replay_max)
		a->n_slots *= 2;
	a->seen = calloc(a->n_slots, sizeof(*a->seen));
	if (a->seen == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	return RC_OK;
}

/*
 * The attestors of c, with the limits lim (NULL: bounds.h); every file
 * is read now.  See attest.h for the outcomes.
 */
enum rc
attest_new(const struct conf *c, const struct attest_limits *lim,
    struct attest **out, struct rc_why *why)
{
	struct attest	*a;
	enum rc		 rc = RC_NOMEM;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
	if (pthread_mutex_init(&a->lock, NULL) != 0) {
		free(a);
		return rc_why_set(why, RC_NOMEM, NULL, NULL,
		    "cannot make a lock");
	}
	(void)snprintf(a->td, sizeof(a->td), "%s", c->trust_domain);
	a->lim.sessions_max = ATTEST_SESSIONS_MAX;
	a->lim.replay_max = ATTEST_REPLAY_MAX;
	a->lim.session_ttl = ATTEST_SESSION_TTL;
	if (lim != NULL)
		a->lim = *lim;
	if (a->lim.sessions_max == 0 || a->lim.replay_max == 0 ||
	    a->lim.session_ttl <= 0) {
		rc = rc_why_set(why, RC_INTERNAL, NULL, NULL,
		    "attest: a limit of 0");
		goto out;
	}
	a->join_token = c->join_token_enabled;

	if (c->n_x509pop_ca_files > 0) {
		rc = new_x509pop(a, c, why);
		if (rc != RC_OK)
			goto out;
		a->sessions = calloc(a->lim.sessions_max,
		    sizeof(*a->sessions));
		if (a->sessions == NULL) {
			rc = rc_why_set(why, RC_NOMEM, NULL, NULL,
			    "out of memory");
			goto out;
		}
	}
	if (c->n_jwt_issuers > 0) {
		rc = new_issuers(a, c, why);
		if (rc != RC_OK)
			goto out;
	}

	*out = a;
	a = NULL;
	rc = RC_OK;
out:
	attest_free(a);
	return rc;
}

/*
 * conf_finish's check: build the attestors with the smallest limits and
 * drop them, so a file fault is found at start.
 */
enum rc
attest_check_conf(const struct conf *c, struct rc_why *why)
{
	static const struct attest_limits tiny = { 1, 1, 1 };
	struct attest	*a = NULL;
	enum rc		 rc;

	rc = attest_new(c, &tiny, &a, why);
	attest_free(a);
	return rc;
}
