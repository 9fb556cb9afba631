"""Seeded filler text in four languages: headlines, prose, names, slugs.

Grammar does not matter to an extractor; word lengths, accents and sentence shapes do, so each
language has its own vocabulary.
"""

from __future__ import annotations

import random
import re
import unicodedata


def _vocabulary(text: str) -> tuple[str, ...]:
    return tuple(text.split())


WORDS: dict[str, tuple[str, ...]] = {
    "en": _vocabulary(
        """the government said on tuesday that talks with regional leaders would continue after
        officials reported progress in negotiations over water rights border crossings and trade
        ministers gathered in the capital while protesters marched through central streets
        demanding answers about rising prices energy costs and the future of public services
        analysts expect the central bank to hold interest rates steady as inflation eases slowly
        farmers warned that drought across the southern provinces could cut harvests by a third
        the opposition called for an independent inquiry into the contract awarded last spring
        hospital staff described long queues and shortages of basic medicine during the outbreak
        the agreement still needs approval from parliament where the coalition holds a narrow
        majority and several members have threatened to vote against it unless changes are made
        residents returned to damaged homes on thursday after floodwaters receded overnight
        police arrested dozens of people and the ministry of interior promised a full review
        researchers published new data showing emissions fell for the second consecutive year
        election observers noted irregularities at polling stations in three northern districts
        """
    ),
    "fr": _vocabulary(
        """le gouvernement a annoncé mardi que les négociations avec les élus régionaux allaient
        reprendre après des progrès sur la question de l'eau des frontières et du commerce les
        ministres se sont réunis dans la capitale tandis que des manifestants défilaient dans les
        rues du centre pour réclamer des réponses sur la hausse des prix de l'énergie et l'avenir
        des services publics selon les économistes la banque centrale devrait maintenir ses taux
        la sécheresse dans les provinces du sud pourrait réduire les récoltes d'un tiers a averti
        le syndicat agricole l'opposition réclame une enquête indépendante sur le contrat signé au
        printemps dernier le personnel hospitalier décrit de longues files d'attente et une pénurie
        de médicaments l'accord doit encore être approuvé par le parlement où la coalition dispose
        d'une courte majorité plusieurs députés menacent de voter contre le texte les habitants
        ont regagné leurs maisons endommagées jeudi après la décrue la police a interpellé des
        dizaines de personnes et le ministère de l'intérieur promet un examen complet
        """
    ),
    "de": _vocabulary(
        """die regierung teilte am dienstag mit dass die gespräche mit den regionalen vertretern
        fortgesetzt werden nachdem fortschritte bei wasserrechten grenzübergängen und handel
        gemeldet wurden die minister trafen sich in der hauptstadt während demonstranten durch
        die innenstadt zogen und antworten zu steigenden preisen energiekosten und der zukunft
        öffentlicher dienste forderten ökonomen erwarten dass die zentralbank die zinsen stabil
        hält die dürre in den südlichen provinzen könnte die ernte um ein drittel verringern
        warnte der bauernverband die opposition verlangt eine unabhängige untersuchung des
        vertrags aus dem frühjahr das krankenhauspersonal berichtete von langen warteschlangen
        und engpässen bei medikamenten das abkommen muss noch vom parlament gebilligt werden wo
        die koalition nur eine knappe mehrheit hat mehrere abgeordnete drohen mit ablehnung die
        bewohner kehrten am donnerstag in ihre beschädigten häuser zurück die polizei nahm
        dutzende menschen fest und das innenministerium kündigte eine umfassende prüfung an
        """
    ),
    "es": _vocabulary(
        """el gobierno anunció el martes que las conversaciones con los líderes regionales
        continuarán después de los avances en materia de agua fronteras y comercio los ministros
        se reunieron en la capital mientras los manifestantes recorrían las calles del centro
        exigiendo respuestas sobre la subida de los precios la energía y el futuro de los
        servicios públicos los analistas esperan que el banco central mantenga los tipos de
        interés la sequía en las provincias del sur podría reducir la cosecha en un tercio
        advirtió la asociación agraria la oposición pidió una investigación independiente sobre
        el contrato firmado la pasada primavera el personal sanitario describió largas colas y
        escasez de medicamentos el acuerdo aún necesita la aprobación del parlamento donde la
        coalición tiene una mayoría estrecha varios diputados amenazan con votar en contra los
        vecinos regresaron el jueves a sus casas dañadas tras la bajada de las aguas la policía
        detuvo a decenas de personas y el ministerio del interior prometió una revisión completa
        """
    ),
}

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Anna", "James", "Priya", "Daniel", "Grace", "Tom", "Amara", "Oliver", "Ruth", "Sam"),
    "fr": ("Camille", "Julien", "Élodie", "Mathieu", "Inès", "Benoît", "Chloé", "Rémi", "Léa"),
    "de": ("Jürgen", "Katrin", "Lukas", "Sabine", "Matthias", "Jana", "Stefan", "Lena", "Jörg"),
    "es": ("María", "Javier", "Lucía", "Andrés", "Carmen", "José", "Paula", "Íñigo", "Sofía"),
}
LAST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Whitfield", "Okafor", "Sharma", "Brennan", "Lindqvist", "Hughes", "Mensah", "Carter"),
    "fr": ("Lefèvre", "Moreau", "Girard", "Bérenger", "Fontaine", "Rousseau", "Lambert", "Dubois"),
    "de": ("Müller", "Schröder", "Hoffmann", "Weiß", "Krüger", "Becker", "Lehmann", "Vogel"),
    "es": ("García", "Martínez", "Núñez", "Ortega", "Castillo", "Peña", "Romero", "Ibáñez"),
}
AGENCIES = ("Reuters", "AFP", "AP", "EPA", "dpa", "EFE", "Getty Images", "Anadolu")

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def words(rng: random.Random, language: str, count: int) -> list[str]:
    """Return ``count`` words of ``language`` drawn at random."""
    return rng.choices(WORDS[language], k=count)


def sentence(rng: random.Random, language: str, low: int = 8, high: int = 22) -> str:
    """Return one sentence: a capitalised run of words and a full stop."""
    text = " ".join(words(rng, language, rng.randint(low, high)))
    return text[:1].upper() + text[1:] + "."


def paragraph(rng: random.Random, language: str) -> str:
    """Return two to five sentences."""
    return " ".join(sentence(rng, language) for _ in range(rng.randint(2, 5)))


def headline(rng: random.Random, language: str) -> str:
    """Return a headline of six to twelve words, without a full stop."""
    text = " ".join(words(rng, language, rng.randint(6, 12)))
    return text[:1].upper() + text[1:]


def person(rng: random.Random, language: str) -> str:
    """Return a first and last name."""
    return f"{rng.choice(FIRST_NAMES[language])} {rng.choice(LAST_NAMES[language])}"


def slugify(text: str, limit: int = 60) -> str:
    """Return the ASCII URL slug of ``text`` (accents dropped, words joined by ``-``)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_SLUG.sub("-", folded.lower()).strip("-")
    return slug[:limit].rstrip("-")
