"""Text normalisation for entity resolution: accents, case, abbreviations and the same word across languages.

The same normalisation is applied to both sides of every comparison (registry names and free strings), so a
mapping only has to be consistent, not linguistically exact: "Univ.", "Universität" and "Universidad" all
become ``university``, "Centre" and "Zentrum" become ``center``, "Dept." becomes ``department``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# letters NFKD does not decompose
_SPECIAL = str.maketrans({
    "ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ł": "l", "Ł": "l", "đ": "d",
    "Đ": "d", "ı": "i", "þ": "th", "ð": "d", "’": "", "'": "", "`": "", "´": "", "‘": "", "&": " and ",
    "–": " ", "—": " ", "‐": " ",
})
_WORD = re.compile(r"[^\W_]+")

#: words that mean the same thing for matching; applied to every token on both sides
CANON: dict[str, str] = {}


def _canon(target: str, *words: str) -> None:
    for w in words:
        CANON[w] = target


_canon("university", "univ", "uni", "universitat", "universitaet", "universite", "universita", "universidad",
       "universidade", "universiteit", "universitet", "uniwersytet", "univerzita", "univerzitet", "universiti",
       "universitas", "universitatea", "universitatii", "universitetet", "universitaire", "universitario",
       "universitaria", "universitaria", "universitair", "universitats", "universitaets",
       "univ.", "unversity", "universty", "university's")
_canon("institute", "inst", "institut", "instituto", "istituto", "instytut", "institutet", "instituut", "institutes",
       "institutul", "intitute")
_canon("department", "dept", "dep", "depart", "departamento", "dipartimento", "departement", "departament",
       "departments")
_canon("center", "centre", "ctr", "cntr", "centro", "zentrum", "centrum", "centres", "centers", "centar")
_canon("hospital", "hosp", "hopital", "ospedale", "hospitalier", "hospitalar", "hospitals")
_canon("national", "natl", "nacional", "nazionale", "nationale", "nationaal", "narodowy")
_canon("technical", "technische", "technischen", "tecnico", "tecnica", "technicka", "technicky", "techn",
       "technicke", "techniczny", "teknik", "tekniske", "teknisk")
_canon("technology", "technologie", "tecnologia", "technologii", "tecnologico", "tecnologica", "technol",
       "technologies", "teknologi")
_canon("science", "sci", "sciences", "ciencias", "ciencia", "scienze", "wissenschaften", "sciencies")
_canon("engineering", "eng", "engn", "engg", "ingenieria", "ingegneria")
_canon("laboratory", "lab", "labs", "laboratories", "laboratorio", "laboratoire", "laboratorium", "labor")
_canon("school", "sch", "schools", "escuela", "escola", "scuola", "ecole", "schule")
_canon("college", "coll", "colleges", "colegio")
_canon("academy", "acad", "academia", "akademie", "akademia", "academie", "akademija", "accademia")
_canon("saint", "st", "sankt", "santa", "sao", "san", "sainte", "ste", "santo")
_canon("faculty", "fac", "facultad", "faculdade", "facolta", "fakultat", "faculte", "fakulteta", "facultatea")
_canon("medical", "medizinische", "medicale", "medica", "medico", "medicas", "medicos")
_canon("medicine", "medizin", "medicina", "medecine")
_canon("research", "forschung", "recherche", "ricerca", "investigacion", "investigacao", "pesquisa")
_canon("foundation", "fundacion", "fundacao", "fondazione", "stiftung", "fondation")
_canon("polytechnic", "politecnico", "polytechnique", "politecnica", "politechnika", "polytechnical",
       "polytech")
_canon("agricultural", "agriculture", "agronomic", "agrarian")
_canon("environmental", "environment")
_canon("federal", "federale")
_canon("clinic", "klinik", "clinica", "clinique", "clinics")
_canon("clinical", "klinische", "clinico")
_canon("society", "gesellschaft", "societe", "sociedad", "societa")
_canon("state", "estadual", "estatal", "statale")
_canon("general", "generale", "generales")
_canon("association", "associazione", "asociacion", "associacao")
_canon("ministry", "ministerio", "ministere", "ministero", "ministerium")
_canon("museum", "musee", "museo", "museu")
_canon("library", "biblioteca", "bibliotheque", "bibliothek")
_canon("observatory", "observatorio", "observatoire", "sternwarte")
_canon("council", "consejo", "consiglio", "conseil")
_canon("study", "studies", "estudios", "studi")
_canon("munich", "munchen", "muenchen")
_canon("cologne", "koln", "koeln")
_canon("vienna", "wien")
_canon("prague", "praha")
_canon("warsaw", "warszawa")
_canon("lisbon", "lisboa")
_canon("rome", "roma")
_canon("milan", "milano")
_canon("naples", "napoli")
_canon("turin", "torino")
_canon("florence", "firenze")
_canon("padua", "padova")
_canon("venice", "venezia")
_canon("geneva", "geneve", "genf")
_canon("zurich", "zuerich")
_canon("brussels", "bruxelles", "brussel")
_canon("copenhagen", "kobenhavn")
_canon("gothenburg", "goteborg")
_canon("athens", "athina")
_canon("moscow", "moskva")
_canon("beijing", "peking")
_canon("seville", "sevilla")

#: abbreviations that stand for several words ("TU München" = "Technische Universität München")
EXPAND: dict[str, tuple[str, ...]] = {"tu": ("technical", "university"), "th": ("technical", "university"),
                                      "fh": ("university", "applied", "science")}

#: words that carry no identity (articles, prepositions, "and" in several languages)
STOP: frozenset[str] = frozenset({
    "of", "the", "de", "la", "le", "les", "l", "del", "della", "delle", "dello", "degli", "dei", "di", "da", "do",
    "dos", "das", "der", "die", "des", "du", "zu", "zur", "zum", "fur", "fuer", "for", "and", "und", "et", "y",
    "e", "en", "in", "at", "a", "an", "von", "van", "voor", "i", "im", "am", "au", "aux", "al", "el", "lo", "los",
    "las", "na", "no", "nos", "nas", "og", "och", "ve", "ja", "dell", "d"})


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Lower case without accents ("Universität Zürich" -> "universitat zurich"); symbols kept as spaces."""
    t = text.translate(_SPECIAL)
    if not t.isascii():
        t = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
    return t.lower()


