#include "farbound/nn/activation.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "support/gradcheck.hpp"

using namespace farbound;
using farbound::testing::close;
using farbound::testing::fill_uniform;
using farbound::testing::gradcheck;

namespace {

template <class T>
using Factory = std::function<std::unique_ptr<Layer<T>>()>;

template <class T>
struct Named {
  const char* name;
  Factory<T> make;
};

// Every activation, with non-default parameters where it has any.
template <class T>
std::vector<Named<T>> all_activations() {
  return {
      {"relu", [] { return std::make_unique<ReLU<T>>(); }},
      {"leaky", [] { return std::make_unique<LeakyReLU<T>>(0.2); }},
      {"sigmoid", [] { return std::make_unique<Sigmoid<T>>(); }},
      {"tanh", [] { return std::make_unique<Tanh<T>>(); }},
      {"celu", [] { return std::make_unique<CELU<T>>(0.7); }},
      {"softplus", [] { return std::make_unique<Softplus<T>>(2.0, 10.0); }},
      {"mish", [] { return std::make_unique<Mish<T>>(); }},
  };
}

// Inputs where PyTorch's values below were taken.
const std::vector<double> probe_x = {-1e4, -30.0, -5.0, -1.5, -0.3, 0.2, 1.7, 4.0, 25.0, 1e4};

struct Reference {
  const char* name;
  std::vector<double> y, dy;
};

// Produced with torch 1.13 (float64): x = torch.tensor(probe_x, requires_grad=True);
// y = m(x); dy = torch.autograd.grad(y.sum(), x) for m in nn.ReLU(), nn.LeakyReLU(0.2),
// nn.Sigmoid(), nn.Tanh(), nn.CELU(0.7), nn.Softplus(2.0, 10.0), nn.Mish(); printed with repr.
const std::vector<Reference> pytorch = {
    {"relu", {0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 1.7, 4.0, 25.0, 10000.0}, {0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0}},
    {"leaky",
     {-2000.0, -6.0, -1.0, -0.30000000000000004, -0.06, 0.2, 1.7, 4.0, 25.0, 10000.0},
     {0.2, 0.2, 0.2, 0.2, 0.2, 1.0, 1.0, 1.0, 1.0, 1.0}},
    {"sigmoid",
     {0.0, 9.357622968839299e-14, 0.0066928509242848554, 0.18242552380635635, 0.425557483188341, 0.549833997312478,
      0.8455347349164652, 0.9820137900379085, 0.999999999986112, 1.0},
     {0.0, 9.357622968838423e-14, 0.006648056670790155, 0.14914645207033286, 0.24445831169074586, 0.24751657271185995,
      0.13060574696620808, 0.017662706213291107, 1.3888001859448131e-11, 0.0}},
    {"tanh",
     {-1.0, -1.0, -0.9999092042625951, -0.9051482536448664, -0.2913126124515909, 0.197375320224904, 0.935409070603099,
      0.999329299739067, 1.0, 1.0},
     {0.0, 0.0, 0.00018158323094385266, 0.1807066389236486, 0.9151369618266292, 0.9610429829661166,
      0.1250098706334466, 0.0013409506830259165, 0.0, 0.0}},
    {"celu",
     {-0.7, -0.7, -0.699446656773816, -0.6178765837340244, -0.2439926597282611, 0.2, 1.7, 4.0, 25.0, 10000.0},
     {0.0, 2.439939385335936e-19, 0.0007904902404250111, 0.11731916381089817, 0.6514390638704506, 1.0, 1.0, 1.0, 1.0,
      1.0}},
    {"softplus",
     {0.0, 4.37825538134826e-27, 2.2699449608432323e-05, 0.02429367578687103, 0.21874397524294284, 0.4565076261999763,
      1.7164142352124325, 4.000167703186448, 25.0, 10000.0},
     {0.0, 8.75651076269652e-27, 4.5397868702434395e-05, 0.04742587317756679, 0.35434369377420455, 0.598687660112452,
      0.9677045353015495, 0.9996646498695335, 1.0, 1.0}},
    {"mish",
     {-0.0, -2.807286890651921e-12, -0.033576237730161704, -0.2980997421668068, -0.15113317713833455,
      0.13259900186215923, 1.6207680739755406, 3.9974128069762385, 25.0, 10000.0},
     {0.0, -2.713710660963392e-12, -0.026747498019901936, -0.06409781589225866, 0.40851087693570215,
      0.7246245404198407, 1.0842573159450626, 1.0044328769037503, 1.0, 1.0}},
};

// y = f(x) and f'(x) (backward with grad_out = 1) at the given points.
template <class T>
void evaluate(Layer<T>& layer, const std::vector<double>& xs, Tensor<T>& y, Tensor<T>& dy) {
  Tensor<T> x(Shape{1, std::int64_t(xs.size())});
  for (std::size_t i = 0; i < xs.size(); ++i) x[std::int64_t(i)] = T(xs[i]);
  layer.forward(x.view(), y);
  Tensor<T> ones(y.shape(), T(1));
  layer.backward(x.view(), y.view(), ones.view(), &dy, ParamGrads::accumulate);
}

}  // namespace

