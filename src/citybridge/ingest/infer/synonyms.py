"""The usual names of each field across languages and portals, and of each type value.

Phrases are written as people write headers; :func:`normalize` turns both sides into the same form
(lower case, no accents, camelCase and punctuation split into words), so ``startDate``, ``Start date`` and
``start_date`` are one phrase. A phrase in ``CONTAINS`` may also match inside a longer header such as a
survey question (``Summarise the objective of the programme``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from citybridge.ingest.values import fold

WEB = "@web"  # the kind's web address field: website, homepage or url

#: field -> header phrases (any kind that has the field)
FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "title", "titre", "título", "nome", "nombre", "naam", "titel", "titolo", "label",
             "denomination", "denominación", "denominação", "designation", "legal name", "official name",
             "full name", "project title", "project name", "programme name", "program name", "call title",
             "topic title", "nom"),
    "description": ("description", "descripción", "descrição", "beschreibung", "beschrijving", "descrizione",
                    "abstract", "résumé", "resumen", "resumo", "summary", "objective", "objectives", "objetivo",
                    "objetivos", "objectif", "objectifs", "ziel", "ziele", "doel", "obiettivo", "obiettivi", "aim",
                    "aims", "purpose", "scope", "about", "overview", "profile", "bio", "biography", "details",
                    "synopsis", "teaser", "short description", "project description", "project summary",
                    "project objective"),
    "acronym": ("acronym", "acronyms", "abbreviation", "abbrev", "short name", "shortname", "sigla", "sigle",
                "acrónimo", "acronyme", "akronym", "afkorting", "project acronym"),
    "aliases": ("aliases", "alias", "other names", "alternative names", "alternative name", "also known as",
                "aka", "alt names", "former names", "variants"),
    "subtype": ("subtype", "type", "types", "category", "categoría", "catégorie", "categoria", "kategorie", "tipo",
                "type of organisation", "type of organization", "organisation type", "organization type",
                "org type", "institution type", "entity type", "activity type", "legal type", "project type",
                "document type", "doc type", "publication type", "opportunity type", "call type", "place type",
                "tipo de organización", "tipo de organização", "type de document"),
    WEB: ("website", "web site", "web", "url", "homepage", "home page", "site", "site web", "sitio web", "sitio",
          "página web", "webpage", "web page", "link", "links", "enlace", "lien", "project url", "project website",
          "webseite", "internet", "www", "link to website"),
    "address": ("address", "adresse", "dirección", "endereço", "morada", "street", "street address", "calle", "rue",
                "straße", "strasse", "postal address", "indirizzo", "adres"),
    "city": ("city", "ciudad", "ville", "cidade", "stadt", "town", "municipality", "municipio", "município",
             "commune", "comune", "gemeente", "localidad", "locality", "localité", "città", "plaats", "city name",
             "town city"),
    "region": ("region", "región", "região", "state", "province", "provincia", "província", "bundesland",
               "county", "département", "regione", "provincie", "admin1", "admin name", "admin1 name",
               "subdivision"),
    "country": ("country", "country code", "countrycode", "country iso", "iso country", "iso2", "iso 2",
                "iso alpha 2", "iso a2", "iso3166", "pays", "país", "land", "nation", "staat", "paese",
                "coordinator country", "country of the organisation", "country name"),
    "lat": ("lat", "latitude", "breitengrad", "latitud", "lat dd", "y coord"),
    "lon": ("lon", "lng", "long", "longitude", "längengrad", "longitud", "lon dd", "x coord"),
    "established": ("established", "founded", "foundation year", "year founded", "year established",
                    "founding year", "creation year", "year of establishment", "date of establishment",
                    "fundación", "año de fundación", "ano de fundação", "fundação", "ano de criação",
                    "año de creación", "founded in", "gegründet", "gründungsjahr", "année de création"),
    "status": ("status", "statut", "stato", "project status", "estatus", "situação"),
    "given_name": ("given name", "first name", "firstname", "forename", "prénom", "vorname", "primeiro nome",
                   "voornaam", "nombre de pila"),
    "family_name": ("family name", "last name", "lastname", "surname", "apellido", "apellidos", "nachname",
                    "achternaam", "cognome", "sobrenome", "apelidos"),
    "email": ("email", "e mail", "mail", "email address", "e mail address", "correo", "correo electrónico",
              "courriel", "adresse e mail", "contact email", "e mail adresse", "endereço de email"),
    "start_date": ("start date", "start", "begin", "beginning", "date start", "date début", "date de début",
                   "début", "fecha inicio", "fecha de inicio", "inicio", "data início", "data de início", "beginn",
                   "startdatum", "anfang", "data di inizio", "inizio", "begindatum", "from date", "date from",
                   "valid from", "project start", "start of project"),
    "end_date": ("end date", "end", "finish", "date end", "date fin", "date de fin", "fin", "fecha fin",
                 "fecha de fin", "fecha final", "data fim", "data de fim", "término", "data de término", "ende",
                 "enddatum", "data di fine", "einddatum", "to date", "date to", "valid until", "until",
                 "project end", "end of project", "completion date"),
    "total_cost": ("total cost", "cost", "costs", "budget", "total budget", "overall budget", "project budget",
                   "coût total", "coste total", "costo total", "custo total", "presupuesto", "orçamento",
                   "gesamtkosten", "kosten", "totale kosten", "costo totale"),
    "funding": ("funding", "ec max contribution", "ec contribution", "eu contribution", "max contribution",
                "contribution", "grant", "grant amount", "funding amount", "amount granted", "requested funding",
                "eu funding", "subvención", "financiación", "financiamento", "fördersumme", "förderung"),
    "currency": ("currency", "moneda", "devise", "moeda", "währung", "valuta"),
    "programme": ("programme", "program", "programa", "programm", "programma", "framework programme",
                  "framework program", "funding programme", "funding program"),
    "body": ("body", "text", "full text", "fulltext", "content", "contenu", "contenido", "conteúdo", "inhalt",
             "texto", "texte", "testo"),
    "published": ("published", "publication date", "date published", "date of publication", "pub date", "date",
                  "fecha", "datum", "fecha de publicación", "data de publicação", "date de publication",
                  "release date", "issued"),
    "year": ("year", "publication year", "pub year", "año", "ano", "année", "jahr", "jaar", "anno"),
    "authors": ("authors", "author", "autores", "autor", "auteurs", "auteur", "autoren", "creators", "creator",
                "autori", "written by"),
    "venue": ("venue", "journal", "source title", "journal title", "conference", "revista", "periodical",
              "container title"),
    "publisher": ("publisher", "editorial", "éditeur", "editora", "verlag", "uitgever", "editore"),
    "pages": ("pages", "page count", "number of pages", "páginas", "seiten"),
    "opens": ("opens", "opening date", "open date", "opening", "start of submission", "fecha de apertura",
              "date d'ouverture", "planned opening date", "submission opens"),
    "deadline": ("deadline", "deadlines", "closing date", "due date", "submission deadline", "deadline date",
                 "fecha límite", "fecha de cierre", "date limite", "date de clôture", "prazo", "data limite",
                 "frist", "einreichungsfrist", "scadenza", "sluitingsdatum"),
    "funder": ("funder", "funding body", "funding agency", "funding organisation", "funding organization",
               "donor", "sponsor", "financiador", "bailleur", "geldgeber", "managing authority",
               "administering authority", "authority"),
    "amount": ("amount", "budget", "total budget", "call budget", "amount available", "funding available",
               "monto", "montant", "montante", "betrag", "importo", "bedrag"),
    "eligibility": ("eligibility", "eligible", "eligible applicants", "who can apply", "eligibility criteria",
                    "elegibilidad", "éligibilité", "elegibilidade", "target group", "beneficiaries"),
    "admin1": ("admin name", "admin1", "admin1 name", "region", "state", "province", "provincia", "estado",
               "bundesland", "county", "département", "regione", "subdivision"),
    "population": ("population", "pop", "inhabitants", "habitantes", "población", "população", "einwohner",
                   "inwoners", "abitanti"),
    "un_region": ("un region", "continent", "world region"),
    "capital": ("capital", "is capital", "capital status"),
    "ascii_name": ("ascii name", "city ascii", "name ascii", "asciiname"),
    "languages": ("language", "languages", "lang", "idioma", "idiomas", "langue", "langues", "lingua", "sprache",
                  "taal"),
    "tags": ("tags", "tag", "keywords", "keyword", "key words", "subjects", "subject", "palabras clave",
             "mots clés", "palavras chave", "schlagwörter", "trefwoorden", "parole chiave"),
    "id": ("id", "identifier", "record id"),
    # external identifiers
    "external_ids.ror": ("ror", "ror id", "ror identifier", "ror url"),
    "external_ids.orcid": ("orcid", "orcid id", "orcid identifier", "orcid ids"),
    "external_ids.doi": ("doi", "doi url", "digital object identifier"),
    "external_ids.geonames": ("geonames", "geonames id", "geonameid", "geoname id", "geonames city id"),
    "external_ids.wikidata": ("wikidata", "wikidata id", "qid", "wikidata qid"),
    "external_ids.pic": ("pic", "pic number", "participant identification code", "participant pic",
                         "organisation pic", "organization pic"),
    "external_ids.openalex": ("openalex", "openalex id"),
    "external_ids.isni": ("isni", "isni id"),
    "external_ids.grid": ("grid", "grid id"),
    "external_ids.fundref": ("fundref", "fundref id", "crossref funder id"),
    "external_ids.cordis": ("cordis", "cordis id", "rcn"),
}

#: phrases that also match inside a longer header (a question, ``coordinatorCountry``, ``projectUrl``)
CONTAINS: dict[str, tuple[str, ...]] = {
    "name": ("ror display", "display name"),
    "acronym": ("acronym",),
    "aliases": ("alias", "aliases"),
    "description": ("description", "abstract", "objective", "objectives", "summary", "resumen", "resumo",
                    "objetivo", "objectif", "aim", "purpose", "overview"),
    WEB: ("website", "url", "homepage", "web page", "webpage", "link"),
    "country": ("country", "pays", "país"),
    "email": ("email", "e mail"),
    "start_date": ("start date",),
    "end_date": ("end date",),
    "total_cost": ("total cost", "budget"),
    "funding": ("contribution", "grant amount", "funding amount"),
    "programme": ("programme",),
    "deadline": ("deadline",),
    "funder": ("funder", "authority"),
    "amount": ("amount", "budget"),
    "eligibility": ("eligibility", "eligible"),
    "population": ("population",),
    "external_ids.ror": ("ror",),
    "external_ids.orcid": ("orcid",),
    "external_ids.doi": ("doi",),
    "external_ids.geonames": ("geonames", "geonameid"),
    "external_ids.pic": ("pic",),
    "external_ids.wikidata": ("wikidata",),
    "external_ids.grid": ("grid",),
    "external_ids.isni": ("isni",),
    "external_ids.fundref": ("fundref",),
    "lat": ("lat", "latitude"),
    "lon": ("lng", "lon", "longitude"),
    "city": ("city",),
}

#: per kind: phrases that mean something else for that kind (a place's ``city`` is its name)
KIND_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "organization": {"name": ("organisation", "organization", "organisation name", "organization name",
                              "org name", "institution", "institution name", "entity", "entity name", "company",
                              "company name", "member", "member name", "razón social", "razão social")},
    "person": {"name": ("full name", "person", "person name", "expert", "researcher", "contact name",
                        "nombre completo", "nom complet", "nome completo"),
               "given_name": ("nombre", "nome"), "family_name": ("nom",)},
    "place": {"name": ("city", "ciudad", "ville", "cidade", "stadt", "town", "municipality", "municipio",
                       "município", "locality", "localidad", "comune", "gemeente", "place", "place name", "lugar",
                       "city name")},
}
#: phrases a kind must not take (a person's ``nome``/``nombre`` is the given name, not the full name)
KIND_EXCLUDE: dict[str, dict[str, tuple[str, ...]]] = {
    "person": {"name": ("nombre", "nome", "nom")},
    "place": {"city": ("city", "ciudad", "ville", "cidade", "stadt", "town", "municipality", "municipio",
                       "município", "locality", "localidad", "comune", "gemeente", "city name"),
              "region": ("region", "state", "province", "provincia", "bundesland", "county", "département",
                         "regione", "admin1", "admin name", "admin1 name", "subdivision")},
}

#: type values as people write them -> the model's value (per subtype field)
TYPE_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "org_type": {
        "local_government": ("city", "city council", "city hall", "municipality", "municipal", "local government",
                             "local authority", "council", "town council", "town hall", "county council",
                             "municipio", "prefeitura", "ayuntamiento", "mairie", "commune", "gemeente", "comune",
                             "kommune", "city government", "local administration", "metropolitan area",
                             "câmara municipal", "concello", "ajuntament", "gemeinde", "stadtverwaltung",
                             "municipalité", "ville"),
        "university": ("university", "universidad", "universidade", "université", "universität", "università",
                       "hes", "higher education", "higher education institution", "education", "college",
                       "academia"),
        "research_institute": ("research institute", "research centre", "research center", "research organisation",
                               "research organization", "rec", "institute", "facility", "archive", "laboratory",
                               "research"),
        "ngo": ("ngo", "non profit", "nonprofit", "non governmental organisation", "non governmental organization",
                "association", "foundation", "charity", "ong", "civil society", "civil society organisation",
                "associação", "asociación", "associazione", "verein", "fundação", "fundación", "stiftung",
                "fondazione", "stichting", "vereniging"),
        "company": ("company", "business", "private company", "sme", "enterprise", "prc", "corporation", "firm",
                    "empresa", "entreprise", "unternehmen", "private", "industry", "private sector"),
        "funder": ("funder", "funding agency", "funding body", "donor"),
        "network": ("network", "city network", "alliance"),
        "network_office": ("network office", "regional office", "office"),
        "other": ("other", "oth", "pub", "public body", "government", "healthcare", "public"),
    },
    "doc_type": {
        "paper": ("paper", "article", "journal article", "conference paper", "preprint"),
        "report": ("report", "technical report", "deliverable", "white paper"),
        "guideline": ("guideline", "guidelines", "guidance", "guide", "toolkit"),
        "manual": ("manual", "handbook"),
        "policy": ("policy", "policy brief", "strategy", "plan", "action plan"),
        "case_study": ("case study", "case studies", "good practice", "best practice"),
        "news": ("news", "press release", "news article", "article de presse"),
        "dataset": ("dataset", "data set", "data"),
        "other": ("other",),
    },
    "opp_type": {
        "funding_call": ("funding call", "funding", "grant", "grants", "call for proposals", "funding programme",
                         "funding opportunity", "call", "loan", "subsidy"),
        "research_call": ("research call", "research grant", "research funding"),
        "event": ("event", "conference", "webinar", "workshop", "seminar", "meeting"),
        "fellowship": ("fellowship", "scholarship", "bursary"),
        "other": ("other",),
    },
    "project_type": {"project": ("project", "projet", "proyecto", "projeto"),
                     "programme": ("programme", "program", "programa")},
    "place_type": {"city": ("city", "town", "municipality", "village"),
                   "region": ("region", "state", "province", "county"), "country": ("country", "nation")},
}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=4096)
def normalize(text: str) -> tuple[str, ...]:
    """A header as words: ``'startDate'`` -> ``('start', 'date')``, ``'País '`` -> ``('pais',)``.

    >>> normalize("ecMaxContribution"), normalize("E-mail"), normalize("addresses[0].city")
    (('ec', 'max', 'contribution'), ('e', 'mail'), ('addresses', '0', 'city'))
    """
    spaced = _CAMEL.sub(" ", text)
    return tuple(w for w in _NON_WORD.split(fold(spaced)) if w)


@lru_cache(maxsize=1)
def type_value_index() -> dict[str, dict[tuple[str, ...], str]]:
    """Per subtype field: normalised value phrase -> model value (the model values themselves included)."""
    out: dict[str, dict[tuple[str, ...], str]] = {}
    for fld, table in TYPE_VALUES.items():
        index: dict[tuple[str, ...], str] = {}
        for value, phrases in table.items():
            index[normalize(value)] = value
            for phrase in phrases:
                index.setdefault(normalize(phrase), value)
        out[fld] = index
    return out


def type_value(field: str, value: str) -> str | None:
    """The model value a written type stands for (``'City council'`` -> ``'local_government'``), or None;
    for a list (``'Education; Healthcare'``) the first part that stands for one.

    >>> type_value("org_type", "Ayuntamiento"), type_value("org_type", "Education; Facility")
    ('local_government', 'university')
    """
    index = type_value_index().get(field, {})
    found = index.get(normalize(value))
    if found is None and re.search(r"[;,|]", value):
        found = next((index[k] for part in re.split(r"[;,|]", value) if (k := normalize(part)) in index), None)
    return found


__all__ = ["CONTAINS", "FIELDS", "KIND_EXCLUDE", "KIND_FIELDS", "TYPE_VALUES", "WEB", "normalize", "type_value",
           "type_value_index"]
