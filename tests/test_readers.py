"""The readers of unerlib.data, one hand-written fixture per file format, and their errors."""

from __future__ import annotations

import json

import pytest

from unerlib.data import (
    READERS,
    DataError,
    Mention,
    Record,
    data_dir,
    read_columns,
    read_csv_tokens,
    read_instructuie_json,
    read_pubtator,
    read_w2ner_json,
    tokens_to_record,
)
from unerlib.readers_conversation import find_spans, iter_uniner_conversations, read_slimer_jsonl, read_uniner_json
from unerlib.registry import dataset_files, get_spec, load_dataset


def _read_as(dataset: str, path):
    """Read ``path`` with the reader and options the registry uses for ``dataset``."""
    spec = get_spec(dataset)
    return READERS[spec.reader](path, **spec.reader_kwargs)


def _mentions(rec: Record) -> list[tuple[str, str, int, int]]:
    return [(m.text, m.type, m.start, m.end) for m in rec.mentions]


def _check_spans(records: list[Record]) -> None:
    for rec in records:
        for m in rec.mentions:
            assert rec.text[m.start:m.end] == m.text, (rec.text, m)


# --------------------------------------------------------------------------- BIO / IOB1 rules


def test_bio_rules_on_tokens():
    tokens = ["Apple", "Inc", "Google", "and", "Paris", "Berlin", "London", "."]
    tags = ["B-ORG", "I-ORG", "B-ORG", "O", "I-LOC", "B-LOC", "I-ORG", "O"]
    rec = tokens_to_record("r", tokens, tags)
    assert rec.text == "Apple Inc Google and Paris Berlin London ."
    assert _mentions(rec) == [
        ("Apple Inc", "ORG", 0, 9),    # B- starts, I- of the same type continues
        ("Google", "ORG", 10, 16),     # B- starts a new mention even after the same type
        ("Paris", "LOC", 21, 26),      # I- after O starts
        ("Berlin", "LOC", 27, 33),     # B- starts
        ("London", "ORG", 34, 40),     # I- of a different type starts
    ]


def test_iob1_rules_on_tokens():
    # IOB1: I- everywhere, B- only between two adjacent mentions of the same type.
    tokens = ["Paul", "McCartney", "George", "Real", "Madrid", "Spain", "x", "Bob"]
    tags = ["I-PER", "I-PER", "B-PER", "I-ORG", "I-ORG", "I-LOC", "O", "I-PER"]
    rec = tokens_to_record("r", tokens, tags)
    assert [(m.text, m.type) for m in rec.mentions] == [
        ("Paul McCartney", "PER"), ("George", "PER"), ("Real Madrid", "ORG"), ("Spain", "LOC"), ("Bob", "PER"),
    ]
    _check_spans([rec])


def test_mention_at_sentence_end_is_flushed():
    rec = tokens_to_record("r", ["Visit", "New", "York"], ["O", "B-LOC", "I-LOC"])
    assert _mentions(rec) == [("New York", "LOC", 6, 14)]


# --------------------------------------------------------------------------- column formats


def test_bio_tsv(fixtures):
    recs = _read_as("crossner_ai", fixtures / "bio.tsv")  # token<TAB>tag, BIO
    assert [r.text for r in recs] == [
        "John Smith lives in New York .",
        "Apple Inc Google and Paris Berlin London .",
        "Visit Rome",  # after a whitespace-only line, last line without a newline
    ]
    assert _mentions(recs[0]) == [("John Smith", "PER", 0, 10), ("New York", "LOC", 20, 28)]
    assert _mentions(recs[1]) == [
        ("Apple Inc", "ORG", 0, 9), ("Google", "ORG", 10, 16), ("Paris", "LOC", 21, 26),
        ("Berlin", "LOC", 27, 33), ("London", "ORG", 34, 40),
    ]
    assert _mentions(recs[2]) == [("Rome", "LOC", 6, 10)]
    assert all(r.types is None for r in recs)
    assert len({r.id for r in recs}) == 3
    _check_spans(recs)


