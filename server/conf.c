/* server/conf.c: being written */
#include "conf.h"
int conf_placeholder_;
