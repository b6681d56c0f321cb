#include "farbound/io/safetensors.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace farbound;

namespace {

std::vector<std::byte> image(const std::string& header, std::size_t data_bytes) {
  std::vector<std::byte> b(8 + header.size() + data_bytes, std::byte{0});
  const std::uint64_t n = header.size();
  std::memcpy(b.data(), &n, 8);
  std::memcpy(b.data() + 8, header.data(), header.size());
  return b;
}

}  // namespace

TEST_CASE("safetensors round trip keeps names, shapes, values and metadata", "[safetensors]") {
  const auto path = std::filesystem::temp_directory_path() / "farbound_test_roundtrip.safetensors";
  Tensor<float> w({2, 3});
  for (int i = 0; i < 6; ++i) w[i] = 0.5f * float(i) - 1.0f;
  Tensor<float> b({3}, 0.25f);
  write_safetensors<float>(path, {{"layer0.weight", w.view()}, {"layer0.bias", b.view()}}, {{"arch", "mlp"}});
  const SafetensorsFile f = read_safetensors(path);
  CHECK(f.metadata.at("arch") == "mlp");
  const Tensor<float> w2 = f.get<float>("layer0.weight");
  CHECK(w2.shape() == w.shape());
  for (int i = 0; i < 6; ++i) CHECK(w2[i] == w[i]);
  const Tensor<double> b2 = f.get<double>("layer0.bias");  // F32 read as double
  CHECK(b2[2] == 0.25);
  Tensor<float> wrong({3, 2});
  CHECK_THROWS_AS(f.load_into("layer0.weight", wrong), shape_error);
  CHECK_THROWS_WITH(f.get<float>("missing"), Catch::Contains("missing"));
  std::filesystem::remove(path);
}

TEST_CASE("malformed safetensors images are io_errors with an offset", "[safetensors][errors]") {
  using Catch::Contains;
  CHECK_THROWS_WITH(parse_safetensors(std::vector<std::byte>(4), "short"), Contains("short") && Contains("byte 4"));
  auto huge = image("{}", 0);
  const std::uint64_t n = 1ull << 60;
  std::memcpy(huge.data(), &n, 8);
  CHECK_THROWS_WITH(parse_safetensors(huge, "huge"), Contains("exceeds the file size"));
  CHECK_THROWS_WITH(parse_safetensors(image("{not json", 0), "j"), Contains("not valid JSON"));
  CHECK_THROWS_WITH(parse_safetensors(image(R"({"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}})", 1), "d"),
                    Contains("F32 or F64"));
  CHECK_THROWS_WITH(parse_safetensors(image(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8), "o"),
                    Contains("outside"));
  CHECK_THROWS_WITH(parse_safetensors(image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "c"),
                    Contains("8 bytes for shape [3]"));
  CHECK_THROWS_WITH(
      parse_safetensors(image(R"({"a":{"dtype":"F32","shape":[1000000000000,1000000],"data_offsets":[0,8]}})", 8), "big"),
      Contains("too large"));
  CHECK_THROWS_AS(read_safetensors("/nonexistent/farbound.safetensors"), io_error);
}
