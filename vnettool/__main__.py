"""`python -m vnettool`: how the fleet runner starts one vnettool per vCenter."""

from vnettool.cli.main import app

app(prog_name="vnettool")
