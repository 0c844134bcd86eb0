/*
 * authz.c: the authorized entries of an agent (see authz.h), computed
 * from indexed store lookups and cached per agent.
 *
 * The cache is set-associative: an agent's SPIFFE ID hashes to a bucket
 * of AUTHZ_WAYS slots, and a miss replaces the least recently used slot
 * of that bucket, so memory stays bounded whatever the number of agents.
 * Hashing uses libsodium's keyed short hash with a key drawn at start,
 * so callers cannot aim many IDs at one bucket or one probe chain.
 */
#include "authz.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../server/log.h"

#define AUTHZ_MOD	"authz"
#define AUTHZ_MIN_CAP	16	/* smallest open-addressing table */
#define AUTHZ_NO_LEN	UINT64_MAX	/* digest marker of a NULL string */

struct authz_set {
	atomic_uint		 refs;		/* holders; freed at 0 */
	char			*agent_id;	/* owned */
	uint64_t		 generation;	/* store's, read first */
	time_t			 computed_at;	/* the now it is for */
	time_t			 valid_until;	/* first expiry, 0 none */
	struct store_entry	*entries;	/* owned, n of them */
	size_t			 n;
	size_t			*index;		/* entry index + 1, 0 empty */
	size_t			 index_cap;	/* power of two */
	unsigned char		 key[crypto_shorthash_KEYBYTES];
	unsigned char		 digest[AUTHZ_DIGEST_LEN];
};

/* One slot of the cache. */
struct authz_way {
	struct authz_set	*set;		/* one reference, or NULL */
	uint64_t		 used;		/* tick of last use */
};

struct authz {
	struct store		*store;		/* borrowed */
	char			*server_id;	/* owned */
	pthread_mutex_t		 lock;		/* guards ways and tick */
	struct authz_way	*ways;		/* n_buckets * AUTHZ_WAYS */
	size_t			 n_buckets;	/* power of two */
	uint64_t		 tick;		/* rises with every use */
	unsigned char		 key[crypto_shorthash_KEYBYTES];
};

/* SPIFFE IDs already walked (borrowed strings), open addressing. */
struct seen {
	const char		**v;		/* cap slots, NULL empty */
	size_t			  cap;		/* power of two */
	size_t			  n;		/* strings held */
	const unsigned char	 *key;		/* hash key, borrowed */
};

/* Keyed 64-bit hash of a NUL-terminated string. */
static uint64_t
hash_str(const unsigned char *key, const char *s)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	(void)crypto_shorthash(out, (const unsigned char *)s, strlen(s), key);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* Smallest power of two >= 2 * n and >= AUTHZ_MIN_CAP; 0 on overflow. */
static size_t
table_cap(size_t n)
{
	size_t cap = AUTHZ_MIN_CAP;

	while (cap < 2 * n) {
		if (cap > SIZE_MAX / 2)
			return 0;
		cap *= 2;
	}
	return cap;
}

/* Double the seen table.  RC_NOMEM when that fails. */
static enum rc
grow_seen(struct seen *s)
{
	const char **v;
	size_t cap, i, j;

	cap = s->cap == 0 ? AUTHZ_MIN_CAP : 2 * s->cap;
	v = calloc(cap, sizeof(*v));
	if (v == NULL)
		return RC_NOMEM;
	for (i = 0; i < s->cap; i++) {
		if (s->v[i] == NULL)
			continue;
		j = (size_t)hash_str(s->key, s->v[i]) & (cap - 1);
		while (v[j] != NULL)
			j = (j + 1) & (cap - 1);
		v[j] = s->v[i];
	}
	free(s->v);
	s->v = v;
	s->cap = cap;
	return RC_OK;
}

/*
 * Add id (borrowed: it must outlive s) to s.  *added says whether it
 * was new, which is what keeps a parent cycle from looping.
 */
static enum rc
add_seen(struct seen *s, const char *id, bool *added)
{
	size_t j;

	*added = false;
	if (2 * (s->n + 1) > s->cap && grow_seen(s) != RC_OK)
		return RC_NOMEM;
	j = (size_t)hash_str(s->key, id) & (s->cap - 1);
	while (s->v[j] != NULL) {
		if (strcmp(s->v[j], id) == 0)
			return RC_OK;
		j = (j + 1) & (s->cap - 1);
	}
	s->v[j] = id;
	s->n++;
	*added = true;
	return RC_OK;
}