TEST_CASE("Activations match PyTorch values and derivatives", "[activation]") {
  const auto doubles = all_activations<double>();
  const auto floats = all_activations<float>();
  REQUIRE(doubles.size() == pytorch.size());
  for (std::size_t k = 0; k < pytorch.size(); ++k) {
    const Reference& ref = pytorch[k];
    REQUIRE(std::string(doubles[k].name) == ref.name);
    Tensor<double> y, dy;
    evaluate(*doubles[k].make(), probe_x, y, dy);
    Tensor<float> yf, dyf;
    evaluate(*floats[k].make(), probe_x, yf, dyf);
    for (std::size_t i = 0; i < probe_x.size(); ++i) {
      const auto j = std::int64_t(i);
      INFO(ref.name << " at x = " << probe_x[i] << ": y " << y[j] << " vs " << ref.y[i] << ", dy " << dy[j] << " vs "
                    << ref.dy[i] << "; float y " << yf[j] << ", dy " << dyf[j]);
      CHECK(close(y[j], ref.y[i], 1e-12, 1e-300));
      // y (1 - y) near y = 1 keeps only the digits of 1 - y (in PyTorch too): derivatives
      // agree to 1e-6 relative or 1e-15 absolute.
      CHECK(close(dy[j], ref.dy[i], 1e-6, 1e-15));
      // float agrees with the double reference to float precision.
      CHECK(close(yf[j], ref.y[i], 1e-5, 1e-6));
      CHECK(close(dyf[j], ref.dy[i], 1e-4, 1e-6));
    }
  }
}

TEST_CASE("Activations describe themselves with their parameters", "[activation]") {
  CHECK(ReLU<float>().describe() == "ReLU");
  CHECK(LeakyReLU<float>(0.2).describe() == "LeakyReLU(slope 0.2)");
  CHECK(LeakyReLU<float>().describe() == "LeakyReLU(slope 0.01)");
  CHECK(CELU<double>(0.5).describe() == "CELU(alpha 0.5)");
  CHECK(Softplus<double>().describe() == "Softplus(beta 1, threshold 20)");
  CHECK(Mish<float>().output_shape(Shape{2, 3, 4, 5}) == Shape{2, 3, 4, 5});
  CHECK(Sigmoid<double>().parameters().empty());
}

TEST_CASE("Activation gradients match finite differences", "[activation][gradcheck]") {
  const std::vector<Shape> shapes = {Shape{1, 1}, Shape{1, 7}, Shape{3, 5}, Shape{2, 3, 5, 5}, Shape{1, 3, 7, 3}};
  std::uint32_t salt = 1;
  for (const auto& [name, make] : all_activations<double>()) {
    for (const Shape& s : shapes) {
      Tensor<double> x(s);
      fill_uniform(x.view(), salt++, -3.0, 3.0);
      // Stay 0.05 away from the kink at 0 (ReLU, LeakyReLU, CELU's second derivative):
      // a central difference across it measures the average slope.
      for (auto& v : x.span())
        if (std::abs(v) < 0.05) v = v < 0 ? v - 0.05 : v + 0.05;
      auto layer = make();
      INFO(name << " on " << s.to_string());
      CHECK(gradcheck(*layer, x) < 1e-6);
    }
  }
}

