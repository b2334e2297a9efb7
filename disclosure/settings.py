"""Settings for Disclosure, read from the environment.

Every value has an embedded default that runs the app on a fresh machine:
SQLite, eager Celery, console e-mail and evidence in a private folder, in
debug mode (``DJANGO_DEBUG=1``, which ``make run``, the tests and CI set).
Without it the mode is production's, which refuses to start without a real
``SECRET_KEY``. See the configuration table in README.md.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Production unless debug is turned on explicitly (make run, the tests and
# CI set DJANGO_DEBUG=1): a forgotten variable must not serve debug pages
# signed with the public development key.
DEBUG = env.bool("DJANGO_DEBUG", default=False)

_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"


def _production_secret_key(key: str) -> str:
    """``key`` if it is fit for production (the thresholds of Django's
    deploy check, security.W009); ImproperlyConfigured otherwise, naming why
    but never the key."""
    if not key:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in production mode (DJANGO_DEBUG unset or 0); "
            "set DJANGO_DEBUG=1 for development."
        )
    if key == _DEV_SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY is the public development key: not in production.")
    if len(key) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak for production: use at least 50 characters "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))").'
        )
    if len(set(key)) < 5:
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak for production: use at least 5 different characters "
            "(a random key)."
        )
    return key


_GIVEN_SECRET_KEY = env.str("SECRET_KEY", default="")
SECRET_KEY = (
    (_GIVEN_SECRET_KEY or _DEV_SECRET_KEY) if DEBUG else _production_secret_key(_GIVEN_SECRET_KEY)
)

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_filters",
    "csp",
    "django_otp",  # second factors (accounts.mfa)
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "disclosure.core",
    "disclosure.accounts",
    "disclosure.cases",
    "disclosure.ledger",
    "disclosure.comms",
    "disclosure.evidence",
    "disclosure.affected",
    "disclosure.lookups",  # verified lookup of affected domains (issue 19)
    "disclosure.tokens",
    "disclosure.intake",
    "disclosure.exports",
    "disclosure.watchers",  # deadlines (watchers.deadlines)
    "disclosure.probes",  # re-probes of exposed assets
    "disclosure.webhooks",
    "disclosure.staff",
    "disclosure.portal",
    "disclosure.api",
    "disclosure.demo",  # seed_demo and its data: not part of the domain
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "disclosure.core.middleware.DownloadSandboxMiddleware",  # after CSP: answers first
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The request's address for the access audit and the lock-out (accounts.audit).
    "disclosure.accounts.audit.AuditAddressMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Headers on every response. The Content-Security-Policy (django-csp) allows
# nothing inline: scripts and styles come from static/ (htmx is told not to
# inject its indicator style, templates/*/base.html); the API docs add a
# nonce for their own inline script and style (disclosure.api.urls). Every
# download overrides it with core.responses.DOWNLOAD_CSP. Frames: none.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # Pico's and the admin's icons are data: SVGs
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

ROOT_URLCONF = "disclosure.urls"
WSGI_APPLICATION = "disclosure.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3 is the driver; connections are reused within a worker.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
# The API's token lookup is a statement prepared once per PostgreSQL session:
# turn it off behind a transaction-mode pooler (PgBouncer pool_mode=transaction),
# whose sessions are not the application's.
DISCLOSURE_DB_PREPARED_STATEMENTS = env.bool("DB_PREPARED_STATEMENTS", default=True)

# The cache every process shares: API throttles count in it and the Celery
# worker warms the dashboard's figures in it. Local memory (per process) by
# default; production: CACHE_URL=redis://host:6379/2 (check --deploy warns
# without a shared one, core.W001).
CACHES = {"default": env.cache_url_config(env.str("CACHE_URL", default="") or "locmemcache://")}

LOGIN_URL = "staff:login"
LOGIN_REDIRECT_URL = "staff:dashboard"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Sign-in security (accounts.lockout, accounts.mfa; README "Sign-in security").
# Staff roles must sign in with a second factor (TOTP or a recovery code);
# vendor contacts may. Turning it off is refused outside DEBUG (accounts.checks).
DISCLOSURE_STAFF_MFA_REQUIRED = env.bool("DISCLOSURE_STAFF_MFA_REQUIRED", default=True)
# Failed sign-ins (wrong password, wrong sign-in page, wrong code) that lock an
# account, and failures (also wrong API tokens) that lock an address, within
# the window; a lock lasts until the window has passed or an admin unlocks it.
DISCLOSURE_LOCKOUT_ACCOUNT_FAILURES = env.int("DISCLOSURE_LOCKOUT_ACCOUNT_FAILURES", default=5)
DISCLOSURE_LOCKOUT_ADDRESS_FAILURES = env.int("DISCLOSURE_LOCKOUT_ADDRESS_FAILURES", default=20)
DISCLOSURE_LOCKOUT_MINUTES = env.int("DISCLOSURE_LOCKOUT_MINUTES", default=15)
# The issuer name an authenticator app shows beside the account.
OTP_TOTP_ISSUER = env.str("DISCLOSURE_OTP_ISSUER", default="Disclosure")
# A password-reset link works for this long (Django's token generator).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)

AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]

# Evidence lives in a private folder that no URL serves: it has no MEDIA_URL
# and the storage has no base_url, so files reach users only through views
# that check access.
PRIVATE_STORAGE_ROOT = Path(env.path("PRIVATE_STORAGE_ROOT", default=BASE_DIR / "var" / "private"))
STORAGES = {
    "default": {
        "BACKEND": "disclosure.evidence.storage.PrivateFileSystemStorage",
        "OPTIONS": {"location": PRIVATE_STORAGE_ROOT / "default", "base_url": None},
    },
    "evidence": {
        "BACKEND": "disclosure.evidence.storage.PrivateFileSystemStorage",
        "OPTIONS": {
            "location": PRIVATE_STORAGE_ROOT / "evidence",
            "base_url": None,
            "file_permissions_mode": 0o640,
            "directory_permissions_mode": 0o750,
        },
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
# Or S3-compatible object storage (django-storages; docs/DEPLOY.md): set
# EVIDENCE_S3_BUCKET. Objects are private and have no URL at all: downloads
# still go through the access-checking views (evidence.storage.PrivateS3Storage).
EVIDENCE_S3_BUCKET = env.str("EVIDENCE_S3_BUCKET", default="")
if EVIDENCE_S3_BUCKET:
    STORAGES["evidence"] = {
        "BACKEND": "disclosure.evidence.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": EVIDENCE_S3_BUCKET,
            "endpoint_url": env.str("EVIDENCE_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("EVIDENCE_S3_REGION", default="") or None,
            "access_key": env.str("EVIDENCE_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("EVIDENCE_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("EVIDENCE_S3_PREFIX", default=""),
            "addressing_style": env.str("EVIDENCE_S3_ADDRESSING_STYLE", default="path"),
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": True,  # content-addressed: the same name is the same bytes
        },
    }
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=2 * 1024**3)
# Stored evidence is re-hashed routinely, one hourly slice at a time: every
# file once per this many hours (a week; evidence.rotation).
EVIDENCE_CHECK_PASS_HOURS = env.int("EVIDENCE_CHECK_PASS_HOURS", default=7 * 24)
# The content of a closed case's evidence files is purged this many days
# after closing, unless the case is on legal hold; a lead or an admin may set
# another period per case (evidence.retention). The hash, size and name stay.
DISCLOSURE_RETENTION_DAYS = env.int("DISCLOSURE_RETENTION_DAYS", default=365)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="disclosure@localhost")
# SMTP (EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend): Django's own settings.
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# Case mail (comms): Message-IDs are <...@DISCLOSURE_MAIL_DOMAIN>; replies go
# to DISCLOSURE_REPLY_ADDRESS with {reference} filled in (a plus address of
# the mailbox Disclosure reads), so they lead back to the case.
DISCLOSURE_MAIL_DOMAIN = env.str(
    "DISCLOSURE_MAIL_DOMAIN", default=DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
)
DISCLOSURE_REPLY_ADDRESS = env.str(
    "DISCLOSURE_REPLY_ADDRESS",
    default="{local}+{{reference}}@{domain}".format(
        local=DEFAULT_FROM_EMAIL.rpartition("@")[0] or "disclosure",
        domain=DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost",
    ),
)
# The outbox (comms.outbox): attempts before a message is marked failed, the
# first retry's delay (doubled each time, capped at an hour), and how long a
# worker holds a message it is sending before another may take it.
DISCLOSURE_MAIL_MAX_ATTEMPTS = env.int("DISCLOSURE_MAIL_MAX_ATTEMPTS", default=8)
DISCLOSURE_MAIL_RETRY_SECONDS = env.int("DISCLOSURE_MAIL_RETRY_SECONDS", default=60)
DISCLOSURE_MAIL_LEASE_SECONDS = env.int("DISCLOSURE_MAIL_LEASE_SECONDS", default=300)
# Webhooks (disclosure.webhooks): the same outbox engine as mail; attempts
# before a delivery fails, the first retry's delay (doubled, capped at an
# hour), a worker's lease on a delivery, and each POST's time-out.
DISCLOSURE_WEBHOOK_MAX_ATTEMPTS = env.int("DISCLOSURE_WEBHOOK_MAX_ATTEMPTS", default=8)
DISCLOSURE_WEBHOOK_RETRY_SECONDS = env.int("DISCLOSURE_WEBHOOK_RETRY_SECONDS", default=30)
DISCLOSURE_WEBHOOK_LEASE_SECONDS = env.int("DISCLOSURE_WEBHOOK_LEASE_SECONDS", default=60)
DISCLOSURE_WEBHOOK_TIMEOUT = env.int("DISCLOSURE_WEBHOOK_TIMEOUT", default=10)
# Inbound mail (comms.inbound): an IMAP mailbox, e.g.
# imaps://user:password@mail.example:993/INBOX?processed=Disclosure (processed
# mail is moved to that folder; without it, flagged \Seen and left), with
# DISCLOSURE_IMAP_CA naming CA certificates to trust besides the system's; and
# a local Maildir (the embedded default, so `make run` needs no mail server).
DISCLOSURE_IMAP_URL = env.str("DISCLOSURE_IMAP_URL", default="")
DISCLOSURE_IMAP_CA = env.str("DISCLOSURE_IMAP_CA", default="")
DISCLOSURE_IMAP_TIMEOUT = env.int("DISCLOSURE_IMAP_TIMEOUT", default=30)
DISCLOSURE_MAILDIR = env.str("DISCLOSURE_MAILDIR", default=str(BASE_DIR / "var" / "mail" / "inbox"))
# A received message larger than this is refused (kept in the mailbox, with
# the reason in the triage list): 80 MB holds a 50 MB attachment in base64.
DISCLOSURE_MAIL_MAX_BYTES = env.int("DISCLOSURE_MAIL_MAX_BYTES", default=80 * 1000 * 1000)

# Deadline reminders (watchers.deadlines): days before each deadline, e.g. "3,1".
DISCLOSURE_REMINDER_DAYS = env.str("DISCLOSURE_REMINDER_DAYS", default="3,1")

# Celery: eager (in-process) when no broker is configured.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_BROKER_URL == "filesystem://":
    # `make worker` without a broker: beat and a worker share folders under
    # var/celery (the periodic tasks, e.g. fetching mail, run on a machine
    # with no Redis; the web process stays eager).
    _celery_queue = BASE_DIR / "var" / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_queue / "queue"),
        "data_folder_out": str(_celery_queue / "queue"),
        "control_folder": str(_celery_queue / "control"),
    }
    for _folder in ("queue", "control"):
        (_celery_queue / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE = {
    "deadline-pass-hourly": {  # reminders, missed deadlines, unresponsive vendors (once each)
        "task": "disclosure.watchers.tasks.run_deadline_pass",
        "schedule": crontab(minute=5),
    },
    "verify-ledger-nightly": {
        "task": "disclosure.ledger.tasks.verify_all_chains",
        "schedule": 24 * 60 * 60,
    },
    "ledger-checkpoint-hourly": {
        "task": "disclosure.ledger.tasks.write_checkpoint",
        "schedule": 60 * 60,
    },
    "warm-dashboard-stage-times": {
        "task": "disclosure.cases.tasks.warm_stage_times",
        "schedule": 240,  # the figures are cached for 300 s
    },
    "sweep-orphan-evidence-hourly": {
        "task": "disclosure.evidence.tasks.sweep_orphan_blobs",
        "schedule": 60 * 60,
    },
    "check-stored-evidence-hourly": {  # one slice of EVIDENCE_CHECK_PASS_HOURS
        "task": "disclosure.evidence.tasks.check_stored_evidence",
        "schedule": 60 * 60,
    },
    "purge-expired-evidence-daily": {  # DISCLOSURE_RETENTION_DAYS; a rerun purges nothing twice
        "task": "disclosure.evidence.tasks.purge_expired_evidence",
        "schedule": crontab(hour=env.int("DISCLOSURE_PURGE_HOUR", default=3), minute=30),
    },
    "timestamp-checkpoints": {  # retries RFC 3161 tokens a down TSA delayed
        "task": "disclosure.ledger.tasks.timestamp_checkpoints",
        "schedule": 10 * 60,
    },
    "dispatch-outbox": {  # what a lost broker or a down mail server left queued
        "task": "disclosure.comms.tasks.dispatch_outbox",
        "schedule": 60,
    },
    "fetch-mail": {
        "task": "disclosure.comms.tasks.fetch_mail",
        "schedule": 60,
    },
    "run-due-probes": {  # each case at its own interval (probes.runs)
        "task": "disclosure.probes.tasks.run_due_probes",
        "schedule": 5 * 60,
    },
    "send-digests-daily": {  # once a day at DISCLOSURE_DIGEST_HOUR (UTC); a rerun sends nothing
        "task": "disclosure.comms.tasks.send_digests",
        "schedule": crontab(hour=env.int("DISCLOSURE_DIGEST_HOUR", default=7), minute=0),
    },
}

# Ledger checkpoints: signed with the deployment's Ed25519 key (PEM, or the
# path of a PEM file; a development key is generated in debug mode) and
# written, besides the database, to the anchor directory: mount write-once
# storage there or copy its files off-site (README).
DISCLOSURE_LEDGER_SIGNING_KEY = env.str("DISCLOSURE_LEDGER_SIGNING_KEY", default="")
DISCLOSURE_LEDGER_TRUSTED_KEYS = env.list("DISCLOSURE_LEDGER_TRUSTED_KEYS", default=[])
DISCLOSURE_ANCHOR_DIR = Path(env.path("DISCLOSURE_ANCHOR_DIR", default=BASE_DIR / "var" / "anchor"))

# Trusted time (RFC 3161): with a time-stamping authority's URL, exports are
# signed PAdES B-T and every checkpoint gets a timestamp token over its hash
# (a TSA that is down delays a checkpoint's token, retried by beat; an export
# is then signed B-B, logged). DISCLOSURE_TSA_TRUST: the CA certificates
# (PEM text or a file path) the TSA must chain to, for verify_ledger.
DISCLOSURE_TSA_URL = env.str("DISCLOSURE_TSA_URL", default="")
DISCLOSURE_TSA_TRUST = env.str("DISCLOSURE_TSA_TRUST", default="")
DISCLOSURE_TSA_TIMEOUT = env.int("DISCLOSURE_TSA_TIMEOUT", default=10)

# Export signing (PAdES): the firm's private key and certificate, and the CA
# certificates up to the root, each as PEM text or the path of a PEM file
# (`manage.py make_signing_cert` makes development ones). Without a key and a
# certificate, exports are left unsigned; setting only one is an error.
DISCLOSURE_EXPORT_SIGNING_KEY = env.str("DISCLOSURE_EXPORT_SIGNING_KEY", default="")
DISCLOSURE_EXPORT_SIGNING_CERT = env.str("DISCLOSURE_EXPORT_SIGNING_CERT", default="")
DISCLOSURE_EXPORT_SIGNING_CHAIN = env.str("DISCLOSURE_EXPORT_SIGNING_CHAIN", default="")
DISCLOSURE_EXPORT_SIGNING_KEY_PASSPHRASE = env.str(
    "DISCLOSURE_EXPORT_SIGNING_KEY_PASSPHRASE", default=""
)
# Affected entities (affected.parsing): the deployment's key for the keyed
# hash (HMAC-SHA-256) of e-mail addresses; a case that minimises keeps only
# that hash. Set it once and keep it: distinct addresses are counted by their
# hash, so a changed key splits old and new imports. Default: derived from
# SECRET_KEY.
DISCLOSURE_AFFECTED_HASH_KEY = env.str("DISCLOSURE_AFFECTED_HASH_KEY", default="") or (
    "affected-email-hash:" + SECRET_KEY
)

# The guarded client (core.guarded_http) for every fetch whose address a user
# gave (re-probes, webhooks): private, loopback and link-local addresses are
# refused unless DISCLOSURE_FETCH_ALLOW_PRIVATE is on (tests, a lab) or the
# address lies in DISCLOSURE_FETCH_ALLOWED_NETWORKS (CIDRs, e.g. an internal
# receiver); cloud metadata addresses always are. Time-out (seconds, the whole
# exchange) and body cap (bytes) per request; DISCLOSURE_FETCH_CA_FILE: CA
# certificates to trust besides the system's.
DISCLOSURE_FETCH_ALLOW_PRIVATE = env.bool("DISCLOSURE_FETCH_ALLOW_PRIVATE", default=False)
DISCLOSURE_FETCH_ALLOWED_NETWORKS = env.list("DISCLOSURE_FETCH_ALLOWED_NETWORKS", default=[])
DISCLOSURE_FETCH_TIMEOUT = env.float("DISCLOSURE_FETCH_TIMEOUT", default=10.0)
DISCLOSURE_FETCH_MAX_BYTES = env.int("DISCLOSURE_FETCH_MAX_BYTES", default=1024 * 1024)
DISCLOSURE_FETCH_CA_FILE = env.str("DISCLOSURE_FETCH_CA_FILE", default="")

# Verified lookup (lookups): a portal account proves control of a domain (a
# code mailed to a role address or its security.txt contact, or a DNS TXT
# record) and may then ask which cases mention it. A mailed code lives
# CODE_MINUTES and allows CODE_ATTEMPTS tries; a DNS challenge waits
# DNS_PENDING_HOURS; a verification holds VERIFIED_DAYS. DNS_RESOLVER:
# "host[:port]" (comma-separated for several) or "" for the system's.
# Rates (N/min, N/hour, N/day): lookups per account and per client address,
# verification steps (codes sent, security.txt fetched, DNS checks) per account.
DISCLOSURE_LOOKUP_CODE_MINUTES = env.int("DISCLOSURE_LOOKUP_CODE_MINUTES", default=60)
DISCLOSURE_LOOKUP_CODE_ATTEMPTS = env.int("DISCLOSURE_LOOKUP_CODE_ATTEMPTS", default=5)
DISCLOSURE_LOOKUP_DNS_PENDING_HOURS = env.int("DISCLOSURE_LOOKUP_DNS_PENDING_HOURS", default=72)
DISCLOSURE_LOOKUP_VERIFIED_DAYS = env.int("DISCLOSURE_LOOKUP_VERIFIED_DAYS", default=90)
DISCLOSURE_LOOKUP_DNS_RESOLVER = env.str("DISCLOSURE_LOOKUP_DNS_RESOLVER", default="")
DISCLOSURE_LOOKUP_DNS_TIMEOUT = env.float("DISCLOSURE_LOOKUP_DNS_TIMEOUT", default=5.0)
DISCLOSURE_LOOKUP_SECURITY_TXT_URL = env.str(
    "DISCLOSURE_LOOKUP_SECURITY_TXT_URL", default="https://{domain}/.well-known/security.txt"
)
DISCLOSURE_LOOKUP_RATE_ACCOUNT = env.str("DISCLOSURE_LOOKUP_RATE_ACCOUNT", default="20/hour")
DISCLOSURE_LOOKUP_RATE_ADDRESS = env.str("DISCLOSURE_LOOKUP_RATE_ADDRESS", default="60/hour")
DISCLOSURE_LOOKUP_RATE_VERIFY = env.str("DISCLOSURE_LOOKUP_RATE_VERIFY", default="20/hour")

# Re-probes (probes): every case's asset from 'found' until 'secured' and this
# many days after, every DISCLOSURE_PROBE_INTERVAL_HOURS unless staff set
# another interval; each probe has its own short time-out (seconds) and keeps
# at most DISCLOSURE_PROBE_SAMPLE_BYTES of the answer to hash; this many at once.
DISCLOSURE_PROBE_INTERVAL_HOURS = env.int("DISCLOSURE_PROBE_INTERVAL_HOURS", default=6)
DISCLOSURE_PROBE_AFTER_SECURED_DAYS = env.int("DISCLOSURE_PROBE_AFTER_SECURED_DAYS", default=30)
DISCLOSURE_PROBE_TIMEOUT = env.float("DISCLOSURE_PROBE_TIMEOUT", default=5.0)
DISCLOSURE_PROBE_SAMPLE_BYTES = env.int("DISCLOSURE_PROBE_SAMPLE_BYTES", default=64 * 1024)
DISCLOSURE_PROBE_CONCURRENCY = env.int("DISCLOSURE_PROBE_CONCURRENCY", default=8)

# Organisation-wide defaults.
DISCLOSURE_FIRM_NAME = env.str("DISCLOSURE_FIRM_NAME", default="Disclosure Research")
DISCLOSURE_REFERENCE_PREFIX = env.str("DISCLOSURE_REFERENCE_PREFIX", default="DSC")
# Longest free text (a note, a message body) a service accepts, in characters.
DISCLOSURE_MAX_TEXT_CHARS = env.int("DISCLOSURE_MAX_TEXT_CHARS", default=1_000_000)
# Days a vendor contact's invitation link stays valid (single use).
DISCLOSURE_INVITATION_MAX_AGE_DAYS = env.int("DISCLOSURE_INVITATION_MAX_AGE_DAYS", default=7)
# The site's public address, for links in mail sent outside a request.
DISCLOSURE_SITE_URL = env.str("DISCLOSURE_SITE_URL", default="http://127.0.0.1:8000")

# REST API v1 (disclosure/api): session (with CSRF) or bearer-token
# authentication, every error as JSON {code, message}, capped pages, and
# throttles per token and per client IP (rates per minute, from the
# environment).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "disclosure.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "disclosure.api.permissions.TokenScope",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "disclosure.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [],
    # Counted in the default cache (CACHE_URL): shared by every process.
    "DEFAULT_THROTTLE_CLASSES": ["disclosure.api.throttling.RequestRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("API_THROTTLE_TOKEN", default="600/min"),
        "ip": env.str("API_THROTTLE_IP", default="1200/min"),
    },
    # Proxies in front of the app that append to X-Forwarded-For: the per-IP
    # throttle reads the client's address from there (0: REMOTE_ADDR, so a
    # client cannot pick its own address with the header).
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
    "EXCEPTION_HANDLER": "disclosure.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Largest page any API list returns (``?page_size=`` is capped to it).
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=100)

# The OpenAPI schema (/api/v1/schema/, committed as docs/openapi.yaml) and
# its interactive docs (/api/v1/docs/), served from drf-spectacular-sidecar:
# no CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "Disclosure API",
    "DESCRIPTION": (
        "Coordinated-disclosure cases, their ledger, communications, evidence and "
        "scanner intake. Authenticate with `Authorization: Bearer <token>` (tokens "
        "are created in the staff UI under API tokens) or a browser session. Every "
        "error is JSON `{code, message}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "EvidenceKindEnum": "disclosure.evidence.models.EvidenceKind",
        "OrganizationKindEnum": "disclosure.accounts.models.Organization.Kind",
        "ExportFormatEnum": "disclosure.exports.models.ExportFormat",
        "InboundStatusEnum": "disclosure.comms.models.InboundStatus",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "dsc_..."}
        }
    },
    "SECURITY": [{"bearerAuth": []}],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "disclosure.api.schema.add_error_responses",
    ],
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # X-Forwarded-Proto decides whether a request was HTTPS only behind a
    # proxy that overwrites (strips) whatever the client sent in it; without
    # one any client could claim HTTPS with it.
    if env.bool("DJANGO_PROXY_SETS_FORWARDED_PROTO", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # HTTPS only (README "Production", HTTPS): plain HTTP is redirected, but
    # for /health/, which load balancers probe on the private side; browsers
    # are told to come back over HTTPS only for a year (HSTS), subdomains
    # included and the domain offered for the browsers' preload list (hard
    # to undo: README "HTTPS" says when to turn either off).
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=365 * 24 * 60 * 60)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)

# One console handler, on the root. Django's own "django" logger (a console
# handler of its own in debug mode, mail to admins otherwise) prints through
# the root instead, so that a request's warning is printed once; the
# development server's request lines keep their own handler and format
# (declared again: configuring "django" resets its children). WeasyPrint's
# progress lines ("Step 2 - Fetching and parsing CSS") are not printed by the
# export commands or in the worker's log (LOG_LEVEL_WEASYPRINT).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "weasyprint.progress": {
            "level": env.str("LOG_LEVEL_WEASYPRINT", default="WARNING"),
        },
    },
}
