from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django_tasks_db.apps import TasksAppConfig


class OpsConfig(AppConfig):
    name = "tousu.ops"
    verbose_name = "运维与个人信息保护"


# The third-party apps under Chinese names in the admin (their models' words come from
# tousu/locale; the task columns from tousu/ops/admin.py).
class AxesConfig(AxesAppConfig):
    verbose_name = "登录保护"


class TasksDatabaseConfig(TasksAppConfig):
    verbose_name = "后台处理"
