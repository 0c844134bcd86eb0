/*
 * test_ca.c: the rotation rules of ca_plan(), walked through a whole life
 * of authorities, and the published view of ca_install().
 */
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "../../ca/ca.h"
#include "../../ca/cert.h"
#include "../../ca/key.h"
#include "check.h"

static struct store_authority
auth(int64_t id, enum store_auth_state st, time_t nb, time_t na,
    time_t created)
{
	struct store_authority a;

	memset(&a, 0, sizeof(a));
	a.id = id;
	a.kind = STORE_AUTH_X509;
	a.state = st;
	a.not_before = nb;
	a.not_after = na;
	a.created_at = created;
	return a;
}

static void
test_plan(void)
{
	struct store_authority a[4];
	struct ca_plan_item it;

	memset(a, 0, sizeof(a));

	/* Nothing stored: create one. */
	it = ca_plan(STORE_AUTH_X509, a, 0, 1000);
	CHECK(it.step == CA_STEP_CREATE, "empty: create");

	/* Active from 0 to 600: nothing before half life. */
	a[0] = auth(1, STORE_AUTH_ACTIVE, 0, 600, 0);
	it = ca_plan(STORE_AUTH_X509, a, 1, 299);
	CHECK(it.step == CA_STEP_NONE, "before 1/2: nothing");
	it = ca_plan(STORE_AUTH_X509, a, 1, 300);
	CHECK(it.step == CA_STEP_PREPARE, "at 1/2: prepare");

	/* Another kind does not count. */
	it = ca_plan(STORE_AUTH_JWT, a, 1, 300);
	CHECK(it.step == CA_STEP_CREATE, "other kind: create its own");

	/* Prepared at 300: not activated before 5/6 (500). */
	a[1] = auth(2, STORE_AUTH_PREPARED, 300, 900, 300);
	it = ca_plan(STORE_AUTH_X509, a, 2, 499);
	CHECK(it.step == CA_STEP_NONE, "prepared, before 5/6: nothing");
	it = ca_plan(STORE_AUTH_X509, a, 2, 500);
	CHECK(it.step == CA_STEP_ACTIVATE && it.id == 2,
	    "at 5/6: activate the prepared one");

	/* Prepared only just now (server was down): wait 1/6 of life... */
	a[1].created_at = 480;
	it = ca_plan(STORE_AUTH_X509, a, 2, 520);
	CHECK(it.step == CA_STEP_NONE, "fresh prepared waits to be seen");
	it = ca_plan(STORE_AUTH_X509, a, 2, 580);
	CHECK(it.step == CA_STEP_ACTIVATE, "fresh prepared: after 1/6");
	/* ...unless the active one is about to expire. */
	a[1].created_at = 560;
	it = ca_plan(STORE_AUTH_X509, a, 2, 551);
	CHECK(it.step == CA_STEP_ACTIVATE, "active near expiry: activate");

	/* After activation: old stays until its notAfter. */
	a[0].state = STORE_AUTH_OLD;
	a[1].state = STORE_AUTH_ACTIVE;
	it = ca_plan(STORE_AUTH_X509, a, 2, 599);
	CHECK(it.step == CA_STEP_NONE, "old kept until it expires");
	it = ca_plan(STORE_AUTH_X509, a, 2, 600);
	CHECK(it.step == CA_STEP_RETIRE && it.id == 1,
	    "old retired once expired");

	/* Active expired with nothing prepared: a new one at once. */
	a[0] = auth(1, STORE_AUTH_ACTIVE, 0, 600, 0);
	it = ca_plan(STORE_AUTH_X509, a, 1, 700);
	CHECK(it.step == CA_STEP_PREPARE, "expired active: prepare next");
	a[1] = auth(2, STORE_AUTH_PREPARED, 700, 1300, 700);
	it = ca_plan(STORE_AUTH_X509, a, 2, 700);
	CHECK(it.step == CA_STEP_ACTIVATE && it.id == 2,
	    "expired active: activate prepared at once");

	/* Only a prepared one (crash between create steps): activate. */
	a[0] = auth(5, STORE_AUTH_PREPARED, 0, 600, 0);
	it = ca_plan(STORE_AUTH_X509, a, 1, 10);
	CHECK(it.step == CA_STEP_ACTIVATE && it.id == 5,
	    "no active, one prepared: activate it");
}

