"""Per-language stopword profiles for the ``stopword_presence`` signal.

Short, high-frequency function words only: real prose in the language hits them often,
while keyword lists, navigation menus and symbol soup do not.
"""

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the be to of and a in that have it for not on with he as you do at this but his by from "
        "they we say her she or an will my one all would there their what so up out if about who "
        "get which go me when make can like time no just him know take into your some could them "
        "see other than then now only its over also after use two how our first well way even new "
        "want because any these give most us is are was were been has had does did should must may "
        "each per before via".split()
    ),
    "de": frozenset(
        "der die das und in zu den von nicht mit sich des auf für ist im dem ein eine als auch es an "
        "werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum "
        "war haben nur oder aber vor zur bis mehr durch man sein wurde sei ihr ich wir kann können "
        "muss müssen soll sollte wenn dann diese dieser dieses unter sowie ob wo".split()
    ),
    "fr": frozenset(
        "le la les de des du un une et est en à au aux que qui dans pour pas sur ce cette ces se ne "
        "plus par il elle ils elles nous vous on avec son sa ses leur leurs mais ou où être avoir "
        "fait sont été comme tout tous si lors doit peut entre sans sous votre vos notre nos "
        "l d qu n s c j".split()
    ),
    "es": frozenset(
        "de la que el en y a los del se las por un para con no una su al lo como más pero sus le ya "
        "o este ha si porque esta entre cuando muy sin sobre también me hasta hay donde desde todo "
        "nos durante todos uno les ni contra otros ese eso ante ellos e esto antes algunos qué unos "
        "yo otro otras otra él es son está están ser debe puede cada".split()
    ),
    "it": frozenset(
        "di e il la che in a per un una del della dei delle le non è con si da al alla lo gli i "
        "come più ma sono anche o se nel nella questo questa essere ha hanno deve può tra".split()
    ),
    "nl": frozenset(
        "de het een en van in is dat op te zijn met voor niet aan er die als ook maar om bij of "
        "door naar dan wordt worden kan moet deze dit geen nog wel uit over tot".split()
    ),
    "pt": frozenset(
        "de a o que e do da em um para com não uma os no se na por mais as dos como mas ao ele das "
        "à seu sua ou quando muito nos já também só pelo pela até isso entre depois sem mesmo "
        "aos seus quem nas me esse eles você essa num nem suas meu é são deve pode".split()
    ),
}
