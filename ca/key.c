/* ca/key.c: being written */
#include "key.h"
int key_placeholder_;
