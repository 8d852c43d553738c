"""vnettool.playbook."""
