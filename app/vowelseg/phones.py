"""The ARPAbet phone set and the vowel/consonant classes."""

from __future__ import annotations

VOWELS: frozenset[str] = frozenset(
    "AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split()
)
CONSONANTS: frozenset[str] = frozenset(
    "B CH D DH F G HH JH K L M N NG P R S SH T TH V W Y Z ZH".split()
)
SILENCE = "SIL"
#: Model order: silence first, then the 39 ARPAbet phones alphabetically.
PHONES: tuple[str, ...] = (SILENCE,) + tuple(sorted(VOWELS | CONSONANTS))


def base_phone(phone: str) -> str:
    """ARPAbet phone without its stress digit (``"IY1"`` -> ``"IY"``)."""
    return phone.rstrip("012")


def phone_class(phone: str) -> str:
    """``"vowel"``, ``"consonant"`` or ``"pause"`` for an ARPAbet phone."""
    base = base_phone(phone)
    if base == SILENCE:
        return "pause"
    if base in VOWELS:
        return "vowel"
    if base in CONSONANTS:
        return "consonant"
    raise ValueError(f"not an ARPAbet phone: {phone!r}")


#: Broad classes for boundary corrections.
BROAD_CLASSES: dict[str, str] = {
    **{p: "vowel" for p in VOWELS},
    **{p: "stop" for p in "P B T D K G CH JH".split()},
    **{p: "fricative" for p in "F V TH DH S Z SH ZH HH".split()},
    **{p: "nasal" for p in "M N NG".split()},
    **{p: "approximant" for p in "L R W Y".split()},
    SILENCE: "pause",
}


def broad_class(phone: str) -> str:
    """Broad phonetic class of an ARPAbet phone (stress ignored) or ``SIL``."""
    return BROAD_CLASSES[base_phone(phone)]
