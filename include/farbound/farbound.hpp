#pragma once
// Umbrella header: everything farbound offers on the CPU. Every header also compiles alone.
#include "farbound/core/config.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/simd.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/io/safetensors.hpp"
#include "farbound/nn/layer.hpp"
#include "farbound/nn/sequential.hpp"
