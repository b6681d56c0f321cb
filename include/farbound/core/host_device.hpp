#pragma once
// FARBOUND_HOST_DEVICE marks the functions that the CPU code and the CUDA kernels share
// (the CuTe / mdspan pattern): under nvcc it is __host__ __device__, elsewhere nothing. So
// the per-element math exists once, the CPU tests exercise the very code the GPU runs,
// and a build without CUDA never sees a CUDA keyword. FARBOUND_FORCE_INLINE is for the
// shared functions whose call costs more than their body saves by being one (a struct
// returned through memory and reloaded at another width stalls the load).
// FARBOUND_UNROLL, before a loop of a few iterations known when compiled (a register tile's
// rows, a row's classes), writes it out at any optimisation level: GCC does so by itself at
// -O3 only, and at -O2 such tiles lived in memory (the GEMM at 1024^3 a third as fast, the
// LeNet step 2.3x as slow: docs/performance.md, "Built at -O2"). Nothing under nvcc, whose
// front end does not know GCC's pragma (warning #1675) and compiles the CPU kernels only for
// the CUDA tests' references. FARBOUND_EXEC_CHECK_DISABLE, before a host-device template
// that host code also instantiates with host-only types (the smoothness checks' predicates on
// xsimd vectors), stops nvcc warning (#20014) about the instantiations no kernel calls; CCCL
// marks its own such templates the same way.
#if defined(__CUDACC__)
#define FARBOUND_HOST_DEVICE __host__ __device__
#define FARBOUND_FORCE_INLINE __forceinline__
#define FARBOUND_UNROLL
#define FARBOUND_EXEC_CHECK_DISABLE _Pragma("nv_exec_check_disable")
#else
#define FARBOUND_HOST_DEVICE
#define FARBOUND_FORCE_INLINE [[gnu::always_inline]] inline
#define FARBOUND_UNROLL _Pragma("GCC unroll 16")
#define FARBOUND_EXEC_CHECK_DISABLE
#endif
