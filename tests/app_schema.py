# ruff: noqa: E501  (migration names and DDL lines read better unwrapped)
"""The app's tables the "Nuevo cliente" form touches, as SQL DDL folded from its migrations.

Written by reading `shared/reference/app/pro5/database/migrations/` (system) and
`.../migrations/tenant/` (tenant) one by one, in timestamp order, and applying each
`Schema::create`, `Schema::table`, raw `ALTER` and catalog `insert`/`update` to the table it
touches. Each table names the migrations it folds in. In tests, applying the tenant part stands in
for `php artisan tenancy:migrate --website_id=N` + `tenancy:db:seed` (the seeder only fills
`format_templates`, a table outside this set).

Deliberate differences from the app's real schema, none visible to the rows under test:
- column order follows the migrations' order, not their `->after(...)` hints;
- foreign keys to tables outside this set (`cat_identity_document_types`, `soap_types`,
  `countries`, `departments`, `provinces`, `districts`, `cat_document_types`,
  `restaurant_roles`) are left out, since those catalog tables are not in the reference;
- Laravel's `json` columns are MariaDB `JSON` (LONGTEXT with a JSON check), as Laravel makes them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    name: str
    database: str  # "system" or "tenant"
    migrations: tuple[str, ...]
    ddl: str
    seed: tuple[str, ...] = ()  # catalog rows the migrations insert


B = "TINYINT(1) NOT NULL DEFAULT"  # Laravel boolean()->default(...)
TS = "`created_at` TIMESTAMP NULL DEFAULT NULL, `updated_at` TIMESTAMP NULL DEFAULT NULL"
ENGINE = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"

# --- system database ---------------------------------------------------------------------

SYSTEM_MODULES = (  # id, value, description, sort (after every sort update)
    (1, "documents", "Ventas", 2), (2, "purchases", "Compras", 7),
    (3, "advanced", "Documentos Avanzados", 8), (4, "reports", "Reportes", 9),
    (5, "configuration", "Configuración", 12), (6, "pos", "Punto de venta (POS)", 3),
    (7, "dashboard", "Dashboard", 1), (8, "inventory", "Inventario", 7),
    (9, "accounting", "Contabilidad", 10), (10, "ecommerce", "Ecommerce", 4),
    (11, "cuenta", "Cuenta", 13), (12, "finance", "Finanzas", 11),
    (14, "establishments", "Usuarios/Locales & Series", 7), (15, "hotels", "Hoteles", 14),
    (16, "documentary-procedure", "Trámite documentario", 15),
    (17, "items", "Productos/Servicios", 5), (18, "persons", "Clientes", 6),
    (19, "digemid", "Farmacia", 15),  # setLastSortInt(): the max sort then, 15
    (20, "apps", "Apps", 1),  # inserted without sort: the column's default
    (21, "suscription_app", "Suscriptiones", 16), (22, "production_app", "Producción", 17),
    (23, "restaurant_app", "Restaurante", 18),
    (24, "full_suscription_app", "Suscripción Servicios SAAS", 17),
    (25, "generate_link_app", "Generador de link de pago", 19),
)

_LEVELS_1_14 = (
    ("new_document", "Nuevo comprobante"), ("list_document", "L. Comprobantes"),
    ("document_not_sent", "Doc. No enviados"), ("document_contingengy", "Doc. Contingencia"),
    ("catalogs", "Catálogos"), ("summary_voided", "Resúmenes y Anulaciones"),
    ("quotations", "Cotizaciones"), ("sale_notes", "Notas de Venta"),
    ("incentives", "Comisiones"), ("sale-opportunity", "Oportunidad de venta"),
    ("contracts", "Contratos"), ("order-note", "Pedidos"),
    ("technical-service", "Servicios de soporte técnico"),
    ("regularize_shipping", "CPE pendientes de rectificación"),
)
_LEVELS_15_72 = (  # module_id, value, description (2021_04_01: explicit ids 15..72)
    (6, "pos", "Punto de venta"), (6, "cash", "Caja chica POS"),
    (10, "ecommerce", "Ir a la tienda"), (10, "ecommerce_orders", "Pedidos"),
    (10, "ecommerce_items", "Productos tienda virtual"), (10, "ecommerce_tags", "Etiquetas"),
    (10, "ecommerce_promotions", "Promociones - Banners"), (10, "ecommerce_settings", "Configuración"),
    (17, "items", "Productos"), (17, "items_packs", "Packs"), (17, "items_services", "Servicios"),
    (17, "items_categories", "Categorías"), (17, "items_brands", "Marcas"),
    (17, "items_lots", "Series"), (18, "clients", "Clientes"),
    (18, "clients_types", "Tipos de clientes"), (2, "purchases_create", "Nuevo"),
    (2, "purchases_list", "Listado"), (2, "purchases_orders", "Ordenes de compra"),
    (2, "purchases_expenses", "Gastos diversos"), (2, "purchases_suppliers", "Proveedores"),
    (2, "purchases_quotations", "Solicitar cotización"),
    (2, "purchases_fixed_assets_items", "Activos fijos - Ítems"),
    (2, "purchases_fixed_assets_purchases", "Activos fijos - Compras"),
    (8, "inventory", "Movimientos"), (8, "inventory_transfers", "Traslados"),
    (8, "inventory_devolutions", "Devoluciones"), (8, "inventory_report_kardex", "Reporte kardex"),
    (8, "inventory_report", "Reporte inventario"),
    (8, "inventory_report_kardex", "Kardex valorizado"), (14, "users", "Usuarios"),
    (14, "users_establishments", "Establecimientos"), (3, "advanced_retentions", "Retenciones"),
    (3, "advanced_dispatches", "Guías de remisión"), (3, "advanced_perceptions", "Percepciones"),
    (3, "advanced_order_forms", "Ordenes de pedido"), (9, "account_report", "Exportar reporte"),
    (9, "account_formats", "Exportar formatos"),
    (9, "account_summary", "Reporte resumido - Ventas"), (12, "finances_movements", "Movimientos"),
    (12, "finances_incomes", "Ingresos"), (12, "finances_unpaid", "Cuentas por cobrar"),
    (12, "finances_to_pay", "Cuentas por pagar"), (12, "finances_payments", "Pagos"),
    (12, "finances_balance", "Balance"),
    (12, "finances_payment_method_types", "Ingresos y Egresos - M. Pago"),
    (11, "account_users_settings", "Configuración"), (11, "account_users_list", "Lista de pagos"),
    (15, "hotels_reception", "Recepción"), (15, "hotels_rates", "Tarifas"),
    (15, "hotels_floors", "Pisos"), (15, "hotels_cats", "Categorías"),
    (15, "hotels_rooms", "Habitaciones"), (16, "documentary_offices", "Oficinas"),
    (16, "documentary_process", "Procesos"), (16, "documentary_documents", "Tipos de documento"),
    (16, "documentary_actions", "Acciones"), (16, "documentary_files", "Expedientes"),
)
SYSTEM_LEVELS: tuple[tuple[int, int, str, str], ...] = (  # id, module_id, value, description
    *((i + 1, 1, v, d) for i, (v, d) in enumerate(_LEVELS_1_14)),
    *((i + 15, m, v, d) for i, (m, v, d) in enumerate(_LEVELS_15_72)),
    (73, 19, "digemid", "Productos"),  # 2021_06_18_141136
    (74, 16, "documentary_requirements", "Requerimientos"),  # 2021_06_18_141137
    (75, 8, "inventory_item_extra_data", "Datos extra de items"),  # 2021_08_20
    (76, 5, "configuration_company", "Empresa"),  # 2021_10_05
    (77, 5, "configuration_advance", "Avanzado"),
    (78, 5, "configuration_visual", "Visual"),
    (79, 3, "advanced_purchase_settlements", "Liquidaciones de compra"),  # 2021_10_18
    (80, 21, "suscription_app_client", "Cliente"),  # 2021_10_22
    (81, 21, "suscription_app_service", "Servicio"),
    (82, 21, "suscription_app_payments", "Pagos"),
    (83, 21, "suscription_app_plans", "Planes"),
    (84, 6, "pos_garage", "Venta rapida"),  # 2022_03_31
)


def _values(rows: tuple[tuple, ...]) -> str:
    def lit(v: object) -> str:
        if v is None:
            return "NULL"
        if isinstance(v, int):
            return str(v)
        return "'" + str(v).replace("\\", "\\\\").replace("'", "''") + "'"

    return ",\n".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)


SYSTEM_TABLES: tuple[Table, ...] = (
    Table("websites", "system", (
        "2017_01_01_000003_tenancy_websites", "2018_04_06_000001_tenancy_websites_needs_db_host"),
        f"""CREATE TABLE `websites` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `uuid` VARCHAR(255) NOT NULL UNIQUE,
  {TS}, `deleted_at` TIMESTAMP NULL DEFAULT NULL,
  `managed_by_database_connection` VARCHAR(255) NULL
    COMMENT 'References the database connection key in your database.php'
) {ENGINE}"""),
    Table("hostnames", "system", ("2017_01_01_000005_tenancy_hostnames",), f"""CREATE TABLE `hostnames` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `fqdn` VARCHAR(255) NOT NULL UNIQUE,
  `redirect_to` VARCHAR(255) NULL,
  `force_https` {B} 0,
  `under_maintenance_since` TIMESTAMP NULL DEFAULT NULL,
  `website_id` BIGINT UNSIGNED NULL,
  {TS}, `deleted_at` TIMESTAMP NULL DEFAULT NULL,
  FOREIGN KEY (`website_id`) REFERENCES `websites` (`id`) ON DELETE SET NULL
) {ENGINE}"""),
    Table("plans", "system", (
        "2019_01_28_092812_create_plans_table", "2019_02_27_165906_change_data_to_plans"),
        f"""CREATE TABLE `plans` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `name` VARCHAR(255) NOT NULL,
  `pricing` DOUBLE NOT NULL,
  `limit_users` BIGINT NOT NULL,
  `limit_documents` BIGINT NOT NULL,
  `plan_documents` JSON NOT NULL,
  `locked` {B} 0,
  {TS}
) {ENGINE}"""),
    Table("clients", "system", (
        "2019_01_29_170027_create_clients_table", "2019_07_19_163317_add_locked_emission_to_clients",
        "2019_10_09_100840_add_locked_tenant_to_clients",
        "2019_10_11_153451_add_locked_users_to_clients",
        "2019_11_14_211509_add_start_billing_cycle_to_clients",
        "2021_05_03_131833_add_mail_configuration"), f"""CREATE TABLE `clients` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `hostname_id` BIGINT UNSIGNED NULL,
  `number` VARCHAR(255) NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  `email` VARCHAR(255) NOT NULL,
  `token` VARCHAR(255) NOT NULL,
  `locked` {B} 0,
  `locked_users` {B} 0,
  `locked_tenant` {B} 0,
  `locked_emission` {B} 0,
  `plan_id` INT UNSIGNED NOT NULL,
  `smtp_encryption` TEXT NULL COMMENT 'Tipo de cifrado de correo',
  `smtp_password` TEXT NULL COMMENT 'contraseña de usuario para el envio de correo',
  `smtp_user` TEXT NULL COMMENT 'Nombre de usuario para el envio de correo',
  `smtp_port` INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'Puerto de correo del cliente',
  `smtp_host` TEXT NULL COMMENT 'Host de correo del cliente',
  `start_billing_cycle` DATE NULL,
  {TS},
  FOREIGN KEY (`hostname_id`) REFERENCES `hostnames` (`id`) ON DELETE CASCADE,
  FOREIGN KEY (`plan_id`) REFERENCES `plans` (`id`)
) {ENGINE}"""),
    Table("modules", "system", (
        "2019_11_07_155742_create_modules_table", "2020_03_10_165827_add_data_module_for_finance",
        "2020_09_07_110230_add_data_module_for_establishments_users",
        "2021_03_10_160908_add_extra_modules_to_modules_table",
        "2021_03_19_201634_add_sort_column_to_modules_table",
        "2021_03_20_110950_change_order_item_to_modules_table", "2021_06_18_141136_add_modules_digemid",
        "2021_09_16_144202_add_app_to_modules", "2021_10_22_130040_create_app_suscription",
        "2021_12_10_130040_create_app_production", "2022_01_25_152340_create_app_restaurant",
        "2022_05_08_130040_create_app_full_suscription",
        "2022_05_09_212031_register_app_generate_link_to_modules"), f"""CREATE TABLE `modules` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `value` VARCHAR(255) NOT NULL,
  `description` VARCHAR(255) NOT NULL,
  `sort` INT NOT NULL DEFAULT 1,
  {TS}
) {ENGINE}""", (
        "INSERT INTO `modules` (`id`, `value`, `description`, `sort`) VALUES\n"
        + _values(SYSTEM_MODULES),)),
    Table("module_levels", "system", (
        "2021_03_10_170439_create_module_levels_table",
        "2021_04_01_090115_add_levels_to_module_levels_table", "2021_06_18_141136_add_modules_digemid",
        "2021_06_18_141137_add_documentary_requirements", "2021_08_20_161555_add_extra_data_item_menu",
        "2021_10_05_171912_add_configuration_module_to_admin",
        "2021_10_18_154601_add_data_purchase_settlements_to_module_levels",
        "2021_10_22_130040_create_app_suscription", "2022_03_31_132605_create_app_pos_garage"),
        f"""CREATE TABLE `module_levels` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `value` VARCHAR(255) NOT NULL,
  `description` VARCHAR(255) NOT NULL,
  `module_id` INT UNSIGNED NOT NULL,
  {TS},
  FOREIGN KEY (`module_id`) REFERENCES `modules` (`id`)
) {ENGINE}""", (
        "INSERT INTO `module_levels` (`id`, `module_id`, `value`, `description`) VALUES\n"
        + _values(SYSTEM_LEVELS),)),
    Table("module_level_client", "system", ("2021_03_19_112500_create_module_level_client_table",),
          f"""CREATE TABLE `module_level_client` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `client_id` INT UNSIGNED NOT NULL,
  `module_id` INT UNSIGNED NOT NULL,
  `module_level_id` INT UNSIGNED NOT NULL,
  FOREIGN KEY (`client_id`) REFERENCES `clients` (`id`) ON DELETE CASCADE,
  FOREIGN KEY (`module_id`) REFERENCES `modules` (`id`) ON DELETE CASCADE,
  FOREIGN KEY (`module_level_id`) REFERENCES `module_levels` (`id`) ON DELETE CASCADE
) {ENGINE}"""),
    Table("configurations", "system", (
        "2019_10_09_141307_create_configurations_table",
        "2020_02_01_131218_add_certificate_to_configurations",
        "2020_02_01_182806_add_soap_to_configurations", "2020_07_03_232125_add_culqi_to_configurations",
        "2020_07_27_184250_add_apiruc_to_configurations",
        "2021_03_08_154204_add_login_settings_column_to_configurations_table",
        "2021_09_16_160109_add_url_apk_to_configurations",
        "2022_04_30_124731_addwhatsapp_to_configurations"), f"""CREATE TABLE `configurations` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `locked_admin` {B} 0,
  `certificate` VARCHAR(255) NULL,
  `soap_send_id` CHAR(2) NULL DEFAULT '01',
  `soap_type_id` CHAR(2) NULL DEFAULT '01',
  `soap_username` VARCHAR(255) NULL,
  `soap_password` VARCHAR(255) NULL,
  `soap_url` VARCHAR(255) NULL,
  `token_public_culqui` TEXT NULL, `token_private_culqui` TEXT NULL,
  `url_apiruc` TEXT NULL, `token_apiruc` TEXT NULL,
  `use_login_global` {B} 0, `login` TEXT NULL,
  `apk_url` TEXT NULL,
  `enable_whatsapp` TINYINT(1) NULL DEFAULT 1,
  {TS}
) {ENGINE}""", (
        # the row the first migration inserts (the API-RUC token it later sets is left out)
        "INSERT INTO `configurations` (`id`, `locked_admin`, `url_apiruc`, `created_at`,"
        " `updated_at`) VALUES (1, 0, 'https://apiperu.dev', NOW(), NOW())",)),
)

# The plan DatabaseSeeder creates (not a migration; an installed app has it as plan 1).
SEEDED_PLAN = ("Ilimitado", 99, 0, 0, "[1,2,3,4]", 1)

# --- tenant database ---------------------------------------------------------------------

TENANT_MODULES = (  # id, value, description, order_menu
    (1, "documents", "Ventas", 2), (2, "purchases", "Compras", 7),
    (3, "advanced", "Documentos Avanzados", 8), (4, "reports", "Reportes", 9),
    (5, "configuration", "Configuration", 12), (6, "pos", "Punto de venta (POS)", 3),
    (7, "dashboard", "Dashboard", 1), (8, "inventory", "Inventario", 7),
    (9, "accounting", "Contabilidad", 10), (10, "ecommerce", "Ecommerce", 4),
    (11, "cuenta", "Cuenta", 13), (12, "finance", "Finanzas", 11),
    (14, "establishments", "Usuarios/Locales & Series", 7), (15, "hotels", "Hoteles", 14),
    (16, "documentary-procedure", "Trámite documentario", 15),
    (17, "items", "Productos/Servicios", 5), (18, "persons", "Clientes", 6),
    (19, "digemid", "Farmacia", 15), (20, "apps", "Apps", 13),
    (21, "suscription_app", "Suscriptiones", 16), (22, "production_app", "Producción", 17),
    (23, "restaurant_app", "Restaurante", 18),
    (24, "full_suscription_app", "Suscripción Servicios SAAS", 17),
    (25, "generate_link_app", "Generador de link de pago", 19),
)

# The tenant's own level ids: the same as the system's up to 75, then shifted: the tenant
# migration 2021_08_23 inserts a second inventory_item_extra_data (76), so configuration_* are
# 77..79 here but 76..78 in the system database (store() writes the system ids verbatim).
TENANT_LEVELS: tuple[tuple[int, int, str, str], ...] = (
    *((i, m, v, d) for i, m, v, d in SYSTEM_LEVELS if i <= 75),
    (76, 8, "inventory_item_extra_data", "Datos extra de items"),
    (77, 5, "configuration_company", "Empresa"), (78, 5, "configuration_advance", "Avanzado"),
    (79, 5, "configuration_visual", "Visual"),
    (80, 3, "advanced_purchase_settlements", "Liquidaciones de compra"),
    (81, 21, "suscription_app_client", "Cliente"), (82, 21, "suscription_app_service", "Servicio"),
    (83, 21, "suscription_app_payments", "Pagos"), (84, 21, "suscription_app_plans", "Planes"),
    (85, 6, "pos_garage", "Venta rapida"),
)
# 2022_05_02 / 2022_05_08: menu shortcuts, matched by value
LEVEL_MENUS = {
    "new_document": ("NC", "tenant.documents.create", "/documents/create"),
    "pos": ("POS", "tenant.pos.index", "/pos"),
    "configuration_company": ("ME", "tenant.companies.create", "/companies/create"),
    "users_establishments": ("ES", "tenant.establishments.index", "/establishments"),
    "sale_notes": ("NV", "tenant.sale_notes.index", "/sale-notes"),
    "order-note": ("PED", "tenant.order_notes.index", "/order-notes"),
    "items": ("PRO", "tenant.items.index", "/items"),
    "inventory": ("INV", "inventory.index", "/inventory"),
    "users": ("USR", "tenant.users.index", "/users"),
    "purchases_create": ("NC", "tenant.purchases.create", "/purchases/create"),
}


def _tenant_level_rows() -> tuple[tuple, ...]:
    rows = []
    for i, m, v, d in TENANT_LEVELS:
        label, route, path = LEVEL_MENUS.get(v, (None, None, None))
        rows.append((i, m, v, "Nueva Compra" if v == "purchases_create" else d, label, route, path))
    return tuple(rows)


TENANT_TABLES: tuple[Table, ...] = (
    Table("establishments", "tenant", (
        "2018_05_16_000810_tenant_establishments_table",
        "2019_07_12_181618_tenant_add_columns_aditional_to_establishments",
        "2020_09_02_124906_tenant_add_customer_id_to_establishments",
        "2021_03_11_111743_add_logo_column_to_establishments_table",
        "2021_04_22_170915_add_template_pdf_to_establishments_table",
        "2022_02_07_110836_add_ticket_template_pdf_to_establishments_table"),
        f"""CREATE TABLE `establishments` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `description` VARCHAR(255) NOT NULL,
  `country_id` CHAR(2) NOT NULL, `department_id` CHAR(2) NOT NULL,
  `province_id` CHAR(4) NOT NULL, `district_id` CHAR(6) NOT NULL,
  `address` VARCHAR(255) NOT NULL, `email` VARCHAR(255) NOT NULL,
  `telephone` VARCHAR(255) NOT NULL, `code` VARCHAR(255) NOT NULL,
  `aditional_information` VARCHAR(255) NULL, `web_address` VARCHAR(255) NULL,
  `trade_address` VARCHAR(255) NULL, `customer_id` INT UNSIGNED NULL,
  `logo` VARCHAR(150) NULL,
  `template_pdf` VARCHAR(255) NOT NULL DEFAULT 'default',
  `template_ticket_pdf` VARCHAR(255) NOT NULL DEFAULT 'default',
  {TS}
) {ENGINE}"""),
    Table("users", "tenant", (
        "2018_01_01_000000_tenant_users_table", "2019_02_14_100645_tenant_add_establishment_id_to_users",
        "2019_03_01_163938_tenant_add_locked_to_users", "2019_04_30_140509_tenant_add_type_to_users",
        "2019_05_06_174801_tenant_change_column_type_to_users",
        "2019_09_17_131050_tenant_add_type_client_to_users",
        "2019_10_16_001052_tenant_add_identity_and_number_to_users",
        "2020_02_12_203736_tenant_add_contact_to_users",
        "2021_06_03_165209_add_serie_and_document_to_user",
        "2021_09_30_171912_tenant_add_permission_edit_cpe_to_users",
        "2021_11_11_180653_tenant_add_recreate_documents_to_users",
        "2021_12_10_122529_add_zone_id_to_person", "2022_04_06_112454_add_restaurant_role_to_users",
        "2022_04_18_153331_tenant_add_payment_permissions_to_users"), f"""CREATE TABLE `users` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `name` VARCHAR(255) NOT NULL,
  `email` VARCHAR(255) NOT NULL UNIQUE,
  `email_verified_at` TIMESTAMP NULL DEFAULT NULL,
  `password` VARCHAR(255) NOT NULL,
  `api_token` VARCHAR(255) NULL UNIQUE,
  `establishment_id` INT UNSIGNED NULL,
  `locked` {B} 0,
  `type` ENUM('admin', 'seller', 'integrator', 'client') NOT NULL,
  `permission_edit_cpe` {B} 0,
  `create_payment` {B} 1, `delete_payment` {B} 1,
  `recreate_documents` {B} 0,
  `identity_document_type_id` VARCHAR(255) NULL, `number` VARCHAR(255) NULL,
  `address` VARCHAR(255) NULL, `telephone` VARCHAR(255) NULL,
  `remember_token` VARCHAR(100) NULL,
  `restaurant_role_id` INT UNSIGNED NULL,
  {TS},
  `document_id` CHAR(255) NULL COMMENT 'Relacion con tipo de documentos',
  `series_id` INT UNSIGNED NULL COMMENT 'Relacion con series',
  `zone_id` INT UNSIGNED NULL,
  FOREIGN KEY (`establishment_id`) REFERENCES `establishments` (`id`)
) {ENGINE}"""),
    Table("modules", "tenant", (
        "2018_01_01_000004_tenant_modules_table", "2019_07_24_162847_tenant_add_data_module_for_pos",
        "2019_08_03_162431_tenant_add_data_modules_for_dashboard",
        "2019_08_23_115358_tenant_add_data_accounnting_inventory_to_modules",
        "2019_09_16_133219_tenant_add_data_ecommerce_to_modules",
        "2019_10_20_195730_tenant_add_cuenta_to_modules",
        "2020_03_10_165850_tenant_add_data_module_for_finance",
        "2020_09_07_110546_tenant_add_data_module_for_establishments_users",
        "2020_10_16_143042_tenant_add_columns_aditional_to_modules",
        "2021_03_10_163436_add_extra_modules_to_modules_table",
        "2021_03_19_204148_add_items_to_modules_table",
        "2021_03_20_112202_change_order_items_to_modules_table", "2021_06_18_141048_add_modules_digemid",
        "2021_09_16_144202_add_app_to_modules", "2021_10_22_130040_create_app_suscription",
        "2021_12_10_130040_create_app_production", "2022_01_25_152940_create_app_restaurant",
        "2022_05_08_130040_create_app_full_suscription",
        "2022_05_09_212753_tenant_register_app_generate_link_to_modules"),
        f"""CREATE TABLE `modules` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `value` VARCHAR(255) NOT NULL,
  `description` VARCHAR(255) NOT NULL,
  `order_menu` INT NOT NULL,
  {TS}
) {ENGINE}""", (
        "INSERT INTO `modules` (`id`, `value`, `description`, `order_menu`) VALUES\n"
        + _values(TENANT_MODULES),)),
    Table("module_user", "tenant", ("2018_01_01_000006_tenant_module_user_table",
                                    "2021_10_05_171912_add_configuration_module_to_user"),
          f"""CREATE TABLE `module_user` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `module_id` INT UNSIGNED NOT NULL,
  `user_id` INT UNSIGNED NOT NULL
) {ENGINE}"""),
    Table("module_levels", "tenant", (
        "2019_12_20_123931_tenant_module_levels_table", "2020_08_06_120140_tenant_add_data_to_module_levels",
        "2020_10_16_101845_teanant_add_data_to_module_levels",
        "2021_04_01_113520_add_levels_to_module_levels_table", "2021_06_18_141048_add_modules_digemid",
        "2021_07_05_141048_add_modules_docymentary_requirements",
        "2021_08_20_161555_add_extra_data_item_menu", "2021_08_23_172828_adjust_inventory_item_extra_data",
        "2021_10_05_171912_add_configuration_module_to_user",
        "2021_10_18_153949_tenant_add_data_purchase_settlements_to_module_levels",
        "2021_10_22_130040_create_app_suscription", "2022_03_31_132849_create_app_pos_garage",
        "2022_05_02_135252_tenant_add_fields_to_module_levels",
        "2022_05_08_122934_tenant_add_route_path_to_module_levels"),
        f"""CREATE TABLE `module_levels` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `value` VARCHAR(255) NOT NULL,
  `description` VARCHAR(255) NOT NULL,
  `module_id` INT UNSIGNED NOT NULL,
  `route_name` VARCHAR(255) NULL, `route_path` VARCHAR(255) NULL,
  `label_menu` VARCHAR(3) NULL,
  {TS},
  FOREIGN KEY (`module_id`) REFERENCES `modules` (`id`)
) {ENGINE}""", (
        "INSERT INTO `module_levels` (`id`, `module_id`, `value`, `description`, `label_menu`,"
        " `route_name`, `route_path`) VALUES\n" + _values(_tenant_level_rows()),)),
    Table("module_level_user", "tenant", (
        "2019_12_20_123945_tenant_module_level_user_table",
        "2021_10_05_171912_add_configuration_module_to_user"), f"""CREATE TABLE `module_level_user` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `module_level_id` INT UNSIGNED NOT NULL,
  `user_id` INT UNSIGNED NOT NULL
) {ENGINE}""", (
        # 2021_10_05 runs before any user exists: admin_id 0, one row per configuration level
        "INSERT INTO `module_level_user` (`module_level_id`, `user_id`) VALUES (77, 0), (78, 0), (79, 0)",)),
    Table("companies", "tenant", (
        "2018_05_16_000800_tenant_companies_table", "2019_07_25_144505_tenant_add_ose_to_companies",
        "2019_10_26_213130_tenant_add_logo_store_to_companies",
        "2019_11_29_093342_tenant_add_detraction_account_to_companies",
        "2019_12_19_141604_tenant_add_operation_amazonia_to_companies",
        "2020_05_30_132013_tenant_add_certificate_due_to_companies",
        "2020_07_23_215548_tenant_add_img_firm_to_companies",
        "2021_02_15_101110_add_favicon_column_to_companies_table", "2021_06_10_092525_add_pharmacy_to_items",
        "2021_08_25_155900_tenant_add_columns_integrated_query_to_companies",
        "2022_01_11_174033_tenant_add_columns_send_pse_to_companies"), f"""CREATE TABLE `companies` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `identity_document_type_id` VARCHAR(255) NOT NULL,
  `number` VARCHAR(255) NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  `trade_name` VARCHAR(255) NULL,
  `soap_send_id` CHAR(2) NOT NULL DEFAULT '01',
  `soap_type_id` CHAR(2) NOT NULL,
  `soap_username` VARCHAR(255) NULL,
  `soap_password` VARCHAR(255) NULL,
  `soap_url` VARCHAR(255) NULL,
  `certificate` VARCHAR(255) NULL,
  `certificate_due` DATE NULL,
  `logo` VARCHAR(255) NULL,
  `detraction_account` VARCHAR(255) NULL,
  `logo_store` VARCHAR(255) NULL,
  `favicon` VARCHAR(150) NULL,
  `img_firm` VARCHAR(255) NULL,
  `operation_amazonia` {B} 0,
  `integrated_query_client_id` VARCHAR(255) NULL,
  `integrated_query_client_secret` VARCHAR(255) NULL,
  `client_id_pse` VARCHAR(255) NOT NULL DEFAULT '8',
  `send_document_to_pse` {B} 0,
  `url_send_cdr_pse` VARCHAR(255) NULL,
  `url_signature_pse` VARCHAR(255) NULL,
  {TS},
  `cod_digemid` TEXT NULL COMMENT 'Codigo de establecimiento DIGEMID'
) {ENGINE}"""),
    Table("warehouses", "tenant", (
        "2019_03_23_114011_tenant_warehouses_table", "2019_03_27_104823_tenant_add_record_to_warehouses",
        "2019_03_28_112106_tenant_add_foreign_establishment_id_to_warehouses"),
        f"""CREATE TABLE `warehouses` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `establishment_id` INT UNSIGNED NOT NULL,
  `description` VARCHAR(255) NOT NULL,
  {TS},
  FOREIGN KEY (`establishment_id`) REFERENCES `establishments` (`id`) ON DELETE CASCADE
) {ENGINE}"""),
    Table("series", "tenant", (
        "2018_05_17_000002_tenant_series_table", "2019_04_26_105302_tenant_add_contingency_to_series"),
        f"""CREATE TABLE `series` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `establishment_id` INT UNSIGNED NOT NULL,
  `document_type_id` VARCHAR(255) NOT NULL,
  `number` VARCHAR(255) NOT NULL,
  `contingency` {B} 0,
  {TS},
  FOREIGN KEY (`establishment_id`) REFERENCES `establishments` (`id`)
) {ENGINE}"""),
    Table("skins", "tenant", ("2022_05_03_143911_tenant_create_skins_table",), f"""CREATE TABLE `skins` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `name` VARCHAR(255) NOT NULL,
  `filename` VARCHAR(255) NOT NULL,
  `status` {B} 1,
  {TS}
) {ENGINE}""", ("INSERT INTO `skins` (`name`, `filename`) VALUES ('Default', 'default'),"
                " ('Light', 'fastura.css')",)),
    Table("configurations", "tenant", tuple(
        ["2018_05_16_000900_tenant_configurations_table", "2019_02_13_150334_tenant_add_cront_to_configurations", "2019_04_24_151702_tenant_add_stock_to_configurations", "2019_07_19_163617_tenant_add_columns_system_to_configurations", "2019_07_31_165537_tenant_add_subtotal_account_to_configurations", "2019_08_01_105836_tenant_delete_subtotal_account_to_configurations", "2019_08_13_082230_tenant_add_column_limit_user_to_configurations", "2019_10_09_101229_tenant_add_locked_tenant_to_configurations", "2019_10_10_155554_tenant_add_quantity_documents_date_time_start_to_configurations", "2019_10_11_153948_tenant_add_locked_users_to_configurations", "2019_10_20_190039_tenant_add_plan_to_configurations", "2019_10_24_103947_tenant_add_sunat_alternate_server_to_configurations", "2019_12_16_103759_tenant_add_decimal_quantity_to_configurations", "2020_01_03_111747_tenant_add_amount_plastic_bag_taxes_to_configurations", "2020_01_09_153023_tenant_add_compact_sidebar_to_configurations", "2020_01_23_120700_tenant_drop_compact_sidebar_to_configurations", "2020_01_23_120830_tenant_re_create_compact_sidebar_to_configurations", "2020_01_31_122444_tenant_add_config_system_to_configurations", "2020_02_17_194731_tenant_add_formats_to_configurations", "2020_02_20_224501_tenant_add_colums_grid_items_to_configurations", "2020_02_25_103837_tenant_add_options_pos_to_configurations", "2020_03_11_151338_tenant_add_edit_name_product_purchase", "2020_03_20_030559_add_columna_restrict_receipt_date", "2020_03_20_174637_tenant_add_affectation_igv_type_id_to_configurations", "2020_03_27_141008_tenant_add_column_visual_to_configurations", "2020_03_31_141008_tenant_add_column_show_ws_to_configurations", "2020_04_01_150413_tenant_add_terms_condition_to_configurations", "2020_05_12_131218_add_product_to_configurations", "2020_05_12_204311_tenant_add_cotizaction_finance_configurations", "2020_06_11_093739_tenant_add_columns_header_image_legend_footer_to_configurations", "2020_07_27_184250_add_apiruc_to_configurations", "2020_08_20_151856_tenant_change_column_terms_condition_to_configurations", "2020_10_09_153402_tenant_add_default_document_type_03_to_configurations", "2020_10_13_112548_tenant_add_destination_default_to_configurations", "2021_01_21_181843_add_terms_condition_sale_to_configurations_table", "2021_02_10_153546_add_login_column_to_configurations_table", "2021_02_15_175921_add_navbar_column_to_configurations_table", "2021_02_19_165318_add_finances_column_to_configurations_table", "2021_03_21_165318_add_quotation_allow_seller_generate_sale_column_to_configurations_table", "2021_04_05_115318_add_allow_edit_unit_price_to_seller_column_to_configurations_table", "2021_04_29_122333_add_visual_ticket_58_to_configurations_table", "2021_05_03_131833_add_mail_configuration", "2021_05_12_163406_add_seller_can_create_porduct_to_configuration", "2021_05_13_120615_add_seller_can_view_balance_on_finance_to_configuration", "2021_05_27_124620_add_generate_option_to_sale_opportunities", "2021_06_09_124243_add_update_documents_by_dispaches_to_configurations", "2021_06_10_092525_add_pharmacy_to_items", "2021_06_16_154233_add_send_auto_sunat_to_dispatches", "2021_06_28_142358_tenant_add_active_warehouse_prices_to_configurations", "2021_06_29_173743_tenant_add_allowance_charge_to_configurations", "2021_08_03_115743_add_field_to_send_sale_note_to_other_site", "2021_08_05_144042_tenant_add_search_item_by_series_to_configurations", "2021_08_06_094151_tenant_add_change_free_affectation_igv_to_configurations", "2021_08_09_115837_add_currency_to_configuration", "2021_08_09_131738_tenant_add_select_available_price_list_to_configurations", "2021_08_20_153033_add_extra_data_of_product_to_configuration", "2021_08_23_105050_tenant_add_group_items_generate_document_to_configurations", "2021_09_15_115746_add_global_igv_to_purchase", "2021_09_17_120309_add_url_apk_to_configurations", "2021_09_24_114832_add_configuration_to_show_name_of_pdf", "2021_09_29_123827_add_text_to_address_in_configuration", "2021_09_29_180607_tenant_add_set_address_by_establishment_to_configurations", "2021_09_30_170149_tenant_add_permission_to_edit_cpe_to_configurations", "2021_10_13_113504_add_only_user_warehouse_item_to_config", "2021_10_18_110700_change_default_show_items_only_user_stablishment", "2021_10_18_110700_change_value_show_items_only_user_stablishment", "2021_10_21_093921_tenant_add_igv_retention_percentage_to_configurations", "2021_10_29_110421_tenant_add_name_product_pdf_to_xml_to_configurations", "2021_10_29_114826_change_value_alternate_server_to_configurations", "2021_11_09_113608_tenant_add_default_document_type_80_to_configurations", "2021_11_09_143629_tenant_add_search_item_by_barcode_to_configurations", "2021_11_15_152956_additem_description_default_pdf_name_configuration", "2021_11_25_154025_add_auto_print_to_configurations", "2021_12_01_113756_add_show_services_on_pos", "2021_12_08_211200_add_pos_history_and_cost_to_configuration", "2021_12_16_144057_add_show_totals_on_c_p_e_list", "2022_01_12_180810_tenant_add_detraction_amount_rounded_int_to_configurations", "2022_01_18_120000_add_show_term_condition_pos_to_configurations", "2022_01_30_120653_create_configuration_to_mi_tienda_pe", "2022_02_07_142617_add_format_tickets_to_configurations", "2022_02_11_162919_tenant_add_last_sale_price_to_configurations", "2022_02_16_150615_tenant_add_show_logo_establishment_to_configuration", "2022_02_25_172811_add_print_next_line_to_pdf_on_observation", "2022_03_03_110115_tenant_add_global_discount_type_id_to_configurations", "2022_03_10_094902_tenant_add_shipping_time_days_to_configurations", "2022_03_21_161851_add_configuration_new_valdiator_pagination", "2022_03_25_134555_tenant_add_customer_filter_by_seller_to_configurations", "2022_03_25_170158_tenant_add_validate_purchase_sale_unit_price_to_configurations", "2022_04_12_111023_tenant_add_columns_igv_unit_price_purchases_to_configurations", "2022_04_19_114422_tenant_add_set_global_purchase_currency_items_to_configurations", "2022_04_22_133909_tenant_add_set_unit_price_dispatch_related_record_to_configurations", "2022_04_26_175613_tenant_add_columns_restrict_voided_to_configurations", "2022_04_29_140515_tenant_add_enabled_tips_pos_to_configurations", "2022_05_02_152925_tenant_add_top_menu_to_configurations", "2022_05_03_143911_tenant_create_skins_table", "2022_05_09_122150_tenant_add_defaults_to_configurations", "2022_05_10_163722_tenant_config_default_to_configurations", "2022_05_12_180154_tenant_add_legend_forest_to_xml_to_configurations", "2022_05_13_172504_tenant_add_change_currency_item_to_configurations", "2022_05_17_164646_tenant_add_enabled_advanced_records_search_to_configurations", "2022_05_23_133515_tenant_add_decimal_quantity_unit_price_pdf_to_configurations"]),
        f"""CREATE TABLE `configurations` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `send_auto` TINYINT(1) NOT NULL,
  `formats` VARCHAR(255) NOT NULL DEFAULT 'default',
  `cron` {B} 1, `stock` {B} 1,
  `sunat_alternate_server` {B} 0,
  `limit_documents` BIGINT NOT NULL DEFAULT 0,
  `limit_users` BIGINT NOT NULL DEFAULT 10,
  `locked_emission` {B} 0,
  `permission_to_edit_cpe` {B} 0,
  `customer_filter_by_seller` {B} 0,
  `detraction_amount_rounded_int` {B} 0,
  `set_address_by_establishment` {B} 0,
  `plan` JSON NULL,
  `enable_whatsapp` {B} 1, `phone_whatsapp` VARCHAR(255) NULL, `apk_url` TEXT NULL,
  `visual` JSON NULL,
  `decimal_quantity` TINYINT NOT NULL DEFAULT 2,
  `locked_users` {B} 0,
  `date_time_start` DATETIME NULL,
  `quantity_documents` INT NOT NULL,
  `locked_tenant` {B} 0,
  `compact_sidebar` {B} 0,
  `amount_plastic_bag_taxes` DECIMAL(6,2) NOT NULL DEFAULT 0.10,
  `config_system_env` {B} 1,
  `colums_grid_item` TINYINT NULL DEFAULT 4,
  `options_pos` {B} 1, `edit_name_product` {B} 1, `restrict_receipt_date` {B} 1,
  `shipping_time_days` INT NOT NULL DEFAULT 4,
  `affectation_igv_type_id` VARCHAR(255) NOT NULL DEFAULT '10',
  `global_discount_type_id` VARCHAR(255) NOT NULL DEFAULT '03',
  `include_igv` TINYINT(1) NULL,
  `active_allowance_charge` TINYINT(1) NULL DEFAULT 0,
  `percentage_allowance_charge` DECIMAL(12,2) NULL DEFAULT 0,
  `igv_retention_percentage` DECIMAL(8,5) NOT NULL DEFAULT 3,
  `active_warehouse_prices` TINYINT(1) NULL DEFAULT 0,
  `product_only_location` TINYINT(1) NULL,
  `terms_condition` TEXT NULL, `terms_condition_sale` TEXT NULL,
  `cotizaction_finance` {B} 1,
  `quotation_allow_seller_generate_sale` {B} 0,
  `allow_edit_unit_price_to_seller` {B} 0,
  `legend_footer` {B} 0, `header_image` VARCHAR(255) NULL,
  `destination_sale` {B} 1, `default_document_type_03` {B} 1,
  `default_document_type_80` {B} 0, `search_item_by_barcode` {B} 0,
  `login` TEXT NULL,
  `navbar` VARCHAR(15) NOT NULL DEFAULT 'fixed',
  `finances` TEXT NULL,
  `smtp_encryption` TEXT NULL COMMENT 'Tipo de cifrado de correo',
  `smtp_password` TEXT NULL COMMENT 'contraseña de usuario para el envio de correo',
  `smtp_user` TEXT NULL COMMENT 'Nombre de usuario para el envio de correo',
  `smtp_port` INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'Puerto de correo del cliente',
  `smtp_host` TEXT NULL COMMENT 'Host de correo del cliente',
  `ticket_58` {B} 0,
  {TS},
  `url_apiruc` TEXT NULL, `token_apiruc` TEXT NULL,
  `seller_can_create_product` {B} 0, `seller_can_view_balance` {B} 1,
  `seller_can_generate_sale_opportunities` {B} 0,
  `update_document_on_dispaches` {B} 0,
  `is_pharmacy` {B} 0,
  `auto_send_dispatchs_to_sunat` TINYINT NULL DEFAULT 1,
  `send_data_to_other_server` {B} 0,
  `search_item_by_series` {B} 0, `mi_tienda_pe` {B} 0,
  `group_items_generate_document` {B} 1,
  `change_free_affectation_igv` {B} 0,
  `currency_type_id` VARCHAR(255) NULL DEFAULT 'PEN',
  `select_available_price_list` {B} 0,
  `show_extra_info_to_item` TINYINT UNSIGNED NULL DEFAULT 0,
  `enabled_global_igv_to_purchase` TINYINT UNSIGNED NULL DEFAULT 0,
  `show_pdf_name` TINYINT UNSIGNED NULL DEFAULT 0,
  `dispatches_address_text` TINYINT UNSIGNED NULL DEFAULT 0,
  `show_items_only_user_stablishment` INT UNSIGNED NULL DEFAULT 1,
  `name_product_pdf_to_xml` {B} 0,
  `item_name_pdf_description` TINYINT NOT NULL DEFAULT 0,
  `auto_print` {B} 0,
  `show_service_on_pos` {B} 0, `pos_cost_price` {B} 1, `pos_history` {B} 1,
  `show_totals_on_cpe_list` {B} 0,
  `show_terms_condition_pos` {B} 0,
  `show_ticket_80` {B} 1, `show_ticket_58` {B} 0, `show_ticket_50` {B} 0,
  `show_last_price_sale` {B} 0, `show_logo_by_establishment` {B} 0,
  `print_new_line_to_observation` TINYINT UNSIGNED NOT NULL DEFAULT 0,
  `new_validator_pagination` MEDIUMINT UNSIGNED NULL DEFAULT 0,
  `validate_purchase_sale_unit_price` {B} 0,
  `checked_global_igv_to_purchase` {B} 0, `checked_update_purchase_price` {B} 0,
  `set_global_purchase_currency_items` {B} 0,
  `set_unit_price_dispatch_related_record` {B} 0,
  `restrict_voided_send` {B} 1, `shipping_time_days_voided` INT NOT NULL DEFAULT 7,
  `enabled_tips_pos` {B} 0,
  `top_menu_a_id` INT UNSIGNED NULL, `top_menu_b_id` INT UNSIGNED NULL,
  `top_menu_c_id` INT UNSIGNED NULL, `top_menu_d_id` INT UNSIGNED NULL,
  `skin_id` INT UNSIGNED NOT NULL DEFAULT 1,
  `legend_forest_to_xml` {B} 0, `change_currency_item` {B} 0,
  `enabled_advanced_records_search` {B} 0,
  `change_decimal_quantity_unit_price_pdf` {B} 0,
  `decimal_quantity_unit_price_pdf` INT NOT NULL DEFAULT 2
) {ENGINE}"""),
)


def statements(tables: tuple[Table, ...]) -> list[str]:
    """CREATE and INSERT statements in dependency order (the tuples are already ordered)."""
    out: list[str] = []
    for table in tables:
        out.append(table.ddl)
        out.extend(table.seed)
    return out


def apply(conn, tables: tuple[Table, ...]) -> None:  # conn: a PyMySQL connection on the database
    """Create the tables with their catalog rows (the tests' stand-in for the app's migrations)."""
    with conn.cursor() as cur:
        for sql in statements(tables):
            cur.execute(sql)
    conn.commit()


def create_system_database(server, name: str = "facturador_system", plans=()) -> None:
    """A fresh system database: the tables, their catalog rows, the seeded plan and `plans`.

    `plans` are (name, pricing, limit_users, limit_documents, plan_documents_json, locked) rows
    the reseller created in the admin panel.
    """
    server.execute(f"DROP DATABASE IF EXISTS `{name}`")
    server.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    conn = server.connect(name, autocommit=False)
    try:
        apply(conn, SYSTEM_TABLES)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO plans (name, pricing, limit_users, limit_documents, plan_documents,"
                " locked, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, NOW(), NOW())",
                [SEEDED_PLAN, *plans])
        conn.commit()
    finally:
        conn.close()


def _sql_value(value: object) -> str:
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def script(part: str, plans: list[tuple] = ()) -> str:
    """The SQL of one part ("system" or "tenant") for the `mariadb` client: what the tests
    apply, with the seeded plan and `plans` for the system part."""
    tables = SYSTEM_TABLES if part == "system" else TENANT_TABLES
    out = [f"{sql};" for sql in statements(tables)]
    if part == "system":
        for row in (SEEDED_PLAN, *plans):
            out.append("INSERT INTO plans (name, pricing, limit_users, limit_documents,"
                       " plan_documents, locked, created_at, updated_at) VALUES ("
                       + ", ".join(_sql_value(v) for v in row) + ", NOW(), NOW());")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    """`python -m tests.app_schema system|tenant [--plan NAME:PRICE:USERS:DOCUMENTS ...]`:
    the SQL on stdout (scripts/app-schema.sh pipes it into `mariadb`)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.app_schema",
                                     description=main.__doc__.splitlines()[0])
    parser.add_argument("part", choices=["system", "tenant"])
    parser.add_argument("--plan", action="append", default=[], metavar="NAME:PRICE:USERS:DOCS",
                        help="a plan the reseller made in the admin panel (repeatable)")
    args = parser.parse_args(argv)
    plans = []
    for spec in args.plan:
        name, price, users, docs = spec.split(":")
        plans.append((name, float(price), int(users), int(docs), "[1]", 0))
    print(script(args.part, plans), end="")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
