// Native TensorFlow kernels for what tfjs-core builds from many small ops or
// TF runs on one core: instance norm fused with its activation, reflection
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
};

// Reads the attributes an op declares ("slope", "epsilon", one int named
// int_attr); a missing one fails the kernel's construction.
Attrs* ReadAttrs(TF_OpKernelConstruction* ctx, bool slope, bool eps, const char* int_attr) {
  auto* a = new Attrs();
  TF_Status* status = TF_NewStatus();
  if (slope) TF_OpKernelConstruction_GetAttrFloat(ctx, "slope", &a->slope, status);
  if (eps && TF_GetCode(status) == TF_OK) TF_OpKernelConstruction_GetAttrFloat(ctx, "epsilon", &a->eps, status);
  if (int_attr && TF_GetCode(status) == TF_OK) TF_OpKernelConstruction_GetAttrInt32(ctx, int_attr, &a->size, status);
  if (TF_GetCode(status) != TF_OK) TF_OpKernelConstruction_Failure(ctx, status);
  TF_DeleteStatus(status);
  return a;
}

void* CreateNorm(TF_OpKernelConstruction* ctx) { return ReadAttrs(ctx, true, true, nullptr); }
void* CreateNormGrad(TF_OpKernelConstruction* ctx) { return ReadAttrs(ctx, true, false, nullptr); }
void* CreatePad(TF_OpKernelConstruction* ctx) { return ReadAttrs(ctx, false, false, "pad"); }
void* CreateShiftSum(TF_OpKernelConstruction* ctx) { return ReadAttrs(ctx, false, false, "taps"); }
void* CreateNoAttrs(TF_OpKernelConstruction* ctx) { return ReadAttrs(ctx, false, false, nullptr); }

void DeleteKernel(void* a) { delete static_cast<Attrs*>(a); }


// Sums over rows [begin, end) of v = x + b per channel: s1 += v, s2 += v * v.
__attribute__((target_clones("avx512f", "avx2", "default")))
void SumRows(const float* x, const float* b, int64_t begin, int64_t end, int64_t c, double* s1, double* s2) {
  for (int64_t r = begin; r < end; r++) {
    const float* xr = x + r * c;
    for (int64_t ch = 0; ch < c; ch++) {
      const float v = xr[ch] + b[ch];
      s1[ch] += v;
      s2[ch] += static_cast<double>(v) * v;
    }
  }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void NormaliseRows(const float* x, const float* b, float* y, int64_t begin, int64_t end, int64_t c, const float* mean, const float* rstd,
                   float slope) {
  for (int64_t r = begin; r < end; r++) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    for (int64_t ch = 0; ch < c; ch++) {
      const float z = (xr[ch] + b[ch] - mean[ch]) * rstd[ch];
      yr[ch] = z > 0 ? z : z * slope;
    }
  }
}

// Sums of dz and dz * z over rows, dz = dy * act'(z), z recomputed as the forward made it.
__attribute__((target_clones("avx512f", "avx2", "default")))
void GradSumRows(const float* dy, const float* x, const float* b, int64_t begin, int64_t end, int64_t c, const float* mean,
                 const float* rstd, float slope, double* s1, double* s2) {
  for (int64_t r = begin; r < end; r++) {
    const float* dyr = dy + r * c;
    const float* xr = x + r * c;
    for (int64_t ch = 0; ch < c; ch++) {
      const float z = (xr[ch] + b[ch] - mean[ch]) * rstd[ch];
      const float dz = z > 0 ? dyr[ch] : dyr[ch] * slope;
      s1[ch] += dz;
      s2[ch] += static_cast<double>(dz) * z;
    }
  }
}

// dx over rows, and its sum per channel into db (the bias gradient).
__attribute__((target_clones("avx512f", "avx2", "default")))
void GradRows(const float* dy, const float* x, const float* b, float* dx, int64_t begin, int64_t end, int64_t c, const float* mean,
              const float* rstd, float slope, const float* mdz, const float* mdzz, double* db) {
  for (int64_t r = begin; r < end; r++) {
    const float* dyr = dy + r * c;
    const float* xr = x + r * c;
    float* dxr = dx + r * c;
    for (int64_t ch = 0; ch < c; ch++) {
      const float z = (xr[ch] + b[ch] - mean[ch]) * rstd[ch];
      const float dz = z > 0 ? dyr[ch] : dyr[ch] * slope;
      const float d = rstd[ch] * (dz - mdz[ch] - z * mdzz[ch]);
      dxr[ch] = d;
      db[ch] += d;
    }
  }
}

