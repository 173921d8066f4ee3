#!/usr/bin/python3
"""torch.optim.RMSprop's step time, for bench/threads.ts to print beside this library's.

Usage: /usr/bin/python3 bench/torch_rmsprop.py [--sizes 1e3,1e5] [--threads 1,2] [--rounds 5]

Prints one JSON object: {"torch": version, "rows": [{"variant", "threads", "n", "ns"}]}, ns being
nanoseconds per element of one optimizer.step() (the median of interleaved rounds; each round
times enough steps for about 0.2 s). The variants are bench/threads.ts's: plain, momentum 0.9,
centered, momentum + centered, weight decay 0.01 + momentum 0.9. Float32 CPU tensors, the default
(foreach=None) implementation, gradients set once before the timing (the update reads them);
lr 1e-8, as in bench/threads.ts, so that no state decays into subnormal numbers.
"""
import argparse
import json
import statistics
import time

import torch

VARIANTS = {
    "plain": {},
    "momentum": {"momentum": 0.9},
    "centered": {"centered": True},
    "momentum + centered": {"momentum": 0.9, "centered": True},
    "weight decay + momentum": {"weight_decay": 0.01, "momentum": 0.9},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1e3,1e4,1e5,1e6,1e7")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    rows = []
    for n in sizes:
        for variant, options in VARIANTS.items():
            p = torch.nn.Parameter(torch.randn(n, dtype=torch.float32))
            p.grad = torch.randn(n, dtype=torch.float32) * 0.1
            opt = torch.optim.RMSprop([p], lr=1e-8, **options)  # as bench/threads.ts: no subnormal state
            samples = {t: [] for t in threads}
            for t in threads:  # warm-up, and a first guess of the steps a round needs
                torch.set_num_threads(t)
                for _ in range(3):
                    opt.step()
            start = time.perf_counter()
            opt.step()
            reps = max(3, min(20000, int(0.2 / max(time.perf_counter() - start, 1e-7))))
            for _ in range(args.rounds):
                for t in threads:
                    torch.set_num_threads(t)
                    start = time.perf_counter()
                    for _ in range(reps):
                        opt.step()
                    samples[t].append((time.perf_counter() - start) / reps / n * 1e9)
            for t in threads:
                rows.append({"variant": variant, "threads": t, "n": n, "ns": statistics.median(samples[t])})
    print(json.dumps({"torch": torch.__version__, "rows": rows}))


if __name__ == "__main__":
    main()
