"""vowelseg: where the vowels are in a speech recording, given its transcript."""

from vowelseg.pipeline import Options, Resources, load_resources, segment

__all__ = ["Options", "Resources", "load_resources", "segment"]
__version__ = "0.1.0"
