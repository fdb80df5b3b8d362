# The six-minute session of `make bench` with the live page's server on and pages streaming:
# the firmware's loop (ball.sim's board on a virtual clock) with a web.Server polled as on a
# ball on Wi-Fi, and PAGES sockets in this process reading the stream between samples.
# `make bench` runs it with ever smaller heaps to find the smallest it needs.
# Run: micropython -X heapsize=NK webheap.py TRACE CONFIG PORT PAGES
import json
import socket
import sys

from ball import config


def main(trace, cfg_path, port, pages):
    with open(cfg_path) as f:
        cfg = config.validate(json.load(f))
    from ball import session
    from ball.app import App
    from ball.control import Control
    from ball.sim import SimBoard
    from ball.web import Server

    board = SimBoard(trace, cfg, lambda line: None)
    app = App(board, cfg)
    web = Server(Control(app), "127.0.0.1", port, token=b"0" * 32, page_path="/none")
    app.web = web  # the loop polls it; a failure there closes it (app.py prints why)
    readers = []
    for _ in range(pages):
        c = socket.socket()
        c.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
        c.write(b"GET /live?k=" + b"0" * 32 + b" HTTP/1.1\r\nHost: ball\r\n\r\n")
        c.setblocking(False)
        readers.append(c)
    buf = bytearray(2048)
    got = [0]

    def stop():
        for c in readers:
            n = c.readinto(buf)
            while n:
                got[0] += n
                n = c.readinto(buf)
        return board.trace.ended and app.session.state != session.ACTIVE

    app.run(stop)  # closes the server on the way out
    from ball.wire import STOP_REASONS

    reason = STOP_REASONS[app.session.stop_reason]
    print("stop", reason, "streams", web.streams, "bytes", got[0])


main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
