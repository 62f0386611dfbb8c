"""deploy/: what an operator installs. The nginx site is accepted by nginx itself (`nginx -t`) where
nginx is installed, and read for what Tousu relies on everywhere; the systemd units start commands
that exist, with the environment file; the example environment names only settings Tousu reads."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SITE = DEPLOY / "nginx" / "tousu.conf"


def _directives(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def test_the_nginx_site_spreads_over_several_nodes_and_passes_what_tousu_trusts():
    site = _directives(SITE.read_text())
    upstream = re.search(r"upstream tousu_web \{(.*?)\}", site, re.S).group(1)
    assert len(re.findall(r"^\s*server \S+:\d+", upstream, re.M)) >= 2
    assert "proxy_pass http://tousu_web;" in site
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in site
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert "proxy_set_header Host $host;" in site
    assert "non_idempotent" not in site  # a POST is never sent twice
    body = int(re.search(r"client_max_body_size (\d+)m;", site).group(1))
    assert body * 1024 * 1024 >= 5 * settings.TOUSU_ATTACHMENT_MAX_BYTES


def test_nginx_accepts_the_site(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        # Debian's nginx is not on this machine: the structural test above still holds.
        return
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=tousu.example.cn",
            "-keyout",
            str(tmp_path / "privkey.pem"),
            "-out",
            str(tmp_path / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )
    site = SITE.read_text().replace("/etc/ssl/tousu/", f"{tmp_path}/")
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "tousu.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  include {tmp_path}/tousu.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_units_start_existing_commands_with_the_environment_file():
    from tousu.cli import build_parser

    parser = build_parser()
    for name, command in (("tousu-web", "serve"), ("tousu-worker", "worker")):
        unit = (DEPLOY / "systemd" / f"{name}.service").read_text()
        assert "EnvironmentFile=/etc/tousu/tousu.env" in unit
        start = re.search(r"^ExecStart=(\S+) (.+)$", unit, re.M)
        assert start.group(1).endswith("/bin/tousu")
        args = parser.parse_args(start.group(2).split())
        assert args.cmd == command
        assert "Restart=always" in unit and "User=tousu" in unit


def test_the_example_environment_names_only_settings_tousu_reads():
    names = set()
    for line in (DEPLOY / "tousu.env.example").read_text().splitlines():
        m = re.match(r"^#?([A-Z][A-Z0-9_]+)=", line)
        if m:
            names.add(m.group(1))
    sources = "".join(p.read_text() for p in (ROOT / "src" / "tousu").rglob("*.py"))
    unread = sorted(n for n in names if f'"{n}"' not in sources)
    assert not unread, unread
    for needed in ("DATABASE_URL", "SECRET_KEY", "TOUSU_STORAGE", "TOUSU_TRUSTED_PROXIES"):
        assert needed in names
