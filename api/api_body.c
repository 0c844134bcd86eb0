/*
 * api_body.c: reading a request body as one JSON object, the same way
 * for every handler: declared JSON, duplicate members refused, and only
 * the members a route knows.
 */
#include "api.h"

#include <string.h>
#include <strings.h>

#include <jansson.h>

#define BODY_CT		"application/json"
#define BODY_RULE	"openapi: additionalProperties false"

/*
 * The body must be declared JSON (RFC 9110 8.3); parameters such as
 * charset may follow the media type.
 */
static enum rc
check_content_type(const struct http_req *req, struct rc_why *why)
{
	const char *ct;
	size_t n = strlen(BODY_CT);

	ct = http_header(req, "Content-Type");
	if (ct == NULL || strncasecmp(ct, BODY_CT, n) != 0 ||
	    (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' '))
		return rc_why_set(why, RC_UNSUPPORTED, "Content-Type",
		    "RFC 9110 8.3", "send application/json");
	return RC_OK;
}

/* See api.h. */
enum rc
api_body_object(const struct http_req *req, const char *const *allowed,
    json_t **out, struct rc_why *why)
{
	json_error_t err;
	json_t *o = NULL, *v;
	const char *name;
	size_t i;
	enum rc rc = RC_BAD_REQUEST;

	*out = NULL;
	rc = check_content_type(req, why);
	if (rc != RC_OK)
		goto out;
	rc = RC_BAD_REQUEST;
	if (req->body == NULL || req->body_len == 0) {
		rc_why_set(why, rc, "body", "RFC 8259",
		    "a JSON object is required");
		goto out;
	}
	o = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES,
	    &err);
	if (o == NULL) {
		rc_why_set(why, rc, "body", "RFC 8259",
		    "body is not JSON: %s (line %d, column %d)", err.text,
		    err.line, err.column);
		goto out;
	}
	if (!json_is_object(o)) {
		rc_why_set(why, rc, "body", "RFC 8259",
		    "body must be a JSON object");
		goto out;
	}
	json_object_foreach(o, name, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(name, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			rc_why_set(why, rc, "body", BODY_RULE,
			    "unknown member \"%.64s\"", name);
			goto out;
		}
	}

	*out = o;
	o = NULL;
	rc = RC_OK;
out:
	json_decref(o);
	return rc;
}
