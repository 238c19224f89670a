// Whole-sequence recurrences of forecaster's four cells as two TensorFlow CPU kernels.
//
// ForecasterRecurrence runs a cell over a batch-major sequence `x (batch, steps, features)`
// and saves the gate activations; ForecasterRecurrenceGrad walks the sequence once in
// reverse, reusing them, and returns the gradients of the input, of both kernels and of the
// biases. The input projection is inside the loop: each step's pre-activations are one
// product over `[x_t, h_{t-1}]` (`x_t W + h~ U + b`, in the same register tiles), so the
// projected sequence `x W`, (steps, batch, gates x units), is never written to memory and
// read back, nor its gradient; backward, each step adds `x_t^T dz` and `h~^T dz` to the
// kernels' gradients and the column sums of `dz` to the biases' while `dz` is in cache, and
// writes `dx_t = dz W^T`. There is no graph overhead between steps, and no transpose: the
// input, the hidden states and their gradients stay batch-major, as Keras holds them.
//
// Batch rows are independent through the whole sequence, so each kernel splits the batch
// into contiguous row blocks that the threads of TensorFlow's intra-op pool take in turn,
// each running every step of its block without synchronizing with the others.
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
// where h~ is h_prev times the recurrent dropout mask when one is given. Optional inputs
// (the biases, c0, the mask) are passed as empty tensors when absent.

#include <algorithm>
#include <atomic>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "Eigen/Core"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/platform/blocking_counter.h"
#include "tensorflow/core/platform/threadpool.h"

namespace forecaster {

using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;
using ::tensorflow::shape_inference::DimensionHandle;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

enum class Cell { kRnn, kLstm, kCifg, kGru };

Cell ParseCell(const std::string& name) {
  if (name == "lstm") return Cell::kLstm;
  if (name == "cifg") return Cell::kCifg;
  if (name == "gru") return Cell::kGru;
  return Cell::kRnn;
}

// Column blocks of the kernels and of the pre-activations.
int Gates(Cell cell) { return cell == Cell::kRnn ? 1 : cell == Cell::kLstm ? 4 : 3; }

// Blocks of saved activations per step: lstm (i, f, c~, o), cifg (f, c~, o),
// gru (z, r, n, a_h); the tanh RNN needs only its outputs.
int Saved(Cell cell) { return cell == Cell::kRnn ? 0 : cell == Cell::kCifg ? 3 : 4; }

bool HasCellState(Cell cell) { return cell == Cell::kLstm || cell == Cell::kCifg; }

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

// How many row blocks the batch is split into: `kBlocksPerThread` per intra-op thread, of at
// least `kMinRows` rows each (one block for a small batch).
constexpr int64_t kBlocksPerThread = 2, kMinRows = 8;
int64_t RowBlocks(OpKernelContext* ctx, int64_t batch) {
  const int64_t threads = ctx->device()->tensorflow_cpu_worker_threads()->num_threads;
  return std::max<int64_t>(1, std::min(threads * kBlocksPerThread, batch / kMinRows));
}

// Runs `work(block, b0, b1)` for each of `blocks` contiguous row blocks of the batch and
// returns when all are done. This thread and up to (threads - 1) helpers on the intra-op
// pool take the blocks in turn from a shared counter. A pool thread can take milliseconds to
// start (the scheduler may first queue it on this thread's core), so fixed shares left one
// core idle for half the op; with blocks taken in turn, a late helper finds less work left,
// and one that finds none returns at once, touching only the shared counters.
template <typename Work>
void ForRowBlocks(OpKernelContext* ctx, int64_t batch, int64_t blocks, Work work) {
  struct Shared {
    std::atomic<int64_t> next{0};
    ::tensorflow::BlockingCounter done;
    explicit Shared(int64_t blocks) : done(static_cast<int>(blocks)) {}
  };
  auto shared = std::make_shared<Shared>(blocks);
  auto take = [shared, batch, blocks, &work] {
    for (int64_t i; (i = shared->next.fetch_add(1)) < blocks;) {
      work(i, batch * i / blocks, batch * (i + 1) / blocks);
      shared->done.DecrementCount();
    }
  };
  auto* threads = ctx->device()->tensorflow_cpu_worker_threads();
  const int64_t helpers = std::min<int64_t>(threads->num_threads, blocks) - 1;
  for (int64_t i = 0; i < helpers; ++i) threads->workers->Schedule(take);
  take();
  shared->done.Wait();
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

bool Empty(const Tensor& t) { return t.NumElements() == 0; }

// Both kernels: an op with the `cell` attribute.
class CellOp : public OpKernel {
 public:
  explicit CellOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    std::string name;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("cell", &name));
    cell_ = ParseCell(name);
  }

