"""Where an HTTP intake request's CPU goes, beside the floor's: both requests are driven in-process
through Django's WSGI handler (no gunicorn, no network), and CPU time per request is measured with
each part of registration switched off in turn (triage, statistics facts, webhooks, search index,
the collective check after commit). Explains the ratio `bench/intake.py` prints.

    .venv/bin/python bench/intake_breakdown.py [--requests 1000]

SQLite in a temporary data directory. Prints figures only; never asserts.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import time

from intake import prepare  # bench/ is on sys.path when run as a script

TEXTS = [
    "物业服务态度差，电梯坏了三天没人修，多次打电话也没人理。",
    "小区门口垃圾堆了一个星期没人清理，夏天臭气熏天，孩子上学都要绕路。",
    "停车费上涨没有公示，也没有征求业主意见，要求退还多收的费用。",
    "楼上装修每天早上七点就开始电钻，投诉多次物业只说会协调。",
    "维修基金使用不透明，要求公开近三年的账目明细。",
]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=1000)
    args = p.parse_args()
    os.environ["TOUSU_DATA_DIR"] = tempfile.mkdtemp(prefix="tousu-breakdown-")
    os.environ["TOUSU_BENCH_FLOOR"] = "1"
    os.environ.pop("DATABASE_URL", None)
    token = prepare(dict(os.environ))  # the same set-up as bench/intake.py
    os.environ["DJANGO_SETTINGS_MODULE"] = "tousu.settings"
    from tousu.wsgi import application  # noqa: E402  (after the environment is set)

    counter = iter(range(10**9))

    def body() -> bytes:
        n = next(counter)
        return json.dumps(
            {
                "channel": "phone",
                "content": f"{TEXTS[n % len(TEXTS)]}（第 {n} 次）",
                "parties": [
                    {"role": "complainant", "name": "王先生", "phone": f"138{n % 10**8:08d}"}
                ],
            },
            ensure_ascii=False,
        ).encode()

    def call(path: str) -> str:
        data = body()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(data),
            "CONTENT_LENGTH": str(len(data)),
            "CONTENT_TYPE": "application/json",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
        }
        status = []
        out = application(environ, lambda s, h: status.append(s))
        b"".join(out)
        out.close()
        return status[0]

    def cpu_ms(path: str) -> float:
        for _ in range(50):
            call(path)
        start = time.process_time()
        for _ in range(args.requests):
            status = call(path)
        assert status.startswith("201"), status
        return (time.process_time() - start) / args.requests * 1000

    from tousu.cases import search, signals
    from tousu.triage import services as triage

    receivers = list(signals.complaint_registered.receivers)

    def without(module: str):
        signals.complaint_registered.receivers = [
            r for r in receivers if module not in getattr(r[1](), "__module__", "")
        ]
        signals.complaint_registered.sender_receivers_cache.clear()

    floor = cpu_ms("/bench/floor")
    full = cpu_ms("/api/v1/complaints")
    print(f"CPU per request, {args.requests} requests each, in-process (no gunicorn):")
    print(f"  floor (insert one row)                 {floor:6.3f} ms")
    print(
        f"  intake, everything                     {full:6.3f} ms   (+{full - floor:.3f} over floor)"
    )
    check = triage.check_collective
    triage.check_collective = lambda *a, **k: None
    print(f"  … without the collective check         {cpu_ms('/api/v1/complaints'):6.3f} ms")
    triage.check_collective = check
    for module in ("triage", "reports", "webhooks"):
        without(module)
        print(f"  … without the {module + ' receiver':<24} {cpu_ms('/api/v1/complaints'):6.3f} ms")
        signals.complaint_registered.receivers = receivers
        signals.complaint_registered.sender_receivers_cache.clear()
    index = search.index_rows
    search.index_rows = lambda rows: None
    print(f"  … without the search index row         {cpu_ms('/api/v1/complaints'):6.3f} ms")
    search.index_rows = index
    signals.complaint_registered.receivers = []
    signals.complaint_registered.sender_receivers_cache.clear()
    triage.check_collective = lambda *a, **k: None
    search.index_rows = lambda rows: None
    bare = cpu_ms("/api/v1/complaints")
    print(
        f"  … none of them (case rows only)        {bare:6.3f} ms   (+{bare - floor:.3f} over floor)"
    )


if __name__ == "__main__":
    main()
