/* ca/secret.c: being written */
#include "secret.h"
int secret_placeholder_;
