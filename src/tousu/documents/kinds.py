"""The official documents Tousu issues, by the name process definitions give them (`document:` on an
action). Each kind has a default title, the code word in its serial number (文号代字), and whether it
is addressed to the complainant (then it is served to them on the portal too)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    code: str  # 文号代字: 〔年〕 is preceded by the organisation's prefix and this word
    public: bool  # addressed to the complainant


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("registration_form", "投诉登记表", "投登", False),
        Kind("acceptance_receipt", "投诉受理回执", "投受", True),
        Kind("non_acceptance_notice", "不予受理通知书", "不受", True),
        Kind("transfer_notice", "转办告知书", "转告", True),
        Kind("written_reply", "投诉处理答复书", "答复", True),
        Kind("mediation_agreement", "调解协议书", "调协", True),
        Kind("mediation_termination", "终止调解通知书", "终调", True),
        Kind("work_order", "服务派工单", "派工", False),
        Kind("quality_anomaly_form", "产品品质异常反馈处理表", "品异", False),
    )
}


def kind(name: str) -> Kind:
    """The registered kind; unknown names (a definition may name a new document before its template
    exists) get a neutral title and code, so the action is still documented."""
    return KINDS.get(name) or Kind(name, "公文", "文", False)


def kind_choices() -> list[tuple[str, str]]:
    return [(k.name, k.title) for k in KINDS.values()]
