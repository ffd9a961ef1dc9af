"""CSV import and export: lossless round trip, idempotent re-import, bad rows reported by line
with nothing written."""

from __future__ import annotations

import filecmp
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.csv_export import export_tenant
from db.csv_format import FILES
from db.csv_import import CsvImportError, import_folder
from db.reads import read_column, read_row, read_rows
from db.seed import seed_tenant
from db.tenants import TenantRecord, create_tenant

HEADERS = {spec.name: ",".join(spec.required) for spec in FILES}
VALID = {
    "categories.csv": ["gear,Gear,,All gear", "tents,Tents,gear,Shelters"],
    "products.csv": [
        'T-1,Trail Tent,A light tent,tents,Acme,199.00,120.00,5,"{""weight_kg"": 1.2}",true',
        "T-2,Storm Tent,,tents,Acme,299.50,,0,,false",
    ],
    "customers.csv": ["C-1,Ann,Lee,ann@example.com,,Austin,Texas,us,vip,2024-01-02T10:00:00"],
    "orders.csv": [
        "O-1,C-1,delivered,web,card,2024-02-01T12:00:00Z,,,4.99,,,Austin,Texas,US",
        "O-2,,paid,store,cash,2024-02-03 09:30:00,,,,,,,,",
    ],
    "order_items.csv": ["O-1,T-1,2,,10.00", "O-1,T-2,1,250.00,", "O-2,T-1,1,,"],
    "reviews.csv": ["T-1,C-1,5,Great,Kept us dry,2024-02-10T08:00:00Z"],
}

Folder = Callable[..., Path]
NewTenant = Callable[[], Awaitable[TenantRecord]]


@pytest.fixture
def folder(tmp_path: Path) -> Folder:
    """Write a CSV folder: the valid rows above, with files replaced or extra lines added."""

    def make(
        replace: dict[str, str] | None = None, add: dict[str, list[str]] | None = None
    ) -> Path:
        path = tmp_path / "csv"
        path.mkdir(exist_ok=True)
        for name, lines in VALID.items():
            content = "\n".join([HEADERS[name], *lines, *(add or {}).get(name, [])]) + "\n"
            (path / name).write_text((replace or {}).get(name, content))
        return path

    return make


@pytest_asyncio.fixture
async def new_tenant(engine: AsyncEngine, settings, unique_slug) -> NewTenant:
    async def make() -> TenantRecord:
        async with engine.begin() as connection:
            return await create_tenant(
                connection,
                slug=unique_slug("csv"),
                name="CSV",
                settings=settings,
                timezone="America/Chicago",
            )

    return make


async def load(engine: AsyncEngine, tenant: TenantRecord, path: Path):
    async with engine.begin() as connection:
        return await import_folder(connection, tenant, path)


async def counts(engine: AsyncEngine, tenant: TenantRecord) -> dict[str, int]:
    tables = ("categories", "products", "customers", "orders", "order_items", "reviews")
    async with engine.connect() as connection:
        return {
            t: await connection.scalar(
                text(f"SELECT count(*) FROM {t} WHERE tenant_id = :t"), {"t": tenant.id}
            )
            for t in tables
        }


async def test_import_derives_missing_fields(engine, new_tenant, folder):
    tenant = await new_tenant()
    report = await load(engine, tenant, folder())
    assert report.files["order_items.csv"] == 3
    async with engine.connect() as connection:
        order = (
            await connection.execute(
                text(
                    "SELECT subtotal, total_amount, tax_amount, placed_at, customer_id IS NULL "
                    "FROM orders WHERE tenant_id = :t ORDER BY order_number"
                ),
                {"t": tenant.id},
            )
        ).all()
        item = (
            await connection.execute(
                text(
                    "SELECT unit_price, line_total FROM order_items i JOIN products p ON p.id = i.product_id "
                    "WHERE i.tenant_id = :t AND p.sku = 'T-1' ORDER BY line_total DESC"
                ),
                {"t": tenant.id},
            )
        ).first()
        country = await connection.scalar(
            text("SELECT country FROM customers WHERE tenant_id = :t"), {"t": tenant.id}
        )
    # O-1: 2 x 199.00 - 10.00 + 1 x 250.00 = 638.00; total = 638.00 + 4.99 shipping
    assert (str(order[0][0]), str(order[0][1]), str(order[0][2])) == ("638.00", "642.99", "0.00")
    assert (str(item[0]), str(item[1])) == ("199.00", "388.00")  # unit price from the catalogue
    assert order[1][3].utcoffset().total_seconds() == 0 and order[1][3].hour == 15  # 09:30 Chicago
    assert order[1][4] is True  # a guest order
    assert country == "US"


