"""Entry points: the Kafka consumer, the admin HTTP API, the CLI."""
