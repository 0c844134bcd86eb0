/* ca/jwt.c: being written */
#include "jwt.h"
int jwt_placeholder_;
