"""The plan and module catalog: the app's defaults, merged with what a reseller file overrides.

This module is the only place the app's plans, modules, levels and presets are written down.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]*$", max_length=64)]


class DocumentFamily(StrEnum):
    """The app's `plan_documents` families, with its numeric ids."""

    INVOICES = "facturas"  # 1: facturas, boletas, notas, resúmenes, anulaciones
    DISPATCHES = "guias"  # 2: guías de remisión
    RETENTIONS = "retenciones"  # 3
    PERCEPTIONS = "percepciones"  # 4

    @property
    def app_id(self) -> int:
        return _FAMILY_IDS[self]


_FAMILY_IDS: Final = {f: i for i, f in enumerate(DocumentFamily, 1)}  # the app's order


class DatabaseTier(StrEnum):
    POOL = "pool"  # a database on the platform's shared MySQL server
    SILO = "silo"  # a dedicated RDS instance


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Slug
    label: str | None = None
    pricing: float = Field(0, ge=0, description="Monthly price, in the reseller's currency.")
    limit_users: int = Field(0, ge=0, description="0 means unlimited.")
    limit_documents: int = Field(0, ge=0, description="0 means unlimited.")
    documents: list[DocumentFamily] = Field(default_factory=lambda: list(DocumentFamily))
    establishments_limit: int = Field(0, ge=0, description="0 means unlimited.")
    sales_limit: float = Field(0, ge=0, description="Amount; 0 means unlimited.")
    locked: StrictBool = False
    tier: DatabaseTier = DatabaseTier.POOL

    def app_json(self) -> dict[str, Any]:
        """The plan as the app stores it in the tenant's `configurations.plan` column."""
        return {
            "name": self.label or self.name,
            "pricing": self.pricing,
            "limit_users": self.limit_users,
            "limit_documents": self.limit_documents,
            "plan_documents": [f.app_id for f in self.documents],
            "locked": self.locked,
            "establishments_limit": self.establishments_limit,
            "sales_limit": self.sales_limit,
        }


class ModuleDef(BaseModel):
    """A module ("value" as the app names it) with its id and its levels (sub-modules).

    `app_id` and `level_ids` are the ids of the app's system `modules` and `module_levels`
    rows: "Guardar" writes those ids into the tenant's `module_user` / `module_level_user`.
    A level value the app has twice (`inventory_report_kardex`) maps to both ids.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Slug
    label: str
    app_id: int | None = Field(None, ge=1, description="The app's system modules.id")
    levels: list[Slug] = Field(default_factory=list)
    level_ids: dict[Slug, list[Annotated[int, Field(ge=1)]]] = Field(
        default_factory=dict, description="The app's system module_levels ids, per level")

    @model_validator(mode="after")
    def _ids_name_known_levels(self) -> ModuleDef:
        unknown = [v for v in self.level_ids if v not in self.levels]
        if unknown:
            raise ValueError(f"level_ids names unknown levels: {', '.join(unknown)}")
        return self

    def ids_of(self, levels: tuple[str, ...] | list[str]) -> list[int]:
        return [i for lv in levels for i in self.level_ids.get(lv, [])]


class Catalog(BaseModel):
    """Plans, modules and presets after merging the reseller's overrides onto the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plans: dict[str, Plan]
    modules: dict[str, ModuleDef]
    presets: dict[str, list[str]]

    @model_validator(mode="after")
    def _presets_name_known_modules(self) -> Catalog:
        for preset, values in self.presets.items():
            unknown = [v for v in values if v not in self.modules]
            if unknown:
                raise ValueError(f"preset {preset!r} names unknown modules: {', '.join(unknown)}")
        return self


_BASIC = ["dashboard", "documents", "pos", "items", "persons", "configuration", "establishments"]

DEFAULT_PLANS: list[Plan] = [
    Plan(name="ilimitado", label="Ilimitado"),
    Plan(name="emprendedor", label="Emprendedor", pricing=29, limit_users=2, limit_documents=300,
         documents=[DocumentFamily.INVOICES], establishments_limit=1),
    Plan(name="pyme", label="Pyme", pricing=59, limit_users=5, limit_documents=1500,
         documents=[DocumentFamily.INVOICES, DocumentFamily.DISPATCHES], establishments_limit=3),
    Plan(name="corporativo", label="Corporativo", pricing=199, tier=DatabaseTier.SILO),
]

def _module(value: str, label: str, app_id: int, *levels: tuple[str, int | list[int]]) -> ModuleDef:
    return ModuleDef(value=value, label=label, app_id=app_id, levels=[lv for lv, _ in levels],
                     level_ids={lv: ids if isinstance(ids, list) else [ids] for lv, ids in levels})


