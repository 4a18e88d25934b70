"""Checks of `inferno serve` with the official `openai` Python package, one check per call:

    python openai_check.py BASE_URL CHECK [API_KEY]

Each check asserts what a user of the OpenAI API expects and exits non-zero (with the
assertion) when the server disagrees. The Rust test tests/serve.rs runs them against a real
server on a real model.
"""

import json
import sys

import jsonschema
import openai
from openai import OpenAI

BASE, CHECK = sys.argv[1], sys.argv[2]
KEY = sys.argv[3] if len(sys.argv) > 3 else "no-key"
client = OpenAI(base_url=BASE + "/v1", api_key=KEY, max_retries=0, timeout=300)
MODEL = client.models.list().data[0].id if CHECK != "auth" else "unused"
ASK = [{"role": "user", "content": "Name three primary colors, comma separated."}]


def chat(**kw):
    return client.chat.completions.create(model=MODEL, messages=kw.pop("messages", ASK), **kw)


def streamed(**kw):
    text, finish, usage, chunks = "", None, None, 0
    for chunk in chat(stream=True, **kw):
        chunks += 1
        if chunk.usage is not None:
            usage = chunk.usage
        for c in chunk.choices:
            text += c.delta.content or ""
            finish = c.finish_reason or finish
    return text, finish, usage, chunks


def status_of(call):
    try:
        call()
    except openai.APIStatusError as e:
        return e.status_code, e.body
    raise AssertionError("the call succeeded; an error status was expected")


def check_chat():
    r = chat(temperature=0, max_tokens=48)
    text = r.choices[0].message.content
    assert r.object == "chat.completion" and r.choices[0].message.role == "assistant"
    assert text.strip(), r
    assert r.choices[0].finish_reason in ("stop", "length")
    u = r.usage
    assert u.prompt_tokens > 0 and u.completion_tokens > 0
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    # The stream's text is the whole answer's text, and its usage the same counts.
    s_text, s_finish, s_usage, chunks = streamed(temperature=0, max_tokens=48, stream_options={"include_usage": True})
    assert s_text == text, (s_text, text)
    assert s_finish == r.choices[0].finish_reason
    assert s_usage.completion_tokens == u.completion_tokens and s_usage.prompt_tokens == u.prompt_tokens
    assert chunks >= u.completion_tokens
    # Without include_usage there is no usage chunk.
    assert streamed(temperature=0, max_tokens=4)[2] is None
    # Content as an array of text parts means the same.
    parts = [{"role": "user", "content": [{"type": "text", "text": ASK[0]["content"]}]}]
    assert chat(messages=parts, temperature=0, max_tokens=48).choices[0].message.content == text
    print(json.dumps({"text": text, "usage": u.model_dump()}))


def check_max_tokens():
    r = chat(temperature=0, max_tokens=3, messages=[{"role": "user", "content": "Count from 1 to 50."}])
    assert r.usage.completion_tokens == 3 and r.choices[0].finish_reason == "length", r
    r = chat(temperature=0, max_completion_tokens=5, messages=[{"role": "user", "content": "Count from 1 to 50."}])
    assert r.usage.completion_tokens == 5, r


def check_completions():
    r = client.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=12, temperature=0)
    assert r.object == "text_completion", r
    text = r.choices[0].text
    assert text and r.usage.completion_tokens == 12 and r.choices[0].finish_reason == "length", r
    s = "".join(c.choices[0].text for c in client.completions.create(
        model=MODEL, prompt="The capital of France is", max_tokens=12, temperature=0, stream=True) if c.choices)
    assert s == text, (s, text)
    print(json.dumps({"text": text}))


def check_stop():
    full = chat(temperature=0, max_tokens=40, messages=[{"role": "user", "content": "Count from 1 to 20, comma separated."}])
    text = full.choices[0].message.content
    assert "5" in text, text
    cut = chat(temperature=0, max_tokens=40, stop=["5"], messages=[{"role": "user", "content": "Count from 1 to 20, comma separated."}])
    c = cut.choices[0].message.content
    assert c == text[: text.index("5")] and cut.choices[0].finish_reason == "stop", (c, text)
    s_text, s_finish, _, _ = streamed(temperature=0, max_tokens=40, stop=["5", "zzz"], messages=[{"role": "user", "content": "Count from 1 to 20, comma separated."}])
    assert s_text == c and s_finish == "stop", s_text


