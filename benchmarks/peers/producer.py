"""A latency producer: enqueue jobs one call each on a fixed schedule (open loop).

Job ``seq`` is due at ``start_at + seq / rate``; this producer sends the jobs ``first``,
``first + step``, … so that several producers share one schedule. It prints, as one JSON object,
the time each enqueue call returned, by sequence number. Run by the runner with the peers'
virtualenv and the run's settings in the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import catalog
from measure import Peer


async def produce(
    peer: Peer, *, rate: float, jobs: int, first: int, step: int, start_at: float
) -> dict[int, float]:
    returned: dict[int, float] = {}
    async with peer.producer() as enqueue:
        for seq in range(first, jobs, step):
            delay = start_at + seq / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await enqueue(seq)
            returned[seq] = time.time()
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
