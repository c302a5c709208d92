"""The Procfile's web line as shipped against the same line recycling its workers.

Starts gunicorn with the ``web:`` line of the Procfile, its ``${NAME:-default}``
expanded as sh does, serving the bare page of ``bench/bare_urls.py`` (no query,
no template), and loads it with wrk; then the same line with
``WEB_MAX_REQUESTS=2000 WEB_MAX_REQUESTS_JITTER=200`` (the options it had
before decision 104). Each worker restart imports the app again while the
requests it would take wait: the ratio says what recycling costs.

Usage::

    python bench/procfile.py [--seconds 10] [--connections 16] [--runs 2]

Nothing here is run by the test suite. Needs wrk (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

# Run as a script, bench/ is on the path: the process helpers and wrk's driver.
import delivery as bench_delivery

RECYCLING = {"WEB_MAX_REQUESTS": "2000", "WEB_MAX_REQUESTS_JITTER": "200"}


def web_command(env: dict[str, str]) -> list[str]:
    """The Procfile's web line as a command, with this venv's gunicorn, on loopback."""
    argv = bench_delivery.procfile_words("web", env)
    assert argv[0] == "gunicorn", argv
    at = argv.index("--bind")
    argv[at + 1] = f"127.0.0.1:{env['PORT']}"
    return [str(bench_delivery.BIN / "gunicorn"), *argv[1:]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="echoppe-bench-procfile-"))
    port = bench_delivery.free_port()
    base = bench_delivery.app_environment(
        work,
        site_url=f"http://127.0.0.1:{port}",
        settings="bench.bare_settings",
        DB_CONN_MAX_AGE="60",
        PORT=str(port),
    )
    url = f"http://127.0.0.1:{port}/bench/bare-page"
    rates: dict[str, list[float]] = {"shipped": [], "recycling": []}
    try:
        for run in range(args.runs):
            for label, extra in (("shipped", {}), ("recycling", RECYCLING)):
                env = {**base, **extra}
                bench_delivery.say(f"run {run + 1}/{args.runs}: {label}")
                with bench_delivery.running(
                    f"gunicorn-{label}-{run}", web_command(env), env=env, logs=work
                ) as process:
                    bench_delivery.wait_http(url, process, expect=lambda s: s == 200)
                    bench_delivery.load_wrk(wrk, [url], 2, args.connections)  # warm up
                    rates[label].append(
                        bench_delivery.load_wrk(wrk, [url], args.seconds, args.connections)
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    shipped, recycling = (statistics.median(rates[k]) for k in ("shipped", "recycling"))
    print(
        f"\nThe Procfile's web line, bare page · {os.cpu_count()} CPUs · wrk, "
        f"{args.connections} connections, {args.seconds:g} s · median of {args.runs} runs\n"
    )
    print(f"{'measure':52s} {'req/s':>8s} {'baseline':>9s} {'ratio':>6s}")
    print(f"{'Procfile as shipped (no recycling)':52s} {shipped:8,.0f}")
    print(f"{'with --max-requests 2000 --max-requests-jitter 200':52s} {recycling:8,.0f} "
          f"{shipped:9,.0f} {recycling / shipped:6.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
