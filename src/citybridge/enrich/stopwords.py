"""Stopwords (function words) for keyword extraction, written for citybridge.

Short lists of articles, pronouns, prepositions, conjunctions, auxiliaries and the commonest adverbs,
plus, for English, the reporting words of abstracts ("study", "results") that never make good keywords.
"""

from __future__ import annotations

from functools import lru_cache

_EN = """
a about above across after again against all almost alone along already also although always am among
an and another any anyone anything are around as at be became because become been before being below between
both but by can cannot could did do does doing done down during each either else enough even ever every few
for from further had has have having he her here hers herself him himself his how however i if in into is it
its itself just least less like made make many may me might more most much must my myself neither never no nor
not now of off often on once one only or other others otherwise our ours ourselves out over own per perhaps
quite rather same several shall she should since so some such than that the their theirs them themselves then
there therefore these they this those though through thus to too toward towards under until up upon us very
via was we well were what whatever when where whether which while who whom whose why will with within without
would yet you your yours yourself yourselves et al eg ie etc vs versus i.e e.g
study studies studied result results show shows showed shown find found findings using use used uses based
paper article report reported reports present presented here we also however thus although well including
include includes included given within whereas due approximately respectively significantly significant
observed suggest suggests suggested demonstrate demonstrated indicate indicates indicated associated
increase increased decrease decreased data method methods analysis analyses among new two three first second
high higher low lower level levels effect effects role number type types different various specific several
provide provides provided identify identified evidence conclusion conclusions background objective aim aims
"""

_ES = """
a al algo algunas algunos ante antes aquel aquella aquellas aquello aquellos aqui así aun aunque bajo bien
cada casi como con contra cual cuales cualquier cuando cuanto de del desde donde dos durante e el ella ellas
ellos en entre era eran es esa esas ese eso esos esta estaba estado estan estar estas este esto estos fue
fueron ha han hasta hay la las le les lo los mas más me mi mientras muy ni no nos nosotros o otra otras otro
otros para pero poco por porque que quien quienes se sea ser si sido sin sino sobre son su sus tal también
tambien tan tanto te tiene tienen todo todos tras tu tus un una unas uno unos usted y ya él ésta éste está
están será serán puede pueden según cómo qué cuál dónde cuando mismo misma mismos mismas ello así
"""

_PT = """
a à ao aos as às até com como da das de dela delas dele deles depois do dos e é ela elas ele eles em
entre era eram essa essas esse esses esta estas este estes eu foi foram há isso isto já la lhe lhes mais mas
me mesmo meu minha muito na nas nem no nos nós o os ou para pela pelas pelo pelos por qual quando que quem se
sem ser seu seus sua suas são só também te tem têm um uma umas uns você vocês ainda além assim cada onde
sobre sob será serão pode podem está estão estava foi ser sido tinha ter todo todos toda todas outro outra
outros outras num numa
"""

_FR = """
a à afin ai aie ainsi alors au aucun aussi autre autres aux avait avant avec avoir c ce ceci cela celle
celles celui ces cet cette chaque comme comment d dans de des donc dont du elle elles en encore entre est et
été être eu fait faire il ils j je l la le les leur leurs lors lui m ma mais me même mes moi mon n ne ni nos
notre nous on ont ou où par parce pas peu peut plus pour pourquoi qu quand que quel quelle quelles quels qui
sa sans se selon ses si son sont sous sur ta te tes toi ton tous tout toute toutes très tu un une vers vos
votre vous y sont était étaient ceux celles cependant depuis dès lequel laquelle lesquels
"""

_DE = """
aber alle allem allen aller alles als also am an auch auf aus bei beim bin bis bist da dabei damit dann
das dass dem den denn der des dessen die dies diese diesem diesen dieser dieses doch dort du durch ein eine
einem einen einer eines er es etwa für gegen hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr ihre
ihrem ihren ihrer im in indem ins ist ja jede jedem jeden jeder jedes jedoch kann kein keine man mehr mit
muss nach nicht noch nun nur ob oder ohne schon sehr sein seine seinem seinen seiner sich sie sind so solche
soll sollen sondern sowie über um und uns unter vom von vor war waren was weil welche welchem welchen
welcher wenn wer werden wie wieder wir wird wo zu zum zur zwischen sowohl bzw zudem wurde wurden worden
"""

_IT = """
a ad agli ai al alla alle allo anche ancora avere aveva c che chi ci come con contro cosa cui da dagli
dai dal dalla dalle dallo degli dei del della delle dello di dove e è ed essere fra gli ha hanno i il in
io la le lei li lo loro lui ma mi mio molto ne negli nei nel nella nelle nello noi non nostro o ogni per
perché più poi quale quando quella quelle quello questa queste questo qui se sé sia siamo si sono sopra sta
su sua sue sui sul sulla sulle suo suoi tra tu tutti tutto un una uno voi essere stato stata stati state
"""

_NL = """
aan al alle als bij dan dat de der deze die dit door dus een en er ge geen had heb hebben heeft het hier
hij hoe hun ik in is je kan kon maar me meer men met mij mijn na naar niet niets nog nu of om omdat ons ook
op over reeds te tegen toch toen tot u uit uw van veel voor want was wat we wel werd wie wij wil worden
wordt zal ze zei zich zij zijn zo zonder zou binnen tussen onder sinds volgens waarbij waarin
"""

_LISTS = {"en": _EN, "es": _ES, "pt": _PT, "fr": _FR, "de": _DE, "it": _IT, "nl": _NL}
LANGUAGES = tuple(_LISTS)


@lru_cache(maxsize=16)
def stopwords(lang: str | None) -> frozenset[str]:
    """Lower-case stopwords of a language (ISO 639-1); English for unknown languages, since English
    technical terms are common in other languages' texts; every list also holds the English function words."""
    base = _LISTS["en"].split()
    own = _LISTS.get((lang or "en").lower()[:2], "").split()
    return frozenset(w.lower() for w in (*base, *own))
