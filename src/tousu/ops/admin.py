"""The background tasks' admin (django_tasks_db) with Chinese column titles: its fields carry no
translatable names, and changing them on the model would change that app's migrations."""

from django.contrib import admin
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

LABELS = {
    "id": "编号",
    "task_name": "任务",
    "status": "状态",
    "enqueued_at": "加入队列时间",
    "started_at": "开始时间",
    "finished_at": "完成时间",
    "args_kwargs": "参数",
    "priority": "优先级",
    "task_path": "任务函数",
    "worker_ids": "执行进程",
    "queue_name": "队列",
    "backend_name": "后端",
    "run_after": "计划执行时间",
    "return_value": "返回值",
    "exception_class_path": "异常类型",
    "traceback": "错误详情",
}


def _column(name: str, label: str):
    def show(self, obj):
        return getattr(obj, name)

    show.__name__ = f"col_{name}"
    return admin.display(description=label, ordering=name)(show)


def _titled(base):
    class Titled(base):
        def __init__(self, field, request, params, model, model_admin, field_path):
            super().__init__(field, request, params, model, model_admin, field_path)
            self.title = LABELS.get(field_path, self.title)

    return Titled


class TaskResultAdmin(DBTaskResultAdmin):
    list_display = tuple(f"col_{n}" for n in DBTaskResultAdmin.list_display)
    list_display_links = ("col_id",)
    list_filter = (
        ("status", _titled(admin.ChoicesFieldListFilter)),
        ("priority", _titled(admin.AllValuesFieldListFilter)),
        ("queue_name", _titled(admin.AllValuesFieldListFilter)),
    )

    def get_readonly_fields(self, request, obj=None):
        names = super().get_readonly_fields(request, obj)
        return [f"col_{n}" if n in LABELS else n for n in names]

    @admin.display(description="错误详情")
    def formatted_traceback(self, obj):
        return super().formatted_traceback(obj)

    @admin.display(description="计划执行时间")
    def display_run_after(self, obj):
        return super().display_run_after(obj)


for _name, _label in LABELS.items():
    setattr(TaskResultAdmin, f"col_{_name}", _column(_name, _label))

if admin.site.is_registered(DBTaskResult):
    admin.site.unregister(DBTaskResult)
admin.site.register(DBTaskResult, TaskResultAdmin)
