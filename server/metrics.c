/*
 * metrics.c: lock-free counters and histograms, rendered as Prometheus
 * text (exposition format 0.0.4).
 *
 * A table row is claimed once with a compare-and-swap on its state
 * (free, being filled, ready) and never released; after that a record
 * is a few atomic additions.  Keys are static strings compared by
 * address, so a row's key never needs a copy.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rc.h"

/* Upper bounds of the latency buckets, seconds; +Inf is implied. */
static const double	bucket_le[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1.0, 2.5, 5.0, 10.0,
};
#define N_BUCKETS	(sizeof(bucket_le) / sizeof(bucket_le[0]))

enum slot_state { SLOT_FREE = 0, SLOT_FILLING, SLOT_READY };

struct histo {
	atomic_uint_fast64_t	 bucket[N_BUCKETS + 1];	/* last: +Inf */
	atomic_uint_fast64_t	 sum_ns;	/* nanoseconds */
};

struct req_slot {
	atomic_int		 state;		/* enum slot_state */
	int			 listener;	/* enum metrics_listener */
	const char		*route;		/* static pattern */
	const char		*method;	/* static verb */
	int			 code;		/* HTTP status */
	atomic_uint_fast64_t	 count;
};

struct route_slot {
	atomic_int		 state;		/* enum slot_state */
	const char		*route;		/* static pattern */
	struct histo		 h;
};

static struct req_slot		 req_slots[METRICS_REQ_SLOTS];
static struct route_slot	 route_slots[METRICS_ROUTE_SLOTS];
static atomic_uint_fast64_t	 svids[METRICS_SVID_COUNT];
static struct histo		 store_writes;
static atomic_uint_fast64_t	 req_overflow[METRICS_LISTENER_COUNT];
static struct histo		 route_overflow_h;	/* routes table full */

static const char *const listener_names[METRICS_LISTENER_COUNT] = {
	"api", "admin",
};
static const char *const svid_names[METRICS_SVID_COUNT] = {
	"x509_workload", "x509_agent", "x509_admin", "jwt",
};
static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
};
static const char *const attestors[] = {
	"join_token", "x509pop", "jwt",
};
#define N_ATTESTORS	(sizeof(attestors) / sizeof(attestors[0]))

/* Attestations by attestor (the last row is "other") and outcome. */
static atomic_uint_fast64_t	 attests[N_ATTESTORS + 1][2];

static const char	 route_none[] = "unmatched";
static const char	 route_overflow[] = "overflow";
static const char	 method_other[] = "OTHER";

/* ------------------------------------------------------------------ */
/* Recording                                                           */

/*
 * Seconds on the monotonic clock.
 */
double
metrics_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0.0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
histo_add(struct histo *h, double seconds)
{
	size_t i;

	if (seconds < 0.0)
		seconds = 0.0;
	for (i = 0; i < N_BUCKETS; i++)
		if (seconds <= bucket_le[i])
			break;
	atomic_fetch_add(&h->bucket[i], 1);
	atomic_fetch_add(&h->sum_ns, (uint_fast64_t)(seconds * 1e9));
}

/* The static verb matching method, or "OTHER". */
static const char *
method_map(const char *method)
{
	size_t i;

	if (method == NULL)
		return method_other;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(method, methods[i]) == 0)
			return methods[i];
	return method_other;
}

/* Wait out a row another thread is filling; true once it is ready. */
static bool
slot_is_ready(atomic_int *state)
{
	int s;

	s = atomic_load(state);
	while (s == SLOT_FILLING)
		s = atomic_load(state);
	return s == SLOT_READY;
}

/*
 * The request row for a key, claimed if new; NULL when the table is
 * full.  Open addressing from a hash of the key's addresses.
 */
static struct req_slot *
req_slot_get(int listener, const char *route, const char *method, int code)
{
	struct req_slot *s;
	uintptr_t hv;
	size_t i, k;
	int expect;

	hv = ((uintptr_t)route >> 3) * 31u + ((uintptr_t)method >> 3) * 7u +
	    (uintptr_t)code * 131u + (uintptr_t)listener;
	for (k = 0; k < METRICS_REQ_SLOTS; k++) {
		i = (size_t)((hv + k) % METRICS_REQ_SLOTS);
		s = &req_slots[i];
		if (atomic_load(&s->state) == SLOT_FREE) {
			expect = SLOT_FREE;
			if (atomic_compare_exchange_strong(&s->state, &expect,
			    SLOT_FILLING)) {
				s->listener = listener;
				s->route = route;
				s->method = method;
				s->code = code;
				atomic_store(&s->state, SLOT_READY);
				return s;
			}
		}
		if (!slot_is_ready(&s->state))
			continue;
		if (s->listener == listener && s->route == route &&
		    s->method == method && s->code == code)
			return s;
	}
	return NULL;
}

