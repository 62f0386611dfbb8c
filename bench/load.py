"""Load and faults (issue #10, points 1 and 2): many concurrent clients against a real deployment
(`tousu serve --workers 2`, one `tousu worker`, a private PostgreSQL cluster), optionally with faults
injected while they run, then an exact reconciliation of every answer against the database.

    .venv/bin/python bench/load.py [--clients 50] [--duration 600] [--faults] [--json PATH]

The harness builds its own environment in a temporary directory and removes it afterwards:
  * a private PostgreSQL cluster (initdb as the `postgres` user, on a free port, sockets in the temp
    dir), so restarting it never disturbs the machine's shared server or its other databases;
  * `tousu init --template generic --demo` (migrations, organisation, departments, demo users and
    cases; with --no-demo only the organisation and an officer, a leader and one handler per
    department, which is much faster), one API token per user, workbench sessions (logged in
    through /staff/login/) for `officer` and `leader`;
  * `tousu serve --workers 2` and one `tousu worker --interval 2` (loop mode). The harness supervises
    the worker as systemd would with `Restart=always` and `RestartSec=1`: when it exits (killed or
    crashed) it is started again after 1 s; every exit is recorded and reported.

The portal's abuse guard (src/tousu/portal/ratelimit.py) would rightly refuse one address sending
hundreds of complaints an hour, so the run uses a generated settings module (DJANGO_SETTINGS_MODULE)
that imports tousu.settings and only changes the guard: TOUSU_PORTAL_LIMITS raised to 10^6 per window,
and TOUSU_TRUSTED_PROXIES = 1 with a distinct X-Forwarded-For address per virtual client. The
"too fast" check (a form sent less than 3 s after it was shown) is not switched off: clients fetch a
form, do other work, and send it once 3 s have passed, as a person would.

Each virtual client mixes: portal submissions (GET the form incl. CSRF and the one-time token, POST,
read the receipt), portal look-ups (tracking number + access code, then the case page), API
submissions with an Idempotency-Key, workbench reads (case list, case page; logged-in session), and
case actions through the API (read the case, list its actions, apply one with the version read; 409 is
expected). Submissions are retried with the same key / the same form token on connection errors and
5xx, as a real client would. An action whose answer is lost is not retried blindly: the client reads
the case's events and looks for its own marker (the action's comment), so the harness knows exactly
whether it was applied.

With --faults: at 25 % of the run one gunicorn worker is killed with SIGKILL (the master respawns it),
at 45 % the `tousu worker` process is killed with SIGKILL (the supervisor starts it again), at 65 % the
private PostgreSQL is restarted with `pg_ctl restart -m immediate` (crash recovery). Recovery is the
time from the fault until the first successful answer to a request started after the fault completed
(under load it includes the queueing latency). Errors of requests in flight during a fault window
(fault start → recovery) are the fault's; a failed request started after the recovery "persists", and
one outside every window is "unexplained": both are problems. Backdated API submissions (a quarter are
received 30 hours ago) have overdue clocks, so the worker has breaches to issue after every fault.

At the end the database must reconcile exactly with the answers (see `reconcile`). Prints a figures
table; --json writes the same figures. Benchmarks never assert: the exit status is 0 with a
"RECONCILED" line or 1 with the list of problems. tests/reliability/test_load_faults.py runs the same
machinery for 60 s and asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import yaml

ROOT = Path(__file__).resolve().parent.parent
TOUSU = str(Path(sys.executable).parent / "tousu")
TEMPLATE = "generic"
TEMPLATE_FILE = ROOT / "src" / "tousu" / "processes" / "templates" / f"{TEMPLATE}.yaml"
RETRY_FOR = 120.0  # a client gives a submission up after this long without an answer
RESTART_SEC = 1.0  # the worker supervisor's RestartSec
MIN_FILL = 3.3  # the portal refuses forms sent within 3 s of being shown (guard: "too fast")
HTTP_TIMEOUT = 60.0

# What each kind of request is expected to answer. Anything else in the 4xx range is "unexpected".
EXPECTED = {
    "portal_form": {200},
    "portal_submit": {302},
    "portal_receipt": {200},
    "portal_track_form": {200},
    "portal_track": {302, 400},  # 400: a deliberately wrong access code (one look-up in ten)
    "portal_case": {200},
    "api_submit": {201},
    "api_read": {200},
    "api_actions": {200},
    "api_action": {200, 409, 422},  # 409: the case moved since it was read (stale version)
    "api_events": {200},
    "staff_list": {200},
    "staff_case": {200},
}
KINDS = list(EXPECTED)


def log(*args) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *args, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bindir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb."""
    found = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
    return found[-1]


# --- the private PostgreSQL cluster ----------------------------------------------------------------


class Cluster:
    """A throw-away PostgreSQL cluster in `base`/pg, owned by the postgres user, on a free port."""

    def __init__(self, base: Path):
        self.bin = pg_bindir()
        self.dir = base / "pg"
        self.dir.mkdir()
        shutil.chown(self.dir, "postgres", "postgres")
        self.dir.chmod(0o700)
        self.data = self.dir / "data"
        self.logfile = self.dir / "server.log"
        self.port = free_port()
        self.started = False

    def _pg(self, tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        out = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd="/",
        )
        if out.returncode:
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {out.stderr.strip()}")
        return out

    def init(self) -> None:
        self._pg(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        with open(self.data / "postgresql.conf", "a") as fh:
            fh.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.dir}'\nmax_connections = 100\n"
            )

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60", "start")
        self.started = True

    def restart(self, mode: str = "immediate") -> None:
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-m",
            mode,
            "-w",
            "-t",
            "60",
            "restart",
        )

    def stop(self) -> None:
        if self.started:
            try:
                self._pg(
                    "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60
                )
            except Exception as exc:  # already down: nothing to stop
                log(f"pg_ctl stop: {exc}")
            self.started = False

    def url(self, db: str = "tousu") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def dsn(self, db: str = "tousu") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={db}"

    def createdb(self, name: str = "tousu") -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")


# --- the deployment ----------------------------------------------------------------------------------

SETTINGS_MODULE = '''"""Generated by bench/load.py: tousu.settings with the portal guard opened for a load run."""
from tousu.settings import *  # noqa: F401,F403

TOUSU_PORTAL_LIMITS = {
    "submit": (1_000_000, 60),
    "challenge": (1_000_000, 60),
    "suspect": (1_000_000, 60),
    "track_fail": (1_000_000, 15),
    "track_fail_number": (1_000_000, 60),
    "respond": (1_000_000, 60),
}
TOUSU_TRUSTED_PROXIES = 1  # each virtual client sends its own X-Forwarded-For address
# Log lines with time and process, to match them with the harness's record of each request.
LOGGING["formatters"] = {"stamped": {"format": "%(asctime)s pid=%(process)d %(levelname)s %(name)s: %(message)s"}}
LOGGING["handlers"]["console"]["formatter"] = "stamped"
'''

