from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tousu.accounts"
    verbose_name = "组织与账号"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from .security import on_login_failed

        user_login_failed.connect(on_login_failed, dispatch_uid="accounts.login_failed")
