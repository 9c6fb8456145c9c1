"""What a worker process forked from a server must not keep: the server's sockets.

A forked child inherits every open file descriptor. A worker forked while ``assay serve`` runs
would hold copies of the listening socket and of every client connection, so a connection the
server closes would stay open (its client waits for an answer that never comes) and the port
would stay bound after the server stops. `assay.workers` closes them in each new worker.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["SERVER_PORTS", "close_server_sockets"]

#: Local TCP ports of servers in this process (``assay serve`` adds its own). A worker forked
#: later closes its inherited copies of sockets on these ports, so that a connection the server
#: closes is really closed (a copy held by a worker would leave the client waiting) and a
#: stopped server's port is free.
SERVER_PORTS: set[int] = set()


def close_server_sockets(ports: set[int]) -> None:
    """In a freshly forked worker: close inherited TCP sockets whose local port is a server's."""
    import socket
    import stat

    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: nothing to do
        return
    for fd in fds:
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.socket(fileno=fd)
        except OSError:
            continue
        try:
            mine = sock.family in (socket.AF_INET, socket.AF_INET6) and (
                sock.getsockname()[1] in ports
            )
        except OSError:
            mine = False
        sock.detach()
        if mine:
            with contextlib.suppress(OSError):
                os.close(fd)
