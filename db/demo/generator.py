"""A deterministic generator of a demo shop's catalogue, customers and three years of history.

Same seed, same order count and same end date: the same rows, byte for byte. Money is kept
in integer cents so totals add up exactly. Rows carry local ids (1..n); the bulk loader maps
them onto ids reserved in the database (see ``db/bulk.py``).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from faker import Faker

from db.demo.catalog import (
    BUNDLE_LEAVES,
    DEPARTMENTS,
    REVIEW_DETAILS,
    REVIEW_LINES,
    SHOP_NAME_PARTS,
    Leaf,
)
from db.demo.geography import COUNTRIES, MARKETS

HISTORY_DAYS = 3 * 365
EVENT_WINDOW_DAYS = 90  # clickstream is kept for the last 90 days, as analytics tools do
GUEST_SHARE = 0.08
BUNDLE_ATTACH_RATE = 0.6
TAX_RATE = 0.08
FREE_SHIPPING_CENTS = 7500
LINE_NAMES = (
    "Aero",
    "Trail",
    "Nomad",
    "Classic",
    "Venture",
    "Halo",
    "Echo",
    "Terra",
    "Nova",
    "Drift",
    "Apex",
    "Vista",
    "Pulse",
    "Atlas",
    "Orbit",
    "Sierra",
    "Harbor",
    "Juniper",
    "Solstice",
    "Ember",
)
BRAND_SUFFIXES = ("Gear", "Works", "Labs", "& Co", "Supply", "Goods", "Collective", "")

Row = tuple[Any, ...]
Progress = Callable[[str, int], None]


@dataclass
class Table:
    """Rows of one table, in load order, with the columns they fill."""

    name: str
    columns: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class ProductInfo:
    local_id: int
    leaf: Leaf
    noun: str
    price_cents: int
    active: bool
    popularity: float
    quality: float


@dataclass
class DemoShop:
    name: str
    tables: dict[str, Table]
    bundles: list[tuple[str, str]]  # planted (antecedent sku, consequent sku)


def cents_to_str(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _no_progress(step: str, count: int) -> None:
    return None


class ShopGenerator:
    """Builds one shop. Call ``generate()`` once."""

    def __init__(
        self,
        *,
        seed: int,
        orders: int,
        end: date,
        progress: Progress = _no_progress,
        products: int | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.product_count = products  # None: 18-26 per leaf category (about 750)
        self.seed = seed
        self.order_count = orders
        self.end = datetime(end.year, end.month, end.day, 23, 59, tzinfo=UTC)
        self.start = self.end - timedelta(days=HISTORY_DAYS)
        self.progress = progress
        self.market = MARKETS[seed % len(MARKETS)]
        self.fakers = {c.locale: Faker(c.locale) for c in COUNTRIES.values()}
        for index, faker in enumerate(self.fakers.values()):
            faker.seed_instance(seed * 31 + index)
        self.products: list[ProductInfo] = []
        self.product_skus: dict[int, str] = {}
        self.customer_places: list[tuple[str, str, str]] = []

    # ----- catalogue -------------------------------------------------------------------------

    def shop_name(self) -> str:
        first, second = SHOP_NAME_PARTS
        return f"{self.rng.choice(first)} {self.rng.choice(second)}"

    def brands(self, roots: Sequence[str]) -> list[str]:
        chosen = self.rng.sample(list(roots), 4)
        return [f"{root} {self.rng.choice(BRAND_SUFFIXES)}".strip() for root in chosen]

    def categories(self) -> Table:
        columns = ("id", "parent_id", "name", "slug", "description", "created_at", "updated_at")
        table = Table("categories", columns)
        ids = itertools.count(1)
        created = self.start - timedelta(days=400)

        def add(parent: int | None, name: str, description: str) -> int:
            local_id = next(ids)
            table.rows.append(
                (local_id, parent, name, slugify(name), description, created, created)
            )
            return local_id

        for department in DEPARTMENTS:
            dept_id = add(None, department.name, department.description)
            for category in department.categories:
                cat_id = add(dept_id, category.name, f"{category.name} in {department.name}.")
                for leaf in category.leaves:
                    add(cat_id, leaf.name, f"{leaf.name}: {', '.join(leaf.nouns[:3])} and more.")
        return table

    def product_table(self, categories: Table) -> Table:
        columns = (
            "id",
            "category_id",
            "sku",
            "name",
            "description",
            "brand",
            "price",
            "cost",
            "stock_quantity",
            "specifications",
            "image_url",
            "is_active",
            "created_at",
            "updated_at",
        )
        table = Table("products", columns)
        leaf_ids = {row[2]: row[0] for row in categories.rows}
        department_weight = {d.name: self.rng.uniform(0.4, 1.8) for d in DEPARTMENTS}
        local_ids = itertools.count(1)
        for department in DEPARTMENTS:
            brands = self.brands(department.brand_roots)
            for category in department.categories:
                for leaf in category.leaves:
                    for _ in range(self.per_leaf()):
                        row, info = self.product(
                            next(local_ids),
                            leaf,
                            brands,
                            leaf_ids[leaf.name],
                            department_weight[department.name],
                            department.name,
                        )
                        table.rows.append(row)
                        self.products.append(info)
        dedupe_names(table.rows)
        return table

    def per_leaf(self) -> int:
        if self.product_count is None:
            return self.rng.randint(18, 26)
        leaves = sum(len(c.leaves) for d in DEPARTMENTS for c in d.categories)
        return max(1, self.product_count // leaves)

    # Not split: the order of its rng calls is the data (a seed gives byte-identical shops,
    # which the eval snapshots rely on); moving one call elsewhere changes every shop.
    def product(
        self,
        local_id: int,
        leaf: Leaf,
        brands: list[str],
        category_id: int,
        weight: float,
        department: str,
    ) -> tuple[Row, ProductInfo]:
        rng = self.rng
        noun = rng.choice(leaf.nouns)
        quality = rng.choice(leaf.qualities)
        line = rng.choice(LINE_NAMES) + (f" {rng.randint(2, 9)}" if rng.random() < 0.3 else "")
        brand = rng.choice(brands)
        specifications = self.specifications(leaf)
        name = product_name(
            rng,
            brand=brand,
            line=line,
            quality=quality,
            noun=noun,
            size=specifications.get("size_label"),
        )
        specifications.pop("size_label", None)
        price = price_cents(rng, leaf.price)
        active = rng.random() > 0.05
        stock = (
            0 if (not active and rng.random() < 0.6) or rng.random() < 0.07 else rng.randint(2, 400)
        )
        sku = f"{initials(department)}-{initials(leaf.name, 3)}-{local_id:04d}"
        created = self.start - timedelta(days=rng.randint(30, 400))
        updated = created + timedelta(days=rng.randint(0, 500), minutes=rng.randint(0, 1440))
        description = describe(
            rng,
            leaf=leaf,
            noun=noun,
            quality=quality,
            line=f"{brand} {line}",
            specifications=specifications,
        )
        self.product_skus[local_id] = sku
        info = ProductInfo(
            local_id,
            leaf,
            noun,
            price,
            active,
            weight * rng.paretovariate(1.3),
            rng.uniform(2.4, 4.9),
        )
        row = (
            local_id,
            category_id,
            sku,
            name,
            description,
            brand,
            cents_to_str(price),
            cents_to_str(int(price * rng.uniform(0.38, 0.68))),
            stock,
            specifications,
            f"https://images.example.com/products/{sku.lower()}.jpg",
            active,
            created,
            min(updated, self.end),
        )
        return row, info

    def specifications(self, leaf: Leaf) -> dict[str, Any]:
        rng = self.rng
        specs: dict[str, Any] = {spec.key: rng.choice(spec.values) for spec in leaf.specs}
        if leaf.materials:
            specs["material"] = rng.choice(leaf.materials)
        if leaf.sizes:
            specs["sizes"] = list(leaf.sizes)
        for key in ("capacity_ml", "capacity_l", "volume_l", "capacity_persons"):
            if specs.get(key):
                specs["size_label"] = size_label(key, specs[key])
                break
        return {k: v for k, v in specs.items() if v not in (0, None)}

    # ----- customers -------------------------------------------------------------------------

    def customer_table(self) -> tuple[Table, list[float]]:
        columns = (
            "id",
            "customer_ref",
            "first_name",
            "last_name",
            "email",
            "phone",
            "date_of_birth",
            "city",
            "region",
            "country",
            "segment",
            "created_at",
        )
        table = Table("customers", columns)
        count = max(50, self.order_count // 4)
        codes = [code for code, _ in self.market]
        weights = [w for _, w in self.market]
        spend: list[float] = []
        for local_id in range(1, count + 1):
            country = COUNTRIES[self.rng.choices(codes, weights)[0]]
            row, weight = self.customer(local_id, country)
            table.rows.append(row)
            spend.append(weight)
        return table, spend

    def customer(self, local_id: int, country: Any) -> tuple[Row, float]:
        rng = self.rng
        faker = self.fakers[country.locale]
        first, last = faker.first_name(), faker.last_name()
        region = rng.choice(sorted(country.regions))
        city = rng.choice(country.regions[region])
        self.customer_places.append((city, region, country.code))
        segment = rng.choices(("consumer", "business", "vip"), (0.8, 0.13, 0.07))[0]
        weight = min(rng.paretovariate(1.16), 60.0) * (4.0 if segment == "vip" else 1.0)
        email = f"{ascii_name(first)}.{ascii_name(last)}{local_id}@{faker.free_email_domain()}"
        birth = date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28))
        created = self.start + timedelta(days=rng.randint(-200, HISTORY_DAYS - 1))
        row = (
            local_id,
            f"CUST-{local_id:06d}",
            first,
            last,
            email,
            faker.phone_number(),
            birth,
            city,
            region,
            country.code,
            segment,
            created,
        )
        return row, weight

    # ----- orders --------------------------------------------------------------------------

    def order_days(self) -> list[datetime]:
        """Order timestamps, sorted: growth, a Nov-Dec peak, Black Friday and a weekday cycle."""
        days = [self.start + timedelta(days=i) for i in range(HISTORY_DAYS)]
        weights = [day_weight(day, i / HISTORY_DAYS) for i, day in enumerate(days)]
        cumulative = list(itertools.accumulate(weights))
        total = cumulative[-1]
        rng = self.rng
        stamps = []
        for _ in range(self.order_count):
            index = bisect.bisect_left(cumulative, rng.random() * total)
            day = days[min(index, len(days) - 1)].replace(hour=0, minute=0)
            minutes = int(rng.triangular(6 * 60, 24 * 60 - 1, 20 * 60))
            stamps.append(day + timedelta(minutes=minutes, seconds=rng.randint(0, 59)))
        stamps.sort()
        return stamps

    def bundle_pairs(self) -> dict[int, int]:
        by_leaf: dict[str, list[ProductInfo]] = {}
        for product in self.products:
            if product.active:
                by_leaf.setdefault(product.leaf.name, []).append(product)
        pairs: dict[int, int] = {}
        for antecedent_leaf, consequent_leaf in BUNDLE_LEAVES:
            # shops bundle what already sells: the leaf's bestseller
            antecedent = max(by_leaf[antecedent_leaf], key=lambda p: p.popularity)
            consequent = self.rng.choice(by_leaf[consequent_leaf])
            if antecedent.local_id not in pairs and consequent.local_id not in pairs:
                pairs[antecedent.local_id] = consequent.local_id
        self.promote(list(pairs))
        return pairs

    def promote(self, local_ids: list[int]) -> None:
        """Featured bundles are promoted: their lead product sells at least like a top-10% one."""
        floor = sorted(p.popularity for p in self.products)[int(len(self.products) * 0.9)]
        for local_id in local_ids:
            product = self.products[local_id - 1]
            self.products[local_id - 1] = replace(
                product, popularity=max(product.popularity, floor)
            )

    def orders(self, customer_weights: list[float]) -> tuple[Table, Table, list[tuple[Any, ...]]]:
        orders = Table(
            "orders",
            (
                "id",
                "customer_id",
                "order_number",
                "status",
                "channel",
                "payment_method",
                "subtotal",
                "discount_amount",
                "shipping_amount",
                "tax_amount",
                "total_amount",
                "shipping_city",
                "shipping_region",
                "shipping_country",
                "placed_at",
                "shipped_at",
                "delivered_at",
            ),
        )
        items = Table(
            "order_items", ("order_id", "product_id", "quantity", "unit_price", "discount_amount")
        )
        basket_log: list[
            tuple[Any, ...]
        ] = []  # (order id, customer id, placed, status, delivered, products)
        customer_cum = list(itertools.accumulate(customer_weights))
        bundles = self.bundle_pairs()
        product_cum = list(itertools.accumulate(p.popularity for p in self.products))
        self.planted = [(self.product_skus[a], self.product_skus[c]) for a, c in bundles.items()]
        prefix = initials(self.shop, 2)
        stamps = self.order_days()
        for local_id, placed in enumerate(stamps, start=1):
            order, lines, basket = self.order(
                local_id, placed, prefix, customer_cum, product_cum, bundles
            )
            orders.rows.append(order)
            items.rows.extend(lines)
            basket_log.append(basket)
            if local_id % 5000 == 0:
                self.progress("orders", 5000)
        self.progress("orders", len(stamps) % 5000)
        return orders, items, basket_log

    def order(
        self,
        local_id: int,
        placed: datetime,
        prefix: str,
        customer_cum: list[float],
        product_cum: list[float],
        bundles: dict[int, int],
    ) -> tuple[Row, list[Row], tuple[Any, ...]]:
        rng = self.rng
        progress_in_time = (placed - self.start).days / HISTORY_DAYS
        customer = None
        if rng.random() > GUEST_SHARE:
            customer = bisect.bisect_left(customer_cum, rng.random() * customer_cum[-1]) + 1
        channel = pick_channel(rng, progress_in_time)
        products = self.basket(placed, product_cum, bundles, progress_in_time)
        black_friday = is_black_friday_week(placed)
        lines, subtotal = [], 0
        for product in products:
            quantity = rng.choices((1, 2, 3, 4), (0.8, 0.14, 0.04, 0.02))[0]
            unit = self.products[product - 1].price_cents
            pct = (
                rng.choice((0.15, 0.2, 0.3))
                if black_friday and rng.random() < 0.6
                else (0.1 if rng.random() < 0.05 else 0.0)
            )
            discount = int(quantity * unit * pct)
            subtotal += quantity * unit - discount
            lines.append((local_id, product, quantity, cents_to_str(unit), cents_to_str(discount)))
        coupon = int(subtotal * rng.choice((0.1, 0.15))) if rng.random() < 0.1 else 0
        shipping = (
            0
            if channel == "store" or subtotal >= FREE_SHIPPING_CENTS
            else rng.choice((499, 699, 999))
        )
        tax = round((subtotal - coupon) * TAX_RATE)
        status, shipped, delivered = self.fulfilment(placed, channel)
        city, region, country = self.place_of(customer)
        payment = pick_payment(rng, channel)
        order = (
            local_id,
            customer,
            f"{prefix}-{100000 + local_id}",
            status,
            channel,
            payment,
            cents_to_str(subtotal),
            cents_to_str(coupon),
            cents_to_str(shipping),
            cents_to_str(tax),
            cents_to_str(subtotal - coupon + shipping + tax),
            city,
            region,
            country,
            placed,
            shipped,
            delivered,
        )
        return order, lines, (local_id, customer, placed, status, delivered, products, channel)

    def basket(
        self, placed: datetime, product_cum: list[float], bundles: dict[int, int], t: float
    ) -> list[int]:
        rng = self.rng
        size = min(1 + int(rng.expovariate(0.9)), 6)
        chosen: list[int] = []
        for _ in range(size * 3):
            if len(chosen) == size:
                break
            product = bisect.bisect_left(product_cum, rng.random() * product_cum[-1]) + 1
            info = self.products[product - 1]
            if product in chosen or (not info.active and t > 0.6):
                continue  # discontinued products stopped selling
            chosen.append(product)
        for product in list(chosen):
            partner = bundles.get(product)
            if partner and partner not in chosen and rng.random() < BUNDLE_ATTACH_RATE:
                chosen.append(partner)
        return chosen

    def fulfilment(
        self, placed: datetime, channel: str
    ) -> tuple[str, datetime | None, datetime | None]:
        rng = self.rng
        age_days = (self.end - placed).total_seconds() / 86400
        if channel == "store":
            return "delivered", placed, placed
        if age_days < 1:
            return rng.choice(("pending", "paid", "paid")), None, None
        roll = rng.random()
        if roll < 0.04:
            return "cancelled", None, None
        shipped = placed + timedelta(hours=rng.randint(4, 72))
        delivered = shipped + timedelta(hours=rng.randint(24, 144))
        if shipped > self.end:
            return "paid", None, None
        if delivered > self.end:
            return "shipped", shipped, None
        return ("refunded" if roll < 0.07 else "delivered"), shipped, delivered

    def place_of(self, customer: int | None) -> tuple[str, str, str]:
        if customer is not None:
            return self.customer_places[customer - 1]
        country = COUNTRIES[self.market[0][0]]
        region = self.rng.choice(sorted(country.regions))
        return self.rng.choice(country.regions[region]), region, country.code

    # ----- reviews and events --------------------------------------------------------------------

    def reviews(self, baskets: list[tuple[Any, ...]]) -> Table:
        table = Table(
            "reviews",
            ("product_id", "customer_id", "order_id", "rating", "title", "body", "created_at"),
        )
        rng = self.rng
        for order_id, customer, _placed, status, delivered, products, _channel in baskets:
            if status != "delivered" or customer is None:
                continue
            for product in products:
                if rng.random() >= 0.07:
                    continue
                created = delivered + timedelta(
                    days=rng.randint(1, 30), minutes=rng.randint(0, 1440)
                )
                if created > self.end:
                    continue
                info = self.products[product - 1]
                rating = max(1, min(5, round(rng.gauss(info.quality, 0.9))))
                title, body = review_text(rng, info, rating)
                table.rows.append((product, customer, order_id, rating, title, body, created))
        return table

    def events(self, baskets: list[tuple[Any, ...]], customer_count: int) -> Table:
        table = Table(
            "product_events",
            ("product_id", "customer_id", "session_ref", "event_type", "channel", "occurred_at"),
        )
        window_start = self.end - timedelta(days=EVENT_WINDOW_DAYS)
        recent = [b for b in baskets if b[2] >= window_start]
        for basket in recent:
            table.rows.extend(self.purchase_session(basket))
        product_cum = list(itertools.accumulate(p.popularity for p in self.products))
        for index in range(len(recent) * 4):
            table.rows.extend(self.browse_session(index, window_start, product_cum, customer_count))
        table.rows.sort(key=lambda row: row[5])
        return table

    def purchase_session(self, basket: tuple[Any, ...]) -> list[Row]:
        order_id, customer, placed, status, _delivered, products, channel = basket
        rng = self.rng
        session = f"s-{self.seed}-o{order_id}"
        web = channel if channel in ("web", "mobile") else "web"
        rows: list[Row] = []
        for product in products:
            before = placed - timedelta(minutes=rng.randint(5, 90))
            for view in range(rng.randint(1, 3)):
                rows.append(
                    (product, customer, session, "view", web, before - timedelta(minutes=view))
                )
            rows.append(
                (product, customer, session, "add_to_cart", web, before + timedelta(minutes=2))
            )
            if status != "cancelled":
                rows.append((product, customer, session, "purchase", web, placed))
        return rows

    def browse_session(
        self, index: int, window_start: datetime, product_cum: list[float], customer_count: int
    ) -> list[Row]:
        rng = self.rng
        when = window_start + timedelta(seconds=rng.randint(0, EVENT_WINDOW_DAYS * 86400 - 3600))
        customer = rng.randint(1, customer_count) if rng.random() < 0.55 else None
        channel = rng.choice(("web", "mobile", "mobile"))
        session = f"s-{self.seed}-b{index}"
        rows: list[Row] = []
        for step in range(rng.randint(1, 6)):
            product = bisect.bisect_left(product_cum, rng.random() * product_cum[-1]) + 1
            at = when + timedelta(minutes=step * rng.randint(1, 4))
            rows.append((product, customer, session, "view", channel, at))
            roll = rng.random()
            if roll < 0.1:
                rows.append(
                    (product, customer, session, "add_to_cart", channel, at + timedelta(seconds=40))
                )
                if rng.random() < 0.35:
                    rows.append(
                        (
                            product,
                            customer,
                            session,
                            "remove_from_cart",
                            channel,
                            at + timedelta(minutes=3),
                        )
                    )
            elif roll < 0.14 and customer is not None:
                rows.append(
                    (product, customer, session, "wishlist", channel, at + timedelta(seconds=30))
                )
        return rows

    # ----- everything ----------------------------------------------------------------------------

    def generate(self) -> DemoShop:
        self.shop = self.shop_name()
        categories = self.categories()
        products = self.product_table(categories)
        self.progress("catalogue", len(products.rows))
        customers, weights = self.customer_table()
        self.progress("customers", len(customers.rows))
        orders, items, baskets = self.orders(weights)
        first_orders = first_order_times(baskets)
        customers.rows = [
            fix_signup(row, first_orders.get(row[0]), self.rng) for row in customers.rows
        ]
        reviews = self.reviews(baskets)
        events = self.events(baskets, len(customers.rows))
        self.progress("reviews and events", len(reviews.rows) + len(events.rows))
        tables = (categories, products, customers, orders, items, reviews, events)
        return DemoShop(self.shop, {t.name: t for t in tables}, self.planted)


def generate_shop(
    *,
    seed: int,
    orders: int,
    end: date,
    progress: Progress = _no_progress,
    products: int | None = None,
) -> DemoShop:
    """``products``: catalogue size (spread evenly over the leaf categories); None: ~750."""
    return ShopGenerator(
        seed=seed, orders=orders, end=end, progress=progress, products=products
    ).generate()


# ----- small pure helpers ----------------------------------------------------------------------


def slugify(text: str) -> str:
    cleaned = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in cleaned.split("-") if part)


def initials(text: str, length: int = 2) -> str:
    letters = "".join(word[0] for word in text.replace("&", " ").split() if word[0].isalpha())
    return (letters + text.replace(" ", "").upper())[:length].upper()


def ascii_name(text: str) -> str:
    return "".join(ch for ch in text.lower() if "a" <= ch <= "z") or "user"


def price_cents(rng: random.Random, band: tuple[float, float]) -> int:
    low, high = band
    raw = math.exp(rng.uniform(math.log(low), math.log(high)))
    ending = rng.choice((99, 99, 99, 0, 50, 95))
    return max(int(raw) * 100 + ending - (100 if ending else 0), 99)


def size_label(key: str, value: Any) -> str:
    units = {"capacity_ml": "ml", "capacity_l": "L", "volume_l": "L", "capacity_persons": "-Person"}
    return f"{value}{units[key]}" if key == "capacity_persons" else f"{value} {units[key]}"


def product_name(
    rng: random.Random, *, brand: str, line: str, quality: str, noun: str, size: str | None
) -> str:
    title = " ".join(word[0].upper() + word[1:] for word in noun.split())
    shapes = (
        f"{brand} {line} {quality.title()} {title}",
        f"{brand} {line} {title}",
        f"{line} {title} by {brand}",
        f"{brand} {quality.title()} {title}",
    )
    name = rng.choice(shapes)
    if size and rng.random() < 0.7:
        name = f"{name}, {size}" if rng.random() < 0.5 else f"{brand} {line} {size} {title}"
    return name


def dedupe_names(rows: list[Row]) -> None:
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        name = row[3]
        if name in seen:
            seen[name] += 1
            rows[index] = (*row[:3], f"{name} ({seen[name]})", *row[4:])
        else:
            seen[name] = 1


def describe(
    rng: random.Random,
    *,
    leaf: Leaf,
    noun: str,
    quality: str,
    line: str,
    specifications: dict[str, Any],
) -> str:
    features = rng.sample(list(leaf.features), min(3, len(leaf.features)))
    uses = rng.sample(list(leaf.uses), min(2, len(leaf.uses)))
    article = "an" if quality[0] in "aeiou" else "a"
    openers = (
        f"Built for {uses[0]}, this {quality} {noun} has {features[0]}.",
        f"Meet the {line}: {article} {quality} {noun} with {features[0]}.",
        f"Planning {uses[0]}? The {line} is the {noun} to bring.",
        f"{features[0][0].upper()}{features[0][1:]} is what sets this {noun} apart.",
        f"Our most-asked-about {noun} for {uses[0]}, now with {features[0]}.",
    )
    middles = (
        f"It also comes with {features[1]}.",
        f"You also get {features[1]}" + (f" and {features[2]}." if len(features) > 2 else "."),
        f"Thoughtful extras include {features[1]}.",
        f"Expect {features[1]}.",
    )
    closers = (
        f"A favourite for {uses[1]}.",
        f"Just as good for {uses[1]}.",
        "Backed by a two-year warranty.",
        f"Pairs well with the rest of the {line.split()[-1]} range.",
        "",
    )
    detail = spec_sentence(rng, specifications)
    sentences = [rng.choice(openers), rng.choice(middles), detail, rng.choice(closers)]
    if rng.random() < 0.4:
        sentences[1], sentences[2] = sentences[2], sentences[1]
    return " ".join(s for s in sentences if s)


def spec_sentence(rng: random.Random, specifications: dict[str, Any]) -> str:
    if "material" in specifications and rng.random() < 0.5:
        return f"Made from {specifications['material']}."
    for key, value in specifications.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            *words, unit = key.split("_")
            if unit not in SPEC_UNITS:
                words, unit = [*words, unit], ""
            label = " ".join(words).capitalize()
            return f"{label}: {value}{SPEC_UNITS.get(unit, '')}."
    return ""


SPEC_UNITS = {
    "cm": " cm",
    "mm": " mm",
    "kg": " kg",
    "g": " g",
    "l": " L",
    "ml": " ml",
    "w": " W",
    "mah": " mAh",
    "c": " °C",
    "m": " m",
    "hours": " hours",
    "days": " days",
    "percent": "%",
    "gb": " GB",
    "persons": " people",
    "cups": " cups",
    "lumens": " lumens",
}


def review_text(rng: random.Random, info: ProductInfo, rating: int) -> tuple[str, str]:
    title = rng.choice(REVIEW_LINES[rating]).format(noun=info.noun)
    details = rng.sample(list(REVIEW_DETAILS[rating]), 2)
    feature = rng.choice(info.leaf.features)
    use = rng.choice(info.leaf.uses)
    body = " ".join(d.format(feature=feature[0].upper() + feature[1:], use=use) for d in details)
    return title, body


def day_weight(day: datetime, t: float) -> float:
    growth = math.exp(0.8 * t)  # about 2.2x more orders at the end than at the start
    month_factor = (0.75, 0.8, 0.95, 1.0, 1.05, 1.0, 1.05, 0.95, 1.0, 1.05, 1.55, 1.9)[
        day.month - 1
    ]
    if day.month == 12 and day.day > 22:
        month_factor = 0.9
    weekday_factor = (1.08, 1.0, 0.98, 1.0, 0.95, 0.85, 1.12)[day.weekday()]
    spike = 2.6 if is_black_friday_week(day) else 1.0
    return growth * month_factor * weekday_factor * spike


def is_black_friday_week(day: datetime) -> bool:
    if day.month != 11:
        return False
    first = date(day.year, 11, 1)
    fourth_thursday = 1 + (3 - first.weekday()) % 7 + 21
    return fourth_thursday + 1 <= day.day <= fourth_thursday + 4  # Friday to Cyber Monday


def pick_channel(rng: random.Random, t: float) -> str:
    mobile = 0.22 + 0.2 * t
    return rng.choices(
        ("web", "mobile", "marketplace", "store"), (0.58 - 0.2 * t, mobile, 0.12, 0.08)
    )[0]


def pick_payment(rng: random.Random, channel: str) -> str:
    if channel == "store":
        return rng.choices(("card", "cash", "gift_card"), (0.7, 0.25, 0.05))[0]
    return rng.choices(("card", "paypal", "bank_transfer", "gift_card"), (0.62, 0.28, 0.06, 0.04))[
        0
    ]


def first_order_times(baskets: list[tuple[Any, ...]]) -> dict[int, datetime]:
    first: dict[int, datetime] = {}
    for _order, customer, placed, *_rest in baskets:
        if customer is not None and customer not in first:
            first[customer] = placed
    return first


def fix_signup(row: Row, first_order: datetime | None, rng: random.Random) -> Row:
    """A customer signs up before (or at) their first order."""
    created: datetime = row[-1]
    if first_order is not None and created > first_order:
        created = first_order - timedelta(hours=rng.randint(0, 24 * 30))
    return (*row[:-1], created)