async def test_reimport_changes_nothing(engine, new_tenant, folder):
    tenant = await new_tenant()
    path = folder()
    await load(engine, tenant, path)
    products_sql = "SELECT id, updated_at FROM products WHERE tenant_id = :t ORDER BY id"
    items_sql = "SELECT id FROM order_items WHERE tenant_id = :t ORDER BY id"
    before = await read_rows(engine, products_sql, {"t": tenant.id})
    items_before = await read_rows(engine, items_sql, {"t": tenant.id})
    again = await load(engine, tenant, path)
    assert set(again.written.values()) == {0}
    assert await read_rows(engine, products_sql, {"t": tenant.id}) == before
    assert await read_rows(engine, items_sql, {"t": tenant.id}) == items_before


async def test_reimport_updates_changed_rows_by_natural_key(engine, new_tenant, folder):
    tenant = await new_tenant()
    await load(engine, tenant, folder())
    changed = folder(
        add={"products.csv": []},
        replace={"order_items.csv": HEADERS["order_items.csv"] + "\nO-1,T-1,3,,\nO-2,T-1,1,,\n"},
    )
    text_products = (changed / "products.csv").read_text().replace("Trail Tent", "Trail Tent II")
    (changed / "products.csv").write_text(text_products)
    (changed / "orders.csv").write_text((changed / "orders.csv").read_text())
    report = await load(engine, tenant, changed)
    assert report.written["products"] == 1 and report.written["order_items"] == 1
    names = await read_column(
        engine, "SELECT name FROM products WHERE tenant_id = :t ORDER BY sku", {"t": tenant.id}
    )
    o1 = await read_row(
        engine,
        "SELECT count(*), sum(quantity) FROM order_items i JOIN orders o ON o.id = i.order_id "
        "WHERE o.tenant_id = :t AND o.order_number = 'O-1'",
        {"t": tenant.id},
    )
    assert names == ["Trail Tent II", "Storm Tent"]
    assert tuple(o1) == (1, 3)


