/*
 * test_authz.c: the authorized entries of an agent, against a real
 * scratch store under /tmp.  The tree of entries below is built once;
 * each check names which rule of DESIGN.md ("Authorization: default
 * deny") it exercises.
 *
 *   agent A (selectors join_token:id:a, k:v1)      agent B (id:b)
 *     e1           parent A
 *     alias-a      parent server, selector k:v1    (matches A)
 *       e2         parent node/a
 *     alias-x      parent server, k:v1 + k:v2      (does not match A)
 *       e3         parent node/x
 *     c1 > c2 > c3 a chain under A
 *     y1 > y2 > y3 a cycle: y3's SPIFFE ID is y1's
 *     x1 (expired) > x2
 *     f1           parent A, expires in an hour
 *     b1           parent B
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../../api/authz.h"
#include "../../server/log.h"
#include "../../store/store.h"
#include "check.h"

#define TD		"spiffe://example.org"
#define SERVER_ID	TD "/svidca/server"
#define AGENT_A		TD "/svidca/agent/join_token/a"
#define AGENT_B		TD "/svidca/agent/join_token/b"
#define AGENT_C		TD "/svidca/agent/join_token/c"
#define READERS		4
#define READS_EACH	2000

static char dir[] = "/tmp/svidca-authz-XXXXXX";
static struct store *st;
static time_t now;

/* What one store_write creates. */
struct mk {
	struct store_entry	*e;
	struct store_agent	*a;
	const char		*ban;
	const char		*del;
};

static enum rc
on_make(struct store_tx *tx, void *arg)
{
	struct mk *m = arg;
	struct rc_why why;

	if (m->e != NULL)
		return store_entry_create(tx, m->e, &why);
	if (m->a != NULL)
		return store_agent_put(tx, m->a);
	if (m->ban != NULL)
		return store_agent_ban(tx, m->ban);
	return store_entry_delete(tx, m->del);
}

/* Store an entry; sel is "type:value" or NULL for none. */
static int
add_entry(const char *id, const char *spiffe_id, const char *parent,
    const char *sel1, const char *sel2, time_t expires_at)
{
	struct store_selector sel[2];
	struct store_entry e;
	struct mk m = { &e, NULL, NULL, NULL };
	const char *s[2] = { sel1, sel2 };
	char type[2][32], value[2][64];
	const char *colon;
	size_t i, n = 0;
	enum rc rc;

	memset(&e, 0, sizeof(e));
	(void)snprintf(e.id, sizeof(e.id), "%s", id);
	e.spiffe_id = (char *)spiffe_id;
	e.parent_id = (char *)parent;
	for (i = 0; i < 2; i++) {
		if (s[i] == NULL)
			continue;
		colon = strchr(s[i], ':');
		(void)snprintf(type[n], sizeof(type[n]), "%.*s",
		    (int)(colon - s[i]), s[i]);
		(void)snprintf(value[n], sizeof(value[n]), "%s", colon + 1);
		sel[n].type = type[n];
		sel[n].value = value[n];
		n++;
	}
	e.selectors = sel;
	e.n_selectors = n;
	e.expires_at = expires_at;
	rc = store_write(st, on_make, &m);
	return rc == RC_OK;
}

/* Store an agent with one or two node selectors ("type:value"). */
static int
add_agent(const char *spiffe_id, const char *t1, const char *v1,
    const char *t2, const char *v2)
{
	struct store_selector sel[2] = {
		{ (char *)t1, (char *)v1 }, { (char *)t2, (char *)v2 },
	};
	struct store_agent a;
	struct mk m = { NULL, &a, NULL, NULL };

	memset(&a, 0, sizeof(a));
	a.spiffe_id = (char *)spiffe_id;
	(void)snprintf(a.attestation_type, sizeof(a.attestation_type),
	    "join_token");
	a.selectors = sel;
	a.n_selectors = t2 == NULL ? 1 : 2;
	(void)snprintf(a.serial, sizeof(a.serial), "0a0b0c");
	a.expires_at = now + 3600;
	return store_write(st, on_make, &m) == RC_OK;
}

