"""The dataset registry: every corpus of the shared data, its domain, splits, reader and
natural-language type names.

Paths are relative to the data directory (``$UNER_DATA_DIR``). Type names are mapped to
natural language as the UniversalNER evaluation files spell them (``organisation`` ->
``organization``, ``programlang`` -> ``program language``, ...); where no explicit name
exists, :func:`unerlib.typenames.natural_type` derives one (``B-Multi-tissue_structure`` -> ``multi-tissue
structure``, ``GeneOrGeneProduct`` -> ``gene or gene product``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .data import READERS, DataError, Mention, Record, data_dir
from .typenames import FEW_NERD_NAMES, MULTICONER_COARSE, natural_type, title_case

#: The nine domains of the paper's breakdown (Zhou et al., Table 2), in its order.
DOMAINS: tuple[str, ...] = (
    "general", "biomedical", "clinical", "STEM", "programming",
    "social media", "law", "finance", "transportation",
)

#: The seven zero-shot sets of the paper's main table, in its column order.
ZERO_SHOT: tuple[str, ...] = (
    "mit_movie", "mit_restaurant", "crossner_ai", "crossner_literature",
    "crossner_music", "crossner_politics", "crossner_science",
)

#: Corpora the offline gold-corpus teacher draws passages from (their train/dev splits).
#: Everything else is evaluation-only, so the domain breakdown stays zero-shot: the seven
#: zero-shot sets always, and in every domain with data at least one corpus (general:
#: wikigold, re3d; biomedical: genia, anem, the BioNLP sets, CRAFT, Ex-PTM, LINNAEUS;
#: clinical: cadec; STEM: CrossNER AI/science; programming: stackoverflow; social media:
#: wnut16 test, wnut17; law: e_ner; finance: sec_filings). WNUT-16 train and dev lie inside
#: WNUT-17 train, so WNUT-16 is not a source.
TEACHER_SOURCES: tuple[str, ...] = (
    "pile_ner_types", "pile_ner_sample", "conll2003", "wikiann_en", "wikineural_en", "gum",
    "anatem", "bc2gm", "bc5cdr", "ncbi_disease", "jnlpba", "biored", "broad_twitter",
)

#: Draws per round-robin round when sampling teacher passages: the ChatGPT-annotated Pile
#: sample carries most of the type inventory (455 types), so it is drawn more often.
SOURCE_WEIGHTS: dict[str, int] = {"pile_ner_types": 4, "pile_ner_sample": 2}

#: The teacher sources with the fine- and free-type corpora of MANIFEST section 6 added
#: (Few-NERD's 53 fine types, GLiNER's 144 free labels): the campaign's type-diversity lever.
DIVERSE_SOURCES: tuple[str, ...] = (*TEACHER_SOURCES, "few_nerd", "gliner_sample")

#: Teacher sources whose passages carry only some of their types (one ChatGPT answer per row
#: in the Pile-NER samples; GLiNER's free labels): a type absent from such a passage may
#: still be in it, so the ``complete`` negatives ask them nothing (unerlib.instructions).
PARTIAL_SOURCES: tuple[str, ...] = ("pile_ner_types", "pile_ner_sample", "gliner_sample")

#: The validation suite (dataset -> split): where every setting of the quality campaign is
#: chosen (notebook 12). Neither teacher sources nor zero-shot sets nor in the domain
#: breakdown: the seven test sets are scored only for the configurations kept.
VALIDATION: dict[str, str] = {"multiconer2": "dev", "figer_gold": "test", "wfb_1k": "dev",
                              "multiconer2_coarse": "dev", "figer_gold_coarse": "test",
                              "multiconer2_sample": "dev", "multiconer2_coarse_sample": "dev",
                              "multiconer2_coarse_titled": "dev"}

#: Corpora left out of evaluation because they duplicate a teacher source.
DUPLICATES: dict[str, str] = {
    "ritter": "wnut16", "mit_movie_bio": "mit_movie",
    "mit_restaurant_bio": "mit_restaurant",
}


#: named teacher-source mixes (the ``sources`` parameter of notebooks 01-03); ``name*N``
#: draws a source N times a round instead of its :data:`SOURCE_WEIGHTS`
SOURCE_MIXES: dict[str, tuple[str, ...]] = {
    "default": TEACHER_SOURCES, "diverse": DIVERSE_SOURCES,
    "complete": tuple(s for s in TEACHER_SOURCES if s not in PARTIAL_SOURCES),  # every type of a passage labelled
    # the ChatGPT-labelled Pile passages (the paper's data, which carry most of the default mix's
    # types: notebook 02) drawn twice as often a round as in the default mix
    "pile x2": (*(f"{s}*{2 * SOURCE_WEIGHTS[s]}" for s in PARTIAL_SOURCES if s in SOURCE_WEIGHTS),
                *(s for s in TEACHER_SOURCES if s not in SOURCE_WEIGHTS)),
    # the diverse mix with Few-NERD drawn four times a round: its human labels cover every fine
    # type of a passage (athlete, politician, political party, award, software...), so it takes four
    # of every 22 draws a round instead of one of every 19
    "few-nerd x4": (*TEACHER_SOURCES, "few_nerd*4", "gliner_sample"),
}


def source_weight(item: str) -> tuple[str, int]:
    """A source of a mix and its draws per round: ``name*N`` or ``name`` (its
    :data:`SOURCE_WEIGHTS` entry, else 1)."""
    name, star, count = item.partition("*")
    if not star:
        return item, SOURCE_WEIGHTS.get(item, 1)
    if not count.isdigit() or int(count) < 1:
        raise DataError(f"source {item!r}: the draws per round after '*' must be a positive whole number")
    return name, int(count)


def split_weights(sources: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """A mix's source names and their draws per round (:func:`source_weight` of each), as
    :func:`unerlib.construct.sample_passages` takes them."""
    weighted = [source_weight(s) for s in sources]
    return [name for name, _ in weighted], dict(weighted)


def teacher_sources(spec: str) -> tuple[str, ...]:
    """The teacher's corpora for a ``sources`` parameter: a mix name of
    :data:`SOURCE_MIXES` or a comma list of teacher sources (each may end in ``*N``, its
    draws per round: :func:`source_weight`)."""
    if spec in SOURCE_MIXES:
        return SOURCE_MIXES[spec]
    names = tuple(s.strip() for s in spec.split(",") if s.strip())
    bad = [n for n in names if source_weight(n)[0] not in DIVERSE_SOURCES and not n.startswith(("file:", "hf:"))]
    if bad or not names:
        raise DataError(f"sources {spec!r}: {bad or 'nothing'} is not a teacher source; give a mix "
                        f"({', '.join(SOURCE_MIXES)}) or a comma list of {', '.join(DIVERSE_SOURCES)}")
    return names


def dataset_role(name: str) -> str:
    """``zero-shot``, ``validation``, ``teacher source``, ``duplicate`` or ``evaluation``."""
    if name in ZERO_SHOT:
        return "zero-shot"
    if name in VALIDATION:
        return "validation"
    if name in DIVERSE_SOURCES:
        return "teacher source"
    if name in DUPLICATES:
        return "duplicate"
    get_spec(name)
    return "evaluation"


@dataclass(frozen=True)
class DatasetSpec:
    """One corpus: where its files are, how to read them, and how to name its types."""

    name: str
    domain: str
    reader: str
    splits: dict[str, tuple[str, ...]]
    reader_kwargs: dict[str, Any] = field(default_factory=dict)
    type_map: dict[str, str] = field(default_factory=dict)
    exclude_types: tuple[str, ...] = ()
    types: tuple[str, ...] = ()  # declared type list (natural names), in the official order
    official: dict[str, str] = field(default_factory=dict)  # split -> UniNER eval JSON
    note: str = ""
    #: sentences read in a seeded random order (``None``: the files' order), so that the first N
    #: are a sample of the split, not its opening (MultiCoNER II dev opens with person names)
    shuffle_seed: int | None = None

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise ValueError(f"{self.name}: unknown domain {self.domain!r}")
        if self.reader not in READERS:
            raise ValueError(f"{self.name}: unknown reader {self.reader!r}")

    @property
    def zero_shot(self) -> bool:
        return self.name in ZERO_SHOT


_TSV = {"token_col": 0, "tag_col": 1, "sep": "\t", "ncols": 2}
_IDX = {"token_col": 1, "tag_col": 2, "sep": "\t", "ncols": 3}
_TAG_FIRST = {"token_col": 1, "tag_col": 0, "sep": "\t", "ncols": 2}
_CONLL03 = {"token_col": 0, "tag_col": 3, "sep": None, "ncols": 4}
_MULTICONER = {**_CONLL03, "comment": "# id"}  # MultiCoNER II: CoNLL columns, a "# id" line before each sentence
#: the coarse views' type list, in the order they are asked (MULTICONER_COARSE maps the fine types to them)
MULTICONER_COARSE_TYPES = ("person", "location", "group", "creative work", "product", "medical entity")
_SPACE2 = {"token_col": 0, "tag_col": 1, "sep": None, "ncols": 2}
_SO = {"token_col": 0, "tag_col": 1, "sep": "\t", "ncols": 4}
_ANEM = {"token_col": 0, "tag_col": 3, "sep": "\t", "ncols": 4, "offset_cols": (1, 2)}


def _tsv3(folder: str, ext: str = "tsv", dev: str = "devel") -> dict[str, tuple[str, ...]]:
    return {"train": (f"{folder}/train.{ext}",), "dev": (f"{folder}/{dev}.{ext}",), "test": (f"{folder}/test.{ext}",)}


def _crossner(domain_name: str, domain: str, types: tuple[str, ...]) -> DatasetSpec:
    file_name = {"ai": "CrossNER_AI"}.get(domain_name, f"CrossNER_{domain_name}")
    return DatasetSpec(
        f"crossner_{domain_name}", domain, "columns", _tsv3(f"raw/crossner/{domain_name}", "txt", "dev"),
        _TSV, exclude_types=("misc",), types=types,
        official={"test": f"zeroshot/{file_name}.json"},
        note="CrossNER (Liu et al. 2021); misc is left out, as in the UniNER eval files",
    )


_MIT_RESTAURANT_TYPES = ("Amenity", "Cuisine", "Dish", "Hours", "Location", "Price", "Rating", "Restaurant Name")

SPECS: tuple[DatasetSpec, ...] = (
    # -- the seven zero-shot sets
    DatasetSpec("mit_movie", "general", "instructuie_json",
                {"train": ("zeroshot/raw/mit-movie/train.json",), "test": ("zeroshot/raw/mit-movie/test.json",)},
                types=("genre", "actor", "year", "title", "rating", "plot", "director",
                       "average ratings", "character", "review", "song", "trailer"),
                note="InstructUIE JSON of MIT Movie 'eng' (2,442 test sentences); no official UniNER file here"),
    DatasetSpec("mit_restaurant", "general", "instructuie_json",
                {"train": ("raw/mit-restaurant/train.json",), "test": ("raw/mit-restaurant/test.json",)},
                types=_MIT_RESTAURANT_TYPES, official={"test": "zeroshot/mit-restaurant.json"},
                note="InstructUIE JSON; the same 1,520 test sentences as the UniNER eval file"),
    _crossner("ai", "STEM", ("organization", "university", "location", "person", "conference", "country",
                             "researcher", "task", "product", "algorithm", "program language", "field", "metrics")),
    _crossner("literature", "general", ("writer", "book", "literary genre", "person", "award", "poem",
                                        "organization", "country", "location", "magazine", "event")),
    _crossner("music", "general", ("musical artist", "music genre", "band", "location", "album", "award", "song",
                                   "organization", "country", "person", "event", "musical instrument")),
    _crossner("politics", "general", ("political party", "location", "organization", "politician", "election",
                                      "country", "person", "event")),
    _crossner("science", "STEM", ("scientist", "astronomical object", "organization", "person", "academic journal",
                                  "location", "chemical compound", "protein", "award", "university",
                                  "chemical element", "enzyme", "discipline", "event", "country", "theory")),
    # -- variants of the MIT sets in their original BIO form (tag first)
    DatasetSpec("mit_movie_bio", "general", "columns",
                {"train": ("zeroshot/raw/mit-movie-bio/train.txt",), "test": ("zeroshot/raw/mit-movie-bio/test.txt",)},
                _TAG_FIRST, note="original MIT Movie 'eng' BIO (2,443 test sentences)"),
    DatasetSpec("mit_restaurant_bio", "general", "columns",
                {"train": ("raw/mit-restaurant-bio/train.txt",), "test": ("raw/mit-restaurant-bio/test.txt",)},
                _TAG_FIRST, types=_MIT_RESTAURANT_TYPES, type_map={"Restaurant_Name": "Restaurant Name"},
                note="original MIT Restaurant BIO; type names as the UniNER eval file spells them"),
    # -- general
    DatasetSpec("conll2003", "general", "columns", _tsv3("raw/crossner/conll2003", "txt", "dev"), _TSV,
                note="CoNLL-2003 English, CrossNER's copy"),
    DatasetSpec("wikiann_en", "general", "columns",
                {"train": ("raw/wikiann-en/train.conllu",), "dev": ("raw/wikiann-en/val.conllu",),
                 "test": ("raw/wikiann-en/test.conllu",)}, _IDX),
    DatasetSpec("wikineural_en", "general", "columns",
                {"dev": ("raw/wikineural-en/val.conllu",), "test": ("raw/wikineural-en/test.conllu",)}, _IDX,
                note="train split absent from the snapshot"),
    DatasetSpec("wikigold", "general", "columns", {"all": ("raw/wikigold/wikigold.conll.txt",)}, _SPACE2,
                note="IOB1; no official split"),
    DatasetSpec("gum", "general", "columns",
                {"train": ("raw/gum/gum-train.conll",), "test": ("raw/gum/gum-test.conll",)}, _TSV),
    DatasetSpec("re3d", "general", "columns",
                {"train": ("raw/re3d/re3d-train.conll",), "test": ("raw/re3d/re3d-test.conll",)}, _TSV,
                note="defence and security reports"),
    DatasetSpec("pile_ner_sample", "general", "slimer_jsonl",
                {"validation": ("raw/pile-ner-slimer/FalseDef/validation.jsonl",)},
                note="real ChatGPT annotations of Pile passages (SLIMER's sample of Pile-NER-type)"),
    DatasetSpec("pile_ner_types", "general", "slimer_types_json",
                {"all": ("raw/pile-ner-slimer/questions/sentences_per_ne_type.json",)},
                note="ChatGPT-annotated Pile sentences for 455 types (one type per example)"),
    # -- fine and free-form types (MANIFEST section 6); the validation suite is here
    DatasetSpec("multiconer2", "general", "columns",
                {"train": ("raw/multiconer2-en/en-train10.conll", "raw/multiconer2-en/en-train90.conll"),
                 "dev": ("raw/multiconer2-en/en-dev.conll",)},
                _MULTICONER,
                note="MultiCoNER II English, 33 fine types, lower-cased short sentences; dev is validation"),
    DatasetSpec("figer_gold", "general", "token_spans_json", {"test": ("raw/figer-gold/figer_gold.json",)},
                note="FIGER gold (Ling & Weld 2012), 43 hierarchical types; a mention is gold for every "
                     "label of its path; validation"),
    # coarse views of the same sentences: a handful of broad types, as the zero-shot sets ask
    DatasetSpec("multiconer2_coarse", "general", "columns", {"dev": ("raw/multiconer2-en/en-dev.conll",)},
                _MULTICONER,
                type_map=MULTICONER_COARSE,
                types=MULTICONER_COARSE_TYPES, note="MultiCoNER II dev under its six coarse groups; validation"),
    # the same dev sentences in a seeded random order: the file opens with a run of person names
    # (three in four gold mentions of its first 200 sentences), so its first sentences are no sample
    DatasetSpec("multiconer2_sample", "general", "columns", {"dev": ("raw/multiconer2-en/en-dev.conll",)},
                _MULTICONER, shuffle_seed=0,
                note="MultiCoNER II dev (33 fine types) in a seeded random order; validation"),
    DatasetSpec("multiconer2_coarse_sample", "general", "columns", {"dev": ("raw/multiconer2-en/en-dev.conll",)},
                _MULTICONER,
                type_map=MULTICONER_COARSE,
                types=MULTICONER_COARSE_TYPES, shuffle_seed=0,
                note="MultiCoNER II dev under its six coarse groups, in a seeded random order; validation"),
    # the same sample asked with its type names in title case ("Creative Work"), as the official MIT
    # Restaurant file spells its own ("Restaurant Name"); every type name the teacher data asks is lower-case
    DatasetSpec("multiconer2_coarse_titled", "general", "columns", {"dev": ("raw/multiconer2-en/en-dev.conll",)},
                _MULTICONER,
                type_map={raw: title_case(name) for raw, name in MULTICONER_COARSE.items()},
                types=tuple(title_case(t) for t in MULTICONER_COARSE_TYPES), shuffle_seed=0,
                note="MultiCoNER II dev under its six coarse groups, in title case, in a seeded random order; "
                     "validation"),
    DatasetSpec("figer_gold_coarse", "general", "token_spans_json", {"test": ("raw/figer-gold/figer_gold.json",)},
                {"max_depth": 1}, note="FIGER gold's top-level types only (15 of its 43); validation"),
    DatasetSpec("wfb_1k", "general", "token_spans_json",
                {"dev": ("raw/hands-1k-wfb-g/fner_dev.json",), "test": ("raw/hands-1k-wfb-g/fner_test.json",)},
                note="1k-WFB-g (HAnDS), Wikipedia, 117 FIGER types; dev is validation"),
    DatasetSpec("few_nerd", "general", "columns",
                {"train": ("raw/few-nerd-structshot/dev.txt", "raw/few-nerd-structshot/test.txt",
                           "raw/few-nerd-structshot/big_test.txt")}, _TSV, type_map=FEW_NERD_NAMES,
                note="Few-NERD INTER (human labels, 53 fine types), Wikipedia: structshot's dev and test (drawn "
                     "from inter train) and big_test (inter test); a teacher source only, so all of it is 'train'"),
    DatasetSpec("gliner_sample", "general", "gliner_json", {"train": ("raw/gliner-sample/sample_data.json",)},
                note="GLiNER's example data: LLM-annotated passages with 144 free-form labels"),
    # -- biomedical
    DatasetSpec("anatem", "biomedical", "columns", _tsv3("raw/anatem"), _TSV),
    DatasetSpec("bc2gm", "biomedical", "columns", _tsv3("raw/bc2gm"), _TSV),
    DatasetSpec("bc5cdr", "biomedical", "columns", _tsv3("raw/bc5cdr"), _TSV),
    DatasetSpec("ncbi_disease", "biomedical", "columns", _tsv3("raw/ncbi-disease"), _TSV),
    DatasetSpec("jnlpba", "biomedical", "columns",
                {"dev": ("raw/jnlpba/devel.tsv",), "test": ("raw/jnlpba/test.tsv",)}, _TSV,
                note="train split absent from the snapshot"),
    DatasetSpec("genia", "biomedical", "w2ner_json", {"test": ("raw/genia/test.json",)},
                note="nested mentions, all kept"),
    DatasetSpec("biored", "biomedical", "pubtator",
                {"train": ("raw/biored/Train.PubTator",), "dev": ("raw/biored/Dev.PubTator",),
                 "test": ("raw/biored/Test.PubTator",)}, note="one passage per abstract"),
    DatasetSpec("anem", "biomedical", "columns",
                {"train": ("raw/anem/AnEM.train",), "test": ("raw/anem/AnEM.test",)}, _ANEM),
    *(DatasetSpec(name, "biomedical", "columns", {"test": (f"raw/{folder}/test.tsv",)}, _TSV, note="test only")
      for name, folder in (("bionlp09", "bionlp09"), ("bionlp11epi", "bionlp11epi"), ("bionlp11id", "bionlp11id"),
                           ("bionlp13ge", "bionlp13ge"), ("bionlp13pc", "bionlp13pc"), ("craft", "craft"),
                           ("ex_ptm", "ex-ptm"), ("linnaeus", "linnaeus"))),
    # -- clinical
    DatasetSpec("cadec", "clinical", "w2ner_json",
                {"train": ("raw/cadec/train.json",), "dev": ("raw/cadec/dev.json",), "test": ("raw/cadec/test.json",)},
                note="drug-review posts; discontinuous mentions keep their own tokens"),
    # -- social media
    DatasetSpec("broad_twitter", "social media", "columns",
                {"train": tuple(f"raw/broad-tweet-corpus/{s}.conll" for s in "abefg"),
                 "test": ("raw/broad-tweet-corpus/h.conll",)}, _TSV,
                note="sections a, b, e, f, g as train and h as test (our choice; the source has no split file)"),
    DatasetSpec("wnut16", "social media", "columns",
                {"train": ("raw/wnut16/train",), "dev": ("raw/wnut16/dev",), "test": ("raw/wnut16/test",)}, _TSV,
                note="train is Ritter (2011)"),
    DatasetSpec("ritter", "social media", "columns", {"all": ("raw/ritter/ner.txt",)}, _TSV,
                note="the same tweets as wnut16 train"),
    DatasetSpec("wnut17", "social media", "columns",
                {"train": ("raw/wnut17/wnut17train.conll",), "dev": ("raw/wnut17/emerging.dev.conll",),
                 "test": ("raw/wnut17/emerging.test.annotated",)}, _TSV),
    # -- programming
    DatasetSpec("stackoverflow", "programming", "columns",
                {"train": ("raw/stackoverflow-ner/train.txt",), "dev": ("raw/stackoverflow-ner/dev.txt",),
                 "test": ("raw/stackoverflow-ner/test.txt",), "github_test": ("raw/stackoverflow-ner/GH_test_set.txt",)},
                _SO),
    # -- finance
    DatasetSpec("sec_filings", "finance", "columns",
                {"train": ("raw/sec-filings/FIN5.txt",), "test": ("raw/sec-filings/FIN3.txt",)}, _CONLL03,
                note="CoNLL-2003 four columns, IOB1"),
    # -- law
    DatasetSpec("e_ner", "law", "csv_tokens", {"all": ("raw/e-ner/all.csv",)}, {"lenient_tags": True},
                note="a few malformed tags ('P', empty) read as O"),
)

REGISTRY: dict[str, DatasetSpec] = {spec.name: spec for spec in SPECS}


def get_spec(name: str) -> DatasetSpec:
    """The spec of a registered dataset; a clear error lists the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def dataset_files(name: str, split: str, root: str | os.PathLike | None = None) -> list[Path]:
    """Absolute paths of one split's files."""
    spec = get_spec(name)
    if split not in spec.splits:
        raise DataError(f"dataset {name!r} has no split {split!r}; it has {', '.join(spec.splits)}")
    base = data_dir(root)
    return [base / rel for rel in spec.splits[split]]


