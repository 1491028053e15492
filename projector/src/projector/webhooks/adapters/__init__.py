"""Registrations and outcomes in the read store, the HTTP sender, allowed targets."""
