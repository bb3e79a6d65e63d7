"""The plan and module catalog: the app's defaults, merged with what a reseller file overrides.

This module is the only place the app's plans, modules, levels and presets are written down.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]*$", max_length=64)]


class DocumentFamily(StrEnum):
    """The app's `plan_documents` families, with its numeric ids."""

    INVOICES = "facturas"  # 1: facturas, boletas, notas, resúmenes, anulaciones
    DISPATCHES = "guias"  # 2: guías de remisión
    RETENTIONS = "retenciones"  # 3
    PERCEPTIONS = "percepciones"  # 4

    @property
    def app_id(self) -> int:
        return list(DocumentFamily).index(self) + 1


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
    locked: bool = False
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
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Slug
    label: str
    app_id: int | None = None
    levels: list[Slug] = Field(default_factory=list)


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

DEFAULT_MODULES: list[ModuleDef] = [
    ModuleDef(value="documents", label="Ventas", app_id=1, levels=[
        "new_document", "list_document", "document_not_sent", "document_contingengy", "catalogs",
        "summary_voided", "quotations", "sale_notes", "incentives", "sale-opportunity",
        "contracts", "order-note", "technical-service", "regularize_shipping"]),
    ModuleDef(value="purchases", label="Compras", app_id=2),
    ModuleDef(value="advanced", label="Documentos avanzados", app_id=3, levels=[
        "advanced_retentions", "advanced_dispatches", "advanced_perceptions",
        "advanced_order_forms", "advanced_purchase_settlements"]),
    ModuleDef(value="reports", label="Reportes", app_id=4),
    ModuleDef(value="configuration", label="Configuración", app_id=5, levels=[
        "configuration_company", "configuration_advance", "configuration_visual"]),
    ModuleDef(value="pos", label="Punto de venta (POS)", app_id=6, levels=["pos", "cash"]),
    ModuleDef(value="dashboard", label="Dashboard", app_id=7),
    ModuleDef(value="inventory", label="Inventario", app_id=8),
    ModuleDef(value="accounting", label="Contabilidad", app_id=9),
    ModuleDef(value="ecommerce", label="Ecommerce", app_id=10, levels=[
        "ecommerce", "ecommerce_orders", "ecommerce_items", "ecommerce_tags",
        "ecommerce_promotions", "ecommerce_settings"]),
    ModuleDef(value="cuenta", label="Cuenta", app_id=11),
    ModuleDef(value="finance", label="Finanzas", app_id=12),
    ModuleDef(value="establishments", label="Usuarios/Locales y series", app_id=14),
    ModuleDef(value="hotels", label="Hoteles", app_id=15),
    ModuleDef(value="documentary-procedure", label="Trámite documentario", app_id=16),
    ModuleDef(value="items", label="Productos/Servicios", app_id=17),
    ModuleDef(value="persons", label="Clientes", app_id=18),
    ModuleDef(value="digemid", label="Farmacia"),
    ModuleDef(value="restaurant_app", label="Restaurante"),
    ModuleDef(value="production_app", label="Producción"),
    ModuleDef(value="suscription_app", label="Suscripciones"),
    ModuleDef(value="full_suscription_app", label="Suscripción servicios SaaS"),
    ModuleDef(value="generate_link_app", label="Link de pago"),
]

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
