// Stride-1 convolutions into one channel (PatchGAN's last layer: 4x4, 512 -> 1,
// zero padding 1) and their gradients. The matrix-product kernels pack a patch
// per pixel for a product 16 or 8 columns wide of which one is used (the best of
// them ran this layer at 6 GFLOP/s in a pix2pix step); here it is what it is,
// dot products and scaled sums of each pixel's run of channels.
//
//   DtConvToOne(x [N,H,W,C], filter [kh,kw,C,1]) -> y [N, H+2p-kh+1, W+2p-kw+1, 1]
//   DtConvToOneBackpropInput(dy [N,OH,OW,1], filter) -> dx [N, rows, cols, C]
//   DtConvToOneBackpropFilter(x, dy) -> dw [kh, kw, C, 1]
//     for x zero-padded by p on every side (the padding's taps left out)
//
// The ops exist only where the CPU has AVX2 and FMA (HasGemmConv). Each value
// is summed in one fixed order however the cores split the work:
// y over taps and channels in 32 lanes (channel c in lane c mod 32), the lanes
// added in order at the end; dx over taps; dw over pixels.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "dt_common.h"

namespace dt {
namespace {

constexpr int64_t kLanes = 32;  // a dot product's partial sums: 4 vectors
constexpr int64_t kChunk = 64;  // channels a weighted sum keeps in 8 vectors

// Σ_t Σ_c a[t][c] b[t][c] over t < taps, c < n: lane c mod 32 summed over t in order
// (channels past the last 32 in their own lanes), then the lanes in order.
DT_FMA float DotRows(const float* const* a, const float* const* b, int64_t taps, int64_t n) {
  __m256 acc[kLanes / 8] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  float tail[kLanes] = {};
  const int64_t whole = n / kLanes * kLanes;
  for (int64_t t = 0; t < taps; t++) {
    for (int64_t c = 0; c < whole; c += kLanes) {
      for (int q = 0; q < kLanes / 8; q++) acc[q] = _mm256_fmadd_ps(_mm256_loadu_ps(a[t] + c + 8 * q), _mm256_loadu_ps(b[t] + c + 8 * q), acc[q]);
    }
    for (int64_t l = 0; whole + l < n; l++) tail[l] += a[t][whole + l] * b[t][whole + l];
  }
  float lanes[kLanes];
  for (int q = 0; q < kLanes / 8; q++) _mm256_storeu_ps(lanes + 8 * q, acc[q]);
  float sum = 0;
  for (int l = 0; l < kLanes; l++) sum += lanes[l] + tail[l];
  return sum;
}

// out[c] = Σ_t s[t] rows[t][c] for c < n, summed over t in order, 64 channels at a time.
DT_FMA void WeightedRows(const float* const* rows, const float* s, int64_t count, int64_t n, float* out) {
  int64_t c0 = 0;
  for (; c0 + kChunk <= n; c0 += kChunk) {
    __m256 acc[kChunk / 8];
    for (auto& v : acc) v = _mm256_setzero_ps();
    for (int64_t t = 0; t < count; t++) {
      const __m256 st = _mm256_set1_ps(s[t]);
      for (int q = 0; q < kChunk / 8; q++) acc[q] = _mm256_fmadd_ps(st, _mm256_loadu_ps(rows[t] + c0 + 8 * q), acc[q]);
    }
    for (int q = 0; q < kChunk / 8; q++) _mm256_storeu_ps(out + c0 + 8 * q, acc[q]);
  }
  if (c0 < n) {
    float acc[kChunk] = {};
    for (int64_t t = 0; t < count; t++) {
      for (int64_t l = 0; c0 + l < n; l++) acc[l] += s[t] * rows[t][c0 + l];
    }
    std::memcpy(out + c0, acc, (n - c0) * sizeof(float));
  }
}

struct ToOne {
  int64_t n, h, w, c, kh, kw, pad, oh, ow;
  int64_t Taps() const { return kh * kw; }
  // the output's rows and columns for x zero-padded by pad
  int64_t RowsOut() const { return h + 2 * pad - kh + 1; }
  int64_t ColsOut() const { return w + 2 * pad - kw + 1; }
  double Flops() const { return 2.0 * n * oh * ow * Taps() * c; }
  // x's pixel under tap (i, j) of output pixel (oy, ox), or -1 in the padding
  int64_t Under(int64_t img, int64_t oy, int64_t ox, int64_t i, int64_t j) const {
    const int64_t y = oy + i - pad, x = ox + j - pad;
    return y < 0 || y >= h || x < 0 || x >= w ? -1 : (img * h + y) * w + x;
  }
};

struct ToOneAttrs {
  int32_t pad = 0, rows = 0, cols = 0, kh = 0, kw = 0;
};

const char* InvalidToOne(const ToOneAttrs& a) { return a.pad < 0 || a.rows < 0 || a.cols < 0 ? "padding and sizes must be >= 0" : nullptr; }
void* CreateForward(TF_OpKernelConstruction* ctx) { return ReadIntAttrs<ToOneAttrs>(ctx, {{"pad", &ToOneAttrs::pad}}, InvalidToOne); }
void* CreateInputGrad(TF_OpKernelConstruction* ctx) {
  return ReadIntAttrs<ToOneAttrs>(ctx, {{"pad", &ToOneAttrs::pad}, {"rows", &ToOneAttrs::rows}, {"cols", &ToOneAttrs::cols}}, InvalidToOne);
}
void* CreateFilterGrad(TF_OpKernelConstruction* ctx) {
  return ReadIntAttrs<ToOneAttrs>(ctx, {{"pad", &ToOneAttrs::pad}, {"kh", &ToOneAttrs::kh}, {"kw", &ToOneAttrs::kw}}, InvalidToOne);
}
void DeleteToOneAttrs(void* a) { delete static_cast<ToOneAttrs*>(a); }

void ComputeForward(void* kernel, TF_OpKernelContext* ctx) {
  const auto& a = *static_cast<ToOneAttrs*>(kernel);
  ConvTensors tensors;
  TF_Tensor** in = tensors.in;
  if (!Inputs(ctx, in, 2, "DtConvToOne takes float32 x [N, H, W, C] and filter [kh, kw, C, 1]")) return;
  ToOne v{TF_Dim(in[0], 0), TF_Dim(in[0], 1), TF_Dim(in[0], 2), TF_Dim(in[0], 3), TF_Dim(in[1], 0), TF_Dim(in[1], 1), a.pad, 0, 0};
  v.oh = v.RowsOut();
  v.ow = v.ColsOut();
  if (TF_Dim(in[1], 2) != v.c || TF_Dim(in[1], 3) != 1 || v.oh < 1 || v.ow < 1) {
    Fail(ctx, "DtConvToOne: the filter must be [kh, kw, C, 1] with x's C, and the padded x cover it");
    return;
  }
  const int64_t dims[4] = {v.n, v.oh, v.ow, 1};
  float* y = Output(ctx, dims, &tensors.out);
  if (!y) return;
  const float* x = static_cast<const float*>(TF_TensorData(in[0]));
  const float* f = static_cast<const float*>(TF_TensorData(in[1]));
  RunByRanges(v.n * v.oh, v.Flops(), [&](int64_t r0, int64_t r1) {
    std::vector<const float*> xs(v.Taps()), fs(v.Taps());  // the taps inside x: x's and the filter's channel runs
    for (int64_t r = r0; r < r1; r++) {
      const int64_t img = r / v.oh, oy = r % v.oh;
      for (int64_t ox = 0; ox < v.ow; ox++) {
        int64_t count = 0;
        for (int64_t t = 0; t < v.Taps(); t++) {
          const int64_t under = v.Under(img, oy, ox, t / v.kw, t % v.kw);
          if (under >= 0) {
            xs[count] = x + under * v.c;
            fs[count++] = f + t * v.c;
          }
        }
        y[r * v.ow + ox] = DotRows(xs.data(), fs.data(), count, v.c);
      }
    }
  });
}

void ComputeInputGrad(void* kernel, TF_OpKernelContext* ctx) {
  const auto& a = *static_cast<ToOneAttrs*>(kernel);
  ConvTensors tensors;
  TF_Tensor** in = tensors.in;
  if (!Inputs(ctx, in, 2, "DtConvToOneBackpropInput takes float32 dy [N, OH, OW, 1] and filter [kh, kw, C, 1]")) return;
  ToOne v{TF_Dim(in[0], 0), a.rows, a.cols, TF_Dim(in[1], 2), TF_Dim(in[1], 0), TF_Dim(in[1], 1), a.pad, TF_Dim(in[0], 1), TF_Dim(in[0], 2)};
  if (TF_Dim(in[0], 3) != 1 || TF_Dim(in[1], 3) != 1 || v.oh != v.RowsOut() || v.ow != v.ColsOut()) {
    Fail(ctx, "DtConvToOneBackpropInput: dy must be the convolution's output for rows x cols zero-padded by pad, and the filter [kh, kw, C, 1]");
    return;
  }
  const int64_t dims[4] = {v.n, v.h, v.w, v.c};
  float* dx = Output(ctx, dims, &tensors.out);
  if (!dx) return;
  const float* dy = static_cast<const float*>(TF_TensorData(in[0]));
  const float* f = static_cast<const float*>(TF_TensorData(in[1]));
  RunByRanges(v.n * v.h, v.Flops(), [&](int64_t r0, int64_t r1) {
    std::vector<const float*> fs(v.Taps());  // the filter's taps that reach this pixel, and their dy
    std::vector<float> ds(v.Taps());
    for (int64_t r = r0; r < r1; r++) {
      const int64_t img = r / v.h, y = r % v.h;
      for (int64_t x = 0; x < v.w; x++) {
        // output pixel (y - i + pad, x - j + pad) reads this pixel through tap (i, j)
        int64_t count = 0;
        for (int64_t t = 0; t < v.Taps(); t++) {
          const int64_t oy = y - t / v.kw + v.pad, ox = x - t % v.kw + v.pad;
          if (oy >= 0 && oy < v.oh && ox >= 0 && ox < v.ow) {
            fs[count] = f + t * v.c;
            ds[count++] = dy[(img * v.oh + oy) * v.ow + ox];
          }
        }
        WeightedRows(fs.data(), ds.data(), count, v.c, dx + (r * v.w + x) * v.c);
      }
    }
  });
}

void ComputeFilterGrad(void* kernel, TF_OpKernelContext* ctx) {
  const auto& a = *static_cast<ToOneAttrs*>(kernel);
  ConvTensors tensors;
  TF_Tensor** in = tensors.in;
  if (!Inputs(ctx, in, 2, "DtConvToOneBackpropFilter takes float32 x [N, H, W, C] and dy [N, OH, OW, 1]")) return;
  ToOne v{TF_Dim(in[0], 0), TF_Dim(in[0], 1), TF_Dim(in[0], 2), TF_Dim(in[0], 3), a.kh, a.kw, a.pad, TF_Dim(in[1], 1), TF_Dim(in[1], 2)};
  if (TF_Dim(in[1], 0) != v.n || TF_Dim(in[1], 3) != 1 || v.kh < 1 || v.kw < 1 || v.oh != v.RowsOut() || v.ow != v.ColsOut()) {
    Fail(ctx, "DtConvToOneBackpropFilter: dy must be the convolution's output for x zero-padded by pad and kh x kw");
    return;
  }
  const int64_t dims[4] = {v.kh, v.kw, v.c, 1};
  float* dw = Output(ctx, dims, &tensors.out);
  if (!dw) return;
  const float* x = static_cast<const float*>(TF_TensorData(in[0]));
  const float* dy = static_cast<const float*>(TF_TensorData(in[1]));
  RunByRanges(v.Taps(), v.Flops(), [&](int64_t t0, int64_t t1) {
    std::vector<const float*> xs(v.n * v.oh * v.ow);  // the pixels this tap reads inside x, and their dy
    std::vector<float> ds(xs.size());
    for (int64_t t = t0; t < t1; t++) {
      int64_t count = 0;
      for (int64_t img = 0; img < v.n; img++) {
        for (int64_t oy = 0; oy < v.oh; oy++) {
          for (int64_t ox = 0; ox < v.ow; ox++) {
            const int64_t under = v.Under(img, oy, ox, t / v.kw, t % v.kw);
            if (under >= 0) {
              xs[count] = x + under * v.c;
              ds[count++] = dy[(img * v.oh + oy) * v.ow + ox];
            }
          }
        }
      }
      WeightedRows(xs.data(), ds.data(), count, v.c, dw + t * v.c);
    }
  });
}

}  // namespace

const char* RegisterConvToOne() {
  if (!HasGemmConv()) return nullptr;
  const char* error = Register("DtConvToOne", {"x: float", "filter: float"}, {"y: float"}, {"pad: int"}, CreateForward, ComputeForward,
                               DeleteToOneAttrs);
  if (!error) {
    error = Register("DtConvToOneBackpropInput", {"dy: float", "filter: float"}, {"dx: float"}, {"pad: int", "rows: int", "cols: int"},
                     CreateInputGrad, ComputeInputGrad, DeleteToOneAttrs);
  }
  if (!error) {
    error = Register("DtConvToOneBackpropFilter", {"x: float", "dy: float"}, {"dw: float"}, {"pad: int", "kh: int", "kw: int"},
                     CreateFilterGrad, ComputeFilterGrad, DeleteToOneAttrs);
  }
  return error;
}

}  // namespace dt
