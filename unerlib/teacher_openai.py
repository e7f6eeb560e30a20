"""The paper's teacher: any OpenAI-compatible chat endpoint through the ``openai`` client,
with a concurrency limit, retries with backoff, a persistent SQLite response cache (a killed
run restarts without re-sending anything answered), token and cost accounting. Failed,
empty and length-cut replies are never cached, so the next run asks for them again.

The API key is read from the environment only, at request time; it is never an argument,
never kept on an object, never written to the cache or to a log."""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .data import Record
from .teacher_cache import ResponseCache
from .teacher import (API_KEY_ENV, COMPLETION_RATIO, DEFAULT_MODEL, MESSAGE_OVERHEAD, _RETRY_STATUS, TeacherAnswer, _bar,
                      approx_tokens, build_messages, log, make_answer)

# --------------------------------------------------------------------------- OpenAI


def _env(name: str, cast: Callable[[str], Any], default: Any) -> Any:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return cast(value)
    except ValueError:
        raise TeacherSettingError(f"environment variable {name}={value!r} is not a valid {cast.__name__}") from None


def _retryable(err: BaseException) -> bool:
    import openai

    if isinstance(err, (openai.APIConnectionError, TimeoutError, asyncio.TimeoutError)):
        return True  # includes openai.APITimeoutError
    if isinstance(err, openai.APIStatusError):
        return err.status_code in _RETRY_STATUS or err.status_code >= 500
    return False


def _retry_after(err: BaseException) -> float | None:
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        value = float(headers.get("retry-after"))
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


class TeacherError(RuntimeError):
    """The teacher cannot run (for example, no API key in the environment)."""


class TeacherSettingError(TeacherError, ValueError):
    """A teacher setting (argument or environment variable) has an invalid value."""


