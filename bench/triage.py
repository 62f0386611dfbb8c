"""Triage figures on a temporary SQLite database:

1. retraining the hospital classifier from 100,000 of the organisation's closed cases (plus the
   1,180 shipped samples), end to end: read from the database, segment, fit, write the file;
2. one suggestion (category, alternatives, explanation) from that model;
3. one duplicate check (same phone, near-identical text in the 90-day window) with 1,000,000
   stored cases, for repeats that exist and for new complaints;
4. what the registration hook (fingerprint, risk flags, collective check) adds to a registration.

    .venv/bin/python bench/triage.py [--train 100000] [--stored 1000000] [--keep DIR]

The cases are made from the shipped samples (src/tousu/triage/samples/hospital.csv) by
resampling and perturbing them: a random run of a sample's clauses, sometimes joined with a
clause of another sample of the same category, 3 % of characters dropped, numbers changed. So
their wording is the samples' wording: the figures are about time, not accuracy (accuracy is
`tousu triage evaluate`). The million cases are inserted with bulk SQL (executemany), spread over
three years, with complainants drawn from 300,000 phone numbers. Prints figures, never asserts.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {"train": 60.0, "suggest": 20.0, "duplicates": 50.0}  # seconds, ms, ms


def _setup(data_dir: Path) -> None:
    os.environ["TOUSU_DATA_DIR"] = str(data_dir)
    os.environ["DATABASE_URL"] = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tousu.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


class Maker:
    """Complaint texts made from the shipped samples (see the module docstring)."""

    def __init__(self, rng: random.Random):
        from tousu.triage.selectors import samples

        self.rng = rng
        data = samples("hospital")
        self.by_category: dict[str, list[list[str]]] = {}
        for text, category in zip(data.texts, data.categories, strict=True):
            parts = [p for p in re.split(r"(?<=[，。！？；,!?;])", text) if p]
            self.by_category.setdefault(category, []).append(parts)
        self.categories = sorted(self.by_category)

    def make(self, category: str | None = None) -> tuple[str, str]:
        rng = self.rng
        category = category or rng.choice(self.categories)
        parts = rng.choice(self.by_category[category])
        start = rng.randrange(len(parts))
        chosen = parts[start : rng.randint(start + 1, len(parts))] if rng.random() < 0.7 else parts
        if rng.random() < 0.5:
            chosen = chosen + [rng.choice(rng.choice(self.by_category[category]))]
        text = "".join(ch for ch in "".join(chosen) if rng.random() > 0.03)
        text = re.sub(r"\d+", lambda m: str(rng.randint(1, 99)), text)
        return (text or parts[0])[:500], category


def _ms(values: list[float]) -> str:
    v = sorted(values)
    p95 = v[min(len(v) - 1, int(len(v) * 0.95))]
    return f"median {statistics.median(v):6.2f} ms   p95 {p95:6.2f} ms   max {v[-1]:6.2f} ms"


def _ratio(value: float, floor: float) -> str:
    return f"({value / floor:.2f} of the {floor:g} limit)"


def insert_cases(maker: Maker, n: int, *, first_id: int, closed: bool, process, categories, now):
    """Complaints (+ one complainant party, + fingerprint) by executemany, in chunks."""
    from django.db import connection, transaction

    from tousu.cases.models import Complaint, Party
    from tousu.triage import fingerprint
    from tousu.triage.models import TextPrint

    def statement(model, columns):
        qn = connection.ops.quote_name
        cols = ", ".join(qn(c) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        return f"INSERT INTO {qn(model._meta.db_table)} ({cols}) VALUES ({marks})"

    # Every concrete column, with the model's own defaults for the ones not set here.
    def defaults(model):
        out = {}
        for f in model._meta.concrete_fields:
            if f.primary_key or f.null:
                continue
            value = f.get_default()  # "" for text fields without a default
            if value is not None or f.has_default():
                out[f.column] = f.get_db_prep_save(value, connection)
        return out

    c_defaults = defaults(Complaint)
    p_defaults = defaults(Party)
    adapt = connection.ops.adapt_datetimefield_value
    rng = maker.rng
    chunk = 20_000
    made = []
    for base in range(0, n, chunk):
        rows_c, rows_p, rows_t = [], [], []
        c_cols = p_cols = None
        for i in range(base, min(n, base + chunk)):
            pk = first_id + i
            text, category = maker.make()
            received = now - timedelta(seconds=rng.uniform(0, 3 * 365 * 86400))
            stamp = adapt(received)
            values = {
                **c_defaults,
                "id": pk,
                "tracking_number": f"B-{pk:08d}",
                "access_code_hash": "x$y",
                "process_id": process.pk,
                "state": "closed" if closed else "registered",
                "channel": "phone",
                "title": text[:40],
                "content": text,
                "category_id": categories[category].pk if closed else None,
                "department_id": categories[category].department_id if closed else None,
                "received_at": stamp,
                "created_at": stamp,
                "updated_at": stamp,
                "closed_at": stamp if closed else None,
            }
            c_cols = c_cols or list(values)
            rows_c.append([values[c] for c in c_cols])
            phone = f"139{rng.randrange(300_000):08d}"
            party = {**p_defaults, "complaint_id": pk, "role": "complainant", "phone": phone}
            p_cols = p_cols or list(party)
            rows_p.append([party[c] for c in p_cols])
            keys = fingerprint.band_keys(text, process.name) or [0, 0, 0, 0]
            rows_t.append([pk, stamp, *keys])
            if len(made) < 2000 and received > now - timedelta(days=80):
                made.append((pk, text, phone))
        with transaction.atomic(), connection.cursor() as cur:
            cur.executemany(statement(Complaint, c_cols), rows_c)
            cur.executemany(statement(Party, p_cols), rows_p)
            cur.executemany(
                statement(TextPrint, ["complaint_id", "received_at", *TextPrint.BANDS]), rows_t
            )
        print(f"    {min(n, base + chunk):>9,} cases", end="\r", flush=True)
    print(" " * 40, end="\r")
    return made


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", type=int, default=100_000, help="closed cases to retrain from")
    p.add_argument("--stored", type=int, default=1_000_000, help="cases stored for the dup check")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--keep", help="keep the database in this directory")
    args = p.parse_args()
    data_dir = Path(args.keep or tempfile.mkdtemp(prefix="tousu-bench-triage-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        run(args, data_dir)
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def run(args, data_dir: Path) -> None:
    _setup(data_dir)
    from django.db import connection
    from django.utils import timezone

    from tousu.accounts.models import Organisation, User
    from tousu.accounts.services import ensure_roles
    from tousu.cases.services import register_complaint
    from tousu.processes.models import Category
    from tousu.processes.services import install_template
    from tousu.triage import selectors, services

    ensure_roles()
    process = install_template("hospital")
    Organisation.objects.create(name="基准医院", default_process="hospital")
    receiver = User.objects.create_user("bench", password="x")
    receiver.roles.set(["receiver"])
    categories = {c.code: c for c in Category.objects.filter(process_name="hospital")}
    maker = Maker(random.Random(7))
    now = timezone.now()
    print(f"[triage on SQLite {connection.Database.sqlite_version}, data in {data_dir}]")

    # 1. retraining from the organisation's closed cases -----------------------------------------
    t = time.perf_counter()
    insert_cases(
        maker, args.train, first_id=1, closed=True, process=process, categories=categories, now=now
    )
    print(f"  set-up: {args.train:,} closed, labelled cases in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    row = services.train("hospital")
    took = time.perf_counter() - t
    size = (selectors.models_dir() / row.file).stat().st_size
    print(
        f"  retrain from {row.n_cases:,} cases + {row.n_samples:,} samples: {took:6.1f} s "
        f"{_ratio(took, FLOORS['train'])}  [{row.algorithm}; fit {row.seconds:.1f} s, "
        f"file {size / 1e6:.1f} MB]"
    )

    # 2. a suggestion ------------------------------------------------------------------------------
    texts = [maker.make()[0] for _ in range(1000)]
    t = time.perf_counter()
    selectors.suggest("hospital", texts[0])
    print(f"  first suggestion (loads the model file): {(time.perf_counter() - t) * 1000:.0f} ms")
    times = []
    for text in texts:
        t = time.perf_counter()
        selectors.suggest("hospital", text)
        times.append((time.perf_counter() - t) * 1000)
    print(
        f"  suggestion, 1,000 texts:  {_ms(times)} {_ratio(statistics.median(times), FLOORS['suggest'])}"
    )

    # 3. duplicate check among a million stored cases --------------------------------------------
    t = time.perf_counter()
    recent = insert_cases(
        maker,
        args.stored - args.train,
        first_id=args.train + 1,
        closed=False,
        process=process,
        categories=categories,
        now=now,
    )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    total = args.stored
    print(f"  set-up: {total:,} stored cases in all, {time.perf_counter() - t:.1f} s")
    rng = random.Random(11)
    selectors.find_duplicates("hospital", maker.make()[0], "13700000000")  # warm the page cache
    hits, misses, found_hits = [], [], 0
    for pk, text, phone in rng.sample(recent, min(args.queries, len(recent))):
        t = time.perf_counter()
        found = selectors.find_duplicates("hospital", "再次投诉：" + text, phone)
        hits.append((time.perf_counter() - t) * 1000)
        found_hits += any(d.id == pk for d in found)
    for _ in range(args.queries):
        text, _ = maker.make()
        t = time.perf_counter()
        selectors.find_duplicates("hospital", text, f"137{rng.randrange(10**8):08d}")
        misses.append((time.perf_counter() - t) * 1000)
    print(
        f"  duplicate check, repeats:  {_ms(hits)} {_ratio(statistics.median(hits), FLOORS['duplicates'])}"
    )
    print(f"    (the earlier case was found for {found_hits} of {len(hits)} repeats)")
    print(
        f"  duplicate check, new:      {_ms(misses)} {_ratio(statistics.median(misses), FLOORS['duplicates'])}"
    )

    # 4. the registration hook's cost ------------------------------------------------------------
    # Timed from inside: the hook's share of the write transaction, and the collective check
    # that runs after commit (outside the write lock).
    inside, after = [], []
    hook, check = services.on_registered, services.check_collective

    def timed(store, func):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return func(*a, **kw)
            finally:
                store.append((time.perf_counter() - t) * 1000)

        return wrapper

    services.on_registered = timed(inside, hook)
    services.check_collective = timed(after, check)
    whole = []
    for _ in range(args.queries):
        text, _ = maker.make()
        phone = f"136{rng.randrange(10**8):08d}"
        t = time.perf_counter()
        register_complaint(
            process=process,
            user=receiver,
            channel="phone",
            content=text,
            parties=[{"role": "complainant", "phone": phone}],
        )
        whole.append((time.perf_counter() - t) * 1000)
    services.on_registered, services.check_collective = hook, check
    print(f"  registration, whole:                 {_ms(whole)}")
    print(f"    triage hook inside the transaction: {_ms(inside)}")
    print(f"    collective check after commit:      {_ms(after)}")


if __name__ == "__main__":
    main()