/* The histogram row for a route, claimed if new; NULL when full. */
static struct route_slot *
route_slot_get(const char *route)
{
	struct route_slot *s;
	size_t i, k;
	int expect;

	for (k = 0; k < METRICS_ROUTE_SLOTS; k++) {
		i = (size_t)((((uintptr_t)route >> 3) + k) %
		    METRICS_ROUTE_SLOTS);
		s = &route_slots[i];
		if (atomic_load(&s->state) == SLOT_FREE) {
			expect = SLOT_FREE;
			if (atomic_compare_exchange_strong(&s->state, &expect,
			    SLOT_FILLING)) {
				s->route = route;
				atomic_store(&s->state, SLOT_READY);
				return s;
			}
		}
		if (slot_is_ready(&s->state) && s->route == route)
			return s;
	}
	return NULL;
}

/*
 * Record one answered request (see metrics.h).
 */
void
metrics_http_record(enum metrics_listener listener, const char *route,
    const char *method, int code, double seconds)
{
	struct req_slot *rs;
	struct route_slot *hs;
	const char *m;

	if ((unsigned)listener >= METRICS_LISTENER_COUNT)
		return;
	if (route == NULL)
		route = route_none;
	m = method_map(method);
	rs = req_slot_get((int)listener, route, m, code);
	if (rs != NULL)
		atomic_fetch_add(&rs->count, 1);
	else
		atomic_fetch_add(&req_overflow[listener], 1);
	hs = route_slot_get(route);
	histo_add(hs != NULL ? &hs->h : &route_overflow_h, seconds);
}

/*
 * Count n SVIDs signed.
 */
void
metrics_svid_issued(enum metrics_svid_kind kind, uint64_t n)
{
	if ((unsigned)kind >= METRICS_SVID_COUNT)
		return;
	atomic_fetch_add(&svids[kind], n);
}

/*
 * Count one attestation by attestor and outcome.
 */
void
metrics_attestation(const char *attestor, bool ok)
{
	size_t i;

	for (i = 0; i < N_ATTESTORS; i++)
		if (attestor != NULL && strcmp(attestor, attestors[i]) == 0)
			break;
	atomic_fetch_add(&attests[i][ok ? 1 : 0], 1);
}

/*
 * Record one store write transaction's duration.
 */
void
metrics_store_write(double seconds)
{
	histo_add(&store_writes, seconds);
}

/* ------------------------------------------------------------------ */
/* Rendering                                                           */

struct text {
	char	*buf;		/* malloc'd */
	size_t	 len;		/* bytes used, without the NUL */
	size_t	 cap;		/* bytes allocated */
	bool	 failed;	/* out of memory or over METRICS_TEXT_MAX */
};

static void text_add(struct text *, const char *fmt, ...)
    PRINTF_LIKE(2, 3);

/* Append a formatted piece; on failure mark t and drop the rest. */
static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	size_t cap;
	char *p;
	int n;

	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		cap = t->cap * 2;
		if (cap < t->len + (size_t)n + 1)
			cap = t->len + (size_t)n + 1;
		if (cap > METRICS_TEXT_MAX) {
			t->failed = true;
			return;
		}
		p = realloc(t->buf, cap);
		if (p == NULL) {
			t->failed = true;
			return;
		}
		t->buf = p;
		t->cap = cap;
	}
}

static bool
histo_has_samples(const struct histo *h)
{
	size_t i;

	for (i = 0; i <= N_BUCKETS; i++)
		if (atomic_load(&h->bucket[i]) != 0)
			return true;
	return false;
}

/* One histogram's _bucket, _sum and _count lines under name{labels}. */
static void
histo_render(struct text *t, const char *name, const char *labels,
    const struct histo *h)
{
	uint64_t cum = 0;
	size_t i;
	const char *sep = labels[0] == '\0' ? "" : ",";

	for (i = 0; i < N_BUCKETS; i++) {
		cum += atomic_load(&h->bucket[i]);
		text_add(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels,
		    sep, bucket_le[i], (unsigned long long)cum);
	}
	cum += atomic_load(&h->bucket[N_BUCKETS]);
	text_add(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
	    (unsigned long long)cum);
	text_add(t, "%s_sum%s%s%s %.9f\n", name, labels[0] == '\0' ? "" :
	    "{", labels, labels[0] == '\0' ? "" : "}",
	    (double)atomic_load(&h->sum_ns) / 1e9);
	text_add(t, "%s_count%s%s%s %llu\n", name, labels[0] == '\0' ? "" :
	    "{", labels, labels[0] == '\0' ? "" : "}",
	    (unsigned long long)cum);
}

