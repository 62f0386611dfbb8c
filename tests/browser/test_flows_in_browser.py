"""Whole flows through the browser only (no admin, no API): the generic flow and the hospital's
medical-dispute path, each step taken by the role the flow names, on its own login."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Fill every required field the form still has empty: the test names only the values that matter.
FILL_REQUIRED = """form => {
  const today = new Date().toISOString().slice(0, 10);
  for (const el of form.querySelectorAll('[required]')) {
    if (el.type === 'checkbox') { el.checked = true; continue; }
    if (el.type === 'radio') {  // a yes/no or a choice: the first answer, unless one is given
      if (!form.querySelector(`input[name="${el.name}"]:checked`)) el.checked = true;
      continue;
    }
    if (el.type === 'hidden' || el.value) continue;
    if (el.tagName === 'SELECT') {
      const opt = [...el.options].find(o => o.value);
      if (opt) opt.selected = true;
    } else if (el.type === 'date') { el.value = today; }
    else if (el.type === 'datetime-local') { el.value = today + 'T09:00'; }
    else if (el.type === 'number') { el.value = '1'; }
    else { el.value = '浏览器测试填写'; }
  }
}"""


class Desk:
    """One browser tab, logging in as whoever the next step needs."""

    def __init__(self, page, url, passwords):
        self.page, self.url, self.passwords, self.user = page, url, passwords, None

    def login(self, username):
        if self.user == username:
            return
        page = self.page
        if self.user:
            page.get_by_role("button", name="退出").click()
        page.goto(f"{self.url}/staff/login/")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(self.passwords[username])
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{self.url}/staff/")
        self.user = username

    def act(self, username, case_url, label, expect_state, **fields):
        self.login(username)
        page = self.page
        page.goto(case_url)
        box = page.locator(
            "details.action",
            has=page.locator("summary", has_text=re.compile(f"^{re.escape(label)}$")),
        )
        box.locator("summary").click()
        for name, value in fields.items():
            if value == "check":  # a box to tick (a department also has its lead radio)
                box.get_by_role("checkbox", name=name, exact=True).check()
                continue
            field = box.get_by_label(name, exact=True)
            tag = field.evaluate("e => e.tagName")
            if tag == "SELECT":
                field.select_option(label=value)
            elif field.get_attribute("type") in ("checkbox", "radio"):
                field.check()
            else:
                field.fill(value)
        box.locator("form").evaluate(FILL_REQUIRED)
        box.get_by_role("button", name=label).click()
        expect(page.locator(".msg.success")).to_contain_text(label)
        expect(page.locator("h1 .state")).to_have_text(expect_state)


def register(desk, username, content, **fields):
    desk.login(username)
    page = desk.page
    page.goto(f"{desk.url}/staff/cases/new/")
    for name, value in fields.items():
        field = page.get_by_label(name, exact=True)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)
    page.get_by_label("投诉内容", exact=True).fill(content)
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.locator(".msg.success")).to_contain_text("查询码")
    return page.url


def test_generic_flow_end_to_end(page, live_server, staff):
    desk = Desk(page, live_server.url, {u: f"pw-{u}-123" for u in staff})
    case = register(
        desk,
        "receiver",
        "产品包装破损，里面的杯子碎了两个",
        渠道="来电",
        投诉人姓名="王五",
        联系电话="13700001234",
    )
    expect(page.locator("h1 .state")).to_have_text("已登记")
    desk.act("officer", case, "投诉成立", "待分派", 判断理由="理由充分")
    desk.act("officer", case, "单项、一般投诉：送相关部门", "部门处理中", 投诉类别="质量问题")
    expect(page.locator(".case-head")).to_contain_text("质量管理部")
    # The department handler finds the case on their own to-do list.
    desk.login("handler_q")
    expect(page.locator("table.list")).to_contain_text(
        case.rstrip("/").rsplit("/", 1)[-1] and "部门处理中"
    )
    # A single, general complaint: the department's plan goes to the reply, no leader (F1).
    desk.act(
        "handler_q",
        case,
        "分析原因并提出处理方案",
        "待答复客户",
        原因分析="包装箱强度不够",
        处理方案="补发并改用加厚纸箱",
    )
    desk.act(
        "officer", case, "答复客户", "方案落实中", 答复内容="已补发，并改进包装", 答复方式="电话"
    )
    desk.act(
        "handler_q",
        case,
        "确定具体责任，通知客户和责任人，落实方案",
        "待客户评价",
        具体责任人="包装组",
        落实情况="已更换纸箱",
    )
    desk.act("officer", case, "回访：客户满意", "已结案", 满意度="满意")
    desk.act("officer", case, "资料归档，总结评价", "已归档")
    timeline = page.locator("ol.timeline")
    for label in ("登记", "投诉成立", "答复客户", "回访：客户满意", "资料归档"):
        expect(timeline).to_contain_text(label)
    expect(page.locator(".clock").first).to_contain_text("按时完成")


@pytest.fixture
def hospital_staff(db):
    from tousu.accounts.models import Department, Organisation
    from tousu.accounts.services import create_user, ensure_roles
    from tousu.processes.services import install_template

    ensure_roles()
    install_template("hospital")
    Organisation.objects.create(name="人民医院", default_process="hospital")
    affairs = Department.objects.get(code="medical_affairs")
    users = {
        "receiver": ["receiver"],
        "officer": ["officer"],
        "leader": ["leader"],
        "leader2": ["leader"],
    }
    for name, roles in users.items():
        create_user(name, roles=roles, password=f"pw-{name}-123")
    create_user("handler_ma", roles=["handler"], department=affairs, password="pw-handler_ma-123")
    return {u: f"pw-{u}-123" for u in [*users, "handler_ma"]}


def test_hospital_medical_dispute_path(page, live_server, hospital_staff):
    desk = Desk(page, live_server.url, hospital_staff)
    case = register(
        desk,
        "receiver",
        "父亲术后感染，家属认为手术有过错，要求赔偿",
        渠道="来访",
        投诉人姓名="刘女士",
        联系电话="13600002222",
    )
    desk.act("officer", case, "投诉管理办公室登记", "投诉办已登记", 投诉类别="医疗质量")
    expect(page.locator(".case-head")).to_contain_text("医务科")
    desk.act("officer", case, "医疗纠纷：组织科室与患方协调会", "医患协调中",
             主要问题="术后感染责任", 医务科="check")  # fmt: skip
    desk.act("officer", case, "未达成一致，告知法律途径", "待书面投诉", 封存病历资料="check")
    desk.act("officer", case, "收到患方书面投诉", "医务科调查中", 书面投诉要点="要求赔偿医疗费")
    desk.act("officer", case, "医务科调查后提出初步处理意见，提交领导小组", "医疗纠纷领导小组研究")
    desk.act("leader", case, "医疗纠纷领导小组集体研究作出结论", "待患方对结论的意见",
             leader="check", leader2="check")  # fmt: skip
    desk.act("officer", case, "患方接受，签订协议，结案息访", "已签订协议，结案息访")
    clocks = page.locator("ul.clocks")
    expect(clocks).to_contain_text("两周")


@pytest.fixture
def ward_staff(db):
    from tousu.accounts.models import Department, Organisation
    from tousu.accounts.services import create_user, ensure_roles
    from tousu.processes.services import install_template

    ensure_roles()
    install_template("hospital")
    Organisation.objects.create(name="人民医院", default_process="hospital")
    surgery = Department.objects.get(code="surgery")
    create_user("officer", roles=["officer"], password="pw-officer-123")
    create_user("nurse_surgery", roles=["handler"], department=surgery, display_name="外科护士长",
                password="pw-nurse_surgery-123")  # fmt: skip
    return {"officer": "pw-officer-123", "nurse_surgery": "pw-nurse_surgery-123"}


def test_F18_a_ward_registers_a_first_complaint_solves_it_and_the_patient_rates_it(
    page, browser, live_server, ward_staff
):
    desk = Desk(page, live_server.url, ward_staff)
    desk.login("nurse_surgery")
    # The ward's own staff may register (首诉负责制): the link is there for them.
    expect(page.get_by_role("link", name="登记投诉")).to_be_visible()
    page.goto(f"{live_server.url}/staff/cases/new/")
    page.get_by_label("渠道", exact=True).select_option(label="来访")
    page.get_by_label("投诉人姓名", exact=True).fill("陈女士")
    page.get_by_label("联系电话", exact=True).fill("13600003333")
    page.get_by_label("投诉内容", exact=True).fill("母亲住院输液时呼叫铃半小时无人应答")
    page.get_by_label("已当场解决").check()
    page.get_by_label("解决办法", exact=True).fill("护士长当面道歉，调整夜班巡视安排")
    page.get_by_role("button", name="登记", exact=True).click()
    notice = page.locator(".msg.success")
    expect(notice).to_contain_text("查询码")
    number, code = re.search(r"已登记 (\S+)，查询码 (\w+)", notice.inner_text()).groups()
    expect(page.locator("h1 .state")).to_have_text("待患方评价")
    expect(page.locator(".case-head")).to_contain_text("外科")
    # The ward cannot record the patient's satisfaction for them.
    expect(
        page.locator("details.action summary", has_text="回访：患方满意，协商解决")
    ).to_have_count(0)

    patient = browser.new_page(viewport={"width": 390, "height": 844})
    patient.goto(f"{live_server.url}/track/")
    patient.get_by_label("投诉编号").fill(number)
    patient.get_by_label("查询码或手机号码").fill(code)
    patient.get_by_role("button", name="查询").click()
    expect(patient.locator("#status")).to_have_text("待您评价")
    expect(patient.locator("#timeline")).to_contain_text("已当场解决，请您评价")
    patient.get_by_label("满意", exact=True).check()
    patient.get_by_role("button", name="提交评价").click()
    expect(patient.locator(".msg.success")).to_contain_text("感谢您的评价")
    expect(patient.locator("#status")).to_have_text("已办结")

    from tousu.cases.models import Complaint

    c = Complaint.objects.get(tracking_number=number)
    assert c.state == "closed" and c.first_department.code == "surgery"
    assert c.events.get(action="rate_satisfied").actor_id is None  # the patient, not staff