SETUP_SCRIPT = """
import json, os, sys
from tousu.cli import main
demo = os.environ["LOAD_DEMO"] == "1"
if main(["init", "--template", "TEMPLATE"] + (["--demo"] if demo else [])):
    sys.exit("tousu init failed")
from django.db.models import Max
from tousu.accounts.models import Department, User
from tousu.accounts.services import create_token, create_user
from tousu.cases.models import Complaint, Event
from tousu.processes.selectors import active_process
passwords = {}
if not demo:  # the demo's staff, fewer of them: each password costs a slow hash by design
    passwords["officer"] = create_user("officer", roles=["officer", "receiver"])[1]
    passwords["leader"] = create_user("leader", roles=["leader"])[1]
    for dep in active_process("TEMPLATE").definition.departments:
        create_user(f"handler_{dep.code}", roles=["handler"], department=Department.objects.get(code=dep.code))
# The benchmark's clients log in with these passwords as they are: no first-login change.
User.objects.update(must_change_password=False)
out = {"tokens": {}, "passwords": passwords}
for u in User.objects.filter(is_active=True).exclude(username="admin").select_related("department"):
    _, raw = create_token(u, name="load")
    out["tokens"][u.username] = {
        "token": raw,
        "roles": sorted(u.role_codes),
        "department": u.department.code if u.department else None,
    }
out["complaints"] = list(Complaint.objects.values_list("pk", flat=True))
out["max_complaint"] = Complaint.objects.aggregate(m=Max("pk"))["m"] or 0
out["max_event"] = Event.objects.aggregate(m=Max("pk"))["m"] or 0
print(json.dumps(out))
""".replace("TEMPLATE", TEMPLATE)


