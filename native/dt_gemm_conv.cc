// Convolutions as matrix products in our own AVX2 + FMA kernel. TensorFlow's
// kernels outside oneDNN are built without AVX2 and FMA (it says so at start-up):
// on an AVX2 CPU its Eigen convolutions run at about half the FMA peak per
// core. These run the product C (+)= A · B as 6 x 16 tiles of C in registers
// (12 accumulators, one broadcast of A and two loads of B per step), A and B
// packed in blocks that stay in L1 and L2.
//
//   DtGemmConv2D(x [N,H,W,C], filter [kh,kw,C,O]) -> y [N,OH,OW,O]
//     stride s, zero padding pad_top/bottom/left/right: y = patches(x) · filter,
//     a patch row per output pixel gathered (im2col) block by block, or read
//     where it lies in x (6 pixels of one output row with their windows inside x:
//     each window row is one run of x, the next pixel's s·C floats on);
//   DtGemmConv2DBackpropFilter(x [N,H,W,C], dy [N,OH,OW,O]) -> dw [kh,kw,C,O]
//     of a convolution with stride s of x zero-padded by pad on every side
//     (zeros gathered, no padded copy of x): dw = patches(x)ᵀ · dy;
//   DtGemmConv2DBackpropInput(dy [N,OH,OW,O], filter [kh,kw,C,O]) -> dx [N,rows,cols,C]
//     of a 'valid' convolution with stride s of an input zero-padded by
//     pad_top/pad_left (those rows and columns left out): s x s phases, each
//     dy's patches · its sub-filter (see Phase).
//
// Up to 192 output pixels (the U-Net's inner layers) the forward pass and the
// input gradient split the filter's columns over the cores instead of the
// pixels (WideGemm), so its 16-32 MB are read once.
//
// Each output value is summed over its whole reduction in one fixed order
// (ascending k, one FMA per term), whatever the batch size, however the rows
// or columns are split over the cores and whichever way: an image's result
// does not depend on its batch. The ops exist only where the CPU has AVX2 and FMA.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "dt_common.h"