def test_wikigold_iob1_space_separated(fixtures):
    recs = _read_as("wikigold", fixtures / "wikigold_iob1.txt")
    assert [r.text for r in recs] == [
        "The Beatles met John Lennon in Liverpool .",
        "Paul George sang",   # ended by a -DOCSTART- line, no blank line before it
        "Real Madrid Spain",
    ]
    assert _mentions(recs[0]) == [
        ("Beatles", "ORG", 4, 11), ("John Lennon", "PER", 16, 27), ("Liverpool", "LOC", 31, 40),
    ]
    assert _mentions(recs[1]) == [("Paul", "PER", 0, 4), ("George", "PER", 5, 11)]
    assert _mentions(recs[2]) == [("Real Madrid", "ORG", 0, 11), ("Spain", "LOC", 12, 17)]
    assert not any("DOCSTART" in r.text for r in recs)
    _check_spans(recs)


def test_conllu_idx_token_tag(fixtures):
    recs = _read_as("wikiann_en", fixtures / "wikiann.conllu")
    assert [r.text for r in recs] == ["Shortly afterward , Barack Obama visited Kenya .", "UNICEF helped"]
    assert _mentions(recs[0]) == [("Barack Obama", "PER", 20, 32), ("Kenya", "LOC", 41, 46)]
    assert _mentions(recs[1]) == [("UNICEF", "ORG", 0, 6)]
    _check_spans(recs)


def test_anem_keeps_source_spacing(fixtures):
    recs = _read_as("anem", fixtures / "anem.tsv")
    # "(GA)" has no gaps in the source; "in" is three characters after ")".
    assert recs[0].text == "Biopsy of gastric adenoma (GA)   in stomach."
    assert _mentions(recs[0]) == [
        ("gastric adenoma", "Pathological_formation", 10, 25),
        ("GA", "Pathological_formation", 27, 29),
        ("stomach", "Organ", 36, 43),
    ]
    # offsets are relative to the sentence's first token
    assert recs[1].text == "Cells"
    assert _mentions(recs[1]) == [("Cells", "Cell", 0, 5)]
    _check_spans(recs)


def test_conll2003_four_columns_iob1(fixtures):
    recs = _read_as("sec_filings", fixtures / "conll03.txt")  # token POS chunk tag
    assert [r.text for r in recs] == [
        "UN backs Dutch plan to help Kenyan farmers .", "Anna Berg", "OSLO 2001-03-04",
    ]
    assert _mentions(recs[0]) == [("UN", "ORG", 0, 2), ("Dutch", "MISC", 9, 14), ("Kenyan", "MISC", 28, 34)]
    assert _mentions(recs[1]) == [("Anna Berg", "PER", 0, 9)]
    assert _mentions(recs[2]) == [("OSLO", "LOC", 0, 4)]
    _check_spans(recs)


def test_mit_tag_first(fixtures):
    recs = _read_as("mit_movie_bio", fixtures / "mit_tag_first.txt")
    assert [r.text for r in recs] == ["what romantic comedies starring tom hanks", "1990s movies"]
    assert _mentions(recs[0]) == [("romantic comedies", "GENRE", 5, 22), ("tom hanks", "ACTOR", 32, 41)]
    assert _mentions(recs[1]) == [("1990s", "YEAR", 0, 5)]
    _check_spans(recs)


def test_stackoverflow_four_tab_columns(fixtures):
    recs = _read_as("stackoverflow", fixtures / "stackoverflow.txt")
    # segments are separated by lines holding one TAB
    assert [r.text for r in recs] == ["Question_ID : 424242", "I use jQuery with Visual Studio"]
    assert recs[0].mentions == []
    assert _mentions(recs[1]) == [("jQuery", "Library", 6, 12), ("Visual Studio", "Application", 18, 31)]
    _check_spans(recs)


# --------------------------------------------------------------------------- E-NER CSV


def test_e_ner_csv_lenient(fixtures):
    recs = read_csv_tokens(fixtures / "e_ner.csv", lenient_tags=True)
    assert [r.text for r in recs] == [
        "Check the Acme Corp , Inc. filing",          # the CSV-quoted "," is a token
        "Securities Act Description of Guarantees",    # ,O ended the previous segment
        "New York",                                    # -DOCSTART-,O ended the filing
    ]
    assert _mentions(recs[0]) == [("Acme Corp , Inc.", "BUSINESS", 10, 26)]
    # 'P' and the empty tag read as O
    assert _mentions(recs[1]) == [("Securities Act", "LEGISLATION/ACT", 0, 14)]
    assert _mentions(recs[2]) == [("New York", "LOCATION", 0, 8)]
    _check_spans(recs)