def load_dataset(name: str, split: str, root: str | os.PathLike | None = None) -> list[Record]:
    """Read one split of a registered dataset, with natural-language type names."""
    spec = get_spec(name)
    reader = READERS[spec.reader]
    excluded = set(spec.exclude_types)
    names = {**{t: t for t in spec.types}, **spec.type_map}  # declared names are kept as spelled
    records: list[Record] = []
    for path in dataset_files(name, split, root):
        for rec in reader(path, **spec.reader_kwargs):
            raw_types = rec.types
            mentions = [Mention(m.text, natural_type(m.type, names), m.start, m.end)
                        for m in rec.mentions if m.type not in excluded]
            types = None if raw_types is None else tuple(natural_type(t, names) for t in raw_types)
            records.append(Record(f"{name}/{split}/{len(records)}", rec.text, mentions, types))
    if spec.shuffle_seed is not None:
        import random

        random.Random(spec.shuffle_seed).shuffle(records)
        records = [Record(f"{name}/{split}/{i}", r.text, r.mentions, r.types) for i, r in enumerate(records)]
    return records


def dataset_types(name: str, records: list[Record] | None = None) -> list[str]:
    """The dataset's type list: the declared one, else the types seen in ``records``."""
    spec = get_spec(name)
    if spec.types:
        return list(spec.types)
    seen: dict[str, None] = {}
    for rec in records or []:
        for t in rec.types or ():
            seen.setdefault(t)
        for m in rec.mentions:
            seen.setdefault(m.type)
    return sorted(seen)


