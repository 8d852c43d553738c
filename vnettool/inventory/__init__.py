"""Inventory snapshots and live updates, built on the vsphere layer's bulk reads."""

from vnettool.inventory.collect import InventoryChange, Watcher, collect
from vnettool.vsphere.events import recent_changes

__all__ = ["InventoryChange", "Watcher", "collect", "recent_changes"]
