"""The further objective forms of SPEC §2 (rules 15-17), as a document's objectives."""

from __future__ import annotations

from typing import Any

import yaml

FURTHER_OBJECTIVES = """
- key: restore-time
  service: hosted-api
  indicator: mttr
  max: 4h
  credits: [{above: 4h, percent: 5}, {above: 8h, percent: 10}]
- key: failure-interval
  service: hosted-api
  indicator: mtbf
  min: 10d
  credits: [{below: 10d, percent: 5}]
- key: wan-jitter
  service: backbone
  indicator: jitter
  max: 30
- key: wan-latency
  service: backbone
  indicator: mean_latency
  max: 120
- key: wan-throughput
  service: backbone
  indicator: metric_mean
  metric: throughput_mbps
  min: 900
- key: qualified-leads
  indicator: metric_sum
  service: marketing-leads
  metric: qualified_leads
  min: 200
  carry_over: true
  credits: [{below: 90, percent: 5}]
"""


def with_further_forms(document: dict[str, Any]) -> dict[str, Any]:
    """The SPEC example agreement with SPEC §2's further forms added to its objectives."""
    document["objectives"] += yaml.safe_load(FURTHER_OBJECTIVES)
    return document
