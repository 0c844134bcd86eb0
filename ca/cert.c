/* ca/cert.c: being written */
#include "cert.h"
int cert_placeholder_;
