"""Every published number the report sets beside its own, in one place.

Source unless noted: Zhou, Zhang, Gu, Chen and Poon, "UniversalNER: Targeted Distillation
from Large Language Models for Open Named Entity Recognition", arXiv:2308.03279v2 (ICLR
2024), and its project page universal-ner.github.io. Table numbers are those of v2 where
they differ from v1. F1 is in percent. The published zero-shot table of other systems is
data, not code: ``reference/published_zero_shot.csv`` of the data directory.
"""

from __future__ import annotations

PAPER_CITATION = "Zhou et al. 2023, UniversalNER (arXiv:2308.03279v2)"

# --------------------------------------------------------------------------- data construction

#: Size of the paper's Pile-NER-type instruction data (Section 2, data statistics; also
#: the project page): ChatGPT-labelled Pile passages, their entities and distinct types.
PAPER_TOTALS: dict[str, int] = {"passages": 45_889, "entities": 240_725, "types": 13_020}

#: Share of mentions (percent) per type-frequency band (Table 1, Section 2): the top 1%
#: of types, the next 9%, and the remaining 90%.
PAPER_BANDS: dict[str, float] = {"top 1%": 74.0, "top 1%-10%": 19.0, "rest (90%)": 7.0}

#: Distinct types per band (Table 1; they sum to ``PAPER_TOTALS["types"]``).
PAPER_BAND_TYPES: dict[str, int] = {"top 1%": 130, "top 1%-10%": 1_172, "rest (90%)": 11_718}

# --------------------------------------------------------------------------- zero-shot, seven sets

#: The negative-sampling ablation of UniNER-7B (Table 5): F1 on the
#: seven zero-shot sets in the paper's column order (Movie, Restaurant, AI, Literature,
#: Music, Politics, Science), per strategy. The 'frequency' row is UniNER-7B (type) itself.
PAPER_NEGATIVE_SAMPLING: dict[str, tuple[float, ...]] = {
    "none": (19.1, 19.1, 25.1, 39.5, 42.7, 48.9, 26.2),
    "uniform": (42.5, 29.0, 42.5, 53.3, 57.4, 56.8, 52.6),
    "frequency": (42.4, 31.7, 53.5, 59.4, 65.0, 60.8, 61.1),
}

#: Seven-set average F1 the report cites: the systems of the paper's zero-shot CrossNER/MIT
#: table (Vicuna-7B, ChatGPT, UniNER-7B; the same rows as ``published_zero_shot.csv``) and
#: the rounded averages of the ablation rows above (none / uniform / frequency).
PAPER_SEVEN_SET_AVERAGES: dict[str, float] = {
    "Vicuna-7B": 13.0, "ChatGPT": 47.5, "UniNER-7B": 53.4,
    "none": 31.5, "uniform": 47.7, "frequency": 53.4,
}

# --------------------------------------------------------------------------- supervised multi-task

#: The paper's in-domain supervised table: F1 on the 20 datasets of InstructUIE (Wang et
#: al., 2023a), as (BERT-base, InstructUIE-11B, UniNER-7B). Table 2 of arXiv v2 ("Table 4"
#: in arXiv v1); BERT-base numbers are quoted there from Wang et al., InstructUIE from the
#: authors' re-evaluation. Column averages as the paper prints them: ``PAPER_SUPERVISED_AVERAGES``.
PAPER_SUPERVISED: dict[str, tuple[float, float, float]] = {
    "ACE05": (87.30, 79.94, 86.69), "AnatEM": (85.82, 88.52, 88.65), "bc2gm": (80.90, 80.69, 82.42),
    "bc4chemd": (86.72, 87.62, 89.21), "bc5cdr": (85.28, 89.02, 89.34), "Broad Twitter": (58.61, 80.27, 81.25),
    "CoNLL03": (92.40, 91.53, 93.30), "FabNER": (64.20, 78.38, 81.87), "FindVehicle": (87.13, 87.56, 98.30),
    "GENIA": (73.3, 75.71, 77.54), "HarveyNER": (82.26, 74.69, 74.21), "MIT Movie": (88.78, 89.58, 90.17),
    "MIT Restaurant": (81.02, 82.59, 82.35), "MultiNERD": (91.25, 90.26, 93.73), "ncbi": (80.20, 86.21, 86.96),
    "OntoNotes": (91.11, 88.64, 89.91), "PolyglotNER": (75.65, 53.31, 65.67), "TweetNER7": (56.49, 65.95, 65.77),
    "WikiANN": (70.60, 64.47, 84.91), "wikiNeural": (82.78, 88.27, 93.28),
}
PAPER_SUPERVISED_SYSTEMS: tuple[str, ...] = ("BERT-base", "InstructUIE-11B", "UniNER-7B")
#: The average row of the supervised table (same table), one per system.
PAPER_SUPERVISED_AVERAGES: tuple[float, float, float] = (80.09, 81.16, 84.78)
PAPER_SUPERVISED_SOURCE = (f"{PAPER_CITATION}, Table 2 / Table 4 in v1: "
                           "F1 on the 20 datasets of InstructUIE, in-domain supervised")
#: Paper dataset name -> our registry name, where the shared data holds the corpus.
PAPER_TO_REGISTRY: dict[str, str] = {
    "AnatEM": "anatem", "bc2gm": "bc2gm", "bc5cdr": "bc5cdr", "Broad Twitter": "broad_twitter",
    "CoNLL03": "conll2003", "GENIA": "genia", "MIT Movie": "mit_movie", "MIT Restaurant": "mit_restaurant",
    "ncbi": "ncbi_disease", "WikiANN": "wikiann_en", "wikiNeural": "wikineural_en",
}


def seven_set_average(values: tuple[float, ...]) -> float:
    """The mean of a seven-set row, rounded to one decimal as the paper prints it."""
    return round(sum(values) / len(values), 1)
