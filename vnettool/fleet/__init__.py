"""Many vCenters in one run: credentials by reference, one vnettool process per vCenter."""
