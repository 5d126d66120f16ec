"""vowelseg: where the vowels are in a speech recording, given its transcript."""

from vowelseg.options import Options
from vowelseg.pipeline import Resources, load_resources, measure, segment

__all__ = ["Options", "Resources", "load_resources", "measure", "segment"]
__version__ = "0.1.0"