BAD_CASES = [
    (
        "malformed number",
        {"products.csv": ["T-3,Bad,,tents,Acme,12.3.4,,0,,true"]},
        "products.csv:4: price",
    ),
    (
        "negative price",
        {"products.csv": ["T-3,Bad,,tents,Acme,-5,,0,,true"]},
        "products.csv:4: price: Input should be greater than or equal to 0",
    ),
    (
        "too many decimals",
        {"order_items.csv": ["O-2,T-2,1,1.999,"]},
        "order_items.csv:5: unit_price",
    ),
    (
        "unknown category",
        {"products.csv": ["T-3,Bad,,sleeping-bags,Acme,5,,0,,true"]},
        "products.csv:4: unknown category 'sleeping-bags' in category_slug",
    ),
    (
        "unknown sku",
        {"order_items.csv": ["O-2,NOPE-9,1,,"]},
        "order_items.csv:5: unknown sku 'NOPE-9' in sku",
    ),
    (
        "unknown order",
        {"order_items.csv": ["O-404,T-1,1,,"]},
        "order_items.csv:5: unknown order 'O-404' in order_number",
    ),
    (
        "unknown customer",
        {"orders.csv": ["O-3,C-404,paid,web,card,2024-03-01T00:00:00Z,,,,,,,,"]},
        "orders.csv:4: unknown customer 'C-404' in customer_ref",
    ),
    (
        "duplicate key",
        {"products.csv": ["T-1,Again,,tents,Acme,5,,0,,true"]},
        "products.csv:4: duplicate sku=T-1 (first on line 2)",
    ),
    (
        "bad json",
        {"products.csv": ['T-3,Bad,,tents,Acme,5,,0,"{weight: 1}",true']},
        "products.csv:4: specifications: is not valid JSON",
    ),
    (
        "json not an object",
        {"products.csv": ['T-3,Bad,,tents,Acme,5,,0,"[1, 2]",true']},
        "products.csv:4: specifications",
    ),
    (
        "bad enum",
        {"orders.csv": ["O-3,C-1,lost,web,card,2024-03-01T00:00:00Z,,,,,,,,"]},
        "orders.csv:4: status: status must be one of",
    ),
    (
        "bad date",
        {"orders.csv": ["O-3,C-1,paid,web,card,yesterday,,,,,,,,"]},
        "orders.csv:4: placed_at",
    ),
    (
        "total does not add up",
        {"orders.csv": ["O-3,C-1,paid,web,card,2024-03-01T00:00:00Z,10.00,,,,11.00,,,"]},
        "orders.csv:4: total_amount 11.00 does not equal",
    ),
    (
        "rating out of range",
        {"reviews.csv": ["T-2,C-1,6,Wow,,2024-03-01T00:00:00Z"]},
        "reviews.csv:3: rating",
    ),
    (
        "wrong cell count",
        {"customers.csv": ["C-2,Bo"]},
        "customers.csv:3: has 2 cells, the header has 10",
    ),
    (
        "category cycle",
        {"categories.csv": ["a,A,b,", "b,B,a,"]},
        "categories.csv:4: parent_slug makes a cycle",
    ),
    (
        "discount larger than line",
        {"order_items.csv": ["O-2,T-2,1,5.00,6.00"]},
        "order_items.csv:5: discount_amount is larger",
    ),
]


@pytest.mark.parametrize(("case", "extra", "expected"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
async def test_bad_rows_are_reported_by_line_and_nothing_is_written(
    engine, new_tenant, folder, case, extra, expected
):
    tenant = await new_tenant()
    with pytest.raises(CsvImportError) as raised:
        await load(engine, tenant, folder(add=extra))
    assert any(p.startswith(expected) for p in raised.value.problems), raised.value.problems
    assert set((await counts(engine, tenant)).values()) == {0}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("sku,name,price\nT-1,Tent,5\n", "products.csv:1: header is missing description"),
        (HEADERS["products.csv"] + ",colour\n", "products.csv:1: unknown column(s) colour"),
        ("", "products.csv:1: the file is empty"),
    ],
)
async def test_wrong_headers_are_reported(engine, new_tenant, folder, content, expected):
    tenant = await new_tenant()
    with pytest.raises(CsvImportError) as raised:
        await load(engine, tenant, folder(replace={"products.csv": content}))
    assert any(p.startswith(expected) for p in raised.value.problems), raised.value.problems
    assert set((await counts(engine, tenant)).values()) == {0}


async def test_every_bad_row_is_reported_not_just_the_first(engine, new_tenant, folder):
    tenant = await new_tenant()
    extra = {
        "products.csv": ["T-3,Bad,,tents,Acme,x,,0,,true", "T-4,Bad,,nowhere,Acme,1,,0,,true"],
        "orders.csv": ["O-3,C-1,lost,web,card,2024-03-01T00:00:00Z,,,,,,,,"],
    }
    with pytest.raises(CsvImportError) as raised:
        await load(engine, tenant, folder(add=extra))
    lines = {p.split(": ")[0] for p in raised.value.problems}
    assert {"products.csv:4", "orders.csv:4"} <= lines


