/* api/http.c: being written */
#include "http.h"
int http_placeholder_;
