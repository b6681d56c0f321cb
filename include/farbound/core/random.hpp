#pragma once
// Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC'11).
//
// Every random number in farbound is a pure function of (seed, purpose, a, b, c, i):
// the seed of the run, what the numbers are for, up to three coordinates (e.g. epoch,
// sample index, neighbour index) and the position i within that stream. So the same
// anchor gets the same noise whatever the batch size, thread count or device.
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/host_device.hpp"

namespace farbound {

// Philox4x32's counter: four 32-bit words.
using PhiloxCounter = std::array<std::uint32_t, 4>;
// Philox4x32's key: two 32-bit words (the 64-bit seed).
using PhiloxKey = std::array<std::uint32_t, 2>;

// Philox4x32's round multipliers (m0, m1) and key increments (w0, w1), as in Random123.
struct PhiloxConstants {
  // The multiplier of counter word 0.
  static constexpr std::uint32_t m0 = 0xD2511F53u;
  // The multiplier of counter word 2.
  static constexpr std::uint32_t m1 = 0xCD9E8D57u;
  // Added to key word 0 after every round.
  static constexpr std::uint32_t w0 = 0x9E3779B9u;
  // Added to key word 1 after every round.
  static constexpr std::uint32_t w1 = 0xBB67AE85u;
};

// The Philox4x32 bijection with 10 rounds, as in Random123.
FARBOUND_HOST_DEVICE inline PhiloxCounter philox4x32_10(PhiloxCounter ctr, PhiloxKey key) {
  constexpr std::uint32_t m0 = PhiloxConstants::m0, m1 = PhiloxConstants::m1;
  constexpr std::uint32_t w0 = PhiloxConstants::w0, w1 = PhiloxConstants::w1;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = std::uint64_t(m0) * ctr[0];
    const std::uint64_t p1 = std::uint64_t(m1) * ctr[2];
    const auto hi0 = std::uint32_t(p0 >> 32), lo0 = std::uint32_t(p0);
    const auto hi1 = std::uint32_t(p1 >> 32), lo1 = std::uint32_t(p1);
    ctr = {hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0};
    key[0] += w0;
    key[1] += w1;
  }
  return ctr;
}

// What a stream of random numbers is for; part of every stream's address so that,
// e.g., the unlabelled cloud and the neighbours never share numbers.
enum class Purpose : std::uint32_t {
  init = 1,         // parameter initialisation (a = layer index, b = parameter index)
  shuffle = 2,      // anchor order (a = epoch)
  unlabelled = 3,   // unlabelled cloud (a = epoch, b = labelled index, c = copy)
  neighbour = 4,    // neighbours (a = epoch, b = anchor id, c = neighbour index)
  dropout = 5,      // dropout masks (a = step, b = layer)
  split = 6,        // train / validation split
  augment = 7,      // data augmentation (a = epoch, b = sample)
  attack = 8,       // random starts of attacks (a = restart, b = sample)
  data = 10,        // synthetic data sets (a = sample)
  oracle = 11,      // oracle-relative pairs x' near x (theory/pair_sampler.hpp; a = item, b = draw, c = part)
  adversarial_training = 12,  // TRADES's start noise (a = epoch, b = anchor id); PGD training's seeds (a = epoch, b = step, c = 1 + shard)
  user = 255,       // free for user code
};

// One addressable stream: (seed, purpose, a, b, c). Element i of the stream lives in
// Philox block i/4, so any element can be produced without the ones before it.
class RandomStream {
 public:
  // Each stream holds up to 2^24 blocks (2^26 numbers): purpose shares the block word.
  static constexpr std::uint64_t max_blocks = std::uint64_t(1) << 24;

  // The stream addressed by (seed, purpose, a, b, c); see the top of this file.
  FARBOUND_HOST_DEVICE RandomStream(std::uint64_t seed, Purpose purpose, std::uint32_t a = 0, std::uint32_t b = 0,
                                    std::uint32_t c = 0)
      : key_{std::uint32_t(seed), std::uint32_t(seed >> 32)}, purpose_(std::uint32_t(purpose) << 24), a_(a), b_(b), c_(c) {}

  // Four uniformly distributed 32-bit words of block `block`: philox4x32_10(counter(block), key()).
  FARBOUND_HOST_DEVICE PhiloxCounter block(std::uint64_t block) const { return philox4x32_10(counter(block), key_); }
  // The Philox counter of block `block` (for kernels that run many blocks at once).
  FARBOUND_HOST_DEVICE PhiloxCounter counter(std::uint64_t block) const { return {purpose_ | std::uint32_t(block), a_, b_, c_}; }
  // The Philox key: the seed.
  FARBOUND_HOST_DEVICE PhiloxKey key() const { return key_; }

  // Fills `out` with uniform numbers in [0, 1).
  template <class T>
  void uniform(std::span<T> out) const {
    fill(out, [](std::uint32_t w) { return T(to_unit(w)); });
  }
  // Fills `out` with standard normal numbers (Box-Muller on pairs of words), times `stddev`.
  template <class T>
  void normal(std::span<T> out, double stddev = 1.0) const {
    check_size(static_cast<std::uint64_t>(out.size()));
    const std::size_t n = out.size();
    for (std::size_t i = 0; i < n; i += 4) {
      const auto z = normal4(i / 4);
      for (std::size_t j = 0; j < 4 && i + j < n; ++j) out[i + j] = T(z[j] * stddev);
    }
  }
  // Uniform integer in [0, n) for element i (Lemire's multiply-shift; bias below 2^-32 * n).
  std::uint32_t below(std::uint64_t i, std::uint32_t n) const {
    const std::uint32_t w = block(i / 4)[i % 4];
    return std::uint32_t((std::uint64_t(w) * n) >> 32);
  }

  // Four standard normals from block `blk`, in double so float and double agree.
  FARBOUND_HOST_DEVICE std::array<double, 4> normal4(std::uint64_t blk) const {
    const auto w = block(blk);
    const double r0 = std::sqrt(-2.0 * std::log(to_unit_open(w[0])));
    const double r1 = std::sqrt(-2.0 * std::log(to_unit_open(w[2])));
    const double t0 = 2.0 * std::numbers::pi * to_unit(w[1]);
    const double t1 = 2.0 * std::numbers::pi * to_unit(w[3]);
    return {r0 * std::cos(t0), r0 * std::sin(t0), r1 * std::cos(t1), r1 * std::sin(t1)};
  }

  // [0, 1) with 32 bits.
  FARBOUND_HOST_DEVICE static double to_unit(std::uint32_t w) { return w * 0x1p-32; }
  // (0, 1): safe for log.
  FARBOUND_HOST_DEVICE static double to_unit_open(std::uint32_t w) { return (double(w) + 0.5) * 0x1p-32; }

 private:
  template <class T, class F>
  void fill(std::span<T> out, F convert) const {
    check_size(static_cast<std::uint64_t>(out.size()));
    for (std::size_t i = 0; i < out.size(); i += 4) {
      const auto w = block(i / 4);
      for (std::size_t j = 0; j < 4 && i + j < out.size(); ++j) out[i + j] = convert(w[j]);
    }
  }
  static void check_size(std::uint64_t n) {
    if ((n + 3) / 4 > max_blocks)
      throw argument_error("RandomStream: " + std::to_string(n) + " numbers exceed one stream's 2^26");
  }

  PhiloxKey key_;
  std::uint32_t purpose_, a_, b_, c_;
};

}  // namespace farbound
