"""The dataset registry: natural type names, domains, and (integration) every split of the shared data."""

from __future__ import annotations

from collections import Counter

import pytest

from unerlib.data import READERS, DataError
from unerlib.registry import (
    DOMAINS,
    REGISTRY,
    SPECS,
    ZERO_SHOT,
    DatasetSpec,
    dataset_files,
    dataset_types,
    domain_table,
    get_spec,
    load_dataset,
    natural_type,
)

# --------------------------------------------------------------------------- natural_type


@pytest.mark.parametrize("raw, natural", [
    ("organisation", "organization"),
    ("programlang", "program language"),
    ("musicalartist", "musical artist"),
    ("B-Multi-tissue_structure", "multi-tissue structure"),
    ("GeneOrGeneProduct", "gene or gene product"),
    ("PER", "person"),
    ("I-PER", "person"),
    ("LOC", "location"),
    ("ORG", "organization"),
    ("MISC", "miscellaneous"),
    ("DNA", "DNA"),
    ("B-DNA", "DNA"),
    ("RNA", "RNA"),
    ("cell_type", "cell type"),
    ("Gene_or_gene_product", "gene or gene product"),
    ("DiseaseOrPhenotypicFeature", "disease or phenotypic feature"),
    ("geo-loc", "location"),
    ("LEGISLATION/ACT", "legislation or act"),
    ("RATINGS_AVERAGE", "average ratings"),
    ("User_Interface_Element", "user interface element"),
    ("Restaurant_Name", "restaurant name"),
    ("  B-PER ", "person"),
])
def test_natural_type(raw, natural):
    assert natural_type(raw) == natural


def test_natural_type_overrides_win():
    assert natural_type("PER", {"PER": "people"}) == "people"
    assert natural_type("B-Restaurant_Name", {"Restaurant_Name": "Restaurant Name"}) == "Restaurant Name"


# --------------------------------------------------------------------------- specs


def test_nine_domains():
    assert len(DOMAINS) == 9 and len(set(DOMAINS)) == 9


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_spec_is_well_formed(name):
    spec = REGISTRY[name]
    assert spec.name == name
    assert spec.domain in DOMAINS
    assert spec.reader in READERS
    assert spec.splits and all(spec.splits.values())
    assert all(not rel.startswith("/") for files in spec.splits.values() for rel in files)
    assert set(spec.official) <= set(spec.splits)


def test_registry_names_are_unique():
    assert len(REGISTRY) == len(SPECS)


def test_zero_shot_sets_are_registered():
    assert len(ZERO_SHOT) == 7
    for name in ZERO_SHOT:
        assert get_spec(name).zero_shot
        assert "test" in get_spec(name).splits
    assert not get_spec("conll2003").zero_shot


def test_bad_domain_or_reader_is_rejected():
    with pytest.raises(ValueError, match="domain"):
        DatasetSpec("x", "cooking", "columns", {"test": ("x",)})
    with pytest.raises(ValueError, match="reader"):
        DatasetSpec("x", "general", "xml", {"test": ("x",)})


def test_declared_types():
    assert dataset_types("crossner_ai") == [
        "organization", "university", "location", "person", "conference", "country", "researcher", "task",
        "product", "algorithm", "program language", "field", "metrics",
    ]
    assert len(dataset_types("mit_movie")) == 12
    assert "misc" in get_spec("crossner_ai").exclude_types


def test_types_from_records_when_undeclared():
    from unerlib.data import Mention, Record

    recs = [Record("a", "x y", [Mention("x", "person", 0, 1)], ("place",)), Record("b", "z", [])]
    assert dataset_types("wikigold", recs) == ["person", "place"]


def test_dataset_files_paths(tmp_path):
    files = dataset_files("crossner_ai", "test", root=tmp_path)
    assert files == [tmp_path.resolve() / "raw/crossner/ai/test.txt"]
    assert len(dataset_files("broad_twitter", "train", root=tmp_path)) == 5


# --------------------------------------------------------------------------- integration: the shared data

ALL_SPLITS = [(name, split) for name, spec in REGISTRY.items() for split in spec.splits]


@pytest.mark.data
@pytest.mark.parametrize("name, split", ALL_SPLITS, ids=[f"{n}-{s}" for n, s in ALL_SPLITS])
def test_every_split_loads(data_root, name, split):
    records = load_dataset(name, split, data_root)
    assert len(records) >= 1
    assert sum(len(r.mentions) for r in records) >= 1
    assert len({r.id for r in records}) == len(records)
    spec = get_spec(name)
    for rec in records:
        # one source block (broad_twitter h.conll line 30879, a lone empty token) reads as an empty passage
        assert rec.text or not rec.mentions
        for m in rec.mentions:
            assert 0 <= m.start < m.end <= len(rec.text), (name, rec.text, m)
            assert m.type and not m.type.startswith(("B-", "I-")), m
            assert m.type not in spec.exclude_types
            span = rec.text[m.start:m.end]
            if span != m.text:
                # only a discontinuous W2NER mention: its own tokens, in order, from the first to the last
                assert spec.reader == "w2ner_json", (name, rec.text, m)
                words = m.text.split()
                assert span.startswith(words[0]) and span.endswith(words[-1])
                pos = 0
                for w in words:
                    pos = span.find(w, pos)
                    assert pos >= 0, (span, m.text)
                    pos += len(w)
    if spec.types:
        assert {m.type for r in records for m in r.mentions} <= set(spec.types)


