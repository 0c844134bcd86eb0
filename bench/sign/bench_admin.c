/*
 * bench_admin.c: set-up steps shared by bench/sign and bench/sync (see
 * bench_admin.h).
 */
#include "bench_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/agent_attest.h"
#include "../../agent/agent_client.h"
#include "../../server/cli.h"

/* One request on the socket; the reply's JSON when status is want. */
json_t *
bench_admin_call(const char *sock, const char *method, const char *path,
    json_t *body, long want)
{
	json_t *doc = NULL;
	char *text = NULL, *resp = NULL;
	long status = 0;

	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		if (text == NULL)
			return NULL;
	}
	if (cli_request(sock, method, path, text, &status, &resp) != RC_OK) {
		fprintf(stderr, "bench: %s %s: no answer on %s\n", method,
		    path, sock);
		goto out;
	}
	if (status != want) {
		fprintf(stderr, "bench: %s %s: status %ld: %.300s\n", method,
		    path, status, resp);
		goto out;
	}
	doc = json_loads(resp, 0, NULL);
	if (doc == NULL)
		fprintf(stderr, "bench: %s %s: the reply is not JSON\n",
		    method, path);
out:
	free(text);
	free(resp);
	return doc;
}

/* A join token; see bench_admin.h. */
enum rc
bench_admin_token(const char *sock, char token[BENCH_ADMIN_TOKEN_MAX + 1],
    char agent_id[SPIFFEID_MAX + 1])
{
	json_t *req, *doc;
	const char *t, *id;
	enum rc rc = RC_BAD_REQUEST;

	req = json_pack("{s:i}", "ttl", 3600);
	doc = bench_admin_call(sock, "POST", "/v1/join-tokens", req, 201);
	json_decref(req);
	t = json_string_value(json_object_get(doc, "token"));
	id = json_string_value(json_object_get(doc, "agent_id"));
	if (t == NULL || id == NULL || strlen(t) > BENCH_ADMIN_TOKEN_MAX ||
	    strlen(id) > SPIFFEID_MAX) {
		fprintf(stderr, "bench: no usable join token\n");
		goto out;
	}
	memcpy(token, t, strlen(t) + 1);
	memcpy(agent_id, id, strlen(id) + 1);

	rc = RC_OK;
out:
	json_decref(doc);
	return rc;
}

void
bench_admin_free_ids(char **ids, size_t n)
{
	size_t i;

	if (ids == NULL)
		return;
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* Send one batch [from, to) and take its IDs. */
static enum rc
create_batch(const char *sock, size_t from, size_t to,
    json_t *(*make)(size_t, void *), void *arg, char **ids)
{
	json_t *arr, *req, *doc, *res;
	const char *id;
	json_int_t code;
	size_t i;
	enum rc rc = RC_NOMEM;

	arr = json_array();
	req = json_pack("{s:o}", "entries", arr);
	if (req == NULL)
		return RC_NOMEM;
	for (i = from; i < to; i++)
		if (json_array_append_new(arr, make(i, arg)) != 0)
			goto out;
	rc = RC_BAD_REQUEST;
	doc = bench_admin_call(sock, "POST", "/v1/entries", req, 200);
	res = json_object_get(doc, "results");
	if (json_array_size(res) != to - from) {
		fprintf(stderr, "bench: entry batch answered %zu results for %zu\n",
		    json_array_size(res), to - from);
		json_decref(doc);
		goto out;
	}
	for (i = from; i < to; i++) {
		code = json_integer_value(json_object_get(json_object_get(
		    json_array_get(res, i - from), "status"), "code"));
		id = json_string_value(json_object_get(json_object_get(
		    json_array_get(res, i - from), "entry"), "id"));
		if (code != 200 || id == NULL) {
			fprintf(stderr, "bench: entry %zu refused: %lld\n", i,
			    (long long)code);
			json_decref(doc);
			goto out;
		}
		if (ids != NULL) {
			ids[i] = strdup(id);
			if (ids[i] == NULL) {
				json_decref(doc);
				rc = RC_NOMEM;
				goto out;
			}
		}
	}
	json_decref(doc);

	rc = RC_OK;
out:
	json_decref(req);
	return rc;
}

/* Create n entries in batches; see bench_admin.h. */
enum rc
bench_admin_create(const char *sock, size_t n,
    json_t *(*make)(size_t, void *), void *arg, char ***ids)
{
	char **v = NULL;
	size_t from, to;
	enum rc rc = RC_NOMEM;

	if (ids != NULL) {
		v = calloc(n == 0 ? 1 : n, sizeof(*v));
		if (v == NULL)
			return RC_NOMEM;
	}
	for (from = 0; from < n; from = to) {
		to = from + BENCH_ADMIN_BATCH < n ? from + BENCH_ADMIN_BATCH :
		    n;
		rc = create_batch(sock, from, to, make, arg, v);
		if (rc != RC_OK)
			goto out;
		if (to / 1000000 != from / 1000000 || (to % 100000 == 0 &&
		    n >= 200000))
			fprintf(stderr, "bench: %zu entries created\n", to);
	}
	if (ids != NULL) {
		*ids = v;
		v = NULL;
	}

	rc = RC_OK;
out:
	bench_admin_free_ids(v, n);
	return rc;
}

/* The bundle's roots; see bench_admin.h. */
struct agent_trust *
bench_admin_bundle(const char *sock)
{
	struct agent_trust *t;
	struct rc_why why;
	json_t *doc;

	doc = bench_admin_call(sock, "GET", "/v1/bundle", NULL, 200);
	if (doc == NULL)
		return NULL;
	t = agent_trust_from_json(doc, &why);
	if (t == NULL)
		fprintf(stderr, "bench: bundle unusable: %s\n", why.detail);
	json_decref(doc);
	return t;
}

/* Attest with a join token; see bench_admin.h. */
struct agent_svid *
bench_admin_attest(const char *server, const struct agent_trust *roots,
    const char *token)
{
	struct agent_evidence ev;
	struct agent_attest_result res;
	struct agent_client *cl;
	struct agent_svid *svid = NULL;
	X509_STORE *st;

	st = agent_trust_get1_store(roots);
	if (st == NULL)
		return NULL;
	cl = agent_client_new(server, roots->td, st);
	if (cl == NULL)
		return NULL;
	memset(&ev, 0, sizeof(ev));
	ev.type = AGENT_ATTEST_JOIN_TOKEN;
	ev.join_token = token;
	if (agent_attest(cl, &ev, &res) == RC_OK) {
		svid = res.svid;
		res.svid = NULL;
	} else {
		fprintf(stderr, "bench: attestation failed\n");
	}
	agent_attest_result_clear(&res);
	agent_client_free(cl);
	return svid;
}