async def test_unknown_files_and_missing_folders_are_refused(engine, new_tenant, folder, tmp_path):
    tenant = await new_tenant()
    path = folder()
    (path / "shipments.csv").write_text("a,b\n")
    with pytest.raises(CsvImportError, match=r"shipments\.csv: unknown file"):
        await load(engine, tenant, path)
    with pytest.raises(CsvImportError, match="not a folder"):
        await load(engine, tenant, tmp_path / "missing")


async def test_round_trip_of_a_seeded_shop_is_lossless(engine, settings, new_tenant, tmp_path):
    await seed_tenant(
        engine, settings, slug="csv-source", seed=11, orders=1500, end=date(2026, 11, 22)
    )
    async with engine.connect() as connection:
        source = (
            await connection.execute(text("SELECT id FROM tenants WHERE slug = 'csv-source'"))
        ).scalar_one()
        await export_tenant(connection, source, tmp_path / "a")
    target = await new_tenant()
    await load(engine, target, tmp_path / "a")
    async with engine.connect() as connection:
        await export_tenant(connection, target.id, tmp_path / "b")
    for spec in FILES:
        assert filecmp.cmp(tmp_path / "a" / spec.name, tmp_path / "b" / spec.name, shallow=False), (
            spec.name
        )
    assert sum((await counts(engine, target)).values()) > 3000


async def test_export_refuses_to_overwrite_without_force(engine, new_tenant, tmp_path):
    from app.errors import AlreadyExists

    tenant = await new_tenant()
    async with engine.connect() as connection:
        await export_tenant(connection, tenant.id, tmp_path / "out")
        with pytest.raises(AlreadyExists, match="--force"):
            await export_tenant(connection, tenant.id, tmp_path / "out")
        assert (await export_tenant(connection, tenant.id, tmp_path / "out", force=True))[
            "orders.csv"
        ] == 0


# ----- regressions from review ------------------------------------------------------------------


async def test_a_cycle_through_existing_categories_is_refused(engine, new_tenant, folder, tmp_path):
    tenant = await new_tenant()
    await load(engine, tenant, folder())  # gear <- tents
    cyc = tmp_path / "cycle"
    cyc.mkdir()
    (cyc / "categories.csv").write_text(HEADERS["categories.csv"] + "\ngear,Gear,tents,\n")
    with pytest.raises(CsvImportError) as raised:
        await load(engine, tenant, cyc)
    assert raised.value.problems == ["categories.csv:2: parent_slug makes a cycle through 'gear'"]


async def test_replacing_items_of_an_order_not_in_the_file_recomputes_its_totals(
    engine, new_tenant, folder, tmp_path
):
    tenant = await new_tenant()
    await load(engine, tenant, folder())
    items = tmp_path / "items"
    items.mkdir()
    (items / "order_items.csv").write_text(HEADERS["order_items.csv"] + "\nO-2,T-1,5,,\n")
    report = await load(engine, tenant, items)
    assert report.written["order totals"] == 1
    subtotal, total, lines = await read_row(
        engine,
        "SELECT o.subtotal, o.total_amount, (SELECT sum(line_total) FROM order_items i WHERE i.order_id = o.id) "
        "FROM orders o WHERE o.tenant_id = :t AND o.order_number = 'O-2'",
        {"t": tenant.id},
    )
    assert subtotal == lines == 995 and total == 995  # 5 x 199.00, no shipping or tax on O-2


