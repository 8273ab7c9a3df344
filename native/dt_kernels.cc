// Native TensorFlow kernels for what tfjs-core builds from many small ops or
// TF runs on one core: instance and batch norm fused with their activation, reflection
// padding, and the shifted sum of conv2dFewOutputs, each forward and gradient. Registered
// through TensorFlow's C kernel API when Node loads this addon (after
// tfjs-node), then run by name like any TF op. One op instead of 8 kernels
// forward and 8 backward; two passes over memory each, on all cores (TF's own
// element-wise and reduction kernels run these shapes on one).
//
//   DtInstanceNorm(x: [N,H,W,C], bias: [C]) -> y, mean [N,C], rstd [N,C]
//     with v = x + bias (the convolution's bias before the norm):
//     y = act((v - mean) * rstd), rstd = 1/sqrt(var + eps), var biased
//   DtInstanceNormGrad(dy, x, bias, mean, rstd) -> dx, dbias
//     with z = (v - mean) * rstd and dz = dy * act'(z):
//     dx = rstd * (dz - mean(dz) - z * mean(dz * z)), dbias = sum of dx over N, H, W
//   DtBatchNorm(x, scale, offset, running_mean, running_var) -> y = act(z * scale + offset), mean, rstd:
//     [1, C] over N, H, W as BatchNorm in train mode, or [N, C] per sample (per_sample);
//     and the running statistics after PyTorch's update with momentum (the unbiased variance)
//   DtBatchNormGrad(dy, x, scale, offset, mean, rstd) -> dx, dscale, doffset
//   act(z) = z > 0 ? z : slope * z   (slope 1: none, 0: ReLU, 0.2: LeakyReLU)
//   DtReflectPad(x: [N,H,W,C]) -> [N,H+2p,W+2p,C], PyTorch's ReflectionPad2d(p)
//   DtReflectPadGrad(dy) -> dx: each padded value added back onto the one it copies
//   DtShiftSum(z) -> y and its gradient: the column shifts of a conv into few channels
#include <cmath>

#include "dt_common.h"

namespace {

using dt::Fail;
using dt::pool;
using dt::PartsFor;
using dt::Split;


struct Shape {
  int64_t n, hw, c;
};

bool GetShape(TF_Tensor* t, Shape* s) {
  if (TF_NumDims(t) != 4 || TF_TensorType(t) != TF_FLOAT) return false;
  s->n = TF_Dim(t, 0);
  s->hw = TF_Dim(t, 1) * TF_Dim(t, 2);
  s->c = TF_Dim(t, 3);
  return true;
}

struct Attrs {
  float slope = 0, eps = 0;
  int32_t size = 0;  // "pad" or "taps"
  bool per_sample = false;
  float momentum = 0;
};

// Reads the attributes an op declares ("slope", "epsilon", one int named
// int_attr, "per_sample", "momentum"); a missing one fails the kernel's construction.
Attrs* ReadAttrs(TF_OpKernelConstruction* ctx, bool slope, bool eps, const char* int_attr, bool per_sample = false, bool momentum = false) {
  auto* a = new Attrs();
  TF_Status* status = TF_NewStatus();
  if (slope) TF_OpKernelConstruction_GetAttrFloat(ctx, "slope", &a->slope, status);
  if (eps && TF_GetCode(status) == TF_OK) TF_OpKernelConstruction_GetAttrFloat(ctx, "epsilon", &a->eps, status);
  if (int_attr && TF_GetCode(status) == TF_OK) TF_OpKernelConstruction_GetAttrInt32(ctx, int_attr, &a->size, status);
  if (per_sample && TF_GetCode(status) == TF_OK) {
    TF_Bool value = 0;
    TF_OpKernelConstruction_GetAttrBool(ctx, "per_sample", &value, status);
    a->per_sample = value;
  }
  if (momentum && TF_GetCode(status) == TF_OK) TF_OpKernelConstruction_GetAttrFloat(ctx, "momentum", &a->momentum, status);
  if (TF_GetCode(status) != TF_OK) TF_OpKernelConstruction_Failure(ctx, status);
  TF_DeleteStatus(status);
  return a;
}

void* CreateInstanceNorm(TF_OpKernelConstruction* ctx) { return ReadAttrs(ctx, true, true, nullptr); }
void* CreateInstanceNormGrad(TF_OpKernelConstruction* ctx) { return ReadAttrs(ctx, true, false, nullptr); }
void* CreateBatchNorm(TF_OpKernelConstruction* ctx) { return ReadAttrs(ctx, true, true, nullptr, true, true); }
void* CreateBatchNormGrad(TF_OpKernelConstruction* ctx) { return ReadAttrs(ctx, true, false, nullptr, true); }
void* CreatePad(TF_OpKernelConstruction* ctx) { return ReadAttrs(ctx, false, false, "pad"); }
void* CreateShiftSum(TF_OpKernelConstruction* ctx) { return ReadAttrs(ctx, false, false, "taps"); }
void* CreateNoAttrs(TF_OpKernelConstruction* ctx) { return ReadAttrs(ctx, false, false, nullptr); }

void DeleteKernel(void* a) { delete static_cast<Attrs*>(a); }


// The norms below: instance norm with the convolution's bias added before it
// (kAffine false), or BatchNorm with its scale g and offset o after it (kAffine
// true, no bias). v = x + b, z = (v - mean) * rstd, u = kAffine ? z * g + o : z,
// y = act(u). Statistics are per (sample, channel), or per channel over the
// batch (BatchNorm in train mode, unless per_sample).

// Sums over rows [begin, end) of v per channel: s1 += v, s2 += v * v.
template <bool kAffine>
__attribute__((target_clones("avx512f", "avx2", "default")))
void SumRows(const float* x, const float* b, int64_t begin, int64_t end, int64_t c, double* s1, double* s2) {
  for (int64_t r = begin; r < end; r++) {
    const float* xr = x + r * c;
    for (int64_t ch = 0; ch < c; ch++) {
      const float v = kAffine ? xr[ch] : xr[ch] + b[ch];
      s1[ch] += v;
      s2[ch] += static_cast<double>(v) * v;
    }
  }
}

template <bool kAffine>
__attribute__((target_clones("avx512f", "avx2", "default")))
void NormaliseRows(const float* x, const float* b, const float* g, const float* o, float* y, int64_t begin, int64_t end, int64_t c,
                   const float* mean, const float* rstd, float slope) {
  for (int64_t r = begin; r < end; r++) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    for (int64_t ch = 0; ch < c; ch++) {
      const float z = ((kAffine ? xr[ch] : xr[ch] + b[ch]) - mean[ch]) * rstd[ch];
      const float u = kAffine ? z * g[ch] + o[ch] : z;
      yr[ch] = u > 0 ? u : u * slope;
    }
  }
}

