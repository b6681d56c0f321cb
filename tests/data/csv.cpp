#include "farbound/data/csv.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/bytes.hpp"
#include "data/dataset_values.hpp"

using namespace farbound;
using namespace farbound::test;

namespace {

std::vector<int> labels(const auto& d) { return std::vector<int>(d.labels().begin(), d.labels().end()); }

std::string csv_error(const std::string& text, const CsvOptions& options = {}) {
  return error_text<io_error>([&] { read_csv<float>(text_bytes(text), "d.csv", options); });
}

}  // namespace

TEST_CASE("CSV: header, CRLF, blank lines, spaces and signs", "[csv]") {
  const std::string text = "label,a,b\n1,0.5,2\n0,-1e3, 3.25\r\n\n  \n2,+4,5\n";
  for (bool compressed : {false, true}) {
    const Bytes bytes = compressed ? gzip(text_bytes(text)) : text_bytes(text);
    const Dataset<double> d = read_csv<double>(bytes, "d.csv");
    CHECK(d.shape() == Shape{3, 2});
    CHECK(values(d) == std::vector<double>{0.5, 2, -1000, 3.25, 4, 5});
    CHECK(labels(d) == std::vector<int>{1, 0, 2});
    CHECK(d.num_classes() == 3);
  }
}

TEST_CASE("CSV options: label column, delimiter, header, classes", "[csv]") {
  const Bytes semi = text_bytes("0.1;0;1\n0.3;1;0\n");
  const Dataset<float> last = read_csv<float>(semi, "s.csv", {.label_column = -1, .delimiter = ';'});
  CHECK(values(last) == std::vector<float>{0.1f, 0, 0.3f, 1});  // from_chars rounds once, to float
  CHECK(labels(last) == std::vector<int>{1, 0});
  const Dataset<double> middle = read_csv<double>(semi, "s.csv", {.label_column = 1, .delimiter = ';', .num_classes = 5});
  CHECK(values(middle) == std::vector<double>{0.1, 1, 0.3, 0});
  CHECK(labels(middle) == std::vector<int>{0, 1});
  CHECK(middle.num_classes() == 5);
  // A numeric first line is data unless the header is declared present.
  const Bytes numeric = text_bytes("1,2\n0,3\n");
  CHECK(read_csv<float>(numeric, "n.csv").size() == 2);
  CHECK(read_csv<float>(numeric, "n.csv", {.header = CsvHeader::present}).size() == 1);
  // A UTF-8 byte-order mark is skipped.
  CHECK(read_csv<float>(text_bytes("\xEF\xBB\xBFy,x\n1,2\n"), "bom.csv").size() == 1);
  // Tab-separated: tabs are delimiters, not padding.
  CHECK(values(read_csv<double>(text_bytes("1\t 2\n"), "t.tsv", {.delimiter = '\t'})) == std::vector<double>{2});
}

TEST_CASE("Malformed CSV is rejected with the file, byte offset and line", "[csv]") {
  CHECK(csv_error("1,2,3\n1,2\n") == "d.csv: byte 6: line 2: 2 fields, but line 1 has 3");
  CHECK(csv_error("y,a,b\n\n1,2,3\n1,2,3,4\n") == "d.csv: byte 13: line 4: 4 fields, but line 3 has 3");
  CHECK(csv_error("1,2,abc\n", {.header = CsvHeader::absent}) ==
        "d.csv: byte 4: line 1: field 2 'abc' is not a finite number");
  CHECK(csv_error("1,2,3\n1,2,abc\n") == "d.csv: byte 10: line 2: field 2 'abc' is not a finite number");
  CHECK(csv_error("0,nan\n") == "d.csv: byte 2: line 1: field 1 'nan' is not a finite number");
  CHECK(csv_error("0,1\n0,1e999\n") == "d.csv: byte 6: line 2: field 1 '1e999' is not a finite number");
  CHECK(csv_error("0,1,1\n0,,1\n") == "d.csv: byte 8: line 2: field 1 '' is not a finite number");
  CHECK(csv_error("1.5,2\n") == "d.csv: byte 0: line 1: label '1.5' is not an integer in [0, 65536)");
  CHECK(csv_error("0,2\n-1,2\n") == "d.csv: byte 4: line 2: label '-1' is not an integer in [0, 65536)");
  CHECK(csv_error("0,2\n2,1\n", {.num_classes = 2}) == "d.csv: byte 4: line 2: label '2' is not an integer in [0, 2)");
  CHECK(csv_error("1\n2\n") == "d.csv: byte 0: line 1: 1 field: a label and at least one feature are needed");
  CHECK(csv_error("1,2,3\n", {.label_column = 5}) == "d.csv: byte 0: line 1: label column 5 but only 3 fields");
  CHECK(csv_error("") == "d.csv: byte 0: no data lines");
  CHECK(csv_error("a,b\n\n") == "d.csv: byte 0: no data lines");
  CHECK(error_text<io_error>([] { read_csv<float>(gzip(text_bytes("1,2\n1,x\n")), "d.csv.gz"); }) ==
        "d.csv.gz: byte 6 of the decompressed data: line 2: field 1 'x' is not a finite number");
  const std::string long_field(100, '7');
  CHECK(csv_error("1,2\n1," + long_field + "x\n") ==
        "d.csv: byte 6: line 2: field 1 '" + long_field.substr(0, 40) + "...' is not a finite number");
  CHECK(error_text<argument_error>([] { read_csv<float>(text_bytes("1,2\n"), "d.csv", {.delimiter = '\n'}); }) ==
        "read_csv: the delimiter cannot be a line end or a quote");
}

TEST_CASE("CSV files load from disk", "[csv]") {
  const auto path = std::filesystem::temp_directory_path() / "farbound_test.csv.gz";
  const Bytes bytes = gzip(text_bytes("y,x0,x1\n1,1.5,2.5\n0,3.5,4.5\n"));
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  const Dataset<float> d = load_csv<float>(path);
  CHECK(values(d) == std::vector<float>{1.5f, 2.5f, 3.5f, 4.5f});
  CHECK(labels(d) == std::vector<int>{1, 0});
}
