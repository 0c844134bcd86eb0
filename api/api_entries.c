/* api/api_entries.c: being written */
#include "api.h"
enum rc api_entries_list(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_entries_create(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_entries_count(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_entries_batch_delete(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_entry_get(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_entry_put(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_entry_patch(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }
enum rc api_entry_delete(struct api *a, struct http_req *q, struct http_resp *r, struct rc_why *w) { return api_not_implemented(a, q, r, w); }