/* Is entry id in set? */
static bool
has(const struct authz_set *set, const char *id)
{
	return authz_set_find(set, id) != NULL;
}

static void
check_tree(struct authz *az)
{
	static const char *const want[] = {
		"e1", "e2", "c1", "c2", "c3", "y1", "y2", "y3", "f1", NULL,
	};
	static const char *const never[] = {
		"alias-a", "alias-x", "e3", "x1", "x2", "b1", NULL,
	};
	const struct store_entry *v;
	struct authz_set *set = NULL, *again = NULL;
	size_t n = 0, i, seen_y1 = 0;
	bool ok, allowed = true;
	char what[96];

	CHECK(authz_get(az, AGENT_A, now, &set) == RC_OK,
	    "agent A's set is computed");
	if (set == NULL)
		return;
	for (i = 0; want[i] != NULL; i++) {
		(void)snprintf(what, sizeof(what), "A is authorized for %s",
		    want[i]);
		CHECK(has(set, want[i]), what);
	}
	for (i = 0; never[i] != NULL; i++) {
		(void)snprintf(what, sizeof(what), "A is not authorized for "
		    "%s", never[i]);
		CHECK(!has(set, never[i]), what);
	}
	v = authz_set_get0_entries(set, &n);
	CHECK(n == 9, "A's set has exactly the nine entries");
	for (i = 0; i < n; i++)
		if (strcmp(v[i].spiffe_id, TD "/y1") == 0)
			seen_y1++;
	CHECK(seen_y1 == 2, "the cycle yields y1 and y3 once each");
	ok = n > 0 && strcmp(v[0].parent_id, AGENT_A) == 0;
	CHECK(ok, "breadth-first: a direct child comes first");
	CHECK(authz_set_find(set, "nope") == NULL,
	    "an unknown ID is not in the set");

	CHECK(authz_get(az, AGENT_A, now, &again) == RC_OK && again == set,
	    "an unchanged store serves the cached set");
	authz_set_put(again);
	authz_set_put(set);

	set = NULL;
	CHECK(authz_get(az, AGENT_B, now, &set) == RC_OK && set != NULL &&
	    authz_set_get0_entries(set, &n) != NULL && n == 1 &&
	    has(set, "b1"), "B is authorized for b1 alone");
	authz_set_put(set);

	CHECK(authz_entry_allowed(az, AGENT_B, "e1", now, &allowed) ==
	    RC_OK && !allowed, "B may not have A's e1");
	CHECK(authz_entry_allowed(az, AGENT_A, "c3", now, &allowed) ==
	    RC_OK && allowed, "A may have c3 at the end of the chain");
}

/*
 * An alias without selectors would match every agent.  The store keeps
 * such an entry if asked (the rules are ca/entry.c's); neither its alias
 * lookup nor authz's own guard may let it authorize anybody.
 */
static void
check_empty_alias(struct authz *az)
{
	struct authz_set *set = NULL;

	CHECK(add_entry("alias-any", TD "/node/any", SERVER_ID, NULL, NULL,
	    0) && add_entry("e-any", TD "/w-any", TD "/node/any",
	    "unix:uid:1", NULL, 0), "an alias without selectors is stored");
	CHECK(authz_get(az, AGENT_A, now, &set) == RC_OK && set != NULL &&
	    !has(set, "e-any") && !has(set, "alias-any") && has(set, "e2"),
	    "an alias without selectors authorizes nobody");
	authz_set_put(set);
}

/* An entry passing its expiry drops out without any store change. */
static void
check_expiry(struct authz *az)
{
	struct authz_set *set = NULL;

	CHECK(authz_get(az, AGENT_A, now + 7200, &set) == RC_OK &&
	    !has(set, "f1") && has(set, "e1"),
	    "f1 drops out once its expiry passed, with no write");
	authz_set_put(set);
}

