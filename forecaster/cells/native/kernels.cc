// The arithmetic of forecaster's four cells over whole sequences (see kernels.h), compiled
// for the building machine's instruction set.
//
// The input projection is inside the loop: each step's pre-activations are one product
// over `[x_t, h_{t-1}]` (`x_t W + h~ U + b`, in the same register tiles), so the projected
// sequence `x W`, (steps, batch, gates x units), is never written to memory and read back,
// nor its gradient; backward, each step adds `x_t^T dz` and `h~^T dz` to the kernels'
// gradients and the column sums of `dz` to the biases' while `dz` is in cache, and writes
// `dx_t = dz W^T`. There is no transpose of the sequences: the input, the hidden states and
// their gradients stay batch-major, as Keras holds them.
//
// The equations are exactly those of the cells' `call` with tanh and sigmoid (Eigen's
// tanh, the function TensorFlow's own Tanh kernel runs, and the sigmoid as
// 0.5 tanh(x / 2) + 0.5, equal to TensorFlow's Sigmoid to float rounding):
//
//   rnn:  h = tanh(x W + b + h~ U)
//   lstm: gates (i, f, c, o) of z = x W + b + h~ U; c = f c_prev + i tanh(z_c); h = o tanh(c)
//   cifg: gates (f, c, o); i = 1 - f
//   gru:  gates (z, r, h), reset after the product: xz = x W + b, a = h~ U + rb;
//         z = sig(xz_z + a_z), r = sig(xz_r + a_r), n = tanh(xz_h + r a_h),
//         h = z h_prev + (1 - z) n
//
// where h~ is h_prev times the recurrent dropout mask when one is given.

#include "kernels.h"

#include <algorithm>
#include <initializer_list>
#include <type_traits>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "Eigen/Core"

namespace forecaster {
namespace {

template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using Map = Eigen::Map<Matrix<T>>;
template <typename T>
using ConstMap = Eigen::Map<const Matrix<T>>;
template <typename T>
using ConstRow = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>;

// One step's rows [b0, b1) of a (steps, batch, width) tensor, as a (rows, width) matrix.
template <typename T>
struct Steps {
  T* data;
  int64_t batch, width, b0, rows;
  Map<T> at(int64_t t) const { return Map<T>(data + (t * batch + b0) * width, rows, width); }
};

template <typename T>
struct ConstSteps {
  const T* data;
  int64_t batch, width, b0, rows;
  ConstMap<T> at(int64_t t) const {
    return ConstMap<T>(data + (t * batch + b0) * width, rows, width);
  }
};

template <typename T>
Steps<T> StepsOf(T* data, int64_t batch, int64_t width, int64_t b0, int64_t b1) {
  return Steps<T>{data, batch, width, b0, b1 - b0};
}

template <typename T>
ConstSteps<T> StepsOf(const T* data, int64_t batch, int64_t width, int64_t b0, int64_t b1) {
  return ConstSteps<T>{data, batch, width, b0, b1 - b0};
}

// One term of a sum of matrix products: A (rows x k) times B (k x N), row-major, A's rows
// `lda` apart and its columns `ak` apart (1, or the row length to read a transposed matrix),
// B's rows `ldb` apart.
template <typename T>
struct Product {
  const T* a;
  int64_t lda, ak;
  const T* b;
  int64_t ldb, k;
};

// At most this many products are summed in one call of Gemm's register tiles.
constexpr int kMaxTerms = 2;

#if defined(__AVX2__) && defined(__FMA__)
// `kVectors` vectors of 8 columns; with kMasked, one vector of the columns `tail` enables
// (the last, fewer than 8, columns of a product).
template <int kRows, int kVectors, bool kMasked>
inline void Tile(const Product<float>* terms, int count, int64_t col, __m256i tail,
                 const float* init, int64_t ldi, float* C, int64_t ldc) {
  auto load = [tail](const float* p) {
    return kMasked ? _mm256_maskload_ps(p, tail) : _mm256_loadu_ps(p);
  };
  __m256 acc[kRows][kVectors];
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVectors; ++v) {
      acc[r][v] = init ? load(init + r * ldi + 8 * v) : _mm256_setzero_ps();
    }
  }
  for (int term = 0; term < count; ++term) {
    const Product<float>& p = terms[term];
    const float* B = p.b + col;
    for (int64_t k = 0; k < p.k; ++k) {
      __m256 b[kVectors];
      for (int v = 0; v < kVectors; ++v) b[v] = load(B + k * p.ldb + 8 * v);
      for (int r = 0; r < kRows; ++r) {
        const __m256 a = _mm256_broadcast_ss(p.a + r * p.lda + k * p.ak);
        for (int v = 0; v < kVectors; ++v) acc[r][v] = _mm256_fmadd_ps(a, b[v], acc[r][v]);
      }
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVectors; ++v) {
      if constexpr (kMasked) {
        _mm256_maskstore_ps(C + r * ldc + 8 * v, tail, acc[r][v]);
      } else {
        _mm256_storeu_ps(C + r * ldc + 8 * v, acc[r][v]);
      }
    }
  }
}

