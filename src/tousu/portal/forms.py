"""The portal's forms. Every field has a size limit; messages are Chinese and say what is allowed."""

from __future__ import annotations

from django import forms

from tousu.cases.forms import form_field
from tousu.cases.services import parties_with_field_details
from tousu.processes.definition import ProcessDef

CONTENT_MAX = 5000
REQUEST_MAX = 2000


class SubmitForm(forms.Form):
    """A complaint from the public: who (unless anonymous), what, what they want, the flow's public
    fields, consent to the privacy notice. `website` is a honeypot, hidden from people."""

    anonymous = forms.BooleanField(label="匿名投诉（举报）", required=False)
    name = forms.CharField(label="姓名", max_length=50, required=False)
    phone = forms.CharField(
        label="手机号码",
        max_length=20,
        required=False,
        help_text="用于联系您和查询进度",
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(
        label="电子邮箱",
        max_length=254,
        required=False,
        help_text="选填：受理回执、答复和结果也会发到这个邮箱",
        error_messages={"invalid": "电子邮箱格式不正确，应如 name@example.com"},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    address = forms.CharField(label="联系地址", max_length=200, required=False)
    content = forms.CharField(
        label="投诉内容",
        max_length=CONTENT_MAX,
        help_text=f"时间、地点、涉及的人员和经过，最多 {CONTENT_MAX} 字",
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": CONTENT_MAX}),
    )
    request = forms.CharField(
        label="您的诉求",
        max_length=REQUEST_MAX,
        required=False,
        help_text="希望如何解决",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": REQUEST_MAX}),
    )
    consent = forms.BooleanField(
        label="我已阅读并同意《个人信息处理说明》",
        error_messages={"required": "请阅读并勾选同意《个人信息处理说明》后再提交"},
    )
    website = forms.CharField(label="网址（请勿填写）", required=False, max_length=200)
    token = forms.CharField(widget=forms.HiddenInput, max_length=200)
    challenge = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500)
    answer = forms.CharField(label="验证问题", required=False, max_length=10)

    def __init__(self, definition: ProcessDef, process_name: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition
        self.public_fields = [f for f in definition.fields if f.public]
        for f in self.public_fields:
            self.fields[f"f_{f.name}"] = form_field(f, process_name)
        if not definition.allow_anonymous:
            del self.fields["anonymous"]
        for field in self.fields.values():
            if getattr(field, "max_length", None):
                field.error_messages["max_length"] = (
                    f"「{field.label}」最多 {field.max_length} 个字（现有 %(show_value)d 个）"
                )
        self.fields["content"].error_messages["required"] = "请填写投诉内容"
        self.fields["content"].error_messages["max_length"] = (
            f"投诉内容最多 {CONTENT_MAX} 字（现有 %(show_value)d 字），可把详细材料作为附件上传"
        )

    @property
    def sector_fields(self):
        return [self[f"f_{f.name}"] for f in self.public_fields]

    def clean(self):
        data = super().clean()
        anonymous = data.get("anonymous", False)
        if not anonymous:
            if "name" not in self.errors and not (data.get("name") or "").strip():
                self.add_error(
                    "name", "请填写姓名" + ("，或选择匿名" if "anonymous" in self.fields else "")
                )
            phone = (data.get("phone") or "").strip()
            digits = "".join(ch for ch in phone if ch.isdigit())
            if "phone" in self.errors:
                pass
            elif not phone:
                self.add_error("phone", "请填写手机号码，用于联系您")
            elif not 7 <= len(digits) <= 15:
                self.add_error("phone", "电话号码应为 7 至 15 位数字，如 13812345678")
        return data

    def registration(self) -> dict:
        d = self.cleaned_data
        anonymous = d.get("anonymous", False)
        parties = []
        if not anonymous or d.get("phone") or d.get("name"):
            party = {
                "role": "complainant",
                "name": d.get("name", "").strip(),
                "phone": d.get("phone", "").strip(),
                "email": (d.get("email") or "").strip(),
                "address": d.get("address", "").strip(),
            }
            if any(party[k] for k in ("name", "phone", "email", "address")):
                parties.append(party)
        # The flow's own form checks the sector fields again at registration: pass what was sent.
        fields = {
            f.name: self.data.getlist(f"f_{f.name}")
            if f.type in ("multichoice", "departments", "users")
            else self.data.get(f"f_{f.name}")
            for f in self.public_fields
            if self.data.get(f"f_{f.name}")
        }
        return {
            "content": d["content"].strip(),
            "request": d.get("request", "").strip(),
            "parties": parties_with_field_details(self.definition, parties, fields),
            "fields": fields,
            "is_anonymous": anonymous,
        }


class TrackForm(forms.Form):
    number = forms.CharField(
        label="投诉编号",
        max_length=32,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
        error_messages={"required": "请填写投诉编号"},
    )
    secret = forms.CharField(
        label="查询码或手机号码",
        max_length=30,
        help_text="提交投诉时显示的 8 位查询码，或您登记的手机号码",
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
        error_messages={"required": "请填写查询码或手机号码"},
    )


class RatingForm(forms.Form):
    verdict = forms.ChoiceField(
        label="您对处理结果的评价",
        choices=[
            ("satisfied", "满意"),
            ("basically_satisfied", "基本满意"),
            ("dissatisfied", "不满意"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "请选择满意、基本满意或不满意"},
    )
    comment = forms.CharField(
        label="意见",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
        help_text="不满意的，请写明原因",
    )

    def clean(self):
        data = super().clean()
        if data.get("verdict") == "dissatisfied" and not (data.get("comment") or "").strip():
            self.add_error("comment", "选择不满意时，请写明不满意的原因，以便进一步处理")
        return data

    def action_and_data(self, actions: dict[str, str]) -> tuple[str, dict]:
        """`actions`: the flow's verdict actions now, {"satisfied": …, "dissatisfied": …}."""
        verdict = self.cleaned_data["verdict"]
        comment = self.cleaned_data.get("comment", "").strip()
        action = actions["dissatisfied" if verdict == "dissatisfied" else "satisfied"]
        data = {"satisfaction": verdict}
        if comment:
            data["comment"] = comment
        return action, data