 protected:
  Cell cell_;
};

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

template <typename T>
const T* DataOrNull(const Tensor& t) {
  return Empty(t) ? nullptr : t.flat<T>().data();
}

template <typename T>
class RecurrenceOp : public CellOp {
 public:
  using CellOp::CellOp;

  void Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const Tensor& input_kernel = ctx->input(1);
    const Tensor& bias = ctx->input(2);
    const Tensor& kernel = ctx->input(3);
    const Tensor& h0 = ctx->input(4);
    const Tensor& c0 = ctx->input(5);
    const Tensor& rbias = ctx->input(6);
    const Tensor& mask = ctx->input(7);
    const int64_t units = kernel.dim_size(0), width = Gates(cell_) * units;
    OP_REQUIRES(ctx, x.dims() == 3 && input_kernel.dims() == 2 &&
                         input_kernel.dim_size(0) == x.dim_size(2) &&
                         input_kernel.dim_size(1) == width && kernel.dim_size(1) == width,
                ::tensorflow::errors::InvalidArgument(
                    "x (batch, steps, features) and kernels (features, ", width, "), (",
                    units, ", ", width, ") expected, got x ", x.shape().DebugString(),
                    ", kernels ", input_kernel.shape().DebugString(), ", ",
                    kernel.shape().DebugString()));
    const int64_t batch = x.dim_size(0), steps = x.dim_size(1), features = x.dim_size(2);
    Tensor *hs, *cs, *acts;
    const int64_t saved = Saved(cell_) * units;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({batch, steps, units}), &hs));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(
                            1, HasCellState(cell_) ? TensorShape({steps, batch, units})
                                                   : TensorShape({0}),
                            &cs));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({steps, batch, saved}), &acts));
    if (steps == 0 || batch == 0) return;
    const T* x_data = x.flat<T>().data();
    const T* w_data = input_kernel.flat<T>().data();
    const T* b_data = DataOrNull<T>(bias);
    const T* u_data = kernel.flat<T>().data();
    const T* h0_data = h0.flat<T>().data();
    const T* c0_data = DataOrNull<T>(c0);
    const T* rb_data = DataOrNull<T>(rbias);
    const T* mask_data = DataOrNull<T>(mask);
    T* hs_data = hs->flat<T>().data();
    T* cs_data = HasCellState(cell_) ? cs->flat<T>().data() : nullptr;
    T* acts_data = saved ? acts->flat<T>().data() : nullptr;
    const Cell cell = cell_;
    ForRowBlocks(ctx, batch, RowBlocks(ctx, batch), [&](int64_t, int64_t b0, int64_t b1) {
      const int64_t rows = b1 - b0, H = units;
      Matrix<T> h = ConstMap<T>(h0_data + b0 * units, rows, units);
      Matrix<T> c(rows, units), a(rows, width), h_masked(mask_data ? rows : 0, units);
      Matrix<T> xz(cell == Cell::kGru ? rows : 0, width);
      if (HasCellState(cell)) c = ConstMap<T>(c0_data + b0 * units, rows, units);
      const auto in = BatchMajorOf(x_data, steps, features, b0, b1);
      const auto out = BatchMajorOf(hs_data, steps, units, b0, b1);
      const auto cell_out = StepsOf(cs_data, batch, units, b0, b1);
      const auto act = StepsOf(acts_data, batch, saved, b0, b1);
      for (int64_t t = 0; t < steps; ++t) {
        const T* h_in = h.data();
        if (mask_data) {
          h_masked = h.cwiseProduct(ConstMap<T>(mask_data + b0 * units, rows, units));
          h_in = h_masked.data();
        }
        const Product<T> input{in.row(t), in.stride(), 1, w_data, width, features};
        const Product<T> recurrent{h_in, units, 1, u_data, width, units};
        if (cell == Cell::kGru) {
          // xz = x W + b and a = h~ U + rb apart: the candidate sees r a_h.
          Gemm(xz.data(), width, rows, width, b_data, 0, {input});
          Gemm(a.data(), width, rows, width, rb_data, 0, {recurrent});
        } else {
          Gemm(a.data(), width, rows, width, b_data, 0, {input, recurrent});
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
            const auto f = g.middleCols(0, H).array();
            c = (f * c.array() + (T(1) - f) * g.middleCols(H, H).array()).matrix();
            h = g.middleCols(2 * H, H).array() * c.array().tanh();
            break;
          }
          case Cell::kGru: {
            auto g = act.at(t);
            g.middleCols(0, H) = Sigmoid((xz.middleCols(0, H) + a.middleCols(0, H)).array());
            g.middleCols(H, H) = Sigmoid((xz.middleCols(H, H) + a.middleCols(H, H)).array());
            g.middleCols(3 * H, H) = a.middleCols(2 * H, H);
            g.middleCols(2 * H, H) =
                (xz.middleCols(2 * H, H).array() +
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
    });
  }
};

template <typename T>
class RecurrenceGradOp : public CellOp {
 public:
  using CellOp::CellOp;

  void Compute(OpKernelContext* ctx) override {
    const Tensor& d_hs = ctx->input(0);
    const Tensor& d_last = ctx->input(1);
    const Tensor& d_c = ctx->input(2);
    const Tensor& x = ctx->input(3);
    const Tensor& input_kernel = ctx->input(4);
    const Tensor& hs = ctx->input(5);
    const Tensor& cs = ctx->input(6);
    const Tensor& acts = ctx->input(7);
    const Tensor& kernel = ctx->input(8);
    const Tensor& h0 = ctx->input(9);
    const Tensor& c0 = ctx->input(10);
    const Tensor& mask = ctx->input(11);
    const int64_t batch = x.dim_size(0), steps = x.dim_size(1), features = x.dim_size(2);
    const int64_t units = kernel.dim_size(0), width = Gates(cell_) * units;
    const int64_t saved = Saved(cell_) * units;
    const bool gru = cell_ == Cell::kGru, stateful = HasCellState(cell_);
    Tensor *dx, *dw, *db, *du, *drb, *dh0, *dc0;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, x.shape(), &dx));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, input_kernel.shape(), &dw));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({width}), &db));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(3, kernel.shape(), &du));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(4, TensorShape({gru ? width : 0}), &drb));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(5, h0.shape(), &dh0));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(6, stateful ? h0.shape() : TensorShape({0}),
                                             &dc0));
    for (Tensor* sum : {dw, db, du, drb}) sum->flat<T>().setZero();
    if (batch == 0) return;
    if (steps == 0) {
      if (Empty(d_last)) {
        dh0->flat<T>().setZero();
      } else {
        dh0->flat<T>() = d_last.flat<T>();
      }
      if (stateful) dc0->flat<T>() = d_c.flat<T>();
      return;
    }
    // Either may be empty (no gradient reaches the outputs, or only the last step's does).
    const T* dhs_data = DataOrNull<T>(d_hs);
    const T* dlast_data = DataOrNull<T>(d_last);
    const T* dc_data = stateful ? d_c.flat<T>().data() : nullptr;
    const T* x_data = x.flat<T>().data();
    const T* hs_data = hs.flat<T>().data();
    const T* cs_data = stateful ? cs.flat<T>().data() : nullptr;
    const T* acts_data = saved ? acts.flat<T>().data() : nullptr;
    const T* u_data = kernel.flat<T>().data();
    const T* h0_data = h0.flat<T>().data();
    const T* c0_data = stateful ? c0.flat<T>().data() : nullptr;
    const T* mask_data = DataOrNull<T>(mask);
    T* dx_data = dx->flat<T>().data();
    T* dh0_data = dh0->flat<T>().data();
    T* dc0_data = stateful ? dc0->flat<T>().data() : nullptr;
    const Cell cell = cell_;
    // Both kernels transposed once, (G H, H) and (G H, F), for dh = da U^T and dx = dz W^T.
    const Matrix<T> u_t = ConstMap<T>(u_data, units, width).transpose();
    const Matrix<T> w_t = ConstMap<T>(input_kernel.flat<T>().data(), features, width).transpose();
    // Each row block sums its own share of the kernels' and biases' gradients,
    // sum_t x_t^T dz_t and h~_{t-1}^T da_t, while the step's values are in cache; the
    // shares are added at the end.
    const int64_t blocks = RowBlocks(ctx, batch);
    struct Sums {
      Matrix<T> dw, du, db, drb;
    };
    std::vector<Sums> parts(blocks);
    ForRowBlocks(ctx, batch, blocks, [&](int64_t block, int64_t b0, int64_t b1) {
      const int64_t rows = b1 - b0, H = units;
      Sums& sum = parts[block];
      sum.dw = Matrix<T>::Zero(features, width);
      sum.du = Matrix<T>::Zero(units, width);
      sum.db = Matrix<T>::Zero(1, width);
      sum.drb = Matrix<T>::Zero(1, gru ? width : 0);
      Matrix<T> dz(rows, width), rec(gru ? rows : 0, width), h_masked(mask_data ? rows : 0, units);
      const auto d_out = BatchMajorOf(dhs_data, steps, units, b0, b1);
      const auto h_at = BatchMajorOf(hs_data, steps, units, b0, b1);
      const auto in = BatchMajorOf(x_data, steps, features, b0, b1);
      const auto d_in = BatchMajorOf(dx_data, steps, features, b0, b1);
      const auto c_at = StepsOf(cs_data, batch, units, b0, b1);
      const auto act = StepsOf(acts_data, batch, saved, b0, b1);
      const ConstMap<T> h_first(h0_data + b0 * units, rows, units);
      Matrix<T> dh(rows, units), dh_next = Matrix<T>::Zero(rows, units), dc(rows, units);
      if (dlast_data) dh_next = ConstMap<T>(dlast_data + b0 * units, rows, units);
      Matrix<T> dc_next(rows, units), d_rec(rows, units);
      if (stateful) dc_next = ConstMap<T>(dc_data + b0 * units, rows, units);
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
        if (dhs_data) {
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
            const auto g = act.at(t);
            const bool lstm = cell == Cell::kLstm;
            const int64_t fi = lstm ? 1 : 0, gi = lstm ? 2 : 1, oi = lstm ? 3 : 2;
            const auto f = g.middleCols(fi * H, H).array();
            const auto cand = g.middleCols(gi * H, H).array();
            const auto o = g.middleCols(oi * H, H).array();
            const auto c = c_at.at(t).array();
            const auto tc = c.tanh().eval();
            dz.middleCols(oi * H, H) = (dh.array() * tc * o * (T(1) - o)).matrix();
            dc = (dc_next.array() + dh.array() * o * (T(1) - tc * tc)).matrix();
            const auto c_prev = t > 0 ? c_at.at(t - 1)
                                      : ConstMap<T>(c0_data + b0 * units, rows, units);
            if (lstm) {
              const auto i = g.middleCols(0, H).array();
              dz.middleCols(0, H) = (dc.array() * cand * i * (T(1) - i)).matrix();
              dz.middleCols(H, H) = (dc.array() * c_prev.array() * f * (T(1) - f)).matrix();
              dz.middleCols(2 * H, H) = (dc.array() * i * (T(1) - cand * cand)).matrix();
            } else {
              dz.middleCols(0, H) =
                  (dc.array() * f * (T(1) - f) * (c_prev.array() - cand)).matrix();
              dz.middleCols(H, H) = (dc.array() * (T(1) - f) * (T(1) - cand * cand)).matrix();
            }
            dc_next = (dc.array() * f).matrix();
            break;
          }
          case Cell::kGru: {
            const auto g = act.at(t);
            const auto z = g.middleCols(0, H).array();
            const auto r = g.middleCols(H, H).array();
            const auto n = g.middleCols(2 * H, H).array();
            const auto a_h = g.middleCols(3 * H, H).array();
            const auto dh_a = dh.array();
            dz.middleCols(0, H) = (dh_a * (h_prev.array() - n) * z * (T(1) - z)).matrix();
            dz.middleCols(2 * H, H) = (dh_a * (T(1) - z) * (T(1) - n * n)).matrix();
            dz.middleCols(H, H) =
                (dz.middleCols(2 * H, H).array() * a_h * r * (T(1) - r)).matrix();
            rec.leftCols(2 * H) = dz.leftCols(2 * H);
            rec.middleCols(2 * H, H) = (dz.middleCols(2 * H, H).array() * r).matrix();
            break;
          }
        }
        // dz is the gradient of x W + b (+ h~ U for all but the GRU, whose a = h~ U + rb
        // has the gradient `rec`, with the reset gate folded in).
        const T* da = gru ? rec.data() : dz.data();
        sum.db += dz.colwise().sum();
        if (gru) sum.drb += rec.colwise().sum();
        // h~_{t-1}.
        const T* h_in = h_prev.data();
        if (mask_data) {
          h_masked = h_prev.cwiseProduct(ConstMap<T>(mask_data + b0 * units, rows, units));
          h_in = h_masked.data();
        }
        // dU += h~_{t-1}^T da and dW += x_t^T dz, the left sides read transposed.
        Gemm(sum.du.data(), width, units, width, sum.du.data(), width,
             {Product<T>{h_in, 1, units, da, width, rows}});
        Gemm(sum.dw.data(), width, features, width, sum.dw.data(), width,
             {Product<T>{in.row(t), 1, in.stride(), dz.data(), width, rows}});
        // dx_t = dz W^T and d h~_{t-1} = da U^T.
        Gemm(d_in.row(t), d_in.stride(), rows, features, static_cast<const T*>(nullptr), 0,
             {Product<T>{dz.data(), width, 1, w_t.data(), features, width}});
        Gemm(d_rec.data(), units, rows, units, static_cast<const T*>(nullptr), 0,
             {Product<T>{da, width, 1, u_t.data(), units, width}});
        if (mask_data) {
          d_rec = d_rec.cwiseProduct(ConstMap<T>(mask_data + b0 * units, rows, units));
        }
        if (gru) {
          dh_next = (dh.array() * act.at(t).middleCols(0, H).array()).matrix() + d_rec;
        } else {
          dh_next.swap(d_rec);
        }
        h_cur.swap(h_prev);
      }
      Map<T>(dh0_data + b0 * units, rows, units) = dh_next;
      if (stateful) Map<T>(dc0_data + b0 * units, rows, units) = dc_next;
    });
    Map<T> dw_total(dw->flat<T>().data(), features, width);
    Map<T> du_total(du->flat<T>().data(), units, width);
    Map<T> db_total(db->flat<T>().data(), 1, width);
    Map<T> drb_total(drb->flat<T>().data(), 1, gru ? width : 0);
    for (const auto& part : parts) {
      dw_total += part.dw;
      du_total += part.du;
      db_total += part.db;
      drb_total += part.drb;
    }
  }
};