/* A write invalidates; the digest tracks only the agent's own set. */
static void
check_invalidation(struct authz *az)
{
	unsigned char d1[AUTHZ_DIGEST_LEN], d2[AUTHZ_DIGEST_LEN];
	struct authz_set *old = NULL, *set = NULL;

	CHECK(authz_get(az, AGENT_A, now, &old) == RC_OK, "set before write");
	if (old == NULL)
		return;
	memcpy(d1, authz_set_get0_digest(old), sizeof(d1));

	CHECK(add_entry("b2", TD "/b2", AGENT_B, "unix:uid:2", NULL, 0),
	    "an entry under B is stored");
	CHECK(authz_get(az, AGENT_A, now, &set) == RC_OK && set != old,
	    "a write makes A's set computed again");
	if (set == NULL) {
		authz_set_put(old);
		return;
	}
	memcpy(d2, authz_set_get0_digest(set), sizeof(d2));
	CHECK(memcmp(d1, d2, sizeof(d1)) == 0,
	    "B's change leaves A's digest as it was");
	authz_set_put(set);
	set = NULL;

	CHECK(add_entry("e4", TD "/w4", AGENT_A, "unix:uid:4", NULL, 0),
	    "an entry under A is stored");
	CHECK(authz_get(az, AGENT_A, now, &set) == RC_OK && has(set, "e4"),
	    "the new entry is in A's set at once");
	CHECK(set != NULL && memcmp(d1, authz_set_get0_digest(set),
	    sizeof(d1)) != 0, "and A's digest changed");
	CHECK(!has(old, "e4"), "a set held across the write is unchanged");
	authz_set_put(set);
	authz_set_put(old);
}

/* Unknown and banned agents get no set. */
static void
check_refusals(struct authz *az)
{
	struct authz_set *set = NULL;
	struct mk m = { NULL, NULL, AGENT_B, NULL };
	bool allowed = true;

	CHECK(authz_get(az, TD "/svidca/agent/join_token/none", now, &set) ==
	    RC_NOT_FOUND && set == NULL, "an unknown agent is RC_NOT_FOUND");
	CHECK(store_write(st, on_make, &m) == RC_OK, "B is banned");
	CHECK(authz_get(az, AGENT_B, now, &set) == RC_DENIED && set == NULL,
	    "a banned agent is RC_DENIED");
	CHECK(authz_entry_allowed(az, AGENT_B, "b1", now, &allowed) ==
	    RC_DENIED && !allowed, "and may have none of its entries");
}

/* A cache of one bucket evicts the least recently used agent. */
static void
check_bounded(void)
{
	struct authz *az;
	struct authz_set *first = NULL, *set = NULL, *back = NULL;
	char id[128];
	int i;
	bool ok = true;

	az = authz_new(st, SERVER_ID, AUTHZ_WAYS);
	CHECK(az != NULL, "a cache of AUTHZ_WAYS slots");
	if (az == NULL)
		return;
	CHECK(authz_get(az, AGENT_A, now, &first) == RC_OK, "A cached");
	for (i = 0; i < AUTHZ_WAYS; i++) {
		(void)snprintf(id, sizeof(id), TD "/svidca/agent/n/%d", i);
		ok = ok && add_agent(id, "n", "x", NULL, NULL);
	}
	CHECK(ok, "more agents than slots are stored");
	CHECK(authz_get(az, AGENT_A, now, &back) == RC_OK && back != first,
	    "writes invalidate: A is computed again");
	for (i = 0; i < AUTHZ_WAYS && ok; i++) {
		(void)snprintf(id, sizeof(id), TD "/svidca/agent/n/%d", i);
		ok = authz_get(az, id, now, &set) == RC_OK;
		authz_set_put(set);
		set = NULL;
	}
	CHECK(ok, "every other agent gets its set");
	CHECK(authz_get(az, AGENT_A, now, &set) == RC_OK && set != back,
	    "with no write, A was evicted by the others and computed again");
	authz_set_put(set);
	authz_set_put(back);
	authz_set_put(first);
	authz_free(az);
}

/* Readers while a writer adds entries: every answer stays whole. */
static atomic_int reader_faults;

static void *
on_reader(void *arg)
{
	struct authz *az = arg;
	struct authz_set *set;
	int i;

	for (i = 0; i < READS_EACH; i++) {
		set = NULL;
		if (authz_get(az, AGENT_A, now, &set) != RC_OK ||
		    !has(set, "c3"))
			atomic_fetch_add(&reader_faults, 1);
		authz_set_put(set);
	}
	return NULL;
}

