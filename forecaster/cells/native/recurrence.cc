// Whole-sequence recurrences of forecaster's four cells as two TensorFlow CPU kernels.
//
// ForecasterRecurrence runs a cell over a time-major sequence whose input projection
// `xz = x W + b` was computed beforehand for all steps at once (one large matmul outside),
// and saves the gate activations; ForecasterRecurrenceGrad walks the sequence once in
// reverse, reusing them, and returns the gradient of the gate pre-activations for every
// step (from which TensorFlow differentiates the input projection: one large matmul), the
// recurrent kernel's gradient and the GRU's recurrent bias gradient. Inside the loops each
// step is one matrix product forward (`h U`), two backward (`dz U^T`, and `h^T dz` added to
// the kernel's gradient while both are in cache) and the element-wise gate work, with no
// graph overhead between steps.
//
// Batch rows are independent through the whole sequence, so each kernel splits the batch
// into contiguous row blocks, one per thread of TensorFlow's intra-op pool, and runs every
// step of a block without synchronizing with the others.
//
// The equations are exactly those of the cells' `call` with tanh and sigmoid (Eigen's
// tanh, the function TensorFlow's own Tanh kernel runs, and the sigmoid as
// 0.5 tanh(x / 2) + 0.5, equal to TensorFlow's Sigmoid to float rounding):
//
//   rnn:  h = tanh(xz + h~ U)
//   lstm: gates (i, f, c, o); c = f c_prev + i tanh(a_c); h = o tanh(c)
//   cifg: gates (f, c, o); i = 1 - f
//   gru:  gates (z, r, h), reset after the product: a = h~ U + rb;
//         z = sig(xz_z + a_z), r = sig(xz_r + a_r), n = tanh(xz_h + r a_h),
//         h = z h_prev + (1 - z) n
//
// where h~ is h_prev times the recurrent dropout mask when one is given. Optional inputs
// (c0, the GRU's recurrent bias, the mask) are passed as empty tensors when absent.

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

// How many row blocks the batch is split into: one per intra-op thread, at most one a row.
int64_t RowBlocks(OpKernelContext* ctx, int64_t batch) {
  const int64_t threads = ctx->device()->tensorflow_cpu_worker_threads()->num_threads;
  return std::max<int64_t>(1, std::min(threads, batch));
}

// Runs `work(block, b0, b1)` for each of `blocks` contiguous row blocks of the batch, all
// but the last on the intra-op pool, the last on this thread; returns when all are done.
template <typename Work>
void ForRowBlocks(OpKernelContext* ctx, int64_t batch, int64_t blocks, Work work) {
  auto* pool = ctx->device()->tensorflow_cpu_worker_threads()->workers;
  auto run = [&](int64_t i) { work(i, batch * i / blocks, batch * (i + 1) / blocks); };
  ::tensorflow::BlockingCounter pending(static_cast<int>(blocks - 1));
  for (int64_t i = 0; i + 1 < blocks; ++i) {
    pool->Schedule([&run, &pending, i] {
      run(i);
      pending.DecrementCount();
    });
  }
  run(blocks - 1);
  pending.Wait();
}

// C (rows x N) = init + A (rows x K) B (K x N), row-major with leading dimensions lda,
// ldb, ldc, ldi, A's columns `ak` apart (1, or the row length to read a transposed
// matrix); `init` may be null (zero) or C itself (accumulate). The recurrent products are small
// (rows <= batch / threads, K = units) and use the same B at every step, so in float32 on
// AVX2 + FMA they run in register tiles of 6 rows x 16 columns straight from B, with no
// packing; Eigen's general product packs both operands at every call and ran at 40% of
// this speed at 32 x 64 x 256. Other types and processors use Eigen's product.
#if defined(__AVX2__) && defined(__FMA__)
template <int kRows, int kVectors>
inline void Tile(const float* A, int64_t lda, int64_t ak, const float* B, int64_t ldb,
                 const float* init, int64_t ldi, float* C, int64_t ldc, int64_t K) {
  __m256 acc[kRows][kVectors];
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVectors; ++v) {
      acc[r][v] = init ? _mm256_loadu_ps(init + r * ldi + 8 * v) : _mm256_setzero_ps();
    }
  }
  for (int64_t k = 0; k < K; ++k) {
    __m256 b[kVectors];
    for (int v = 0; v < kVectors; ++v) b[v] = _mm256_loadu_ps(B + k * ldb + 8 * v);
    for (int r = 0; r < kRows; ++r) {
      const __m256 a = _mm256_broadcast_ss(A + r * lda + k * ak);
      for (int v = 0; v < kVectors; ++v) acc[r][v] = _mm256_fmadd_ps(a, b[v], acc[r][v]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVectors; ++v) _mm256_storeu_ps(C + r * ldc + 8 * v, acc[r][v]);
  }
}

