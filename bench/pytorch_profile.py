"""Where PyTorch's training step spends its time, op by op and input shape, to
set beside bench/profile.ts: the same step as bench/pytorch_reference.py
(2 threads), torch.profiler's self time per step (the profiler adds ~20%: 784 vs 664 ms at
cg_r6_ngf32_128).
Run it with PyTorch at its best, as the paired bench does:

MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296 \
  python bench/pytorch_profile.py cg_r6_ngf32_128 [rows]
"""
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

from pytorch_reference import TRAIN

STEPS = 3


def main():
    case = sys.argv[1] if len(sys.argv) > 1 else 'cg_r6_ngf32_128'
    if case not in TRAIN:
        sys.exit(f'unknown case {case!r}; one of {", ".join(TRAIN)}')
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    torch.set_num_threads(2)
    make, warmup, _ = TRAIN[case]
    step = make()
    for _ in range(warmup):
        step()
    t = time.perf_counter()
    for _ in range(STEPS):
        step()
    print(f'{case}: {(time.perf_counter() - t) / STEPS * 1000:.1f} ms per step unprofiled')
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(STEPS):
            step()
    ops = sorted(((e.self_cpu_time_total / 1000 / STEPS, e.count / STEPS, e.key, str(e.input_shapes)) for e in prof.key_averages(group_by_input_shape=True)), reverse=True)
    print(f'{sum(o[0] for o in ops):.1f} ms per step profiled; self time per step, calls per step, op, input shapes:')
    for ms, calls, key, shapes in ops[:rows]:
        print(f'{ms:8.2f} ms {calls:5.0f}x  {key:32} {shapes[:110]}')


if __name__ == '__main__':
    main()
