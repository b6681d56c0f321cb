#include "farbound/core/tensor.hpp"

#include <catch2/catch.hpp>

#include <cstdint>

using namespace farbound;

TEST_CASE("Tensor storage is 64-byte aligned, row-major and reused on resize", "[tensor]") {
  Tensor<float> t({2, 3, 4, 5});
  CHECK(t.numel() == 120);
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
  for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = float(i);
  auto item1 = t.slice(1, 1);
  CHECK(item1.shape() == Shape{1, 3, 4, 5});
  CHECK(item1[0] == 60.0f);

  const float* before = t.data();
  t.resize({4, 30});  // same element count: no reallocation
  CHECK(t.data() == before);
  t.resize({1, 1});
  CHECK(t.data() == before);
  CHECK(t.capacity() == 120);
  t.resize({200});
  CHECK(t.capacity() == 200);
}

TEST_CASE("Tensor copies only on purpose", "[tensor]") {
  Tensor<double> a({3}, 2.0);
  Tensor<double> b = a.clone();
  b[0] = 5.0;
  CHECK(a[0] == 2.0);
  Tensor<double> c = std::move(b);
  CHECK(c[0] == 5.0);
  CHECK(Tensor<double>::from_view(a.view())[2] == 2.0);
}

TEST_CASE("Eigen maps see rows as the leading axis", "[tensor]") {
  Tensor<float> t({2, 3});
  for (int i = 0; i < 6; ++i) t[i] = float(i);
  auto m = t.matrix();
  CHECK(m.rows() == 2);
  CHECK(m.cols() == 3);
  CHECK(m(1, 0) == 3.0f);
  auto r = t.view().reshaped({3, 2});
  CHECK(r.matrix()(1, 0) == 2.0f);
}

TEST_CASE("Bad shapes give shape errors naming both shapes", "[tensor][errors]") {
  CHECK_THROWS_AS(Shape({1, 2, 3, 4, 5}), shape_error);
  CHECK_THROWS_AS(Shape({-1}), shape_error);
  Tensor<float> t({2, 3});
  CHECK_THROWS_WITH(t.view().reshaped({4, 2}), Catch::Contains("[2, 3]") && Catch::Contains("[4, 2]"));
  CHECK_THROWS_AS(t.slice(1, 2), shape_error);
  CHECK_THROWS_WITH(require_same_shape(Shape{1, 2}, Shape{2, 1}, "x"), Catch::Contains("[1, 2]") && Catch::Contains("[2, 1]"));
  CHECK_THROWS_AS(Tensor<float>({1 << 20, 1 << 20, 1 << 10}), argument_error);
}

TEST_CASE("Empty tensors are valid and empty", "[tensor]") {
  Tensor<float> t({0, 3});
  CHECK(t.empty());
  CHECK(t.slice(0, 0).empty());
  CHECK(Shape{}.numel() == 1);
}
