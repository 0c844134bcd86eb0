/* ca/ca.c: being written */
#include "ca.h"
int ca_placeholder_;
