"""Inventory snapshots and live updates, built on the vsphere layer's bulk reads."""

from vnettool.inventory.collect import InventoryChange, Watcher, collect

__all__ = ["InventoryChange", "Watcher", "collect"]
