"""A service's /metrics, parsed: the value of a series by name and labels."""

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, frozenset[tuple[str, str]]]


@dataclass(frozen=True)
class Series:
    values: dict[Key, float]

    def value(self, name: str, **labels: str) -> float:
        """The sample of `name` with exactly these labels (0: none; an unseen counter)."""
        return self.values.get((name, frozenset(labels.items())), 0.0)

    def has(self, name: str, **labels: str) -> bool:
        return (name, frozenset(labels.items())) in self.values

    def labels_of(self, name: str, label: str) -> set[str]:
        return {dict(ls)[label] for n, ls in self.values if n == name and label in dict(ls)}


async def scrape(client: httpx.AsyncClient) -> Series:
    answer = await client.get("/metrics")
    assert answer.status_code == 200, answer.text
    values = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }
    return Series(values)
