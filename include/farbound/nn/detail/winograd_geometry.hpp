#pragma once
// Where the tiles of a Winograd lowering lie and how its transformed operands are stored
// (winograd.hpp; the transforms of F(2x2, 3x3) in winograd_f2.hpp, of F(4x4, 3x3) in
// winograd_f4.hpp).
#include <cstdint>

#include "farbound/core/tensor.hpp"
#include "farbound/nn/detail/conv_batch_lowering.hpp"

namespace farbound::detail {

namespace winograd_impl {

// Tiles a transform handles at once: its loops run over them, which the compiler vectorises.
inline constexpr std::int64_t strip = 16;

// Elements between the matrices of a [positions, rows, cols] buffer: one cache line more
// than a matrix. A transform writes (or reads) all of them at once; a whole number of
// megabytes apart, as ResNet9's are, the streams would fall into one cache set and evict
// each other.
inline std::int64_t matrix_stride(std::int64_t rows, std::int64_t cols) { return rows * cols + 16; }

}  // namespace winograd_impl

// The output tiles (tile x tile outputs each, tile 2 or 4) of a batch, and the number of
// positions of a transformed tile, (tile + 2)^2: one matrix product per position.
struct WinogradGeometry {
  BatchConvGeometry g;  // kernel 3, stride 1
  std::int64_t tile = 2;

  bool operator==(const WinogradGeometry&) const = default;

  std::int64_t positions() const { return (tile + 2) * (tile + 2); }
  std::int64_t tile_rows() const { return (g.out_height + tile - 1) / tile; }
  std::int64_t tile_cols() const { return (g.out_width + tile - 1) / tile; }
  std::int64_t tiles_per_item() const { return tile_rows() * tile_cols(); }
  std::int64_t tiles() const { return g.items * tiles_per_item(); }
  // The products' multiply-adds per item and per pair of input and output channels.
  std::int64_t multiply_adds_per_item() const { return positions() * tiles_per_item(); }
  // Tile (n, ty, tx) is column n * tiles_per_item() + ty * tile_cols() + tx.
  std::int64_t tile_index(std::int64_t n, std::int64_t ty, std::int64_t tx) const {
    return n * tiles_per_item() + ty * tile_cols() + tx;
  }
};

// Resizes `buffer` to `positions` matrices of rows x cols.
template <class T>
void resize_matrices(Tensor<T>& buffer, std::int64_t positions, std::int64_t rows, std::int64_t cols) {
  buffer.resize({positions, winograd_impl::matrix_stride(rows, cols)});
}

}  // namespace farbound::detail