/* Has an entry with this expiry expired at now? */
static bool
is_expired(time_t expires_at, time_t now)
{
	return expires_at != 0 && expires_at <= now;
}

/* Lower set's valid_until to an expiry still ahead. */
static void
note_expiry(struct authz_set *set, time_t expires_at)
{
	if (expires_at == 0)
		return;
	if (set->valid_until == 0 || expires_at < set->valid_until)
		set->valid_until = expires_at;
}

/*
 * Drop the expired entries among set->entries[from..n), keeping the
 * order of the others, and note the expiries of those kept.  A dropped
 * entry's subtree is never walked, since only kept entries are.
 */
static void
keep_live(struct authz_set *set, size_t from, time_t now)
{
	size_t i, k = from;

	for (i = from; i < set->n; i++) {
		if (is_expired(set->entries[i].expires_at, now)) {
			store_entry_clear(&set->entries[i]);
			continue;
		}
		note_expiry(set, set->entries[i].expires_at);
		if (k != i) {
			set->entries[k] = set->entries[i];
			memset(&set->entries[i], 0, sizeof(set->entries[i]));
		}
		k++;
	}
	set->n = k;
}

/*
 * Append the live children of parent to the set.  RC_TOO_LARGE once
 * the set passes AUTHZ_ENTRIES_MAX.
 */
static enum rc
add_children(struct authz *az, struct authz_set *set, const char *parent,
    time_t now)
{
	size_t from = set->n;
	enum rc rc;

	rc = store_entries_by_parent(az->store, parent, &set->entries,
	    &set->n);
	if (rc != RC_OK)
		return rc;
	keep_live(set, from, now);
	if (set->n > AUTHZ_ENTRIES_MAX) {
		log_warn(AUTHZ_MOD, "authorized entries over the limit, "
		    "agent refused id=%s limit=%d", set->agent_id,
		    AUTHZ_ENTRIES_MAX);
		return RC_TOO_LARGE;
	}
	return RC_OK;
}

/* Feed a length-prefixed string (NULL told apart from "") to st. */
static void
digest_str(crypto_generichash_state *st, const char *s)
{
	uint64_t len = s == NULL ? AUTHZ_NO_LEN : (uint64_t)strlen(s);

	(void)crypto_generichash_update(st, (const unsigned char *)&len,
	    sizeof(len));
	if (s != NULL)
		(void)crypto_generichash_update(st, (const unsigned char *)s,
		    (unsigned long long)len);
}

static void
digest_int(crypto_generichash_state *st, int64_t v)
{
	(void)crypto_generichash_update(st, (const unsigned char *)&v,
	    sizeof(v));
}

/* Feed every field of e to st, each array with its count first. */
static void
digest_entry(crypto_generichash_state *st, const struct store_entry *e)
{
	size_t i;

	digest_str(st, e->id);
	digest_str(st, e->spiffe_id);
	digest_str(st, e->parent_id);
	digest_int(st, (int64_t)e->n_selectors);
	for (i = 0; i < e->n_selectors; i++) {
		digest_str(st, e->selectors[i].type);
		digest_str(st, e->selectors[i].value);
	}
	digest_int(st, e->x509_svid_ttl);
	digest_int(st, e->jwt_svid_ttl);
	digest_int(st, (int64_t)e->n_dns_names);
	for (i = 0; i < e->n_dns_names; i++)
		digest_str(st, e->dns_names[i]);
	digest_int(st, (int64_t)e->n_federates_with);
	for (i = 0; i < e->n_federates_with; i++)
		digest_str(st, e->federates_with[i]);
	digest_int(st, (e->admin ? 1 : 0) | (e->downstream ? 2 : 0) |
	    (e->store_svid ? 4 : 0));
	digest_int(st, (int64_t)e->expires_at);
	digest_str(st, e->hint);
	digest_int(st, e->revision_number);
	digest_int(st, (int64_t)e->created_at);
	digest_str(st, e->created_by);
}