static void
check_threads(struct authz *az)
{
	pthread_t t[READERS];
	char id[32], sid[64];
	int i, made = 0;

	for (i = 0; i < READERS; i++)
		(void)pthread_create(&t[i], NULL, on_reader, az);
	for (i = 0; i < 50; i++) {
		(void)snprintf(id, sizeof(id), "t%d", i);
		(void)snprintf(sid, sizeof(sid), TD "/t%d", i);
		made += add_entry(id, sid, AGENT_C, "unix:uid:9", NULL, 0);
	}
	for (i = 0; i < READERS; i++)
		(void)pthread_join(t[i], NULL);
	CHECK(made == 50, "the writer stored its entries");
	CHECK(atomic_load(&reader_faults) == 0,
	    "concurrent readers always got a whole set");
}

int
main(void)
{
	struct authz *az = NULL;
	struct rc_why why;
	char path[128];
	bool ok;

	log_set_level(LOG_LVL_ERROR);
	if (sodium_init() < 0 || mkdtemp(dir) == NULL) {
		printf("Bail out! cannot set up\n");
		return 1;
	}
	now = time(NULL);
	(void)snprintf(path, sizeof(path), "%s/svidca.db", dir);
	CHECK(store_open(path, &st, &why) == RC_OK, "scratch store opens");
	if (st == NULL)
		return check_done();
	CHECK(store_check_td(st, "example.org", &why) == RC_OK, "td bound");

	ok = add_agent(AGENT_A, "join_token", "id:a", "k", "v1") &&
	    add_agent(AGENT_B, "join_token", "id:b", NULL, NULL) &&
	    add_agent(AGENT_C, "join_token", "id:c", NULL, NULL);
	CHECK(ok, "agents A, B and C are stored");
	ok = add_entry("e1", TD "/w1", AGENT_A, "unix:uid:1", NULL, 0) &&
	    add_entry("alias-a", TD "/node/a", SERVER_ID, "k:v1", NULL, 0) &&
	    add_entry("e2", TD "/w2", TD "/node/a", "unix:uid:1", NULL, 0) &&
	    add_entry("alias-x", TD "/node/x", SERVER_ID, "k:v1", "k:v2",
	    0) &&
	    add_entry("e3", TD "/w3", TD "/node/x", "unix:uid:1", NULL, 0) &&
	    add_entry("c1", TD "/c1", AGENT_A, "unix:uid:1", NULL, 0) &&
	    add_entry("c2", TD "/c2", TD "/c1", "unix:uid:1", NULL, 0) &&
	    add_entry("c3", TD "/c3", TD "/c2", "unix:uid:1", NULL, 0) &&
	    add_entry("y1", TD "/y1", AGENT_A, "unix:uid:1", NULL, 0) &&
	    add_entry("y2", TD "/y2", TD "/y1", "unix:uid:1", NULL, 0) &&
	    add_entry("y3", TD "/y1", TD "/y2", "unix:uid:3", NULL, 0) &&
	    add_entry("x1", TD "/x1", AGENT_A, "unix:uid:1", NULL,
	    now - 10) &&
	    add_entry("x2", TD "/x2", TD "/x1", "unix:uid:1", NULL, 0) &&
	    add_entry("f1", TD "/f1", AGENT_A, "unix:uid:1", NULL,
	    now + 3600) &&
	    add_entry("b1", TD "/b1", AGENT_B, "unix:uid:1", NULL, 0);
	CHECK(ok, "the entry tree is stored");

	az = authz_new(st, SERVER_ID, 0);
	CHECK(az != NULL, "a cache");
	if (az != NULL) {
		check_tree(az);
		check_expiry(az);
		check_invalidation(az);
		check_empty_alias(az);
		check_threads(az);
		check_refusals(az);
		check_bounded();
	}

	authz_free(az);
	store_close(st);
	(void)snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		printf("# could not remove %s\n", dir);
	return check_done();
}
