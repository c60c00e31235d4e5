"""The local provider of `make run` (devidp), in a process of its own, for the suite: quiet, and signing with its key
imported once (bench/provider.py explains the 60 ms of CPU per token this saves on a 2-core machine). No fault
switch here: the suite's TCP proxy (faults/proxy.py) injects the faults in front of it.

    python -m faults.provider --port 9401
"""

import argparse

from bench.provider import sign_with_one_imported_key
from devidp.server import make_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app-url", default="http://inigo.test")
    args = parser.parse_args()
    sign_with_one_imported_key()
    server, _provider = make_server(port=args.port, app_url=args.app_url, quiet=True)
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
