/* One program, many behaviours, chosen by the first word on stdin (compiled once per test run). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
    char cmd[64] = {0};
    if (scanf("%63s", cmd) != 1) return 2;
    if (!strcmp(cmd, "add")) { long a, b; if (scanf("%ld %ld", &a, &b) != 2) return 2; printf("%ld\n", a + b); return 0; }
    if (!strcmp(cmd, "loop")) { volatile unsigned long x = 0; for (;;) x++; }
    if (!strcmp(cmd, "crash")) abort();
    if (!strcmp(cmd, "fork")) { for (;;) fork(); }
    if (!strcmp(cmd, "net")) {
        int port = 0; if (scanf("%d", &port) != 1) return 2;
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) { puts("blocked"); return 0; }
        struct sockaddr_in a; memset(&a, 0, sizeof a);
        a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(0x7f000001);
        if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { puts("blocked"); return 0; }
        if (write(s, "leak", 4) < 0) return 1;
        puts("connected"); return 0;
    }
    if (!strcmp(cmd, "write")) {
        char path[4096]; if (scanf("%4095s", path) != 1) return 2;
        FILE *f = fopen(path, "w");
        if (!f) { puts("blocked"); return 0; }
        fputs("evil", f); fclose(f); puts("written"); return 0;
    }
    if (!strcmp(cmd, "mem")) {
        for (;;) { char *p = malloc(64 << 20); if (!p) { puts("no memory"); return 3; } memset(p, 1, 64 << 20); }
    }
    return 2;
}
