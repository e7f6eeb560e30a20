"""unerlib: the helper package of the UniversalNER reproduction notebooks.

Notebooks import what they need in one line, ``from unerlib import ...``.
"""

from .convert import gold_answer, to_uniner, write_json
from .data import DataError, Mention, Record, data_dir
from .readers_conversation import find_spans
from .metrics import normalize_answer, parse_lenient, parse_official, score, score_by_type, score_files, span_score
from .registry import (DOMAINS, REGISTRY, ZERO_SHOT, dataset_stats, dataset_types, domain_table,
                       get_spec, load_dataset, overview_table)
from .typenames import natural_type

__version__ = "0.1.0"


def __getattr__(name: str):
    """``UniNER`` (the Python API, :mod:`unerlib.api`) is imported on first use, so that
    ``import unerlib`` stays light."""
    if name == "UniNER":
        from .api import UniNER

        return UniNER
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DOMAINS", "REGISTRY", "ZERO_SHOT", "DataError", "Mention", "Record", "data_dir", "dataset_stats",
    "dataset_types", "domain_table", "find_spans", "get_spec", "gold_answer", "load_dataset",
    "natural_type", "normalize_answer", "overview_table", "parse_lenient", "parse_official", "score",
    "score_by_type", "score_files", "span_score", "to_uniner", "write_json", "UniNER",
]
