"""Django settings for Tousu, configured by environment variables.

DATABASE_URL     sqlite:///path or postgres://user@host:port/db (default: SQLite in the data dir)
DATABASE_REPLICA_URL  a PostgreSQL streaming replica for reports, exports and the dashboard
                 (see databases() below; default: none)
TOUSU_STORAGE    filesystem (default) or s3 for attachments, documents and reports, with
                 TOUSU_S3_* (see file_storages() below and docs/deploy.md)
TOUSU_DATA_DIR   where the database, attachments and generated files live (default ./var)
SECRET_KEY       signing key (default: a random key kept in the data dir)
ALLOWED_HOSTS    comma-separated host names (default: 127.0.0.1,localhost)
TOUSU_DEBUG      1 for Django's debug pages (default 0)
TOUSU_PRODUCTION 1 when served over HTTPS to users: HSTS, secure cookies, HTTPS redirect (default 0)
                 (see "Security headers" below for TOUSU_HSTS_SECONDS, TOUSU_SSL_REDIRECT,
                 TOUSU_HSTS_INCLUDE_SUBDOMAINS and TOUSU_BEHIND_PROXY)
"""

import os
import secrets
import sys
import tempfile
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from tousu.installed import TOUSU_APPS

BASE_DIR = Path(__file__).resolve().parent
if "pytest" in sys.modules and "TOUSU_DATA_DIR" not in os.environ:
    # Tests never touch a developer's ./var: pytest-django imports settings before any conftest.
    os.environ["TOUSU_DATA_DIR"] = tempfile.mkdtemp(prefix="tousu-test-")
DATA_DIR = Path(os.environ.get("TOUSU_DATA_DIR", Path.cwd() / "var")).resolve()
# The data directory holds the database, attachments, documents and backups: everyone's personal
# data, for the service's own user only (files 0600 through the umask `tousu` sets and the upload
# permissions below).
DATA_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    # A stable key per data dir, so sessions survive restarts without configuration.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("TOUSU_DEBUG", "0") == "1"
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "tousu.ops.apps.AxesConfig",  # django-axes, under a Chinese name
    "django_tasks",
    "tousu.ops.apps.TasksDatabaseConfig",  # django_tasks_db, under a Chinese name
    "ninja",
    *TOUSU_APPS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tousu.accounts.middleware.AccountMiddleware",  # one-time passwords, user-name limit, no-store
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tousu.urls"
WSGI_APPLICATION = "tousu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],  # admin/base_site.html: the favicon
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tousu.web.context.workbench",
            ],
        },
    },
]


