"""Data construction: passage sampling, the gold-corpus teacher end to end, the
Pile-NER-type output, and the type-frequency analysis."""

from __future__ import annotations

import json
from collections import Counter
from types import SimpleNamespace

import pytest

from unerlib.construct import chunk_record, load_pile_ner, read_text_file, sample_passages, to_pile_ner
from unerlib.data import DataError, Mention, Record
from unerlib.instructions import positive_turns
from unerlib.registry import REGISTRY, SOURCE_WEIGHTS, TEACHER_SOURCES, ZERO_SHOT, dataset_role
from unerlib.teacher import CorpusTeacher
from unerlib.typefreq import canonical_type, head_tail_table, merge_variants, normalisation_stats, type_counts


def test_sources_and_evaluation_split_are_disjoint_and_cover_domains():
    assert not set(TEACHER_SOURCES) & set(ZERO_SHOT)
    roles = {name: dataset_role(name) for name in REGISTRY}
    assert all(roles[name] == "zero-shot" for name in ZERO_SHOT)
    # every domain that has data keeps at least one evaluation dataset, so the breakdown stays zero-shot
    for domain in {spec.domain for spec in REGISTRY.values()}:
        assert any(roles[n] in ("evaluation", "zero-shot") for n, s in REGISTRY.items() if s.domain == domain), domain


def test_chunk_record_keeps_mentions_and_words():
    text = "Alice met Bob in Paris and then Carol in Rome today"
    rec = Record("x", text, [Mention("Alice", "person", 0, 5), Mention("Rome", "location", 41, 45)])
    chunks = chunk_record(rec, 4, lambda t: len(t.split()))
    assert " ".join(c.text for c in chunks) == text
    assert all(len(c.text.split()) <= 4 for c in chunks)
    found = [(m.text, c.text[m.start:m.end]) for c in chunks for m in c.mentions]
    assert found == [("Alice", "Alice"), ("Rome", "Rome")]


def test_sample_passages_is_seeded_deduplicated_and_excludes(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps({"text": t}) for t in ["a b", "c d", "a  b", "e f", "g h"]))
    one = sample_passages([f"file:{path}"], 10, seed=1, exclude_texts=["E F"])
    two = sample_passages([f"file:{path}"], 10, seed=1, exclude_texts=["E F"])
    assert [r.text for r in one] == [r.text for r in two]
    # "a  b" repeats "a b" (whitespace folded): one of them is kept; "e f" is excluded
    assert sorted(" ".join(r.text.split()) for r in one) == ["a b", "c d", "g h"]


def test_passages_containing_an_evaluation_sentence_are_excluded(tmp_path):
    path = tmp_path / "p.jsonl"
    held_out = "These observations indicate that Jak3 is essential ."
    texts = ["Jak3 binds gamma c .  these  observations indicate that JAK3 is essential . More text .",
             "These observations indicate nothing about Jak3 .", "Short one ."]
    path.write_text("\n".join(json.dumps({"text": t}) for t in texts))
    kept = sample_passages([f"file:{path}"], 10, seed=0, exclude_texts=[held_out, "Short one ."])
    assert [r.text for r in kept] == [texts[1]]


