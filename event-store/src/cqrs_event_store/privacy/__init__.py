"""Crypto-shredding: personal fields sealed with a data key per person (AES-256-GCM),
the data keys wrapped by a master key and kept in `data_keys`; destroying a person's key
leaves every sealed value of theirs unreadable, which is what forgetting them means."""
