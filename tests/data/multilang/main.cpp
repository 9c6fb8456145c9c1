// One program, many behaviours, chosen by the first word on stdin (compiled once per test run).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

int main() {
    std::string cmd;
    if (!(std::cin >> cmd)) return 2;
    if (cmd == "add") { long long a, b; std::cin >> a >> b; std::cout << a + b << "\n"; return 0; }
    if (cmd == "loop") { volatile unsigned long long x = 0; for (;;) x = x + 1; }
    if (cmd == "crash") throw std::runtime_error("boom");
    if (cmd == "fork") { for (;;) fork(); }
    if (cmd == "net") {
        int port; std::cin >> port;
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) { std::cout << "blocked\n"; return 0; }
        sockaddr_in a{}; a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(0x7f000001);
        if (connect(s, reinterpret_cast<sockaddr *>(&a), sizeof a) < 0) { std::cout << "blocked\n"; return 0; }
        if (write(s, "leak", 4) < 0) return 1;
        std::cout << "connected\n"; return 0;
    }
    if (cmd == "write") {
        std::string path; std::cin >> path;
        std::ofstream f(path);
        if (!f) { std::cout << "blocked\n"; return 0; }
        f << "evil"; std::cout << "written\n"; return 0;
    }
    if (cmd == "mem") { std::vector<std::vector<char>> keep; for (;;) keep.emplace_back(64 << 20, 1); }
    return 2;
}