def test_e_ner_registry_reads_leniently(fixtures):
    recs = _read_as("e_ner", fixtures / "e_ner.csv")
    assert len(recs) == 3 and _mentions(recs[1]) == [("Securities Act", "LEGISLATION/ACT", 0, 14)]


def test_e_ner_csv_strict_rejects_malformed_tag(fixtures):
    path = fixtures / "e_ner.csv"
    with pytest.raises(DataError) as err:
        read_csv_tokens(path)
    assert f"{path}:13" in str(err.value)
    assert "'P'" in str(err.value)


def test_csv_error_line_number_counts_file_lines(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('"two\nlines",O\nx,BAD\n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_csv_tokens(path)
    assert f"{path}:3:" in str(err.value)


def test_csv_split_on_last_comma(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('1,000,O\nAcme,I-BUSINESS\n', encoding="utf-8")
    (rec,) = read_csv_tokens(path)
    assert rec.text == "1,000 Acme"
    assert _mentions(rec) == [("Acme", "BUSINESS", 6, 10)]


# --------------------------------------------------------------------------- JSON formats


def test_w2ner_nested_and_discontinuous(fixtures):
    recs = _read_as("genia", fixtures / "w2ner.json")
    assert [r.text for r in recs] == [
        "IL-2 gene expression in T cells", "muscle pain and weakness in legs", "No entities here",
    ]
    # nested: both the protein and the DNA mention are kept, sorted by span
    assert _mentions(recs[0]) == [
        ("IL-2", "protein", 0, 4), ("IL-2 gene", "DNA", 0, 9), ("T cells", "cell_type", 24, 31),
    ]
    # discontinuous: the text of its own tokens, the span from its first to its last token
    assert _mentions(recs[1]) == [("muscle pain", "ADR", 0, 11), ("muscle weakness", "ADR", 0, 24)]
    assert recs[1].text[0:24] == "muscle pain and weakness"
    assert recs[2].mentions == []
    _check_spans([recs[0]])


def test_w2ner_index_out_of_range(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"sentence": ["a", "b"], "ner": [{"index": [5], "type": "X"}]}]))
    with pytest.raises(DataError, match="out of range") as err:
        read_w2ner_json(path)
    assert str(path) in str(err.value) and "record 0" in str(err.value)


@pytest.mark.parametrize("reader, item", [
    (read_w2ner_json, {"sentence": ["a", "b"], "ner": [{"index": [0]}]}),
    (read_instructuie_json, {"sentence": "a b", "entities": [{"name": "a", "type": "x"}]}),
])
def test_json_entity_missing_field(tmp_path, reader, item):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([item]))
    with pytest.raises(DataError, match="bad.json"):
        reader(path)


def test_instructuie_json(fixtures):
    recs = _read_as("mit_movie", fixtures / "instructuie.json")
    assert [r.text for r in recs] == ["any funny space westerns from last year", "show me a movie"]
    assert _mentions(recs[0]) == [("funny space westerns", "genre", 4, 24), ("last year", "year", 30, 39)]
    assert recs[1].mentions == []
    _check_spans(recs)


def test_pubtator(fixtures):
    recs = read_pubtator(fixtures / "biored.PubTator")
    assert [r.id for r in recs] == ["111", "222"]
    assert recs[0].text == "Aspirin reduces fever. In mice, aspirin lowered IL-6 levels."
    assert _mentions(recs[0]) == [
        ("Aspirin", "ChemicalEntity", 0, 7),
        ("fever", "DiseaseOrPhenotypicFeature", 16, 21),
        ("aspirin", "ChemicalEntity", 32, 39),   # abstract offsets count the joining space
        ("IL-6", "GeneOrGeneProduct", 48, 52),
    ]
    assert recs[1].text == "BRCA1 mutations cause cancer. We studied BRCA1 carriers."
    assert _mentions(recs[1]) == [  # sorted, the relation lines skipped
        ("BRCA1", "GeneOrGeneProduct", 0, 5),
        ("cancer", "DiseaseOrPhenotypicFeature", 22, 28),
        ("BRCA1", "GeneOrGeneProduct", 41, 46),
    ]
    _check_spans(recs)
    assert _read_as("biored", fixtures / "biored.PubTator")[1].text == recs[1].text