def check_seed():
    story = [{"role": "user", "content": "Write one sentence about a cat."}]
    a = chat(messages=story, temperature=1.0, seed=1234, max_tokens=24).choices[0].message.content
    b = chat(messages=story, temperature=1.0, seed=1234, max_tokens=24).choices[0].message.content
    assert a == b, (a, b)
    others = {chat(messages=story, temperature=1.0, seed=s, max_tokens=24).choices[0].message.content for s in (1, 2, 3)}
    assert len(others | {a}) > 1, "different seeds give different text"


def check_json():
    r = chat(temperature=0, max_tokens=96, response_format={"type": "json_object"},
             messages=[{"role": "user", "content": "Describe a dog as JSON with a name and an age."}])
    obj = json.loads(r.choices[0].message.content)
    assert isinstance(obj, dict), obj
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
              "required": ["name", "age"], "additionalProperties": False}
    r = chat(temperature=0, max_tokens=96, messages=[{"role": "user", "content": "Give me a person."}],
             response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}})
    obj = json.loads(r.choices[0].message.content)
    jsonschema.validate(obj, schema)
    print(json.dumps(obj))


def check_errors():
    cases = {
        "n": (lambda: chat(n=2, max_tokens=2), 400),
        "tools": (lambda: chat(max_tokens=2, tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}]), 400),
        "logprobs": (lambda: chat(max_tokens=2, logprobs=True), 400),
        "temperature": (lambda: chat(max_tokens=2, temperature=5), 400),
        "messages": (lambda: chat(max_tokens=2, messages=[]), 400),
        "model": (lambda: client.chat.completions.create(model="no-such-model", messages=ASK, max_tokens=2), 404),
        "long": (lambda: chat(max_tokens=10, messages=[{"role": "user", "content": "word " * 5000}]), 400),
        "max_tokens": (lambda: chat(max_tokens=100000), 400),
        "unknown field": (lambda: chat(max_tokens=2, extra_body={"bogus": 1}), 400),
        "role": (lambda: chat(max_tokens=2, messages=[{"role": "tool", "content": "x"}]), 400),
    }
    for name, (call, want) in cases.items():
        status, body = status_of(call)
        assert status == want, (name, status, body)
        err = body if "message" in body else body.get("error", body)
        assert err["message"] and "type" in err, (name, body)
    # harmless fields are accepted
    chat(max_tokens=2, user="someone", extra_body={"metadata": {"k": "v"}})
    # the error names the field
    _, body = status_of(lambda: chat(n=3, max_tokens=2))
    assert body["param"] == "n", body


def check_models():
    ids = [m.id for m in client.models.list().data]
    assert ids == [MODEL], ids
    assert client.models.retrieve(MODEL).id == MODEL
    status, _ = status_of(lambda: client.models.retrieve("nope"))
    assert status == 404


def check_auth():
    good = OpenAI(base_url=BASE + "/v1", api_key=KEY, max_retries=0)
    bad = OpenAI(base_url=BASE + "/v1", api_key="wrong", max_retries=0)
    model = good.models.list().data[0].id
    try:
        bad.models.list()
        raise AssertionError("a wrong key was accepted")
    except openai.AuthenticationError as e:
        assert e.status_code == 401
    r = good.chat.completions.create(model=model, messages=ASK, max_tokens=2, temperature=0)
    assert r.usage.completion_tokens >= 1


def check_metrics():
    import urllib.request
    from prometheus_client.parser import text_string_to_metric_families
    with urllib.request.urlopen(BASE + "/metrics") as r:
        text = r.read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in ("inferno_requests", "inferno_prompt_tokens", "inferno_generated_tokens", "inferno_slots_active",
                 "inferno_queue_length", "inferno_kv_cache_cells_used", "inferno_generation_tokens_per_second",
                 "inferno_device_memory_free_bytes"):
        assert name in families, (name, sorted(families))
    gen = families["inferno_generated_tokens"].samples[0].value
    assert gen > 0, gen
    print(json.dumps({"families": len(families), "generated": gen}))


globals()["check_" + CHECK.replace("-", "_")]()
print("ok", CHECK)
