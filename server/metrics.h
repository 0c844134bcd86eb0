/*
 * metrics.h: the server's counters and histograms, kept in fixed tables
 * of C11 atomics so that any worker thread can record without a lock,
 * and their rendering in the Prometheus text exposition format 0.0.4
 * for GET /metrics on the health listener.  Gauges that live elsewhere
 * (agents, entries, audit records, authority expiry) are read at scrape
 * time by the caller and handed to metrics_render().
 *
 * Label values are never taken from what a client sent: routes are the
 * patterns of the route table, methods and attestors are mapped onto a
 * fixed set, so a stranger cannot grow the tables or the scrape.
 */
#ifndef SVIDCA_METRICS_H
#define SVIDCA_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define METRICS_REQ_SLOTS	1024	/* (listener, route, method, code) */
#define METRICS_ROUTE_SLOTS	128	/* routes with a latency histogram */
#define METRICS_AUTH_MAX	32	/* authorities shown at one scrape */
#define METRICS_TEXT_MAX	(1024 * 1024)	/* bytes of one scrape */

/* Where a request came in. */
enum metrics_listener {
	METRICS_LISTENER_API = 0,	/* the HTTPS API */
	METRICS_LISTENER_ADMIN,		/* the local admin socket */
	METRICS_LISTENER_COUNT
};

/* What kind of SVID was signed. */
enum metrics_svid_kind {
	METRICS_SVID_X509_WORKLOAD = 0,	/* for an entry, through an agent */
	METRICS_SVID_X509_AGENT,	/* an agent's own, attest or renew */
	METRICS_SVID_X509_ADMIN,	/* minted by an admin */
	METRICS_SVID_JWT,		/* any JWT-SVID */
	METRICS_SVID_COUNT
};

/* One authority's expiry, for svidca_authority_not_after_seconds. */
struct metrics_authority {
	int64_t		 id;		/* the authority's row id */
	const char	*kind;		/* "x509" or "jwt", static */
	const char	*state;		/* "prepared", "active" ..., static */
	time_t		 not_after;	/* seconds since the epoch */
};

/* Values read at scrape time; a has_ flag false leaves a family out. */
struct metrics_gauges {
	bool		 has_agents;
	int64_t		 agents_active;	/* agents not banned */
	int64_t		 agents_banned;
	bool		 has_entries;
	int64_t		 entries;	/* registration entries */
	bool		 has_audit;
	int64_t		 audit_records;	/* records in the audit chain */
	struct metrics_authority auth[METRICS_AUTH_MAX];
	size_t		 n_auth;	/* used rows of auth */
};

/*
 * Record one answered request: route is a pattern of the route table
 * (static, compared by address) or NULL when no route took it; method
 * is mapped onto the usual verbs; seconds is the time from the first
 * byte of the request to the queued reply.  A request whose key finds
 * the table full is counted under route "overflow", method "OTHER",
 * code "0".  Any thread.
 */
void		 metrics_http_record(enum metrics_listener, const char *route,
		    const char *method, int code, double seconds);

/* Count n SVIDs signed.  Any thread. */
void		 metrics_svid_issued(enum metrics_svid_kind, uint64_t n);

/*
 * Count one attestation by attestor name (mapped onto the attestors we
 * know, others count as "other") and outcome.  Any thread.
 */
void		 metrics_attestation(const char *attestor, bool ok);

/* Record the duration of one store write transaction.  Any thread. */
void		 metrics_store_write(double seconds);

/*
 * The whole exposition as malloc'd text (caller frees) with its length
 * in *len, or NULL when memory ran out or the text would pass
 * METRICS_TEXT_MAX.  g may be NULL.  Any thread.
 */
char		*metrics_render(const struct metrics_gauges *g, size_t *len);

/* Seconds on the monotonic clock, for durations. */
double		 metrics_now(void);

#endif