def test_pubtator_offset_mismatch(tmp_path):
    path = tmp_path / "bad.PubTator"
    path.write_text("1|t|Aspirin works.\n1|a|Yes.\n1\t0\t6\tAspirin\tChemical\tD1\n\n")
    with pytest.raises(DataError) as err:
        read_pubtator(path)
    assert f"{path}:3" in str(err.value)


def test_uniner_conversations(fixtures):
    rows = list(iter_uniner_conversations(fixtures / "uniner.json"))
    assert rows[0] == ("x_0", "Paris is in France and Paris is big.", "location", '["Paris", "France"]')
    assert [r[2] for r in rows] == ["location", "person", "person", "organization"]

    recs = read_uniner_json(fixtures / "uniner.json")
    assert [r.text for r in recs] == ["Paris is in France and Paris is big.", "Obama met Merkel."]
    assert recs[0].types == ("location", "person")
    assert _mentions(recs[0]) == [("Paris", "location", 0, 5), ("France", "location", 12, 18)]
    assert recs[1].types == ("person", "organization")
    # an answer that is not in the passage has the span (-1, -1)
    assert _mentions(recs[1]) == [
        ("NATO", "organization", -1, -1), ("Obama", "person", 0, 5), ("Merkel", "person", 10, 16),
    ]


def test_uniner_repeated_answer_maps_to_successive_occurrences(tmp_path):
    conv = [{"from": "human", "value": "Text: Paris and Paris"}, {"from": "gpt", "value": "I've read this text."},
            {"from": "human", "value": "What describes location in the text?"},
            {"from": "gpt", "value": '["Paris", "Paris"]'}]
    path = tmp_path / "rep.json"
    path.write_text(json.dumps([{"id": "r_0", "conversations": conv}]))
    (rec,) = read_uniner_json(path)
    assert [(m.start, m.end) for m in rec.mentions] == [(0, 5), (10, 15)]


def test_slimer_jsonl(fixtures):
    recs = read_slimer_jsonl(fixtures / "slimer.jsonl")
    assert [r.text for r in recs] == ["Doe v. Roe. Supreme Court of Utah.", "Decided May 3, 1970."]
    assert recs[0].types == ("court", "person")
    assert _mentions(recs[0]) == [
        ("Doe", "person", 0, 3), ("Roe", "person", 7, 10), ("Supreme Court of Utah", "court", 12, 33),
    ]
    assert recs[1].types == ("date",) and recs[1].mentions == []
    _check_spans(recs)


def test_find_spans():
    assert find_spans("a b a", "a") == [(0, 1), (4, 5)]
    assert find_spans("aaa", "aa") == [(0, 2), (1, 3)]
    assert find_spans("abc", "") == []
    assert find_spans("abc", "x") == []


def test_mention_is_frozen():
    m = Mention("x", "t", 0, 1)
    with pytest.raises(Exception):
        m.start = 2  # type: ignore[misc]


# --------------------------------------------------------------------------- errors


def test_missing_file_names_file_and_env(tmp_path):
    path = tmp_path / "nowhere" / "test.tsv"
    with pytest.raises(DataError) as err:
        read_columns(path)
    assert str(path) in str(err.value)
    assert "UNER_DATA_DIR" in str(err.value)


@pytest.mark.parametrize("reader", ["csv_tokens", "w2ner_json", "instructuie_json", "pubtator", "uniner_json",
                                    "slimer_jsonl"])
def test_every_reader_reports_missing_file(tmp_path, reader):
    path = tmp_path / "missing.file"
    with pytest.raises(DataError, match="missing.file"):
        READERS[reader](path)


def test_missing_split_file_via_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("UNER_DATA_DIR", str(tmp_path))  # an existing but empty data folder
    with pytest.raises(DataError) as err:
        load_dataset("crossner_ai", "test")
    msg = str(err.value)
    assert "raw/crossner/ai/test.txt" in msg
    assert "UNER_DATA_DIR" in msg