namespace dt {
namespace {

constexpr int kMR = 6, kNR = 16;
// Reduction block: a tile's 6 x 256 of A (6 KB) stays in L1 while B's 256 x 16 slabs (16 KB each) stream from L2.
constexpr int64_t kKC = 256;
// At most this many output pixels' patches packed at once (up to 192 KB of A in L2): the
// filter streams through once per block, so PatchGAN's and the U-Net's large filters
// on small maps want few blocks.
constexpr int64_t kMaxMC = 192;
// Up to this many output pixels the cores split the filter's columns instead (WideGemm).
constexpr int64_t kWideRows = 192;
constexpr int64_t kWideSlabs = 8;

// c[6][16] (row stride ldc) = (add ? c : 0) + Σ_k a[k][r] · b[k][0..16), with a's
// element (k, r) at a[k * ks + r * rs]: rows of patches (ks 1, rs lda) or packed
// columns (ks 6, rs 1).
template <int64_t ks, int64_t rs_fixed>
DT_FMA void Tile(int64_t kc, const float* a, int64_t rs_runtime, const float* b, float* c, int64_t ldc, bool add) {
  const int64_t rs = rs_fixed ? rs_fixed : rs_runtime;
  // named accumulators, not an array: with an array g++ kept some of them on the stack
  __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
  if (add) {
    c00 = _mm256_loadu_ps(c), c01 = _mm256_loadu_ps(c + 8);
    c10 = _mm256_loadu_ps(c + ldc), c11 = _mm256_loadu_ps(c + ldc + 8);
    c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
    c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
    c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
    c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
  } else {
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
  }
  const float *a0 = a, *a1 = a + rs, *a2 = a + 2 * rs, *a3 = a + 3 * rs, *a4 = a + 4 * rs, *a5 = a + 5 * rs;
#define DT_STEP(k)                                                                          \
  {                                                                                         \
    const __m256 b0 = _mm256_load_ps(b + (k) * kNR), b1 = _mm256_load_ps(b + (k) * kNR + 8); \
    __m256 ar = _mm256_broadcast_ss(a0 + (k) * ks);                                         \
    c00 = _mm256_fmadd_ps(ar, b0, c00), c01 = _mm256_fmadd_ps(ar, b1, c01);                 \
    ar = _mm256_broadcast_ss(a1 + (k) * ks);                                                \
    c10 = _mm256_fmadd_ps(ar, b0, c10), c11 = _mm256_fmadd_ps(ar, b1, c11);                 \
    ar = _mm256_broadcast_ss(a2 + (k) * ks);                                                \
    c20 = _mm256_fmadd_ps(ar, b0, c20), c21 = _mm256_fmadd_ps(ar, b1, c21);                 \
    ar = _mm256_broadcast_ss(a3 + (k) * ks);                                                \
    c30 = _mm256_fmadd_ps(ar, b0, c30), c31 = _mm256_fmadd_ps(ar, b1, c31);                 \
    ar = _mm256_broadcast_ss(a4 + (k) * ks);                                                \
    c40 = _mm256_fmadd_ps(ar, b0, c40), c41 = _mm256_fmadd_ps(ar, b1, c41);                 \
    ar = _mm256_broadcast_ss(a5 + (k) * ks);                                                \
    c50 = _mm256_fmadd_ps(ar, b0, c50), c51 = _mm256_fmadd_ps(ar, b1, c51);                 \
  }
  // two steps per turn: the loop's own instructions otherwise cost ~15% of the FMA rate
  int64_t k = 0;
  for (; k + 2 <= kc; k += 2) {
    DT_STEP(k)
    DT_STEP(k + 1)
  }
  if (k < kc) DT_STEP(k)
#undef DT_STEP
  _mm256_storeu_ps(c, c00), _mm256_storeu_ps(c + 8, c01);
  _mm256_storeu_ps(c + ldc, c10), _mm256_storeu_ps(c + ldc + 8, c11);
  _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
  _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
  _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
  _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}

// Tile for the `rows` x `cols` corner of C a full tile would overrun: through a 6 x 16 buffer.
template <int64_t ks, int64_t rs_fixed>
DT_FMA void EdgeTile(int64_t kc, const float* a, int64_t rs, const float* b, float* c, int64_t ldc, bool add, int64_t rows, int64_t cols) {
  alignas(32) float t[kMR * kNR] = {};
  if (add) {
    for (int64_t r = 0; r < rows; r++) std::memcpy(t + r * kNR, c + r * ldc, cols * sizeof(float));
  }
  Tile<ks, rs_fixed>(kc, a, rs, b, t, kNR, add);
  for (int64_t r = 0; r < rows; r++) std::memcpy(c + r * ldc, t + r * kNR, cols * sizeof(float));
}

// What a buffer is for: one thread holds at most one of each kind at a time.
enum Scratch { kPackedFilter, kPackedA, kPackedB, kBlock, kScratchKinds };

// A 32-byte aligned buffer of at least n floats of this kind for this thread, kept
// for the next call (B's slabs are loaded aligned). Allocated per call, the few-MB
// packed filters went back to the OS at each free and were faulted in again at the
// next call: packing PatchGAN's 8 MB filter took ~5 ms into a fresh buffer, ~1.5
// into a reused one. Contents are whatever the last call left.
float* ScratchBuffer(Scratch kind, int64_t n) {
  struct Kept {
    float* p = nullptr;
    int64_t size = 0;
    ~Kept() { free(p); }
  };
  static thread_local Kept kept[kScratchKinds];
  Kept& k = kept[kind];
  if (n > k.size) {
    free(k.p);
    k.size = (n + 7) / 8 * 8;
    k.p = static_cast<float*>(aligned_alloc(32, k.size * sizeof(float)));
  }
  return k.p;
}

struct Conv {
  int64_t n, h, w, c, kh, kw, o, s, top, left, oh, ow;
  int64_t k() const { return kh * kw * c; }
  int64_t pixels() const { return n * oh * ow; }
};

// Rows [k0, k0 + kc) of slabs [j0, j1) (columns [16j, 16j + 16)) of a row-major [K, O]
// matrix, each slab as [kc][16] after the last, zeros past O. Row by row, so each row's
// run of columns is read together (slab by slab, every 64 bytes read were in another
// page: 6.1 vs 5.0 ms for 4 pixels of a 4x4x512x1024 filter); two loads and stores per
// slab row, not memcpy, whose call per 64 bytes was most of WideGemm's time on 1-4 pixels.
DT_FMA void PackSlabs(const float* f, int64_t o, int64_t j0, int64_t j1, int64_t k0, int64_t kc, float* dst) {
  for (int64_t i = 0; i < kc; i++) {
    const float* src = f + (k0 + i) * o;
    for (int64_t j = j0; j < j1; j++) {
      const int64_t cols = std::min<int64_t>(kNR, o - j * kNR);
      float* d = dst + ((j - j0) * kc + i) * kNR;
      if (cols == kNR) {
        _mm256_storeu_ps(d, _mm256_loadu_ps(src + j * kNR));
        _mm256_storeu_ps(d + 8, _mm256_loadu_ps(src + j * kNR + 8));
      } else {
        std::memcpy(d, src + j * kNR, cols * sizeof(float));
        std::fill(d + cols, d + kNR, 0.0f);
      }
    }
  }
}

// dst[i * ldd + q] = src[q * lds + i] for i, q < 8.
DT_FMA void Transpose8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  const __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lds), r2 = _mm256_loadu_ps(src + 2 * lds),
               r3 = _mm256_loadu_ps(src + 3 * lds), r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds),
               r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
               t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee), s2 = _mm256_shuffle_ps(t1, t3, 0x44),
               s3 = _mm256_shuffle_ps(t1, t3, 0xee), s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee),
               s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(s3, s7, 0x31));
}