static void
render_http(struct text *t)
{
	char labels[256];
	size_t i;

	text_add(t, "# HELP svidca_http_requests_total HTTP requests "
	    "answered, by listener, route pattern, method and status.\n"
	    "# TYPE svidca_http_requests_total counter\n");
	for (i = 0; i < METRICS_REQ_SLOTS; i++) {
		if (atomic_load(&req_slots[i].state) != SLOT_READY)
			continue;
		text_add(t, "svidca_http_requests_total{listener=\"%s\","
		    "route=\"%s\",method=\"%s\",code=\"%d\"} %llu\n",
		    listener_names[req_slots[i].listener],
		    req_slots[i].route, req_slots[i].method,
		    req_slots[i].code, (unsigned long long)
		    atomic_load(&req_slots[i].count));
	}
	for (i = 0; i < METRICS_LISTENER_COUNT; i++) {
		if (atomic_load(&req_overflow[i]) == 0)
			continue;
		text_add(t, "svidca_http_requests_total{listener=\"%s\","
		    "route=\"%s\",method=\"%s\",code=\"0\"} %llu\n",
		    listener_names[i], route_overflow, method_other,
		    (unsigned long long)atomic_load(&req_overflow[i]));
	}

	text_add(t, "# HELP svidca_http_request_duration_seconds Time from "
	    "a request's arrival to its queued reply, by route pattern.\n"
	    "# TYPE svidca_http_request_duration_seconds histogram\n");
	for (i = 0; i < METRICS_ROUTE_SLOTS; i++) {
		if (atomic_load(&route_slots[i].state) != SLOT_READY)
			continue;
		(void)snprintf(labels, sizeof(labels), "route=\"%s\"",
		    route_slots[i].route);
		histo_render(t, "svidca_http_request_duration_seconds",
		    labels, &route_slots[i].h);
	}
	if (histo_has_samples(&route_overflow_h))
		histo_render(t, "svidca_http_request_duration_seconds",
		    "route=\"overflow\"", &route_overflow_h);
}

static void
render_issuance(struct text *t)
{
	size_t i;

	text_add(t, "# HELP svidca_svids_issued_total SVIDs signed, by "
	    "kind.\n# TYPE svidca_svids_issued_total counter\n");
	for (i = 0; i < METRICS_SVID_COUNT; i++)
		text_add(t, "svidca_svids_issued_total{kind=\"%s\"} %llu\n",
		    svid_names[i], (unsigned long long)atomic_load(&svids[i]));

	text_add(t, "# HELP svidca_attestations_total Node attestations, "
	    "by attestor and outcome.\n"
	    "# TYPE svidca_attestations_total counter\n");
	for (i = 0; i <= N_ATTESTORS; i++) {
		text_add(t, "svidca_attestations_total{attestor=\"%s\","
		    "outcome=\"success\"} %llu\n", i < N_ATTESTORS ?
		    attestors[i] : "other",
		    (unsigned long long)atomic_load(&attests[i][1]));
		text_add(t, "svidca_attestations_total{attestor=\"%s\","
		    "outcome=\"failure\"} %llu\n", i < N_ATTESTORS ?
		    attestors[i] : "other",
		    (unsigned long long)atomic_load(&attests[i][0]));
	}

	text_add(t, "# HELP svidca_store_write_duration_seconds Time of one "
	    "store write transaction, lock wait included.\n"
	    "# TYPE svidca_store_write_duration_seconds histogram\n");
	histo_render(t, "svidca_store_write_duration_seconds", "",
	    &store_writes);
}

static void
render_gauges(struct text *t, const struct metrics_gauges *g)
{
	size_t i;

	if (g->has_agents)
		text_add(t, "# HELP svidca_agents Attested agents, by "
		    "state.\n# TYPE svidca_agents gauge\n"
		    "svidca_agents{state=\"active\"} %lld\n"
		    "svidca_agents{state=\"banned\"} %lld\n",
		    (long long)g->agents_active, (long long)g->agents_banned);
	if (g->has_entries)
		text_add(t, "# HELP svidca_entries Registration entries.\n"
		    "# TYPE svidca_entries gauge\nsvidca_entries %lld\n",
		    (long long)g->entries);
	if (g->has_audit)
		text_add(t, "# HELP svidca_audit_records Records in the "
		    "audit chain.\n# TYPE svidca_audit_records gauge\n"
		    "svidca_audit_records %lld\n",
		    (long long)g->audit_records);
	if (g->n_auth == 0)
		return;
	text_add(t, "# HELP svidca_authority_not_after_seconds Expiry of "
	    "each signing authority, seconds since the epoch.\n"
	    "# TYPE svidca_authority_not_after_seconds gauge\n");
	for (i = 0; i < g->n_auth && i < METRICS_AUTH_MAX; i++)
		text_add(t, "svidca_authority_not_after_seconds{id=\"%lld\","
		    "kind=\"%s\",state=\"%s\"} %lld\n",
		    (long long)g->auth[i].id, g->auth[i].kind,
		    g->auth[i].state, (long long)g->auth[i].not_after);
}

/*
 * Render every family (see metrics.h).
 */
char *
metrics_render(const struct metrics_gauges *g, size_t *len)
{
	struct text t;

	*len = 0;
	memset(&t, 0, sizeof(t));
	t.cap = 16 * 1024;
	t.buf = malloc(t.cap);
	if (t.buf == NULL)
		return NULL;
	t.buf[0] = '\0';

	render_http(&t);
	render_issuance(&t);
	if (g != NULL)
		render_gauges(&t, g);

	if (t.failed) {
		free(t.buf);
		return NULL;
	}
	*len = t.len;
	return t.buf;
}