// The tiles of one column block (16, 8 or `tail`'s columns from `col`) over every row.
template <int kVectors, bool kMasked = false>
inline void RowTiles(const Product<float>* terms, int count, int64_t col, const float* init,
                     int64_t ldi, float* C, int64_t ldc, int64_t rows,
                     __m256i tail = _mm256_setzero_si256()) {
  Product<float> at[kMaxTerms];
  for (int term = 0; term < count; ++term) at[term] = terms[term];
  for (int64_t r = 0;; r += 6) {
    const float* i = init ? init + r * ldi + col : nullptr;
    float* c = C + r * ldc + col;
    switch (std::min<int64_t>(rows - r, 6)) {
      case 6: Tile<6, kVectors, kMasked>(at, count, col, tail, i, ldi, c, ldc); break;
      case 5: Tile<5, kVectors, kMasked>(at, count, col, tail, i, ldi, c, ldc); break;
      case 4: Tile<4, kVectors, kMasked>(at, count, col, tail, i, ldi, c, ldc); break;
      case 3: Tile<3, kVectors, kMasked>(at, count, col, tail, i, ldi, c, ldc); break;
      case 2: Tile<2, kVectors, kMasked>(at, count, col, tail, i, ldi, c, ldc); break;
      case 1: Tile<1, kVectors, kMasked>(at, count, col, tail, i, ldi, c, ldc); break;
      default: return;
    }
    for (int term = 0; term < count; ++term) at[term].a += 6 * at[term].lda;
  }
}
#endif

// C (rows x N, rows `ldc` apart) = init + the sum of `count` products. `init` may be null
// (zero), C itself (accumulate), or a row broadcast to every row (`ldi` = 0, a bias). The
// per-step products are small (rows <= batch / threads, k = features or units) and use the
// same B at every step, so in float32 on AVX2 + FMA they run in register tiles of 6 rows x
// 16 columns straight from B, with no packing, every term summed into the same registers;
// Eigen's general product packs both operands at every call and ran at 40% of this speed at
// 32 x 64 x 256. Other types and processors use Eigen's product.
template <typename T>
void Gemm(T* C, int64_t ldc, int64_t rows, int64_t N, const T* init, int64_t ldi,
          std::initializer_list<Product<T>> products) {
  const Product<T>* terms = products.begin();
  const int count = static_cast<int>(products.size());
  int64_t done = 0;
#if defined(__AVX2__) && defined(__FMA__)
  // The tiles read B from memory once per 6 rows: fast while B stays in the core's L2
  // cache; a larger B (512 units and up) goes to Eigen's cache-blocked product.
  constexpr int64_t kTileBytes = 512 * 1024;
  if constexpr (std::is_same_v<T, float>) {
    int64_t b_bytes = 0;
    for (const auto& p : products) b_bytes += p.k * N * static_cast<int64_t>(sizeof(float));
    if (b_bytes <= kTileBytes && count <= kMaxTerms) {
      for (; done + 16 <= N; done += 16) RowTiles<2>(terms, count, done, init, ldi, C, ldc, rows);
      for (; done + 8 <= N; done += 8) RowTiles<1>(terms, count, done, init, ldi, C, ldc, rows);
      if (done < N) {
        const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(N - done), lanes);
        RowTiles<1, true>(terms, count, done, init, ldi, C, ldc, rows, tail);
        done = N;
      }
    }
  }
#endif
  if (done == N) return;
  using Stride = Eigen::OuterStride<>;
  using Strides = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
  Eigen::Map<Matrix<T>, 0, Stride> out(C + done, rows, N - done, Stride(ldc));
  if (init == nullptr) {
    out.setZero();
  } else if (ldi == 0) {
    out = ConstRow<T>(init + done, N - done).replicate(rows, 1);
  } else if (init != C) {
    out = Eigen::Map<const Matrix<T>, 0, Stride>(init + done, rows, N - done, Stride(ldi));
  }
  for (const auto& p : products) {
    const Eigen::Map<const Matrix<T>, 0, Strides> a(p.a, rows, p.k, Strides(p.lda, p.ak));
    out.noalias() += a * Eigen::Map<const Matrix<T>, 0, Stride>(p.b + done, p.k, N - done,
                                                                 Stride(p.ldb));
  }
}

