"""The CLI's alignment flags are generated from the public options, and the
shorter flags the README uses still mean what they did."""

from __future__ import annotations

import argparse

import pytest
from vowelseg.cli import build_parser
from vowelseg.option_flags import add_option_flags, flag_name, options_from_args
from vowelseg.options import Options, PublicOptions


def parsed(*argv: str) -> Options:
    parser = argparse.ArgumentParser()
    add_option_flags(parser)
    return options_from_args(parser.parse_args(argv))


def test_no_flags_are_the_defaults():
    assert parsed() == Options()


def test_every_public_option_has_a_flag_with_its_description():
    parser = argparse.ArgumentParser()
    add_option_flags(parser)
    helps = {a.dest: a.help for a in parser._actions
             if a.dest in PublicOptions.model_fields and flag_name(a.dest) in a.option_strings}
    assert helps == {name: info.description for name, info in PublicOptions.model_fields.items()}


@pytest.mark.parametrize(("argv", "expected"), [
    (["--approximate"], {"transcript_match": "approximate"}),
    (["--transcript-match", "approximate"], {"transcript_match": "approximate"}),
    (["--viterbi-boundaries"], {"boundaries": "viterbi"}),
    (["--boundaries", "viterbi"], {"boundaries": "viterbi"}),
    (["--vad", "1"], {"vad_aggressiveness": 1}),
    (["--vad-aggressiveness", "0"], {"vad_aggressiveness": 0}),
    (["--no-vtln", "--no-speech-check", "--measures"],
     {"vtln": False, "speech_check": False, "measures": True}),
])
def test_flags_set_their_option(argv, expected):
    assert parsed(*argv) == Options(**expected)


def test_out_of_range_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        parsed("--vad", "4")
    assert "invalid choice: 4" in capsys.readouterr().err


def test_segment_and_batch_take_the_same_flags_batch_measuring_by_default():
    parser = build_parser()
    segment = parser.parse_args(["segment", "a.wav", "words", "--approximate", "--vad", "2"])
    assert options_from_args(segment) == Options(transcript_match="approximate",
                                                 vad_aggressiveness=2)
    assert options_from_args(parser.parse_args(["batch", "in", "out"])) == Options(measures=True)
    batch = parser.parse_args(["batch", "in", "out", "--no-measures", "--no-vtln",
                               "--viterbi-boundaries"])
    assert options_from_args(batch) == Options(vtln=False, boundaries="viterbi")