// Runs pass(part, sample, begin, end, acc) over all parts, acc = `width` doubles per (part, sample, channel)
// zeroed; returns the totals over parts per (sample, channel).
std::vector<double> Reduce(const Shape& s, int parts, int width,
                           const std::function<void(int, int64_t, int64_t, int64_t, double*)>& pass) {
  const int64_t nc = s.n * s.c;
  std::vector<double> acc(parts * width * nc, 0.0);
  pool().Run(parts, [&](int p) {
    int64_t begin, end;
    Split(s.hw, p, parts, &begin, &end);
    for (int64_t i = 0; i < s.n; i++) pass(p, i, begin, end, &acc[(p * width) * nc]);
  });
  std::vector<double> total(width * nc, 0.0);
  for (int p = 0; p < parts; p++) {
    for (int64_t k = 0; k < width * nc; k++) total[k] += acc[p * width * nc + k];
  }
  return total;
}

bool IsBias(TF_Tensor* b, int64_t c) { return TF_TensorType(b) == TF_FLOAT && TF_NumDims(b) == 1 && TF_Dim(b, 0) == c; }

void ComputeNorm(void* kernel, TF_OpKernelContext* ctx) {
  const Attrs& a = *static_cast<Attrs*>(kernel);
  TF_Status* status = TF_NewStatus();
  TF_Tensor* x = nullptr;
  TF_Tensor* bias = nullptr;
  TF_GetInput(ctx, 0, &x, status);
  if (TF_GetCode(status) == TF_OK) TF_GetInput(ctx, 1, &bias, status);
  Shape s;
  if (TF_GetCode(status) != TF_OK) {
    TF_OpKernelContext_Failure(ctx, status);
  } else if (!GetShape(x, &s) || s.hw < 1 || !IsBias(bias, s.c)) {
    Fail(ctx, "DtInstanceNorm takes a float32 [N, H, W, C] tensor and a bias of C values");
  } else {
    const int64_t dims[4] = {TF_Dim(x, 0), TF_Dim(x, 1), TF_Dim(x, 2), TF_Dim(x, 3)};
    const int64_t stat_dims[2] = {s.n, s.c};
    const int64_t count = s.n * s.hw * s.c;
    TF_Tensor* y = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims, 4, count * sizeof(float), status);
    TF_Tensor* mean = TF_GetCode(status) == TF_OK ? TF_AllocateOutput(ctx, 1, TF_FLOAT, stat_dims, 2, s.n * s.c * sizeof(float), status) : nullptr;
    TF_Tensor* rstd = TF_GetCode(status) == TF_OK ? TF_AllocateOutput(ctx, 2, TF_FLOAT, stat_dims, 2, s.n * s.c * sizeof(float), status) : nullptr;
    if (TF_GetCode(status) != TF_OK) {
      TF_OpKernelContext_Failure(ctx, status);
    } else {
      const float* xd = static_cast<const float*>(TF_TensorData(x));
      const float* bd = static_cast<const float*>(TF_TensorData(bias));
      float* yd = static_cast<float*>(TF_TensorData(y));
      float* md = static_cast<float*>(TF_TensorData(mean));
      float* rd = static_cast<float*>(TF_TensorData(rstd));
      const int parts = PartsFor(count);
      const int64_t nc = s.n * s.c;
      // totals: [sum of v (N*C), sum of v^2 (N*C)]
      std::vector<double> t = Reduce(s, parts, 2, [&](int, int64_t i, int64_t b, int64_t e, double* acc) {
        SumRows(xd + i * s.hw * s.c, bd, b, e, s.c, acc + i * s.c, acc + nc + i * s.c);
      });
      for (int64_t k = 0; k < nc; k++) {
        const double m = t[k] / s.hw;
        const double var = std::max(0.0, t[nc + k] / s.hw - m * m);
        md[k] = static_cast<float>(m);
        rd[k] = static_cast<float>(1.0 / std::sqrt(var + a.eps));
      }
      pool().Run(parts, [&](int p) {
        int64_t b, e;
        Split(s.hw, p, parts, &b, &e);
        for (int64_t i = 0; i < s.n; i++) {
          const int64_t off = i * s.hw * s.c;
          NormaliseRows(xd + off, bd, yd + off, b, e, s.c, md + i * s.c, rd + i * s.c, a.slope);
        }
      });
    }
    TF_DeleteTensor(y);
    TF_DeleteTensor(mean);
    TF_DeleteTensor(rstd);
  }
  TF_DeleteTensor(x);
  TF_DeleteTensor(bias);
  TF_DeleteStatus(status);
}