static struct ca_auth *
make_auth(struct ca *ca, int64_t id, enum store_auth_kind kind,
    enum store_auth_state st, time_t now)
{
	struct store_authority rec;
	struct ca_auth *a;
	EVP_PKEY *key;
	X509 *x = NULL;
	unsigned char *der = NULL;
	size_t len = 0;

	memset(&rec, 0, sizeof(rec));
	rec.id = id;
	rec.kind = kind;
	rec.state = st;
	rec.not_before = now;
	rec.not_after = now + 3600;
	key = key_generate(KEY_EC_P256);
	if (key == NULL)
		return NULL;
	if (kind == STORE_AUTH_X509) {
		x = cert_make_root(key, ca_get0_td(ca), "SPIFFE", now,
		    now + 3600);
		if (x == NULL || cert_get1_der(x, &der, &len) != RC_OK)
			return NULL;
	} else {
		jwt_new_kid(rec.kid);
		if (key_get1_spki(key, &der, &len) != RC_OK)
			return NULL;
	}
	rec.der = malloc(len);
	memcpy(rec.der, der, len);
	rec.der_len = len;
	OPENSSL_free(der);
	X509_free(x);
	a = ca_auth_new(&rec, key);
	EVP_PKEY_free(key);
	free(rec.der);
	return a;
}

static void
test_view(void)
{
	struct ca *ca;
	struct ca_auth *auths[3];
	struct ca_view *v1, *v2;
	json_t *b, *keys;
	time_t now = time(NULL);
	size_t i;

	ca = ca_new("example.org", "SPIFFE", 300);
	CHECK(ca != NULL, "ca_new");
	CHECK(ca_view_get(ca) == NULL, "no view before install");
	CHECK(!ca_can_sign(ca, now), "cannot sign before install");

	auths[0] = make_auth(ca, 1, STORE_AUTH_X509, STORE_AUTH_ACTIVE, now);
	auths[1] = make_auth(ca, 2, STORE_AUTH_JWT, STORE_AUTH_ACTIVE, now);
	auths[2] = make_auth(ca, 3, STORE_AUTH_X509, STORE_AUTH_PREPARED,
	    now);
	CHECK(auths[0] != NULL && auths[1] != NULL && auths[2] != NULL,
	    "authorities built");
	CHECK(ca_install(ca, auths, 2, 1) == RC_OK, "install 2");
	v1 = ca_view_get(ca);
	CHECK(v1 != NULL && v1->n_x509 == 1 && v1->n_jwt == 1,
	    "view has one of each");
	CHECK(v1->x509_active == auths[0] && v1->jwt_active == auths[1],
	    "actives picked by state");
	CHECK(ca_can_sign(ca, now), "can sign");
	CHECK(!ca_can_sign(ca, now + 7200), "cannot sign once expired");

	CHECK(ca_install(ca, auths, 3, 2) == RC_OK, "install 3");
	v2 = ca_view_get(ca);
	CHECK(v2->generation == v1->generation + 1, "generation rises");
	CHECK(v2->n_x509 == 2 && v2->x509_active == auths[0],
	    "prepared in view but not active");
	b = json_loads(v2->bundle_json, 0, NULL);
	keys = json_object_get(b, "keys");
	CHECK(json_array_size(keys) == 3, "bundle has prepared root too");
	CHECK(json_integer_value(json_object_get(b, "spiffe_sequence")) == 2,
	    "sequence published");
	CHECK(json_integer_value(json_object_get(b,
	    "spiffe_refresh_hint")) == 300, "refresh hint published");
	json_decref(b);
	/* The old view stays valid while held. */
	CHECK(v1->n_x509 == 1 && v1->x509_active->cert != NULL,
	    "old view intact while referenced");
	ca_view_put(ca, v1);
	ca_view_put(ca, v2);
	for (i = 0; i < 3; i++)
		ca_auth_free(auths[i]);
	ca_free(ca);
}

int
main(void)
{
	test_plan();
	test_view();
	return check_done();
}
