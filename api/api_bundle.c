/*
 * api_bundle.c: GET /v1/bundle, the trust domain's own SPIFFE bundle.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "../server/log.h"

/*
 * Answer the current view's bundle JSON as published by ca/ (a copy, so
 * the view is released before the reply goes out).  RC_UNAVAILABLE
 * before the CA has a bundle, RC_NOMEM.
 */
enum rc
api_bundle_get(struct api *api, struct http_req *req,
    struct http_resp *resp, struct rc_why *why)
{
	struct ca_view *v;
	char *text = NULL;
	enum rc rc = RC_UNAVAILABLE;

	(void)req;
	v = api->ca == NULL ? NULL : ca_view_get(api->ca);
	if (v == NULL || v->bundle_json == NULL) {
		rc_why_set(why, rc, NULL, NULL, "no bundle published yet");
		goto out;
	}
	text = strdup(v->bundle_json);
	if (text == NULL) {
		rc = rc_why_set(why, RC_NOMEM, NULL, NULL, "out of memory");
		goto out;
	}

	http_resp_json(resp, 200, text);
	text = NULL;
	rc = RC_OK;
out:
	if (v != NULL)
		ca_view_put(api->ca, v);
	return rc;
}
