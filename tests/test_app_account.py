"""store()'s rows from a spec, for any module choice: ids are the app's, levels belong to the
chosen modules, an integrator always gets 1, 3, 5; PHP's JSON reads back as the same value."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.app.account import desired_account, php_json
from provisioner.model.catalog import DEFAULT_CATALOG
from provisioner.model.repository import load_repository
from tests import app_schema

ROOT = Path(__file__).resolve().parent.parent
REPO = load_repository(ROOT / "examples")
BASE = REPO.tenant("pruebademo").spec
MODULE_OF_LEVEL = {i: m for i, m, _, _ in app_schema.SYSTEM_LEVELS}
MODULE_IDS = {i for i, *_ in app_schema.SYSTEM_MODULES}
VALUES = list(DEFAULT_CATALOG.modules)


@st.composite
def selections(draw):
    include = draw(st.lists(st.sampled_from(VALUES), min_size=1, unique=True))
    levels = {}
    for value in include:
        module = DEFAULT_CATALOG.modules[value]
        if module.levels and draw(st.booleans()):
            levels[value] = draw(st.lists(st.sampled_from(module.levels), unique=True))
    return include, levels


@settings(max_examples=200, deadline=None)
@given(selections(), st.sampled_from(["admin", "integrator"]))
def test_module_and_level_ids_are_the_apps(selection, user_type) -> None:
    include, levels = selection
    spec = BASE.model_copy(update={"modules": BASE.modules.model_copy(
        update={"preset": None, "include": include, "levels": levels}), "user_type": user_type})
    d = desired_account(spec, REPO.reseller, REPO.catalog)
    if user_type == "integrator":
        assert (d.module_ids, d.level_ids) == ((1, 3, 5), ())
        return
    assert set(d.module_ids) <= MODULE_IDS and len(d.module_ids) == len(include)
    assert len(set(d.level_ids)) == len(d.level_ids)
    for level in d.level_ids:
        assert MODULE_OF_LEVEL[level] in d.module_ids
    for value in include:
        module = DEFAULT_CATALOG.modules[value]
        chosen = levels.get(value, module.levels)
        got = {i for i in d.level_ids if MODULE_OF_LEVEL[i] == module.app_id}
        assert got == {i for lv in chosen for i in module.level_ids[lv]}


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                    max_leaves=20))
def test_php_json_reads_back_as_the_same_value(value) -> None:
    text = php_json(value)
    assert json.loads(text) == value
    assert "/" not in text.replace("\\/", "") and text.isascii()
