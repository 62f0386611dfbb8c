"""Keyword rules per template: the cold-start baseline before any model is trained, and the
explanation shown beside a suggestion ("命中：收费、多收").

Written by hand from the category definitions in the flows (F2, F4, F8, F18 and the sector
templates), not mined from the samples, so that `tousu triage evaluate` can report them as an
honest baseline. Keys are the templates' category codes; a template without rules here simply
gets no keyword baseline.
"""

from __future__ import annotations

from functools import cache

from .text import normalise

# Space-separated keywords, so an administrator can read and edit a line at a glance.
KEYWORDS: dict[str, dict[str, str]] = {
    "hospital": {
        "medical_quality": (
            "误诊 漏诊 诊断错 治疗效果 手术失败 并发症 后遗症 医疗事故 "
            "病情加重 延误治疗 延误病情 治疗方案 开错药 过度治疗 没有仔细检查 "
            "术后 医术 耽误了治疗 复发 感染了"
        ),
        "nursing_quality": (
            "护士 护理 打针 输液 扎针 换药 翻身 压疮 褥疮 呼叫铃 鼓针 点滴 护工 拔管 尿管 护士站"
        ),
        "charges": (
            "收费 多收 乱收费 重复收费 费用清单 退费 结算 账单 价格 收了钱 "
            "扣费 发票 太贵 押金 缴费单"
        ),
        "ethics": (
            "红包 回扣 收礼 送礼 索要 吃拿卡要 推销 介绍到外面 医德 私下 熟人 好处费 购物卡"
        ),
        "service_attitude": (
            "态度 不耐烦 冷漠 训斥 骂 凶 脸色 语气 爱理不理 嘲笑 不尊重 吼 冷嘲热讽 说话难听"
        ),
        "hospital_management": (
            "规定 制度 流程 管理混乱 病历复印 陪护证 探视 住院难 床位 会诊 "
            "转院 院领导 出院手续 规章"
        ),
        "outpatient": (
            "门诊 挂号 排队 候诊 叫号 预约 加号 停诊 专家号 号源 分诊 导诊 自助机 取报告"
        ),
        "logistics_environment": (
            "卫生间 厕所 空调 电梯 食堂 饭菜 垃圾 漏水 热水 卫生差 噪音 停车 开水 保洁 暖气 蚊子"
        ),
        "security_order": (
            "保安 被偷 失窃 小偷 打架 医闹 号贩子 黄牛 监控 插队闹事 治安 门禁 扒手 报警"
        ),
        "medical_insurance": (
            "医保 报销 社保 医保卡 自费 新农合 异地就医 统筹 个人账户 目录外 医保局 慢特病 特殊病种"
        ),
        "drugs_devices": (
            "药品 过期 假药 药房 器械 设备故障 仪器 药物不良反应 缺药 发错药 "
            "拿错药 质量问题 耗材 包装 批号"
        ),
    },
    "property": {
        "engineering_repair": (
            "报修 维修 坏了 漏水 停水 停电 电梯 水管 堵塞 路灯 跳闸 水压 门禁坏 排污 化粪池 故障"
        ),
        "security": (
            "保安 被盗 被偷 小偷 监控 门禁 陌生人 外来车辆 巡逻 安全隐患 "
            "消防通道 高空抛物 飙车 失窃"
        ),
        "customer_service": (
            "客服 管家 前台 没人接 不回复 态度 推诿 敷衍 回电话 通知 公示 服务差 业主信息 泄露"
        ),
        "cleaning_greening": (
            "垃圾 保洁 清洁 绿化 草坪 树木 修剪 杂草 卫生 蚊虫 除雪 积水 落叶 臭味 打药"
        ),
        "building_quality": (
            "开发商 交房 墙面 空鼓 开裂 裂缝 渗水 防水 质量问题 验房 精装修 保修期 沉降 外墙 瓷砖"
        ),
        "fees": (
            "物业费 收费 停车费 多收 发票 涨价 退费 公摊 维修基金 押金 滞纳金 催缴 缴费 乱收费"
        ),
        "external": (
            "市政 自来水公司 供电局 热力公司 燃气公司 供暖 施工 物流园 工地 "
            "政府 街道 城管 地铁 马路"
        ),
        "neighbour_disputes": (
            "邻居 楼上 楼下 对门 隔壁 占用楼道 堆放杂物 噪音扰民 养狗 狗叫 "
            "宠物 装修噪音 私搭乱建 吵架"
        ),
    },
    "generic": {
        "transport": "运输 物流 快递 送货 发货 到货 破损 延误 丢件",
        "quality": "质量 次品 坏了 故障 不合格 瑕疵 退货 假货 做工",
        "service": "态度 客服 服务 不理 推诿 敷衍 回复 售后",
    },
    "tourism-company": {
        "itinerary": "行程 景点 少去 缩短 改变行程 取消景点 自由活动",
        "accommodation_meals": "酒店 住宿 房间 餐 饭菜 早餐 标准间 宾馆",
        "guide": "导游 领队 讲解 态度 甩团 骂",
        "shopping": "购物 购物店 强制消费 买东西 自费项目 玉器 茶叶",
        "contract_price": "合同 价格 退款 费用 团费 差价 违约 订金",
        "transport": "大巴 车辆 司机 航班 火车 旅游车 座位 空调车",
    },
    "tourism-authority": {
        "contract_breach": "合同 行程 违约 擅自 少去 降低标准 购物 导游",
        "operator_damage": "受伤 财产损失 丢失 损坏 人身 摔伤",
        "force_majeure": "天气 台风 暴雨 地震 疫情 封路 航班取消 不可抗力",
    },
    "enterprise-quality": {
        "product_quality": "质量 不合格 故障 坏 缺陷 性能 断裂 生锈",
        "inspection": "检验 检测 标准 报告 尺寸 超差 抽检",
        "packaging": "包装 破损 压坏 纸箱 受潮",
        "wrong_goods": "错发 漏发 发错 少发 型号不对 数量不对",
        "delivery": "交期 延误 迟到 没到货 交货 物流",
        "documents": "单据 发票 合格证 资料 报关 质保书",
        "service": "态度 业务员 不回复 推诿 服务",
    },
    "supervision-report": {
        "food_safety": "食品 餐馆 饭店 变质 过期 食物中毒 后厨 外卖",
        "public_place_hygiene": "宾馆 浴室 游泳池 理发 美容 床单 公共场所",
        "occupational_hazard": "职业病 粉尘 噪声 有毒 防护 车间 工人",
        "illegal_practice": "非法行医 无证 黑诊所 诊所 行医 医美 执业",
        "school_hygiene": "学校 食堂 学生 教室 幼儿园 宿舍",
        "water_safety": "饮用水 自来水 水质 二次供水 浑浊 水箱",
        "disease_control": "传染病 疫苗 接种 消毒 疫情 发热",
    },
}


@cache
def _rules(template: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (code, tuple(normalise(w) for w in words.split()))
        for code, words in KEYWORDS.get(template, {}).items()
    )


def matches(template: str, text: str) -> dict[str, list[str]]:
    """{category: matched keywords} for the categories with at least one match.

    A keyword inside a longer matched keyword of the same category is not counted twice."""
    body = normalise(text)
    found: dict[str, list[str]] = {}
    for code, words in _rules(template):
        hit = [w for w in words if w in body]
        hit = [w for w in hit if not any(w != o and w in o for o in hit)]
        if hit:
            found[code] = hit
    return found


def rank(template: str, text: str) -> list[tuple[str, float, list[str]]]:
    """Categories by keyword hits, most hits first, with a rough confidence.

    Confidence = hits of the category / (all hits + 1): one lone hit gives 0.5, two hits for one
    category and none elsewhere 0.67; hits spread over several categories give little."""
    found = matches(template, text)
    total = sum(len(v) for v in found.values())
    ranked = sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [(code, len(hit) / (total + 1), hit) for code, hit in ranked]


def has_rules(template: str) -> bool:
    return template in KEYWORDS