def raw_tokens(text: str) -> list[str]:
    """Folded word tokens, before synonyms and stop words."""
    return _WORD.findall(fold(text))


def tokens(text: str) -> list[str]:
    """Folded, canonical tokens without stop words: the unit of every name comparison.

    >>> tokens("Dept. of Civil Eng., Univ. of Porto")
    ['department', 'civil', 'engineering', 'university', 'porto']
    """
    out: list[str] = []
    for w in _WORD.findall(fold(text)):
        if w in EXPAND:
            out.extend(EXPAND[w])
            continue
        w = CANON.get(w, w)
        if w not in STOP:
            out.append(w)
    return out


def key(text: str) -> str:
    """The exact-match key of a name: its canonical tokens joined by single spaces."""
    return " ".join(tokens(text))


_ACRONYM = re.compile(r"^[A-Z][A-Za-z0-9&\-]{1,11}$")


def looks_like_acronym(text: str) -> bool:
    """A short word written mostly in capitals ("CNRS", "UCLouvain", "ETH") rather than a name."""
    t = text.strip().strip("()[]")
    if not _ACRONYM.match(t):
        return False
    caps = sum(1 for c in t if c.isupper())
    return caps >= 2 and caps * 2 >= len([c for c in t if c.isalpha()])


__all__ = ["CANON", "STOP", "fold", "key", "looks_like_acronym", "raw_tokens", "tokens"]
