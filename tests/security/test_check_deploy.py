"""`tousu check [--deploy] [--fail-level LEVEL] [--tag TAG]`: Django's system checks from the tousu
command. With TOUSU_PRODUCTION=1 the deployment checks pass with only the documented silenced
warnings (HSTS preload, HSTS for subdomains); a development setup fails them at WARNING level."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tousu import cli
from tousu.settings import production_security


def test_production_passes_the_deployment_checks(tmp_path):
    """In a fresh process, as an operator runs it: settings read from the environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TOUSU_", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"))
    }
    env.update(TOUSU_DATA_DIR=str(tmp_path), ALLOWED_HOSTS="tousu.example.cn", TOUSU_PRODUCTION="1")
    r = subprocess.run(
        [sys.executable, "-m", "tousu.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "System check identified no issues (2 silenced)." in r.stdout
    assert "部署检查通过" in r.stdout


@pytest.fixture
def deployment(settings, monkeypatch):
    """This process's settings, as a deployment would have them (the test run sets DEBUG off and
    allows async-unsafe calls for Playwright; a deployment must not)."""
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    settings.ALLOWED_HOSTS = ["tousu.example.cn"]
    return settings


def test_development_settings_fail_the_deployment_checks_at_warning_level(deployment, capsys):
    assert cli.main(["check", "--deploy", "--fail-level", "WARNING"]) == 1
    err = capsys.readouterr().err
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in err, check
    assert "部署检查未通过" in err

    # At the default level (ERROR) the same warnings are shown, and do not fail.
    assert cli.main(["check", "--deploy"]) == 0
    captured = capsys.readouterr()
    assert "security.W004" in captured.err and "部署检查通过" in captured.out


def test_production_settings_pass_in_process(deployment, capsys):
    for name, value in production_security({"TOUSU_PRODUCTION": "1"}).items():
        setattr(deployment, name, value)
    assert cli.main(["check", "--deploy", "--fail-level", "WARNING"]) == 0
    assert "no issues (2 silenced)" in capsys.readouterr().out
    deployment.DEBUG = True
    assert cli.main(["check", "--deploy", "--fail-level", "WARNING"]) == 1
    assert "security.W018" in capsys.readouterr().err


def test_bad_usage(capsys):
    assert cli.main(["check", "--tag", "nope"]) == 2
    assert "未知的检查类别 nope" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main(["check", "--fail-level", "LOUD"])
    assert exc.value.code == 2


def test_ordinary_checks(capsys):
    assert cli.main(["check", "--tag", "models"]) == 0
    assert "系统检查通过" in capsys.readouterr().out