// Slabs [j0, j1) of a problem's B as slabs of 16 columns [slab][K][16] (PatchGemm's layout).
template <typename P>
void PackB(const P& p, float* packed, int64_t j0, int64_t j1) {
  p.Slabs(j0, j1, 0, p.K(), packed + j0 * p.K() * kNR);
}

// The forward convolution as a product: row m is output pixel m's patch.
struct ForwardPatches {
  const Conv& v;
  const float* x;
  const float* f;
  float* y;
  bool Scattered() const { return false; }
  int64_t K() const { return v.k(); }
  int64_t N() const { return v.o; }
  int64_t Pixels() const { return v.pixels(); }
  void Slabs(int64_t j0, int64_t j1, int64_t k0, int64_t kc, float* dst) const { PackSlabs(f, v.o, j0, j1, k0, kc, dst); }
  float* Row(int64_t m) const { return y + m * v.o; }
  // Whether output pixels [m, m + 6) are in one output row with their windows inside x:
  // their patches are then read where they lie (Run), not copied.
  bool Direct(int64_t m) const {
    const int64_t oy = (m % (v.oh * v.ow)) / v.ow, ox = m % v.ow, y0 = oy * v.s - v.top, x0 = ox * v.s - v.left;
    return ox + kMR <= v.ow && y0 >= 0 && y0 + v.kh <= v.h && x0 >= 0 && (ox + kMR - 1) * v.s - v.left + v.kw <= v.w;
  }
  // Where patch column k of a Direct pixel m lies in x, and how many columns follow it there
  // (to the end of its window row); the next pixel's is s·C floats on.
  const float* Run(int64_t m, int64_t k, int64_t* len) const {
    const int64_t per_image = v.oh * v.ow, b = m / per_image, oy = (m % per_image) / v.ow, ox = m % v.ow;
    const int64_t row = v.kw * v.c, i = k / row, q = k % row;
    *len = row - q;
    return x + ((b * v.h + oy * v.s + i - v.top) * v.w + ox * v.s - v.left) * v.c + q;
  }
  int64_t RunStride() const { return v.s * v.c; }
  // Patch columns [k0, k0 + kc) of output pixel m, zeros where the window is in the padding.
  void Patch(int64_t m, int64_t k0, int64_t kc, float* dst) const {
    const int64_t per_image = v.oh * v.ow, b = m / per_image, oy = (m % per_image) / v.ow, ox = m % v.ow;
    for (int64_t k = k0; k < k0 + kc;) {
      const int64_t tap = k / v.c, ch = k % v.c, len = std::min(v.c - ch, k0 + kc - k);
      const int64_t iy = oy * v.s + tap / v.kw - v.top, ix = ox * v.s + tap % v.kw - v.left;
      if (iy >= 0 && iy < v.h && ix >= 0 && ix < v.w) {
        std::memcpy(dst + (k - k0), x + ((b * v.h + iy) * v.w + ix) * v.c + ch, len * sizeof(float));
      } else {
        std::fill_n(dst + (k - k0), len, 0.0f);
      }
      k += len;
    }
  }
};

// Rows [m0, m1) of patches · B for a problem P: P::K() patch columns, P::N() columns of
// B (packed by PackB), P::Patch(m, k0, kc, dst) writes patch columns
// [k0, k0 + kc) of row m, P::Row(m) is where row m of the result goes. Where those
// rows are not evenly spaced (P::Scattered()), a block is summed in a buffer and copied out.
template <typename P>
DT_FMA void PatchGemm(const P& p, const float* packed_b, int64_t m0, int64_t m1) {
  if (m1 <= m0) return;  // a core with no tiles of a small phase
  const int64_t k = p.K(), n = p.N(), slabs = (n + kNR - 1) / kNR;
  // blocks of equal size, whole tiles
  const int64_t blocks = (m1 - m0 + kMaxMC - 1) / kMaxMC, mc = ((m1 - m0 + blocks - 1) / blocks + kMR - 1) / kMR * kMR;
  const bool scattered = p.Scattered();
  float* a = ScratchBuffer(kPackedA, mc * kKC);
  float* block = scattered ? ScratchBuffer(kBlock, mc * n) : nullptr;
  std::vector<char> direct(mc / kMR);
  for (int64_t mb = m0; mb < m1; mb += mc) {
    const int64_t rows = std::min(mc, m1 - mb);
    float* out = scattered ? block : p.Row(mb);
    for (int64_t r = 0; r < rows; r += kMR) direct[r / kMR] = r + kMR <= rows && p.Direct(mb + r);
    for (int64_t kb = 0; kb < k; kb += kKC) {
      const int64_t kc = std::min(kKC, k - kb);
      for (int64_t r = 0; r < rows; r++) {
        if (!direct[r / kMR]) p.Patch(mb + r, kb, kc, a + r * kc);
      }
      for (int64_t r = 0; r < rows; r += kMR) {
        for (int64_t j = 0; j < slabs; j++) {
          const float* b = packed_b + (j * k + kb) * kNR;
          const int64_t cols = std::min<int64_t>(kNR, n - j * kNR);
          float* c = out + r * n + j * kNR;
          if (direct[r / kMR]) {
            // the block's columns run by run, each piece's sums carried on in c: the same terms in the same order
            for (int64_t q = kb, len = 0; q < kb + kc; q += len) {
              const float* run = p.Run(mb + r, q, &len);
              len = std::min(len, kb + kc - q);
              if (cols == kNR) Tile<1, 0>(len, run, p.RunStride(), b + (q - kb) * kNR, c, n, q > 0);
              else EdgeTile<1, 0>(len, run, p.RunStride(), b + (q - kb) * kNR, c, n, q > 0, kMR, cols);
            }
          } else if (r + kMR <= rows && cols == kNR) {
            Tile<1, 0>(kc, a + r * kc, kc, b, c, n, kb > 0);
          } else {
            EdgeTile<1, 0>(kc, a + r * kc, kc, b, c, n, kb > 0, std::min<int64_t>(kMR, rows - r), cols);
          }
        }
      }
    }
    if (scattered) {
      for (int64_t r = 0; r < rows; r++) std::memcpy(p.Row(mb + r), block + r * n, n * sizeof(float));
    }
  }
}

