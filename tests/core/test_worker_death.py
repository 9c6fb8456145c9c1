"""A GuardedPool worker that dies while idle: the next call runs on a replacement."""

from __future__ import annotations

import os
import signal

from assay.workers import GuardedPool


def test_a_worker_killed_while_idle_is_replaced_before_the_next_call():
    with GuardedPool(size=1) as pool:
        pool.warm()
        (worker,) = pool._all
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.exit_status(wait=5.0) == -signal.SIGKILL
        assert pool.call(pow, 2, 10, timeout=10) == 1024  # not a BrokenPipeError
        assert pool.kills == 1 and worker not in pool._all


def test_a_worker_forked_after_the_server_started_holds_none_of_its_sockets():
    """Else a connection the server closes stays open in the worker, and its client waits."""
    import socket

    from assay.inherited import SERVER_PORTS

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    SERVER_PORTS.add(port)
    try:
        with GuardedPool(size=1) as pool:
            pool.warm()  # forked while the server's sockets are open
            conn.close()  # the server closes the connection: the client must see it
            client.settimeout(10)
            assert client.recv(1) == b""  # EOF, not a hang
            (worker,) = pool._all
            fds = os.listdir(f"/proc/{worker.pid}/fd")
            targets = {os.readlink(f"/proc/{worker.pid}/fd/{fd}") for fd in fds}
            inode = f"socket:[{os.fstat(server.fileno()).st_ino}]"
            assert inode not in targets  # nor the listening socket
    finally:
        SERVER_PORTS.discard(port)
        client.close()
        server.close()