// The logistic function as 0.5 tanh(x / 2) + 0.5: the same values to float rounding
// (1e-7 absolute), and Eigen's vectorized tanh runs about 1.6x faster than its logistic.
template <typename Derived>
auto Sigmoid(const Eigen::ArrayBase<Derived>& x) {
  using T = typename Derived::Scalar;
  return T(0.5) * (T(0.5) * x).tanh() + T(0.5);
}

template <typename T>
using StridedMap = Eigen::Map<T, 0, Eigen::OuterStride<>>;

// One step's rows of a batch-major (batch, steps, width) tensor, rows `steps * width` apart.
template <typename T>
struct BatchMajor {
  T* data;
  int64_t steps, width, b0, rows;
  // Row b0 of step t, and the distance between rows.
  T* row(int64_t t) const { return data + (b0 * steps + t) * width; }
  int64_t stride() const { return steps * width; }
  StridedMap<std::conditional_t<std::is_const_v<T>, const Matrix<std::remove_const_t<T>>,
                                Matrix<T>>>
  at(int64_t t) const {
    return {row(t), rows, width, Eigen::OuterStride<>(stride())};
  }
};

template <typename T>
BatchMajor<T> BatchMajorOf(T* data, int64_t steps, int64_t width, int64_t b0, int64_t b1) {
  return BatchMajor<T>{data, steps, width, b0, b1 - b0};
}


}  // namespace

template <typename T>
void ForwardRows(const Forward<T>& f, int64_t b0, int64_t b1) {
  const Cell cell = f.cell;
  const int64_t rows = b1 - b0, H = f.units, units = f.units, width = Gates(cell) * units;
  const int64_t saved = Saved(cell) * units;
  Matrix<T> h = ConstMap<T>(f.h0 + b0 * units, rows, units);
  Matrix<T> c(rows, units), a(rows, width), h_masked(f.mask ? rows : 0, units);
  Matrix<T> xz(cell == Cell::kGru ? rows : 0, width);
  if (HasCellState(cell)) c = ConstMap<T>(f.c0 + b0 * units, rows, units);
  const auto in = BatchMajorOf(f.x, f.steps, f.features, b0, b1);
  const auto out = BatchMajorOf(f.hs, f.steps, units, b0, b1);
  const auto cell_out = StepsOf(f.cs, f.batch, units, b0, b1);
  const auto act = StepsOf(f.acts, f.batch, saved, b0, b1);
  for (int64_t t = 0; t < f.steps; ++t) {
    const T* h_in = h.data();
    if (f.mask) {
      h_masked = h.cwiseProduct(ConstMap<T>(f.mask + b0 * units, rows, units));
      h_in = h_masked.data();
    }
    const Product<T> input{in.row(t), in.stride(), 1, f.w, width, f.features};
    const Product<T> recurrent{h_in, units, 1, f.u, width, units};
    if (cell == Cell::kGru) {
      // xz = x W + b and a = h~ U + rb apart: the candidate sees r a_h.
      Gemm(xz.data(), width, rows, width, f.b, 0, {input});
      Gemm(a.data(), width, rows, width, f.rb, 0, {recurrent});
    } else {
      Gemm(a.data(), width, rows, width, f.b, 0, {input, recurrent});
    }
    switch (cell) {
      case Cell::kRnn:
        h = a.array().tanh();
        break;
      case Cell::kLstm: {
        auto g = act.at(t);
        g.middleCols(0, H) = Sigmoid(a.middleCols(0, H).array());
        g.middleCols(H, H) = Sigmoid(a.middleCols(H, H).array());
        g.middleCols(2 * H, H) = a.middleCols(2 * H, H).array().tanh();
        g.middleCols(3 * H, H) = Sigmoid(a.middleCols(3 * H, H).array());
        c = g.middleCols(H, H).cwiseProduct(c) +
            g.middleCols(0, H).cwiseProduct(g.middleCols(2 * H, H));
        h = g.middleCols(3 * H, H).array() * c.array().tanh();
        break;
      }
      case Cell::kCifg: {
        auto g = act.at(t);
        g.middleCols(0, H) = Sigmoid(a.middleCols(0, H).array());
        g.middleCols(H, H) = a.middleCols(H, H).array().tanh();
        g.middleCols(2 * H, H) = Sigmoid(a.middleCols(2 * H, H).array());
        const auto fg = g.middleCols(0, H).array();
        c = (fg * c.array() + (T(1) - fg) * g.middleCols(H, H).array()).matrix();
        h = g.middleCols(2 * H, H).array() * c.array().tanh();
        break;
      }
      case Cell::kGru: {
        auto g = act.at(t);
        g.middleCols(0, H) = Sigmoid((xz.middleCols(0, H) + a.middleCols(0, H)).array());
        g.middleCols(H, H) = Sigmoid((xz.middleCols(H, H) + a.middleCols(H, H)).array());
        g.middleCols(3 * H, H) = a.middleCols(2 * H, H);
        g.middleCols(2 * H, H) = (xz.middleCols(2 * H, H).array() +
                                  g.middleCols(H, H).array() * a.middleCols(2 * H, H).array())
                                     .tanh();
        const auto z = g.middleCols(0, H).array();
        h = (z * h.array() + (T(1) - z) * g.middleCols(2 * H, H).array()).matrix();
        break;
      }
    }
    out.at(t) = h;
    if (HasCellState(cell)) cell_out.at(t) = c;
  }
}