// All P::Pixels() rows of patches · B, B's slabs [j0, j1) only: for few rows and a large
// filter (the U-Net's inner layers: 16-32 MB of weights for 1-64 pixels). The cores split
// the columns, not the rows, and each packs its slabs kWideSlabs at a time (128 KB, in L2)
// just before use, so the filter is read once in all instead of packed whole and then
// read by every core. P::Slabs(j0, j1, k0, kc, dst) writes rows [k0, k0 + kc) of slabs
// [j0, j1). Each sum is PatchGemm's, term for term.
template <typename P>
DT_FMA void WideGemm(const P& p, int64_t j0, int64_t j1) {
  const int64_t k = p.K(), n = p.N(), m = p.Pixels(), width = std::min(j1 * kNR, n) - j0 * kNR;
  if (width <= 0 || m == 0) return;
  const bool scattered = p.Scattered();
  if (k == 0) {  // no tap reaches these pixels
    for (int64_t r = 0; r < m; r++) std::fill_n(p.Row(r) + j0 * kNR, width, 0.0f);
    return;
  }
  // whole tiles of A: a partial tile's rows past m are read (zeros), their sums not stored
  const int64_t tiled = (m + kMR - 1) / kMR * kMR;
  float* a = ScratchBuffer(kPackedA, tiled * std::min(kKC, k));
  float* b = ScratchBuffer(kPackedB, kKC * kNR * kWideSlabs);
  float* block = scattered ? ScratchBuffer(kBlock, m * width) : nullptr;
  float* out = scattered ? block : p.Row(0) + j0 * kNR;
  const int64_t ldc = scattered ? width : n;
  for (int64_t kb = 0; kb < k; kb += kKC) {
    const int64_t kc = std::min(kKC, k - kb);
    for (int64_t r = 0; r < m; r++) p.Patch(r, kb, kc, a + r * kc);
    std::fill(a + m * kc, a + tiled * kc, 0.0f);
    for (int64_t jc = j0; jc < j1; jc += kWideSlabs) {
      const int64_t jend = std::min(j1, jc + kWideSlabs);
      p.Slabs(jc, jend, kb, kc, b);
      for (int64_t j = jc; j < jend; j++) {
        const float* bj = b + (j - jc) * kc * kNR;
        const int64_t cols = std::min<int64_t>(kNR, n - j * kNR);
        for (int64_t r = 0; r < m; r += kMR) {
          float* c = out + r * ldc + (j - j0) * kNR;
          if (r + kMR <= m && cols == kNR) Tile<1, 0>(kc, a + r * kc, kc, bj, c, ldc, kb > 0);
          else EdgeTile<1, 0>(kc, a + r * kc, kc, bj, c, ldc, kb > 0, std::min<int64_t>(kMR, m - r), cols);
        }
      }
    }
  }
  if (scattered) {
    for (int64_t r = 0; r < m; r++) std::memcpy(p.Row(r) + j0 * kNR, block + r * width, width * sizeof(float));
  }
}

