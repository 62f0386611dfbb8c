"""Risk flags read from a complaint's text: threats to life and violence, injury, death, media
exposure, lawsuits, collective action, minors (F2 "special cases are reported to leadership", F17
serious disputes, F18 complex problems reported at once).

Rules, not a model: each flag must be explainable ("命中：起诉") and must not wait for training
data. Three kinds of false alarm are handled explicitly:

- obvious negation in the same clause, shortly before the term: 没有人受伤, 并未起诉, 不会找媒体,
  不打算打官司. A conditional threat is not a negation: 不解决就去法院起诉 still raises the flag,
  because a connector (就, 才, 否则, 的话 …) between the negation and the term ends its reach, and a
  bare 不 or 没 is no cue at all;
- figures of speech and fixed words: 气死了, 吵死人, 锈死了, 脑梗死 are not deaths; nor are dead
  flowers or fish (花都死了);
- children mentioned in passing (我家孩子的自行车被偷了): `risk_minor` needs harm or danger too.

Checked against the 1,729 shipped sample complaints: 2.5 % raise a flag, nearly all for deaths,
injuries, harmed children or legal threats the texts really describe (tests/triage/test_risk.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from .text import clauses

CRITICAL, SERIOUS = "critical", "serious"
SEVERITY_RANK = {"normal": 0, SERIOUS: 1, CRITICAL: 2}

# "死" after these is a figure of speech (气死了, 累死人) or a thing (锈死, 卡死), or a medical term
# (脑梗死, 股骨头坏死).
_NOT_DEATH_BEFORE = (
    "气热累吵烦急饿冷困笑臭痛疼憋挤忙吓闷难丑贵懒慢晒渴馋麻辣咸酸苦熏锈卡焊堵封关锁钉梗坏"
)


@dataclass(frozen=True)
class Rule:
    code: str
    label: str
    severity: str
    patterns: str  # regular expressions separated by spaces, matched on normalised text

    @property
    def terms(self) -> list[str]:
        return self.patterns.split()


RULES: tuple[Rule, ...] = (
    Rule(
        "risk_violence",
        "暴力或危及生命",
        CRITICAL,
        "杀了 杀人 弄死 打死 砍死 捅死 砍人 捅人 捅伤 拿刀 持刀 动刀 带刀 同归于尽 报复 "
        "炸了你们 炸掉 放火 烧了你们 拼命 跟你们拼了 血债 打人 殴打 动手打 被(?:人)?打(?:了|伤|得|成) "
        "挨打 打伤 伤医 医闹 威胁 恐吓 跳楼 跳河 跳下去 自杀 轻生 不想活 活不下去 寻死 喝农药 割腕 "
        "上吊 以死",
    ),
    Rule(
        "risk_injury",
        "人身伤害",
        SERIOUS,
        "受伤 伤亡 摔伤 砸伤 烫伤 撞伤 咬伤 夹伤 触电 坠楼 砸到人 被.{0,3}砸中 伤者 "
        "摔倒.{0,4}(?:骨折|流血|住院)",
    ),
    Rule(
        "risk_death",
        "死亡",
        CRITICAL,
        "死亡 去世 身亡 过世 病逝 逝世 离世 病故 猝死 抢救无效 尸检 尸体 遗体 太平间 丧命 "
        "出了人命 人命关天 害死 治死 医死 死掉 死因 "
        f"(?<![{_NOT_DEATH_BEFORE}])死人 (?<![{_NOT_DEATH_BEFORE}])死了(?!算) "
        f"(?<![{_NOT_DEATH_BEFORE}得])死(?=[在于])",
    ),
    Rule(
        "risk_media",
        "媒体曝光",
        SERIOUS,
        "媒体 记者 曝光 电视台 报社 热搜 上网发 网上曝 网络曝 (?:上|找|联系)(?:了)?新闻 "
        "(?:发|传|挂|放|晒|捅)(?:到|在|上)?(?:微博|抖音|快手|头条|小红书|网上|网络|朋友圈|论坛) "
        "(?:现场|开)直播",
    ),
    Rule(
        "risk_lawsuit",
        "诉讼",
        SERIOUS,
        "起诉 诉讼 告你们 告到法院 法院 律师 打官司 法律途径 法律手段 仲裁 律师函 司法鉴定 "
        "上诉 法庭",
    ),
    Rule(
        # One complainant's text speaking of collective action. Not the flag of a collective
        # complaint (`risk_collective`, 群体性事件), which only a wave of complainants sets
        # (waves.py): one letter saying 联名 is not yet several people.
        "risk_mass_action",
        "扬言集体行动",
        SERIOUS,
        "集体(?:投诉|上访|维权|去|到|找|起诉|讨说法) 联名 大家一起去 一起去找 业主们一起 "
        "拉横幅 横幅 围堵 堵门 堵路 静坐 上访 维权群 几十户 上百户 去政府 到政府 群访 "
        "(?:人|业主|家属|群众|患者|居民)(?:们)?.{0,4}聚集 聚集(?:了)?.{0,6}(?:人|业主|家属|群众)",
    ),
    Rule(
        "risk_minor",
        "涉及未成年人",
        SERIOUS,
        "未成年 儿童 小孩 孩子 幼儿 婴儿 新生儿 患儿 宝宝 小朋友 女童 男童 婴幼儿 "
        "(?<![\\d十])(?:[1-9]|1[0-7]|[一二三四五六七八九]|十[一二三四五六七]?)(?:周)?岁(?:半)?的?(?:孩子|儿子|女儿|男孩|女孩|小孩|孩)",
    ),
)

FLAG_LABELS = {r.code: r.label for r in RULES} | {"risk_collective": "群体性事件"}

# Children are everywhere in hospital and estate complaints; a minor is a risk when harmed or in
# danger. So `risk_minor` stands only beside one of these flags, or one of these cues.
_HARM_FLAGS = {"risk_violence", "risk_injury", "risk_death"}
_MINOR_HARM = Rule(
    "_minor_harm",
    "",
    SERIOUS,
    "走失 被拐 拐走 虐待 猥亵 性侵 骚扰 体罚 欺负 打骂 烫 摔 伤 抢救 病危 抽搐 昏迷 窒息 噎 "
    "误食 溺水 差点被车 被车撞 被狗咬 中毒 休克 高烧不退 发紫 没气 被夹 夹到 被困 困在 触电 坠落 "
    "跌落 掉下 走丢 出血 流血",
)

# Negation cues: only these, not a bare 不 or 没 (不处理就起诉, 没办法只能起诉 are threats).
_NEGATION = (
    "没有人 没人 无人 并未 未曾 并没有 并没 没有 不会 不想 不打算 不准备 不至于 不是 并非 绝不 "
    "决不 不再 不用 无需 不必 未 没必要 不愿 无一 均无 暂无"
).split()
_CUES = re.compile("|".join(sorted(_NEGATION, key=len, reverse=True)))
# A connector between the cue and the term ends the negation's reach (不处理就去起诉).
_BREAK = re.compile(
    r"就|才|便|否则|不然|的话|要是|如果|但|可是|而是|只能|只好|还是|逼|导致|致使|以致"
)
_REACH = 6  # characters before the term a cue may sit in
# Plants, fish or pets dying (花都死了, 观赏鱼大量死亡): looked for just before a death term.
_NOT_HUMAN = re.compile(r"[花草树苗叶鱼虾虫鸟猫狗兔鸡鸭蚊蝇蟑鼠]")


@dataclass
class RiskFlag:
    code: str
    label: str
    severity: str
    terms: list[str] = field(default_factory=list)


@cache
def _compiled() -> tuple[tuple[Rule, re.Pattern], ...]:
    return tuple(
        (r, re.compile("|".join(f"(?:{t})" for t in r.terms))) for r in (*RULES, _MINOR_HARM)
    )


def _negated(clause: str, start: int) -> bool:
    before = clause[max(0, start - _REACH) : start]
    return any(not _BREAK.search(before[cue.end() :]) for cue in _CUES.finditer(before))


def risk_flags(text: str) -> list[RiskFlag]:
    """The risk flags a text raises, each with the terms that raised it, most severe first."""
    found: dict[str, RiskFlag] = {}
    for clause in clauses(text):
        for rule, pattern in _compiled():
            for m in pattern.finditer(clause):
                if _negated(clause, m.start()):
                    continue
                if rule.code == "risk_death" and _NOT_HUMAN.search(
                    clause[max(0, m.start() - 4) : m.start()]
                ):
                    continue
                flag = found.setdefault(rule.code, RiskFlag(rule.code, rule.label, rule.severity))
                if m.group(0) not in flag.terms:
                    flag.terms.append(m.group(0))
    harm = found.pop(_MINOR_HARM.code, None)
    if "risk_minor" in found and not (harm or _HARM_FLAGS & found.keys()):
        del found["risk_minor"]
    order = [r.code for r in RULES]
    return sorted(found.values(), key=lambda f: (-SEVERITY_RANK[f.severity], order.index(f.code)))


def severity_of(flags: list[RiskFlag], current: str = "normal") -> str:
    """The case's severity after the flags: raised, never lowered."""
    return max([current, *(f.severity for f in flags)], key=lambda s: SEVERITY_RANK.get(s, 0))
