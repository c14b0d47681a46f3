"""Service throughput: pages per minute with 1 and 2 ``mailroom worker`` processes, and upload latency.

Real redis-server on a free port, real worker processes (concurrency 1 each, queues ocr,default), the same
generated scans for every run (fresh data directory per run). Then ``mailroom serve`` (API only) with 2 busy
workers takes 20 concurrent uploads; the acknowledgement latency (202) is reported as median and p99.

    .venv/bin/python bench/bench_throughput.py --count 16 --seed 11
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from servicekit import (
    Database,
    Process,
    RedisServer,
    free_port,
    service_env,
    station_key,
    upload,
    wait_http,
)

from mailroom.settings import Settings
from routing.training import ensure_default_models
from workers.celery_app import create_celery
from workers.dispatch import CeleryDispatcher
from workers.inprocess import expand_inputs
from workers.pipeline import PipelineContext, receive


def generate(out: Path, count: int, seed: int) -> list[Path]:
    subprocess.run([sys.executable, "-m", "sample_docs.generate", "--out", str(out), "--count", str(count),
                    "--seed", str(seed), "--profile", "scans"], check=True, capture_output=True)
    return expand_inputs([out])


def run_batch(root: Path, files: list[Path], workers: int) -> dict[str, float]:
    redis = RedisServer(root / "redis")
    redis.start()
    data_dir = root / "data"
    settings = Settings(data_dir=data_dir, broker_url=redis.url)
    env = service_env(data_dir, redis.url, MAILROOM_LOG_LEVEL="WARNING")
    ctx = PipelineContext.create(settings)
    dispatcher = CeleryDispatcher(create_celery(settings))
    db = Database(settings)
    procs = [Process(["worker", "--concurrency", "1"], env, root / f"worker-{i}.log").start() for i in range(workers)]
    try:
        time.sleep(6)  # workers up (imports, broker connection)
        received = [receive(path, ctx, channel="bench", station=None) for path in files]
        started = time.perf_counter()
        for item in received:
            dispatcher.submit(item.document_id)
        ids = [item.document_id for item in received]
        db.wait_settled(ids, 3600)
        seconds = time.perf_counter() - started
        pages = sum(item.info.page_count for item in received)
        return {"workers": workers, "documents": len(ids), "pages": pages, "seconds": round(seconds, 1),
                "pages_per_minute": round(pages / seconds * 60, 1)}
    finally:
        for proc in procs:
            proc.stop()
        db.close()
        redis.kill()


def upload_latency(root: Path, busy: list[Path], uploads: list[Path]) -> dict[str, float]:
    redis = RedisServer(root / "redis")
    redis.start()
    data_dir = root / "data"
    settings = Settings(data_dir=data_dir, broker_url=redis.url)
    env = service_env(data_dir, redis.url, MAILROOM_LOG_LEVEL="WARNING")
    ctx = PipelineContext.create(settings)
    dispatcher = CeleryDispatcher(create_celery(settings))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs = [Process(["worker", "--concurrency", "1"], env, root / f"worker-{i}.log").start() for i in range(2)]
    api = Process(["serve", "--port", str(port)], env, root / "serve.log").start()
    try:
        wait_http(base)
        token = station_key(env)
        for path in busy:  # keep both workers busy with OCR during the uploads
            dispatcher.submit(receive(path, ctx, channel="bench", station=None).document_id)
        time.sleep(5)

        def timed(path: Path) -> float:
            started = time.perf_counter()
            upload(base, token, path)
            return time.perf_counter() - started

        with ThreadPoolExecutor(max_workers=len(uploads)) as pool:
            latencies = sorted(pool.map(timed, uploads))
        p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
        return {"uploads": len(latencies), "concurrency": len(uploads),
                "median_ms": round(statistics.median(latencies) * 1000), "p99_ms": round(p99 * 1000),
                "max_ms": round(latencies[-1] * 1000)}
    finally:
        api.stop()
        for proc in procs:
            proc.stop()
        redis.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=16, help="generated scans per batch")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--uploads", type=int, default=20, help="concurrent uploads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mailroom-bench-service-") as tmp:
        root = Path(tmp)
        # the recognition models are trained once, as at installation, not inside the measured batches
        os.environ["MAILROOM_MODELS_DIR"] = str(root / "models")
        ensure_default_models(Settings(data_dir=root / "models-data", models_dir=root / "models"))
        files = generate(root / "scans", args.count, args.seed)
        report: dict[str, object] = {}
        for workers in (1, 2):
            report[f"{workers}_workers"] = run_batch(root / f"run-{workers}", files, workers)
            print(json.dumps(report[f"{workers}_workers"]), file=sys.stderr)
        one = report["1_workers"]
        two = report["2_workers"]
        assert isinstance(one, dict) and isinstance(two, dict)
        report["speedup"] = round(two["pages_per_minute"] / one["pages_per_minute"], 2)
        uploads = generate(root / "uploads", args.uploads, args.seed + 1)
        report["upload_ack"] = upload_latency(root / "latency", files, uploads)
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
