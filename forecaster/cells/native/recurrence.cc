// Whole-sequence recurrences of forecaster's four cells as two TensorFlow CPU kernels.
//
// ForecasterRecurrence runs a cell over a batch-major sequence `x (batch, steps, features)`
// and saves the gate activations; ForecasterRecurrenceGrad walks the sequence once in
// reverse, reusing them, and returns the gradients of the input, of both kernels and of the
// biases. This file is the TensorFlow side: the ops, their shape checks and outputs, and the
// threads; the arithmetic is in kernels.cc (see kernels.h), compiled for the machine's
// instruction set, while this file is compiled for the portable baseline. There is no graph
// overhead between steps: a whole sequence is one op.
//
// Batch rows are independent through the whole sequence, so each kernel splits the batch
// into contiguous row blocks that the threads of TensorFlow's intra-op pool take in turn,
// each running every step of its block without synchronizing with the others.
//
// Optional inputs (the biases, c0, the mask) are passed as empty tensors when absent.

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>

#include "kernels.h"
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

Cell ParseCell(const std::string& name) {
  if (name == "lstm") return Cell::kLstm;
  if (name == "cifg") return Cell::kCifg;
  if (name == "gru") return Cell::kGru;
  return Cell::kRnn;
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

bool Empty(const Tensor& t) { return t.NumElements() == 0; }

template <typename T>
const T* DataOrNull(const Tensor& t) {
  return Empty(t) ? nullptr : t.flat<T>().data();
}

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
    const Forward<T> f{cell_,
                       batch,
                       steps,
                       features,
                       units,
                       x.flat<T>().data(),
                       input_kernel.flat<T>().data(),
                       DataOrNull<T>(bias),
                       kernel.flat<T>().data(),
                       h0.flat<T>().data(),
                       DataOrNull<T>(c0),
                       DataOrNull<T>(rbias),
                       DataOrNull<T>(mask),
                       hs->flat<T>().data(),
                       HasCellState(cell_) ? cs->flat<T>().data() : nullptr,
                       saved ? acts->flat<T>().data() : nullptr};
    ForRowBlocks(ctx, batch, RowBlocks(ctx, batch),
                 [&f](int64_t, int64_t b0, int64_t b1) { ForwardRows(f, b0, b1); });
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
    // Both kernels transposed once, (G H, H) and (G H, F), for dh = da U^T and dx = dz W^T.
    // Uninitialized: every element is written before it is read.
    std::unique_ptr<T[]> u_t(new T[units * width]), w_t(new T[features * width]);
    Transpose(kernel.flat<T>().data(), units, width, u_t.get());
    Transpose(input_kernel.flat<T>().data(), features, width, w_t.get());
    const Backward<T> g{cell_,
                        batch,
                        steps,
                        features,
                        units,
                        DataOrNull<T>(d_hs),  // either may be empty: no gradient reaches
                        DataOrNull<T>(d_last),  // the outputs, or only the last step's does
                        stateful ? d_c.flat<T>().data() : nullptr,
                        x.flat<T>().data(),
                        hs.flat<T>().data(),
                        stateful ? cs.flat<T>().data() : nullptr,
                        saved ? acts.flat<T>().data() : nullptr,
                        u_t.get(),
                        w_t.get(),
                        h0.flat<T>().data(),
                        stateful ? c0.flat<T>().data() : nullptr,
                        DataOrNull<T>(mask),
                        dx->flat<T>().data(),
                        dh0->flat<T>().data(),
                        stateful ? dc0->flat<T>().data() : nullptr};
    // Each row block sums its own share of the kernels' and biases' gradients,
    // sum_t x_t^T dz_t and h~_{t-1}^T da_t, while the step's values are in cache; the
    // shares are added at the end. One buffer per block: dw, du, db, drb one after another.
    const int64_t blocks = RowBlocks(ctx, batch);
    const int64_t sizes[] = {features * width, units * width, width, gru ? width : 0};
    const int64_t share = sizes[0] + sizes[1] + sizes[2] + sizes[3];
    std::unique_ptr<T[]> parts(new T[blocks * share]);  // BackwardRows zeroes its share
    ForRowBlocks(ctx, batch, blocks, [&](int64_t block, int64_t b0, int64_t b1) {
      T* p = parts.get() + block * share;
      const Sums<T> sums{p, p + sizes[0], p + sizes[0] + sizes[1],
                         gru ? p + sizes[0] + sizes[1] + sizes[2] : nullptr};
      BackwardRows(g, b0, b1, sums);
    });
    T* totals[] = {dw->flat<T>().data(), du->flat<T>().data(), db->flat<T>().data(),
                   drb->flat<T>().data()};
    for (int64_t block = 0; block < blocks; ++block) {
      const T* p = parts.get() + block * share;
      for (int k = 0; k < 4; ++k) {
        for (int64_t i = 0; i < sizes[k]; ++i) totals[k][i] += p[i];
        p += sizes[k];
      }
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
