"""English and 简体中文: the switcher, Chinese stage labels from the configuration, localised numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from pipeline.models import Stage, StageConfig
from tests.conftest import _missing
from tests.factories import make_deal

pytestmark = pytest.mark.django_db

LADDER_ZH = ["销售前期准备", "初次接触", "需求分析", "提案和报价", "谈判和跟进", "签约和实施"]


@pytest.fixture
def chinese(login, org, compiled_translations):  # type: ignore[no-untyped-def]
    client = login(org.alice)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/pipeline/"})
    yield client
    translation.activate("en")


def test_switching_to_chinese_shows_the_ladder_in_chinese_in_order(chinese, org):
    make_deal(owner=org.alice, stage=Stage.CONTACT, title="Alpha", amount=Decimal("1234567"))

    html = chinese.get("/pipeline/").content.decode()

    positions = [html.index(f">{label}</h2>") for label in LADDER_ZH]
    assert positions == sorted(positions)
    assert "我的销售漏斗" in html  # page title and navigation are translated
    assert "添加商机" in html
    assert "¥1,234,567" in html  # money grouped, yuan sign in Chinese
    assert "1 个商机" in html


def test_stage_labels_come_from_the_configuration(chinese, org):
    StageConfig.objects.filter(stage=Stage.PREP).update(label_zh="准备阶段（调研）")

    html = chinese.get("/pipeline/").content.decode()

    assert ">准备阶段（调研）</h2>" in html


def test_gate_form_in_chinese(chinese, org):
    deal = make_deal(owner=org.alice, stage=Stage.CONTACT, title="Alpha")

    response = chinese.post(
        f"/deals/{deal.pk}/move/",
        {"to_stage": "needs", "expected_stage": "contact", "source": "board"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert "要将“Alpha”移至需求分析，请填写：" in html
    assert "进入此阶段前必须填写联系人。" in html
    assert "保存并移动" in html


def test_deal_page_and_forms_in_chinese(chinese, org):
    deal = make_deal(owner=org.alice, stage=Stage.NEEDS, title="Alpha")

    html = chinese.get(f"/deals/{deal.pk}/").content.decode()

    assert "阶段历史" in html
    assert "记录活动" in html
    assert ">需求分析<" in html
    assert "预计成交日期" in html  # model verbose names are translated too


def test_english_is_the_default(login, org, compiled_translations):
    html = login(org.alice).get("/pipeline/").content.decode()

    assert '<html lang="en">' in html
    assert "Preparation (research)" in html
    assert "销售前期准备" not in html


def test_every_entry_of_the_chinese_catalog_is_translated():
    from pathlib import Path

    from babel.messages.pofile import read_po

    po = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    with po.open("rb") as fh:
        catalog = read_po(fh)

    untranslated = [m.id for m in catalog if m.id and (not m.string or not any(m.string) or m.fuzzy)]
    assert untranslated == []


def test_every_string_in_the_code_is_in_the_chinese_catalog(tmp_path, settings, monkeypatch):
    """Extract the messages afresh (as `make messages` does, on a copy of the sources) and require a
    Chinese translation for each: a string wrapped in _() but never added to the catalog fails here."""
    import shutil
    from pathlib import Path

    from babel.messages.pofile import read_po
    from django.core.management import call_command

    if shutil.which("xgettext") is None:
        _missing("needs GNU gettext (apt-get install gettext) to extract messages")
    root = Path(__file__).resolve().parents[2]
    for name in ("salesladder", "pipeline", "targets", "reviews", "templates", "locale"):
        shutil.copytree(root / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)

    call_command("makemessages", locale=["zh_Hans"], verbosity=0)

    with (tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").open("rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and (not m.string or not any(m.string) or m.fuzzy)]
    assert missing == []
