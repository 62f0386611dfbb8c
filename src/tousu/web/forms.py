import datetime as dt

from django import forms
from django.urls import reverse
from django.utils import timezone

from tousu.cases import engine
from tousu.cases.forms import ChineseForm, form_field
from tousu.cases.services import parties_with_field_details
from tousu.processes.models import Category


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (the pattern Django's documentation gives for it)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,application/pdf"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return super().clean(data, initial)


class RegistrationForm(ChineseForm):
    """The receiver's registration form: channel, parties, content, the flow's sector fields,
    attachments, and on-the-spot resolution recorded in the same step."""

    channel = forms.ChoiceField(label="渠道")
    received_at = forms.DateTimeField(
        label="收到时间",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="信件、转办件等早先收到的，填写实际收到的时间；时限从此起算。不填为现在",
        error_messages={"invalid": "收到时间格式不正确，应如 2026-03-05 14:30"},
    )
    complainant_name = forms.CharField(label="投诉人姓名", max_length=100, required=False)
    complainant_phone = forms.CharField(label="联系电话", max_length=30, required=False)
    complainant_email = forms.EmailField(
        label="电子邮箱",
        max_length=254,
        required=False,
        help_text="填写后，登记回执和答复也发到这个邮箱",
        error_messages={"invalid": "电子邮箱格式不正确，应如 name@example.com"},
    )
    relation = forms.CharField(
        label="与当事人关系", max_length=50, required=False, help_text="如：本人、患者家属、业主"
    )
    respondent = forms.CharField(label="被投诉部门/人员", max_length=100, required=False)
    content = forms.CharField(
        label="投诉内容", max_length=10000, widget=forms.Textarea(attrs={"rows": 6})
    )
    request = forms.CharField(
        label="诉求", max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    category = forms.ChoiceField(label="投诉类别", required=False)
    attachments = MultipleFileField(
        label="附件",
        required=False,
        help_text="JPG、PNG、GIF、WebP 图片或 PDF，每个不超过 10 MB",
    )
    checklist = forms.MultipleChoiceField(
        label="接待要点", required=False, widget=forms.CheckboxSelectMultiple
    )
    on_the_spot = forms.BooleanField(label="已当场解决", required=False)
    confirm_new = forms.BooleanField(label="仍然登记为新投诉", required=False)

    def __init__(self, process, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.process = process
        definition = process.definition
        self.fields["channel"].choices = [(c.value, c.label) for c in definition.channels]
        self.fields["category"].choices = [("", "——（稍后判断）")] + list(
            Category.objects.filter(process_name=process.name, is_active=True).values_list(
                "code", "label"
            )
        )
        # Triage suggestions while typing (htmx): the whole form goes along, CSRF token included.
        live = {
            "hx-post": reverse("web:register_suggest"),
            "hx-target": "#triage",
            "hx-include": "closest form",
        }
        self.fields["content"].widget.attrs.update(
            {**live, "hx-trigger": "keyup changed delay:700ms, change"}
        )
        self.fields["complainant_phone"].widget.attrs.update({**live, "hx-trigger": "change"})
        # Asked once: a flow field that records the respondent or the relation replaces ours.
        for f in definition.fields:
            if f.party == "respondent":
                del self.fields["respondent"]
            elif f.party == "relation":
                del self.fields["relation"]
        if definition.checklist:
            self.fields["checklist"].choices = [(c.name, c.label) for c in definition.checklist]
            # Ticked beside the form, in the checklist card: the inputs belong to this form.
            self.fields["checklist"].widget.attrs["form"] = "register-form"
        else:
            del self.fields["checklist"]
        self.sector_fields = [f.name for f in definition.fields]
        for f in definition.fields:
            self.fields[f"f_{f.name}"] = form_field(f, process.name)
        # On-the-spot resolution: the flow's own action and its form, shown beside the checkbox.
        self.spot_action = next(
            (a for a in definition.actions if a.name == "resolve_on_spot"), None
        )
        if self.spot_action is None:
            del self.fields["on_the_spot"]
        else:
            for f in self.spot_action.form:
                field = form_field(f, process.name)
                field.required = False  # required only when the box is ticked (checked in clean)
                self.fields[f"spot_{f.name}"] = field

    def clean_received_at(self):
        value = self.cleaned_data.get("received_at")
        if value is None:
            return None
        now = timezone.now()
        if value > now + dt.timedelta(minutes=5):
            local = timezone.localtime(now).strftime("%Y-%m-%d %H:%M")
            raise forms.ValidationError(f"收到时间不能晚于现在（{local}）")
        if value.year < 2000:
            raise forms.ValidationError("收到时间不能早于 2000-01-01")
        return value

    def clean(self):
        data = super().clean()
        if self.spot_action and data.get("on_the_spot"):
            for f in self.spot_action.form:
                if f.required and not data.get(f"spot_{f.name}"):
                    self.add_error(f"spot_{f.name}", "当场解决时必填")
        return data

    @property
    def sector_bound_fields(self):
        return [self[f"f_{n}"] for n in self.sector_fields]

    @property
    def spot_bound_fields(self):
        return [self[f"spot_{f.name}"] for f in self.spot_action.form] if self.spot_action else []

    def phone(self) -> str:
        return self.cleaned_data.get("complainant_phone", "")

    def registration_kwargs(self) -> dict:
        d = self.cleaned_data
        parties = []
        if d["complainant_name"] or d["complainant_phone"] or d.get("complainant_email"):
            parties.append(
                {
                    "role": "complainant",
                    "name": d["complainant_name"],
                    "phone": d["complainant_phone"],
                    "email": d.get("complainant_email", ""),
                    "relation": d.get("relation", ""),
                }
            )
        if d.get("respondent"):
            parties.append({"role": "respondent", "kind": "department", "name": d["respondent"]})
        fields = {n: self.data.get(f"f_{n}") for n in self.sector_fields if self.data.get(f"f_{n}")}
        return {
            "channel": d["channel"],
            "content": d["content"],
            "request": d["request"],
            "category": d["category"] or None,
            "parties": parties_with_field_details(self.process.definition, parties, fields),
            "received_at": d.get("received_at"),
            "checklist": d.get("checklist", []),
            "fields": fields,
        }

    def resolve_on_the_spot(self, complaint, user):
        data = {
            f.name: self.data.get(f"spot_{f.name}")
            for f in self.spot_action.form
            if self.data.get(f"spot_{f.name}")
        }
        complaint, _ = engine.apply_action(
            complaint, user, self.spot_action.name, data=data, version=complaint.version, via="web"
        )
        return complaint