// The products of `problems` (each as PatchGemm's P, all with `slabs` slabs of B and
// `flops` in all) on the cores. Up to kWideRows pixels each: by columns (WideGemm).
// Otherwise every B is packed whole first, the cores taking slabs (one core took 3-6
// ms for PatchGAN's 4x4x256x512 filter, a tenth of the conv), then by pixels in whole
// tiles of 6 (PatchGemm).
template <typename P>
void Gemm(const std::vector<P>& problems, int64_t slabs, int64_t flops) {
  int64_t most_pixels = 0, all_tiles = 0;
  for (const P& p : problems) most_pixels = std::max(most_pixels, p.Pixels());
  if (most_pixels <= kWideRows) {
    const int parts = ConvParts(flops, slabs);
    pool().Run(parts, [&](int part) {
      int64_t j0, j1;
      Split(slabs, part, parts, &j0, &j1);
      for (const P& p : problems) WideGemm(p, j0, j1);
    });
    return;
  }
  std::vector<int64_t> at(problems.size() + 1, 0), tiles(problems.size());
  for (size_t i = 0; i < problems.size(); i++) {
    at[i + 1] = at[i] + slabs * problems[i].K() * kNR;
    tiles[i] = (problems[i].Pixels() + kMR - 1) / kMR;
    all_tiles += tiles[i];
  }
  float* packed = ScratchBuffer(kPackedFilter, std::max<int64_t>(1, at.back()));
  const int parts = ConvParts(flops, all_tiles), pack_parts = static_cast<int>(std::min<int64_t>(parts, slabs));
  pool().Run(pack_parts, [&](int part) {
    int64_t j0, j1;
    Split(slabs, part, pack_parts, &j0, &j1);
    for (size_t i = 0; i < problems.size(); i++) PackB(problems[i], packed + at[i], j0, j1);
  });
  pool().Run(parts, [&](int part) {
    for (size_t i = 0; i < problems.size(); i++) {
      int64_t t0, t1;
      Split(tiles[i], part, parts, &t0, &t1);
      const int64_t m0 = t0 * kMR, m1 = std::min(t1 * kMR, problems[i].Pixels());
      if (problems[i].K() > 0) {
        PatchGemm(problems[i], packed + at[i], m0, m1);
      } else {
        for (int64_t m = m0; m < m1; m++) std::fill_n(problems[i].Row(m), problems[i].N(), 0.0f);  // no tap reaches these pixels
      }
    }
  });
}

// For each patch column k, its input value's offset from the window's corner.
std::vector<int64_t> TapOffsets(const Conv& v) {
  std::vector<int64_t> off(v.k());
  for (int64_t k = 0; k < v.k(); k++) {
    const int64_t tap = k / v.c;
    off[k] = ((tap / v.kw) * v.w + tap % v.kw) * v.c + k % v.c;
  }
  return off;
}

// dw rows [t0 * 6, t1 * 6) ∩ [0, K) (patch columns) of the weight gradient: for
// blocks of kc output pixels, dy's columns packed as slabs [slab][kc][16] and
// 6 patch columns as [kc][6], every pixel's term added in pixel order. A tap in
// the padding gathers 0 (its term adds exactly nothing, as from a padded copy).
DT_FMA void FilterGradRows(const Conv& v, const float* x, const float* dy, float* dw, int64_t t0, int64_t t1) {
  const int64_t k = v.k(), slabs = (v.o + kNR - 1) / kNR, pixels = v.pixels(), per_image = v.oh * v.ow;
  const std::vector<int64_t> off = TapOffsets(v);
  float* b = ScratchBuffer(kPackedB, slabs * kKC * kNR);
  float* a = ScratchBuffer(kPackedA, kKC * kMR);
  // per pixel: its window's corner in x (row y0, column x0, may lie in the padding), that offset,
  // and whether the whole window is inside x (no tap to check)
  std::vector<int64_t> corner(kKC), y0(kKC), x0(kKC);
  std::vector<char> interior(kKC);
  std::vector<int64_t> tap_i(k), tap_j(k);  // each patch column's tap
  for (int64_t col = 0; col < k; col++) {
    tap_i[col] = col / v.c / v.kw;
    tap_j[col] = col / v.c % v.kw;
  }
  const auto inside = [&](int64_t p, int64_t col) {
    return static_cast<uint64_t>(y0[p] + tap_i[col]) < static_cast<uint64_t>(v.h) && static_cast<uint64_t>(x0[p] + tap_j[col]) < static_cast<uint64_t>(v.w);
  };
  for (int64_t pb = 0; pb < pixels; pb += kKC) {
    const int64_t kc = std::min(kKC, pixels - pb);
    PackSlabs(dy + pb * v.o, v.o, 0, slabs, 0, kc, b);  // this block's dy rows as a filter's slabs
    for (int64_t p = 0; p < kc; p++) {
      const int64_t m = pb + p, img = m / per_image, oy = (m % per_image) / v.ow, ox = m % v.ow;
      y0[p] = oy * v.s - v.top;
      x0[p] = ox * v.s - v.left;
      corner[p] = ((img * v.h + y0[p]) * v.w + x0[p]) * v.c;
      interior[p] = y0[p] >= 0 && x0[p] >= 0 && y0[p] + v.kh <= v.h && x0[p] + v.kw <= v.w;
    }
    for (int64_t t = t0; t < t1; t++) {
      const int64_t r0 = t * kMR, rows = std::min<int64_t>(kMR, k - r0);
      // 6 columns in one run of x (one tap's channels, or the next tap's in its row): a copy of 6 values
      // where the run's ends are both inside x, else gathered value by value
      const bool run = rows == kMR && off[r0 + kMR - 1] - off[r0] == kMR - 1;
      for (int64_t p = 0; p < kc; p++) {
        if (run && (interior[p] || (inside(p, r0) && inside(p, r0 + kMR - 1)))) {
          std::memcpy(a + p * kMR, x + corner[p] + off[r0], kMR * sizeof(float));
        } else {
          for (int64_t r = 0; r < kMR; r++) a[p * kMR + r] = r < rows && (interior[p] || inside(p, r0 + r)) ? x[corner[p] + off[r0 + r]] : 0.0f;
        }
      }
      for (int64_t j = 0; j < slabs; j++) {
        const int64_t cols = std::min<int64_t>(kNR, v.o - j * kNR);
        float* c = dw + r0 * v.o + j * kNR;
        if (rows == kMR && cols == kNR) Tile<kMR, 1>(kc, a, 1, b + j * kc * kNR, c, v.o, pb > 0);
        else EdgeTile<kMR, 1>(kc, a, 1, b + j * kc * kNR, c, v.o, pb > 0, rows, cols);
      }
    }
  }
}

