"""A small urban-sustainability glossary (Spanish, Portuguese, French, German -> English) that reads a challenge
written in one of those languages as English query terms, so the lexical channel of "Find help" reaches the
English records of the knowledge pack (CORDIS projects, EU calls, Commission news) without an embedder.

Written for citybridge from general domain vocabulary (the pathways' themes: energy, buildings, heat and
floods, nature, mobility, water, waste, governance), not from any evaluation set; it is a lexical bridge, not
a translator: words it does not know are left out, and the understood text is shown to the user ("read as").
A term ending in ``*`` matches any word it begins; matching is case- and accent-insensitive, on whole words,
longest phrase first.

>>> read_as_english("descarbonizar la calefacción urbana")
['decarbonisation', 'district heating']
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: (English terms, terms in es / pt / fr / de). The English side is what the search runs on.
GLOSSARY: tuple[tuple[str, tuple[str, ...]], ...] = (
    # --- energy supply
    ("district heating heat network", (
        "calefaccion urbana", "calefaccion de distrito", "calefaccion centralizada", "red de calor", "redes de calor",
        "red de calefaccion", "redes de calefaccion", "aquecimento urbano", "aquecimento distrital", "rede de calor",
        "redes de calor", "reseau de chaleur", "reseaux de chaleur", "chauffage urbain", "fernwarme*", "warmenetz*",
        "nahwarme*")),
    ("heating", ("calefaccion", "aquecimento", "chauffage", "heizung*", "warmeversorgung", "beheizung")),
    ("heat supply", ("suministro de calor", "abastecimiento de calor", "fornecimento de calor",
                     "approvisionnement en chaleur", "warmeversorgung")),
    ("heat pumps", ("bomba de calor", "bombas de calor", "pompe a chaleur", "pompes a chaleur", "warmepumpe*")),
    ("waste heat", ("calor residual", "calor excedente", "chaleur fatale", "chaleur de recuperation", "abwarme")),
    ("geothermal", ("geotermia", "geotermic*", "geothermie", "geothermique*", "geotherm*", "erdwarme")),
    ("biomass", ("biomasa", "biomassa", "biomasse")),
    ("biogas", ("biogas", "biogaz")),
    ("solar photovoltaic", ("fotovoltaic*", "photovoltaique*", "photovoltaik", "paneles solares", "paineis solares",
                            "panneaux solaires", "solaranlage*", "solardach*")),
    ("solar energy", ("energia solar", "energie solaire", "solarenergie", "solarstrom", "solar", "solaire*",
                      "solares")),
    ("self-consumption prosumers", ("autoconsumo", "autoconsommation", "eigenverbrauch", "prosumidor*",
                                    "prosumer*")),
    ("wind energy", ("eolic*", "eolien*", "eolienne*", "windenergie", "windkraft", "windpark*")),
    ("renewable energy", ("energia renovable", "energias renovables", "renovables", "energia renovavel",
                          "energias renovaveis", "renovaveis", "renovavel", "energie renouvelable",
                          "energies renouvelables", "renouvelable*", "erneuerbare energie*", "erneuerbar*",
                          "okostrom")),
    ("energy communities", ("comunidad energetica", "comunidades energeticas", "comunidad de energia",
                            "comunidades de energia", "comunidade de energia", "comunidade energetica",
                            "comunidades energeticas", "cooperativa energetica", "cooperativas energeticas",
                            "cooperativa de energia", "cooperativas de energia", "communaute energetique",
                            "communautes energetiques", "communaute d energie", "communautes d energie",
                            "cooperative energetique", "cooperatives energetiques", "energiegemeinschaft*",
                            "energiegenossenschaft*", "burgerenergie*")),
    ("energy storage batteries", ("almacenamiento de energia", "almacenamiento energetico", "armazenamento de energia",
                                  "stockage d energie", "stockage de l energie", "stockage energetique",
                                  "energiespeicher*", "batteriespeicher*", "stromspeicher*", "speicher",
                                  "baterias", "batteries", "batterien", "bateria", "batterie")),
    ("electricity grid", ("red electrica", "redes electricas", "rede eletrica", "redes eletricas",
                          "reseau electrique", "reseaux electriques", "stromnetz*", "netzintegration")),
    ("smart grid", ("red inteligente", "redes inteligentes", "rede inteligente", "reseau intelligent",
                    "reseaux intelligents", "intelligente netze", "intelligentes netz")),
    ("electricity", ("electricidad", "eletricidade", "electricite", "strom")),
    ("energy efficiency", ("eficiencia energetica", "efficacite energetique", "energieeffizien*",
                           "ahorro energetico", "ahorro de energia", "poupanca de energia", "economies d energie",
                           "energieeinsparung*")),
    ("energy poverty", ("pobreza energetica", "precariedad energetica", "precarite energetique",
                        "pauvrete energetique", "energiearmut")),
    ("energy transition", ("transicion energetica", "transicao energetica", "transition energetique",
                           "energiewende")),
    ("decarbonisation", ("descarbonizar", "descarbonizacion", "descarbonizacao", "decarboner", "decarbonation",
                         "decarbonisation", "dekarbonisierung", "dekarbonisieren")),
    ("climate neutral", ("neutralidad climatica", "climaticamente neutr*", "neutralidad de carbono",
                         "neutra en carbono", "neutralidade climatica", "neutralidade carbonica", "neutra em carbono",
                         "neutralite carbone", "neutralite climatique", "neutre en carbone", "neutres en carbone",
                         "klimaneutral*", "co2 neutral*")),
    ("positive energy districts", ("distrito de energia positiva", "distritos de energia positiva",
                                   "barrio de energia positiva", "barrios de energia positiva",
                                   "bairro de energia positiva", "bairros de energia positiva",
                                   "quartier a energie positive", "quartiers a energie positive",
                                   "plusenergiequartier*", "plus energie quartier*", "plusenergie*")),
    ("hydrogen", ("hidrogeno", "hidrogenio", "hydrogene", "wasserstoff*")),
    ("fuel cell", ("pila de combustible", "pilas de combustible", "celula de combustivel", "celulas de combustivel",
                   "pile a combustible", "piles a combustible", "brennstoffzelle*")),
    ("greenhouse gas emissions", ("gases de efecto invernadero", "gases com efeito de estufa",
                                  "gases de efeito estufa", "gaz a effet de serre", "treibhausgas*",
                                  "emisiones", "emissoes", "emissions", "emissionen")),
    ("energy", ("energia", "energie", "energetic*", "energetiq*", "energetisch*")),
    # --- buildings and housing
    ("building renovation retrofit", ("rehabilitacion energetica", "renovacion energetica", "reforma energetica",
                                      "reabilitacao energetica", "renovacao energetica", "renovation energetique",
                                      "energetische sanierung", "gebaudesanierung", "quartierssanierung",
                                      "sanierung*", "rehabilitacion", "reabilitacao", "renovation",
                                      "rehabilitation", "renovacion", "renovacao", "modernisierung")),
    ("buildings", ("edificio", "edificios", "edificacion*", "edificacao", "edificacoes", "batiment", "batiments",
                   "gebaude")),
    ("public buildings", ("edificios publicos", "edificios municipales", "batiments publics",
                          "batiments municipaux", "offentliche gebaude", "offentlichen gebauden",
                          "offentlicher gebaude", "kommunale gebaude", "kommunalen gebauden")),
    ("schools", ("escuela", "escuelas", "colegios", "escola", "escolas", "ecole", "ecoles", "schule", "schulen")),
    ("social housing", ("vivienda social", "viviendas sociales", "vivienda publica", "habitacao social",
                        "habitacao publica", "logement social", "logements sociaux", "hlm", "sozialwohnung*",
                        "sozialer wohnungsbau", "sozialen wohnungsbau")),
    ("affordable housing", ("vivienda asequible", "habitacao acessivel", "logement abordable",
                            "bezahlbarer wohnraum", "bezahlbaren wohnraum")),
    ("housing dwellings", ("vivienda", "viviendas", "habitacao", "habitacoes", "logement", "logements",
                           "wohnung*", "wohnraum", "wohngebaude")),
    ("apartment buildings", ("coproprietes", "copropriete", "comunidades de vecinos", "condominio*",
                             "mehrfamilienhaus*", "mehrfamilienhauser")),
    ("neighbourhoods districts", ("barrio", "barrios", "bairro", "bairros", "quartier", "quartiers", "stadtteil*",
                                  "stadtviertel*", "kiez*", "bestandsquartier*")),
    ("vulnerable households", ("hogares vulnerables", "familias vulnerables", "familias vulneraveis",
                               "agregados vulneraveis", "menages vulnerables", "menages modestes",
                               "einkommensschwache haushalte", "einkommensschwachen haushalte")),
    ("vulnerable", ("vulnerable", "vulnerables", "vulneravel", "vulneraveis", "vulnerabl*", "verletzlich*",
                    "vulnerab*")),
    ("poverty", ("pobreza", "pauvrete", "precarite", "armut")),
    # --- heat and climate risks
    ("urban heat island", ("isla de calor", "islas de calor", "ilha de calor", "ilhas de calor",
                           "ilot de chaleur", "ilots de chaleur", "warmeinsel*", "hitzeinsel*")),
    ("heatwaves", ("ola de calor", "olas de calor", "onda de calor", "ondas de calor", "canicule*",
                   "vague de chaleur", "vagues de chaleur", "episode de chaleur", "hitzewelle*", "hitzeperiode*")),
    ("extreme heat", ("calor extremo", "chaleur extreme", "extreme hitze", "extremer hitze", "hitzeextrem*")),
    ("heat", ("calor", "chaleur", "hitze*", "warme")),
    ("overheating", ("sobrecalentamiento", "sobreaquecimento", "surchauffe", "uberhitzung")),
    ("cooling", ("refrigeracion", "enfriamiento", "arrefecimento", "rafraichissement", "refroidissement",
                 "kuhlung", "abkuhlung")),
    ("cooling centres climate shelters", ("refugios climaticos", "refugio climatico", "refugios", "refugios climaticos",
                                          "refugio", "refuges climatiques", "ilots de fraicheur", "kuhle orte",
                                          "kuhlraume")),
    ("shading shade", ("sombra", "sombras", "sombreamento", "ombre", "ombrage", "verschattung", "beschattung",
                       "schatten")),
    ("older people elderly", ("personas mayores", "mayores", "ancianos", "idosos", "pessoas idosas",
                              "personnes agees", "seniors", "altere menschen", "alteren menschen", "senioren")),
    ("health", ("salud", "saude", "sante", "gesundheit*")),
    ("climate change", ("cambio climatico", "alteracoes climaticas", "mudancas climaticas", "changement climatique",
                        "dereglement climatique", "klimawandel*")),
    ("climate adaptation", ("adaptacion al cambio climatico", "adaptacao as alteracoes climaticas",
                            "adaptation au changement climatique", "klimaanpassung", "adaptacion", "adaptacao",
                            "adaptar", "adapter", "anpassung", "adaptation")),
    ("resilience", ("resiliencia", "resilience", "resilienz")),
    ("floods flooding", ("inundacion", "inundaciones", "riada", "riadas", "inundacao", "inundacoes", "cheia",
                         "cheias", "enchente*", "inondation*", "crue", "crues", "hochwasser*", "uberschwemmung*",
                         "uberflutung*")),
    ("heavy rainfall", ("lluvias torrenciales", "lluvias intensas", "precipitaciones extremas", "chuvas intensas",
                        "chuvas torrenciais", "pluies torrentielles", "fortes pluies", "pluies intenses",
                        "starkregen*")),
    ("stormwater drainage", ("drenaje", "drenaje urbano sostenible", "aguas pluviales", "drenagem",
                             "aguas pluviais", "eaux pluviales", "gestion des eaux pluviales", "regenwasser*",
                             "entwasserung", "schwammstadt")),
    ("sea level rise", ("subida del nivel del mar", "aumento del nivel del mar", "subida do nivel do mar",
                        "aumento do nivel do mar", "elevation du niveau de la mer", "montee des eaux",
                        "meeresspiegelanstieg")),
    ("storm surge", ("marejada*", "temporal*", "galgamento*", "submersion marine", "sturmflut*")),
    ("coastal", ("costa", "costas", "costera*", "costeiro*", "costeira*", "litoral", "littoral", "cotier*",
                 "cotiere*", "kuste*", "kusten*")),
    ("islands", ("isla", "islas", "ilha", "ilhas", "ile", "iles", "insel", "inseln")),
    ("drought", ("sequia", "sequias", "seca", "secas", "estiagem", "secheresse*", "durre*", "trockenheit*")),
    ("water scarcity", ("escasez de agua", "escasez hidrica", "escassez de agua", "escassez hidrica",
                        "penurie d eau", "wasserknappheit", "wassermangel")),
    ("water resources water management", ("recursos hidricos", "gestion del agua", "gestao da agua",
                                           "ressource en eau", "ressources en eau", "gestion de l eau",
                                           "wasserressourcen", "wassermanagement", "wasserwirtschaft")),
    ("water", ("agua", "eau", "eaux", "wasser")),
    ("wildfires forest fires", ("incendio forestal", "incendios forestales", "incendio florestal",
                                "incendios florestais", "incendios rurais", "incendio", "incendios",
                                "feux de foret", "feu de foret", "incendie*", "waldbrand*", "vegetationsbrand*")),
    ("risk", ("riesgo", "riesgos", "risco", "riscos", "risque", "risques", "risiko", "risiken")),
    # --- nature
    ("nature-based solutions", ("soluciones basadas en la naturaleza", "solucion basada en la naturaleza",
                                "solucoes baseadas na natureza", "solucao baseada na natureza",
                                "solutions fondees sur la nature", "solution fondee sur la nature",
                                "naturbasierte losung*", "naturbasierte*")),
    ("green roofs", ("cubiertas verdes", "cubierta verde", "techos verdes", "tejados verdes", "azoteas verdes",
                     "telhados verdes", "coberturas verdes", "toitures vegetalisees", "toits vegetalises",
                     "dachbegrunung*", "grundach*", "grundacher")),
    ("green facades green walls", ("fachadas verdes", "fachada verde", "muros verdes", "facades vegetalisees",
                                   "murs vegetalises", "fassadenbegrunung*", "begrunte fassaden")),
    ("greening green infrastructure", ("infraestructura verde", "infraestrutura verde", "infrastructure verte",
                                       "grune infrastruktur", "begrunung*", "vegetalisation", "renaturalizacion",
                                       "renaturation", "entsiegelung")),
    ("roofs", ("tejado", "tejados", "cubiertas", "techos", "telhado", "telhados", "toit", "toits", "toiture*",
               "dach", "dacher", "dachern")),
    ("facades", ("fachada", "fachadas", "facade", "facades", "fassade", "fassaden")),
    ("urban trees urban forest", ("arbolado", "arboles", "arvores", "arbres", "baume", "stadtbaume",
                                  "bosque urbano", "floresta urbana", "foret urbaine", "stadtwald")),
    ("green spaces parks", ("zonas verdes", "espacios verdes", "espacos verdes", "areas verdes", "espaces verts",
                            "grunflachen", "grunraum*", "parques", "parcs", "parks")),
    ("biodiversity", ("biodiversidad", "biodiversidade", "biodiversite", "biodiversitat")),
    ("urban agriculture", ("agricultura urbana", "huertos urbanos", "hortas urbanas", "agriculture urbaine",
                           "jardins partages", "urbane landwirtschaft", "urban gardening", "gemeinschaftsgarten")),
    # --- mobility
    ("sustainable mobility", ("movilidad sostenible", "mobilidade sustentavel", "mobilite durable",
                              "nachhaltige mobilitat", "verkehrswende", "mobilitatswende")),
    ("mobility transport", ("movilidad", "mobilidade", "mobilite", "mobilitat", "transporte", "transportes",
                            "transport", "transports", "verkehr")),
    ("cycling bicycle", ("bicicleta", "bicicletas", "ciclista*", "carril bici", "ciclovia*", "velo", "velos",
                         "cyclable*", "cyclistes", "fahrrad*", "radverkehr", "radweg*", "radfahr*")),
    ("walking pedestrians", ("peatonal*", "peatones", "pedonal*", "peoes", "pieton*", "marche a pied",
                             "fussverkehr", "fussganger*")),
    ("cars", ("coche", "coches", "automovil*", "automovel", "automoveis", "carro", "carros", "voiture*",
              "automobile*", "autoverkehr", "pkw")),
    ("public transport", ("transporte publico", "transportes publicos", "transporte colectivo",
                          "transportes coletivos", "transporte coletivo", "transport public", "transports publics",
                          "transports en commun", "offentlicher nahverkehr", "offentlichen nahverkehr",
                          "offentlichen verkehr", "opnv", "nahverkehr")),
    ("buses", ("autobus", "autobuses", "autocarro", "autocarros", "onibus", "bus", "busse", "bussen")),
    ("electric mobility", ("movilidad electrica", "mobilidade eletrica", "mobilite electrique",
                           "elektromobilitat", "e mobilitat")),
    ("electric vehicles", ("vehiculo electrico", "vehiculos electricos", "veiculo eletrico", "veiculos eletricos",
                           "vehicule electrique", "vehicules electriques", "elektrofahrzeug*", "elektroauto*")),
    ("electric", ("electrica", "electricas", "electrico", "electricos", "eletrica", "eletricas", "eletrico",
                  "eletricos", "electrique*", "elektrisch*")),
    ("charging infrastructure charging stations", ("puntos de recarga", "infraestructura de recarga",
                                                   "estaciones de recarga", "postos de carregamento",
                                                   "infraestrutura de carregamento", "carregamento",
                                                   "bornes de recharge", "borne de recharge", "recharge",
                                                   "ladeinfrastruktur", "ladestation*", "ladesaule*",
                                                   "ladepunkt*")),
    ("clean vehicles", ("limpios", "limpos", "propres", "sauber*", "emissionsfrei*")),
    ("traffic", ("trafico", "trafego", "transito", "trafic", "verkehrs*", "strassenverkehr")),
    ("urban logistics", ("logistica urbana", "logistique urbaine", "stadtlogistik", "city logistik")),
    # --- air, noise, waste
    ("air quality", ("calidad del aire", "qualidade do ar", "qualite de l air", "luftqualitat",
                     "luftreinhaltung")),
    ("air pollution", ("contaminacion atmosferica", "contaminacion del aire", "poluicao do ar",
                       "poluicao atmosferica", "pollution de l air", "pollution atmospherique",
                       "luftverschmutzung", "feinstaub", "stickoxid*")),
    ("pollution", ("contaminacion", "poluicao", "pollution", "verschmutzung")),
    ("noise", ("ruido", "bruit", "larm")),
    ("circular economy", ("economia circular", "economie circulaire", "kreislaufwirtschaft")),
    ("waste", ("residuos", "desechos", "dechets", "abfall", "abfalle", "mull")),
    ("recycling", ("reciclaje", "reciclagem", "recyclage", "recycling")),
    ("food waste", ("desperdicio alimentario", "desperdicio de alimentos", "desperdicio alimentar",
                    "gaspillage alimentaire", "lebensmittelverschwendung")),
    ("food", ("alimentacion", "alimentos", "alimentacao", "alimentation", "lebensmittel", "ernahrung")),
    # --- places and governance
    ("cities urban", ("ciudad", "ciudades", "cidade", "cidades", "ville", "villes", "stadt", "stadte",
                      "urbano", "urbana", "urbanos", "urbanas", "urbain", "urbaine", "urbains", "urbaines",
                      "stadtisch*")),
    ("public space", ("espacio publico", "espacios publicos", "espaco publico", "espacos publicos",
                      "espace public", "espaces publics", "offentlichen raum", "offentlicher raum")),
    ("urban planning", ("planificacion urbana", "urbanismo", "planeamento urbano", "ordenamento do territorio",
                        "urbanisme", "amenagement urbain", "stadtplanung", "stadtentwicklung")),
    ("new urban developments", ("nuevos desarrollos urbanos", "novos empreendimentos", "nouveaux quartiers",
                                "neubaugebiet*", "neubauquartier*")),
    ("municipality local authority", ("municipio", "municipios", "ayuntamiento*", "municipal*", "camara municipal",
                                      "municipalite*", "collectivite*", "commune", "communes", "gemeinde*",
                                      "kommune*", "kommunal*")),
    ("citizens participation", ("ciudadania", "ciudadanos", "participacion ciudadana", "cidadaos",
                                "participacao", "citoyen*", "participation citoyenne", "burger", "burgerinnen",
                                "burgerbeteiligung", "beteiligung")),
    ("digital twin", ("gemelo digital", "gemelos digitales", "gemeo digital", "gemeos digitais", "jumeau numerique",
                      "jumeaux numeriques", "digitaler zwilling", "digitale zwillinge", "digitalen zwilling")),
    ("digital smart city", ("ciudad inteligente", "cidade inteligente", "ville intelligente", "smart city",
                            "digitalizacion", "digitalizacao", "numerique", "digitalisierung")),
    ("climate", ("clima", "climat", "klima", "climatico", "climatica", "climaticos", "climaticas",
                 "climatique*", "klimatisch*")),
    ("sustainable", ("sostenible", "sostenibles", "sustentavel", "sustentaveis", "durable", "durables",
                     "nachhaltig*")),
    ("tourism", ("turismo", "tourisme", "tourismus")),
    ("summer", ("verano", "verao", "ete", "sommer")),
    ("ports", ("puerto", "puertos", "portuaria", "portuario", "portuaire", "hafen*")),
    ("industry", ("industria", "industrial", "industrie", "industriel*")),
    ("data centres", ("centros de datos", "centros de dados", "centres de donnees", "rechenzentr*")),
)

_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lower case, accents off, apostrophes and hyphens as spaces."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))
    return text.replace("ß", "ss")


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@lru_cache(maxsize=1)
def _entries() -> list[tuple[tuple[str, ...], str]]:
    """(folded words of a foreign term, English) longest first."""
    out = []
    for english, terms in GLOSSARY:
        for term in terms:
            words = tuple(_words(term.replace("*", " *").replace(" *", "*")))
            if term.endswith("*"):
                words = (*words[:-1], words[-1] + "*") if words else words
            if words:
                out.append((words, english))
    out.sort(key=lambda e: (-len(e[0]), -len(e[0][-1])))
    return out


def _word_matches(pattern: str, word: str) -> bool:
    return word.startswith(pattern[:-1]) if pattern.endswith("*") else word == pattern


def read_as_english(text: str) -> list[str]:
    """The English glossary terms of the concepts a Spanish/Portuguese/French/German text names, in the order
    of the text (each once); [] when it names none."""
    words = _words(text)
    entries = _entries()
    found: dict[str, int] = {}
    used = [False] * len(words)
    for pattern, english in entries:
        n = len(pattern)
        for i in range(len(words) - n + 1):
            if any(used[i:i + n]):
                continue
            if all(_word_matches(p, w) for p, w in zip(pattern, words[i:i + n], strict=True)):
                for j in range(i, i + n):
                    used[j] = True
                found.setdefault(english, i)
    return [e for e, _i in sorted(found.items(), key=lambda x: x[1])]


__all__ = ["GLOSSARY", "read_as_english"]
