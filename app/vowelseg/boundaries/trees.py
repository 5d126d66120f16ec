"""Gradient-boosted trees as arrays, evaluated by a numba kernel.

The boundary model's trees are trained with LightGBM (the recipe, extra
``[train]``) and stored as arrays (``.npz``), because importing ``lightgbm`` at
run time costs more than the service's whole cold start (docs/experiments.md,
The boundary model's trees and inputs); evaluating a few hundred small trees
needs none of it. :func:`from_lightgbm` converts a trained booster, and
``tests/boundaries/test_corrector.py`` checks the predictions against LightGBM's own on
the same rows, missing values and categories included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

#: Largest category value a categorical split can test (phone ids are below 40).
MAX_CATEGORY = 64


@dataclass(frozen=True)
class Trees:
    """A tree ensemble: nodes of all trees in flat arrays.

    Attributes
    ----------
    feature : np.ndarray
        ``(n_nodes,)`` int32, the column a split tests; -1 at a leaf.
    threshold : np.ndarray
        ``(n_nodes,)`` float64: go left if the value is at most this.
    left, right : np.ndarray
        ``(n_nodes,)`` int32, children's node indices.
    default_left : np.ndarray
        ``(n_nodes,)`` bool: where a missing value goes.
    missing : np.ndarray
        ``(n_nodes,)`` int8: LightGBM's missing type (0 none, 1 zero, 2 NaN).
    category : np.ndarray
        ``(n_nodes,)`` int32: row of ``category_left`` for a categorical split, else -1.
    category_left : np.ndarray
        ``(n_categorical_splits, MAX_CATEGORY)`` bool: categories that go left.
    value : np.ndarray
        ``(n_nodes,)`` float64, a leaf's output.
    roots : np.ndarray
        ``(n_trees,)`` int32.
    """

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    default_left: np.ndarray
    missing: np.ndarray
    category: np.ndarray
    category_left: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    n_features: int

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Raw scores (sum of the trees' leaves), ``(n_rows,)``, for
        ``(n_rows, n_features)`` rows."""
        rows = np.ascontiguousarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got {rows.shape}")
        return _predict(rows, self.feature, self.threshold, self.left, self.right,
                        self.default_left, self.missing, self.category, self.category_left,
                        self.value, self.roots)

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The arrays under names starting with ``prefix`` (for ``np.savez``)."""
        return {f"{prefix}{name}": np.asarray(getattr(self, name))
                for name in self.__dataclass_fields__}

    @classmethod
    def from_arrays(cls, arrays, prefix: str) -> Trees:  # noqa: ANN001 (an NpzFile or dict)
        return cls(**{name: (int(arrays[f"{prefix}{name}"]) if name == "n_features"
                             else np.asarray(arrays[f"{prefix}{name}"]))
                      for name in cls.__dataclass_fields__})


@numba.njit(cache=True)
def _predict(rows, feature, threshold, left, right, default_left, missing, category,
             category_left, value, roots):  # noqa: ANN001, ANN202
    out = np.zeros(rows.shape[0])
    for r in range(rows.shape[0]):
        total = 0.0
        for root in roots:
            node = root
            while feature[node] >= 0:
                x = rows[r, feature[node]]
                if category[node] >= 0:
                    if np.isnan(x) or x < 0 or x >= category_left.shape[1]:
                        node = right[node]
                    elif category_left[category[node], int(x)]:
                        node = left[node]
                    else:
                        node = right[node]
                    continue
                if np.isnan(x) and missing[node] != 2:
                    x = 0.0
                if (missing[node] == 1 and abs(x) <= 1e-35) or (missing[node] == 2
                                                                  and np.isnan(x)):
                    node = left[node] if default_left[node] else right[node]
                elif x <= threshold[node]:
                    node = left[node]
                else:
                    node = right[node]
            total += value[node]
        out[r] = total
    return out


def from_lightgbm(booster) -> Trees:  # noqa: ANN001 (lightgbm.Booster)
    """The ensemble of a trained LightGBM booster (``dump_model``'s trees)."""
    dump = booster.dump_model()
    feature, threshold, left, right, default_left, missing, category, value = ([] for _ in
                                                                                range(8))
    category_left: list[np.ndarray] = []
    roots = []

    def add(node: dict) -> int:
        index = len(feature)
        for column in (feature, threshold, left, right, default_left, missing, category,
                       value):
            column.append(0)
        if "leaf_value" in node or "split_feature" not in node:
            feature[index], category[index] = -1, -1
            value[index] = float(node.get("leaf_value", 0.0))
            return index
        feature[index] = int(node["split_feature"])
        default_left[index] = bool(node.get("default_left", False))
        missing[index] = {"None": 0, "Zero": 1, "NaN": 2}[node.get("missing_type", "None")]
        if node["decision_type"] == "==":
            goes_left = np.zeros(MAX_CATEGORY, dtype=bool)
            for c in str(node["threshold"]).split("||"):
                if not 0 <= int(c) < MAX_CATEGORY:
                    raise ValueError(f"a split on category {c}: the kernel takes categories "
                                     f"0-{MAX_CATEGORY - 1}")
                goes_left[int(c)] = True
            category[index] = len(category_left)
            category_left.append(goes_left)
        else:
            category[index] = -1
            threshold[index] = float(node["threshold"])
        left[index] = add(node["left_child"])
        right[index] = add(node["right_child"])
        return index

    for tree in dump["tree_info"]:
        roots.append(add(tree["tree_structure"]))
    return Trees(np.array(feature, np.int32), np.array(threshold, np.float64),
                 np.array(left, np.int32), np.array(right, np.int32),
                 np.array(default_left, bool), np.array(missing, np.int8),
                 np.array(category, np.int32),
                 np.array(category_left, bool).reshape(-1, MAX_CATEGORY),
                 np.array(value, np.float64), np.array(roots, np.int32),
                 int(dump["max_feature_idx"]) + 1)
