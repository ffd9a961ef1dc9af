"""Catalogue content for demo shops: departments > categories > leaf categories.

Each leaf carries the words its products are made of (nouns, qualities, materials, features,
uses, specifications, a price band). The generator combines them with varied sentence shapes,
so descriptions read like a merchandiser wrote them rather than like one template.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Spec:
    key: str
    values: tuple[object, ...]


@dataclass(frozen=True)
class Leaf:
    name: str
    nouns: tuple[str, ...]
    qualities: tuple[str, ...]
    features: tuple[str, ...]
    uses: tuple[str, ...]
    price: tuple[float, float]
    specs: tuple[Spec, ...] = ()
    materials: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Category:
    name: str
    leaves: tuple[Leaf, ...]
    description: str = ""


@dataclass(frozen=True)
class Department:
    name: str
    categories: tuple[Category, ...]
    description: str = ""
    brand_roots: tuple[str, ...] = field(default=())


def specs(**choices: tuple[object, ...]) -> tuple[Spec, ...]:
    return tuple(Spec(key, values) for key, values in choices.items())


OUTDOOR = Department(
    "Outdoor & Camping",
    description="Gear for nights under the stars and days on the trail.",
    brand_roots=("Ridge", "Kestrel", "Alpen", "Timber", "Cairn", "Summit", "Lark", "Basecamp"),
    categories=(
        Category(
            "Camping",
            (
                Leaf(
                    "Tents",
                    ("tent", "shelter", "dome tent", "backpacking tent", "tunnel tent"),
                    ("ultralight", "freestanding", "two-door", "storm-ready", "roomy"),
                    (
                        "colour-coded poles that pitch in minutes",
                        "a full-coverage rainfly with taped seams",
                        "mesh walls that keep bugs out and let air through",
                        "two vestibules for muddy boots",
                        "a bathtub floor that shrugs off ground water",
                        "glow-in-the-dark zipper pulls",
                    ),
                    (
                        "weekend trips to the lake",
                        "thru-hikes where every gram counts",
                        "family campgrounds",
                        "festival season",
                        "windy ridgelines",
                    ),
                    (89, 549),
                    specs(
                        capacity_persons=(1, 2, 3, 4, 6),
                        weight_kg=(1.1, 1.6, 2.3, 3.4, 5.2),
                        season=("3-season", "4-season"),
                        waterproof_mm=(1500, 3000, 5000),
                    ),
                    ("ripstop nylon", "polyester", "silnylon"),
                ),
                Leaf(
                    "Sleeping Bags",
                    ("sleeping bag", "mummy bag", "quilt", "rectangular sleeping bag"),
                    ("down-filled", "synthetic", "packable", "cosy", "zip-together"),
                    (
                        "a draft collar that traps warmth around the shoulders",
                        "a hood that cinches with one hand",
                        "water-resistant down that keeps its loft",
                        "a stuff sack that squeezes it to loaf size",
                        "a two-way zip for venting on warm nights",
                    ),
                    (
                        "shoulder-season camping",
                        "alpine starts",
                        "sleepovers at the cabin",
                        "car camping with kids",
                    ),
                    (49, 389),
                    specs(
                        comfort_rating_c=(-9, -5, 0, 5, 10),
                        fill=("duck down", "goose down", "synthetic"),
                        weight_kg=(0.7, 1.0, 1.4, 1.9),
                    ),
                ),
                Leaf(
                    "Sleeping Pads",
                    ("sleeping pad", "air mattress", "foam mat", "self-inflating mat"),
                    ("insulated", "quiet", "wide", "featherweight", "closed-cell"),
                    (
                        "an R-value that blocks the cold ground",
                        "a valve that inflates in ten breaths",
                        "a crinkle-free fabric that will not wake your tent mate",
                        "a pump sack that doubles as a dry bag",
                    ),
                    (
                        "backpacking in the mountains",
                        "winter camping",
                        "side sleepers",
                        "lazy beach nights",
                    ),
                    (29, 199),
                    specs(
                        r_value=(1.8, 3.2, 4.5, 6.9),
                        thickness_cm=(2, 5, 7, 10),
                        length_cm=(168, 183, 196),
                    ),
                ),
                Leaf(
                    "Camp Kitchen",
                    ("camp stove", "cook set", "pot", "kettle", "spork set", "camp mug"),
                    ("compact", "nesting", "titanium", "fuel-sipping", "one-burner"),
                    (
                        "a piezo igniter that lights with a click",
                        "pots that nest around a gas canister",
                        "a wind shield that protects the flame",
                        "folding handles that lock in place",
                        "a simmer control that does more than boil",
                    ),
                    (
                        "coffee at sunrise",
                        "one-pot dinners on the trail",
                        "base-camp feasts",
                        "quick lunches at the crag",
                    ),
                    (15, 179),
                    specs(
                        material=("titanium", "hard-anodised aluminium", "stainless steel"),
                        capacity_l=(0.75, 1.0, 1.5, 2.5),
                        weight_g=(95, 180, 320, 640),
                    ),
                ),
            ),
        ),
        Category(
            "Hiking",
            (
                Leaf(
                    "Backpacks",
                    ("backpack", "daypack", "hiking pack", "trekking pack", "rucksack"),
                    ("ventilated", "frameless", "adjustable", "hydration-ready", "lightweight"),
                    (
                        "a suspended mesh back panel that keeps you cool",
                        "hip-belt pockets for snacks and a phone",
                        "a rain cover tucked into the base",
                        "an adjustable torso length",
                        "trekking-pole loops",
                    ),
                    (
                        "day hikes",
                        "hut-to-hut treks",
                        "airport carry-on",
                        "peak bagging",
                        "the daily commute",
                    ),
                    (39, 299),
                    specs(
                        volume_l=(18, 24, 32, 45, 65),
                        weight_kg=(0.6, 0.9, 1.4, 2.1),
                        hydration_compatible=(True, False),
                    ),
                ),
                Leaf(
                    "Trekking Poles",
                    ("trekking poles", "hiking poles", "walking sticks"),
                    ("collapsible", "carbon", "shock-absorbing", "folding", "aluminium"),
                    (
                        "flick locks that hold under load",
                        "cork grips that wick sweat",
                        "tungsten tips and rubber feet",
                        "a folding design that fits inside a pack",
                    ),
                    (
                        "steep descents",
                        "river crossings",
                        "long days on knees that complain",
                        "snowshoe trips",
                    ),
                    (35, 189),
                    specs(
                        material=("carbon", "aluminium"),
                        min_length_cm=(60, 65, 105),
                        max_length_cm=(120, 130, 140),
                    ),
                ),
                Leaf(
                    "Water Bottles & Filters",
                    ("water bottle", "water filter", "hydration bladder", "filter bottle"),
                    ("BPA-free", "squeezable", "vacuum-insulated", "leak-proof", "collapsible"),
                    (
                        "a filter that removes 99.9999% of bacteria",
                        "a wide mouth that fits ice cubes",
                        "a bite valve that shuts itself",
                        "double walls that keep drinks cold for a day",
                    ),
                    (
                        "long trail days",
                        "travel where tap water is doubtful",
                        "the gym bag",
                        "emergency kits",
                    ),
                    (12, 89),
                    specs(capacity_ml=(500, 750, 1000, 2000, 3000), filter_life_l=(0, 1000, 1500)),
                ),
            ),
        ),
        Category(
            "Lighting & Navigation",
            (
                Leaf(
                    "Headlamps & Lanterns",
                    ("headlamp", "lantern", "flashlight", "camp light"),
                    ("rechargeable", "bright", "waterproof", "dimmable", "pocket-size"),
                    (
                        "a red-light mode that saves your night vision",
                        "USB-C charging",
                        "a lock mode so it never wakes in a pack",
                        "a beam that reaches across a valley",
                    ),
                    ("pre-dawn starts", "power cuts at home", "reading in the tent", "night runs"),
                    (14, 119),
                    specs(
                        lumens=(200, 350, 600, 1000),
                        battery_hours=(8, 20, 40, 100),
                        ip_rating=("IPX4", "IPX7"),
                    ),
                ),
                Leaf(
                    "GPS & Compasses",
                    ("compass", "GPS watch", "handheld GPS", "altimeter watch"),
                    ("rugged", "solar-assisted", "baseplate", "glow-dial"),
                    (
                        "topo maps preloaded for offline use",
                        "a sighting mirror for precise bearings",
                        "a battery that lasts a two-week trek",
                        "breadcrumb tracking back to camp",
                    ),
                    ("orienteering", "backcountry navigation", "trail running", "sailing"),
                    (19, 499),
                    specs(battery_days=(14, 21, 30), waterproof_m=(10, 50, 100)),
                ),
            ),
        ),
    ),
)

KITCHEN = Department(
    "Home & Kitchen",
    description="Tools for cooks, coffee people and anyone who hosts.",
    brand_roots=(
        "Hearth",
        "Copperline",
        "Maison",
        "Oakley & Rowe",
        "Brava",
        "Kiln",
        "Saltbox",
        "Fennel",
    ),
    categories=(
        Category(
            "Coffee & Tea",
            (
                Leaf(
                    "Coffee Makers",
                    (
                        "pour-over dripper",
                        "French press",
                        "espresso machine",
                        "moka pot",
                        "cold brew maker",
                    ),
                    ("manual", "programmable", "glass", "barista-grade", "compact"),
                    (
                        "a fine mesh filter that lets the oils through",
                        "a 15-bar pump with a steam wand",
                        "a thermal carafe that keeps coffee hot for hours",
                        "a bloom setting for fresh beans",
                    ),
                    (
                        "slow Sunday mornings",
                        "a small office kitchen",
                        "latte art practice",
                        "iced coffee all summer",
                    ),
                    (24, 699),
                    specs(
                        capacity_cups=(1, 2, 4, 8, 12),
                        material=("borosilicate glass", "stainless steel", "ceramic"),
                    ),
                ),
                Leaf(
                    "Grinders",
                    ("burr grinder", "hand grinder", "spice grinder", "coffee mill"),
                    ("conical", "stepless", "quiet", "precise"),
                    (
                        "40 grind settings from espresso to cold brew",
                        "steel burrs that stay sharp for years",
                        "a catch cup that does not spray grounds",
                        "a crank that folds away",
                    ),
                    (
                        "single-origin beans",
                        "travel brewing",
                        "espresso dialling",
                        "grinding spices for curry",
                    ),
                    (29, 349),
                    specs(
                        grind_settings=(18, 40, 60), burr=("conical steel", "flat steel", "ceramic")
                    ),
                ),
                Leaf(
                    "Coffee Beans & Tea",
                    (
                        "whole bean coffee",
                        "espresso blend",
                        "loose-leaf tea",
                        "green tea",
                        "decaf coffee",
                    ),
                    ("single-origin", "fair-trade", "small-batch", "organic", "dark-roast"),
                    (
                        "notes of dark chocolate and cherry",
                        "a bright citrus finish",
                        "beans roasted the week they ship",
                        "leaves picked in the spring flush",
                    ),
                    (
                        "espresso at home",
                        "the morning pour-over",
                        "an afternoon pick-me-up",
                        "gifting a coffee lover",
                    ),
                    (9, 39),
                    specs(
                        weight_g=(250, 500, 1000),
                        roast=("light", "medium", "dark"),
                        origin=("Ethiopia", "Colombia", "Guatemala", "Kenya", "Japan"),
                    ),
                ),
                Leaf(
                    "Travel Mugs & Flasks",
                    ("travel mug", "thermos", "tumbler", "vacuum flask", "commuter cup"),
                    ("insulated", "spill-proof", "one-handed", "double-walled"),
                    (
                        "a lid that locks shut in a bag",
                        "vacuum insulation that keeps tea hot for 12 hours",
                        "a sleeve that fits car cup holders",
                        "a ceramic coating that does not taste of metal",
                    ),
                    (
                        "the train commute",
                        "school runs",
                        "long drives",
                        "winter walks with hot cocoa",
                    ),
                    (14, 49),
                    specs(capacity_ml=(350, 470, 600, 1000), hot_hours=(6, 12, 24)),
                    ("stainless steel", "ceramic-lined steel"),
                ),
            ),
        ),
        Category(
            "Cookware",
            (
                Leaf(
                    "Pans & Skillets",
                    ("frying pan", "cast-iron skillet", "sauté pan", "wok", "grill pan"),
                    ("non-stick", "pre-seasoned", "tri-ply", "oven-safe"),
                    (
                        "a heavy base that spreads heat evenly",
                        "riveted handles that stay cool",
                        "induction compatibility",
                        "a ceramic coating free of PFAS",
                    ),
                    (
                        "weeknight stir-fries",
                        "searing steaks",
                        "Sunday pancakes",
                        "oven-to-table dishes",
                    ),
                    (25, 229),
                    specs(diameter_cm=(20, 24, 28, 30), induction=(True, False)),
                    ("cast iron", "carbon steel", "stainless steel"),
                ),
                Leaf(
                    "Pots & Dutch Ovens",
                    ("stockpot", "Dutch oven", "saucepan", "casserole"),
                    ("enamelled", "heavy-bottomed", "lidded", "stackable"),
                    (
                        "a tight lid that locks in moisture",
                        "enamel that cleans up easily",
                        "measurement marks inside",
                    ),
                    ("slow braises", "batch soups", "bread baking", "pasta for a crowd"),
                    (35, 349),
                    specs(capacity_l=(2, 3.5, 5.5, 8), oven_safe_c=(230, 260)),
                ),
                Leaf(
                    "Knives",
                    ("chef's knife", "santoku", "paring knife", "bread knife", "knife block set"),
                    ("forged", "razor-sharp", "balanced", "Damascus-pattern"),
                    (
                        "a full tang for balance",
                        "a blade hardened to 60 HRC",
                        "an ergonomic handle that does not slip",
                    ),
                    (
                        "prepping vegetables",
                        "carving the roast",
                        "sourdough loaves",
                        "learning knife skills",
                    ),
                    (19, 299),
                    specs(blade_cm=(9, 15, 20, 23), steel=("German X50CrMoV15", "VG-10", "AUS-8")),
                ),
            ),
        ),
        Category(
            "Dining & Storage",
            (
                Leaf(
                    "Tableware",
                    ("dinner plate set", "bowl set", "serving platter", "mug set", "salad bowl"),
                    ("stoneware", "hand-glazed", "stackable", "dishwasher-safe"),
                    (
                        "a reactive glaze that makes every piece a little different",
                        "chip-resistant rims",
                        "a rustic matte finish",
                    ),
                    ("dinner parties", "everyday meals", "a housewarming gift", "holiday tables"),
                    (19, 149),
                    specs(pieces=(4, 6, 12, 16), microwave_safe=(True, False)),
                ),
                Leaf(
                    "Food Storage",
                    (
                        "storage container set",
                        "glass jar",
                        "lunch box",
                        "bento box",
                        "vacuum canister",
                    ),
                    ("airtight", "leak-proof", "stackable", "glass"),
                    (
                        "snap-lock lids that stay sealed",
                        "bamboo lids",
                        "dividers for separate portions",
                    ),
                    ("meal prep", "pantry organisation", "school lunches", "keeping coffee fresh"),
                    (9, 69),
                    specs(pieces=(3, 5, 10, 18), freezer_safe=(True, False)),
                ),
            ),
        ),
    ),
)

ELECTRONICS = Department(
    "Electronics",
    description="Gadgets for listening, capturing and staying charged.",
    brand_roots=(
        "Voltra",
        "Nimbus",
        "Pixelon",
        "Sonique",
        "Arclight",
        "Hertz & Co",
        "Quanta",
        "Lumen",
    ),
    categories=(
        Category(
            "Audio",
            (
                Leaf(
                    "Headphones",
                    ("wireless headphones", "earbuds", "over-ear headphones", "sport earphones"),
                    ("noise-cancelling", "wireless", "sweat-proof", "studio"),
                    (
                        "active noise cancelling that hushes a plane cabin",
                        "30 hours of battery",
                        "multipoint pairing",
                        "memory-foam cushions",
                        "a transparency mode for street crossings",
                    ),
                    ("flights and trains", "workouts", "focus at the office", "late-night gaming"),
                    (29, 399),
                    specs(
                        battery_hours=(6, 24, 30, 40), bluetooth=("5.2", "5.3"), anc=(True, False)
                    ),
                ),
                Leaf(
                    "Speakers",
                    ("bluetooth speaker", "smart speaker", "soundbar", "bookshelf speakers"),
                    ("portable", "waterproof", "room-filling", "compact"),
                    (
                        "360-degree sound",
                        "a strap that clips to a pack",
                        "stereo pairing",
                        "deep bass from a small box",
                    ),
                    ("pool parties", "movie nights", "the kitchen radio", "camping playlists"),
                    (29, 499),
                    specs(
                        watts=(10, 20, 40, 120),
                        battery_hours=(0, 12, 20),
                        waterproof=("IP67", "none"),
                    ),
                ),
            ),
        ),
        Category(
            "Cameras",
            (
                Leaf(
                    "Action & Instant Cameras",
                    ("action camera", "instant camera", "vlogging camera", "dash cam"),
                    ("rugged", "4K", "stabilised", "retro"),
                    (
                        "electronic stabilisation for smooth footage",
                        "a waterproof body to 10 m",
                        "prints in 90 seconds",
                        "a flip screen for selfies",
                    ),
                    ("mountain-bike trails", "snorkelling", "weddings and parties", "road trips"),
                    (59, 449),
                    specs(resolution=("1080p", "4K", "5.3K"), waterproof_m=(0, 10, 33)),
                ),
                Leaf(
                    "Camera Accessories",
                    ("memory card", "tripod", "camera bag", "spare battery", "lens cleaning kit"),
                    ("high-speed", "compact", "weatherproof", "travel"),
                    (
                        "V30 write speeds for 4K video",
                        "legs that fold to 30 cm",
                        "padded dividers",
                        "a charge that lasts a full shoot",
                    ),
                    (
                        "travel photography",
                        "long hikes with a camera",
                        "timelapses",
                        "backup on the go",
                    ),
                    (9, 129),
                    specs(capacity_gb=(0, 64, 128, 256), weight_g=(30, 250, 900)),
                ),
            ),
        ),
        Category(
            "Power & Accessories",
            (
                Leaf(
                    "Chargers & Power Banks",
                    (
                        "power bank",
                        "wall charger",
                        "solar charger",
                        "charging cable",
                        "car charger",
                    ),
                    ("fast-charging", "slim", "solar", "braided", "multi-port"),
                    (
                        "65 W USB-C power delivery",
                        "enough charge for three phone top-ups",
                        "a panel that folds into a book",
                        "a cable rated for 20,000 bends",
                    ),
                    ("festival weekends", "business travel", "power cuts", "long-haul flights"),
                    (9, 129),
                    specs(
                        capacity_mah=(0, 5000, 10000, 20000, 27000),
                        ports=(1, 2, 3, 4),
                        output_w=(20, 45, 65, 100),
                    ),
                ),
                Leaf(
                    "Smart Home",
                    ("smart plug", "smart bulb", "video doorbell", "indoor camera", "thermostat"),
                    ("voice-controlled", "energy-saving", "easy-install", "app-connected"),
                    (
                        "schedules and scenes from the app",
                        "works with the major voice assistants",
                        "energy monitoring",
                        "motion alerts to your phone",
                    ),
                    (
                        "holiday lighting",
                        "heating that knows when you are home",
                        "keeping an eye on pets",
                        "rentals",
                    ),
                    (12, 249),
                    specs(protocol=("Wi-Fi", "Zigbee", "Matter"), power_w=(5, 9, 15)),
                ),
            ),
        ),
    ),
)

APPAREL = Department(
    "Clothing & Footwear",
    description="Layers and shoes for weather, work and play.",
    brand_roots=("Norda", "Fjellby", "Wren", "Juniper", "Marlowe", "Tarn", "Ostrava", "Beacon"),
    categories=(
        Category(
            "Outerwear",
            (
                Leaf(
                    "Rain Jackets",
                    ("rain jacket", "shell jacket", "poncho", "rain parka"),
                    ("waterproof", "breathable", "packable", "seam-sealed"),
                    (
                        "a three-layer membrane that breathes on climbs",
                        "pit zips for venting",
                        "a helmet-compatible hood",
                        "a pocket it stuffs into",
                    ),
                    (
                        "rainy commutes",
                        "Scottish hill days",
                        "travel in shoulder season",
                        "cycling in drizzle",
                    ),
                    (49, 349),
                    specs(waterproof_mm=(10000, 20000, 28000), weight_g=(180, 320, 480)),
                    (),
                    ("XS", "S", "M", "L", "XL"),
                ),
                Leaf(
                    "Insulated Jackets",
                    ("down jacket", "puffer", "insulated vest", "parka", "fleece jacket"),
                    ("warm", "lightweight", "recycled", "hooded"),
                    (
                        "responsibly sourced down",
                        "a baffle design without cold spots",
                        "a stuff sack included",
                        "a fleece lining in the pockets",
                    ),
                    (
                        "winter city walks",
                        "belays on cold crags",
                        "ski-lift rides",
                        "bonfire nights",
                    ),
                    (59, 399),
                    specs(fill_power=(550, 700, 800, 850), weight_g=(250, 400, 650)),
                    (),
                    ("XS", "S", "M", "L", "XL"),
                ),
            ),
        ),
        Category(
            "Footwear",
            (
                Leaf(
                    "Hiking Boots",
                    ("hiking boots", "trail shoes", "approach shoes", "walking boots"),
                    ("waterproof", "grippy", "supportive", "lightweight"),
                    (
                        "a lugged outsole that grips wet rock",
                        "a waterproof lining",
                        "a cushioned midsole for long miles",
                        "a toe cap that takes knocks",
                    ),
                    (
                        "rocky trails",
                        "muddy woodland walks",
                        "via ferrata",
                        "everyday wear in winter",
                    ),
                    (69, 259),
                    specs(drop_mm=(4, 8, 10), waterproof=(True, False), weight_g=(320, 480, 650)),
                    (),
                    ("38", "40", "42", "44", "46"),
                ),
                Leaf(
                    "Running Shoes",
                    ("running shoes", "trail runners", "racing flats", "road shoes"),
                    ("cushioned", "responsive", "stable", "breathable"),
                    (
                        "a foam that springs back mile after mile",
                        "a knit upper that moves with the foot",
                        "a carbon plate for race day",
                        "reflective details for dark mornings",
                    ),
                    ("marathon training", "park runs", "trail ultras", "gym sessions"),
                    (59, 249),
                    specs(drop_mm=(0, 6, 8, 10), weight_g=(190, 250, 310)),
                    (),
                    ("38", "40", "42", "44", "46"),
                ),
            ),
        ),
        Category(
            "Accessories",
            (
                Leaf(
                    "Hats & Gloves",
                    ("beanie", "sun hat", "gloves", "neck gaiter", "cap"),
                    ("merino", "UPF 50+", "touchscreen-friendly", "windproof"),
                    (
                        "merino that does not itch",
                        "sun protection rated UPF 50+",
                        "fingertips that work a phone",
                    ),
                    ("winter mornings", "beach days", "ski touring", "cycling"),
                    (12, 69),
                    specs(material=("merino wool", "recycled polyester", "cotton")),
                    (),
                    ("S/M", "L/XL"),
                ),
                Leaf(
                    "Socks",
                    ("hiking socks", "running socks", "ski socks", "liner socks"),
                    ("cushioned", "merino", "blister-resistant", "compression"),
                    (
                        "seamless toes",
                        "targeted cushioning under the heel",
                        "a lifetime guarantee against holes",
                    ),
                    ("long hikes", "race day", "cold offices", "ski weeks"),
                    (9, 29),
                    specs(pairs=(1, 2, 3), merino_percent=(0, 55, 70)),
                    (),
                    ("S", "M", "L"),
                ),
            ),
        ),
    ),
)

WELLNESS = Department(
    "Sports & Wellness",
    description="Equipment for training at home, in the gym and on the mat.",
    brand_roots=("Vigor", "Zenith", "Pulse", "Ember", "Strata", "Tempo", "Aria", "Core"),
    categories=(
        Category(
            "Fitness",
            (
                Leaf(
                    "Yoga & Pilates",
                    ("yoga mat", "yoga block", "pilates ring", "strap", "meditation cushion"),
                    ("non-slip", "eco", "extra-thick", "travel"),
                    (
                        "a natural rubber base that grips",
                        "alignment lines",
                        "cork that stays dry when you sweat",
                    ),
                    ("hot yoga", "morning stretches", "physio exercises", "studio classes"),
                    (12, 119),
                    specs(thickness_mm=(2, 4, 6, 10), material=("natural rubber", "cork", "TPE")),
                ),
                Leaf(
                    "Weights & Training",
                    ("dumbbells", "kettlebell", "resistance bands", "jump rope", "pull-up bar"),
                    ("adjustable", "cast-iron", "space-saving", "vinyl-coated"),
                    (
                        "a dial that changes weight in seconds",
                        "colour-coded resistance levels",
                        "a doorway mount without screws",
                    ),
                    ("home workouts", "garage gyms", "physio", "HIIT sessions"),
                    (9, 399),
                    specs(max_weight_kg=(0, 8, 16, 24, 32), levels=(1, 3, 5)),
                ),
            ),
        ),
        Category(
            "Cycling",
            (
                Leaf(
                    "Bike Accessories",
                    ("bike light set", "bike lock", "helmet", "saddle bag", "bike pump"),
                    ("bright", "MIPS-equipped", "compact", "theft-resistant"),
                    (
                        "a rear light visible from 1 km",
                        "a hardened steel shackle",
                        "MIPS rotational protection",
                        "a gauge that reads to 160 psi",
                    ),
                    ("city commuting", "night rides", "bikepacking", "road sportives"),
                    (12, 189),
                    specs(weight_g=(90, 280, 600, 1200), lumens=(0, 100, 400, 800)),
                ),
            ),
        ),
        Category(
            "Recovery",
            (
                Leaf(
                    "Massage & Recovery",
                    ("foam roller", "massage gun", "massage ball", "heat pad"),
                    ("deep-tissue", "quiet", "textured", "cordless"),
                    (
                        "five speed settings",
                        "a textured surface for trigger points",
                        "a battery for a week of sessions",
                    ),
                    ("post-run recovery", "desk-job shoulders", "sore calves", "warm-ups"),
                    (12, 249),
                    specs(speeds=(1, 3, 5), battery_hours=(0, 3, 6)),
                ),
            ),
        ),
    ),
)

DEPARTMENTS: tuple[Department, ...] = (OUTDOOR, KITCHEN, ELECTRONICS, APPAREL, WELLNESS)

SHOP_NAME_PARTS = (
    (
        "Northwind",
        "Bluebird",
        "Copper Fox",
        "Harbor & Hill",
        "Meadowlark",
        "Cobalt",
        "Pinecrest",
        "Wildfern",
        "Tidewater",
        "Lantern",
    ),
    (
        "Supply Co.",
        "Outfitters",
        "Goods",
        "Trading",
        "General Store",
        "Provisions",
        "Market",
        "Mercantile",
    ),
)

# Co-purchase bundles planted in every shop: (antecedent leaf, consequent leaf). The generator
# picks one product from each side per pair and adds the consequent to baskets that hold the
# antecedent with high probability.
BUNDLE_LEAVES: tuple[tuple[str, str], ...] = (
    ("Tents", "Sleeping Pads"),
    ("Sleeping Bags", "Sleeping Pads"),
    ("Coffee Makers", "Grinders"),
    ("Grinders", "Coffee Beans & Tea"),
    ("Action & Instant Cameras", "Camera Accessories"),
    ("Hiking Boots", "Socks"),
    ("Pans & Skillets", "Knives"),
    ("Yoga & Pilates", "Massage & Recovery"),
)

REVIEW_LINES = {
    5: (
        "Exactly what I hoped for.",
        "Best {noun} I have owned.",
        "Worth every penny.",
        "Flawless from the first use.",
        "Would buy again without thinking.",
    ),
    4: (
        "Very good, with one small niggle.",
        "Does the job well.",
        "Solid {noun}, happy overall.",
        "Great value for the price.",
    ),
    3: (
        "It is fine, nothing special.",
        "Mixed feelings about this {noun}.",
        "Average, does what it says.",
        "Okay, but I expected more.",
    ),
    2: ("Disappointed.", "Not as described.", "The {noun} let me down.", "Would not buy again."),
    1: ("Broke almost immediately.", "Returned it.", "Waste of money.", "Do not buy this {noun}."),
}

REVIEW_DETAILS = {
    5: (
        "{feature} works brilliantly.",
        "Used it for {use} and it was perfect.",
        "Quality feels premium and it arrived quickly.",
        "My partner wants one too.",
    ),
    4: (
        "{feature} is a nice touch.",
        "Took it on {use} with no problems.",
        "Packaging could be better, but the product is great.",
        "Slightly pricey, still recommended.",
    ),
    3: (
        "{feature} is okay but not as good as advertised.",
        "Fine for {use}, not much more.",
        "Shipping took longer than promised.",
        "Sizing runs a little off.",
    ),
    2: (
        "{feature} stopped working after a few weeks.",
        "Not suitable for {use} at all.",
        "Customer service was slow to answer.",
        "Cheaper materials than the photos suggest.",
    ),
    1: (
        "Arrived damaged and the replacement was no better.",
        "Useless for {use}.",
        "Fell apart on the second outing.",
        "Still waiting for my refund.",
    ),
}