# Ids read from the app's system migrations (pro5 database/migrations/, in timestamp order):
# modules 1-11 (2019_11_07), 12 finance, 14 establishments, 15-16 (2021_03_10, auto ids),
# 17-18 (2021_03_19), 19 digemid, 20 apps, 21-25 the apps of 2021_10_22..2022_05_09; levels
# 1-14 (2021_03_10), 15-72 (2021_04_01, explicit), 73-84 (later migrations, auto ids).
DEFAULT_MODULES: list[ModuleDef] = [
    _module("documents", "Ventas", 1, ("new_document", 1), ("list_document", 2),
            ("document_not_sent", 3), ("document_contingengy", 4), ("catalogs", 5),
            ("summary_voided", 6), ("quotations", 7), ("sale_notes", 8), ("incentives", 9),
            ("sale-opportunity", 10), ("contracts", 11), ("order-note", 12),
            ("technical-service", 13), ("regularize_shipping", 14)),
    _module("purchases", "Compras", 2, ("purchases_create", 31), ("purchases_list", 32),
            ("purchases_orders", 33), ("purchases_expenses", 34), ("purchases_suppliers", 35),
            ("purchases_quotations", 36), ("purchases_fixed_assets_items", 37),
            ("purchases_fixed_assets_purchases", 38)),
    _module("advanced", "Documentos avanzados", 3, ("advanced_retentions", 47),
            ("advanced_dispatches", 48), ("advanced_perceptions", 49),
            ("advanced_order_forms", 50), ("advanced_purchase_settlements", 79)),
    _module("reports", "Reportes", 4),
    _module("configuration", "Configuración", 5, ("configuration_company", 76),
            ("configuration_advance", 77), ("configuration_visual", 78)),
    _module("pos", "Punto de venta (POS)", 6, ("pos", 15), ("cash", 16), ("pos_garage", 84)),
    _module("dashboard", "Dashboard", 7),
    _module("inventory", "Inventario", 8, ("inventory", 39), ("inventory_transfers", 40),
            ("inventory_devolutions", 41), ("inventory_report_kardex", [42, 44]),
            ("inventory_report", 43), ("inventory_item_extra_data", 75)),
    _module("accounting", "Contabilidad", 9, ("account_report", 51), ("account_formats", 52),
            ("account_summary", 53)),
    _module("ecommerce", "Ecommerce", 10, ("ecommerce", 17), ("ecommerce_orders", 18),
            ("ecommerce_items", 19), ("ecommerce_tags", 20), ("ecommerce_promotions", 21),
            ("ecommerce_settings", 22)),
    _module("cuenta", "Cuenta", 11, ("account_users_settings", 61), ("account_users_list", 62)),
    _module("finance", "Finanzas", 12, ("finances_movements", 54), ("finances_incomes", 55),
            ("finances_unpaid", 56), ("finances_to_pay", 57), ("finances_payments", 58),
            ("finances_balance", 59), ("finances_payment_method_types", 60)),
    _module("establishments", "Usuarios/Locales y series", 14, ("users", 45),
            ("users_establishments", 46)),
    _module("hotels", "Hoteles", 15, ("hotels_reception", 63), ("hotels_rates", 64),
            ("hotels_floors", 65), ("hotels_cats", 66), ("hotels_rooms", 67)),
    _module("documentary-procedure", "Trámite documentario", 16, ("documentary_offices", 68),
            ("documentary_process", 69), ("documentary_documents", 70),
            ("documentary_actions", 71), ("documentary_files", 72),
            ("documentary_requirements", 74)),
    _module("items", "Productos/Servicios", 17, ("items", 23), ("items_packs", 24),
            ("items_services", 25), ("items_categories", 26), ("items_brands", 27),
            ("items_lots", 28)),
    _module("persons", "Clientes", 18, ("clients", 29), ("clients_types", 30)),
    _module("digemid", "Farmacia", 19, ("digemid", 73)),
    _module("apps", "Apps", 20),
    _module("suscription_app", "Suscripciones", 21, ("suscription_app_client", 80),
            ("suscription_app_service", 81), ("suscription_app_payments", 82),
            ("suscription_app_plans", 83)),
    _module("production_app", "Producción", 22),
    _module("restaurant_app", "Restaurante", 23),
    _module("full_suscription_app", "Suscripción servicios SaaS", 24),
    _module("generate_link_app", "Link de pago", 25),
]

# The form's "giro de negocio" (ClientController::tables): module ids 7,1,6,17,18,5,14
# (+8,4 and one app: hotel 15, farmacia 19, restaurante 23), every level of each pre-selected.
DEFAULT_PRESETS: dict[str, list[str]] = {
    "basico": _BASIC,
    "hotel": [*_BASIC, "inventory", "reports", "hotels"],
    "farmacia": [*_BASIC, "inventory", "reports", "digemid"],
    "restaurante": [*_BASIC, "inventory", "reports", "restaurant_app"],
}


def build_catalog(
    plans: list[Plan] | None = None,
    modules: list[ModuleDef] | None = None,
    presets: dict[str, list[str]] | None = None,
) -> Catalog:
    """Merge a reseller's entries onto the defaults: same name replaces, new name adds."""
    return Catalog(
        plans={p.name: p for p in [*DEFAULT_PLANS, *(plans or [])]},
        modules={m.value: m for m in [*DEFAULT_MODULES, *(modules or [])]},
        presets={**DEFAULT_PRESETS, **(presets or {})},
    )


DEFAULT_CATALOG = build_catalog()
