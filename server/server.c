/* server/server.c: being written */

int server_placeholder_;
