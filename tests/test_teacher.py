"""Tests of the teacher: the prompt, the answer parser, the offline teachers, and the OpenAI
teacher end to end through the real ``openai`` client against a local fake endpoint (faults
injected on a fixed schedule, a killed run restarted, the API key never leaking)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from unerlib.data import Mention, Record
from unerlib.teacher import (
    REASONS,
    SYSTEM,
    USER_TEMPLATE,
    CorpusTeacher,
    OpenAITeacher,
    ReplayTeacher,
    ResponseCache,
    TeacherAnswer,
    TeacherError,
    build_messages,
    format_teacher_output,
    make_teacher,
    parse_teacher_output,
)

LEAK = "sk-test-LEAKCHECK-0123456789abcdefghij"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROMPT_TOKENS, COMPLETION_TOKENS = 10, 5


# --------------------------------------------------------------------------- prompt


def test_prompt_is_the_papers():
    assert SYSTEM == "You are a helpful information extraction system."
    msgs = build_messages("Obama visited Paris.")
    assert msgs == [
        {"role": "system", "content": "You are a helpful information extraction system."},
        {"role": "user", "content": (
            "Given a passage, your task is to extract all entities and identify their entity types. "
            "The output should be in a list of tuples of the following format: "
            '[("entity 1", "type of entity 1"), ... ].\n\nPassage: Obama visited Paris.')},
    ]
    assert USER_TEMPLATE.endswith("\n\nPassage: {input_passage}")


# --------------------------------------------------------------------------- parser

PARIS, OBAMA = ("Paris", "location"), ("Obama", "person")

PARSE_CASES = [
    # (answer text, expected pairs, expected reason)
    ('[("Paris", "location"), ("Obama", "person")]', [PARIS, OBAMA], None),
    ("[('Paris', 'location'), ('Obama', 'person')]", [PARIS, OBAMA], None),
    ('[("Paris", \'location\')]', [PARIS], None),
    (r'[("the \"Big Apple\"", "nickname")]', [('the "Big Apple"', "nickname")], None),
    (r"[('O\'Brien', 'person')]", [("O'Brien", "person")], None),
    ('[("O\'Brien", "person"), ("Paris", "location")]', [("O'Brien", "person"), PARIS], None),
    ('[["Paris", "location"], ["Obama", "person"]]', [PARIS, OBAMA], None),
    ('Here are the entities: [("Paris", "location"), ("Obama", "person")]. Hope this helps!', [PARIS, OBAMA], None),
    ('Sure! The entities are:\n\n```python\n[("Paris", "location")]\n```\nLet me know.', [PARIS], None),
    ('```json\n[["Paris", "location"], ["Obama", "person"]]\n```', [PARIS, OBAMA], None),
    ('[("Paris", "location"), ("Obama", "person"),]', [PARIS, OBAMA], None),
    ('[["Paris", "location"],]', [PARIS], None),
    ('[\n  ("Paris", "location"),\n\n  ("Obama",\n   "person")\n]', [PARIS, OBAMA], None),
    ('[ ( "Paris" ,"location" ) ,( "Obama","person" ) ]', [PARIS, OBAMA], None),
    ('[("  Paris ", " location")]', [PARIS], None),
    ("[]", [], None),
    ("The passage mentions [1] nothing; answer: []", [], None),
    ('[1] then [("Paris", "location")]', [PARIS], None),
    # items that are not (entity, type) pairs are dropped
    ('[("Paris", "location"), ("a", "b", "c"), ("x",), "y", ("", "type"), ("Obama", "person")]',
     [PARIS, OBAMA], "skipped_items"),
    ('[("Paris", "location"), ("2023", 2023)]', [PARIS, ("2023", "2023")], None),
    # cut off by the token limit: the complete tuples are kept
    ('[("Paris", "location"), ("Obama", "per', [PARIS], "truncated_recovered"),
    ('[("Paris", "location"), ("Obama", "person")', [PARIS, OBAMA], "truncated_recovered"),
    ('[("Paris", "location"), ("Obama", "person"),', [PARIS, OBAMA], "truncated_recovered"),
    ('[["Paris", "location"], ["Obama"', [PARIS], "truncated_recovered"),
    ('```python\n[("Paris", "location"), ("Oba', [PARIS], "truncated_recovered"),
    ('[("Par', [], "truncated"),
    ("[", [], "truncated"),
    # not valid Python: the tolerant scanner reads it
    ("[('O'Brien', 'person'), ('Paris', 'location')]", [("O'Brien", "person"), PARIS], "scanned"),
    ('[("Paris", "location") ("Obama", "person")]', [PARIS, OBAMA], "scanned"),
    ('("Paris", "location"), ("Obama", "person")', [PARIS, OBAMA], "scanned"),
    # nothing to read
    ("", [], "empty"),
    ("  \n\t ", [], "empty"),
    ("There are no named entities in this passage.", [], "no_list"),
    ("I'm sorry, but I cannot help with that.", [], "no_list"),
    ('["Paris", "London"]', [], "unreadable"),
    ("[Paris, location]", [], "unreadable"),
]


@pytest.mark.parametrize("text, pairs, reason", PARSE_CASES)
def test_parse_cases(text, pairs, reason):
    assert parse_teacher_output(text) == (pairs, reason)


def test_reasons_are_documented():
    for _text, _pairs, reason in PARSE_CASES:
        assert reason is None or reason in REASONS


@pytest.mark.parametrize("bad", [None, 42, b'[("a", "b")]', ["x"]])
def test_parse_non_text(bad):
    assert parse_teacher_output(bad) == ([], "empty")


FRAGMENTS = ['[(', ')]', '(', ')', '[', ']', '"', "'", '\\', '\\"', "\\'", ',', ', ', ' ', '\n', '```',
             '```python\n', 'json', 'Paris', 'location', "O'Brien", '("a", "b")', '["a", "b"]', '[[', ']]',
             '{', '}', ':', '\\n', '\x00', 'é', '日本', '1e999', '0x', '#', '""', "''", '),', '(",', '\\\\']


def _garble(rng: random.Random) -> str:
    n = rng.randint(0, 40)
    parts = []
    for _ in range(n):
        if rng.random() < 0.8:
            parts.append(rng.choice(FRAGMENTS))
        else:
            parts.append(chr(rng.randint(0, 0x2FF)))
    return "".join(parts)


def _check_shape(result) -> None:
    pairs, reason = result
    assert isinstance(pairs, list)
    assert reason is None or isinstance(reason, str)
    for pair in pairs:
        assert isinstance(pair, tuple) and len(pair) == 2
        assert all(isinstance(x, str) and x.strip() for x in pair)


def test_parse_never_raises_on_garbage():
    rng = random.Random(20230801)
    valid = format_teacher_output([PARIS, OBAMA, ("O'Brien", 'say "hi"'), ("a\\b", "c")])
    samples = [_garble(rng) for _ in range(1600)]
    for _ in range(400):  # mutations of a valid answer: cut, drop or insert a character
        s = list(valid)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(s))
            op = rng.random()
            if op < 0.4:
                del s[i]
            elif op < 0.8:
                s.insert(i, rng.choice(['"', "'", "\\", "(", ")", "[", "]", ","]))
            else:
                s = s[:i]
                break
        samples.append("".join(s))
    samples += ["[" * 5000, "(" * 5000 + '"', "[" * 3000 + "]" * 3000, '[("' + "a" * 20000, "'" * 5000]
    for text in samples:
        _check_shape(parse_teacher_output(text))


def test_parse_is_fast_on_long_broken_answers():
    broken = "[" + ", ".join(f"('ent'ity {i}', 'ty'pe')" for i in range(400)) + "]"
    start = time.perf_counter()
    pairs, reason = parse_teacher_output(broken)
    assert time.perf_counter() - start < 2.0
    assert reason == "scanned" and len(pairs) == 400


def test_truncated_prefix_keeps_every_complete_tuple():
    pairs = [("New York", "city"), ("O'Brien", "person"), ("a, b (c)", "thing"), ('say "x"', "quote"),
             ("back\\slash", "char")]
    text = format_teacher_output(pairs)
    ends, pos = [], 1  # after "["
    for pair in pairs:
        pos += len(format_teacher_output([pair])) - 2  # the tuple without the list brackets
        ends.append(pos)
        pos += 2  # ", "
    assert ends[-1] == len(text) - 1
    for cut in range(1, len(text)):
        got, reason = parse_teacher_output(text[:cut])
        complete = sum(end <= cut for end in ends)
        assert got == pairs[:complete], text[:cut]
        assert reason == ("truncated_recovered" if complete else "truncated")
    assert parse_teacher_output(text) == (pairs, None)


# --------------------------------------------------------------------------- format


def test_format_looks_like_the_llm_answer():
    assert format_teacher_output([PARIS, OBAMA]) == '[("Paris", "location"), ("Obama", "person")]'
    assert format_teacher_output([]) == "[]"
    assert format_teacher_output([('say "hi"', "quote")]) == r'[("say \"hi\"", "quote")]'
    assert format_teacher_output([("O'Brien", "person")]) == '[("O\'Brien", "person")]'
    assert format_teacher_output([("a\\b", "path")]) == r'[("a\\b", "path")]'
    assert format_teacher_output([("Zürich", "city")]) == '[("Zürich", "city")]'


ROUND_TRIP = [
    [PARIS, OBAMA],
    [("O'Brien", "person"), ("Rock 'n' Roll", "genre")],
    [('the "Big Apple"', "nickname"), ("\"'", "quotes")],
    [("C:\\Users\\x", "path"), ("\\", "backslash"), ("ends with \\", "x"), ('\\"', "escaped quote")],
    [("line\nbreak", "odd"), ("tab\there", "odd"), ("日本", "country"), ("a), (b", "tricky"), ("[x]", "list")],
    [("Paris", "location"), ("Paris", "location")],
]


@pytest.mark.parametrize("pairs", ROUND_TRIP)
def test_round_trip(pairs):
    assert parse_teacher_output(format_teacher_output(pairs)) == (pairs, None)


def test_round_trip_random():
    rng = random.Random(7)
    alphabet = "abcXYZ 019'\"\\()[],.-_\n\té日"
    for _ in range(300):
        pairs = []
        for _ in range(rng.randint(0, 5)):
            e = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))).strip()
            t = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))).strip()
            if e and t:
                pairs.append((e, t))
        assert parse_teacher_output(format_teacher_output(pairs)) == (pairs, None)


# --------------------------------------------------------------------------- offline teachers


def _record(rid: str, text: str, *ents: tuple[str, str]) -> Record:
    mentions = []
    for ent, typ in ents:
        start = text.find(ent)
        mentions.append(Mention(ent, typ, start, start + len(ent) if start >= 0 else -1))
    return Record(rid, text, mentions)


def test_corpus_teacher_renders_gold_in_order_of_appearance():
    text = 'Mr. O\'Brien said "Big Apple" is New York, not Paris; O\'Brien left.'
    m = [
        Mention("Paris", "location", text.index("Paris"), text.index("Paris") + 5),
        Mention("O'Brien", "person", 4, 11),
        Mention("New York", "city", text.index("New York"), text.index("New York") + 8),
        Mention('"Big Apple"', "nickname", text.index('"Big'), text.index('"Big') + 11),
        Mention("O'Brien", "person", text.rindex("O'Brien"), text.rindex("O'Brien") + 7),  # repeat
        Mention("the Seine", "river", -1, -1),  # not located in the text: last
    ]
    rec = Record("doc-1", text, m)
    empty = Record("doc-2", "Nothing here.", [])
    teacher = CorpusTeacher()
    answers = teacher.annotate([rec, empty])
    expected = [("O'Brien", "person"), ('"Big Apple"', "nickname"), ("New York", "city"),
                ("Paris", "location"), ("the Seine", "river")]
    a = answers[0]
    assert a.output == format_teacher_output(expected)
    assert a.output.startswith('[("O\'Brien", "person"), ("\\"Big Apple\\"", "nickname")')
    assert (a.pairs, a.reason) == (expected, None)
    assert (a.passage_id, a.passage, a.source, a.cached) == ("doc-1", text, "corpus", False)
    assert a.usage == {"prompt_tokens": 0, "completion_tokens": 0}
    assert (answers[1].output, answers[1].pairs, answers[1].reason) == ("[]", [], None)
    assert teacher.summary()["passages"] == 2


def test_replay_teacher():
    known = _record("r1", "Obama visited Paris.")
    unknown = _record("r2", "Never seen.")
    teacher = ReplayTeacher({known.text: '[("Obama", "person"), ("Paris", "location")]'})
    a, b = teacher.annotate([known, unknown])
    assert (a.pairs, a.reason, a.source) == ([OBAMA, PARIS], None, "replay")
    assert (b.passage_id, b.output, b.pairs, b.reason) == ("r2", "", [], "unknown_passage")
    assert teacher.summary()["unknown"] == 1


def test_make_teacher():
    assert isinstance(make_teacher("corpus"), CorpusTeacher)
    assert isinstance(make_teacher("replay", outputs={}), ReplayTeacher)
    assert isinstance(make_teacher("openai", model="m", base_url="http://127.0.0.1:9/v1"), OpenAITeacher)
    with pytest.raises(ValueError, match="corpus, openai, replay"):
        make_teacher("gpt5")


# --------------------------------------------------------------------------- fake endpoint


class FakeEndpoint:
    """An OpenAI-compatible ``POST /v1/chat/completions`` on 127.0.0.1 with faults injected
    per passage on a fixed schedule (one action per attempt, then ``ok``)."""

    def __init__(self, answers: dict[str, str], schedule: dict[str, list[str]] | None = None, slow: float = 1.0):
        self.answers = answers
        self.schedule = schedule or {}
        self.slow = slow
        self.log: list[dict] = []  # every request received: model, passage, attempt, action, body
        self.auth: list[str] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.attempts: dict[str, int] = {}
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "not found"}})
                passage = body["messages"][-1]["content"].split("Passage: ", 1)[1]
                with endpoint.lock:
                    attempt = endpoint.attempts.get(passage, 0)
                    endpoint.attempts[passage] = attempt + 1
                    plan = endpoint.schedule.get(passage, [])
                    action = plan[attempt] if attempt < len(plan) else "ok"
                    endpoint.auth.append(self.headers.get("Authorization", ""))
                    endpoint.log.append({"model": body["model"], "passage": passage, "attempt": attempt,
                                         "action": action, "body": body})
                if action in ("429", "500", "503", "400"):
                    headers = {"Retry-After": "0"} if action == "429" else {}
                    return self._send(int(action), {"error": {"message": f"fault {action}", "type": "x"}}, headers)
                if action == "timeout":
                    time.sleep(endpoint.slow)
                elif action == "hang":
                    endpoint.release.wait(30)
                content = endpoint.answers[passage]
                finish = "stop"
                if action == "empty":
                    content = ""
                elif action == "length":
                    content, finish = content[: len(content) // 2], "length"
                elif action == "refuse":
                    content, finish = "", "content_filter"
                self._send(200, {
                    "id": f"chatcmpl-{len(endpoint.log)}", "object": "chat.completion", "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": finish}],
                    "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                              "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS},
                })

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout) or was killed

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def requests_for(self, passage: str) -> list[dict]:
        return [e for e in self.log if e["passage"] == passage]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", LEAK)
    for name in ("UNER_TEACHER_MODEL", "UNER_TEACHER_BASE_URL", "OPENAI_BASE_URL", "UNER_TEACHER_TEMPERATURE",
                 "UNER_TEACHER_MAX_TOKENS", "UNER_TEACHER_TIMEOUT", "UNER_TEACHER_CONCURRENCY",
                 "UNER_TEACHER_MAX_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    return LEAK


def _teacher(endpoint: FakeEndpoint, cache, **kw) -> OpenAITeacher:
    opts = dict(model="teacher-test", base_url=endpoint.url, timeout=0.5, concurrency=4, max_retries=3,
                backoff_base=0.01, backoff_max=0.05, cache=cache)
    opts.update(kw)
    return OpenAITeacher(**opts)


def _passages(n: int) -> tuple[list[Record], dict[str, str], dict[str, list]]:
    recs, answers, pairs = [], {}, {}
    for i in range(n):
        text = f"Passage {i}: Alice{i} met Bob{i} in Paris."
        recs.append(Record(f"p{i}", text, []))
        pairs[text] = [(f"Alice{i}", "person"), (f"Bob{i}", "person"), ("Paris", "location")]
        answers[text] = format_teacher_output(pairs[text])
    return recs, answers, pairs


# --------------------------------------------------------------------------- OpenAI teacher


def test_end_to_end_with_faults(api_key, tmp_path):
    recs, answers, pairs = _passages(8)
    t = [r.text for r in recs]
    answers[t[4]] = answers[t[4]][:-12]  # cut off inside the last tuple
    answers[t[5]] = "I found several entities, such as Alice5 and Bob5, in the passage."
    schedule = {
        t[1]: ["429"],
        t[2]: ["500", "503"],
        t[3]: ["timeout"],
        t[6]: ["500"] * 4,  # fails on every try (max_retries=3: 4 tries)
        t[7]: ["400"],  # not retryable
    }
    cache = tmp_path / "cache.sqlite"
    with FakeEndpoint(answers, schedule, slow=1.0) as ep:
        teacher = _teacher(ep, cache, price_input_per_m=1.0, price_output_per_m=2.0)
        res = teacher.annotate(recs, progress=False)

        assert [a.passage_id for a in res] == [r.id for r in recs]
        assert all(isinstance(a, TeacherAnswer) and a.source == "openai" for a in res)
        for i in (0, 1, 2, 3):
            assert (res[i].pairs, res[i].reason, res[i].cached) == (pairs[t[i]], None, False)
            assert res[i].output == answers[t[i]]
            assert res[i].usage == {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS}
        assert (res[4].pairs, res[4].reason) == (pairs[t[4]][:2], "truncated_recovered")
        assert (res[5].pairs, res[5].reason) == ([], "no_list")
        assert (res[6].output, res[6].pairs, res[6].reason) == ("", [], "request_failed: InternalServerError")
        assert (res[7].output, res[7].reason) == ("", "request_failed: BadRequestError")
        assert res[6].usage == {"prompt_tokens": 0, "completion_tokens": 0}

        tries = {i: len(ep.requests_for(t[i])) for i in range(8)}
        assert tries == {0: 1, 1: 2, 2: 3, 3: 2, 4: 1, 5: 1, 6: 4, 7: 1}
        for entry in ep.log:  # the request is the paper's prompt with our parameters
            assert entry["model"] == "teacher-test"
            assert entry["body"]["messages"] == build_messages(entry["passage"])
            assert entry["body"]["temperature"] == 0.0
        assert set(ep.auth) == {f"Bearer {LEAK}"}

        s = teacher.summary()
        assert {k: s[k] for k in ("passages", "requests", "answered", "cached", "retries", "failures",
                                  "prompt_tokens", "completion_tokens")} == {
            "passages": 8, "requests": 15, "answered": 6, "cached": 0, "retries": 7, "failures": 2,
            "prompt_tokens": 6 * PROMPT_TOKENS, "completion_tokens": 6 * COMPLETION_TOKENS}
        assert s["cost"] == pytest.approx((60 * 1.0 + 30 * 2.0) / 1e6)
        assert s["model"] == "teacher-test"
        with ResponseCache(cache) as c:
            assert len(c) == 6  # failed passages are not cached

        # Rerun: the answered passages come from the cache, only the failed ones are re-sent.
        before = len(ep.log)
        again = _teacher(ep, cache)
        res2 = again.annotate(recs, progress=False)
        resent = [e["passage"] for e in ep.log[before:]]
        assert sorted(resent) == sorted([t[6], t[7]])
        assert [a.cached for a in res2] == [True] * 6 + [False, False]
        assert [(a.output, a.pairs, a.reason) for a in res2[:6]] == [(a.output, a.pairs, a.reason) for a in res[:6]]
        assert res2[6].pairs == pairs[t[6]] and res2[7].pairs == pairs[t[7]]
        s2 = again.summary()
        assert (s2["requests"], s2["cached"], s2["answered"], s2["failures"], s2["retries"]) == (2, 6, 2, 0, 0)
        assert s2["prompt_tokens"] == 2 * PROMPT_TOKENS  # cached answers cost nothing


def test_duplicate_passages_share_one_request(api_key, tmp_path):
    recs, answers, pairs = _passages(2)
    dup = Record("p0-again", recs[0].text, [])
    with FakeEndpoint(answers) as ep:
        teacher = _teacher(ep, tmp_path / "c.sqlite")
        res = teacher.annotate([recs[0], recs[1], dup], progress=True)
    assert [a.passage_id for a in res] == ["p0", "p1", "p0-again"]
    assert res[2].pairs == res[0].pairs == pairs[recs[0].text]
    assert len(ep.log) == 2
    assert teacher.summary()["requests"] == 2


def test_cache_key_covers_the_request(api_key, tmp_path):
    recs, answers, _ = _passages(1)
    with FakeEndpoint(answers) as ep:
        cache = tmp_path / "c.sqlite"
        _teacher(ep, cache).annotate(recs, progress=False)
        _teacher(ep, cache).annotate(recs, progress=False)
        assert len(ep.log) == 1
        _teacher(ep, cache, temperature=0.7).annotate(recs, progress=False)
        _teacher(ep, cache, max_tokens=64).annotate(recs, progress=False)
        _teacher(ep, cache, model="other-model").annotate(recs, progress=False)
        _teacher(ep, cache, params={"seed": 1}).annotate(recs, progress=False)
        assert len(ep.log) == 5
        assert ep.log[1]["body"]["temperature"] == 0.7
        assert ep.log[2]["body"]["max_tokens"] == 64
        assert ep.log[3]["model"] == "other-model"
        assert ep.log[4]["body"]["seed"] == 1
        assert "max_tokens" not in ep.log[0]["body"] and "seed" not in ep.log[0]["body"]
    with ResponseCache(cache) as c:
        assert len(c) == 5


_CHILD = """
import json, sys
from unerlib.data import Record
from unerlib.teacher import OpenAITeacher
url, cache, data = sys.argv[1:4]
recs = [Record(r["id"], r["text"], []) for r in json.load(open(data))]
teacher = OpenAITeacher("teacher-test", base_url=url, cache=cache, timeout=60, concurrency=16,
                        max_retries=0, backoff_base=0.01)
