/* api/api_bundle.c: being written */

int api_bundle_placeholder_;
#include "api.h"
