#!/usr/bin/env python3
"""Where the service's main thread spends its CPU, from `perf script` output (on-CPU samples, unlike V8's profile).

V8's CPU profile samples the main thread's wall time: on two shared cores a write that wakes MariaDB is often where
the thread gets preempted, so the profile charged 20-30 % of its samples to the socket write (`writeBuffer`) while
/proc showed the thread's system time at ~16 %. perf's cpu-clock samples only while the thread runs. Recipe (the
service's JIT frames are named through /tmp/perf-<pid>.map):

    NODE_OPTIONS=--perf-basic-prof BENCH_ONLY=create npm run bench &      # any scenario
    perf record -g -e cpu-clock -F 2000 -p <service pid> -o perf.data -- sleep 5   # inside the measured window
    perf script -i perf.data -F tid,ip,sym > perf.txt
    python3 bench/perf-summary.py perf.txt

Prints, for the busiest thread: samples by the nearest package or folder of ours on the stack (Node core and native
frames are charged to whoever called them; "node/native only" is the event loop, HTTP/2 framing, GC and the kernel
with no JS caller above), then the share of samples that pass through a few named layers (a sample counts for every
layer on its stack). Caveat: V8 reuses code space and the perf map only grows, so a few frames resolve to stale
names (a module's top-level function, say); read the small rows with care.
"""
import collections
import re
import sys

LAYERS = {
    'mariadb driver': r'mariadb/lib',
    'grpc-js': r'@grpc/grpc-js',
    'node http2': r'node:internal/http2',
    'our gRPC interceptors': r'src/grpc/interceptors',
    'ts-proto encode/decode': r'src/gen/|@bufbuild',
    'zod': r'zod/',
    'bullmq / ioredis': r'bullmq|ioredis',
    'express (sidecar)': r'/express/|/router/|raw-body|body-parser',
    'garbage collection': r'Scaveng|Heap::|GarbageCollect|MarkCompact|Sweep',
    'malloc / free': r'^(malloc|_int_malloc|_int_free|free|malloc_consolidate|unlink_chunk|cfree)',
    'async_hooks': r'async_hooks',
    'kernel': r'pvm_|_copy_|tcp_|sock_|ep_poll|do_syscall|entry_SYSCALL',
}


def samples(path):
    current = None
    for line in open(path, errors='replace'):
        if not line.strip():
            if current:
                yield current
            current = None
        elif not line[0].isspace() or not line.startswith(('\t', ' ' * 8)):
            current = (line.split()[0], [])
        elif current is not None:
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                current[1].append(parts[1])
    if current:
        yield current


def package(frame):
    m = re.search(r'/node_modules/((@[^/]+/)?[^/ :]+)', frame)
    if m:
        return m.group(1)
    m = re.search(r'/(src(?:/[^/:\s]+){0,2}?)/[^/:\s]+\.[jt]s', frame)
    return m.group(1) if m else None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    all_samples = list(samples(sys.argv[1]))
    threads = collections.Counter(tid for tid, _ in all_samples)
    main_tid = threads.most_common(1)[0][0]
    stacks = [frames for tid, frames in all_samples if tid == main_tid]
    n = len(stacks)
    print(f'thread {main_tid}: {n} samples (other threads: {sum(threads.values()) - n})\n')
    owners = collections.Counter(next((p for p in map(package, f) if p), 'node/native only') for f in stacks)
    print('| nearest package or folder of ours | % of samples |\n|---|---:|')
    for name, count in owners.most_common(14):
        print(f'| {name} | {100 * count / n:.1f} % |')
    print('\n| layer on the stack | % of samples |\n|---|---:|')
    for name, rx in LAYERS.items():
        count = sum(1 for f in stacks if any(re.search(rx, x) for x in f))
        print(f'| {name} | {100 * count / n:.1f} % |')


if __name__ == '__main__':
    main()
