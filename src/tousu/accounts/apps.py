from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tousu.accounts"
    verbose_name = "组织与账号"
