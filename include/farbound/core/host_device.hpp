#pragma once
// FARBOUND_HOST_DEVICE marks the functions that the CPU code and the CUDA kernels share
// (the CuTe / mdspan pattern): under nvcc it is __host__ __device__, elsewhere nothing. So
// the per-element math exists once, the CPU tests exercise the very code the GPU runs,
// and a build without CUDA never sees a CUDA keyword.
#if defined(__CUDACC__)
#define FARBOUND_HOST_DEVICE __host__ __device__
#else
#define FARBOUND_HOST_DEVICE
#endif