// Sums of du and du * z over rows, du = dy * act'(u), z and u recomputed as the forward made them.
template <bool kAffine>
__attribute__((target_clones("avx512f", "avx2", "default")))
void GradSumRows(const float* dy, const float* x, const float* b, const float* g, const float* o, int64_t begin, int64_t end, int64_t c,
                 const float* mean, const float* rstd, float slope, double* s1, double* s2) {
  for (int64_t r = begin; r < end; r++) {
    const float* dyr = dy + r * c;
    const float* xr = x + r * c;
    for (int64_t ch = 0; ch < c; ch++) {
      const float z = ((kAffine ? xr[ch] : xr[ch] + b[ch]) - mean[ch]) * rstd[ch];
      const float u = kAffine ? z * g[ch] + o[ch] : z;
      const float du = u > 0 ? dyr[ch] : dyr[ch] * slope;
      s1[ch] += du;
      s2[ch] += static_cast<double>(du) * z;
    }
  }
}

// dx over rows from dz = du * g (kAffine) or du, and the means mdz, mdzz of dz and dz * z;
// without kAffine also the sum of dx per channel into db (the bias gradient).
template <bool kAffine>
__attribute__((target_clones("avx512f", "avx2", "default")))
void GradRows(const float* dy, const float* x, const float* b, const float* g, const float* o, float* dx, int64_t begin, int64_t end,
              int64_t c, const float* mean, const float* rstd, float slope, const float* mdz, const float* mdzz, double* db) {
  for (int64_t r = begin; r < end; r++) {
    const float* dyr = dy + r * c;
    const float* xr = x + r * c;
    float* dxr = dx + r * c;
    for (int64_t ch = 0; ch < c; ch++) {
      const float z = ((kAffine ? xr[ch] : xr[ch] + b[ch]) - mean[ch]) * rstd[ch];
      const float u = kAffine ? z * g[ch] + o[ch] : z;
      const float du = u > 0 ? dyr[ch] : dyr[ch] * slope;
      const float dz = kAffine ? du * g[ch] : du;
      const float d = rstd[ch] * (dz - mdz[ch] - z * mdzz[ch]);
      dxr[ch] = d;
      if (!kAffine) db[ch] += d;
    }
  }
}

// Runs pass(part, sample, begin, end, acc) over all parts, acc = `width` doubles per (part, sample, channel)
// zeroed; returns the totals over parts per (sample, channel), or per channel (summed over samples) where !per_sample.
std::vector<double> Reduce(const Shape& s, int parts, int width, bool per_sample,
                           const std::function<void(int, int64_t, int64_t, int64_t, double*)>& pass) {
  const int64_t nc = s.n * s.c;
  std::vector<double> acc(parts * width * nc, 0.0);
  pool().Run(parts, [&](int p) {
    int64_t begin, end;
    Split(s.hw, p, parts, &begin, &end);
    for (int64_t i = 0; i < s.n; i++) pass(p, i, begin, end, &acc[(p * width) * nc]);
  });
  const int64_t groups = per_sample ? s.n : 1;
  std::vector<double> total(width * groups * s.c, 0.0);
  for (int p = 0; p < parts; p++) {
    for (int w = 0; w < width; w++) {
      for (int64_t i = 0; i < s.n; i++) {
        const double* from = &acc[((p * width + w) * s.n + i) * s.c];
        double* to = &total[(w * groups + (per_sample ? i : 0)) * s.c];
        for (int64_t ch = 0; ch < s.c; ch++) to[ch] += from[ch];
      }
    }
  }
  return total;
}

