/* api/authz.c: being written */

int authz_placeholder_;
