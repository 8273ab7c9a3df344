// 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3)
// (Lavin & Gray 2016): each 2x2 output tile from a 4x4 input tile with 16
// multiplications per channel pair instead of 36. The three transforms are
// these ops; the 16 channel products are one batched matrix product, TF's
// BatchMatMulV2, between them:
//
//   DtWinogradInput(x [N,H,W,C]) -> v [N, 16, T, C]
//     v = Bt d B for each 4x4 tile d of x zero-padded by pad_top/bottom/left/right,
//     T = ceil(OH / 2) * ceil(OW / 2) tiles per image, OH = H + top + bottom - 2, OW likewise
//   DtWinogradFilter(w [3,3,C,O]) -> u [16, C, O]      u = G g Gt for each 3x3 g
//   DtWinogradOutput(m [N, 16, T, O]) -> y [N,OH,OW,O] y = At m A for each tile (m = v u, summed over C)
//
// Each image has its own 16 matrices: a product over all the batch's tiles at
// once was summed in another order for another batch size (oneDNN's and
// Eigen's blocking follow the rows), so an image's result depended on its batch.
//
//   Bt = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1], At = [1 1 1 0; 0 1 -1 -1]
//
// The result is the convolution's up to float rounding (the transforms' entries
// are 0, ±1 and ±0.5), in a different order of sums than a direct kernel.
#include <vector>

#include "dt_common.h"

namespace dt {
namespace {

struct WinogradAttrs {
  int32_t top = 0, bottom = 0, left = 0, right = 0;  // input
  int32_t n = 0, rows = 0, cols = 0;                  // output: N, OH, OW
};

void* CreateWinograd(TF_OpKernelConstruction* ctx, std::initializer_list<std::pair<const char*, int32_t WinogradAttrs::*>> ints) {
  return ReadIntAttrs(ctx, ints);
}
void* CreateInput(TF_OpKernelConstruction* ctx) {
  return CreateWinograd(ctx, {{"pad_top", &WinogradAttrs::top}, {"pad_bottom", &WinogradAttrs::bottom},
                              {"pad_left", &WinogradAttrs::left}, {"pad_right", &WinogradAttrs::right}});
}
void* CreateFilter(TF_OpKernelConstruction* ctx) { return CreateWinograd(ctx, {}); }
void* CreateOutput(TF_OpKernelConstruction* ctx) {
  return CreateWinograd(ctx, {{"n", &WinogradAttrs::n}, {"rows", &WinogradAttrs::rows}, {"cols", &WinogradAttrs::cols}});
}
void DeleteWinograd(void* a) { delete static_cast<WinogradAttrs*>(a); }

// v[k][t][0..c) for the 16 components k of one tile, from its 4x4 input rows
// (row[i][j]: C values at tile row i, column j; zeros outside the image).
__attribute__((target_clones("avx512f", "avx2", "default")))
void InputTile(const float* const* row, float* __restrict v, int64_t plane, int64_t c) {
  // the 16 row pointers as locals: loads the compiler can vectorize across channels
  const float* __restrict r[16];
  for (int k = 0; k < 16; k++) r[k] = row[k];
#pragma GCC ivdep
  for (int64_t ch = 0; ch < c; ch++) {
    float d[4][4], t[4][4];
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 4; j++) d[i][j] = r[i * 4 + j][ch];
    }
    for (int j = 0; j < 4; j++) {  // t = Bt d
      t[0][j] = d[0][j] - d[2][j];
      t[1][j] = d[1][j] + d[2][j];
      t[2][j] = d[2][j] - d[1][j];
      t[3][j] = d[1][j] - d[3][j];
    }
    for (int i = 0; i < 4; i++) {  // v = t B
      v[(i * 4 + 0) * plane + ch] = t[i][0] - t[i][2];
      v[(i * 4 + 1) * plane + ch] = t[i][1] + t[i][2];
      v[(i * 4 + 2) * plane + ch] = t[i][2] - t[i][1];
      v[(i * 4 + 3) * plane + ch] = t[i][1] - t[i][3];
    }
  }
}

void ComputeInput(void* kernel, TF_OpKernelContext* ctx) {
  const auto* a = static_cast<WinogradAttrs*>(kernel);
  int64_t n = 0, h = 0, w = 0, c = 0, th = 0, tw = 0;
  RunOp(ctx, 4, "DtWinogradInput takes a float32 [N, H, W, C] tensor whose padded sides are at least 3",
        [&](TF_Tensor* x, std::vector<int64_t>* dims) {
          n = TF_Dim(x, 0), h = TF_Dim(x, 1), w = TF_Dim(x, 2), c = TF_Dim(x, 3);
          const int64_t oh = h + a->top + a->bottom - 2, ow = w + a->left + a->right - 2;
          if (oh < 1 || ow < 1 || a->top < 0 || a->bottom < 0 || a->left < 0 || a->right < 0) return false;
          th = (oh + 1) / 2, tw = (ow + 1) / 2;
          *dims = {n, 16, th * tw, c};
          return true;
        },
        [&](const float* x, float* v, int part, int parts) {
          const std::vector<float> zeros(c, 0.0f);
          const int64_t plane = th * tw * c;
          int64_t begin, end;
          Split(n * th, part, parts, &begin, &end);
          const float* row[16];
          for (int64_t r = begin; r < end; r++) {
            const int64_t img = r / th, y0 = (r % th) * 2 - a->top;
            for (int64_t tx = 0; tx < tw; tx++) {
              const int64_t x0 = tx * 2 - a->left;
              for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 4; j++) {
                  const int64_t y = y0 + i, xx = x0 + j;
                  row[i * 4 + j] = y < 0 || y >= h || xx < 0 || xx >= w ? zeros.data() : x + ((img * h + y) * w + xx) * c;
                }
              }
              InputTile(row, v + img * 16 * plane + ((r % th) * tw + tx) * c, plane, c);
            }
          }
        });
}

