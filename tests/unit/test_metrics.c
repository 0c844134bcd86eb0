/*
 * test_metrics.c: the counters of server/metrics.c under concurrent
 * recording, the fixed label sets, the table ceiling, and the rendered
 * text (samples compared as exact lines).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/metrics.h"
#include "check.h"

#define THREADS		8
#define PER_THREAD	20000

static const char route_a[] = "/v1/a";
static const char route_b[] = "/v1/b/{id}";

static void *
on_thread(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < PER_THREAD; i++) {
		metrics_http_record(METRICS_LISTENER_API, route_a, "GET", 200,
		    0.003);
		metrics_http_record(METRICS_LISTENER_ADMIN, route_b, "PUT",
		    i % 2 == 0 ? 200 : 404, 0.2);
		metrics_svid_issued(METRICS_SVID_X509_WORKLOAD, 1);
		metrics_attestation("join_token", i % 4 != 0);
	}
	return NULL;
}

/* Does text hold line as one whole line? */
static int
has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	return 0;
}

static void
test_concurrent(void)
{
	pthread_t t[THREADS];
	char *text;
	size_t len, i;
	int started = 0;

	for (i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, on_thread, NULL) == 0)
			started++;
	CHECK(started == THREADS, "threads started");
	for (i = 0; i < (size_t)started; i++)
		(void)pthread_join(t[i], NULL);

	metrics_svid_issued(METRICS_SVID_JWT, 3);
	metrics_svid_issued(METRICS_SVID_COUNT, 1);	/* ignored */
	metrics_attestation("made-up", false);
	metrics_attestation(NULL, true);
	metrics_http_record(METRICS_LISTENER_API, NULL, "BREW", 405, 0.0);
	metrics_store_write(0.0007);
	metrics_store_write(30.0);

	text = metrics_render(NULL, &len);
	CHECK(text != NULL && len == strlen(text), "render");
	if (text == NULL)
		return;
	CHECK(has_line(text, "svidca_http_requests_total{listener=\"api\","
	    "route=\"/v1/a\",method=\"GET\",code=\"200\"} 160000"),
	    "api counter equals the records of every thread");
	CHECK(has_line(text, "svidca_http_requests_total{listener=\"admin\","
	    "route=\"/v1/b/{id}\",method=\"PUT\",code=\"404\"} 80000"),
	    "admin 404 counter");
	CHECK(has_line(text, "svidca_http_requests_total{listener=\"api\","
	    "route=\"unmatched\",method=\"OTHER\",code=\"405\"} 1"),
	    "no route and an odd method map onto fixed labels");
	CHECK(strstr(text, "BREW") == NULL, "client's method not a label");
	CHECK(has_line(text, "svidca_http_request_duration_seconds_bucket{"
	    "route=\"/v1/a\",le=\"0.0025\"} 0"), "bucket below the value");
	CHECK(has_line(text, "svidca_http_request_duration_seconds_bucket{"
	    "route=\"/v1/a\",le=\"0.005\"} 160000"), "bucket of the value");
	CHECK(has_line(text, "svidca_http_request_duration_seconds_bucket{"
	    "route=\"/v1/b/{id}\",le=\"+Inf\"} 160000"), "+Inf bucket");
	CHECK(has_line(text, "svidca_http_request_duration_seconds_count{"
	    "route=\"/v1/b/{id}\"} 160000"), "histogram count");
	CHECK(has_line(text, "svidca_svids_issued_total{kind=\"x509_workload\""
	    "} 160000"), "workload issuance");
	CHECK(has_line(text, "svidca_svids_issued_total{kind=\"jwt\"} 3"),
	    "jwt issuance by n");
	CHECK(has_line(text, "svidca_attestations_total{attestor="
	    "\"join_token\",outcome=\"success\"} 120000"), "successes");
	CHECK(has_line(text, "svidca_attestations_total{attestor="
	    "\"join_token\",outcome=\"failure\"} 40000"), "failures");
	CHECK(has_line(text, "svidca_attestations_total{attestor=\"other\","
	    "outcome=\"failure\"} 1"), "unknown attestor is other");
	CHECK(has_line(text, "svidca_attestations_total{attestor=\"other\","
	    "outcome=\"success\"} 1"), "NULL attestor is other");
	CHECK(has_line(text, "svidca_store_write_duration_seconds_bucket{"
	    "le=\"0.001\"} 1"), "store write bucket");
	CHECK(has_line(text, "svidca_store_write_duration_seconds_bucket{"
	    "le=\"10\"} 1"), "30 s is past the last finite bucket");
	CHECK(has_line(text, "svidca_store_write_duration_seconds_count 2"),
	    "store write count");
	CHECK(strstr(text, "svidca_agents") == NULL, "no gauges without g");
	free(text);
}

static void
test_gauges(void)
{
	struct metrics_gauges g;
	char *text;
	size_t len;

	memset(&g, 0, sizeof(g));
	g.has_agents = true;
	g.agents_active = 7;
	g.agents_banned = 2;
	g.has_audit = true;
	g.audit_records = 41;
	g.auth[0].id = 3;
	g.auth[0].kind = "x509";
	g.auth[0].state = "active";
	g.auth[0].not_after = 1900000000;
	g.n_auth = 1;
	text = metrics_render(&g, &len);
	CHECK(text != NULL, "render with gauges");
	if (text == NULL)
		return;
	CHECK(has_line(text, "svidca_agents{state=\"active\"} 7"), "active");
	CHECK(has_line(text, "svidca_agents{state=\"banned\"} 2"), "banned");
	CHECK(has_line(text, "svidca_audit_records 41"), "audit records");
	CHECK(strstr(text, "svidca_entries") == NULL, "has_entries false");
	CHECK(has_line(text, "svidca_authority_not_after_seconds{id=\"3\","
	    "kind=\"x509\",state=\"active\"} 1900000000"), "authority");
	CHECK(has_line(text, "# TYPE svidca_agents gauge"), "gauge type");
	free(text);
}

/* Past METRICS_REQ_SLOTS distinct keys, counts go to "overflow". */
static void
test_ceiling(void)
{
	char *text;
	size_t len;
	int code;

	for (code = 1000; code < 1000 + METRICS_REQ_SLOTS; code++)
		metrics_http_record(METRICS_LISTENER_API, route_a, "POST",
		    code, 0.0);
	text = metrics_render(NULL, &len);
	CHECK(text != NULL, "render at the ceiling");
	if (text == NULL)
		return;
	CHECK(has_line(text, "svidca_http_requests_total{listener=\"api\","
	    "route=\"overflow\",method=\"OTHER\",code=\"0\"} 4"),
	    "keys past a full table count as overflow");
	CHECK(strstr(text, "code=\"2019\"") != NULL &&
	    strstr(text, "code=\"2020\"") == NULL, "the table holds 1024");
	CHECK(len <= METRICS_TEXT_MAX, "scrape within its ceiling");
	free(text);
}

int
main(void)
{
	test_concurrent();
	test_gauges();
	test_ceiling();
	return check_done();
}