template <int kVectors>
inline void RowTiles(const float* A, int64_t lda, int64_t ak, const float* B, int64_t ldb,
                     const float* init, int64_t ldi, float* C, int64_t ldc, int64_t rows,
                     int64_t K) {
  int64_t r = 0;
  for (; r + 6 <= rows; r += 6) {
    Tile<6, kVectors>(A + r * lda, lda, ak, B, ldb, init ? init + r * ldi : nullptr, ldi,
                      C + r * ldc, ldc, K);
  }
  const float* a = A + r * lda;
  const float* i = init ? init + r * ldi : nullptr;
  float* c = C + r * ldc;
  switch (rows - r) {
    case 5: Tile<5, kVectors>(a, lda, ak, B, ldb, i, ldi, c, ldc, K); break;
    case 4: Tile<4, kVectors>(a, lda, ak, B, ldb, i, ldi, c, ldc, K); break;
    case 3: Tile<3, kVectors>(a, lda, ak, B, ldb, i, ldi, c, ldc, K); break;
    case 2: Tile<2, kVectors>(a, lda, ak, B, ldb, i, ldi, c, ldc, K); break;
    case 1: Tile<1, kVectors>(a, lda, ak, B, ldb, i, ldi, c, ldc, K); break;
    default: break;
  }
}
#endif

