"""Where demo customers live: countries, their regions and cities, and a Faker locale each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Country:
    code: str
    locale: str
    regions: dict[str, tuple[str, ...]]


COUNTRIES: dict[str, Country] = {
    c.code: c
    for c in (
        Country(
            "US",
            "en_US",
            {
                "California": ("Los Angeles", "San Francisco", "San Diego", "Sacramento"),
                "Texas": ("Austin", "Houston", "Dallas", "San Antonio"),
                "New York": ("New York", "Buffalo", "Rochester"),
                "Washington": ("Seattle", "Spokane", "Tacoma"),
                "Colorado": ("Denver", "Boulder", "Colorado Springs"),
                "Illinois": ("Chicago", "Springfield"),
                "Florida": ("Miami", "Orlando", "Tampa"),
                "Oregon": ("Portland", "Bend", "Eugene"),
                "Massachusetts": ("Boston", "Cambridge", "Worcester"),
            },
        ),
        Country(
            "CA",
            "en_CA",
            {
                "Ontario": ("Toronto", "Ottawa", "Hamilton"),
                "British Columbia": ("Vancouver", "Victoria", "Whistler"),
                "Quebec": ("Montreal", "Quebec City"),
                "Alberta": ("Calgary", "Edmonton", "Banff"),
            },
        ),
        Country(
            "GB",
            "en_GB",
            {
                "England": ("London", "Manchester", "Bristol", "Leeds", "Brighton"),
                "Scotland": ("Edinburgh", "Glasgow", "Inverness"),
                "Wales": ("Cardiff", "Swansea"),
            },
        ),
        Country(
            "DE",
            "de_DE",
            {
                "Bavaria": ("Munich", "Nuremberg", "Augsburg"),
                "Berlin": ("Berlin",),
                "Hamburg": ("Hamburg",),
                "North Rhine-Westphalia": ("Cologne", "Düsseldorf", "Dortmund"),
            },
        ),
        Country(
            "FR",
            "fr_FR",
            {
                "Île-de-France": ("Paris", "Versailles"),
                "Auvergne-Rhône-Alpes": ("Lyon", "Grenoble", "Annecy"),
                "Provence-Alpes-Côte d'Azur": ("Marseille", "Nice"),
            },
        ),
        Country(
            "AU",
            "en_AU",
            {
                "New South Wales": ("Sydney", "Newcastle"),
                "Victoria": ("Melbourne", "Geelong"),
                "Queensland": ("Brisbane", "Gold Coast"),
            },
        ),
    )
}

# Each demo shop sells mostly in one market: (country code, weight) pairs.
MARKETS: tuple[tuple[tuple[str, float], ...], ...] = (
    (("US", 0.78), ("CA", 0.14), ("GB", 0.05), ("AU", 0.03)),
    (("GB", 0.55), ("DE", 0.2), ("FR", 0.17), ("US", 0.08)),
    (("US", 0.5), ("CA", 0.2), ("AU", 0.15), ("GB", 0.15)),
    (("DE", 0.5), ("FR", 0.25), ("GB", 0.15), ("US", 0.1)),
)