// The statistics of sample i: its own, or the batch's.
inline int64_t StatOffset(const Shape& s, bool per_sample, int64_t i) { return per_sample ? i * s.c : 0; }

// Values per statistic.
inline int64_t StatCount(const Shape& s, bool per_sample) { return per_sample ? s.hw : s.n * s.hw; }

// y and the statistics mean and rstd, one per (group, channel); if moments, also
// the mean and the unbiased variance in double, [2][groups * C].
template <bool kAffine>
void Normalise(const Shape& s, bool per_sample, float eps, float slope, const float* x, const float* b, const float* g, const float* o,
               float* y, float* mean, float* rstd, double* moments) {
  const int parts = PartsFor(s.n * s.hw * s.c);
  const int64_t stats = (per_sample ? s.n : 1) * s.c;
  const int64_t count = StatCount(s, per_sample);
  // totals: [sum of v (stats), sum of v^2 (stats)]
  std::vector<double> t = Reduce(s, parts, 2, per_sample, [&](int, int64_t i, int64_t begin, int64_t end, double* acc) {
    SumRows<kAffine>(x + i * s.hw * s.c, b, begin, end, s.c, acc + i * s.c, acc + s.n * s.c + i * s.c);
  });
  for (int64_t k = 0; k < stats; k++) {
    const double m = t[k] / count;
    const double biased = std::max(0.0, t[stats + k] / count - m * m);
    mean[k] = static_cast<float>(m);
    rstd[k] = static_cast<float>(1.0 / std::sqrt(biased + eps));
    if (moments) {
      moments[k] = m;
      moments[stats + k] = biased * count / (count - 1);
    }
  }
  pool().Run(parts, [&](int p) {
    int64_t begin, end;
    Split(s.hw, p, parts, &begin, &end);
    for (int64_t i = 0; i < s.n; i++) {
      const int64_t off = i * s.hw * s.c, st = StatOffset(s, per_sample, i);
      NormaliseRows<kAffine>(x + off, b, g, o, y + off, begin, end, s.c, mean + st, rstd + st, slope);
    }
  });
}

// dx, and db (the bias gradient) without kAffine, or dg and do with it.
template <bool kAffine>
void NormaliseGrad(const Shape& s, bool per_sample, float slope, const float* dy, const float* x, const float* b, const float* g,
                   const float* o, const float* mean, const float* rstd, float* dx, float* db, float* dg, float* doff) {
  const int parts = PartsFor(s.n * s.hw * s.c);
  const int64_t groups = per_sample ? s.n : 1, stats = groups * s.c;
  const int64_t count = StatCount(s, per_sample);
  // totals: [sum of du (stats), sum of du * z (stats)]
  std::vector<double> t = Reduce(s, parts, 2, per_sample, [&](int, int64_t i, int64_t begin, int64_t end, double* acc) {
    const int64_t off = i * s.hw * s.c, st = StatOffset(s, per_sample, i);
    GradSumRows<kAffine>(dy + off, x + off, b, g, o, begin, end, s.c, mean + st, rstd + st, slope, acc + i * s.c, acc + s.n * s.c + i * s.c);
  });
  // dz = du * g: its sums are g times du's
  std::vector<float> mdz(stats), mdzz(stats);
  for (int64_t k = 0; k < stats; k++) {
    const double scale = kAffine ? g[k % s.c] : 1.0;
    mdz[k] = static_cast<float>(scale * t[k] / count);
    mdzz[k] = static_cast<float>(scale * t[stats + k] / count);
  }
  if (kAffine) {
    for (int64_t ch = 0; ch < s.c; ch++) {
      double sum_du = 0, sum_duz = 0;
      for (int64_t k = 0; k < groups; k++) {
        sum_du += t[k * s.c + ch];
        sum_duz += t[stats + k * s.c + ch];
      }
      doff[ch] = static_cast<float>(sum_du);
      dg[ch] = static_cast<float>(sum_duz);
    }
  }
  // the sums of dx per channel: the bias gradient
  std::vector<double> sums = Reduce(s, parts, 1, false, [&](int, int64_t i, int64_t begin, int64_t end, double* acc) {
    const int64_t off = i * s.hw * s.c, st = StatOffset(s, per_sample, i);
    GradRows<kAffine>(dy + off, x + off, b, g, o, dx + off, begin, end, s.c, mean + st, rstd + st, slope, &mdz[st], &mdzz[st], acc + i * s.c);
  });
  if (!kAffine) {
    for (int64_t ch = 0; ch < s.c; ch++) db[ch] = static_cast<float>(sums[ch]);
  }
}