def test_read_text_file_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_text_file(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\nnot json\n')
    with pytest.raises(DataError, match="bad.jsonl:2"):
        read_text_file(bad)


def test_to_pile_ner_schema_and_summary():
    answers = [
        SimpleNamespace(passage_id="src/0", passage="Ann met Bob in Oslo.", source="corpus", reason=None,
                        pairs=[("Ann", "Person"), ("Bob", "person"), ("Oslo", "location")]),
        SimpleNamespace(passage_id="src/1", passage="Nothing here.", source="corpus", reason="no_list", pairs=[]),
    ]
    data, summary = to_pile_ner(answers, {"src/0": "src", "src/1": "src"})
    assert len(data) == 1 and summary.passages == 1 and summary.entities == 3 and summary.types == 2
    assert summary.parse_failures == Counter({"no_list": 1})
    conv = data[0]["conversations"]
    assert conv[0] == {"from": "human", "value": "Text: Ann met Bob in Oslo."}
    assert conv[1] == {"from": "gpt", "value": "I've read this text."}
    assert positive_turns(data[0]) == [("person", ["Ann", "Bob"]), ("location", ["Oslo"])]


def test_type_frequency_table_and_variants():
    counts = Counter({f"type{i}": 1 for i in range(196)})
    counts.update({"person": 500, "Person": 20, "persons": 10, "location": 100, "date": 50})
    table = head_tail_table(counts)
    assert list(table["band"]) == ["top 1%", "top 1%-10%", "rest (90%)"]
    assert table["types"].sum() == len(counts)
    assert table["mentions"].sum() == sum(counts.values())
    assert table["examples"][0].startswith("person")
    stats = normalisation_stats(counts)
    assert stats["after case folding"] == len(counts) - 1
    assert stats["after plural merging"] == len(counts) - 2
    assert canonical_type("Cities") == "city" and canonical_type("chemical compounds") == "chemical compound"
    assert merge_variants(counts)["persons"] == "person"


@pytest.mark.data
def test_corpus_teacher_builds_5000_passages_from_8_corpora_without_evaluation_sentences(data_root):
    from unerlib.experiments import evaluation_texts

    eval_texts = evaluation_texts()
    passages = sample_passages(TEACHER_SOURCES, 6500, seed=0, max_tokens=256, exclude_texts=eval_texts,
                               weights=SOURCE_WEIGHTS)
    data, summary = to_pile_ner(CorpusTeacher().annotate(passages), {p.id: p.id.split("/")[0] for p in passages})
    assert summary.passages >= 5000
    assert len([s for s, n in summary.by_source.items() if n > 0]) >= 8
    assert summary.types >= 300
    normal = {" ".join(t.split()).lower() for t in eval_texts}
    texts = [item["conversations"][0]["value"][len("Text: "):] for item in data]
    assert not [t for t in texts if " ".join(t.split()).lower() in normal]
    # no evaluation sentence hides inside a longer passage either (checked on the longer sentences)
    long_eval = [t for t in eval_texts if len(t) > 60]
    joined = "\n".join(texts)
    assert not [t for t in long_eval[:20000] if t in joined]
    # every answer comes from the teacher's own text format, so it round-trips through the schema
    assert all(positive_turns(item) for item in data[:100])


# --------------------------------------------------------------------------- nothing lost, keyed by content


class _FlakyTeacher:
    """Fails the passages listed in ``fail`` (a request error) on its first call only."""

    name = "flaky"

    def __init__(self, fail=()):
        self.fail, self.calls = set(fail), 0

    def annotate(self, passages, progress=False):
        from unerlib.teacher import TeacherAnswer, make_answer

        self.calls += 1
        out = []
        for i, p in enumerate(passages):
            if self.calls == 1 and i in self.fail:
                out.append(TeacherAnswer(p.id, p.text, "", [], "request_failed: APIConnectionError", self.name))
            else:
                out.append(make_answer(p, f'[("{p.text.split()[0]}", "person")]', self.name))
        return out


def test_construct_counts_failures_and_completes(tmp_path):
    from unerlib.construct import ConstructionError, construct

    recs = [Record(f"file:x/{i}", f"Name{i} went home.", []) for i in range(20)]
    teacher = _FlakyTeacher(fail={2})
    data, summary = construct(recs, teacher, progress=False)  # 1 of 20 = 5%: allowed
    assert (summary.sent, summary.failed, summary.complete) == (20, 1, False)
    assert summary.as_dict()["first_errors"] == ["file:x/2: request_failed: APIConnectionError"]
    assert len(data) == 19
    with pytest.raises(ConstructionError, match=r"2 of 20 passages \(10.0%\).*file:x/1: request_failed"):
        construct(recs, _FlakyTeacher(fail={1, 2}), progress=False)
    data, summary = construct(recs, CorpusTeacher(), progress=False)
    assert summary.complete and summary.as_dict()["complete"] is True


def test_teacher_data_is_done_only_when_every_passage_is_answered(data_root, tmp_path, monkeypatch):
    import warnings

    import unerlib.experiments as ex
    import unerlib.teacher
    from unerlib.artifacts import is_done

    src = tmp_path / "passages.jsonl"
    src.write_text("".join(json.dumps({"text": f"Name{i} lives in Town{i}."}) + "\n" for i in range(10)))
    teacher = _FlakyTeacher(fail={4})
    monkeypatch.setattr(unerlib.teacher, "make_teacher", lambda kind, **kw: teacher)
    monkeypatch.setattr(ex, "evaluation_texts", lambda root=None: set())
    monkeypatch.setattr(ex, "token_counter", lambda model=None: lambda text: len(text.split()))
    kw = dict(teacher="corpus", n_passages=10, sources=[f"file:{src}"], root=tmp_path / "art",
              data_root=data_root, progress=False, max_failure_share=0.2)
    with pytest.warns(UserWarning, match="1 of 10 passages got no answer"):
        path, summary = ex.build_teacher_data(**kw)
    assert not is_done(path.parent) and summary["failed"] == 1 and len(json.loads(path.read_text())) == 9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path2, summary2 = ex.build_teacher_data(**kw)  # the rerun completes it
    assert path2 == path and is_done(path.parent) and summary2["complete"] and teacher.calls == 2
    assert len(json.loads(path.read_text())) == 10
    ex.build_teacher_data(**kw)
    assert teacher.calls == 2  # done: reused
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    # another passage file (same name, other bytes): another artifact
    src.write_text("".join(json.dumps({"text": f"Other{i} lives in Town{i}."}) + "\n" for i in range(10)))
    path3, _ = ex.build_teacher_data(**kw)
    assert path3 != path and teacher.calls == 3


def test_source_digest_is_of_the_content(tmp_path):
    from unerlib.construct import source_digest

    a = tmp_path / "a.jsonl"
    a.write_text('{"text": "x"}\n')
    first = source_digest(f"file:{a}")
    a.write_text('{"text": "y"}\n')
    assert source_digest(f"file:{a}") != first
    with pytest.raises(DataError, match="missing.jsonl"):
        source_digest(f"file:{tmp_path / 'missing.jsonl'}")
