// Convolutions split over the cores by output rows. On the small maps of
// CycleGAN at 64-128 px TF's own threads barely help its convolutions (3x3,
// 128 -> 128 channels at 16x16: 0.59 ms on two threads, 0.39 on one), so the
// server runs TF with one intra-op thread and these ops give each core a
// contiguous range of output rows instead. Each range runs TF's own Eigen
// kernel single-threaded in a private eager context, on views of the input
// rows it reads: no copies in, one copy out. Not TF's oneDNN kernels: run on
// two threads at once they gave wrong values now and then (their primitive
// caches are not made for it).
//
//   DtSplitConv2D(x [N,H,W,C], filter [kh,kw,C,O]) -> y
//     stride s, zero padding pad_top/bottom/left/right (TF's EXPLICIT padding)
//   DtSplitConv2DBackpropInput(dy [N,OH,OW,O], filter) -> dx [N, rows, cols, C]
//   DtSplitConv2DBackpropFilter(x [N,H,W,C], dy) -> dw [kh, kw, C, O]
//     the gradients of a 'valid' convolution with stride s
//
// A range that splits a sample needs the kh - s input rows around the split
// twice: the forward pass reads them from both sides, the input gradient adds
// both sides' contributions, the weight gradient adds the two partial sums.
// A weight gradient larger than dy (PatchGAN's 4x4 convs on small maps) is
// split by filter rows instead: each core computes its own rows of dw.
#include <cstring>
#include <memory>
#include <utility>

#include "dt_common.h"
#include "tensorflow/c/eager/c_api.h"

namespace dt {
namespace {

struct ConvAttrs {
  int32_t stride = 1, top = 0, bottom = 0, left = 0, right = 0;  // forward
  int32_t rows = 0, cols = 0;                                    // input gradient
  int32_t kh = 0, kw = 0;                                        // weight gradient
};

const char* InvalidConv(const ConvAttrs& a) {
  return a.stride < 1 || a.top < 0 || a.bottom < 0 || a.left < 0 || a.right < 0 ? "stride must be >= 1 and padding >= 0" : nullptr;
}
void* CreateConvAttrs(TF_OpKernelConstruction* ctx, std::initializer_list<std::pair<const char*, int32_t ConvAttrs::*>> ints) {
  return ReadIntAttrs(ctx, ints, InvalidConv);
}

void* CreateConv(TF_OpKernelConstruction* ctx) {
  return CreateConvAttrs(ctx, {{"stride", &ConvAttrs::stride}, {"pad_top", &ConvAttrs::top}, {"pad_bottom", &ConvAttrs::bottom},
                               {"pad_left", &ConvAttrs::left}, {"pad_right", &ConvAttrs::right}});
}
void* CreateInputGrad(TF_OpKernelConstruction* ctx) {
  return CreateConvAttrs(ctx, {{"stride", &ConvAttrs::stride}, {"rows", &ConvAttrs::rows}, {"cols", &ConvAttrs::cols}});
}
void* CreateFilterGrad(TF_OpKernelConstruction* ctx) {
  return CreateConvAttrs(ctx, {{"stride", &ConvAttrs::stride}, {"kh", &ConvAttrs::kh}, {"kw", &ConvAttrs::kw}});
}
void DeleteConvAttrs(void* a) { delete static_cast<ConvAttrs*>(a); }

// The private context: one intra-op thread, created on first use.
TFE_Context* Context() {
  static TFE_Context* context = [] {
    TF_Status* status = TF_NewStatus();
    TFE_ContextOptions* options = TFE_NewContextOptions();
    // ConfigProto { intra_op_parallelism_threads: 1, inter_op_parallelism_threads: 1 }
    const unsigned char config[] = {0x10, 1, 0x28, 1};
    TFE_ContextOptionsSetConfig(options, config, sizeof config, status);
    TFE_Context* c = TF_GetCode(status) == TF_OK ? TFE_NewContext(options, status) : nullptr;
    TFE_DeleteContextOptions(options);
    TF_DeleteStatus(status);
    return c;
  }();
  return context;
}

void NoDealloc(void*, size_t, void*) {}

struct HandleDeleter {
  void operator()(TFE_TensorHandle* h) const { TFE_DeleteTensorHandle(h); }
};
using Handle = std::unique_ptr<TFE_TensorHandle, HandleDeleter>;
struct TensorDeleter {
  void operator()(TF_Tensor* t) const { TF_DeleteTensor(t); }
};
using Tensor = std::unique_ptr<TF_Tensor, TensorDeleter>;

// One eager op run in the private context; the first failure is kept in `error`.
class Run {
 public:
  explicit Run(std::string* error) : status_(TF_NewStatus()), error_(error) {}
  ~Run() { TF_DeleteStatus(status_); }

