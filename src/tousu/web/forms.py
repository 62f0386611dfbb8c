from django import forms

from tousu.cases.forms import form_field
from tousu.processes.models import Category


class RegistrationForm(forms.Form):
    """The receiver's registration form: channel, complainant, content, and the flow's sector fields."""

    channel = forms.ChoiceField(label="渠道")
    complainant_name = forms.CharField(label="投诉人姓名", max_length=100, required=False)
    complainant_phone = forms.CharField(label="联系电话", max_length=30, required=False)
    relation = forms.CharField(label="与当事人关系", max_length=50, required=False)
    respondent = forms.CharField(label="被投诉部门/人员", max_length=100, required=False)
    content = forms.CharField(
        label="投诉内容", max_length=10000, widget=forms.Textarea(attrs={"rows": 6})
    )
    request = forms.CharField(
        label="诉求", max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    category = forms.ChoiceField(label="投诉类别", required=False)

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
        self.sector_fields = [f.name for f in definition.fields]
        for f in definition.fields:
            self.fields[f"f_{f.name}"] = form_field(f, process.name)

    def registration_kwargs(self) -> dict:
        d = self.cleaned_data
        parties = []
        if d["complainant_name"] or d["complainant_phone"]:
            parties.append(
                {
                    "role": "complainant",
                    "name": d["complainant_name"],
                    "phone": d["complainant_phone"],
                    "relation": d["relation"],
                }
            )
        if d["respondent"]:
            parties.append({"role": "respondent", "kind": "department", "name": d["respondent"]})
        return {
            "channel": d["channel"],
            "content": d["content"],
            "request": d["request"],
            "category": d["category"] or None,
            "parties": parties,
            "fields": {
                n: self.data.get(f"f_{n}") for n in self.sector_fields if self.data.get(f"f_{n}")
            },
        }