// Shapes: (batch, steps, k * units) from x's first two dimensions and U's rows, or the
// time-major (steps, batch, k * units) of the saved states.
absl::Status SequenceShape(InferenceContext* c, int64_t k, bool time_major, ShapeHandle* out) {
  constexpr int kX = 0, kKernel = 3;
  ShapeHandle x;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(kX), 3, &x));
  DimensionHandle width;
  TF_RETURN_IF_ERROR(c->Multiply(c->Dim(c->input(kKernel), 0), k, &width));
  *out = time_major ? c->MakeShape({c->Dim(x, 1), c->Dim(x, 0), width})
                    : c->MakeShape({c->Dim(x, 0), c->Dim(x, 1), width});
  return absl::OkStatus();
}

Cell CellAttr(InferenceContext* c) {
  std::string name;
  if (!c->GetAttr("cell", &name).ok()) return Cell::kRnn;
  return ParseCell(name);
}

REGISTER_OP("ForecasterRecurrence")
    .Input("x: T")
    .Input("input_kernel: T")
    .Input("bias: T")
    .Input("recurrent_kernel: T")
    .Input("h0: T")
    .Input("c0: T")
    .Input("recurrent_bias: T")
    .Input("mask: T")
    .Output("hs: T")
    .Output("cs: T")
    .Output("acts: T")
    .Attr("cell: {'rnn', 'lstm', 'cifg', 'gru'}")
    .Attr("T: {float, double}")
    .SetShapeFn([](InferenceContext* c) {
      const Cell cell = CellAttr(c);
      ShapeHandle hs, cs, acts;
      TF_RETURN_IF_ERROR(SequenceShape(c, 1, false, &hs));
      TF_RETURN_IF_ERROR(SequenceShape(c, 1, true, &cs));
      TF_RETURN_IF_ERROR(SequenceShape(c, Saved(cell), true, &acts));
      c->set_output(0, hs);
      c->set_output(1, HasCellState(cell) ? cs : c->MakeShape({0}));
      c->set_output(2, acts);
      return absl::OkStatus();
    });

