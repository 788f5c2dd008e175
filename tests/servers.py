"""What the tests need for servers they start in another process, or after their client: a free port.

An app served in a thread of the test process binds port 0 instead and reads the port back
(``binwatch.collector.server.serve_in_thread``), which cannot race with another process.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback port that was free just now, for a server that is started later or elsewhere."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
