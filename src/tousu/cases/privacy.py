"""Masking personal data for lists, exports and readers without the right to see it."""


def mask_name(name: str) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_id_number(value: str) -> str:
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_email(value: str) -> str:
    name, at, domain = value.partition("@")
    return (name[:1] + "***" + at + domain) if at else ("***" if value else "")


def mask_address(value: str) -> str:
    return value[:6] + "***" if len(value) > 6 else ("***" if value else "")


MASKERS = {
    "name": mask_name,
    "phone": mask_phone,
    "id_number": mask_id_number,
    "address": mask_address,
    "email": mask_email,
}


def party_dict(party, *, reveal: bool) -> dict:
    data = {
        "id": party.pk,
        "role": party.role,
        "kind": party.kind,
        "name": party.name,
        "phone": party.phone,
        "email": party.email,
        "id_number": party.id_number,
        "address": party.address,
        "nationality": party.nationality,
        "relation": party.relation,
    }
    # Organisations and our own departments are not personal data.
    if not reveal and party.kind == "person":
        for key, mask in MASKERS.items():
            data[key] = mask(data[key])
    return data
