"""Reading a /metrics answer in tests: the value of one series, by name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Series = tuple[str, frozenset[tuple[str, str]]]


def series(text: str) -> dict[Series, float]:
    found: dict[Series, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float | None:
    return series(text).get((name, frozenset(labels.items())))


def count(text: str, name: str, **labels: str) -> float:
    """A counter's value, 0 when it has not counted yet."""
    return value(text, name, **labels) or 0.0


def label_values(text: str) -> set[str]:
    """Every label value of every series: where a path or a method would show, unlike in a
    sample's value (a latency of 0.0354711 s holds "4711")."""
    return {label for _, labels in series(text) for _, label in labels}
