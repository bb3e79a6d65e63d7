"""The catalog carries the app's own module and level ids, as its migrations insert them."""

from __future__ import annotations

from provisioner.model.catalog import DEFAULT_CATALOG, DEFAULT_PRESETS
from tests import app_schema


def test_every_module_and_level_id_is_the_apps() -> None:
    modules = {value: i for i, value, _, _ in app_schema.SYSTEM_MODULES}
    assert {m.value: m.app_id for m in DEFAULT_CATALOG.modules.values()} == modules
    by_module = {}
    for i, module_id, value, _ in app_schema.SYSTEM_LEVELS:
        by_module.setdefault(module_id, {}).setdefault(value, []).append(i)
    for m in DEFAULT_CATALOG.modules.values():
        assert m.level_ids == by_module.get(m.app_id, {}), m.value
        assert m.levels == list(by_module.get(m.app_id, {})), m.value


def test_presets_are_the_forms_id_lists() -> None:
    ids = {m.value: m.app_id for m in DEFAULT_CATALOG.modules.values()}
    basic = {7, 1, 6, 17, 18, 5, 14}  # ClientController::tables()
    assert {ids[v] for v in DEFAULT_PRESETS["basico"]} == basic
    assert {ids[v] for v in DEFAULT_PRESETS["hotel"]} == basic | {8, 4, 15}
    assert {ids[v] for v in DEFAULT_PRESETS["farmacia"]} == basic | {8, 4, 19}
    assert {ids[v] for v in DEFAULT_PRESETS["restaurante"]} == basic | {8, 4, 23}
