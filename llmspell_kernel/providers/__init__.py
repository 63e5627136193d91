"""LLM providers of our own over httpx2: the OpenAI Chat Completions and Anthropic Messages wire
formats, and the bundled local model. Importing this package imports no HTTP client; the client
modules load on the first request."""
