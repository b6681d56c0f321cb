#pragma once
// A sum of S equal-length vectors ("shards": the gradients of S parts of a global batch) in
// one fixed order, a binary tree over the shards, whatever the number of processes the shards
// are spread over. Floating-point addition is not associative, so data-parallel training only
// gives N ranks the bits of 1 rank if the gradient is summed in an order that does not depend
// on N; this tree is that order.
//
// The tree: the shards are the leaves 0..S-1 of a complete binary tree over the next power
// of two P >= S; node (level l, index i) covers the leaves [i 2^l, (i+1) 2^l) that exist, and
// its value is value(left child) + value(right child), or the left child's alone when the
// right one covers no shard. Elementwise additions round each element on its own, so the
// bits do not depend on how an addition is vectorised.
//
// Spread over ranks, rank r holds the contiguous shards shards_of_rank(r, N, S). Any range of
// leaves is the disjoint union of a few whole subtrees (dyadic_cover: at most 2 log2 P); a
// rank computes the values of its subtrees from its own shards, and whoever combines them
// (combine_cover) computes the nodes above them. Every node's value is then computed from the
// same two children as on one rank: the same bits. A rank sends at most 2 log2 P vectors,
// usually one or two, instead of one per shard.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <vector>

#include "farbound/core/error.hpp"

namespace farbound {

// The shards [first, last) of the global batch that one rank holds.
struct ShardRange {
  // The first shard.
  std::int64_t first = 0;
  // One past the last shard.
  std::int64_t last = 0;
};

// Rank r of n holds shards [r S / n, (r + 1) S / n): contiguous, sizes differing by at most 1.
inline ShardRange shards_of_rank(int rank, int ranks, std::int64_t shards) {
  if (ranks < 1 || rank < 0 || rank >= ranks) throw argument_error("shards_of_rank: rank out of range");
  if (shards < ranks) throw argument_error("shards_of_rank: fewer shards than ranks");
  return {rank * shards / ranks, (rank + 1) * shards / ranks};
}

// A node of the binary summation tree over the shards: its value is the sum of the leaves it
// covers, left subtree first.
struct TreeNode {
  int level = 0;            // covers 2^level leaves
  std::int64_t index = 0;   // the index-th node of its level
  // The first shard the node covers.
  std::int64_t first() const { return index << level; }
  // One past the last shard it covers, of `shards` in all.
  std::int64_t last(std::int64_t shards) const { return std::min((index + 1) << level, shards); }
  // Nodes order by level, then index.
  auto operator<=>(const TreeNode&) const = default;
};

// The tree's root for S shards.
inline TreeNode root_of(std::int64_t shards) {
  if (shards < 1) throw argument_error("fixed-order sum: no shards");
  return {int(std::bit_width(std::uint64_t(shards - 1))), 0};
}

// The largest whole subtrees that together cover the shards [range.first, range.last), left
// to right.
inline std::vector<TreeNode> dyadic_cover(ShardRange range, std::int64_t shards) {
  std::vector<TreeNode> cover;
  const int top = root_of(shards).level;
  for (std::int64_t at = range.first; at < range.last;) {
    int level = 0;
    // Grow while the node stays aligned at `at` and ends within the range (or at S).
    while (level < top && (at >> (level + 1) << (level + 1)) == at &&
           std::min(at + (std::int64_t(1) << (level + 1)), shards) <= range.last)
      ++level;
    cover.push_back({level, at >> level});
    at = std::min(at + (std::int64_t(1) << level), shards);
  }
  return cover;
}

// out = the value of `node`, from the values of nodes already known (`known`: node -> its
// vector) and otherwise from the shards (`shard(i)`: the i-th shard's vector), recursively.
template <class T>
void tree_value(TreeNode node, std::int64_t shards, const std::function<std::span<const T>(TreeNode)>& known,
                const std::function<std::span<const T>(std::int64_t)>& shard, std::span<T> out) {
  if (const std::span<const T> v = known ? known(node) : std::span<const T>{}; !v.empty()) {
    std::copy(v.begin(), v.end(), out.begin());
    return;
  }
  if (node.level == 0) {
    const std::span<const T> v = shard(node.index);
    if (v.size() != out.size()) throw argument_error("fixed-order sum: shards of different lengths");
    std::copy(v.begin(), v.end(), out.begin());
    return;
  }
  const TreeNode left{node.level - 1, 2 * node.index}, right{node.level - 1, 2 * node.index + 1};
  tree_value<T>(left, shards, known, shard, out);
  if (right.first() >= shards) return;
  std::vector<T> r(out.size());
  tree_value<T>(right, shards, known, shard, std::span<T>(r));
  for (std::size_t j = 0; j < out.size(); ++j) out[j] += r[j];
}

// The fixed-order sum of all S shards given as one span of S * n values (one process).
template <class T>
void fixed_order_sum(std::span<const T> all_shards, std::int64_t shards, std::span<T> out) {
  const std::size_t n = out.size();
  if (all_shards.size() != std::size_t(shards) * n) throw argument_error("fixed_order_sum: size is not shards x length");
  tree_value<T>(root_of(shards), shards, {}, [&](std::int64_t i) { return all_shards.subspan(std::size_t(i) * n, n); }, out);
}

// The values of a rank's cover nodes (dyadic_cover of its range), one after another, from
// its own shards (span of (last - first) * n values).
template <class T>
std::vector<T> cover_values(ShardRange range, std::int64_t shards, std::span<const T> own_shards, std::size_t n) {
  if (own_shards.size() != std::size_t(range.last - range.first) * n)
    throw argument_error("cover_values: size is not the rank's shards x length");
  const auto cover = dyadic_cover(range, shards);
  std::vector<T> values(cover.size() * n);
  const auto shard = [&](std::int64_t i) { return own_shards.subspan(std::size_t(i - range.first) * n, n); };
  for (std::size_t c = 0; c < cover.size(); ++c)
    tree_value<T>(cover[c], shards, {}, shard, std::span<T>(values).subspan(c * n, n));
  return values;
}

// The fixed-order sum from every rank's cover values (rank r's after rank r - 1's, as a
// gather delivers them), for `ranks` ranks holding shards_of_rank each.
template <class T>
void combine_cover(std::span<const T> gathered, int ranks, std::int64_t shards, std::span<T> out) {
  const std::size_t n = out.size();
  if (n == 0) return;
  std::map<TreeNode, std::span<const T>> known;
  std::size_t at = 0;
  for (int r = 0; r < ranks; ++r)
    for (const TreeNode& node : dyadic_cover(shards_of_rank(r, ranks, shards), shards)) {
      if (at + n > gathered.size()) throw argument_error("combine_cover: too few gathered values");
      known.emplace(node, gathered.subspan(at, n));
      at += n;
    }
  if (at != gathered.size()) throw argument_error("combine_cover: too many gathered values");
  const auto lookup = [&](TreeNode node) {
    const auto it = known.find(node);
    return it == known.end() ? std::span<const T>{} : it->second;
  };
  tree_value<T>(root_of(shards), shards, lookup,
                [](std::int64_t) -> std::span<const T> { throw argument_error("combine_cover: a shard is not covered"); }, out);
}

}  // namespace farbound
