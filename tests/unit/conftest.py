"""The fast tests' one fixture of their own: the call logic on a fake clock."""

from __future__ import annotations

import pytest

from tests.unit.helpers import Account


@pytest.fixture
def account() -> Account:
    """The call logic on a fake clock, with a fake Voice API."""
    return Account()
