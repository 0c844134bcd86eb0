/* api/api_svids.c: being written */
#include "api.h"
enum rc api_svids_x509(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_svids_jwt(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }

