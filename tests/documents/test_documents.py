"""Official documents: issued by the flow's actions and on demand, numbered per year without gaps,
fixed at issue, printed as PDF with embedded CJK fonts."""

import io
import os
import shutil
import threading
from pathlib import Path

import pytest
from django.db import connection, transaction

from tousu.cases.errors import Invalid
from tousu.documents import services
from tousu.documents.models import Document, DocumentTemplate, Immutable
from tousu.documents.selectors import documents_for, public_documents

pytestmark = pytest.mark.django_db

TOURISM_FILE = {
    "category": "guide",
    "case_number": "LT-2026-007",
    "respondent_name": "某某国际旅行社",
    "request": "退还购物款 3000 元",
    "facts": "导游强制购物",
}


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def generic_to_reply(f):
    c = f.register("净水器安装后漏水，地板泡坏", channel="web")
    c = f.act(c, "officer", "judge_valid", reason="理由充分")
    c = f.act(c, "officer", "assign_department", category="quality")
    c = f.act(c, "handler_quality_management", "propose_plan", cause="安装不规范", plan="赔偿")
    return f.act(
        c, "officer", "reply", reply="经调查属实，赔偿地板损失 2000 元并更换新机", method="written"
    )


def scenario(flow, kind):
    """Walk a flow to the action that issues `kind`; return the case."""
    if kind == "acceptance_receipt":
        f = flow("generic")
        return f.act(f.register("送货司机态度差", channel="web"), "officer", "judge_valid")
    if kind == "written_reply":
        return generic_to_reply(flow("generic"))
    if kind == "work_order":
        f = flow("property")
        c = f.register("卫生间天花板渗水", channel="web", fields={"building": "3", "room": "1502"})
        c = f.act(c, "receiver", "handle_later")
        return f.act(
            c, "receiver", "dispatch_work_order", category="engineering_repair", work="上门修补防水"
        )
    if kind == "quality_anomaly_form":
        from tousu.cases.attachments import add_attachment

        f = flow("enterprise-quality")
        c = f.register("轴承尺寸超差", channel="letter", fields={"product": "6204 轴承"})
        add_attachment(c, name="照片.png", content=png_bytes(), user=f.users["receiver"])
        c = f.act(c, "receiver", "accept", summary="150 只轴承尺寸超差")
        return f.act(
            c,
            "receiver",
            "file_anomaly_form",
            category="product_quality",
            product="6204 轴承 B2603",
            quantity=150,
            anomaly="内径超差 0.02 mm",
        )
    f = flow("tourism-company")
    c = f.register()
    if kind == "non_acceptance_notice":
        return f.act(
            c,
            "officer",
            "not_accept",
            reason="over_90_days",
            explanation="您的旅游合同于 2025 年 9 月 1 日结束，投诉时已超过 90 天。",
            method="written",
        )
    if kind == "transfer_notice":
        return f.act(
            c,
            "officer",
            "transfer",
            competent_body="杭州市文化广电旅游局",
            materials_transferred=True,
        )
    c = f.act(c, "officer", "file_case", **TOURISM_FILE)
    if kind == "registration_form":
        return c
    c = f.act(c, "officer", "inform_respondent", informed_on="2026-03-02")
    c = f.act(c, "officer", "record_mediation", held_on="2026-03-05", record="双方到场")
    if kind == "mediation_agreement":
        return f.act(
            c, "officer", "reach_agreement", agreement="旅行社退还购物款 3000 元并书面道歉"
        )
    return f.act(
        c,
        "officer",
        "terminate_mediation",
        reason="被投诉方拒绝赔偿",
        routes=["consumer_association", "court"],
    )


# kind: (title printed, words that must be on the page)
EXPECTED = {
    "registration_form": ("旅游投诉受理登记表", ["某某国际旅行社", "导游强制购物", "投诉人签名"]),
    "acceptance_receipt": ("投诉受理回执", ["予以受理", "查询码"]),
    "non_acceptance_notice": (
        "旅游投诉不予受理通知书",
        ["超过旅游合同结束之日 90 天", "第九条", "不予受理"],
    ),
    "transfer_notice": ("旅游投诉转办告知书", ["杭州市文化广电旅游局", "第十五条"]),
    "written_reply": ("投诉处理答复书", ["赔偿地板损失 2000 元", "特此答复"]),
    "mediation_agreement": ("旅游投诉调解书", ["退还购物款 3000 元", "自愿达成如下协议"]),
    "mediation_termination": ("旅游投诉终止调解书", ["被投诉方拒绝赔偿", "消费者协会"]),
    "work_order": ("服务派工单", ["上门修补防水", "工程部"]),
    "quality_anomaly_form": ("产品品质异常反馈处理表", ["6204 轴承 B2603", "内径超差"]),
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_each_document_prints_chinese_text_with_an_embedded_cjk_font(flow, kind, poppler, tmp_path):
    c = scenario(flow, kind)
    (doc,) = [d for d in documents_for(c) if d.kind == kind]
    title, words = EXPECTED[kind]
    assert doc.title == title and doc.number == 1
    pdf = services.ensure_pdf(doc)
    path = Path(pdf.file.path)
    assert path.is_relative_to(Path(os.environ["TOUSU_DATA_DIR"]) / "documents")
    text = "".join(poppler.text(path).split())  # lines wrap anywhere in Chinese
    for word in [title, doc.serial, c.tracking_number, *words]:
        assert "".join(word.split()) in text, f"「{word}」不在《{title}》的 PDF 中"
    fonts = poppler.fonts(path)
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # embedded, not substituted
    png = poppler.png(path, tmp_path / f"{kind}.png")
    assert png.stat().st_size > 10_000  # a page with text on it, not a blank
    if keep := os.environ.get("TOUSU_KEEP_DOCUMENT_PNG"):  # to look at them: set a directory
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)


def test_the_action_issues_its_document_in_the_same_transaction(flow):
    c = scenario(flow, "non_acceptance_notice")
    doc = Document.objects.get(complaint=c)
    event = c.events.get(action="not_accept")
    assert doc.event == event and doc.kind == "non_acceptance_notice" and doc.is_public
    assert doc.serial == f"江阴市文化和旅游局不受〔{doc.year}〕第 0001 号"
    # The chosen legal reason, in the flow's words, is on the notice.
    assert doc.context["data"]["reason"] == "超过旅游合同结束之日 90 天"
    assert "超过旅游合同结束之日 90 天" in doc.html
    assert doc.issued_by_name == "officer" and doc.issued_by.username == "officer"


def test_a_broken_template_refuses_the_action_and_leaves_the_case_as_it_was(flow):
    f = flow("tourism-company")
    c = f.register()
    # An administrator broke the wording for every flow (checked in the admin, but rows can be
    # written other ways): the notice cannot be issued, so neither can the decision.
    DocumentTemplate.objects.update_or_create(
        kind="non_acceptance_notice",
        sector="tourism-company",
        defaults={"title": "旅游投诉不予受理通知书", "body": "{% if %}"},
    )
    with pytest.raises(Invalid) as exc:
        f.act(c, "officer", "not_accept", reason="outside_scope", explanation="x", method="written")
    assert "不予受理通知书" in exc.value.message and "模板" in exc.value.message
    c.refresh_from_db()
    assert c.state == "received" and c.version == 1
    assert not Document.objects.exists() and c.events.count() == 1


def test_serial_numbers_are_per_kind_and_year_and_the_prefix_is_the_administrators(flow):
    from tousu.documents.models import IssuerProfile

    IssuerProfile.objects.create(issuer_name="江阴市旅游投诉处理中心", serial_prefix="澄旅投")
    f = flow("tourism-company")
    first = f.act(f.register(), "officer", "transfer", competent_body="甲",
                  materials_transferred=True)  # fmt: skip
    second = f.act(f.register(), "officer", "transfer", competent_body="乙",
                   materials_transferred=True)  # fmt: skip
    other = f.act(f.register(), "officer", "not_accept", reason="outside_scope", explanation="x",
                  method="written")  # fmt: skip
    # An oral decision on an oral complaint is recorded, never printed as a written notice.
    oral = f.act(f.register(channel="phone"), "officer", "not_accept", reason="outside_scope",
                 explanation="x", method="oral")  # fmt: skip
    assert not Document.objects.filter(complaint=oral).exists()
    numbers = [Document.objects.get(complaint=c).serial for c in (first, second, other)]
    year = Document.objects.first().year
    assert numbers == [
        f"澄旅投转告〔{year}〕第 0001 号",
        f"澄旅投转告〔{year}〕第 0002 号",
        f"澄旅投不受〔{year}〕第 0001 号",
    ]
    assert (
        Document.objects.get(complaint=first).context["org"]["issuer"] == "江阴市旅游投诉处理中心"
    )


def test_a_rolled_back_issue_gives_its_number_back(flow):
    f = flow("generic")
    c = f.register("x", channel="web")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.issue_document(c, "registration_form", actor_name="t")
        raise RuntimeError("the surrounding action failed")
    doc = services.issue_document(c, "registration_form", actor_name="t")
    assert doc.number == 1


def test_an_issued_document_is_never_changed_a_correction_is_a_new_document(flow):
    f = flow("tourism-company")
    c = scenario(flow, "transfer_notice")
    doc = Document.objects.get(complaint=c)
    doc.title = "改过的标题"
    with pytest.raises(Immutable):
        doc.save()
    with pytest.raises(Immutable):
        Document.objects.filter(pk=doc.pk).update(title="改过的标题")
    with pytest.raises(Immutable):
        doc.delete()
    with pytest.raises(Immutable):
        Document.objects.filter(pk=doc.pk).delete()
    doc.refresh_from_db()
    with pytest.raises(Invalid):
        services.correct_document(doc, f.users["officer"], "  ")
    fixed = services.correct_document(doc, f.users["officer"], "移交机构名称写错")
    assert fixed.number == 2 and fixed.corrects == doc and fixed.kind == doc.kind
    assert doc.serial in fixed.html and "原文书作废" in fixed.html
    assert [d.pk for d in public_documents(c)] == [fixed.pk]  # the corrected one is withdrawn
    assert [d.superseded for d in documents_for(c)] == [True, False]
    event = c.events.get(action="document_issued")
    assert event.payload == {"document": fixed.pk, "serial": fixed.serial}
    assert event.comment == "移交机构名称写错" and event.visibility == "public"


def test_an_edited_template_changes_later_documents_not_issued_ones(flow):
    services.seed_templates()  # the migration seeded them already; a second seed adds nothing
    assert services.seed_templates() == 0
    first = scenario(flow, "transfer_notice")
    template = DocumentTemplate.objects.get(kind="transfer_notice", sector="tourism-company")
    template.body = "<p>新的措辞：{{ data.competent_body }}</p>"
    template.save()
    f = flow("tourism-company")
    later = f.act(
        f.register(),
        "officer",
        "transfer",
        competent_body="丙",
        materials_transferred=True,
        method="written",
    )
    assert "新的措辞" not in Document.objects.get(complaint=first).html
    assert "新的措辞：丙" in Document.objects.get(complaint=later).html


def test_sector_template_then_general_one_then_none(flow):
    from tousu.documents.rendering import RenderError, template_spec

    services.seed_templates()
    assert template_spec("transfer_notice", "tourism-company").title == "旅游投诉转办告知书"
    assert template_spec("transfer_notice", "generic").title == "转办告知书"
    DocumentTemplate.objects.filter(kind="transfer_notice").update(is_active=False)
    with pytest.raises(RenderError, match="停用"):
        template_spec("transfer_notice", "generic")


def test_on_demand_issue_records_an_event_and_is_refused_for_kinds_the_flow_has_not(flow):
    f = flow("generic")
    c = f.register("x", channel="web")
    doc = services.issue_on_demand(c, "registration_form", f.users["officer"])
    assert doc.event is None and not doc.is_public
    event = c.events.get(action="document_issued")
    assert event.visibility == "internal" and event.label == "出具公文《投诉登记表》"
    with pytest.raises(Invalid, match="不出具"):
        services.issue_on_demand(c, "mediation_agreement", f.users["officer"])


# --- the sandbox ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{% include "/etc/passwd" %}',
        '{% extends "web/base.html" %}',
        "{% load static %}",
        "{% if %}",
    ],
)
def test_templates_cannot_reach_files_or_libraries(body):
    from tousu.documents.rendering import RenderError, render_body, sample_context

    with pytest.raises(RenderError):
        render_body(body, sample_context())


def test_templates_are_autoescaped():
    from tousu.documents.rendering import render_body

    assert render_body("{{ x }}", {"x": "<script>"}) == "&lt;script&gt;"


def test_the_printer_fetches_nothing_from_the_network_or_disk():
    """An <img> or stylesheet pointing at a server or a file is not fetched."""
    import http.server

    from tousu.documents.rendering import render_pdf

    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        pdf = render_pdf(
            f'<link rel="stylesheet" href="{url}/x.css"><img src="{url}/x.png">'
            '<img src="file:///etc/hostname"><p>正文</p>'
        )
    finally:
        server.shutdown()
    assert pdf.startswith(b"%PDF") and hits == []


def test_the_admin_refuses_a_template_that_does_not_compile():
    from tousu.documents.admin import DocumentTemplateForm

    form = DocumentTemplateForm(
        data={
            "kind": "written_reply",
            "sector": "",
            "title": "答复书",
            "serial_code": "答",
            "body": "{% for x in %}",
            "is_public": True,
            "is_active": True,
        }
    )
    assert not form.is_valid() and "模板语法错误" in form.errors["body"][0]


# --- serial numbers under concurrent issue ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_serial_numbers_are_unique_and_gap_free_under_concurrent_issue(flow):
    """Eight threads issue 40 documents of one kind at once (each in its own connection and
    transaction), and some of their transactions roll back after taking a number."""
    f = flow("generic")
    cases = [f.register(f"投诉 {i}", channel="web") for i in range(8)]
    barrier = threading.Barrier(len(cases))
    errors, rolled_back = [], []

    def work(i, c):
        try:
            barrier.wait()
            for n in range(6):
                try:
                    with transaction.atomic():
                        services.issue_document(c, "registration_form", actor_name=f"t{i}")
                        if n == 5 and i % 2:  # the surrounding action fails: number given back
                            raise RuntimeError
                except RuntimeError:
                    rolled_back.append(i)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(cases)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(Document.objects.values_list("number", flat=True))
    assert len(rolled_back) == 4
    assert numbers == list(range(1, 8 * 6 - 4 + 1))  # 44 issued: 1..44, no gap, no repeat
    assert len(set(Document.objects.values_list("serial", flat=True))) == 44


def test_the_acceptance_receipt_names_the_organisations_rule_not_an_internal_code(flow):
    import re

    c = scenario(flow, "acceptance_receipt")
    (doc,) = [d for d in documents_for(c) if d.kind == "acceptance_receipt"]
    assert "（《通用投诉处理流程》：24 小时内答复客户" in doc.html
    text = re.sub(r"(?s)<(script|style)\b.*?</\1>|<[^>]+>", " ", doc.html)  # not the QR's data
    assert not re.search(r"(?<![#0-9A-Za-z])F\d+(?![0-9A-Za-z])", text)
