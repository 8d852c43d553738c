"""The rule catalogue (../shared/docs/audit-rules.md §2), one module per topic.

Importing this package registers every rule; `RULES` is then in catalogue order (SEC before
HC, by number), which is the order of the Rules sheet. Rule functions are named after what
they check; the catalogue id is in their `@rule` decorator.
"""

from __future__ import annotations

from vnettool.audit.rules import (
    dvs,
    health,
    host_settings,
    l2_security,
    not_collected,
    portgroups,
    pvlan,
    services,
    teaming,
    vlan,
    vm_nics,
    vm_settings,
    vmkernel,
)
from vnettool.audit.rules.base import RULES, finding

__all__ = ["RULES", "finding"]

# the topic modules register on import; the names keep them from looking unused
_TOPICS = (
    dvs,
    health,
    host_settings,
    l2_security,
    not_collected,
    portgroups,
    pvlan,
    services,
    teaming,
    vlan,
    vm_nics,
    vm_settings,
    vmkernel,
)
RULES.sort(key=lambda r: (r.category != "SEC", int(r.id.split("-")[1])))
