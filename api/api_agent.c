/* api/api_agent.c: being written */
#include "api.h"
enum rc api_agent_renew(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_agent_entries(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_agent_x509_svids(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_agent_jwt_svids(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_agent_bundles(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_agents_list(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_agents_count(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_agents_ban(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_agents_evict(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_agents_purge(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }

