/* api/api_attest.c: being written */
#include "api.h"
enum rc api_agent_attest(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_join_tokens_create(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }

