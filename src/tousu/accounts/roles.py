"""The roles staff hold. Codes are used in process definitions; labels are shown in the UI."""

ROLES: dict[str, str] = {
    "receiver": "接待员",
    "officer": "投诉专员",
    "handler": "科室经办人",
    "dept_head": "科室负责人",
    "leader": "领导",
    "verifier": "质量验证员",
    "auditor": "审计",
    "admin": "管理员",
}

# Not a staff role: the complainant acting through the portal (with the tracking number and access
# code). Definitions may name it on the actions a complainant takes (rate, send material).
COMPLAINANT = "complainant"
DEFINITION_ROLES = {**ROLES, COMPLAINANT: "投诉人"}

# Departmental roles act only on cases of their own department (or where it holds a task).
DEPARTMENTAL_ROLES = frozenset({"handler", "dept_head"})
# Roles that may read personal data unmasked (revealing is still logged).
PERSONAL_DATA_ROLES = frozenset({"receiver", "officer", "leader"})