bool IsVector(TF_Tensor* b, int64_t c) { return TF_TensorType(b) == TF_FLOAT && TF_NumDims(b) == 1 && TF_Dim(b, 0) == c; }

const float* Floats(TF_Tensor* t) { return static_cast<const float*>(TF_TensorData(t)); }

// Gets inputs 0..n-1 into inputs; false after failing the kernel.
bool GetInputs(TF_OpKernelContext* ctx, TF_Tensor** inputs, int n, TF_Status* status) {
  for (int i = 0; i < n && TF_GetCode(status) == TF_OK; i++) TF_GetInput(ctx, i, &inputs[i], status);
  if (TF_GetCode(status) == TF_OK) return true;
  TF_OpKernelContext_Failure(ctx, status);
  return false;
}

// Allocates output k with dims[k], for each k; false after failing the kernel.
bool AllocateOutputs(TF_OpKernelContext* ctx, TF_Tensor** outputs, const std::vector<std::vector<int64_t>>& dims, TF_Status* status) {
  for (size_t k = 0; k < dims.size() && TF_GetCode(status) == TF_OK; k++) {
    int64_t count = 1;
    for (int64_t d : dims[k]) count *= d;
    outputs[k] = TF_AllocateOutput(ctx, static_cast<int>(k), TF_FLOAT, dims[k].data(), static_cast<int>(dims[k].size()), count * sizeof(float), status);
  }
  if (TF_GetCode(status) == TF_OK) return true;
  TF_OpKernelContext_Failure(ctx, status);
  return false;
}

std::vector<int64_t> Dims4(TF_Tensor* t) { return {TF_Dim(t, 0), TF_Dim(t, 1), TF_Dim(t, 2), TF_Dim(t, 3)}; }

// Reads an op's kIn inputs, runs body(in, out, status) (out: its kOut outputs, for
// AllocateOutputs), then frees them all.
template <int kIn, int kOut, typename F>
void WithTensors(TF_OpKernelContext* ctx, F&& body) {
  TF_Status* status = TF_NewStatus();
  TF_Tensor* in[kIn] = {};
  TF_Tensor* out[kOut] = {};
  if (GetInputs(ctx, in, kIn, status)) body(in, out, status);
  for (TF_Tensor* t : in) TF_DeleteTensor(t);
  for (TF_Tensor* t : out) TF_DeleteTensor(t);
  TF_DeleteStatus(status);
}

// DtInstanceNorm(x, bias) -> y, mean [N, C], rstd [N, C]
void ComputeInstanceNorm(void* kernel, TF_OpKernelContext* ctx) {
  const Attrs& a = *static_cast<Attrs*>(kernel);
  WithTensors<2, 3>(ctx, [&](TF_Tensor** in, TF_Tensor** out, TF_Status* status) {
    Shape s;
    if (!GetShape(in[0], &s) || s.hw < 1 || !IsVector(in[1], s.c)) {
      Fail(ctx, "DtInstanceNorm takes a float32 [N, H, W, C] tensor and a bias of C values");
    } else if (AllocateOutputs(ctx, out, {Dims4(in[0]), {s.n, s.c}, {s.n, s.c}}, status)) {
      Normalise<false>(s, true, a.eps, a.slope, Floats(in[0]), Floats(in[1]), nullptr, nullptr, static_cast<float*>(TF_TensorData(out[0])),
                       static_cast<float*>(TF_TensorData(out[1])), static_cast<float*>(TF_TensorData(out[2])), nullptr);
    }
  });
}

// DtInstanceNormGrad(dy, x, bias, mean, rstd) -> dx, dbias
void ComputeInstanceNormGrad(void* kernel, TF_OpKernelContext* ctx) {
  const Attrs& a = *static_cast<Attrs*>(kernel);
  WithTensors<5, 2>(ctx, [&](TF_Tensor** in, TF_Tensor** out, TF_Status* status) {
    Shape s, sx;
    if (!GetShape(in[0], &s) || !GetShape(in[1], &sx) || s.n != sx.n || s.hw != sx.hw || s.c != sx.c || !IsVector(in[2], s.c) ||
        TF_TensorElementCount(in[3]) != s.n * s.c || TF_TensorElementCount(in[4]) != s.n * s.c) {
      Fail(ctx, "DtInstanceNormGrad takes dy and x of one float32 [N, H, W, C] shape, a bias of C values, mean and rstd of N * C values");
    } else if (AllocateOutputs(ctx, out, {Dims4(in[0]), {s.c}}, status)) {
      NormaliseGrad<false>(s, true, a.slope, Floats(in[0]), Floats(in[1]), Floats(in[2]), nullptr, nullptr, Floats(in[3]), Floats(in[4]),
                           static_cast<float*>(TF_TensorData(out[0])), static_cast<float*>(TF_TensorData(out[1])), nullptr, nullptr);
    }
  });
}