void ComputeNormGrad(void* kernel, TF_OpKernelContext* ctx) {
  const Attrs& a = *static_cast<Attrs*>(kernel);
  TF_Status* status = TF_NewStatus();
  TF_Tensor* in[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
  for (int i = 0; i < 5 && TF_GetCode(status) == TF_OK; i++) TF_GetInput(ctx, i, &in[i], status);
  Shape s, sx;
  if (TF_GetCode(status) != TF_OK) {
    TF_OpKernelContext_Failure(ctx, status);
  } else if (!GetShape(in[0], &s) || !GetShape(in[1], &sx) || s.n != sx.n || s.hw != sx.hw || s.c != sx.c || !IsBias(in[2], s.c) ||
             TF_TensorElementCount(in[3]) != s.n * s.c || TF_TensorElementCount(in[4]) != s.n * s.c) {
    Fail(ctx, "DtInstanceNormGrad takes dy and x of one float32 [N, H, W, C] shape, a bias of C values, mean and rstd of N * C values");
  } else {
    const int64_t dims[4] = {TF_Dim(in[0], 0), TF_Dim(in[0], 1), TF_Dim(in[0], 2), TF_Dim(in[0], 3)};
    const int64_t bias_dims[1] = {s.c};
    const int64_t count = s.n * s.hw * s.c;
    TF_Tensor* dx = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims, 4, count * sizeof(float), status);
    TF_Tensor* db = TF_GetCode(status) == TF_OK ? TF_AllocateOutput(ctx, 1, TF_FLOAT, bias_dims, 1, s.c * sizeof(float), status) : nullptr;
    if (TF_GetCode(status) != TF_OK) {
      TF_OpKernelContext_Failure(ctx, status);
    } else {
      const float* dyd = static_cast<const float*>(TF_TensorData(in[0]));
      const float* xd = static_cast<const float*>(TF_TensorData(in[1]));
      const float* bd = static_cast<const float*>(TF_TensorData(in[2]));
      const float* md = static_cast<const float*>(TF_TensorData(in[3]));
      const float* rd = static_cast<const float*>(TF_TensorData(in[4]));
      float* dxd = static_cast<float*>(TF_TensorData(dx));
      const int parts = PartsFor(count);
      const int64_t nc = s.n * s.c;
      std::vector<double> t = Reduce(s, parts, 2, [&](int, int64_t i, int64_t b, int64_t e, double* acc) {
        const int64_t off = i * s.hw * s.c;
        GradSumRows(dyd + off, xd + off, bd, b, e, s.c, md + i * s.c, rd + i * s.c, a.slope, acc + i * s.c, acc + nc + i * s.c);
      });
      std::vector<float> mdz(nc), mdzz(nc);
      for (int64_t k = 0; k < nc; k++) {
        mdz[k] = static_cast<float>(t[k] / s.hw);
        mdzz[k] = static_cast<float>(t[nc + k] / s.hw);
      }
      // per (sample, channel) sums of dx; summed over samples below for the bias
      std::vector<double> sums = Reduce(s, parts, 1, [&](int, int64_t i, int64_t b, int64_t e, double* acc) {
        const int64_t off = i * s.hw * s.c;
        GradRows(dyd + off, xd + off, bd, dxd + off, b, e, s.c, md + i * s.c, rd + i * s.c, a.slope, &mdz[i * s.c], &mdzz[i * s.c],
                 acc + i * s.c);
      });
      float* dbd = static_cast<float*>(TF_TensorData(db));
      for (int64_t ch = 0; ch < s.c; ch++) {
        double total = 0;
        for (int64_t i = 0; i < s.n; i++) total += sums[i * s.c + ch];
        dbd[ch] = static_cast<float>(total);
      }
    }
    TF_DeleteTensor(dx);
    TF_DeleteTensor(db);
  }
  for (TF_Tensor* t : in) TF_DeleteTensor(t);
  TF_DeleteStatus(status);
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
                               {"slope: float", "epsilon: float"}, CreateNorm, ComputeNorm, DeleteKernel);
  if (!error) {
    error = dt::Register("DtInstanceNormGrad", {"dy: float", "x: float", "bias: float", "mean: float", "rstd: float"}, {"dx: float", "dbias: float"},
                     {"slope: float"}, CreateNormGrad, ComputeNormGrad, DeleteKernel);
  }
  if (!error) error = dt::Register("DtReflectPad", {"x: float"}, {"y: float"}, {"pad: int"}, CreatePad, ComputePad, DeleteKernel);
  if (!error) error = dt::Register("DtReflectPadGrad", {"dy: float"}, {"dx: float"}, {"pad: int"}, CreatePad, ComputePadGrad, DeleteKernel);
  if (!error) error = dt::Register("DtShiftSum", {"z: float"}, {"y: float"}, {"taps: int"}, CreateShiftSum, ComputeShiftSum, DeleteKernel);
  if (!error) error = dt::Register("DtShiftSumGrad", {"dy: float"}, {"dz: float"}, {"taps: int"}, CreateShiftSum, ComputeShiftSumGrad, DeleteKernel);
  if (!error) error = dt::Register("DtRotateFilter", {"w: float"}, {"y: float"}, {}, CreateNoAttrs, ComputeRotateFilter, DeleteKernel);
  if (!error) error = dt::RegisterSplitConv();
  if (!error) error = dt::RegisterWinograd();
  if (!error) error = dt::RegisterGemmConv();
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
