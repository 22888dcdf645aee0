"""A latency producer: enqueue jobs one call each on a fixed schedule (open loop).

Job ``seq`` is due at ``start_at + seq / rate``; this producer sends the jobs ``first``,
``first + step``, … so that several producers share one schedule. Each call starts when it is
due, whether or not the earlier ones have returned (up to IN_FLIGHT at a time; synchronous
clients' calls run in threads), as calls from many callers would. It prints, as one JSON object,
the time each enqueue call returned, by sequence number. Run by the runner with the peers'
virtualenv and the run's settings in the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import catalog
import served
from measure import Enqueue, Peer

IN_FLIGHT = 32


async def produce(
    peer: Peer, *, rate: float, jobs: int, first: int, step: int, start_at: float
) -> dict[int, float]:
    returned: dict[int, float] = {}
    limit = asyncio.Semaphore(IN_FLIGHT)
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(IN_FLIGHT))

    async def send(enqueue: Enqueue, seq: int) -> None:
        try:
            returned[seq] = await enqueue(seq)
        finally:
            limit.release()

    async with peer.producer() as enqueue:
        calls = []
        for seq in range(first, jobs, step):
            await limit.acquire()
            delay = start_at + seq / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            calls.append(asyncio.create_task(send(enqueue, seq)))
        await asyncio.gather(*calls)
    return returned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("system")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--step", type=int, default=1)
    parser.add_argument("--start-at", type=float, required=True)
    args = parser.parse_args()
    served.offload = True
    peer = catalog.make(args.system)
    returned = asyncio.run(
        produce(
            peer,
            rate=args.rate,
            jobs=args.jobs,
            first=args.first,
            step=args.step,
            start_at=args.start_at,
        )
    )
    peer.close()
    print(json.dumps(returned))


if __name__ == "__main__":
    main()
