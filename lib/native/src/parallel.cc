// The state behind parallel.h: how many threads the loops use and whether they share the BLAS's OpenMP pool.
#include "parallel.h"

namespace loralab {
namespace {
int requested = 0;     // setKernelThreads; 0: not set
int blasKind = -1;     // openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP; -1 unknown
int blasThreads = 0;   // the BLAS's thread count; 0 unknown
bool poolAllowed = true;  // setSharedPool
}  // namespace

int kernelThreads() {
  if (requested > 0) return requested;
  if (blasThreads > 0) return blasThreads;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void setKernelThreads(int n) { requested = n; }

bool sharedPool() {
#ifdef _OPENMP
  return poolAllowed && blasKind == 2;
#else
  return false;
#endif
}

bool setSharedPool(bool on) {
  poolAllowed = on;
  return sharedPool();
}

void setBlasThreading(int kind, int threads) {
  blasKind = kind;
  blasThreads = threads;
}
}  // namespace loralab
