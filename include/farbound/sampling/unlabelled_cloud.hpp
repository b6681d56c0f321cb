#pragma once
// UnlabelledCloud: the anchors of the data-sparsity framework (docs/papers.md section 1, step 1).
//
// N labelled points and, each epoch, Nu unlabelled points per labelled point, made by
// perturbing it (label -1). Every anchor has a stable id:
//   labelled point j        -> id j                      (0 <= j < N)
//   its unlabelled copy u   -> id N + j * Nu + u          (0 <= u < Nu)
// and copy u of point j in epoch e is x_j perturbed with RandomStream(seed,
// Purpose::unlabelled, e, j, u). Nothing is stored: an anchor is made when a batch needs
// it, from its source point x_j, so the cloud is "regenerated every epoch" at no memory
// cost (the reference materialises all N * Nu copies), and the same id gives the same
// point whatever the batch size, thread count or order.
//
// Two ways to supply the source points:
//   gather_anchors(epoch, ids, labelled, labelled_labels, anchors, labels)
//       reads x_j from the whole labelled set [N, ...] (float data in memory);
//   sources(ids, indices); load those items; make_anchors(epoch, ids, sources, anchors)
//       takes the rows sources[b] = x_{source(ids[b])} already gathered (e.g. by an
//       ImageBatcher that augments item j the same way whichever anchor needs it), and may
//       work in place.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/sampling/perturbation.hpp"

namespace farbound {

// Nu unlabelled copies of each labelled item, x + noise drawn by the perturbation P, label -1.
template <class P = GaussianNoise>
class UnlabelledCloud {
 public:
  // N labelled points, Nu >= 0 unlabelled copies of each; N * (1 + Nu) ids must fit in 32 bits.
  UnlabelledCloud(std::int64_t labelled_count, std::int64_t copies_per_point, P perturbation, std::uint64_t seed)
      : n_(labelled_count), nu_(copies_per_point), perturbation_(std::move(perturbation)), seed_(seed) {
    if (n_ < 1) throw argument_error("UnlabelledCloud: " + std::to_string(n_) + " labelled points; at least 1 is needed");
    if (nu_ < 0)
      throw argument_error("UnlabelledCloud: num_unlabeled_per_labeled must be >= 0, got " + std::to_string(nu_));
    if (n_ * (1 + nu_) > std::int64_t(UINT32_MAX))
      throw argument_error("UnlabelledCloud: " + std::to_string(n_) + " points with " + std::to_string(nu_) +
                           " copies each exceed 2^32 anchor ids");
  }

  // N, labelled points.
  std::int64_t labelled_count() const { return n_; }
  // Nu, unlabelled copies per labelled point.
  std::int64_t copies_per_point() const { return nu_; }
  // N (1 + Nu), the anchors of an epoch.
  std::int64_t anchor_count() const { return n_ * (1 + nu_); }
  // The perturbation that draws the copies.
  const P& perturbation() const { return perturbation_; }
  // The seed of their noise.
  std::uint64_t seed() const { return seed_; }

  // Whether anchor `id` is a labelled point (ids below N) rather than a copy.
  bool is_labelled(std::uint32_t id) const { return std::int64_t(check_id(id)) < n_; }
  // The labelled point an anchor is made from.
  std::int64_t source(std::uint32_t id) const {
    const std::int64_t i = check_id(id);
    return i < n_ ? i : (i - n_) / nu_;
  }
  // The anchor id of copy `copy` of labelled point `point`; argument_error when there is none.
  std::uint32_t copy_id(std::int64_t point, std::int64_t copy) const {
    if (point < 0 || point >= n_ || copy < 0 || copy >= nu_)
      throw argument_error("UnlabelledCloud: no copy " + std::to_string(copy) + " of point " + std::to_string(point) +
                           " (" + std::to_string(n_) + " points, " + std::to_string(nu_) + " copies each)");
    return std::uint32_t(n_ + point * nu_ + copy);
  }
  // The anchor's label: the source's label when labelled, -1 otherwise.
  int label(std::uint32_t id, int source_label) const { return is_labelled(id) ? source_label : -1; }
  // out[b] = source(ids[b]): the items to load (e.g. through an ImageBatcher) for make_anchors.
  void sources(std::span<const std::uint32_t> ids, std::vector<std::int64_t>& out) const {
    out.resize(ids.size());
    for (std::size_t b = 0; b < ids.size(); ++b) out[b] = source(ids[b]);
  }