/* The set's digest over its agent and entries (libsodium BLAKE2b). */
static void
digest_set(struct authz_set *set)
{
	crypto_generichash_state st;
	size_t i;

	(void)crypto_generichash_init(&st, NULL, 0, sizeof(set->digest));
	digest_str(&st, set->agent_id);
	digest_int(&st, (int64_t)set->n);
	for (i = 0; i < set->n; i++)
		digest_entry(&st, &set->entries[i]);
	(void)crypto_generichash_final(&st, set->digest, sizeof(set->digest));
}

/* Index the set's entries by ID for authz_set_find(). */
static enum rc
index_set(struct authz_set *set)
{
	size_t i, j, cap;

	cap = table_cap(set->n);
	if (cap == 0)
		return RC_NOMEM;
	set->index = calloc(cap, sizeof(*set->index));
	if (set->index == NULL)
		return RC_NOMEM;
	set->index_cap = cap;
	for (i = 0; i < set->n; i++) {
		j = (size_t)hash_str(set->key, set->entries[i].id) & (cap - 1);
		while (set->index[j] != 0)
			j = (j + 1) & (cap - 1);
		set->index[j] = i + 1;
	}
	return RC_OK;
}

static void
free_set(struct authz_set *set)
{
	if (set == NULL)
		return;
	store_entries_free(set->entries, set->n);
	free(set->index);
	free(set->agent_id);
	free(set);
}

/*
 * Walk the entries agent is authorized for at now, breadth-first from
 * its own ID and the IDs of the aliases it matches, into a new set
 * (one reference).  The server's ID is marked walked before anything
 * else, so alias entries (whose parent it is) are never reached as
 * children and never land in the set.
 */
static enum rc
compute_set(struct authz *az, const struct store_agent *agent, time_t now,
    uint64_t gen, struct authz_set **out)
{
	struct store_entry *aliases = NULL;
	struct authz_set *set;
	struct seen seen;
	size_t n_aliases = 0, i;
	bool added;
	enum rc rc = RC_NOMEM;

	*out = NULL;
	memset(&seen, 0, sizeof(seen));
	seen.key = az->key;
	set = calloc(1, sizeof(*set));
	if (set == NULL)
		return RC_NOMEM;
	atomic_init(&set->refs, 1);
	set->generation = gen;
	set->computed_at = now;
	memcpy(set->key, az->key, sizeof(set->key));
	set->agent_id = strdup(agent->spiffe_id);
	if (set->agent_id == NULL)
		goto out;

	/* The server's own ID is never walked; the agent's is walked now. */
	if (add_seen(&seen, az->server_id, &added) != RC_OK ||
	    add_seen(&seen, set->agent_id, &added) != RC_OK)
		goto out;
	if (!added) {
		rc = RC_DENIED;
		log_warn(AUTHZ_MOD, "agent has the server's own id, refused "
		    "id=%s", set->agent_id);
		goto out;
	}
	rc = add_children(az, set, set->agent_id, now);
	if (rc != RC_OK)
		goto out;

	/*
	 * Node aliases: the store matched each one's selectors against
	 * the agent's.  One without selectors would match every agent, so
	 * it is skipped here whatever the store says.
	 */
	if (agent->n_selectors > 0) {
		rc = store_entries_aliases(az->store, az->server_id,
		    agent->selectors, agent->n_selectors, &aliases,
		    &n_aliases);
		if (rc != RC_OK)
			goto out;
	}
	for (i = 0; i < n_aliases; i++) {
		if (aliases[i].n_selectors == 0 ||
		    is_expired(aliases[i].expires_at, now))
			continue;
		note_expiry(set, aliases[i].expires_at);
		rc = add_seen(&seen, aliases[i].spiffe_id, &added);
		if (rc != RC_OK)
			goto out;
		if (!added)
			continue;
		rc = add_children(az, set, aliases[i].spiffe_id, now);
		if (rc != RC_OK)
			goto out;
	}

	/* Descendants: the set is its own queue; each ID is walked once. */
	for (i = 0; i < set->n; i++) {
		rc = add_seen(&seen, set->entries[i].spiffe_id, &added);
		if (rc != RC_OK)
			goto out;
		if (!added)
			continue;
		rc = add_children(az, set, set->entries[i].spiffe_id, now);
		if (rc != RC_OK)
			goto out;
	}

	rc = index_set(set);
	if (rc != RC_OK)
		goto out;
	digest_set(set);
	*out = set;
	set = NULL;
	rc = RC_OK;
out:
	free(seen.v);
	store_entries_free(aliases, n_aliases);
	free_set(set);
	return rc;
}

