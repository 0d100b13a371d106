"""Serve moto's DynamoDB and DynamoDB Streams on one loopback port, single-threaded.

moto's server is not thread-safe: concurrent requests can lose writes and
duplicate stream sequence numbers, so requests are served one at a time.
Usage: python3 moto_server.py HOST PORT (PORT 0 picks a free port). Once it
listens, it prints "listening PORT" on standard output.
"""
import sys

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, port, app, threaded=False, processes=1, request_handler=QuietHandler)
    print(f"listening {server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