# Mention counts from MANIFEST.md (test splits; CrossNER without misc).
MANIFEST_MENTIONS = {
    ("crossner_ai", "test"): 1628,       # 1,809 raw test mentions minus 181 misc
    ("bionlp11id", "test"): 3810,
    ("e_ner", "all"): 8821,
    ("mit_movie", "test"): 5338,
    ("anatem", "test"): 4616,
    ("bc5cdr", "test"): 5385 + 4424,
    ("ncbi_disease", "test"): 960,
    ("jnlpba", "test"): 5067 + 1921 + 1056 + 500 + 118,
    ("genia", "test"): 3084 + 1262 + 606 + 445 + 109,
    ("biored", "test"): 1180 + 917 + 754 + 393 + 241 + 50,
    ("cadec", "test"): 990,
    ("wnut17", "test"): 429 + 165 + 150 + 142 + 127 + 66,
    ("sec_filings", "test"): 216 + 56 + 39 + 7,
    ("wikigold", "all"): 1014 + 934 + 898 + 712,
    ("mit_restaurant", "test"): 812 + 533 + 532 + 402 + 287 + 212 + 201 + 171,
}

MANIFEST_SENTENCES = {
    ("crossner_ai", "train"): 100, ("crossner_ai", "dev"): 350, ("crossner_ai", "test"): 431,
    ("crossner_politics", "test"): 651, ("conll2003", "train"): 14041, ("mit_movie", "test"): 2442,
    ("mit_movie_bio", "test"): 2443, ("wikigold", "all"): 1696, ("e_ner", "all"): 11644,
    ("stackoverflow", "test"): 4940, ("genia", "test"): 1854, ("biored", "test"): 100,
    ("anem", "test"): 1882, ("broad_twitter", "test"): 2001, ("ritter", "all"): 2394,
}


@pytest.mark.data
@pytest.mark.parametrize("key, expected", sorted(MANIFEST_MENTIONS.items()), ids=lambda v: str(v))
def test_manifest_mention_counts(data_root, key, expected):
    records = load_dataset(*key, root=data_root)
    assert sum(len(r.mentions) for r in records) == expected


@pytest.mark.data
@pytest.mark.parametrize("key, expected", sorted(MANIFEST_SENTENCES.items()), ids=lambda v: str(v))
def test_manifest_sentence_counts(data_root, key, expected):
    assert len(load_dataset(*key, root=data_root)) == expected


@pytest.mark.data
def test_crossner_ai_type_counts(data_root):
    counts = Counter(m.type for r in load_dataset("crossner_ai", "test", data_root) for m in r.mentions)
    assert counts == {
        "task": 219, "field": 207, "product": 198, "metrics": 191, "algorithm": 177, "researcher": 160,
        "organization": 145, "conference": 93, "person": 67, "program language": 60, "country": 44,
        "location": 39, "university": 28,
    }


@pytest.mark.data
def test_anem_type_names_and_counts(data_root):
    counts = Counter(m.type for r in load_dataset("anem", "test", data_root) for m in r.mentions)
    assert counts["multi-tissue structure"] == 247
    assert counts["pathological formation"] == 150
    assert counts["cell"] == 304


@pytest.mark.data
def test_biored_type_names(data_root):
    counts = Counter(m.type for r in load_dataset("biored", "test", data_root) for m in r.mentions)
    assert counts["gene or gene product"] == 1180
    assert counts["cell line"] == 50


@pytest.mark.data
def test_mit_restaurant_bio_matches_instructuie_names(data_root):
    bio = {m.type for r in load_dataset("mit_restaurant_bio", "test", data_root) for m in r.mentions}
    assert bio == set(dataset_types("mit_restaurant"))


@pytest.mark.data
def test_load_dataset_reads_env(data_root, monkeypatch):
    monkeypatch.setenv("UNER_DATA_DIR", str(data_root))
    assert len(load_dataset("crossner_ai", "train")) == 100


@pytest.mark.data
def test_domain_table_lists_every_domain(data_root):
    from unerlib.registry import dataset_stats

    stats = dataset_stats(["crossner_ai", "anatem", "e_ner"], data_root)
    table = domain_table(stats)
    assert list(table["domain"]) == list(DOMAINS)
    by_domain = table.set_index("domain")
    assert bool(by_domain.loc["transportation", "has data"]) is False
    assert by_domain.loc["transportation", "mentions"] == 0
    assert by_domain.loc["STEM", "mentions"] == 489 + 1369 + 1628
    assert by_domain.loc["law", "mentions"] == 8821


def test_unknown_split_error_without_data(monkeypatch):
    monkeypatch.delenv("UNER_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="no split 'dev'"):
        dataset_files("genia", "dev")
