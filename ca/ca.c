/*
 * ca.c: authorities in memory, the published view, and the rotation rules.
 * See ca.h for the model; this file never touches the database.
 */
#include "ca.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "../server/log.h"
#include "bundle.h"

struct ca {
	char		 td[SPIFFEID_TD_MAX + 1];	/* trust domain */
	char		 org[128];	/* subject O= of leaves */
	long		 refresh_hint;	/* seconds, for the bundle */
	pthread_mutex_t	 lock;		/* guards view and its refs */
	struct ca_view	*view;		/* current view, one ref held */
	uint64_t	 generation;	/* views published so far */
};

/* A view and its reference count, allocated together. */
struct view_box {
	struct ca_view	 view;		/* what callers see; first member */
	atomic_int	 refs;		/* the CA's own plus callers' */
};

struct ca_auth *
ca_auth_new(struct store_authority *rec, EVP_PKEY *key)
{
	struct ca_auth *a = NULL;
	const unsigned char *p;

	a = calloc(1, sizeof(*a));
	if (a == NULL)
		goto fail;
	a->refs = 1;
	a->rec = *rec;
	a->rec.der = NULL;
	if (EVP_PKEY_up_ref(key) != 1)
		goto fail;
	a->key = key;

	if (rec->kind == STORE_AUTH_X509) {
		p = rec->der;
		a->cert = d2i_X509(NULL, &p, (long)rec->der_len);
		if (a->cert == NULL) {
			log_error("ca", "cannot parse certificate of authority "
			    "%lld", (long long)rec->id);
			goto fail;
		}
		a->x509 = cert_signer_new(a->cert, key);
		if (a->x509 == NULL)
			goto fail;
	} else {
		a->jwt = jwt_signer_new(key, rec->kid);
		if (a->jwt == NULL)
			goto fail;
	}

	/* The record's DER moves in only once nothing can fail. */
	a->rec.der = rec->der;
	rec->der = NULL;
	return a;

fail:
	if (a != NULL) {
		a->rec.der = NULL;
		ca_auth_free(a);
	}
	return NULL;
}

struct ca_auth *
ca_auth_up(struct ca_auth *a)
{
	__atomic_add_fetch(&a->refs, 1, __ATOMIC_RELAXED);
	return a;
}

void
ca_auth_free(struct ca_auth *a)
{
	if (a == NULL)
		return;
	if (__atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	cert_signer_free(a->x509);
	jwt_signer_free(a->jwt);
	X509_free(a->cert);
	EVP_PKEY_free(a->key);
	free(a->rec.der);
	free(a);
}

/* Life of an authority in seconds, at least 1. */
static time_t
life_of(const struct store_authority *a)
{
	time_t life = a->not_after - a->not_before;

	return life > 0 ? life : 1;
}

struct ca_plan_item
ca_plan(enum store_auth_kind kind, const struct store_authority *auths,
    size_t n, time_t now)
{
	struct ca_plan_item item = { CA_STEP_NONE, 0 };
	const struct store_authority *active = NULL, *prepared = NULL;
	time_t life;
	size_t i;

	for (i = 0; i < n; i++) {
		if (auths[i].kind != kind)
			continue;
		if (auths[i].state == STORE_AUTH_ACTIVE)
			active = &auths[i];
		else if (auths[i].state == STORE_AUTH_PREPARED &&
		    prepared == NULL)
			prepared = &auths[i];
	}

	/* An old authority leaves once everything it signed has expired:
	 * nothing it signed outlives its own notAfter. */
	for (i = 0; i < n; i++) {
		if (auths[i].kind == kind &&
		    auths[i].state == STORE_AUTH_OLD &&
		    auths[i].not_after <= now) {
			item.step = CA_STEP_RETIRE;
			item.id = auths[i].id;
			return item;
		}
	}

	if (active == NULL || active->not_after <= now) {
		if (prepared != NULL && prepared->not_after > now) {
			item.step = CA_STEP_ACTIVATE;
			item.id = prepared->id;
		} else if (active != NULL && prepared == NULL) {
			item.step = CA_STEP_PREPARE;
		} else {
			item.step = CA_STEP_CREATE;
		}
		return item;
	}

	life = life_of(active);
	if (prepared == NULL) {
		if (now >= active->not_before + life / 2)
			item.step = CA_STEP_PREPARE;
		return item;
	}

	/*
	 * Activate at 5/6 of the active one's life, once the prepared one
	 * has been published for at least 1/6 of it, so that relying parties
	 * had time to fetch it.  If the active one is about to expire
	 * (server was down), activate regardless.
	 */
	if (now >= active->not_after - life / 12 ||
	    (now >= active->not_before + life * 5 / 6 &&
	    now - prepared->created_at >= life / 6)) {
		item.step = CA_STEP_ACTIVATE;
		item.id = prepared->id;
	}
	return item;
}

struct ca *
ca_new(const char *td, const char *org, long refresh_hint)
{
	struct ca *ca;

	ca = calloc(1, sizeof(*ca));
	if (ca == NULL)
		return NULL;
	(void)snprintf(ca->td, sizeof(ca->td), "%s", td);
	(void)snprintf(ca->org, sizeof(ca->org), "%s", org);
	ca->refresh_hint = refresh_hint;
	if (pthread_mutex_init(&ca->lock, NULL) != 0) {
		free(ca);
		return NULL;
	}
	return ca;
}

static void
view_free(struct ca_view *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n_x509; i++)
		ca_auth_free(v->x509[i]);
	for (i = 0; i < v->n_jwt; i++)
		ca_auth_free(v->jwt[i]);
	X509_STORE_free(v->trust);
	free(v->bundle_json);
	free(v->bundle_pem);
	free(v);
}

