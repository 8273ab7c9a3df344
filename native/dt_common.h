// What the kernels of dt_kernels.cc, dt_split_conv.cc, dt_winograd.cc, dt_gemm_conv.cc and dt_conv_to_one.cc share: TF's C kernel
// API, the thread pool, attribute reading, one-input ops, op registration.
#pragma once
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tensorflow/c/ops.h"
#include "tensorflow/c/tf_status.h"
#include "tensorflow/c/tf_tensor.h"

// The kernel API of tensorflow/c/kernels.h (stable C ABI). That header needs
// platform headers the TensorFlow C library's include folder does not ship,
// so the functions used here are declared as it declares them.
extern "C" {
typedef struct TF_KernelBuilder TF_KernelBuilder;
typedef struct TF_OpKernelConstruction TF_OpKernelConstruction;
typedef struct TF_OpKernelContext TF_OpKernelContext;
TF_KernelBuilder* TF_NewKernelBuilder(const char* op_name, const char* device_name, void* (*create_func)(TF_OpKernelConstruction*),
                                      void (*compute_func)(void*, TF_OpKernelContext*), void (*delete_func)(void*));
void TF_RegisterKernelBuilder(const char* kernel_name, TF_KernelBuilder* builder, TF_Status* status);
void TF_GetInput(TF_OpKernelContext* ctx, int i, TF_Tensor** tensor, TF_Status* status);
TF_Tensor* TF_AllocateOutput(TF_OpKernelContext* context, int index, TF_DataType dtype, const int64_t* dims, int num_dims, size_t len,
                             TF_Status* status);
void TF_OpKernelContext_Failure(TF_OpKernelContext* ctx, TF_Status* status);
void TF_OpKernelConstruction_Failure(TF_OpKernelConstruction* ctx, TF_Status* status);
void TF_OpKernelConstruction_GetAttrFloat(TF_OpKernelConstruction* ctx, const char* attr_name, float* val, TF_Status* status);
void TF_OpKernelConstruction_GetAttrInt32(TF_OpKernelConstruction* ctx, const char* attr_name, int32_t* val, TF_Status* status);
void TF_OpKernelConstruction_GetAttrBool(TF_OpKernelConstruction* ctx, const char* attr_name, TF_Bool* val, TF_Status* status);
}

namespace dt {

// oneDNN's JIT sgemm, which TF's MatMul and Conv2D run, points rsp into a heap
// buffer while it works; a signal handled on that thread then writes its frame
// into the heap ("corrupted size vs. prev_size", or silently wrong data:
// uxlfoundation/oneDNN#4845, fixed after this TensorFlow). Threads that run TF
// ops block the asynchronous signals, so the kernel hands them to a thread that
// does not (Node's platform workers), where a handler's frame lands on a real
// stack. SIGPROF stays: V8's profiler aims it at the main thread.
inline void BlockAsyncSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGVTALRM,
                SIGWINCH, SIGIO, SIGPWR}) {
    sigaddset(&set, s);
  }
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// How long an idle worker spins for the next job before it sleeps, and whether
// it yields its core between looks. On the AVX-512 VM a sleeping worker took
// ~170-190 us to start a job (a third of a small split convolution), and
// between our ops TF runs its own (oneDNN's gradients) on its own threads, so
// gaps of a few hundred us to ms are common. Spinning ~3 ms keeps the worker
// awake across them; yielding lets TF's threads have the core meanwhile
// (a 3 ms spin that does not yield made CycleGAN 128 px 4% slower, 10 ms with
// yields 5% slower). Against 400 us without yields, alternating steps in one
// process (bench/ab.ts, final build): CycleGAN 128 px 632.0 -> 617.1 ms,
// pix2pix 690.0 -> 663.2, 64 px 271.9 -> 245.9. Settable for bench/ab.ts
// (setPoolSpin).
inline std::atomic<int64_t> idleSpinMicros{3000};
inline std::atomic<bool> idleSpinYields{true};

// A fixed set of worker threads for one parallel loop at a time (TF runs eager
// ops one after another, so its own threads are idle meanwhile); the caller
// waits for the last part by spinning ~400 us before it sleeps.
class Pool {
 public:
  Pool() {
    cpu_set_t set;
    int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    size_ = std::clamp(cpus, 1, 8);
    for (int i = 1; i < size_; i++) workers_.emplace_back([this, i] { Work(i); });
  }
  int size() const { return size_; }