  bool ok() {
    if (TF_GetCode(status_) == TF_OK) return true;
    if (error_->empty()) *error_ = TF_Message(status_);
    return false;
  }

  // A [n, rows, w, c] float view of `data` (TF copies it only if unaligned).
  Handle View(const float* data, int64_t n, int64_t rows, int64_t w, int64_t c) {
    const int64_t dims[4] = {n, rows, w, c};
    TF_Tensor* t = TF_NewTensor(TF_FLOAT, dims, 4, const_cast<float*>(data), n * rows * w * c * sizeof(float), NoDealloc, nullptr);
    Handle h(TFE_NewTensorHandle(t, status_));
    TF_DeleteTensor(t);
    return h;
  }

  Handle Ints(const int64_t* values) {
    const int64_t dims[1] = {4};
    TF_Tensor* t = TF_AllocateTensor(TF_INT32, dims, 1, 4 * sizeof(int32_t));
    for (int i = 0; i < 4; i++) static_cast<int32_t*>(TF_TensorData(t))[i] = static_cast<int32_t>(values[i]);
    Handle h(TFE_NewTensorHandle(t, status_));
    TF_DeleteTensor(t);
    return h;
  }

  // op(inputs) with the convolution attributes; its output resolved on the host.
  Tensor Conv(const char* name, const std::vector<TFE_TensorHandle*>& inputs, int64_t stride, const int64_t* pads) {
    if (!ok() || !Context()) {
      if (error_->empty()) *error_ = "the private TensorFlow context could not be created";
      return nullptr;
    }
    TFE_Op* op = TFE_NewOp(Context(), name, status_);
    if (!ok()) return nullptr;
    for (TFE_TensorHandle* h : inputs) TFE_OpAddInput(op, h, status_);
    TFE_OpSetAttrType(op, "T", TF_FLOAT);
    const int64_t strides[4] = {1, stride, stride, 1}, dilations[4] = {1, 1, 1, 1};
    TFE_OpSetAttrIntList(op, "strides", strides, 4);
    TFE_OpSetAttrIntList(op, "dilations", dilations, 4);
    TFE_OpSetAttrString(op, "data_format", "NHWC", 4);
    const bool valid = !pads || (pads[0] == 0 && pads[1] == 0 && pads[2] == 0 && pads[3] == 0);
    TFE_OpSetAttrString(op, "padding", valid ? "VALID" : "EXPLICIT", valid ? 5 : 8);
    if (!valid) {
      const int64_t explicit_paddings[8] = {0, 0, pads[0], pads[1], pads[2], pads[3], 0, 0};
      TFE_OpSetAttrIntList(op, "explicit_paddings", explicit_paddings, 8);
    }
    TFE_TensorHandle* out = nullptr;
    int count = 1;
    if (ok()) TFE_Execute(op, &out, &count, status_);
    TFE_DeleteOp(op);
    if (!ok()) return nullptr;
    Tensor t(TFE_TensorHandleResolve(out, status_));
    TFE_DeleteTensorHandle(out);
    return ok() ? std::move(t) : nullptr;
  }