void
ca_free(struct ca *ca)
{
	if (ca == NULL)
		return;
	if (ca->view != NULL)
		ca_view_put(ca, ca->view);
	pthread_mutex_destroy(&ca->lock);
	free(ca);
}

/* Build the bundle text and trust store of v from its authorities. */
static enum rc
view_publish(struct ca *ca, struct ca_view *v)
{
	X509 *roots[CA_AUTH_MAX];
	EVP_PKEY *keys[CA_AUTH_MAX];
	const char *kids[CA_AUTH_MAX];
	struct bundle_input in;
	enum rc rc = RC_CRYPTO;
	size_t i;

	memset(&in, 0, sizeof(in));
	v->trust = X509_STORE_new();
	if (v->trust == NULL)
		goto out;
	for (i = 0; i < v->n_x509; i++) {
		roots[i] = v->x509[i]->cert;
		if (X509_STORE_add_cert(v->trust, roots[i]) != 1)
			goto out;
	}
	for (i = 0; i < v->n_jwt; i++) {
		keys[i] = v->jwt[i]->key;
		kids[i] = v->jwt[i]->rec.kid;
	}
	in.roots = roots;
	in.n_roots = v->n_x509;
	in.jwt_keys = keys;
	in.jwt_kids = kids;
	in.n_jwt = v->n_jwt;
	in.sequence = v->sequence;
	in.refresh_hint = ca->refresh_hint;

	v->bundle_json = bundle_to_json(&in);
	v->bundle_pem = bundle_to_pem(&in);
	if (v->bundle_json == NULL || v->bundle_pem == NULL)
		goto out;
	rc = RC_OK;
out:
	return rc;
}

enum rc
ca_install(struct ca *ca, struct ca_auth **auths, size_t n,
    uint64_t sequence)
{
	struct view_box *box = NULL;
	struct ca_view *v, *old;
	enum rc rc = RC_NOMEM;
	size_t i;

	box = calloc(1, sizeof(*box));
	if (box == NULL)
		goto out;
	v = &box->view;
	atomic_init(&box->refs, 1);
	for (i = 0; i < n; i++) {
		struct ca_auth *a = auths[i];

		if (a->rec.kind == STORE_AUTH_X509) {
			if (v->n_x509 == CA_AUTH_MAX)
				continue;
			v->x509[v->n_x509++] = ca_auth_up(a);
			if (a->rec.state == STORE_AUTH_ACTIVE)
				v->x509_active = a;
		} else {
			if (v->n_jwt == CA_AUTH_MAX)
				continue;
			v->jwt[v->n_jwt++] = ca_auth_up(a);
			if (a->rec.state == STORE_AUTH_ACTIVE)
				v->jwt_active = a;
		}
	}
	v->sequence = sequence;
	rc = view_publish(ca, v);
	if (rc != RC_OK)
		goto out;

	pthread_mutex_lock(&ca->lock);
	v->generation = ++ca->generation;
	old = ca->view;
	ca->view = v;
	pthread_mutex_unlock(&ca->lock);
	box = NULL;
	if (old != NULL)
		ca_view_put(ca, old);
	rc = RC_OK;
out:
	if (box != NULL)
		view_free(&box->view);
	return rc;
}

struct ca_view *
ca_view_get(struct ca *ca)
{
	struct ca_view *v;

	pthread_mutex_lock(&ca->lock);
	v = ca->view;
	if (v != NULL)
		atomic_fetch_add(&((struct view_box *)v)->refs, 1);
	pthread_mutex_unlock(&ca->lock);
	return v;
}

void
ca_view_put(struct ca *ca, struct ca_view *v)
{
	(void)ca;
	if (v == NULL)
		return;
	if (atomic_fetch_sub(&((struct view_box *)v)->refs, 1) == 1)
		view_free(v);
}

bool
ca_can_sign(struct ca *ca, time_t now)
{
	struct ca_view *v;
	bool ok;

	v = ca_view_get(ca);
	if (v == NULL)
		return false;
	ok = v->x509_active != NULL && v->jwt_active != NULL &&
	    v->x509_active->rec.not_after > now &&
	    v->jwt_active->rec.not_after > now;
	ca_view_put(ca, v);
	return ok;
}

const char *
ca_get0_td(const struct ca *ca)
{
	return ca->td;
}

const char *
ca_get0_org(const struct ca *ca)
{
	return ca->org;
}