def test_wrong_column_count(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("a\tO\nb\tB-X\n\nc\tO\textra\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_columns(path, token_col=0, tag_col=1, ncols=2)
    assert f"{path}:4" in str(err.value)


def test_single_column_line(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("a\tO\nlonely\n", encoding="utf-8")
    with pytest.raises(DataError, match=r":2: expected"):
        read_columns(path, token_col=0, tag_col=1)


def test_conll2003_wrong_column_count(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("EU NNP I-NP I-ORG\nrejects VBZ O\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        _read_as("sec_filings", path)
    assert f"{path}:2" in str(err.value)


@pytest.mark.parametrize("tag", ["X-PER", "B-", "PER", "b-PER", "0"])
def test_malformed_tag(tmp_path, tag):
    path = tmp_path / "bad.tsv"
    path.write_text(f"a\tO\nb\t{tag}\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_columns(path, token_col=0, tag_col=1, ncols=2)
    assert f"{path}:2" in str(err.value)
    assert "tag" in str(err.value)


def test_malformed_tag_lenient(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("a\tB-X\nb\tP\nc\tI-X\n", encoding="utf-8")
    (rec,) = read_columns(path, token_col=0, tag_col=1, ncols=2, lenient_tags=True)
    assert _mentions(rec) == [("a", "X", 0, 1), ("c", "X", 4, 5)]  # P reads as O, so I-X starts anew


def test_bad_offsets(tmp_path):
    path = tmp_path / "bad.anem"
    path.write_text("a\t0\t1\tO\nb\tx\t3\tO\n", encoding="utf-8")
    with pytest.raises(DataError, match=r":2: character offsets"):
        _read_as("anem", path)


def test_invalid_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[\n{"sentence": "a",\n]\n')
    with pytest.raises(DataError) as err:
        read_instructuie_json(path)
    assert f"{path}:" in str(err.value) and "invalid JSON" in str(err.value)


def test_bad_slimer_row(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"input": "a", "tagName": "x", "output": "[]"}\n{"input": "b"}\n')
    with pytest.raises(DataError, match=r":2: not a Pile-NER row"):
        read_slimer_jsonl(path)


def test_unset_data_dir(monkeypatch):
    monkeypatch.delenv("UNER_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="UNER_DATA_DIR"):
        data_dir()
    with pytest.raises(DataError, match="set UNER_DATA_DIR"):
        load_dataset("crossner_ai", "test")


def test_data_dir_that_does_not_exist(monkeypatch, tmp_path):
    monkeypatch.setenv("UNER_DATA_DIR", str(tmp_path / "nope"))
    with pytest.raises(DataError) as err:
        data_dir()
    assert "nope" in str(err.value) and "UNER_DATA_DIR" in str(err.value)


def test_data_dir_argument_wins(monkeypatch, tmp_path):
    monkeypatch.delenv("UNER_DATA_DIR", raising=False)
    assert data_dir(tmp_path) == tmp_path.resolve()


def test_unknown_dataset_lists_known():
    with pytest.raises(DataError) as err:
        get_spec("crossner_a1")
    msg = str(err.value)
    assert "crossner_a1" in msg and "crossner_ai" in msg and "mit_movie" in msg and "e_ner" in msg
    with pytest.raises(DataError, match="known:"):
        load_dataset("nope", "test")


def test_unknown_split_lists_known():
    with pytest.raises(DataError) as err:
        dataset_files("crossner_ai", "validation")
    msg = str(err.value)
    assert "validation" in msg and "train" in msg and "dev" in msg and "test" in msg
    with pytest.raises(DataError, match="all"):
        load_dataset("wikigold", "test")


# --------------------------------------------------------------------------- corrupted copies (issue 12, item 5)


def _sub(old, new, count=1):
    """A corruption: replace the first ``count`` occurrences of ``old`` with ``new``."""
    def corrupt(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, count)
    return corrupt


def _json_edit(fn):
    """A corruption of a JSON fixture: ``fn`` edits the parsed data in place."""
    def corrupt(text: str) -> str:
        data = json.loads(text)
        fn(data)
        return json.dumps(data)
    return corrupt


def _set(path, value):
    def edit(data):
        obj = data
        for k in path[:-1]:
            obj = obj[k]
        obj[path[-1]] = value
    return edit


def _delete(path):
    def edit(data):
        obj = data
        for k in path[:-1]:
            obj = obj[k]
        del obj[path[-1]]
    return edit


CORRUPTIONS = [
    # (dataset whose registry reader reads the fixture, fixture, corruption, where the message points)
    ("crossner_ai", "bio.tsv", _sub("B-PER", "X-PER"), r"bio\.tsv:1: malformed tag"),
    ("crossner_ai", "bio.tsv", _sub("B-PER", "U-PER"), r"bio\.tsv:1: malformed tag"),  # BILOU: unknown scheme
    ("crossner_ai", "bio.tsv", _sub("John\tB-PER", "John"), r"bio\.tsv:1: expected 2 columns"),
    ("crossner_ai", "bio.tsv", _sub("lives\tO", "lives\tO\textra"), r"bio\.tsv:3: expected 2 columns"),
    ("anem", "anem.tsv", _sub("Biopsy\t101", "Biopsy\tl01"), r"anem\.tsv:1: character offsets are not integers"),
    ("anem", "anem.tsv", _sub("of\t108\t110", "of\t110\t108"), r"anem\.tsv:2: bad character offsets"),
    ("anem", "anem.tsv", _sub("of\t108\t110", "of\t50\t52"), r"anem\.tsv:2: bad character offsets"),
    ("sec_filings", "conll03.txt", _sub("UN NNP I-NP I-ORG", "UN NNP I-ORG"), r"conll03\.txt:3: expected 4 columns"),
    ("sec_filings", "conll03.txt", _sub("I-ORG", "ORG"), r"conll03\.txt:3: malformed tag"),
    ("e_ner", "e_ner.csv", _sub("Check,O", "Check"), r"e_ner\.csv:3: expected token,tag"),
    ("genia", "w2ner.json", _json_edit(_delete([0, "sentence"])), r"w2ner\.json: record 0: no 'sentence'"),
    ("genia", "w2ner.json", _json_edit(_set([1, "ner", 0, "index"], [0, 9])),
     r"w2ner\.json: record 1: entity index out of range"),
    ("genia", "w2ner.json", _json_edit(_set([1, "ner", 0, "index"], ["0"])),
     r"w2ner\.json: record 1: entity index must be a list of integers"),
    ("genia", "w2ner.json", _json_edit(_set([0, "ner", 1], "cell_type")), r"w2ner\.json: record 0: entity is not"),
    ("genia", "w2ner.json", _json_edit(_delete([0, "ner", 0, "type"])),
     r"w2ner\.json: record 0: entity without 'type'"),
    ("genia", "w2ner.json", _json_edit(_set([2, "sentence"], "No entities here")),
     r"w2ner\.json: record 2: 'sentence' must be a list"),
    ("genia", "w2ner.json", _json_edit(_set([2, "ner"], 7)), r"w2ner\.json: record 2: malformed record"),
    ("genia", "w2ner.json", _sub('"ner": []', '"ner": ['), r"w2ner\.json:\d+: invalid JSON"),
    ("mit_movie", "instructuie.json", _json_edit(_set([0, "entities", 0, "pos"], ["30", 39])),
     r"instructuie\.json: record 0: 'pos' must be two integers"),
    ("mit_movie", "instructuie.json", _json_edit(_set([0, "entities", 0, "pos"], [30, 400])),
     r"instructuie\.json: record 0: 'pos' 30-400 outside the sentence"),
    ("mit_movie", "instructuie.json", _json_edit(_set([0, "entities", 1, "pos"], [24, 4])),
     r"instructuie\.json: record 0: 'pos' 24-4 outside"),
    ("mit_movie", "instructuie.json", _json_edit(_delete([0, "entities", 1, "name"])),
     r"instructuie\.json: record 0: entity needs 'name'"),
    ("mit_movie", "instructuie.json", _json_edit(_set([1, "sentence"], 5)),
     r"instructuie\.json: record 1: 'sentence' must be a string"),
    ("mit_movie", "instructuie.json", _json_edit(_set([1, "entities"], {"a": 1})),
     r"instructuie\.json: record 1: 'entities' must be a list"),
    ("biored", "biored.PubTator", _sub("111\t0\t7\t", "111\t0\tseven\t"),
     r"biored\.PubTator:3: mention end offset is not an integer"),
    ("biored", "biored.PubTator", _sub("111\t0\t7\t", "111\t1\t7\t"), r"biored\.PubTator:3: mention 'Aspirin' does not"),
    ("biored", "biored.PubTator", _sub("111\t0\t7\t", "112\t0\t7\t"), r"biored\.PubTator:3: mention of document '112'"),
    ("biored", "biored.PubTator", _sub("111\t16\t21\tfever\tDiseaseOrPhenotypicFeature\tD005334", "111\t16"),
     r"biored\.PubTator:4: not a PubTator line"),
]


@pytest.mark.parametrize("dataset, fixture, corrupt, where", CORRUPTIONS,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(CORRUPTIONS)])
def test_corrupted_copies_raise_data_error_naming_file_and_place(fixtures, tmp_path, dataset, fixture, corrupt, where):
    original = (fixtures / fixture).read_text(encoding="utf-8")
    _read_as(dataset, fixtures / fixture)  # the fixture itself reads
    bad = tmp_path / fixture
    bad.write_text(corrupt(original), encoding="utf-8")
    with pytest.raises(DataError, match=where) as info:
        _read_as(dataset, bad)
    assert str(bad) in str(info.value)
    assert "\n" not in str(info.value)


UNINER_CORRUPTIONS = [
    (_json_edit(_delete([1, "conversations"])), r"record 1: expected 'conversations'"),
    (_json_edit(_set([0, "conversations", 0], "Text: Paris")), r"record 0: every turn must be an object"),
    (_json_edit(_set([0, "conversations", 3, "value"], None)), r"record 0: every turn must be an object"),
    (_json_edit(_set([0, "conversations", 0, "value"], "Paris is in France.")), r"record 0: first turn does not"),
    (_json_edit(_set([1, "conversations", 2, "value"], "Who is it?")), r"record 1: not a type question"),
    (_json_edit(lambda d: d[0]["conversations"].append({"from": "human", "value": "What describes x in the text?"})),
     r"record 0: a question without its answer"),
    (lambda text: json.dumps({"data": json.loads(text)}), r"top level: expected a list"),
]


@pytest.mark.parametrize("corrupt, where", UNINER_CORRUPTIONS)
def test_corrupted_uniner_json(fixtures, tmp_path, corrupt, where):
    bad = tmp_path / "uniner.json"
    bad.write_text(corrupt((fixtures / "uniner.json").read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(DataError, match=where) as info:
        read_uniner_json(bad)
    assert str(bad) in str(info.value)


SLIMER_CORRUPTIONS = [
    (lambda lines: [lines[0].replace('"tagName"', '"tag"'), *lines[1:]], r"slimer\.jsonl:1: not a Pile-NER row"),
    (lambda lines: [lines[0], lines[1][:-5], *lines[2:]], r"slimer\.jsonl:2: not a Pile-NER row"),
    (lambda lines: [lines[0], json.dumps({**json.loads(lines[1]), "output": ["x"]}), *lines[2:]],
     r"slimer\.jsonl:2: 'input', 'tagName' and 'output' must be strings"),
    (lambda lines: ["[1, 2]", *lines], r"slimer\.jsonl:1: not a Pile-NER row"),
]


@pytest.mark.parametrize("corrupt, where", SLIMER_CORRUPTIONS)
def test_corrupted_slimer_jsonl(fixtures, tmp_path, corrupt, where):
    lines = (fixtures / "slimer.jsonl").read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "slimer.jsonl"
    bad.write_text("\n".join(corrupt(lines)) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=where) as info:
        read_slimer_jsonl(bad)
    assert str(bad) in str(info.value)


TYPE_EXAMPLES = {"person": [{"sentence": "Obama met Merkel.", "target_words_in_it": ["Obama", "Merkel"]}],
                 "city": [{"sentence": "Paris is big.", "target_words_in_it": ["Paris"]}]}


@pytest.mark.parametrize("edit, where", [
    (_delete(["city", 0, "sentence"]), r"type 'city' example 0: no 'sentence'"),
    (_set(["city"], {"sentence": "x"}), r"type 'city': expected a list of examples"),
    (_set(["person", 0, "target_words_in_it"], "Obama"), r"type 'person' example 0: 'sentence' must be a string"),
    (_set(["person", 0, "sentence"], 3), r"type 'person' example 0: 'sentence' must be a string"),
])
def test_corrupted_slimer_type_examples(tmp_path, edit, where):
    from unerlib.readers_conversation import read_slimer_type_examples

    good = tmp_path / "types.json"
    good.write_text(json.dumps(TYPE_EXAMPLES))
    assert len(read_slimer_type_examples(good)) == 2
    bad = tmp_path / "bad.json"
    data = json.loads(json.dumps(TYPE_EXAMPLES))
    edit(data)
    bad.write_text(json.dumps(data))
    with pytest.raises(DataError, match=where) as info:
        read_slimer_type_examples(bad)
    assert str(bad) in str(info.value)