// DtBatchNorm(x, scale, offset, running_mean, running_var) -> y, mean, rstd ([1, C], or [N, C] per_sample), and the
// running statistics after PyTorch's update (per_sample: unchanged)
void ComputeBatchNorm(void* kernel, TF_OpKernelContext* ctx) {
  const Attrs& a = *static_cast<Attrs*>(kernel);
  WithTensors<5, 5>(ctx, [&](TF_Tensor** in, TF_Tensor** out, TF_Status* status) {
    Shape s;
    if (!GetShape(in[0], &s) || !IsVector(in[1], s.c) || !IsVector(in[2], s.c) || !IsVector(in[3], s.c) || !IsVector(in[4], s.c)) {
      Fail(ctx, "DtBatchNorm takes a float32 [N, H, W, C] tensor, a scale, an offset and running statistics of C values");
    } else if (StatCount(s, a.per_sample) < 2) {
      Fail(ctx, "DtBatchNorm needs more than 1 value per channel");
    } else if (const int64_t groups = a.per_sample ? s.n : 1;
               AllocateOutputs(ctx, out, {Dims4(in[0]), {groups, s.c}, {groups, s.c}, {s.c}, {s.c}}, status)) {
      std::vector<double> moments(2 * groups * s.c);
      Normalise<true>(s, a.per_sample, a.eps, a.slope, Floats(in[0]), nullptr, Floats(in[1]), Floats(in[2]), static_cast<float*>(TF_TensorData(out[0])),
                      static_cast<float*>(TF_TensorData(out[1])), static_cast<float*>(TF_TensorData(out[2])), moments.data());
      // PyTorch's update, in double as its CPU kernel does: momentum * batch + (1 - momentum) * running
      const float* running[2] = {Floats(in[3]), Floats(in[4])};
      for (int k = 0; k < 2; k++) {
        float* updated = static_cast<float*>(TF_TensorData(out[3 + k]));
        for (int64_t ch = 0; ch < s.c; ch++) {
          updated[ch] = a.per_sample ? running[k][ch]
                                     : static_cast<float>(a.momentum * moments[k * s.c + ch] + (1.0 - a.momentum) * running[k][ch]);
        }
      }
    }
  });
}

// DtBatchNormGrad(dy, x, scale, offset, mean, rstd) -> dx, dscale, doffset
void ComputeBatchNormGrad(void* kernel, TF_OpKernelContext* ctx) {
  const Attrs& a = *static_cast<Attrs*>(kernel);
  WithTensors<6, 3>(ctx, [&](TF_Tensor** in, TF_Tensor** out, TF_Status* status) {
    Shape s, sx;
    if (!GetShape(in[0], &s) || !GetShape(in[1], &sx) || s.n != sx.n || s.hw != sx.hw || s.c != sx.c || !IsVector(in[2], s.c) ||
        !IsVector(in[3], s.c) || TF_TensorElementCount(in[4]) != (a.per_sample ? s.n : 1) * s.c ||
        TF_TensorElementCount(in[5]) != (a.per_sample ? s.n : 1) * s.c) {
      Fail(ctx, "DtBatchNormGrad takes dy and x of one float32 [N, H, W, C] shape, a scale and an offset of C values, and DtBatchNorm's mean and rstd");
    } else if (AllocateOutputs(ctx, out, {Dims4(in[0]), {s.c}, {s.c}}, status)) {
      NormaliseGrad<true>(s, a.per_sample, a.slope, Floats(in[0]), Floats(in[1]), nullptr, Floats(in[2]), Floats(in[3]), Floats(in[4]),
                          Floats(in[5]), static_cast<float*>(TF_TensorData(out[0])), nullptr, static_cast<float*>(TF_TensorData(out[1])),
                          static_cast<float*>(TF_TensorData(out[2])));
    }
  });
}

// Source index of padded index i (0 <= i < n + 2p) under reflection: p - i before, 2(n-1) - (i-p) after.
inline int64_t Reflect(int64_t i, int64_t p, int64_t n) {
  int64_t j = i - p;
  return j < 0 ? -j : j >= n ? 2 * (n - 1) - j : j;
}

// dims of x [N, H, W, C] and of the padded tensor
struct PadShape {
  int64_t n, h, w, c, ph, pw;
};

// From a float32 4-D tensor, padded or not; false if the sides are not larger than p.
bool GetPadShape(TF_Tensor* t, int64_t p, bool padded, PadShape* s) {
  s->n = TF_Dim(t, 0);
  s->c = TF_Dim(t, 3);
  const int64_t d = padded ? -2 * p : 0;
  s->h = TF_Dim(t, 1) + d;
  s->w = TF_Dim(t, 2) + d;
  s->ph = s->h + 2 * p;
  s->pw = s->w + 2 * p;
  return p >= 0 && s->h > p && s->w > p;
}

