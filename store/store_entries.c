/* store/store_entries.c: being written */
#include "store.h"
int store_entries_placeholder_;
