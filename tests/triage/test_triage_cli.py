"""`tousu triage …`: outputs and exit codes (0 ok, 2 bad usage or input)."""

import pytest

from tousu.cli import main

pytestmark = pytest.mark.django_db


def test_evaluate_prints_accuracy_macro_f1_and_the_per_category_table(capsys):
    assert main(["triage", "evaluate", "--template", "property"]) == 0
    out = capsys.readouterr().out
    assert "5 折分层交叉验证" in out and "701 条" in out
    assert "宏平均 F1 0.8" in out or "宏平均 F1 0.9" in out
    assert "关键词基线" in out and "责任部门准确率" in out
    for code in ("engineering_repair", "neighbour_disputes", "fees"):
        assert code in out
    assert "精确率" in out and "召回率" in out


def test_evaluate_a_labelled_file(tmp_path, capsys):
    from tousu.triage.selectors import samples

    data = samples("property")
    path = tmp_path / "mine.csv"
    rows = ["text,category"] + [
        f'"{t}",{c}' for t, c in list(zip(data.texts, data.categories, strict=True))[:300]
    ]
    path.write_text("\n".join(rows), encoding="utf-8")
    assert main(["triage", "evaluate", "--file", str(path), "--folds", "3"]) == 0
    out = capsys.readouterr().out
    assert f"文件 {path}" in out and "3 折" in out and "300 条" in out


def test_bad_files_and_templates_are_usage_errors(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("内容,类别\n多收费,charges\n", encoding="utf-8")
    assert main(["triage", "evaluate", "--file", str(bad)]) == 2
    assert "表头必须包含 text 和 category" in capsys.readouterr().err
    assert main(["triage", "evaluate", "--template", "generic"]) == 2
    assert "没有内置样本" in capsys.readouterr().err
    assert main(["triage", "train", "--template", "hospital"]) == 2
    assert "未安装" in capsys.readouterr().err


def test_train_models_suggest_activate(hospital, capsys):
    assert main(["triage", "train", "--template", "hospital"]) == 0
    assert "hospital v1：11 个类别，内置样本 1180 条" in capsys.readouterr().out
    assert main(["triage", "train", "--template", "hospital", "--no-activate"]) == 0
    assert main(["triage", "models"]) == 0
    out = capsys.readouterr().out
    assert "* hospital             v1" in out and "  hospital             v2" in out
    assert main(["triage", "activate", "--template", "hospital", "2"]) == 0
    assert main(["triage", "activate", "--template", "hospital", "9"]) == 2
    capsys.readouterr()
    assert (
        main(
            [
                "triage",
                "suggest",
                "--template",
                "hospital",
                "护士扎了四次针都没扎进去，我要去法院起诉",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "建议：护理质量（nursing_quality）→ 护理部" in out and "模型 v2" in out
    assert "风险提示：诉讼" in out
