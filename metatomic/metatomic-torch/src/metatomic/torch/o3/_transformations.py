"""``O3Transformations``: a batch of rotations and improper rotations applied to
systems and to the values they define (cartesian vectors and tensors, spherical
tensors, TensorBlocks and TensorMaps); and ``random_transformations``."""

from typing import List, Optional, Union

import torch

from metatensor.torch import Labels, TensorBlock, TensorMap

from .._system import System
from ._wigner import wigner_d_matrices


def _is_cartesian(name: str) -> bool:
    """Whether a component named ``name`` is a cartesian axis (``xyz``,
    ``xyz_1``, ``xyz_2``, ...)"""
    return name.startswith("xyz")


def _apply(values: torch.Tensor, matrices: torch.Tensor, axis: int) -> torch.Tensor:
    """``values`` with ``matrices[s] @`` applied along ``axis``, for each row
    ``s`` (``matrices`` is ``[n_rows, d, d]``, or ``[1, d, d]`` for every row)"""
    moved = values.movedim(axis, 1)
    shape = moved.shape
    rest = 1
    for size in shape[2:]:
        rest *= size
    result = matrices @ moved.reshape(shape[0], shape[1], rest)
    return result.reshape(shape).movedim(1, axis)


class O3Transformations(torch.nn.Module):
    """A batch of ``n`` orthogonal transformations: rotations (determinant +1),
    and rotations combined with the inversion (determinant -1), with their
    Wigner D matrices.

    The transformation ``i`` acts on cartesian vectors as ``v -> R_i v``
    (``R_i = matrices[i]``), and on the ``o3_mu`` components of a spherical tensor
    with angular momentum ``λ = o3_lambda`` and parity ``σ = o3_sigma`` as ``y
    -> D^λ(R_i) y``, with the real spherical harmonics of metatensor and
    sphericart (``Y_1 ∝ (y, z, x)``, see :py:meth:`wigner_d`). For an improper
    ``R_i = -Q_i``, a spherical tensor gets ``σ (-1)^λ D^λ(Q_i)``: ``Y_λ`` itself
    (σ = 1) takes ``(-1)^λ``, and pseudo-tensors (σ = -1) the opposite sign.

    The methods taking an ``index`` apply one transformation (an integer, or a
    tensor with one entry) to every sample, or a different one to each sample
    (an integer tensor with one entry per sample, or per row of ``values``).
    With ``inverse=True``, they apply the inverse transformations (``R_i^T``
    and ``D^λ(R_i)^T``). Gradients flow through every transformation.

    This is a ``torch.nn.Module`` holding the matrices as buffers (``.to()``
    moves them) whose methods can be used in TorchScript.

    :param matrices: ``[n, 3, 3]`` (or ``[3, 3]`` for a single one) orthogonal
        matrices, acting on column vectors
    :param max_angular_momentum: the largest ``o3_lambda`` of the spherical
        tensors to transform

    >>> import math
    >>> import torch
    >>> angle = math.pi / 2  # a quarter turn around z
    >>> rotation = torch.tensor(
    ...     [
    ...         [math.cos(angle), -math.sin(angle), 0.0],
    ...         [math.sin(angle), math.cos(angle), 0.0],
    ...         [0.0, 0.0, 1.0],
    ...     ],
    ...     dtype=torch.float64,
    ... )
    >>> transformations = O3Transformations(torch.stack([rotation, -rotation]), 1)
    >>> len(transformations)
    2
    >>> vectors = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    >>> rotated = transformations.transform_cartesian(vectors, 0, axis=1)
    >>> (rotated.round(decimals=12) + 0.0).tolist()  # (+ 0.0: no negative zeros)
    [[0.0, 1.0, 0.0]]
    >>> inverted = transformations.transform_cartesian(vectors, 1, axis=1)
    >>> (inverted.round(decimals=12) + 0.0).tolist()
    [[0.0, -1.0, 0.0]]

    .. versionadded:: 0.1.19
    """

    matrices: torch.Tensor
    determinants: torch.Tensor
    max_angular_momentum: int

    def __init__(self, matrices: torch.Tensor, max_angular_momentum: int):
        super().__init__()
        if not isinstance(matrices, torch.Tensor):
            raise TypeError(
                f"`matrices` must be a torch.Tensor, got {type(matrices).__name__}"
            )
        shape = list(matrices.shape)
        if matrices.dim() == 2:
            matrices = matrices.unsqueeze(0)
        if matrices.dim() != 3 or matrices.shape[1:] != (3, 3):
            raise ValueError(
                f"`matrices` must have the shape [n, 3, 3] (or [3, 3]), got {shape}"
            )
        if not matrices.is_floating_point():
            raise TypeError(
                f"`matrices` must contain floating point values, got {matrices.dtype}"
            )
        if isinstance(max_angular_momentum, bool) or not isinstance(
            max_angular_momentum, int
        ):
            raise TypeError(
                "`max_angular_momentum` must be an integer, got "
                f"{type(max_angular_momentum).__name__}"
            )
        if max_angular_momentum < 0:
            raise ValueError(
                f"`max_angular_momentum` must be positive, got {max_angular_momentum}"
            )

        exact = matrices.detach().to(torch.float64)
        identity = torch.eye(3, dtype=torch.float64, device=exact.device)
        error = (exact @ exact.transpose(1, 2) - identity).abs()
        tolerance = 1e-4 if matrices.dtype in (torch.float16, torch.bfloat16) else 1e-5
        if matrices.dtype == torch.float64:
            tolerance = 1e-10
        if error.numel() != 0 and float(error.max()) > tolerance:
            worst = int(error.amax(dim=(1, 2)).argmax())
            raise ValueError(
                f"`matrices` must be orthogonal (R R^T = 1): matrix {worst} is not "
                f"(largest error {float(error.max()):.3g})"
            )

        determinants = torch.linalg.det(exact).sign()
        proper = exact * determinants.reshape(-1, 1, 1)
        wigner = wigner_d_matrices(proper, max_angular_momentum)
        packed = [d.reshape(d.shape[0], -1) for d in wigner]

        self.max_angular_momentum = max_angular_momentum
        self.register_buffer("matrices", matrices)
        self.register_buffer("determinants", determinants.to(matrices.dtype))
        # the D matrices of the proper part of each matrix, flattened and
        # concatenated for λ = 0, 1, ...
        self.register_buffer("_wigner", torch.cat(packed, dim=1).to(matrices.dtype))

    def __len__(self) -> int:
        return self.matrices.shape[0]

    def __repr__(self) -> str:
        return (
            f"O3Transformations({self.matrices.shape[0]} matrices, "
            f"max_angular_momentum={self.max_angular_momentum})"
        )

    # ================================================================================ #

    def _index(self, index: Union[int, torch.Tensor]) -> torch.Tensor:
        """``index`` as a 1-D int64 tensor on the device of the matrices, after
        checking its values"""
        n = self.matrices.shape[0]
        if isinstance(index, int):
            if index < 0 or index >= n:
                raise IndexError(
                    "transformation index "
                    + str(index)
                    + " is out of range for "
                    + str(n)
                    + " transformations"
                )
            return torch.tensor([index], device=self.matrices.device)

        if index.is_floating_point() or index.dtype == torch.bool:
            raise TypeError(
                "`index` must be an integer or a tensor of integers, got a tensor of "
                + str(index.dtype)
            )
        index = index.reshape(-1).to(device=self.matrices.device, dtype=torch.int64)
        if index.shape[0] != 0:
            if bool(torch.any(index < 0)) or bool(torch.any(index >= n)):
                raise IndexError(
                    "`index` contains transformations out of range for "
                    + str(n)
                    + " transformations"
                )
        return index

    def _selected(
        self, matrices: torch.Tensor, index: torch.Tensor, n_rows: int
    ) -> torch.Tensor:
        """The entries of ``matrices`` (``[n, d, d]``) for ``index``: ``[1, d,
        d]`` for a single transformation, ``[n_rows, d, d]`` for one per row"""
        if index.shape[0] != 1 and index.shape[0] != n_rows:
            raise ValueError(
                "`index` must contain one transformation, or one per sample ("
                + str(n_rows)
                + "), got "
                + str(index.shape[0])
                + " entries"
            )
        return matrices.index_select(0, index)

    @torch.jit.export
    def wigner_d(self, o3_lambda: int, o3_sigma: int = 1) -> torch.Tensor:
        """The ``[n, 2λ+1, 2λ+1]`` matrices transforming the ``o3_mu``
        components of a spherical tensor with ``o3_lambda`` (λ) and ``o3_sigma``
        (σ): ``D^λ(R)`` for rotations, ``σ (-1)^λ D^λ(-R)`` for improper ones.

        Spherical harmonics of points rotated by ``R`` are ``Y_λ(R r) = D^λ(R)
        Y_λ(r)``, with ``Y_λμ`` the real spherical harmonics of sphericart
        (``μ = -λ..λ``, ``Y_1 ∝ (y, z, x)``).
        """
        if o3_lambda < 0 or o3_lambda > self.max_angular_momentum:
            raise ValueError(
                "`o3_lambda` must be between 0 and max_angular_momentum="
                + str(self.max_angular_momentum)
                + " for these transformations, got "
                + str(o3_lambda)
            )
        if o3_sigma != 1 and o3_sigma != -1:
            raise ValueError("`o3_sigma` must be 1 or -1, got " + str(o3_sigma))
        size = 2 * o3_lambda + 1
        # sum of (2l + 1)^2 for l < λ
        start = o3_lambda * (2 * o3_lambda - 1) * (2 * o3_lambda + 1) // 3
        matrices = self._wigner[:, start : start + size * size]
        matrices = matrices.reshape(-1, size, size)
        # improper matrices: the inversion gives σ (-1)^λ
        if (o3_lambda + (1 - o3_sigma) // 2) % 2 == 1:
            matrices = matrices * self.determinants.reshape(-1, 1, 1)
        return matrices

    @torch.jit.export
    def transform_cartesian(
        self,
        values: torch.Tensor,
        index: Union[int, torch.Tensor],
        axis: int,
        inverse: bool = False,
    ) -> torch.Tensor:
        """Transform the cartesian axis ``axis`` (of size 3) of ``values``: ``v
        -> R v``, or ``R^T v`` with ``inverse``. Call it once per axis for
        tensors of higher rank (a rank-2 tensor becomes ``R T R^T``).

        :param values: the values, with one row per sample on axis 0
        :param index: which transformation to apply (see the class)
        :param axis: the axis to transform (1 or more)
        :param inverse: apply the inverse transformation
        """
        return self._cartesian(values, self._index(index), axis, inverse)

    def _cartesian(
        self, values: torch.Tensor, indices: torch.Tensor, axis: int, inverse: bool
    ) -> torch.Tensor:
        _check_axis(values, axis, 3)
        matrices = self._selected(self.matrices, indices, values.shape[0])
        if inverse:
            matrices = matrices.transpose(1, 2)
        return _apply(values, matrices.to(values.dtype), axis)

    @torch.jit.export
    def transform_spherical(
        self,
        values: torch.Tensor,
        index: Union[int, torch.Tensor],
        axis: int,
        o3_lambda: int,
        o3_sigma: int = 1,
        inverse: bool = False,
    ) -> torch.Tensor:
        """Transform the spherical axis ``axis`` (``o3_mu``, of size ``2λ+1``) of
        ``values`` with the matrices of :py:meth:`wigner_d` (or their transpose
        with ``inverse``).

        :param values: the values, with one row per sample on axis 0
        :param index: which transformation to apply (see the class)
        :param axis: the axis to transform (1 or more)
        :param o3_lambda: the angular momentum λ of the values
        :param o3_sigma: their parity σ under inversion (1 or -1)
        :param inverse: apply the inverse transformation
        """
        return self._spherical(
            values, self._index(index), axis, o3_lambda, o3_sigma, inverse
        )

    def _spherical(
        self,
        values: torch.Tensor,
        indices: torch.Tensor,
        axis: int,
        o3_lambda: int,
        o3_sigma: int,
        inverse: bool,
    ) -> torch.Tensor:
        wigner = self.wigner_d(o3_lambda, o3_sigma)
        _check_axis(values, axis, 2 * o3_lambda + 1)
        matrices = self._selected(wigner, indices, values.shape[0])
        if inverse:
            matrices = matrices.transpose(1, 2)
        return _apply(values, matrices.to(values.dtype), axis)

    def _transform_axes(
        self,
        values: torch.Tensor,
        components: List[Labels],
        indices: torch.Tensor,
        o3_lambda: int,
        o3_sigma: int,
        inverse: bool,
    ) -> torch.Tensor:
        for i in range(len(components)):
            name = components[i].names[0]
            if _is_cartesian(name):
                values = self._cartesian(values, indices, i + 1, inverse)
            elif name == "o3_mu":
                size = len(components[i])
                if o3_lambda < 0:
                    if size % 2 != 1:
                        raise ValueError(
                            "a spherical component 'o3_mu' must have 2λ + 1 entries, "
                            + "got "
                            + str(size)
                        )
                    lambda_ = (size - 1) // 2
                else:
                    lambda_ = o3_lambda
                values = self._spherical(
                    values, indices, i + 1, lambda_, o3_sigma, inverse
                )
        return values

    @torch.jit.export
    def transform_block(
        self,
        block: TensorBlock,
        index: Union[int, torch.Tensor],
        o3_lambda: int = -1,
        o3_sigma: int = 1,
        inverse: bool = False,
    ) -> TensorBlock:
        """Transform the values and gradients of ``block``.

        Components named ``xyz``, ``xyz_1``, ``xyz_2``... (any name starting with
        ``xyz``) are cartesian axes (:py:meth:`transform_cartesian`), components
        named ``o3_mu`` spherical axes (:py:meth:`transform_spherical`); other
        components are invariant. Gradients (e.g. with respect to ``positions``,
        with their own ``xyz`` component) are transformed the same way.

        :param block: the block
        :param index: which transformation to apply (one per sample of the block
            when it is a tensor with more than one entry)
        :param o3_lambda: the angular momentum of the ``o3_mu`` components (by
            default, from their number: ``2λ + 1``)
        :param o3_sigma: the parity of the ``o3_mu`` components (1 or -1)
        :param inverse: apply the inverse transformations
        :return: a new block with the same metadata
        """
        return self._block(block, self._index(index), o3_lambda, o3_sigma, inverse)

    def _block(
        self,
        block: TensorBlock,
        indices: torch.Tensor,
        o3_lambda: int,
        o3_sigma: int,
        inverse: bool,
    ) -> TensorBlock:
        values = self._transform_axes(
            block.values, block.components, indices, o3_lambda, o3_sigma, inverse
        )
        result = TensorBlock(values, block.samples, block.components, block.properties)
        for parameter, gradient in block.gradients():
            gradient_indices = indices
            if indices.shape[0] != 1:
                rows = gradient.samples.column("sample")
                gradient_indices = indices[rows.to(indices.device, torch.int64)]
            gradient_values = self._transform_axes(
                gradient.values,
                gradient.components,
                gradient_indices,
                o3_lambda,
                o3_sigma,
                inverse,
            )
            result.add_gradient(
                parameter,
                TensorBlock(
                    gradient_values,
                    gradient.samples,
                    gradient.components,
                    gradient.properties,
                ),
            )
        return result

    @torch.jit.export
    def transform_tensor_map(
        self,
        tensor: TensorMap,
        index: Union[int, torch.Tensor],
        inverse: bool = False,
    ) -> TensorMap:
        """Transform every block of ``tensor`` with :py:meth:`transform_block`,
        taking ``o3_lambda`` and ``o3_sigma`` from the keys when they are
        dimensions of the keys.

        :param tensor: the TensorMap
        :param index: which transformation to apply (one per sample of each
            block when it is a tensor with more than one entry)
        :param inverse: apply the inverse transformations
        :return: a new TensorMap with the same metadata (and ``info``)
        """
        return self._tensor_map(tensor, self._index(index), inverse)

    def _tensor_map(
        self, tensor: TensorMap, indices: torch.Tensor, inverse: bool
    ) -> TensorMap:
        keys = tensor.keys
        lambdas: Optional[torch.Tensor] = None
        sigmas: Optional[torch.Tensor] = None
        if "o3_lambda" in keys.names:
            lambdas = keys.column("o3_lambda")
        if "o3_sigma" in keys.names:
            sigmas = keys.column("o3_sigma")
        blocks: List[TensorBlock] = []
        for i in range(len(keys)):
            o3_lambda = -1
            o3_sigma = 1
            if lambdas is not None:
                o3_lambda = int(lambdas[i])
            if sigmas is not None:
                o3_sigma = int(sigmas[i])
            blocks.append(
                self._block(
                    tensor.block_by_id(i), indices, o3_lambda, o3_sigma, inverse
                )
            )
        result = TensorMap(keys, blocks)
        for key, value in tensor.info().items():
            result.set_info(key, value)
        return result

    @torch.jit.export
    def transform_system(self, system: System, index: int) -> System:
        """The system transformed by the transformation ``index``: positions,
        cell vectors and neighbor list vectors ``v -> R v``, and its data
        (:py:meth:`transform_tensor_map`); types, periodicity and the pairs of
        the neighbor lists (and their cell shifts) do not change.

        :param system: the system
        :param index: which transformation to apply
        :return: a new system
        """
        indices = self._index(index)
        matrix = self.matrices[indices[0]].to(device=system.device, dtype=system.dtype)
        transposed = matrix.transpose(0, 1)
        transformed = System(
            system.types,
            system.positions @ transposed,
            system.cell @ transposed,
            system.pbc,
        )
        for options in system.known_neighbor_lists():
            neighbors = system.get_neighbor_list(options)
            transformed.add_neighbor_list(
                options,
                TensorBlock(
                    _apply(neighbors.values, matrix.unsqueeze(0), 1),
                    neighbors.samples,
                    neighbors.components,
                    neighbors.properties,
                ),
            )
        for name in system.known_data():
            transformed.add_data(
                name, self._tensor_map(system.get_data(name), indices, False)
            )
        return transformed


def _check_axis(values: torch.Tensor, axis: int, size: int):
    if axis < 1 or axis >= values.dim():
        raise ValueError(
            "`axis` must be between 1 and "
            + str(values.dim() - 1)
            + " (axis 0 holds the samples), got "
            + str(axis)
        )
    if values.shape[axis] != size:
        raise ValueError(
            "axis "
            + str(axis)
            + " of the values must have "
            + str(size)
            + " entries, got "
            + str(values.shape[axis])
        )


def random_transformations(
    n: int,
    max_angular_momentum: int = 0,
    *,
    device: Union[str, torch.device],
    dtype: torch.dtype,
    add_inversions: bool = False,
    generator: Optional[torch.Generator] = None,
) -> O3Transformations:
    """Uniformly distributed random rotations (Haar measure on SO(3)), from
    normalised Gaussian quaternions.

    :param n: the number of rotations
    :param max_angular_momentum: the largest ``o3_lambda`` to transform (see
        :py:class:`O3Transformations`)
    :param device: the device of the matrices
    :param dtype: the dtype of the matrices (computed in float64)
    :param add_inversions: also include each rotation combined with the
        inversion: the result then has ``2 n`` transformations, the ``n``
        rotations then the same rotations times ``-1``
    :param generator: the random number generator (``torch.Generator``) to use,
        for reproducible rotations
    :return: the transformations

    >>> import torch
    >>> generator = torch.Generator().manual_seed(0)
    >>> transformations = random_transformations(
    ...     3, device="cpu", dtype=torch.float64, add_inversions=True, generator=generator
    ... )
    >>> len(transformations)
    6
    >>> transformations.matrices.det().round().tolist()
    [1.0, 1.0, 1.0, -1.0, -1.0, -1.0]

    .. versionadded:: 0.1.19
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"`n` must be an integer, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"`n` must be positive, got {n}")
    if not isinstance(add_inversions, bool):
        raise TypeError(
            f"`add_inversions` must be a bool, got {type(add_inversions).__name__}"
        )

    source = "cpu" if generator is None else generator.device
    quaternions = torch.randn(
        (n, 4), dtype=torch.float64, device=source, generator=generator
    )
    quaternions = quaternions / torch.linalg.vector_norm(
        quaternions, dim=1, keepdim=True
    )
    w, x, y, z = quaternions.unbind(dim=1)
    matrices = torch.stack(
        [
            torch.stack(
                [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                dim=1,
            ),
            torch.stack(
                [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                dim=1,
            ),
            torch.stack(
                [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
                dim=1,
            ),
        ],
        dim=1,
    )
    if add_inversions:
        matrices = torch.cat([matrices, -matrices])
    return O3Transformations(
        matrices.to(device=device, dtype=dtype), max_angular_momentum
    )
