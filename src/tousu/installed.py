"""Tousu's own apps, in INSTALLED_APPS order (settings.py adds them after Django's and the
libraries'). A module of its own, free of side effects, so that the `tousu` command finds each app's
subcommands before Django, or the settings, are loaded."""

TOUSU_APPS = [
    "tousu.accounts",
    "tousu.processes",
    "tousu.cases",
    "tousu.clocks",
    "tousu.triage",
    "tousu.documents",
    "tousu.portal",
    "tousu.reports",
    "tousu.registers",
    "tousu.webhooks",
    "tousu.owners",
    "tousu.supervision",
    "tousu.messaging",
    "tousu.ops",
    "tousu.web",
]
