#!/usr/bin/python3
"""How many of a process's threads are runnable, sampled every 5 ms.

For finding where a multithreaded pass leaves CPUs idle (issue 13): run the
build in the background and give this its pid, e.g.

    SOURCE_DATE_EPOCH=1700000000 target/release/venvdeb build -Z zstd \\
        --config APP/venvdeb.toml --output-dir OUT & \\
    /usr/bin/python3 scripts/bench-runnable.py $! 7

Only the samples taken while the process has at least MIN_THREADS threads
count (7 selects the data pass of `venvdeb build -Z zstd`: main, lister,
two readers, compressor, two zstd workers). Prints how often 0, 1, 2 and 3
or more threads were runnable (state R: running or waiting for a CPU), each
thread's runnable fraction, and which threads ran alone. The sampler itself
takes some CPU: compare runs made with it, not with runs made without.
"""
import collections
import os
import sys
import time


def states(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                out[int(tid)] = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            pass
    return out


def main():
    pid = int(sys.argv[1])
    least = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    samples = []
    while True:
        try:
            st = states(pid)
        except FileNotFoundError:
            break
        if st and all(v == "Z" for v in st.values()):
            break
        if len(st) >= least:
            samples.append(sorted(t for t, v in st.items() if v == "R"))
        time.sleep(0.005)
    if not samples:
        print(f"no samples with {least} threads or more")
        return
    n = len(samples)
    hist = collections.Counter(min(len(s), 3) for s in samples)
    print(f"{n} samples; runnable threads: " + ", ".join(
        f"{k if k < 3 else '3+'}: {100 * hist[k] / n:.1f} %" for k in range(4)))
    each = collections.Counter(t for s in samples for t in s)
    print("each thread runnable: " + ", ".join(
        f"{t}: {100 * c / n:.0f} %" for t, c in sorted(each.items())))
    alone = collections.Counter(s[0] for s in samples if len(s) == 1)
    print("alone: " + ", ".join(
        f"{t}: {100 * c / n:.1f} %" for t, c in alone.most_common(5)))


if __name__ == "__main__":
    main()
