"""Pronunciation variants with probabilities (vowelseg.text.variants)."""

from __future__ import annotations

import numpy as np
import pytest
from vowelseg.text.g2p import Word
from vowelseg.text.variants import learn_rates, with_variants


def word(*pronunciations: str) -> Word:
    return Word("w", tuple(tuple(p.split()) for p in pronunciations), "cmudict")


def test_rates_count_where_a_rule_could_apply_and_did():
    night, his = word("N AY1 T"), word("HH IH1 Z")
    heard = [(night, ["N", "AY"])] * 3 + [(night, ["N", "AY", "T"])] + [(his, ["HH", "IH", "Z"])]
    rates = learn_rates(heard, prior=0.0)
    assert rates["final_td"] == pytest.approx(0.75)
    assert rates["initial_h"] == pytest.approx(0.0)
    # with the prior, a rule seen rarely stays near one half
    assert learn_rates(heard[-1:], prior=2.0)["initial_h"] == pytest.approx(1 / 3, abs=1e-3)


def test_variants_carry_their_rules_log_probabilities():
    (out,) = with_variants([word("HH IH1 Z")], {"initial_h": 0.2, "final_td": 0.4})
    assert out.pronunciations == (("HH", "IH1", "Z"), ("IH1", "Z"))
    assert np.allclose(out.log_priors, [np.log(0.8), np.log(0.2)])
    # no rates (a model without them): the words as they were
    plain = word("HH IH1 Z")
    assert with_variants([plain], {}) == [plain]
