"""vnettool.vsphere."""
