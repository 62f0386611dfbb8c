"""What messages are about. Staff kinds are grouped in categories a person sets a preference for;
complainant kinds each have a template per channel that the administrator edits."""

# Staff hand-offs. A notification's kind is "<category>" or "<category>.<detail>".
STAFF_CATEGORIES: dict[str, str] = {
    "assigned": "指派给我或本部门",
    "plan_returned": "方案被退回",
    "plan_waiting": "方案待我批示",
    "dissatisfied": "投诉人不满意",
    "material_arrived": "补充材料已到",
    "chased": "催办",
    "supervised": "督办、督办时限与督办回复",
    "clock": "时限预警与超时",
    "risk": "群体性投诉",
}

INAPP, EMAIL, DIGEST = "inapp", "email", "digest"
DELIVERIES: dict[str, str] = {
    INAPP: "仅站内通知",
    EMAIL: "站内通知，并立即发邮件",
    DIGEST: "站内通知，邮件每日汇总一次",
}


def category(kind: str) -> str:
    return kind.split(".", 1)[0]


# Notifications outside the preference categories, by their own kind.
OTHER_NOTIFICATIONS: dict[str, str] = {
    "triage": "风险预警",
    "merged": "投诉合并",
    "digest": "每日汇总",
}


def notification_label(kind: str) -> str:
    """A notification's kind in words (the admin's column): never its code."""
    c = category(kind)
    return STAFF_CATEGORIES.get(c) or OTHER_NOTIFICATIONS.get(c) or "其他通知"


# Messages to the complainant.
ACKNOWLEDGEMENT = "acknowledgement"
MATERIAL_REQUEST = "material_request"
EXTENSION = "extension"
REPLY = "reply"
CLOSING = "closing"
RATING_INVITATION = "rating_invitation"
COMPLAINANT_KINDS: dict[str, str] = {
    ACKNOWLEDGEMENT: "登记回执",
    MATERIAL_REQUEST: "请补充材料",
    EXTENSION: "时限延长",
    REPLY: "答复",
    CLOSING: "结案",
    RATING_INVITATION: "邀请评价",
}

SMS, MAIL = "sms", "email"
CHANNELS: dict[str, str] = {SMS: "短信", MAIL: "电子邮件"}

# What a complainant template may say: nothing else reaches the template, so nothing else can be
# sent (no staff names, no other party's data).
VARIABLES: dict[str, str] = {
    "organisation": "单位名称",
    "tracking_number": "投诉编号",
    "access_code": "查询码（只在登记回执中有值）",
    "track_url": "查询办理进度的网址",
    "action": "本次事项，如“请您补充材料”“处理结果已答复”",
    "content": "本次事项中向投诉人公开的内容，如需补充的材料、答复内容",
    "due": "期限：补充材料的期限，或延长后的截止时间",
    "clock": "时限名称，如“答复时限”",
    "reason": "延长时限的理由",
    "unsubscribe": "退订方式",
}
