from django.apps import AppConfig

# How an import event's payload reads on the case page (cases.selectors.PAYLOAD_LABELS).
PAYLOAD_LABELS = {
    "import_source": "来源",
    "import_file": "文件",
    "import_sheet": "工作表",
    "import_row": "行号",
    "ref": "外部编号",
    "result": "处理结果",
    "satisfaction_label": "满意度",
    "compensation": "赔偿金额（元）",
    "handler": "经办人",
    "transfer_note": "转办意见",
    "area": "区域",
    "note": "备注",
    "related_ref": "关联的原编号",
    "changes": "更正内容",
}


class RegistersConfig(AppConfig):
    name = "tousu.registers"
    verbose_name = "登记表导入"

    def ready(self) -> None:
        from tousu.cases import selectors
        from tousu.cases.signals import action_applied

        from . import receivers

        action_applied.connect(receivers.action_applied, dispatch_uid="registers.action_applied")
        for key, label in PAYLOAD_LABELS.items():
            selectors.PAYLOAD_LABELS.setdefault(key, label)
