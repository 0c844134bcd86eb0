/* ca/attest.c: being written */

int attest_placeholder_;
