/* api/api.c: being written */
#include "api.h"
int api_placeholder_;