def dataset_stats(names: list[str] | None = None, root: str | os.PathLike | None = None):
    """A tidy table, one row per (dataset, split): domain, zero-shot flag, sentences,
    mentions, and the split's types (natural names)."""
    import pandas as pd

    rows = []
    for name in names or list(REGISTRY):
        spec = get_spec(name)
        for split in spec.splits:
            records = load_dataset(name, split, root)
            types = dataset_types(name, records)
            rows.append({
                "dataset": name, "domain": spec.domain, "zero_shot": spec.zero_shot,
                "role": dataset_role(name), "split": split,
                "sentences": len(records), "mentions": sum(len(r.mentions) for r in records),
                "n_types": len(types), "types": ", ".join(types),
            })
    return pd.DataFrame(rows)


def overview_table(stats):
    """One row per dataset: domain, split sizes (``train 100 / test 431``), totals and types."""
    import pandas as pd

    rows = []
    for name, group in stats.groupby("dataset", sort=False):
        types = sorted({t for ts in group["types"] for t in ts.split(", ") if t})
        rows.append({
            "dataset": name, "domain": group["domain"].iloc[0], "role": group["role"].iloc[0],
            "splits": " / ".join(f"{s} {n:,}" for s, n in zip(group["split"], group["sentences"])),
            "sentences": int(group["sentences"].sum()), "mentions": int(group["mentions"].sum()),
            "types": len(types), "type names": ", ".join(types),
        })
    return pd.DataFrame(rows)


def domain_table(stats):
    """Datasets, sentences, mentions and types per domain, every domain of the paper listed
    (a domain with no data shows zeros and ``has data`` False)."""
    import pandas as pd

    rows = []
    for domain in DOMAINS:
        sub = stats[stats["domain"] == domain]
        types = {t for ts in sub["types"] for t in ts.split(", ") if t}
        rows.append({"domain": domain, "datasets": sub["dataset"].nunique(),
                     "sentences": int(sub["sentences"].sum()), "mentions": int(sub["mentions"].sum()),
                     "types": len(types), "has data": not sub.empty})
    return pd.DataFrame(rows)
