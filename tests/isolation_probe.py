"""Run only by test_test_isolation.py in a child pytest: it writes state from a class set-up
(before any fixture, as test_kernel_conformance.py starts its kernel) and from a test."""

from __future__ import annotations

import unittest

from tests.processes import llmspell

WRITE = 'State.save("global", "probe", 1) Session.create({name = "probe"})'


class StartsBeforeFixtures(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        result = llmspell("exec", WRITE)
        assert result.returncode == 0, result.stderr

    def test_writes_again(self) -> None:
        result = llmspell("exec", WRITE)
        self.assertEqual(result.returncode, 0, result.stderr)