REGISTER_OP("ForecasterRecurrenceGrad")
    .Input("d_hs: T")
    .Input("d_last: T")
    .Input("d_c: T")
    .Input("x: T")
    .Input("input_kernel: T")
    .Input("hs: T")
    .Input("cs: T")
    .Input("acts: T")
    .Input("recurrent_kernel: T")
    .Input("h0: T")
    .Input("c0: T")
    .Input("mask: T")
    .Output("dx: T")
    .Output("input_kernel_grad: T")
    .Output("bias_grad: T")
    .Output("recurrent_kernel_grad: T")
    .Output("recurrent_bias_grad: T")
    .Output("dh0: T")
    .Output("dc0: T")
    .Attr("cell: {'rnn', 'lstm', 'cifg', 'gru'}")
    .Attr("T: {float, double}")
    .SetShapeFn([](InferenceContext* c) {
      const Cell cell = CellAttr(c);
      DimensionHandle width;
      TF_RETURN_IF_ERROR(c->Multiply(c->Dim(c->input(8), 0), Gates(cell), &width));
      c->set_output(0, c->input(3));
      c->set_output(1, c->input(4));
      c->set_output(2, c->MakeShape({width}));
      c->set_output(3, c->input(8));
      c->set_output(4, c->MakeShape({cell == Cell::kGru ? width : c->MakeDim(0)}));
      c->set_output(5, c->input(9));
      c->set_output(6, HasCellState(cell) ? c->input(9) : c->MakeShape({0}));
      return absl::OkStatus();
    });

#define FORECASTER_REGISTER(T)                                                        \
  REGISTER_KERNEL_BUILDER(                                                           \
      Name("ForecasterRecurrence").Device(::tensorflow::DEVICE_CPU).TypeConstraint<T>("T"), \
      RecurrenceOp<T>);                                                              \
  REGISTER_KERNEL_BUILDER(Name("ForecasterRecurrenceGrad")                           \
                              .Device(::tensorflow::DEVICE_CPU)                      \
                              .TypeConstraint<T>("T"),                               \
                          RecurrenceGradOp<T>);

FORECASTER_REGISTER(float);
FORECASTER_REGISTER(double);

}  // namespace forecaster
