"""The engine's vocabulary: objective statuses (rules 9, 10), indicator kinds, minute verdicts (rule 4)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """An objective's status in a period (rules 9 and 10; docs/rules.md)."""

    MET = "met"
    AT_RISK = "at_risk"  # open periods only
    BREACHED = "breached"
    NO_DATA = "no_data"

    @property
    def words(self) -> str:
        """The status as people read it ("at risk", "no data")."""
        return self.value.replace("_", " ")

    @property
    def rank(self) -> int:
        """Worst first: breached, at risk, no data, met (for sorting cards and rows)."""
        return _STATUS_RANK[self]


_STATUS_RANK = {Status.BREACHED: 0, Status.AT_RISK: 1, Status.NO_DATA: 2, Status.MET: 3}


class Kind(StrEnum):
    """What an objective measures: its indicator, and for availability its source."""

    AVAILABILITY_PROBES = "availability:probes"  # rule 4
    AVAILABILITY_INCIDENTS = "availability:incidents"  # rule 5
    LATENCY = "latency"  # rule 6
    RATIO = "ratio"  # rule 7
    RESPONSE_TIME = "response_time"  # rule 8
    RESOLUTION_TIME = "resolution_time"  # rule 8
    MTTR = "mttr"  # rule 15
    MTBF = "mtbf"  # rule 15
    MEAN_LATENCY = "mean_latency"  # rule 15
    JITTER = "jitter"  # rule 15
    METRIC_MEAN = "metric_mean"  # rules 15, 16
    METRIC_SUM = "metric_sum"  # rules 16, 17

    @classmethod
    def of(cls, indicator: str, source: str = "") -> Kind:
        """The kind of an objective from its document fields; ValueError when unknown."""
        return cls(
            f"availability:{source or 'probes'}" if indicator == "availability" else indicator
        )

    @property
    def unit(self) -> str:
        """The indivisible unit its error budget is counted in (rule 11)."""
        return _KIND_UNITS[self]

    @property
    def from_summaries(self) -> bool:
        """Counted from per-minute/hour/day summaries, so a settled past can be checkpointed."""
        return self in (Kind.AVAILABILITY_PROBES, Kind.LATENCY, Kind.RATIO)

    @property
    def bounded(self) -> bool:
        """A value held under ``max`` or over ``min`` (rule 15), not a percent of a target."""
        return self in _BOUNDED_UNITS

    @property
    def value_unit(self) -> str:
        """The unit ``achieved`` is in: ``s``, ``ms``, ``%``, or "" for a metric's own unit."""
        return _BOUNDED_UNITS.get(self, "%")


_KIND_UNITS = {
    Kind.AVAILABILITY_PROBES: "minutes",
    Kind.AVAILABILITY_INCIDENTS: "seconds",
    Kind.LATENCY: "probes",
    Kind.RATIO: "events",
    Kind.RESPONSE_TIME: "tickets",
    Kind.RESOLUTION_TIME: "tickets",
    Kind.MTTR: "outages",
    Kind.MTBF: "outages",
    Kind.MEAN_LATENCY: "probes",
    Kind.JITTER: "pairs",
    Kind.METRIC_MEAN: "samples",
    Kind.METRIC_SUM: "samples",
}

# Bounded values and the unit of their value (rule 15); a metric's unit is its own ("").
_BOUNDED_UNITS = {
    Kind.MTTR: "s",
    Kind.MTBF: "s",
    Kind.MEAN_LATENCY: "ms",
    Kind.JITTER: "ms",
    Kind.METRIC_MEAN: "",
}


class MinuteState(StrEnum):
    """The verdict of one eligible minute with data (rule 4)."""

    UP = "up"
    DOWN = "down"