// Adds padded row `src` (pw * c values) onto x row `dst` (w * c values), columns folded back.
__attribute__((target_clones("avx512f", "avx2", "default")))
void FoldRow(const float* src, float* dst, int64_t p, int64_t w, int64_t c) {
  for (int64_t k = 0; k < w * c; k++) dst[k] += src[p * c + k];
  for (int64_t ox = 0; ox < p; ox++) {
    const float* a = src + ox * c;
    float* d = dst + Reflect(ox, p, w) * c;
    for (int64_t ch = 0; ch < c; ch++) d[ch] += a[ch];
  }
  for (int64_t ox = p + w; ox < w + 2 * p; ox++) {
    const float* a = src + ox * c;
    float* d = dst + Reflect(ox, p, w) * c;
    for (int64_t ch = 0; ch < c; ch++) d[ch] += a[ch];
  }
}

// Output row r (of N * (H + 2p)) of the padding.
void PadRow(const float* x, float* y, const PadShape& s, int64_t p, int64_t r) {
  const float* src = x + ((r / s.ph) * s.h + Reflect(r % s.ph, p, s.h)) * s.w * s.c;
  float* dst = y + r * s.pw * s.c;
  for (int64_t ox = 0; ox < p; ox++) std::copy_n(src + Reflect(ox, p, s.w) * s.c, s.c, dst + ox * s.c);
  std::copy_n(src, s.w * s.c, dst + p * s.c);
  for (int64_t ox = p + s.w; ox < s.pw; ox++) std::copy_n(src + Reflect(ox, p, s.w) * s.c, s.c, dst + ox * s.c);
}

// Row r (of N * H) of the gradient: the padded rows that copy row y are y + p, p - y (top border) and
// 2(h-1) - y + p (bottom border).
void PadGradRow(const float* dy, float* dx, const PadShape& s, int64_t p, int64_t r) {
  const int64_t y = r % s.h;
  float* dst = dx + r * s.w * s.c;
  std::fill_n(dst, s.w * s.c, 0.0f);
  const float* img = dy + (r / s.h) * s.ph * s.pw * s.c;
  FoldRow(img + (y + p) * s.pw * s.c, dst, p, s.w, s.c);
  if (y >= 1 && y <= p) FoldRow(img + (p - y) * s.pw * s.c, dst, p, s.w, s.c);
  if (y <= s.h - 2 && y >= s.h - 1 - p) FoldRow(img + (2 * (s.h - 1) - y + p) * s.pw * s.c, dst, p, s.w, s.c);
}

// A 4-D op of one float input and one float output: `shape` checks the input
// and sets the output's [N, H, W, C] (false: the op fails with `error`), then
// row(src, dst, r) writes output row r of N * H, rows split over the pool.
template <typename ShapeFn, typename RowFn>
void RunRowOp(TF_OpKernelContext* ctx, const char* error, ShapeFn shape, RowFn row) {
  int64_t rows = 0;
  dt::RunOp(ctx, 4, error,
            [&](TF_Tensor* in, std::vector<int64_t>* dims) {
              dims->resize(4);
              if (!shape(in, dims->data())) return false;
              rows = (*dims)[0] * (*dims)[1];
              return true;
            },
            [&](const float* src, float* dst, int part, int parts) {
              int64_t b, e;
              Split(rows, part, parts, &b, &e);
              for (int64_t r = b; r < e; r++) row(src, dst, r);
            });
}

void ComputePad(void* kernel, TF_OpKernelContext* ctx) {
  const int64_t p = static_cast<Attrs*>(kernel)->size;
  PadShape s;
  RunRowOp(ctx, "DtReflectPad takes a float32 [N, H, W, C] tensor with H and W larger than the padding",
           [&](TF_Tensor* x, int64_t* dims) {
             if (!GetPadShape(x, p, false, &s)) return false;
             dims[0] = s.n, dims[1] = s.ph, dims[2] = s.pw, dims[3] = s.c;
             return true;
           },
           [&](const float* x, float* y, int64_t r) { PadRow(x, y, s, p, r); });
}

void ComputePadGrad(void* kernel, TF_OpKernelContext* ctx) {
  const int64_t p = static_cast<Attrs*>(kernel)->size;
  PadShape s;
  RunRowOp(ctx, "DtReflectPadGrad takes a float32 [N, H + 2p, W + 2p, C] tensor with H and W larger than the padding p",
           [&](TF_Tensor* dy, int64_t* dims) {
             if (!GetPadShape(dy, p, true, &s)) return false;
             dims[0] = s.n, dims[1] = s.h, dims[2] = s.w, dims[3] = s.c;
             return true;
           },
           [&](const float* dy, float* dx, int64_t r) { PadGradRow(dy, dx, s, p, r); });
}

