"""Largest-Triangle-Three-Buckets: a long series cut to ``n`` points that still looks the same.

The first and last points are kept; the points between are split into ``n - 2`` buckets of
(nearly) equal count, and from each bucket the point kept is the one that makes the largest
triangle with the point kept from the bucket before and the mean of the bucket after. Spikes
survive, flat stretches shrink.

Each choice depends on the one before, so the buckets are walked in order; but everything
that does not depend on the previous choice is computed for all buckets at once, leaving a
single small numpy expression per bucket.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


def lttb(x: npt.ArrayLike, y: npt.ArrayLike, n: int) -> tuple[Floats, Floats]:
    """At most ``n`` points of the series ``(x, y)`` (x ascending), chosen by LTTB.

    A series of ``n`` points or fewer comes back whole; ``n`` below 3 keeps the ends only.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError("x and y must be one-dimensional and of the same length")
    keep = lttb_indices(xs, ys, n)
    return xs[keep], ys[keep]


def lttb_indices(x: Floats, y: Floats, n: int) -> npt.NDArray[np.intp]:
    """The positions LTTB keeps, ascending."""
    size = len(x)
    if size <= max(n, 2):
        return np.arange(size)
    if n < 3:
        return np.array([0, size - 1])
    buckets = n - 2
    # bucket b holds the points edges[b]..edges[b+1]-1 of the inner points 1..size-2
    edges = 1 + (np.arange(buckets + 1) * (size - 2)) // buckets
    counts = np.diff(edges)
    widest = int(counts.max())
    # the mean point of each bucket, and of the last point as the bucket after the last one
    sums_x = np.add.reduceat(x[1:-1], edges[:-1] - 1)
    sums_y = np.add.reduceat(y[1:-1], edges[:-1] - 1)
    next_x = np.append(sums_x[1:] / counts[1:], x[-1])
    next_y = np.append(sums_y[1:] / counts[1:], y[-1])
    # every bucket as a row of `widest` candidates (short rows repeat their last point)
    offsets = np.minimum(np.arange(widest)[None, :], (counts - 1)[:, None])
    rows = edges[:-1, None] + offsets
    cx, cy = x[rows], y[rows]
    # twice the triangle's area with the previous choice (px, py) is
    # |px * (cy - ny) + py * (nx - cx) + (cx * ny - nx * cy)|: the last two terms' factors
    # and the constant are known before the walk
    a = cy - next_y[:, None]
    b = next_x[:, None] - cx
    c = cx * next_y[:, None] - next_x[:, None] * cy
    chosen = np.empty(buckets, dtype=np.intp)
    px, py = x[0], y[0]
    for i in range(buckets):
        best = int(np.abs(px * a[i] + py * b[i] + c[i]).argmax())
        chosen[i] = rows[i, best]
        px, py = cx[i, best], cy[i, best]
    return np.concatenate(([0], chosen, [size - 1]))