  // Runs f(part) for part in [0, parts), parts <= size(); the caller takes part 0.
  void Run(int parts, const std::function<void(int)>& f) {
    if (parts <= 1) {
      f(0);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &f;
      parts_ = parts;
      pending_ = parts - 1;
      started_.store(++generation_);
    }
    start_.notify_all();
    f(0);
    Spin([&] { return finished_.load() == generation_; }, 400, false);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  // Spins until done() or for about `micros`, yielding the core between looks if `yields`.
  template <typename Done>
  static void Spin(Done done, int64_t micros, bool yields) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(micros);
    while (!done()) {
      for (int i = 0; i < 64; i++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      if (yields) sched_yield();
      if (std::chrono::steady_clock::now() > end) return;
    }
  }

  void Work(int index) {
    BlockAsyncSignals();
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* job;
      Spin([&] { return started_.load() != seen; }, idleSpinMicros.load(std::memory_order_relaxed), idleSpinYields.load(std::memory_order_relaxed));
      {
        std::unique_lock<std::mutex> lock(mu_);
        start_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (index >= parts_) continue;
        job = job_;
      }
      (*job)(index);
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) {
        finished_.store(seen);
        done_.notify_one();
      }
    }
  }

  int size_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int parts_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
  // generation_ as last started and last finished, for spinning without the lock
  std::atomic<uint64_t> started_{0}, finished_{0};
};

inline Pool& pool() {
  // Never destroyed: its threads live as long as the process.
  static Pool* p = new Pool();
  return *p;
}

// Row range [begin, end) of part `part` of `parts` over `rows` rows.
inline void Split(int64_t rows, int part, int parts, int64_t* begin, int64_t* end) {
  *begin = rows * part / parts;
  *end = rows * (part + 1) / parts;
}

inline void Fail(TF_OpKernelContext* ctx, const char* message) {
  TF_Status* status = TF_NewStatus();
  TF_SetStatus(status, TF_INVALID_ARGUMENT, message);
  TF_OpKernelContext_Failure(ctx, status);
  TF_DeleteStatus(status);
}

// A convolution op's two inputs and its output, released when the op's compute function returns.
struct ConvTensors {
  TF_Tensor* in[2] = {nullptr, nullptr};
  TF_Tensor* out = nullptr;
  ConvTensors() = default;
  ConvTensors(const ConvTensors&) = delete;
  ConvTensors& operator=(const ConvTensors&) = delete;
  ~ConvTensors() {
    for (TF_Tensor* t : in) TF_DeleteTensor(t);
    TF_DeleteTensor(out);
  }
};

// Reads inputs i < count as float32 tensors of 4 dimensions; false (and the op fails) otherwise.
inline bool Inputs(TF_OpKernelContext* ctx, TF_Tensor** t, int count, const char* error) {
  TF_Status* status = TF_NewStatus();
  bool ok = true;
  for (int i = 0; i < count && ok; i++) {
    TF_GetInput(ctx, i, &t[i], status);
    if (TF_GetCode(status) != TF_OK) {
      TF_OpKernelContext_Failure(ctx, status);
      TF_DeleteStatus(status);
      return false;
    }
    ok = TF_NumDims(t[i]) == 4 && TF_TensorType(t[i]) == TF_FLOAT;
  }
  TF_DeleteStatus(status);
  if (!ok) Fail(ctx, error);
  return ok;
}

// A float32 output of 4 dimensions; nullptr (and the op fails) where it cannot be allocated.
inline float* Output(TF_OpKernelContext* ctx, const int64_t* dims, TF_Tensor** out) {
  TF_Status* status = TF_NewStatus();
  *out = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims, 4, dims[0] * dims[1] * dims[2] * dims[3] * sizeof(float), status);
  const bool ok = TF_GetCode(status) == TF_OK;
  if (!ok) TF_OpKernelContext_Failure(ctx, status);
  TF_DeleteStatus(status);
  return ok ? static_cast<float*>(TF_TensorData(*out)) : nullptr;
}

// Below this many multiply-adds (x2) a convolution's second core costs more than it saves.
constexpr double kMinSplitFlops = 4e6;

// How many cores a convolution of `flops` over `units` rows (or tiles) is split over.
inline int ConvParts(double flops, int64_t units) {
  return flops < kMinSplitFlops ? 1 : static_cast<int>(std::clamp<int64_t>(units, 1, pool().size()));
}

// Runs ranges(begin, end) on the cores over ConvParts(flops, units) contiguous ranges of [0, units).
template <typename F>
void RunByRanges(int64_t units, double flops, F&& ranges) {
  const int parts = ConvParts(flops, units);
  pool().Run(parts, [&](int p) {
    int64_t begin, end;
    Split(units, p, parts, &begin, &end);
    ranges(begin, end);
  });
}

// Whether oh x ow is the output of a 'valid' convolution of h x w with a kh x kw filter and stride s.
inline bool ValidOutput(int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t s, int64_t oh, int64_t ow) {
  return kh >= 1 && kw >= 1 && h >= kh && w >= kw && (h - kh) / s + 1 == oh && (w - kw) / s + 1 == ow;
}

// Below this many values per part a second thread costs more than it saves: waking
// it takes ~30 us (instance norm of 2x32x32x64: 52 us on one thread, 83 on two;
// of 2x128x128x32: 408 on one, 297 on two).
constexpr int64_t kMinValuesPerPart = 1 << 17;

