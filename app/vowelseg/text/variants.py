"""Pronunciations speakers produce beside the dictionary's, each with a
probability the aligner weighs.

Each rule makes, from a dictionary pronunciation, the one with a phone left out
where connected speech often leaves it out (hand-labelled TIMIT marks these:
word-final T/D glottalised or unreleased into nothing, h dropped, schwas and
cluster stops elided). How often each is applied is learned from a labelled
corpus by the recipe (:func:`learn_rates`, stored in the model) and the aligner
gives a variant the log-probability of its rule, the dictionary's form that of
no rule applying (:func:`with_variants`); the variant it chooses is the word's
reported pronunciation, as for the dictionary's own variants.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from vowelseg.phones import CONSONANTS, VOWELS, base_phone
from vowelseg.text.g2p import Pronunciation, Word

_STOPS_TD = ("T", "D")


def _final_td(p: Pronunciation) -> list[Pronunciation]:
    """"night" N AY1 T -> N AY1, "and" AH0 N D -> AH0 N."""
    return [p[:-1]] if len(p) > 1 and base_phone(p[-1]) in _STOPS_TD else []


def _initial_h(p: Pronunciation) -> list[Pronunciation]:
    """"his" HH IH1 Z -> IH1 Z."""
    return [p[1:]] if len(p) > 2 and p[0] == "HH" else []


def _schwa(p: Pronunciation) -> list[Pronunciation]:
    """A schwa between consonants, inside a word: "camera" K AE1 M ER0 AH0 -> ...;
    "coeducational" ... K EY1 SH AH0 N AH0 L -> ... SH N AH0 L."""
    return [p[:i] + p[i + 1:] for i in range(1, len(p) - 1)
            if p[i] == "AH0" and base_phone(p[i - 1]) in CONSONANTS
            and base_phone(p[i + 1]) in CONSONANTS]


def _cluster_td(p: Pronunciation) -> list[Pronunciation]:
    """T or D between two consonants: "amounts" ... N T S -> ... N S."""
    return [p[:i] + p[i + 1:] for i in range(1, len(p) - 1)
            if base_phone(p[i]) in _STOPS_TD and base_phone(p[i - 1]) in CONSONANTS
            and base_phone(p[i + 1]) in CONSONANTS]


RULES: dict[str, Callable[[Pronunciation], list[Pronunciation]]] = {
    "final_td": _final_td, "initial_h": _initial_h, "schwa": _schwa,
    "cluster_td": _cluster_td,
}


def _vowels(p: Sequence[str]) -> int:
    return sum(base_phone(x) in VOWELS for x in p)


def _applied(rule: str, base: Pronunciation, spoken: Sequence[str]) -> bool:
    """Did the labelled phones ``spoken`` (folded, no stress) leave out what
    ``rule`` leaves out of ``base``? Checked where the rule acts, so that vowel
    qualities (AH for IH, say) do not count against it."""
    if rule == "final_td":
        return not spoken or spoken[-1] not in _STOPS_TD
    if rule == "initial_h":
        return not spoken or spoken[0] != "HH"
    if rule == "schwa":
        return _vowels(spoken) < _vowels(base)
    td = sum(base_phone(x) in _STOPS_TD for x in base)
    return sum(x in _STOPS_TD for x in spoken) < td


def learn_rates(words: Sequence[tuple[Word, Sequence[str]]], prior: float = 2.0,
                ) -> dict[str, float]:
    """How often each rule applies where it can: (applied + ``prior`` x 0.5) /
    (applicable + ``prior``), over ``words``, each a transcript word and the
    phones a labeller heard in it (folded to ARPAbet, no stress). A rule never
    applicable, with no prior, gets no rate (and no variants)."""
    applicable = dict.fromkeys(RULES, 0)
    applied = dict.fromkeys(RULES, 0)
    for word, spoken in words:
        for rule, make in RULES.items():
            bases = [b for b in word.pronunciations if make(b)]
            if not bases:
                continue
            applicable[rule] += 1
            applied[rule] += any(_applied(rule, b, spoken) for b in bases[:1])
    return {rule: round((applied[rule] + 0.5 * prior) / (applicable[rule] + prior), 4)
            for rule in RULES if applicable[rule] + prior > 0}


def with_variants(words: Sequence[Word], rates: dict[str, float]) -> list[Word]:
    """``words`` with each rule's variants added, and log-probabilities: a
    variant made by a rule ``log(rate)``, a pronunciation as written the sum of
    ``log(1 - rate)`` over the rules that could apply to it."""
    if not rates:
        return list(words)
    out = []
    for word in words:
        found: dict[Pronunciation, float] = {}
        for base in word.pronunciations:
            stay, made = 0.0, []
            for rule, make in RULES.items():
                variants = make(base)
                if variants and rule in rates:
                    rate = min(max(rates[rule], 0.01), 0.99)  # neither form ruled out
                    stay += float(np.log1p(-rate))
                    made += [(v, float(np.log(rate))) for v in variants]
            found[base] = max(found.get(base, -np.inf), stay)
            for variant, logp in made:
                if variant and variant not in word.pronunciations:
                    found[variant] = max(found.get(variant, -np.inf), logp)
        pronunciations = tuple(found)
        out.append(dataclasses.replace(word, pronunciations=pronunciations,
                                       log_priors=tuple(found[p] for p in pronunciations)))
    return out