def _database(url: str) -> dict:
    db = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db["ENGINE"] = "tousu.db.sqlite"  # SQLite plus a write lock without busy polling
        # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so two
        # writers queue on busy_timeout instead of failing halfway with "database is locked".
        db["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
        # A file, not shared-cache memory, so tests with threads see real locking (busy_timeout).
        db["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    else:
        db.setdefault("TEST", {})["TEMPLATE"] = "template0"
        db["TEST"]["CHARSET"] = "UTF8"
    return db


def databases(env, data_dir: Path) -> tuple[dict, list[str]]:
    """The primary, and a streaming replica when DATABASE_REPLICA_URL is set (PostgreSQL, a
    hot standby of the primary): reports, exports and the dashboard read from it while its lag stays
    within TOUSU_REPLICA_MAX_LAG seconds (default 30), checked at most every
    TOUSU_REPLICA_CHECK_SECONDS (default 5); see tousu/db/replica.py. Writes never go there."""
    dbs = {
        "default": _database(env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'tousu.sqlite3'}")
    }
    replica_url = env.get("DATABASE_REPLICA_URL", "").strip()
    if not replica_url:
        return dbs, []
    replica = _database(replica_url)
    if (
        replica["ENGINE"] != "django.db.backends.postgresql"
        or dbs["default"]["ENGINE"] != replica["ENGINE"]
    ):
        raise ValueError(
            "DATABASE_REPLICA_URL 只能与 PostgreSQL 主库一起使用，且必须是 postgres:// 地址"
        )
    # Tests run against the primary's test database: the replica mirrors it.
    replica["TEST"] = {"MIRROR": "default"}
    dbs["replica"] = replica
    return dbs, ["tousu.db.replica.ReplicaRouter"]


DATABASES, DATABASE_ROUTERS = databases(os.environ, DATA_DIR)
TOUSU_REPLICA_MAX_LAG = float(os.environ.get("TOUSU_REPLICA_MAX_LAG", "30") or 30)
TOUSU_REPLICA_CHECK_SECONDS = float(os.environ.get("TOUSU_REPLICA_CHECK_SECONDS", "5") or 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # lock-out after repeated failures (django-axes)
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours: a locked account opens again after 15 minutes
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked.html"
# The lock-out counts by the client's address as the portal's limits do: behind a reverse proxy the
# one it saw (TOUSU_TRUSTED_PROXIES), never an address a client wrote into X-Forwarded-For.
AXES_CLIENT_IP_CALLABLE = "tousu.accounts.security.client_address"
# How many reverse proxies (nginx …) stand in front and append to X-Forwarded-For; 0: none, the
# socket's peer is the client.
TOUSU_TRUSTED_PROXIES = int(os.environ.get("TOUSU_TRUSTED_PROXIES", "0") or 0)
LOGIN_URL = "web:login"  # staff log in at /staff/login/; complainants never log in
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
SESSION_COOKIE_AGE = 8 * 3600  # one working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = True


# --- Security headers and cookies -----------------------------------------------------------------
# Every response carries a Content-Security-Policy (django-csp 4): scripts and styles come only from
# our own static files, never inline (no onclick=, no <script> blocks, no style= attributes in pages;
# the PDF templates' <style> blocks are read by WeasyPrint, not by a browser). img-src allows data:
# for the QR code and charts; frame-ancestors 'none' and X-Frame-Options DENY forbid framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"


def production_security(env) -> dict:
    """The HTTPS-only settings, from the environment. Off unless TOUSU_PRODUCTION=1: `make run` and
    intranet trials serve plain HTTP on 127.0.0.1, where secure cookies would make logging in
    impossible. TOUSU_DEBUG=1 is never production.

    TOUSU_PRODUCTION=1               HSTS, Secure session and CSRF cookies, redirect HTTP to HTTPS
    TOUSU_HSTS_SECONDS=N             HSTS max-age (default one year; 0 switches HSTS off)
    TOUSU_HSTS_INCLUDE_SUBDOMAINS=1  HSTS for subdomains too: only when every intranet host under
                                     the domain speaks HTTPS (so off by default, check W005 silenced)
    TOUSU_SSL_REDIRECT=0             leave the HTTP-to-HTTPS redirect to the proxy (check W008
                                     silenced)
    TOUSU_BEHIND_PROXY=1             trust X-Forwarded-Proto from the TLS-terminating proxy (nginx
                                     must set it, and strip it from clients)

    HSTS preload (check W021) is always silenced: preload lists are for public domains, and an
    intranet name must not be sent to browser vendors."""
    if env.get("TOUSU_PRODUCTION", "0") != "1" or env.get("TOUSU_DEBUG", "0") == "1":
        return {"SILENCED_SYSTEM_CHECKS": []}
    silenced = ["security.W021"]
    include_subdomains = env.get("TOUSU_HSTS_INCLUDE_SUBDOMAINS", "0") == "1"
    if not include_subdomains:
        silenced.append("security.W005")
    redirect = env.get("TOUSU_SSL_REDIRECT", "1") == "1"
    if not redirect:
        silenced.append("security.W008")
    return {
        "SECURE_HSTS_SECONDS": int(env.get("TOUSU_HSTS_SECONDS", str(365 * 24 * 3600))),
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": include_subdomains,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_SSL_REDIRECT": redirect,
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")
        if env.get("TOUSU_BEHIND_PROXY", "0") == "1"
        else None,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SILENCED_SYSTEM_CHECKS": silenced,
    }


globals().update(production_security(os.environ))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
# Chinese for what Django's admin and the third-party apps leave in English.
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # filled by collectstatic in production; finders serve in between
MEDIA_ROOT = DATA_DIR / "attachments"  # never served directly: downloads go through a view
FILE_UPLOAD_PERMISSIONS = 0o600  # attachments and documents: the service's user only
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700


def file_storages(env, data_dir: Path) -> dict:
    """Where attachments ("default"), issued documents ("documents") and periodic reports
    ("reports") are kept: folders under the data directory (the embedded default), or one bucket of
    an S3-compatible object store (MinIO, Aliyun OSS, Tencent COS) shared by every web node and
    worker when TOUSU_STORAGE=s3. Either way files are read through Django's storage API and served
    only by Tousu's views, after its permission checks: the bucket is private, never linked to.

    TOUSU_STORAGE=s3               object storage instead of the data directory
    TOUSU_S3_ENDPOINT_URL          e.g. https://minio.example:9000, https://oss-cn-hangzhou.aliyuncs.com,
                                   https://cos.ap-guangzhou.myqcloud.com
    TOUSU_S3_BUCKET                the bucket (it must exist; Tousu never creates or lists buckets)
    TOUSU_S3_ACCESS_KEY, TOUSU_S3_SECRET_KEY   the keys of an account limited to that bucket
    TOUSU_S3_REGION                the region name, if the service wants one (default: none)
    TOUSU_S3_ADDRESSING_STYLE      path (MinIO, default) or virtual (Aliyun OSS, Tencent COS)
    TOUSU_S3_PREFIX                a folder inside the bucket for this installation (default: none)
    """
    kind = env.get("TOUSU_STORAGE", "filesystem").strip().lower() or "filesystem"
    static = {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"}
    if kind == "filesystem":

        def folder(path: Path) -> dict:
            return {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(path)},
            }

        return {
            # No location: FileSystemStorage follows MEDIA_ROOT (data_dir / "attachments"), and so
            # does a test or deployment that changes MEDIA_ROOT.
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "documents": folder(data_dir / "documents"),
            "reports": folder(data_dir / "reports"),
            "staticfiles": static,
        }
    if kind != "s3":
        raise ValueError(f"TOUSU_STORAGE 只能是 filesystem 或 s3，现在是「{kind}」")
    missing = [
        name
        for name in (
            "TOUSU_S3_ENDPOINT_URL",
            "TOUSU_S3_BUCKET",
            "TOUSU_S3_ACCESS_KEY",
            "TOUSU_S3_SECRET_KEY",
        )
        if not env.get(name, "").strip()
    ]
    if missing:
        raise ValueError("TOUSU_STORAGE=s3 还需要设置：" + "、".join(missing))
    style = env.get("TOUSU_S3_ADDRESSING_STYLE", "path").strip() or "path"
    if style not in ("path", "virtual"):
        raise ValueError(f"TOUSU_S3_ADDRESSING_STYLE 只能是 path 或 virtual，现在是「{style}」")
    prefix = env.get("TOUSU_S3_PREFIX", "").strip().strip("/")

    def bucket(folder: str) -> dict:
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "endpoint_url": env["TOUSU_S3_ENDPOINT_URL"].strip(),
                "bucket_name": env["TOUSU_S3_BUCKET"].strip(),
                "access_key": env["TOUSU_S3_ACCESS_KEY"].strip(),
                "secret_key": env["TOUSU_S3_SECRET_KEY"].strip(),
                "region_name": env.get("TOUSU_S3_REGION", "").strip() or None,
                "addressing_style": style,
                "signature_version": "s3v4",
                "location": f"{prefix}/{folder}" if prefix else folder,
                # Random names already (attachment_path …); never replace an existing object.
                "file_overwrite": False,
                # Private objects: no ACL header (OSS and COS refuse some), no public URLs.
                "default_acl": None,
                "querystring_auth": True,
                "querystring_expire": 300,
            },
        }

    return {
        "default": bucket("attachments"),
        "documents": bucket("documents"),
        "reports": bucket("reports"),
        "staticfiles": static,
    }


STORAGES = file_storages(os.environ, DATA_DIR)
WHITENOISE_USE_FINDERS = True  # serve app static files without a collectstatic step in development

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# E-mail (staff notifications, complainant messages, reports): Django's SMTP backend as soon as
# EMAIL_HOST is given, else printed to the console. EMAIL_PORT, EMAIL_HOST_USER,
# EMAIL_HOST_PASSWORD, EMAIL_USE_TLS / EMAIL_USE_SSL (1 or 0) and EMAIL_TIMEOUT (seconds) as in Django.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
EMAIL_USE_SSL = os.environ.get("EMAIL_USE_SSL", "0") == "1"
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "tousu@localhost")

# SMS to complainants (tousu.messaging.sms): log (kept in the database, shown to administrators),
# aliyun or tencent, each configured by its TOUSU_SMS_ALIYUN_* / TOUSU_SMS_TENCENT_* variables.
TOUSU_SMS_BACKEND = os.environ.get("TOUSU_SMS_BACKEND", "log")

# Upload limits: attachments are checked by content type and size in the service layer too.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
TOUSU_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024

NINJA_PAGINATION_PER_PAGE = 50

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TOUSU_LOG_LEVEL", "WARNING")},
}

# bench/intake.py measures intake against a view that only inserts one row; off unless asked for.
TOUSU_BENCH_FLOOR = os.environ.get("TOUSU_BENCH_FLOOR") == "1"