/*
 * A cache over store; see authz.h.  The hash key is drawn here, so
 * bucket placement differs from one process to the next.
 */
struct authz *
authz_new(struct store *store, const char *server_id, size_t slots)
{
	struct authz *az;
	size_t n = AUTHZ_WAYS;

	if (sodium_init() < 0)
		return NULL;
	if (slots == 0)
		slots = AUTHZ_SLOTS_DEFAULT;
	while (n < slots && n <= SIZE_MAX / 2)
		n *= 2;
	az = calloc(1, sizeof(*az));
	if (az == NULL)
		return NULL;
	az->store = store;
	az->n_buckets = n / AUTHZ_WAYS;
	az->server_id = strdup(server_id);
	az->ways = calloc(n, sizeof(*az->ways));
	if (az->server_id == NULL || az->ways == NULL ||
	    pthread_mutex_init(&az->lock, NULL) != 0) {
		free(az->ways);
		free(az->server_id);
		free(az);
		return NULL;
	}
	randombytes_buf(az->key, sizeof(az->key));
	return az;
}

/* Free the cache; sets still held elsewhere live on until put. */
void
authz_free(struct authz *az)
{
	size_t i;

	if (az == NULL)
		return;
	for (i = 0; i < az->n_buckets * AUTHZ_WAYS; i++)
		authz_set_put(az->ways[i].set);
	pthread_mutex_destroy(&az->lock);
	free(az->ways);
	free(az->server_id);
	free(az);
}

/*
 * Drop a reference; the last one frees the set.  The release order
 * makes every holder's reads happen before the free.
 */
void
authz_set_put(struct authz_set *set)
{
	if (set == NULL)
		return;
	if (atomic_fetch_sub_explicit(&set->refs, 1,
	    memory_order_acq_rel) == 1)
		free_set(set);
}

/*
 * Is the cached set still the answer at gen and now?  Between the time
 * it was computed for and its first expiry, with no store change; a
 * clock that went back gets a fresh set rather than a later one.
 */
static bool
set_is_current(const struct authz_set *set, uint64_t gen, time_t now)
{
	return set->generation == gen && now >= set->computed_at &&
	    (set->valid_until == 0 || now < set->valid_until);
}

/*
 * The slot for set in bucket: the one of the same agent, else an empty
 * one, else the least recently used.
 */
static struct authz_way *
pick_way(struct authz_way *bucket, const char *agent_id)
{
	struct authz_way *lru = &bucket[0];
	size_t i;

	for (i = 0; i < AUTHZ_WAYS; i++)
		if (bucket[i].set != NULL &&
		    strcmp(bucket[i].set->agent_id, agent_id) == 0)
			return &bucket[i];
	for (i = 0; i < AUTHZ_WAYS; i++)
		if (bucket[i].set == NULL)
			return &bucket[i];
	for (i = 1; i < AUTHZ_WAYS; i++)
		if (bucket[i].used < lru->used)
			lru = &bucket[i];
	return lru;
}

/*
 * Put set into its bucket, the cache taking a reference.  A slot that
 * holds the same agent's set of a later generation is left alone.
 * Called with az->lock held.
 */
static void
cache_store(struct authz *az, struct authz_way *bucket,
    struct authz_set *set)
{
	struct authz_way *w;
	struct authz_set *old;

	w = pick_way(bucket, set->agent_id);
	old = w->set;
	if (old != NULL && strcmp(old->agent_id, set->agent_id) == 0 &&
	    old->generation > set->generation)
		return;
	atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
	w->set = set;
	w->used = ++az->tick;
	authz_set_put(old);
}

/*
 * The agent's set from bucket with a reference taken, when it is still
 * current at gen and now; NULL otherwise.
 */