// The input gradient of a convolution with stride s by phases: dx's pixels (y, x)
// with y + top ≡ py and x + left ≡ px (mod s) receive only the taps i ≡ py and
// j ≡ px, so each phase is a stride-1 product of dy's patches with its sub-filter,
// and every dx value is written once (no overlapping sums between the cores).
// dx is the gradient of the input zero-padded by top/left, cropped to rows x cols.
struct InputGradConv {
  int64_t n, oh, ow, o, kh, kw, c, s, rows, cols, top, left;
};

struct Phase {
  const InputGradConv& g;
  const float* dy;
  const float* w;
  float* dx;
  // taps i = py + s·a for a < ka, j = px + s·b for b < kb; grid rows Y in [y0, y0 + ny), columns likewise
  int64_t py, px, ka, kb, y0, x0, ny, nx;
  // at stride 1 the one phase is all of dx, row after row
  bool Scattered() const { return g.s > 1; }
  // dy's patches run backwards in memory: always copied
  bool Direct(int64_t) const { return false; }
  const float* Run(int64_t, int64_t, int64_t*) const { return nullptr; }
  int64_t RunStride() const { return 0; }
  int64_t K() const { return ka * kb * g.o; }
  int64_t N() const { return g.c; }
  int64_t Pixels() const { return g.n * ny * nx; }
  float* Row(int64_t m) const {
    const int64_t b = m / (ny * nx), y = y0 + (m % (ny * nx)) / nx, x = x0 + m % nx;
    return dx + ((b * g.rows + py + g.s * y - g.top) * g.cols + px + g.s * x - g.left) * g.c;
  }
  // dy[Y - a, X - b, :] for each tap (a, b), zeros outside dy.
  void Patch(int64_t m, int64_t k0, int64_t kc, float* dst) const {
    const int64_t b = m / (ny * nx), y = y0 + (m % (ny * nx)) / nx, x = x0 + m % nx;
    for (int64_t k = k0; k < k0 + kc;) {
      const int64_t tap = k / g.o, ch = k % g.o, len = std::min(g.o - ch, k0 + kc - k);
      const int64_t iy = y - tap / kb, ix = x - tap % kb;
      if (iy >= 0 && iy < g.oh && ix >= 0 && ix < g.ow) {
        std::memcpy(dst + (k - k0), dy + ((b * g.oh + iy) * g.ow + ix) * g.o + ch, len * sizeof(float));
      } else {
        std::fill_n(dst + (k - k0), len, 0.0f);
      }
      k += len;
    }
  }
  // Rows [k0, k0 + kc) of slab j of the sub-filter: row (a, b, o), column ch is w[py + s·a, px + s·b, ch, o].
  // Slab by slab: a slab's 16 channels are 16 runs of the filter's memory. A full
  // slab's rows go 8 at a time (8 x 8 transposes) while they stay in one tap.
  void Slabs(int64_t j0, int64_t j1, int64_t k0, int64_t kc, float* dst) const {
    for (int64_t j = j0; j < j1; j++) Slab(j, k0, kc, dst + (j - j0) * kc * kNR);
  }
  DT_FMA void Slab(int64_t j, int64_t k0, int64_t kc, float* dst) const {
    const int64_t cols = std::min<int64_t>(kNR, g.c - j * kNR);
    for (int64_t r = k0; r < k0 + kc;) {
      const int64_t tap = r / g.o, o = r % g.o;
      const float* src = w + (((py + g.s * (tap / kb)) * g.kw + px + g.s * (tap % kb)) * g.c + j * kNR) * g.o + o;
      if (cols == kNR && o + 8 <= g.o && r + 8 <= k0 + kc) {
        Transpose8(src, g.o, dst, kNR);
        Transpose8(src + 8 * g.o, g.o, dst + 8, kNR);
        r += 8, dst += 8 * kNR;
      } else {
        for (int64_t q = 0; q < cols; q++) dst[q] = src[q * g.o];
        std::fill(dst + cols, dst + kNR, 0.0f);
        r++, dst += kNR;
      }
    }
  }
};

