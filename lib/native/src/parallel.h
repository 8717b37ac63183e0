// How LoRA Lab's native kernels split work over the cores, beside the BLAS's own threads.
//
// The BLAS and these loops take turns: a loop runs between two products, never during one. What matters is who runs
// the loop. With OpenBLAS built on OpenMP (Debian's libopenblas0-openmp) and this addon built with OpenMP too, both
// use the one libgomp thread pool: the threads that just ran a product, still
// spinning, run the next loop at once, and a product called inside one of the loop's tasks runs on one thread
// (OpenBLAS checks omp_in_parallel), so that small independent products (attention's, per batch row and head) can
// run side by side. That is the shared pool. Anywhere else a new std::thread would have to take a core from the
// BLAS's spinning workers, so loops split only when each piece is large enough to pay for starting a thread
// (kSpawnGrain), and tasks run one after another.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace loralab {

// The threads the loops use: setKernelThreads, else the BLAS's thread count, else the machine's cores.
int kernelThreads();
void setKernelThreads(int n);
// Whether loops and tasks run on the BLAS's own OpenMP pool (see above).
bool sharedPool();
// Turns the shared pool off (false) or back on where it is possible (true); returns whether it is on. For tests of
// the other path on a machine whose OpenBLAS runs on OpenMP.
bool setSharedPool(bool on);
// Told by `open` what the BLAS reports: openblas_get_parallel() (0 sequential, 1 pthreads, 2 OpenMP; -1 unknown)
// and its thread count (0 unknown).
void setBlasThreading(int kind, int threads);

// The fewest elements per thread worth a fresh std::thread (about 30 µs to start and join).
constexpr int64_t kSpawnGrain = int64_t{1} << 17;

// f(begin, end) over [0, n) in contiguous pieces, one per thread, each at least `grain` long; small n stays on the
// calling thread. f must not throw.
template <typename F>
void parallelFor(int64_t n, int64_t grain, F f) {
  const bool shared = sharedPool();
  const int64_t per = shared ? std::max<int64_t>(1, grain) : std::max(grain, kSpawnGrain);
  const int64_t t = std::min<int64_t>(kernelThreads(), std::max<int64_t>(1, n / per));
  if (t <= 1) return f(0, n);
  const int64_t step = (n + t - 1) / t;
#ifdef _OPENMP
  if (shared) {
#pragma omp parallel num_threads(static_cast<int>(t))
    {
      const int64_t k = omp_get_thread_num();
      f(std::min(n, k * step), std::min(n, (k + 1) * step));
    }
    return;
  }
#endif
  std::vector<std::thread> pool;
  for (int64_t k = 1; k < t; k++) pool.emplace_back(f, std::min(n, k * step), std::min(n, (k + 1) * step));
  f(0, std::min(n, step));
  for (auto& th : pool) th.join();
}

// f(task, thread) for tasks [0, count), independent of each other; `thread` < kernelThreads() names the caller's
// scratch. On the shared pool the tasks are split over the threads, and BLAS calls inside them run single-threaded;
// elsewhere they run in order on the calling thread (thread 0). f must not throw.
template <typename F>
void parallelTasks(int count, F f) {
#ifdef _OPENMP
  const int t = std::min(kernelThreads(), count);
  if (sharedPool() && t > 1) {
#pragma omp parallel for num_threads(t) schedule(static)
    for (int i = 0; i < count; i++) f(i, omp_get_thread_num());
    return;
  }
#endif
  for (int i = 0; i < count; i++) f(i, 0);
}

}  // namespace loralab
