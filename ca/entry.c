/* ca/entry.c: being written */

int entry_placeholder_;