template <typename T>
void BackwardRows(const Backward<T>& g, int64_t b0, int64_t b1, const Sums<T>& sums) {
  const Cell cell = g.cell;
  const bool gru = cell == Cell::kGru, stateful = HasCellState(cell);
  const int64_t rows = b1 - b0, H = g.units, units = g.units, features = g.features;
  const int64_t steps = g.steps, width = Gates(cell) * units, saved = Saved(cell) * units;
  Map<T> sum_dw(sums.dw, features, width), sum_du(sums.du, units, width);
  Map<T> sum_db(sums.db, 1, width), sum_drb(sums.drb, 1, gru ? width : 0);
  sum_dw.setZero();
  sum_du.setZero();
  sum_db.setZero();
  sum_drb.setZero();
  Matrix<T> dz(rows, width), rec(gru ? rows : 0, width), h_masked(g.mask ? rows : 0, units);
  const auto d_out = BatchMajorOf(g.d_hs, steps, units, b0, b1);
  const auto h_at = BatchMajorOf(g.hs, steps, units, b0, b1);
  const auto in = BatchMajorOf(g.x, steps, features, b0, b1);
  const auto d_in = BatchMajorOf(g.dx, steps, features, b0, b1);
  const auto c_at = StepsOf(g.cs, g.batch, units, b0, b1);
  const auto act = StepsOf(g.acts, g.batch, saved, b0, b1);
  const ConstMap<T> h_first(g.h0 + b0 * units, rows, units);
  Matrix<T> dh(rows, units), dh_next = Matrix<T>::Zero(rows, units), dc(rows, units);
  if (g.d_last) dh_next = ConstMap<T>(g.d_last + b0 * units, rows, units);
  Matrix<T> dc_next(rows, units), d_rec(rows, units);
  if (stateful) dc_next = ConstMap<T>(g.d_c + b0 * units, rows, units);
  // h_t and h_{t-1} of this block, copied out of the batch-major hs: its rows are
  // steps x units apart, for 96 x 64 floats 24 KB, a multiple of 4 KB, so read in place
  // they all fall into the same few sets of the L1 cache, and the product that reads
  // h_{t-1} transposed for dU missed on nearly every row.
  Matrix<T> h_cur = h_at.at(steps - 1), h_prev(rows, units);
  for (int64_t t = steps - 1; t >= 0; --t) {
    if (t > 0) {
      h_prev = h_at.at(t - 1);
    } else {
      h_prev = h_first;
    }
    if (g.d_hs) {
      dh = d_out.at(t) + dh_next;
    } else {
      dh = dh_next;
    }
    switch (cell) {
      case Cell::kRnn: {
        const auto h = h_cur.array();
        dz = (dh.array() * (T(1) - h * h)).matrix();
        break;
      }
      case Cell::kLstm:
      case Cell::kCifg: {
        const auto a = act.at(t);
        const bool lstm = cell == Cell::kLstm;
        const int64_t fi = lstm ? 1 : 0, gi = lstm ? 2 : 1, oi = lstm ? 3 : 2;
        const auto f = a.middleCols(fi * H, H).array();
        const auto cand = a.middleCols(gi * H, H).array();
        const auto o = a.middleCols(oi * H, H).array();
        const auto c = c_at.at(t).array();
        const auto tc = c.tanh().eval();
        dz.middleCols(oi * H, H) = (dh.array() * tc * o * (T(1) - o)).matrix();
        dc = (dc_next.array() + dh.array() * o * (T(1) - tc * tc)).matrix();
        const auto c_prev = t > 0 ? c_at.at(t - 1) : ConstMap<T>(g.c0 + b0 * units, rows, units);
        if (lstm) {
          const auto i = a.middleCols(0, H).array();
          dz.middleCols(0, H) = (dc.array() * cand * i * (T(1) - i)).matrix();
          dz.middleCols(H, H) = (dc.array() * c_prev.array() * f * (T(1) - f)).matrix();
          dz.middleCols(2 * H, H) = (dc.array() * i * (T(1) - cand * cand)).matrix();
        } else {
          dz.middleCols(0, H) = (dc.array() * f * (T(1) - f) * (c_prev.array() - cand)).matrix();
          dz.middleCols(H, H) = (dc.array() * (T(1) - f) * (T(1) - cand * cand)).matrix();
        }
        dc_next = (dc.array() * f).matrix();
        break;
      }
      case Cell::kGru: {
        const auto a = act.at(t);
        const auto z = a.middleCols(0, H).array();
        const auto r = a.middleCols(H, H).array();
        const auto n = a.middleCols(2 * H, H).array();
        const auto a_h = a.middleCols(3 * H, H).array();
        const auto dh_a = dh.array();
        dz.middleCols(0, H) = (dh_a * (h_prev.array() - n) * z * (T(1) - z)).matrix();
        dz.middleCols(2 * H, H) = (dh_a * (T(1) - z) * (T(1) - n * n)).matrix();
        dz.middleCols(H, H) = (dz.middleCols(2 * H, H).array() * a_h * r * (T(1) - r)).matrix();
        rec.leftCols(2 * H) = dz.leftCols(2 * H);
        rec.middleCols(2 * H, H) = (dz.middleCols(2 * H, H).array() * r).matrix();
        break;
      }
    }
    // dz is the gradient of x W + b (+ h~ U for all but the GRU, whose a = h~ U + rb
    // has the gradient `rec`, with the reset gate folded in).
    const T* da = gru ? rec.data() : dz.data();
    sum_db += dz.colwise().sum();
    if (gru) sum_drb += rec.colwise().sum();
    // h~_{t-1}.
    const T* h_in = h_prev.data();
    if (g.mask) {
      h_masked = h_prev.cwiseProduct(ConstMap<T>(g.mask + b0 * units, rows, units));
      h_in = h_masked.data();
    }
    // dU += h~_{t-1}^T da and dW += x_t^T dz, the left sides read transposed.
    Gemm(sums.du, width, units, width, static_cast<const T*>(sums.du), width,
         {Product<T>{h_in, 1, units, da, width, rows}});
    Gemm(sums.dw, width, features, width, static_cast<const T*>(sums.dw), width,
         {Product<T>{in.row(t), 1, in.stride(), dz.data(), width, rows}});
    // dx_t = dz W^T and d h~_{t-1} = da U^T.
    Gemm(d_in.row(t), d_in.stride(), rows, features, static_cast<const T*>(nullptr), 0,
         {Product<T>{dz.data(), width, 1, g.w_t, features, width}});
    Gemm(d_rec.data(), units, rows, units, static_cast<const T*>(nullptr), 0,
         {Product<T>{da, width, 1, g.u_t, units, width}});
    if (g.mask) d_rec = d_rec.cwiseProduct(ConstMap<T>(g.mask + b0 * units, rows, units));
    if (gru) {
      dh_next = (dh.array() * act.at(t).middleCols(0, H).array()).matrix() + d_rec;
    } else {
      dh_next.swap(d_rec);
    }
    h_cur.swap(h_prev);
  }
  Map<T>(g.dh0 + b0 * units, rows, units) = dh_next;
  if (stateful) Map<T>(g.dc0 + b0 * units, rows, units) = dc_next;
}

template <typename T>
void Transpose(const T* src, int64_t rows, int64_t cols, T* dst) {
  Map<T>(dst, cols, rows) = ConstMap<T>(src, rows, cols).transpose();
}

template void ForwardRows<float>(const Forward<float>&, int64_t, int64_t);
template void ForwardRows<double>(const Forward<double>&, int64_t, int64_t);
template void BackwardRows<float>(const Backward<float>&, int64_t, int64_t, const Sums<float>&);
template void BackwardRows<double>(const Backward<double>&, int64_t, int64_t,
                                   const Sums<double>&);
template void Transpose<float>(const float*, int64_t, int64_t, float*);
template void Transpose<double>(const double*, int64_t, int64_t, double*);

}  // namespace forecaster