// u[k][e] for the 16 components k of the 3x3 filters e in [begin, end) of the c * o.
__attribute__((target_clones("avx512f", "avx2", "default")))
void FilterRange(const float* __restrict w, float* __restrict u, int64_t plane, int64_t begin, int64_t end) {
#pragma GCC ivdep
  for (int64_t e = begin; e < end; e++) {
    float g[3][3], t[4][3];
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 3; j++) g[i][j] = w[(i * 3 + j) * plane + e];
    }
    for (int j = 0; j < 3; j++) {  // t = G g
      t[0][j] = g[0][j];
      t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
      t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
      t[3][j] = g[2][j];
    }
    for (int i = 0; i < 4; i++) {  // u = t Gt
      u[(i * 4 + 0) * plane + e] = t[i][0];
      u[(i * 4 + 1) * plane + e] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
      u[(i * 4 + 2) * plane + e] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
      u[(i * 4 + 3) * plane + e] = t[i][2];
    }
  }
}

void ComputeFilter(void*, TF_OpKernelContext* ctx) {
  int64_t c = 0, o = 0;
  RunOp(ctx, 4, "DtWinogradFilter takes a float32 [3, 3, C, O] filter",
        [&](TF_Tensor* w, std::vector<int64_t>* dims) {
          if (TF_Dim(w, 0) != 3 || TF_Dim(w, 1) != 3) return false;
          c = TF_Dim(w, 2), o = TF_Dim(w, 3);
          *dims = {16, c, o};
          return true;
        },
        [&](const float* w, float* u, int part, int parts) {
          int64_t begin, end;
          Split(c * o, part, parts, &begin, &end);
          FilterRange(w, u, c * o, begin, end);
        });
}

// The 2x2 outputs of one tile, channels [0, o), from its 16 planes of m; rows
// and cols say how many of them lie inside the image (1 or 2 each).
__attribute__((target_clones("avx512f", "avx2", "default")))
void OutputTile(const float* __restrict m, int64_t plane, float* __restrict y00, int64_t row_stride, int rows, int cols, int64_t o) {
#pragma GCC ivdep
  for (int64_t ch = 0; ch < o; ch++) {
    float s[4][4], t[2][4];
    for (int k = 0; k < 16; k++) s[k / 4][k % 4] = m[k * plane + ch];
    for (int j = 0; j < 4; j++) {  // t = At s
      t[0][j] = s[0][j] + s[1][j] + s[2][j];
      t[1][j] = s[1][j] - s[2][j] - s[3][j];
    }
    for (int i = 0; i < rows; i++) {  // y = t A
      y00[i * row_stride + ch] = t[i][0] + t[i][1] + t[i][2];
      if (cols > 1) y00[i * row_stride + o + ch] = t[i][1] - t[i][2] - t[i][3];
    }
  }
}

void ComputeOutput(void* kernel, TF_OpKernelContext* ctx) {
  const auto* a = static_cast<WinogradAttrs*>(kernel);
  const int64_t n = a->n, oh = a->rows, ow = a->cols, th = (oh + 1) / 2, tw = (ow + 1) / 2;
  int64_t o = 0;
  RunOp(ctx, 4, "DtWinogradOutput takes a float32 [N, 16, ceil(rows / 2) * ceil(cols / 2), O] tensor",
        [&](TF_Tensor* m, std::vector<int64_t>* dims) {
          if (n < 1 || oh < 1 || ow < 1 || TF_Dim(m, 0) != n || TF_Dim(m, 1) != 16 || TF_Dim(m, 2) != th * tw) return false;
          o = TF_Dim(m, 3);
          *dims = {n, oh, ow, o};
          return true;
        },
        [&](const float* m, float* y, int part, int parts) {
          const int64_t plane = th * tw * o;
          int64_t begin, end;
          Split(n * th, part, parts, &begin, &end);
          for (int64_t r = begin; r < end; r++) {
            const int64_t img = r / th, y0 = (r % th) * 2;
            const int rows = y0 + 1 < oh ? 2 : 1;
            for (int64_t tx = 0; tx < tw; tx++) {
              const int cols = tx * 2 + 1 < ow ? 2 : 1;
              OutputTile(m + img * 16 * plane + ((r % th) * tw + tx) * o, plane, y + ((img * oh + y0) * ow + tx * 2) * o, ow * o, rows, cols, o);
            }
          }
        });
}

}  // namespace

const char* RegisterWinograd() {
  const char* error = Register("DtWinogradInput", {"x: float"}, {"v: float"}, {"pad_top: int", "pad_bottom: int", "pad_left: int", "pad_right: int"},
                               CreateInput, ComputeInput, DeleteWinograd);
  if (!error) error = Register("DtWinogradFilter", {"w: float"}, {"u: float"}, {}, CreateFilter, ComputeFilter, DeleteWinograd);
  if (!error) error = Register("DtWinogradOutput", {"m: float"}, {"y: float"}, {"n: int", "rows: int", "cols: int"}, CreateOutput, ComputeOutput, DeleteWinograd);
  return error;
}

}  // namespace dt