UNREADABLE = [
    (
        "latin-1 file",
        "products.csv",
        (HEADERS["products.csv"] + "\nT-3,Café,,tents,Acme,5,,0,,true\n").encode("latin-1"),
        "products.csv: is not UTF-8 text",
    ),
    (
        "huge cell",
        "products.csv",
        (
            HEADERS["products.csv"] + '\nT-3,Big,"' + "x" * 200_000 + '",tents,Acme,5,,0,,true\n'
        ).encode(),
        "products.csv:2: field larger than field limit",
    ),
    (
        "int overflow",
        "products.csv",
        (HEADERS["products.csv"] + "\nT-3,Big,,tents,Acme,5,,99999999999,,true\n").encode(),
        "products.csv:2: stock_quantity",
    ),
    (
        "NUL character",
        "products.csv",
        (HEADERS["products.csv"] + "\nT-3,Bad\x00Name,,tents,Acme,5,,0,,true\n").encode(),
        "products.csv:2: name contains a NUL character",
    ),
    (
        "NaN in JSON",
        "products.csv",
        (HEADERS["products.csv"] + '\nT-3,Bad,,tents,Acme,5,,0,"{""a"": NaN}",true\n').encode(),
        "products.csv:2: specifications: is not valid JSON (NaN is not allowed",
    ),
    (
        "escaped NUL in JSON",
        "products.csv",
        (
            HEADERS["products.csv"] + '\nT-3,Bad,,tents,Acme,5,,0,"{""a"": ""\\u0000""}",true\n'
        ).encode(),
        "products.csv:2: specifications: contains a NUL character",
    ),
    (
        "naive and aware times",
        "orders.csv",
        (
            HEADERS["orders.csv"]
            + ",shipped_at\nO-9,,paid,web,card,2024-05-01T12:00:00,,,,,,,,,2024-05-01T08:00:00+00:00\n"
        ).encode(),
        "orders.csv:2: shipped_at is before placed_at",
    ),  # 12:00 in Chicago is 17:00 UTC
]


@pytest.mark.parametrize(
    ("case", "name", "content", "expected"), UNREADABLE, ids=[c[0] for c in UNREADABLE]
)
async def test_malformed_files_are_problems_not_crashes(
    engine, new_tenant, tmp_path, case, name, content, expected
):
    tenant = await new_tenant()
    path = tmp_path / "bad"
    path.mkdir()
    (path / name).write_bytes(content)
    if name == "products.csv":
        (path / "categories.csv").write_text(HEADERS["categories.csv"] + "\ntents,Tents,,\n")
    with pytest.raises(CsvImportError) as raised:
        await load(engine, tenant, path)
    assert any(p.startswith(expected) for p in raised.value.problems), raised.value.problems
    assert set((await counts(engine, tenant)).values()) == {0}


async def test_the_same_time_written_two_ways_is_a_duplicate(engine, new_tenant, folder):
    tenant = await new_tenant()
    extra = {"reviews.csv": ["T-1,C-1,4,Again,,2024-02-10T02:00:00"]}  # 02:00 Chicago = 08:00 UTC
    with pytest.raises(CsvImportError) as raised:
        await load(engine, tenant, folder(add=extra))
    assert raised.value.problems[0].startswith("reviews.csv:3: duplicate sku=T-1, customer_ref=C-1")


async def test_imported_items_keep_the_files_order(engine, new_tenant, folder):
    tenant = await new_tenant()
    extra = {"order_items.csv": ["O-2,T-2,1,,", "O-2,T-1,3,,"]}  # O-2 now: T-1, T-2, T-1
    async with engine.begin() as connection:
        # A plan that sorts the staged items by key, as large imports get: without the
        # file's order the ids would follow the sort.
        await connection.execute(text("SET LOCAL enable_hashjoin = off"))
        await connection.execute(text("SET LOCAL enable_nestloop = off"))
        await import_folder(connection, tenant, folder(add=extra))
    async with engine.connect() as connection:
        skus = (
            await connection.scalars(
                text(
                    "SELECT p.sku FROM order_items i JOIN orders o ON o.id = i.order_id "
                    "JOIN products p ON p.id = i.product_id WHERE o.tenant_id = :t AND o.order_number = 'O-2' "
                    "ORDER BY i.id"
                ),
                {"t": tenant.id},
            )
        ).all()
    assert skus == ["T-1", "T-2", "T-1"]
