// The arithmetic of the recurrence kernels, as plain C++ over raw row-major buffers.
//
// It is declared here without Eigen or TensorFlow so that two translation units share it:
// kernels.cc defines it with Eigen and the register tiles, compiled for the instruction set
// of the machine that builds it (forecaster.cells.native.build chooses the flags), and
// recurrence.cc, the TensorFlow ops, compiled for the portable x86-64 baseline, checks
// shapes, allocates the outputs and runs these functions on row blocks of the batch in
// TensorFlow's thread pool. Only kernels.cc sees the processor's vector extensions, so it
// alone is what must compile for every target (the tests compile it for several).

#ifndef FORECASTER_CELLS_NATIVE_KERNELS_H_
#define FORECASTER_CELLS_NATIVE_KERNELS_H_

#include <cstdint>

namespace forecaster {

enum class Cell { kRnn, kLstm, kCifg, kGru };

// Column blocks of the kernels and of the pre-activations.
inline int Gates(Cell cell) { return cell == Cell::kRnn ? 1 : cell == Cell::kLstm ? 4 : 3; }

// Blocks of saved activations per step: lstm (i, f, c~, o), cifg (f, c~, o),
// gru (z, r, n, a_h); the tanh RNN needs only its outputs.
inline int Saved(Cell cell) { return cell == Cell::kRnn ? 0 : cell == Cell::kCifg ? 3 : 4; }

inline bool HasCellState(Cell cell) { return cell == Cell::kLstm || cell == Cell::kCifg; }

// The forward pass. Optional inputs (b, c0, rb, mask) and outputs (cs, acts) are null when
// absent. Shapes: x (batch, steps, features), w (features, G H), u (H, G H), b and rb (G H),
// h0, c0 and mask (batch, H); out: hs (batch, steps, H), cs (steps, batch, H) and
// acts (steps, batch, Saved H).
template <typename T>
struct Forward {
  Cell cell;
  int64_t batch, steps, features, units;
  const T *x, *w, *b, *u, *h0, *c0, *rb, *mask;
  T *hs, *cs, *acts;
};

// Runs every step of the forward pass for the batch rows [b0, b1).
template <typename T>
void ForwardRows(const Forward<T>& f, int64_t b0, int64_t b1);

// The backward pass over the forward pass's saved values. d_hs (batch, steps, H) and
// d_last (batch, H) may be null (no gradient reaches them); d_c (batch, H) is given for the
// cells with a cell state. u_t (G H, H) and w_t (G H, features) are the kernels transposed
// (`Transpose`). Out: dx (batch, steps, features), dh0 and dc0 (batch, H).
template <typename T>
struct Backward {
  Cell cell;
  int64_t batch, steps, features, units;
  const T *d_hs, *d_last, *d_c, *x, *hs, *cs, *acts, *u_t, *w_t, *h0, *c0, *mask;
  T *dx, *dh0, *dc0;
};

// One row block's share of the parameter gradients: dw (features, G H), du (H, G H),
// db (G H) and, for the GRU, drb (G H; null otherwise). `BackwardRows` overwrites them.
template <typename T>
struct Sums {
  T *dw, *du, *db, *drb;
};

// Runs every step of the backward pass, last to first, for the batch rows [b0, b1), and
// writes their share of the parameter gradients into `sums`.
template <typename T>
void BackwardRows(const Backward<T>& g, int64_t b0, int64_t b1, const Sums<T>& sums);

// dst (cols, rows) = src (rows, cols) transposed.
template <typename T>
void Transpose(const T* src, int64_t rows, int64_t cols, T* dst);

extern template void ForwardRows<float>(const Forward<float>&, int64_t, int64_t);
extern template void ForwardRows<double>(const Forward<double>&, int64_t, int64_t);
extern template void BackwardRows<float>(const Backward<float>&, int64_t, int64_t,
                                         const Sums<float>&);
extern template void BackwardRows<double>(const Backward<double>&, int64_t, int64_t,
                                          const Sums<double>&);
extern template void Transpose<float>(const float*, int64_t, int64_t, float*);
extern template void Transpose<double>(const double*, int64_t, int64_t, double*);

}  // namespace forecaster

#endif  // FORECASTER_CELLS_NATIVE_KERNELS_H_