// dst (o x c) = src (c x o) transposed, in 8 x 8 tiles.
__attribute__((target_clones("avx512f", "avx2", "default")))
void TransposeTap(const float* __restrict src, float* __restrict dst, int64_t c, int64_t o) {
  constexpr int64_t kTile = 8;
  const int64_t c8 = c - c % kTile, o8 = o - o % kTile;
  for (int64_t a0 = 0; a0 < c8; a0 += kTile) {
    for (int64_t b0 = 0; b0 < o8; b0 += kTile) {
      for (int64_t b = b0; b < b0 + kTile; b++) {
        for (int64_t a = a0; a < a0 + kTile; a++) dst[b * c + a] = src[a * o + b];
      }
    }
  }
  // the edges past the last whole tile
  for (int64_t a = 0; a < c; a++) {
    for (int64_t b = a < c8 ? o8 : 0; b < o; b++) dst[b * c + a] = src[a * o + b];
  }
}

// DtRotateFilter: w [kh, kw, c, o] -> [kh, kw, o, c], each tap's c x o block
// transposed and the taps in reverse order (rotated 180 degrees): the filter
// of an input gradient computed as a forward convolution. TF's Reverse and
// Transpose took 1.2 and 4.4 ms on PatchGAN's 4x4x256x512.
void ComputeRotateFilter(void*, TF_OpKernelContext* ctx) {
  int64_t taps = 0, c = 0, o = 0;
  RunRowOp(ctx, "DtRotateFilter takes a float32 [kh, kw, in, out] filter",
           [&](TF_Tensor* w, int64_t* dims) {
             taps = TF_Dim(w, 0) * TF_Dim(w, 1), c = TF_Dim(w, 2), o = TF_Dim(w, 3);
             dims[0] = TF_Dim(w, 0), dims[1] = TF_Dim(w, 1), dims[2] = o, dims[3] = c;
             return true;
           },
           [&](const float* w, float* y, int64_t r) {
             // the op's rows are the taps (kh rows of kw taps each: dims[0] * dims[1])
             TransposeTap(w + (taps - 1 - r) * c * o, y + r * o * c, c, o);
           });
}

// DtShiftSum: z [N, H, W + k - 1, k * o] -> y [N, H, W, o], y[.., x, q] = sum over j < k of z[.., x + j, j * o + q]
// (the column shifts of a k-wide kernel computed as a k x 1 conv into k * o channels).
void ComputeShiftSum(void* kernel, TF_OpKernelContext* ctx) {
  const int64_t k = static_cast<Attrs*>(kernel)->size;
  int64_t w = 0, o = 0;
  RunRowOp(ctx, "DtShiftSum takes a float32 [N, H, W, taps * C] tensor with W >= taps >= 1",
           [&](TF_Tensor* z, int64_t* dims) {
             if (k < 1 || TF_Dim(z, 3) % k != 0 || TF_Dim(z, 2) < k) return false;
             o = TF_Dim(z, 3) / k, w = TF_Dim(z, 2) - k + 1;
             dims[0] = TF_Dim(z, 0), dims[1] = TF_Dim(z, 1), dims[2] = w, dims[3] = o;
             return true;
           },
           [&](const float* zd, float* yd, int64_t r) {
             const float* z = zd + r * (w + k - 1) * k * o;
             float* y = yd + r * w * o;
             for (int64_t x = 0; x < w; x++) {
               for (int64_t q = 0; q < o; q++) {
                 float sum = z[x * k * o + q];
                 for (int64_t j = 1; j < k; j++) sum += z[(x + j) * k * o + j * o + q];
                 y[x * o + q] = sum;
               }
             }
           });
}

// DtShiftSumGrad: dy [N, H, W, o] -> dz [N, H, W + k - 1, k * o], dz[.., x + j, j * o + q] = dy[.., x, q], 0 where no x reads it.
void ComputeShiftSumGrad(void* kernel, TF_OpKernelContext* ctx) {
  const int64_t k = static_cast<Attrs*>(kernel)->size;
  int64_t w = 0, o = 0;
  RunRowOp(ctx, "DtShiftSumGrad takes a float32 [N, H, W, C] tensor and taps >= 1",
           [&](TF_Tensor* dy, int64_t* dims) {
             if (k < 1) return false;
             o = TF_Dim(dy, 3), w = TF_Dim(dy, 2);
             dims[0] = TF_Dim(dy, 0), dims[1] = TF_Dim(dy, 1), dims[2] = w + k - 1, dims[3] = k * o;
             return true;
           },
           [&](const float* dyd, float* dzd, int64_t r) {
             const float* dy = dyd + r * w * o;
             float* dz = dzd + r * (w + k - 1) * k * o;
             std::fill_n(dz, (w + k - 1) * k * o, 0.0f);
             for (int64_t x = 0; x < w; x++) {
               for (int64_t j = 0; j < k; j++) std::copy_n(dy + x * o, o, dz + (x + j) * k * o + j * o);
             }
           });
}

}  // namespace

