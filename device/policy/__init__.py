"""May we upload now, and over which link? The upload policy, its inputs and the gate the uploader asks.

- rules: the immutable policy (mode, roaming, daily cellular budget, battery, off-peak window);
- inputs: the snapshot it decides on (links, cellular registration, battery, clock);
- budget: bytes counted on the cellular interface per local day, persisted in policy.db;
- gate: PolicyGate, the device.gate.UploadGate the uploader consults;
- build: all of it wired from config.
"""

from device.policy.budget import CellularBudget, PolicyStoreError
from device.policy.build import build_gate, policy_db_path
from device.policy.gate import Interfaces, PolicyGate, load_decision
from device.policy.inputs import REGISTRATIONS, CellularState, Conditions
from device.policy.rules import MODE_ORDER, UploadPolicy, wire_estimate
from device.policy.window import OffPeakWindow

__all__ = [
    "MODE_ORDER",
    "REGISTRATIONS",
    "CellularBudget",
    "CellularState",
    "Conditions",
    "Interfaces",
    "OffPeakWindow",
    "PolicyGate",
    "PolicyStoreError",
    "UploadPolicy",
    "build_gate",
    "load_decision",
    "policy_db_path",
    "wire_estimate",
]
