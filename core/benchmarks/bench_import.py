"""Wall time of ``import paywire`` + plugin discovery against ``import httpx``, side by side.

    python core/benchmarks/bench_import.py [--runs 40]

Each sample is a fresh interpreter; the two commands alternate so that machine noise hits both
alike. Prints the medians, their ratio (goal: at most 1.3) and the modules that dominate
``python -X importtime``. Also checks that no provider SDK was imported.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

PAYWIRE = (
    "import sys, paywire; pw = paywire.Paywire(); "
    "sdks = [m for m in ('stripe', 'razorpay', 'paypalserversdk') if m in sys.modules]; "
    "assert not sdks, f'provider SDK imported: {sdks}'"
)
HTTPX = "import httpx"


def _once(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def _importtime(code: str, top: int) -> list[tuple[int, str]]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    rows: list[tuple[int, str]] = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip(" "))) // 2
        if depth > 2:
            continue  # deeper imports are counted inside their parents
        rows.append((int(cumulative), name.rstrip()))
    return sorted(rows, reverse=True)[:top]  # the report nests by indentation


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    _once(PAYWIRE)
    _once(HTTPX)  # warm the file cache for both
    paywire_times: list[float] = []
    httpx_times: list[float] = []
    for _ in range(args.runs):
        paywire_times.append(_once(PAYWIRE))
        httpx_times.append(_once(HTTPX))
    p = statistics.median(paywire_times) * 1000
    h = statistics.median(httpx_times) * 1000
    print(f"runs: {args.runs} each, alternating, fresh interpreter per run")
    print(f"python -c 'import paywire; Paywire()'  median {p:7.1f} ms")
    print(f"python -c 'import httpx'                median {h:7.1f} ms")
    print(f"ratio: {p / h:.2f}x (goal <= 1.30x)")
    print("largest cumulative imports under `import paywire; Paywire()` (us; indent = nesting):")
    for cumulative, name in _importtime("import paywire; paywire.Paywire()", 12):
        print(f"  {cumulative:8d}  {name}")
    return 0 if p / h <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
