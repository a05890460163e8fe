"""Loaded at start-up by every Python process the test suite starts (conftest puts this folder on
PYTHONPATH), so workers and servers run behind the same network guard as the tests."""

import vitrine_netguard

vitrine_netguard.install_in_child()
