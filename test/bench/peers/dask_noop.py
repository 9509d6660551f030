# Dask distributed peer: the same no-op tasks through a LocalCluster scheduler with one worker
# process of `threads` threads. Prints one JSON line; cluster start-up is not timed.
import json
import sys
import time

from dask.distributed import Client, LocalCluster, wait


def noop(i):
    return None


def main():
    tasks = int(sys.argv[1])
    threads = int(sys.argv[2])
    with LocalCluster(n_workers=1, threads_per_worker=threads, processes=True,
                      dashboard_address=None, host="127.0.0.1") as cluster, Client(cluster) as client:
        client.gather(client.map(noop, range(100), pure=False))  # warm-up
        t0 = time.perf_counter()
        futures = client.map(noop, range(tasks), pure=False)
        wait(futures)
        seconds = time.perf_counter() - t0
        print(json.dumps({"done": tasks, "seconds": seconds, "tasksPerS": tasks / seconds}))


if __name__ == "__main__":
    main()