// The Node-API calls the addon makes, declared here instead of taken from
// Node's headers so it also builds where Node has none (VS Code's Electron, for
// the "Build Native Kernels" command); Node-API's ABI is stable. Node calls
// napi_register_module_v1 when it loads the addon.
extern "C" {
typedef struct napi_env__* napi_env;
typedef struct napi_value__* napi_value;
int napi_throw_error(napi_env env, const char* code, const char* msg);
int napi_create_uint32(napi_env env, uint32_t value, napi_value* result);
int napi_set_named_property(napi_env env, napi_value object, const char* name, napi_value value);
typedef struct napi_callback_info__* napi_callback_info;
int napi_create_function(napi_env env, const char* utf8name, size_t length, napi_value (*cb)(napi_env, napi_callback_info), void* data,
                         napi_value* result);
int napi_get_cb_info(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv, napi_value* this_arg, void** data);
int napi_get_value_int64(napi_env env, napi_value value, int64_t* result);
int napi_get_value_bool(napi_env env, napi_value value, bool* result);
__attribute__((visibility("default"))) napi_value napi_register_module_v1(napi_env env, napi_value exports);
}

napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  const char* error = dt::Register("DtInstanceNorm", {"x: float", "bias: float"}, {"y: float", "mean: float", "rstd: float"},
                               {"slope: float", "epsilon: float"}, CreateInstanceNorm, ComputeInstanceNorm, DeleteKernel);
  if (!error) {
    error = dt::Register("DtInstanceNormGrad", {"dy: float", "x: float", "bias: float", "mean: float", "rstd: float"}, {"dx: float", "dbias: float"},
                     {"slope: float"}, CreateInstanceNormGrad, ComputeInstanceNormGrad, DeleteKernel);
  }
  if (!error) {
    error = dt::Register("DtBatchNorm", {"x: float", "scale: float", "offset: float", "running_mean: float", "running_var: float"},
                     {"y: float", "mean: float", "rstd: float", "new_running_mean: float", "new_running_var: float"},
                     {"slope: float", "epsilon: float", "per_sample: bool", "momentum: float"}, CreateBatchNorm, ComputeBatchNorm, DeleteKernel);
  }
  if (!error) {
    error = dt::Register("DtBatchNormGrad", {"dy: float", "x: float", "scale: float", "offset: float", "mean: float", "rstd: float"},
                     {"dx: float", "dscale: float", "doffset: float"}, {"slope: float", "per_sample: bool"}, CreateBatchNormGrad,
                     ComputeBatchNormGrad, DeleteKernel);
  }
  if (!error) error = dt::Register("DtReflectPad", {"x: float"}, {"y: float"}, {"pad: int"}, CreatePad, ComputePad, DeleteKernel);
  if (!error) error = dt::Register("DtReflectPadGrad", {"dy: float"}, {"dx: float"}, {"pad: int"}, CreatePad, ComputePadGrad, DeleteKernel);
  if (!error) error = dt::Register("DtShiftSum", {"z: float"}, {"y: float"}, {"taps: int"}, CreateShiftSum, ComputeShiftSum, DeleteKernel);
  if (!error) error = dt::Register("DtShiftSumGrad", {"dy: float"}, {"dz: float"}, {"taps: int"}, CreateShiftSum, ComputeShiftSumGrad, DeleteKernel);
  if (!error) error = dt::Register("DtRotateFilter", {"w: float"}, {"y: float"}, {}, CreateNoAttrs, ComputeRotateFilter, DeleteKernel);
  if (!error) error = dt::RegisterSplitConv();
  if (!error) error = dt::RegisterWinograd();
  if (!error) error = dt::RegisterGemmConv();
  if (!error) error = dt::RegisterConvToOne();
  if (error) {
    napi_throw_error(env, nullptr, error);
    return nullptr;
  }
  // Node loads the addon on the thread that runs the ops.
  dt::BlockAsyncSignals();
  napi_value version, blocked;
  napi_create_uint32(env, 1, &version);
  napi_set_named_property(env, exports, "version", version);
  napi_create_uint32(env, 1, &blocked);
  napi_set_named_property(env, exports, "asyncSignalsBlocked", blocked);
  napi_value gemm;
  napi_create_uint32(env, dt::HasGemmConv() ? 1 : 0, &gemm);
  napi_set_named_property(env, exports, "gemmConvs", gemm);
  // setPoolSpin(micros, yields): how the pool's idle workers wait (bench/ab.ts compares settings step by step)
  napi_value setPoolSpin;
  napi_create_function(
      env, "setPoolSpin", 11,
      [](napi_env e, napi_callback_info info) -> napi_value {
        size_t argc = 2;
        napi_value argv[2];
        int64_t micros = 0;
        bool yields = false;
        if (napi_get_cb_info(e, info, &argc, argv, nullptr, nullptr) != 0 || argc != 2 || napi_get_value_int64(e, argv[0], &micros) != 0 ||
            napi_get_value_bool(e, argv[1], &yields) != 0 || micros < 0) {
          napi_throw_error(e, nullptr, "setPoolSpin takes microseconds >= 0 and whether to yield");
          return nullptr;
        }
        dt::idleSpinMicros.store(micros);
        dt::idleSpinYields.store(yields);
        return nullptr;
      },
      nullptr, &setPoolSpin);
  napi_set_named_property(env, exports, "setPoolSpin", setPoolSpin);
  return exports;
}