TEST_CASE("Activations stay finite at extreme inputs", "[activation]") {
  const std::vector<double> extreme = {-1e30, -1e4, -89.0, -710.0, 710.0, 89.0, 1e4, 1e30, 0.0, -0.0};
  auto check = [&](auto tag) {
    using T = decltype(tag);
    for (const auto& [name, make] : all_activations<T>()) {
      auto layer = make();
      Tensor<T> y, dy;
      // Values beyond float's range become +-inf in float; only finite ones are probed.
      std::vector<double> xs;
      for (double v : extreme)
        if (std::isfinite(T(v))) xs.push_back(v);
      evaluate(*layer, xs, y, dy);
      for (std::size_t i = 0; i < xs.size(); ++i) {
        INFO(name << " at x = " << xs[i] << ": y " << y[std::int64_t(i)] << ", dy " << dy[std::int64_t(i)]);
        CHECK(std::isfinite(y[std::int64_t(i)]));
        CHECK(std::isfinite(dy[std::int64_t(i)]));
      }
    }
  };
  check(float{});
  check(double{});
  // Exact limits where the function saturates.
  Tensor<float> y, dy;
  Sigmoid<float> sigmoid;
  evaluate(sigmoid, {-1e4, 1e4}, y, dy);
  CHECK(y[0] == 0.0f);
  CHECK(y[1] == 1.0f);
  CHECK(dy[0] == 0.0f);
  CHECK(dy[1] == 0.0f);
  Mish<float> mish;
  evaluate(mish, {-1e4, 1e4}, y, dy);
  CHECK(y[0] == 0.0f);
  CHECK(y[1] == 1e4f);
  CHECK(dy[0] == 0.0f);
  CHECK(dy[1] == 1.0f);
}

TEST_CASE("ReLU propagates NaN as PyTorch does", "[activation]") {
  ReLU<float> relu;
  Tensor<float> x(Shape{3}), y;
  x[0] = std::nanf("");
  x[1] = -1.0f;
  x[2] = 2.0f;
  relu.forward(x.view(), y);
  CHECK(std::isnan(y[0]));
  CHECK(y[1] == 0.0f);
  CHECK(y[2] == 2.0f);
}

TEST_CASE("The zero-padded tail computes exactly what the vector body computes", "[activation]") {
  // 16384 * 2 + 13 elements: two full chunks and a partial batch at the end.
  const std::int64_t n = 2 * 16384 + 13;
  for (const auto& [name, make] : all_activations<float>()) {
    Tensor<float> x(Shape{n}), y, y_tail;
    RandomStream(5, Purpose::user).normal(x.span(), 4.0);
    auto layer = make();
    layer->forward(x.view(), y);
    // The same 13 values, now at the start of a tensor, inside full batches.
    Tensor<float> padded(Shape{64}, 0.0f);
    for (int i = 0; i < 13; ++i) padded[i] = x[n - 13 + i];
    layer->forward(padded.view(), y_tail);
    for (int i = 0; i < 13; ++i) {
      INFO(name << " element " << i);
      CHECK(y[n - 13 + i] == y_tail[i]);
    }
  }
}

TEST_CASE("Activations give identical results on 1 and 2 threads", "[activation][threads]") {
  const Shape s{3, 5, 67, 61};  // 61305 elements: several chunks and a tail
  Tensor<float> x(s), g(s);
  RandomStream(9, Purpose::user, 1).normal(x.span(), 3.0);
  RandomStream(9, Purpose::user, 2).normal(g.span());
  for (const auto& [name, make] : all_activations<float>()) {
    Tensor<float> y[2], gx[2];
    const int saved_threads = max_threads();
    for (int threads : {1, 2}) {
      set_threads(threads);
      auto layer = make();
      layer->forward(x.view(), y[threads - 1]);
      layer->backward(x.view(), y[threads - 1].view(), g.view(), &gx[threads - 1], ParamGrads::accumulate);
    }
    set_threads(saved_threads);
    INFO(name);
    CHECK(std::memcmp(y[0].data(), y[1].data(), sizeof(float) * std::size_t(s.numel())) == 0);
    CHECK(std::memcmp(gx[0].data(), gx[1].data(), sizeof(float) * std::size_t(s.numel())) == 0);
  }
}

TEST_CASE("Activations reject bad parameters and mismatched gradients", "[activation][errors]") {
  CHECK_THROWS_WITH(LeakyReLU<float>(std::nan("")), Catch::Contains("LeakyReLU: slope must be finite"));
  CHECK_THROWS_AS(CELU<float>(0.0), argument_error);
  CHECK_THROWS_WITH(CELU<float>(-1.0), Catch::Contains("CELU: alpha must be positive and finite, got -1"));
  CHECK_THROWS_AS(Softplus<double>(0.0), argument_error);
  CHECK_THROWS_WITH(Softplus<double>(1.0, INFINITY), Catch::Contains("Softplus: threshold must be finite"));

  Tanh<double> tanh;
  Tensor<double> x(Shape{2, 3}, 0.5), y, g(Shape{3, 2}, 1.0), gx;
  tanh.forward(x.view(), y);
  CHECK_THROWS_WITH(tanh.backward(x.view(), y.view(), g.view(), &gx, ParamGrads::accumulate),
                    Catch::Contains("grad_out [3, 2]") && Catch::Contains("output [2, 3]"));
}
