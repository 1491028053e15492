"""Webhook event handlers: registrations, signed deliveries with retries and dead letters,
in a consumer group of their own, and their admin routes; layered like the projector."""
