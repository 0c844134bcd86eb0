/* store/store.c: being written */
#include "store.h"
int store_placeholder_;
