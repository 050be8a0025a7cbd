"""The words around a name that tell the place recogniser whether, and which kind of, place it names.

Pure data (word sets and patterns, matched against accent-folded text); the rules that use them are in
:mod:`citybridge.enrich.places`.
"""

from __future__ import annotations

import re

from citybridge.enrich.gazetteer import fold
from citybridge.enrich.stopwords import stopwords


def words(text: str) -> frozenset[str]:
    return frozenset(fold(w) for w in text.split())  # matched against the accent-folded text


# Words that may follow a place name inside a longer name that still names the place ("Tokyo University").
ORG_FOLLOWERS = words(
    "University College Institute Hospital Medical School Center Centre Clinic Faculty Campus Airport "
    "City Province State Region County District Municipality Metropolitan Metro Area Prefecture Oblast "
    "Governorate Department Port Harbour Harbor Bay Downtown Cedex "
    # the city's own bodies: "New York City Council", "Greater Manchester Combined Authority"
    "Council Government Corporation Committee Authority Administration Assembly Hall Mayor Municipal Police "
    "Agency Office Utility Utilities"
)
# Words that join the parts of an institution's name ("Cape Town Water and Sanitation Department").
ORG_JOINERS = frozenset({"and", "of", "for", "&", "'", "s"})
# "University of Naples Parthenope": the place after an institution's "of" is a place whatever follows it.
ORG_OF = re.compile(
    r"\b(?:University|Universit[ea]|Universidad|Universidade|Universitat|College|Institute|Hospital|"
    r"Municipality|Province|Republic)\s+(?:of|de|di|do|da|del|des|du)\s+$"
)
# A hyphenated word part after a place name that keeps the place reading ("Paris-based", "city-wide").
HYPHEN_OK = frozenset({"based", "born", "bound", "area", "region", "wide", "centred", "centered", "led", "level",
                        "owned", "registered", "headquartered"})
# Words right before a name that say it is a place ("in Kalundborg", "the municipality of Växjö") and lower-case
# nouns right after that do ("the Zaandam waterfront"): support for a small place when nothing else does.
LOCATIVE_BEFORE = re.compile(
    r"(?:\b(?:in|at|near|from|around|outside|across|throughout|within|inside|towards?)|"
    r"\b(?:city|town|village|municipality|commune|borough|suburb|residents|inhabitants|mayor)\s+of)\s+$",
    re.IGNORECASE,
)
PLACE_NOUNS_AFTER = frozenset({
    "waterfront", "district", "districts", "neighbourhood", "neighbourhoods", "neighborhood", "neighborhoods",
    "harbour", "harbor", "municipality", "suburbs", "city", "town", "residents", "inhabitants", "metropolitan",
    "council", "downtown", "outskirts", "riverfront",
})
REGION_FOLLOWERS = words("Province State Region County District Prefecture Oblast Governorate Department")
REGION_CUES = re.compile(
    r"(?:\b(?:state|province|region|county|prefecture|oblast|estado|provincia|província|région|regione|"
    r"departamento|département|Land|Bundesland)\s+(?:of|de|do|da|di|del|du)?\s*)$",
    re.IGNORECASE,
)
# Capitalised words that may stand right before a place name without making it part of another name.
PREV_OK = words(
    "In At From To For Of And Or The A An On By With Across Between Near Outside Inside Throughout Around "
    "Within Like Unlike Both Including Via Across Than As Greater Metro Metropolitan Central Downtown Inner "
    "Outer Northern Southern Eastern Western North South East West Northeast Northwest Southeast Southwest "
    "Upper Lower Rural Urban Coastal Mainland Continental Grand Gran En Em Na No Dans Au Aux Im Aus Nach Von "
    "Bei Para Por Con Da Di Del La Le Les El Los Las Het De Van Und Et Y E Ed Über Zu Durch Nahe "
    # place-type and institution words that precede a name, capitalised in German and in titles
    "City Town Municipality Province State Stadt Hauptstadt Region Provinz Land Kreis Landkreis Gemeinde "
    "Bezirk Raum Großraum Metropolregion Kanton Canton Cantón Ciudad Provincia Estado Departamento Región "
    "Comuna Municipio Ville Cidade Município Região Prefeitura Ayuntamiento Mairie Capital Universität "
    "Universidad Universidade Université "
    "Università Universiteit Hochschule"
)
TITLES = words("Mr Mrs Ms Dr Prof Professor Sir Lady Lord President King Queen Saint San Santa")
EPONYM_NOUNS = words(
    "disease syndrome law sign test method model equation principle theorem criteria criterion scale "
    "formula effect reaction rule ratio index procedure technique operation classification score"
)
SENTENCE_PUNCT = frozenset(".!?:;•")
FUNCTION_WORDS = stopwords("en")
NATIONAL = re.compile(r"\b(?:national|nationwide|nation|country|countries)\b", re.IGNORECASE)
QUAL_GAP = re.compile(r"^\s*(?:,|\(|\s-\s|–)\s*(?:[A-Z]{1,3}\.?\s*,\s*)?$")
CODE_AFTER = re.compile(r"^\s*,\s*([A-Z]{2})\b(?!\.\w)")
CALENDAR = words(
    "January February March April May June July August September October November December Monday Tuesday "
    "Wednesday Thursday Friday Saturday Sunday"
)
YEAR_AFTER = re.compile(r"^\s*(?:,\s*|\(\s*)?(?:1[89]|20)\d\d\b")
