/* ca/spiffeid.c: being written */
#include "spiffeid.h"
int spiffeid_placeholder_;