template <typename T>
void Gemm(const T* A, int64_t lda, int64_t ak, const T* B, int64_t ldb, const T* init,
          int64_t ldi, T* C, int64_t ldc, int64_t rows, int64_t K, int64_t N) {
  int64_t done = 0;
#if defined(__AVX2__) && defined(__FMA__)
  // The tiles read B from memory once per 6 rows: fast while B stays in the core's L2
  // cache; a larger B (512 units and up) goes to Eigen's cache-blocked product.
  constexpr int64_t kTileBytes = 512 * 1024;
  if constexpr (std::is_same_v<T, float>) {
    if (K * N * static_cast<int64_t>(sizeof(float)) <= kTileBytes) {
      for (; done + 16 <= N; done += 16) {
        RowTiles<2>(A, lda, ak, B + done, ldb, init ? init + done : nullptr, ldi, C + done,
                    ldc, rows, K);
      }
      for (; done + 8 <= N; done += 8) {
        RowTiles<1>(A, lda, ak, B + done, ldb, init ? init + done : nullptr, ldi, C + done,
                    ldc, rows, K);
      }
    }
  }
#endif
  if (done == N) return;
  using Stride = Eigen::OuterStride<>;
  using In = Eigen::Map<const Matrix<T>, 0, Stride>;
  using Strides = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
  Eigen::Map<Matrix<T>, 0, Stride> out(C + done, rows, N - done, Stride(ldc));
  const Eigen::Map<const Matrix<T>, 0, Strides> a(A, rows, K, Strides(lda, ak));
  const In b(B + done, K, N - done, Stride(ldb));
  if (init) {
    out = In(init + done, rows, N - done, Stride(ldi));
    out.noalias() += a * b;
  } else {
    out.noalias() = a * b;
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
class RecurrenceOp : public CellOp {
 public:
  using CellOp::CellOp;

  void Compute(OpKernelContext* ctx) override {
    const Tensor& xz = ctx->input(0);
    const Tensor& kernel = ctx->input(1);
    const Tensor& h0 = ctx->input(2);
    const Tensor& c0 = ctx->input(3);
    const Tensor& rbias = ctx->input(4);
    const Tensor& mask = ctx->input(5);
    const int64_t steps = xz.dim_size(0), batch = xz.dim_size(1);
    const int64_t units = kernel.dim_size(0), width = Gates(cell_) * units;
    OP_REQUIRES(ctx, xz.dims() == 3 && xz.dim_size(2) == width,
                ::tensorflow::errors::InvalidArgument(
                    "xz must be (steps, batch, ", width, "), got ", xz.shape().DebugString()));
    Tensor *hs, *cs, *acts;
    const int64_t saved = Saved(cell_) * units;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({steps, batch, units}), &hs));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(
                            1, HasCellState(cell_) ? TensorShape({steps, batch, units})
                                                   : TensorShape({0}),
                            &cs));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({steps, batch, saved}), &acts));
    if (steps == 0 || batch == 0) return;
    const T* xz_data = xz.flat<T>().data();
    const T* u_data = kernel.flat<T>().data();
    const T* h0_data = h0.flat<T>().data();
    const T* c0_data = Empty(c0) ? nullptr : c0.flat<T>().data();
    const T* rb_data = Empty(rbias) ? nullptr : rbias.flat<T>().data();
    const T* mask_data = Empty(mask) ? nullptr : mask.flat<T>().data();
    T* hs_data = hs->flat<T>().data();
    T* cs_data = HasCellState(cell_) ? cs->flat<T>().data() : nullptr;
    T* acts_data = saved ? acts->flat<T>().data() : nullptr;
    const Cell cell = cell_;
    ForRowBlocks(ctx, batch, RowBlocks(ctx, batch), [&](int64_t, int64_t b0, int64_t b1) {
      const int64_t rows = b1 - b0;
      Matrix<T> h = ConstMap<T>(h0_data + b0 * units, rows, units);
      Matrix<T> c(rows, units), a(rows, width), h_masked(mask_data ? rows : 0, units);
      if (HasCellState(cell)) c = ConstMap<T>(c0_data + b0 * units, rows, units);
      const auto in = StepsOf(xz_data, batch, width, b0, b1);
      const auto out = StepsOf(hs_data, batch, units, b0, b1);
      const auto cell_out = StepsOf(cs_data, batch, units, b0, b1);
      const auto act = StepsOf(acts_data, batch, saved, b0, b1);
      for (int64_t t = 0; t < steps; ++t) {
        const T* h_in = h.data();
        if (mask_data) {
          h_masked = h.cwiseProduct(ConstMap<T>(mask_data + b0 * units, rows, units));
          h_in = h_masked.data();
        }
        const auto x = in.at(t);
        // a = h~ U, plus xz for every cell but the GRU (whose candidate sees r (h~ U_h)).
        Gemm(h_in, units, 1, u_data, width, cell == Cell::kGru ? nullptr : x.data(), width,
             a.data(), width, rows, units, width);
        const int64_t H = units;
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
            if (rb_data) a.rowwise() += ConstRow<T>(rb_data, width);
            auto g = act.at(t);
            g.middleCols(0, H) = Sigmoid((x.middleCols(0, H) + a.middleCols(0, H)).array());
            g.middleCols(H, H) = Sigmoid((x.middleCols(H, H) + a.middleCols(H, H)).array());
            g.middleCols(3 * H, H) = a.middleCols(2 * H, H);
            g.middleCols(2 * H, H) =
                (x.middleCols(2 * H, H).array() +
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
    const Tensor& hs = ctx->input(3);
    const Tensor& cs = ctx->input(4);
    const Tensor& acts = ctx->input(5);
    const Tensor& kernel = ctx->input(6);
    const Tensor& h0 = ctx->input(7);
    const Tensor& c0 = ctx->input(8);
    const Tensor& mask = ctx->input(9);
    const int64_t steps = hs.dim_size(0), batch = hs.dim_size(1);
    const int64_t units = kernel.dim_size(0), width = Gates(cell_) * units;
    const int64_t saved = Saved(cell_) * units;
    const bool gru = cell_ == Cell::kGru, stateful = HasCellState(cell_);
    Tensor *dxz, *du, *drb, *dh0, *dc0;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({steps, batch, width}), &dxz));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, kernel.shape(), &du));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({gru ? width : 0}), &drb));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(3, h0.shape(), &dh0));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(4, stateful ? h0.shape() : TensorShape({0}),
                                             &dc0));
    du->flat<T>().setZero();
    drb->flat<T>().setZero();
    if (batch == 0) return;
    if (steps == 0) {
      dh0->flat<T>().setZero();
      if (stateful) dc0->flat<T>() = d_c.flat<T>();
      return;
    }
    // Either may be empty (no gradient reaches the outputs, or only the last step's does).
    const T* dhs_data = Empty(d_hs) ? nullptr : d_hs.flat<T>().data();
    const T* dlast_data = Empty(d_last) ? nullptr : d_last.flat<T>().data();
    const T* dc_data = stateful ? d_c.flat<T>().data() : nullptr;
    const T* hs_data = hs.flat<T>().data();
    const T* cs_data = stateful ? cs.flat<T>().data() : nullptr;
    const T* acts_data = saved ? acts.flat<T>().data() : nullptr;
    const T* u_data = kernel.flat<T>().data();
    const T* h0_data = h0.flat<T>().data();
    const T* c0_data = stateful ? c0.flat<T>().data() : nullptr;
    const T* mask_data = Empty(mask) ? nullptr : mask.flat<T>().data();
    T* dxz_data = dxz->flat<T>().data();
    T* dh0_data = dh0->flat<T>().data();
    T* dc0_data = stateful ? dc0->flat<T>().data() : nullptr;
    const Cell cell = cell_;
    const Matrix<T> u_t = ConstMap<T>(u_data, units, width).transpose();  // (G H, H)
    const T* ut_data = u_t.data();
    // Each row block sums its own share of the recurrent kernel's gradient,
    // sum_t h~_{t-1}^T d(h~_{t-1} U), while the step's values are in cache; the shares are
    // added at the end (and likewise the GRU's recurrent bias gradient).
    const int64_t blocks = RowBlocks(ctx, batch);
    std::vector<Matrix<T>> du_parts(blocks, Matrix<T>::Zero(units, width));
    std::vector<Matrix<T>> drb_parts(blocks, Matrix<T>::Zero(1, width));
    ForRowBlocks(ctx, batch, blocks, [&](int64_t block, int64_t b0, int64_t b1) {
      const int64_t rows = b1 - b0, H = units;
      Matrix<T>& du_part = du_parts[block];
      Matrix<T> rec(gru ? rows : 0, width), h_masked(mask_data ? rows : 0, units);
      const auto d_out = StepsOf(dhs_data, batch, units, b0, b1);
      const auto h_at = StepsOf(hs_data, batch, units, b0, b1);
      const auto c_at = StepsOf(cs_data, batch, units, b0, b1);
      const auto act = StepsOf(acts_data, batch, saved, b0, b1);
      const auto dz_at = StepsOf(dxz_data, batch, width, b0, b1);
      const ConstMap<T> h_first(h0_data + b0 * units, rows, units);
      Matrix<T> dh(rows, units), dh_next = Matrix<T>::Zero(rows, units), dc(rows, units);
      if (dlast_data) dh_next = ConstMap<T>(dlast_data + b0 * units, rows, units);
      Matrix<T> dc_next(rows, units), d_in(rows, units);
      if (stateful) dc_next = ConstMap<T>(dc_data + b0 * units, rows, units);
      for (int64_t t = steps - 1; t >= 0; --t) {
        if (dhs_data) {
          dh = d_out.at(t) + dh_next;
        } else {
          dh = dh_next;
        }
        auto dz = dz_at.at(t);
        switch (cell) {
          case Cell::kRnn: {
            const auto h = h_at.at(t).array();
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
            const auto h_prev = t > 0 ? h_at.at(t - 1) : h_first;
            dz.middleCols(0, H) = (dh.array() * (h_prev.array() - n) * z * (T(1) - z)).matrix();
            dz.middleCols(2 * H, H) = (dh.array() * (T(1) - z) * (T(1) - n * n)).matrix();
            dz.middleCols(H, H) =
                (dz.middleCols(2 * H, H).array() * a_h * r * (T(1) - r)).matrix();
            rec.leftCols(2 * H) = dz.leftCols(2 * H);
            rec.middleCols(2 * H, H) = (dz.middleCols(2 * H, H).array() * r).matrix();
            break;
          }
        }
        // The gradient of a = h~ U (+ rb): dz, with the GRU's reset gate folded in.
        const T* da = cell == Cell::kGru ? rec.data() : dz.data();
        if (cell == Cell::kGru) drb_parts[block] += rec.colwise().sum();
        // dU += h~_{t-1}^T da: h~_{t-1} read transposed, rows `units` apart.
        const T* h_prev = t > 0 ? h_at.at(t - 1).data() : h_first.data();
        if (mask_data) {
          h_masked = ConstMap<T>(h_prev, rows, units)
                         .cwiseProduct(ConstMap<T>(mask_data + b0 * units, rows, units));
          h_prev = h_masked.data();
        }
        Gemm(h_prev, 1, units, da, width, du_part.data(), width, du_part.data(), width, units,
             rows, width);
        // d h~ = da U^T.
        Gemm(da, width, 1, ut_data, units, static_cast<const T*>(nullptr), 0, d_in.data(), units,
             rows, width, units);
        if (mask_data) {
          d_in = d_in.cwiseProduct(ConstMap<T>(mask_data + b0 * units, rows, units));
        }
        if (cell == Cell::kGru) {
          dh_next = (dh.array() * act.at(t).middleCols(0, H).array()).matrix() + d_in;
        } else {
          dh_next = d_in;
        }
      }
      Map<T>(dh0_data + b0 * units, rows, units) = dh_next;
      if (stateful) Map<T>(dc0_data + b0 * units, rows, units) = dc_next;
    });
    Map<T> du_total(du->flat<T>().data(), units, width);
    for (const auto& part : du_parts) du_total += part;
    if (gru) {
      Map<T> drb_total(drb->flat<T>().data(), 1, width);
      for (const auto& part : drb_parts) drb_total += part;
    }
  }

};

