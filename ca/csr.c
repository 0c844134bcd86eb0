/* ca/csr.c: being written */
#include "csr.h"
int csr_placeholder_;
