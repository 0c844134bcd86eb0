/* api/routes.c: being written */

int routes_placeholder_;
