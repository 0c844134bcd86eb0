/* store/store_agents.c: being written */
#include "store.h"
int store_agents_placeholder_;