inline int PartsFor(int64_t values) {
  return static_cast<int>(std::clamp<int64_t>(values / kMinValuesPerPart, 1, pool().size()));
}

// Reads the int attributes an op declares into their fields of a new A; a
// missing one, or values `invalid` names a problem with, fail the kernel's construction.
template <typename A>
A* ReadIntAttrs(TF_OpKernelConstruction* ctx, std::initializer_list<std::pair<const char*, int32_t A::*>> ints,
                const char* (*invalid)(const A&) = nullptr) {
  auto* a = new A();
  TF_Status* status = TF_NewStatus();
  for (const auto& [name, field] : ints) {
    if (TF_GetCode(status) == TF_OK) TF_OpKernelConstruction_GetAttrInt32(ctx, name, &(a->*field), status);
  }
  const char* problem = TF_GetCode(status) == TF_OK && invalid ? invalid(*a) : nullptr;
  if (problem) TF_SetStatus(status, TF_INVALID_ARGUMENT, problem);
  if (TF_GetCode(status) != TF_OK) TF_OpKernelConstruction_Failure(ctx, status);
  TF_DeleteStatus(status);
  return a;
}

// An op of one float input of `in_dims` dimensions and one float output:
// shape(in, &out_dims) checks the input and sets the output's dimensions
// (false: the op fails with `error`), then run(src, dst, part, parts) runs on
// the pool, parts by PartsFor the output's size.
template <typename ShapeFn, typename RunFn>
void RunOp(TF_OpKernelContext* ctx, int in_dims, const char* error, ShapeFn shape, RunFn run) {
  TF_Status* status = TF_NewStatus();
  TF_Tensor* in = nullptr;
  TF_GetInput(ctx, 0, &in, status);
  std::vector<int64_t> out_dims;
  if (TF_GetCode(status) != TF_OK) {
    TF_OpKernelContext_Failure(ctx, status);
  } else if (TF_NumDims(in) != in_dims || TF_TensorType(in) != TF_FLOAT || !shape(in, &out_dims)) {
    Fail(ctx, error);
  } else {
    int64_t count = 1;
    for (int64_t d : out_dims) count *= d;
    TF_Tensor* out = TF_AllocateOutput(ctx, 0, TF_FLOAT, out_dims.data(), static_cast<int>(out_dims.size()), count * sizeof(float), status);
    if (TF_GetCode(status) != TF_OK) {
      TF_OpKernelContext_Failure(ctx, status);
    } else {
      const float* src = static_cast<const float*>(TF_TensorData(in));
      float* dst = static_cast<float*>(TF_TensorData(out));
      const int parts = PartsFor(count);
      pool().Run(parts, [&](int part) { run(src, dst, part, parts); });
    }
    TF_DeleteTensor(out);
  }
  TF_DeleteTensor(in);
  TF_DeleteStatus(status);
}

// Registers an op and its CPU kernel; returns an error message or nullptr.
inline const char* Register(const char* name, const std::vector<const char*>& inputs, const std::vector<const char*>& outputs,
                     const std::vector<const char*>& attrs, void* (*create)(TF_OpKernelConstruction*),
                     void (*compute)(void*, TF_OpKernelContext*), void (*destroy)(void*)) {
  static std::string error;
  TF_Status* status = TF_NewStatus();
  TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder(name);
  for (const char* i : inputs) TF_OpDefinitionBuilderAddInput(op, i);
  for (const char* o : outputs) TF_OpDefinitionBuilderAddOutput(op, o);
  for (const char* a : attrs) TF_OpDefinitionBuilderAddAttr(op, a);
  TF_RegisterOpDefinition(op, status);
  if (TF_GetCode(status) == TF_OK) {
    TF_KernelBuilder* kernel = TF_NewKernelBuilder(name, "CPU", create, compute, destroy);
    TF_RegisterKernelBuilder(name, kernel, status);
  }
  const char* result = nullptr;
  if (TF_GetCode(status) != TF_OK) {
    error = std::string(name) + ": " + TF_Message(status);
    result = error.c_str();
  }
  TF_DeleteStatus(status);
  return result;
}


// Registers the ops of dt_split_conv.cc.
const char* RegisterSplitConv();
// Registers the ops of dt_winograd.cc.
const char* RegisterWinograd();
// Whether the CPU has AVX2 and FMA, which dt_gemm_conv.cc's and dt_conv_to_one.cc's kernels need.
bool HasGemmConv();
// Compiled for AVX2 and FMA: only called where HasGemmConv().
#define DT_FMA __attribute__((target("avx2,fma")))
// Registers the ops of dt_gemm_conv.cc where HasGemmConv().
const char* RegisterGemmConv();
// Registers the ops of dt_conv_to_one.cc where HasGemmConv().
const char* RegisterConvToOne();

}  // namespace dt
