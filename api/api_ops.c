/*
 * api_ops.c: operations on the running server (admin, local):
 *   GET /v1/log-level    {"level": "info"}
 *   PUT /v1/log-level    {"level": "debug"}, until the next restart
 */
#include "api.h"

#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "../server/log.h"

#define OPS_MOD		"ops"
#define OPS_CT		"application/json"
#define OPS_RULE_LEVEL	"openapi LogLevel"

/* The level in force as {"level": ...}; RC_NOMEM when it cannot. */
static enum rc
reply_level(struct http_resp *resp)
{
	json_t *o;
	char *text;

	o = json_pack("{s:s}", "level", log_level_str(log_get_level()));
	text = o == NULL ? NULL : json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return RC_NOMEM;
	http_resp_json(resp, 200, text);
	return RC_OK;
}

/*
 * GET /v1/log-level: the level now written.  RC_NOMEM only.
 */
enum rc
api_log_level_get(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	(void)api;
	(void)req;
	(void)why;
	return reply_level(resp);
}

/*
 * PUT /v1/log-level: set the level from {"level": "debug|info|warn|
 * error"} and answer with the level now in force.  RC_UNSUPPORTED for
 * a body not declared JSON, RC_BAD_REQUEST naming "body" or "level"
 * for anything else that is not exactly that object.
 */
enum rc
api_log_level_put(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	enum log_level lvl, old;
	json_error_t err;
	json_t *o = NULL, *v;
	const char *ct, *name;
	size_t n = strlen(OPS_CT);
	enum rc rc = RC_BAD_REQUEST;

	(void)api;
	ct = http_header(req, "Content-Type");
	if (ct == NULL || strncasecmp(ct, OPS_CT, n) != 0 ||
	    (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' ')) {
		rc = rc_why_set(why, RC_UNSUPPORTED, "Content-Type",
		    "RFC 9110 8.3", "send application/json");
		goto out;
	}
	o = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES,
	    &err);
	if (o == NULL || !json_is_object(o)) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "body", "RFC 8259",
		    "body must be a JSON object");
		goto out;
	}
	json_object_foreach(o, name, v) {
		if (strcmp(name, "level") != 0) {
			rc = rc_why_set(why, RC_BAD_REQUEST, "body",
			    OPS_RULE_LEVEL, "unknown member \"%.64s\"", name);
			goto out;
		}
	}
	name = json_string_value(json_object_get(o, "level"));
	if (name == NULL || !log_level_parse(name, &lvl) ||
	    strcmp(name, log_level_str(lvl)) != 0) {
		rc = rc_why_set(why, RC_BAD_REQUEST, "level", OPS_RULE_LEVEL,
		    "level: one of debug, info, warn, error");
		goto out;
	}

	/*
	 * The change is logged at info under the more verbose of the two
	 * levels, so that it shows whichever way the level moves.
	 */
	old = log_get_level();
	if (lvl < old)
		log_set_level(lvl);
	log_info(OPS_MOD, "log level changed actor=%s from=%s to=%s",
	    req->actor, log_level_str(old), log_level_str(lvl));
	log_set_level(lvl);

	rc = reply_level(resp);
	if (rc != RC_OK)
		goto out;
	rc = RC_OK;
out:
	json_decref(o);
	return rc;
}