class OpenAITeacher:
    """The paper's teacher: an OpenAI-compatible chat endpoint through the ``openai`` package.

    Arguments left out come from the environment: ``UNER_TEACHER_MODEL`` (else
    :data:`DEFAULT_MODEL`), ``UNER_TEACHER_BASE_URL`` or ``OPENAI_BASE_URL``,
    ``UNER_TEACHER_TEMPERATURE`` (0), ``UNER_TEACHER_MAX_TOKENS`` (unset),
    ``UNER_TEACHER_TIMEOUT`` (60 s per request), ``UNER_TEACHER_CONCURRENCY`` (8),
    ``UNER_TEACHER_MAX_RETRIES`` (6). The API key is read from the environment variable named
    by ``api_key_env`` when requests are sent; it is not an argument and is not stored.

    Failed requests (429, 408/409, 5xx, timeouts, connection errors) are retried with
    exponential backoff plus jitter (``backoff_base * 2**attempt``, at least ``Retry-After``,
    at most ``backoff_max``); the client's own retries are off. Answers go to ``cache``
    (a :class:`ResponseCache` or a path) as they arrive; a passage whose requests all fail is
    not cached and comes back with reason ``"request_failed: <error class>"``; an empty reply
    (``"no_reply"``) or one cut by the token limit (``finish_reason == "length"``,
    ``"cut_by_length"``) is not cached either: the next run asks again. A refusal
    (``finish_reason == "content_filter"`` or a ``refusal`` message) is cached as the
    passage's final answer (reason ``"refused"``). :meth:`estimate` is the dry run: tokens
    and cost of what would be sent, sending nothing; ``price_input_per_m`` and
    ``price_output_per_m`` are the price table (per million tokens) of the cost.
    """

    name = "openai"

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,
        concurrency: int | None = None,
        max_retries: int | None = None,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        cache: ResponseCache | str | os.PathLike | None = None,
        api_key_env: str = API_KEY_ENV,
        price_input_per_m: float = 0.0,
        price_output_per_m: float = 0.0,
        params: Mapping[str, Any] | None = None,
        **unexpected: Any,
    ) -> None:
        if "api_key" in unexpected:
            raise TypeError(
                f"OpenAITeacher takes no api_key argument: the key is read only from the "
                f"environment variable {api_key_env} (or the one named by api_key_env)"
            )
        if unexpected:
            raise TypeError(f"OpenAITeacher got unexpected keyword arguments: {', '.join(sorted(unexpected))}")
        self.model = model or os.environ.get("UNER_TEACHER_MODEL") or DEFAULT_MODEL
        self.base_url = base_url or os.environ.get("UNER_TEACHER_BASE_URL") or os.environ.get("OPENAI_BASE_URL") or None
        self.temperature = float(temperature if temperature is not None else _env("UNER_TEACHER_TEMPERATURE", float, 0.0))
        self.max_tokens = max_tokens if max_tokens is not None else _env("UNER_TEACHER_MAX_TOKENS", int, None)
        self.timeout = float(timeout if timeout is not None else _env("UNER_TEACHER_TIMEOUT", float, 60.0))
        self.concurrency = int(concurrency if concurrency is not None else _env("UNER_TEACHER_CONCURRENCY", int, 8))
        self.max_retries = int(max_retries if max_retries is not None else _env("UNER_TEACHER_MAX_RETRIES", int, 6))
        if self.concurrency < 1 or self.max_retries < 0 or self.timeout <= 0:
            raise TeacherSettingError(f"teacher settings: concurrency must be >= 1 (got {self.concurrency}), "
                                      f"max_retries >= 0 (got {self.max_retries}) and timeout > 0 (got {self.timeout})")
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.cache = cache if isinstance(cache, ResponseCache) or cache is None else ResponseCache(cache)
        self.api_key_env = api_key_env
        self.price_input_per_m = float(price_input_per_m)
        self.price_output_per_m = float(price_output_per_m)
        self.params = dict(params or {})
        self._rng = random.Random()
        self._stats = dict.fromkeys(
            ("passages", "requests", "answered", "cached", "retries", "failures", "refused", "prompt_tokens",
             "completion_tokens"), 0
        )
        self._stats_lock = threading.Lock()

    # -- requests ---------------------------------------------------------------------

    def request(self, passage: str) -> dict[str, Any]:
        """The request body for one passage (model, messages, temperature, max_tokens, params);
        its canonical JSON is the cache key."""
        body: dict[str, Any] = {"model": self.model, "messages": build_messages(passage), "temperature": self.temperature}
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        body.update(self.params)
        return body

    def _api_key(self) -> str:
        key = os.environ.get(self.api_key_env, "").strip()
        if not key:
            raise TeacherError(
                f"no API key: set the environment variable {self.api_key_env} "
                f"(the teacher reads the key only from the environment)"
            )
        return key

    def _count(self, **deltas: int) -> None:
        with self._stats_lock:
            for k, v in deltas.items():
                self._stats[k] += v

    def _delay(self, attempt: int, err: BaseException) -> float:
        delay = self.backoff_base * 2**attempt + self._rng.uniform(0, self.backoff_base)
        after = _retry_after(err)
        if after is not None:
            delay = max(delay, after)
        return min(delay, self.backoff_max)

    async def _ask(self, client: Any, sem: asyncio.Semaphore, body: dict[str, Any], pid: str):
        """Send one request with retries; ``(output, usage)`` or the last error."""
        err: BaseException | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self._count(retries=1)
                delay = self._delay(attempt - 1, err)
                log.info("teacher: passage %s: %s, retry %d in %.2fs", pid, type(err).__name__, attempt, delay)
                await asyncio.sleep(delay)
            async with sem:
                self._count(requests=1)
                try:
                    resp = await asyncio.wait_for(
                        client.chat.completions.create(**body, timeout=self.timeout), self.timeout + 1.0
                    )
                except Exception as exc:
                    err = exc
                    if not _retryable(exc):
                        break
                    continue
            usage = getattr(resp, "usage", None)
            usage_d = {"prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
                       "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0)}
            choices = getattr(resp, "choices", None) or []
            message = choices[0].message if choices else None
            content = message.content if message else None
            finish = getattr(choices[0], "finish_reason", None) if choices else None
            if finish == "content_filter" or (message is not None and getattr(message, "refusal", None)):
                finish = "refused"
            return (content or ""), usage_d, finish
        log.warning("teacher: passage %s failed: %s", pid, type(err).__name__)
        return err

    async def _run(self, passages: Sequence[Record], bar: Any, on_answer: Callable[[TeacherAnswer], None] | None):
        import openai

        results: list[TeacherAnswer | None] = [None] * len(passages)
        groups: dict[str, list[int]] = {}
        bodies: dict[str, dict[str, Any]] = {}
        for i, rec in enumerate(passages):
            body = self.request(rec.text)
            key = ResponseCache.key(body)
            groups.setdefault(key, []).append(i)
            bodies[key] = body

        def finish(key: str, output: str, usage: Mapping[str, int], cached: bool, reason: str | None = None) -> None:
            for n, i in enumerate(groups[key]):
                ans = make_answer(passages[i], output, self.name, usage if n == 0 else None, cached)
                if reason is not None:
                    ans.reason = reason
                    if reason in ("cut_by_length", "no_reply", "refused"):
                        ans.pairs = []  # a cut, empty or refused reply gives no data
                results[i] = ans
                bar.update(1)
                if on_answer is not None:
                    on_answer(ans)

        hits = {key: self.cache.get_entry(key) if self.cache is not None else None for key in groups}
        todo = [key for key, hit in hits.items() if hit is None]
        api_key = self._api_key() if todo else ""  # fail before anything when a request is needed
        for key, hit in hits.items():
            if hit is not None:
                self._count(cached=len(groups[key]))
                finish(key, hit[0], hit[1], True, "refused" if hit[2] == "refused" else None)
        if todo:
            sem = asyncio.Semaphore(self.concurrency)
            async with openai.AsyncOpenAI(
                api_key=api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0
            ) as client:

                async def one(key: str) -> None:
                    got = await self._ask(client, sem, bodies[key], passages[groups[key][0]].id)
                    if isinstance(got, BaseException):
                        self._count(failures=len(groups[key]))
                        finish(key, "", {}, False, f"request_failed: {type(got).__name__}")
                        return
                    output, usage, end = got
                    self._count(**usage)  # paid for, answer or not
                    if end == "refused":
                        if self.cache is not None:
                            self.cache.put(key, output, usage, self.model, finish="refused")
                        self._count(refused=len(groups[key]))
                        finish(key, output, usage, False, "refused")
                        return
                    failure = ("cut_by_length" if end == "length" else
                               "no_reply" if not output.strip() else None)
                    if failure is not None:  # not an answer: not cached, asked again next run
                        log.warning("teacher: passage %s: %s", passages[groups[key][0]].id, failure)
                        self._count(failures=len(groups[key]))
                        finish(key, output, usage, False, failure)
                        return
                    if self.cache is not None:
                        self.cache.put(key, output, usage, self.model)
                    self._count(answered=len(groups[key]))
                    finish(key, output, usage, False)

                tasks = [asyncio.ensure_future(one(k)) for k in todo]
                try:
                    await asyncio.gather(*tasks)
                finally:
                    for t in tasks:
                        t.cancel()
        return results

    def annotate(
        self,
        passages: Sequence[Record],
        progress: bool = True,
        on_answer: Callable[[TeacherAnswer], None] | None = None,
    ) -> list[TeacherAnswer]:
        """Annotate every passage (cached answers first, then requests), in input order.

        Runs its own event loop; called inside a running loop (Jupyter), it runs in a worker
        thread. ``on_answer`` is called with each answer as it arrives (after it is cached).
        Raises :class:`TeacherError` when requests are needed and no key is in the environment.
        """
        passages = list(passages)
        if any(self.cache is None or self.cache.get_entry(ResponseCache.key(self.request(r.text))) is None
               for r in passages):
            self._api_key()  # no key and requests to send: fail before anything starts
        self._count(passages=len(passages))

        def run() -> list[TeacherAnswer]:
            with _bar(len(passages), progress, f"teacher {self.model}") as bar:
                return asyncio.run(self._run(passages, bar, on_answer))

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return run()
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(run).result()

    # -- accounting -------------------------------------------------------------------

    def cost(self) -> float:
        """Estimated cost of the tokens of the requests sent (cached answers are free)."""
        with self._stats_lock:
            return (self._stats["prompt_tokens"] * self.price_input_per_m
                    + self._stats["completion_tokens"] * self.price_output_per_m) / 1e6

    def summary(self) -> dict[str, Any]:
        """Totals since this teacher was made: passages, requests sent (retries included),
        answered, cached hits, retries, failures, prompt/completion tokens of sent requests,
        estimated cost."""
        with self._stats_lock:
            out: dict[str, Any] = {"model": self.model, **self._stats}
        out["cost"] = self.cost()
        return out

    def estimate(self, passages: Sequence[Record], count_tokens: Callable[[str], int] | None = None) -> dict[str, Any]:
        """What annotating ``passages`` would send and cost, without sending anything (a dry run).

        Prompt tokens are counted with ``count_tokens`` over the system and user messages
        (default: :func:`approx_tokens`, 4 characters a token) plus
        :data:`MESSAGE_OVERHEAD` per message; completion tokens are estimated with the
        completion/prompt ratio of the answers already cached, else :data:`COMPLETION_RATIO`,
        capped by ``max_tokens``. Passages already answered in the cache cost nothing.
        The cost uses the price table of this teacher (per million tokens)."""
        count = count_tokens or approx_tokens
        keys: dict[str, Record] = {}
        for rec in passages:
            keys.setdefault(ResponseCache.key(self.request(rec.text)), rec)
        cached = {k for k in keys if self.cache is not None and self.cache.get_entry(k) is not None}
        ratio = COMPLETION_RATIO
        if self.cache is not None:
            n, p_tok, c_tok = self.cache.usage_totals()
            if n and p_tok:
                ratio = c_tok / p_tok
        prompt = completion = 0
        for key, rec in keys.items():
            if key in cached:
                continue
            p_n = sum(count(m["content"]) + MESSAGE_OVERHEAD for m in build_messages(rec.text))
            c_n = math.ceil(p_n * ratio)
            if self.max_tokens is not None:
                c_n = min(c_n, int(self.max_tokens))
            prompt += p_n
            completion += c_n
        cost = (prompt * self.price_input_per_m + completion * self.price_output_per_m) / 1e6
        return {"model": self.model, "passages": len(passages), "requests": len(keys) - len(cached),
                "cached": len(cached), "prompt_tokens": prompt, "completion_tokens": completion,
                "price_in_per_m": self.price_input_per_m, "price_out_per_m": self.price_output_per_m,
                "cost": cost, "estimated": True}

    # -- batch API --------------------------------------------------------------------

    def batch_file(self, passages: Sequence[Record], path: str | os.PathLike) -> Path:
        """Write the OpenAI Batch API request file (JSON lines, ``custom_id`` = passage id)."""
        path = Path(path)
        seen: set[str] = set()
        lines = []
        for rec in passages:
            if rec.id in seen:
                raise ValueError(f"duplicate passage id {rec.id!r}: custom_id must be unique in a batch")
            seen.add(rec.id)
            lines.append(json.dumps({"custom_id": rec.id, "method": "POST", "url": "/v1/chat/completions",
                                     "body": self.request(rec.text)}, ensure_ascii=False))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path

    def __repr__(self) -> str:
        return (
            f"OpenAITeacher(model={self.model!r}, base_url={self.base_url!r}, temperature={self.temperature}, "
            f"max_tokens={self.max_tokens}, timeout={self.timeout}, concurrency={self.concurrency}, "
            f"max_retries={self.max_retries}, cache={self.cache!r}, api_key_env={self.api_key_env!r})"
        )