static struct authz_set *
cache_find(struct authz *az, struct authz_way *bucket,
    const char *agent_id, uint64_t gen, time_t now)
{
	struct authz_set *set, *found = NULL;
	size_t i;

	pthread_mutex_lock(&az->lock);
	for (i = 0; i < AUTHZ_WAYS; i++) {
		set = bucket[i].set;
		if (set == NULL || strcmp(set->agent_id, agent_id) != 0)
			continue;
		if (set_is_current(set, gen, now)) {
			atomic_fetch_add_explicit(&set->refs, 1,
			    memory_order_relaxed);
			bucket[i].used = ++az->tick;
			found = set;
		}
		break;
	}
	pthread_mutex_unlock(&az->lock);
	return found;
}

/*
 * Compute the agent's set afresh and cache it: the agent must be stored
 * and not banned.  *out gets the caller's reference.
 */
static enum rc
load_set(struct authz *az, struct authz_way *bucket, const char *agent_id,
    uint64_t gen, time_t now, struct authz_set **out)
{
	struct store_agent agent;
	struct authz_set *set = NULL;
	enum rc rc = RC_INTERNAL;

	memset(&agent, 0, sizeof(agent));
	rc = store_agent_get(az->store, agent_id, &agent);
	if (rc != RC_OK)
		goto out;
	if (agent.banned) {
		rc = RC_DENIED;
		goto out;
	}
	rc = compute_set(az, &agent, now, gen, &set);
	if (rc != RC_OK)
		goto out;

	pthread_mutex_lock(&az->lock);
	cache_store(az, bucket, set);
	pthread_mutex_unlock(&az->lock);
	*out = set;
	rc = RC_OK;
out:
	store_agent_clear(&agent);
	return rc;
}

/*
 * The agent's set; see authz.h.  The store generation is read before
 * anything is looked up, so a write committed during the walk leaves
 * the set tagged with the older generation and the next call computes
 * it again.
 */
enum rc
authz_get(struct authz *az, const char *agent_id, time_t now,
    struct authz_set **out)
{
	struct authz_way *bucket;
	struct authz_set *set;
	uint64_t gen;
	enum rc rc = RC_INTERNAL;

	*out = NULL;
	gen = store_generation(az->store);
	bucket = az->ways + (size_t)(hash_str(az->key, agent_id) &
	    (az->n_buckets - 1)) * AUTHZ_WAYS;
	set = cache_find(az, bucket, agent_id, gen, now);
	if (set == NULL) {
		rc = load_set(az, bucket, agent_id, gen, now, &set);
		if (rc != RC_OK)
			goto out;
	}
	*out = set;
	rc = RC_OK;
out:
	return rc;
}

/* Look entry_id up in the set's index. */
const struct store_entry *
authz_set_find(const struct authz_set *set, const char *entry_id)
{
	size_t j, k;

	if (set == NULL || set->n == 0 || entry_id == NULL)
		return NULL;
	j = (size_t)hash_str(set->key, entry_id) & (set->index_cap - 1);
	while ((k = set->index[j]) != 0) {
		if (strcmp(set->entries[k - 1].id, entry_id) == 0)
			return &set->entries[k - 1];
		j = (j + 1) & (set->index_cap - 1);
	}
	return NULL;
}

/* The set's entries, borrowed with the set, in walk order. */
const struct store_entry *
authz_set_get0_entries(const struct authz_set *set, size_t *n)
{
	*n = set->n;
	return set->entries;
}

/* The set's content digest, AUTHZ_DIGEST_LEN bytes, borrowed. */
const unsigned char *
authz_set_get0_digest(const struct authz_set *set)
{
	return set->digest;
}

/* Is entry_id in the agent's set?  See authz.h. */
enum rc
authz_entry_allowed(struct authz *az, const char *agent_id,
    const char *entry_id, time_t now, bool *allowed)
{
	struct authz_set *set = NULL;
	enum rc rc = RC_INTERNAL;

	*allowed = false;
	rc = authz_get(az, agent_id, now, &set);
	if (rc != RC_OK)
		goto out;
	*allowed = authz_set_find(set, entry_id) != NULL;
	rc = RC_OK;
out:
	authz_set_put(set);
	return rc;
}
