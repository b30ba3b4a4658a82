"""Prints the objects of upstream's compatibility script (shared/compat), the
expected output is in printouts-upstream.txt"""

import numpy as np

import metatensor as mts
from metatensor import Labels, TensorBlock, TensorMap


def show(title, text):
    print(f"== {title}")
    print(text)


values = np.array([[i // 4, i % 4] for i in range(12)], dtype=np.int32)
labels = Labels(["system", "atom"], values)
show("str(Labels 12 rows)", str(labels))
show("repr(Labels 12 rows)", repr(labels))
show("Labels.print(max_entries=3, indent=2)", labels.print(max_entries=3, indent=2))
show("str(Labels.single())", str(Labels.single()))
show("str(Labels.empty(['a','b']))", str(Labels.empty(["a", "b"])))
show("repr(LabelsEntry)", repr(labels[3]))
show("str(LabelsEntry)", str(labels[3]))

components = [Labels.range("o3_mu", 3), Labels.range("xyz", 2)]
block = TensorBlock(np.zeros((12, 3, 2, 4)), labels, components, Labels.range("n", 4))
gradient_samples = Labels(
    ["sample", "system", "atom"], np.array([[0, 0, 0], [1, 0, 1]], dtype=np.int32)
)
block.add_gradient(
    "positions",
    TensorBlock(
        np.zeros((2, 3, 3, 2, 4)),
        gradient_samples,
        [Labels.range("xyz_g", 3)] + components,
        Labels.range("n", 4),
    ),
)
block.add_gradient(
    "strain",
    TensorBlock(
        np.zeros((1, 3, 3, 3, 2, 4)),
        Labels(["sample"], np.array([[0]], dtype=np.int32)),
        [Labels.range("xyz_1", 3), Labels.range("xyz_2", 3)] + components,
        Labels.range("n", 4),
    ),
)
show("str(TensorBlock with gradients)", str(block))
show("repr(TensorBlock with gradients)", repr(block))
show("str(gradient block)", str(block.gradient("positions")))

keys = Labels(
    ["o3_lambda", "center_type"],
    np.array([[o3, c] for o3 in range(3) for c in (1, 6, 8)], dtype=np.int32),
)
blocks = [
    TensorBlock(
        np.zeros((2, 2 * key[0] + 1, 3)),
        Labels.range("s", 2),
        [Labels.range("o3_mu", 2 * key[0] + 1)],
        Labels.range("n", 3),
    )
    for key in keys
]
tensor = TensorMap(keys, blocks)
show("str(TensorMap 9 blocks)", str(tensor))
show("repr(TensorMap 9 blocks)", repr(tensor))
single = TensorBlock(np.zeros((2, 3)), Labels.range("s", 2), [], Labels.range("n", 3))
show("str(TensorMap 1 block)", str(TensorMap(Labels.range("k", 1), [single])))
show("str(checks)", repr(mts.unsafe_enable_checks()))
