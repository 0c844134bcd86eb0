/* ca/bundle.c: being written */
#include "bundle.h"
int bundle_placeholder_;
