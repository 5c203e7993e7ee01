"""An echo server in python-websockets (pinned in tests/requirements.txt).

It answers a client's close frame at once, as websockets does: an echo
still being sent when the close arrives is dropped. Prints its port on the
first line; stops on SIGTERM or when stdin closes.

    echo_server.py [--protocol NAME]...
"""

import argparse
import asyncio
import signal
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass  # the client's close came first: the echo is dropped


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--protocol", action="append", default=None)
    args = parser.parse_args()
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(echo, "127.0.0.1", 0, subprotocols=args.protocol) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