// The phases with pixels in dx.
std::vector<Phase> Phases(const InputGradConv& g, const float* dy, const float* w, float* dx) {
  // the grid positions P with 0 <= p + s·P - off < size: [first, first + count)
  const auto grid = [&](int64_t p, int64_t off, int64_t size, int64_t* first, int64_t* count) {
    *first = off - p <= 0 ? 0 : (off - p + g.s - 1) / g.s;
    const int64_t last = size - 1 + off - p;
    *count = last < 0 ? 0 : std::max<int64_t>(0, last / g.s + 1 - *first);
  };
  std::vector<Phase> out;
  for (int64_t py = 0; py < g.s; py++) {
    for (int64_t px = 0; px < g.s; px++) {
      Phase ph{g, dy, w, dx, py, px, std::max<int64_t>(0, (g.kh - py + g.s - 1) / g.s), std::max<int64_t>(0, (g.kw - px + g.s - 1) / g.s), 0, 0, 0, 0};
      grid(py, g.top, g.rows, &ph.y0, &ph.ny);
      grid(px, g.left, g.cols, &ph.x0, &ph.nx);
      if (ph.ny > 0 && ph.nx > 0) out.push_back(ph);
    }
  }
  return out;
}

struct GemmAttrs {
  int32_t stride = 1, top = 0, bottom = 0, left = 0, right = 0;  // forward (top, left: also the input gradient)
  int32_t kh = 0, kw = 0, pad = 0;                               // weight gradient
  int32_t rows = 0, cols = 0;                                    // input gradient
};

const char* InvalidGemm(const GemmAttrs& a) {
  return a.stride < 1 || a.top < 0 || a.bottom < 0 || a.left < 0 || a.right < 0 || a.pad < 0 || a.rows < 0 || a.cols < 0
             ? "stride must be >= 1, padding and sizes >= 0"
             : nullptr;
}
void* CreateForward(TF_OpKernelConstruction* ctx) {
  return ReadIntAttrs<GemmAttrs>(ctx, {{"stride", &GemmAttrs::stride}, {"pad_top", &GemmAttrs::top}, {"pad_bottom", &GemmAttrs::bottom},
                                       {"pad_left", &GemmAttrs::left}, {"pad_right", &GemmAttrs::right}}, InvalidGemm);
}
void* CreateFilterGrad(TF_OpKernelConstruction* ctx) {
  return ReadIntAttrs<GemmAttrs>(ctx, {{"stride", &GemmAttrs::stride}, {"kh", &GemmAttrs::kh}, {"kw", &GemmAttrs::kw}, {"pad", &GemmAttrs::pad}},
                                 InvalidGemm);
}
void* CreateInputGrad(TF_OpKernelConstruction* ctx) {
  return ReadIntAttrs<GemmAttrs>(ctx, {{"stride", &GemmAttrs::stride}, {"rows", &GemmAttrs::rows}, {"cols", &GemmAttrs::cols},
                                       {"pad_top", &GemmAttrs::top}, {"pad_left", &GemmAttrs::left}}, InvalidGemm);
}
void DeleteGemmAttrs(void* a) { delete static_cast<GemmAttrs*>(a); }

void ComputeForward(void* kernel, TF_OpKernelContext* ctx) {
  const auto& a = *static_cast<GemmAttrs*>(kernel);
  ConvTensors tensors;
  TF_Tensor** in = tensors.in;
  if (Inputs(ctx, in, 2, "DtGemmConv2D takes float32 x [N, H, W, C] and filter [kh, kw, C, O]")) {
    Conv v{TF_Dim(in[0], 0), TF_Dim(in[0], 1), TF_Dim(in[0], 2), TF_Dim(in[0], 3), TF_Dim(in[1], 0), TF_Dim(in[1], 1), TF_Dim(in[1], 3),
           a.stride, a.top, a.left, 0, 0};
    const int64_t hp = v.h + a.top + a.bottom, wp = v.w + a.left + a.right;
    if (TF_Dim(in[1], 2) != v.c || hp < v.kh || wp < v.kw) {
      Fail(ctx, "DtGemmConv2D: the filter's input channels must match x's, and the padded x cover the filter");
    } else {
      v.oh = (hp - v.kh) / v.s + 1;
      v.ow = (wp - v.kw) / v.s + 1;
      const int64_t dims[4] = {v.n, v.oh, v.ow, v.o};
      float* y = Output(ctx, dims, &tensors.out);
      if (y && v.pixels() > 0 && v.o > 0) {
        const ForwardPatches problem{v, static_cast<const float*>(TF_TensorData(in[0])), static_cast<const float*>(TF_TensorData(in[1])), y};
        Gemm(std::vector<ForwardPatches>{problem}, (v.o + kNR - 1) / kNR, 2 * v.pixels() * v.k() * v.o);
      }
    }
  }
}