 private:
  TF_Status* status_;
  std::string* error_;
};

// A run of output rows: samples [n, n + count) whole (rows [0, OH)), or rows [o0, o1) of sample n.
struct Segment {
  int64_t n, count, o0, o1;
};

// The segments of flattened output rows [q0, q1) of N samples x oh rows; whole
// samples are merged into one segment when `merge` (their inputs are then one view).
std::vector<Segment> Segments(int64_t oh, int64_t q0, int64_t q1, bool merge) {
  std::vector<Segment> out;
  for (int64_t q = q0; q < q1;) {
    const int64_t n = q / oh, o = q % oh;
    if (merge && o == 0 && q + oh <= q1) {
      const int64_t count = (q1 - q) / oh;
      out.push_back({n, count, 0, oh});
      q += count * oh;
    } else {
      const int64_t end = std::min(q1 - n * oh, oh);
      out.push_back({n, 1, o, end});
      q = n * oh + end;
    }
  }
  return out;
}

void FailWith(TF_OpKernelContext* ctx, const char* op, const std::vector<std::string>& errors) {
  for (const std::string& e : errors) {
    if (!e.empty()) {
      Fail(ctx, (std::string(op) + ": " + e).c_str());
      return;
    }
  }
}

void ComputeConv(void* kernel, TF_OpKernelContext* ctx) {
  const ConvAttrs& a = *static_cast<ConvAttrs*>(kernel);
  ConvTensors tensors;
  TF_Tensor** in = tensors.in;
  if (Inputs(ctx, in, 2, "DtSplitConv2D takes float32 x [N, H, W, C] and filter [kh, kw, C, O]")) {
    const int64_t n = TF_Dim(in[0], 0), h = TF_Dim(in[0], 1), w = TF_Dim(in[0], 2), c = TF_Dim(in[0], 3);
    const int64_t kh = TF_Dim(in[1], 0), kw = TF_Dim(in[1], 1), o = TF_Dim(in[1], 3);
    const int64_t s = a.stride, hp = h + a.top + a.bottom, wp = w + a.left + a.right;
    if (TF_Dim(in[1], 2) != c || hp < kh || wp < kw || h < 1) {
      Fail(ctx, "DtSplitConv2D: the filter's input channels must match x's, and the padded x cover the filter");
    } else {
      const int64_t oh = (hp - kh) / s + 1, ow = (wp - kw) / s + 1;
      const int64_t dims[4] = {n, oh, ow, o};
      float* y = Output(ctx, dims, &tensors.out);
      const float* x = static_cast<const float*>(TF_TensorData(in[0]));
      const float* f = static_cast<const float*>(TF_TensorData(in[1]));
      // a range must read at least one input row: no splits of maps smaller than the filter
      const int parts = h < kh ? 1 : ConvParts(2.0 * n * oh * ow * o * kh * kw * c, n * oh);
      std::vector<std::string> errors(parts);
      if (y) {
        pool().Run(parts, [&](int p) {
          int64_t q0, q1;
          Split(n * oh, p, parts, &q0, &q1);
          Run run(&errors[p]);
          Handle filter = run.View(f, kh, kw, c, o);
          for (const Segment& g : Segments(oh, q0, q1, true)) {
            int64_t first = 0, rows = h, pads[4] = {a.top, a.bottom, a.left, a.right};
            if (g.count == 1 && !(g.o0 == 0 && g.o1 == oh)) {
              first = std::max<int64_t>(0, g.o0 * s - a.top);
              rows = std::min<int64_t>(h, (g.o1 - 1) * s + kh - a.top) - first;
              pads[0] = std::max<int64_t>(0, a.top - g.o0 * s);
              pads[1] = std::max<int64_t>(0, (g.o1 - 1) * s + kh - a.top - h);
            }
            Handle view = run.View(x + (g.n * h + first) * w * c, g.count, rows, w, c);
            Tensor r = run.Conv("Conv2D", {view.get(), filter.get()}, s, pads);
            if (!r) return;
            std::memcpy(y + (g.n * oh + g.o0) * ow * o, TF_TensorData(r.get()), TF_TensorByteSize(r.get()));
          }
        });
        FailWith(ctx, "DtSplitConv2D", errors);
      }
    }
  }
}

void ComputeInputGrad(void* kernel, TF_OpKernelContext* ctx) {
  const ConvAttrs& a = *static_cast<ConvAttrs*>(kernel);
  ConvTensors tensors;
  TF_Tensor** in = tensors.in;
  if (Inputs(ctx, in, 2, "DtSplitConv2DBackpropInput takes float32 dy [N, OH, OW, O] and filter [kh, kw, C, O]")) {
    const int64_t n = TF_Dim(in[0], 0), oh = TF_Dim(in[0], 1), ow = TF_Dim(in[0], 2), o = TF_Dim(in[0], 3);
    const int64_t kh = TF_Dim(in[1], 0), kw = TF_Dim(in[1], 1), c = TF_Dim(in[1], 2);
    const int64_t s = a.stride, h = a.rows, w = a.cols;
    if (TF_Dim(in[1], 3) != o || !ValidOutput(h, w, kh, kw, s, oh, ow)) {
      Fail(ctx, "DtSplitConv2DBackpropInput: dy's shape must be the 'valid' convolution's output for rows x cols and the filter");
    } else {
      const int64_t dims[4] = {n, h, w, c};
      float* dx = Output(ctx, dims, &tensors.out);
      const float* dy = static_cast<const float*>(TF_TensorData(in[0]));
      const float* f = static_cast<const float*>(TF_TensorData(in[1]));
      const int64_t extent = (oh - 1) * s + kh;  // rows the convolution reads
      const int parts = ConvParts(2.0 * n * oh * ow * o * kh * kw * c, n * oh);
      std::vector<std::string> errors(parts);
      // each part's results: the gradient of rows [row0, row0 + rows) of samples [n, n + count)
      struct Piece {
        Tensor t;
        int64_t n, count, row0, rows;
      };
      std::vector<std::vector<Piece>> pieces(parts);
      if (dx) {
        pool().Run(parts, [&](int p) {
          int64_t q0, q1;
          Split(n * oh, p, parts, &q0, &q1);
          Run run(&errors[p]);
          Handle filter = run.View(f, kh, kw, c, o);
          for (const Segment& g : Segments(oh, q0, q1, extent == h)) {
            const int64_t row0 = g.o0 * s, rows = (g.o1 - 1) * s + kh - row0;
            const int64_t sizes[4] = {g.count, rows, w, c};
            Handle shape = run.Ints(sizes);
            Handle grad = run.View(dy + (g.n * oh + g.o0) * ow * o, g.count, g.o1 - g.o0, ow, o);
            Tensor r = run.Conv("Conv2DBackpropInput", {shape.get(), filter.get(), grad.get()}, s, nullptr);
            if (!r) return;
            pieces[p].push_back({std::move(r), g.n, g.count, row0, rows});
          }
        });
        FailWith(ctx, "DtSplitConv2DBackpropInput", errors);
      }
      if (dx && std::all_of(errors.begin(), errors.end(), [](const std::string& e) { return e.empty(); })) {
        // every dx row: the first piece covering it copied, the others added, zero where none reads it
        const int64_t row_size = w * c;
        const int merge_parts = n * h * row_size >= (1 << 16) ? static_cast<int>(std::min<int64_t>(pool().size(), n * h)) : 1;
        pool().Run(merge_parts, [&](int p) {
          int64_t r0, r1;
          Split(n * h, p, merge_parts, &r0, &r1);
          for (int64_t r = r0; r < r1; r++) {
            const int64_t sample = r / h, row = r % h;
            float* dst = dx + r * row_size;
            bool written = false;
            for (const auto& part : pieces) {
              for (const Piece& piece : part) {
                if (sample < piece.n || sample >= piece.n + piece.count || row < piece.row0 || row >= piece.row0 + piece.rows) continue;
                const float* src = static_cast<const float*>(TF_TensorData(piece.t.get())) + ((sample - piece.n) * piece.rows + row - piece.row0) * row_size;
                if (!written) std::memcpy(dst, src, row_size * sizeof(float));
                else for (int64_t i = 0; i < row_size; i++) dst[i] += src[i];
                written = true;
              }
            }
            if (!written) std::fill_n(dst, row_size, 0.0f);
          }
        });
      }
    }
  }
}

// acc += the weight gradient [kh, kw, C, O] of a 'valid' convolution of count samples of
// x [rows, w, c] with dy [oh, ow, o] (views at x and dy), by TF's kernel.
bool AddFilterGrad(Run& run, const float* x, const float* dy, int64_t count, int64_t rows, int64_t w, int64_t c, int64_t oh,
                   int64_t ow, int64_t o, int64_t kh, int64_t kw, int64_t s, Tensor* acc) {
  const int64_t sizes[4] = {kh, kw, c, o};
  Handle shape = run.Ints(sizes);
  Handle input = run.View(x, count, rows, w, c);
  Handle grad = run.View(dy, count, oh, ow, o);
  Tensor r = run.Conv("Conv2DBackpropFilter", {input.get(), shape.get(), grad.get()}, s, nullptr);
  if (!r) return false;
  if (!*acc) {
    *acc = std::move(r);
  } else {
    float* sum = static_cast<float*>(TF_TensorData(acc->get()));
    const float* add = static_cast<const float*>(TF_TensorData(r.get()));
    for (int64_t i = 0; i < kh * kw * c * o; i++) sum[i] += add[i];
  }
  return true;
}

void ComputeFilterGrad(void* kernel, TF_OpKernelContext* ctx) {
  const ConvAttrs& a = *static_cast<ConvAttrs*>(kernel);
  ConvTensors tensors;
  TF_Tensor** in = tensors.in;
  if (Inputs(ctx, in, 2, "DtSplitConv2DBackpropFilter takes float32 x [N, H, W, C] and dy [N, OH, OW, O]")) {
    const int64_t n = TF_Dim(in[0], 0), h = TF_Dim(in[0], 1), w = TF_Dim(in[0], 2), c = TF_Dim(in[0], 3);
    const int64_t oh = TF_Dim(in[1], 1), ow = TF_Dim(in[1], 2), o = TF_Dim(in[1], 3);
    const int64_t s = a.stride, kh = a.kh, kw = a.kw;
    if (TF_Dim(in[1], 0) != n || !ValidOutput(h, w, kh, kw, s, oh, ow)) {
      Fail(ctx, "DtSplitConv2DBackpropFilter: dy's shape must be the 'valid' convolution's output for x and kh x kw");
    } else {
      const int64_t dims[4] = {kh, kw, c, o}, weights = kh * kw * c * o;
      float* dw = Output(ctx, dims, &tensors.out);
      const float* x = static_cast<const float*>(TF_TensorData(in[0]));
      const float* dy = static_cast<const float*>(TF_TensorData(in[1]));
      const int64_t extent = (oh - 1) * s + kh;
      const bool by_filter_rows = kh % 2 == 0 && 2 * weights > n * oh * ow * o;
      const int parts = ConvParts(2.0 * n * oh * ow * o * kh * kw * c, by_filter_rows ? kh : n * oh);
      std::vector<std::string> errors(parts);
      std::vector<Tensor> sums(parts);
      if (dw && n == 0) {
        std::fill_n(dw, weights, 0.0f);  // no samples, no gradient (and no partial sums to add)
      } else if (dw) {
        pool().Run(parts, [&](int p) {
          Run run(&errors[p]);
          if (by_filter_rows) {
            // filter rows [i0, i1) read x rows [i0, i0 + rows) of each sample: one sample at a time
            int64_t i0, i1;
            Split(kh, p, parts, &i0, &i1);
            const int64_t rows = (oh - 1) * s + i1 - i0;
            for (int64_t j = 0; j < n; j++) {
              if (!AddFilterGrad(run, x + (j * h + i0) * w * c, dy + j * oh * ow * o, 1, rows, w, c, oh, ow, o, i1 - i0, kw, s, &sums[p])) return;
            }
            std::memcpy(dw + i0 * kw * c * o, TF_TensorData(sums[p].get()), (i1 - i0) * kw * c * o * sizeof(float));
            return;
          }
          int64_t q0, q1;
          Split(n * oh, p, parts, &q0, &q1);
          for (const Segment& g : Segments(oh, q0, q1, extent == h)) {
            const int64_t row0 = g.o0 * s, rows = g.count > 1 ? h : (g.o1 - 1) * s + kh - row0;
            if (!AddFilterGrad(run, x + (g.n * h + row0) * w * c, dy + (g.n * oh + g.o0) * ow * o, g.count, rows, w, c, g.o1 - g.o0, ow, o, kh,
                               kw, s, &sums[p])) {
              return;
            }
          }
        });
        FailWith(ctx, "DtSplitConv2DBackpropFilter", errors);
      }
      if (dw && n > 0 && !by_filter_rows && std::all_of(errors.begin(), errors.end(), [](const std::string& e) { return e.empty(); })) {
        std::memcpy(dw, TF_TensorData(sums[0].get()), weights * sizeof(float));
        for (int p = 1; p < parts; p++) {
          const float* add = static_cast<const float*>(TF_TensorData(sums[p].get()));
          for (int64_t i = 0; i < weights; i++) dw[i] += add[i];
        }
      }
    }
  }
}

}  // namespace

const char* RegisterSplitConv() {
  const char* error = Register("DtSplitConv2D", {"x: float", "filter: float"}, {"y: float"},
                               {"stride: int", "pad_top: int", "pad_bottom: int", "pad_left: int", "pad_right: int"}, CreateConv, ComputeConv,
                               DeleteConvAttrs);
  if (!error) {
    error = Register("DtSplitConv2DBackpropInput", {"dy: float", "filter: float"}, {"dx: float"}, {"stride: int", "rows: int", "cols: int"},
                     CreateInputGrad, ComputeInputGrad, DeleteConvAttrs);
  }
  if (!error) {
    error = Register("DtSplitConv2DBackpropFilter", {"x: float", "dy: float"}, {"dw: float"}, {"stride: int", "kh: int", "kw: int"},
                     CreateFilterGrad, ComputeFilterGrad, DeleteConvAttrs);
  }
  return error;
}

}  // namespace dt
