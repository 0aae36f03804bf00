"""The large-model warmup study: transformer language models on small-scale proxies."""
