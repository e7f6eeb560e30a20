"""The conversation format (unerlib.instructions): the official ``ie_as_qa`` rendering,
prompt token ids, training conversations with negative sampling, labels of tokenized
conversations."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from conftest_models import *  # noqa: F401,F403  (fixtures: student_tokenizer, single_thread)
from unerlib.instructions import (
    ACK,
    SYSTEM,
    Conversation,
    answer_text,
    build_conversations,
    encode_answer,
    encode_prefix,
    encode_prompts,
    encode_question,
    positive_turns,
    prefix_text,
    question_text,
    render,
    tokenize_conversation,
)

PASSAGE = "Barack Obama visited Paris in 2009."


# --------------------------------------------------------------------------- rendering


def test_render_matches_official_ie_as_qa():
    expected = ("A virtual assistant answers questions from a user based on the provided text. "
                f"USER: Text: {PASSAGE} ASSISTANT: I've read this text.</s>"
                "USER: What describes person in the text? ASSISTANT:")
    assert render(PASSAGE, [("person", None)], eos="</s>") == expected
    assert prefix_text(PASSAGE) + "</s>" + question_text("person") == expected


def test_render_with_answers():
    text = render(PASSAGE, [("person", ["Barack Obama"]), ("location", ["Paris"]), ("date", [])], eos="</s>")
    assert text == (f"{SYSTEM} USER: Text: {PASSAGE} ASSISTANT: {ACK}</s>"
                    'USER: What describes person in the text? ASSISTANT: ["Barack Obama"]</s>'
                    'USER: What describes location in the text? ASSISTANT: ["Paris"]</s>'
                    "USER: What describes date in the text? ASSISTANT: []</s>")
    assert answer_text(["Zürich"]) == ' ["Zürich"]'  # not escaped


# --------------------------------------------------------------------------- token ids


def test_encode_prompts_ids(student_tokenizer):
    tok = student_tokenizer
    types = ["person", "programming language", "a"]
    prompt = encode_prompts(tok, PASSAGE, types)
    assert prompt.prefix[-1] == tok.eos_token_id
    assert prompt.prefix == encode_prefix(tok, PASSAGE)
    assert prompt.questions == [encode_question(tok, t) for t in types]
    assert len({len(q) for q in prompt.questions}) > 1  # type names of different token lengths
    for typ, q in zip(types, prompt.questions):
        assert tok.eos_token_id not in q
        assert tok.decode(prompt.prefix + q) == prefix_text(PASSAGE) + tok.eos_token + question_text(typ)


def test_encode_answer_ends_with_eos(student_tokenizer):
    tok = student_tokenizer
    ids = encode_answer(tok, ["a", "b"])
    assert ids[-1] == tok.eos_token_id
    assert tok.decode(ids) == ' ["a", "b"]' + tok.eos_token
    assert tok.decode(encode_answer(tok, [])) == " []" + tok.eos_token


# --------------------------------------------------------------------------- conversations


def _record(passage: str, answers: dict[str, list[str]], source: str = "") -> dict:
    conv = [{"from": "human", "value": f"Text: {passage}"}, {"from": "gpt", "value": ACK}]
    for typ, ents in answers.items():
        conv.append({"from": "human", "value": f"What describes {typ} in the text?"})
        conv.append({"from": "gpt", "value": json.dumps(ents)})
    item = {"conversations": conv}
    if source:
        item["source"] = source
    return item


def _small_dataset() -> list[dict]:
    return [
        _record("Obama met Merkel in Berlin.", {"person": ["Obama", "Merkel"], "city": ["Berlin"]}, "news"),
        _record("Python and Rust are languages.", {"programming language": ["Python", "Rust"]}),
        _record("Paris is in France.", {"city": ["Paris"], "country": ["France"]}),
        _record("Aspirin treats headache.", {"drug": ["Aspirin"], "symptom": ["headache"]}),
        _record("Nothing here.", {"person": []}),
        _record("Merkel spoke.", {"person": ["Merkel"]}),
    ]


def test_positive_turns_reads_answers():
    item = _record("Obama met Merkel.", {"person": ["Obama", "Merkel"], "city": []})
    item["conversations"].append({"from": "human", "value": "Some other question?"})
    item["conversations"].append({"from": "gpt", "value": "[]"})
    assert positive_turns(item) == [("person", ["Obama", "Merkel"]), ("city", [])]


def test_negatives_none_adds_nothing():
    data = _small_dataset()
    convs = build_conversations(data, negatives="none", seed=0)
    assert len(convs) == len(data)
    for item, conv in zip(data, convs):
        expected = {t: e for t, e in positive_turns(item) if e}
        assert dict(conv.turns) == expected
        assert all(ents for _t, ents in conv.turns)
    assert convs[0].passage == "Obama met Merkel in Berlin." and convs[0].source == "news"
    assert convs[4].turns == []  # a passage whose only answer is empty keeps no question


@pytest.mark.parametrize("strategy", ["uniform", "frequency"])
def test_negatives_are_absent_types(strategy):
    data = _small_dataset() * 20
    convs = build_conversations(data, negatives=strategy, n_negatives=2, seed=3)
    all_types = {t for item in data for t, e in positive_turns(item) if e}
    n_neg = 0
    for item, conv in zip(data, convs):
        present = {t for t, e in positive_turns(item) if e}
        negatives = [t for t, e in conv.turns if not e]
        assert not set(negatives) & present, (present, negatives)
        assert len(negatives) == len(set(negatives)) == min(2, len(all_types - present))
        assert set(negatives) <= all_types
        positives = {t: e for t, e in conv.turns if e}
        assert positives == {t: e for t, e in positive_turns(item) if e}
        n_neg += len(negatives)
    assert n_neg == 2 * len(data)


def test_type_map_merges_variants():
    data = [_record("Obama met Merkel.", {"person": ["Obama"], "Person": ["Merkel", "Obama"]}),
            _record("Paris.", {"city": ["Paris"]}),
            _record("Rust.", {"language": ["Rust"]})]
    convs = build_conversations(data, negatives="uniform", n_negatives=2, seed=0, type_map={"Person": "person"})
    assert dict(convs[0].turns)["person"] == ["Obama", "Merkel"]
    for conv in convs:
        assert "Person" not in dict(conv.turns)
    assert {t for t, e in convs[1].turns if not e} == {"person", "language"}


def test_invalid_strategy():
    with pytest.raises(ValueError, match="negatives"):
        build_conversations(_small_dataset(), negatives="popular")


def test_seed_makes_it_deterministic():
    data = _small_dataset() * 10
    a = build_conversations(data, negatives="frequency", seed=7)
    b = build_conversations(data, negatives="frequency", seed=7)
    c = build_conversations(data, negatives="frequency", seed=8)
    assert [x.turns for x in a] == [x.turns for x in b]
    assert [x.turns for x in a] != [x.turns for x in c]


# Synthetic Pile-NER-type data with a known type distribution. Each passage holds one or
# two types; with one negative per passage the negative is drawn from the types absent
# from it with probability proportional to the weight (rejection sampling), so the
# expected count of type t is the sum over passages without t of w_t / sum_{u absent} w_u.
SYN_TYPES = ["person", "location", "organization", "date", "product", "event"]
SYN_PROBS = [0.40, 0.25, 0.15, 0.10, 0.06, 0.04]
N_PASSAGES = 3000


def _synthetic() -> tuple[list[dict], list[set[str]], Counter]:
    rng = random.Random(12345)
    data, present, mentions = [], [], Counter()
    for i in range(N_PASSAGES):
        k = 1 if rng.random() < 0.8 else 2
        types = []
        while len(types) < k:
            t = rng.choices(SYN_TYPES, weights=SYN_PROBS)[0]
            if t not in types:
                types.append(t)
        answers = {t: [f"{t}{i}-{j}" for j in range(rng.randint(1, 3))] for t in types}
        data.append(_record(f"passage {i}", answers))
        present.append(set(types))
        for t, ents in answers.items():
            mentions[t] += len(ents)
    return data, present, mentions


def _expected_negatives(present: list[set[str]], weights: dict[str, float]) -> dict[str, float]:
    expected = dict.fromkeys(SYN_TYPES, 0.0)
    for types in present:
        absent = [t for t in SYN_TYPES if t not in types]
        total = sum(weights[t] for t in absent)
        for t in absent:
            expected[t] += weights[t] / total
    return expected


@pytest.mark.parametrize("strategy", ["uniform", "frequency"])
def test_negative_sampling_distribution(strategy):
    data, present, mentions = _synthetic()
    convs = build_conversations(data, negatives=strategy, n_negatives=1, seed=0)
    drawn = Counter(t for c in convs for t, e in c.turns if not e)
    assert sum(drawn.values()) == N_PASSAGES
    weights = {t: (mentions[t] if strategy == "frequency" else 1.0) for t in SYN_TYPES}
    expected = _expected_negatives(present, weights)
    other = _expected_negatives(present, {t: (1.0 if strategy == "frequency" else mentions[t]) for t in SYN_TYPES})
    for t in SYN_TYPES:
        assert abs(drawn[t] / N_PASSAGES - expected[t] / N_PASSAGES) < 0.02, (t, drawn, expected)
    chi2 = sum((drawn[t] - expected[t]) ** 2 / expected[t] for t in SYN_TYPES)
    chi2_other = sum((drawn[t] - other[t]) ** 2 / other[t] for t in SYN_TYPES)
    assert chi2 < 20.5  # chi-square, 5 degrees of freedom, p = 0.001
    assert chi2_other > 100  # and the test can tell the two strategies apart


# --------------------------------------------------------------------------- tokenizing


def _labelled_runs(piece: dict[str, list[int]]) -> list[list[int]]:
    """Maximal runs of labelled positions (label != -100); labels must equal the inputs."""
    runs, current = [], []
    for tok_id, label in zip(piece["input_ids"], piece["labels"]):
        if label == -100:
            if current:
                runs.append(current)
                current = []
        else:
            assert label == tok_id
            current.append(label)
    if current:
        runs.append(current)
    return runs


CONV = Conversation("Obama met Merkel in Berlin.", [("person", ["Obama", "Merkel"]), ("city", ["Berlin"]),
                                                    ("programming language", [])])


def test_labels_cover_exactly_the_answers(student_tokenizer):
    tok = student_tokenizer
    pieces = tokenize_conversation(tok, CONV, max_length=512)
    assert len(pieces) == 1
    piece = pieces[0]
    assert len(piece["input_ids"]) == len(piece["labels"])
    prefix = encode_prefix(tok, CONV.passage)
    assert piece["input_ids"][:len(prefix)] == prefix
    assert piece["labels"][:len(prefix)] == [-100] * len(prefix)
    runs = _labelled_runs(piece)
    assert [tok.decode(r) for r in runs] == [answer_text(e) + tok.eos_token for _t, e in CONV.turns]
    assert tok.decode(runs[0]) == ' ["Obama", "Merkel"]' + tok.eos_token
    # the input is exactly the rendered conversation (what inference feeds the model)
    assert tok.decode(piece["input_ids"]) == render(CONV.passage, CONV.turns, eos=tok.eos_token)
    n_labelled = sum(1 for x in piece["labels"] if x != -100)
    assert n_labelled == sum(len(encode_answer(tok, e)) for _t, e in CONV.turns)


def test_train_ack_labels_the_acknowledgement(student_tokenizer):
    tok = student_tokenizer
    plain = tokenize_conversation(tok, CONV)[0]
    piece = tokenize_conversation(tok, CONV, train_ack=True)[0]
    assert piece["input_ids"] == plain["input_ids"]
    runs = _labelled_runs(piece)
    assert tok.decode(runs[0]) == " " + ACK + tok.eos_token
    assert [tok.decode(r) for r in runs[1:]] == [tok.decode(r) for r in _labelled_runs(plain)]


def test_long_conversation_splits_between_turns(student_tokenizer):
    tok = student_tokenizer
    turns = [(f"type number {i}", [f"entity {i}", f"other {i}"] if i % 3 else []) for i in range(12)]
    conv = Conversation("A passage about many things, long enough to matter.", turns)
    prefix = encode_prefix(tok, conv.passage)
    turn_len = max(len(encode_question(tok, t)) + len(encode_answer(tok, e)) for t, e in turns)
    max_length = len(prefix) + 3 * turn_len
    pieces = tokenize_conversation(tok, conv, max_length=max_length)
    assert len(pieces) >= 3
    answers = []
    for piece in pieces:
        assert piece["input_ids"][:len(prefix)] == prefix
        assert piece["labels"][:len(prefix)] == [-100] * len(prefix)
        assert len(prefix) < len(piece["input_ids"]) <= max_length
        assert piece["input_ids"][-1] == tok.eos_token_id  # every piece ends with a whole answer
        answers += [tok.decode(r) for r in _labelled_runs(piece)]
    assert answers == [answer_text(e) + tok.eos_token for _t, e in turns]  # none cut, none lost, in order
    # the questions are all there too, each piece being a well-formed conversation
    text = "".join(tok.decode(p["input_ids"]) for p in pieces)
    for typ, _e in turns:
        assert text.count(question_text(typ)) == 1
    whole = tokenize_conversation(tok, conv, max_length=10_000)
    assert len(whole) == 1 and _labelled_runs(whole[0]) == [r for p in pieces for r in _labelled_runs(p)]


def test_turn_longer_than_max_length_is_kept_whole(student_tokenizer):
    tok = student_tokenizer
    conv = Conversation("Short.", [("person", ["a very long entity name " * 5]), ("city", ["Rome"])])
    pieces = tokenize_conversation(tok, conv, max_length=8)
    assert len(pieces) == 2
    assert [tok.decode(r) for p in pieces for r in _labelled_runs(p)] == \
        [answer_text(e) + tok.eos_token for _t, e in conv.turns]


def test_corpus_negatives_come_from_the_passages_own_source():
    """``corpus`` negatives are the types of passages with the same source (how the
    evaluation asks: the rest of the corpus's label set), never a type from elsewhere."""
    data = [
        _record("Obama met Merkel.", {"person": ["Obama", "Merkel"]}, "news"),
        _record("Berlin is big.", {"city": ["Berlin"]}, "news"),
        _record("Acme bought Initech.", {"company": ["Acme", "Initech"]}, "news"),
        _record("Aspirin treats headache.", {"drug": ["Aspirin"]}, "bio"),
        _record("TP53 is a gene.", {"gene": ["TP53"]}, "bio"),
    ] * 10
    convs = build_conversations(data, negatives="corpus", n_negatives=5, seed=1)
    own = {"news": {"person", "city", "company"}, "bio": {"drug", "gene"}}
    for item, conv in zip(data, convs):
        present = {t for t, e in positive_turns(item) if e}
        negatives = {t for t, e in conv.turns if not e}
        assert negatives == own[item["source"]] - present  # all of them: 5 asked, fewer exist


def test_complete_negatives_skip_partially_labelled_sources():
    """``complete`` negatives are ``corpus`` ones, except that a passage of a partially
    labelled source (one Pile-NER type per row) is asked no negative question: a type it does
    not list may still be in it."""
    from unerlib.registry import PARTIAL_SOURCES

    assert "pile_ner_types" in PARTIAL_SOURCES
    data = [
        _record("Obama met Merkel.", {"person": ["Obama", "Merkel"]}, "conll2003"),
        _record("Berlin is big.", {"location": ["Berlin"]}, "conll2003"),
        _record("Obama visited Berlin.", {"person": ["Obama"]}, "pile_ner_types"),
        _record("Berlin is in Germany.", {"country": ["Germany"]}, "pile_ner_types"),
    ] * 5
    convs = build_conversations(data, negatives="complete", n_negatives=5, seed=0)
    corpus = build_conversations(data, negatives="corpus", n_negatives=5, seed=0)
    for item, conv, other in zip(data, convs, corpus):
        negatives = {t for t, e in conv.turns if not e}
        if item["source"] == "conll2003":
            assert negatives == {"person", "location"} - {t for t, _ in positive_turns(item)}
        else:
            assert negatives == set() and {t for t, e in other.turns if not e}  # corpus asks one


def test_lowercase_share_lowers_a_seeded_share_of_passages_and_answers():
    from unerlib.instructions import lowercase_share

    convs = [Conversation(f"Obama met Merkel in Berlin {i}.", [("person", ["Obama", "Merkel"]), ("City", [])], "news")
             for i in range(10)]
    out = lowercase_share(convs, 0.3, seed=1)
    lowered = [c for c in out if c.passage.islower()]
    assert len(lowered) == 3 and out == lowercase_share(convs, 0.3, seed=1)
    assert all(c.turns == [("person", ["obama", "merkel"]), ("City", [])] and c.source == "news" for c in lowered)
    assert all(new == old for new, old in zip(out, convs) if not new.passage.islower())  # the rest untouched
    assert lowercase_share(convs, 0.0) == convs and all(c.passage.islower() for c in lowercase_share(convs, 1.0))
    with pytest.raises(ValueError, match="between 0 and 1"):
        lowercase_share(convs, 1.5)


def test_titlecase_share_capitalizes_the_types_of_a_seeded_share_only():
    """A seeded share of the conversations asks every type in title case; passages and answers
    stay as they were, the rest is untouched, and the share is drawn apart from the lower-cased one."""
    from unerlib.instructions import lowercase_share, titlecase_share
    from unerlib.typenames import title_case

    assert title_case("restaurant name") == "Restaurant Name" and title_case("DNA") == "DNA"
    assert title_case("gene or gene product") == "Gene Or Gene Product" and title_case("Amenity") == "Amenity"
    convs = [Conversation(f"Obama met Merkel in Berlin {i}.", [("person", ["Obama"]), ("sports team", [])], "news")
             for i in range(20)]
    out = titlecase_share(convs, 0.3, seed=1)
    titled = [c for c in out if c.turns[0][0] == "Person"]
    assert len(titled) == 6 and out == titlecase_share(convs, 0.3, seed=1)
    assert all(c.turns == [("Person", ["Obama"]), ("Sports Team", [])] for c in titled)
    assert all(new.passage == old.passage and new.source == old.source for new, old in zip(out, convs))
    assert all(new == old for new, old in zip(out, convs) if new.turns[0][0] == "person")
    lowered = {i for i, c in enumerate(lowercase_share(convs, 0.3, seed=1)) if c.passage.islower()}
    assert {i for i, c in enumerate(out) if c.turns[0][0] == "Person"} != lowered
    assert titlecase_share(convs, 0.0) == convs
    with pytest.raises(ValueError, match="between 0 and 1"):
        titlecase_share(convs, -0.1)
