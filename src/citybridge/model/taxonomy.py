"""Built-in taxonomies: the 17 SDGs with their 169 targets (and 252 indicator texts, used as tagging
knowledge), and the five urban-sustainability pathways. Users add their own schemes as ``theme`` records.

SDG texts: United Nations, via open-sdg/sdg-translations (MIT). "Source: United Nations".
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from citybridge.model.entities import Provenance, Theme, derive_id

SDG_SCHEME = "sdg"
PATHWAY_SCHEME = "pathway"


@dataclass(frozen=True)
class TaxonomyNode:
    scheme: str
    code: str
    name: str
    parent: str | None
    level: str
    labels: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    keywords: tuple[str, ...] = ()

    @property
    def theme_id(self) -> str:
        return theme_id(self.scheme, self.code)


def theme_id(scheme: str, code: str) -> str:
    """The stable record id of a taxonomy node, e.g. ``theme_id('sdg', '11')``."""
    return derive_id("theme", f"{scheme}:{code}")


def _normalise_lang(lang: str) -> str:
    return {"nb_NO": "nb", "zh-Hans": "zh"}.get(lang, lang)


@lru_cache(maxsize=1)
def sdg_texts() -> list[dict[str, str]]:
    """All rows of the UN SDG text table: lang, level (goal/target/indicator), code, field, text."""
    raw = resources.files("citybridge.model").joinpath("data/un-sdg-texts.csv.gz").read_bytes()
    with gzip.open(io.BytesIO(raw), "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["lang"] = _normalise_lang(row["lang"])
    return rows


@lru_cache(maxsize=1)
def sdg_nodes() -> tuple[TaxonomyNode, ...]:
    """17 goals and 169 targets, each with its labels in every language of the UN table."""
    labels: dict[tuple[str, str], dict[str, str]] = {}
    shorts: dict[str, dict[str, str]] = {}
    for row in sdg_texts():
        if row["level"] == "indicator":
            continue
        if row["field"] == "short":
            shorts.setdefault(row["code"], {})[row["lang"]] = row["text"]
        else:
            labels.setdefault((row["level"], row["code"]), {})[row["lang"]] = row["text"]
    nodes: list[TaxonomyNode] = []
    goal_codes = sorted({c for (lvl, c) in labels if lvl == "goal"}, key=int)
    for code in goal_codes:
        title = labels[("goal", code)]
        short = shorts.get(code, {})
        nodes.append(TaxonomyNode(
            scheme=SDG_SCHEME, code=code, name=f"SDG {code}: {short.get('en', title.get('en', code))}",
            parent=None, level="goal", labels=short or title, description=title.get("en"),
        ))
    targets = [c for (lvl, c) in labels if lvl == "target"]

    def _target_key(code: str) -> tuple[int, int, str]:
        goal, _, sub = code.partition(".")
        return (int(goal), int(sub) if sub.isdigit() else 100, sub)

    for code in sorted(targets, key=_target_key):
        title = labels[("target", code)]
        nodes.append(TaxonomyNode(
            scheme=SDG_SCHEME, code=code, name=f"Target {code}", parent=code.split(".")[0], level="target",
            labels=title, description=title.get("en"),
        ))
    return tuple(nodes)


PATHWAYS: tuple[TaxonomyNode, ...] = (
    TaxonomyNode(
        PATHWAY_SCHEME, "low-emission", "Low-emission development", None, "pathway",
        {"en": "Low-emission development"},
        "Climate mitigation and the shift to net-zero cities: renewable and efficient energy, clean and "
        "active mobility, energy-efficient buildings, low-carbon urban planning and greenhouse gas "
        "inventories.",
        ("climate mitigation", "greenhouse gas", "emissions", "net zero", "carbon neutral", "decarbonisation",
         "renewable energy", "energy efficiency", "solar", "wind power", "district heating", "heat pump",
         "electric vehicle", "public transport", "cycling", "walkability", "clean air", "air pollution",
         "building retrofit", "energy transition", "low-carbon", "fossil fuel", "co2",
         # es / fr / pt / de
         "emisiones", "energía renovable", "eficiencia energética", "transporte público", "bicicleta",
         "descarbonización", "émissions", "énergie renouvelable", "efficacité énergétique",
         "transports en commun", "vélo", "décarbonation", "emissões", "energia renovável",
         "eficiência energética", "descarbonização", "emissionen", "erneuerbare energie", "energieeffizienz",
         "nahverkehr", "radverkehr", "treibhausgas*", "klimaneutral*", "dekarbonisierung"),
    ),
    TaxonomyNode(
        PATHWAY_SCHEME, "nature-based", "Nature-based development", None, "pathway",
        {"en": "Nature-based development"},
        "Protecting, restoring and using urban nature and biodiversity: green and blue infrastructure, urban "
        "forests, parks, wetlands, ecosystem services and nature-based solutions.",
        ("nature-based solution", "biodiversity", "ecosystem", "green infrastructure", "blue infrastructure",
         "urban forest", "tree canopy", "green roof", "park", "wetland", "habitat", "species", "restoration",
         "urban agriculture", "green space", "pollinator", "river", "soil",
         "soluciones basadas en la naturaleza", "biodiversidad", "infraestructura verde", "parques",
         "humedales", "arbolado urbano", "solutions fondées sur la nature", "biodiversité",
         "infrastructure verte", "espaces verts", "zones humides", "soluções baseadas na natureza",
         "biodiversidade", "infraestrutura verde", "áreas verdes", "zonas húmidas", "naturbasierte lösungen",
         "biodiversität", "grüne infrastruktur", "grünflächen", "stadtbäume", "feuchtgebiete"),
    ),
    TaxonomyNode(
        PATHWAY_SCHEME, "circular", "Circular development", None, "pathway",
        {"en": "Circular development"},
        "Moving from linear to circular production and consumption: waste prevention, reuse, recycling, "
        "sustainable procurement, resource efficiency and the sharing economy.",
        ("circular economy", "waste", "recycling", "reuse", "repair", "compost", "landfill", "plastic",
         "food waste", "procurement", "resource efficiency", "material", "consumption", "sharing economy",
         "extended producer responsibility", "wastewater reuse", "by-product",
         "economía circular", "residuos", "reciclaje", "reutilización", "compostaje", "économie circulaire",
         "déchets", "recyclage", "réemploi", "compostage", "economia circular", "resíduos", "reciclagem",
         "reutilização", "compostagem", "kreislaufwirtschaft", "abfall", "abfälle", "recycling",
         "wiederverwendung", "kompost*"),
    ),
    TaxonomyNode(
        PATHWAY_SCHEME, "resilient", "Resilient development", None, "pathway",
        {"en": "Resilient development"},
        "Anticipating, preparing for and recovering from shocks and stresses: climate adaptation, disaster "
        "risk reduction, heat, floods, droughts, water security and resilient infrastructure.",
        ("climate adaptation", "resilience", "disaster risk", "flood", "drought", "heatwave", "urban heat",
         "heat island", "sea level rise", "storm", "early warning", "emergency", "vulnerability", "hazard",
         "water security", "stormwater", "landslide", "wildfire", "recovery",
         "adaptación climática", "resiliencia", "inundaciones", "inundación", "sequía", "ola de calor",
         "riesgo de desastres", "adaptation au changement climatique", "résilience", "inondation*",
         "sécheresse", "canicule", "risque de catastrophe", "adaptação climática", "resiliência",
         "inundaç*", "enchente*", "seca", "onda de calor", "risco de desastres", "klimaanpassung",
         "resilienz", "hochwasser", "überschwemmung*", "dürre", "hitzewelle", "katastrophenvorsorge"),
    ),
    TaxonomyNode(
        PATHWAY_SCHEME, "equitable", "Equitable and people-centred development", None, "pathway",
        {"en": "Equitable and people-centred development"},
        "Inclusive, just and healthy cities: poverty reduction, affordable housing, access to basic "
        "services, health, education, gender equality, participation and social inclusion.",
        ("equity", "inclusion", "poverty", "informal settlement", "slum", "affordable housing", "gender",
         "women", "participation", "health", "education", "social justice", "vulnerable groups", "migrants",
         "accessibility", "basic services", "livelihood", "employment", "just transition", "community",
         "equidad", "inclusión", "pobreza", "asentamientos informales", "vivienda asequible", "género",
         "participación ciudadana", "équité", "inclusion sociale", "pauvreté", "logement abordable",
         "quartiers informels", "participation citoyenne", "equidade", "inclusão", "pobreza",
         "habitação acessível", "participação", "favela*", "gerechtigkeit", "inklusion", "armut",
         "bezahlbarer wohnraum", "bürgerbeteiligung", "teilhabe"),
    ),
)


def builtin_nodes() -> tuple[TaxonomyNode, ...]:
    return sdg_nodes() + PATHWAYS


def node_to_theme(node: TaxonomyNode) -> Theme:
    """The ``theme`` record of a built-in taxonomy node."""
    return Theme(
        id=node.theme_id,
        name=node.name,
        description=node.description,
        scheme=node.scheme,
        code=node.code,
        parent=node.parent,
        level=node.level,
        labels=dict(node.labels),
        keywords=list(node.keywords),
        external_ids={node.scheme: node.code},
        provenance=[Provenance(
            source="citybridge:taxonomy",
            record_id=f"{node.scheme}:{node.code}",
            licence="MIT; Source: United Nations" if node.scheme == SDG_SCHEME else "Apache-2.0",
        )],
    )


def builtin_themes() -> list[Theme]:
    return [node_to_theme(n) for n in builtin_nodes()]
