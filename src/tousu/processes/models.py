import hashlib
from functools import lru_cache

from django.db import models

from .definition import ProcessDef
from .validation import load_text


@lru_cache(maxsize=64)
def _parse(source: str) -> ProcessDef:
    return load_text(source)


class ProcessDefinition(models.Model):
    """One version of a flow. Cases are pinned to the version they started with."""

    name = models.SlugField("名称", max_length=50)
    version = models.PositiveIntegerField("版本")
    label = models.CharField("中文名称", max_length=100)
    source = models.TextField("定义（YAML）")
    checksum = models.CharField("校验和", max_length=64, editable=False)
    is_active = models.BooleanField("当前版本", default=True)
    installed_at = models.DateTimeField("安装时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "流程定义"
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="process_name_version")
        ]
        ordering = ["name", "-version"]

    def __str__(self) -> str:
        return f"{self.label}（{self.name} v{self.version}）"

    @property
    def definition(self) -> ProcessDef:
        return _parse(self.source)

    @staticmethod
    def checksum_of(source: str) -> str:
        return hashlib.sha256(source.encode()).hexdigest()


class Category(models.Model):
    """A complaint category of one flow, mapped to its responsible department (configurable)."""

    process_name = models.SlugField("流程", max_length=50)
    code = models.SlugField("代码", max_length=50)
    label = models.CharField("名称", max_length=100)
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name="责任部门",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "投诉类别"
        constraints = [
            models.UniqueConstraint(fields=["process_name", "code"], name="category_process_code")
        ]
        ordering = ["process_name", "code"]

    def __str__(self) -> str:
        return self.label