teacher.annotate(recs, progress=False)
print("FINISHED")
"""


def _cache_rows(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.Error:
        return 0


def _assert_no_answer_sent_twice(ep: FakeEndpoint) -> None:
    answered: dict[tuple[str, str], int] = {}
    for e in ep.log:
        if e["action"] == "ok":
            key = (e["model"], e["passage"])
            answered[key] = answered.get(key, 0) + 1
    assert all(n == 1 for n in answered.values()), answered


def test_killed_run_restarts_without_resending(api_key, tmp_path):
    n, k = 10, 4
    recs, answers, pairs = _passages(n)
    # The first k passages are answered at once; the others hang until the run is killed.
    schedule = {r.text: ["hang"] for r in recs[k:]}
    cache = tmp_path / "cache.sqlite"
    data = tmp_path / "passages.json"
    data.write_text(json.dumps([{"id": r.id, "text": r.text} for r in recs]))
    with FakeEndpoint(answers, schedule) as ep:
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        child = subprocess.Popen([sys.executable, "-c", _CHILD, ep.url, str(cache), str(data)],
                                 cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while (len(ep.log) < n or _cache_rows(cache) < k) and time.monotonic() < deadline:
                assert child.poll() is None, child.communicate()
                time.sleep(0.05)
            assert len(ep.log) == n and _cache_rows(cache) == k
        finally:
            child.kill()  # killed midway: k answers in the cache, n - k requests in flight
            out, err = child.communicate()
        assert b"FINISHED" not in out
        first = len(ep.log)

        teacher = _teacher(ep, cache)
        res = teacher.annotate(recs, progress=False)
        resent = [e["passage"] for e in ep.log[first:]]
        assert sorted(resent) == sorted(r.text for r in recs[k:])  # nothing answered before
        _assert_no_answer_sent_twice(ep)
    assert [a.passage_id for a in res] == [r.id for r in recs]
    assert [a.cached for a in res] == [True] * k + [False] * (n - k)
    assert all(a.pairs == pairs[a.passage] and a.reason is None for a in res)
    assert teacher.summary()["cached"] == k and teacher.summary()["requests"] == n - k


def test_interrupted_run_restarts_without_resending(api_key, tmp_path):
    n, k = 6, 2
    recs, answers, pairs = _passages(n)
    cache = tmp_path / "cache.sqlite"
    seen: list[str] = []

    def stop_after_k(answer: TeacherAnswer) -> None:
        seen.append(answer.passage_id)
        if len(seen) == k:
            raise KeyboardInterrupt

    with FakeEndpoint(answers) as ep:
        with pytest.raises(KeyboardInterrupt):
            _teacher(ep, cache, concurrency=1).annotate(recs, progress=False, on_answer=stop_after_k)
        kept = _cache_rows(cache)
        assert kept >= k and seen == ["p0", "p1"]
        res = _teacher(ep, cache).annotate(recs, progress=False)
        _assert_no_answer_sent_twice(ep)
        assert {e["passage"] for e in ep.log} == {r.text for r in recs}
    assert sum(a.cached for a in res) == kept and _cache_rows(cache) == n
    assert [a.passage_id for a in res] == [r.id for r in recs]
    assert all(a.pairs == pairs[a.passage] for a in res)


def test_annotate_inside_a_running_loop(api_key, tmp_path):
    recs, answers, pairs = _passages(3)
    with FakeEndpoint(answers) as ep:
        teacher = _teacher(ep, tmp_path / "c.sqlite")

        async def notebook_cell():
            return teacher.annotate(recs, progress=False)

        res = asyncio.run(notebook_cell())
    assert [a.pairs for a in res] == [pairs[r.text] for r in recs]


def test_no_cache_still_works(api_key):
    recs, answers, pairs = _passages(2)
    with FakeEndpoint(answers) as ep:
        teacher = _teacher(ep, None)
        assert [a.pairs for a in teacher.annotate(recs, progress=False)] == [pairs[r.text] for r in recs]
        teacher.annotate(recs, progress=False)
        assert len(ep.log) == 4


def test_api_key_never_leaks(api_key, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    recs, answers, _ = _passages(4)
    schedule = {recs[1].text: ["429"], recs[2].text: ["500"] * 10, recs[3].text: ["400"]}
    cache = tmp_path / "cache.sqlite"
    with FakeEndpoint(answers, schedule) as ep:
        teacher = _teacher(ep, cache, max_retries=1)
        res = teacher.annotate(recs, progress=True)
        res += _teacher(ep, cache, max_retries=1).annotate(recs, progress=True)
        assert ep.auth and all(h == f"Bearer {LEAK}" for h in ep.auth)  # the key was used
    out, err = capsys.readouterr()
    places = {
        "cache file": b"".join(p.read_bytes() for p in tmp_path.iterdir()).decode("latin-1"),
        "repr": repr(teacher),
        "attributes": repr(vars(teacher)),
        "summary": json.dumps(teacher.summary()),
        "stdout": out,
        "stderr": err,
        "log": caplog.text + "".join(repr(r.args) + r.getMessage() for r in caplog.records),
        "answers": repr(res),
    }
    for where, text in places.items():
        assert LEAK not in text, where
        assert "LEAKCHECK" not in text, where
    assert "request_failed" in res[2].reason  # the failure paths were exercised


def test_api_key_is_not_an_argument(api_key):
    with pytest.raises(TypeError, match="environment"):
        OpenAITeacher("m", api_key="sk-nope")
    with pytest.raises(TypeError):
        make_teacher("openai", api_key="sk-nope")
    with pytest.raises(TypeError):
        OpenAITeacher("m", bogus=1)


def test_missing_key_names_the_variable(api_key, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY")
    recs, answers, _ = _passages(1)
    with FakeEndpoint(answers) as ep:
        with pytest.raises(TeacherError, match="OPENAI_API_KEY"):
            _teacher(ep, tmp_path / "c.sqlite").annotate(recs, progress=False)
        with pytest.raises(TeacherError, match="MY_TEACHER_KEY"):
            _teacher(ep, tmp_path / "c.sqlite", api_key_env="MY_TEACHER_KEY").annotate(recs, progress=False)
        assert ep.log == []
        # another variable can hold the key; once cached, no key is needed at all
        monkeypatch.setenv("MY_TEACHER_KEY", LEAK)
        _teacher(ep, tmp_path / "c.sqlite", api_key_env="MY_TEACHER_KEY").annotate(recs, progress=False)
        monkeypatch.delenv("MY_TEACHER_KEY")
        res = _teacher(ep, tmp_path / "c.sqlite").annotate(recs, progress=False)
        assert res[0].cached and len(ep.log) == 1


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("UNER_TEACHER_MODEL", "env-model")
    monkeypatch.setenv("UNER_TEACHER_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://ignored/v1")
    monkeypatch.setenv("UNER_TEACHER_TEMPERATURE", "0.3")
    monkeypatch.setenv("UNER_TEACHER_MAX_TOKENS", "512")
    monkeypatch.setenv("UNER_TEACHER_TIMEOUT", "12.5")
    monkeypatch.setenv("UNER_TEACHER_CONCURRENCY", "3")
    monkeypatch.setenv("UNER_TEACHER_MAX_RETRIES", "2")
    t = OpenAITeacher()
    assert (t.model, t.base_url, t.temperature, t.max_tokens, t.timeout, t.concurrency, t.max_retries) == (
        "env-model", "http://127.0.0.1:1/v1", 0.3, 512, 12.5, 3, 2)
    t = OpenAITeacher("arg-model", base_url="http://x/v1", temperature=0.0, max_tokens=8, concurrency=1)
    assert (t.model, t.base_url, t.temperature, t.max_tokens, t.concurrency) == ("arg-model", "http://x/v1", 0.0, 8, 1)
    monkeypatch.delenv("UNER_TEACHER_BASE_URL")
    monkeypatch.delenv("UNER_TEACHER_MODEL")
    t = OpenAITeacher()
    assert t.base_url == "http://ignored/v1" and t.model == "gpt-3.5-turbo-0301"
    monkeypatch.setenv("UNER_TEACHER_CONCURRENCY", "many")
    with pytest.raises(ValueError, match="UNER_TEACHER_CONCURRENCY"):
        OpenAITeacher()


def test_batch_file(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # writing the file needs no key
    recs, _, _ = _passages(3)
    teacher = OpenAITeacher("gpt-test", base_url="http://127.0.0.1:1/v1", max_tokens=256)
    path = teacher.batch_file(recs, tmp_path / "batch" / "requests.jsonl")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [x["custom_id"] for x in lines] == ["p0", "p1", "p2"]
    assert all(x["method"] == "POST" and x["url"] == "/v1/chat/completions" for x in lines)
    assert lines[1]["body"] == {"model": "gpt-test", "messages": build_messages(recs[1].text),
                                "temperature": 0.0, "max_tokens": 256}
    with pytest.raises(ValueError, match="duplicate"):
        teacher.batch_file([recs[0], recs[0]], tmp_path / "dup.jsonl")


class _AnyPassage(dict):
    """Answers for passages the test does not know in advance (sampled by a notebook)."""

    def __missing__(self, passage: str) -> str:
        return format_teacher_output([("Paris", "location"), ("Ada Lovelace", "person")])


@pytest.mark.data
def test_api_key_never_in_the_executed_notebook_or_the_html_report(api_key, data_root, tmp_path, monkeypatch):
    """Notebook 01 with the OpenAI teacher, run by the report runner against the fake
    endpoint, then the book built: the key is in no file of the project afterwards
    (executed notebook, HTML, artifacts, cache, run log)."""
    import shutil

    import yaml

    from unerlib.pipeline import run_report

    monkeypatch.delenv("UNER_ARTIFACTS", raising=False)  # artifacts land under the project
    monkeypatch.setenv("UNER_DATA_DIR", str(data_root))
    repo = Path(__file__).resolve().parents[1]
    root = tmp_path / "proj"
    (root / "notebooks").mkdir(parents=True)
    (root / "profiles").mkdir()
    shutil.copy2(repo / "notebooks" / "01_data_construction.ipynb", root / "notebooks")
    shutil.copy2(repo / "_config.yml", root)
    shutil.copytree(repo / "book", root / "book")
    toc = {"format": "jb-book", "root": "book/intro",
           "chapters": [{"file": "notebooks/01_data_construction"}, {"file": "book/license"}]}
    (root / "_toc.yml").write_text(yaml.safe_dump(toc))
    with FakeEndpoint(_AnyPassage()) as ep:
        profile = {"parameters": {"teacher": "openai", "teacher_model": "teacher-test", "base_url": ep.url,
                                  "n_passages": 3, "max_passage_tokens": 64, "seed": 0}}
        (root / "profiles" / "leak.yaml").write_text(yaml.safe_dump(profile))
        index = run_report("leak", root=root)
        assert ep.log and all(h == f"Bearer {LEAK}" for h in ep.auth)  # the key was used
    assert index.is_file()
    html = (index.parent / "notebooks" / "01_data_construction.html").read_text(encoding="utf-8")
    assert "teacher-test" in html and "openai" in html  # the page documents the run it came from
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in files), "the response cache was not written under the project"
    for path in files:
        data = path.read_bytes()
        assert LEAK.encode() not in data and b"LEAKCHECK" not in data, path


# --------------------------------------------------------------------------- nothing lost (issue 12, item 1)


def test_failed_passages_are_completed_by_the_rerun_and_each_asked_once_after_success(api_key, tmp_path):
    from unerlib.construct import construct
    from unerlib.teacher import is_failed

    recs, answers, pairs = _passages(10)
    t = [r.text for r in recs]
    schedule = {t[1]: ["500"] * 3, t[2]: ["400"], t[3]: ["empty"], t[4]: ["length"], t[5]: ["refuse"]}
    cache = tmp_path / "cache.sqlite"
    with FakeEndpoint(answers, schedule) as ep:
        first = _teacher(ep, cache, max_retries=2, price_input_per_m=1.0, price_output_per_m=2.0)
        data, summary = construct(recs, first, progress=False, max_failure_share=None)
        assert summary.failed == 4 and summary.refused == 1 and not summary.complete
        assert summary.sent == 10 and len(summary.first_errors) == 3
        assert summary.first_errors[0].startswith("p1: request_failed")
        assert {d["id"] for d in data} == {f"p{i}" for i in (0, 6, 7, 8, 9)}
        # the empty and the cut replies were paid for: their tokens count in the cost
        s = first.summary()
        assert s["failures"] == 4 and s["refused"] == 1 and s["answered"] == 5
        assert s["prompt_tokens"] == 8 * PROMPT_TOKENS and s["cost"] == pytest.approx(
            (8 * PROMPT_TOKENS * 1.0 + 8 * COMPLETION_TOKENS * 2.0) / 1e6)
        with ResponseCache(cache) as c:
            assert len(c) == 6  # 5 answers and the refusal; no failure, no empty or cut reply

        before = len(ep.log)
        again = _teacher(ep, cache)
        res = again.annotate(recs, progress=False)
        resent = sorted(e["passage"] for e in ep.log[before:])
        assert resent == sorted(t[i] for i in (1, 2, 3, 4))  # exactly the failed ones
        assert not any(is_failed(a) for a in res)
        assert [i for i, a in enumerate(res) if not a.cached] == [1, 2, 3, 4]
        assert res[5].reason == "refused" and res[5].cached and res[5].pairs == []  # recorded, final
        for i in (1, 2, 3, 4):
            assert res[i].pairs == pairs[t[i]]
        data2, summary2 = construct(recs, _teacher(ep, cache), progress=False)
        assert summary2.complete and summary2.failed == 0 and summary2.refused == 1
        assert len(data2) == 9
        # once answered, each passage was requested with success exactly once
        ok = [e["passage"] for e in ep.log if e["action"] in ("ok", "timeout")]
        assert sorted(ok) == sorted(t[i] for i in range(10) if i != 5)
        assert len(ep.log) == len(ep.log[:before]) + 4


@pytest.mark.parametrize("action, reason", [("empty", "no_reply"), ("length", "cut_by_length")])
def test_empty_or_cut_reply_is_not_cached(api_key, tmp_path, action, reason):
    recs, answers, _ = _passages(1)
    with FakeEndpoint(answers, {recs[0].text: [action]}) as ep:
        res = _teacher(ep, tmp_path / "c.sqlite").annotate(recs, progress=False)
        assert (res[0].reason, res[0].pairs, res[0].cached) == (reason, [], False)
        assert reason in REASONS
        with ResponseCache(tmp_path / "c.sqlite") as c:
            assert len(c) == 0
        res = _teacher(ep, tmp_path / "c.sqlite").annotate(recs, progress=False)
        assert res[0].reason is None and not res[0].cached and len(ep.log) == 2


def test_old_cache_with_an_empty_answer_is_asked_again(api_key, tmp_path):
    recs, answers, _ = _passages(1)
    with FakeEndpoint(answers) as ep:
        teacher = _teacher(ep, tmp_path / "c.sqlite")
        with sqlite3.connect(tmp_path / "c.sqlite") as db:  # a cache written by an older version
            db.execute("DROP TABLE responses")
            db.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, model TEXT, output TEXT NOT NULL,"
                       " prompt_tokens INTEGER, completion_tokens INTEGER)")
            db.execute("INSERT INTO responses VALUES (?, ?, '', 1, 0)",
                       (ResponseCache.key(teacher.request(recs[0].text)), "teacher-test"))
        res = _teacher(ep, tmp_path / "c.sqlite").annotate(recs, progress=False)
        assert res[0].reason is None and not res[0].cached and len(ep.log) == 1


def test_failure_share_above_the_threshold_raises_naming_the_share(api_key, tmp_path):
    from unerlib.construct import ConstructionError, construct

    recs, answers, _ = _passages(10)
    schedule = {recs[3].text: ["400"], recs[7].text: ["empty"]}
    with FakeEndpoint(answers, schedule) as ep:
        with pytest.raises(ConstructionError) as info:
            construct(recs, _teacher(ep, tmp_path / "c.sqlite"), progress=False, max_failure_share=0.05)
        msg = str(info.value)
        assert "2 of 10 passages (20.0%)" in msg and "5.0%" in msg
        assert "p3: request_failed: BadRequestError" in msg and "p7: no_reply" in msg
        # at or below the threshold: the data, with the failures counted
        data, summary = construct(recs, _teacher(ep, tmp_path / "c.sqlite"), progress=False, max_failure_share=0.2)
        assert summary.failed == 0 and summary.complete  # the rerun completed them


def test_dry_run_sends_nothing_and_prints_the_cost(api_key, tmp_path, monkeypatch):
    from unerlib.construct import dry_run, format_dry_run

    recs, answers, _ = _passages(4)
    monkeypatch.delenv("OPENAI_API_KEY")  # a dry run needs no key
    with FakeEndpoint(answers) as ep:
        teacher = _teacher(ep, tmp_path / "c.sqlite", price_input_per_m=2.0, price_output_per_m=8.0, max_tokens=16)
        est = dry_run(recs, teacher)
        assert ep.log == []
        assert est["passages"] == 4 and est["requests"] == 4 and est["cached"] == 0
        assert est["prompt_tokens"] > 4 * len(SYSTEM) // 4
        assert 0 < est["completion_tokens"] <= 4 * 16
        assert est["cost"] == pytest.approx((est["prompt_tokens"] * 2.0 + est["completion_tokens"] * 8.0) / 1e6)
        text = format_dry_run(est)
        assert "p0" in text and "p3" in text and f"{est['cost']:.4f}" in text and "nothing was sent" in text
        # cached passages cost nothing; the completion ratio comes from the cached answers
        monkeypatch.setenv("OPENAI_API_KEY", LEAK)
        teacher.annotate(recs[:2], progress=False)
        est2 = dry_run(recs, teacher)
        assert (est2["requests"], est2["cached"]) == (2, 2) and len(ep.log) == 2


def test_missing_key_is_one_line_in_the_cli(tmp_path, monkeypatch, capsys):
    from unerlib.cli import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("UNER_DATA_DIR", str(tmp_path))  # no registered corpus: only the file source is read
    import unerlib.experiments

    monkeypatch.setattr(unerlib.experiments, "evaluation_texts", lambda root=None: set())
    monkeypatch.setattr(unerlib.experiments, "token_counter", lambda model=None: lambda text: len(text.split()))
    src = tmp_path / "p.jsonl"
    src.write_text('{"text": "Alice met Bob in Paris."}\n')
    rc = main(["construct", "--teacher", "openai", "--sources", f"file:{src}", "--passages", "1",
               "--base-url", "http://127.0.0.1:9/v1", "--cache", str(tmp_path / "c.sqlite"),
               "--out", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("uner: error:") and "OPENAI_API_KEY" in err
    assert "Traceback" not in err
    rc = main(["construct", "--teacher", "openai", "--sources", f"file:{src}", "--passages", "1",
               "--base-url", "http://127.0.0.1:9/v1", "--cache", str(tmp_path / "c.sqlite"),
               "--out", str(tmp_path / "out.json"), "--dry-run", "--price-in", "1", "--price-out", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and "estimated cost" in out and "nothing was sent" in out and not (tmp_path / "out.json").exists()