class Supervisor:
    """Keeps `tousu worker` running as systemd would (Restart=always, RestartSec=1)."""

    def __init__(self, cmd: list[str], env: dict, logfile: Path):
        self.cmd, self.env, self.logfile = cmd, env, logfile
        self.proc: subprocess.Popen | None = None
        self.exits: list[dict] = []  # {"pid", "code", "at" (wall), "restarted_at"}
        self.starts: list[float] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _spawn(self) -> None:
        with open(self.logfile, "ab") as out:
            self.proc = subprocess.Popen(
                self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.starts.append(time.time())

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                proc = self.proc
                code = proc.poll() if proc else None
                if proc is not None and code is not None:
                    exit_ = {"pid": proc.pid, "code": code, "at": time.time()}
                    self.exits.append(exit_)
                    self.proc = None
            if proc is not None and code is not None:
                if self._stop.wait(RESTART_SEC):
                    return
                with self._lock:
                    self._spawn()
                    exit_["restarted_at"] = time.time()
            self._stop.wait(0.1)

    def kill(self) -> int | None:
        with self._lock:
            if self.proc is None:
                return None
            os.kill(self.proc.pid, signal.SIGKILL)
            return self.proc.pid

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with self._lock:
            if self.proc is not None:
                _terminate_group(self.proc)
                self.proc = None


def _terminate_group(proc: subprocess.Popen, grace: float = 10) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def children(pid: int) -> set[int]:
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


class Stack:
    """Cluster + server + supervised worker in one temp dir. close() removes everything; it is safe to
    call more than once and after a partial setup."""

    def __init__(
        self,
        *,
        worker_interval: float = 2.0,
        demo: bool = True,
        keep: bool = False,
        settings_extra: str = "",
    ):
        self.demo = demo
        self.settings_extra = settings_extra
        self.base = Path(tempfile.mkdtemp(prefix="tousu-load-"))
        self.base.chmod(0o711)  # the postgres user must reach base/pg
        self.keep = keep
        self.worker_interval = worker_interval
        self.cluster: Cluster | None = None
        self.server: subprocess.Popen | None = None
        self.supervisor: Supervisor | None = None
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.setup_info: dict = {}
        self.passwords: dict[str, str] = {}
        self.timings: dict[str, float] = {}

    # setup ----------------------------------------------------------------------------------------
    def setup(self) -> None:
        t = time.perf_counter()
        self.cluster = Cluster(self.base)
        self.cluster.init()
        self.cluster.start()
        self.cluster.createdb()
        self.timings["postgres"] = time.perf_counter() - t
        (self.base / "settings").mkdir()
        (self.base / "settings" / "tousu_load_settings.py").write_text(
            SETTINGS_MODULE + self.settings_extra
        )
        data = self.base / "data"
        data.mkdir()
        self.env = {
            **os.environ,
            "DATABASE_URL": self.cluster.url(),
            "TOUSU_DATA_DIR": str(data),
            "DJANGO_SETTINGS_MODULE": "tousu_load_settings",
            "PYTHONPATH": os.pathsep.join(
                [str(self.base / "settings"), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        for var in ("TOUSU_DEBUG", "TOUSU_WORKERS", "TOUSU_THREADS", "TOUSU_PRODUCTION"):
            self.env.pop(var, None)
        t = time.perf_counter()
        out = self._run([sys.executable, "-c", SETUP_SCRIPT], LOAD_DEMO="1" if self.demo else "0")
        self.setup_info = json.loads(out.splitlines()[-1])
        self.passwords = self.setup_info["passwords"]
        if self.demo:
            for line in (data / "demo-credentials.txt").read_text(encoding="utf-8").splitlines():
                user, password, _ = line.split("\t", 2)
                self.passwords[user] = password
        self.timings["init"] = time.perf_counter() - t
        t = time.perf_counter()
        self.start_server()
        self.supervisor = Supervisor(
            [TOUSU, "worker", "--interval", str(self.worker_interval)],
            self.env,
            self.base / "worker.log",
        )
        self.supervisor.start()
        self.timings["start"] = time.perf_counter() - t

    def _run(self, cmd: list[str], **env) -> str:
        out = subprocess.run(
            cmd, env={**self.env, **env}, capture_output=True, text=True, timeout=900
        )
        if out.returncode:
            raise RuntimeError(f"{' '.join(cmd[:3])} failed: {out.stderr.strip()[-2000:]}")
        return out.stdout

    def start_server(self) -> None:
        with open(self.base / "server.log", "ab") as out:
            self.server = subprocess.Popen(
                [TOUSU, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "2"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"tousu serve exited: {self.tail('server.log')}")
            try:
                if httpx.get(self.base_url + "/track/", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("tousu serve did not answer within 60 s")
        # Both workers booted: gunicorn starts them together; give the second its import time.
        deadline = time.monotonic() + 30
        while len(children(self.server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)

    def gunicorn_workers(self) -> set[int]:
        return children(self.server.pid) if self.server else set()

    def tail(self, name: str, n: int = 3000) -> str:
        try:
            return (self.base / name).read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def login(self, username: str) -> dict[str, str]:
        """A workbench session for `username`: its cookies."""
        with httpx.Client(base_url=self.base_url, timeout=30) as c:
            page = c.get("/staff/login/")
            csrf = _field(page.text, "csrfmiddlewaretoken")
            r = c.post(
                "/staff/login/",
                data={
                    "username": username,
                    "password": self.passwords[username],
                    "csrfmiddlewaretoken": csrf,
                    "next": "",
                },
            )
            if r.status_code != 302:
                raise RuntimeError(f"login of {username} failed: HTTP {r.status_code}")
            return dict(c.cookies)

    # teardown -------------------------------------------------------------------------------------
    def stop_services(self) -> None:
        if self.supervisor:
            self.supervisor.stop()
        if self.server:
            _terminate_group(self.server)

    def close(self) -> None:
        try:
            self.stop_services()
        finally:
            try:
                if self.cluster:
                    self.cluster.stop()
            finally:
                if not self.keep:
                    shutil.rmtree(self.base, ignore_errors=True)


# --- recording ---------------------------------------------------------------------------------------


@dataclass
class Rec:
    kind: str
    status: int  # 0: connection error (no HTTP answer)
    t0: float  # seconds since the run started (monotonic)
    t1: float
    error: str = ""  # the exception of a connection error

    @property
    def cls(self) -> str:
        if self.status == 0:
            return "conn"
        if self.status >= 500:
            return "5xx"
        if self.status in EXPECTED[self.kind]:
            return "4xx_expected" if self.status >= 400 else "ok"
        return "unexpected"


@dataclass
class Fault:
    kind: str
    t_start: float
    t_done: float
    wall_start: float
    wall_done: float
    detail: dict = field(default_factory=dict)


@dataclass
class State:
    """Everything the clients learned, for the reconciliation."""

    recs: list[Rec] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    pool: list[int] = field(default_factory=list)  # complaint ids for actions and workbench reads
    tracked: list[tuple[str, str]] = field(default_factory=list)  # (tracking number, access code)
    api: dict[str, dict] = field(default_factory=dict)  # idempotency key -> submission
    portal: dict[str, dict] = field(default_factory=dict)  # marker -> submission
    actions: dict[str, dict] = field(default_factory=dict)  # marker (comment) -> action request
    backdated: int = 0
    challenges: int = 0  # forms that came with the guard's question


def _field(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    return m.group(1) if m else ""


SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高"
TEXTS = [
    ("物业服务态度差，电梯坏了三天没人修，多次打电话也没人理。", "尽快修好电梯"),
    ("网上下单承诺48小时发货，结果拖了一周还没发，客服只会说在催。", "尽快发货，说明延误原因"),
    ("送货司机态度很差，货物外包装破损，签收时不让开箱检查。", "道歉，补发完好的货物"),
    ("收到的产品说明书与实物型号不符，按说明书操作导致设备报警。", "提供正确的说明书并上门调试"),
    ("发票金额与合同不一致，多开了运费，财务对不上账。", "重开发票，退还多收的运费"),
]


def _fill(schema: dict) -> dict:
    """Values for the required fields of an action's form, from its JSON Schema."""
    data = {}
    for name in schema.get("required", []):
        prop = schema["properties"][name]
        t = prop.get("type")
        if "enum" in prop and prop["enum"]:
            data[name] = random.choice(prop["enum"])
        elif t == "array":
            items = prop.get("items", {}).get("enum") or []
            k = min(len(items), max(1, prop.get("minItems", 1)))
            data[name] = random.sample(items, k) if items else []
        elif t == "boolean":
            data[name] = True
        elif t == "integer" or t == "number":
            data[name] = 1
        elif prop.get("format") == "date":
            data[name] = datetime.now().date().isoformat()
        elif prop.get("format") == "date-time":
            data[name] = datetime.now().astimezone().isoformat(timespec="seconds")
        else:
            data[name] = "负载测试：已核实情况并按规定处理。"
    return data


class Load:
    def __init__(self, stack: Stack, state: State, clients: int, duration: float, seed: int = 1):
        self.stack, self.s = stack, state
        self.clients, self.duration = clients, duration
        self.rng = random.Random(seed)
        info = stack.setup_info
        self.tokens = info["tokens"]
        self.s.pool.extend(info["complaints"])
        self.sessions: list[dict] = []
        self.T0 = 0.0
        self.end = 0.0

    def now(self) -> float:
        return time.monotonic() - self.T0

    async def _send(self, kind: str, client: httpx.AsyncClient, method: str, url: str, **kw):
        t0 = self.now()
        error = ""
        try:
            r = await client.request(method, url, **kw)
            status = r.status_code
        except httpx.TransportError as exc:  # incl. timeouts, resets, refused connections
            r, status, error = None, 0, f"{type(exc).__name__}: {exc}"[:200]
        self.s.recs.append(Rec(kind, status, t0, self.now(), error))
        return r

    async def _retrying(self, kind, client, method, url, **kw):
        """Send until an answer that is neither a connection error nor 5xx, as a client would:
        backing off up to 3 s, giving up after RETRY_FOR seconds (then None)."""
        give_up = self.now() + RETRY_FOR
        delay = 0.2
        while True:
            r = await self._send(kind, client, method, url, **kw)
            if r is not None and r.status_code < 500:
                return r
            if self.now() > give_up:
                return None
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 3.0)

    # the operations ------------------------------------------------------------------------------
    async def portal_form(self, c: httpx.AsyncClient, pending: deque) -> None:
        r = await self._send("portal_form", c, "GET", "/")
        if r is None or r.status_code != 200:
            return
        token, csrf = _field(r.text, "token"), _field(r.text, "csrfmiddlewaretoken")
        if _field(r.text, "challenge"):  # the guard asks a question: not expected with our limits
            self.s.challenges += 1
        pending.append((self.now(), token, csrf))

    async def portal_submit(
        self, c: httpx.AsyncClient, shown: float, token: str, csrf: str
    ) -> None:
        marker = uuid.uuid4().hex
        content, request = random.choice(TEXTS)
        data = {
            "name": random.choice(SURNAMES) + "女士",
            "phone": f"139{random.randint(0, 99999999):08d}",
            "address": "幸福路 8 号",
            "content": f"{content} [load:p-{marker}]",
            "request": request,
            "f_target": "客服部",
            "consent": "on",
            "website": "",
            "token": token,
            "challenge": "",
            "answer": "",
            "csrfmiddlewaretoken": csrf,
        }
        sub = self.s.portal[marker] = {"answered": None, "tracking_number": None, "attempts": 0}
        r = await self._retrying("portal_submit", c, "POST", "/", data=data)
        if r is None:
            return
        sub["answered"] = r.status_code
        if r.status_code != 302 or not r.headers.get("location", "").endswith("/receipt/"):
            sub["error"] = r.text[-300:] if r.status_code != 302 else r.headers.get("location")
            return
        receipt = await self._retrying("portal_receipt", c, "GET", "/receipt/")
        if receipt is None or receipt.status_code != 200:
            return
        number = re.search(r'id="tracking-number">([^<]+)<', receipt.text)
        code = re.search(r'id="access-code">([^<]+)<', receipt.text)
        if number and code:
            sub["tracking_number"] = number.group(1)
            self.s.tracked.append((number.group(1), code.group(1)))

    async def portal_track(self, c: httpx.AsyncClient) -> None:
        if not self.s.tracked:
            return
        number, code = random.choice(self.s.tracked[-300:])
        wrong = random.random() < 0.1
        page = await self._send("portal_track_form", c, "GET", "/track/")
        if page is None or page.status_code != 200:
            return
        r = await self._send(
            "portal_track",
            c,
            "POST",
            "/track/",
            data={
                "number": number,
                "secret": "ZZZZ2222" if wrong else code,
                "csrfmiddlewaretoken": _field(page.text, "csrfmiddlewaretoken"),
            },
        )
        if r is not None and r.status_code == 302:
            await self._send("portal_case", c, "GET", r.headers["location"])

    async def api_submit(self, c: httpx.AsyncClient) -> None:
        key = uuid.uuid4().hex
        content, request = random.choice(TEXTS)
        payload = {
            "channel": random.choice(["phone", "visit", "letter", "web", "transfer"]),
            "content": f"{content} [load:a-{key}]",
            "request": request,
            "parties": [
                {
                    "role": "complainant",
                    "name": random.choice(SURNAMES) + "先生",
                    "phone": f"138{random.randint(0, 99999999):08d}",
                }
            ],
        }
        if random.random() < 0.25:  # received yesterday: its 24-hour clock is already overdue
            payload["received_at"] = (datetime.now(UTC) - timedelta(hours=30)).isoformat()
            self.s.backdated += 1
        sub = self.s.api[key] = {"answered": None, "bodies": [], "attempts": 0}
        give_up = self.now() + RETRY_FOR
        delay = 0.2
        while True:
            sub["attempts"] += 1
            r = await self._send(
                "api_submit",
                c,
                "POST",
                "/api/v1/complaints",
                json=payload,
                headers={
                    "Authorization": f"Bearer {self.tokens['officer']['token']}",
                    "Idempotency-Key": key,
                },
            )
            if r is not None and r.status_code < 500:
                break
            if self.now() > give_up:
                return
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 3.0)
        sub["answered"] = r.status_code
        if r.status_code == 201:
            body = r.json()
            sub["bodies"].append(body)
            self.s.pool.append(body["id"])
            self.s.tracked.append((body["tracking_number"], body["access_code"]))
        else:
            sub["error"] = r.text[:300]

    async def staff_read(self, c: httpx.AsyncClient) -> None:
        r = await self._send("staff_list", c, "GET", "/staff/cases/")
        if r is not None and r.status_code == 200 and self.s.pool:
            await self._send("staff_case", c, "GET", f"/staff/cases/{self._pick()}/")

    def _pick(self) -> int:
        pool = self.s.pool
        return random.choice(pool[-200:] if random.random() < 0.8 else pool)

    def _token_for(self, complaint: dict) -> str:
        """Who would act next: departmental staff while the department works, the leader when a
        decision is due, otherwise the complaint officer; now and then another of them."""
        state, dept = complaint.get("state"), complaint.get("department")
        staff = [u for u, t in self.tokens.items() if dept and t["department"] == dept]
        central = [u for u, t in self.tokens.items() if t["department"] is None]
        if random.random() < 0.15:
            return random.choice(central + staff)
        if state in ("investigating", "implementing") and staff:
            return random.choice(staff)
        if state in ("awaiting_superior", "awaiting_instruction"):
            return "leader"
        return "officer"

    async def api_action(self, c: httpx.AsyncClient) -> None:
        if not self.s.pool:
            return
        pk = self._pick()
        officer = {"Authorization": f"Bearer {self.tokens['officer']['token']}"}
        r = await self._send("api_read", c, "GET", f"/api/v1/complaints/{pk}", headers=officer)
        if r is None or r.status_code != 200:
            return
        complaint = r.json()
        user = self._token_for(complaint)
        auth = {"Authorization": f"Bearer {self.tokens[user]['token']}"}
        r = await self._send(
            "api_actions", c, "GET", f"/api/v1/complaints/{pk}/actions", headers=auth
        )
        if r is None or r.status_code != 200:
            return
        actions = r.json()
        moving = [a for a in actions if a["name"] != "add_note"]
        if not actions:
            return
        action = random.choice(moving if moving and random.random() < 0.85 else actions)
        marker = f"load:{uuid.uuid4().hex}"
        req = self.s.actions[marker] = {
            "complaint": pk,
            "action": action["name"],
            "version": complaint["version"],
            "status": None,
        }
        r = await self._send(
            "api_action",
            c,
            "POST",
            f"/api/v1/complaints/{pk}/actions/{action['name']}",
            json={
                "version": complaint["version"],
                "data": _fill(action["form"]),
                "comment": marker,
            },
            headers=auth,
        )
        if r is not None and r.status_code < 500:
            req["status"] = r.status_code
            if r.status_code == 200:
                body = r.json()
                req["event_id"], req["result_version"] = body["event_id"], body["version"]
            return
        # The answer was lost: was the action applied? The case's events say (our comment).
        req["status"] = "lost"
        ev = await self._retrying(
            "api_events", c, "GET", f"/api/v1/complaints/{pk}/events", headers=officer
        )
        if ev is None or ev.status_code != 200:
            req["lost_resolved"] = False
            return
        req["lost_resolved"] = True
        mine = [e for e in ev.json() if e["comment"] == marker]
        req["lost_applied_events"] = [e["id"] for e in mine]

    # a client ------------------------------------------------------------------------------------
    async def client(self, i: int) -> None:
        headers = {"X-Forwarded-For": f"10.{77 + i // 60000}.{(i // 250) % 240}.{i % 250 + 1}"}
        # One connection per request: gunicorn closes an idle keep-alive connection after 2 s, and a
        # request sent on it just then fails on the client's side (a browser silently resends it).
        # That client-side race is not the server's error, so the harness does not keep them alive.
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=0)
        opts = dict(base_url=self.stack.base_url, timeout=HTTP_TIMEOUT, limits=limits)
        portal = httpx.AsyncClient(headers=headers, **opts)
        staff = httpx.AsyncClient(cookies=self.sessions[i % len(self.sessions)], **opts)
        api = httpx.AsyncClient(**opts)
        pending: deque = deque()
        ops = [
            ("portal", 15),
            ("track", 12),
            ("api_submit", 25),
            ("staff", 18),
            ("action", 30),
        ]
        names, weights = zip(*ops, strict=True)
        try:
            await asyncio.sleep(random.random())  # not all at the same instant
            while self.now() < self.end:
                if pending and self.now() - pending[0][0] >= MIN_FILL:
                    shown, token, csrf = pending.popleft()
                    await self.portal_submit(portal, shown, token, csrf)
                    continue
                op = random.choices(names, weights)[0]
                if op == "portal":
                    await self.portal_form(portal, pending)
                elif op == "track":
                    await self.portal_track(portal)
                elif op == "api_submit":
                    await self.api_submit(api)
                elif op == "staff":
                    await self.staff_read(staff)
                else:
                    await self.api_action(api)
                await asyncio.sleep(random.random() * 0.05)
        finally:
            for c in (portal, staff, api):
                await c.aclose()

    # faults --------------------------------------------------------------------------------------
    async def faults(self) -> None:
        plan = [
            (0.25, self.kill_gunicorn_worker),
            (0.45, self.kill_worker),
            (0.65, self.restart_postgres),
        ]
        for frac, fault in plan:
            await asyncio.sleep(max(0.0, frac * self.duration - self.now()))
            await fault()

    def _fault(self, kind: str, t_start: float, wall_start: float, **detail) -> Fault:
        f = Fault(kind, t_start, self.now(), wall_start, time.time(), detail)
        self.s.faults.append(f)
        log(f"fault: {kind} {detail}")
        return f

    async def kill_gunicorn_worker(self) -> None:
        t, w = self.now(), time.time()
        before = self.stack.gunicorn_workers()
        victim = random.choice(sorted(before))
        os.kill(victim, signal.SIGKILL)
        f = self._fault("gunicorn_worker_kill9", t, w, pid=victim)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = self.stack.gunicorn_workers()
            if len(now) >= len(before) and victim not in now:
                f.detail["respawned_s"] = round(self.now() - t, 2)
                f.detail["new_pid"] = sorted(now - before)
                break
            await asyncio.sleep(0.1)

    async def kill_worker(self) -> None:
        t, w = self.now(), time.time()
        pid = self.stack.supervisor.kill()
        f = self._fault("tousu_worker_kill9", t, w, pid=pid)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            exits = [e for e in self.stack.supervisor.exits if e["pid"] == pid]
            if exits and "restarted_at" in exits[0]:
                f.detail["restarted_s"] = round(exits[0]["restarted_at"] - w, 2)
                f.detail["exit_code"] = exits[0]["code"]
                break
            await asyncio.sleep(0.1)

    async def restart_postgres(self) -> None:
        t, w = self.now(), time.time()
        await asyncio.to_thread(self.stack.cluster.restart, "immediate")
        self._fault("postgres_restart_immediate", t, w, pg_ctl_s=round(self.now() - t, 2))

    # the run -------------------------------------------------------------------------------------
    async def run(self, faults: bool) -> None:
        self.sessions = [
            await asyncio.to_thread(self.stack.login, u) for u in ("officer", "leader")
        ]
        self.T0 = time.monotonic()
        self.wall0 = time.time()
        self.end = self.duration
        tasks = [asyncio.create_task(self.client(i)) for i in range(self.clients)]
        if faults:
            tasks.append(asyncio.create_task(self.faults()))
        await asyncio.gather(*tasks)
        self.elapsed = self.now()


# --- figures -----------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def figures(state: State, elapsed: float) -> dict:
    per_kind = {}
    for kind in KINDS:
        recs = [r for r in state.recs if r.kind == kind]
        classes = Counter(r.cls for r in recs)
        answered = [r.t1 - r.t0 for r in recs if r.status]
        per_kind[kind] = {
            "requests": len(recs),
            "ok": classes["ok"],
            "expected_4xx": classes["4xx_expected"],
            "unexpected": classes["unexpected"],
            "5xx": classes["5xx"],
            "conn_errors": classes["conn"],
            "p50_ms": round(1000 * _pct(answered, 0.5), 1) if answered else None,
            "p99_ms": round(1000 * _pct(answered, 0.99), 1) if answered else None,
            "per_s": round(len(recs) / elapsed, 2) if elapsed else None,
            "statuses": dict(sorted(Counter(r.status for r in recs).items())),
        }
    total = len(state.recs)
    classes = Counter(r.cls for r in state.recs)
    all_lat = [r.t1 - r.t0 for r in state.recs if r.status]
    totals = {
        "requests": total,
        "per_s": round(total / elapsed, 1) if elapsed else None,
        "ok": classes["ok"],
        "expected_4xx": classes["4xx_expected"],
        "unexpected": classes["unexpected"],
        "5xx": classes["5xx"],
        "conn_errors": classes["conn"],
        "5xx_rate": round(classes["5xx"] / total, 5) if total else None,
        "conn_error_rate": round(classes["conn"] / total, 5) if total else None,
        "expected_4xx_rate": round(classes["4xx_expected"] / total, 5) if total else None,
        "p50_ms": round(1000 * _pct(all_lat, 0.5), 1) if all_lat else None,
        "p99_ms": round(1000 * _pct(all_lat, 0.99), 1) if all_lat else None,
    }
    return {"per_kind": per_kind, "totals": totals}


def fault_outcomes(state: State) -> tuple[list[dict], dict]:
    """Per fault: the recovery time (fault start → end of the first successful answer to a request
    started after the fault completed: "the next 2xx"), the errors it caused (requests in flight at
    some moment between the fault and the recovery), and the errors that persisted (requests started
    after the recovery that still failed: there must be none). And the errors no fault explains
    (requests that failed without overlapping any fault window: there must be none)."""
    errors = sorted((r for r in state.recs if r.cls in ("5xx", "conn")), key=lambda r: r.t0)
    oks = sorted((r for r in state.recs if r.cls in ("ok", "4xx_expected")), key=lambda r: r.t0)
    faults = sorted(state.faults, key=lambda f: f.t_start)
    recovered_at, windows = [], []
    for i, f in enumerate(faults):
        nxt = faults[i + 1].t_start if i + 1 < len(faults) else float("inf")
        first = next((r for r in oks if r.t0 >= f.t_done), None)
        recovered_at.append(first.t1 if first else None)
        windows.append((f.t_start, first.t1 if first else nxt))

    def overlaps(r: Rec, window: tuple[float, float]) -> bool:
        return r.t0 <= window[1] and r.t1 >= window[0]

    out = []
    for i, f in enumerate(faults):
        nxt = faults[i + 1].t_start if i + 1 < len(faults) else float("inf")
        recovered, window = recovered_at[i], windows[i]
        caused = [r for r in errors if overlaps(r, window)]
        persisting = [
            r
            for r in errors
            if window[1] < r.t0 < nxt and not any(overlaps(r, w) for w in windows[i + 1 :])
        ]
        out.append(
            {
                "kind": f.kind,
                "at_s": round(f.t_start, 1),
                "fault_action_s": round(f.t_done - f.t_start, 2),
                "recovery_s": round(recovered - f.t_start, 2) if recovered is not None else None,
                "errors_5xx": sum(r.cls == "5xx" for r in caused),
                "conn_errors": sum(r.cls == "conn" for r in caused),
                "errors_after_recovery": len(persisting),
                "persisting_examples": [asdict(r) for r in persisting[:5]],
                **f.detail,
            }
        )
    unexplained = [r for r in errors if not any(overlaps(r, w) for w in windows)]
    return out, {
        "count": len(unexplained),
        "examples": [asdict(r) for r in unexplained[:10]],
    }


# --- reconciliation ----------------------------------------------------------------------------------


def reconcile(dsn: str, state: State, info: dict, sweep_wait: float = 60.0) -> dict:
    """Compare every answer with the database. Returns {"checks": {...}, "problems": [...]}: an empty
    problem list means it reconciled exactly."""
    definition = yaml.safe_load(TEMPLATE_FILE.read_text(encoding="utf-8"))
    action_names = {a["name"] for a in definition["actions"]}
    initial = next(s["name"] for s in definition["states"] if s.get("initial"))
    closed = {s["name"] for s in definition["states"] if s.get("closed") or s.get("final")}
    created_clocks = [c["name"] for c in definition.get("clocks", []) if "created" in c["start"]]
    base_c = info["max_complaint"]
    problems: list[str] = []
    checks: dict = {}

    def problem(text: str) -> None:
        if len(problems) < 200:
            problems.append(text)

    with psycopg.connect(dsn, autocommit=True) as conn:
        q = conn.execute

        # The worker carried on sweeping: every running clock past due is breached, soon.
        deadline = time.monotonic() + sweep_wait
        while True:
            (overdue,) = q(
                "SELECT count(*) FROM clocks_clock WHERE state = 'running' AND breached_at IS NULL "
                "AND due_at < now() - interval '1 second'"
            ).fetchone()
            if overdue == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        checks["overdue_clocks_not_breached"] = overdue
        if overdue:
            problem(f"{overdue} running clocks are past due but not breached: the sweep stopped")

        # 1. complaints: answered == stored, no twice --------------------------------------------
        rows = q(
            "SELECT id, tracking_number, content FROM cases_complaint WHERE id > %s", [base_c]
        ).fetchall()
        stored = {r[0]: r for r in rows}
        markers = defaultdict(list)
        for pk, _, content in rows:
            m = re.search(r"\[load:([ap])-([0-9a-f]{32})\]", content)
            markers[m.group(0) if m else None].append(pk)
        twice = {k: v for k, v in markers.items() if k and len(v) > 1}
        if twice:
            problem(f"{len(twice)} submissions stored twice: {list(twice.items())[:5]}")
        if None in markers:
            problem(f"complaints without a load marker appeared: {markers[None][:10]}")
        by_number = {r[1]: r[0] for r in rows}

        api_answered = {k: s for k, s in state.api.items() if s["answered"] == 201}
        api_ids = set()
        for key, sub in api_answered.items():
            ids = {b["id"] for b in sub["bodies"]}
            if len(ids) != 1:
                problem(f"key {key} answered with different complaints {ids}")
            pk = next(iter(ids))
            api_ids.add(pk)
            found = markers.get(f"[load:a-{key}]", [])
            if found != [pk]:
                problem(f"key {key}: answered complaint {pk}, stored {found}")
        portal_ids = set()
        for marker, sub in state.portal.items():
            if sub["answered"] == 302 and sub["tracking_number"]:
                pk = by_number.get(sub["tracking_number"])
                found = markers.get(f"[load:p-{marker}]", [])
                if pk is None or found != [pk]:
                    problem(f"portal {marker}: receipt {sub['tracking_number']}, stored {found}")
                portal_ids.add(pk)
        accepted = len(api_ids) + len(portal_ids)
        unanswered_api = [k for k, s in state.api.items() if s["answered"] is None]
        unanswered_portal = [
            m for m, s in state.portal.items() if s["answered"] is None or not s["tracking_number"]
        ]
        # A submission whose every attempt failed may still have been stored once (its answer lost
        # and no retry got through): counted, and reported.
        stored_unanswered = sum(1 for k in unanswered_api if markers.get(f"[load:a-{k}]")) + sum(
            1 for m in unanswered_portal if markers.get(f"[load:p-{m}]")
        )
        rejected = [k for k, s in state.api.items() if s["answered"] not in (None, 201)] + [
            m for m, s in state.portal.items() if s["answered"] not in (None, 302)
        ]
        checks["complaints"] = {
            "api_201": len(api_ids),
            "portal_receipts": len(portal_ids),
            "accepted": accepted,
            "stored": len(stored),
            "unanswered_submissions": len(unanswered_api) + len(unanswered_portal),
            "stored_without_answer": stored_unanswered,
            "rejected_submissions": len(rejected),
            "stored_twice": len(twice),
            "api_retried": sum(1 for s in state.api.values() if s["attempts"] > 1),
        }
        if len(stored) != accepted + stored_unanswered:
            problem(f"stored {len(stored)} complaints, accepted {accepted} (+{stored_unanswered})")
        if set(stored) != api_ids | portal_ids | {
            pk
            for k in unanswered_api + unanswered_portal
            for pk in markers.get(f"[load:a-{k}]", []) + markers.get(f"[load:p-{k}]", [])
        }:
            problem("stored complaints differ from the answered ones")
        if unanswered_api or unanswered_portal:
            problem(
                f"{len(unanswered_api)} API / {len(unanswered_portal)} portal submissions "
                "never got an answer"
            )
        if rejected:
            problem(f"{len(rejected)} submissions rejected: {rejected[:3]}")

        # idempotency records and portal tokens: one each, pointing to the answered complaint
        recs = q(
            "SELECT key, (body->>'id')::bigint, status_code FROM cases_idempotencyrecord"
        ).fetchall()
        rec_by_key = defaultdict(list)
        for key, pk, status in recs:
            rec_by_key[key].append((pk, status))
        for key, sub in api_answered.items():
            want = [(sub["bodies"][0]["id"], 201)]
            if rec_by_key.get(key) != want:
                problem(f"idempotency record of {key}: {rec_by_key.get(key)} != {want}")
        (orphans,) = q(
            "SELECT count(*) FROM portal_submissiontoken WHERE complaint_id IS NULL"
        ).fetchone()
        if orphans:
            problem(f"{orphans} portal submission tokens without a complaint (half-written)")
        tok = dict(
            q(
                "SELECT complaint_id, count(*) FROM portal_submissiontoken "
                "WHERE complaint_id > %s GROUP BY complaint_id",
                [base_c],
            ).fetchall()
        )
        for pk in portal_ids:
            if tok.get(pk) != 1:
                problem(f"portal complaint {pk} has {tok.get(pk)} submission tokens")
        dup_numbers = q(
            "SELECT tracking_number FROM cases_complaint GROUP BY 1 HAVING count(*) > 1"
        ).fetchall()
        if dup_numbers:
            problem(f"duplicate tracking numbers {dup_numbers[:5]}")

        # 2. actions: every 200 is exactly one event ---------------------------------------------
        events = q(
            "SELECT id, complaint_id, action, from_state, to_state, comment, payload "
            "FROM cases_event ORDER BY complaint_id, id"
        ).fetchall()
        by_complaint = defaultdict(list)
        for e in events:
            by_complaint[e[1]].append(e)
        result_version = {}  # event id -> version of the case after it
        for evs in by_complaint.values():
            v = 1
            for e in evs:
                if e[2] in action_names:
                    v += 1
                    result_version[e[0]] = v
        marked = defaultdict(list)
        for e in events:
            if e[5].startswith("load:"):
                marked[e[5]].append(e)
        ok200 = lost_applied = lost_not_applied = stale = impossible = other = 0
        for marker, req in state.actions.items():
            evs = marked.get(marker, [])
            if req["status"] == 200:
                ok200 += 1
                if len(evs) != 1:
                    problem(f"action {marker} answered 200 but has {len(evs)} events")
                    continue
                e = evs[0]
                if (e[0], e[1], e[2]) != (req["event_id"], req["complaint"], req["action"]):
                    problem(f"action {marker}: answer {req} but event {e[:3]}")
                if result_version.get(e[0]) != req["result_version"]:
                    problem(
                        f"action {marker}: answered version {req['result_version']}, "
                        f"events give {result_version.get(e[0])}"
                    )
            elif req["status"] == "lost":
                if not req.get("lost_resolved"):
                    problem(f"action {marker}: answer lost and events unreadable")
                    continue
                if sorted(e[0] for e in evs) != sorted(req["lost_applied_events"]):
                    problem(f"action {marker}: events changed after the check")
                if len(evs) > 1:
                    problem(f"action {marker} applied {len(evs)} times")
                lost_applied += len(evs) == 1
                lost_not_applied += not evs
            else:
                stale += req["status"] == 409
                impossible += req["status"] == 422
                other += req["status"] not in (409, 422)
                if evs:
                    problem(f"action {marker} answered {req['status']} but has an event")
        unknown = set(marked) - set(state.actions)
        if unknown:
            problem(f"{len(unknown)} marked events no request knows of")
        n_marked = sum(len(v) for v in marked.values())
        checks["actions"] = {
            "answered_200": ok200,
            "answered_409": stale,
            "answered_422": impossible,
            "answered_other": other,
            "answer_lost_applied": lost_applied,
            "answer_lost_not_applied": lost_not_applied,
            "events": n_marked,
        }
        if n_marked != ok200 + lost_applied:
            problem(f"{n_marked} action events for {ok200} answers 200 + {lost_applied} lost")
        if other:
            problem(f"{other} actions answered neither 200, 409 nor 422")

        # 3. clocks: no breach (or warning) twice, every stamp has its event ----------------------
        stamps = defaultdict(lambda: [0, 0, 0, 0])  # breached rows, breach events, warned, warnings
        for pk, name, breached, warned in q(
            "SELECT complaint_id, name, breached_at IS NOT NULL, warned_at IS NOT NULL "
            "FROM clocks_clock"
        ).fetchall():
            stamps[(pk, name)][0] += breached
            stamps[(pk, name)][2] += warned
        for e in events:
            if e[2] == "clock_breached":
                stamps[(e[1], e[6]["clock"])][1] += 1
            elif e[2] == "clock_warning":
                stamps[(e[1], e[6]["clock"])][3] += 1
        # A breach stamps warned_at too (a clock past due gets no "将于…到期" any more), so a
        # warned stamp is matched by its warning or by its breach; never by two warnings.
        bad = {
            k: v
            for k, v in stamps.items()
            if v[0] != v[1] or v[3] > v[2] or (v[2] and not (v[3] == 1 or v[1] == 1))
        }
        if bad:
            problem(
                f"{len(bad)} clocks whose breach/warning events do not match: {list(bad.items())[:5]}"
            )
        (breaches_run,) = q(
            "SELECT count(*) FROM cases_event WHERE action = 'clock_breached' AND id > %s",
            [info["max_event"]],
        ).fetchone()
        checks["clocks"] = {
            "breached": sum(v[0] for v in stamps.values()),
            "breach_events": sum(v[1] for v in stamps.values()),
            "breach_events_during_run": breaches_run,
            "warned": sum(v[2] for v in stamps.values()),
            "warning_events": sum(v[3] for v in stamps.values()),
            "mismatched": len(bad),
        }
        # the sweep after each fault: breaches recorded after it
        after, first_breach = {}, {}
        for f in state.faults:
            n, first = q(
                "SELECT count(*), min(created_at) FROM cases_event "
                "WHERE action = 'clock_breached' AND created_at > %s",
                [datetime.fromtimestamp(f.wall_done, UTC)],
            ).fetchone()
            after[f.kind] = n
            first_breach[f.kind] = (
                round(first.timestamp() - f.wall_done, 2) if first is not None else None
            )
        checks["breaches_after_fault"] = after
        checks["first_breach_after_fault_s"] = first_breach

        # 4. no half-written case: every case (demo ones too) is whole --------------------------
        complaints = q("SELECT id, state, version, next_due_at FROM cases_complaint").fetchall()
        parties = dict(
            q(
                "SELECT complaint_id, count(*) FROM cases_party WHERE role = 'complainant' "
                "GROUP BY complaint_id"
            ).fetchall()
        )
        clocks_by = defaultdict(list)
        for pk, name, state_, due in q(
            "SELECT complaint_id, name, state, due_at FROM clocks_clock"
        ).fetchall():
            clocks_by[pk].append((name, state_, due))
        indexed = dict(
            q("SELECT complaint_id, count(*) FROM cases_search GROUP BY complaint_id").fetchall()
        )
        tasks = q(
            "SELECT t.complaint_id, t.department_id, t.state, t.closed_at IS NOT NULL, "
            "o.complaint_id, c.complaint_id, t.closed_by_id IS NOT NULL "
            "FROM cases_task t LEFT JOIN cases_event o ON o.id = t.opened_by_id "
            "LEFT JOIN cases_event c ON c.id = t.closed_by_id"
        ).fetchall()
        tasks_by = defaultdict(list)
        for t in tasks:
            tasks_by[t[0]].append(t)
        whole = 0
        for pk, state_, version, next_due in complaints:
            evs = by_complaint.get(pk, [])
            created = [e for e in evs if e[2] == "created"]
            faults_here = []
            if len(created) != 1 or not evs or evs[0][2] != "created" or evs[0][4] != initial:
                faults_here.append(f"registration events {[e[2] for e in evs[:3]]}")
            moves = [e for e in evs if e[2] in action_names]
            if version != 1 + len(moves):
                faults_here.append(f"version {version} but {len(moves)} action events")
            at = initial
            for e in moves:
                if e[3] != at:
                    faults_here.append(f"event {e[0]} from {e[3]}, case was {at}")
                at = e[4] or at
            if at != state_:
                faults_here.append(f"state {state_}, events end in {at}")
            if pk > base_c and parties.get(pk) != 1:
                faults_here.append(f"{parties.get(pk)} complainants (sent 1)")
            names = Counter(c[0] for c in clocks_by.get(pk, []))
            if any(names[n] < 1 for n in created_clocks):
                faults_here.append(f"clocks {dict(names)}")
            running = [c[2] for c in clocks_by.get(pk, []) if c[1] == "running"]
            if (min(running) if running else None) != next_due:
                faults_here.append(f"next_due_at {next_due} != nearest running clock")
            if indexed.get(pk) != 1:
                faults_here.append("not in the search index")
            open_depts = Counter()
            for _, dept, tstate, closed_at, opened_on, closed_on, closed_by in tasks_by.get(pk, []):
                if opened_on not in (pk, None) or (closed_by and closed_on != pk):
                    faults_here.append("task tied to another case's event")
                if (tstate == "open") == closed_at or (tstate == "done") != closed_by:
                    faults_here.append(f"task {tstate} closed_at={closed_at} closed_by={closed_by}")
                open_depts[dept] += tstate == "open"
            if state_ in closed and sum(open_depts.values()):
                faults_here.append(f"open tasks in closed state {state_}")
            if any(n > 1 for n in open_depts.values()):
                faults_here.append("two open tasks for one department")
            if faults_here:
                problem(f"complaint {pk}: {'; '.join(faults_here)}")
            else:
                whole += 1
        checks["cases_whole"] = {"complaints": len(complaints), "whole": whole}
    return {"checks": checks, "problems": problems}


# --- the whole run -----------------------------------------------------------------------------------


def run(stack: Stack, *, clients: int, duration: float, faults: bool, seed: int = 1) -> dict:
    """Run the load on a set-up stack, stop it, reconcile. Returns the report (JSON-able)."""
    random.seed(seed)
    state = State()
    load = Load(stack, state, clients, duration, seed)
    log(f"load: {clients} clients for {duration:g} s{' with faults' if faults else ''}")
    asyncio.run(load.run(faults))
    log(f"load finished after {load.elapsed:.1f} s; reconciling")
    fig = figures(state, load.elapsed)
    outcomes, unexplained = fault_outcomes(state)
    # The worker keeps running during reconciliation's first step (the sweep must catch up).
    result = reconcile(stack.cluster.dsn(), state, stack.setup_info)
    exits = stack.supervisor.exits if stack.supervisor else []
    stack.stop_services()
    planned = {f.detail.get("pid") for f in state.faults if f.kind == "tousu_worker_kill9"}
    unplanned = [e for e in exits if e["pid"] not in planned]
    problems = list(result["problems"])
    if unexplained["count"]:
        problems.append(f"{unexplained['count']} errors outside any fault window")
    for o in outcomes:
        if o["errors_after_recovery"]:
            problems.append(f"{o['errors_after_recovery']} errors persisted after {o['kind']}")
        if o["kind"] != "tousu_worker_kill9" and o["recovery_s"] is None:
            problems.append(f"no recovery after {o['kind']}")
    if fig["totals"]["unexpected"]:
        problems.append(f"{fig['totals']['unexpected']} unexpected answers")
    if state.challenges:
        problems.append(f"the portal guard challenged {state.challenges} forms")
    if unplanned:
        problems.append(f"the worker exited by itself {len(unplanned)} times: {unplanned[:3]}")
    return {
        "config": {
            "clients": clients,
            "duration_s": duration,
            "elapsed_s": round(load.elapsed, 1),
            "started_at": load.wall0,
            "faults": faults,
            "cpus": os.cpu_count(),
            "gunicorn_workers": 2,
            "worker_interval_s": stack.worker_interval,
            "postgres": str(stack.cluster.bin.parent.name),
            "backdated_api_submissions": state.backdated,
            "demo_data": stack.demo,
            "portal_challenges": state.challenges,
            "setup_s": {k: round(v, 1) for k, v in stack.timings.items()},
        },
        "figures": fig,
        "faults": outcomes,
        "errors_outside_fault_windows": unexplained,
        "worker_exits": exits,
        "reconciliation": result["checks"],
        "problems": problems,
    }


def print_report(report: dict) -> None:
    cfg, fig = report["config"], report["figures"]
    print(
        f"\nLoad: {cfg['clients']} clients, {cfg['elapsed_s']} s, faults "
        f"{'on' if cfg['faults'] else 'off'}, {cfg['cpus']} CPUs (shared machine: timings are noisy)"
    )
    head = f"{'kind':18} {'requests':>8} {'/s':>7} {'ok':>7} {'exp.4xx':>7} {'unexp':>5} {'5xx':>5} {'conn':>5} {'p50 ms':>8} {'p99 ms':>8}"
    print(head)
    print("-" * len(head))
    for kind, k in fig["per_kind"].items():
        print(
            f"{kind:18} {k['requests']:8} {k['per_s'] or 0:7.2f} {k['ok']:7} {k['expected_4xx']:7} "
            f"{k['unexpected']:5} {k['5xx']:5} {k['conn_errors']:5} "
            f"{k['p50_ms'] if k['p50_ms'] is not None else '-':>8} {k['p99_ms'] if k['p99_ms'] is not None else '-':>8}"
        )
    t = fig["totals"]
    print("-" * len(head))
    print(
        f"{'total':18} {t['requests']:8} {t['per_s'] or 0:7.1f} {t['ok']:7} {t['expected_4xx']:7} "
        f"{t['unexpected']:5} {t['5xx']:5} {t['conn_errors']:5} {t['p50_ms']:>8} {t['p99_ms']:>8}"
    )
    print(
        f"error rates: 5xx {100 * (t['5xx_rate'] or 0):.3f} %, connection errors "
        f"{100 * (t['conn_error_rate'] or 0):.3f} %, expected 4xx (409/422/wrong code) "
        f"{100 * (t['expected_4xx_rate'] or 0):.2f} %"
    )
    r = report["reconciliation"]
    c, a = r["complaints"], r["actions"]
    print(
        f"complaints: accepted {c['accepted']} (API 201 {c['api_201']}, portal receipts "
        f"{c['portal_receipts']}), stored {c['stored']}, stored twice {c['stored_twice']}, "
        f"unanswered {c['unanswered_submissions']}, API submissions retried {c['api_retried']}"
    )
    print(
        f"actions: 200 {a['answered_200']} + answer lost but applied {a['answer_lost_applied']} "
        f"= events {a['events']}; 409 {a['answered_409']}, 422 {a['answered_422']}, "
        f"lost and not applied {a['answer_lost_not_applied']}"
    )
    k = r["clocks"]
    print(
        f"clocks: breached {k['breached']} = breach events {k['breach_events']} "
        f"({k['breach_events_during_run']} during the run), warned {k['warned']} (warnings "
        f"{k['warning_events']}, the rest stamped by their breach); overdue and not breached at the end: {r['overdue_clocks_not_breached']}"
    )
    print(f"cases whole: {r['cases_whole']['whole']} of {r['cases_whole']['complaints']}")
    for f in report["faults"]:
        extra = {
            k: v
            for k, v in f.items()
            if k not in ("kind", "at_s", "recovery_s")
            and not (k == "persisting_examples" and not v)
        }
        print(
            f"fault {f['kind']} at {f['at_s']} s: recovery {f['recovery_s']} s; "
            f"breaches after it {r['breaches_after_fault'].get(f['kind'])} (first after "
            f"{r['first_breach_after_fault_s'].get(f['kind'])} s); {extra}"
        )
    print(f"worker exits: {report['worker_exits']}")
    print(f"errors outside fault windows: {report['errors_outside_fault_windows']}")
    if report["problems"]:
        print("NOT RECONCILED:")
        for p in report["problems"]:
            print("  -", p)
    else:
        print("RECONCILED: every answer matches the database exactly")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--duration", type=float, default=600)
    p.add_argument("--faults", action="store_true")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--worker-interval", type=float, default=2.0)
    p.add_argument(
        "--no-conn-health-checks",
        action="store_true",
        help="experiment: Django's CONN_HEALTH_CHECKS off, to see what a PostgreSQL restart does",
    )
    p.add_argument("--no-demo", action="store_true", help="no demo cases, fewer users (faster)")
    p.add_argument(
        "--keep", action="store_true", help="keep the temp dir (logs, cluster) for study"
    )
    args = p.parse_args()
    extra = 'DATABASES["default"]["CONN_HEALTH_CHECKS"] = False\n'
    stack = Stack(
        worker_interval=args.worker_interval,
        demo=not args.no_demo,
        keep=args.keep,
        settings_extra=extra if args.no_conn_health_checks else "",
    )
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    try:
        log(f"setting up in {stack.base}")
        stack.setup()
        log(f"ready: {stack.base_url}, PostgreSQL on port {stack.cluster.port}; {stack.timings}")
        report = run(
            stack, clients=args.clients, duration=args.duration, faults=args.faults, seed=args.seed
        )
    finally:
        stack.close()
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
