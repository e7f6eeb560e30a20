"""Natural-language type names: raw corpus labels (``PER``, ``location_GPE``,
``/organization/sports_team``, ``B-OtherPER``) as the words a user would ask for
("person", "geopolitical entity", "sports team", "other person"), and the label tables of
the corpora whose names need more than splitting (Few-NERD's fine labels, MultiCoNER II's
coarse groups). :mod:`unerlib.registry` applies them to every dataset.
"""

from __future__ import annotations

import re


#: Explicit natural-language names; keys are raw labels without their B-/I- prefix.
TYPE_NAMES: dict[str, str] = {
    "PER": "person", "LOC": "location", "ORG": "organization", "MISC": "miscellaneous",
    "organisation": "organization", "Organisation": "organization", "misc": "miscellaneous",
    "programlang": "program language", "musicalartist": "musical artist",
    "musicartist": "musical artist", "musicgenre": "music genre",
    "musicalinstrument": "musical instrument", "literarygenre": "literary genre",
    "politicalparty": "political party", "astronomicalobject": "astronomical object",
    "academicjournal": "academic journal", "chemicalcompound": "chemical compound",
    "chemicalelement": "chemical element", "geo-loc": "location", "sportsteam": "sports team",
    "tvshow": "tv show", "creative-work": "creative work", "GENE": "gene",
    "ADR": "adverse drug reaction", "GGP": "gene or gene product", "SO": "sequence feature",
    "CHEBI": "chemical entity", "CL": "cell type",
    "GO": "biological process or cellular component", "Regulon-operon": "regulon or operon",
    "LEGISLATION/ACT": "legislation or act", "RATINGS_AVERAGE": "average ratings",
    # MultiCoNER II
    "OtherPER": "other person", "OtherLOC": "other location", "OtherPROD": "other product",
    "OtherCW": "other creative work", "OtherCorp": "other corporation", "MusicalGRP": "musical group",
    "SportsGRP": "sports group", "TechCORP": "technology company", "PublicCorp": "public corporation",
    "PrivateCorp": "private corporation", "Medication/Vaccine": "medication or vaccine",
    "CW": "creative work", "PROD": "product", "GRP": "group",
}

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
#: Words kept upper-case by :func:`natural_type`.
ACRONYMS: frozenset[str] = frozenset({"DNA", "RNA", "HTML", "XML", "IP", "URL", "API", "ID"})


def natural_type(raw: str, overrides: dict[str, str] | None = None) -> str:
    """Map a raw label to a natural-language type name.

    Drops a ``B-``/``I-`` prefix, applies ``overrides`` then :data:`TYPE_NAMES`, else splits
    camelCase and underscores and lower-cases every word except :data:`ACRONYMS`.
    """
    label = re.sub(r"^[BIES]-", "", raw.strip())
    for table in (overrides or {}, TYPE_NAMES):
        if label in table:
            return table[label]
    if label.startswith("/"):  # a FIGER label path: its last part
        from .readers_typed import figer_type

        return figer_type(label)
    words = _CAMEL.sub(" ", label).replace("_", " ").split()
    return " ".join(w if w in ACRONYMS else w.lower() for w in words)


def title_case(name: str) -> str:
    """``name`` with each word's first letter upper-cased ("restaurant name" -> "Restaurant Name",
    "DNA" kept): how some evaluation files spell their types (MIT Restaurant's official file)."""
    return " ".join(w[:1].upper() + w[1:] for w in name.split(" "))


#: Few-NERD's ``coarse_fine`` labels by their natural names (the fine part, in words)
FEW_NERD_NAMES: dict[str, str] = {
    "art_broadcastprogram": "broadcast program", "art_film": "film", "art_music": "music", "art_other": "work of art",
    "art_painting": "painting", "art_writtenart": "written work", "building_airport": "airport",
    "building_hospital": "hospital", "building_hotel": "hotel", "building_library": "library",
    "building_other": "building", "building_restaurant": "restaurant", "building_sportsfacility": "sports facility",
    "building_theater": "theater", "event_attack/battle/war/militaryconflict": "military conflict",
    "event_disaster": "disaster", "event_election": "election", "event_other": "event", "event_protest": "protest",
    "event_sportsevent": "sports event", "location_GPE": "geopolitical entity",
    "location_bodiesofwater": "body of water", "location_island": "island", "location_mountain": "mountain",
    "location_other": "location", "location_park": "park", "location_road/railway/highway/transit": "road or railway",
    "organization_company": "company", "organization_education": "educational institution",
    "organization_government/governmentagency": "government agency",
    "organization_media/newspaper": "media organization", "organization_other": "organization",
    "organization_politicalparty": "political party", "organization_religion": "religious organization",
    "organization_showorganization": "show organization", "organization_sportsleague": "sports league",
    "organization_sportsteam": "sports team", "other_astronomything": "astronomical object", "other_award": "award",
    "other_biologything": "biological entity", "other_chemicalthing": "chemical", "other_currency": "currency",
    "other_disease": "disease", "other_educationaldegree": "educational degree", "other_god": "god",
    "other_language": "language", "other_law": "law", "other_livingthing": "living thing",
    "other_medical": "medical term", "person_actor": "actor", "person_artist/author": "artist or author",
    "person_athlete": "athlete", "person_director": "director", "person_other": "person",
    "person_politician": "politician", "person_scholar": "scholar", "person_soldier": "soldier",
    "product_airplane": "airplane", "product_car": "car", "product_food": "food", "product_game": "game",
    "product_other": "product", "product_ship": "ship", "product_software": "software", "product_train": "train",
    "product_weapon": "weapon",
}

#: MultiCoNER II's fine labels under its six coarse groups (Fetahu et al. 2023; 36 labels, 33 in the English data)
MULTICONER_COARSE: dict[str, str] = {
    **dict.fromkeys(("Facility", "OtherLOC", "HumanSettlement", "Station"), "location"),
    **dict.fromkeys(("VisualWork", "MusicalWork", "WrittenWork", "ArtWork", "Software", "OtherCW"), "creative work"),
    **dict.fromkeys(("MusicalGRP", "PublicCorp", "PrivateCorp", "OtherCorp", "AerospaceManufacturer", "SportsGRP",
                     "CarManufacturer", "TechCORP", "ORG"), "group"),
    **dict.fromkeys(("Scientist", "Artist", "Athlete", "Politician", "Cleric", "SportsManager", "OtherPER"), "person"),
    **dict.fromkeys(("Clothing", "Vehicle", "Food", "Drink", "OtherPROD"), "product"),
    **dict.fromkeys(("Medication/Vaccine", "MedicalProcedure", "AnatomicalStructure", "Symptom", "Disease"),
                    "medical entity"),
}