// Shapes: (steps, batch, k * units) from xz's first two dimensions and U's rows.
absl::Status StepShape(InferenceContext* c, int input, int units_from, int64_t k,
                               ShapeHandle* out) {
  ShapeHandle seq;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(input), 3, &seq));
  DimensionHandle width;
  TF_RETURN_IF_ERROR(c->Multiply(c->Dim(c->input(units_from), 0), k, &width));
  *out = c->MakeShape({c->Dim(seq, 0), c->Dim(seq, 1), width});
  return absl::OkStatus();
}

Cell CellAttr(InferenceContext* c) {
  std::string name;
  if (!c->GetAttr("cell", &name).ok()) return Cell::kRnn;
  return ParseCell(name);
}

REGISTER_OP("ForecasterRecurrence")
    .Input("xz: T")
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
      ShapeHandle hs, acts;
      TF_RETURN_IF_ERROR(StepShape(c, 0, 1, 1, &hs));
      TF_RETURN_IF_ERROR(StepShape(c, 0, 1, Saved(cell), &acts));
      c->set_output(0, hs);
      c->set_output(1, HasCellState(cell) ? hs : c->MakeShape({0}));
      c->set_output(2, acts);
      return absl::OkStatus();
    });

REGISTER_OP("ForecasterRecurrenceGrad")
    .Input("d_hs: T")
    .Input("d_last: T")
    .Input("d_c: T")
    .Input("hs: T")
    .Input("cs: T")
    .Input("acts: T")
    .Input("recurrent_kernel: T")
    .Input("h0: T")
    .Input("c0: T")
    .Input("mask: T")
    .Output("dxz: T")
    .Output("recurrent_kernel_grad: T")
    .Output("recurrent_bias_grad: T")
    .Output("dh0: T")
    .Output("dc0: T")
    .Attr("cell: {'rnn', 'lstm', 'cifg', 'gru'}")
    .Attr("T: {float, double}")
    .SetShapeFn([](InferenceContext* c) {
      const Cell cell = CellAttr(c);
      ShapeHandle dxz;
      TF_RETURN_IF_ERROR(StepShape(c, 3, 6, Gates(cell), &dxz));
      c->set_output(0, dxz);
      c->set_output(1, c->input(6));
      DimensionHandle width;
      TF_RETURN_IF_ERROR(c->Multiply(c->Dim(c->input(6), 0), Gates(cell), &width));
      c->set_output(2, c->MakeShape({cell == Cell::kGru ? width : c->MakeDim(0)}));
      c->set_output(3, c->input(7));
      c->set_output(4, HasCellState(cell) ? c->input(7) : c->MakeShape({0}));
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
