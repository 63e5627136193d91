"""Usage and cost of provider calls: the `provider_calls` table (log.py) and the price table
(prices.py). Nothing here is imported until an agent calls a provider or a command asks."""