  // anchors[b] = anchor ids[b] made from sources[b] = x_{source(ids[b])} (labels: label()).
  // sources may be anchors itself (in place), or else must not overlap it.
  template <class T>
    requires Perturbation<P, T>
  void make_anchors(std::uint32_t epoch, std::span<const std::uint32_t> ids, std::type_identity_t<TensorView<const T>> sources,
                    TensorView<T> anchors) const {
    require_rows(ids, sources, "make_anchors: sources");
    require_rows(ids, anchors, "make_anchors: anchors");
    require_same_shape(sources.shape(), anchors.shape(), "UnlabelledCloud::make_anchors: sources and anchors");
    build(epoch, ids, anchors, [&](std::int64_t b) { return sources.data() + b * sources.shape().item_numel(); });
  }

  // Anchors ids[b] from the whole labelled set [N, ...]; labels[b] their labels (-1 unlabelled).
  template <class T>
    requires Perturbation<P, T>
  void gather_anchors(std::uint32_t epoch, std::span<const std::uint32_t> ids,
                      std::type_identity_t<TensorView<const T>> labelled,
                      std::span<const int> labelled_labels, TensorView<T> anchors, std::vector<int>& labels) const {
    if (labelled.rank() < 2 || labelled.size(0) != n_)
      throw shape_error("UnlabelledCloud::gather_anchors: labelled set " + labelled.shape().to_string() + " is not [" +
                        std::to_string(n_) + ", ...]");
    if (std::int64_t(labelled_labels.size()) != n_)
      throw shape_error("UnlabelledCloud::gather_anchors: " + std::to_string(labelled_labels.size()) +
                        " labels for the labelled set " + labelled.shape().to_string());
    require_rows(ids, anchors, "gather_anchors: anchors");
    require_same_shape(labelled.shape().with_batch(anchors.size(0)), anchors.shape(),
                       "UnlabelledCloud::gather_anchors: anchors and the labelled set's items");
    labels.resize(ids.size());
    for (std::size_t b = 0; b < ids.size(); ++b)
      labels[b] = label(ids[b], labelled_labels[std::size_t(source(ids[b]))]);
    const std::int64_t item = labelled.shape().item_numel();
    build(epoch, ids, anchors, [&](std::int64_t b) { return labelled.data() + source(ids[std::size_t(b)]) * item; });
  }

 private:
  std::int64_t check_id(std::uint32_t id) const {
    if (std::int64_t(id) >= anchor_count())
      throw argument_error("UnlabelledCloud: anchor id " + std::to_string(id) + " out of range for " +
                           std::to_string(anchor_count()) + " anchors");
    return std::int64_t(id);
  }

  template <class T>
  void require_rows(std::span<const std::uint32_t> ids, TensorView<T> t, const char* what) const {
    if (t.rank() < 2 || t.size(0) != std::int64_t(ids.size()))
      throw shape_error(std::string("UnlabelledCloud::") + what + " " + t.shape().to_string() + " must be [" +
                        std::to_string(ids.size()) + ", ...] for " + std::to_string(ids.size()) + " ids");
    perturbation_.check_item_numel(t.shape().item_numel());
    for (std::uint32_t id : ids) check_id(id);
  }

  // anchors[b] = x (labelled) or the perturbed copy, x = source_row(b); rows in parallel.
  template <class T, class SourceRow>
  void build(std::uint32_t epoch, std::span<const std::uint32_t> ids, TensorView<T> anchors, SourceRow source_row) const {
    const auto item = std::size_t(anchors.shape().item_numel());
    parallel_for(std::int64_t(ids.size()), [&](std::int64_t b) {
      const std::int64_t id = ids[std::size_t(b)];
      const std::span<const T> x(source_row(b), item);
      const std::span<T> out(anchors.data() + b * std::int64_t(item), item);
      if (id < n_) {
        if (x.data() != out.data()) std::copy(x.begin(), x.end(), out.begin());
      } else {
        const auto copy = (id - n_) % nu_, point = (id - n_) / nu_;
        perturbation_.apply(RandomStream(seed_, Purpose::unlabelled, epoch, std::uint32_t(point), std::uint32_t(copy)), x, out);
      }
    }, detail::min_parallel_rows(std::int64_t(item)));
  }

  std::int64_t n_, nu_;
  P perturbation_;
  std::uint64_t seed_;
};

}  // namespace farbound