void ComputeFilterGrad(void* kernel, TF_OpKernelContext* ctx) {
  const auto& a = *static_cast<GemmAttrs*>(kernel);
  ConvTensors tensors;
  TF_Tensor** in = tensors.in;
  if (Inputs(ctx, in, 2, "DtGemmConv2DBackpropFilter takes float32 x [N, H, W, C] and dy [N, OH, OW, O]")) {
    Conv v{TF_Dim(in[0], 0), TF_Dim(in[0], 1), TF_Dim(in[0], 2), TF_Dim(in[0], 3), a.kh, a.kw, TF_Dim(in[1], 3), a.stride, a.pad, a.pad,
           TF_Dim(in[1], 1), TF_Dim(in[1], 2)};
    if (TF_Dim(in[1], 0) != v.n || !ValidOutput(v.h + 2 * v.top, v.w + 2 * v.left, v.kh, v.kw, v.s, v.oh, v.ow)) {
      Fail(ctx, "DtGemmConv2DBackpropFilter: dy's shape must be the convolution's output for x zero-padded by pad and kh x kw");
    } else {
      const int64_t dims[4] = {v.kh, v.kw, v.c, v.o};
      float* dw = Output(ctx, dims, &tensors.out);
      if (dw && v.pixels() == 0) {
        std::fill_n(dw, v.k() * v.o, 0.0f);  // no samples, no gradient
      } else if (dw && v.k() > 0 && v.o > 0) {
        const float* x = static_cast<const float*>(TF_TensorData(in[0]));
        const float* dy = static_cast<const float*>(TF_TensorData(in[1]));
        RunByRanges((v.k() + kMR - 1) / kMR, 2.0 * v.pixels() * v.k() * v.o,
                    [&](int64_t t0, int64_t t1) { FilterGradRows(v, x, dy, dw, t0, t1); });
      }
    }
  }
}

void ComputeInputGrad(void* kernel, TF_OpKernelContext* ctx) {
  const auto& a = *static_cast<GemmAttrs*>(kernel);
  ConvTensors tensors;
  TF_Tensor** in = tensors.in;
  if (Inputs(ctx, in, 2, "DtGemmConv2DBackpropInput takes float32 dy [N, OH, OW, O] and filter [kh, kw, C, O]")) {
    const InputGradConv g{TF_Dim(in[0], 0), TF_Dim(in[0], 1), TF_Dim(in[0], 2), TF_Dim(in[0], 3), TF_Dim(in[1], 0), TF_Dim(in[1], 1),
                          TF_Dim(in[1], 2), a.stride, a.rows, a.cols, a.top, a.left};
    if (TF_Dim(in[1], 3) != g.o) {
      Fail(ctx, "DtGemmConv2DBackpropInput: the filter's output channels must match dy's");
    } else {
      const int64_t dims[4] = {g.n, g.rows, g.cols, g.c};
      float* dx = Output(ctx, dims, &tensors.out);
      if (dx && g.n * g.rows * g.cols * g.c > 0) {
        const float* dy = static_cast<const float*>(TF_TensorData(in[0]));
        const float* w = static_cast<const float*>(TF_TensorData(in[1]));
        Gemm(Phases(g, dy, w, dx), (g.c + kNR - 1) / kNR, 2 * g.n * g.oh * g.ow * g.o * g.kh * g.kw * g.c);
      }
    }
  }
}

}  // namespace

bool HasGemmConv() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

const char* RegisterGemmConv() {
  if (!HasGemmConv()) return nullptr;
  const char* error = Register("DtGemmConv2D", {"x: float", "filter: float"}, {"y: float"},
                               {"stride: int", "pad_top: int", "pad_bottom: int", "pad_left: int", "pad_right: int"}, CreateForward,
                               ComputeForward, DeleteGemmAttrs);
  if (!error) {
    error = Register("DtGemmConv2DBackpropFilter", {"x: float", "dy: float"}, {"dw: float"}, {"stride: int", "kh: int", "kw: int", "pad: int"},
                     CreateFilterGrad, ComputeFilterGrad, DeleteGemmAttrs);
  }
  if (!error) {
    error = Register("DtGemmConv2DBackpropInput", {"dy: float", "filter: float"}, {"dx: float"},
                     {"stride: int", "rows: int", "cols: int", "pad_top: int", "pad_left: int"}, CreateInputGrad, ComputeInputGrad,
                     DeleteGemmAttrs);
  }
  return error;
}

}  // namespace dt
