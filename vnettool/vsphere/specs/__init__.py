"""Pure model → vim spec builders, one module per managed object (as govmomi's `types`
builders beside its `object/`): no session, no call, so each is unit-tested without a server
(tests/unit/test_specs_*.py). The object modules (vsphere/dvs.py, dvportgroup.py, hostnet.py,
vm.py, cluster.py) send what these build; import-linter keeps this package free of them.
"""
